"""The register block: every GITS_* register of hw/its/regmap.py behind the register bus."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..bus.axi import RegisterBusSignature
from .cmdq import SLOT_BITS, SLOTS_PER_PAGE
from .executor import CommandFailure
from .layouts import (
    COMMAND_BYTES, ENTRY_BYTES,
    BaserType, CacheCtl, CacheId, CmdError, ErrParityRecord, ParityInject, DropReason, DropReport, ErrCmdRecord, ErrMsiRecord, GitsBaser, GitsCbaser,
    GitsCreadr, GitsCtlr, GitsCwriter, MsiRequest, PageSize, QueryRequest, QueryResponse,
)
from .params import ItsParams
from .regmap import (BASER_COLLECTIONS, BASER_DEVICES, FRAME_BYTES, IIDR_VALUE, PIDR2_VALUE,
                     REGISTERS, STAT_COUNTERS)

__all__ = ["Registers"]


class Registers(wiring.Component):
    """GITS_* registers of docs/behaviour.md, behind a :class:`RegisterBusSignature` bus.

    Every register of :data:`gic.hw.its.regmap.REGISTERS` is implemented here
    (GITS_BASER2..7 read as zero and ignore writes). The bus is 64 bits wide:
    a 64-bit register takes 32-bit accesses to either half through the byte
    strobes, the other half keeping the value it reads (as the reference
    model writes it); an 8-byte access to two 32-bit registers reaches both.
    Unknown offsets read as zero and ignore writes.

    The block also keeps the error records (GITS_ERR_CMD for command errors
    and CWRITER_OOR, GITS_ERR_MSI for dropped MSIs), the GITS_STAT_* counters,
    the query registers (a GITS_QUERY write sends the request on ``query``;
    GITS_QUERY_RESULT.done reads 0 until the answer came back), and
    GITS_CACHE_CTL (Invalidate reads 1 until the executor invalidated).

    A 32-bit write to GITS_TRANSLATER is an MSI of the DeviceID on
    ``translater_device_id`` (sampled in the cycle the block sees the write:
    keep it stable until the bus write completes) and the written EventID; it
    goes out on ``translater`` through a FIFO of ``translater_depth``
    entries; ``translater_room`` says it can take one more. A write while
    that FIFO is full is refused with ``bus.err`` (SLVERR) and the MSI is lost.

    Cache parity errors (``tcache_parity``, ``dcache_parity``) are recorded in
    GITS_ERR_PARITY (the translation cache's first when both report in one
    cycle) and counted in GITS_STAT_PARITY_ERRORS; a GITS_PARITY_INJECT write
    goes out on ``parity_inject`` in the next cycle (from a register).

    ``error_irq`` pulses once for each command error, CWRITER_OOR, dropped
    MSI and cache parity error; errors in the same cycle pulse in the
    following cycles, one a cycle.

    Latency: reads answer in the cycle after ``r_stb``; a write takes effect
    at the end of its ``w_stb`` cycle.

    Parameters
    ----------
    params : ItsParams
    translater_depth : int
        MSIs from GITS_TRANSLATER writes waiting for the translator, at least 1.

    Members
    -------
    bus : In(RegisterBusSignature())
        From the AXI4-Lite bridge.
    enabled : Out(1)
        GITS_CTLR.Enabled.
    cbaser : Out(GitsCbaser)
    cwriter : Out(15)
        GITS_CWRITER.Offset.
    restart : Out(1)
        Pulse: GITS_CBASER was written (CREADR goes to 0).
    retry : Out(1)
        Pulse: GITS_CWRITER was written with Retry = 1.
    creadr : In(GitsCreadr)
        From the command queue.
    baser_dev, baser_coll : Out(GitsBaser)
        GITS_BASER0 and GITS_BASER1.
    failure : In(stream.Signature(CommandFailure, always_ready=True))
        Failed commands, from the executor.
    executed : In(1)
        Pulse: the executor retired a command.
    cache_inval : Out(1)
        GITS_CACHE_CTL.Invalidate is pending.
    cache_inval_done : In(1)
        Pulse from the executor.
    cache_disable : Out(1)
        GITS_CACHE_CTL.Disable.
    drop : In(stream.Signature(DropReport))
        Dropped MSIs, from the translator; always ready.
    translated, tcache_hit, tcache_miss : In(1)
        Pulses counted by GITS_STAT_MSI_TRANSLATED, _TCACHE_HIT and _TCACHE_MISS.
    query : Out(stream.Signature(MsiRequest))
        The GITS_QUERY request.
    query_resp : In(stream.Signature(QueryResponse))
        Its answer; always ready.
    translater : Out(stream.Signature(MsiRequest))
        MSIs from GITS_TRANSLATER writes.
    translater_device_id : In(32)
        DeviceID sideband of the bus write.
    translater_room : Out(1)
        The GITS_TRANSLATER FIFO is not full.
    idle : In(1)
        Nothing in flight elsewhere in the ITS (for GITS_CTLR.Quiescent).
    tcache_parity, dcache_parity : In(stream.Signature(8, always_ready=True))
        Parity errors found in the translation and device caches (the entry's index).
    parity_inject : Out(stream.Signature(ParityInject, always_ready=True))
        GITS_PARITY_INJECT writes.
    error_irq : Out(1)
        The error interrupt.
    """

    def __init__(self, params, *, translater_depth=4):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        if not isinstance(translater_depth, int) or translater_depth < 1:
            raise ValueError(f"translater_depth must be a positive integer, "
                             f"not {translater_depth!r}")
        self._params = params
        self._translater_depth = translater_depth
        super().__init__({
            "bus": In(RegisterBusSignature(addr_width=(FRAME_BYTES - 1).bit_length(),
                                           data_width=64)),
            "enabled": Out(1),
            "cbaser": Out(GitsCbaser),
            "cwriter": Out(SLOT_BITS),
            "restart": Out(1),
            "retry": Out(1),
            "creadr": In(GitsCreadr),
            # Page_Size resets to 64K (docs/behaviour.md), every other field to 0.
            "baser_dev": Out(GitsBaser, init={"page_size": PageSize.SIZE_64K}),
            "baser_coll": Out(GitsBaser, init={"page_size": PageSize.SIZE_64K}),
            "failure": In(stream.Signature(CommandFailure, always_ready=True)),
            "executed": In(1),
            "cache_inval": Out(1),
            "cache_inval_done": In(1),
            "cache_disable": Out(1),
            "drop": In(stream.Signature(DropReport)),
            "translated": In(1),
            "tcache_hit": In(1),
            "tcache_miss": In(1),
            "query": Out(stream.Signature(MsiRequest)),
            "query_resp": In(stream.Signature(QueryResponse)),
            "translater": Out(stream.Signature(MsiRequest)),
            "translater_device_id": In(32),
            "translater_room": Out(1),
            "idle": In(1),
            "tcache_parity": In(stream.Signature(8, always_ready=True)),
            "dcache_parity": In(stream.Signature(8, always_ready=True)),
            "parity_inject": Out(stream.Signature(ParityInject, always_ready=True)),
            "error_irq": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        msis = self._translater_fifo(m)
        state = _State(self)
        values = self._read_values(m, state, msis)
        written, bus_err = self._bus(m, values)
        cwriter_oor, new_cwriter = self._queue_registers(m, written, state)
        dropped = self._error_records(m, written, state, cwriter_oor, new_cwriter)
        self._parity_registers(m, written, state)
        self._counters(m, written, state, dropped, cwriter_oor)
        self._error_irq(m, cwriter_oor, dropped)
        self._query_registers(m, written, state)
        self._cache_ctl(m, written)
        self._translater_register(m, written, msis, bus_err)
        return m

    def _translater_fifo(self, m):
        """The FIFO of MSIs from GITS_TRANSLATER writes, drained on ``translater``."""
        m.submodules.translater_fifo = msis = fifo.SyncFIFO(
            width=data.Layout.cast(MsiRequest).size, depth=self._translater_depth)
        m.d.comb += [
            self.translater.valid.eq(msis.r_rdy),
            self.translater.payload.eq(msis.r_data),
            msis.r_en.eq(self.translater.ready),
        ]
        return msis

    def _read_values(self, m, state, msis):
        """What each register reads as, by name; registers not named here read as zero."""
        p = self._params
        baser_types = {BASER_DEVICES: BaserType.DEVICES, BASER_COLLECTIONS: BaserType.COLLECTIONS}
        for n, baser in state.basers.items():
            # Type and Entry_Size are read-only constants.
            m.d.comb += [baser.type.eq(baser_types[n]), baser.entry_size.eq(ENTRY_BYTES - 1)]
        ctlr = Signal(GitsCtlr)
        cwriter = Signal(GitsCwriter)
        cache_ctl = Signal(CacheCtl)
        m.d.comb += [
            ctlr.enabled.eq(self.enabled),
            ctlr.quiescent.eq(~self.enabled & self.idle & ~msis.r_rdy & ~self.query.valid &
                              ~self.cache_inval),
            cwriter.offset.eq(self.cwriter),
            cache_ctl.invalidate.eq(self.cache_inval),
            cache_ctl.disable.eq(self.cache_disable),
        ]
        return {
            "GITS_CTLR": ctlr,
            "GITS_IIDR": Const(IIDR_VALUE, 32),
            "GITS_TYPER": Const(p.typer, 64),
            "GITS_CBASER": self.cbaser,
            "GITS_CWRITER": cwriter,
            "GITS_CREADR": self.creadr,
            **{f"GITS_BASER{n}": baser for n, baser in state.basers.items()},
            "GITS_ERR_CMD": state.err_cmd,
            "GITS_ERR_MSI": state.err_msi,
            "GITS_QUERY": state.query_request,
            "GITS_QUERY_RESULT": state.query_result,
            "GITS_CACHE_CTL": cache_ctl,
            "GITS_ERR_PARITY": state.err_parity,
            **{f"GITS_STAT_{name}": counter for name, counter in state.counters.items()},
            "GITS_PIDR2": Const(PIDR2_VALUE, 32),
        }

    def _bus(self, m, values):
        """The bus: each 8-byte slot of the frame holds one 64-bit or two 32-bit registers.

        Returns ``(written, bus_err)``: ``written`` maps each register's name to
        ``(written this cycle, the value it takes)``; ``bus_err`` (a register, cleared each
        cycle) answers the access with an error.
        """
        bus = self.bus
        slots = {}
        for register in REGISTERS:
            slot, half = register.offset & ~7, (register.offset & 4) * 8
            slots.setdefault(slot, []).append((register, half))

        read_value = Signal(64)
        write_mask = Signal(64)
        for lane in range(8):
            m.d.comb += write_mask[8 * lane:8 * lane + 8].eq(bus.w_strb[lane].replicate(8))

        # A write merges the written bytes into the register's own value (what it reads as),
        # not into the read multiplexer's output: the same value, without the address
        # decode of every register in front of every write.
        written = {}            # register name -> (written this cycle, merged value)
        currents = []           # (the register's value, outside the address decode, value)
        with m.Switch(bus.addr):
            for slot, registers in slots.items():
                with m.Case(slot):
                    for register, half in registers:
                        width = register.width
                        value = values.get(register.name)
                        if value is not None:
                            m.d.comb += read_value[half:half + width].eq(value)
                        lanes = bus.w_strb[half // 8:(half + width) // 8]
                        strobe = Signal(name=f"write_{register.name.lower()}")
                        m.d.comb += strobe.eq(bus.w_stb & lanes.any())
                        current = Signal(width, name=f"current_{register.name.lower()}")
                        if value is not None:
                            currents.append((current, value))
                        mask = write_mask[half:half + width]
                        merged = (current & ~mask) | (bus.w_data[half:half + width] & mask)
                        written[register.name] = (strobe, merged)
        m.d.comb += [current.eq(value) for current, value in currents]

        read_data = Signal(64)
        bus_err = Signal()
        with m.If(bus.r_stb):
            m.d.sync += read_data.eq(read_value)
        m.d.comb += [bus.r_data.eq(read_data), bus.err.eq(bus_err)]
        m.d.sync += bus_err.eq(0)
        return written, bus_err

    def _queue_registers(self, m, written, state):
        """GITS_CTLR, GITS_CBASER, GITS_CWRITER, GITS_BASERn.

        Returns ``(cwriter_oor, new_cwriter)``: a GITS_CWRITER write out of the queue's
        range (refused, an error) and the value written.
        """
        strobe, value = written["GITS_CTLR"]
        with m.If(strobe):
            m.d.sync += self.enabled.eq(GitsCtlr(value).enabled)

        strobe, value = written["GITS_CBASER"]
        cbaser_write = strobe & ~self.enabled
        with m.If(cbaser_write):
            # A write resets CREADR (the command queue, on ``restart``) and CWRITER (as KVM).
            new = GitsCbaser(value)
            m.d.sync += [getattr(self.cbaser, name).eq(getattr(new, name))
                         for name, _ in data.Layout.cast(GitsCbaser) if not name.startswith("_")]
            m.d.sync += self.cwriter.eq(0)
        m.d.comb += self.restart.eq(cbaser_write)

        strobe, value = written["GITS_CWRITER"]
        new_cwriter = GitsCwriter(value)
        cwriter_oor = Signal()
        m.d.comb += cwriter_oor.eq(strobe & ((new_cwriter.offset // SLOTS_PER_PAGE) >
                                             self.cbaser.size))
        with m.If(strobe & ~cwriter_oor):
            m.d.sync += self.cwriter.eq(new_cwriter.offset)
            m.d.comb += self.retry.eq(new_cwriter.retry)

        for n, baser in state.basers.items():
            strobe, value = written[f"GITS_BASER{n}"]
            new = GitsBaser(value)
            with m.If(strobe & ~self.enabled):
                writable = ["size", "shareability", "pa", "outer_cache", "inner_cache", "valid"]
                if n == BASER_DEVICES:
                    writable.append("indirect")
                m.d.sync += [getattr(baser, name).eq(getattr(new, name)) for name in writable]
                # Page_Size 3 is reserved: it reads back as the supported 64K.
                with m.If(new.page_size.as_value() == 3):
                    m.d.sync += baser.page_size.eq(PageSize.SIZE_64K)
                with m.Else():
                    m.d.sync += baser.page_size.eq(new.page_size)
        return cwriter_oor, new_cwriter

    def _error_records(self, m, written, state, cwriter_oor, new_cwriter):
        """GITS_ERR_CMD (command errors, CWRITER_OOR) and GITS_ERR_MSI (dropped MSIs).

        Returns ``dropped``: an MSI was dropped in this cycle.
        """
        failure = self.failure.payload
        _first_record(m, state.err_cmd, written["GITS_ERR_CMD"][0], [
            (self.failure.valid, {"code": failure.code, "offset": failure.offset,
                                  "cmd": failure.cmd}),
            (cwriter_oor, {"code": CmdError.CWRITER_OOR,
                           "offset": new_cwriter.offset * COMMAND_BYTES, "cmd": 0}),
        ])
        dropped = self.drop.valid
        m.d.comb += self.drop.ready.eq(1)
        _first_record(m, state.err_msi, written["GITS_ERR_MSI"][0], [
            (dropped, {"reason": self.drop.payload.reason,
                       "device_id": self.drop.payload.device_id,
                       "event_id": self.drop.payload.event_id}),
        ])
        return dropped

    def _counters(self, m, written, state, dropped, cwriter_oor):
        """The GITS_STAT_* counters."""
        increments = {
            "MSI_TRANSLATED": [self.translated],
            "MSI_DROPPED": [dropped],
            "CMD_EXECUTED": [self.executed],
            "CMD_ERRORS": [self.failure.valid],
            "TCACHE_HIT": [self.tcache_hit],
            "TCACHE_MISS": [self.tcache_miss],
            **{f"DROP_{reason.name}": [dropped & (self.drop.payload.reason == reason)]
               for reason in DropReason if reason is not DropReason.OK},
            "PARITY_ERRORS": [self.tcache_parity.valid, self.dcache_parity.valid],
        }
        # Events from the other blocks are registered first (they come from deep logic there:
        # the executor's retirement, the translator's hand-off) and counted a cycle later; a
        # clear drops the events registered in its cycle, which happened in the cycle before
        # it, so the count is the one made without the register, one cycle later. Events of
        # the register bus itself (CWRITER_OOR) are counted at once, as a bus access sees them.
        bus_events = {"CMD_ERRORS": cwriter_oor}
        for name, counter in state.counters.items():
            clear = written[f"GITS_STAT_{name}"][0]
            events = increments[name]
            counted = Signal(range(len(events) + 1), name=f"stat_{name.lower()}_events")
            m.d.sync += counted.eq(sum(events))
            if name in bus_events:
                # A write that clears this counter is not the GITS_CWRITER write of the event.
                m.d.sync += counter.eq(Mux(clear, 0, counter + (counted + bus_events[name])))
            else:
                m.d.sync += counter.eq(Mux(clear, 0, counter + counted))

    def _error_irq(self, m, cwriter_oor, dropped):
        """The error interrupt: one pulse per error, one a cycle."""
        errors = (self.failure.valid + cwriter_oor + dropped +
                  self.tcache_parity.valid + self.dcache_parity.valid)
        owed = Signal(4)
        m.d.comb += self.error_irq.eq(owed != 0)
        m.d.sync += owed.eq(owed + errors - self.error_irq)

    def _parity_registers(self, m, written, state):
        """GITS_ERR_PARITY (cache parity errors) and GITS_PARITY_INJECT (sent from a register)."""
        _first_record(m, state.err_parity, written["GITS_ERR_PARITY"][0], [
            (self.tcache_parity.valid, {"cache": CacheId.TRANSLATION,
                                        "index": self.tcache_parity.payload}),
            (self.dcache_parity.valid, {"cache": CacheId.DEVICE,
                                        "index": self.dcache_parity.payload}),
        ])
        strobe, value = written["GITS_PARITY_INJECT"]
        m.d.sync += [self.parity_inject.valid.eq(strobe), self.parity_inject.payload.eq(value)]

    def _query_registers(self, m, written, state):
        """GITS_QUERY / GITS_QUERY_RESULT.

        One query in flight at a time; a write while one is in flight makes its answer
        stale: it is dropped and the new request goes out after it.
        """
        query_request, query_result = state.query_request, state.query_result
        query_waiting = Signal()     # sent, its answer not back yet
        query_stale = Signal()       # the answer awaited is for an earlier request
        query_to_send = Signal()
        m.d.comb += [
            self.query.valid.eq(query_to_send & ~query_waiting),
            self.query.payload.device_id.eq(query_request.device_id),
            self.query.payload.event_id.eq(query_request.event_id),
            self.query_resp.ready.eq(1),
        ]
        with m.If(self.query.valid & self.query.ready):
            m.d.sync += [query_to_send.eq(0), query_waiting.eq(1)]
        with m.If(self.query_resp.valid):
            m.d.sync += [query_waiting.eq(0), query_stale.eq(0)]
            with m.If(~query_stale):
                m.d.sync += [query_result.eq(self.query_resp.payload), query_result.done.eq(1)]
        strobe, value = written["GITS_QUERY"]
        with m.If(strobe):
            m.d.sync += [query_request.eq(value), query_result.eq(0), query_to_send.eq(1)]
            with m.If(query_waiting & ~self.query_resp.valid):
                m.d.sync += query_stale.eq(1)

    def _cache_ctl(self, m, written):
        """GITS_CACHE_CTL."""
        with m.If(self.cache_inval_done):
            m.d.sync += self.cache_inval.eq(0)
        strobe, value = written["GITS_CACHE_CTL"]
        with m.If(strobe):
            m.d.sync += self.cache_disable.eq(CacheCtl(value).disable)
            with m.If(CacheCtl(value).invalidate):
                m.d.sync += self.cache_inval.eq(1)

    def _translater_register(self, m, written, msis, bus_err):
        """GITS_TRANSLATER: a write is an MSI into the FIFO; refused (SLVERR) when it is full."""
        strobe, value = written["GITS_TRANSLATER"]
        msi = Signal(MsiRequest)
        m.d.comb += [
            msi.device_id.eq(self.translater_device_id),
            msi.event_id.eq(value),
            msis.w_data.eq(msi),
            msis.w_en.eq(strobe),
            self.translater_room.eq(msis.w_rdy),
        ]
        with m.If(strobe & ~msis.w_rdy):
            m.d.sync += bus_err.eq(1)


class _State:
    """The register state the groups of :class:`Registers` share."""

    def __init__(self, regs):
        self.basers = {BASER_DEVICES: regs.baser_dev, BASER_COLLECTIONS: regs.baser_coll}
        self.err_cmd = Signal(ErrCmdRecord, name="err_cmd")
        self.err_msi = Signal(ErrMsiRecord, name="err_msi")
        self.err_parity = Signal(ErrParityRecord, name="err_parity")
        self.query_request = Signal(QueryRequest, name="query_request")
        self.query_result = Signal(QueryResponse, name="query_result")
        self.counters = {name: Signal(32, name=f"stat_{name.lower()}")
                         for name, _ in STAT_COUNTERS}


def _first_record(m, record, clear, events):
    """Update an error record: ``events`` is a list of ``(happened, {field: value})`` in
    priority order. The first event fills an empty record; any event while it holds one
    (or a second event in the same cycle) sets ``overflow``."""
    held = record.valid & ~clear
    any_event = Cat(happened for happened, _ in events).any()
    with m.If(clear):
        m.d.sync += record.eq(0)
    with m.If(held & any_event):
        m.d.sync += record.overflow.eq(1)
    for index, (happened, fields) in enumerate(events):
        with m.Elif(happened):
            m.d.sync += [getattr(record, name).eq(v) for name, v in fields.items()]
            m.d.sync += record.valid.eq(1)
            later = [h for h, _ in events[index + 1:]]
            if later:
                m.d.sync += record.overflow.eq(Cat(later).any())
