"""The Gic scoreboard: the ITS checked as tb/its checks it, the redistributors and the CPU
interfaces checked against :class:`gic.sim.models.gicr.GicModel`.

The ITS half is :class:`gic.tb.common.scoreboard.ItsScoreboard`, unchanged, on the Gic's
``its`` instance (:class:`ItsView`): it steps the GicModel's :class:`~gic.sim.models.its.ItsModel`
and checks every packet each redistributor takes, and every ITS register read. The
redistributor half steps the GicModel's :class:`~gic.sim.models.gicr.RedistributorModel`\\ s
where each RTL redistributor's sequencer takes its work, watched by passive monitors:

=================================  ====================================================
the RTL redistributor ``n``        the model, in that cycle
=================================  ====================================================
reads a register (``r_stb``)       the model's value is noted (compared when the
                                   AXI4-Lite answer arrives)
takes a GIC stream packet          ``rds[n].packet``: the moves it causes are expected
                                   on the targets' ``move_in``
takes a move on ``move_in``        it must be one the model sent there; ``move_in``
takes queued register work         the GICR_SETLPIR/CLRLPIR/INVLPIR/INVALLR write or
                                   EnableLPIs change the model queued when it was
                                   written: the RTL's decoded work must be that, and the
                                   model applies the write now
takes an acknowledge (``iar_req``) ``irq`` must be the model's; the model acknowledges:
                                   its INTID (and priority) are expected on ``iar``
takes an end of interrupt          ``end_of_interrupt``
answers an acknowledge (``iar``)   the INTID must be the expected one, and the running
                                   priority (``rpr``) its priority
acknowledges a SYNC (``ack``)      no move to it may still be under way: later
                                   commands wait for the SYNC, so any was sent before
is written a register (``w_stb``)  GICR_WAKER, PROPBASER, PENDBASER: the model's write;
                                   the LPI registers and EnableLPIs changes queue work
=================================  ====================================================

In one cycle they apply in the order of the table. The RTL's sequencer takes one of
these at a time and only between operations, so an acknowledge sees every earlier
packet, move and register work complete in the RTL as in the model: the
acknowledged INTID is exact, not just plausible. Expectations are the model's own:
the packets are checked against the ITS model before they reach the redistributor
model, and moves, register decoding and acknowledges against the model's answers.

:meth:`GicScoreboard.check_delivered`, once the CPUs drained, finds any LPI the model
could still signal; :meth:`GicScoreboard.check` ends a test: nothing expected left over,
no mismatch on either half.
"""

from collections import Counter, deque

from cocotb.simtime import get_sim_time

from gic.hw.gicr.layouts import SPURIOUS_INTID, GicrCtlr, GicrLpir, GicrSyncr, IccIar1
from gic.hw.gicr.redistributor import RdOp, RegisterOp
from gic.hw.gicr.regmap import FRAME_BYTES, REG, REGISTERS
from gic.hw.its.regmap import FRAME_BYTES as ITS_FRAME_BYTES
from gic.sim.models.commands import pack, unpack
from gic.sim.models.gicr import GicModel
from gic.sim.models.its import Packet

from gic.tb.common.monitors import high, watch
from gic.tb.common.scoreboard import (
    WORD, ItsScoreboard, Scoreboard, ScoreboardError, register_accesses,
)

__all__ = ["GicScoreboard", "ItsView"]

_READ, _SEQUENCER, _ANSWER, _WRITE = range(4)
"""Order of the monitors' events within one cycle."""
_LPI_WORK = {"GICR_SETLPIR": RdOp.SET, "GICR_CLRLPIR": RdOp.CLEAR, "GICR_INVLPIR": RdOp.INV,
             "GICR_INVALLR": RdOp.INVALL}
"""The registers whose writes queue work for the sequencer, and the work."""
_UNTIMED = {REG["GICR_CTLR"]: pack(GicrCtlr, rwp=1), REG["GICR_SYNCR"]: pack(GicrSyncr, busy=1)}
"""Bits the untimed model always reads 0: compared only through :meth:`GicScoreboard.check_read`'s
own rule (a 0 must mean nothing is queued)."""


class ItsView:
    """The ``gic`` top seen as the ``its`` top the ITS testbench parts expect.

    :class:`~gic.tb.common.scoreboard.ItsScoreboard` and :class:`~gic.tb.common.itsbus.CocotbItsBus`
    read the ITS's internal blocks (``translator``, ``regs``, ``executor``...) at the top
    level; here they are inside the ``its`` instance, while the ports (clock, MSI stream,
    query port, sideband) are the Gic's own.
    """

    _INSIDE = frozenset({"translator", "regs", "executor", "forwarder", "cmdq", "retire",
                         "failure__valid", "failure__payload"})

    def __init__(self, dut):
        self._dut = dut

    def __getattr__(self, name):
        return getattr(self._dut.its if name in self._INSIDE else self._dut, name)


def _register_name(offset):
    return next((r.name for r in REGISTERS if 0 <= offset - r.offset < r.width // 8),
                f"offset {offset:#x}")


class _QueuedWork:
    """A register write the RTL queues for its sequencer, as the model decoded it."""

    def __init__(self, op, offset, value, size, lpi=0, wide=False):
        self.op, self.offset, self.value, self.size = op, offset, value, size
        self.lpi, self.wide = lpi, wide

    def __str__(self):
        if self.op in (RdOp.SET, RdOp.CLEAR, RdOp.INV):
            return f"{self.op.name}(lpi={self.lpi}{', wide' if self.wide else ''})"
        return self.op.name


class GicScoreboard(Scoreboard):
    """Reference model, monitors and checker for one Gic (:meth:`check` ends a test).

    Parameters
    ----------
    dut : cocotb handle
        The ``gic`` top level.
    params : ItsParams
    memory : gic.sim.models.memory.Memory
        The model's memory (the driver writes it too, as for :class:`ItsScoreboard`).
    log : logging.Logger
    max_reports : int
        Mismatches logged in full; later ones are only counted.

    Members
    -------
    model : GicModel
        The ITS model (shared with ``its``) and one redistributor model per CPU.
    its : ItsScoreboard
        The ITS half.
    mismatches : list of str
        The redistributor half's.
    acknowledged : list of Counter
        Per CPU, INTIDs acknowledged (checked equal to the model's).
    packets : list of Counter
        Per redistributor, packets taken by kind (GicOp).
    moved : int
        Moves checked.
    listeners : list of callable
        Called as ``listener(kind, rd, *details)`` for ``("packet", rd, Packet)``,
        ``("move", rd, lpi)``, ``("work", rd, RdOp)`` and ``("acknowledge", rd, INTID or
        None, preempting)`` once the model took them (coverage).
    """

    name = "gic scoreboard"

    def __init__(self, dut, params, memory, log, *, max_reports=10):
        super().__init__(dut, params, log, max_reports=max_reports)
        self.model = GicModel(params, memory)
        self.its = ItsScoreboard(ItsView(dut), params, memory, log, max_reports=max_reports)
        self.its.model = self.model.its     # one model of the whole GIC
        n = params.num_redistributors
        self.acknowledged = [Counter() for _ in range(n)]
        self.packets = [Counter() for _ in range(n)]
        self.moved = 0
        self._in_flight = Counter()                 # (target, lpi) of moves sent, not arrived
        self._queued = [deque() for _ in range(n)]  # _QueuedWork per redistributor
        self._enable_written = [False] * n          # GICR_CTLR.EnableLPIs as last written
        self._answers = [deque() for _ in range(n)]  # (time, INTID, priority, model text)
        self._reads = [deque() for _ in range(n)]   # (cycle, address, model value, queued)

    # -- monitors ---------------------------------------------------------------------------

    def start(self):
        """Start the monitors (after reset)."""
        self.its.start()
        dut, clock = self.dut, self.clock
        for rd in range(self.params.num_redistributors):
            scope = getattr(dut, f"rd{rd}")
            self._watch_stream(scope, "gic", lambda cycle, payload, rd=rd:
                               self._post(cycle, _SEQUENCER, lambda: self._packet(rd, payload)))
            self._watch_stream(scope, "move_in", lambda cycle, payload, rd=rd:
                               self._post(cycle, _SEQUENCER, lambda: self._move_in(rd, payload)))
            self._watch_stream(scope, "ack", lambda cycle, payload, rd=rd:
                               self._post(cycle, _ANSWER, lambda: self._sync_acknowledged(rd)))
            watch(clock, scope.r_en, lambda cycle, rd=rd, scope=scope: self._work_taken(
                rd, cycle, int(scope.r_data.value)))
            self._watch_stream(dut, f"cpu__{rd}__iar_req", lambda cycle, payload, rd=rd:
                               self._acknowledge(rd, cycle))
            self._watch_stream(dut, f"cpu__{rd}__iar", lambda cycle, payload, rd=rd:
                               self._answered(rd, cycle, payload))
            self._watch_stream(dut, f"cpu__{rd}__eoir", lambda cycle, payload, rd=rd:
                               self._post(cycle, _SEQUENCER, lambda: self.model.end_of_interrupt(
                                   rd, unpack_intid(payload))))
            watch(clock, scope.regs__w_stb, lambda cycle, rd=rd, scope=scope:
                  self._register_written(rd, cycle, scope))
            watch(clock, scope.regs__r_stb, lambda cycle, rd=rd, scope=scope:
                  self._register_read(rd, cycle, int(scope.regs__addr.value)))

    # -- events -----------------------------------------------------------------------------

    def _packet(self, rd, payload):
        packet = Packet.from_bits(payload)
        self.packets[rd][packet.op] += 1
        self.its.receive(rd, packet)
        for lpi, target in self.model.rds[rd].packet(packet):
            self.model.moves.append((rd, lpi, target))
            if target < len(self.model.rds):
                self._in_flight[(target, lpi)] += 1
        self._notify("packet", rd, packet)

    def _move_in(self, rd, payload):
        lpi = payload & 0xFFFF
        if self._in_flight[(rd, lpi)] == 0:
            self._mismatch(f"{self._now()}: redistributor {rd} took a move of LPI {lpi} that "
                           f"no redistributor sent it in the model (moves in flight: "
                           f"{sorted(self._in_flight.elements())})")
            return
        self._in_flight[(rd, lpi)] -= 1
        self.moved += 1
        self.model.rds[rd].move_in(lpi)
        self._notify("move", rd, lpi)

    def _sync_acknowledged(self, rd):
        # Commands after the SYNC run only once it retired, so any move to this
        # redistributor still under way was sent before it (docs/redistributor.md).
        late = sorted(lpi for (target, lpi), count in self._in_flight.items()
                      if target == rd and count)
        if late:
            self._mismatch(f"{self._now()}: redistributor {rd} acknowledged a SYNC while moves "
                           f"of LPIs {late} to it were still under way")

    def _work_taken(self, rd, cycle, word):
        rtl = unpack(RegisterOp, word)

        def take():
            if not self._queued[rd]:
                self._mismatch(f"{self._now()}: redistributor {rd} took register work "
                               f"{rtl['op'].name} nobody queued")
                return
            work = self._queued[rd].popleft()
            if rtl["op"] != work.op or (work.op in (RdOp.SET, RdOp.CLEAR, RdOp.INV) and (
                    rtl["lpi"] != work.lpi or bool(rtl["wide"]) != work.wide)):
                got = _QueuedWork(rtl["op"], 0, 0, 0, rtl["lpi"], bool(rtl["wide"]))
                self._mismatch(f"{self._now()}: redistributor {rd} register work: RTL {got}, "
                               f"model {work} (written as {work.value:#x} to "
                               f"{_register_name(work.offset)})")
            self.model.rds[rd].write(work.offset, work.value, work.size)
            self._notify("work", rd, work.op)
        self._post(cycle, _SEQUENCER, take)

    def _acknowledge(self, rd, cycle):
        irq = high(getattr(self.dut, f"cpu__{rd}__irq"))

        def acknowledge():
            redistributor = self.model.rds[rd]
            if irq != redistributor.irq:
                self._mismatch(f"{self._now()}: CPU {rd} acknowledge with irq {int(irq)}, model "
                               f"{int(redistributor.irq)} ({self._pending_text(rd)})")
            best, before = redistributor.highest(), self._pending_text(rd)
            preempting = bool(redistributor.active)
            intid = redistributor.acknowledge()
            priority = best[1] if intid != SPURIOUS_INTID else None
            self._answers[rd].append((get_sim_time("ns"), intid, priority, before))
            self._notify("acknowledge", rd, None if priority is None else intid, preempting)
        self._post(cycle, _SEQUENCER, acknowledge)

    def _answered(self, rd, cycle, payload):
        intid = unpack_intid(payload)
        rpr = int(getattr(self.dut, f"cpu__{rd}__rpr").value)     # ICC_RPR_EL1 after it

        def answered():
            if not self._answers[rd]:
                self._mismatch(f"{self._now()}: CPU {rd} got INTID {intid} without asking")
                return
            asked, want, priority, before = self._answers[rd].popleft()
            if intid != want:
                self._mismatch(f"{self._now()}: CPU {rd} acknowledge (asked at {asked:.0f} ns): "
                               f"RTL INTID {intid}, model {want} (model before it: {before})")
            elif priority is not None and rpr != priority:
                self._mismatch(f"{self._now()}: CPU {rd} acknowledged LPI {intid}: running "
                               f"priority {rpr:#04x}, model priority {priority:#04x}")
            if intid != SPURIOUS_INTID:
                self.acknowledged[rd][intid] += 1
        self._post(cycle, _ANSWER, answered)

    def _register_written(self, rd, cycle, scope):
        addr, data, strobes = (int(scope.regs__addr.value), int(scope.regs__w_data.value),
                               int(scope.regs__w_strb.value))
        accesses = register_accesses(addr, data, strobes)

        def write():
            for offset, value, size in accesses:
                self._write(rd, offset, value, size)
        self._post(cycle, _WRITE, write)

    def _write(self, rd, offset, value, size):
        """A register write: queue the work it gives the sequencer, or apply it now."""
        slot = offset & ~7
        name = _register_name(slot)
        if name in _LPI_WORK:
            intid = unpack(GicrLpir, (value << 8 * (offset - slot)) & ((1 << 64) - 1))["intid"]
            self._queued[rd].append(_QueuedWork(_LPI_WORK[name], offset, value, size,
                                                intid & 0xFFFF, intid >> 16 != 0))
            return
        if slot == REG["GICR_CTLR"] and offset == REG["GICR_CTLR"]:
            enable = bool(unpack(GicrCtlr, value & WORD)["enable_lpis"])
            if enable != self._enable_written[rd]:
                self._enable_written[rd] = enable
                self._queued[rd].append(_QueuedWork(RdOp.ENABLE if enable else RdOp.DISABLE,
                                                    REG["GICR_CTLR"], value & WORD, 4))
            if size == 4:
                return
            offset, value, size = offset + 4, value >> 32, 4    # the other half: GICR_IIDR
        self.model.rds[rd].write(offset, value, size)

    def _register_read(self, rd, cycle, addr):
        def read():
            word = self.model.rds[rd].read(addr, 8)
            if addr == REG["GICR_CTLR"]:
                word = (word & ~1) | int(self._enable_written[rd])   # EnableLPIs as written
            self._reads[rd].append((cycle, addr, word, bool(self._queued[rd])))
        self._post(cycle, _READ, read)

    # -- checks -----------------------------------------------------------------------------

    def _pending_text(self, rd):
        """The model's pending LPIs of redistributor ``rd`` and its running priority."""
        redistributor = self.model.rds[rd]
        items = [f"{lpi}:{'' if state.enable else 'off/'}{state.priority:#04x}"
                 for lpi, state in sorted(redistributor.pending.items())]
        running = redistributor.running_priority
        return (f"pending {{{', '.join(items[:12])}{', ...' if len(items) > 12 else ''}}}, "
                f"running priority {running:#x}")

    def check_read(self, offset, size, value):
        """Compare a register read just answered on the Gic's register port with the model.

        Offsets below the first redistributor frame go to the ITS half.

        Raises
        ------
        ScoreboardError
            When the read has no matching register-bus access.
        """
        if offset < ITS_FRAME_BYTES:
            self.its.check_read(offset, size, value)
            return
        self.apply()
        rd, frame_offset = divmod(offset - ITS_FRAME_BYTES, FRAME_BYTES)
        if not self._reads[rd]:
            raise ScoreboardError(f"read at {offset:#x}: redistributor {rd} saw no register read")
        cycle, addr, word, queued = self._reads[rd].popleft()
        if addr != frame_offset & ~7:
            raise ScoreboardError(f"read at {offset:#x}: redistributor {rd} read {addr:#x}")
        for index in range(size // 4):
            word_offset = frame_offset + 4 * index
            got = (value >> 32 * index) & WORD
            want = (word >> 8 * (word_offset - addr)) & WORD
            untimed = _UNTIMED.get(word_offset, 0)
            if got & untimed == 0 and queued:
                self._mismatch(f"{self._now()}: redistributor {rd} {_register_name(word_offset)} "
                               f"reads RWP/Busy 0 while written work is still queued "
                               f"({', '.join(map(str, self._queued[rd]))})")
            if (got ^ want) & ~untimed:
                self._mismatch(f"{self._now()}: redistributor {rd} read of "
                               f"{_register_name(word_offset)} (bus cycle {cycle}): RTL "
                               f"{got:#010x}, model {want:#010x}")

    def check_delivered(self):
        """Once the CPUs took every interrupt they could: the model must have no LPI left
        to signal on any CPU (a pending LPI the RTL never signalled shows up here)."""
        self.apply()
        for rd, redistributor in enumerate(self.model.rds):
            if redistributor.irq:
                lpi, priority = redistributor.highest()
                self._mismatch(f"{self._now()}: redistributor {rd}: LPI {lpi} (priority "
                               f"{priority:#04x}) is pending and enabled in the model but the "
                               f"CPU never got it ({self._pending_text(rd)})")

    def _left_over(self, packets_at_least):
        """Acknowledges unanswered, register work not taken, moves that never arrived;
        then the ITS half's :meth:`~gic.tb.common.scoreboard.ItsScoreboard.check`."""
        problems = []
        for rd in range(len(self.model.rds)):
            if self._answers[rd]:
                problems.append(f"CPU {rd}: {len(self._answers[rd])} acknowledges never "
                                f"answered")
            if self._queued[rd]:
                problems.append(f"redistributor {rd}: register work never taken: "
                                f"{', '.join(map(str, self._queued[rd]))}")
        if +self._in_flight:
            problems.append(f"moves the model sent that never arrived (target, LPI): "
                            f"{sorted((+self._in_flight).elements())}")
        self.log.info("gic scoreboard: packets %s, %d moves, acknowledged %s, %d mismatches",
                      " ".join(f"RD{rd}:{dict((op.name, c) for op, c in counts.items())}"
                               for rd, counts in enumerate(self.packets)),
                      self.moved, [sum(c.values()) for c in self.acknowledged],
                      len(self.mismatches))
        try:
            self.its.check(packets_at_least=packets_at_least)
        except ScoreboardError as error:
            problems.append(str(error))
        return problems


def unpack_intid(payload):
    """The INTID of an ``iar`` or ``eoir`` payload (IccIar1 and IccEoir1 have the same layout)."""
    return unpack(IccIar1, payload)["intid"]
