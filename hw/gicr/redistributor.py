"""One redistributor: LPI pending state and configuration for one CPU, and its CPU interface."""

from amaranth.hdl import Module, Signal
from amaranth.lib import enum, stream, wiring
from amaranth.lib.wiring import In, Out

from ..bus.axi import Axi4LiteSignature
from ..bus.mem import MemReadSignature, MemWriteSignature
from ..its.layouts import LPI_BASE, GicAck, GicOp, GicPacket
from ..its.params import ItsParams
from .layouts import (
    SPECIAL_INTIDS, SPURIOUS_INTID, GicrTyper, IccEoir1, IccIar1, LpiMove,
)
from .lpi_cache import CacheOp, LpiCache
from .tables import TableEngine, TableOp
from .registers import AXIL_ADDR_BITS, GicrRegisters, RdOp, RegisterOp

__all__ = ["Redistributor", "CpuInterfaceSignature", "RdOp", "RegisterOp", "AXIL_ADDR_BITS"]

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


class Redistributor(wiring.Component):
    """A GICv3 redistributor's LPI part, for the CPU with processor number ``processor_number``.

    It takes the ITS's packets for this CPU on ``gic`` (SET, CLEAR, INV, INVALL, MOVLPI,
    MOVALL, SYNC; each SYNC is answered on ``ack``), the direct-injection registers on
    ``axil`` (GICR_SETLPIR, CLRLPIR, INVLPIR, INVALLR, SYNCR), pending state moved from
    other redistributors on ``move_in``, and signals the highest-priority pending enabled
    LPI to the CPU on ``cpu``. Behaviour: docs/redistributor.md; the reference model is
    :class:`gic.sim.models.gicr.RedistributorModel`.

    Pending state is held in an on-chip **LPI cache** of ``lpi_cache`` entries, each an
    INTID with its configuration (enable, priority) read from the property table when it
    became pending and re-read on INV/INVALL. When the cache is full, the LPI that
    would be signalled last (disabled ones after enabled ones, then lowest priority,
    then highest INTID) goes to the pending table in memory, so the cache always holds
    the LPIs that are signalled first; when the cache runs empty while LPIs wait in
    memory, a scan of the pending table brings them back. Nothing is ever lost: the
    number of LPIs pending at once is bounded only by the INTID range.

    One sequencer does everything, one operation at a time. In the idle state it takes,
    in this order of precedence: a move arriving on ``move_in``; an end of interrupt;
    then, once the derived state below is fresh, a refill when the cache is empty but
    LPIs wait in memory; an acknowledge; queued register work; a GIC stream packet.

    What is derived from the cache is registered, so that no path runs from the cache
    through a comparator tree into the sequencer: the best and the worst entry (a tree
    of compares, one register stage per level: ``S`` = ceil(log2(``lpi_cache``)) stages,
    at least 1), the free entry, the running priority and whether the best entry is
    signalled. A change of the cache makes all of it stale for ``D`` = ``S`` + 1 cycles
    (5 with 16 entries, 3 with 4), a change of the active priorities for 2; meanwhile
    ``irq`` is low and nothing derived is used. The hit search for the LPI worked on is
    registered too (one cycle).

    Latency (memory answering in ``L`` cycles): a SET of an LPI not yet pending raises
    ``irq`` 7 + ``D`` + ``L`` cycles after the packet is taken (one property-table read;
    plus a read-modify-write of the pending table when the cache is full); a SET of a
    pending LPI takes 5 cycles, a CLEAR of a cached one 3, then ``D`` cycles of settling.
    An acknowledge is taken only while the derived state is fresh and answered on
    ``cpu.iar`` two cycles after ``cpu.iar_req`` is taken, with ``cpu.rpr`` already the
    acknowledged LPI's priority; an end of interrupt takes effect at the clock edge it is
    taken (``rpr`` one cycle later). ``irq`` is a register (and ``fresh``). A scan of the
    pending table reads one doubleword (64 INTIDs) at a time.

    .. wavedrom::

        {"signal": [
            {"name": "clk",           "wave": "p....."},
            {"name": "iar_req.valid", "wave": "01.0.."},
            {"name": "iar_req.ready", "wave": "0.10.."},
            {"name": "iar.valid",     "wave": "0...10"},
            {"name": "iar.intid",     "wave": "x...4x", "data": ["LPI"]},
            {"name": "rpr",           "wave": "4..4..", "data": ["idle", "LPI"]},
            {"name": "irq",           "wave": "1..0.."}
        ]}

    Parameters
    ----------
    params : ItsParams
        ``id_bits`` bounds the INTIDs; ``num_redistributors`` the processor numbers.
    processor_number : int
        GICR_TYPER.Processor_Number (the RDbase the ITS uses: GITS_TYPER.PTA = 0).
    last : bool or None
        GICR_TYPER.Last; default: the highest processor number.
    lpi_cache : int
        On-chip LPI cache entries, 1..64.
    op_depth : int
        Register writes queued for the sequencer, 1..16; further writes wait on ``axil``.

    Members
    -------
    axil : In(Axi4LiteSignature(addr_width=17, data_width=64))
        The redistributor frame (RD_base, then SGI_base which reads as zero).
    gic : In(stream.Signature(GicPacket))
        Packets from the ITS.
    ack : Out(stream.Signature(GicAck))
        One per SYNC.
    move_out : Out(stream.Signature(LpiMove))
        Pending LPIs leaving (MOVLPI, MOVALL) for ``target``.
    move_in : In(stream.Signature(LpiMove))
        Pending LPIs arriving from other redistributors (taken as a SET).
    mem_read : Out(MemReadSignature())
    mem_write : Out(MemWriteSignature())
        The property and pending tables; one access in flight at a time.
    cpu : In(CpuInterfaceSignature())
        The CPU interface.
    sync_start : Out(1)
        Pulses when a SYNC is taken from ``gic``.
    move_quiet : Out(1)
        No MOVLPI or MOVALL is being handled.
    peers_done : In(1)
        Every other redistributor has finished the moves the ITS sent it before this
        SYNC (see :class:`gic.hw.gicr.gic.Gic`); the SYNC is acknowledged only then. Defaults
        to 1 for a redistributor on its own.
    idle : Out(1)
        Nothing to do: no operation, register work or cache refill under way.

    Raises
    ------
    TypeError
        If ``params`` is not an ItsParams.
    ValueError
        If a parameter is out of range.
    """

    def __init__(self, params, *, processor_number, last=None, lpi_cache=16, op_depth=4):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        n = params.num_redistributors
        if not isinstance(processor_number, int) or isinstance(processor_number, bool) or \
                not 0 <= processor_number < n:
            raise ValueError(f"processor_number must be an integer in 0..{n - 1}, "
                             f"not {processor_number!r}")
        if not isinstance(lpi_cache, int) or isinstance(lpi_cache, bool) or \
                not 1 <= lpi_cache <= 64:
            raise ValueError(f"lpi_cache must be an integer in 1..64, not {lpi_cache!r}")
        if not isinstance(op_depth, int) or isinstance(op_depth, bool) or \
                not 1 <= op_depth <= 16:
            raise ValueError(f"op_depth must be an integer in 1..16, not {op_depth!r}")
        self._params = params
        self._processor_number = processor_number
        self._last = (processor_number == n - 1) if last is None else bool(last)
        self._lpi_cache = lpi_cache
        self._op_depth = op_depth
        super().__init__({
            "axil": In(Axi4LiteSignature(addr_width=AXIL_ADDR_BITS, data_width=64)),
            "gic": In(stream.Signature(GicPacket)),
            "ack": Out(stream.Signature(GicAck)),
            "move_out": Out(stream.Signature(LpiMove)),
            "move_in": In(stream.Signature(LpiMove)),
            "mem_read": Out(MemReadSignature()),
            "mem_write": Out(MemWriteSignature()),
            "cpu": In(CpuInterfaceSignature()),
            "sync_start": Out(1),
            "move_quiet": Out(1),
            "peers_done": In(1, init=1),
            "idle": Out(1),
        })

    @property
    def typer(self):
        """The GICR_TYPER value (a 64-bit integer)."""
        return GicrTyper.const({
            "plpis": 1, "direct_lpi": 1, "last": int(self._last),
            "processor_number": self._processor_number, "affinity": self._processor_number,
        }).as_value().value

    def elaborate(self, platform):
        m = Module()
        p = self._params
        entries = self._lpi_cache

        # -- the register block: GICR_* and the register work queue ---------------------------
        m.submodules.registers = registers = GicrRegisters(p, typer=self.typer,
                                                           op_depth=self._op_depth)
        wiring.connect(m, wiring.flipped(self.axil), registers.axil)
        settings = registers.settings
        enable_lpis = settings.enable_lpis
        ptz = settings.ptz
        reg_op_running = Signal()       # the sequencer is doing queued register work
        m.d.comb += registers.work_running.eq(reg_op_running)
        work = registers.work

        def in_range(lpi):
            return settings.lpis_exist & (lpi >= LPI_BASE) & ((lpi >> settings.id_bits) == 0)

        prop_base = settings.prop_base
        pend_base = settings.pend_base
        scan_end = settings.scan_end
        scan_bits = len(scan_end)

        # -- the LPI cache and what is derived from it (registered) ---------------------------
        m.submodules.cache = cache = LpiCache(entries)
        command = cache.command

        # The LPI being worked on.
        cur_op = Signal(RdOp)
        cur_lpi = Signal(16)
        cur_target = Signal(8)
        cur_wide = Signal()

        # Nothing derived from the cache is used until ``cache.fresh``; the hit search and
        # ``usable`` are used only when ``cache.hit.fresh`` (see LpiCache).
        fresh = cache.fresh
        best_valid = cache.best.valid
        touch_lpi = cache.lookup_changed
        lpi_fresh = cache.hit.fresh
        hit = cache.hit.hit
        hit_index = cache.hit.index
        any_free = cache.free.any
        usable = Signal()               # cur_lpi may be pending here
        m.d.comb += cache.lookup.eq(cur_lpi)
        m.d.sync += usable.eq(enable_lpis & in_range(cur_lpi) & ~cur_wide)

        # Configuration just read; the new LPI comes before the worst cached one a cycle
        # after cfg, cur_lpi and worst, so fresh in INSERT_DECIDE (which follows CONFIG_DONE
        # and waits for ``fresh``).
        new_before_worst = cache.candidate_before_worst

        spilled = Signal()              # some pending LPI is held only in the pending table
        must_refill = Signal()          # ... and the cache is empty: scan before answering
        m.d.comb += must_refill.eq(spilled & ~best_valid)

        # -- CPU interface ---------------------------------------------------------------------
        signalled = cache.signalled        # best valid, enabled, above the running priority
        m.d.comb += [
            self.cpu.irq.eq(signalled & fresh),
            self.cpu.rpr.eq(cache.rpr),
        ]
        iar_valid = Signal()
        iar_intid = Signal(24)
        m.d.comb += [
            self.cpu.iar.valid.eq(iar_valid),
            self.cpu.iar.payload.intid.eq(iar_intid),
        ]
        with m.If(self.cpu.iar.valid & self.cpu.iar.ready):
            m.d.sync += iar_valid.eq(0)

        # -- the table engine: every access to memory ------------------------------------------
        m.submodules.tables = tables = TableEngine(scan_bits=scan_bits)
        wiring.connect(m, tables.mem_read, wiring.flipped(self.mem_read))
        wiring.connect(m, tables.mem_write, wiring.flipped(self.mem_write))
        m.d.comb += [tables.prop_base.eq(prop_base), tables.pend_base.eq(pend_base),
                     tables.scan_end.eq(scan_end)]
        table_done = tables.done
        cfg = tables.config             # the configuration just read
        m.d.comb += [cache.candidate.lpi.eq(cur_lpi), cache.candidate.config.eq(cfg)]

        def table_request(op, lpi=0):
            m.d.comb += [tables.request.valid.eq(1), tables.request.payload.op.eq(op),
                         tables.request.payload.lpi.eq(lpi)]

        # -- sequencer registers ------------------------------------------------------------------
        from_gic = Signal()             # cur_op came from the GIC stream
        slot = Signal(range(entries + 1))
        cfg_reload = Signal()           # the configuration read is for slot ``slot``
        scan_mode = Signal()            # inserting an LPI found set in the pending table
        insert_return = Signal(_Return)
        need_victim = Signal()
        need_set = Signal()
        need_clear = Signal()
        victim = Signal(16)
        rmw_return = Signal(_RmwReturn)
        scan_left = Signal()            # the scan left LPIs in the pending table
        out_valid = Signal()
        out_lpi = Signal(16)
        move_return = Signal(_MoveReturn)

        m.d.comb += [
            self.move_out.valid.eq(out_valid),
            self.move_out.payload.lpi.eq(out_lpi),
            self.move_out.payload.target.eq(cur_target),
        ]
        with m.If(self.move_out.valid & self.move_out.ready):
            m.d.sync += out_valid.eq(0)

        def cache_command(op, index=0, lpi=0, config=0):
            m.d.comb += [command.valid.eq(1), command.payload.op.eq(op),
                         command.payload.index.eq(index), command.payload.lpi.eq(lpi),
                         command.payload.config.eq(config)]

        def write_entry(index, lpi, config):
            cache_command(CacheOp.WRITE, index, lpi, config)

        def drop_entry(index):
            cache_command(CacheOp.DROP, index)

        # Entry ``slot``, registered: used only when ``slot_fresh``.
        m.d.comb += cache.slot.eq(slot)
        slot_intid = cache.slot_entry.intid
        slot_valid = cache.slot_entry.valid
        slot_fresh = cache.slot_entry.fresh

        def start_rmw(lpi, set_bit, back):
            table_request(TableOp.SET if set_bit else TableOp.CLEAR, lpi)
            m.d.sync += rmw_return.eq(back)
            if set_bit:
                m.d.sync += [spilled.eq(1), scan_left.eq(1)]
            m.next = "RMW"

        def start_config(lpi):
            table_request(TableOp.CONFIG, lpi)
            m.next = "CONFIG"

        def start_scan():
            table_request(TableOp.SCAN)
            m.d.sync += scan_left.eq(0)
            m.next = "SCAN"

        def start_move(lpi, back):
            m.d.sync += [out_valid.eq(1), out_lpi.eq(lpi), move_return.eq(back)]
            m.next = "SEND_MOVE"

        def take_move_in(back):
            """Take the LPI arriving on ``move_in`` as a SET; come back to ``back``."""
            m.d.comb += self.move_in.ready.eq(1)
            m.d.comb += touch_lpi.eq(1)
            m.d.sync += [cur_lpi.eq(self.move_in.payload.lpi), cur_wide.eq(0),
                         insert_return.eq(back), scan_mode.eq(0)]
            m.next = "SET_CHECK"

        def go_back(selector, states):
            """Go to ``states[value]`` for the value ``selector`` holds."""
            with m.Switch(selector):
                for value, state in states.items():
                    with m.Case(value):
                        m.next = state

        def finish_insert():
            go_back(insert_return, {_Return.IDLE: "IDLE", _Return.SCAN: "SCAN",
                                    _Return.SEND_MOVE: "SEND_MOVE",
                                    _Return.SYNC_WAIT: "SYNC_WAIT"})
            with m.If(insert_return == _Return.SCAN):
                table_request(TableOp.SCAN_NEXT)

        moving = Signal()
        m.d.comb += [
            self.move_quiet.eq(~moving & ~out_valid),
            self.ack.payload.sync.eq(1),
        ]
        op_in = work.payload

        with m.FSM(name="sequencer") as fsm:
            with m.State("IDLE"):
                m.d.sync += reg_op_running.eq(0)
                eoi = self.cpu.eoir.payload.intid
                with m.If(self.move_in.valid):
                    take_move_in(_Return.IDLE)
                with m.Elif(self.cpu.eoir.valid):
                    m.d.comb += self.cpu.eoir.ready.eq(1)
                    special = (eoi >= SPECIAL_INTIDS.start) & (eoi < SPECIAL_INTIDS.stop)
                    with m.If(~special):
                        cache_command(CacheOp.END)
                with m.Elif(~fresh):
                    pass                        # everything below uses the derived state
                with m.Elif(must_refill & enable_lpis):
                    start_scan()
                with m.Elif(self.cpu.iar_req.valid & ~iar_valid):
                    m.d.comb += self.cpu.iar_req.ready.eq(1)
                    with m.If(signalled):
                        m.d.sync += iar_intid.eq(cache.best.intid)
                        cache_command(CacheOp.ACKNOWLEDGE)
                    with m.Else():
                        m.d.sync += iar_intid.eq(SPURIOUS_INTID)
                    m.next = "IAR_ANSWER"
                with m.Elif(work.valid):
                    m.d.comb += work.ready.eq(1)
                    m.d.comb += touch_lpi.eq(1)
                    m.d.sync += [cur_op.eq(op_in.op), cur_lpi.eq(op_in.lpi),
                                 cur_wide.eq(op_in.wide), from_gic.eq(0),
                                 reg_op_running.eq(1)]
                    m.next = "EXECUTE"
                with m.Elif(self.gic.valid):
                    m.d.comb += self.gic.ready.eq(1)
                    packet = self.gic.payload
                    m.d.comb += touch_lpi.eq(1)
                    m.d.sync += [cur_op.eq(packet.op.as_value()), cur_lpi.eq(packet.lpi),
                                 cur_target.eq(packet.target), cur_wide.eq(0), from_gic.eq(1)]
                    m.d.comb += self.sync_start.eq(packet.op == GicOp.SYNC)
                    m.next = "EXECUTE"

            with m.State("IAR_ANSWER"):
                # One cycle for ``rpr`` to follow ``active``: the answer comes with its RPR.
                m.d.sync += iar_valid.eq(1)
                m.next = "IDLE"

            with m.State("EXECUTE"):
                m.d.sync += [insert_return.eq(_Return.IDLE), scan_mode.eq(0), slot.eq(0)]
                with m.If(lpi_fresh):  # hit, usable
                    with m.Switch(cur_op):
                        with m.Case(RdOp.SET):
                            m.next = "SET_CHECK"
                        with m.Case(RdOp.CLEAR):
                            with m.If(hit):
                                drop_entry(hit_index)
                                m.next = "IDLE"
                            with m.Elif(spilled & usable):
                                start_rmw(cur_lpi, 0, _RmwReturn.IDLE)
                            with m.Else():
                                m.next = "IDLE"
                        with m.Case(RdOp.INV):
                            with m.If(hit):
                                m.d.sync += [slot.eq(hit_index), cfg_reload.eq(1)]
                                start_config(cur_lpi)
                            with m.Else():
                                m.next = "AFTER_INV"
                        with m.Case(RdOp.INVALL):
                            m.next = "INVALL_NEXT"
                        with m.Case(RdOp.MOVLPI):
                            with m.If(cur_target == self._processor_number):
                                m.next = "IDLE"
                            with m.Elif(hit):
                                drop_entry(hit_index)
                                start_move(cur_lpi, _MoveReturn.IDLE)
                            with m.Elif(spilled & usable):
                                start_rmw(cur_lpi, 0, _RmwReturn.MOVLPI)
                            with m.Else():
                                m.next = "IDLE"
                        with m.Case(RdOp.MOVALL):
                            with m.If(cur_target == self._processor_number):
                                m.next = "IDLE"
                            with m.Else():
                                m.next = "MOVALL_SLOTS"
                        with m.Case(RdOp.SYNC):
                            m.next = "SYNC_WAIT"
                        with m.Case(RdOp.ENABLE):
                            with m.If(ptz):
                                m.d.sync += spilled.eq(0)
                                m.next = "IDLE"
                            with m.Else():
                                start_scan()
                        with m.Case(RdOp.DISABLE):
                            m.next = "FLUSH_NEXT"
                        with m.Default():
                            m.next = "IDLE"

            # -- insertion of cur_lpi (SET, move_in, scan) ------------------------------------
            with m.State("SET_CHECK"):
                with m.If(lpi_fresh & usable):
                    m.next = "INSERT_CHECK"
                with m.Elif(lpi_fresh):
                    finish_insert()

            with m.State("INSERT_CHECK"):
                with m.If(lpi_fresh):
                    m.d.sync += [need_victim.eq(0), need_set.eq(0), need_clear.eq(0)]
                    with m.If(hit):
                        # Pending already. A copy found in the pending table is stale: clear it.
                        m.d.sync += need_clear.eq(scan_mode)
                        m.next = "INSERT_MEMORY"
                    with m.Else():
                        m.d.sync += cfg_reload.eq(0)
                        start_config(cur_lpi)

            with m.State("INSERT_DECIDE"):
                with m.If(fresh):  # worst, free
                    # Keep the invariant: every LPI held in memory is signalled after every cached
                    # one. A scan fills free entries unconditionally (it visits all of memory).
                    better = best_valid & new_before_worst
                    with m.If(any_free & (scan_mode | ~spilled | better)):
                        write_entry(cache.free.index, cur_lpi, cfg)
                        m.d.sync += need_clear.eq(scan_mode | spilled)
                    with m.Elif(~any_free & better):
                        write_entry(cache.worst.index, cur_lpi, cfg)
                        m.d.sync += [victim.eq(cache.worst.intid), need_victim.eq(1),
                                     need_clear.eq(scan_mode | spilled)]
                    with m.Else():
                        m.d.sync += [need_set.eq(~scan_mode), scan_left.eq(1)]
                    m.next = "INSERT_MEMORY"

            with m.State("INSERT_MEMORY"):
                with m.If(need_victim):
                    m.d.sync += need_victim.eq(0)
                    start_rmw(victim, 1, _RmwReturn.INSERT)
                with m.Elif(need_set):
                    m.d.sync += need_set.eq(0)
                    start_rmw(cur_lpi, 1, _RmwReturn.INSERT)
                with m.Elif(need_clear):
                    m.d.sync += need_clear.eq(0)
                    start_rmw(cur_lpi, 0, _RmwReturn.INSERT)
                with m.Else():
                    finish_insert()

            # -- the property table --------------------------------------------------------------
            with m.State("CONFIG"):
                m.d.comb += table_done.ready.eq(1)
                with m.If(~table_done.valid):
                    pass
                with m.Elif(cfg_reload):
                    cache_command(CacheOp.CONFIGURE, slot, config=cfg)
                    with m.If(cur_op == RdOp.INVALL):
                        m.d.sync += slot.eq(slot + 1)
                        m.next = "INVALL_NEXT"
                    with m.Else():
                        m.next = "AFTER_INV"
                with m.Else():
                    m.next = "INSERT_DECIDE"

            # -- INV, INVALL ------------------------------------------------------------------------
            with m.State("INVALL_NEXT"):
                with m.If(slot == entries):
                    m.next = "AFTER_INV"
                with m.Elif(~slot_fresh):
                    pass
                with m.Elif(slot_valid):
                    m.d.sync += [cur_lpi.eq(slot_intid), cfg_reload.eq(1)]
                    m.d.comb += touch_lpi.eq(1)
                    start_config(slot_intid)
                with m.Else():
                    m.d.sync += slot.eq(slot + 1)

            with m.State("AFTER_INV"):
                # New configurations may put an LPI held in memory before a cached one.
                with m.If(spilled):
                    start_scan()
                with m.Else():
                    m.next = "IDLE"

            # -- read-modify-write of one pending-table bit ----------------------------------------
            with m.State("RMW"):
                m.d.comb += table_done.ready.eq(1)
                with m.If(~table_done.valid):
                    pass
                with m.Else():
                  with m.Switch(rmw_return):
                    with m.Case(_RmwReturn.INSERT):
                        m.next = "INSERT_MEMORY"
                    with m.Case(_RmwReturn.IDLE):
                        m.next = "IDLE"
                    with m.Case(_RmwReturn.MOVLPI):
                        with m.If(table_done.payload.was_set):
                            start_move(cur_lpi, _MoveReturn.IDLE)
                        with m.Else():
                            m.next = "IDLE"
                    with m.Case(_RmwReturn.FLUSH):
                        m.d.sync += slot.eq(slot + 1)
                        m.next = "FLUSH_NEXT"

            # -- scan of the pending table: take what is pending there ------------------------------
            with m.State("SCAN"):
                m.d.comb += table_done.ready.eq(1)
                with m.If(table_done.valid & table_done.payload.end):
                    m.d.sync += spilled.eq(scan_left)
                    m.next = "IDLE"
                with m.Elif(table_done.valid):
                    m.d.sync += [
                        cur_lpi.eq(table_done.payload.lpi),
                        scan_mode.eq(1),
                        insert_return.eq(_Return.SCAN),
                    ]
                    m.d.comb += touch_lpi.eq(1)
                    m.next = "INSERT_CHECK"

            # -- moves --------------------------------------------------------------------------
            with m.State("SEND_MOVE"):
                # The move is sent when out_valid has dropped. Not looking at move_out.ready
                # here keeps move_in.ready free of it (no loop through the MoveRouter).
                with m.If(~out_valid):
                    go_back(move_return, {_MoveReturn.IDLE: "IDLE",
                                          _MoveReturn.SLOTS: "MOVALL_SLOTS",
                                          _MoveReturn.SWEEP: "SWEEP"})
                    with m.If(move_return == _MoveReturn.SWEEP):
                        table_request(TableOp.SWEEP_NEXT)
                with m.Elif(self.move_in.valid):
                    # Two redistributors moving to each other must not wait for each other.
                    take_move_in(_Return.SEND_MOVE)

            with m.State("MOVALL_SLOTS"):
                with m.If(slot == entries):
                    with m.If(spilled):
                        # The LPIs in memory leave too; moves arriving meanwhile may spill.
                        m.d.sync += spilled.eq(0)
                        table_request(TableOp.SWEEP)
                        m.next = "SWEEP"
                    with m.Else():
                        m.next = "IDLE"
                with m.Elif(~slot_fresh):
                    pass
                with m.Elif(slot_valid):
                    drop_entry(slot)
                    m.d.sync += slot.eq(slot + 1)
                    start_move(slot_intid, _MoveReturn.SLOTS)
                with m.Else():
                    m.d.sync += slot.eq(slot + 1)

            with m.State("SWEEP"):
                m.d.comb += table_done.ready.eq(1)
                with m.If(table_done.valid & table_done.payload.end):
                    m.next = "IDLE"
                with m.Elif(table_done.valid):
                    start_move(table_done.payload.lpi, _MoveReturn.SWEEP)

            # -- SYNC -------------------------------------------------------------------------------
            with m.State("SYNC_WAIT"):
                with m.If(self.move_in.valid):
                    take_move_in(_Return.SYNC_WAIT)
                with m.Elif(self.peers_done):
                    m.next = "SYNC_ACK"

            with m.State("SYNC_ACK"):
                m.d.comb += self.ack.valid.eq(1)
                with m.If(self.ack.ready):
                    m.next = "IDLE"

            # -- EnableLPIs 1 -> 0: everything held on chip goes to the pending table --------------
            with m.State("FLUSH_NEXT"):
                with m.If(slot == entries):
                    m.d.sync += spilled.eq(0)
                    m.next = "IDLE"
                with m.Elif(~slot_fresh):
                    pass
                with m.Elif(slot_valid):
                    drop_entry(slot)
                    start_rmw(slot_intid, 1, _RmwReturn.FLUSH)
                with m.Else():
                    m.d.sync += slot.eq(slot + 1)

        m.d.comb += [
            moving.eq(~fsm.ongoing("IDLE") & from_gic &
                      ((cur_op == RdOp.MOVLPI) | (cur_op == RdOp.MOVALL))),
            self.idle.eq(fsm.ongoing("IDLE") & fresh & ~work.valid & ~self.gic.valid &
                         ~self.move_in.valid & ~(must_refill & enable_lpis)),
        ]
        return m
