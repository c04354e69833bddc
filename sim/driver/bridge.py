"""The host side of the board's UART bridge (docs/host-protocol.md).

Glasgow's shape: the gateware (``hw/boards/bridge.py``), an async host-side
interface here, and a CLI command (``its host``) on top.

* :class:`SerialTransport`: the bytes go over a serial port (``/dev/ttyUSB0``),
  configured raw 8N1 with ``termios`` (no extra dependency).
* :class:`SimTransport`: the bytes go into an Amaranth simulation of
  :class:`gic.hw.boards.top.ItsBoardTop` (the ITS, the redistributors and a CPU
  stand-in on each), through its UART pins or, faster, its byte
  streams (``host_link="stream"``); the host code then runs as a simulator
  testbench (:func:`simulate`).
* :class:`BridgeClient`: requests and responses, CRC, timeouts; every failure is
  one :class:`BridgeError`.
* :class:`BoardItsBus`: an :class:`gic.sim.driver.bus.ItsBus` on the board's GIC (the ITS frame
  at 0, the redistributors' frames after it) with the CPU side of :mod:`gic.sim.tools.gicdemo`,
  so the unchanged Linux-style drivers (:mod:`gic.sim.driver.its`, :mod:`gic.sim.driver.gicr`)
  bring up the ITS and the redistributors on the board.
"""

import abc
import os
import select
import time
from dataclasses import dataclass

from gic.hw.boards.bridge import (
    BOARD_MAGIC, CPU_MASK_BYTES, FILL_WORDS_MAX, LPI_RECORD_BYTES, LPI_RECORDS_MAX,
    MEM_WORDS_MAX, PROTOCOL_VERSION, SOF, BoardInfo, Opcode, Status, crc8,
)
from gic.hw.gicr.layouts import TakenInterrupt
from gic.sim.driver.bus import ItsBus, Taken
from gic.sim.models.commands import unpack

__all__ = ["BridgeError", "BridgeTimeout", "BridgeStatusError", "Transport", "SerialTransport",
           "SimTransport", "simulate", "BridgeClient", "BoardItsBus", "ErrorRecords"]

WORD = 8
"""Board memory moves in doublewords."""


class BridgeError(Exception):
    """The board did not do what was asked: no answer, a corrupt answer, or a failure status."""


class BridgeTimeout(BridgeError):
    """No complete answer within the timeout."""


class BridgeStatusError(BridgeError):
    """The board answered with a status other than OK.

    Members
    -------
    status : Status or int
    opcode : Opcode
    """

    def __init__(self, opcode, status, detail=""):
        name = status.name if isinstance(status, Status) else f"{status:#04x}"
        super().__init__(f"{opcode.name} answered {name}{detail}")
        self.opcode = opcode
        self.status = status


# ---------------------------------------------------------------------------------------------
# Transports

class Transport(abc.ABC):
    """A byte pipe to the bridge."""

    @abc.abstractmethod
    async def send(self, data):
        """Send the bytes ``data``."""

    @abc.abstractmethod
    async def receive(self, count, timeout):
        """Receive exactly ``count`` bytes within ``timeout`` seconds.

        Raises
        ------
        BridgeTimeout
            When they do not all arrive in time.
        """

    @abc.abstractmethod
    async def flush(self, quiet):
        """Wait until the line has been quiet for ``quiet`` seconds, discarding what arrives."""

    def close(self):
        """Release the link."""


class SerialTransport(Transport):
    """A serial port, raw 8N1, no flow control (POSIX ``termios``).

    Parameters
    ----------
    port : str
        Device path, e.g. ``/dev/ttyUSB0``.
    baud : int
        A rate ``termios`` knows (115200, 230400, 460800, 921600, 1000000, ...).

    Raises
    ------
    BridgeError
        When the port cannot be opened or configured, or the rate is unknown.
    """

    def __init__(self, port, baud=115200):
        import termios
        speed = getattr(termios, f"B{baud}", None)
        if speed is None:
            raise BridgeError(f"baud rate {baud} is not one the serial driver knows")
        try:
            self._fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as error:
            raise BridgeError(f"cannot open serial port {port}: {error.strerror}") from None
        try:
            attrs = termios.tcgetattr(self._fd)
            attrs[0] = 0                                            # iflag: raw input
            attrs[1] = 0                                            # oflag: raw output
            attrs[2] = termios.CS8 | termios.CREAD | termios.CLOCAL  # cflag: 8N1, no modem
            attrs[3] = 0                                            # lflag: no echo, no signals
            attrs[4] = attrs[5] = speed
            attrs[6][termios.VMIN] = 0
            attrs[6][termios.VTIME] = 0
            termios.tcsetattr(self._fd, termios.TCSANOW, attrs)
            termios.tcflush(self._fd, termios.TCIOFLUSH)
        except termios.error as error:
            os.close(self._fd)
            raise BridgeError(f"{port} is not a serial port ({error.args[-1]})") from None
        self.port = port
        self.baud = baud

    async def send(self, data):
        view = memoryview(bytes(data))
        while view:
            select.select([], [self._fd], [], 1.0)
            try:
                view = view[os.write(self._fd, view):]
            except BlockingIOError:
                continue
            except OSError as error:
                raise BridgeError(f"writing {self.port}: {error.strerror}") from None

    async def receive(self, count, timeout):
        data = bytearray()
        deadline = time.monotonic() + timeout
        while len(data) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BridgeTimeout(f"{len(data)} of {count} bytes within {timeout} s")
            readable, _, _ = select.select([self._fd], [], [], left)
            if readable:
                try:
                    chunk = os.read(self._fd, count - len(data))
                except BlockingIOError:
                    continue
                except OSError as error:
                    raise BridgeError(f"reading {self.port}: {error.strerror}") from None
                if not chunk:
                    raise BridgeError(f"{self.port} was closed")
                data += chunk
        return bytes(data)

    async def flush(self, quiet):
        while select.select([self._fd], [], [], quiet)[0]:
            try:
                if not os.read(self._fd, 4096):
                    return
            except BlockingIOError:
                continue

    def close(self):
        os.close(self._fd)


class SimTransport(Transport):
    """The bytes go into a running Amaranth simulation of :class:`gic.hw.boards.top.ItsBoardTop`.

    Use it from a testbench (see :func:`simulate`): every method awaits clock ticks of
    ``ctx``. With ``host_link="stream"`` a byte moves per cycle through the top's byte
    streams; with ``"uart"`` the bits are driven on ``uart_rx`` and decoded from ``uart_tx``
    at the top's UART divisor.

    Parameters
    ----------
    ctx : amaranth.sim testbench context
    top : gic.hw.boards.top.ItsBoardTop
    timeout_cycles : int
        Clock cycles that stand for any timeout the client asks for (seconds are
        meaningless in simulation).
    """

    def __init__(self, ctx, top, *, timeout_cycles=20_000):
        self.ctx = ctx
        self.top = top
        self.timeout_cycles = timeout_cycles
        self.cycles = 0

    async def _tick(self, *signals):
        self.cycles += 1
        _, _, *values = await self.ctx.tick().sample(*signals)
        return values

    async def send(self, data):
        ctx, top = self.ctx, self.top
        for byte in data:
            if top.host_link == "stream":
                ctx.set(top.host_rx.payload, byte)
                ctx.set(top.host_rx.valid, 1)
                for _ in range(self.timeout_cycles):
                    if (await self._tick(top.host_rx.ready))[0]:
                        break
                else:
                    ctx.set(top.host_rx.valid, 0)
                    raise BridgeTimeout(f"the bridge took no byte for {self.timeout_cycles} cycles")
                ctx.set(top.host_rx.valid, 0)
            else:
                for bit in [0, *((byte >> i) & 1 for i in range(8)), 1]:
                    ctx.set(top.uart_rx, bit)
                    for _ in range(top.divisor):
                        await self._tick()

    async def _receive_uart_byte(self, budget):
        top, divisor = self.top, self.top.divisor
        waited = 0
        while (await self._tick(top.uart_tx))[0]:
            waited += 1
            if waited >= budget:
                return None, waited
        for _ in range(divisor // 2):          # to the middle of the start bit
            await self._tick()
        byte = 0
        for index in range(8):
            for _ in range(divisor - 1):
                await self._tick()
            byte |= (await self._tick(top.uart_tx))[0] << index
        for _ in range(divisor):                # into the stop bit
            await self._tick()
        return byte, waited + 10 * divisor

    async def receive(self, count, timeout):
        top = self.top
        data = bytearray()
        budget = self.timeout_cycles
        if top.host_link == "stream":
            self.ctx.set(top.host_tx.ready, 1)
            while len(data) < count and budget:
                valid, payload = await self._tick(top.host_tx.valid, top.host_tx.payload)
                budget -= 1
                if valid:
                    data.append(payload)
            self.ctx.set(top.host_tx.ready, 0)
        else:
            while len(data) < count and budget > 0:
                byte, spent = await self._receive_uart_byte(budget)
                budget -= spent
                if byte is not None:
                    data.append(byte)
        if len(data) < count:
            raise BridgeTimeout(f"{len(data)} of {count} bytes within {self.timeout_cycles} "
                                f"cycles")
        return bytes(data)

    async def flush(self, quiet):
        try:
            while True:
                await self.receive(1, quiet)
        except BridgeTimeout:
            pass


def simulate(top, scenario, *, max_cycles=None):
    """Simulate ``top`` while ``scenario(transport)`` runs as its testbench; return its result.

    Parameters
    ----------
    top : gic.hw.boards.top.ItsBoardTop
    scenario : async function of a :class:`SimTransport`
    max_cycles : int or None
        Stop with ``TimeoutError`` after this many cycles.
    """
    from amaranth.sim import Simulator
    sim = Simulator(top)
    sim.add_clock(1 / top.clk_freq)
    result = {}

    async def testbench(ctx):
        result["value"] = await scenario(SimTransport(ctx, top))

    sim.add_testbench(testbench)
    if max_cycles is not None:
        async def watchdog(ctx):
            for _ in range(max_cycles):
                await ctx.tick()
            raise TimeoutError(f"the simulation still ran after {max_cycles} cycles")
        sim.add_testbench(watchdog, background=True)
    sim.run()
    return result["value"]


# ---------------------------------------------------------------------------------------------
# The protocol

@dataclass(frozen=True)
class ErrorRecords:
    """The ERR_READ answer.

    Members
    -------
    err_cmd, err_msi : int
        GITS_ERR_CMD and GITS_ERR_MSI as read (``gic.sim.driver.its.ItsDriver.read_error`` and
        ``read_msi_error`` decode them with ``ErrCmdRecord`` / ``ErrMsiRecord``).
    irq_pulses : int
        Rising edges of the ITS's error interrupt since the board started.
    """
    err_cmd: int
    err_msi: int
    irq_pulses: int


def _le(value, size):
    return value.to_bytes(size, "little")


class BridgeClient:
    """Requests to the board's bridge, one at a time.

    Parameters
    ----------
    transport : Transport
    timeout : float
        Seconds to wait for a whole response.
    quiet : float
        After a failed exchange, seconds of silence to wait for before the next request
        (longer than the bridge's frame timeout, 10 ms) so the bridge is back at SOF.

    Raises
    ------
    BridgeError
        From every method, for any failure (see :class:`BridgeTimeout`,
        :class:`BridgeStatusError`).
    """

    def __init__(self, transport, *, timeout=1.0, quiet=0.05):
        self.transport = transport
        self.timeout = timeout
        self.quiet = quiet
        self.requests = 0

    @staticmethod
    def frame(opcode, payload=b""):
        """The bytes of a request."""
        head = bytes([SOF, Opcode(opcode).value, len(payload)]) + bytes(payload)
        return head + bytes([crc8(head)])

    async def request(self, opcode, payload=b"", *, check=True):
        """Send a request and return ``(payload, status)`` of its response.

        Raises
        ------
        BridgeStatusError
            When ``check`` and the status is not OK.
        BridgeTimeout, BridgeError
            No answer, or a corrupt one.
        """
        opcode = Opcode(opcode)
        self.requests += 1
        try:
            await self.transport.send(self.frame(opcode, payload))
            head = await self.transport.receive(3, self.timeout)
            if head[0] != SOF or head[1] != opcode.value:
                raise BridgeError(f"{opcode.name}: the answer starts {head.hex()}, not "
                                  f"{SOF:02x}{opcode.value:02x}")
            rest = await self.transport.receive(head[2] + 2, self.timeout)
        except BridgeError:
            await self.transport.flush(self.quiet)
            raise
        if crc8(head + rest[:-1]) != rest[-1]:
            await self.transport.flush(self.quiet)
            raise BridgeError(f"{opcode.name}: the answer's CRC does not match")
        answer, status = rest[:-2], rest[-2]
        try:
            status = Status(status)
        except ValueError:
            pass
        if check and status != Status.OK:
            raise BridgeStatusError(opcode, status)
        return answer, status

    async def info(self):
        """The board's :class:`gic.hw.boards.bridge.BoardInfo`, as a dict.

        Raises
        ------
        BridgeError
            When the answer is not from an ITS board of this protocol version.
        """
        answer, _ = await self.request(Opcode.INFO)
        info = unpack(BoardInfo, int.from_bytes(answer, "little"))
        if info["magic"] != BOARD_MAGIC:
            raise BridgeError("the device answered, but not as an ITS board (bad magic)")
        if info["version"] != PROTOCOL_VERSION:
            raise BridgeError(f"the board speaks protocol version {info['version']}, "
                              f"this host {PROTOCOL_VERSION}: rebuild one of them")
        return info

    async def read_reg(self, offset, size=8):
        """Read the 4- or 8-byte GIC register at ``offset`` (ITS frame at 0, GICR frames after)."""
        opcode = {4: Opcode.READ32, 8: Opcode.READ64}[size]
        answer, _ = await self.request(opcode, _le(offset, 4))
        return int.from_bytes(answer, "little")

    async def write_reg(self, offset, value, size=8):
        """Write the 4- or 8-byte GIC register at ``offset``."""
        opcode = {4: Opcode.WRITE32, 8: Opcode.WRITE64}[size]
        await self.request(opcode, _le(offset, 4) + _le(value, size))

    async def read_words(self, addr, count):
        """Read ``count`` doublewords of board memory from 8-aligned ``addr`` (bytes)."""
        data = bytearray()
        while count:
            part = min(count, MEM_WORDS_MAX)
            answer, _ = await self.request(Opcode.MEM_READ, _le(addr, 4) + bytes([part]))
            data += answer
            addr += part * WORD
            count -= part
        return bytes(data)

    async def write_words(self, addr, data):
        """Write whole doublewords ``data`` (bytes, a multiple of 8) at 8-aligned ``addr``."""
        for start in range(0, len(data), MEM_WORDS_MAX * WORD):
            chunk = data[start:start + MEM_WORDS_MAX * WORD]
            await self.request(Opcode.MEM_WRITE, _le(addr + start, 4) + bytes(chunk))

    async def fill(self, addr, count, value=0):
        """Write the doubleword ``value`` to ``count`` doublewords from 8-aligned ``addr``."""
        while count:
            part = min(count, FILL_WORDS_MAX)
            await self.request(Opcode.MEM_FILL, _le(addr, 4) + _le(part, 2) + _le(value, 8))
            addr += part * WORD
            count -= part

    async def msi(self, device_id, event_id):
        """Send an MSI on the ITS's MSI stream."""
        await self.request(Opcode.MSI, _le(device_id, 4) + _le(event_id, 4))

    async def translate(self, device_id, event_id):
        """Write ``event_id`` to GITS_TRANSLATER with ``device_id`` on the sideband."""
        await self.request(Opcode.TRANSLATE, _le(device_id, 4) + _le(event_id, 4))

    async def lpis(self, limit=LPI_RECORDS_MAX):
        """Up to ``limit`` records of LPIs the CPUs took, oldest first: a list of
        :class:`gic.sim.tools.gicdemo.Taken`."""
        answer, _ = await self.request(Opcode.LPI_READ, bytes([limit]))
        records = []
        for start in range(0, len(answer), LPI_RECORD_BYTES):
            record = unpack(TakenInterrupt,
                            int.from_bytes(answer[start:start + LPI_RECORD_BYTES], "little"))
            records.append(Taken(record["cpu"], record["intid"], record["priority"]))
        return records

    async def cpu_mask(self, mask):
        """Set the CPU mask (bit ``n``: CPU ``n`` takes no interrupt); returns it as set."""
        answer, _ = await self.request(Opcode.CPU_MASK, _le(mask, CPU_MASK_BYTES))
        return int.from_bytes(answer, "little")

    async def drain_lpis(self):
        """Every record waiting in the board's LPI FIFO, as a list of :class:`Taken`."""
        records = []
        while True:
            part = await self.lpis()
            records += part
            if len(part) < LPI_RECORDS_MAX:
                return records

    async def errors(self):
        """GITS_ERR_CMD, GITS_ERR_MSI and the error interrupt count: :class:`ErrorRecords`."""
        answer, _ = await self.request(Opcode.ERR_READ)
        return ErrorRecords(err_cmd=int.from_bytes(answer[:8], "little"),
                            err_msi=int.from_bytes(answer[8:16], "little"),
                            irq_pulses=int.from_bytes(answer[16:20], "little"))


class BoardItsBus(ItsBus):
    """The GIC on the board, through its bridge: the drivers' :class:`gic.sim.driver.bus.ItsBus`.

    Register offsets reach the ITS frame (at 0) and the redistributors' frames
    (``0x20000 * (1 + n)``). Memory accesses of any alignment work (partial doublewords
    are read, merged and written back); runs of zero doublewords become MEM_FILL
    requests, so allocating a zeroed table costs one request. Each :meth:`idle` (a
    driver poll) drains the LPI FIFO, so the CPUs are never held back behind the
    driver's back. ``mask_cpus`` and ``take_interrupts`` are the CPU side of
    :mod:`gic.sim.tools.gicdemo`.

    Parameters
    ----------
    client : BridgeClient

    Members
    -------
    client : BridgeClient
    taken : list of Taken
        Records read from the board and not yet taken by :meth:`take_interrupts`.
    """

    def __init__(self, client):
        self.client = client
        self.taken = []

    async def read_reg(self, offset, size=8):
        return await self.client.read_reg(offset, size)

    async def write_reg(self, offset, value, size=8):
        await self.client.write_reg(offset, value, size)

    async def read_mem(self, addr, length):
        start = addr - addr % WORD
        words = -(-(addr + length - start) // WORD)
        data = await self.client.read_words(start, words)
        return data[addr - start:addr - start + length]

    async def write_mem(self, addr, data):
        data = bytes(data)
        start = addr - addr % WORD
        end = -(-(addr + len(data)) // WORD) * WORD
        if start != addr or end != addr + len(data):
            merged = bytearray(await self.client.read_words(start, (end - start) // WORD))
            merged[addr - start:addr - start + len(data)] = data
            data = bytes(merged)
        # Runs of zero doublewords are filled, the rest written.
        index, words = 0, len(data) // WORD
        while index < words:
            zero = data[index * WORD:(index + 1) * WORD] == bytes(WORD)
            run = index
            while run < words and (data[run * WORD:(run + 1) * WORD] == bytes(WORD)) == zero:
                run += 1
            if zero and run - index > 1:
                await self.client.fill(start + index * WORD, run - index)
            else:
                await self.client.write_words(start + index * WORD,
                                              data[index * WORD:run * WORD])
            index = run

    async def idle(self):
        self.taken += await self.client.drain_lpis()

    async def msi(self, device_id, event_id):
        await self.client.msi(device_id, event_id)

    async def mask_cpus(self, mask):
        await self.client.cpu_mask(mask)

    async def take_interrupts(self):
        """The LPIs the CPUs took since the last call, oldest first."""
        taken, self.taken = self.taken + await self.client.drain_lpis(), []
        return taken
