"""The caches: hit and miss, round-robin (FIFO) replacement, invalidation, no stale fill.

Expectations come from the policy documented in hw/its/tcache.py (lowest free
entry first, else evict in fill order) and from the invalidation kinds of
docs/behaviour.md, never from the RTL's internals.
"""

import gc
import random

import pytest
from amaranth.lib import data

from gic.hw.its.layouts import InvalKind
from gic.hw.its.params import ItsParams
from gic.hw.its.tcache import Cache, DeviceCache, TranslationCache

from gic.sim.rtlsim.harness import run_sim

PARAMS = ItsParams(tcache_entries=4, dcache_entries=2, device_bits=8, event_bits=8)


class CacheDriver:
    """Testbench-side access to a Cache's ports."""

    def __init__(self, ctx, dut):
        self.ctx = ctx
        self.dut = dut

    async def reserve(self):
        self.ctx.set(self.dut.reserve, 1)
        await self.ctx.tick()
        self.ctx.set(self.dut.reserve, 0)

    async def fill(self, key, value, *, reserve=True):
        if reserve:
            await self.reserve()
        self.ctx.set(self.dut.fill.payload, {"key": key, "value": value})
        self.ctx.set(self.dut.fill.valid, 1)
        assert self.ctx.get(self.dut.fill.ready)
        await self.ctx.tick()
        self.ctx.set(self.dut.fill.valid, 0)

    async def inval(self, kind, device_id=0, event_id=0):
        self.ctx.set(self.dut.inval.payload,
                     {"kind": kind, "device_id": device_id, "event_id": event_id})
        self.ctx.set(self.dut.inval.valid, 1)
        assert self.ctx.get(self.dut.inval.ready)
        await self.ctx.tick()
        self.ctx.set(self.dut.inval.valid, 0)

    def lookup(self, key):
        """The value cached for ``key`` as a dict, or None on a miss (combinational)."""
        self.ctx.set(self.dut.lookup.key, key)
        if not self.ctx.get(self.dut.lookup.hit):
            return None
        value = self.ctx.get(self.dut.lookup.value)
        return {name: getattr(value, name) for name, _ in data.Layout.cast(value.shape())}

    def present(self, keys):
        return [self.lookup(key) is not None for key in keys]


def tkey(device_id, event_id):
    return {"device_id": device_id, "event_id": event_id}


def tvalue(n):
    return {"pintid": 8192 + n, "rd": n % 4}


def run(dut, body):
    async def testbench(ctx):
        await body(CacheDriver(ctx, dut))
    run_sim(dut, testbench)


def test_hit_and_miss():
    dut = TranslationCache(PARAMS)

    async def body(cache):
        assert cache.lookup(tkey(1, 2)) is None
        await cache.fill(tkey(1, 2), tvalue(5))
        assert cache.lookup(tkey(1, 2)) == tvalue(5)
        assert cache.lookup(tkey(1, 3)) is None
        assert cache.lookup(tkey(2, 2)) is None
    run(dut, body)


def test_lookup_combinational_fill_seen_next_cycle():
    dut = TranslationCache(PARAMS)

    async def body(cache):
        await cache.reserve()
        cache.ctx.set(cache.dut.fill.payload, {"key": tkey(3, 4), "value": tvalue(1)})
        cache.ctx.set(cache.dut.fill.valid, 1)
        assert cache.lookup(tkey(3, 4)) is None     # same cycle as the fill: not yet
        await cache.ctx.tick()
        cache.ctx.set(cache.dut.fill.valid, 0)
        assert cache.lookup(tkey(3, 4)) == tvalue(1)
    run(dut, body)


def test_evicts_in_fill_order():
    dut = TranslationCache(PARAMS)
    keys = [tkey(1, n) for n in range(7)]

    async def body(cache):
        for n in range(4):
            await cache.fill(keys[n], tvalue(n))
        assert cache.present(keys) == [True] * 4 + [False] * 3
        await cache.fill(keys[4], tvalue(4))        # full: evicts the oldest, keys[0]
        assert cache.present(keys) == [False, True, True, True, True, False, False]
        await cache.fill(keys[5], tvalue(5))        # then keys[1]
        assert cache.present(keys) == [False, False, True, True, True, True, False]
        for n in range(2, 6):
            assert cache.lookup(keys[n]) == tvalue(n)
    run(dut, body)


def test_invalidated_entry_refilled_before_eviction():
    dut = TranslationCache(PARAMS)
    keys = [tkey(2, n) for n in range(6)]

    async def body(cache):
        for n in range(4):
            await cache.fill(keys[n], tvalue(n))
        await cache.inval(InvalKind.EVENT, 2, 2)
        await cache.fill(keys[4], tvalue(4))        # takes the free entry: nothing evicted
        assert cache.present(keys) == [True, True, False, True, True, False]
        await cache.fill(keys[5], tvalue(5))        # full again: evicts the oldest, keys[0]
        assert cache.present(keys) == [False, True, False, True, True, True]
    run(dut, body)


def test_refill_of_present_key_overwrites():
    dut = TranslationCache(PARAMS)
    keys = [tkey(4, n) for n in range(4)]

    async def body(cache):
        await cache.fill(keys[0], tvalue(0))
        await cache.fill(keys[0], tvalue(9))
        assert cache.lookup(keys[0]) == tvalue(9)
        for n in range(1, 4):                       # still room for three more keys
            await cache.fill(keys[n], tvalue(n))
        assert cache.present(keys) == [True] * 4
        assert cache.lookup(keys[0]) == tvalue(9)
    run(dut, body)


@pytest.mark.parametrize("kind, device_id, event_id, survivors", [
    (InvalKind.ALL, 0, 0, []),
    (InvalKind.DEVICE, 1, 0, [(2, 1), (2, 2)]),
    (InvalKind.DEVICE, 2, 7, [(1, 1), (1, 2)]),
    (InvalKind.EVENT, 1, 2, [(1, 1), (2, 1), (2, 2)]),
    (InvalKind.EVENT, 2, 1, [(1, 1), (1, 2), (2, 2)]),
    (InvalKind.EVENT, 1, 3, [(1, 1), (1, 2), (2, 1), (2, 2)]),
    # A DeviceID or EventID wider than the key compares in full: it matches nothing.
    (InvalKind.DEVICE, 1 + (1 << PARAMS.device_bits), 0, [(1, 1), (1, 2), (2, 1), (2, 2)]),
    (InvalKind.EVENT, 1, 2 + (1 << PARAMS.event_bits), [(1, 1), (1, 2), (2, 1), (2, 2)]),
])
def test_translation_cache_invalidation(kind, device_id, event_id, survivors):
    dut = TranslationCache(PARAMS)
    filled = [(1, 1), (1, 2), (2, 1), (2, 2)]

    async def body(cache):
        for n, (d, e) in enumerate(filled):
            await cache.fill(tkey(d, e), tvalue(n))
        await cache.inval(kind, device_id, event_id)
        assert [key for key in filled if cache.lookup(tkey(*key))] == survivors
    run(dut, body)


@pytest.mark.parametrize("kind, device_id, survivors", [
    (InvalKind.ALL, 0, []),
    (InvalKind.DEVICE, 5, [6]),
    (InvalKind.DEVICE, 6, [5]),
    (InvalKind.EVENT, 5, [5, 6]),      # an event's mapping is not the device cache's business
])
def test_device_cache_invalidation(kind, device_id, survivors):
    dut = DeviceCache(PARAMS)

    async def body(cache):
        for d in (5, 6):
            await cache.fill({"device_id": d}, {"itt_addr": 0x100 + d, "size": d})
        assert cache.lookup({"device_id": 6}) == {"itt_addr": 0x106, "size": 6}
        await cache.inval(kind, device_id, 0)
        assert [d for d in (5, 6) if cache.lookup({"device_id": d})] == survivors
    run(dut, body)


def test_invalidation_takes_effect_next_cycle():
    dut = TranslationCache(PARAMS)

    async def body(cache):
        await cache.fill(tkey(1, 1), tvalue(1))
        cache.ctx.set(cache.dut.inval.payload, {"kind": InvalKind.ALL})
        cache.ctx.set(cache.dut.inval.valid, 1)
        assert cache.lookup(tkey(1, 1)) == tvalue(1)
        await cache.ctx.tick()
        cache.ctx.set(cache.dut.inval.valid, 0)
        assert cache.lookup(tkey(1, 1)) is None
    run(dut, body)


def test_stale_fill_dropped():
    """A fill for a walk that started (reserve) before an invalidation is dropped,
    whatever the invalidation's key; so is a fill offered with one, or with no reservation."""
    dut = TranslationCache(PARAMS)

    async def body(cache):
        ctx = cache.ctx
        # reserve, invalidate (another device), fill: dropped.
        await cache.reserve()
        await cache.inval(InvalKind.DEVICE, 3)
        await cache.fill(tkey(1, 1), tvalue(1), reserve=False)
        assert cache.lookup(tkey(1, 1)) is None
        # reserve and invalidate in the same cycle: the invalidation wins.
        ctx.set(cache.dut.reserve, 1)
        await cache.inval(InvalKind.EVENT, 7, 7)
        ctx.set(cache.dut.reserve, 0)
        await cache.fill(tkey(1, 1), tvalue(1), reserve=False)
        assert cache.lookup(tkey(1, 1)) is None
        # a fill in the same cycle as an invalidation: dropped.
        await cache.reserve()
        ctx.set(cache.dut.inval.payload, {"kind": InvalKind.EVENT, "device_id": 9})
        ctx.set(cache.dut.inval.valid, 1)
        await cache.fill(tkey(1, 1), tvalue(1), reserve=False)
        ctx.set(cache.dut.inval.valid, 0)
        assert cache.lookup(tkey(1, 1)) is None
        # no reservation at all: dropped; a fill consumes its reservation.
        await cache.fill(tkey(1, 1), tvalue(1), reserve=False)
        assert cache.lookup(tkey(1, 1)) is None
        await cache.fill(tkey(1, 1), tvalue(1))
        await cache.fill(tkey(1, 2), tvalue(2), reserve=False)
        assert cache.present([tkey(1, 1), tkey(1, 2)]) == [True, False]
        # reserved, a few idle cycles, no invalidation: kept.
        await cache.reserve()
        await ctx.tick().repeat(5)
        await cache.fill(tkey(1, 3), tvalue(3), reserve=False)
        assert cache.lookup(tkey(1, 3)) == tvalue(3)
    run(dut, body)


@pytest.mark.parametrize("seed", [11, 12])
def test_random_never_stale(seed):
    """Random fills (some stale), invalidations and look-ups against the documented policy:
    a hit always gives the last value filled for the key since it was last invalidated."""
    print(f"seed {seed}")
    rng = random.Random(seed)
    dut = TranslationCache(PARAMS)
    entries = PARAMS.tcache_entries

    async def body(cache):
        slots = [None] * entries    # reference of the documented policy: (key, value) or None
        victim = 0
        for step in range(300):
            action = rng.random()
            d, e = rng.randrange(3), rng.randrange(3)
            if action < 0.45:
                stale = rng.random() < 0.2
                value = tvalue(step)
                await cache.reserve()
                if stale:
                    await cache.inval(InvalKind.EVENT, 99, 99)
                await cache.fill(tkey(d, e), value, reserve=False)
                if not stale:
                    present = [n for n, s in enumerate(slots) if s and s[0] == (d, e)]
                    free = [n for n, s in enumerate(slots) if s is None]
                    if present:
                        slot = present[0]
                    elif free:
                        slot = free[0]
                    else:
                        slot, victim = victim, (victim + 1) % entries
                    slots[slot] = ((d, e), value)
            elif action < 0.6:
                kind = rng.choice(list(InvalKind))
                await cache.inval(kind, d, e)
                for n, s in enumerate(slots):
                    if s and (kind is InvalKind.ALL or
                              (kind is InvalKind.DEVICE and s[0][0] == d) or
                              (kind is InvalKind.EVENT and s[0] == (d, e))):
                        slots[n] = None
            for dd in range(3):
                for ee in range(3):
                    expected = next((s[1] for s in slots if s and s[0] == (dd, ee)), None)
                    assert cache.lookup(tkey(dd, ee)) == expected, (step, dd, ee)
    run(dut, body)


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_parameter_errors():
    key = data.StructLayout({"device_id": 4})
    with pytest.raises(ValueError, match=r"entries must be an integer in 1\.\.256, not 0"):
        Cache(key_layout=key, value_layout=8, entries=0)
    with pytest.raises(ValueError, match=r"entries must be an integer in 1\.\.256, not 300"):
        Cache(key_layout=key, value_layout=8, entries=300)
    with pytest.raises(ValueError, match=r"key_layout must be a data\.StructLayout"):
        Cache(key_layout=8, value_layout=8, entries=2)
    with pytest.raises(ValueError, match=r"key_layout must have the field device_id and "
                                         r"optionally event_id, not device_id, vpe"):
        Cache(key_layout=data.StructLayout({"device_id": 4, "vpe": 2}), value_layout=8,
              entries=2)
    with pytest.raises(ValueError, match=r"not event_id"):
        Cache(key_layout=data.StructLayout({"event_id": 4}), value_layout=8, entries=2)
    with pytest.raises(TypeError, match=r"params must be an ItsParams, not 4"):
        TranslationCache(4)
    with pytest.raises(TypeError, match=r"params must be an ItsParams, not None"):
        DeviceCache(None)
    gc.collect()  # the half-built components warn when collected: here, where that is ignored


def test_one_entry_cache():
    dut = Cache(key_layout=data.StructLayout({"device_id": 4}), value_layout=8, entries=1)

    async def testbench(ctx):
        cache = CacheDriver(ctx, dut)
        await cache.fill({"device_id": 1}, 11)
        await cache.fill({"device_id": 2}, 22)
        ctx.set(dut.lookup.key, {"device_id": 2})
        assert ctx.get(dut.lookup.hit) and ctx.get(dut.lookup.value) == 22
        ctx.set(dut.lookup.key, {"device_id": 1})
        assert not ctx.get(dut.lookup.hit)
    run_sim(dut, testbench)
