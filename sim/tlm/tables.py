"""Where the ITS's tables are in memory, and their entries as integers.

Not a block of its own: the geometry of GITS_BASER0/1 (device table flat or two-level,
collection table) and the ITT, as the table walker (``hw/its/walker.py``) and the
executor (``hw/its/executor.py``) compute addresses, and decoders of the entries they
read. No timing: the blocks that read the tables count the cycles.
"""

from typing import NamedTuple

from gic.hw.its.layouts import (
    ENTRY_BYTES, ITT_ALIGN, PAGE_BYTES, CollectionTableEntry, DeviceTableEntry, GitsBaser,
    IttEntry, Level1Entry, PageSize,
)
from gic.hw.its.regmap import BASER_COLLECTIONS, BASER_DEVICES, REG

from .common import _decoder

__all__ = []

_PA_SHIFT = 12
_ITT_SHIFT = (ITT_ALIGN - 1).bit_length()

_BASER = _decoder(GitsBaser, "valid", "indirect", "page_size", "pa", "size")
_DTE = _decoder(DeviceTableEntry, "valid", "itt_addr", "size")
_LEVEL1 = _decoder(Level1Entry, "valid", "addr")
_ITE = _decoder(IttEntry, "valid", "icid", "intid")
_CTE = _decoder(CollectionTableEntry, "valid", "rdbase")


class _Geometry(NamedTuple):
    valid: int
    indirect: int
    base: int
    shift: int     # log2(entries a page holds)
    size: int      # BASER.Size: pages - 1


_OOR, _FLAT, _LEVEL1_ENTRY = range(3)


class _Tables:
    """Where the tables of GITS_BASER0/1 are (re-read after every BASER write)."""

    def __init__(self, params, model):
        self.params = params
        self.model = model
        self.refresh()

    def refresh(self):
        self.dev = self._geometry(BASER_DEVICES)
        self.coll = self._geometry(BASER_COLLECTIONS)

    def _geometry(self, n):
        valid, indirect, page_size, pa, size = _BASER(self.model.read(REG[f"GITS_BASER{n}"]))
        # Page_Size 3 is reserved and taken as 64K (it reads back as 64K).
        page = PAGE_BYTES[PageSize(min(page_size, PageSize.SIZE_64K.value))]
        return _Geometry(valid, indirect, (pa << _PA_SHIFT) & ~(page - 1),
                         (page // ENTRY_BYTES).bit_length() - 1, size)

    def device(self, device_id):
        """``(kind, addr, slot)``: out of range; the DTE at ``addr``; or the level-1 entry at
        ``addr``, whose page holds the DTE at slot ``slot``."""
        dev = self.dev
        if device_id >> self.params.device_bits or not dev.valid:
            return _OOR, 0, 0
        index = device_id >> dev.shift
        if dev.indirect:
            if index >> dev.shift > dev.size:
                return _OOR, 0, 0
            return _LEVEL1_ENTRY, dev.base + ENTRY_BYTES * index, \
                device_id & ((1 << dev.shift) - 1)
        if index > dev.size:
            return _OOR, 0, 0
        return _FLAT, dev.base + ENTRY_BYTES * device_id, 0

    def collection_exists(self, icid):
        """MAPC may name ``icid``: on chip, or inside the collection table."""
        coll = self.coll
        return icid < self.params.num_collections and (
            icid < self.params.hcc or (coll.valid and icid >> coll.shift <= coll.size))

    def cte_address(self, icid):
        return self.coll.base + ENTRY_BYTES * icid

    def on_chip(self, icid):
        """The redistributor of on-chip collection ``icid`` (< hcc), or None if unmapped."""
        return self.model.collection(icid)


def _cte_target(params, word):
    valid, rdbase = _CTE(word)
    return rdbase if valid and rdbase < params.num_redistributors else None


def _dte_address(page, slot):
    """The DTE at ``slot`` of the level-2 page of a level-1 entry's ``addr`` field."""
    return (page << _PA_SHIFT) + ENTRY_BYTES * slot


def _ite_address(itt_addr, event_id):
    """The ITE of ``event_id`` in the ITT of a DTE's ``itt_addr`` field."""
    return (itt_addr << _ITT_SHIFT) + ENTRY_BYTES * event_id
