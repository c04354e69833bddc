"""The host bridge's frame receiver: a request frame off the byte stream, its CRC checked."""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .crc8 import crc8, crc8_next

__all__ = ["HEAD_BYTES", "ReceivedFrame", "FrameReceiver"]

HEAD_BYTES = 16
"""Payload bytes :class:`ReceivedFrame` carries (every byte also goes to the buffer)."""


class ReceivedFrame(data.Struct):
    """A request frame as :class:`FrameReceiver` received it."""
    opcode:       8
    length:       8
    head:         8 * HEAD_BYTES    # payload bytes 0..15, byte n at bits 8n+7..8n; 0 beyond
    bad_checksum: 1                 # the CRC byte did not match
    truncated:    1                 # no byte came for frame_timeout cycles (no CRC byte)


class FrameReceiver(wiring.Component):
    """Receives one request frame ``SOF opcode length payload[length] crc`` on ``rx``.

    Bytes before an SOF are discarded. The frame goes out on ``frame`` in the cycle
    after its CRC byte, with ``bad_checksum`` set if the CRC-8 of every byte before
    (SOF included) is not the CRC byte; or, if a started frame gets no byte for
    ``frame_timeout`` cycles, in the cycle after that, with ``truncated`` set.
    ``frame`` stays valid, and ``rx.ready`` low, until it is taken: the consumer
    takes it once done with it, and the receiver waits for the next SOF from the
    next cycle.

    Every payload byte is also written to a 256-byte buffer at its index; it reads
    on ``buffer_addr`` and answers on ``buffer_data`` in the next cycle.

    Parameters
    ----------
    sof : int
        The start-of-frame byte.
    frame_timeout : int
        Cycles without a byte after which a started frame is truncated, >= 1.

    Members
    -------
    rx : In(stream.Signature(8))
        Request bytes; ready while no frame waits on ``frame``.
    frame : Out(stream.Signature(ReceivedFrame))
        The frame received.
    buffer_addr : In(8)
        Payload byte to read.
    buffer_data : Out(8)
        The payload byte at the ``buffer_addr`` of the previous cycle.

    Raises
    ------
    ValueError
        If ``sof`` is not a byte or ``frame_timeout`` is not a positive integer.
    """

    def __init__(self, *, sof, frame_timeout):
        if not isinstance(sof, int) or not 0 <= sof <= 0xFF:
            raise ValueError(f"sof must be a byte value, not {sof!r}")
        if not isinstance(frame_timeout, int) or frame_timeout < 1:
            raise ValueError(f"frame_timeout must be a positive integer (cycles), "
                             f"not {frame_timeout!r}")
        self._sof = sof
        self._frame_timeout = frame_timeout
        super().__init__({
            "rx": In(stream.Signature(8)),
            "frame": Out(stream.Signature(ReceivedFrame)),
            "buffer_addr": In(8),
            "buffer_data": Out(8),
        })

    def elaborate(self, platform):
        m = Module()
        frame = self.frame.payload
        received = Signal(8)            # payload bytes received
        rx_crc = Signal(8)
        frame_timer = Signal(range(self._frame_timeout + 1))
        byte = self.rx.payload
        take = self.rx.valid & self.rx.ready

        m.submodules.payload = payload = Memory(shape=8, depth=256, init=[])
        payload_w = payload.write_port()
        payload_r = payload.read_port()
        m.d.comb += [
            payload_w.addr.eq(received),
            payload_w.data.eq(byte),
            payload_r.addr.eq(self.buffer_addr),
            self.buffer_data.eq(payload_r.data),
        ]

        def timed_receive(next_state):
            """Take a byte into the CRC and go on, or end the frame truncated if none comes."""
            m.d.comb += self.rx.ready.eq(1)
            with m.If(take):
                m.d.sync += [rx_crc.eq(crc8_next(rx_crc, byte)),
                             frame_timer.eq(self._frame_timeout)]
                m.next = next_state
            with m.Elif(frame_timer == 0):
                m.d.sync += [frame.truncated.eq(1), frame.bad_checksum.eq(0)]
                m.next = "DONE"
            with m.Else():
                m.d.sync += frame_timer.eq(frame_timer - 1)

        with m.FSM():
            with m.State("WAIT_SOF"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(take & (byte == self._sof)):
                    m.d.sync += [rx_crc.eq(crc8([self._sof])),
                                 frame_timer.eq(self._frame_timeout), received.eq(0),
                                 frame.head.eq(0), frame.opcode.eq(0), frame.length.eq(0)]
                    m.next = "WAIT_OPCODE"
            with m.State("WAIT_OPCODE"):
                timed_receive("WAIT_LENGTH")
                with m.If(take):
                    m.d.sync += frame.opcode.eq(byte)
            with m.State("WAIT_LENGTH"):
                timed_receive("WAIT_PAYLOAD")
                with m.If(take):
                    m.d.sync += frame.length.eq(byte)
                    with m.If(byte == 0):
                        m.next = "WAIT_CRC"
            with m.State("WAIT_PAYLOAD"):
                timed_receive("WAIT_PAYLOAD")
                with m.If(take):
                    m.d.comb += payload_w.en.eq(1)
                    with m.If(received < HEAD_BYTES):
                        m.d.sync += frame.head.word_select(received[:4], 8).eq(byte)
                    m.d.sync += received.eq(received + 1)
                    with m.If(received + 1 == frame.length):
                        m.next = "WAIT_CRC"
            with m.State("WAIT_CRC"):
                timed_receive("DONE")
                with m.If(take):
                    m.d.sync += [frame.bad_checksum.eq(byte != rx_crc), frame.truncated.eq(0)]
            with m.State("DONE"):
                m.d.comb += self.frame.valid.eq(1)
                with m.If(self.frame.ready):
                    m.next = "WAIT_SOF"
        return m
