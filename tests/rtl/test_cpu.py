"""hw/gicr/cpu.py: the CPU stand-in against a scripted CPU interface (the redistributor's side
played by the testbench: irq, the IAR answer, RPR, and the EOIR it must see)."""

import gc

import pytest

from gic.hw.gicr.cpu import CpuStandIn
from gic.hw.gicr.layouts import SPURIOUS_INTID
from gic.sim.rtlsim.harness import run_sim, stream_get


def test_acknowledge_record_end_of_interrupt_and_mask():
    dut = CpuStandIn(cpu=3)
    cpu = dut.cpu
    seen = []

    async def redistributor(ctx, intid, priority):
        """Answer one acknowledge with ``intid`` at ``priority``; return the EOIR's INTID."""
        ctx.set(cpu.iar_req.ready, 1)
        await ctx.tick().until(cpu.iar_req.valid)
        ctx.set(cpu.iar_req.ready, 0)
        ctx.set(cpu.irq, 0)
        ctx.set(cpu.rpr, priority)
        ctx.set(cpu.iar.payload, {"intid": intid})
        ctx.set(cpu.iar.valid, 1)
        await ctx.tick().until(cpu.iar.ready)
        ctx.set(cpu.iar.valid, 0)
        if intid == SPURIOUS_INTID:
            return None
        ctx.set(cpu.eoir.ready, 1)
        payload, = await ctx.tick().sample(cpu.eoir.payload).until(cpu.eoir.valid)
        ctx.set(cpu.eoir.ready, 0)
        ctx.set(cpu.rpr, 0xFF)
        return payload.intid

    async def testbench(ctx):
        ctx.set(dut.mask, 1)
        ctx.set(cpu.irq, 1)
        await ctx.tick().repeat(10)
        assert not ctx.get(cpu.iar_req.valid) and not ctx.get(dut.busy)   # masked: waits
        ctx.set(dut.mask, 0)
        assert await redistributor(ctx, 8200, 0x40) == 8200
        record = await stream_get(ctx, dut.record)
        seen.append((record.cpu, record.intid, record.priority))
        # Spurious: nothing recorded, no end of interrupt.
        ctx.set(cpu.irq, 1)
        assert await redistributor(ctx, SPURIOUS_INTID, 0xFF) is None
        await ctx.tick().repeat(5)
        assert not ctx.get(dut.record.valid) and not ctx.get(cpu.eoir.valid)
        # A record nobody takes holds the next acknowledge back.
        ctx.set(cpu.irq, 1)
        assert await redistributor(ctx, 9000, 0x10) == 9000
        ctx.set(cpu.irq, 1)
        await ctx.tick().repeat(10)
        assert ctx.get(dut.record.valid) and not ctx.get(cpu.iar_req.valid)
        record = await stream_get(ctx, dut.record)
        seen.append((record.cpu, record.intid, record.priority))
        assert await redistributor(ctx, 9001, 0x14) == 9001
        record = await stream_get(ctx, dut.record)
        seen.append((record.cpu, record.intid, record.priority))

    run_sim(dut, testbench, max_cycles=2000)
    assert seen == [(3, 8200, 0x40), (3, 9000, 0x10), (3, 9001, 0x14)]


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_parameter_message():
    with pytest.raises(ValueError, match=r"cpu must be an integer in 0\.\.255, not 256"):
        CpuStandIn(cpu=256)
    gc.collect()


def test_taken_arbiter_merges_round_robin_and_loses_nothing():
    from gic.hw.boards.top import TakenArbiter
    dut = TakenArbiter(3)
    got = []

    async def testbench(ctx):
        for n, source in enumerate(dut.source):
            ctx.set(source.valid, 1)
            ctx.set(source.payload, {"cpu": n, "intid": 8192 + n, "priority": 0x10 * n})
        ctx.set(dut.sink.ready, 1)
        for _ in range(6):
            _, _, valid, payload, *readies = await ctx.tick().sample(
                dut.sink.valid, dut.sink.payload, *(s.ready for s in dut.source))
            assert valid and sum(readies) == 1
            got.append(payload.cpu)
            if len(got) == 3:
                ctx.set(dut.source[1].valid, 0)       # CPU 1 has nothing more
        ctx.set(dut.sink.ready, 0)
        await ctx.tick().repeat(3)                    # held back: offered, not taken
        assert ctx.get(dut.sink.valid)

    run_sim(dut, testbench, max_cycles=100)
    assert got[:3] == [0, 1, 2] and got[3:] == [0, 2, 0]


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_taken_arbiter_parameter_message():
    from gic.hw.boards.top import TakenArbiter
    with pytest.raises(ValueError, match=r"count must be an integer in 1\.\.64, not 0"):
        TakenArbiter(0)
    gc.collect()
