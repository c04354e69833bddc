"""Sequencer: the redistributor's top state machine, with a real LpiCache and a stand-in table
engine (a Python process answering its requests from a dict of property bytes and a set of
pending-table bits), against the rules of docs/redistributor.md: what is taken first, where
a new LPI goes when the cache is full, what moves and SYNCs do."""

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring

from gic.hw.gicr.lpi_cache import LpiCache
from gic.hw.gicr.registers import RdOp
from gic.hw.gicr.sequencer import Sequencer
from gic.hw.gicr.tables import TableOp
from gic.hw.its.layouts import GicOp
from gic.hw.its.params import ItsParams
from gic.sim.rtlsim.harness import run_sim, stream_get, stream_put

PARAMS = ItsParams(device_bits=8, event_bits=8, id_bits=14, collection_bits=8, hcc=4,
                   num_redistributors=3)


class Bench:
    """A Sequencer of processor number 1 wired to an LpiCache of ``entries`` entries; the
    table engine is :meth:`tables`, which logs each request as ``(TableOp, lpi)``."""

    def __init__(self, entries=2, configs=None, pending=(), latency=2):
        self.seq = Sequencer(PARAMS, processor_number=1, entries=entries)
        self.cache = LpiCache(entries)
        self.m = Module()
        self.m.submodules.seq = self.seq
        self.m.submodules.cache = self.cache
        wiring.connect(self.m, self.seq.cache, self.cache)
        self.configs = configs or {}           # lpi -> (priority, enable)
        self.pending = set(pending)            # the pending table
        self.latency = latency
        self.log = []

    async def tables(self, ctx):
        seq = self.seq
        scan = []
        while True:
            _, _, valid, payload = await ctx.tick().sample(seq.table_request.valid,
                                                           seq.table_request.payload)
            if not valid:
                continue
            op, lpi = TableOp(payload.op), payload.lpi
            self.log.append((op, lpi))
            answer = {"lpi": 0, "was_set": 0, "end": 0}
            if op == TableOp.CONFIG:
                priority, enable = self.configs.get(lpi, (0xFC, 0))
                ctx.set(seq.table_config, {"priority": priority >> 2, "enable": enable})
            elif op in (TableOp.SET, TableOp.CLEAR):
                answer["was_set"] = lpi in self.pending
                (self.pending.add if op == TableOp.SET else self.pending.discard)(lpi)
            else:
                if op in (TableOp.SCAN, TableOp.SWEEP):
                    scan = sorted(self.pending)
                    if op == TableOp.SWEEP:
                        self.pending.clear()
                if scan:
                    answer["lpi"] = scan.pop(0)
                else:
                    answer["end"] = 1
            for _ in range(self.latency):
                await ctx.tick()
            ctx.set(seq.table_done.valid, 1)
            ctx.set(seq.table_done.payload, answer)
            await ctx.tick().until(seq.table_done.ready)
            ctx.set(seq.table_done.valid, 0)

    async def start(self, ctx, enable=1):
        ctx.set(self.seq.settings, {"enable_lpis": enable, "id_bits": 14, "lpis_exist": 1,
                                    "scan_end": 256})
        await self.settle(ctx)

    async def settle(self, ctx):
        for _ in range(2000):
            await ctx.tick()
            if ctx.get(self.seq.idle) and not ctx.get(self.seq.move_out.valid):
                return
        raise TimeoutError("the sequencer stays busy")

    async def packet(self, ctx, op, lpi=0, target=0):
        await stream_put(ctx, self.seq.gic, {"op": op, "lpi": lpi, "target": target})
        await self.settle(ctx)

    async def acknowledge(self, ctx):
        await stream_put(ctx, self.seq.cpu.iar_req, 0)
        return (await stream_get(ctx, self.seq.cpu.iar)).intid

    def run(self, testbench):
        run_sim(self.m, testbench, processes=[self.tables])


def order(configs, lpis):
    """Signalling order, worked out here: enabled first, then priority, then INTID."""
    return sorted(lpis, key=lambda lpi: (not configs[lpi][1], configs[lpi][0], lpi))


def test_full_cache_keeps_the_lpis_signalled_first():
    """With 2 entries: a third LPI that comes before the worst cached one displaces it to the
    pending table (SET of the victim); one that comes after goes there itself. Acknowledges
    then take the LPIs in signalling order, refilling from the pending table by a scan."""
    configs = {8200: (0x40, 1), 8201: (0x80, 1), 8202: (0x20, 1), 8203: (0xA0, 1)}
    bench = Bench(entries=2, configs=configs)

    async def testbench(ctx):
        await bench.start(ctx)
        for lpi in (8200, 8201):
            await bench.packet(ctx, GicOp.SET, lpi)
        assert bench.log == [(TableOp.CONFIG, 8200), (TableOp.CONFIG, 8201)]
        bench.log.clear()
        await bench.packet(ctx, GicOp.SET, 8202)        # before the worst (8201): displaces it
        assert bench.log == [(TableOp.CONFIG, 8202), (TableOp.SET, 8201)]
        bench.log.clear()
        await bench.packet(ctx, GicOp.SET, 8203)        # after every cached one: to memory
        assert bench.log == [(TableOp.CONFIG, 8203), (TableOp.SET, 8203)]
        assert bench.pending == {8201, 8203}
        await bench.packet(ctx, GicOp.SET, 8202)        # pending already: nothing to read
        assert bench.log[-1] == (TableOp.SET, 8203)
        got = []
        for _ in range(4):
            got.append(await bench.acknowledge(ctx))
            for _ in range(3):                          # end of interrupt: back to idle priority
                await stream_put(ctx, bench.seq.cpu.eoir, {"intid": got[-1]})
            await bench.settle(ctx)
        assert got == order(configs, configs)
        assert await bench.acknowledge(ctx) == 1023
        assert (TableOp.SCAN, 0) in bench.log

    bench.run(testbench)


def test_idle_takes_move_in_then_register_work_then_gic():
    """All three offered at once: the move arriving first, then the register work, then the
    GIC stream packet (docs: the order of precedence in the idle state)."""
    configs = {8300: (0x10, 1), 8301: (0x10, 1), 8302: (0x10, 1)}
    bench = Bench(entries=4, configs=configs)

    async def testbench(ctx):
        await bench.start(ctx)
        seq = bench.seq
        ctx.set(seq.move_in.valid, 1)
        ctx.set(seq.move_in.payload, {"lpi": 8300, "target": 1})
        ctx.set(seq.work.valid, 1)
        ctx.set(seq.work.payload, {"op": RdOp.SET, "lpi": 8301, "wide": 0})
        ctx.set(seq.gic.valid, 1)
        ctx.set(seq.gic.payload, {"op": GicOp.SET, "lpi": 8302, "target": 0})
        taken = []
        for _ in range(500):
            handshakes = [(name, port) for name, port in
                          (("move", seq.move_in), ("work", seq.work), ("gic", seq.gic))
                          if ctx.get(port.valid) and ctx.get(port.ready)]
            await ctx.tick()
            for name, port in handshakes:
                taken.append(name)
                ctx.set(port.valid, 0)
        assert taken == ["move", "work", "gic"]
        await bench.settle(ctx)
        assert [lpi for op, lpi in bench.log] == [8300, 8301, 8302]
        assert ctx.get(seq.work_running) == 0

    bench.run(testbench)


def test_moves_and_sync():
    """MOVLPI to this redistributor does nothing; to another sends the LPI on ``move_out``
    with that target; MOVALL sends every cached LPI, then sweeps the pending table. A SYNC
    is acknowledged only once ``peers_done``."""
    configs = {lpi: (0x30, 1) for lpi in range(8400, 8405)}
    bench = Bench(entries=2, configs=configs)
    moves = []

    async def sink(ctx):
        seq = bench.seq
        ctx.set(seq.move_out.ready, 1)
        async for _, _, valid, payload in ctx.tick().sample(seq.move_out.valid,
                                                            seq.move_out.payload):
            if valid:
                moves.append((payload.lpi, payload.target))

    async def testbench(ctx):
        await bench.start(ctx)
        for lpi in range(8400, 8405):
            await bench.packet(ctx, GicOp.SET, lpi)
        assert bench.pending == {8402, 8403, 8404}       # equal priority: higher INTIDs spill
        await bench.packet(ctx, GicOp.MOVLPI, 8400, target=1)
        assert moves == []
        await bench.packet(ctx, GicOp.MOVLPI, 8400, target=2)
        assert moves == [(8400, 2)]
        await bench.packet(ctx, GicOp.MOVLPI, 8403, target=0)   # held in memory
        assert moves[-1] == (8403, 0) and bench.pending == {8402, 8404}
        await bench.packet(ctx, GicOp.MOVALL, target=2)
        assert sorted(moves[2:]) == [(8401, 2), (8402, 2), (8404, 2)]
        assert bench.pending == set()
        assert await bench.acknowledge(ctx) == 1023
        ctx.set(bench.seq.peers_done, 0)
        await stream_put(ctx, bench.seq.gic, {"op": GicOp.SYNC, "lpi": 0, "target": 0})
        for _ in range(10):
            await ctx.tick()
            assert not ctx.get(bench.seq.ack.valid)
        ctx.set(bench.seq.peers_done, 1)
        await stream_get(ctx, bench.seq.ack)

    run_sim(bench.m, testbench, processes=[bench.tables, sink])


@pytest.mark.parametrize("enable", [0, 1])
def test_set_needs_enable_lpis(enable):
    """A SET while EnableLPIs = 0 reads nothing and makes nothing pending."""
    bench = Bench(entries=2, configs={8500: (0x10, 1)})

    async def testbench(ctx):
        await bench.start(ctx, enable=enable)
        await bench.packet(ctx, GicOp.SET, 8500)
        assert bench.log == ([(TableOp.CONFIG, 8500)] if enable else [])
        assert await bench.acknowledge(ctx) == (8500 if enable else 1023)

    bench.run(testbench)
