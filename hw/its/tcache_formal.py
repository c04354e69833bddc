"""Formal proofs of the translation path's caches (:mod:`gic.hw.its.tcache`).

The caches are checked on their own, on a small configuration (``PARAMS``: a 4-entry
translation cache and a 2-entry device cache, 2-bit DeviceIDs and EventIDs), against
the protocol of :class:`~gic.hw.its.tcache.Cache`'s docstring, the one the translator
follows (docs/rtl.md, "Caches and ordering"):

* a ``reserve`` opens a reservation; a fill consumes it; any invalidation (whatever its
  key) revokes it, from its own cycle on; a fill *lands* only if a reservation is open
  and no invalidation is offered in the fill's cycle;
* an invalidation removes the entries its kind and IDs name; the device cache ignores
  ``EVENT``.

One arbitrary key ``K`` (an ``AnyConst``) is followed by a reference: whether ``K`` may
be cached and, if so, the value of the last fill of ``K`` that landed. The look-up port
is combinational and stateless, so it is assumed to ask for ``K`` in every cycle (no
loss of generality: ``K`` is arbitrary). Inductive strengthening (so that k-induction
closes): the cache's reservation register is the reference's, every usable entry (valid,
and without a parity error where the cache checks parity) that holds ``K`` agrees with
the reference, and no two usable entries hold ``K``. The cache's other inputs (a parity
injection, ``check``) are free too.

The mutants break the cache from outside, at its ports: one hides the ``EVENT``
invalidations from it, one renews a reservation that an invalidation revoked, one hides
the ``DEVICE`` invalidations from the device cache. They are checked without the
strengthening, so what rejects them is the property itself (within the depth, from
reset: each counterexample is 4 or 5 cycles long).
"""

from collections import namedtuple

from amaranth.asserts import AnyConst
from amaranth.hdl import Assert, Assume, Const, Fragment, Signal, Value
from amaranth.lib import data

from ..formal import FormalTop, Proof
from .layouts import InvalKind
from .params import ItsParams
from .tcache import DeviceCache, TranslationCache

__all__ = ["PARAMS", "PROOFS", "tcache_inval", "tcache_no_stale_fill", "dcache_inval"]

_CacheState = namedtuple("_CacheState", "usable keys values reserved")

PARAMS = ItsParams(device_bits=2, event_bits=2, tcache_entries=4, dcache_entries=2)
"""The small configuration of the proofs."""


def _state(fragment, entries):
    """The cache's registers, found by name among the signals its statements drive."""
    driven = {}
    for statements in fragment.statements.values():
        for statement in statements:
            for signal in statement._lhs_signals():
                driven[signal.name] = signal
    usable = driven["valid"]
    if "bad" in driven:     # entries with a parity error are never used (hw/its/tcache.py)
        usable = usable & ~driven["bad"]
    return _CacheState(usable=usable, keys=[driven[f"key{i}"] for i in range(entries)],
                       values=[driven[f"value{i}"] for i in range(entries)],
                       reserved=driven["reserved"])


def _cache_top(cache_class, check, *, mutation=None):
    """A :class:`FormalTop` around a cache of ``PARAMS`` with the reference of key ``K``.

    ``check`` names the property: ``"inval"`` (a look-up of ``K`` hits only while the
    reference says ``K`` may be cached) or ``"value"`` (and then returns the value of the
    last fill of ``K`` that landed). ``mutation``: None, ``"ignore_event"``,
    ``"ignore_device"`` or ``"keep_reservation"``.
    """
    cache = cache_class(PARAMS)
    key_layout = cache.lookup.key.shape()
    value_layout = cache.lookup.value.shape()
    fields = [name for name, _ in key_layout]
    # The mutants drive the cache from these instead of its own (free) inputs.
    inval_valid = Signal(name="inval_valid_in")
    reserve = Signal(name="reserve_in")

    def build(m):
        # The cache itself: elaborated here so that its state can be named.
        fragment = Fragment.get(cache, "formal")
        m.submodules.cache = fragment
        state = _state(fragment, cache.entries)
        request = cache.inval.payload

        # The reservation, as the protocol describes it.
        spec_reserved = Signal(name="spec_reserved")
        with m.If(cache.fill.valid):
            m.d.sync += spec_reserved.eq(0)
        with m.If(reserve):
            m.d.sync += spec_reserved.eq(1)
        with m.If(inval_valid):
            m.d.sync += spec_reserved.eq(0)
        lands = Signal(name="lands")
        m.d.comb += lands.eq(cache.fill.valid & spec_reserved & ~inval_valid)

        if mutation is None:
            m.d.comb += [inval_valid.eq(cache.inval.valid), reserve.eq(cache.reserve)]
        else:
            hidden = Const(0)
            if mutation == "ignore_event":
                hidden = request.kind == InvalKind.EVENT
            if mutation == "ignore_device":
                hidden = request.kind == InvalKind.DEVICE
            renew = Const(0)
            if mutation == "keep_reservation":
                # A reservation open when an invalidation revoked it is opened again.
                renew = Signal(name="renew")
                m.d.sync += renew.eq(inval_valid & spec_reserved)
            m.d.comb += [
                cache.inval.valid.eq(inval_valid & ~hidden),
                cache.reserve.eq(reserve | renew),
            ]

        key = data.View(key_layout, AnyConst(data.Layout.cast(key_layout).size))
        m.d.comb += Assume(Value.cast(cache.lookup.key) == Value.cast(key),
                           "the look-up asks for K (it is stateless, K is arbitrary)")

        # Whether an invalidation names K.
        kinds = {InvalKind.ALL: [], InvalKind.DEVICE: ["device_id"],
                 InvalKind.EVENT: ["device_id", "event_id"]}
        names_key = Signal(name="names_key")
        with m.Switch(request.kind):
            for kind, compared in kinds.items():
                if not set(compared) <= set(fields):
                    continue        # the device cache ignores EVENT
                with m.Case(kind):
                    same = Const(1)
                    for name in compared:
                        same = same & (request[name] == key[name])
                    m.d.comb += names_key.eq(same)

        # The reference of K.
        may = Signal(name="ref_may")
        value = Signal(value_layout, name="ref_value")
        with m.If(lands & (Value.cast(cache.fill.payload.key) == Value.cast(key))):
            m.d.sync += [may.eq(1), value.eq(cache.fill.payload.value)]
        with m.If(inval_valid & names_key):
            m.d.sync += may.eq(0)

        hit_ok = ~cache.lookup.hit | may
        if check == "value":
            hit_ok = ~cache.lookup.hit | (may & (Value.cast(cache.lookup.value) ==
                                                 Value.cast(value)))
        m.d.comb += Assert(hit_ok, f"a look-up of K: {check}")

        # Inductive strengthening (the real cache only: what rejects a mutant is the
        # property itself, within the proof's depth from reset).
        if mutation is not None:
            return
        m.d.comb += Assert(state.reserved == spec_reserved, "the reservation is the protocol's")
        n = len(state.keys)
        holds = [Signal(name=f"holds_k{i}") for i in range(n)]
        for i in range(n):
            m.d.comb += holds[i].eq(state.usable[i] &
                                    (Value.cast(state.keys[i]) == Value.cast(key)))
            m.d.comb += Assert(~holds[i] | (may & (Value.cast(state.values[i]) ==
                                                   Value.cast(value))),
                               f"entry {i} holding K agrees with the reference")
            for j in range(i):
                m.d.comb += Assert(~(holds[i] & holds[j]), f"entries {j} and {i} both hold K")

    top = FormalTop(build, dut=cache)
    # An always-ready stream's ready is a constant, not a free input.
    top.inputs = [port for port in top.inputs if isinstance(port, Signal)]
    if mutation is not None:
        top.inputs = [port for port in top.inputs
                      if port is not cache.inval.valid and port is not cache.reserve]
        top.inputs += [inval_valid, reserve]
    return top


def tcache_inval():
    """Translation cache (4 entries, 2-bit IDs): after an invalidation naming key K
    (EVENT of K, DEVICE of K's device, or ALL) no look-up of K hits until a fill of K
    reserved after it lands. k-induction."""
    return _cache_top(TranslationCache, "inval")


def tcache_inval_mutant():
    """The translation cache never sees EVENT invalidations."""
    return _cache_top(TranslationCache, "inval", mutation="ignore_event")


def tcache_no_stale_fill():
    """Translation cache (4 entries, 2-bit IDs): no stale fill: a fill lands only if its
    reservation was made after the last invalidation (any key) and no invalidation is in
    its cycle; a hit on K returns the value of the last fill of K that landed. k-induction."""
    return _cache_top(TranslationCache, "value")


def tcache_no_stale_fill_mutant():
    """A reservation that an invalidation revoked is opened again the cycle after."""
    return _cache_top(TranslationCache, "value", mutation="keep_reservation")


def dcache_inval():
    """Device cache (2 entries, 2-bit DeviceIDs): a hit on DeviceID K returns the last
    fill of K that landed (reserved after the last invalidation) and none follows an
    invalidation naming K (DEVICE of K, or ALL; EVENT does not concern it). k-induction."""
    return _cache_top(DeviceCache, "value")


def dcache_inval_mutant():
    """The device cache never sees DEVICE invalidations."""
    return _cache_top(DeviceCache, "value", mutation="ignore_device")


PROOFS = [
    Proof("tcache_inval", "TranslationCache(tcache_entries=4, 2-bit IDs)", tcache_inval,
          mode="prove", depth=6, mutant=tcache_inval_mutant),
    Proof("tcache_no_stale_fill", "TranslationCache(tcache_entries=4, 2-bit IDs)",
          tcache_no_stale_fill, mode="prove", depth=6, mutant=tcache_no_stale_fill_mutant),
    Proof("dcache_inval", "DeviceCache(dcache_entries=2, 2-bit DeviceIDs)", dcache_inval,
          mode="prove", depth=6, mutant=dcache_inval_mutant),
]
