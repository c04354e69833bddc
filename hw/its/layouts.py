"""Every encoding of the ITS, defined once.

The RTL, the reference model, the driver and the testbenches all import these
layouts; nothing else in the project shifts bits by hand. Field positions follow
the Arm GICv3/GICv4 architecture (IHI 0069) and ``docs/architecture.md``; the
memory-table formats are this implementation's own (section 4 of docs/architecture.md).

Conventions: padding fields start with an underscore (reserved, RES0); a
64-bit doubleword of a command is ``DWn`` in the comments.
"""

from amaranth.hdl import unsigned
from amaranth.lib import data, enum

__all__ = [
    "Cmd", "CMD_GICV3", "CMD_GICV4", "CmdError", "DropReason", "GicOp", "BaserType", "PageSize",
    "CommandHeader", "COMMAND_LAYOUTS", "Command",
    "MoviCmd", "IntCmd", "ClearCmd", "SyncCmd", "MapdCmd", "MapcCmd", "MaptiCmd", "MapiCmd",
    "InvCmd", "InvallCmd", "MovallCmd", "DiscardCmd",
    "GitsCtlr", "GitsIidr", "GitsTyper", "GitsCbaser", "GitsCwriter", "GitsCreadr", "GitsBaser",
    "GitsPidr2", "ErrCmdRecord", "ErrMsiRecord", "QueryRequest", "QueryResponse", "CacheCtl",
    "DeviceTableEntry", "Level1Entry", "IttEntry", "CollectionTableEntry",
    "MsiRequest", "GicPacket", "GicAck", "RoutedPacket", "InvalKind", "InvalRequest", "DropReport",
    "LPI_BASE", "COMMAND_BYTES", "ENTRY_BYTES", "ITT_ALIGN", "CBASER_PAGE", "PAGE_BYTES",
]

LPI_BASE = 8192
"""The first LPI INTID: pINTIDs below it are SGIs, PPIs, SPIs or special."""
COMMAND_BYTES = 32
"""Each command is four little-endian doublewords."""
ENTRY_BYTES = 8
"""Size of every memory-table entry (DTE, level-1 entry, ITE, CTE)."""
ITT_ALIGN = 256
"""An ITT is 256-byte aligned (MAPD carries ITT_addr bits [51:8])."""
CBASER_PAGE = 4096
"""GITS_CBASER.Size counts 4 KiB pages."""


class Cmd(enum.Enum, shape=8):
    """ITS command numbers, DW0[7:0] of every command."""
    MOVI    = 0x01  #: retarget an event to another collection; pending state moves with it
    INT     = 0x03  #: make the event's LPI pending, as if the MSI had arrived
    CLEAR   = 0x04  #: clear the event's LPI pending state
    SYNC    = 0x05  #: wait until every earlier effect on a redistributor is visible there
    MAPD    = 0x08  #: map (V=1) or unmap (V=0) a device's ITT
    MAPC    = 0x09  #: map (V=1) or unmap (V=0) a collection to a redistributor
    MAPTI   = 0x0A  #: map an event to a pINTID and a collection
    MAPI    = 0x0B  #: MAPTI with pINTID = EventID
    INV     = 0x0C  #: the redistributor reloads the LPI's configuration
    INVALL  = 0x0D  #: reload the configuration of every LPI of a collection's target
    MOVALL  = 0x0E  #: move every pending LPI from RDbase1 to RDbase2
    DISCARD = 0x0F  #: clear pending, then remove the event's mapping
    # GICv4 (virtual LPIs): numbers reserved here so the executor can grow into them.
    VMOVI   = 0x21  #: GICv4: retarget a virtual event to another vPE
    VMOVP   = 0x22  #: GICv4: move a vPE to another redistributor
    VSGI    = 0x23  #: GICv4.1: configure a virtual SGI
    VSYNC   = 0x25  #: GICv4: synchronise a vPE
    VMAPP   = 0x29  #: GICv4: map a vPE to a redistributor
    VMAPTI  = 0x2A  #: GICv4: map an event to a vINTID on a vPE
    VMAPI   = 0x2B  #: GICv4: VMAPTI with vINTID = EventID
    VINVALL = 0x2D  #: GICv4: reload the configuration of a vPE's vLPIs
    INVDB   = 0x2E  #: GICv4.1: invalidate a vPE's doorbell configuration


CMD_GICV3 = (Cmd.MOVI, Cmd.INT, Cmd.CLEAR, Cmd.SYNC, Cmd.MAPD, Cmd.MAPC, Cmd.MAPTI, Cmd.MAPI,
             Cmd.INV, Cmd.INVALL, Cmd.MOVALL, Cmd.DISCARD)
"""The twelve physical-LPI commands this ITS executes."""
CMD_GICV4 = (Cmd.VMOVI, Cmd.VMOVP, Cmd.VSGI, Cmd.VSYNC, Cmd.VMAPP, Cmd.VMAPTI, Cmd.VMAPI,
             Cmd.VINVALL, Cmd.INVDB)
"""Virtual-LPI commands: an UNSUPPORTED_COMMAND error until GICv4 is built."""


class CmdError(enum.Enum, shape=24):
    """Command (and memory) error codes held in the error record.

    The ``0x01xxxx`` values are the architecture's ITS command error encodings,
    the numbers Linux KVM reports (include/linux/irqchip/arm-gic-v3.h). The
    ``0x02xxxx`` values are implementation defined (docs/registers.md).
    """
    NONE                       = 0x000000  #: no error recorded
    MOVI_UNMAPPED_INTERRUPT    = 0x010107  #: MOVI: device, event or ITE not mapped
    MOVI_UNMAPPED_COLLECTION   = 0x010109  #: MOVI: the new collection is not mapped
    INT_UNMAPPED_INTERRUPT     = 0x010307  #: INT: device, event, ITE or its collection not mapped
    CLEAR_UNMAPPED_INTERRUPT   = 0x010507  #: CLEAR: device, event, ITE or its collection not mapped
    MAPD_DEVICE_OOR            = 0x010801  #: MAPD: DeviceID beyond Devbits or the device table
    MAPD_ITTSIZE_OOR           = 0x010802  #: MAPD: Size+1 exceeds the supported EventID bits
    MAPC_PROCNUM_OOR           = 0x010902  #: MAPC: RDbase is not a redistributor
    MAPC_COLLECTION_OOR        = 0x010903  #: MAPC/MAPTI/MAPI: ICID beyond the collections
    MAPTI_UNMAPPED_DEVICE      = 0x010A04  #: MAPTI/MAPI: the device is not mapped
    MAPTI_ID_OOR               = 0x010A05  #: MAPTI/MAPI: EventID beyond the device's ITT size
    MAPTI_PHYSICALID_OOR       = 0x010A06  #: MAPTI/MAPI: pINTID not an LPI of ID_bits
    INV_UNMAPPED_INTERRUPT     = 0x010C07  #: INV: device, event, ITE or its collection not mapped
    INVALL_UNMAPPED_COLLECTION = 0x010D09  #: INVALL: the collection is not mapped
    MOVALL_PROCNUM_OOR         = 0x010E01  #: MOVALL: RDbase1 or RDbase2 is not a redistributor
    DISCARD_UNMAPPED_INTERRUPT = 0x010F07  #: DISCARD: device, event, ITE or its collection not mapped
    UNSUPPORTED_COMMAND        = 0x020001  #: impl.: unknown number, or a GICv4 command on a GICv3 ITS
    SYNC_PROCNUM_OOR           = 0x020002  #: impl.: SYNC's RDbase is not a redistributor
    CWRITER_OOR                = 0x020003  #: impl.: CWRITER written beyond the ring; write ignored
    COMMAND_READ_ERROR         = 0x020010  #: impl.: AXI SLVERR/DECERR fetching the command
    TABLE_READ_ERROR           = 0x020011  #: impl.: AXI error reading a table for a command
    TABLE_WRITE_ERROR          = 0x020012  #: impl.: AXI error writing a table for a command


class DropReason(enum.Enum, shape=4):
    """Why an MSI (or a query) did not become an LPI."""
    OK                  = 0  #: translated; the LPI was forwarded
    DISABLED            = 1  #: GITS_CTLR.Enabled was 0
    DEVICE_OOR          = 2  #: DeviceID beyond Devbits or the device table (or its level-1 entry)
    UNMAPPED_DEVICE     = 3  #: the DTE is not valid
    EVENT_OOR           = 4  #: EventID beyond the device's ITT size
    UNMAPPED_INTERRUPT  = 5  #: the ITE is not valid
    UNMAPPED_COLLECTION = 6  #: the ITE's collection is not mapped (or beyond the collections)
    MEMORY_ERROR        = 7  #: an AXI error on a table read


class GicOp(enum.Enum, shape=3):
    """Operation of a GIC stream packet to a redistributor."""
    SET    = 0  #: make ``lpi`` pending
    CLEAR  = 1  #: clear ``lpi``'s pending state
    INV    = 2  #: reload ``lpi``'s configuration
    INVALL = 3  #: reload the configuration of every LPI
    MOVLPI = 4  #: move ``lpi``'s pending state to redistributor ``target``
    MOVALL = 5  #: move every pending LPI to redistributor ``target``
    SYNC   = 6  #: acknowledge once every earlier packet has taken effect


class BaserType(enum.Enum, shape=3):
    """GITS_BASERn.Type: what the table holds."""
    UNIMPLEMENTED = 0  #: no table
    DEVICES       = 1  #: the device table (DTEs, indexed by DeviceID)
    VPES          = 2  #: GICv4: the vPE table
    COLLECTIONS   = 4  #: the collection table (CTEs for ICIDs >= HCC)


class PageSize(enum.Enum, shape=2):
    """GITS_BASERn.Page_Size."""
    SIZE_4K  = 0
    SIZE_16K = 1
    SIZE_64K = 2


PAGE_BYTES = {PageSize.SIZE_4K: 4096, PageSize.SIZE_16K: 16384, PageSize.SIZE_64K: 65536}


# ---------------------------------------------------------------------------
# Commands: one 256-bit struct per command, DW0 at bit 0.

class CommandHeader(data.Struct):
    """The fields every command shares; ``cmd`` is raw so unknown numbers decode."""
    cmd:       8    # DW0[7:0]
    _dw0:      24
    device_id: 32   # DW0[63:32]
    _dw1:      64
    _dw2:      64
    _dw3:      64


class _DeviceEventCmd(data.Struct):
    """Layout of the commands that name only (DeviceID, EventID)."""
    cmd:       Cmd  # DW0[7:0]
    _dw0:      24
    device_id: 32   # DW0[63:32]
    event_id:  32   # DW1[31:0]
    _dw1:      32
    _dw2:      64
    _dw3:      64


class IntCmd(_DeviceEventCmd):
    """INT DeviceID, EventID."""


class ClearCmd(_DeviceEventCmd):
    """CLEAR DeviceID, EventID."""


class InvCmd(_DeviceEventCmd):
    """INV DeviceID, EventID."""


class DiscardCmd(_DeviceEventCmd):
    """DISCARD DeviceID, EventID."""


class _DeviceEventIcidCmd(data.Struct):
    """Layout of the commands that name (DeviceID, EventID, ICID)."""
    cmd:       Cmd  # DW0[7:0]
    _dw0:      24
    device_id: 32   # DW0[63:32]
    event_id:  32   # DW1[31:0]
    _dw1:      32
    icid:      16   # DW2[15:0]
    _dw2:      48
    _dw3:      64


class MoviCmd(_DeviceEventIcidCmd):
    """MOVI DeviceID, EventID, ICID."""


class MapiCmd(_DeviceEventIcidCmd):
    """MAPI DeviceID, EventID, ICID (pINTID = EventID)."""


class MaptiCmd(data.Struct):
    """MAPTI DeviceID, EventID, pINTID, ICID."""
    cmd:       Cmd  # DW0[7:0]
    _dw0:      24
    device_id: 32   # DW0[63:32]
    event_id:  32   # DW1[31:0]
    pintid:    32   # DW1[63:32]
    icid:      16   # DW2[15:0]
    _dw2:      48
    _dw3:      64


class MapdCmd(data.Struct):
    """MAPD DeviceID, Size, ITT_addr, V."""
    cmd:       Cmd  # DW0[7:0]
    _dw0:      24
    device_id: 32   # DW0[63:32]
    size:      5    # DW1[4:0]: EventID bits - 1
    _dw1:      59
    _dw2lo:    8
    itt_addr:  44   # DW2[51:8]: ITT physical address bits [51:8]
    _dw2hi:    11
    valid:     1    # DW2[63]
    _dw3:      64


class MapcCmd(data.Struct):
    """MAPC ICID, RDbase, V."""
    cmd:       Cmd  # DW0[7:0]
    _dw0:      56
    _dw1:      64
    icid:      16   # DW2[15:0]
    rdbase:    35   # DW2[50:16]: processor number (GITS_TYPER.PTA = 0)
    _dw2:      12
    valid:     1    # DW2[63]
    _dw3:      64


class SyncCmd(data.Struct):
    """SYNC RDbase."""
    cmd:       Cmd  # DW0[7:0]
    _dw0:      56
    _dw1:      64
    _dw2lo:    16
    rdbase:    35   # DW2[50:16]
    _dw2hi:    13
    _dw3:      64


class InvallCmd(data.Struct):
    """INVALL ICID."""
    cmd:       Cmd  # DW0[7:0]
    _dw0:      56
    _dw1:      64
    icid:      16   # DW2[15:0]
    _dw2:      48
    _dw3:      64


class MovallCmd(data.Struct):
    """MOVALL RDbase1, RDbase2."""
    cmd:       Cmd  # DW0[7:0]
    _dw0:      56
    _dw1:      64
    _dw2lo:    16
    rdbase1:   35   # DW2[50:16]
    _dw2hi:    13
    _dw3lo:    16
    rdbase2:   35   # DW3[50:16]
    _dw3hi:    13


COMMAND_LAYOUTS = {
    Cmd.MOVI: MoviCmd, Cmd.INT: IntCmd, Cmd.CLEAR: ClearCmd, Cmd.SYNC: SyncCmd,
    Cmd.MAPD: MapdCmd, Cmd.MAPC: MapcCmd, Cmd.MAPTI: MaptiCmd, Cmd.MAPI: MapiCmd,
    Cmd.INV: InvCmd, Cmd.INVALL: InvallCmd, Cmd.MOVALL: MovallCmd, Cmd.DISCARD: DiscardCmd,
}
"""The layout of each GICv3 command, by number."""


class Command(data.Union):
    """A 32-byte command seen as each command's layout (the executor's view)."""
    raw:     256
    header:  CommandHeader
    movi:    MoviCmd
    int:     IntCmd
    clear:   ClearCmd
    sync:    SyncCmd
    mapd:    MapdCmd
    mapc:    MapcCmd
    mapti:   MaptiCmd
    mapi:    MapiCmd
    inv:     InvCmd
    invall:  InvallCmd
    movall:  MovallCmd
    discard: DiscardCmd


# ---------------------------------------------------------------------------
# Registers (GITS_*). Offsets and access rules are in hw/its/regmap.py.

class GitsCtlr(data.Struct):
    """GITS_CTLR (0x0000, 32 bits)."""
    enabled:   1    # [0] RW: the ITS translates MSIs and executes commands
    _r0:       30
    quiescent: 1    # [31] RO: 1 when disabled and every transaction has completed


class GitsIidr(data.Struct):
    """GITS_IIDR (0x0004, 32 bits)."""
    implementer: 12  # [11:0] JEP106 code of the implementer
    revision:    4   # [15:12]
    variant:     4   # [19:16]
    _r0:         4
    product_id:  8   # [31:24]


class GitsTyper(data.Struct):
    """GITS_TYPER (0x0008, 64 bits, RO)."""
    physical:       1  # [0] physical LPIs supported (always 1)
    virtual:        1  # [1] GICv4 virtual LPIs supported
    cct:            1  # [2] cumulative collection tables
    _r0:            1
    itt_entry_size: 4  # [7:4] ITE bytes - 1
    id_bits:        5  # [12:8] EventID bits - 1
    devbits:        5  # [17:13] DeviceID bits - 1
    seis:           1  # [18] locally generated SErrors
    pta:            1  # [19] 0: RDbase is a processor number
    _r1:            4
    hcc:            8  # [31:24] collections held on chip
    cid_bits:       4  # [35:32] ICID bits - 1 (valid when cil = 1)
    cil:            1  # [36] cid_bits is meaningful
    _r2:            27


class GitsCbaser(data.Struct):
    """GITS_CBASER (0x0080, 64 bits)."""
    size:         8   # [7:0] 4 KiB pages - 1
    _r0:          2
    shareability: 2   # [11:10] read back as written
    pa:           40  # [51:12] ring physical address bits [51:12]
    _r1:          1
    outer_cache:  3   # [55:53] read back as written
    _r2:          3
    inner_cache:  3   # [61:59] read back as written
    _r3:          1
    valid:        1   # [63]


class GitsCwriter(data.Struct):
    """GITS_CWRITER (0x0088, 64 bits)."""
    retry:  1   # [0] W: restart a stalled queue
    _r0:    4
    offset: 15  # [19:5] next free command slot, in 32-byte commands
    _r1:    44


class GitsCreadr(data.Struct):
    """GITS_CREADR (0x0090, 64 bits, RO)."""
    stalled: 1   # [0] the queue stopped on a command error (stall policy)
    _r0:     4
    offset:  15  # [19:5] next command to execute
    _r1:     44


class GitsBaser(data.Struct):
    """GITS_BASERn (0x0100 + 8n, 64 bits)."""
    size:         8   # [7:0] pages - 1
    page_size:    PageSize  # [9:8]
    shareability: 2   # [11:10]
    pa:           36  # [47:12] table physical address bits [47:12]
    entry_size:   5   # [52:48] RO: entry bytes - 1
    outer_cache:  3   # [55:53]
    type:         BaserType  # [58:56] RO
    inner_cache:  3   # [61:59]
    indirect:     1   # [62] two-level table (devices only)
    valid:        1   # [63]


class GitsPidr2(data.Struct):
    """GITS_PIDR2 (0xFFE8, 32 bits, RO)."""
    jep106_id:  3   # [2:0] JEP106 identity bits [6:4]
    jedec:      1   # [3] JEDEC-assigned identity
    arch_rev:   4   # [7:4] 3: GICv3, 4: GICv4
    _r0:        24


class ErrCmdRecord(data.Struct):
    """GITS_ERR_CMD (implementation defined, 64 bits): the first unread command error.

    Writing any value clears it; later errors are counted in GITS_STAT_CMD_ERRORS.
    """
    code:     24   # [23:0] a CmdError
    _r0:      7
    valid:    1    # [31]
    offset:   20   # [51:32] ring byte offset of the failing command
    cmd:      8    # [59:52] its command number
    overflow: 1    # [60] another error happened while valid
    _r1:      3


class ErrMsiRecord(data.Struct):
    """GITS_ERR_MSI (implementation defined, 64 bits): the first unread dropped MSI."""
    reason:    DropReason  # [3:0]
    _r0:       3
    valid:     1    # [7]
    event_id:  24   # [31:8] EventID bits [23:0]
    device_id: 31   # [62:32] DeviceID bits [30:0]
    overflow:  1    # [63] another drop happened while valid


class QueryRequest(data.Struct):
    """GITS_QUERY (implementation defined, 64 bits): write to ask for a translation."""
    event_id:  32
    device_id: 32


class QueryResponse(data.Struct):
    """GITS_QUERY_RESULT (implementation defined, 64 bits) and the query port's answer."""
    done:   1           # [0] the answer is valid (register form only)
    _r0:    3
    status: DropReason  # [7:4] OK, or why the MSI would be dropped
    target: 8           # [15:8] redistributor (processor number)
    _r1:    16
    pintid: 32          # [63:32]


class CacheCtl(data.Struct):
    """GITS_CACHE_CTL (implementation defined, 32 bits)."""
    invalidate: 1  # [0] W1: invalidate every cache; reads 1 until done
    disable:    1  # [1] RW: bypass the caches (every translation walks memory)
    _r0:        30


# ---------------------------------------------------------------------------
# Memory tables: 8-byte little-endian entries (docs/architecture.md, section 4).

class DeviceTableEntry(data.Struct):
    """Device table entry, indexed by DeviceID."""
    size:     5    # [4:0] EventID bits - 1
    itt_addr: 44   # [48:5] ITT address bits [51:8]
    _r0:      14
    valid:    1    # [63]


class Level1Entry(data.Struct):
    """Level-1 entry of a two-level device table: points at a page of DTEs."""
    _r0:  12
    addr: 40   # [51:12] level-2 page address bits [51:12]
    _r1:  11
    valid: 1   # [63]


class IttEntry(data.Struct):
    """Interrupt translation table entry, indexed by EventID.

    GICv4 reuses the same 8 bytes: with ``virtual`` set, ``icid`` holds the vPEID,
    ``intid`` the vINTID and ``doorbell`` the doorbell pINTID (0: none).
    INTIDs are at most 16 bits (ItsParams.id_bits <= 16, as Linux and KVM use).
    """
    valid:    1    # [0]
    virtual:  1    # [1] GICv4 virtual LPI (0 for physical)
    _r0:      14
    icid:     16   # [31:16] ICID (vPEID when virtual)
    intid:    16   # [47:32] pINTID (vINTID when virtual)
    doorbell: 16   # [63:48] GICv4 doorbell pINTID


class CollectionTableEntry(data.Struct):
    """Collection table entry, indexed by ICID (ICIDs >= HCC)."""
    icid:   16   # [15:0]
    rdbase: 36   # [51:16] processor number of the target redistributor
    _r0:    11
    valid:  1    # [63]


# ---------------------------------------------------------------------------
# Streams.

class MsiRequest(data.Struct):
    """An MSI: the EventID written to GITS_TRANSLATER and the writer's DeviceID."""
    device_id: 32
    event_id:  32


class GicPacket(data.Struct):
    """A packet to one redistributor on the GIC stream."""
    op:     GicOp
    lpi:    16   # INTID of SET, CLEAR, INV, MOVLPI
    target: 8    # destination redistributor of MOVLPI and MOVALL


class GicAck(data.Struct):
    """A redistributor's answer on the acknowledge stream: one per SYNC."""
    sync: 1


# ---------------------------------------------------------------------------
# Internal streams between the ITS blocks.

class RoutedPacket(data.Struct):
    """A GIC stream packet with the redistributor it goes to (into the forwarder)."""
    rd:     8
    packet: GicPacket


class InvalKind(enum.Enum, shape=2):
    """What a cache invalidation removes."""
    ALL    = 0  #: every entry (MAPC, GITS_CACHE_CTL.Invalidate)
    DEVICE = 1  #: every entry of ``device_id`` (MAPD)
    EVENT  = 2  #: the entry of (``device_id``, ``event_id``) (MAPTI, MAPI, MOVI, DISCARD)


class InvalRequest(data.Struct):
    """An invalidation from the executor to the translation path's caches."""
    kind:      InvalKind
    device_id: 32
    event_id:  32


class DropReport(data.Struct):
    """A dropped MSI, for the error record and the counters."""
    reason:    DropReason
    device_id: 32
    event_id:  32
