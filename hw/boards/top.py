"""The board top, independent of any board: the GIC (ITS + redistributors) + block RAM +
CPU stand-ins + host bridge + UART + LEDs.

::

    host PC ──UART──► UartRx ─► HostBridge ─► axil ─► Gic: ITS frame, GICR frames ─► axi ─► AxiBram
            ◄─UART── UartTx ◄─┘  │  │  │  └── msi ─►  │ (ITS + redistributors)          ▲
                                 │  │  └ mem_read / mem_write ────┼─────────────────────────┘
                                 │  └─ cpu_mask ─► CpuStandIn[n] ◄┘ cpu[n] (IAR, RPR, EOIR)
                                 └──◄─ LPI FIFO ◄──────┘ (cpu, INTID, priority) of each LPI taken

A board wrapper (``hw/boards/ulx3s.py``, ``hw/boards/ecpix5.py``) makes the ``sync``
clock domain and connects the UART pins and the LEDs.
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from gic.hw.gicr.cpu import CpuStandIn
from gic.hw.gicr.gic import Gic
from gic.hw.gicr.layouts import TakenInterrupt
from gic.hw.its.params import ItsParams

from .bram import WINDOW_BYTES, AxiBram
from .bridge import PENDING_STRIDE, HostBridge, memory_windows
from .uart import UartRx, UartTx, uart_divisor

__all__ = ["ItsBoardTop", "LED_NAMES", "HOST_LINKS", "TakenArbiter", "BOARD_LPI_CACHE",
           "MAIN_WINDOW_BYTES",
           "PENDING_WINDOW_BYTES", "MEM_BASE", "check_memory"]

HOST_LINKS = ("uart", "stream")
BOARD_LPI_CACHE = 4
"""LPI cache entries per redistributor on the board by default: the LPIs pending beyond
them wait in the pending table; 4 keeps each redistributor near 1,900 LUT4s instead of
3,100 with 16 (and the whole board quicker to route)."""

LED_NAMES = ("heartbeat", "host request", "MSI sent", "LPI taken by a CPU", "ITS error interrupt",
             "bad host frame", "LPI waiting (a CPU masked or the LPI FIFO full)",
             "stand-in ITS (not the ITS)")
"""What each bit of ``ItsBoardTop.leds`` shows, from bit 0."""


MEM_BASE = 0x4000_0000
"""Default first byte address of the block RAM (its main window)."""
MAIN_WINDOW_BYTES = 64 * 1024
"""Default main window of the block RAM: pending table 0, the property table and the ITS's
ring and tables (with LPIs of 14 INTID bits: 2 KiB, 8 KiB and 52 KiB for the ITS)."""
PENDING_WINDOW_BYTES = 8 * 1024
"""Default pending window of each other redistributor: a pending table for LPIs of up to
16 INTID bits (``2**16 / 8`` bytes)."""


def check_memory(*, mem_bytes, pending_window, mem_base):
    """Raise ValueError unless the block RAM's windows can be made of these (see
    :class:`ItsBoardTop`)."""
    if (not isinstance(mem_bytes, int) or mem_bytes & (mem_bytes - 1)
            or not WINDOW_BYTES[0] <= mem_bytes <= WINDOW_BYTES[1]):
        raise ValueError(f"mem_bytes must be a power of two from {WINDOW_BYTES[0]} to "
                         f"{WINDOW_BYTES[1]} bytes, not {mem_bytes!r}")
    if (not isinstance(pending_window, int) or pending_window & (pending_window - 1)
            or not WINDOW_BYTES[0] <= pending_window <= PENDING_STRIDE):
        raise ValueError(f"pending_window must be a power of two from {WINDOW_BYTES[0]} to "
                         f"{PENDING_STRIDE} bytes, not {pending_window!r}")
    if not isinstance(mem_base, int) or mem_base % max(mem_bytes, PENDING_STRIDE):
        raise ValueError(f"mem_base must be a multiple of {PENDING_STRIDE:#x} (pending "
                         f"tables are 64 KiB aligned, GICR_PENDBASER) and of mem_bytes, "
                         f"not {mem_base!r}")


class TakenArbiter(wiring.Component):
    """Merges the CPU stand-ins' records into one stream, round-robin, one record a cycle.

    Latency: combinational (a record is offered in the cycle one of the inputs offers it).

    Parameters
    ----------
    count : int
        Inputs, 1..64.

    Members
    -------
    source : In(stream.Signature(TakenInterrupt)).array(count)
    sink : Out(stream.Signature(TakenInterrupt))
    """

    def __init__(self, count):
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 64:
            raise ValueError(f"count must be an integer in 1..64, not {count!r}")
        self._count = count
        super().__init__({
            "source": In(stream.Signature(TakenInterrupt)).array(count),
            "sink": Out(stream.Signature(TakenInterrupt)),
        })

    def elaborate(self, platform):
        m = Module()
        count = self._count
        last = Signal(range(count), init=count - 1)
        grant = Signal(range(count))
        for offset in reversed(range(count)):
            for previous in range(count):
                index = (previous + 1 + offset) % count
                with m.If((last == previous) & self.source[index].valid):
                    m.d.comb += grant.eq(index)
        for index, source in enumerate(self.source):
            with m.If(grant == index):
                m.d.comb += [self.sink.valid.eq(source.valid),
                             self.sink.payload.eq(source.payload),
                             source.ready.eq(self.sink.ready)]
        with m.If(self.sink.valid & self.sink.ready):
            m.d.sync += last.eq(grant)
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
    """Everything the board carries: the GIC (ITS and redistributors) and what it needs.

    The :class:`gic.hw.gicr.gic.Gic` takes its registers from the host bridge (the ITS frame at
    0, redistributor ``n``'s frame at ``0x20000 * (1 + n)``) and its memory from the block
    RAM, which the bridge reaches through the RAM's second port. The block RAM is sparse
    (:func:`gic.hw.boards.bridge.memory_windows`): a main window of ``mem_bytes`` at
    ``mem_base``, and a window of ``pending_window`` bytes at ``mem_base + n * 64 KiB`` for
    each redistributor ``n`` whose pending table (64 KiB aligned, GICR_PENDBASER) would lie
    beyond the main window. Each CPU interface ends in a :class:`gic.hw.gicr.cpu.CpuStandIn`
    that takes every LPI signalled (acknowledge, record, end of interrupt) unless the host
    masked it; the records go to the bridge's LPI FIFO.

    Parameters
    ----------
    params : ItsParams
        The ITS build.
    clk_freq : float
        Frequency of the ``sync`` domain in Hz (UART divisor, timeouts, LED blinks).
    mem_bytes : int
        The main window of block RAM: pending table 0, the property table, the command ring
        and the ITS's tables; a power of two from 4 KiB (default :data:`MAIN_WINDOW_BYTES`).
    pending_window : int
        The window of block RAM for each other redistributor's pending table; a power of
        two from 4 KiB to 64 KiB (default :data:`PENDING_WINDOW_BYTES`).
    mem_base : int
        The main window's first byte address, aligned to 64 KiB and to ``mem_bytes``.
    baud : int
        UART baud rate.
    host_link : str
        ``"uart"``: the host talks through ``uart_rx`` / ``uart_tx`` pins. ``"stream"``:
        through the byte streams ``host_rx`` / ``host_tx`` instead, bypassing the UART
        (simulation).
    its : callable or None
        Makes the ITS from ``params`` inside the Gic: ``gic.hw.its.top.Its`` when None. Tests
        pass a stand-in with the same ports; a class with ``stand_in = True`` is reported as
        such to the host (INFO) and lights LED 7.
    lpi_cache : int
        LPI cache entries per redistributor (default :data:`BOARD_LPI_CACHE`).
    lpi_depth : int
        Records of LPIs taken the LPI FIFO holds.
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
        For a parameter out of range.
    """

    def __init__(self, *, params, clk_freq, mem_bytes=MAIN_WINDOW_BYTES,
                 pending_window=PENDING_WINDOW_BYTES, mem_base=MEM_BASE, baud=115200,
                 host_link="uart", its=None, lpi_cache=BOARD_LPI_CACHE, lpi_depth=512,
                 frame_timeout=None, bus_timeout=1 << 16):
        if not isinstance(params, ItsParams):
            raise ValueError(f"params must be an ItsParams, not {params!r}")
        if host_link not in HOST_LINKS:
            raise ValueError(f"host_link must be one of {', '.join(HOST_LINKS)}, "
                             f"not {host_link!r}")
        if not isinstance(clk_freq, (int, float)) or clk_freq <= 0:
            raise ValueError(f"clk_freq must be a positive frequency in Hz, not {clk_freq!r}")
        check_memory(mem_bytes=mem_bytes, pending_window=pending_window, mem_base=mem_base)
        self.divisor = uart_divisor(clk_freq, baud) if host_link == "uart" else None
        self.params = params
        self.clk_freq = clk_freq
        self.baud = baud if host_link == "uart" else 0
        self.host_link = host_link
        self.gic = Gic(params, lpi_cache=lpi_cache, its=its)
        self.stand_in = bool(getattr(self.gic.its, "stand_in", False))
        gic_members = self.gic.signature.members
        self.ram = AxiBram(windows=memory_windows(mem_bytes=mem_bytes,
                                                  pending_window=pending_window,
                                                  redistributors=params.num_redistributors),
                           base=mem_base,
                           data_width=gic_members["axi"].signature.data_width,
                           addr_width=gic_members["axi"].signature.addr_width,
                           id_width=gic_members["axi"].signature.id_width)
        self.bridge = HostBridge(
            info={"stand_in": int(self.stand_in), "num_redistributors": params.num_redistributors,
                  "clk_hz": int(clk_freq), "baud": self.baud, "mem_base": mem_base,
                  "mem_bytes": mem_bytes, "pending_window": pending_window},
            addr_width=gic_members["axil"].signature.addr_width,
            lpi_depth=lpi_depth,
            frame_timeout=int(clk_freq // 100) if frame_timeout is None else frame_timeout,
            bus_timeout=bus_timeout)
        self.cpus = [CpuStandIn(cpu=n) for n in range(params.num_redistributors)]
        self.taken = TakenArbiter(params.num_redistributors)
        members = {"leds": Out(len(LED_NAMES)), "error_irq": Out(1)}
        if host_link == "uart":
            members.update(uart_rx=In(1, init=1), uart_tx=Out(1, init=1))
        else:
            members.update(host_rx=In(stream.Signature(8)), host_tx=Out(stream.Signature(8)))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.gic = gic = self.gic
        m.submodules.ram = ram = self.ram
        m.submodules.bridge = bridge = self.bridge
        m.submodules.taken = taken = self.taken

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

        wiring.connect(m, bridge.axil, gic.axil)
        wiring.connect(m, bridge.msi, gic.msi)
        wiring.connect(m, gic.axi, ram.axi)
        wiring.connect(m, bridge.mem_read, ram.read)
        wiring.connect(m, bridge.mem_write, ram.write)
        waiting = []
        for n, cpu in enumerate(self.cpus):
            m.submodules[f"cpu{n}"] = cpu
            wiring.connect(m, cpu.cpu, gic.cpu[n])
            wiring.connect(m, cpu.record, taken.source[n])
            m.d.comb += cpu.mask.eq(bridge.cpu_mask[n])
            waiting.append(gic.cpu[n].irq & (cpu.mask | cpu.record.valid))
        wiring.connect(m, taken.sink, bridge.lpi)
        # The query port is for a hypervisor next to the ITS; the host uses GITS_QUERY.
        m.d.comb += [
            gic.query.valid.eq(0),
            gic.query_resp.ready.eq(1),
            gic.translater_device_id.eq(bridge.translater_device_id),
            bridge.error_irq.eq(gic.error_irq),
            self.error_irq.eq(gic.error_irq),
        ]

        # LEDs: events stretched to 50 ms blinks; a 1 Hz heartbeat shows the clock runs.
        blink = int(self.clk_freq // 20)
        events = [
            (host_rx.valid & host_rx.ready) | bridge.busy | (host_tx.valid & host_tx.ready),
            bridge.msi.valid & bridge.msi.ready,
            taken.sink.valid & taken.sink.ready,
            gic.error_irq,
            bridge.frame_error,
            Cat(waiting).any(),
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
