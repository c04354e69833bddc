"""The host bridge's response sender: up to 8 bytes at a time onto the byte stream, CRC on the way."""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .crc8 import crc8_next

__all__ = ["SendChunk", "ResponseSender"]


class SendChunk(data.Struct):
    """Bytes for :class:`ResponseSender` to send: the ``count`` low bytes of ``data``."""
    data:  64   # byte 0 (bits 7..0) goes out first
    count: 4    # 1..8


class ResponseSender(wiring.Component):
    """Sends chunks of up to 8 bytes on ``tx``, keeping the CRC-8 of every byte sent.

    A chunk is taken on ``load`` when the previous one has gone out (``load.ready`` is
    high when the sender is idle); its bytes follow on ``tx`` from the next cycle,
    low byte first, one a cycle while ``tx.ready`` is high. ``crc`` is the CRC-8
    (:func:`gic.hw.boards.crc8.crc8_next`) of the bytes sent since the last
    ``clear_crc``, updated in the cycle after each byte's transfer; ``clear_crc``
    sets it to 0 at the end of its cycle (over a byte sent in that cycle).

    Members
    -------
    load : In(stream.Signature(SendChunk))
        Chunks to send; ready while no byte is left to send.
    clear_crc : In(1)
        Restart ``crc`` (a response begins).
    crc : Out(8)
        CRC-8 of the bytes sent since ``clear_crc``.
    tx : Out(stream.Signature(8))
        The bytes.
    """

    def __init__(self):
        super().__init__({
            "load": In(stream.Signature(SendChunk)),
            "clear_crc": In(1),
            "crc": Out(8),
            "tx": Out(stream.Signature(8)),
        })

    def elaborate(self, platform):
        m = Module()
        send_data = Signal(64)
        send_count = Signal(4)
        m.d.comb += [
            self.load.ready.eq(send_count == 0),
            self.tx.valid.eq(send_count != 0),
            self.tx.payload.eq(send_data[:8]),
        ]
        with m.If(self.tx.valid & self.tx.ready):
            m.d.sync += [send_data.eq(send_data >> 8), send_count.eq(send_count - 1),
                         self.crc.eq(crc8_next(self.crc, send_data[:8]))]
        with m.If(self.load.valid & self.load.ready):
            m.d.sync += [send_data.eq(self.load.payload.data),
                         send_count.eq(self.load.payload.count)]
        with m.If(self.clear_crc):
            m.d.sync += self.crc.eq(0)
        return m
