"""The translator: MSIs and queries -> LPIs (SET packets), drops and query answers."""

from types import SimpleNamespace

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..bus.fifo import HeadRegisteredFIFO
from ..bus.mem import MemReadSignature
from .collections import CollectionReadSignature, RD_BITS
from .layouts import (CacheId, DropReason, DropReport, GicOp, GitsBaser, InvalKind, InvalRequest,
                      MsiRequest, ParityInject, QueryResponse, RoutedPacket)
from .params import ItsParams
from .tcache import DeviceCache, TranslationCache
from .walker import Walker

__all__ = ["Translator"]


class _Decision(data.Struct):
    """An entry of the decision queue: an outcome decided at look-up (a translation-cache
    hit, or DISABLED). A miss is not queued: the walker holds its outcome."""
    query:     1    # a query: answer on query_resp, send nothing
    status:    DropReason
    pintid:    16
    rd:        RD_BITS
    device_id: 32
    event_id:  32


class Translator(wiring.Component):
    """Translates MSIs into SET packets to redistributors, through the caches and the walker.

    Each MSI or query is looked up in the translation cache and the device
    cache one cycle after it is accepted (``docs/behaviour.md``, "MSI
    translation"). An MSI accepted while ``enabled`` is 0 is dropped as
    DISABLED; a query then answers DISABLED. A translation-cache hit is answered
    from the cache; a miss goes to the :class:`~gic.hw.its.walker.Walker` (starting after
    the DTE when the device cache hits) and fills the caches with what it
    found (queries too; only the caches' ``reserve`` rule can refuse a fill).
    ``cache_disable`` = 1 makes every look-up miss and stops the fills.

    Decision order (``docs/behaviour.md``, "Ordering"). An outcome known at look-up
    (a translation-cache hit, or DISABLED) is *decided* in the cycle after its
    look-up and waits in the decision queue (``queue_depth`` entries); a miss is
    decided in the first cycle the walker offers its result. Outcomes leave in the
    order of their decision cycles, one a cycle, whatever their output stream
    (``lpi``, ``drop``, ``query_resp``); when a queued outcome and a walk's are
    decided in the same cycle, the walk's goes first. So hits accepted while the
    one walk in flight waits for memory leave without waiting for it
    (hit-under-miss), and a stream of hits cannot starve a miss: its outcome
    waits only for the queued outcomes decided before it. What stays in order:
    the outcomes decided at look-up among themselves and the walks among
    themselves (both in acceptance order), hence two MSIs for the same
    (DeviceID, EventID) (if the earlier one walks, the later one cannot hit
    before that walk filled the cache, and a second miss waits for the walker),
    and the query answers, which carry no ID: a query waits in the look-up stage
    while an earlier query walks.
    A second miss waits in the look-up stage until the walker is free (no
    miss-under-miss), holding up the MSIs behind it.

    Invalidation (``inval``, always ready): the request is applied to both
    caches at the end of the cycle it is offered, so a look-up from the next
    cycle on sees it; a fill of a walk that started before it is dropped.
    A walk's fills are applied at the end of the cycle after its outcome is taken (so a
    look-up two cycles after it sees them); the walker takes no request in that cycle.
    While ``enabled`` is 0 both caches are invalidated in every cycle.
    The executor holds (``hold`` = 1: no MSI or query is accepted), waits for
    ``idle``, changes the tables, invalidates, then releases ``hold``.

    Latency (cycle *n*: ``msi.valid & msi.ready``): a translation-cache hit
    offers its packet on ``lpi`` on cycle *n* + 2, and the translator accepts
    one MSI a cycle on hits, also while a walk is in flight. A miss offers its
    outcome on cycle *n* + 3 + the memory round trips of the walk (each from the
    cycle its request is accepted to the cycle its data arrives). Both are the
    times when no outcome decided earlier is still waiting and the outputs are
    ready; in a stream of one hit a cycle, the hits decided from the walk's cycle
    on leave one cycle later than that. A hit:

    .. wavedrom::

        { "signal": [
            { "name": "clk",        "wave": "p...." },
            { "name": "msi.valid",  "wave": "01.0." },
            { "name": "msi.ready",  "wave": "1...." },
            { "name": "look-up",    "wave": "0.==0", "data": ["A", "B"] },
            { "name": "lpi.valid",  "wave": "0..1." },
            { "name": "lpi.payload","wave": "x..==", "data": ["A", "B"] }
        ]}

    Parameters
    ----------
    params : ItsParams
        ``tcache_entries``, ``dcache_entries``, the ID widths, ``hcc``.
    queue_depth : int
        Entries of the decision queue, 2..64: how many outcomes decided at
        look-up may wait for the output streams (or for a walk's outcome decided
        before them).

    Members
    -------
    msi : In(stream.Signature(MsiRequest))
        MSIs (the MSI stream and GITS_TRANSLATER writes).
    query : In(stream.Signature(MsiRequest))
        Queries: answered on ``query_resp``; nothing is sent, recorded or counted.
        When both ``msi`` and ``query`` offer, they take turns.
    query_resp : Out(stream.Signature(QueryResponse))
        One answer per query (``done`` = 1, ``status``, and ``pintid`` /
        ``target`` when OK, else 0).
    lpi : Out(stream.Signature(RoutedPacket))
        SET(pINTID) to the collection's redistributor, one per translated MSI.
    drop : Out(stream.Signature(DropReport))
        One report per dropped MSI.
    mem : Out(MemReadSignature())
        The walker's table reads.
    inval : In(stream.Signature(InvalRequest))
        Cache invalidations from the executor; always ready.
    coll : Out(CollectionReadSignature())
        To the collection table's translator read port.
    enabled : In(1)
        GITS_CTLR.Enabled, sampled when an MSI or query is accepted.
    baser_dev, baser_coll : In(GitsBaser)
        GITS_BASER0 (devices) and GITS_BASER1 (collections).
    cache_disable : In(1)
        GITS_CACHE_CTL.Disable.
    hold : In(1)
        Accept no MSI or query (translations in flight complete).
    idle : Out(1)
        Nothing accepted is still in flight (every outcome has been handed over).
    tcache_hit, tcache_miss : Out(1)
        One-cycle pulse per MSI looked up while enabled (queries do not count).
    parity_inject : In(stream.Signature(ParityInject))
        GITS_PARITY_INJECT: flip a stored bit of a cache entry; always ready.
    tcache_parity, dcache_parity : Out(stream.Signature(8))
        The index of a translation-cache or device-cache entry dropped for a parity
        error (:class:`~gic.hw.its.tcache.Cache`: found by the caches' scrub, two cycles
        after an injection into a valid entry). A look-up never uses an entry with
        a parity error: it misses in that cache, walks and refills as any miss, so
        a hit without error has the latency it had. Not held: ``ready`` is ignored
        (a report is offered for one cycle).

    Raises
    ------
    TypeError
        If ``params`` is not an :class:`ItsParams`.
    ValueError
        If ``queue_depth`` is out of range.
    """

    msi: In(stream.Signature(MsiRequest))
    query: In(stream.Signature(MsiRequest))
    query_resp: Out(stream.Signature(QueryResponse))
    lpi: Out(stream.Signature(RoutedPacket))
    drop: Out(stream.Signature(DropReport))
    mem: Out(MemReadSignature())
    inval: In(stream.Signature(InvalRequest))
    coll: Out(CollectionReadSignature())
    enabled: In(1)
    baser_dev: In(GitsBaser)
    baser_coll: In(GitsBaser)
    cache_disable: In(1)
    hold: In(1)
    idle: Out(1)
    tcache_hit: Out(1)
    tcache_miss: Out(1)
    parity_inject: In(stream.Signature(ParityInject))
    tcache_parity: Out(stream.Signature(8))
    dcache_parity: Out(stream.Signature(8))

    def __init__(self, params, *, queue_depth=8):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        if not isinstance(queue_depth, int) or isinstance(queue_depth, bool) or \
                not 2 <= queue_depth <= 64:
            raise ValueError(f"queue_depth must be an integer in 2..64, not {queue_depth!r}")
        self._params = params
        self._queue_depth = queue_depth
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        s = self._elaborate_blocks(m)
        self._elaborate_accept(m, s)
        self._elaborate_lookup(m, s)
        self._elaborate_outcome(m, s)
        self._elaborate_fills(m, s)
        # The walker takes a request only when it holds no walk (its result taken).
        # (A fill still pending is not waited for: an invalidation in its cycle drops it.)
        m.d.comb += self.idle.eq(~s.lookup_valid & ~s.queue.r_rdy & s.walker.request.ready)
        return m

    def _elaborate_blocks(self, m):
        """The caches, the walker and the decision queue, and the invalidations."""
        params = self._params
        s = SimpleNamespace()
        m.submodules.tcache = s.tcache = tcache = TranslationCache(params)
        m.submodules.dcache = s.dcache = dcache = DeviceCache(params)
        m.submodules.walker = s.walker = walker = Walker(params)
        # The head of the queue decides (with the walker's result) what goes to the
        # forwarder, the register block and the caches' fill in the same cycle: it is kept
        # in a register.
        m.submodules.queue = s.queue = HeadRegisteredFIFO(
            width=data.Layout.cast(_Decision).size, depth=self._queue_depth)

        wiring.connect(m, walker.mem, wiring.flipped(self.mem))
        wiring.connect(m, walker.coll, wiring.flipped(self.coll))
        m.d.comb += [
            walker.baser_dev.eq(self.baser_dev),
            walker.baser_coll.eq(self.baser_coll),
        ]

        # Invalidations go to both caches as they are; the device cache ignores EVENT.
        # While the ITS is disabled both caches are emptied in every cycle, so nothing
        # translated under earlier GITS_BASERn values survives a re-enable (behaviour.md).
        flush = ~self.enabled
        inval = Signal(InvalRequest)
        m.d.comb += [
            self.inval.ready.eq(1),
            inval.eq(self.inval.payload),
            tcache.inval.valid.eq(self.inval.valid | flush),
            tcache.inval.payload.eq(inval),
            dcache.inval.valid.eq(self.inval.valid | flush),
            dcache.inval.payload.eq(inval),
        ]
        with m.If(flush):
            m.d.comb += inval.kind.eq(InvalKind.ALL)

        # Parity: injections to the cache they name; errors out as the caches report them.
        m.d.comb += self.parity_inject.ready.eq(1)
        for cache, cache_id, report in ((tcache, CacheId.TRANSLATION, self.tcache_parity),
                                        (dcache, CacheId.DEVICE, self.dcache_parity)):
            m.d.comb += [
                cache.inject.valid.eq(self.parity_inject.valid &
                                      (self.parity_inject.payload.cache == cache_id)),
                cache.inject.payload.index.eq(self.parity_inject.payload.index),
                cache.inject.payload.bit.eq(self.parity_inject.payload.bit),
                report.valid.eq(cache.parity_error.valid),
                report.payload.eq(cache.parity_error.payload),
            ]
        return s

    def _elaborate_accept(self, m, s):
        """Accept: MSI and query take turns when both offer."""
        s.lookup_valid = lookup_valid = Signal()
        s.lookup_query = Signal()
        s.lookup_enabled = Signal()
        s.lookup_request = Signal(MsiRequest)
        s.lookup_advance = Signal()
        query_turn = Signal()

        take_query = Signal()
        accept = Signal()
        m.d.comb += [
            take_query.eq(self.query.valid & (~self.msi.valid | query_turn)),
            accept.eq(~self.hold & (~lookup_valid | s.lookup_advance)),
            self.msi.ready.eq(accept & ~take_query),
            self.query.ready.eq(accept & take_query),
        ]
        with m.If(s.lookup_advance):
            m.d.sync += lookup_valid.eq(0)
        with m.If((self.msi.valid & self.msi.ready) | (self.query.valid & self.query.ready)):
            m.d.sync += [
                lookup_valid.eq(1),
                s.lookup_query.eq(take_query),
                s.lookup_enabled.eq(self.enabled),
                s.lookup_request.eq(Mux(take_query, self.query.payload, self.msi.payload)),
                query_turn.eq(~take_query),
            ]

    def _elaborate_lookup(self, m, s):
        """Look-up: the caches, then a decision (into the queue) or a walk."""
        params = self._params
        tcache, dcache, walker, queue = s.tcache, s.dcache, s.walker, s.queue
        lookup_query, lookup_enabled = s.lookup_query, s.lookup_enabled
        device_id = s.lookup_request.device_id
        event_id = s.lookup_request.event_id
        device_cacheable = Signal()
        translation_cacheable = Signal()
        translation_hit = Signal()
        device_hit = Signal()
        m.d.comb += [
            # An ID too wide for a cache key is never cached (it would alias).
            device_cacheable.eq(~self.cache_disable & ~(device_id >> params.device_bits).any()),
            translation_cacheable.eq(device_cacheable & ~(event_id >> params.event_bits).any()),
            tcache.lookup.key.device_id.eq(device_id),
            tcache.lookup.key.event_id.eq(event_id),
            dcache.lookup.key.device_id.eq(device_id),
            translation_hit.eq(tcache.lookup.hit & translation_cacheable),
            device_hit.eq(dcache.lookup.hit & device_cacheable),
        ]

        decision = Signal(_Decision)
        needs_walk = Signal()
        m.d.comb += [
            needs_walk.eq(lookup_enabled & ~translation_hit),
            decision.query.eq(lookup_query),
            decision.device_id.eq(device_id),
            decision.event_id.eq(event_id),
        ]
        with m.If(~lookup_enabled):
            m.d.comb += decision.status.eq(DropReason.DISABLED)
        with m.Else():
            m.d.comb += [
                decision.status.eq(DropReason.OK),
                decision.pintid.eq(tcache.lookup.value.pintid),
                decision.rd.eq(tcache.lookup.value.rd),
            ]

        # Query answers carry no ID, so they keep the order the queries were asked in: a
        # query waits in the look-up stage while a query's walk is in flight.
        s.walking_query = walking_query = Signal()
        query_waits = Signal()
        m.d.comb += query_waits.eq(lookup_query & walking_query)

        # A hit (or DISABLED) goes into the queue; a miss to the walker, which takes a
        # request only when idle. A request it has not taken may be withdrawn: the walk in
        # flight filled the cache and the look-up now hits.
        # The caches are filled in the cycle after a walk's outcome is taken (from registers);
        # the walker takes no request in that cycle, so a look-up that would walk for the
        # same key waits a cycle and hits instead.
        s.fill_pending = fill_pending = Signal()
        walker_free = Signal()
        m.d.comb += [
            walker_free.eq(walker.request.ready & ~fill_pending),
            walker.request.valid.eq(s.lookup_valid & needs_walk & ~query_waits & ~fill_pending),
            walker.request.payload.device_id.eq(device_id),
            walker.request.payload.event_id.eq(event_id),
            walker.request.payload.dte_cached.eq(device_hit),
            walker.request.payload.dte.eq(dcache.lookup.value),
            s.lookup_advance.eq(s.lookup_valid & ~query_waits &
                                Mux(needs_walk, walker_free, queue.w_rdy)),
            queue.w_en.eq(s.lookup_advance & ~needs_walk),
            queue.w_data.eq(decision),
        ]

        # A walk may fill the caches only if no invalidation happens before its fill.
        walk_starts = walker.request.valid & walker.request.ready
        s.fill_device = Signal()
        s.fill_translation = Signal()
        m.d.comb += [
            dcache.reserve.eq(walk_starts & device_cacheable),
            tcache.reserve.eq(walk_starts & translation_cacheable),
        ]
        with m.If(walk_starts):
            m.d.sync += [
                s.fill_device.eq(device_cacheable),
                s.fill_translation.eq(translation_cacheable),
                walking_query.eq(lookup_query),
            ]

        counted = s.lookup_advance & ~lookup_query & lookup_enabled
        m.d.comb += [
            self.tcache_hit.eq(counted & translation_hit),
            self.tcache_miss.eq(counted & ~translation_hit),
        ]

    def _elaborate_outcome(self, m, s):
        """Outcome: the queue's head or the walker's result, in decision order.

        A queued outcome is decided in the cycle after its look-up, a walk's in the first
        cycle the walker offers its result; on a tie the walk's goes first. ``ahead``
        counts the queued outcomes decided before the walk's: while the walk is in
        flight it follows the queue (less the entry written this cycle, decided in the
        next), then it only counts down as they leave. Both it and the walker's result
        are registers, so the choice starts from registers.
        """
        walker, queue = s.walker, s.queue
        ahead = Signal(range(self._queue_depth + 1))
        walk_first = Signal()
        head = _Decision(queue.r_data)
        walked = walker.result.payload
        outcome_valid = Signal()
        query = Signal()
        status = Signal(DropReason)
        pintid = Signal(16)
        rd = Signal(RD_BITS)
        m.d.comb += [
            walk_first.eq(walker.result.valid & (ahead == 0)),
            outcome_valid.eq(walk_first | queue.r_rdy),
            query.eq(Mux(walk_first, s.walking_query, head.query)),
            status.eq(Mux(walk_first, walked.status, head.status)),
            pintid.eq(Mux(walk_first, walked.pintid, head.pintid)),
            rd.eq(Mux(walk_first, walked.rd, head.rd)),
        ]
        translated = status == DropReason.OK
        m.d.comb += [
            self.lpi.valid.eq(outcome_valid & ~query & translated),
            self.lpi.payload.rd.eq(rd),
            self.lpi.payload.packet.op.eq(GicOp.SET),
            self.lpi.payload.packet.lpi.eq(pintid),
            self.drop.valid.eq(outcome_valid & ~query & ~translated),
            self.drop.payload.reason.eq(status),
            self.drop.payload.device_id.eq(Mux(walk_first, walked.device_id, head.device_id)),
            self.drop.payload.event_id.eq(Mux(walk_first, walked.event_id, head.event_id)),
            self.query_resp.valid.eq(outcome_valid & query),
            self.query_resp.payload.done.eq(1),
            self.query_resp.payload.status.eq(status),
        ]
        with m.If(translated):
            m.d.comb += [
                self.query_resp.payload.pintid.eq(pintid),
                self.query_resp.payload.target.eq(rd),
            ]

        taken = Signal()
        m.d.comb += [
            taken.eq((self.lpi.valid & self.lpi.ready) | (self.drop.valid & self.drop.ready) |
                     (self.query_resp.valid & self.query_resp.ready)),
            queue.r_en.eq(taken & ~walk_first),
            walker.result.ready.eq(taken & walk_first),
        ]
        head_taken = queue.r_en & queue.r_rdy
        with m.If(walker.result.valid):
            m.d.sync += ahead.eq(ahead - head_taken)
        with m.Else():
            m.d.sync += ahead.eq(queue.level - head_taken)

    def _elaborate_fills(self, m, s):
        """The caches' fills, from registers in the cycle after a walk's outcome is taken."""
        tcache, dcache, walker = s.tcache, s.dcache, s.walker
        walked = walker.result.payload
        walk_done = walker.result.valid & walker.result.ready
        with m.If(walk_done):
            m.d.sync += s.walking_query.eq(0)
        m.d.sync += [
            s.fill_pending.eq(walk_done),
            dcache.fill.valid.eq(walk_done & s.fill_device & walked.dte_read),
            dcache.fill.payload.key.device_id.eq(walked.device_id),
            dcache.fill.payload.value.eq(walked.dte),
            tcache.fill.valid.eq(walk_done & s.fill_translation &
                                 (walked.status == DropReason.OK)),
            tcache.fill.payload.key.device_id.eq(walked.device_id),
            tcache.fill.payload.key.event_id.eq(walked.event_id),
            tcache.fill.payload.value.pintid.eq(walked.pintid),
            tcache.fill.payload.value.rd.eq(walked.rd),
        ]
