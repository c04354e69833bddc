"""A UART (8N1) with byte streams: the board's link to the host PC.

:class:`UartTx` sends each byte of its ``data`` stream on the ``tx`` line;
:class:`UartRx` samples the ``rx`` line and offers each byte received on its
``data`` stream. Both count bit times in clock cycles: ``divisor`` is the clock
frequency over the baud rate (:func:`uart_divisor` computes and checks it).
"""

from contextlib import contextmanager

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["uart_divisor", "UartTx", "UartRx", "MIN_DIVISOR", "MAX_BAUD_ERROR"]

MIN_DIVISOR = 4
"""The receiver samples mid-bit from a start edge: it needs at least 4 cycles a bit."""
MAX_BAUD_ERROR = 0.02
"""The most the achieved baud rate may differ from the one asked (8N1 tolerates ~4 % total)."""


def uart_divisor(clk_freq, baud):
    """Clock cycles per bit for ``baud`` at ``clk_freq`` Hz, rounded to the nearest.

    Raises
    ------
    ValueError
        If either is not positive, the clock is too slow for the baud rate (fewer than
        :data:`MIN_DIVISOR` cycles a bit) or the rounding error exceeds :data:`MAX_BAUD_ERROR`.
    """
    if not clk_freq > 0:
        raise ValueError(f"clk_freq must be positive, not {clk_freq!r}")
    if not baud > 0:
        raise ValueError(f"baud must be positive, not {baud!r}")
    divisor = round(clk_freq / baud)
    if divisor < MIN_DIVISOR:
        raise ValueError(f"baud {baud} is too fast for a {clk_freq / 1e6:g} MHz clock: the UART "
                         f"needs at least {MIN_DIVISOR} cycles a bit")
    error = abs(clk_freq / divisor - baud) / baud
    if error > MAX_BAUD_ERROR:
        raise ValueError(f"baud {baud} is {error:.1%} off at {clk_freq / 1e6:g} MHz "
                         f"(divisor {divisor}); at most {MAX_BAUD_ERROR:.0%} is allowed")
    return divisor


class _Uart(wiring.Component):
    """What the transmitter and the receiver share: ``divisor`` clock cycles a bit."""

    def __init__(self, *, divisor):
        if not isinstance(divisor, int) or isinstance(divisor, bool) or divisor < MIN_DIVISOR:
            raise ValueError(f"divisor must be an integer >= {MIN_DIVISOR} (clock cycles per "
                             f"bit), not {divisor!r}")
        self._divisor = divisor
        super().__init__()


@contextmanager
def _when_elapsed(m, timer):
    """The statements of the block take effect when ``timer`` is 0; until then it counts down."""
    with m.If(timer == 0):
        yield
    with m.Else():
        m.d.sync += timer.eq(timer - 1)


class UartTx(_Uart):
    """UART transmitter, 8 data bits, no parity, 1 stop bit, least significant bit first.

    Takes a byte from ``data`` when idle and shifts out start bit, 8 data bits and stop bit,
    ``divisor`` cycles each; ``tx`` idles high. A byte offered while the previous one is
    still being sent waits (``data.ready`` is high only when idle).

    Latency: ``tx`` falls (start bit) in the cycle after the byte is taken; one byte takes
    ``10 * divisor`` cycles, and the next may be taken in the cycle its stop bit ends.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit, >= 4.

    Members
    -------
    data : In(stream.Signature(8))
        Bytes to send.
    tx : Out(1)
        The serial line (idle high).
    busy : Out(1)
        A byte is being sent.

    Raises
    ------
    ValueError
        If ``divisor`` is not an integer >= 4.
    """

    data: In(stream.Signature(8))
    tx: Out(1, init=1)
    busy: Out(1)

    def elaborate(self, platform):
        m = Module()
        # Start bit (0), 8 data bits, stop bit (1): shifted out of ``frame`` from bit 0.
        frame = Signal(10, init=0x3FF)
        bits_left = Signal(range(11))
        timer = Signal(range(self._divisor))

        m.d.comb += [
            self.busy.eq(bits_left != 0),
            self.data.ready.eq(bits_left == 0),
        ]
        with m.If(self.data.valid & self.data.ready):
            m.d.sync += [
                frame.eq(self.data.payload << 1 | 1 << 9),
                bits_left.eq(10),
                timer.eq(self._divisor - 1),
                self.tx.eq(0),
            ]
        with m.Elif(bits_left != 0):
            with _when_elapsed(m, timer):
                m.d.sync += [
                    timer.eq(self._divisor - 1),
                    bits_left.eq(bits_left - 1),
                    frame.eq(frame >> 1 | 1 << 9),
                    # The stop bit's time ends with the line high (idle).
                    self.tx.eq(frame[1] | (bits_left == 1)),
                ]
        return m


class UartRx(_Uart):
    """UART receiver, 8N1, least significant bit first.

    ``rx`` goes through a two-flop synchronizer. A falling edge starts a byte; the start bit
    is checked half a bit later (a glitch shorter than that is ignored), then each data bit
    and the stop bit are sampled in the middle of their bit time. A byte whose stop bit
    reads 0 is dropped and pulses ``framing_error``; a byte completed while the previous one
    still waits in ``data`` is dropped and pulses ``overrun``.

    Latency: a byte is offered on ``data`` 2 cycles (synchronizer) plus about 9.5 bit times
    after its start edge.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit, >= 4.

    Members
    -------
    rx : In(1)
        The serial line, asynchronous to the clock.
    data : Out(stream.Signature(8))
        Bytes received.
    framing_error : Out(1)
        One-cycle pulse: a byte with a bad stop bit was dropped.
    overrun : Out(1)
        One-cycle pulse: a byte was dropped because ``data`` was not taken in time.

    Raises
    ------
    ValueError
        If ``divisor`` is not an integer >= 4.
    """

    rx: In(1, init=1)
    data: Out(stream.Signature(8))
    framing_error: Out(1)
    overrun: Out(1)

    def elaborate(self, platform):
        m = Module()
        line = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, line, init=1)

        timer = Signal(range(self._divisor))
        bits = Signal(8)
        count = Signal(range(8))

        with m.If(self.data.ready):
            m.d.sync += self.data.valid.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    m.d.sync += timer.eq(self._divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with _when_elapsed(m, timer):
                    m.d.sync += [timer.eq(self._divisor - 1), count.eq(0)]
                    m.next = "DATA"
                    with m.If(line):
                        m.next = "IDLE"      # a glitch, not a start bit
            with m.State("DATA"):
                with _when_elapsed(m, timer):
                    m.d.sync += [timer.eq(self._divisor - 1), bits.eq(line << 7 | bits >> 1),
                                 count.eq(count + 1)]
                    with m.If(count == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with _when_elapsed(m, timer):
                    with m.If(~line):
                        m.d.comb += self.framing_error.eq(1)
                    with m.Elif(self.data.valid & ~self.data.ready):
                        m.d.comb += self.overrun.eq(1)
                    with m.Else():
                        m.d.sync += [self.data.payload.eq(bits), self.data.valid.eq(1)]
                    # Back to IDLE mid stop bit: the next start edge may come half a bit later.
                    m.next = "IDLE"
        return m
