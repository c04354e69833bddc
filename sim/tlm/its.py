"""The ITS as a transaction-level model: the RTL's blocks and timing, the reference model's state.

:class:`TlmIts` has the blocks of :class:`gic.hw.its.top.Its`, each a
:class:`~gic.sim.tlm.kernel.Module` that models its RTL counterpart's timing in cycles:

* :class:`RegisterBlock` (``hw/its/regs.py``): the GITS_* registers.
* :class:`CommandFetch` (``hw/its/cmdq.py``): reads 32-byte commands from the ring.
* :class:`Executor` (``hw/its/executor.py``): runs them step by step as the RTL's
  :data:`~gic.hw.its.executor.RECIPES` say (table reads, hold the translator, write,
  invalidate, packet, SYNC acknowledge).
* :class:`Translator` (``hw/its/translator.py``) with its :class:`Cache` pair (device
  and translation caches, the same replacement policy as ``hw/its/tcache.py``) and the
  table walker (``hw/its/walker.py``): MSIs in, SET packets or drops out, in decision
  order, hits under one miss.
* :class:`Forwarder` (``hw/its/forwarder.py``) and one :class:`Redistributor` per
  processor, which takes a packet a cycle and acknowledges SYNCs.
* :class:`~gic.sim.tlm.memory.MemoryTarget`: the AXI memory, fixed latency, one beat a cycle.

Architectural state is the reference model's: :class:`gic.sim.models.its.ItsModel` holds the
registers, the error records, the counters and the on-chip collections, and executes
each command (:meth:`~gic.sim.models.its.ItsModel.step`) at the cycle the RTL would change the
tables, so commands agree with the reference model by construction. MSIs are the
TLM's own: they are answered from its caches or by its walker (dropped MSIs are
recorded through :meth:`~gic.sim.models.its.ItsModel.msi`, which must agree); every
disagreement (a translation, a command's predicted error) is kept in
:attr:`TlmIts.mismatches`.

Timing follows the RTL's docstrings and state machines (cycle *n* is the cycle of a
handshake): an MSI accepted in cycle *n* is looked up in *n* + 1, a hit leaves the
translator in *n* + 2 and reaches its redistributor in *n* + 3; a miss walks (one walk at
a time, each read offered in the cycle the previous one's data arrives) and leaves the
cycle after its last data; outcomes leave in decision order (docs/behaviour.md,
"Ordering"), the hits through an 8-entry queue, so hits do not wait for a miss.
Between blocks every effect is registered, so each block may compute ahead in local
time up to :meth:`Kernel.horizon <gic.sim.tlm.kernel.Kernel.horizon>` (temporal
decoupling): a storm of hits costs no kernel event per MSI.
"""

import bisect
import collections
from typing import NamedTuple

from amaranth.lib import data

from gic.hw.its.executor import INVALIDATION, RECIPES, PacketWhen, RdCheck, Write
from gic.hw.its.geometry import ite_address_int, level2_entry_address_int
from gic.hw.its.layouts import (
    CBASER_PAGE, COMMAND_BYTES, COMMAND_LAYOUTS, ENTRY_BYTES, ITT_ALIGN, LPI_BASE, PAGE_BYTES,
    CacheCtl, CmdError, CommandHeader, CollectionTableEntry, DeviceTableEntry, DropReason, GicOp,
    GitsBaser, GitsCbaser, GitsCreadr, GitsCtlr, GitsCwriter, InvalKind, IttEntry, Level1Entry,
    PageSize, QueryRequest,
)
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import BASER_COLLECTIONS, BASER_DEVICES, REG, REGISTERS, TRANSLATER
from gic.hw.bus.mem import ADDR_BITS
from gic.sim.models.commands import pack, unpack
from gic.sim.models.its import ItsModel, Packet

from .cmdq import FETCH_DEPTH, CommandFetch
from .executor import Executor
from .common import EXECUTOR_CLIENT, FETCH_CLIENT, TRANSLATOR_CLIENT, _decoder, _encoder
from .forwarder import Forwarder, Redistributor
from .kernel import Fifo, In, Kernel, Module, Out
from .memory import MemoryTarget
from .tables import _DTE, _ITE, _LEVEL1, _Tables, _cte_target
from .tcache import Cache
from .walker import Walker, _Walk

__all__ = ["TlmIts", "RegisterBlock", "CommandFetch", "Executor", "Translator", "Cache",
           "Forwarder", "Redistributor", "MsiOutcome", "QUEUE_DEPTH", "FETCH_DEPTH"]

QUEUE_DEPTH = 8
"""Entries of the translator's decision queue (``Translator(queue_depth=8)``)."""
_COUNTER_MODULUS = 1 << 32
_NEVER = float("inf")


_ENCODE_CREADR = _encoder(GitsCreadr)


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


# -- translator ------------------------------------------------------------------------------

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

    Timing of ``hw/its/translator.Translator`` (see its docstring): accepted in cycle *a*
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
                 parent=None):
        super().__init__(kernel, "translator", parent)
        self.params = params
        self.mismatches = mismatches
        self.model = model
        self.tables = tables
        self.memory = memory
        self.forwarder = forwarder
        self.msi = In("msi")
        self.tcache = Cache(params.tcache_entries, event=True)
        self.dcache = Cache(params.dcache_entries, event=False)
        self.walker = Walker(kernel, params, tables, memory, parent=self)
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
                self._expect(self._accept_free + 2, moves=True)
                yield inbox.data_written()
                continue
            item = inbox.peek()
            accept = self._held_until(max(item.offer, self._accept_free))
            if accept is None:
                self._expect(self._accept_free + 2, moves=True)
                self._release = self._release or kernel.event()
                yield self._release
                continue
            if accept > kernel.horizon():
                self._expect(accept + 2)
                yield kernel.at(accept)
                continue
            inbox.nb_get()
            self._in_lookup = True
            decision = _Decision(item, accept)
            yield from self._look_up(decision, accept + 1)
            self._in_lookup = False
            self._expect(decision.advance + 2)

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
            self._expect(cycle + 1)
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
        if len(recent) < QUEUE_DEPTH:
            return cycle
        oldest = recent[0]
        while oldest.out is None:       # it waits for a walk's outcome decided before it
            yield self._walk.done
            self._resolve()
        return oldest.out + 1

    def _queue_up(self, decision, cycle):
        if len(self._recent) == QUEUE_DEPTH:
            self._recent.popleft()
        self._recent.append(decision)
        self._queue.append(decision)
        decision.advance = cycle

    def _start_walk(self, decision, cycle, dte, device_cacheable, translation_cacheable):
        walk = _Walk(cycle, self.kernel, decision)
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
        if walk is None or (head is not None and head.advance + 1 < (
                walk.bound if walk.result is None else walk.result[3])):
            if head is None:
                return False
            self._leave(queue.popleft(), head.advance + 1)
            return True
        if walk.result is None:
            return False
        decided = walk.result[3]
        if head is None:
            frontier = self._frontier
            if self._frontier_moves:
                frontier = max(frontier, self.kernel.now + 2)
            if frontier < decided:
                if self._frontier_moves:    # from decided - 2 on, nothing can come before
                    self.kernel.at(decided - 2).callbacks.append(lambda _: self._resolve())
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
            self._walker_free = out + 2
            self._fill = (out + 2, walk, decision)
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


# -- registers -------------------------------------------------------------------------------

_WIDTHS = {register.offset: register.width for register in REGISTERS}
_OVERRIDDEN = {REG[name] for name in ("GITS_CTLR", "GITS_CREADR", "GITS_QUERY_RESULT",
                                      "GITS_CACHE_CTL")}
_WORD = (1 << 32) - 1


class RegisterBlock(Module):
    """The GITS_* registers (``hw/its/regs.Registers``), held by the reference model.

    An access happens at the current cycle and takes effect at its end (seen from the
    next cycle), as a register-bus strobe; :class:`gic.sim.tlm.bus.TlmBus` adds the AXI4-Lite
    bridge's cycles around it. On top of the model: ``GITS_CTLR.Quiescent`` waits for
    the blocks to be idle; ``GITS_CREADR`` moves when the executor retires;
    ``GITS_QUERY_RESULT.Done`` waits for the translator's answer;
    ``GITS_CACHE_CTL.Invalidate`` reads 1 until the executor invalidated;
    ``GITS_TRANSLATER`` writes are MSIs.
    """

    def __init__(self, kernel, its, *, parent=None):
        super().__init__(kernel, "regs", parent)
        self.its = its
        self.model = its.model
        self._creadr = self.model.read(REG["GITS_CREADR"])
        self._creadr_next = None        # (cycle, value): CREADR after the retiring command
        self._creadr_pending = self._creadr
        self._query_answer = None       # the event of the query in flight
        self._query_done = 0

    def read(self, offset, size=8):
        """Read ``size`` bytes at ``offset`` now (as :meth:`gic.sim.models.its.ItsModel.read`)."""
        if size == 8 and _WIDTHS.get(offset) == 64:
            return self._value(offset)
        value = 0
        for n in range(size // 4):
            word_offset = offset + 4 * n
            base = word_offset if word_offset in _WIDTHS else word_offset - 4
            if base in _OVERRIDDEN and word_offset - base < _WIDTHS[base] // 8:
                word = (self._value(base) >> (8 * (word_offset - base))) & _WORD
            else:
                word = self.model.read(word_offset, 4)
            value |= word << (32 * n)
        return value

    def _value(self, offset):
        """The whole register at ``offset``, as software reads it now."""
        now = self.kernel.now
        if offset == REG["GITS_CTLR"]:
            enabled = self.model.enabled
            return pack(GitsCtlr, enabled=enabled, quiescent=not enabled and self.its.idle())
        if offset == REG["GITS_CREADR"]:
            if self._creadr_next is not None and self._creadr_next[0] <= now:
                self._creadr = self._creadr_next[1]
                self._creadr_next = None
            return self._creadr
        if offset == REG["GITS_QUERY_RESULT"]:
            answer = self._query_answer
            if answer is not None and not (answer.triggered and self._query_done <= now):
                return 0
        if offset == REG["GITS_CACHE_CTL"]:
            return self.model.read(offset, 4) | pack(
                CacheCtl, invalidate=int(self.its.executor.invalidate_pending))
        return self.model.read(offset, _WIDTHS.get(offset, 32) // 8)

    def write(self, offset, value, size=8, *, device_id=0):
        """Write now; the change is seen from the next cycle."""
        its, model, now = self.its, self.model, self.kernel.now
        if offset == TRANSLATER:
            its.msi(device_id, value & _WORD, offer=now + 1)
            return
        was_enabled, was_stalled = model.enabled, model.stalled
        touched = {base for base in _WIDTHS
                   if base < offset + size and offset < base + _WIDTHS[base] // 8}
        if REG["GITS_CACHE_CTL"] in touched:
            cache_disable = unpack(CacheCtl, model.read(REG["GITS_CACHE_CTL"], 4))["disable"]
        model.write(offset, value, size, device_id=device_id)
        seen = now + 1
        if REG["GITS_CTLR"] in touched and model.enabled != was_enabled:
            its.translator.set_enabled(seen, model.enabled)
        if touched & {REG["GITS_BASER0"], REG["GITS_BASER1"]}:
            its.tables.refresh()
        if REG["GITS_CBASER"] in touched or was_stalled and not model.stalled:
            # A new ring starts at 0; a retry clears Stalled (CREADR stays on the command).
            self._creadr = model.read(REG["GITS_CREADR"])
            self._creadr_next = None
        if touched & {REG["GITS_CTLR"], REG["GITS_CBASER"], REG["GITS_CWRITER"]}:
            its.cmdq.registers_changed(seen, restart=REG["GITS_CBASER"] in touched and
                                       not model.enabled)
        if REG["GITS_CACHE_CTL"] in touched:
            written = unpack(CacheCtl, (value >> (8 * (REG["GITS_CACHE_CTL"] - offset))) & _WORD)
            if written["disable"] != cache_disable:
                its.translator.set_cache_disable(seen, written["disable"])
            if written["invalidate"]:
                its.executor.request_invalidate(seen)
        if REG["GITS_QUERY"] in touched:
            request = unpack(QueryRequest, model.read(REG["GITS_QUERY"]))
            self._query_answer = its.query(request["device_id"], request["event_id"],
                                           offer=seen)
            self._query_answer.callbacks.append(self._answered)

    def _answered(self, event):
        if event is self._query_answer:
            self._query_done = event.value[0] + 1

    def command_stepped(self, offset):
        """The model executed the command at ring byte ``offset``: CREADR moves past it (or
        stays, stalled) when the executor retires it."""
        stalled = self.model.stalled
        slot = offset // COMMAND_BYTES
        if not stalled:
            slot = (slot + 1) % self.its.cmdq.ring_slots
        self._creadr_pending = _ENCODE_CREADR(offset=slot, stalled=stalled)

    def command_retired(self, cycle):
        """The executor retired the command in ``cycle``: CREADR moves at its end."""
        self._creadr_next = (cycle + 1, self._creadr_pending)
        if self.model.stalled:
            self.its.cmdq.flush()
        self.its.cmdq.registers_changed(cycle + 1, reread=False)


# -- the ITS ---------------------------------------------------------------------------------

class TlmIts(Module):
    """The whole ITS, transaction level, with the same parameters as ``gic.hw.its.top.Its``.

    Parameters
    ----------
    params : ItsParams
    memory : gic.sim.models.memory.Memory
        Holds the command ring and the tables (shared with the driver).
    mem_latency : int
        The memory's latency ``L`` (as the testbenches' ``Axi4SlaveModel(latency=L)``).
    ack_delay : int
        Cycles a redistributor takes to acknowledge a SYNC (as
        ``GicStreamSink(ack_delay=...)``).
    kernel : Kernel or None
        The kernel to run in (a new one by default).

    Members
    -------
    kernel : Kernel
    model : gic.sim.models.its.ItsModel
        The architectural state (registers, records, counters, collections).
    memory : MemoryTarget
    regs, cmdq, executor, translator, forwarder : the blocks
    redistributors : list of Redistributor
    mismatches : list of str
        Disagreements with the reference model (must stay empty).

    Raises
    ------
    TypeError
        If ``params`` is not an :class:`ItsParams`.
    ValueError
        If ``mem_latency`` or ``ack_delay`` is out of range.
    """

    def __init__(self, params, memory, *, mem_latency=4, ack_delay=3, kernel=None):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        if not isinstance(ack_delay, int) or ack_delay < 1:
            raise ValueError(f"ack_delay must be an integer >= 1, not {ack_delay!r}")
        kernel = kernel or Kernel()
        super().__init__(kernel, "its")
        self.params = params
        self.mismatches = []
        self.model = ItsModel(params, memory, auto_execute=False)
        self.memory = MemoryTarget(kernel, memory, latency=mem_latency, read_clients=3,
                                   parent=self)
        self.tables = _Tables(params, self.model)
        self.redistributors = [Redistributor(kernel, rd, ack_delay=ack_delay, parent=self)
                               for rd in range(params.num_redistributors)]
        self.forwarder = Forwarder(kernel, self.redistributors, parent=self)
        self.translator = Translator(kernel, params, self.model, self.tables, self.memory,
                                     self.forwarder, self.mismatches, parent=self)
        self.cmdq = CommandFetch(kernel, self.model, self.memory, parent=self)
        self.executor = Executor(kernel, self, parent=self)
        self.regs = RegisterBlock(kernel, self, parent=self)
        self.translator.msi.bind(Fifo(kernel, None, name="its.msi"))
        commands = Fifo(kernel, None, name="its.cmd")
        self.cmdq.cmd.bind(commands)
        self.executor.cmd.bind(commands)
        for block in (self.translator, self.cmdq, self.executor):
            block.start()

    # -- stimulus -----------------------------------------------------------------------

    def msi(self, device_id, event_id, *, offer=None):
        """An MSI offered from cycle ``offer`` (now by default) on the MSI stream."""
        offer = self.kernel.now if offer is None else offer
        self.translator.msi.channel.nb_put(_Item(offer, device_id, event_id))

    def query(self, device_id, event_id, *, offer=None):
        """A query on the query port; an event whose value is ``(cycle, status, pintid,
        target)`` when answered."""
        offer = self.kernel.now if offer is None else offer
        answer = self.kernel.event()
        self.translator.msi.channel.nb_put(_Item(offer, device_id, event_id, answer))
        return answer

    # -- observation --------------------------------------------------------------------

    @property
    def packets(self):
        """Per redistributor, every packet it received, in order."""
        return [rd.packets for rd in self.redistributors]

    def idle(self):
        """Nothing fetched, executing or in flight (GITS_CTLR.Quiescent when disabled)."""
        now = self.kernel.now
        fetchable = self.cmdq.fetchable()
        return not (self.translator.busy(now) or self.executor.busy or
                    len(self.executor.cmd.channel) or fetchable or
                    self.executor.invalidate_pending)

    def stats(self):
        """The GITS_STAT_* counters, by name."""
        return dict(self.model.stats)
