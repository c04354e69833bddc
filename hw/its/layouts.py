"""Every encoding of the ITS, defined once.

The RTL, the reference model, the driver and the testbenches all import these
layouts; nothing else in the project shifts bits by hand. Field positions follow
the Arm GICv3/GICv4 architecture (IHI 0069) and ``docs/architecture.md``; the
memory-table formats are this implementation's own (section 4 of docs/architecture.md).

Conventions: padding fields start with an underscore (reserved, RES0); a
64-bit doubleword of a command is ``DWn`` in the comments.
"""

from amaranth.lib import data, enum

__all__ = [
    "Cmd", "CMD_GICV3", "CMD_GICV4", "CmdError", "DropReason", "GicOp", "BaserType", "PageSize",
    "CommandHeader", "COMMAND_LAYOUTS", "Command",
    "MoviCmd", "IntCmd", "ClearCmd", "SyncCmd", "MapdCmd", "MapcCmd", "MaptiCmd", "MapiCmd",
    "InvCmd", "InvallCmd", "MovallCmd", "DiscardCmd",
    "GitsCtlr", "GitsIidr", "GitsTyper", "GitsCbaser", "GitsCwriter", "GitsCreadr", "GitsBaser",
    "GitsPidr2", "ErrCmdRecord", "ErrMsiRecord", "QueryRequest", "QueryResponse", "CacheCtl",
    "CacheId", "ErrParityRecord", "ParityInject",
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
    """ITS command numbers, DW0[7:0] of every command.

    Members
    -------
    MOVI
        retarget an event to another collection; pending state moves with it
    INT
        make the event's LPI pending, as if the MSI had arrived
    CLEAR
        clear the event's LPI pending state
    SYNC
        wait until every earlier effect on a redistributor is visible there
    MAPD
        map (V=1) or unmap (V=0) a device's ITT
    MAPC
        map (V=1) or unmap (V=0) a collection to a redistributor
    MAPTI
        map an event to a pINTID and a collection
    MAPI
        MAPTI with pINTID = EventID
    INV
        the redistributor reloads the LPI's configuration
    INVALL
        reload the configuration of every LPI of a collection's target
    MOVALL
        move every pending LPI from RDbase1 to RDbase2
    DISCARD
        clear pending, then remove the event's mapping
    VMOVI
        GICv4: retarget a virtual event to another vPE
    VMOVP
        GICv4: move a vPE to another redistributor
    VSGI
        GICv4.1: configure a virtual SGI
    VSYNC
        GICv4: synchronise a vPE
    VMAPP
        GICv4: map a vPE to a redistributor
    VMAPTI
        GICv4: map an event to a vINTID on a vPE
    VMAPI
        GICv4: VMAPTI with vINTID = EventID
    VINVALL
        GICv4: reload the configuration of a vPE's vLPIs
    INVDB
        GICv4.1: invalidate a vPE's doorbell configuration
    """
    MOVI    = 0x01
    INT     = 0x03
    CLEAR   = 0x04
    SYNC    = 0x05
    MAPD    = 0x08
    MAPC    = 0x09
    MAPTI   = 0x0A
    MAPI    = 0x0B
    INV     = 0x0C
    INVALL  = 0x0D
    MOVALL  = 0x0E
    DISCARD = 0x0F
    # GICv4 (virtual LPIs): numbers reserved here so the executor can grow into them.
    VMOVI   = 0x21
    VMOVP   = 0x22
    VSGI    = 0x23
    VSYNC   = 0x25
    VMAPP   = 0x29
    VMAPTI  = 0x2A
    VMAPI   = 0x2B
    VINVALL = 0x2D
    INVDB   = 0x2E


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

    Members
    -------
    NONE
        no error recorded
    MOVI_UNMAPPED_INTERRUPT
        MOVI: device, event or ITE not mapped
    MOVI_UNMAPPED_COLLECTION
        MOVI: the new collection is not mapped
    INT_UNMAPPED_INTERRUPT
        INT: device, event, ITE or its collection not mapped
    CLEAR_UNMAPPED_INTERRUPT
        CLEAR: device, event, ITE or its collection not mapped
    MAPD_DEVICE_OOR
        MAPD: DeviceID beyond Devbits or the device table
    MAPD_ITTSIZE_OOR
        MAPD: Size+1 exceeds the supported EventID bits
    MAPC_PROCNUM_OOR
        MAPC: RDbase is not a redistributor
    MAPC_COLLECTION_OOR
        MAPC/MAPTI/MAPI: ICID beyond the collections
    MAPTI_UNMAPPED_DEVICE
        MAPTI/MAPI: the device is not mapped
    MAPTI_ID_OOR
        MAPTI/MAPI: EventID beyond the device's ITT size
    MAPTI_PHYSICALID_OOR
        MAPTI/MAPI: pINTID not an LPI of ID_bits
    INV_UNMAPPED_INTERRUPT
        INV: device, event, ITE or its collection not mapped
    INVALL_UNMAPPED_COLLECTION
        INVALL: the collection is not mapped
    MOVALL_PROCNUM_OOR
        MOVALL: RDbase1 or RDbase2 is not a redistributor
    DISCARD_UNMAPPED_INTERRUPT
        DISCARD: device, event, ITE or its collection not mapped
    UNSUPPORTED_COMMAND
        impl.: unknown number, or a GICv4 command on a GICv3 ITS
    SYNC_PROCNUM_OOR
        impl.: SYNC's RDbase is not a redistributor
    CWRITER_OOR
        impl.: CWRITER written beyond the ring; write ignored
    COMMAND_READ_ERROR
        impl.: AXI SLVERR/DECERR fetching the command
    TABLE_READ_ERROR
        impl.: AXI error reading a table for a command
    TABLE_WRITE_ERROR
        impl.: AXI error writing a table for a command
    """
    NONE                       = 0x000000
    MOVI_UNMAPPED_INTERRUPT    = 0x010107
    MOVI_UNMAPPED_COLLECTION   = 0x010109
    INT_UNMAPPED_INTERRUPT     = 0x010307
    CLEAR_UNMAPPED_INTERRUPT   = 0x010507
    MAPD_DEVICE_OOR            = 0x010801
    MAPD_ITTSIZE_OOR           = 0x010802
    MAPC_PROCNUM_OOR           = 0x010902
    MAPC_COLLECTION_OOR        = 0x010903
    MAPTI_UNMAPPED_DEVICE      = 0x010A04
    MAPTI_ID_OOR               = 0x010A05
    MAPTI_PHYSICALID_OOR       = 0x010A06
    INV_UNMAPPED_INTERRUPT     = 0x010C07
    INVALL_UNMAPPED_COLLECTION = 0x010D09
    MOVALL_PROCNUM_OOR         = 0x010E01
    DISCARD_UNMAPPED_INTERRUPT = 0x010F07
    UNSUPPORTED_COMMAND        = 0x020001
    SYNC_PROCNUM_OOR           = 0x020002
    CWRITER_OOR                = 0x020003
    COMMAND_READ_ERROR         = 0x020010
    TABLE_READ_ERROR           = 0x020011
    TABLE_WRITE_ERROR          = 0x020012


class DropReason(enum.Enum, shape=4):
    """Why an MSI (or a query) did not become an LPI.

    Members
    -------
    OK
        translated; the LPI was forwarded
    DISABLED
        GITS_CTLR.Enabled was 0
    DEVICE_OOR
        DeviceID beyond Devbits or the device table (or its level-1 entry)
    UNMAPPED_DEVICE
        the DTE is not valid
    EVENT_OOR
        EventID beyond the device's ITT size
    UNMAPPED_INTERRUPT
        the ITE is not valid
    UNMAPPED_COLLECTION
        the ITE's collection is not mapped (or beyond the collections)
    MEMORY_ERROR
        an AXI error on a table read
    """
    OK                  = 0
    DISABLED            = 1
    DEVICE_OOR          = 2
    UNMAPPED_DEVICE     = 3
    EVENT_OOR           = 4
    UNMAPPED_INTERRUPT  = 5
    UNMAPPED_COLLECTION = 6
    MEMORY_ERROR        = 7


class GicOp(enum.Enum, shape=3):
    """Operation of a GIC stream packet to a redistributor.

    Members
    -------
    SET
        make ``lpi`` pending
    CLEAR
        clear ``lpi``'s pending state
    INV
        reload ``lpi``'s configuration
    INVALL
        reload the configuration of every LPI
    MOVLPI
        move ``lpi``'s pending state to redistributor ``target``
    MOVALL
        move every pending LPI to redistributor ``target``
    SYNC
        acknowledge once every earlier packet has taken effect
    """
    SET    = 0
    CLEAR  = 1
    INV    = 2
    INVALL = 3
    MOVLPI = 4
    MOVALL = 5
    SYNC   = 6


class BaserType(enum.Enum, shape=3):
    """GITS_BASERn.Type: what the table holds.

    Members
    -------
    UNIMPLEMENTED
        no table
    DEVICES
        the device table (DTEs, indexed by DeviceID)
    VPES
        GICv4: the vPE table
    COLLECTIONS
        the collection table (CTEs for ICIDs >= HCC)
    """
    UNIMPLEMENTED = 0
    DEVICES       = 1
    VPES          = 2
    COLLECTIONS   = 4


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
    """MAPD DeviceID, Size, ITT_addr, V.

    Members
    -------
    size
        EventID bits - 1
    itt_addr
        ITT physical address bits [51:8]
    """
    cmd:       Cmd  # DW0[7:0]
    _dw0:      24
    device_id: 32   # DW0[63:32]
    size:      5    # DW1[4:0]
    _dw1:      59
    _dw2lo:    8
    itt_addr:  44   # DW2[51:8]
    _dw2hi:    11
    valid:     1    # DW2[63]
    _dw3:      64


class MapcCmd(data.Struct):
    """MAPC ICID, RDbase, V.

    Members
    -------
    rdbase
        processor number (GITS_TYPER.PTA = 0)
    """
    cmd:       Cmd  # DW0[7:0]
    _dw0:      56
    _dw1:      64
    icid:      16   # DW2[15:0]
    rdbase:    35   # DW2[50:16]
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
    """GITS_CTLR (0x0000, 32 bits).

    Members
    -------
    enabled
        RW: the ITS translates MSIs and executes commands
    quiescent
        RO: 1 when disabled and every transaction has completed
    """
    enabled:   1    # [0]
    _r0:       30
    quiescent: 1    # [31]


class GitsIidr(data.Struct):
    """GITS_IIDR (0x0004, 32 bits).

    Members
    -------
    implementer
        JEP106 code of the implementer
    """
    implementer: 12  # [11:0]
    revision:    4   # [15:12]
    variant:     4   # [19:16]
    _r0:         4
    product_id:  8   # [31:24]


class GitsTyper(data.Struct):
    """GITS_TYPER (0x0008, 64 bits, RO).

    Members
    -------
    physical
        physical LPIs supported (always 1)
    virtual
        GICv4 virtual LPIs supported
    cct
        cumulative collection tables
    itt_entry_size
        ITE bytes - 1
    id_bits
        EventID bits - 1
    devbits
        DeviceID bits - 1
    seis
        locally generated SErrors
    pta
        0: RDbase is a processor number
    hcc
        collections held on chip
    cid_bits
        ICID bits - 1 (valid when cil = 1)
    cil
        cid_bits is meaningful
    """
    physical:       1  # [0]
    virtual:        1  # [1]
    cct:            1  # [2]
    _r0:            1
    itt_entry_size: 4  # [7:4]
    id_bits:        5  # [12:8]
    devbits:        5  # [17:13]
    seis:           1  # [18]
    pta:            1  # [19]
    _r1:            4
    hcc:            8  # [31:24]
    cid_bits:       4  # [35:32]
    cil:            1  # [36]
    _r2:            27


class GitsCbaser(data.Struct):
    """GITS_CBASER (0x0080, 64 bits).

    Members
    -------
    size
        4 KiB pages - 1
    shareability
        read back as written (no AXI4 signal: docs/axi-attributes.md)
    pa
        ring physical address bits [51:12]
    outer_cache
        ARCACHE of the command fetch (0: as inner_cache; docs/axi-attributes.md)
    inner_cache
        ARCACHE of the command fetch when outer_cache is 0; 0 (Device-nGnRnE) makes it 0b0000
    """
    size:         8   # [7:0]
    _r0:          2
    shareability: 2   # [11:10]
    pa:           40  # [51:12]
    _r1:          1
    outer_cache:  3   # [55:53]
    _r2:          3
    inner_cache:  3   # [61:59]
    _r3:          1
    valid:        1   # [63]


class GitsCwriter(data.Struct):
    """GITS_CWRITER (0x0088, 64 bits).

    Members
    -------
    retry
        W: restart a stalled queue
    offset
        next free command slot, in 32-byte commands
    """
    retry:  1   # [0]
    _r0:    4
    offset: 15  # [19:5]
    _r1:    44


class GitsCreadr(data.Struct):
    """GITS_CREADR (0x0090, 64 bits, RO).

    Members
    -------
    stalled
        the queue stopped on a command error (stall policy)
    offset
        next command to execute
    """
    stalled: 1   # [0]
    _r0:     4
    offset:  15  # [19:5]
    _r1:     44


class GitsBaser(data.Struct):
    """GITS_BASERn (0x0100 + 8n, 64 bits).

    Members
    -------
    size
        pages - 1
    shareability
        read back as written (no AXI4 signal: docs/axi-attributes.md)
    pa
        table physical address bits [47:12]
    entry_size
        RO: entry bytes - 1
    outer_cache
        AxCACHE of the table's accesses (Devices: also level-2 pages and ITTs; 0: as
        inner_cache; docs/axi-attributes.md)
    type
        RO
    inner_cache
        AxCACHE when outer_cache is 0; 0 (Device-nGnRnE) makes it 0b0000
    indirect
        two-level table (devices only)
    """
    size:         8   # [7:0]
    page_size:    PageSize  # [9:8]
    shareability: 2   # [11:10]
    pa:           36  # [47:12]
    entry_size:   5   # [52:48]
    outer_cache:  3   # [55:53]
    type:         BaserType  # [58:56]
    inner_cache:  3   # [61:59]
    indirect:     1   # [62]
    valid:        1   # [63]


class GitsPidr2(data.Struct):
    """GITS_PIDR2 (0xFFE8, 32 bits, RO).

    Members
    -------
    jep106_id
        JEP106 identity bits [6:4]
    jedec
        JEDEC-assigned identity
    arch_rev
        3: GICv3, 4: GICv4
    """
    jep106_id:  3   # [2:0]
    jedec:      1   # [3]
    arch_rev:   4   # [7:4]
    _r0:        24


class ErrCmdRecord(data.Struct):
    """GITS_ERR_CMD (implementation defined, 64 bits): the first unread command error.

    Writing any value clears it; later errors are counted in GITS_STAT_CMD_ERRORS.

    Members
    -------
    code
        a CmdError
    offset
        ring byte offset of the failing command
    cmd
        its command number
    overflow
        another error happened while valid
    """
    code:     24   # [23:0]
    _r0:      7
    valid:    1    # [31]
    offset:   20   # [51:32]
    cmd:      8    # [59:52]
    overflow: 1    # [60]
    _r1:      3


class ErrMsiRecord(data.Struct):
    """GITS_ERR_MSI (implementation defined, 64 bits): the first unread dropped MSI.

    Members
    -------
    event_id
        EventID bits [23:0]
    device_id
        DeviceID bits [30:0]
    overflow
        another drop happened while valid
    """
    reason:    DropReason  # [3:0]
    _r0:       3
    valid:     1    # [7]
    event_id:  24   # [31:8]
    device_id: 31   # [62:32]
    overflow:  1    # [63]


class QueryRequest(data.Struct):
    """GITS_QUERY (implementation defined, 64 bits): write to ask for a translation."""
    event_id:  32
    device_id: 32


class QueryResponse(data.Struct):
    """GITS_QUERY_RESULT (implementation defined, 64 bits) and the query port's answer.

    Members
    -------
    done
        the answer is valid (register form only)
    status
        OK, or why the MSI would be dropped
    target
        redistributor (processor number)
    """
    done:   1           # [0]
    _r0:    3
    status: DropReason  # [7:4]
    target: 8           # [15:8]
    _r1:    16
    pintid: 32          # [63:32]


class CacheCtl(data.Struct):
    """GITS_CACHE_CTL (implementation defined, 32 bits).

    Members
    -------
    invalidate
        W1: invalidate every cache; reads 1 until done
    disable
        RW: bypass the caches (every translation walks memory)
    """
    invalidate: 1  # [0]
    disable:    1  # [1]
    _r0:        30


class CacheId(enum.Enum, shape=2):
    """Which cache of the translation path a parity error record or injection names.

    Members
    -------
    NONE
        no cache (an injection naming it does nothing)
    TRANSLATION
        the translation cache: (DeviceID, EventID) -> pINTID, redistributor
    DEVICE
        the device cache: DeviceID -> ITT address and size
    """
    NONE        = 0
    TRANSLATION = 1
    DEVICE      = 2


class ErrParityRecord(data.Struct):
    """GITS_ERR_PARITY (implementation defined, 32 bits): the first unread cache parity error.

    An entry with a parity error is never used (its look-up misses and refetches from
    memory) and is dropped when the caches' scrub finds it; writing any value clears the
    record; every error is counted in GITS_STAT_PARITY_ERRORS.

    Members
    -------
    cache
        the CacheId of the cache
    valid
        a parity error is recorded
    index
        the entry's index in that cache
    overflow
        another parity error happened while valid
    """
    cache:    CacheId  # [1:0]
    _r0:      5
    valid:    1    # [7]
    index:    8    # [15:8]
    _r1:      15
    overflow: 1    # [31]


class ParityInject(data.Struct):
    """GITS_PARITY_INJECT (implementation defined, 32 bits, debug): flip one stored bit.

    A write flips bit ``bit`` of entry ``index`` of cache ``cache`` (its stored word is
    the key, then the value, then the parity bit, from bit 0); a bit or index beyond
    the cache, or ``cache`` NONE, does nothing. Reads as zero.

    Members
    -------
    bit
        the bit of the entry's stored word
    index
        the entry
    cache
        the CacheId of the cache
    """
    bit:   8    # [7:0]
    index: 8    # [15:8]
    cache: CacheId  # [17:16]
    _r0:   14


# ---------------------------------------------------------------------------
# Memory tables: 8-byte little-endian entries (docs/architecture.md, section 4).

class DeviceTableEntry(data.Struct):
    """Device table entry, indexed by DeviceID.

    Members
    -------
    size
        EventID bits - 1
    itt_addr
        ITT address bits [51:8]
    """
    size:     5    # [4:0]
    itt_addr: 44   # [48:5]
    _r0:      14
    valid:    1    # [63]


class Level1Entry(data.Struct):
    """Level-1 entry of a two-level device table: points at a page of DTEs.

    Members
    -------
    addr
        level-2 page address bits [51:12]
    """
    _r0:  12
    addr: 40   # [51:12]
    _r1:  11
    valid: 1   # [63]


class IttEntry(data.Struct):
    """Interrupt translation table entry, indexed by EventID.

    GICv4 reuses the same 8 bytes: with ``virtual`` set, ``icid`` holds the vPEID,
    ``intid`` the vINTID and ``doorbell`` the doorbell pINTID (0: none).
    INTIDs are at most 16 bits (ItsParams.id_bits <= 16, as Linux and KVM use).

    Members
    -------
    virtual
        GICv4 virtual LPI (0 for physical)
    icid
        ICID (vPEID when virtual)
    intid
        pINTID (vINTID when virtual)
    doorbell
        GICv4 doorbell pINTID
    """
    valid:    1    # [0]
    virtual:  1    # [1]
    _r0:      14
    icid:     16   # [31:16]
    intid:    16   # [47:32]
    doorbell: 16   # [63:48]


class CollectionTableEntry(data.Struct):
    """Collection table entry, indexed by ICID (ICIDs >= HCC).

    Members
    -------
    rdbase
        processor number of the target redistributor
    """
    icid:   16   # [15:0]
    rdbase: 36   # [51:16]
    _r0:    11
    valid:  1    # [63]


# ---------------------------------------------------------------------------
# Streams.

class MsiRequest(data.Struct):
    """An MSI: the EventID written to GITS_TRANSLATER and the writer's DeviceID."""
    device_id: 32
    event_id:  32


class GicPacket(data.Struct):
    """A packet to one redistributor on the GIC stream.

    Members
    -------
    lpi
        INTID of SET, CLEAR, INV, MOVLPI
    target
        destination redistributor of MOVLPI and MOVALL
    """
    op:     GicOp
    lpi:    16
    target: 8


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
    """What a cache invalidation removes.

    Members
    -------
    ALL
        every entry (MAPC, GITS_CACHE_CTL.Invalidate)
    DEVICE
        every entry of ``device_id`` (MAPD)
    EVENT
        the entry of (``device_id``, ``event_id``) (MAPTI, MAPI, MOVI, DISCARD)
    """
    ALL    = 0
    DEVICE = 1
    EVENT  = 2


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
