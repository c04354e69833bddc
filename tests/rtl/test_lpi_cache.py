"""LpiCache: the picks (best, worst, free, hit, slot) against a plain-Python signalling order,
the settling latency, and the active priorities (acknowledge, end of interrupt, rpr)."""

import gc
import random

import pytest

from gic.hw.gicr.lpi_cache import CacheOp, LpiCache
from gic.sim.rtlsim.harness import run_sim


def order(entry):
    """The signalling order of docs/redistributor.md: enabled first, then priority, then INTID."""
    intid, priority, enable = entry
    return (not enable, priority, intid)


async def command(ctx, dut, op, index=0, lpi=0, priority=0, enable=0):
    ctx.set(dut.command.valid, 1)
    ctx.set(dut.command.payload, {"op": op, "index": index, "lpi": lpi,
                                  "config": {"priority": priority, "enable": enable}})
    await ctx.tick()
    ctx.set(dut.command.valid, 0)


async def wait_fresh(ctx, dut):
    cycles = 0
    while not ctx.get(dut.fresh):
        await ctx.tick()
        cycles += 1
    return cycles


@pytest.mark.parametrize("entries", [1, 4, 5, 16])
def test_picks_against_python_order(entries):
    """Random writes, drops and reconfigurations; once fresh, best/worst/free/hit/slot are
    what a sort by signalling order and a linear search say."""
    dut = LpiCache(entries)
    rng = random.Random(entries)
    model = {}       # index -> (intid, priority, enable)

    async def testbench(ctx):
        for _ in range(120):
            free = [i for i in range(entries) if i not in model]
            choice = rng.random()
            if free and choice < 0.5:
                index = rng.choice(free)
                used = {e[0] for e in model.values()}
                lpi = rng.choice([x for x in range(8192, 8192 + 64) if x not in used])
                entry = (lpi, rng.randrange(64), rng.randrange(2))
                await command(ctx, dut, CacheOp.WRITE, index, lpi, entry[1], entry[2])
                model[index] = entry
            elif model and choice < 0.75:
                index = rng.choice(sorted(model))
                await command(ctx, dut, CacheOp.DROP, index)
                del model[index]
            elif model:
                index = rng.choice(sorted(model))
                priority, enable = rng.randrange(64), rng.randrange(2)
                await command(ctx, dut, CacheOp.CONFIGURE, index, priority=priority,
                              enable=enable)
                model[index] = (model[index][0], priority, enable)
            else:
                continue
            await wait_fresh(ctx, dut)
            best, worst, free_out = ctx.get(dut.best), ctx.get(dut.worst), ctx.get(dut.free)
            assert best.valid == bool(model)
            assert free_out.any == (len(model) < entries)
            if len(model) < entries:
                assert free_out.index == min(i for i in range(entries) if i not in model)
            if model:
                first = min(model, key=lambda i: order(model[i]))
                last = max(model, key=lambda i: order(model[i]))
                assert (best.index, best.intid) == (first, model[first][0])
                assert (best.priority, best.enabled) == model[first][1:]
                assert (worst.index, worst.intid) == (last, model[last][0])
                # hit search of a cached and of an absent INTID
                index = rng.choice(sorted(model))
                ctx.set(dut.lookup, model[index][0])
                ctx.set(dut.lookup_changed, 1)
                await ctx.tick()
                ctx.set(dut.lookup_changed, 0)
                assert not ctx.get(dut.hit.fresh)
                await ctx.tick()
                hit = ctx.get(dut.hit)
                assert (hit.fresh, hit.hit, hit.index) == (1, 1, index)
            ctx.set(dut.lookup, 5)
            for slot in range(entries + 1):
                ctx.set(dut.slot, slot)
                await ctx.tick()
                await ctx.tick()
                entry = ctx.get(dut.slot_entry)
                assert entry.fresh and entry.valid == (slot in model)
                if slot in model:
                    assert entry.intid == model[slot][0]
            assert ctx.get(dut.hit.hit) == 0

    run_sim(dut, testbench)


@pytest.mark.parametrize("entries, depth", [(1, 2), (2, 2), (4, 3), (5, 4), (16, 5), (64, 7)])
def test_fresh_latency(entries, depth):
    """After a cache change ``fresh`` is low for S + 1 = ceil(log2(entries)) + 1 cycles (at
    least 2); after a change of the active priorities alone, for 2."""
    dut = LpiCache(entries)

    async def testbench(ctx):
        await wait_fresh(ctx, dut)
        await command(ctx, dut, CacheOp.WRITE, 0, 8200, 3, 1)
        assert await wait_fresh(ctx, dut) == depth
        await command(ctx, dut, CacheOp.END)
        assert await wait_fresh(ctx, dut) == 2

    run_sim(dut, testbench)


def test_acknowledge_end_of_interrupt_and_running_priority():
    """ACKNOWLEDGE frees the best entry and makes its priority active (rpr = priority << 2 a
    cycle later); ``signalled`` only for an enabled best entry above rpr; END drops the
    highest active priority."""
    dut = LpiCache(4)

    async def testbench(ctx):
        await wait_fresh(ctx, dut)
        assert ctx.get(dut.rpr) == 0xFF and not ctx.get(dut.signalled)
        await command(ctx, dut, CacheOp.WRITE, 2, 8300, 10, 1)
        await command(ctx, dut, CacheOp.WRITE, 1, 8301, 20, 1)
        await command(ctx, dut, CacheOp.WRITE, 0, 8302, 5, 0)    # disabled: never signalled
        await wait_fresh(ctx, dut)
        assert ctx.get(dut.signalled) and ctx.get(dut.best.intid) == 8300
        await command(ctx, dut, CacheOp.ACKNOWLEDGE)
        assert ctx.get(dut.rpr) == 0xFF
        await ctx.tick()
        assert ctx.get(dut.rpr) == 10 << 2
        await wait_fresh(ctx, dut)
        # 8301 (priority 20) is below the running priority 10
        assert ctx.get(dut.best.intid) == 8301 and not ctx.get(dut.signalled)
        await command(ctx, dut, CacheOp.WRITE, 2, 8303, 4, 1)
        await wait_fresh(ctx, dut)
        assert ctx.get(dut.best.intid) == 8303 and ctx.get(dut.signalled)
        await command(ctx, dut, CacheOp.ACKNOWLEDGE)
        await wait_fresh(ctx, dut)
        assert ctx.get(dut.rpr) == 4 << 2
        await command(ctx, dut, CacheOp.END)
        await wait_fresh(ctx, dut)
        assert ctx.get(dut.rpr) == 10 << 2 and not ctx.get(dut.signalled)
        await command(ctx, dut, CacheOp.END)
        await wait_fresh(ctx, dut)
        assert ctx.get(dut.rpr) == 0xFF and ctx.get(dut.signalled)
        assert ctx.get(dut.best.intid) == 8301
        await command(ctx, dut, CacheOp.CONFIGURE, 1, priority=30, enable=0)
        await wait_fresh(ctx, dut)
        # both left are disabled: the lower priority value first
        assert ctx.get(dut.best.intid) == 8302 and ctx.get(dut.worst.intid) == 8301
        assert not ctx.get(dut.signalled)
        await command(ctx, dut, CacheOp.CONFIGURE, 0, priority=40, enable=0)
        ctx.set(dut.candidate, {"lpi": 8310, "config": {"priority": 63, "enable": 1}})
        await wait_fresh(ctx, dut)
        assert ctx.get(dut.candidate_before_worst)     # enabled before any disabled one
        ctx.set(dut.candidate, {"lpi": 8310, "config": {"priority": 63, "enable": 0}})
        await ctx.tick()
        assert not ctx.get(dut.candidate_before_worst)   # disabled, priority 63 after 40

    run_sim(dut, testbench)


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_constructor_checks():
    for bad in (0, 65, "4"):
        with pytest.raises(ValueError, match="entries must be an integer in 1..64"):
            LpiCache(bad)
    gc.collect()  # the half-built components warn when collected: here, where that is ignored
