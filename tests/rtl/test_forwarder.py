"""The forwarder: per-redistributor order, independence under backpressure, SYNC acknowledges."""

import gc
import random

import pytest

from gic.hw.its.forwarder import LPI_FIFO_DEPTH, Forwarder
from gic.hw.its.layouts import GicOp
from gic.hw.its.params import ItsParams

from gic.sim.rtlsim.harness import run_sim, stream_get_many, stream_put, stream_put_many

PARAMS = ItsParams(num_redistributors=3)


def routed(rd, op, lpi=0, target=0):
    return {"rd": rd, "packet": {"op": op, "lpi": lpi, "target": target}}


def as_tuple(packet):
    return (packet.op, packet.lpi, packet.target)


def random_packets(rng, count, ops):
    return [routed(rng.randrange(PARAMS.num_redistributors), rng.choice(ops),
                   lpi=rng.randrange(8192, 65536), target=rng.randrange(4))
            for _ in range(count)]


def expected_per_rd(*sources):
    """Per RD, the packets of each source in their order (the order between sources is free)."""
    return [[[(p["packet"]["op"], p["packet"]["lpi"], p["packet"]["target"])
              for p in source if p["rd"] == rd] for source in sources]
            for rd in range(PARAMS.num_redistributors)]


def split(received, sources):
    """Split a RD's received packets back into the subsequence each source contributed."""
    remaining = [list(s) for s in sources]
    parts = [[] for _ in sources]
    for packet in received:
        for index, source in enumerate(remaining):
            if source and source[0] == packet:
                parts[index].append(source.pop(0))
                break
        else:
            raise AssertionError(f"unexpected or out-of-order packet {packet}")
    return parts


@pytest.mark.parametrize("seed", [1, 2])
def test_order_per_rd_with_backpressure(seed):
    """Both inputs at once, every RD with random backpressure: each RD gets every packet it
    was sent, each input's packets in the order that input offered them."""
    rng = random.Random(seed)
    print(f"seed {seed}")
    dut = Forwarder(PARAMS)
    # Distinct lpi values so the split back into sources is unambiguous.
    lpis = rng.sample(range(8192, 65536), 120)
    translated = [routed(rng.randrange(3), GicOp.SET, lpi=lpi) for lpi in lpis[:60]]
    executed = [routed(rng.randrange(3), rng.choice([GicOp.CLEAR, GicOp.INV, GicOp.MOVLPI]),
                       lpi=lpi, target=rng.randrange(3)) for lpi in lpis[60:]]
    expected = expected_per_rd(translated, executed)
    received = [None] * PARAMS.num_redistributors

    def source(port, packets, seed):
        async def run(ctx):
            await stream_put_many(ctx, port, packets, idle=0.3, rng=random.Random(seed))
        return run

    def sink(rd):
        async def run(ctx):
            count = sum(len(part) for part in expected[rd])
            got = await stream_get_many(ctx, dut.gic[rd], count, backpressure=0.5,
                                        rng=random.Random(seed * 10 + rd))
            received[rd] = [as_tuple(p) for p in got]
        return run

    run_sim(dut,
            source(dut.lpi, translated, seed),
            source(dut.cmd, executed, seed + 100),
            *(sink(rd) for rd in range(PARAMS.num_redistributors)))
    for rd in range(PARAMS.num_redistributors):
        assert split(received[rd], expected[rd]) == expected[rd]


def test_slow_rd_does_not_block_others():
    """RD 0 never takes a packet: once its FIFO is full, packets for RD 1 still flow."""
    dut = Forwarder(PARAMS, depth=2)
    to_rd0 = [routed(0, GicOp.SET, lpi=8192 + n) for n in range(2)]
    to_rd1 = [routed(1, GicOp.SET, lpi=9000 + n) for n in range(10)]

    async def sender(ctx):
        await stream_put_many(ctx, dut.lpi, to_rd0 + to_rd1)
        # A third packet for RD 0 waits at the head of the lpi input's FIFO (RD 0's queue
        # holds two and RD 0 takes none); the FIFO takes one more, then lpi is not ready.
        await stream_put_many(ctx, dut.lpi, [routed(0, GicOp.SET, lpi=8300 + n)
                                             for n in range(LPI_FIFO_DEPTH)])
        ctx.set(dut.lpi.payload, routed(0, GicOp.SET, lpi=8400))
        ctx.set(dut.lpi.valid, 1)
        for _ in range(5):
            await ctx.tick()
            assert not ctx.get(dut.lpi.ready)
        got = await stream_get_many(ctx, dut.gic[0], 1)
        assert got[0].lpi == 8192
        await ctx.tick().until(dut.lpi.ready)
        ctx.set(dut.lpi.valid, 0)

    async def rd1(ctx):
        got = await stream_get_many(ctx, dut.gic[1], len(to_rd1))
        assert [p.lpi for p in got] == [p["packet"]["lpi"] for p in to_rd1]

    run_sim(dut, sender, rd1)


def test_latency_one_cycle():
    dut = Forwarder(PARAMS)

    async def testbench(ctx):
        ctx.set(dut.gic[2].ready, 1)
        ctx.set(dut.cmd.payload, routed(2, GicOp.INVALL))
        ctx.set(dut.cmd.valid, 1)
        assert not ctx.get(dut.gic[2].valid)
        await ctx.tick()
        ctx.set(dut.cmd.valid, 0)
        assert ctx.get(dut.gic[2].valid)
        assert ctx.get(dut.gic[2].payload.op) == GicOp.INVALL

    run_sim(dut, testbench)


def test_lpi_latency_two_cycles():
    """A translated packet goes through the lpi input's FIFO: accepted on cycle n, offered
    to its redistributor on cycle n + 2; lpi stays ready while the FIFO has room."""
    dut = Forwarder(PARAMS)

    async def testbench(ctx):
        ctx.set(dut.gic[1].ready, 1)
        ctx.set(dut.lpi.payload, routed(1, GicOp.SET, lpi=8200))
        ctx.set(dut.lpi.valid, 1)
        assert ctx.get(dut.lpi.ready)
        await ctx.tick()
        ctx.set(dut.lpi.valid, 0)
        assert not ctx.get(dut.gic[1].valid)
        assert not ctx.get(dut.idle)
        await ctx.tick()
        assert ctx.get(dut.gic[1].valid)
        assert ctx.get(dut.gic[1].payload.lpi) == 8200
        await ctx.tick()
        assert ctx.get(dut.idle)

    run_sim(dut, testbench)


def test_tie_alternates():
    """Both inputs always offer packets for RD 0: they take turns."""
    dut = Forwarder(PARAMS)
    translated = [routed(0, GicOp.SET, lpi=8192 + n) for n in range(8)]
    executed = [routed(0, GicOp.CLEAR, lpi=8192 + n) for n in range(8)]

    async def put_translated(ctx):
        await stream_put_many(ctx, dut.lpi, translated)

    async def put_executed(ctx):
        await stream_put_many(ctx, dut.cmd, executed)

    async def sink(ctx):
        got = await stream_get_many(ctx, dut.gic[0], 16)
        ops = [p.op for p in got]
        assert ops.count(GicOp.SET) == ops.count(GicOp.CLEAR) == 8
        # No input waits for more than one packet of the other.
        assert all(a != b for a, b in zip(ops[::2], ops[1::2]))

    run_sim(dut, put_translated, put_executed, sink)


def test_sync_acknowledge():
    """``synced`` pulses once when the RD that got the SYNC acknowledges, not for other RDs."""
    dut = Forwarder(PARAMS)

    async def testbench(ctx):
        assert ctx.get(dut.idle)
        await stream_put(ctx, dut.cmd, routed(1, GicOp.SYNC))
        assert not ctx.get(dut.idle)
        got = await stream_get_many(ctx, dut.gic[1], 1)
        assert got[0].op == GicOp.SYNC
        # An acknowledge from RD 2, which has no SYNC outstanding, is ignored.
        await stream_put(ctx, dut.ack[2], {"sync": 1})
        for _ in range(3):
            assert not ctx.get(dut.synced)
            await ctx.tick()
        ctx.set(dut.ack[1].payload, {"sync": 1})
        ctx.set(dut.ack[1].valid, 1)
        assert ctx.get(dut.ack[1].ready)
        assert ctx.get(dut.synced)
        await ctx.tick()
        ctx.set(dut.ack[1].valid, 0)
        assert not ctx.get(dut.synced)
        assert ctx.get(dut.idle)

    run_sim(dut, testbench)


def test_unknown_rd_dropped():
    dut = Forwarder(PARAMS)

    async def testbench(ctx):
        await stream_put(ctx, dut.lpi, routed(7, GicOp.SET, lpi=8192))
        await stream_put(ctx, dut.lpi, routed(0, GicOp.SET, lpi=8193))
        got = await stream_get_many(ctx, dut.gic[0], 1)
        assert got[0].lpi == 8193
        for rd in range(PARAMS.num_redistributors):
            assert not ctx.get(dut.gic[rd].valid)

    run_sim(dut, testbench)


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_parameter_messages():
    with pytest.raises(TypeError, match="params must be an ItsParams, not 3"):
        Forwarder(3)
    with pytest.raises(ValueError, match="depth must be a positive integer, not 0") as info:
        Forwarder(PARAMS, depth=0)
    del info      # drop the half-built component here, where its warning is filtered
    gc.collect()
