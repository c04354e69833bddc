"""The TLM's caches (sim/tlm/tcache.py) alone: hits, misses, fills, evictions and
invalidations against expectations written here (hand-worked sequences and a slot-by-slot
reference of the replacement policy hw/its/tcache.py documents)."""

import random

import pytest

from gic.hw.its.layouts import InvalKind
from gic.sim.tlm.tcache import Cache


def fill(cache, key, value):
    cache.reserved = True
    cache.fill(key, value)


def test_hits_misses_and_round_robin_eviction():
    cache = Cache(2, event=True)
    assert cache.lookup((0, 0)) is None                     # cold miss
    fill(cache, (0, 0), "a")
    fill(cache, (0, 1), "b")
    assert (cache.lookup((0, 0)), cache.lookup((0, 1))) == ("a", "b")
    fill(cache, (0, 2), "c")                                # full: evicts slot 0
    assert cache.lookup((0, 0)) is None and cache.lookup((0, 2)) == "c"
    fill(cache, (0, 3), "d")                                # the pointer moved on: slot 1
    assert cache.lookup((0, 1)) is None and cache.lookup((0, 3)) == "d"
    fill(cache, (0, 3), "D")                                # present: overwritten in place
    assert cache.lookup((0, 3)) == "D" and cache.lookup((0, 2)) == "c"
    assert (cache.fills, cache.evictions, len(cache)) == (5, 2, 2)


def test_a_fill_needs_a_reservation_and_consumes_it():
    cache = Cache(4, event=True)
    cache.fill((1, 1), 7)
    assert cache.lookup((1, 1)) is None and cache.fills == 0
    fill(cache, (1, 1), 7)
    assert not cache.reserved
    cache.fill((1, 2), 8)                                   # reservation used up
    assert cache.lookup((1, 2)) is None and len(cache) == 1
    cache.reserved = True
    cache.invalidate(InvalKind.EVENT, 9, 9)                 # any invalidation revokes it
    assert not cache.reserved


def test_an_invalidated_slot_is_the_next_fill_s():
    cache = Cache(3, event=True)
    for event in range(3):
        fill(cache, (0, event), event)
    cache.invalidate(InvalKind.EVENT, 0, 1)
    assert cache.lookup((0, 1)) is None and len(cache) == 2
    fill(cache, (5, 5), "new")                              # the empty slot 1, no eviction
    assert cache.evictions == 0 and len(cache) == 3
    fill(cache, (6, 6), "next")                             # evicts slot 0: (0, 0)
    assert cache.lookup((0, 0)) is None
    assert [cache.lookup(key) for key in ((5, 5), (0, 2), (6, 6))] == ["new", 2, "next"]


def test_invalidation_kinds_on_both_caches():
    tcache, dcache = Cache(8, event=True), Cache(8, event=False)
    for device in range(3):
        fill(dcache, device, f"dte{device}")
        for event in range(2):
            fill(tcache, (device, event), (device, event))
    for cache in (tcache, dcache):
        cache.invalidate(InvalKind.EVENT, 1, 0)
    assert tcache.lookup((1, 0)) is None and tcache.lookup((1, 1)) == (1, 1)
    assert dcache.lookup(1) == "dte1"                       # the device cache ignores EVENT
    for cache in (tcache, dcache):
        cache.invalidate(InvalKind.DEVICE, 2, 0)
    assert tcache.lookup((2, 0)) is None and tcache.lookup((2, 1)) is None
    assert dcache.lookup(2) is None and dcache.lookup(0) == "dte0"
    assert len(tcache) == 3 and len(dcache) == 2
    for cache in (tcache, dcache):
        cache.invalidate(InvalKind.ALL, 0, 0)
        assert len(cache) == 0
    assert tcache.lookup((0, 0)) is None and dcache.lookup(0) is None


class SlotReference:
    """The policy spelled out slot by slot: a list of (key, value) or None, a victim
    pointer; fill = overwrite, else lowest empty slot, else the victim (pointer + 1)."""

    def __init__(self, entries, event):
        self.slots = [None] * entries
        self.victim = 0
        self.event = event

    def lookup(self, key):
        for slot in self.slots:
            if slot is not None and slot[0] == key:
                return slot[1]
        return None

    def fill(self, key, value):
        keys = [slot[0] if slot else None for slot in self.slots]
        if key in keys:
            index = keys.index(key)
        elif None in keys:
            index = keys.index(None)
        else:
            index = self.victim
            self.victim = (self.victim + 1) % len(self.slots)
        self.slots[index] = (key, value)

    def invalidate(self, kind, device_id, event_id):
        for index, slot in enumerate(self.slots):
            if slot is None:
                continue
            key = slot[0]
            device = key[0] if self.event else key
            if kind is InvalKind.ALL or (kind is InvalKind.DEVICE and device == device_id) or (
                    kind is InvalKind.EVENT and self.event and key == (device_id, event_id)):
                self.slots[index] = None


@pytest.mark.parametrize("event", [True, False])
@pytest.mark.parametrize("seed", [3, 4])
def test_random_operations_match_the_slot_reference(event, seed):
    rng = random.Random(seed)
    cache, reference = Cache(4, event=event), SlotReference(4, event)
    keys = [(d, e) for d in range(3) for e in range(3)] if event else list(range(7))
    hits = misses = 0
    for step in range(600):
        choice = rng.random()
        key = rng.choice(keys)
        if choice < 0.45:
            fill(cache, key, step)
            reference.fill(key, step)
        elif choice < 0.55:
            kind = rng.choice(list(InvalKind))
            device, event_id = (key if event else (key, rng.randrange(3)))
            cache.invalidate(kind, device, event_id)
            reference.invalidate(kind, device, event_id)
        else:
            got, want = cache.lookup(key), reference.lookup(key)
            assert got == want, f"step {step}: {key}"
            hits += want is not None
            misses += want is None
        assert len(cache) == sum(slot is not None for slot in reference.slots)
    assert hits > 50 and misses > 50 and cache.evictions > 10
