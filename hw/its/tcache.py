"""The translation path's caches: one fully associative :class:`Cache`, used twice.

* :class:`DeviceCache`: DeviceID -> the valid DTE's ITT address and size
  (``ItsParams.dcache_entries`` entries). A hit saves the device-table reads
  (one, or two for a two-level table) of a translation that misses below.
* :class:`TranslationCache`: (DeviceID, EventID) -> pINTID and target
  redistributor (``ItsParams.tcache_entries`` entries). A hit translates an
  MSI with no memory access at all.

Only successful look-ups are cached (a valid DTE; a translation that gives an
LPI); a drop is decided again from memory each time.

Each entry carries an even-parity bit over its key and value (GIC-600AE-style RAS):
an entry found with a parity error is never used, see :class:`Cache`.
"""

from functools import reduce

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .collections import RD_BITS
from .layouts import DeviceTableEntry, InvalKind, InvalRequest
from .params import ItsParams

__all__ = ["CacheLookupSignature", "CacheFill", "CacheInject", "Cache", "DeviceCache", "TranslationCache",
           "device_key", "translation_key", "DeviceCacheValue", "TranslationCacheValue"]

_INVAL_FIELDS = ("device_id", "event_id")


class CacheLookupSignature(wiring.Signature):
    """A combinational look-up port of a :class:`Cache`, as seen by its user.

    Members
    -------
    key : Out(key_layout)
        What is looked up.
    hit : In(1)
        A valid entry holds ``key`` (same cycle).
    value : In(value_layout)
        Its value (meaningful when ``hit``).
    """

    def __init__(self, key_layout, value_layout):
        super().__init__({
            "key": Out(key_layout),
            "hit": In(1),
            "value": In(value_layout),
        })


def CacheFill(key_layout, value_layout):
    """Payload layout of a :class:`Cache` fill: ``key`` now maps to ``value``."""
    return data.StructLayout({"key": key_layout, "value": value_layout})


CacheInject = data.StructLayout({"index": 8, "bit": 8})
"""Payload layout of a :class:`Cache` parity injection: flip bit ``bit`` of entry ``index``."""


class Cache(wiring.Component):
    """A small fully associative cache in registers, with exact invalidation.

    Look-up: combinational; ``lookup.hit`` and ``lookup.value`` answer the
    ``lookup.key`` of the same cycle, so a user that registers the key answers
    one cycle after it had it. A fill or an invalidation accepted on cycle *n*
    is seen by look-ups from cycle *n* + 1.

    Replacement: a fill whose key is already present overwrites that entry;
    otherwise it takes the lowest-numbered invalid entry; when every entry is
    valid it evicts the entry under a round-robin pointer, which then moves on
    by one. Without invalidations the entries are therefore evicted in the
    order they were filled (FIFO).

    Invalidation (``inval``, always ready, one per cycle, takes effect at the
    end of the cycle): the key's fields are named after the fields of
    :class:`InvalRequest`. ``InvalKind.ALL`` clears every entry,
    ``InvalKind.DEVICE`` every entry whose ``device_id`` is the request's,
    ``InvalKind.EVENT`` the entry of (``device_id``, ``event_id``); a cache whose
    key has no ``event_id`` (the device cache) ignores ``EVENT``, which does not
    concern it. The request's 32-bit IDs are compared in full, so an ID too
    wide for the key matches nothing.

    No stale fill: a user that misses asserts ``reserve`` in the cycle it
    starts reading memory for the fill; any invalidation from that cycle on
    (whatever its key) revokes the reservation, and a fill without a
    reservation is dropped silently (``fill`` stays ready). A fill consumes
    the reservation. This is exact for one outstanding miss per cache, which is
    how the translator uses it.

    Parity: each entry stores an even-parity bit over its key and value,
    computed at the fill. A checker recomputes every entry's parity from its
    stored bits into a register (``bad``, sticky until the entry is filled
    again), so the check is off the look-up path: the look-up and the fill
    only treat an entry as valid if it is also not ``bad``, one more input of
    the AND that already qualifies the key comparison with ``valid``. A bad
    entry therefore never hits (its look-up misses and the user refetches from
    memory) and is never overwritten in place by a fill of its key. Every
    cycle the lowest valid bad entry is dropped (invalid from the next cycle)
    and ``parity_error`` reports its index in the next cycle: the error is
    found by this scrub, not by a look-up, since a flipped key bit makes the
    entry answer no look-up of its own key. An injection (``inject``, the
    debug path) flips one stored bit (key, then value, then the parity bit,
    from bit 0) and marks the entry bad at once, so from the next cycle it
    misses, and the cycle after that it is reported (if it was valid). An
    upset of a stored bit is seen by the checker from the cycle after it (a
    look-up in the cycle of the upset itself may still hit). One parity bit
    detects an odd number of flipped bits in an entry; with no error every
    output is what it was without parity, in the same cycle.

    Parameters
    ----------
    key_layout : data.StructLayout
        Fields ``device_id`` and optionally ``event_id`` (no other fields).
    value_layout : ShapeLike
        What an entry holds.
    entries : int
        Number of entries, 1..256.

    Members
    -------
    lookup : In(CacheLookupSignature(key_layout, value_layout))
        The look-up port.
    reserve : In(1)
        A miss starts the memory reads whose result may be filled.
    fill : In(stream.Signature(CacheFill(key_layout, value_layout)))
        Always ready; kept only if reserved and not invalidated since.
    inval : In(stream.Signature(InvalRequest))
        Always ready.
    inject : In(stream.Signature(CacheInject))
        Flip one stored bit (an index or bit beyond the cache does nothing);
        always ready.
    parity_error : Out(stream.Signature(8))
        The index of a valid entry dropped for a parity error (at most one a
        cycle; two cycles after an injection into it). Offered for one cycle:
        ``ready`` is ignored.

    Raises
    ------
    ValueError
        If ``entries`` is out of range or ``key_layout`` has other fields.
    """

    def __init__(self, *, key_layout, value_layout, entries):
        if not isinstance(entries, int) or isinstance(entries, bool) or not 1 <= entries <= 256:
            raise ValueError(f"entries must be an integer in 1..256, not {entries!r}")
        if not isinstance(key_layout, data.StructLayout):
            raise ValueError(f"key_layout must be a data.StructLayout, not {key_layout!r}")
        names = [name for name, _ in key_layout]
        if "device_id" not in names or not set(names) <= set(_INVAL_FIELDS):
            raise ValueError(f"key_layout must have the field device_id and optionally "
                             f"event_id, not {', '.join(names) or 'no fields'}")
        self._key_layout = key_layout
        self._value_layout = value_layout
        self._entries = entries
        super().__init__({
            "lookup": In(CacheLookupSignature(key_layout, value_layout)),
            "reserve": In(1),
            "fill": In(stream.Signature(CacheFill(key_layout, value_layout))),
            "inval": In(stream.Signature(InvalRequest)),
            "inject": In(stream.Signature(CacheInject)),
            "parity_error": Out(stream.Signature(8)),
        })

    @property
    def entries(self):
        """Number of entries."""
        return self._entries

    def elaborate(self, platform):
        m = Module()
        n = self._entries
        fields = [name for name, _ in self._key_layout]

        valid = Signal(n)
        keys = [Signal(self._key_layout, name=f"key{i}") for i in range(n)]
        values = [Signal(self._value_layout, name=f"value{i}") for i in range(n)]
        parity = Signal(n)
        bad = Signal(n)         # the entry's parity check failed (registered, sticky)
        live = Signal(n)        # valid and usable
        reserved = Signal()
        victim = Signal(range(n))
        m.d.comb += live.eq(valid & ~bad)

        # Look-up: at most one live entry matches (a fill of a present key overwrites it),
        # so the matching value is the OR of every entry masked by its match.
        lookup_match = Signal(n)
        for i in range(n):
            m.d.comb += lookup_match[i].eq(live[i] & (Value.cast(keys[i]) ==
                                                      Value.cast(self.lookup.key)))
        m.d.comb += [
            self.lookup.hit.eq(lookup_match.any()),
            self.lookup.value.eq(reduce(lambda a, b: a | b, (
                Mux(lookup_match[i], Value.cast(values[i]), 0) for i in range(n)))),
        ]

        # Fill: where it goes.
        fill_match = Signal(n)
        for i in range(n):
            m.d.comb += fill_match[i].eq(live[i] & (Value.cast(keys[i]) ==
                                                     Value.cast(self.fill.payload.key)))
        slot = Signal(range(n))
        free = Signal(range(n))
        for i in reversed(range(n)):
            with m.If(~valid[i]):
                m.d.comb += free.eq(i)
        evict = Signal()
        with m.If(fill_match.any()):
            for i in range(n):
                with m.If(fill_match[i]):
                    m.d.comb += slot.eq(i)
        with m.Elif(~valid.all()):
            m.d.comb += slot.eq(free)
        with m.Else():
            m.d.comb += [slot.eq(victim), evict.eq(1)]

        # Parity: checked into ``bad`` from the stored bits (a register, off the look-up
        # path); the lowest valid bad entry is dropped and reported, one a cycle.
        # (Before the fill below: a fill into the slot in the same cycle wins.)
        width = len(Value.cast(keys[0])) + len(Value.cast(values[0])) + 1
        flip = Signal(width)
        with m.If(self.inject.payload.bit < width):
            m.d.comb += flip.eq(Const(1, width) << self.inject.payload.bit)
        for i in range(n):
            stored = Cat(keys[i], values[i], parity[i])
            injected = self.inject.valid & (self.inject.payload.index == i) & flip.any()
            m.d.sync += bad[i].eq(bad[i] | stored.xor() | injected)
            with m.If(injected):
                m.d.sync += stored.eq(stored ^ flip)
        failed = Signal(n)
        scrubbed = Signal(range(n))
        m.d.comb += failed.eq(valid & bad)
        for i in reversed(range(n)):
            with m.If(failed[i]):
                m.d.comb += scrubbed.eq(i)
        m.d.sync += [self.parity_error.valid.eq(failed.any()),
                     self.parity_error.payload.eq(scrubbed)]
        for i in range(n):
            with m.If(failed[i] & (scrubbed == i)):
                m.d.sync += valid[i].eq(0)

        m.d.comb += [self.fill.ready.eq(1), self.inval.ready.eq(1), self.inject.ready.eq(1)]
        with m.If(self.fill.valid & reserved & ~self.inval.valid):
            for i in range(n):
                with m.If(slot == i):
                    m.d.sync += [
                        valid[i].eq(1),
                        keys[i].eq(self.fill.payload.key),
                        values[i].eq(self.fill.payload.value),
                        parity[i].eq(Value.cast(self.fill.payload).xor()),
                        bad[i].eq(0),
                    ]
            with m.If(evict):
                m.d.sync += victim.eq(Mux(victim == n - 1, 0, victim + 1))
        with m.If(self.fill.valid):
            m.d.sync += reserved.eq(0)
        with m.If(self.reserve):
            m.d.sync += reserved.eq(1)

        # Invalidation: compare the fields the kind names (InvalRequest's IDs in full).
        request = self.inval.payload
        kind_fields = {
            InvalKind.ALL: [],
            InvalKind.DEVICE: ["device_id"],
            InvalKind.EVENT: ["device_id", "event_id"],
        }
        with m.If(self.inval.valid):
            m.d.sync += reserved.eq(0)
            with m.Switch(request.kind):
                for kind, compared in kind_fields.items():
                    if not set(compared) <= set(fields):
                        continue
                    with m.Case(kind):
                        for i in range(n):
                            same = Const(1)
                            for name in compared:
                                same = same & (keys[i][name] == request[name])
                            with m.If(same):
                                m.d.sync += valid[i].eq(0)

        return m


def device_key(params):
    """Key layout of the device cache: the DeviceID."""
    return data.StructLayout({"device_id": params.device_bits})


def translation_key(params):
    """Key layout of the translation cache: (DeviceID, EventID)."""
    return data.StructLayout({"device_id": params.device_bits, "event_id": params.event_bits})


class DeviceCacheValue(data.Struct):
    """What the device cache holds of a valid DTE."""
    itt_addr: data.Layout.cast(DeviceTableEntry)["itt_addr"].shape
    size:     data.Layout.cast(DeviceTableEntry)["size"].shape


class TranslationCacheValue(data.Struct):
    """What the translation cache holds: the LPI and its target redistributor."""
    pintid: 16
    rd:     RD_BITS


def _check_params(params):
    if not isinstance(params, ItsParams):
        raise TypeError(f"params must be an ItsParams, not {params!r}")
    return params


class DeviceCache(Cache):
    """:class:`Cache` of DeviceID -> :class:`DeviceCacheValue`, ``params.dcache_entries`` entries.

    Raises
    ------
    TypeError
        If ``params`` is not an :class:`ItsParams`.
    """

    def __init__(self, params):
        params = _check_params(params)
        super().__init__(key_layout=device_key(params), value_layout=DeviceCacheValue,
                         entries=params.dcache_entries)


class TranslationCache(Cache):
    """:class:`Cache` of (DeviceID, EventID) -> :class:`TranslationCacheValue`,
    ``params.tcache_entries`` entries.

    Raises
    ------
    TypeError
        If ``params`` is not an :class:`ItsParams`.
    """

    def __init__(self, params):
        params = _check_params(params)
        super().__init__(key_layout=translation_key(params), value_layout=TranslationCacheValue,
                         entries=params.tcache_entries)
