"""The table walker: (DeviceID, EventID) -> LPI and redistributor, from the tables in memory."""

from types import SimpleNamespace

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from ..bus.mem import ADDR_BITS, MemReadSignature, mem_attributes
from .collections import CollectionReadSignature, RD_BITS
from .geometry import (collection_exists, device_in_range, flat_entry_address, ite_address,
                       level1_entry_address, level2_entry_address, table_geometry)
from .layouts import (CollectionTableEntry, DeviceTableEntry, DropReason, GitsBaser, IttEntry,
                      Level1Entry)
from .params import ItsParams
from .tcache import DeviceCacheValue

__all__ = ["WalkRequest", "WalkResult", "Walker"]


class WalkRequest(data.Struct):
    """A translation to walk; ``dte`` is the device's valid DTE when ``dte_cached``."""
    device_id:  32
    event_id:   32
    dte_cached: 1
    dte:        DeviceCacheValue


class WalkResult(data.Struct):
    """The outcome of a walk.

    ``pintid`` and ``rd`` are meaningful when ``status`` is OK; ``dte`` when
    ``dte_read`` (a valid DTE was read from memory, so the device cache may keep it).
    """
    status:    DropReason
    pintid:    16
    rd:        RD_BITS
    device_id: 32
    event_id:  32
    dte_read:  1
    dte:       DeviceCacheValue


class _Table(enum.Enum, shape=2):
    """Which table entry a memory read fetches."""
    LEVEL1     = 0  #: level-1 entry of a two-level device table
    DEVICE     = 1  #: DTE
    ITT        = 2  #: ITE
    COLLECTION = 3  #: CTE


class Walker(wiring.Component):
    """Walks the tables of ``docs/behaviour.md`` for one translation at a time.

    In order: the DeviceID is in range (below ``2**device_bits``, BASER0 Valid,
    inside a flat table, or inside a two-level table and its level-1 entry
    Valid) else DEVICE_OOR; the DTE is Valid else UNMAPPED_DEVICE; the EventID
    is below ``2**(DTE.size+1)`` else EVENT_OOR; the ITE is Valid else
    UNMAPPED_INTERRUPT; the ITE's collection is mapped else UNMAPPED_COLLECTION.
    A collection below ``hcc`` is read on chip through ``coll``; one above it
    exists when it is below ``2**collection_bits`` and inside a Valid BASER1
    table, and is mapped when its CTE is Valid and names a redistributor below
    ``num_redistributors`` (as the reference model). A read answered with an
    error, or whose address needs more than :data:`gic.hw.bus.mem.ADDR_BITS` bits
    (the bus would answer DECERR), gives MEMORY_ERROR. With ``dte_cached``, the
    device table is not read and the walk starts at the EventID check.

    Reads are single doublewords (``count`` = 0), one at a time, each depending
    on the previous one: level-1 entry (two-level tables only), DTE (unless
    cached), ITE, CTE (ICIDs at or above ``hcc`` only).

    Latency: a request accepted on cycle *n* sends its first read on cycle
    *n* + 1; each following read is sent in the cycle the previous one's data
    arrives (if ``mem.req`` is ready), and the result is offered the cycle
    after the last data (or after the checks, if nothing is read):
    *n* + 2 + the sum of the memory round trips (request cycle to data cycle).

    Parameters
    ----------
    params : ItsParams
        ``device_bits``, ``collection_bits``, ``hcc`` and ``num_redistributors``.

    Members
    -------
    request : In(stream.Signature(WalkRequest))
        Translations to walk; ready when idle.
    result : Out(stream.Signature(WalkResult))
        One result per request; the walker takes no request until it is taken.
    mem : Out(MemReadSignature())
        Table reads.
    coll : Out(CollectionReadSignature())
        To the collection table's read port (ICIDs below ``hcc``).
    baser_dev : In(GitsBaser)
        GITS_BASER0, the device table.
    baser_coll : In(GitsBaser)
        GITS_BASER1, the collection table.

    Raises
    ------
    TypeError
        If ``params`` is not an :class:`ItsParams`.
    """

    request: In(stream.Signature(WalkRequest))
    result: Out(stream.Signature(WalkResult))
    mem: Out(MemReadSignature())
    coll: Out(CollectionReadSignature())
    baser_dev: In(GitsBaser)
    baser_coll: In(GitsBaser)

    def __init__(self, params):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        self._params = params
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        params = self._params

        request = Signal(WalkRequest)
        dte = Signal(DeviceCacheValue)
        dte_read = Signal()
        pintid = Signal(16)
        status = Signal(DropReason)
        rd = Signal(RD_BITS)
        table = Signal(_Table)       # what the outstanding read fetches
        read_addr = Signal(ADDR_BITS)  # the read waiting for mem.req.ready

        # The decision of this cycle (combinational): read an entry, or finish.
        read = Signal()
        read_table = Signal(_Table)
        read_next = Signal(ADDR_BITS)
        finish = Signal()
        finish_status = Signal(DropReason)
        finish_rd = Signal(RD_BITS)

        def finish_with(reason, target=0):
            m.d.comb += [finish.eq(1), finish_status.eq(reason), finish_rd.eq(target)]

        def read_entry(kind, address):
            def issue():
                m.d.comb += [read.eq(1), read_table.eq(kind), read_next.eq(address)]
            if len(address) <= ADDR_BITS:
                issue()
                return
            # An address beyond the bus is one the bus answers DECERR for.
            with m.If(address[ADDR_BITS:].any()):
                finish_with(DropReason.MEMORY_ERROR)
            with m.Else():
                issue()

        device_id = request.device_id
        dev = table_geometry(m, self.baser_dev, device_id, name="dev")
        coll_icid = Signal(16)
        coll = table_geometry(m, self.baser_coll, coll_icid, name="coll")

        def check_device():
            # Size + 1 pages of entries: flat, DTEs; two-level, level-1 entries.
            with m.If(~device_in_range(params, self.baser_dev, device_id, dev)):
                finish_with(DropReason.DEVICE_OOR)
            with m.Elif(self.baser_dev.indirect):
                read_entry(_Table.LEVEL1, level1_entry_address(dev.base, dev.page))
            with m.Else():
                read_entry(_Table.DEVICE, flat_entry_address(dev.base, device_id))

        def check_event(itt_addr, size):
            event_id = request.event_id
            with m.If((event_id >> (size + 1)).any()):
                finish_with(DropReason.EVENT_OOR)
            with m.Else():
                read_entry(_Table.ITT, ite_address(itt_addr, event_id))

        def check_collection(icid):
            m.d.comb += coll_icid.eq(icid)
            with m.If(icid < params.hcc):
                m.d.comb += self.coll.icid.eq(icid)
                with m.If(self.coll.mapped):
                    finish_with(DropReason.OK, self.coll.rd)
                with m.Else():
                    finish_with(DropReason.UNMAPPED_COLLECTION)
            with m.Elif(~collection_exists(params, self.baser_coll, icid, coll)):
                finish_with(DropReason.UNMAPPED_COLLECTION)
            with m.Else():
                read_entry(_Table.COLLECTION, flat_entry_address(coll.base, icid))

        def check_data(data_word):
            level1 = Level1Entry(data_word)
            entry = DeviceTableEntry(data_word)
            ite = IttEntry(data_word)
            cte = CollectionTableEntry(data_word)
            with m.Switch(table):
                with m.Case(_Table.LEVEL1):
                    with m.If(~level1.valid):
                        finish_with(DropReason.DEVICE_OOR)
                    with m.Else():
                        read_entry(_Table.DEVICE, level2_entry_address(level1.addr, dev.slot))
                with m.Case(_Table.DEVICE):
                    with m.If(~entry.valid):
                        finish_with(DropReason.UNMAPPED_DEVICE)
                    with m.Else():
                        m.d.sync += [
                            dte.itt_addr.eq(entry.itt_addr),
                            dte.size.eq(entry.size),
                            dte_read.eq(1),
                        ]
                        check_event(entry.itt_addr, entry.size)
                with m.Case(_Table.ITT):
                    with m.If(~ite.valid):
                        finish_with(DropReason.UNMAPPED_INTERRUPT)
                    with m.Else():
                        m.d.sync += pintid.eq(ite.intid)
                        check_collection(ite.icid)
                with m.Case(_Table.COLLECTION):
                    with m.If(~cte.valid | (cte.rdbase >= params.num_redistributors)):
                        finish_with(DropReason.UNMAPPED_COLLECTION)
                    with m.Else():
                        finish_with(DropReason.OK, cte.rdbase)

        def act_on_decision():
            with m.If(finish):
                m.d.sync += [status.eq(finish_status), rd.eq(finish_rd)]
                m.next = "WAIT_RESULT_TAKEN"
            with m.Elif(read):
                m.d.comb += [self.mem.req.valid.eq(1), self.mem.req.payload.addr.eq(read_next)]
                m.d.sync += [table.eq(read_table), read_addr.eq(read_next)]
                with m.If(self.mem.req.ready):
                    m.next = "WAIT_READ_DATA"
                with m.Else():
                    m.next = "WAIT_READ_READY"

        self._elaborate_fsm(m, SimpleNamespace(
            request=request, dte=dte, dte_read=dte_read, pintid=pintid, status=status, rd=rd,
            read_addr=read_addr, table=table, finish_with=finish_with, check_device=check_device,
            check_event=check_event, check_data=check_data, act_on_decision=act_on_decision))
        return m

    def _elaborate_fsm(self, m, s):
        """The result's payload and the state machine, given the registers and the checks
        of :meth:`elaborate` in ``s``."""
        request, dte, dte_read, pintid, status, rd, read_addr = (
            s.request, s.dte, s.dte_read, s.pintid, s.status, s.rd, s.read_addr)
        finish_with, check_device, check_event = s.finish_with, s.check_device, s.check_event
        check_data, act_on_decision = s.check_data, s.act_on_decision
        table = s.table

        m.d.comb += [
            self.result.payload.status.eq(status),
            self.result.payload.pintid.eq(pintid),
            self.result.payload.rd.eq(rd),
            self.result.payload.device_id.eq(request.device_id),
            self.result.payload.event_id.eq(request.event_id),
            self.result.payload.dte_read.eq(dte_read),
            self.result.payload.dte.eq(dte),
        ]

        with m.FSM():
            with m.State("WAIT_REQUEST"):
                m.d.comb += self.request.ready.eq(1)
                with m.If(self.request.valid):
                    m.d.sync += [
                        request.eq(self.request.payload),
                        dte.eq(self.request.payload.dte),
                        dte_read.eq(0),
                    ]
                    m.next = "CHECK"
            # The attributes of the read each state may make, from registers only: the
            # device table's (level-1 entries, DTEs, ITEs) but for a CTE, the collection
            # table's. CHECK reads a level-1 entry, a DTE or an ITE; WAIT_READ_DATA the
            # entry after ``table``'s (a CTE after an ITE); WAIT_READ_READY ``table``'s.
            dev_attr = mem_attributes(self.baser_dev)
            coll_attr = mem_attributes(self.baser_coll)
            with m.State("CHECK"):
                m.d.comb += self.mem.req.payload.attr.eq(dev_attr)
                with m.If(request.dte_cached):
                    check_event(dte.itt_addr, dte.size)
                with m.Else():
                    check_device()
                act_on_decision()
            with m.State("WAIT_READ_READY"):
                m.d.comb += [self.mem.req.valid.eq(1), self.mem.req.payload.addr.eq(read_addr),
                             self.mem.req.payload.attr.eq(
                                 Mux(table == _Table.COLLECTION, coll_attr, dev_attr))]
                with m.If(self.mem.req.ready):
                    m.next = "WAIT_READ_DATA"
            with m.State("WAIT_READ_DATA"):
                m.d.comb += [self.mem.resp.ready.eq(1),
                             self.mem.req.payload.attr.eq(
                                 Mux(table == _Table.ITT, coll_attr, dev_attr))]
                with m.If(self.mem.resp.valid):
                    with m.If(self.mem.resp.payload.error):
                        finish_with(DropReason.MEMORY_ERROR)
                    with m.Else():
                        check_data(self.mem.resp.payload.data)
                act_on_decision()
            with m.State("WAIT_RESULT_TAKEN"):
                m.d.comb += self.result.valid.eq(1)
                with m.If(self.result.ready):
                    m.next = "WAIT_REQUEST"

