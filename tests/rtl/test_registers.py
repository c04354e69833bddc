"""GicrRegisters: the GICR_* register block on its register bus against the register table of
docs/redistributor.md (offsets, reset values, read-only / write-only fields, the work a write
asks for)."""

import gc

import pytest

from gic.hw.gicr.registers import GicrRegisters, RdOp
from gic.hw.its.params import ItsParams
from gic.sim.rtlsim.harness import run_sim

PARAMS = ItsParams(device_bits=8, event_bits=8, id_bits=16, collection_bits=8, hcc=4,
                   num_redistributors=2)
TYPER = 0x0000_0001_0000_0131      # an arbitrary constant: read back as given

# Offsets from the docs' register table.
CTLR, IIDR, TYPER_OFF, WAKER = 0x0000, 0x0004, 0x0008, 0x0014
SETLPIR, CLRLPIR, PROPBASER, PENDBASER = 0x0040, 0x0048, 0x0070, 0x0078
INVLPIR, INVALLR, SYNCR, PIDR2 = 0x00A0, 0x00B0, 0x00C0, 0xFFE8


class RegisterBus:
    """Accesses on the register bus as the AXI4-Lite bridge makes them (one strobe cycle; a
    32-bit access to the upper half has its data in [63:32] and ``w_strb == 0xF0``), and a
    log of the work ``work`` puts out: ``(RdOp, lpi, wide)``."""

    def __init__(self, dut):
        self.dut = dut
        self.work = []

    async def _strobe(self, ctx, **fields):
        bus = self.dut.bus
        for name, value in fields.items():
            ctx.set(getattr(bus, name), value)
        if ctx.get(self.dut.work.valid):
            head = ctx.get(self.dut.work.payload)
            self.work.append((RdOp(head.op), head.lpi, head.wide))
        await ctx.tick()
        ctx.set(bus.w_stb, 0)
        ctx.set(bus.r_stb, 0)

    async def write(self, ctx, offset, value, size=8):
        shift = (offset & 4) * 8
        strb = ((1 << size) - 1) << (offset & 4)
        await self._strobe(ctx, addr=offset & ~7, w_data=value << shift, w_strb=strb, w_stb=1)
        await ctx.tick()

    async def read(self, ctx, offset, size=8):
        await self._strobe(ctx, addr=offset & ~7, r_stb=1)
        assert not ctx.get(self.dut.bus.err)
        value = ctx.get(self.dut.bus.r_data) >> (offset & 4) * 8
        await ctx.tick()
        return value & ((1 << 8 * size) - 1)


def make():
    dut = GicrRegisters(PARAMS, typer=TYPER)
    return dut, RegisterBus(dut)


def test_reset_values_and_read_only():
    """Reset values: CTLR CES=1 IR=1 (0x6), WAKER ProcessorSleep=1 ChildrenAsleep=1 (0x6),
    TYPER as given, PIDR2.ArchRev = 3; read-only registers and unknown offsets ignore
    writes; unknown offsets and write-only registers read 0."""
    dut, axil = make()

    async def testbench(ctx):
        assert await axil.read(ctx, CTLR, 4) == 0x6
        assert await axil.read(ctx, WAKER, 4) == 0x6
        assert await axil.read(ctx, TYPER_OFF, 8) == TYPER
        assert await axil.read(ctx, TYPER_OFF + 4, 4) == TYPER >> 32
        assert (await axil.read(ctx, PIDR2, 4) >> 4) & 0xF == 3
        assert await axil.read(ctx, IIDR, 4) & 0xFFF == 0x43B
        await axil.write(ctx, TYPER_OFF, 0, 8)
        await axil.write(ctx, 0x0100, 0xFFFF, 8)
        assert await axil.read(ctx, TYPER_OFF, 8) == TYPER
        for offset in (0x0100, 0x0200, SETLPIR, CLRLPIR, INVLPIR, INVALLR, 0x10000):
            assert await axil.read(ctx, offset, 8) == 0, hex(offset)
        assert await axil.read(ctx, SYNCR, 4) == 0
        assert not ctx.get(dut.work.valid)
        await axil.write(ctx, WAKER, 0, 4)
        assert await axil.read(ctx, WAKER, 4) == 0       # ChildrenAsleep follows
        settings = ctx.get(dut.settings)
        assert (settings.enable_lpis, settings.ptz) == (0, 0)

    run_sim(dut, testbench)


def test_table_bases_and_lpi_range():
    """PROPBASER and PENDBASER read back (PTZ reads 0 and is remembered); the LPI range is
    min(IDbits + 1, id_bits); the bases are the PA fields; writes are ignored while
    EnableLPIs = 1 or RWP = 1."""
    dut, axil = make()

    async def testbench(ctx):
        propbaser = 0x0000_0001_2345_6000 | 13          # IDbits = 13: 14 bits
        await axil.write(ctx, PROPBASER, propbaser, 8)
        assert await axil.read(ctx, PROPBASER, 8) == propbaser
        pendbaser = 0x0000_0004_5678_0000
        await axil.write(ctx, PENDBASER, pendbaser | 1 << 62, 8)
        assert await axil.read(ctx, PENDBASER, 8) == pendbaser
        s = ctx.get(dut.settings)
        assert (s.prop_base, s.pend_base, s.ptz) == (0x1_2345_6000, 0x4_5678_0000, 1)
        assert (s.id_bits, s.lpis_exist, s.scan_end) == (14, 1, (1 << 14) // 64)
        for idbits, bits in ((31, 16), (15, 16), (14, 15), (12, 13), (3, 4)):
            await axil.write(ctx, PROPBASER, idbits, 4)
            s = ctx.get(dut.settings)
            assert (s.id_bits, s.lpis_exist) == (bits, bits >= 14)
            if bits >= 14:
                assert s.scan_end == (1 << bits) // 64
        await axil.write(ctx, PROPBASER, 0x7000 | 15, 8)
        await axil.write(ctx, CTLR, 1, 4)                  # EnableLPIs: fixed now
        assert axil.work == [(RdOp.ENABLE, 0, 0)]
        assert await axil.read(ctx, CTLR, 4) == 0b0111     # EnableLPIs, CES, IR; RWP = 0
        await axil.write(ctx, PROPBASER, 0x9000, 8)
        await axil.write(ctx, PENDBASER, 0x30000, 8)
        assert await axil.read(ctx, PROPBASER, 8) == 0x7000 | 15
        assert await axil.read(ctx, PENDBASER, 8) == pendbaser
        ctx.set(dut.work_pending, 1)                       # the DISABLE queued or under way
        await axil.write(ctx, CTLR, 0, 4)
        assert axil.work[-1] == (RdOp.DISABLE, 0, 0)
        assert await axil.read(ctx, CTLR, 4) == 0b1110      # RWP
        await axil.write(ctx, PROPBASER, 0x9000, 8)        # RWP = 1: ignored
        assert await axil.read(ctx, PROPBASER, 8) == 0x7000 | 15
        ctx.set(dut.work_pending, 0)
        await axil.write(ctx, PROPBASER, 0x9000, 8)
        assert await axil.read(ctx, PROPBASER, 8) == 0x9000

    run_sim(dut, testbench)


def test_work_and_busy():
    """SETLPIR, CLRLPIR, INVLPIR, INVALLR and EnableLPIs changes put out work, one item per
    write, in the write's strobe cycle (an INTID with bits above 15 set is marked wide);
    other writes put out none; SYNCR.Busy and CTLR.RWP read ``work_pending``."""
    dut, axil = make()

    async def testbench(ctx):
        await axil.write(ctx, CTLR, 1, 4)
        await axil.write(ctx, SETLPIR, 0x2001, 8)
        assert axil.work == [(RdOp.ENABLE, 0, 0), (RdOp.SET, 0x2001, 0)]
        await axil.write(ctx, CTLR, 1, 4)                 # no change: nothing
        await axil.write(ctx, WAKER, 0, 4)
        await axil.write(ctx, PIDR2, 0, 4)
        assert len(axil.work) == 2
        for offset, value, want in ((CLRLPIR, 0x1_2002, (RdOp.CLEAR, 0x2002, 1)),
                                    (INVLPIR, 0x2003, (RdOp.INV, 0x2003, 0)),
                                    (INVALLR, 0x1, (RdOp.INVALL, 0, 0)),
                                    (SETLPIR + 4, 0x1, (RdOp.SET, 0, 0))):   # [63:32]: not INTID
            await axil.write(ctx, offset, value, 4 if offset % 8 else 8)
            assert axil.work[-1] == want
        await axil.write(ctx, CTLR, 0, 4)
        assert axil.work[-1] == (RdOp.DISABLE, 0, 0) and len(axil.work) == 7
        for pending in (1, 0):
            ctx.set(dut.work_pending, pending)
            assert await axil.read(ctx, SYNCR, 4) == pending
            assert (await axil.read(ctx, CTLR, 4) >> 3) & 1 == pending

    run_sim(dut, testbench)


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_constructor_checks():
    with pytest.raises(TypeError, match="params must be an ItsParams"):
        GicrRegisters(None, typer=0)
    gc.collect()  # the half-built components warn when collected: here, where that is ignored
