"""The board top, independent of any board: ITS + block RAM + redistributor recorder +
host bridge + UART + LEDs.

::

    host PC ──UART──► UartRx ─► HostBridge ─► axil ──────────► ITS ─► axi ─► AxiBram
            ◄─UART── UartTx ◄─┘  │  │  └─ msi ─────────────────►  │             ▲
                                 │  └─ mem_read / mem_write ──────┼─────────────┘
                                 └──◄─ LPI FIFO ◄─ GicRecorder ◄──┘ gic[n] (acks SYNC)

A board wrapper (``hw/boards/ulx3s.py``, ``hw/boards/ecpix5.py``) makes the ``sync``
clock domain and connects the UART pins and the LEDs.
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.its.layouts import GicAck, GicOp, GicPacket, RoutedPacket
from hw.its.params import ItsParams

from .bram import AxiBram
from .bridge import HostBridge
from .uart import UartRx, UartTx, uart_divisor

__all__ = ["GicRecorder", "ItsBoardTop", "LED_NAMES", "HOST_LINKS", "its_top"]

HOST_LINKS = ("uart", "stream")
LED_NAMES = ("heartbeat", "host request", "MSI sent", "LPI delivered", "ITS error interrupt",
             "bad host frame", "LPI FIFO full", "stand-in ITS (not the ITS)")
"""What each bit of ``ItsBoardTop.leds`` shows, from bit 0."""


def its_top():
    """The ITS top class, ``hw.its.top.Its``.

    Raises
    ------
    ValueError
        When hw/its/top.py does not exist yet.
    """
    try:
        from hw.its.top import Its
    except ImportError as error:
        raise ValueError(f"the ITS top hw.its.top.Its cannot be imported ({error}); the board "
                         f"needs it") from None
    return Its


class GicRecorder(wiring.Component):
    """Stands for every redistributor: takes each GIC packet, acknowledges each SYNC at once,
    and records every packet (with its redistributor number) on one stream.

    Redistributors are served round-robin, one packet a cycle. A packet is taken only when
    ``record`` has room, so a full recording FIFO holds the ITS back rather than lose a
    packet; a SYNC is taken only when the previous acknowledge of its redistributor was
    delivered.

    Latency: a packet taken at a clock edge is offered on ``record`` in the next cycle; the
    acknowledge of a SYNC too.

    Parameters
    ----------
    num_redistributors : int
        1..64.

    Members
    -------
    gic : In(stream.Signature(GicPacket)).array(num_redistributors)
        From the ITS.
    ack : Out(stream.Signature(GicAck)).array(num_redistributors)
        To the ITS.
    record : Out(stream.Signature(RoutedPacket))
        Every packet taken, ``rd`` set to its redistributor.
    """

    def __init__(self, *, num_redistributors):
        if not isinstance(num_redistributors, int) or not 1 <= num_redistributors <= 64:
            raise ValueError(f"num_redistributors must be an integer in 1..64, "
                             f"not {num_redistributors!r}")
        self._count = num_redistributors
        super().__init__({
            "gic": In(stream.Signature(GicPacket)).array(num_redistributors),
            "ack": Out(stream.Signature(GicAck)).array(num_redistributors),
            "record": Out(stream.Signature(RoutedPacket)),
        })

    def elaborate(self, platform):
        m = Module()
        count = self._count
        # Whether each redistributor's packet may be taken now.
        eligible = Signal(count)
        room = ~self.record.valid | self.record.ready
        for rd in range(count):
            packet = self.gic[rd]
            is_sync = packet.payload.op == GicOp.SYNC
            m.d.comb += eligible[rd].eq(packet.valid & room & ~(is_sync & self.ack[rd].valid))
            m.d.comb += self.ack[rd].payload.sync.eq(1)
            with m.If(self.ack[rd].ready):
                m.d.sync += self.ack[rd].valid.eq(0)

        # Round-robin: the first eligible one after the last served.
        last = Signal(range(count), init=count - 1)
        grant = Signal(range(count))
        found = Signal()
        for offset in reversed(range(count)):
            for previous in range(count):
                rd = (previous + 1 + offset) % count
                with m.If((last == previous) & eligible[rd]):
                    m.d.comb += [grant.eq(rd), found.eq(1)]

        with m.If(self.record.ready):
            m.d.sync += self.record.valid.eq(0)
        with m.If(found):
            m.d.sync += [last.eq(grant), self.record.valid.eq(1),
                         self.record.payload.rd.eq(grant)]
            for rd in range(count):
                with m.If(grant == rd):
                    packet = self.gic[rd]
                    m.d.comb += packet.ready.eq(1)
                    m.d.sync += self.record.payload.packet.eq(packet.payload)
                    with m.If(packet.payload.op == GicOp.SYNC):
                        m.d.sync += self.ack[rd].valid.eq(1)
        return m


class _Stretch(wiring.Component):
    """Holds ``led`` high for ``cycles`` after each cycle ``pulse`` is high (visible blinks)."""

    pulse: In(1)
    led: Out(1)

    def __init__(self, cycles):
        self._cycles = max(1, cycles)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self._cycles + 1))
        m.d.comb += self.led.eq(timer != 0)
        with m.If(self.pulse):
            m.d.sync += timer.eq(self._cycles)
        with m.Elif(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        return m


class ItsBoardTop(wiring.Component):
    """Everything the board carries around the ITS, for any board.

    Parameters
    ----------
    params : ItsParams
        The ITS build.
    clk_freq : float
        Frequency of the ``sync`` domain in Hz (UART divisor, timeouts, LED blinks).
    mem_bytes : int
        Block RAM for the command ring and the tables (a power of two, default 64 KiB).
    mem_base : int
        Its first byte address, aligned to ``mem_bytes``.
    baud : int
        UART baud rate.
    host_link : str
        ``"uart"``: the host talks through ``uart_rx`` / ``uart_tx`` pins. ``"stream"``:
        through the byte streams ``host_rx`` / ``host_tx`` instead, bypassing the UART
        (simulation).
    its : callable or None
        Makes the ITS from ``params``: ``hw.its.top.Its`` when None. Tests pass a stand-in
        with the same ports; a class with ``stand_in = True`` is reported as such to the
        host (INFO) and lights LED 7.
    lpi_depth : int
        Packets the LPI FIFO holds.
    frame_timeout : int or None
        Cycles without a byte before the bridge drops a started request; default 10 ms.
    bus_timeout : int
        Cycles the bridge waits on the ITS or memory.

    Members
    -------
    uart_rx : In(1)
    uart_tx : Out(1)
        The serial line to the host (``host_link="uart"``).
    host_rx : In(stream.Signature(8))
    host_tx : Out(stream.Signature(8))
        The bridge's byte streams (``host_link="stream"``).
    leds : Out(8)
        See :data:`LED_NAMES`.
    error_irq : Out(1)
        The ITS's error interrupt, for a header pin.

    Raises
    ------
    ValueError
        For a parameter out of range, or when the ITS top does not exist yet.
    """

    def __init__(self, *, params, clk_freq, mem_bytes=64 * 1024, mem_base=0x4000_0000,
                 baud=115200, host_link="uart", its=None, lpi_depth=512, frame_timeout=None,
                 bus_timeout=1 << 16):
        if not isinstance(params, ItsParams):
            raise ValueError(f"params must be an ItsParams, not {params!r}")
        if host_link not in HOST_LINKS:
            raise ValueError(f"host_link must be one of {', '.join(HOST_LINKS)}, "
                             f"not {host_link!r}")
        if not isinstance(clk_freq, (int, float)) or clk_freq <= 0:
            raise ValueError(f"clk_freq must be a positive frequency in Hz, not {clk_freq!r}")
        self.divisor = uart_divisor(clk_freq, baud) if host_link == "uart" else None
        self.params = params
        self.clk_freq = clk_freq
        self.baud = baud if host_link == "uart" else 0
        self.host_link = host_link
        self.its = (its_top() if its is None else its)(params)
        self.stand_in = bool(getattr(self.its, "stand_in", False))
        its_members = self.its.signature.members
        self.ram = AxiBram(size=mem_bytes, base=mem_base,
                           data_width=its_members["axi"].signature.data_width,
                           addr_width=its_members["axi"].signature.addr_width,
                           id_width=its_members["axi"].signature.id_width)
        self.bridge = HostBridge(
            info={"stand_in": int(self.stand_in), "num_redistributors": params.num_redistributors,
                  "clk_hz": int(clk_freq), "baud": self.baud, "mem_base": mem_base,
                  "mem_bytes": mem_bytes},
            addr_width=its_members["axil"].signature.addr_width,
            lpi_depth=lpi_depth,
            frame_timeout=int(clk_freq // 100) if frame_timeout is None else frame_timeout,
            bus_timeout=bus_timeout)
        self.recorder = GicRecorder(num_redistributors=params.num_redistributors)
        members = {"leds": Out(len(LED_NAMES)), "error_irq": Out(1)}
        if host_link == "uart":
            members.update(uart_rx=In(1, init=1), uart_tx=Out(1, init=1))
        else:
            members.update(host_rx=In(stream.Signature(8)), host_tx=Out(stream.Signature(8)))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.its = its = self.its
        m.submodules.ram = ram = self.ram
        m.submodules.bridge = bridge = self.bridge
        m.submodules.recorder = recorder = self.recorder

        if self.host_link == "uart":
            m.submodules.uart_rx = uart_rx = UartRx(divisor=self.divisor)
            m.submodules.uart_tx = uart_tx = UartTx(divisor=self.divisor)
            m.d.comb += [uart_rx.rx.eq(self.uart_rx), self.uart_tx.eq(uart_tx.tx)]
            wiring.connect(m, uart_rx.data, bridge.rx)
            wiring.connect(m, bridge.tx, uart_tx.data)
            host_rx, host_tx = uart_rx.data, uart_tx.data
        else:
            wiring.connect(m, wiring.flipped(self.host_rx), bridge.rx)
            wiring.connect(m, bridge.tx, wiring.flipped(self.host_tx))
            host_rx, host_tx = self.host_rx, self.host_tx

        wiring.connect(m, bridge.axil, its.axil)
        wiring.connect(m, bridge.msi, its.msi)
        wiring.connect(m, its.axi, ram.axi)
        wiring.connect(m, bridge.mem_read, ram.read)
        wiring.connect(m, bridge.mem_write, ram.write)
        for rd in range(self.params.num_redistributors):
            wiring.connect(m, its.gic[rd], recorder.gic[rd])
            wiring.connect(m, recorder.ack[rd], its.ack[rd])
        wiring.connect(m, recorder.record, bridge.lpi)
        if "query" in its.signature.members:
            # The query port is for a hypervisor next to the ITS; the host uses GITS_QUERY.
            m.d.comb += [its.query.valid.eq(0), its.query_resp.ready.eq(1)]
        m.d.comb += [
            its.translater_device_id.eq(bridge.translater_device_id),
            bridge.error_irq.eq(its.error_irq),
            self.error_irq.eq(its.error_irq),
        ]

        # LEDs: events stretched to 50 ms blinks; a 1 Hz heartbeat shows the clock runs.
        blink = int(self.clk_freq // 20)
        events = [
            (host_rx.valid & host_rx.ready) | bridge.busy | (host_tx.valid & host_tx.ready),
            bridge.msi.valid & bridge.msi.ready,
            recorder.record.valid & recorder.record.ready
            & (recorder.record.payload.packet.op == GicOp.SET),
            its.error_irq,
            bridge.frame_error,
            recorder.record.valid & ~recorder.record.ready,
        ]
        leds = []
        for index, event in enumerate(events):
            stretch = m.submodules[f"led{index + 1}"] = _Stretch(blink)
            m.d.comb += stretch.pulse.eq(event)
            leds.append(stretch.led)
        heartbeat = Signal(range(max(2, int(self.clk_freq // 2))))
        heartbeat_led = Signal()
        with m.If(heartbeat == 0):
            m.d.sync += [heartbeat.eq(int(self.clk_freq // 2) - 1), heartbeat_led.eq(~heartbeat_led)]
        with m.Else():
            m.d.sync += heartbeat.eq(heartbeat - 1)
        m.d.comb += self.leds.eq(Cat(heartbeat_led, *leds, int(self.stand_in)))
        return m
