"""The ITS scoreboard: monitors on the DUT feed the reference model, which predicts
every packet each redistributor must receive, in order, and every register read.

The untimed :class:`gic.sim.models.its.ItsModel` is stepped at the points where the RTL
linearises its work, each watched by a passive monitor:

=========================  ========================================================
the RTL                    the model, in that cycle
=========================  ========================================================
reads a register           (``r_stb`` of the register bus) the model's value is
                           noted: the RTL samples before the cycle's other updates
accepts an MSI or a query  (the translator's ``msi``/``query`` handshake: the MSI
                           stream, GITS_TRANSLATER and GITS_QUERY all meet there)
                           :meth:`ItsModel.query`: the outcome the model expects
decides an MSI or query    (the translator's ``lpi``, ``drop`` and ``query_resp``
                           outputs, in decision order) the decision must be the
                           model's for one of the MSIs or queries in flight;
                           :meth:`ItsModel.msi` applies it (counters, drop record),
                           an LPI's SET joins the expected packets
sends a command's packet   (the executor's ``packet`` handshake) a place for the
                           command's packet joins the expected packets
retires a command          (the executor's ``retire``) :meth:`ItsModel.step`: the
                           RTL's error (``failure``) must be the model's, and the
                           model's packet fills the place the RTL sent it in
writes a register          (``w_stb`` of the register bus) :meth:`ItsModel.write`
=========================  ========================================================

Within one cycle they apply in the order of the table. The executor holds the
translator (accepts no MSI) while it changes a mapping, so a translation accepted
before a command retires sees the old mapping and one accepted after it the new one:
the model's answers at acceptance are the RTL's. The translator decides in its own
order (docs/behaviour.md, "Ordering": a hit may overtake an earlier miss; query
answers keep the order of the questions), so each decision is matched with the
oldest MSI in flight whose model outcome it is (for a drop, of the same DeviceID and
EventID), and each query answer with the oldest query in flight; every MSI and query
taken must be decided by the end. The packets of each redistributor
are expected in the order the forwarder takes them from its two inputs (the
translator's decisions, through the forwarder's lpi FIFO, and the executor's packets,
docs/behaviour.md "Ordering"),
each with the model's content; a command that changes a mapping must find no MSI
left in the translator when it retires. A SYNC's packet is sent before the
command retires (after the acknowledge), hence the places filled at retirement.

The redistributor models hand the packets they take to :meth:`ItsScoreboard.receive`;
expected and received packets are compared per redistributor as they come, and a
mismatch is logged with both sides and the simulation times. At the end,
:meth:`ItsScoreboard.check` asserts every queue empty and zero mismatches.

Register reads are compared as well (:meth:`ItsScoreboard.check_read`): always for
the command side, which the RTL updates in the retiring cycle as the model does; for
the MSI side (drop record, MSI counters) only when no MSI was in the translator,
since the model records a decision in the cycle the translator hands it over and the
RTL's register block a cycle later.
"""

import heapq
from collections import Counter, deque

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import ReadOnly

from gic.hw.its.executor import CommandFailure
from gic.hw.its.layouts import (
    CacheCtl, Cmd, CmdError, DropReason, DropReport, GicOp, GitsCtlr, MsiRequest, QueryResponse,
    RoutedPacket,
)
from gic.hw.its.regmap import REG, REGISTERS, TRANSLATER
from gic.sim.models.commands import unpack
from gic.sim.models.its import ItsModel, Packet

from .monitors import high, watch

__all__ = ["Scoreboard", "ItsScoreboard", "ScoreboardError", "format_packet", "READ_RULES",
           "WORD", "register_accesses"]

_READ, _ACCEPT, _DECIDE, _RETIRE, _WRITE = range(5)
"""Order of the monitors' events within one cycle."""
WORD = (1 << 32) - 1
"""The bits of a 32-bit register word."""
_MAPPING_COMMANDS = {Cmd.MAPD, Cmd.MAPC, Cmd.MAPTI, Cmd.MAPI, Cmd.MOVI, Cmd.DISCARD}
"""Commands that change a mapping: the executor holds the translator for them."""


class _Place:
    """A command's packet the RTL sent, before the model says what it must be."""

    def __init__(self, rd, time):
        self.rd = rd
        self.time = time
        self.packet = None


def _read_rules():
    """Per 32-bit word offset: (bits compared, when). ``when`` is "always", "settled"
    (no MSI in the translator), "query_done" (the RTL answered) or absent (never)."""
    rules = {}
    for register in REGISTERS:
        name = register.name
        if name.startswith("GITS_STAT_TCACHE"):
            when = None             # the model has no cache
        elif name == "GITS_ERR_MSI" or name.startswith(("GITS_STAT_MSI", "GITS_STAT_DROP")):
            when = "settled"
        elif name == "GITS_QUERY_RESULT":
            when = "query_done"
        elif name == "GITS_TRANSLATER":
            when = None
        else:
            when = "always"
        mask = (1 << register.width) - 1
        if name == "GITS_CTLR":     # Quiescent: the model is never busy
            mask &= ~GitsCtlr.const({"quiescent": 1}).as_value().value
        if name == "GITS_CACHE_CTL":  # Invalidate: reads 1 while under way
            mask &= ~CacheCtl.const({"invalidate": 1}).as_value().value
        for word in range(register.width // 32):
            rules[register.offset + 4 * word] = ((mask >> 32 * word) & WORD, when)
    return rules


READ_RULES = _read_rules()


def format_packet(packet):
    """``SET(lpi=8192)``, ``MOVALL(target=2)``, ``SYNC``: a packet for humans."""
    if packet.op in (GicOp.SET, GicOp.CLEAR, GicOp.INV):
        return f"{packet.op.name}(lpi={packet.lpi})"
    if packet.op == GicOp.MOVLPI:
        return f"MOVLPI(lpi={packet.lpi}, target={packet.target})"
    if packet.op == GicOp.MOVALL:
        return f"MOVALL(target={packet.target})"
    return packet.op.name


class ScoreboardError(AssertionError):
    """The RTL and the reference model disagreed (the message lists how)."""


def register_accesses(addr, data, strobes):
    """A 64-bit register-bus write as ``[(offset, value, size)]``: one 64-bit write, or
    the 32-bit halves its byte strobes select."""
    if strobes == 0xFF:
        return [(addr, data, 8)]
    return [(addr + 4 * half, (data >> 32 * half) & WORD, 4)
            for half, lanes in enumerate((0x0F, 0xF0)) if strobes & lanes]


class Scoreboard:
    """What a scoreboard's monitors and checks share: events applied to the model in
    cycle order, mismatches, listeners.

    A monitor posts what it saw as an action (:meth:`_post`) with its cycle and its
    place in the cycle; once every monitor of the clock edge has run (the read-only
    phase), :meth:`apply` runs the actions in that order.

    Parameters
    ----------
    dut : cocotb handle
    params : ItsParams
    log : logging.Logger
    max_reports : int
        Mismatches logged in full; later ones are only counted.

    Members
    -------
    mismatches : list of str
    listeners : list of callable
        Called as ``listener(kind, *details)`` (coverage).
    """

    name = "scoreboard"
    """How :meth:`check`'s message starts."""

    def __init__(self, dut, params, log, *, max_reports=10):
        self.dut = dut
        self.clock = dut.clk
        self.params = params
        self.log = log
        self.max_reports = max_reports
        self.mismatches = []
        self.listeners = []
        self._events = []
        self._sequence = 0
        self._flush_pending = False

    def _watch_stream(self, scope, name, handler):
        """Call ``handler(cycle, payload)`` on each transfer of stream ``name`` of ``scope``
        (a stream without ``ready`` is always ready)."""
        valid, payload = getattr(scope, f"{name}__valid"), getattr(scope, f"{name}__payload")
        try:
            ready = getattr(scope, f"{name}__ready")
        except AttributeError:
            ready = None
        watch(self.clock, valid, lambda cycle: handler(cycle, int(payload.value)),
              when=None if ready is None else lambda: high(ready))

    def _post(self, cycle, order, action):
        heapq.heappush(self._events, (cycle, order, self._sequence, action))
        self._sequence += 1
        if not self._flush_pending:
            self._flush_pending = True
            cocotb.start_soon(self._flush())

    async def _flush(self):
        # Every monitor of this clock edge has posted by the read-only phase.
        await ReadOnly()
        self._flush_pending = False
        self.apply()

    def apply(self):
        """Apply the posted events to the model in order."""
        while self._events:
            *_, action = heapq.heappop(self._events)
            action()

    def _notify(self, kind, *details):
        for listener in self.listeners:
            listener(kind, *details)

    @staticmethod
    def _now():
        return f"{get_sim_time('ns'):.0f} ns"

    def _mismatch(self, text):
        self.mismatches.append(text)
        if len(self.mismatches) <= self.max_reports:
            self.log.error("MISMATCH %s", text)
        elif len(self.mismatches) == self.max_reports + 1:
            self.log.error("more mismatches: only counted from now on")

    def _left_over(self, packets_at_least):
        """The problems besides the mismatches at the end of a test (the scoreboard's own)."""
        raise NotImplementedError

    def check(self, *, packets_at_least=0):
        """The end of a test: every expectation met, no mismatch.

        Parameters
        ----------
        packets_at_least : int
            ITS packets that must have been compared.

        Raises
        ------
        ScoreboardError
            Listing what disagreed: the mismatches, then what :meth:`_left_over` finds.
        """
        self.apply()
        problems = list(self.mismatches) + self._left_over(packets_at_least)
        if problems:
            raise ScoreboardError(f"{self.name}: " + "; ".join(problems[:20]) +
                                  (f"; and {len(problems) - 20} more" if len(problems) > 20
                                   else ""))


class ItsScoreboard(Scoreboard):
    """Reference model, monitors and checker for one ITS.

    Parameters
    ----------
    dut : cocotb handle
        The ``its`` top level (internal signals are read by hierarchical name).
    params : ItsParams
    memory : gic.sim.models.memory.Memory
        The model's memory: a copy the driver writes too, so that the model walks
        tables as they were before the RTL's own table writes (it makes them again).
    log : logging.Logger
    max_reports : int
        Mismatches logged in full; later ones are only counted.

    Members
    -------
    model : ItsModel
    expected, actual : list of collections.deque of (float, Packet)
        Per redistributor, packets predicted / received and not yet compared, with the
        simulation time in ns.
    compared : list of int
        Packets compared per redistributor.
    mismatches : list of str
    commands : list of (int, ExecutedCommand)
        Every command the RTL retired, with its cycle.
    msis : collections.Counter
        Outcomes (DropReason) of the MSIs accepted.
    queries : collections.Counter
        Outcomes of the query port's answers.
    irq_pulses : int
        Cycles the error interrupt output was high.
    overtaken : int
        Decisions of the translator that left before an MSI or query accepted earlier
        (hit-under-miss).
    listeners : list of callable
        Called as ``listener(kind, *details)`` for ``("command", ExecutedCommand)``,
        ``("msi", device_id, event_id, Translation)``, ``("query", Translation)`` and
        ``("cwriter_oor",)`` (coverage).
    """

    def __init__(self, dut, params, memory, log, *, max_reports=10):
        super().__init__(dut, params, log, max_reports=max_reports)
        self.model = ItsModel(params, memory, auto_execute=False)
        n = params.num_redistributors
        self.expected = [deque() for _ in range(n)]
        self.actual = [deque() for _ in range(n)]
        self.compared = [0] * n
        self.commands = []
        self.msis = Counter()
        self.queries = Counter()
        self.irq_pulses = 0
        self.overtaken = 0
        self._reads = deque()                # (cycle, address, model word, settled)
        self._query_expected = deque()       # (time, Translation) of the query port
        self._query_actual = deque()
        self._in_translator = deque()        # ("msi" or "query", request, Translation)
        self._places = deque()               # _Place of command packets not yet retired
        self._lpi_fifo = deque()             # (rd, Packet) of SETs in the forwarder's lpi FIFO
        self._tainted = set()                # MSI-side words cleared with MSIs in flight

    # -- monitors ---------------------------------------------------------------------------

    def start(self):
        """Start the monitors (after reset)."""
        dut, clock = self.dut, self.clock
        translator, regs, executor = dut.translator, dut.regs, dut.executor
        self._watch_stream(translator, "msi", self._msi_accepted)
        self._watch_stream(translator, "query", self._query_taken)
        self._watch_stream(translator, "lpi", self._translated)
        self._watch_stream(translator, "drop", self._dropped)
        self._watch_stream(translator, "query_resp", self._query_decided)
        self._watch_stream(dut, "query", self._query_accepted)
        self._watch_stream(dut, "query_resp", self._query_answered)
        self._watch_stream(executor, "packet", self._command_packet)
        self._watch_stream(dut.forwarder, "lpi_head", self._lpi_forwarded)
        watch(clock, dut.retire, self._retired)
        watch(clock, regs.bus__w_stb, self._register_written)
        watch(clock, regs.bus__r_stb, self._register_read)
        watch(clock, dut.error_irq, self._irq)

    def apply(self):
        """Apply the posted events to the model in order; compare what can be compared."""
        super().apply()
        for rd in range(len(self.expected)):
            self._compare(rd)

    def _model_packets(self):
        """The packets the model queued since the last call, as ``[(rd, Packet)]``."""
        packets = []
        for rd, queue in enumerate(self.model.packets):
            while queue:
                packets.append((rd, queue.popleft()))
        return packets

    def _msi_accepted(self, cycle, payload):
        request = unpack(MsiRequest, payload)

        def accept():
            translation = self.model.query(request["device_id"], request["event_id"])
            self._in_translator.append(("msi", request, translation))
            self.msis[translation.status] += 1
            self._notify("msi", request["device_id"], request["event_id"], translation)
        self._post(cycle, _ACCEPT, accept)

    def _query_taken(self, cycle, payload):
        request = unpack(MsiRequest, payload)

        def accept():
            translation = self.model.query(request["device_id"], request["event_id"])
            self._in_translator.append(("query", request, translation))
        self._post(cycle, _ACCEPT, accept)

    def _decided(self, kind, cycle, what, matches):
        """Take the oldest ``kind`` in flight for which ``matches(request, translation)``
        (else the oldest ``kind``, after reporting the mismatch); its request and
        Translation."""
        items = [item for item in self._in_translator if item[0] == kind]
        if not items:
            self._mismatch(f"cycle {cycle}: the translator gave {what} for no {kind} in flight")
            return None, None
        item = next((item for item in items if matches(*item[1:])), None)
        if item is None:
            _, request, translation = items[0]
            self._mismatch(f"{get_sim_time('ns'):.0f} ns: the translator gave {what}, which is "
                           f"the model's outcome of none of the {len(items)} {kind}s in flight; "
                           f"the oldest, {self._request(request)}, gives "
                           f"{self._outcome(translation)}")
            item = items[0]
        if item is not self._in_translator[0]:
            self.overtaken += 1
        self._in_translator.remove(item)
        kind, request, translation = item
        if kind == "msi":
            self.model.msi(request["device_id"], request["event_id"], translation=translation)
            self._model_packets()           # its SET is expected as the RTL sent it
        return request, translation

    @staticmethod
    def _outcome(translation):
        if translation.status is DropReason.OK:
            return f"SET(lpi={translation.pintid}) to RD {translation.target}"
        return translation.status.name

    @staticmethod
    def _request(request):
        return f"(DeviceID {request['device_id']}, EventID {request['event_id']})"

    def _translated(self, cycle, payload):
        routed = unpack(RoutedPacket, payload)

        def decide():
            packet = Packet.from_bits(routed["packet"].as_value().value)
            request, translation = self._decided(
                "msi", cycle, f"{format_packet(packet)} to RD {routed['rd']}",
                lambda request, translation: translation.status is DropReason.OK and
                packet == Packet(GicOp.SET, translation.pintid) and
                routed["rd"] == translation.target)
            if translation is None or translation.status is not DropReason.OK:
                return
            # Into the forwarder's lpi FIFO: its place among the executor's packets is
            # known when the forwarder takes it (_lpi_forwarded).
            self._lpi_fifo.append((translation.target, Packet(GicOp.SET, translation.pintid)))
        self._post(cycle, _DECIDE, decide)

    def _lpi_forwarded(self, cycle, payload):
        routed = unpack(RoutedPacket, payload)

        def take():
            packet = Packet.from_bits(routed["packet"].as_value().value)
            if not self._lpi_fifo:
                self._mismatch(f"{get_sim_time('ns'):.0f} ns: the forwarder took "
                               f"{format_packet(packet)} for RD {routed['rd']} from its lpi "
                               f"FIFO, which holds no translated packet")
                return
            rd, expected = self._lpi_fifo.popleft()
            if (rd, expected) != (routed["rd"], packet):
                self._mismatch(f"{get_sim_time('ns'):.0f} ns: the forwarder took "
                               f"{format_packet(packet)} for RD {routed['rd']} from its lpi "
                               f"FIFO, the translator put {format_packet(expected)} for RD "
                               f"{rd} there first")
            if rd < len(self.expected):
                self.expected[rd].append((get_sim_time("ns"), expected))
        self._post(cycle, _DECIDE, take)

    def _dropped(self, cycle, payload):
        report = unpack(DropReport, payload)

        def decide():
            self._decided(
                "msi", cycle, f"a drop ({report['reason'].name}) of MSI "
                              f"{self._request(report)}",
                lambda request, translation: translation.status is report["reason"] and
                (request["device_id"], request["event_id"]) ==
                (report["device_id"], report["event_id"]))
        self._post(cycle, _DECIDE, decide)

    def _query_decided(self, cycle, payload):
        answer = unpack(QueryResponse, payload)

        def decide():
            request, translation = self._decided("query", cycle, "a query answer",
                                                 lambda request, translation: True)
            if translation is not None and (answer["status"], answer["pintid"],
                                            answer["target"]) != tuple(translation):
                self._mismatch(
                    f"{get_sim_time('ns'):.0f} ns: query {self._request(request)}: RTL "
                    f"{answer['status'].name} LPI {answer['pintid']} RD {answer['target']}, "
                    f"model {translation.status.name} LPI {translation.pintid} RD "
                    f"{translation.target}")
        self._post(cycle, _DECIDE, decide)

    def _query_accepted(self, cycle, payload):
        request = unpack(MsiRequest, payload)

        def accept():
            translation = self.model.query(request["device_id"], request["event_id"])
            self._query_expected.append((get_sim_time("ns"), translation))
            self._notify("query", translation)
            self._compare_queries()
        self._post(cycle, _ACCEPT, accept)

    def _query_answered(self, cycle, payload):
        self._query_actual.append((get_sim_time("ns"), unpack(QueryResponse, payload)))
        self._compare_queries()

    def _command_packet(self, cycle, payload):
        rd = unpack(RoutedPacket, payload)["rd"]

        def send():
            place = _Place(rd, get_sim_time("ns"))
            self._places.append(place)
            if rd < len(self.expected):
                self.expected[rd].append((place.time, place))
        self._post(cycle, _DECIDE, send)

    def _retired(self, cycle):
        failed = high(self.dut.failure__valid)
        failure = unpack(CommandFailure, int(self.dut.failure__payload.value)) if failed else None

        def retire():
            executed = self.model.step()
            if executed is None:
                self._mismatch(f"cycle {cycle}: the RTL retired a command the model could not "
                               f"fetch (model CREADR {self.model.read(REG['GITS_CREADR']):#x})")
                return
            self.commands.append((cycle, executed))
            name = executed.command.name if executed.command else "(not fetched)"
            rtl = CmdError.NONE if failure is None else failure["code"]
            if rtl != executed.error or (failure is not None and (
                    failure["offset"] != executed.offset)):
                where = "" if failure is None else f" at offset {failure['offset']:#x}"
                self._mismatch(
                    f"{get_sim_time('ns'):.0f} ns: command {name} at ring offset "
                    f"{executed.offset:#x}: RTL {self._error_name(rtl)}{where}, "
                    f"model {self._error_name(executed.error)}")
            if executed.error is CmdError.NONE and executed.command.cmd in _MAPPING_COMMANDS \
                    and self._in_translator:
                self._mismatch(f"{get_sim_time('ns'):.0f} ns: {name} retired with "
                               f"{len(self._in_translator)} MSIs still in the translator")
            self._fill_places(name, self._model_packets())
            self._notify("command", executed)
        self._post(cycle, _RETIRE, retire)

    def _fill_places(self, name, packets):
        """Give the RTL's packets of a retiring command the model's contents."""
        for rd, packet in packets:
            if not self._places:
                self._mismatch(f"{get_sim_time('ns'):.0f} ns: {name}: the model sends "
                               f"{format_packet(packet)} to RD {rd}, the RTL sent nothing")
                self.expected[rd].append((get_sim_time("ns"), packet))
                continue
            place = self._places.popleft()
            place.packet = packet
            if place.rd != rd:
                self._mismatch(f"{get_sim_time('ns'):.0f} ns: {name}: the RTL sent its packet to "
                               f"RD {place.rd}, the model {format_packet(packet)} to RD {rd}")
                self.expected[rd].append((place.time, packet))
        while self._places:
            place = self._places.popleft()
            place.packet = "nothing"
            self._mismatch(f"{place.time:.0f} ns: {name}: the RTL sent a packet to RD "
                           f"{place.rd}, the model sends nothing")

    def _register_written(self, cycle):
        regs = self.dut.regs
        addr, data, strobes = (int(regs.bus__addr.value), int(regs.bus__w_data.value),
                               int(regs.bus__w_strb.value))
        accesses = register_accesses(addr, data, strobes)
        if any(strobes & lanes not in (0, lanes) for lanes in (0x0F, 0xF0)):
            self._mismatch(f"cycle {cycle}: register write at {addr:#x} with byte strobes "
                           f"{strobes:#04x}: the model takes 32- and 64-bit writes only")

        def write():
            for offset, value, size in accesses:
                if offset == TRANSLATER:
                    continue        # the MSI is modelled when the translator takes it
                self._taint(offset, size)
                errors = self.model.stats["CMD_ERRORS"]
                self.model.write(offset, value, size)
                if offset & ~7 == REG["GITS_CWRITER"] and self.model.stats["CMD_ERRORS"] != errors:
                    self._notify("cwriter_oor")
        self._post(cycle, _WRITE, write)

    def _taint(self, offset, size):
        """A write clearing an MSI-side record or counter while MSIs are in the translator
        may split them differently in the model (which records a decision when the
        translator hands it over) and the RTL (its register block, a cycle later): stop
        comparing that word until a clear with none in flight."""
        in_flight = any(kind == "msi" for kind, *_ in self._in_translator)
        for word in range(offset, offset + size, 4):
            if READ_RULES.get(word, (0, None))[1] == "settled":
                (self._tainted.add if in_flight else self._tainted.discard)(word)

    def _register_read(self, cycle):
        addr = int(self.dut.regs.bus__addr.value)
        settled = high(self.dut.translator.idle)

        def read():
            self._reads.append((cycle, addr, self.model.read(addr, 8), settled))
        self._post(cycle, _READ, read)

    def _irq(self, cycle):
        self.irq_pulses += 1

    # -- checks -----------------------------------------------------------------------------

    @staticmethod
    def _error_name(code):
        return code.name if isinstance(code, CmdError) else f"{code:#08x}"

    def _compare(self, rd):
        expected, actual = self.expected[rd], self.actual[rd]
        while expected and actual:
            want_time, want = expected[0]
            if isinstance(want, _Place):
                if want.packet is None:
                    return                  # its command has not retired yet
                want = want.packet
            expected.popleft()
            got_time, got = actual.popleft()
            if want != got:
                self._mismatch(
                    f"redistributor {rd} packet #{self.compared[rd]}: RTL {format_packet(got)} "
                    f"(received at {got_time:.0f} ns), model {format_packet(want)} "
                    f"(decided at {want_time:.0f} ns)")
            self.compared[rd] += 1

    def _compare_queries(self):
        while self._query_expected and self._query_actual:
            (want_time, want), (got_time, got) = (self._query_expected.popleft(),
                                                  self._query_actual.popleft())
            self.queries[want.status] += 1
            answer = (got["status"], got["pintid"], got["target"])
            if answer != tuple(want):
                self._mismatch(f"query port answer at {got_time:.0f} ns: RTL "
                               f"{got['status'].name} LPI {got['pintid']} RD {got['target']}, "
                               f"model {want.status.name} LPI {want.pintid} RD {want.target} "
                               f"(asked at {want_time:.0f} ns)")

    def queries_pending(self):
        """Questions to the query port not answered yet."""
        return len(self._query_expected)

    @staticmethod
    def _describe(entry):
        time, packet = entry
        if isinstance(packet, _Place):
            packet = packet.packet
        return (f"{packet}" if isinstance(packet, str) or packet is None
                else format_packet(packet)), time

    def receive(self, rd, packet):
        """A redistributor model took ``packet`` (its ``on_packet``)."""
        self.actual[rd].append((get_sim_time("ns"), packet))
        self._compare(rd)

    def check_read(self, offset, size, value):
        """Compare a register read the bus just completed with the model's value then.

        Raises
        ------
        ScoreboardError
            When the read has no matching register-bus access.
        """
        # The register bus read the value (and the model's was noted) cycles before the
        # AXI4-Lite answer, so that event is applied already.
        if not self._reads:
            raise ScoreboardError(f"register read at {offset:#x}: no register-bus read seen")
        cycle, addr, word, settled = self._reads.popleft()
        if addr != offset & ~7:
            raise ScoreboardError(f"register read at {offset:#x}: the register bus read "
                                  f"{addr:#x}")
        answered = (offset == REG["GITS_QUERY_RESULT"] and
                    unpack(QueryResponse, value & WORD)["done"])
        for index in range(size // 4):
            word_offset = offset + 4 * index
            got = (value >> 32 * index) & WORD
            want = (word >> 8 * (word_offset - addr)) & WORD
            mask, when = READ_RULES.get(word_offset, (WORD, "always"))
            if when is None or (when == "settled" and (not settled or
                                                       word_offset in self._tainted)):
                continue
            if when == "query_done" and not answered:
                continue
            if (got ^ want) & mask:
                name = next((r.name for r in REGISTERS if 0 <= word_offset - r.offset
                             < r.width // 8), "unknown")
                self._mismatch(f"{get_sim_time('ns'):.0f} ns: read of {name} at "
                               f"{word_offset:#x} (bus cycle {cycle}): RTL {got:#010x}, model "
                               f"{want:#010x} (compared bits {mask:#010x})")

    def _left_over(self, packets_at_least):
        """What is left at the end of a test: queues not empty, error pulses the model
        did not give, fewer than ``packets_at_least`` packets compared (:meth:`check`)."""
        problems = []
        for rd in range(len(self.expected)):
            if self.expected[rd]:
                first, time = self._describe(self.expected[rd][0])
                problems.append(f"redistributor {rd}: {len(self.expected[rd])} packets the "
                                f"model predicted never arrived, first {first} (decided at "
                                f"{time:.0f} ns)")
            if self.actual[rd]:
                problems.append(f"redistributor {rd}: {len(self.actual[rd])} packets the model "
                                f"did not predict, first {format_packet(self.actual[rd][0][1])} "
                                f"(received at {self.actual[rd][0][0]:.0f} ns)")
        if self._query_expected or self._query_actual:
            problems.append(f"query port: {len(self._query_expected)} questions unanswered, "
                            f"{len(self._query_actual)} answers unasked")
        if self._reads:
            problems.append(f"{len(self._reads)} register-bus reads nobody asked for")
        if self._in_translator:
            problems.append(f"{len(self._in_translator)} MSIs or queries the translator took "
                            f"were never decided")
        if self._places:
            problems.append(f"{len(self._places)} command packets of a command that never "
                            f"retired")
        if self.irq_pulses != self.model.error_pulses:
            problems.append(f"error_irq pulsed {self.irq_pulses} times, the model "
                            f"{self.model.error_pulses}")
        if sum(self.compared) < packets_at_least:
            problems.append(f"only {sum(self.compared)} packets compared, fewer than "
                            f"{packets_at_least}")
        self.log.info("scoreboard: %d packets compared (%s), %d commands, MSIs %s, "
                      "%d decisions overtook an earlier MSI or query, %d mismatches",
                      sum(self.compared),
                      " ".join(f"RD{rd}:{count}" for rd, count in enumerate(self.compared)),
                      len(self.commands),
                      dict((reason.name, count) for reason, count in self.msis.items()),
                      self.overtaken, len(self.mismatches))
        return problems
