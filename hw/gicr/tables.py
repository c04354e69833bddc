"""The redistributor's table engine: its accesses to the property and pending tables in memory."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from ..bus.mem import ADDR_BITS, MemAttributes, MemReadSignature, MemWriteSignature
from ..its.layouts import LPI_BASE
from .layouts import PENDING_BITS_PER_DW, LpiConfig
from .lpi_cache import lowest_set

__all__ = ["TableEngine", "TableOp", "TableRequest", "TableDone", "PENDING_DW_SHIFT",
           "FIRST_LPI_DW"]

PENDING_DW_SHIFT = (PENDING_BITS_PER_DW - 1).bit_length()   # INTID -> pending doubleword
FIRST_LPI_DW = LPI_BASE // PENDING_BITS_PER_DW               # doublewords below hold no LPI


class TableOp(enum.Enum, shape=3):
    """What a :class:`TableRequest` asks for."""
    CONFIG     = 0  #: read ``lpi``'s property byte into ``config``
    SET        = 1  #: set ``lpi``'s bit in the pending table (read-modify-write)
    CLEAR      = 2  #: clear ``lpi``'s bit in the pending table (read-modify-write)
    SCAN       = 3  #: find the first LPI set in the pending table, from INTID 8192
    SCAN_NEXT  = 4  #: find the next one (the scan's position is kept in between)
    SWEEP      = 5  #: as SCAN, clearing each doubleword in memory before handing out its LPIs
    SWEEP_NEXT = 6  #: the next LPI of the sweep


class TableRequest(data.Struct):
    op:  TableOp
    lpi: 16


class TableDone(data.Struct):
    """The end of a request. ``lpi``: the LPI found (SCAN*, SWEEP*, unless ``end``);
    ``was_set``: the bit was set before (SET, CLEAR); ``end``: the scan or sweep is over."""
    lpi:     16
    was_set: 1
    end:     1


class TableEngine(wiring.Component):
    """Reads and writes the LPI property table and pending table, one doubleword and one
    access at a time, for the redistributor's sequencer.

    A memory error reading a property byte reads it as 0 (disabled); reading a
    pending-table doubleword reads it as 0; a doubleword that does not change is not
    written (nor is one that read with an error). The answer of a read is registered
    before anything is decided on it.

    Parameters
    ----------
    scan_bits : int
        Width of ``scan_end``.

    Ports
    -----
    request : In(stream.Signature(TableRequest, always_ready=True))
        Taken only while the engine is idle (after ``done``); a SCAN_NEXT or SWEEP_NEXT
        only after a SCAN or SWEEP that did not end, with no other SCAN or SWEEP between.
    done : Out(stream.Signature(TableDone))
        One per request; ``valid`` until taken.
    config : Out(LpiConfig)
        The property byte of the last CONFIG, held until the next one.
    prop_base, pend_base : In(ADDR_BITS)
        The tables' base addresses.
    prop_attr, pend_attr : In(MemAttributes)
        The tables' memory attributes (GICR_PROPBASER / GICR_PENDBASER InnerCache and
        OuterCache): the ``attr`` of every property-table read, and of every pending-table
        read and write (docs/axi-attributes.md).
    scan_end : In(scan_bits)
        One past the last pending-table doubleword of LPIs.
    mem_read : Out(MemReadSignature())
    mem_write : Out(MemWriteSignature())
        Single-doubleword reads and writes.

    Latency
    -------
    A request taken at edge 0 puts its read request out in the cycle after. Memory
    answering a read ``R`` cycles after its request is taken and a write ``W`` cycles
    after, and no back-pressure, ``done`` is taken this many edges after the request:
    CONFIG ``R`` + 2; SET / CLEAR ``R`` + 3 without a write, ``R`` + ``W`` + 4 with one.
    SCAN (and SCAN_NEXT past the doubleword held) takes ``R`` + 2 per doubleword read, and
    1 to answer an LPI or the end; SCAN_NEXT with another LPI in the doubleword held
    answers after 1. SWEEP also writes 0 over each doubleword with LPIs (``W`` + 2 more)
    before handing them out.
    """

    def __init__(self, *, scan_bits):
        self._scan_bits = scan_bits
        super().__init__({
            "request": In(stream.Signature(TableRequest, always_ready=True)),
            "done": Out(stream.Signature(TableDone)),
            "config": Out(LpiConfig),
            "prop_base": In(ADDR_BITS),
            "pend_base": In(ADDR_BITS),
            "prop_attr": In(MemAttributes),
            "pend_attr": In(MemAttributes),
            "scan_end": In(scan_bits),
            "mem_read": Out(MemReadSignature()),
            "mem_write": Out(MemWriteSignature()),
        })

    def elaborate(self, platform):
        m = Module()
        rd, wr, done = self.mem_read, self.mem_write, self.done
        resp = rd.resp.payload
        cfg_lpi = Signal(16)            # the LPI of the CONFIG under way
        rmw_lpi = Signal(16)
        rmw_set = Signal()
        rmw_skip = Signal()
        rmw_was_set = Signal()
        rmw_bit = Signal(64)            # rmw_lpi's bit in its doubleword, a cycle after it
        m.d.sync += rmw_bit.eq(Const(1, 64) << rmw_lpi[:PENDING_DW_SHIFT])
        pending_dw_addr = self.pend_base + Cat(Const(0, 3), rmw_lpi >> PENDING_DW_SHIFT)
        prop_dw_addr = self.prop_base + Cat(Const(0, 3), (cfg_lpi - LPI_BASE)[3:])
        scan_index = Signal(self._scan_bits)
        scan_dw_addr = self.pend_base + Cat(Const(0, 3), scan_index)
        scan_dw = Signal(64)
        scan_dw_any = Signal()          # scan_dw != 0, registered with it
        write_addr = Signal(ADDR_BITS)
        write_data = Signal(64)
        m.d.comb += [
            rd.req.payload.count.eq(0),
            wr.req.payload.addr.eq(write_addr),
            wr.req.payload.data.eq(write_data),
            wr.req.payload.attr.eq(self.pend_attr),     # every write is to the pending table
            done.payload.lpi.eq(Cat(lowest_set(m, "scan_bit", scan_dw), scan_index)),
            done.payload.was_set.eq(rmw_was_set),
        ]

        def load_scan_dw(value):
            m.d.sync += [scan_dw.eq(value), scan_dw_any.eq(value != 0)]

        def read(addr, then, attr=self.pend_attr):
            """Ask for the doubleword at ``addr`` (of the table ``attr`` describes: the
            pending table unless told); go to ``then`` once the request is taken."""
            m.d.comb += [rd.req.valid.eq(1), rd.req.payload.addr.eq(addr),
                         rd.req.payload.attr.eq(attr)]
            with m.If(rd.req.ready):
                m.next = then

        def answer(**fields):
            """Hand ``done`` out (with ``fields``); back to idle when taken."""
            m.d.comb += done.valid.eq(1)
            m.d.comb += [getattr(done.payload, name).eq(value) for name, value in fields.items()]
            with m.If(done.ready):
                m.next = "IDLE"

        def write_states(name, then):
            """States ``name``, ``name_WAIT``: write ``write_data`` at ``write_addr``."""
            with m.State(name):
                m.d.comb += wr.req.valid.eq(1)
                with m.If(wr.req.ready):
                    m.next = f"{name}_WAIT"
            with m.State(f"{name}_WAIT"):
                m.d.comb += wr.resp.ready.eq(1)
                with m.If(wr.resp.valid):
                    m.next = then

        def next_dw(then):
            m.d.sync += scan_index.eq(scan_index + 1)
            m.next = then

        with m.FSM(name="tables"):
            with m.State("IDLE"):
                request = self.request.payload
                with m.If(self.request.valid):
                    with m.Switch(request.op):
                        with m.Case(TableOp.CONFIG):
                            m.d.sync += cfg_lpi.eq(request.lpi)
                            m.next = "CONFIG_READ"
                        with m.Case(TableOp.SET, TableOp.CLEAR):
                            m.d.sync += [rmw_lpi.eq(request.lpi),
                                         rmw_set.eq(request.op == TableOp.SET)]
                            m.next = "RMW_READ"
                        with m.Case(TableOp.SCAN):
                            m.d.sync += scan_index.eq(FIRST_LPI_DW)
                            m.next = "SCAN_READ"
                        with m.Case(TableOp.SWEEP):
                            m.d.sync += scan_index.eq(FIRST_LPI_DW)
                            m.next = "SWEEP_READ"
                        with m.Case(TableOp.SCAN_NEXT):
                            m.next = "SCAN_BITS"
                        with m.Case(TableOp.SWEEP_NEXT):
                            m.next = "SWEEP_BITS"

            # -- the property table --------------------------------------------------------
            with m.State("CONFIG_READ"):
                read(prop_dw_addr, "CONFIG_WAIT", self.prop_attr)
            with m.State("CONFIG_WAIT"):
                m.d.comb += rd.resp.ready.eq(1)
                with m.If(rd.resp.valid):
                    m.d.sync += self.config.eq(
                        Mux(resp.error, 0, resp.data.word_select(cfg_lpi[:3], 8)))
                    m.next = "CONFIG_DONE"
            with m.State("CONFIG_DONE"):
                answer()

            # -- read-modify-write of one pending-table bit --------------------------------
            with m.State("RMW_READ"):
                read(pending_dw_addr, "RMW_WAIT")
            with m.State("RMW_WAIT"):
                m.d.comb += rd.resp.ready.eq(1)
                was_set = (resp.data & rmw_bit).any()
                with m.If(rd.resp.valid):
                    m.d.sync += [rmw_was_set.eq(~resp.error & was_set),
                                 rmw_skip.eq(resp.error | (was_set == rmw_set)),
                                 write_addr.eq(pending_dw_addr),
                                 write_data.eq(Mux(rmw_set, resp.data | rmw_bit,
                                                   resp.data & ~rmw_bit))]
                    m.next = "RMW_CHECK"
            with m.State("RMW_CHECK"):
                # A state of its own: nothing is decided on the memory's answer as it comes.
                with m.If(rmw_skip):
                    m.next = "RMW_DONE"
                with m.Else():
                    m.next = "RMW_WRITE"
            write_states("RMW_WRITE", then="RMW_DONE")
            with m.State("RMW_DONE"):
                answer()

            # -- scan: hand out the LPIs set, one doubleword at a time; a sweep clears each
            # doubleword with LPIs in memory first ------------------------------------------
            for name in ("SCAN", "SWEEP"):
                with m.State(f"{name}_READ"):
                    with m.If(scan_index >= self.scan_end):
                        answer(end=1)
                    with m.Else():
                        read(scan_dw_addr, f"{name}_WAIT")
                with m.State(f"{name}_WAIT"):
                    m.d.comb += rd.resp.ready.eq(1)
                    with m.If(rd.resp.valid):
                        load_scan_dw(Mux(resp.error, 0, resp.data))
                        if name == "SWEEP":
                            m.d.sync += [write_addr.eq(scan_dw_addr), write_data.eq(0)]
                        m.next = f"{name}_CHECK" if name == "SWEEP" else f"{name}_BITS"
                if name == "SWEEP":
                    with m.State("SWEEP_CHECK"):
                        # Nothing set (or an error): nothing to clear in memory.
                        with m.If(~scan_dw_any):
                            next_dw("SWEEP_READ")
                        with m.Else():
                            m.next = "SWEEP_WRITE"
                    write_states("SWEEP_WRITE", then="SWEEP_BITS")
                with m.State(f"{name}_BITS"):
                    with m.If(~scan_dw_any):
                        next_dw(f"{name}_READ")
                    with m.Else():
                        answer()
                        with m.If(done.ready):
                            load_scan_dw(scan_dw & (scan_dw - 1))
        return m
