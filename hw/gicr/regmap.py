"""The redistributor register map (RD_base frame): offsets, widths, layouts, access rules.

The RTL register block in :mod:`gic.hw.gicr.redistributor`, the reference model
(:class:`gic.sim.models.gicr.RedistributorModel`) and docs/redistributor.md read this
table. Only the LPI part of the architecture's RD_base frame is implemented; the
SGI_base frame (+0x10000: SGIs and PPIs) reads as zero and ignores writes.
"""

from gic.hw.its.regmap import Register

from . import layouts as L

__all__ = ["REGISTERS", "REG", "FRAME_BYTES", "RD_BASE_BYTES", "IIDR_VALUE", "PIDR2_VALUE",
           "LPI_COMMAND_REGISTERS", "markdown_table"]

FRAME_BYTES = 0x20000
"""One redistributor's register region: RD_base (64 KiB) then SGI_base (64 KiB)."""
RD_BASE_BYTES = 0x10000
"""The RD_base frame, where every implemented register is."""

IIDR_VALUE = L.GicrIidr.const({"implementer": 0x43B, "revision": 0, "variant": 0,
                               "product_id": 0x7B}).as_value().value
"""GICR_IIDR: Arm's JEP106 code 0x43B with an unofficial ProductID for this open redistributor."""

PIDR2_VALUE = L.GicrPidr2.const({"jep106_id": 0x3, "jedec": 1, "arch_rev": 3}).as_value().value
"""GICR_PIDR2: ArchRev 3 (GICv3)."""

REGISTERS = (
    Register("GICR_CTLR", 0x0000, 32, "RW", L.GicrCtlr,
             "EnableLPIs [0]: 0->1 scans the pending table (unless PENDBASER.PTZ), 1->0 writes "
             "the pending LPIs held on chip back to it; RWP [3] reads 1 until that is done."),
    Register("GICR_IIDR", 0x0004, 32, "RO", L.GicrIidr, "Implementer and revision."),
    Register("GICR_TYPER", 0x0008, 64, "RO", L.GicrTyper,
             "PLPIS=1, DirectLPI=1, Last, Processor_Number; Affinity Aff0 = processor number."),
    Register("GICR_WAKER", 0x0014, 32, "RW", L.GicrWaker,
             "ProcessorSleep [1] (resets to 1), ChildrenAsleep [2] follows it."),
    Register("GICR_SETLPIR", 0x0040, 64, "WO", L.GicrLpir,
             "Make INTID pending, as a SET from the ITS. Ignored while EnableLPIs=0 or out of range."),
    Register("GICR_CLRLPIR", 0x0048, 64, "WO", L.GicrLpir,
             "Clear INTID's pending state."),
    Register("GICR_PROPBASER", 0x0070, 64, "RW", L.GicrPropbaser,
             "LPI property table base and IDbits. Writes ignored while EnableLPIs=1 or RWP=1."),
    Register("GICR_PENDBASER", 0x0078, 64, "RW", L.GicrPendbaser,
             "LPI pending table base; PTZ [62] WO. Writes ignored while EnableLPIs=1 or RWP=1."),
    Register("GICR_INVLPIR", 0x00A0, 64, "WO", L.GicrLpir,
             "Reload INTID's configuration from the property table."),
    Register("GICR_INVALLR", 0x00B0, 64, "WO", L.GicrInvallr,
             "Reload every LPI's configuration."),
    Register("GICR_SYNCR", 0x00C0, 32, "RO", L.GicrSyncr,
             "Busy [0] reads 1 until every earlier register write has taken effect."),
    Register("GICR_PIDR2", 0xFFE8, 32, "RO", L.GicrPidr2, "ArchRev [7:4] = 3 (GICv3)."),
)

REG = {r.name: r.offset for r in REGISTERS}
"""Offset of each register, by name."""

LPI_COMMAND_REGISTERS = ("GICR_SETLPIR", "GICR_CLRLPIR", "GICR_INVLPIR", "GICR_INVALLR")
"""The write-only registers whose writes queue work for the redistributor (GICR_SYNCR.Busy)."""


def markdown_table():
    """The register table of docs/redistributor.md (kept in step by tests/test_gicr_model.py)."""
    lines = ["| Offset | Register | Width | Access | Description |", "|---|---|---|---|---|"]
    lines += [f"| `{r.offset:#06x}` | {r.name} | {r.width} | {r.access} | {r.doc} |"
              for r in REGISTERS]
    return "\n".join(lines)
