"""TableEngine: the property-table read, the pending-table read-modify-write, scan and sweep
against the table formats of docs/redistributor.md (bit ``i % 8`` of byte ``i // 8``; one
property byte per LPI at ``i - 8192``), with memory errors and cycle counts."""

import random

import pytest

from gic.hw.gicr.tables import TableEngine, TableOp
from gic.sim.models.memory import Memory
from gic.sim.rtlsim.harness import MemPortModel, run_sim

PROP = 0x2000_0000
PEND = 0x3000_0000
ID_BITS = 14                          # INTIDs below 16384: pending doublewords 128 .. 255
SCAN_END = (1 << ID_BITS) // 64


def make(memory, latency=3, backpressure=0.0):
    dut = TableEngine(scan_bits=ID_BITS - 6 + 1)
    port = MemPortModel(memory, read=dut.mem_read, write=dut.mem_write, latency=latency,
                        backpressure=backpressure, idle=backpressure, seed=1)
    return dut, port


async def setup(ctx, dut):
    ctx.set(dut.prop_base, PROP)
    ctx.set(dut.pend_base, PEND)
    ctx.set(dut.scan_end, SCAN_END)


async def request(ctx, dut, op, lpi=0):
    """Issue a request and wait for ``done``; returns (payload, cycles from the request's
    edge to the edge that takes ``done``)."""
    ctx.set(dut.request.valid, 1)
    ctx.set(dut.request.payload, {"op": op, "lpi": lpi})
    await ctx.tick()
    ctx.set(dut.request.valid, 0)
    ctx.set(dut.done.ready, 1)
    cycles = 1
    while not ctx.get(dut.done.valid):
        await ctx.tick()
        cycles += 1
    payload = ctx.get(dut.done.payload)
    await ctx.tick()
    ctx.set(dut.done.ready, 0)
    return payload, cycles


def pending_bits(memory):
    """The LPIs set in the pending table, read byte by byte as the architecture lays it out."""
    found = set()
    for byte_index in range(8192 // 8, (1 << ID_BITS) // 8):
        byte = memory.read_int(PEND + byte_index, 1)
        found |= {byte_index * 8 + bit for bit in range(8) if byte >> bit & 1}
    return found


def test_config_reads_the_lpis_byte():
    memory = Memory()
    rng = random.Random(3)
    bytes_ = {lpi: rng.randrange(256) for lpi in rng.sample(range(8192, 16384), 20)}
    for lpi, value in bytes_.items():
        memory.write_int(PROP + lpi - 8192, value, 1)
    bad = 8192 + 800
    memory.write_int(PROP + bad - 8192, 0xFF, 1)
    memory.inject_error(PROP + (bad - 8192) // 8 * 8, 8)
    dut, port = make(memory, latency=4)

    async def testbench(ctx):
        await setup(ctx, dut)
        for lpi, value in bytes_.items():
            _, cycles = await request(ctx, dut, TableOp.CONFIG, lpi)
            assert ctx.get(dut.config.as_value()) == value
            assert cycles == 4 + 2         # R + 2: the request out, then the answer registered
        await request(ctx, dut, TableOp.CONFIG, bad)
        assert ctx.get(dut.config.as_value()) == 0      # an error reads as disabled

    run_sim(dut, testbench, processes=[port.run])


def test_read_modify_write():
    """SET and CLEAR change exactly one bit; ``was_set`` tells the bit as it was; an
    unchanged doubleword is not written; a read error leaves memory alone."""
    memory = Memory()
    dut, port = make(memory, latency=2)
    rng = random.Random(5)
    expected = set()

    async def testbench(ctx):
        await setup(ctx, dut)
        for _ in range(60):
            lpi = rng.randrange(8192, 8192 + 300)
            op = rng.choice([TableOp.SET, TableOp.CLEAR])
            writes = port.writes
            done, cycles = await request(ctx, dut, op, lpi)
            assert done.was_set == (lpi in expected)
            changes = (op == TableOp.SET) != (lpi in expected)
            assert port.writes - writes == changes
            # R + 3 without a write, R + W + 4 with one (R = W = 2)
            assert cycles == (2 + 2 + 4 if changes else 2 + 3)
            (expected.add if op == TableOp.SET else expected.discard)(lpi)
            assert pending_bits(memory) == expected
        lpi = 9000
        memory.inject_error(PEND + lpi // 64 * 8, 8)
        writes = port.writes
        done, _ = await request(ctx, dut, TableOp.SET, lpi)
        assert done.was_set == 0 and port.writes == writes
        memory.clear_errors()
        assert lpi not in pending_bits(memory)

    run_sim(dut, testbench, processes=[port.run])


@pytest.mark.parametrize("sweep", [False, True])
def test_scan_and_sweep_hand_out_every_lpi_in_order(sweep):
    """A scan hands out every LPI set, in INTID order, then ``end``; memory errors read as
    empty. A sweep does the same and leaves the pending table empty. Between two LPIs the
    engine may do other work (here a CONFIG) and resumes where it was."""
    memory = Memory()
    rng = random.Random(7)
    lpis = sorted(rng.sample(range(8192, 1 << ID_BITS), 40) + [8192, 8193, (1 << ID_BITS) - 1])
    for lpi in lpis:
        byte = memory.read_int(PEND + lpi // 8, 1)
        memory.write_int(PEND + lpi // 8, byte | 1 << lpi % 8, 1)
    lost = [lpi for lpi in lpis if lpi // 64 == 200]
    memory.inject_error(PEND + 200 * 8, 8)
    memory.write_int(PROP + 5, 0x5D, 1)
    memory.write_int(PEND + 100, 0xFF, 1)       # INTIDs below 8192: never looked at
    dut, port = make(memory, latency=3, backpressure=0.3)
    start, resume = (TableOp.SWEEP, TableOp.SWEEP_NEXT) if sweep else \
        (TableOp.SCAN, TableOp.SCAN_NEXT)

    async def testbench(ctx):
        await setup(ctx, dut)
        found = []
        done, _ = await request(ctx, dut, start)
        while not done.end:
            found.append(done.lpi)
            if len(found) % 7 == 0:
                await request(ctx, dut, TableOp.CONFIG, 8192 + 5)
                assert ctx.get(dut.config.as_value()) == 0x5D
            done, _ = await request(ctx, dut, resume)
        assert found == [lpi for lpi in lpis if lpi not in lost]
        memory.clear_errors()
        left = pending_bits(memory)
        assert left == (set(lost) if sweep else set(lpis))

    run_sim(dut, testbench, processes=[port.run])


def test_scan_of_an_empty_table_costs_per_doubleword():
    """An empty table: R + 2 cycles per doubleword read (request, answer, a look at it),
    and one for the end."""
    memory = Memory()
    dut, port = make(memory, latency=1)

    async def testbench(ctx):
        await setup(ctx, dut)
        ctx.set(dut.scan_end, 128 + 10)
        done, cycles = await request(ctx, dut, TableOp.SCAN)
        assert done.end and port.reads == 10
        assert cycles == 10 * (1 + 2) + 1           # R + 2 per doubleword, 1 for the end

    run_sim(dut, testbench, processes=[port.run])
