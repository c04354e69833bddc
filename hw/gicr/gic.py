"""The GIC: the ITS and one redistributor per CPU, joined by the GIC stream."""

from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..bus.axi import Axi4LiteSignature, Axi4MemoryMaster, Axi4Signature
from ..bus.mem import ADDR_BITS
from ..its.layouts import MsiRequest, QueryResponse
from ..its.params import ItsParams
from ..its.top import AXI_ID_BITS as ITS_ID_BITS, Its
from .interconnect import Axi4Join, Axi4LiteDecoder
from .layouts import LpiMove
from .redistributor import CpuInterfaceSignature, Redistributor
from .regmap import FRAME_BYTES

__all__ = ["Gic", "MoveRouter", "SyncBarrier", "generate_verilog"]


class MoveRouter(wiring.Component):
    """Carries each redistributor's ``move_out`` to the ``move_in`` of its ``target``.

    Each destination takes one move at a time; when several redistributors move to the
    same one, they take turns (the one after the last served goes first), and the
    chosen one holds the destination until its move is taken. A move whose target is
    not a redistributor is taken and dropped.

    Latency: a move is offered to its destination one cycle after it is offered (the
    choice is registered, so the payload and handshake go through one small mux); a
    destination takes at most one move every two cycles.

    Parameters
    ----------
    count : int
        Redistributors, 1..64.

    Members
    -------
    source : In(stream.Signature(LpiMove)).array(count)
        Each redistributor's ``move_out``.
    sink : Out(stream.Signature(LpiMove)).array(count)
        Each redistributor's ``move_in``.
    """

    def __init__(self, count):
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 64:
            raise ValueError(f"count must be an integer in 1..64, not {count!r}")
        self._count = count
        super().__init__({
            "source": In(stream.Signature(LpiMove)).array(count),
            "sink": Out(stream.Signature(LpiMove)).array(count),
        })

    def elaborate(self, platform):
        m = Module()
        count = self._count
        for source in self.source:
            with m.If(source.payload.target >= count):
                m.d.comb += source.ready.eq(1)
        for index, sink in enumerate(self.sink):
            wants = Cat(source.valid & (source.payload.target == index) for source in self.source)
            last = Signal(range(count), init=count - 1, name=f"sink{index}_last")
            granted = Signal(name=f"sink{index}_granted")
            owner = Signal(range(count), name=f"sink{index}_owner")
            # Round robin: the first one wanting after the last served. Only registers
            # depend on it: the payload mux and the handshake follow the registered owner.
            choice = Signal(range(count), name=f"sink{index}_choice")
            with m.Switch(last):
                for previous in range(count):
                    with m.Case(previous):
                        for offset in reversed(range(count)):
                            candidate = (previous + 1 + offset) % count
                            with m.If(wants[candidate]):
                                m.d.comb += choice.eq(candidate)
            with m.If(~granted & wants.any()):
                m.d.sync += [granted.eq(1), owner.eq(choice)]
            with m.Switch(owner):
                for number, source in enumerate(self.source):
                    with m.Case(number):
                        m.d.comb += [sink.valid.eq(granted & wants[number]),
                                     sink.payload.eq(source.payload)]
                        with m.If(granted & (source.payload.target == index)):
                            m.d.comb += source.ready.eq(sink.ready)
            with m.If(sink.valid & sink.ready):
                m.d.sync += [granted.eq(0), last.eq(owner)]
        return m


class SyncBarrier(wiring.Component):
    """Tells a redistributor holding a SYNC when the moves sent to it before have arrived.

    The ITS sends MOVLPI and MOVALL to the redistributor the pending state *leaves*,
    while software (Linux) SYNCs the one it goes *to*. So that the SYNC completes only
    once the moved state is there, a redistributor acknowledges a SYNC only when every
    other redistributor has, since the SYNC was taken, been seen with no move under way
    and either its GIC stream empty or ``drain_count`` more packets taken from it: then
    every packet the ITS queued for it before the SYNC (its queue holds at most
    ``drain_count``) has been handled, moves included. A SYNC taken anywhere restarts
    the observation (conservative when SYNCs overlap).

    Parameters
    ----------
    count : int
        Redistributors, 1..64.
    drain_count : int
        Packets the ITS queues per redistributor at most (its forwarder's queue depth).

    Members
    -------
    sync_start : In(count)
        Per redistributor: a SYNC is taken from its stream.
    move_quiet : In(count)
        Per redistributor: no move is under way.
    stream_valid, stream_taken : In(count)
        Per redistributor: its GIC stream offers a packet; a packet is taken.
    peers_done : Out(count)
        Per redistributor: every other one has been seen drained.
    """

    def __init__(self, count, *, drain_count=4):
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 64:
            raise ValueError(f"count must be an integer in 1..64, not {count!r}")
        if not isinstance(drain_count, int) or isinstance(drain_count, bool) or \
                not 1 <= drain_count <= 255:
            raise ValueError(f"drain_count must be an integer in 1..255, not {drain_count!r}")
        self._count = count
        self._drain_count = drain_count
        super().__init__({
            "sync_start": In(count),
            "move_quiet": In(count),
            "stream_valid": In(count),
            "stream_taken": In(count),
            "peers_done": Out(count),
        })

    def elaborate(self, platform):
        m = Module()
        drained = Signal(self._count)
        restart = self.sync_start.any()
        for index in range(self._count):
            taken = Signal(range(self._drain_count + 1), name=f"taken{index}")
            with m.If(restart):
                m.d.sync += [taken.eq(0), drained[index].eq(0)]
            with m.Else():
                with m.If(self.stream_taken[index] & (taken != self._drain_count)):
                    m.d.sync += taken.eq(taken + 1)
                with m.If(self.move_quiet[index] &
                          (~self.stream_valid[index] | (taken == self._drain_count))):
                    m.d.sync += drained[index].eq(1)
            others = Cat(drained[other] for other in range(self._count) if other != index)
            m.d.comb += self.peers_done[index].eq(others.all() if len(others) else 1)
        return m


class Gic(wiring.Component):
    """A GICv3 interrupt controller's LPI path: the ITS and ``num_redistributors`` redistributors.

    The ITS (:class:`gic.hw.its.top.Its`) sends each redistributor
    (:class:`gic.hw.gicr.redistributor.Redistributor`, processor number ``n``) its packets
    on ``gic[n]`` and takes its SYNC acknowledges on ``ack[n]``; the redistributors pass
    pending state to each other (MOVLPI, MOVALL) through a :class:`MoveRouter`; a
    :class:`SyncBarrier` holds a SYNC until the moves sent before it have arrived.

    Registers: one AXI4-Lite port, decoded by :class:`~gic.hw.gicr.interconnect.Axi4LiteDecoder`:
    the ITS frame (128 KiB) at 0x0, redistributor ``n``'s frame (RD_base, SGI_base) at
    ``0x20000 * (1 + n)``.

    Memory: the redistributors' read and write ports go through one
    :class:`~gic.hw.bus.axi.Axi4MemoryMaster` (redistributor ``n`` uses ID ``n``), joined with
    the ITS's AXI4 master by :class:`~gic.hw.gicr.interconnect.Axi4Join`: the top ID bit is
    0 for the ITS, 1 for the redistributors. The redistributors' requests carry the memory
    attributes of their tables (GICR_PROPBASER / GICR_PENDBASER InnerCache and OuterCache),
    which this master turns into ``ARCACHE`` / ``AWCACHE`` as the ITS's does
    (docs/axi-attributes.md).

    Parameters
    ----------
    params : ItsParams
    lpi_cache : int
        LPI cache entries per redistributor (see Redistributor).
    drain_count : int
        The ITS's packet queue depth per redistributor (see SyncBarrier).
    its : callable or None
        Makes the ITS from ``params``: :class:`gic.hw.its.top.Its` when None. Board tests pass a
        stand-in with the same ports (``query`` and ``query_resp`` may be missing: the
        Gic's then take nothing and answer nothing).

    Members
    -------
    axil : In(Axi4LiteSignature(addr_width=17 + ceil(log2(1 + num_redistributors))))
        Registers.
    translater_device_id : In(32)
    msi : In(stream.Signature(MsiRequest))
    query : In(stream.Signature(MsiRequest))
    query_resp : Out(stream.Signature(QueryResponse))
        As :class:`gic.hw.its.top.Its`.
    axi : Out(Axi4Signature(addr_width=48, data_width=params.mem_data_width, id_width=...))
        Memory: ID width one more than the wider of the ITS's (4) and the redistributors'.
    cpu : In(CpuInterfaceSignature()).array(num_redistributors)
        Each CPU's interface.
    error_irq : Out(1)
        The ITS's error interrupt.

    Raises
    ------
    TypeError
        If ``params`` is not an ItsParams.
    """

    def __init__(self, params, *, lpi_cache=16, drain_count=4, its=None):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        self._params = params
        n = params.num_redistributors
        rd_id_bits = max(1, (n - 1).bit_length())
        self.its = (Its if its is None else its)(params)
        self.redistributors = [Redistributor(params, processor_number=rd, lpi_cache=lpi_cache)
                               for rd in range(n)]
        self.rd_memory = Axi4MemoryMaster(read_clients=n, write_clients=n,
                                          data_width=params.mem_data_width,
                                          id_width=rd_id_bits, max_outstanding=1)
        self.join = Axi4Join(first_id_width=ITS_ID_BITS, second_id_width=rd_id_bits,
                             data_width=params.mem_data_width)
        self.decoder = Axi4LiteDecoder(frames=1 + n, frame_bytes=FRAME_BYTES, data_width=64)
        self.moves = MoveRouter(n)
        self.barrier = SyncBarrier(n, drain_count=drain_count)
        axil_addr_bits = (FRAME_BYTES * (1 + n) - 1).bit_length()
        super().__init__({
            "axil": In(Axi4LiteSignature(addr_width=axil_addr_bits, data_width=64)),
            "translater_device_id": In(32),
            "msi": In(stream.Signature(MsiRequest)),
            "query": In(stream.Signature(MsiRequest)),
            "query_resp": Out(stream.Signature(QueryResponse)),
            "axi": Out(Axi4Signature(addr_width=ADDR_BITS, data_width=params.mem_data_width,
                                     id_width=max(ITS_ID_BITS, rd_id_bits) + 1)),
            "cpu": In(CpuInterfaceSignature()).array(n),
            "error_irq": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        its, decoder, barrier = self.its, self.decoder, self.barrier
        m.submodules.its = its
        m.submodules.rd_memory = self.rd_memory
        m.submodules.join = self.join
        m.submodules.decoder = decoder
        m.submodules.moves = self.moves
        m.submodules.barrier = barrier

        # Registers: frame 0 the ITS, frame 1 + n redistributor n.
        wiring.connect(m, wiring.flipped(self.axil), decoder.axil)
        wiring.connect(m, decoder.frame[0], its.axil)

        # The ITS's other ports.
        wiring.connect(m, wiring.flipped(self.msi), its.msi)
        if "query" in its.signature.members:
            wiring.connect(m, wiring.flipped(self.query), its.query)
            wiring.connect(m, its.query_resp, wiring.flipped(self.query_resp))
        m.d.comb += [its.translater_device_id.eq(self.translater_device_id),
                     self.error_irq.eq(its.error_irq)]

        # Memory.
        wiring.connect(m, its.axi, self.join.first)
        wiring.connect(m, self.rd_memory.axi, self.join.second)
        wiring.connect(m, self.join.axi, wiring.flipped(self.axi))

        for rd, redistributor in enumerate(self.redistributors):
            m.submodules[f"rd{rd}"] = redistributor
            wiring.connect(m, decoder.frame[1 + rd], redistributor.axil)
            wiring.connect(m, its.gic[rd], redistributor.gic)
            wiring.connect(m, redistributor.ack, its.ack[rd])
            wiring.connect(m, redistributor.move_out, self.moves.source[rd])
            wiring.connect(m, self.moves.sink[rd], redistributor.move_in)
            wiring.connect(m, redistributor.mem_read, self.rd_memory.read[rd])
            wiring.connect(m, redistributor.mem_write, self.rd_memory.write[rd])
            wiring.connect(m, wiring.flipped(self.cpu[rd]), redistributor.cpu)
            m.d.comb += [
                barrier.sync_start[rd].eq(redistributor.sync_start),
                barrier.move_quiet[rd].eq(redistributor.move_quiet),
                barrier.stream_valid[rd].eq(its.gic[rd].valid),
                barrier.stream_taken[rd].eq(its.gic[rd].valid & its.gic[rd].ready),
                redistributor.peers_done.eq(barrier.peers_done[rd]),
            ]
        return m


def generate_verilog(params, path, **kwargs):
    """Write the Verilog of :class:`Gic` for ``params`` to ``path`` (module ``gic``).

    Returns
    -------
    Path
        Where it was written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(verilog.convert(Gic(params, **kwargs), name="gic"))
    return path
