"""The translator (``its/translator.py``): MSIs and queries in, SET packets, drops and
query answers out, through the device and translation caches and the table walker.

Models in cycles: acceptance (one MSI a cycle while the look-up stage is free and the
executor does not hold it), the look-up, the 8-entry decision queue (hits under one miss),
one walk at a time (:mod:`gic.sim.tlm.walker`), outcomes leaving in decision order one a
cycle, the cycle the walk's cache fills become visible, and the hold/quiesce/invalidate
handshake with the executor. Computes ahead of the kernel's time up to its horizon
(temporal decoupling), so a run of hits costs no kernel event per MSI. Not modelled: the
streams' valid/ready signals and the pipeline registers beyond the cycles they cost.
"""

import collections
from typing import NamedTuple

from gic.hw.its.layouts import DropReason, GicOp, InvalKind
from gic.sim.models.its import Packet

from .kernel import In, Module
from .tcache import Cache
from .timing import Timing
from .walker import Walker, _Walk

__all__ = ["Translator", "MsiOutcome", "QUEUE_DEPTH"]

QUEUE_DEPTH = Timing.default("queue_depth")
"""Entries of the translator's decision queue by default (``Translator(queue_depth=8)``):
:class:`Timing.queue_depth <gic.sim.tlm.timing.Timing>`."""
_COUNTER_MODULUS = 1 << 32
_NEVER = float("inf")


class MsiOutcome(NamedTuple):
    """What happened to one MSI (or query) in the TLM.

    Members
    -------
    offer : int
        Cycle it was first offered.
    accept : int
        Cycle it was accepted.
    out : int
        Cycle its outcome left the translator (SET packet into the forwarder's lpi FIFO,
        drop report, or query answer); a SET packet reaches the redistributor two cycles
        later when nothing waits before it.
    status : DropReason
    hit : bool
        Answered by the translation cache.
    """
    offer: int
    accept: int
    out: int
    status: DropReason
    hit: bool


class _Item:
    """An MSI or query waiting in the translator's input."""
    __slots__ = ("offer", "device_id", "event_id", "query")

    def __init__(self, offer, device_id, event_id, query=None):
        self.offer = offer
        self.device_id = device_id
        self.event_id = event_id
        self.query = query          # None for an MSI, else the event to answer


class _Decision:
    __slots__ = ("item", "accept", "advance", "status", "pintid", "rd", "walk", "hit", "out")

    def __init__(self, item, accept):
        self.item = item
        self.accept = accept
        self.advance = None
        self.status = DropReason.OK
        self.pintid = 0
        self.rd = 0
        self.walk = None
        self.hit = False
        self.out = None


class Translator(Module):
    """MSIs and queries -> SET packets, drops and answers, through the caches and the walker.

    Timing of ``its/translator.Translator`` (see its docstring): accepted in cycle *a*
    (when the look-up stage is free and ``hold`` is low), looked up from *a* + 1. A hit
    (or DISABLED) advances into the decision queue when the queue has room and is decided
    the cycle after; a miss advances when the walker is free, and its walk starts then (a
    miss waiting for the walker is looked up again each cycle, so the walk in flight may
    turn it into a hit); a query waits while a query walks. The next MSI is accepted in
    the cycle the look-up advances. A walk's outcome is decided in the cycle after its
    last read's data. Outcomes leave in the order of their decision cycles (a walk's first
    on a tie), one a cycle, each at the earliest in its decision cycle; a walk's result is
    taken when it leaves, and the walker takes the next request the cycle after. Fills
    and invalidations are seen by look-ups from the next cycle.

    The costs and the queue's depth are :class:`~gic.sim.tlm.timing.Timing`'s
    (``lookup_cycles``, ``decide_cycles``, ``queue_depth``, ``walk_start_cycles``,
    ``walker_free_cycles``; the walker's own are its), the defaults when ``timing`` is None.

    Members
    -------
    msi : In
        MSIs and queries (``_Item`` with the cycle they are offered), unbounded.
    tcache, dcache : Cache
    outcomes : list of MsiOutcome
        Every MSI's outcome (not queries), in the order they left.
    walks : int
    """

    def __init__(self, kernel, params, model, tables, memory, forwarder, mismatches, *,
                 timing=None, parent=None):
        super().__init__(kernel, "translator", parent)
        timing = timing or Timing()
        self._timing = timing
        self._lookup = timing.lookup_cycles
        self._decide = timing.decide_cycles
        self._pipeline = timing.lookup_cycles + timing.decide_cycles
        self._queue_depth = timing.queue_depth
        self._walker_free_cycles = timing.walker_free_cycles
        self.params = params
        self.mismatches = mismatches
        self.model = model
        self.tables = tables
        self.memory = memory
        self.forwarder = forwarder
        self.msi = In("msi")
        self.tcache = Cache(params.tcache_entries, event=True)
        self.dcache = Cache(params.dcache_entries, event=False)
        self.walker = Walker(kernel, params, tables, memory, timing=timing, parent=self)
        self.outcomes = []
        self.walks = 0
        self._inbox = None
        self._accept_free = 0           # first cycle the look-up stage can take an MSI
        self._recent = collections.deque()   # the last QUEUE_DEPTH queued decisions
        self._queue = collections.deque()    # queued decisions that have not left
        self._frontier = 0              # earliest decision cycle of a queued outcome to come
        self._frontier_moves = False    # waiting for input: the frontier moves with time
        self._last_out = -1
        self._in_lookup = False
        self._walk = None               # the walk in flight, until its outcome leaves
        self._walker_free = 0
        self._fill = None               # (visible cycle, walk) of the last walk's fills
        self._holds = []                # [start, end or None]: hold intervals
        self._release = None
        self._enabled = [(0, False)]    # (from cycle, value)
        self._cache_disable = [(0, False)]
        self._last_inval = -1
        self._quiesce = []              # (cycle, event) requests from the executor
        self._drain = []                # events waiting for every outcome

    def start(self):
        self._inbox = self.msi.channel
        self.process(self._run())

    # -- inputs from the other blocks (all take effect in a given cycle) ---------------------

    def set_enabled(self, cycle, value):
        """GITS_CTLR.Enabled is ``value`` from ``cycle`` on (sampled when an MSI is accepted).

        The caches are empty when the ITS is enabled again (the RTL invalidates them in
        every cycle it is disabled), so no translation survives a change of GITS_BASERn.
        """
        if value and not self._at(self._enabled, cycle - 1):
            self.invalidate(cycle - 1, InvalKind.ALL)
        self._enabled.append((cycle, bool(value)))

    def set_cache_disable(self, cycle, value):
        """GITS_CACHE_CTL.Disable is ``value`` from ``cycle`` on."""
        self._cache_disable.append((cycle, bool(value)))

    @staticmethod
    def _at(history, cycle):
        for start, value in reversed(history):
            if start <= cycle:
                return value
        return history[0][1]

    def hold(self, start):
        """The executor holds the translator from ``start`` on (no MSI is accepted)."""
        self._holds.append([start, None])

    def release(self, end):
        """The hold ends: MSIs are accepted again from ``end``."""
        self._holds[-1][1] = end
        if self._release is not None:
            release, self._release = self._release, None
            release.succeed()

    def quiesce(self, cycle):
        """With the hold from ``cycle`` + 1: an event whose value is the first cycle >=
        ``cycle`` + 1 in which the translator is idle (nothing accepted still in flight) and
        the forwarder's lpi FIFO empty."""
        event = self.kernel.event()
        self._quiesce.append((cycle, event))
        self._check_quiesce()
        return event

    def invalidate(self, cycle, kind, device_id=0, event_id=0):
        """An invalidation in ``cycle`` (the translator is idle and held)."""
        self._apply_fill(cycle)       # a fill in this very cycle is dropped (RTL)
        self._last_inval = cycle
        self.tcache.invalidate(kind, device_id, event_id)
        self.dcache.invalidate(kind, device_id, event_id)

    def drained(self):
        """An event in the cycle after every MSI and query given so far has left."""
        event = self.kernel.event()
        self._drain.append(event)
        self._check_drain()
        return event

    def busy(self, cycle):
        """Whether anything given to the translator is still in flight in ``cycle``."""
        return bool(len(self._inbox) or self._in_flight() or self._last_out >= cycle)

    def _in_flight(self):
        return bool(self._queue or self._walk is not None or self._in_lookup)

    # -- the look-up stage -------------------------------------------------------------------

    def _held_until(self, cycle):
        """The first cycle >= ``cycle`` without hold; None while an open hold covers it."""
        for start, end in reversed(self._holds):
            if start <= cycle:
                if end is None:
                    return None
                return max(cycle, end)
            # a later hold does not concern an earlier cycle
        return cycle

    def _expect(self, cycle, *, moves=False):
        """No outcome decided at look-up before ``cycle`` is still to come (from now + 2
        on, with ``moves``: the input is empty or held); let what can leave leave."""
        self._frontier = cycle
        self._frontier_moves = moves
        self._resolve()

    def _run(self):
        kernel = self.kernel
        inbox = self._inbox
        while True:
            self._check_quiesce()
            self._check_drain()
            if not len(inbox):
                self._expect(self._accept_free + self._pipeline, moves=True)
                yield inbox.data_written()
                continue
            item = inbox.peek()
            accept = self._held_until(max(item.offer, self._accept_free))
            if accept is None:
                self._expect(self._accept_free + self._pipeline, moves=True)
                self._release = self._release or kernel.event()
                yield self._release
                continue
            if accept > kernel.horizon():
                self._expect(accept + self._pipeline)
                yield kernel.at(accept)
                continue
            inbox.nb_get()
            self._in_lookup = True
            decision = _Decision(item, accept)
            yield from self._look_up(decision, accept + self._lookup)
            self._in_lookup = False
            self._expect(decision.advance + self._pipeline)

    def _look_up(self, decision, cycle):
        """The look-up stage from ``cycle`` until ``decision`` advances (a process part)."""
        item = decision.item
        params, tcache, dcache, stats = self.params, self.tcache, self.dcache, self.model.stats
        enabled = self._at(self._enabled, decision.accept)
        device_id, event_id = item.device_id, item.event_id
        key = (device_id, event_id)
        while True:
            # This one, if it is decided at look-up now; so a walk decided before this cycle
            # leaves now, and its fills are known.
            self._expect(cycle + self._decide)
            walk = self._walk
            if walk is not None:
                if walk.result is None and cycle > walk.bound:
                    yield walk.done     # its fills may be seen from a cycle before this one
                    continue
                if item.query is not None and walk.decision.item.query is not None:
                    yield from self._after(walk)      # a query waits while a query walks
                    cycle = max(cycle, self._walker_free)
                    continue
            self._apply_fill(cycle)
            if enabled:
                disabled = self._at(self._cache_disable, cycle) if len(self._cache_disable) > 1 \
                    else False
                device_cacheable = not disabled and not device_id >> params.device_bits
                translation_cacheable = device_cacheable and not event_id >> params.event_bits
                value = tcache.lookup(key) if translation_cacheable else None
                if value is None:
                    if walk is None and self._walker_free <= cycle:
                        dte = dcache.lookup(device_id) if device_cacheable else None
                        self._start_walk(decision, cycle, dte, device_cacheable,
                                         translation_cacheable)
                        break
                    if walk is not None:
                        yield from self._after(walk)
                    cycle = max(cycle, self._walker_free)
                    continue
                decision.hit = True
                decision.pintid, decision.rd = value
            else:
                decision.status = DropReason.DISABLED
            room = yield from self._room(cycle)
            if room <= cycle:
                self._queue_up(decision, cycle)
                break
            # Wait for room; look up again where a walk's fill may change the answer.
            later = room
            if self._fill is not None and self._fill[0] > cycle:
                later = min(later, self._fill[0])
            if self._walk is not None:
                walk = self._walk
                later = min(later, (walk.bound if walk.result is None else walk.result[3]) + 1)
            cycle = max(cycle + 1, later)
        decision.advance = cycle
        self._accept_free = cycle
        if enabled and item.query is None:
            counter = "TCACHE_HIT" if decision.hit else "TCACHE_MISS"
            stats[counter] = (stats[counter] + 1) % _COUNTER_MODULUS

    def _after(self, walk):
        """Wait until ``walk``'s outcome left (a process part): nothing being looked up now
        can be decided before it."""
        self._expect(_NEVER)
        if self._walk is walk:
            yield walk.left

    def _room(self, cycle):
        """The first cycle >= ``cycle`` the decision queue has room in (a process part)."""
        recent = self._recent
        if len(recent) < self._queue_depth:
            return cycle
        oldest = recent[0]
        while oldest.out is None:       # it waits for a walk's outcome decided before it
            yield self._walk.done
            self._resolve()
        return oldest.out + 1

    def _queue_up(self, decision, cycle):
        if len(self._recent) == self._queue_depth:
            self._recent.popleft()
        self._recent.append(decision)
        self._queue.append(decision)
        decision.advance = cycle

    def _start_walk(self, decision, cycle, dte, device_cacheable, translation_cacheable):
        walk = _Walk(cycle, self.kernel, decision, self._timing)
        walk.fill_device = device_cacheable
        walk.fill_translation = translation_cacheable
        if device_cacheable:
            self.dcache.reserved = True
        if translation_cacheable:
            self.tcache.reserved = True
        decision.walk = walk
        self._walk = walk
        self.walks += 1
        self.process(self._walker(walk, decision.item.device_id, decision.item.event_id, dte))

    def _apply_fill(self, cycle):
        """Make the last walk's fills seen by a look-up in ``cycle`` if they are by then."""
        if self._fill is None or self._fill[0] > cycle:
            return
        _, walk, decision = self._fill
        self._fill = None
        if self._last_inval >= walk.start:
            self.tcache.reserved = self.dcache.reserved = False
            return
        if walk.fill_device and walk.dte_read:
            self.dcache.fill(decision.item.device_id, walk.dte)
        else:
            self.dcache.reserved = False
        if walk.fill_translation and decision.status is DropReason.OK:
            self.tcache.fill((decision.item.device_id, decision.item.event_id),
                             (decision.pintid, decision.rd))
        else:
            self.tcache.reserved = False

    # -- the walker --------------------------------------------------------------------------

    def _walker(self, walk, device_id, event_id, dte):
        """One walk (a process): the walker's reads, then its result is known."""
        yield from self.walker.run(walk, device_id, event_id, dte)
        done = walk.done
        self._resolve()
        self._check_quiesce()
        self._check_drain()
        done.succeed()

    # -- the outputs: queued outcomes and the walk's, in decision order ----------------------

    def _resolve(self):
        """Compute the output cycle of every outcome whose turn is known: a queued one
        decided before the walk in flight (or with no walk), the walk's once no queued
        outcome decided before it is still to come."""
        if self._next_to_leave():
            while self._next_to_leave():
                pass
            self._check_quiesce()
            self._check_drain()

    def _next_to_leave(self):
        """Let the next outcome leave if its turn is known; whether one left."""
        queue = self._queue
        walk = self._walk
        head = queue[0] if queue else None
        if walk is None or (head is not None and head.advance + self._decide < (
                walk.bound if walk.result is None else walk.result[3])):
            if head is None:
                return False
            self._leave(queue.popleft(), head.advance + self._decide)
            return True
        if walk.result is None:
            return False
        decided = walk.result[3]
        if head is None:
            frontier = self._frontier
            if self._frontier_moves:
                frontier = max(frontier, self.kernel.now + self._pipeline)
            if frontier < decided:
                if self._frontier_moves:    # from decided - 2 on, nothing can come before
                    self.kernel.at(decided - self._pipeline).callbacks.append(lambda _: self._resolve())
                return False
        self._leave(walk.decision, decided)
        return True

    def _leave(self, decision, decided):
        """``decision``'s outcome leaves, at the earliest in cycle ``decided``."""
        walk = decision.walk
        if walk is not None:
            decision.status, decision.pintid, decision.rd, _ = walk.result
        item = decision.item
        status = decision.status
        out = max(decided, self._last_out + 1)
        if item.query is not None:
            item.query.succeed((out, status, decision.pintid, decision.rd))
        elif status is DropReason.OK:
            out = self.forwarder.put(decision.rd, out, Packet(GicOp.SET, decision.pintid))
            stats = self.model.stats
            stats["MSI_TRANSLATED"] = (stats["MSI_TRANSLATED"] + 1) % _COUNTER_MODULUS
        else:
            self._record_drop(item, status)
        if item.query is None:
            self.outcomes.append(MsiOutcome(item.offer, decision.accept, out, status,
                                            decision.hit))
        decision.out = out
        self._last_out = out
        if walk is not None:
            self._walk = None
            # The RTL fills the caches from registers in the cycle after (seen from the
            # next); the walker takes no request until then.
            self._walker_free = out + self._walker_free_cycles
            self._fill = (out + self._walker_free_cycles, walk, decision)
            walk.left.succeed()

    def _record_drop(self, item, status):
        """A dropped MSI: the reference model records it (counter, GITS_ERR_MSI, error
        output) and must find the same reason."""
        translation = self.model.msi(item.device_id, item.event_id)
        if translation.status is not status:
            self.mismatches.append(
                f"MSI ({item.device_id}, {item.event_id}): TLM {status.name}, "
                f"model {translation.status.name}")

    def _check_quiesce(self):
        if not self._quiesce or self._in_flight():
            return
        inbox = self._inbox
        next_accept = max(inbox.peek().offer, self._accept_free) if len(inbox) else _NEVER
        for request in list(self._quiesce):
            cycle, event = request
            if next_accept > cycle:
                self._quiesce.remove(request)
                # ... and the forwarder's lpi FIFO empty.
                event.succeed(max(cycle + 1, self._last_out + 1,
                                  self.forwarder.lpi_drained()))

    def _check_drain(self):
        if not self._drain or len(self._inbox) or self._in_flight():
            return
        waiting, self._drain = self._drain, []
        at = self.kernel.at(self._last_out + 1)
        for event in waiting:
            at.callbacks.append(lambda _, event=event: event.succeed())
