"""Where the entries of the ITS's memory tables are: one place for the address arithmetic.

Every function comes in two forms with the same name:

* the **Amaranth** form builds expressions from Values (a ``GitsBaser`` view, a
  DeviceID signal, ...); it is used by the walker and the executor;
* the **integer** form, suffixed ``_int``, computes the same numbers from plain
  integers (``baser`` is then the 64-bit GITS_BASERn value); it is for the TLM and
  for tests. The reference model (``sim/models/its.py``) keeps its own arithmetic,
  as it is the independent oracle.

The tables (docs/behaviour.md, "Tables"): every entry is :data:`ENTRY_BYTES` (8)
bytes. A table starts at GITS_BASERn.PA rounded down to its page size and holds
Size + 1 pages. A flat device table holds the DTEs, indexed by DeviceID; a
two-level (Indirect) one holds level-1 entries, entry ``DeviceID // E`` (``E`` =
entries per page) pointing at the page of DTEs that holds the DTE at slot
``DeviceID % E``. The collection table is flat, indexed by ICID. The ITE of an
event is at ``DTE.ITT_addr * 256 + EventID * 8``.

Page_Size 3 is reserved and taken as 64K (it reads back as 64K).

Amaranth API
------------
table_geometry(m, baser, index, *, name) -> TableIndex of Signals (driven in ``m.d.comb``)
level1_entry_address(base, page), flat_entry_address(base, index),
level2_entry_address(level1_addr, slot), ite_address(itt_addr, event_id) -> Values
device_in_range(params, baser, device_id, geometry), collection_in_table(baser, geometry),
collection_exists(params, baser, icid, geometry) -> 1-bit Values

Integer API
-----------
page_bytes_int(page_size), entry_shift_int(page_size), table_base_int(pa, page_size) -> int
baser_fields_int(baser) -> BaserFields
table_geometry_int(baser, index) -> TableIndex of ints
level1_entry_address_int, flat_entry_address_int, level2_entry_address_int,
ite_address_int -> int (the same arguments as the Amaranth forms)
device_in_range_int(params, baser, device_id), collection_in_table_int(baser, icid),
collection_exists_int(params, baser, icid) -> bool
device_entry_int(params, baser, device_id) -> DeviceEntry or None
"""

from typing import NamedTuple

from amaranth.hdl import Mux, Signal

from ..bus.mem import ADDR_BITS
from .layouts import ENTRY_BYTES, ITT_ALIGN, PAGE_BYTES, PageSize

__all__ = [
    "PA_SHIFT", "ITT_SHIFT", "ENTRY_SHIFT", "LEVEL1_ADDR_SHIFT",
    "TableIndex", "BaserFields", "DeviceEntry",
    "table_geometry", "level1_entry_address", "flat_entry_address", "level2_entry_address",
    "ite_address", "device_in_range", "collection_in_table", "collection_exists",
    "page_bytes_int", "entry_shift_int", "table_base_int", "baser_fields_int",
    "table_geometry_int", "level1_entry_address_int", "flat_entry_address_int",
    "level2_entry_address_int", "ite_address_int", "device_in_range_int",
    "collection_in_table_int", "collection_exists_int", "device_entry_int",
]

PA_SHIFT = 12
"""GITS_BASERn.PA holds address bits [47:12]."""
LEVEL1_ADDR_SHIFT = 12
"""Level1Entry.addr holds the level-2 page's address bits [51:12]."""
ITT_SHIFT = (ITT_ALIGN - 1).bit_length()
"""DTE.ITT_addr (and MAPD's ITT_addr) hold the ITT's address bits [51:8]."""
ENTRY_SHIFT = (ENTRY_BYTES - 1).bit_length()
"""log2 of the entry size (8 bytes)."""


class TableIndex(NamedTuple):
    """Where entry ``index`` of a table is (Values or ints).

    base : the table's base, GITS_BASERn.PA rounded down to the page size;
    page : ``index // E``, the page holding the entry (``E`` = entries per page); in a
        two-level device table, the index of the level-1 entry;
    slot : ``index % E``, the entry's slot in its page (the DTE's slot in its level-2 page);
    level1_page : ``page // E``, the page of the level-1 table holding level-1 entry ``page``.
    """
    base: object
    page: object
    slot: object
    level1_page: object


class BaserFields(NamedTuple):
    """The GITS_BASERn fields the geometry needs, from the 64-bit register value."""
    valid: int
    indirect: int
    page_size: int  # 0..3 as written (3 is taken as 64K)
    pa: int         # address bits [47:12]
    size: int       # pages - 1


class DeviceEntry(NamedTuple):
    """Where a DeviceID's DTE is found: ``addr`` is the DTE (``level1`` false), or the
    level-1 entry whose page holds the DTE at slot ``slot`` (``level1`` true)."""
    level1: bool
    addr: int
    slot: int


# -- integer form ----------------------------------------------------------------------------

def page_bytes_int(page_size):
    """Bytes of a page of Page_Size ``page_size`` (0..3; 3, reserved, is 64K)."""
    value = page_size.value if isinstance(page_size, PageSize) else int(page_size)
    return PAGE_BYTES[PageSize(min(value, PageSize.SIZE_64K.value))]


def entry_shift_int(page_size):
    """log2 of the entries a page of Page_Size ``page_size`` holds: 9, 11, 13 (13 for 3)."""
    return (page_bytes_int(page_size) // ENTRY_BYTES - 1).bit_length()


def table_base_int(pa, page_size):
    """The table's base address: ``pa`` (address bits [47:12]) rounded down to the page."""
    return (pa << PA_SHIFT) & ~(page_bytes_int(page_size) - 1)


def baser_fields_int(baser):
    """The :class:`BaserFields` of the 64-bit GITS_BASERn value ``baser``."""
    return BaserFields(valid=(baser >> 63) & 1, indirect=(baser >> 62) & 1,
                       page_size=(baser >> 8) & 0x3, pa=(baser >> 12) & ((1 << 36) - 1),
                       size=baser & 0xFF)


def table_geometry_int(baser, index):
    """The :class:`TableIndex` (ints) of entry ``index`` of the table of ``baser`` (an int)."""
    fields = baser_fields_int(baser)
    shift = entry_shift_int(fields.page_size)
    return TableIndex(base=table_base_int(fields.pa, fields.page_size), page=index >> shift,
                      slot=index & ((1 << shift) - 1), level1_page=index >> (2 * shift))


def level1_entry_address_int(base, page):
    """Address of level-1 entry ``page`` of a two-level table at ``base``."""
    return base + (page << ENTRY_SHIFT)


def flat_entry_address_int(base, index):
    """Address of entry ``index`` of a flat table at ``base`` (a DTE, a CTE)."""
    return base + (index << ENTRY_SHIFT)


def level2_entry_address_int(level1_addr, slot):
    """Address of the DTE at ``slot`` of the level-2 page whose Level1Entry.addr
    (address bits [51:12]) is ``level1_addr``."""
    return (level1_addr << LEVEL1_ADDR_SHIFT) + (slot << ENTRY_SHIFT)


def ite_address_int(itt_addr, event_id):
    """Address of the ITE of ``event_id`` in the ITT whose DTE.ITT_addr (bits [51:8]) is
    ``itt_addr``."""
    return (itt_addr << ITT_SHIFT) + (event_id << ENTRY_SHIFT)


def device_in_range_int(params, baser, device_id):
    """``device_id`` is below ``2**params.device_bits``, BASER0 is Valid and the device's
    DTE (flat) or level-1 entry (two-level) is inside the Size + 1 pages."""
    fields = baser_fields_int(baser)
    geometry = table_geometry_int(baser, device_id)
    used = geometry.level1_page if fields.indirect else geometry.page
    return bool(fields.valid) and not device_id >> params.device_bits and used <= fields.size


def collection_in_table_int(baser, icid):
    """BASER1 is Valid and the CTE of ``icid`` is inside its Size + 1 pages."""
    fields = baser_fields_int(baser)
    return bool(fields.valid) and table_geometry_int(baser, icid).page <= fields.size


def collection_exists_int(params, baser, icid):
    """``icid`` names a collection: below ``2**collection_bits`` and on chip (below
    ``hcc``) or inside the collection table of ``baser``."""
    return icid < params.num_collections and (
        icid < params.hcc or collection_in_table_int(baser, icid))


def device_entry_int(params, baser, device_id):
    """Where the DTE of ``device_id`` is: a :class:`DeviceEntry`, or None when the
    DeviceID is out of range (:func:`device_in_range_int`)."""
    if not device_in_range_int(params, baser, device_id):
        return None
    geometry = table_geometry_int(baser, device_id)
    if baser_fields_int(baser).indirect:
        return DeviceEntry(True, level1_entry_address_int(geometry.base, geometry.page),
                           geometry.slot)
    return DeviceEntry(False, flat_entry_address_int(geometry.base, device_id), 0)


# -- Amaranth form ---------------------------------------------------------------------------

def table_geometry(m, baser, index, *, name="table"):
    """The :class:`TableIndex` of entry ``index`` of ``baser``'s table, for its page size.

    Parameters
    ----------
    m : Module
        Receives the combinational logic (a switch on ``baser.page_size``).
    baser : View of GitsBaser
    index : Value
        The entry's index (DeviceID or ICID).
    name : str
        Prefix of the signals' names.

    Returns
    -------
    TableIndex
        Signals: ``base`` (:data:`gic.hw.bus.mem.ADDR_BITS` wide), ``page``, ``slot`` and
        ``level1_page`` (as wide as ``index``).
    """
    base = Signal(ADDR_BITS, name=f"{name}_base")
    page = Signal(len(index), name=f"{name}_page")
    slot = Signal(len(index), name=f"{name}_slot")
    level1_page = Signal(len(index), name=f"{name}_level1_page")
    pa = baser.pa << PA_SHIFT
    with m.Switch(baser.page_size):
        for size in (PageSize.SIZE_4K, PageSize.SIZE_16K, None):
            shift = entry_shift_int(size or PageSize.SIZE_64K)
            page_bytes = page_bytes_int(size or PageSize.SIZE_64K)
            with (m.Case(size) if size is not None else m.Default()):
                m.d.comb += [
                    base.eq(pa & ~(page_bytes - 1)),
                    page.eq(index >> shift),
                    slot.eq(index & ((1 << shift) - 1)),
                    level1_page.eq(index >> (2 * shift)),
                ]
    return TableIndex(base, page, slot, level1_page)


def level1_entry_address(base, page):
    """Address of level-1 entry ``page`` of a two-level table at ``base`` (a Value)."""
    return base + (page << ENTRY_SHIFT)


def flat_entry_address(base, index):
    """Address of entry ``index`` of a flat table at ``base`` (a DTE, a CTE)."""
    return base + (index << ENTRY_SHIFT)


def level2_entry_address(level1_addr, slot):
    """Address of the DTE at ``slot`` of the level-2 page of Level1Entry.addr ``level1_addr``."""
    return (level1_addr << LEVEL1_ADDR_SHIFT) + (slot << ENTRY_SHIFT)


def ite_address(itt_addr, event_id):
    """Address of the ITE of ``event_id`` in the ITT of DTE.ITT_addr ``itt_addr``."""
    return (itt_addr << ITT_SHIFT) + (event_id << ENTRY_SHIFT)


def device_in_range(params, baser, device_id, geometry):
    """As :func:`device_in_range_int`; ``geometry`` is ``table_geometry(m, baser, device_id)``."""
    return (baser.valid & ((device_id >> params.device_bits) == 0) &
            (Mux(baser.indirect, geometry.level1_page, geometry.page) <= baser.size))


def collection_in_table(baser, geometry):
    """As :func:`collection_in_table_int`; ``geometry`` is ``table_geometry(m, baser, icid)``."""
    return baser.valid & (geometry.page <= baser.size)


def collection_exists(params, baser, icid, geometry):
    """As :func:`collection_exists_int`; ``geometry`` is ``table_geometry(m, baser, icid)``."""
    return (icid < params.num_collections) & ((icid < params.hcc) |
                                              collection_in_table(baser, geometry))
