"""Every encoding of the redistributor side of the GIC stream, defined once.

The GICR_* registers of the RD_base frame that LPIs use, the LPI property and
pending table formats, the CPU interface's acknowledge and end-of-interrupt
values, and the stream that carries pending state between redistributors
(MOVLPI, MOVALL). Field positions follow the Arm GICv3 architecture (IHI 0069,
chapters 5 and 12). The RTL (:mod:`gic.hw.gicr.redistributor`), the reference model
(:mod:`gic.sim.models.gicr`) and the tests all import these layouts.

Conventions as in :mod:`gic.hw.its.layouts`: padding fields start with an underscore
(reserved, RES0).
"""

from amaranth.lib import data

__all__ = [
    "SPURIOUS_INTID", "SPECIAL_INTIDS", "PRIORITY_LEVELS", "PENDING_BITS_PER_DW",
    "PROPBASER_ALIGN", "PENDBASER_ALIGN", "MIN_LPI_ID_BITS",
    "GicrCtlr", "GicrIidr", "GicrTyper", "GicrWaker", "GicrPropbaser", "GicrPendbaser",
    "GicrLpir", "GicrInvallr", "GicrSyncr", "GicrPidr2", "LpiConfig", "IccIar1", "IccEoir1",
    "LpiMove", "TakenInterrupt", "public_mask",
]

SPURIOUS_INTID = 1023
"""What an acknowledge returns when no LPI can be signalled (ICC_IAR1_EL1: no pending interrupt)."""
SPECIAL_INTIDS = range(1020, 1024)
"""INTIDs 1020..1023 are special: an end of interrupt naming one of them is ignored."""
PRIORITY_LEVELS = 64
"""LPI priorities are LpiConfig.priority [7:2]: 64 levels (0 highest), one active bit each."""
PENDING_BITS_PER_DW = 64
"""The pending table holds one bit per INTID: bit ``i % 64`` of doubleword ``i // 64``."""
PROPBASER_ALIGN = 4096
"""GICR_PROPBASER.PA holds address bits [51:12]."""
PENDBASER_ALIGN = 65536
"""GICR_PENDBASER.PA holds address bits [51:16]."""
MIN_LPI_ID_BITS = 14
"""GICR_PROPBASER.IDbits + 1 below this leaves no LPI (the largest INTID would be below 8192)."""


def public_mask(layout):
    """Mask of the public (non-reserved) fields of ``layout``: what a register write keeps."""
    mask = 0
    for name, field in data.Layout.cast(layout):
        if not name.startswith("_"):
            mask |= ((1 << field.width) - 1) << field.offset
    return mask


# ---------------------------------------------------------------------------
# Registers (GICR_*) of the RD_base frame. Offsets are in hw/gicr/regmap.py.

class GicrCtlr(data.Struct):
    """GICR_CTLR (0x0000, 32 bits)."""
    enable_lpis: 1   # [0] RW: LPI support on; 1->0 writes pending state back to the pending table
    ces:         1   # [1] RO 1: EnableLPIs may be cleared after it was set
    ir:          1   # [2] RO 1: GICR_INVLPIR, GICR_INVALLR and GICR_SYNCR are implemented
    rwp:         1   # [3] RO: a register write's effect (EnableLPIs, SETLPIR...) is still under way
    _r0:         27
    uwp:         1   # [31] RO 0: upstream writes need not wait


class GicrIidr(data.Struct):
    """GICR_IIDR (0x0004, 32 bits, RO)."""
    implementer: 12  # [11:0] JEP106 code of the implementer
    revision:    4   # [15:12]
    variant:     4   # [19:16]
    _r0:         4
    product_id:  8   # [31:24]


class GicrTyper(data.Struct):
    """GICR_TYPER (0x0008, 64 bits, RO)."""
    plpis:            1   # [0] physical LPIs supported (1)
    vlpis:            1   # [1] virtual LPIs supported (0: GICv3)
    dirty:            1   # [2] GICv4 vPE table dirty bit (0)
    direct_lpi:       1   # [3] GICR_SETLPIR/CLRLPIR/INVLPIR/INVALLR/SYNCR are implemented (1)
    last:             1   # [4] the last redistributor of the series
    dpgs:             1   # [5] GICR_CTLR.DPG* supported (0)
    mpam:             1   # [6] MPAM supported (0)
    rvpeid:           1   # [7] GICv4.1 vPEID form (0)
    processor_number: 16  # [23:8] the RDbase the ITS names this redistributor by (GITS_TYPER.PTA = 0)
    common_lpi_aff:   2   # [25:24] redistributors that share LPI configuration (0: all)
    vsgi:             1   # [26] GICv4.1 virtual SGIs (0)
    ppi_num:          5   # [31:27] extended PPIs (0)
    affinity:         32  # [63:32] Aff3.Aff2.Aff1.Aff0 of the CPU (Aff0 = processor number here)


class GicrWaker(data.Struct):
    """GICR_WAKER (0x0014, 32 bits)."""
    _r0:              1
    processor_sleep:  1   # [1] RW: the CPU is asleep (resets to 1; software clears it at boot)
    children_asleep:  1   # [2] RO: follows ProcessorSleep (nothing to wake here)
    _r1:              29


class GicrPropbaser(data.Struct):
    """GICR_PROPBASER (0x0070, 64 bits): the LPI property table (one byte per LPI)."""
    id_bits:      5   # [4:0] LPI INTID bits - 1 (below 13: no LPIs)
    _r0:          2
    inner_cache:  3   # [9:7] property-table ARCACHE if outer_cache = 0; 0 (Device) gives 0b0000
    shareability: 2   # [11:10] read back as written (no AXI4 signal)
    pa:           40  # [51:12] table address bits [51:12]; byte (INTID - 8192) configures INTID
    _r1:          4
    outer_cache:  3   # [58:56] property-table ARCACHE (0: as inner_cache; docs/axi-attributes.md)
    _r2:          5


class GicrPendbaser(data.Struct):
    """GICR_PENDBASER (0x0078, 64 bits): the LPI pending table (one bit per INTID)."""
    _r0:          7
    inner_cache:  3   # [9:7] pending-table AxCACHE if outer_cache = 0; 0 (Device) gives 0b0000
    shareability: 2   # [11:10] read back as written (no AXI4 signal)
    _r1:          4
    pa:           36  # [51:16] table address bits [51:16]
    _r2:          4
    outer_cache:  3   # [58:56] pending-table AxCACHE (0: as inner_cache; docs/axi-attributes.md)
    _r3:          3
    ptz:          1   # [62] WO (reads 0): the table is all zero, no scan at EnableLPIs
    _r4:          1


class GicrLpir(data.Struct):
    """GICR_SETLPIR (0x0040), GICR_CLRLPIR (0x0048), GICR_INVLPIR (0x00A0): 64 bits, WO."""
    intid: 32   # [31:0] the physical LPI
    _r0:   32


class GicrInvallr(data.Struct):
    """GICR_INVALLR (0x00B0, 64 bits, WO): any write reloads every LPI's configuration."""
    _r0:   63
    v:     1    # [63] GICv4.1 virtual form; ignored (physical INVALL either way)


class GicrSyncr(data.Struct):
    """GICR_SYNCR (0x00C0, 32 bits, RO)."""
    busy: 1     # [0] a SETLPIR/CLRLPIR/INVLPIR/INVALLR or EnableLPIs write is still taking effect
    _r0:  31


class GicrPidr2(data.Struct):
    """GICR_PIDR2 (0xFFE8, 32 bits, RO)."""
    jep106_id:  3   # [2:0] JEP106 identity bits [6:4]
    jedec:      1   # [3] JEDEC-assigned identity
    arch_rev:   4   # [7:4] 3: GICv3
    _r0:        24


# ---------------------------------------------------------------------------
# Tables in memory (architecture formats).

class LpiConfig(data.Struct):
    """One byte of the LPI property table, at GICR_PROPBASER.PA + (INTID - 8192)."""
    enable:   1   # [0] the LPI may be signalled
    _res1:    1   # [1] RES1 in the architecture; ignored
    priority: 6   # [7:2] priority bits [7:2]; lower is higher priority


# ---------------------------------------------------------------------------
# CPU interface and the redistributor-to-redistributor stream.

class IccIar1(data.Struct):
    """What an acknowledge (an ICC_IAR1_EL1 read) returns."""
    intid: 24   # [23:0] the LPI acknowledged, or 1023 (spurious)


class IccEoir1(data.Struct):
    """An end of interrupt (an ICC_EOIR1_EL1 write)."""
    intid: 24   # [23:0] the INTID ending; 1020..1023 are ignored


class LpiMove(data.Struct):
    """Pending state of one LPI leaving a redistributor (MOVLPI, MOVALL) for ``target``."""
    lpi:    16  # the INTID that is pending
    target: 8   # processor number of the redistributor that takes it


class TakenInterrupt(data.Struct):
    """An interrupt a CPU took (acknowledged), as :class:`gic.hw.gicr.cpu.CpuStandIn` records it."""
    cpu:      8   # processor number of the CPU (= its redistributor)
    intid:    24  # the INTID ICC_IAR1_EL1 returned
    priority: 8   # its priority (ICC_RPR_EL1 right after the acknowledge)
