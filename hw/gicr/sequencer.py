"""The redistributor's sequencer: the state machine that carries out one operation at a time."""

from amaranth.hdl import Module, Signal
from amaranth.lib import enum, stream, wiring
from amaranth.lib.wiring import In, Out

from ..its.layouts import LPI_BASE, GicAck, GicOp, GicPacket
from ..its.params import ItsParams
from .layouts import SPECIAL_INTIDS, SPURIOUS_INTID, IccEoir1, IccIar1, LpiConfig, LpiMove
from .lpi_cache import CacheOp, LpiCacheSignature
from .registers import RdOp, RegisterOp, settings_layout
from .tables import TableDone, TableOp, TableRequest

__all__ = ["Sequencer", "CpuInterfaceSignature"]


class CpuInterfaceSignature(wiring.Signature):
    """The redistributor's CPU interface, seen from the CPU (the initiator).

    A redistributor's port is ``In(CpuInterfaceSignature())``.

    Members
    -------
    irq : In(1)
        An LPI can be acknowledged: the highest-priority pending enabled LPI is above the
        running priority.
    iar_req : Out(stream.Signature(0))
        An acknowledge: a read of ICC_IAR1_EL1.
    iar : In(stream.Signature(IccIar1))
        Its answer: the LPI acknowledged (no longer pending, its priority active), or 1023.
    eoir : Out(stream.Signature(IccEoir1))
        An end of interrupt (a write of ICC_EOIR1_EL1): drops the highest active priority;
        1020..1023 are ignored.
    rpr : In(8)
        The running priority (ICC_RPR_EL1): the highest active priority, 0xFF when none is
        active. Right after an acknowledge it is the acknowledged LPI's priority.
    """

    def __init__(self):
        super().__init__({
            "irq": In(1),
            "rpr": In(8),
            "iar_req": Out(stream.Signature(0)),
            "iar": In(stream.Signature(IccIar1)),
            "eoir": Out(stream.Signature(IccEoir1)),
        })


class _Return(enum.Enum, shape=2):
    """Where an insertion goes back to when done."""
    IDLE      = 0  #: a SET or a move arriving while idle
    SCAN      = 1  #: the next bit of a pending-table scan
    SEND_MOVE = 2  #: a move arriving while this redistributor waits to send one
    SYNC_WAIT = 3  #: a move arriving while a SYNC waits for the other redistributors


class _RmwReturn(enum.Enum, shape=2):
    """Where a pending-table read-modify-write goes back to when done."""
    INSERT = 0  #: the next memory step of an insertion
    IDLE   = 1  #: CLEAR of an LPI held in memory
    MOVLPI = 2  #: MOVLPI of an LPI held in memory: send it if its bit was set
    FLUSH  = 3  #: the next cache slot of an EnableLPIs 1 -> 0 write-back


class _MoveReturn(enum.Enum, shape=2):
    """Where a sent move goes back to."""
    IDLE   = 0  #: MOVLPI
    SLOTS  = 1  #: MOVALL: the next cache slot
    SWEEP  = 2  #: MOVALL: the next bit of the pending table


class Sequencer(wiring.Component):
    """The redistributor's top state machine: one operation at a time, from start to end.

    In the idle state it takes, in this order of precedence: a move arriving on
    ``move_in``; an end of interrupt; then, once ``cache.fresh``, a refill (a scan of the
    pending table) when the cache is empty but LPIs wait in memory; an acknowledge; queued
    register work (``work``); a GIC stream packet (``gic``). It keeps the invariant that
    every LPI held only in the pending table is signalled after every cached one: a new
    LPI goes to a free entry, or displaces the worst entry to memory if it comes before
    it, or goes to memory itself. Behaviour: docs/redistributor.md.

    Parameters
    ----------
    params : ItsParams
    processor_number : int
        A MOVLPI or MOVALL to this number does nothing.
    entries : int
        Entries of the LPI cache driven.

    Ports
    -----
    gic : In(stream.Signature(GicPacket))
    ack : Out(stream.Signature(GicAck))
    move_out : Out(stream.Signature(LpiMove))
    move_in : In(stream.Signature(LpiMove))
    cpu : In(CpuInterfaceSignature())
    sync_start, move_quiet, peers_done, idle
        As the :class:`~gic.hw.gicr.redistributor.Redistributor`'s ports of those names.
    cache : In(LpiCacheSignature(entries))
        The LPI cache (its ports flipped: ``command`` is driven here).
    table_request : Out(stream.Signature(TableRequest, always_ready=True))
    table_done : In(stream.Signature(TableDone))
    table_config : In(LpiConfig)
        The :class:`~gic.hw.gicr.tables.TableEngine`: a request is made only while it is
        idle, and waited for in a state of its own (CONFIG, RMW, SCAN, SWEEP) that takes
        ``table_done`` in the cycle it comes.
    work : In(stream.Signature(RegisterOp))
    work_running : Out(1)
    settings : In(settings_layout(params))
        The :class:`~gic.hw.gicr.registers.GicrRegisters`' queue and settings.

    Latency
    -------
    The redistributor's (see its docstring): an operation taken at an edge is looked at
    in EXECUTE after it, once the hit search for its LPI is fresh (1 cycle); each request
    to the table engine costs its latency plus nothing (the state waiting for it acts on
    ``table_done`` in the same cycle); ``cpu.iar`` is valid two cycles after
    ``cpu.iar_req`` is taken.
    """

    def __init__(self, params, *, processor_number, entries):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        self._params = params
        self._processor_number = processor_number
        self._entries = entries
        super().__init__({
            "gic": In(stream.Signature(GicPacket)),
            "ack": Out(stream.Signature(GicAck)),
            "move_out": Out(stream.Signature(LpiMove)),
            "move_in": In(stream.Signature(LpiMove)),
            "cpu": In(CpuInterfaceSignature()),
            "sync_start": Out(1),
            "move_quiet": Out(1),
            "peers_done": In(1, init=1),
            "idle": Out(1),
            "cache": In(LpiCacheSignature(entries)),
            "table_request": Out(stream.Signature(TableRequest, always_ready=True)),
            "table_done": In(stream.Signature(TableDone)),
            "table_config": In(LpiConfig),
            "work": In(stream.Signature(RegisterOp)),
            "work_running": Out(1),
            "settings": In(settings_layout(params)),
        })

    def elaborate(self, platform):
        m = Module()
        states = _States(self, m)
        with m.FSM(name="sequencer") as fsm:
            states.dispatch_states()
            states.insertion_states()
            states.table_states()
            states.move_states()
        s = states
        m.d.comb += [
            s.moving.eq(~fsm.ongoing("IDLE") & s.from_gic &
                        ((s.cur_op == RdOp.MOVLPI) | (s.cur_op == RdOp.MOVALL))),
            self.idle.eq(fsm.ongoing("IDLE") & s.fresh & ~s.work.valid & ~self.gic.valid &
                         ~self.move_in.valid & ~(s.must_refill & s.enable_lpis)),
        ]
        return m


class _States:
    """The sequencer's registers, the helpers its states share, and its states by group."""

    def __init__(self, seq, m):
        self.m = m
        for name in ("gic", "ack", "move_out", "move_in", "cpu", "sync_start", "move_quiet",
                     "peers_done", "cache", "work", "_processor_number"):
            setattr(self, name, getattr(seq, name))
        self.entries = seq._entries
        cache, settings = seq.cache, seq.settings
        self.enable_lpis, self.ptz = settings.enable_lpis, settings.ptz
        self.reg_op_running = seq.work_running      # doing queued register work
        self.op_in = seq.work.payload
        self.table_done = seq.table_done
        self.cfg = seq.table_config                 # the configuration just read
        self._table_request = seq.table_request

        # The LPI being worked on.
        self.cur_op = Signal(RdOp)
        self.cur_lpi = Signal(16)
        self.cur_target = Signal(8)
        self.cur_wide = Signal()
        self.from_gic = Signal()                    # cur_op came from the GIC stream

        # Derived from the cache, registered there: used only when ``fresh``; the hit search
        # and ``usable`` only when ``lpi_fresh``, the entry ``slot`` only when ``slot_fresh``.
        self.fresh = cache.fresh
        self.best_valid = cache.best.valid
        self.signalled = cache.signalled            # best valid, enabled, above rpr
        self.touch_lpi = cache.lookup_changed
        self.lpi_fresh = cache.hit.fresh
        self.hit, self.hit_index = cache.hit.hit, cache.hit.index
        self.any_free = cache.free.any
        self.new_before_worst = cache.candidate_before_worst
        self.slot = Signal(range(self.entries + 1))
        self.slot_intid = cache.slot_entry.intid
        self.slot_valid = cache.slot_entry.valid
        self.slot_fresh = cache.slot_entry.fresh
        self.usable = Signal()                      # cur_lpi may be pending here
        in_range = settings.lpis_exist & (self.cur_lpi >= LPI_BASE) & \
            ((self.cur_lpi >> settings.id_bits) == 0)
        m.d.comb += [
            cache.lookup.eq(self.cur_lpi),
            cache.slot.eq(self.slot),
            cache.candidate.lpi.eq(self.cur_lpi),
            cache.candidate.config.eq(self.cfg),
        ]
        m.d.sync += self.usable.eq(self.enable_lpis & in_range & ~self.cur_wide)

        self.spilled = Signal()         # some pending LPI is held only in the pending table
        self.must_refill = Signal()     # ... and the cache is empty: scan before answering
        m.d.comb += self.must_refill.eq(self.spilled & ~self.best_valid)

        self.cfg_reload = Signal()      # the configuration read is for slot ``slot``
        self.scan_mode = Signal()       # inserting an LPI found set in the pending table
        self.insert_return = Signal(_Return)
        self.need_victim = Signal()
        self.need_set = Signal()
        self.need_clear = Signal()
        self.victim = Signal(16)
        self.rmw_return = Signal(_RmwReturn)
        self.scan_left = Signal()       # the scan left LPIs in the pending table
        self.move_return = Signal(_MoveReturn)
        self.moving = Signal()

        # -- outputs ---------------------------------------------------------------------------
        cpu = self.cpu
        self.iar_valid = Signal()
        self.iar_intid = Signal(24)
        self.out_valid = Signal()
        self.out_lpi = Signal(16)
        m.d.comb += [
            cpu.irq.eq(self.signalled & self.fresh),
            cpu.rpr.eq(cache.rpr),
            cpu.iar.valid.eq(self.iar_valid),
            cpu.iar.payload.intid.eq(self.iar_intid),
            self.move_out.valid.eq(self.out_valid),
            self.move_out.payload.lpi.eq(self.out_lpi),
            self.move_out.payload.target.eq(self.cur_target),
            self.move_quiet.eq(~self.moving & ~self.out_valid),
            self.ack.payload.sync.eq(1),
        ]
        with m.If(cpu.iar.valid & cpu.iar.ready):
            m.d.sync += self.iar_valid.eq(0)
        with m.If(self.move_out.valid & self.move_out.ready):
            m.d.sync += self.out_valid.eq(0)

    # -- helpers ---------------------------------------------------------------------------

    def table_request(self, op, lpi=0):
        request = self._table_request
        self.m.d.comb += [request.valid.eq(1), request.payload.op.eq(op),
                          request.payload.lpi.eq(lpi)]

    def cache_command(self, op, index=0, lpi=0, config=0):
        command = self.cache.command
        self.m.d.comb += [command.valid.eq(1), command.payload.op.eq(op),
                          command.payload.index.eq(index), command.payload.lpi.eq(lpi),
                          command.payload.config.eq(config)]

    def write_entry(self, index, lpi, config):
        self.cache_command(CacheOp.WRITE, index, lpi, config)

    def drop_entry(self, index):
        self.cache_command(CacheOp.DROP, index)

    def start_rmw(self, lpi, set_bit, back):
        m = self.m
        self.table_request(TableOp.SET if set_bit else TableOp.CLEAR, lpi)
        m.d.sync += self.rmw_return.eq(back)
        if set_bit:
            m.d.sync += [self.spilled.eq(1), self.scan_left.eq(1)]
        m.next = "RMW"

    def start_config(self, lpi):
        self.table_request(TableOp.CONFIG, lpi)
        self.m.next = "CONFIG"

    def start_scan(self):
        self.table_request(TableOp.SCAN)
        self.m.d.sync += self.scan_left.eq(0)
        self.m.next = "SCAN"

    def start_move(self, lpi, back):
        self.m.d.sync += [self.out_valid.eq(1), self.out_lpi.eq(lpi), self.move_return.eq(back)]
        self.m.next = "SEND_MOVE"

    def take_move_in(self, back):
        """Take the LPI arriving on ``move_in`` as a SET; come back to ``back``."""
        m = self.m
        m.d.comb += [self.move_in.ready.eq(1), self.touch_lpi.eq(1)]
        m.d.sync += [self.cur_lpi.eq(self.move_in.payload.lpi), self.cur_wide.eq(0),
                     self.insert_return.eq(back), self.scan_mode.eq(0)]
        m.next = "SET_CHECK"

    def go_back(self, selector, states):
        """Go to ``states[value]`` for the value ``selector`` holds."""
        m = self.m
        with m.Switch(selector):
            for value, state in states.items():
                with m.Case(value):
                    m.next = state

    def finish_insert(self):
        self.go_back(self.insert_return, {_Return.IDLE: "IDLE", _Return.SCAN: "SCAN",
                                          _Return.SEND_MOVE: "SEND_MOVE",
                                          _Return.SYNC_WAIT: "SYNC_WAIT"})
        with self.m.If(self.insert_return == _Return.SCAN):
            self.table_request(TableOp.SCAN_NEXT)

    # -- the states ------------------------------------------------------------------------

    def dispatch_states(self):
        """IDLE (what to take next), IAR_ANSWER, EXECUTE (what an operation starts)."""
        m = self.m
        with m.State("IDLE"):
            m.d.sync += self.reg_op_running.eq(0)
            eoi = self.cpu.eoir.payload.intid
            with m.If(self.move_in.valid):
                self.take_move_in(_Return.IDLE)
            with m.Elif(self.cpu.eoir.valid):
                m.d.comb += self.cpu.eoir.ready.eq(1)
                special = (eoi >= SPECIAL_INTIDS.start) & (eoi < SPECIAL_INTIDS.stop)
                with m.If(~special):
                    self.cache_command(CacheOp.END)
            with m.Elif(~self.fresh):
                pass                        # everything below uses the derived state
            with m.Elif(self.must_refill & self.enable_lpis):
                self.start_scan()
            with m.Elif(self.cpu.iar_req.valid & ~self.iar_valid):
                m.d.comb += self.cpu.iar_req.ready.eq(1)
                with m.If(self.signalled):
                    m.d.sync += self.iar_intid.eq(self.cache.best.intid)
                    self.cache_command(CacheOp.ACKNOWLEDGE)
                with m.Else():
                    m.d.sync += self.iar_intid.eq(SPURIOUS_INTID)
                m.next = "IAR_ANSWER"
            with m.Elif(self.work.valid):
                m.d.comb += self.work.ready.eq(1)
                m.d.comb += self.touch_lpi.eq(1)
                m.d.sync += [self.cur_op.eq(self.op_in.op), self.cur_lpi.eq(self.op_in.lpi),
                             self.cur_wide.eq(self.op_in.wide), self.from_gic.eq(0),
                             self.reg_op_running.eq(1)]
                m.next = "EXECUTE"
            with m.Elif(self.gic.valid):
                m.d.comb += self.gic.ready.eq(1)
                packet = self.gic.payload
                m.d.comb += self.touch_lpi.eq(1)
                m.d.sync += [self.cur_op.eq(packet.op.as_value()), self.cur_lpi.eq(packet.lpi),
                             self.cur_target.eq(packet.target), self.cur_wide.eq(0), self.from_gic.eq(1)]
                m.d.comb += self.sync_start.eq(packet.op == GicOp.SYNC)
                m.next = "EXECUTE"

        with m.State("IAR_ANSWER"):
            # One cycle for ``rpr`` to follow ``active``: the answer comes with its RPR.
            m.d.sync += self.iar_valid.eq(1)
            m.next = "IDLE"

        with m.State("EXECUTE"):
            m.d.sync += [self.insert_return.eq(_Return.IDLE), self.scan_mode.eq(0), self.slot.eq(0)]
            with m.If(self.lpi_fresh):  # hit, usable
                with m.Switch(self.cur_op):
                    with m.Case(RdOp.SET):
                        m.next = "SET_CHECK"
                    with m.Case(RdOp.CLEAR):
                        with m.If(self.hit):
                            self.drop_entry(self.hit_index)
                            m.next = "IDLE"
                        with m.Elif(self.spilled & self.usable):
                            self.start_rmw(self.cur_lpi, 0, _RmwReturn.IDLE)
                        with m.Else():
                            m.next = "IDLE"
                    with m.Case(RdOp.INV):
                        with m.If(self.hit):
                            m.d.sync += [self.slot.eq(self.hit_index), self.cfg_reload.eq(1)]
                            self.start_config(self.cur_lpi)
                        with m.Else():
                            m.next = "AFTER_INV"
                    with m.Case(RdOp.INVALL):
                        m.next = "INVALL_NEXT"
                    with m.Case(RdOp.MOVLPI):
                        with m.If(self.cur_target == self._processor_number):
                            m.next = "IDLE"
                        with m.Elif(self.hit):
                            self.drop_entry(self.hit_index)
                            self.start_move(self.cur_lpi, _MoveReturn.IDLE)
                        with m.Elif(self.spilled & self.usable):
                            self.start_rmw(self.cur_lpi, 0, _RmwReturn.MOVLPI)
                        with m.Else():
                            m.next = "IDLE"
                    with m.Case(RdOp.MOVALL):
                        with m.If(self.cur_target == self._processor_number):
                            m.next = "IDLE"
                        with m.Else():
                            m.next = "MOVALL_SLOTS"
                    with m.Case(RdOp.SYNC):
                        m.next = "SYNC_WAIT"
                    with m.Case(RdOp.ENABLE):
                        with m.If(self.ptz):
                            m.d.sync += self.spilled.eq(0)
                            m.next = "IDLE"
                        with m.Else():
                            self.start_scan()
                    with m.Case(RdOp.DISABLE):
                        m.next = "FLUSH_NEXT"
                    with m.Default():
                        m.next = "IDLE"

    def insertion_states(self):
        """Insertion of ``cur_lpi`` (SET, move_in, scan): into the cache or the pending table."""
        m = self.m
        # -- insertion of self.cur_lpi (SET, move_in, scan) ------------------------------------
        with m.State("SET_CHECK"):
            with m.If(self.lpi_fresh & self.usable):
                m.next = "INSERT_CHECK"
            with m.Elif(self.lpi_fresh):
                self.finish_insert()

        with m.State("INSERT_CHECK"):
            with m.If(self.lpi_fresh):
                m.d.sync += [self.need_victim.eq(0), self.need_set.eq(0), self.need_clear.eq(0)]
                with m.If(self.hit):
                    # Pending already. A copy found in the pending table is stale: clear it.
                    m.d.sync += self.need_clear.eq(self.scan_mode)
                    m.next = "INSERT_MEMORY"
                with m.Else():
                    m.d.sync += self.cfg_reload.eq(0)
                    self.start_config(self.cur_lpi)

        with m.State("INSERT_DECIDE"):
            with m.If(self.fresh):  # worst, free
                # Keep the invariant: every LPI held in memory is self.signalled after every cached
                # one. A scan fills free self.entries unconditionally (it visits all of memory).
                better = self.best_valid & self.new_before_worst
                with m.If(self.any_free & (self.scan_mode | ~self.spilled | better)):
                    self.write_entry(self.cache.free.index, self.cur_lpi, self.cfg)
                    m.d.sync += self.need_clear.eq(self.scan_mode | self.spilled)
                with m.Elif(~self.any_free & better):
                    self.write_entry(self.cache.worst.index, self.cur_lpi, self.cfg)
                    m.d.sync += [self.victim.eq(self.cache.worst.intid), self.need_victim.eq(1),
                                 self.need_clear.eq(self.scan_mode | self.spilled)]
                with m.Else():
                    m.d.sync += [self.need_set.eq(~self.scan_mode), self.scan_left.eq(1)]
                m.next = "INSERT_MEMORY"

        with m.State("INSERT_MEMORY"):
            with m.If(self.need_victim):
                m.d.sync += self.need_victim.eq(0)
                self.start_rmw(self.victim, 1, _RmwReturn.INSERT)
            with m.Elif(self.need_set):
                m.d.sync += self.need_set.eq(0)
                self.start_rmw(self.cur_lpi, 1, _RmwReturn.INSERT)
            with m.Elif(self.need_clear):
                m.d.sync += self.need_clear.eq(0)
                self.start_rmw(self.cur_lpi, 0, _RmwReturn.INSERT)
            with m.Else():
                self.finish_insert()

    def table_states(self):
        """Waiting for the table engine: CONFIG (then INV, INVALL), RMW, SCAN."""
        m = self.m
        # -- the property table --------------------------------------------------------------
        with m.State("CONFIG"):
            m.d.comb += self.table_done.ready.eq(1)
            with m.If(~self.table_done.valid):
                pass
            with m.Elif(self.cfg_reload):
                self.cache_command(CacheOp.CONFIGURE, self.slot, config=self.cfg)
                with m.If(self.cur_op == RdOp.INVALL):
                    m.d.sync += self.slot.eq(self.slot + 1)
                    m.next = "INVALL_NEXT"
                with m.Else():
                    m.next = "AFTER_INV"
            with m.Else():
                m.next = "INSERT_DECIDE"

        # -- INV, INVALL ------------------------------------------------------------------------
        with m.State("INVALL_NEXT"):
            with m.If(self.slot == self.entries):
                m.next = "AFTER_INV"
            with m.Elif(~self.slot_fresh):
                pass
            with m.Elif(self.slot_valid):
                m.d.sync += [self.cur_lpi.eq(self.slot_intid), self.cfg_reload.eq(1)]
                m.d.comb += self.touch_lpi.eq(1)
                self.start_config(self.slot_intid)
            with m.Else():
                m.d.sync += self.slot.eq(self.slot + 1)

        with m.State("AFTER_INV"):
            # New configurations may put an LPI held in memory before a cached one.
            with m.If(self.spilled):
                self.start_scan()
            with m.Else():
                m.next = "IDLE"

        # -- read-modify-write of one pending-table bit ----------------------------------------
        with m.State("RMW"):
            m.d.comb += self.table_done.ready.eq(1)
            with m.If(self.table_done.valid):
                with m.Switch(self.rmw_return):
                    with m.Case(_RmwReturn.INSERT):
                        m.next = "INSERT_MEMORY"
                    with m.Case(_RmwReturn.IDLE):
                        m.next = "IDLE"
                    with m.Case(_RmwReturn.MOVLPI):
                        with m.If(self.table_done.payload.was_set):
                            self.start_move(self.cur_lpi, _MoveReturn.IDLE)
                        with m.Else():
                            m.next = "IDLE"
                    with m.Case(_RmwReturn.FLUSH):
                        m.d.sync += self.slot.eq(self.slot + 1)
                        m.next = "FLUSH_NEXT"

        # -- scan of the pending table: take what is pending there ------------------------------
        with m.State("SCAN"):
            m.d.comb += self.table_done.ready.eq(1)
            with m.If(self.table_done.valid & self.table_done.payload.end):
                m.d.sync += self.spilled.eq(self.scan_left)
                m.next = "IDLE"
            with m.Elif(self.table_done.valid):
                m.d.sync += [
                    self.cur_lpi.eq(self.table_done.payload.lpi),
                    self.scan_mode.eq(1),
                    self.insert_return.eq(_Return.SCAN),
                ]
                m.d.comb += self.touch_lpi.eq(1)
                m.next = "INSERT_CHECK"

    def move_states(self):
        """Moves (MOVLPI, MOVALL, the sweep), SYNC, and the EnableLPIs 1 -> 0 write-back."""
        m = self.m
        # -- moves --------------------------------------------------------------------------
        with m.State("SEND_MOVE"):
            # The move is sent when self.out_valid has dropped. Not looking at move_out.ready
            # here keeps move_in.ready free of it (no loop through the MoveRouter).
            with m.If(~self.out_valid):
                self.go_back(self.move_return, {_MoveReturn.IDLE: "IDLE",
                                      _MoveReturn.SLOTS: "MOVALL_SLOTS",
                                      _MoveReturn.SWEEP: "SWEEP"})
                with m.If(self.move_return == _MoveReturn.SWEEP):
                    self.table_request(TableOp.SWEEP_NEXT)
            with m.Elif(self.move_in.valid):
                # Two redistributors self.moving to each other must not wait for each other.
                self.take_move_in(_Return.SEND_MOVE)

        with m.State("MOVALL_SLOTS"):
            with m.If(self.slot == self.entries):
                with m.If(self.spilled):
                    # The LPIs in memory leave too; moves arriving meanwhile may spill.
                    m.d.sync += self.spilled.eq(0)
                    self.table_request(TableOp.SWEEP)
                    m.next = "SWEEP"
                with m.Else():
                    m.next = "IDLE"
            with m.Elif(~self.slot_fresh):
                pass
            with m.Elif(self.slot_valid):
                self.drop_entry(self.slot)
                m.d.sync += self.slot.eq(self.slot + 1)
                self.start_move(self.slot_intid, _MoveReturn.SLOTS)
            with m.Else():
                m.d.sync += self.slot.eq(self.slot + 1)

        with m.State("SWEEP"):
            m.d.comb += self.table_done.ready.eq(1)
            with m.If(self.table_done.valid & self.table_done.payload.end):
                m.next = "IDLE"
            with m.Elif(self.table_done.valid):
                self.start_move(self.table_done.payload.lpi, _MoveReturn.SWEEP)

        # -- SYNC -------------------------------------------------------------------------------
        with m.State("SYNC_WAIT"):
            with m.If(self.move_in.valid):
                self.take_move_in(_Return.SYNC_WAIT)
            with m.Elif(self.peers_done):
                m.next = "SYNC_ACK"

        with m.State("SYNC_ACK"):
            m.d.comb += self.ack.valid.eq(1)
            with m.If(self.ack.ready):
                m.next = "IDLE"

        # -- EnableLPIs 1 -> 0: everything held on chip goes to the pending table --------------
        with m.State("FLUSH_NEXT"):
            with m.If(self.slot == self.entries):
                m.d.sync += self.spilled.eq(0)
                m.next = "IDLE"
            with m.Elif(~self.slot_fresh):
                pass
            with m.Elif(self.slot_valid):
                self.drop_entry(self.slot)
                self.start_rmw(self.slot_intid, 1, _RmwReturn.FLUSH)
            with m.Else():
                m.d.sync += self.slot.eq(self.slot + 1)
