"""Redistributors at the far end of the ITS's GIC streams, for simulation tests.

:class:`GicStreamSink` takes the packets of every ``gic[rd]`` stream (with
optional random backpressure), keeps them per redistributor as
:class:`gic.sim.models.its.Packet`, and acknowledges each SYNC on ``ack[rd]`` a few cycles
after taking it, so a test compares what each redistributor received with the
reference model's :attr:`gic.sim.models.its.ItsModel.packets`.
"""

import random

from gic.hw.its.layouts import GicOp
from gic.sim.models.its import Packet

__all__ = ["GicStreamSink"]


class GicStreamSink:
    """Sinks the GIC streams and acknowledges SYNCs, as a simulator process.

    Parameters
    ----------
    gic : list of interface
        The DUT's ``Out(stream.Signature(GicPacket))`` ports, one per redistributor.
    ack : list of interface
        The DUT's ``In(stream.Signature(GicAck))`` ports.
    backpressure : float
        Probability that a redistributor is not ready in a cycle.
    ack_delay : int
        Cycles from taking a SYNC to offering its acknowledge, >= 1.
    seed : int
        Seed of the backpressure choices.

    Members
    -------
    packets : list of list of Packet
        What each redistributor received, in order.
    acked : list of int
        SYNCs acknowledged, per redistributor.
    """

    def __init__(self, gic, ack, *, backpressure=0.0, ack_delay=3, seed=0):
        if len(gic) != len(ack):
            raise ValueError("gic and ack must have one port per redistributor")
        self.gic = list(gic)
        self.ack = list(ack)
        self.backpressure = backpressure
        self.ack_delay = ack_delay
        self.rng = random.Random(seed)
        self.packets = [[] for _ in self.gic]
        self.acked = [0] * len(self.gic)

    def take(self, rd):
        """The packets ``rd`` received since the last call."""
        taken, self.packets[rd] = self.packets[rd], []
        return taken

    async def run(self, ctx):
        """The process: add it with ``sim.add_process(model.run)``."""
        sampled = []
        for gic, ack in zip(self.gic, self.ack):
            sampled += [gic.valid, gic.ready, gic.payload, ack.valid, ack.ready]
        due = [[] for _ in self.gic]   # cycles at which each pending acknowledge is offered
        cycle = 0
        async for _, _, *values in ctx.tick().sample(*sampled):
            cycle += 1
            for rd, (valid, ready, payload, ack_valid, ack_ready) in enumerate(
                    zip(*[iter(values)] * 5)):
                if valid and ready:
                    packet = Packet(GicOp(payload.op), payload.lpi, payload.target)
                    self.packets[rd].append(packet)
                    if packet.op == GicOp.SYNC:
                        due[rd].append(cycle + self.ack_delay - 1)
                if ack_valid and ack_ready:
                    due[rd].pop(0)
                    self.acked[rd] += 1
                ctx.set(self.gic[rd].ready,
                        not (self.backpressure and self.rng.random() < self.backpressure))
                offer = bool(due[rd]) and due[rd][0] <= cycle
                ctx.set(self.ack[rd].valid, offer)
                ctx.set(self.ack[rd].payload, {"sync": 1})
