"""The LPI forwarder: routes GIC stream packets to the redistributors, in order."""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import GicAck, GicOp, GicPacket, RoutedPacket
from .params import ItsParams

__all__ = ["Forwarder", "LPI_FIFO_DEPTH"]

LPI_FIFO_DEPTH = 2
"""Packets the FIFO on the forwarder's ``lpi`` input holds."""


class Forwarder(wiring.Component):
    """Routes the packets of the translator and the executor to one stream per redistributor.

    Each redistributor has its own FIFO, so a redistributor that applies
    backpressure holds up only its own packets. Per redistributor and per input,
    packets leave in the order the forwarder accepted them; a command's packet can
    overtake a translated one still waiting in the ``lpi`` FIFO, so where that order
    matters the executor waits for ``lpi_idle`` first (the formal proof
    ``forwarder_order`` states it so, docs/formal.md). When both inputs offer a
    packet for the same redistributor in one cycle, the one that lost the
    previous such tie goes first (round robin), so neither input starves.
    Packets for a redistributor that does not exist are accepted and dropped,
    so nothing hangs on a bad RDbase.

    The executor sends at most one SYNC at a time and waits for ``synced``:
    the redistributor acknowledges a SYNC once every packet sent to it
    before has taken effect (GICv3 GICR_SYNCR semantics).

    Latency: a packet accepted on cycle *n* is offered on ``gic[rd]`` on
    cycle *n* + 1.

    Parameters
    ----------
    params : ItsParams
        ``num_redistributors`` gives the number of output streams.
    depth : int
        Packets each redistributor's FIFO holds (at least 1).

    Members
    -------
    lpi : In(stream.Signature(RoutedPacket))
        Translated MSIs (SET packets) from the translator.
    cmd : In(stream.Signature(RoutedPacket))
        Packets of executed commands (SET, CLEAR, INV, INVALL, MOVLPI, MOVALL, SYNC).
    gic : Out(stream.Signature(GicPacket)).array(num_redistributors)
        One GIC stream per redistributor.
    ack : In(stream.Signature(GicAck)).array(num_redistributors)
        Each redistributor's acknowledge stream; always ready.
    synced : Out(1)
        Pulses for one cycle when a redistributor acknowledges the outstanding SYNC.
    idle : Out(1)
        No packet is queued and no SYNC awaits its acknowledge.
    lpi_idle : Out(1)
        No translated packet waits in the ``lpi`` FIFO (the executor waits for this and the
        translator's ``idle`` before it changes a mapping, so no packet of an MSI
        translated before can be overtaken by the command's packets).
    """

    def __init__(self, params, *, depth=4):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"depth must be a positive integer, not {depth!r}")
        self._params = params
        self._depth = depth
        n = params.num_redistributors
        super().__init__({
            "lpi": In(stream.Signature(RoutedPacket)),
            "cmd": In(stream.Signature(RoutedPacket)),
            "gic": Out(stream.Signature(GicPacket)).array(n),
            "ack": In(stream.Signature(GicAck)).array(n),
            "synced": Out(1),
            "idle": Out(1),
            "lpi_idle": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        n = self._params.num_redistributors
        width = data.Layout.cast(GicPacket).size

        queues = []
        for rd in range(n):
            queue = fifo.SyncFIFO(width=width, depth=self._depth)
            m.submodules[f"queue{rd}"] = queue
            queues.append(queue)
            m.d.comb += [
                self.gic[rd].valid.eq(queue.r_rdy),
                self.gic[rd].payload.eq(queue.r_data),
                queue.r_en.eq(self.gic[rd].ready),
            ]

        # The translator's packets wait in a FIFO whose ready (room) and valid are
        # registers; what competes for the redistributors' queues is its head.
        m.submodules.lpi_fifo = lpi_fifo = fifo.SyncFIFO(
            width=data.Layout.cast(RoutedPacket).size, depth=LPI_FIFO_DEPTH)
        lpi = stream.Signature(RoutedPacket).flip().create(path=("lpi_head",))
        m.d.comb += [
            lpi_fifo.w_data.eq(self.lpi.payload),
            lpi_fifo.w_en.eq(self.lpi.valid),
            self.lpi.ready.eq(lpi_fifo.w_rdy),
            lpi.valid.eq(lpi_fifo.r_rdy),
            lpi.payload.eq(lpi_fifo.r_data),
            lpi_fifo.r_en.eq(lpi.ready),
        ]
        inputs = (lpi, self.cmd)

        # Whether each input's packet can go into its redistributor's queue now.
        # A redistributor number beyond the last one always has room: the packet is dropped.
        def has_room(port):
            room = Signal()
            m.d.comb += room.eq(1)
            for rd, queue in enumerate(queues):
                with m.If(port.payload.rd == rd):
                    m.d.comb += room.eq(queue.w_rdy)
            return room

        offer = [Signal(name=f"offer_{i}") for i in range(2)]
        grant = [Signal(name=f"grant_{i}") for i in range(2)]
        cmd_first = Signal()     # who wins the next tie: 0 the translator, 1 the executor
        for port, o in zip(inputs, offer):
            m.d.comb += o.eq(port.valid & has_room(port))
        tie = offer[0] & offer[1] & (lpi.payload.rd == self.cmd.payload.rd)
        m.d.comb += [
            grant[0].eq(offer[0] & ~(tie & cmd_first)),
            grant[1].eq(offer[1] & ~(tie & ~cmd_first)),
            lpi.ready.eq(grant[0]),
            self.cmd.ready.eq(grant[1]),
        ]
        with m.If(tie):
            m.d.sync += cmd_first.eq(~cmd_first)

        sync_pending = Signal(n)
        for rd, queue in enumerate(queues):
            for port, g in zip(inputs, grant):
                with m.If(g & (port.payload.rd == rd)):
                    m.d.comb += [queue.w_en.eq(1), queue.w_data.eq(port.payload.packet)]
            sync_sent = Signal(name=f"sync_sent_{rd}")
            m.d.comb += sync_sent.eq(grant[1] & (self.cmd.payload.rd == rd) &
                                     (self.cmd.payload.packet.op == GicOp.SYNC))
            m.d.comb += self.ack[rd].ready.eq(1)
            with m.If(self.ack[rd].valid & self.ack[rd].payload.sync & sync_pending[rd]):
                m.d.sync += sync_pending[rd].eq(0)
                m.d.comb += self.synced.eq(1)
            with m.If(sync_sent):
                m.d.sync += sync_pending[rd].eq(1)

        m.d.comb += [
            self.lpi_idle.eq(~lpi_fifo.r_rdy),
            self.idle.eq((sync_pending == 0) & self.lpi_idle),
        ]
        for queue in queues:
            with m.If(queue.r_rdy):
                m.d.comb += self.idle.eq(0)
        return m
