"""HeadRegisteredFIFO: the cycle behaviour of amaranth's SyncFIFO, with the head in a register."""

import gc
import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In

from gic.hw.bus.fifo import HeadRegisteredFIFO
from gic.sim.rtlsim.harness import run_sim


class _Pair(wiring.Component):
    """A HeadRegisteredFIFO and a SyncFIFO of the same size, driven alike."""

    def __init__(self, width, depth):
        self._width, self._depth = width, depth
        super().__init__({"w_data": In(width), "w_en": In(1), "r_en": In(1)})
        self.head = HeadRegisteredFIFO(width=width, depth=depth)
        self.reference = fifo.SyncFIFO(width=width, depth=depth)

    def elaborate(self, platform):
        m = Module()
        m.submodules.head = self.head
        m.submodules.reference = self.reference
        for dut in (self.head, self.reference):
            m.d.comb += [dut.w_data.eq(self.w_data), dut.w_en.eq(self.w_en),
                         dut.r_en.eq(self.r_en)]
        return m


@pytest.mark.parametrize("depth", [2, 3, 8])
@pytest.mark.parametrize("seed", [1, 2])
def test_same_cycles_as_syncfifo(depth, seed):
    """Random writes and reads: in every cycle both FIFOs agree on ``w_rdy``, ``r_rdy``,
    ``level`` and, when an entry is readable, ``r_data``; both fill up and run empty."""
    rng = random.Random(seed)
    pair = _Pair(8, depth)
    seen = {"full": 0, "empty": 0}

    async def testbench(ctx):
        for cycle in range(600):
            # Phases that fill the FIFO and phases that drain it.
            write_p, read_p = (0.8, 0.3) if (cycle // 50) % 2 == 0 else (0.3, 0.8)
            ctx.set(pair.w_data, rng.randrange(256))
            ctx.set(pair.w_en, rng.random() < write_p)
            ctx.set(pair.r_en, rng.random() < read_p)
            head, ref = pair.head, pair.reference
            for name in ("w_rdy", "r_rdy", "level"):
                assert ctx.get(getattr(head, name)) == ctx.get(getattr(ref, name)), \
                    f"cycle {cycle}: {name}"
            if ctx.get(ref.r_rdy):
                assert ctx.get(head.r_data) == ctx.get(ref.r_data), f"cycle {cycle}: r_data"
            seen["full"] += ctx.get(ref.level) == depth
            seen["empty"] += ctx.get(ref.level) == 0
            await ctx.tick()

    run_sim(pair, testbench)
    assert seen["full"] and seen["empty"]


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_depth_must_be_two_or_more():
    with pytest.raises(ValueError, match="depth must be at least 2, not 1"):
        HeadRegisteredFIFO(width=8, depth=1)
    gc.collect()
