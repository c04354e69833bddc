"""The redistributor's LPI cache: the pending LPIs held on chip, and the picks derived from them."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import PRIORITY_LEVELS, LpiConfig

__all__ = ["LpiCache", "LpiCacheSignature", "CacheOp", "CacheCommand", "CacheCandidate", "CacheBest", "CacheEntryRef",
           "CacheFree", "CacheHit", "CacheSlot", "lowest_set", "tournament_stages", "tournaments"]

INDEX_BITS = 6
"""Cache entry indices: up to 64 entries."""


class CacheOp(enum.Enum, shape=3):
    """What a :class:`CacheCommand` does."""
    WRITE       = 0  #: entry ``index`` holds ``lpi`` with ``config``
    DROP        = 1  #: entry ``index`` is free
    CONFIGURE   = 2  #: entry ``index`` takes ``config`` (its INTID stays)
    ACKNOWLEDGE = 3  #: the best entry is free and its priority is active
    END         = 4  #: the highest active priority is dropped (an end of interrupt)


class CacheCommand(data.Struct):
    """One change of the cache or of the active priorities."""
    op:     CacheOp
    index:  INDEX_BITS
    lpi:    16
    config: LpiConfig


class CacheCandidate(data.Struct):
    """An LPI about to be inserted, compared with the worst entry."""
    lpi:    16
    config: LpiConfig


class CacheBest(data.Struct):
    """The valid entry signalled first: enabled before disabled, then priority, then INTID."""
    valid:    1
    intid:    16
    priority: 6
    enabled:  1
    index:    INDEX_BITS


class CacheEntryRef(data.Struct):
    """The valid entry signalled last (when any entry is valid)."""
    intid: 16
    index: INDEX_BITS


class CacheFree(data.Struct):
    """The lowest free entry, if any."""
    any:   1
    index: INDEX_BITS


class CacheHit(data.Struct):
    """Whether ``lookup`` is cached, and where; ``fresh``: neither changed the cycle before."""
    hit:   1
    index: INDEX_BITS
    fresh: 1


class CacheSlot(data.Struct):
    """Entry ``slot``; ``fresh``: neither the slot number nor the cache changed the cycle before."""
    valid: 1
    intid: 16
    fresh: 1


def lowest_set(m, name, value):
    """Index of the lowest set bit of ``value`` (0 when none), by a balanced tree of muxes."""
    def tree(bits, base):
        if len(bits) == 1:
            return bits[0], Const(0, 0)
        half = 1 << ((len(bits) - 1).bit_length() - 1)
        low_any, low_index = tree(bits[:half], base)
        high_any, high_index = tree(bits[half:], base + half)
        width = (half - 1).bit_length()
        return (low_any | high_any,
                Mux(low_any, Cat(low_index, Const(0, width - len(low_index) + 1)),
                    Cat(high_index, Const(0, width - len(high_index)), Const(1, 1))))

    index = Signal(range(max(len(value), 2)), name=name)
    m.d.comb += index.eq(tree([value[bit] for bit in range(len(value))], 0)[1])
    return index


def tournament_stages(count):
    """Register stages of :func:`tournaments` for ``count`` entries: one per tree level."""
    return max(1, (count - 1).bit_length())


def tournaments(m, entries):
    """The valid entries with the lowest (best) and the highest (worst) key, registered.

    ``entries`` is a list of ``(valid, key)``; keys of valid entries are distinct. A tree of
    compares, each level registered (:func:`tournament_stages` cycles); the first level's
    compares serve both trees.
    Returns ``(best, worst)``, each ``(any_valid, key, index)`` of registers.
    """
    index_bits = max(1, (len(entries) - 1).bit_length())
    start = [(valid, key, Const(index, index_bits)) for index, (valid, key) in enumerate(entries)]
    levels = {"best": start, "worst": start}
    depth = 0
    while len(levels["best"]) > 1:
        following = {"best": [], "worst": []}
        for pair in range(0, len(levels["best"]) - 1, 2):
            lower = None
            for name, keep_lower in (("best", True), ("worst", False)):
                (a_valid, a_key, a_index), (b_valid, b_key, b_index) = \
                    levels[name][pair], levels[name][pair + 1]
                tag = f"{name}_l{depth}_{pair // 2}"
                if depth == 0 and lower is not None:
                    better = ~lower        # same pair, distinct keys: one compare for both
                else:
                    lower = Signal(name=f"{tag}_lower")
                    m.d.comb += lower.eq(b_key < a_key)
                    better = lower if keep_lower else ~lower
                take_b = Signal(name=f"{tag}_b")
                valid = Signal(name=f"{tag}_valid")
                key = Signal(len(a_key), name=f"{tag}_key")
                index = Signal(index_bits, name=f"{tag}_index")
                m.d.comb += take_b.eq(b_valid & (~a_valid | better))
                m.d.sync += [
                    valid.eq(a_valid | b_valid),
                    key.eq(Mux(take_b, b_key, a_key)),
                    index.eq(Mux(take_b, b_index, a_index)),
                ]
                following[name].append((valid, key, index))
        for name in levels:
            if len(levels[name]) % 2:
                following[name].append(_registered(m, f"{name}_l{depth}_odd", levels[name][-1]))
        levels = following
        depth += 1
    if not depth:       # one entry
        return tuple(_registered(m, f"{name}_q", levels[name][0]) for name in levels)
    return levels["best"][0], levels["worst"][0]


def _registered(m, name, values):
    """Registers holding ``values`` (a tuple of values) one cycle later."""
    registers = tuple(Signal(len(value), name=f"{name}{n}") for n, value in enumerate(values))
    m.d.sync += [register.eq(value) for register, value in zip(registers, values)]
    return registers


class LpiCacheSignature(wiring.Signature):
    """The ports of an :class:`LpiCache` of ``entries`` entries (described there)."""

    def __init__(self, entries):
        super().__init__({
            "command": In(stream.Signature(CacheCommand, always_ready=True)),
            "best": Out(CacheBest),
            "worst": Out(CacheEntryRef),
            "free": Out(CacheFree),
            "rpr": Out(8, init=0xFF),
            "signalled": Out(1),
            "fresh": Out(1),
            "lookup": In(16),
            "lookup_changed": In(1),
            "hit": Out(CacheHit),
            "slot": In(range(entries + 1)),
            "slot_entry": Out(CacheSlot),
            "candidate": In(CacheCandidate),
            "candidate_before_worst": Out(1),
        })


class LpiCache(wiring.Component):
    """``entries`` pending LPIs with their configuration, the active priorities, and what the
    redistributor's sequencer picks from them, all registered.

    Each entry is an INTID with its enable and priority. The signalling order is: enabled
    before disabled, then lower priority, then lower INTID; its key is
    ``Cat(intid, priority, ~enable)``. ``active`` (ICC_AP1R0) holds one bit per active
    priority level.

    Ports
    -----
    command : In(stream.Signature(CacheCommand, always_ready=True))
        One change per cycle, taking effect at the clock edge (see :class:`CacheOp`).
        ``ACKNOWLEDGE`` uses ``best`` as it reads in that cycle.
    best : Out(CacheBest)
    worst : Out(CacheEntryRef)
        The first and the last entry in signalling order: a tree of compares, one register
        stage per level, ``S`` = ceil(log2(``entries``)) cycles (at least 1).
    free : Out(CacheFree)
        The lowest free entry, one cycle after the cache.
    rpr : Out(8)
        The running priority: the highest active priority, 0xFF when none; one cycle after
        ``active``.
    signalled : Out(1)
        ``best`` is valid, enabled and above ``rpr``; one cycle after them.
    fresh : Out(1)
        Everything derived is up to date. A change of the cache (a command other than
        ``END``) makes it 0 for ``D`` = ``S`` + 1 cycles, a change of ``active``
        (``ACKNOWLEDGE``, ``END``) for 2, counted from the clock edge of the change.
    lookup : In(16)
    lookup_changed : In(1)
        The INTID searched for; ``lookup_changed`` pulses in the cycle it is given a new value.
    hit : Out(CacheHit)
        The search result, one cycle after ``lookup`` and the cache; ``fresh`` when neither
        changed in the cycle before (the result is then valid for the current ``lookup``).
    slot : In(range(entries + 1))
    slot_entry : Out(CacheSlot)
        Entry ``slot`` one cycle later (invalid for ``slot == entries``); ``fresh`` as for
        ``hit``.
    candidate : In(CacheCandidate)
    candidate_before_worst : Out(1)
        ``candidate`` comes before ``worst`` in signalling order; one cycle after both.

    Latency
    -------
    Commands take effect at the clock edge; ``hit``, ``slot_entry``, ``free``,
    ``candidate_before_worst`` follow 1 cycle later, ``best``/``worst`` ``S`` cycles, ``rpr``
    1 cycle after ``active``, ``signalled`` 1 cycle after ``best`` and ``rpr``.
    """

    def __init__(self, entries):
        if not isinstance(entries, int) or not 1 <= entries <= 1 << INDEX_BITS:
            raise ValueError(f"entries must be an integer in 1..64, not {entries!r}")
        self._entries = entries
        super().__init__(LpiCacheSignature(entries))

    @property
    def settle_depth(self):
        """``D``: the cycles ``fresh`` stays low after a change of the cache."""
        return tournament_stages(self._entries) + 1     # + signalled, from best and rpr

    def elaborate(self, platform):
        m = Module()
        entries = self._entries
        valid = [Signal(name=f"entry{i}_valid") for i in range(entries)]
        intid = [Signal(16, name=f"entry{i}_intid") for i in range(entries)]
        priority = [Signal(6, name=f"entry{i}_priority") for i in range(entries)]
        enable = [Signal(name=f"entry{i}_enable") for i in range(entries)]
        keys = [Cat(intid[i], priority[i], ~enable[i]) for i in range(entries)]
        active = Signal(PRIORITY_LEVELS)   # ICC_AP1R0: one bit per active priority level

        # -- changes ---------------------------------------------------------------------------
        cmd = self.command.payload
        touch = Signal()                   # the cache changes at this edge
        touch_active = Signal()            # ``active`` changes at this edge
        index = Signal(INDEX_BITS)
        m.d.comb += index.eq(Mux(cmd.op == CacheOp.ACKNOWLEDGE, self.best.index, cmd.index))
        with m.If(self.command.valid):
            with m.Switch(cmd.op):
                with m.Case(CacheOp.WRITE, CacheOp.DROP, CacheOp.CONFIGURE,
                            CacheOp.ACKNOWLEDGE):
                    m.d.comb += touch.eq(1)
            with m.Switch(cmd.op):
                with m.Case(CacheOp.ACKNOWLEDGE):
                    m.d.sync += active.eq(active | (Const(1, PRIORITY_LEVELS)
                                                    << self.best.priority))
                    m.d.comb += touch_active.eq(1)
                with m.Case(CacheOp.END):
                    m.d.sync += active.eq(active & (active - 1))   # drop the highest
                    m.d.comb += touch_active.eq(1)
            with m.Switch(index):
                for i in range(entries):
                    with m.Case(i):
                        with m.Switch(cmd.op):
                            with m.Case(CacheOp.WRITE):
                                m.d.sync += [valid[i].eq(1), intid[i].eq(cmd.lpi),
                                             priority[i].eq(cmd.config.priority),
                                             enable[i].eq(cmd.config.enable)]
                            with m.Case(CacheOp.DROP, CacheOp.ACKNOWLEDGE):
                                m.d.sync += valid[i].eq(0)
                            with m.Case(CacheOp.CONFIGURE):
                                m.d.sync += [priority[i].eq(cmd.config.priority),
                                             enable[i].eq(cmd.config.enable)]

        # -- settling: nothing derived is used until it has caught up with a change -------------
        settle = Signal(range(self.settle_depth + 1), init=self.settle_depth)
        with m.If(touch):
            m.d.sync += [settle.eq(self.settle_depth), self.fresh.eq(0)]
        with m.Elif(touch_active & (settle < 3)):
            m.d.sync += [settle.eq(2), self.fresh.eq(0)]
        with m.Elif(~self.fresh):
            m.d.sync += [settle.eq(settle - 1), self.fresh.eq(settle == 1)]

        # -- the picks -------------------------------------------------------------------------
        (best_valid, best_key, best), (_, worst_key, worst) = \
            tournaments(m, list(zip(valid, keys)))
        m.d.comb += [
            self.best.valid.eq(best_valid), self.best.intid.eq(best_key[:16]),
            self.best.priority.eq(best_key[16:22]), self.best.enabled.eq(~best_key[-1]),
            self.best.index.eq(best), self.worst.intid.eq(worst_key[:16]),
            self.worst.index.eq(worst),
        ]
        m.d.sync += [self.free.any.eq(~Cat(valid).all()),
                     self.free.index.eq(lowest_set(m, "free_next", Cat(~v for v in valid)))]
        rpr = self.rpr
        m.d.sync += [
            rpr.eq(Mux(active == 0, 0xFF, lowest_set(m, "running", active) << 2)),
            self.signalled.eq(best_valid & self.best.enabled &
                              ((rpr == 0xFF) | (self.best.priority < rpr[2:]))),
        ]
        candidate_key = Cat(self.candidate.lpi, self.candidate.config.priority,
                            ~self.candidate.config.enable)
        m.d.sync += self.candidate_before_worst.eq(candidate_key < worst_key)

        # -- the search for ``lookup``, and entry ``slot`` -------------------------------------
        hits = Cat(valid[i] & (intid[i] == self.lookup) for i in range(entries))
        m.d.sync += [self.hit.hit.eq(hits.any()),
                     self.hit.index.eq(lowest_set(m, "hit_next", hits)),
                     self.hit.fresh.eq(~touch & ~self.lookup_changed)]
        slot_seen = Signal.like(self.slot)
        slot_untouched = Signal()
        with m.Switch(self.slot):
            for i in range(entries):
                with m.Case(i):
                    m.d.sync += [self.slot_entry.intid.eq(intid[i]),
                                 self.slot_entry.valid.eq(valid[i])]
            with m.Default():
                m.d.sync += self.slot_entry.valid.eq(0)
        m.d.sync += [slot_seen.eq(self.slot), slot_untouched.eq(~touch)]
        m.d.comb += self.slot_entry.fresh.eq((slot_seen == self.slot) & slot_untouched)
        return m
