"""One redistributor: LPI pending state and configuration for one CPU, and its CPU interface."""

from amaranth.hdl import Module
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..bus.axi import Axi4LiteRegisterBridge, Axi4LiteSignature
from ..bus.mem import MemReadSignature, MemWriteSignature
from ..its.layouts import GicAck, GicPacket
from ..its.params import ItsParams
from .layouts import GicrTyper, LpiMove
from .lpi_cache import LpiCache
from .registers import AXIL_ADDR_BITS, GicrRegisters, RdOp, RegisterOp
from .sequencer import CpuInterfaceSignature, Sequencer
from .tables import TableEngine

__all__ = ["Redistributor", "CpuInterfaceSignature", "RdOp", "RegisterOp", "AXIL_ADDR_BITS"]


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

    Structure: an AXI4-Lite register bridge in front of
    :class:`~gic.hw.gicr.registers.GicrRegisters` (the GICR_* registers), a ``SyncFIFO``
    of ``op_depth`` :class:`RegisterOp` (the register work), the
    :class:`~gic.hw.gicr.lpi_cache.LpiCache` (the entries and everything derived from them,
    registered), the :class:`~gic.hw.gicr.tables.TableEngine` (every access to the property
    and pending tables) and the :class:`~gic.hw.gicr.sequencer.Sequencer` (the state
    machine); this class only wires them.

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
        The property and pending tables; one access in flight at a time. Each request's
        ``attr`` is the InnerCache/OuterCache of GICR_PROPBASER (property-table reads) or
        GICR_PENDBASER (pending-table reads and writes): docs/axi-attributes.md.
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
        m.submodules.bridge = bridge = Axi4LiteRegisterBridge(addr_width=AXIL_ADDR_BITS,
                                                              data_width=64)
        m.submodules.registers = registers = GicrRegisters(p, typer=self.typer)
        m.submodules.ops = ops = fifo.SyncFIFO(width=data.Layout.cast(RegisterOp).size,
                                               depth=self._op_depth)
        m.submodules.cache = cache = LpiCache(self._lpi_cache)
        m.submodules.tables = tables = TableEngine(scan_bits=len(registers.settings.scan_end))
        m.submodules.sequencer = sequencer = Sequencer(
            p, processor_number=self._processor_number, entries=self._lpi_cache)

        # The AXI4-Lite frame, the GICR_* registers and the queue of their work. A write
        # address is taken only while the queue has room, so the one write in flight always
        # finds it (the register bus cannot wait). Overrides the AW handshake connected here.
        wiring.connect(m, wiring.flipped(self.axil), bridge.axil)
        wiring.connect(m, bridge.regs, registers.bus)
        m.d.comb += [
            bridge.axil.awvalid.eq(self.axil.awvalid & ops.w_rdy),
            self.axil.awready.eq(bridge.axil.awready & ops.w_rdy),
            ops.w_en.eq(registers.work.valid),
            ops.w_data.eq(registers.work.payload),
            registers.work.ready.eq(ops.w_rdy),
            sequencer.work.valid.eq(ops.r_rdy),
            sequencer.work.payload.eq(ops.r_data),
            ops.r_en.eq(sequencer.work.ready),
            registers.work_pending.eq(ops.r_rdy | sequencer.work_running),
            sequencer.settings.eq(registers.settings),
        ]

        # The LPI cache and the table engine, driven by the sequencer.
        wiring.connect(m, sequencer.cache, cache)
        wiring.connect(m, sequencer.table_request, tables.request)
        wiring.connect(m, tables.done, sequencer.table_done)
        m.d.comb += [
            sequencer.table_config.eq(tables.config),
            tables.prop_base.eq(registers.settings.prop_base),
            tables.pend_base.eq(registers.settings.pend_base),
            tables.prop_attr.eq(registers.settings.prop_attr),
            tables.pend_attr.eq(registers.settings.pend_attr),
            tables.scan_end.eq(registers.settings.scan_end),
        ]
        wiring.connect(m, tables.mem_read, wiring.flipped(self.mem_read))
        wiring.connect(m, tables.mem_write, wiring.flipped(self.mem_write))

        # The sequencer's own ports are the redistributor's.
        for name in ("gic", "move_in", "cpu"):
            wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(sequencer, name))
        for name in ("ack", "move_out"):
            wiring.connect(m, getattr(sequencer, name), wiring.flipped(getattr(self, name)))
        m.d.comb += [
            self.sync_start.eq(sequencer.sync_start),
            self.move_quiet.eq(sequencer.move_quiet),
            self.idle.eq(sequencer.idle),
            sequencer.peers_done.eq(self.peers_done),
        ]
        return m
