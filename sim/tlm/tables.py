"""Where the ITS's tables are in memory, and their entries as integers.

Not a block of its own: the geometry of GITS_BASER0/1 (device table flat or two-level,
collection table), as the table walker (``its/walker.py``) and the executor
(``its/executor.py``) find their entries, through the integer forms of
:mod:`gic.hw.its.geometry` (the RTL's own address arithmetic); and decoders of the
entries they read. No timing: the blocks that read the tables count the cycles.
"""

from gic.hw.its.geometry import (
    baser_fields_int, collection_exists_int, device_entry_int, flat_entry_address_int,
    table_base_int,
)
from gic.hw.its.layouts import CollectionTableEntry, DeviceTableEntry, IttEntry, Level1Entry
from gic.hw.its.regmap import BASER_COLLECTIONS, BASER_DEVICES, REG

from .common import _decoder

__all__ = []

_DTE = _decoder(DeviceTableEntry, "valid", "itt_addr", "size")
_LEVEL1 = _decoder(Level1Entry, "valid", "addr")
_ITE = _decoder(IttEntry, "valid", "icid", "intid")
_CTE = _decoder(CollectionTableEntry, "valid", "rdbase")


class _Tables:
    """Where the tables of GITS_BASER0/1 are (re-read after every BASER write)."""

    def __init__(self, params, model):
        self.params = params
        self.model = model
        self.refresh()

    def refresh(self):
        self._dev = self.model.read(REG[f"GITS_BASER{BASER_DEVICES}"])
        self._coll = self.model.read(REG[f"GITS_BASER{BASER_COLLECTIONS}"])
        fields = baser_fields_int(self._coll)
        self._coll_base = table_base_int(fields.pa, fields.page_size)
        self._devices = {}          # device_id -> device_entry_int(...), until the next refresh
        self._collections = {}      # icid -> collection_exists_int(...)

    def device(self, device_id):
        """Where the DTE of ``device_id`` is: a :class:`gic.hw.its.geometry.DeviceEntry`
        (the DTE at ``addr``, or the level-1 entry at ``addr`` whose page holds the DTE at
        ``slot``), or None when the DeviceID is out of range."""
        try:
            return self._devices[device_id]
        except KeyError:
            entry = self._devices[device_id] = device_entry_int(self.params, self._dev,
                                                                device_id)
            return entry

    def collection_exists(self, icid):
        """MAPC may name ``icid``: on chip, or inside the collection table."""
        try:
            return self._collections[icid]
        except KeyError:
            exists = self._collections[icid] = collection_exists_int(self.params, self._coll,
                                                                     icid)
            return exists

    def cte_address(self, icid):
        return flat_entry_address_int(self._coll_base, icid)

    def on_chip(self, icid):
        """The redistributor of on-chip collection ``icid`` (< hcc), or None if unmapped."""
        return self.model.collection(icid)


def _cte_target(params, word):
    valid, rdbase = _CTE(word)
    return rdbase if valid and rdbase < params.num_redistributors else None
