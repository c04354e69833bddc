"""Redistributors at the far end of the ITS's GIC streams, for cocotb testbenches.

Each :class:`Redistributor` takes the packets of one ``gic[rd]`` stream (a cocotbext-axi
sink, so a backpressure generator can pause it), hands each to the scoreboard, and
acknowledges every SYNC on ``ack[rd]`` after a random delay, as a real redistributor
does once every earlier packet took effect.
"""

import random

import cocotb
from cocotb.triggers import ClockCycles

from gic.hw.its.layouts import GicAck, GicOp
from gic.sim.models.commands import pack
from gic.sim.models.its import Packet

from .monitors import cycle_now, high, watch
from .streams import PayloadBus, PayloadSink, PayloadSource, PayloadTransaction

__all__ = ["Redistributor"]


class Redistributor:
    """Sinks ``gic__<rd>`` and acknowledges SYNCs on ``ack__<rd>``.

    Parameters
    ----------
    dut : cocotb handle
    rd : int
        Redistributor number.
    clock, reset : cocotb handles
    on_packet : callable of (int, Packet)
        Called with ``(rd, packet)`` for every packet taken.
    ack_delay : (int, int)
        A SYNC is acknowledged this many cycles after it was taken, uniformly drawn.
    rng : random.Random

    Members
    -------
    sink : PayloadSink
        ``gic[rd]`` (pause it for backpressure).
    ack : PayloadSource
        ``ack[rd]`` (pause it for idle cycles).
    syncs : list of int
        Cycle (:func:`~gic.tb.common.monitors.cycle_now`) each SYNC was taken.
    acks : list of int
        Cycle each acknowledge was taken by the ITS.
    """

    def __init__(self, dut, rd, clock, reset, on_packet, *, ack_delay=(1, 20), rng=None):
        self.rd = rd
        self.clock = clock
        self.on_packet = on_packet
        self.ack_delay = ack_delay
        self.rng = rng or random.Random(rd)
        self.sink = PayloadSink(PayloadBus.from_prefix(dut, f"gic__{rd}_"), clock, reset)
        self.ack = PayloadSource(PayloadBus.from_prefix(dut, f"ack__{rd}_"), clock, reset)
        self.syncs = []
        self.acks = []
        cocotb.start_soon(self._run())
        watch(clock, self.ack.valid, self.acks.append, when=lambda: high(self.ack.ready))

    async def _run(self):
        while True:
            transaction = await self.sink.recv()
            packet = Packet.from_bits(int(transaction.payload))
            self.on_packet(self.rd, packet)
            if packet.op == GicOp.SYNC:
                self.syncs.append(cycle_now())
                cocotb.start_soon(self._acknowledge())

    async def _acknowledge(self):
        await ClockCycles(self.clock, self.rng.randint(*self.ack_delay))
        await self.ack.send(PayloadTransaction(payload=pack(GicAck, sync=1)))
