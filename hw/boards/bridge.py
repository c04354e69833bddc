"""The host bridge: a PC drives the GIC on the board through framed requests on a byte stream.

The protocol is described in docs/host-protocol.md; its constants, layouts and
checksum are defined here once and imported by the host side (``sim/driver/bridge.py``).

Request::

    SOF  opcode  length  payload[length]  crc

Response::

    SOF  opcode  length  payload[length]  status  crc

``crc`` is CRC-8 (polynomial 0x07, initial value 0, no reflection: the CRC-8 of
``b"123456789"`` is 0xF4) over every byte of the frame before it, SOF included.
Multi-byte fields are little-endian.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, enum, fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from gic.hw.bus.axi import Axi4LiteSignature, AxiResp
from gic.hw.bus.mem import MemReadSignature, MemWriteSignature
from gic.hw.gicr.layouts import PENDBASER_ALIGN, TakenInterrupt
from gic.hw.its.layouts import MsiRequest
from gic.hw.its.regmap import FRAME_BYTES, REG, TRANSLATER

__all__ = ["SOF", "PROTOCOL_VERSION", "BOARD_MAGIC", "MEM_WORDS_MAX", "LPI_RECORDS_MAX",
           "LPI_RECORD_BYTES", "FILL_WORDS_MAX", "CPU_MASK_BYTES", "Opcode", "Status", "BoardInfo", "REQUEST_LENGTHS",
           "mem_write_length", "crc8", "crc8_update", "HostBridge", "PENDING_STRIDE",
           "memory_windows"]

SOF = 0xA5
"""First byte of every request and every response."""
PROTOCOL_VERSION = 3
"""2 had one dense memory (no ``pending_window`` in INFO); 1 had no redistributors."""
BOARD_MAGIC = int.from_bytes(b"ITSB", "little")
"""First field of the INFO answer: this is an ITS board speaking this protocol."""
MEM_WORDS_MAX = 16
"""Doublewords one MEM_READ or MEM_WRITE moves."""
FILL_WORDS_MAX = 0xFFFF
"""Doublewords one MEM_FILL writes."""
LPI_RECORDS_MAX = 32
"""Records one LPI_READ returns."""
LPI_RECORD_BYTES = 5
"""An interrupt a CPU took: a :class:`gic.hw.gicr.layouts.TakenInterrupt` (40 bits) in 5 bytes."""
CPU_MASK_BYTES = 8
"""CPU_MASK's bitmap: bit ``n`` masks CPU ``n`` (64 CPUs at most, as redistributors)."""


class Opcode(enum.Enum, shape=8):
    """Request opcodes; a response repeats its request's opcode."""
    INFO      = 0x01  #: () -> BoardInfo: what the board is
    READ32    = 0x02  #: (addr:4) -> data:4: 32-bit GIC register read (ITS or GICR frame, 4-aligned)
    READ64    = 0x03  #: (addr:4) -> data:8: 64-bit GIC register read (8-aligned)
    WRITE32   = 0x04  #: (addr:4, data:4) -> (): 32-bit GIC register write
    WRITE64   = 0x05  #: (addr:4, data:8) -> (): 64-bit GIC register write
    MEM_READ  = 0x06  #: (addr:4, count:1) -> count doublewords of board memory (1..16)
    MEM_WRITE = 0x07  #: (addr:4, doubleword:8 x n) -> (): write n doublewords (1..16)
    MEM_FILL  = 0x08  #: (addr:4, count:2, value:8) -> (): write value to count doublewords
    MSI       = 0x09  #: (device_id:4, event_id:4) -> (): send an MSI on the ITS's MSI stream
    TRANSLATE = 0x0A  #: (device_id:4, event_id:4) -> (): write EventID to GITS_TRANSLATER as DeviceID
    LPI_READ  = 0x0B  #: (max:1) -> n records of 5 bytes: interrupts the CPUs took, oldest first
    ERR_READ  = 0x0C  #: () -> GITS_ERR_CMD:8, GITS_ERR_MSI:8, error_irq pulses:4
    CPU_MASK  = 0x0D  #: (mask:8) -> mask:8: bit n set: CPU n takes no interrupt


class Status(enum.Enum, shape=8):
    """The status byte that ends every response."""
    OK             = 0x00  #: done
    BAD_CHECKSUM   = 0x01  #: the request's CRC did not match; nothing was done
    UNKNOWN_OPCODE = 0x02  #: no such opcode; nothing was done
    BAD_LENGTH     = 0x03  #: the length does not fit the opcode; nothing was done
    TRUNCATED      = 0x04  #: the request stopped before its end (no byte for frame_timeout cycles)
    BAD_ARGUMENT   = 0x05  #: a misaligned or out-of-range address or count; nothing was done
    SLVERR         = 0x10  #: the ITS answered the register access with SLVERR
    DECERR         = 0x11  #: the ITS answered the register access with DECERR
    MEM_ERROR      = 0x12  #: a board-memory access fell outside the memory
    TIMEOUT        = 0x13  #: the ITS did not answer within bus_timeout cycles; reset the board


REQUEST_LENGTHS = {
    Opcode.INFO: 0, Opcode.READ32: 4, Opcode.READ64: 4, Opcode.WRITE32: 8, Opcode.WRITE64: 12,
    Opcode.MEM_READ: 5, Opcode.MEM_FILL: 14, Opcode.MSI: 8, Opcode.TRANSLATE: 8,
    Opcode.LPI_READ: 1, Opcode.ERR_READ: 0, Opcode.CPU_MASK: CPU_MASK_BYTES,
}
"""Payload bytes of each request of fixed length (MEM_WRITE: :func:`mem_write_length`)."""


def mem_write_length(words):
    """Payload bytes of a MEM_WRITE of ``words`` doublewords."""
    return 4 + 8 * words


PENDING_STRIDE = PENDBASER_ALIGN
"""Redistributor ``n``'s pending table starts ``n * PENDING_STRIDE`` bytes after
``mem_base``: GICR_PENDBASER takes 64 KiB aligned addresses."""


def memory_windows(*, mem_bytes, pending_window, redistributors):
    """The windows of the board memory: ``(offset from mem_base, bytes)``, by offset.

    The main window ``(0, mem_bytes)`` (pending table 0, the property table, the ITS's ring
    and tables), then, for each redistributor ``n >= 1`` whose pending table's place
    ``n * PENDING_STRIDE`` lies beyond the main window, a pending window
    ``(n * PENDING_STRIDE, pending_window)``. Both sides of the bridge derive the memory map
    from INFO's ``mem_bytes``, ``pending_window`` and ``num_redistributors`` with this.
    """
    return [(0, mem_bytes)] + [(n * PENDING_STRIDE, pending_window)
                               for n in range(1, redistributors)
                               if n * PENDING_STRIDE >= mem_bytes]


class BoardInfo(data.Struct):
    """The answer to INFO (34 bytes)."""
    magic:              32  # BOARD_MAGIC, b"ITSB"
    version:            8   # PROTOCOL_VERSION
    stand_in:           1   # 1: the board carries a stand-in for tests, not the ITS
    _flags:             7
    num_redistributors: 8   # redistributors, each with a CPU stand-in feeding the LPI FIFO
    _pad:               8
    lpi_depth:          16  # records the LPI FIFO holds
    clk_hz:             32  # ITS clock frequency
    baud:               32  # UART baud rate (0: no UART, a byte stream in simulation)
    mem_base:           64  # first byte address of the board memory
    mem_bytes:          32  # bytes of the main window of board memory, at mem_base
    pending_window:     32  # bytes of each pending window (memory_windows)


def crc8_update(crc, byte):
    """CRC-8 (polynomial 0x07) of ``crc`` followed by ``byte``, in Python."""
    crc ^= byte
    for _ in range(8):
        crc = (crc << 1 ^ 0x07 if crc & 0x80 else crc << 1) & 0xFF
    return crc


def crc8(data, crc=0):
    """CRC-8 (polynomial 0x07, initial value 0) of the bytes ``data``."""
    for byte in data:
        crc = crc8_update(crc, byte)
    return crc


def _crc8_next(crc, byte):
    """The hardware CRC-8 step: each output bit is the XOR of the input bits that feed it.

    CRC is linear in (crc, byte): the matrix comes from the Python function on unit vectors,
    so each bit is a 2-level XOR tree instead of 8 chained steps.
    """
    inputs = Cat(crc, byte)
    bits = []
    for out in range(8):
        taps = [i for i in range(16)
                if crc8_update((1 << i) & 0xFF, (1 << i) >> 8) >> out & 1]
        bits.append(Cat(*(inputs[i] for i in taps)).xor())
    return Cat(*bits)


class HostBridge(wiring.Component):
    """Executes framed host requests: GIC registers, board memory, MSIs, CPU masks, LPIs taken.

    Receives a request on ``rx``, checks its CRC, opcode and length, executes it and
    sends the response on ``tx`` (docs/host-protocol.md). One request at a time:
    ``rx.ready`` is low while a request executes. A frame whose bytes stop for
    ``frame_timeout`` cycles is answered TRUNCATED; after any bad frame the bridge
    discards bytes until the next SOF. Every wait on the ITS (register access, MSI
    acceptance) or on memory gives up after ``bus_timeout`` cycles with TIMEOUT (the
    handshake is abandoned: reset the board after one).

    Register accesses are 64-bit AXI4-Lite transfers: a 32-bit read picks its half
    of ``rdata`` by ``addr[2]``, a 32-bit write sets the half's ``wstrb``. The records of
    interrupts the CPUs took wait in a FIFO of ``lpi_depth`` entries fed by ``lpi``; a
    full FIFO holds the CPUs back (nothing is lost). CPU_MASK sets ``cpu_mask``.

    Latency: a request starts executing 1 cycle after its CRC byte; register accesses
    add the ITS's AXI4-Lite latency. The response's bytes follow back to back on ``tx``.

    Parameters
    ----------
    info : dict
        Fields of :class:`BoardInfo` other than ``magic``, ``version`` and ``lpi_depth``.
    addr_width : int
        Address bits of ``axil`` (default: the ITS frame, 17; the Gic's port is wider).
    lpi_depth : int
        Depth of the delivered-packet FIFO, 1..65535.
    frame_timeout : int
        Cycles without a byte after which a started frame is dropped (TRUNCATED), >= 1.
    bus_timeout : int
        Cycles the bridge waits on the ITS or memory before answering TIMEOUT, >= 1.

    Members
    -------
    rx : In(stream.Signature(8))
        Request bytes.
    tx : Out(stream.Signature(8))
        Response bytes.
    axil : Out(Axi4LiteSignature(addr_width=addr_width, data_width=64))
        To the GIC registers (the ITS frame at 0, the redistributors' frames after it).
    translater_device_id : Out(32)
        The DeviceID sideband of GITS_TRANSLATER writes (set by TRANSLATE).
    mem_read : Out(MemReadSignature())
    mem_write : Out(MemWriteSignature())
        To the board memory's bridge port.
    msi : Out(stream.Signature(MsiRequest))
        To the ITS's MSI port.
    lpi : In(stream.Signature(TakenInterrupt))
        Interrupts the CPUs took, into the FIFO.
    cpu_mask : Out(64)
        Bit ``n``: CPU ``n`` takes no interrupt (0 after reset).
    error_irq : In(1)
        The ITS's error interrupt; its rising edges are counted.
    busy : Out(1)
        A request is executing or its response is being sent.
    frame_error : Out(1)
        One-cycle pulse: a bad frame was answered.

    Raises
    ------
    ValueError
        If a parameter is out of range or ``info`` does not fit :class:`BoardInfo`.
    """

    def __init__(self, *, info, addr_width=FRAME_BYTES.bit_length() - 1, lpi_depth=512,
                 frame_timeout=1 << 20, bus_timeout=1 << 16):
        if not isinstance(addr_width, int) or not 17 <= addr_width <= 32:
            raise ValueError(f"addr_width must be an integer in 17..32 (the ITS frame is "
                             f"{FRAME_BYTES:#x} bytes), not {addr_width!r}")
        if not isinstance(lpi_depth, int) or not 1 <= lpi_depth <= 0xFFFF:
            raise ValueError(f"lpi_depth must be an integer in 1..65535, not {lpi_depth!r}")
        for name, value in (("frame_timeout", frame_timeout), ("bus_timeout", bus_timeout)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer (cycles), not {value!r}")
        try:
            self._info = BoardInfo.const(dict(info, magic=BOARD_MAGIC, version=PROTOCOL_VERSION,
                                              lpi_depth=lpi_depth)).as_value().value
        except (TypeError, ValueError) as error:
            raise ValueError(f"info does not fit BoardInfo: {error}") from None
        self._addr_width = addr_width
        self._lpi_depth = lpi_depth
        self._frame_timeout = frame_timeout
        self._bus_timeout = bus_timeout
        super().__init__({
            "rx": In(stream.Signature(8)),
            "tx": Out(stream.Signature(8)),
            "axil": Out(Axi4LiteSignature(addr_width=addr_width, data_width=64)),
            "translater_device_id": Out(32),
            "mem_read": Out(MemReadSignature()),
            "mem_write": Out(MemWriteSignature()),
            "msi": Out(stream.Signature(MsiRequest)),
            "lpi": In(stream.Signature(TakenInterrupt)),
            "cpu_mask": Out(64),
            "error_irq": In(1),
            "busy": Out(1),
            "frame_error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        axil = self.axil
        info_bytes = data.Layout.cast(BoardInfo).size // 8

        # -- submodules: the request payload buffer and the delivered-packet FIFO -----------------
        m.submodules.payload = payload = Memory(shape=8, depth=256, init=[])
        payload_w = payload.write_port()
        payload_r = payload.read_port()
        m.submodules.lpis = lpis = fifo.SyncFIFOBuffered(
            width=data.Layout.cast(TakenInterrupt).size, depth=self._lpi_depth)
        m.d.comb += [
            lpis.w_data.eq(self.lpi.payload),
            lpis.w_en.eq(self.lpi.valid),
            self.lpi.ready.eq(lpis.w_rdy),
        ]

        # -- the error interrupt counter -------------------------------------------------------
        irq_last = Signal()
        irq_count = Signal(32)
        m.d.sync += irq_last.eq(self.error_irq)
        with m.If(self.error_irq & ~irq_last):
            m.d.sync += irq_count.eq(irq_count + 1)

        # -- the response sender: up to 8 bytes at a time, CRC on the way ------------------------
        send_data = Signal(64)
        send_count = Signal(4)
        tx_crc = Signal(8)
        sender_idle = send_count == 0
        m.d.comb += [self.tx.valid.eq(~sender_idle), self.tx.payload.eq(send_data[:8])]
        with m.If(self.tx.valid & self.tx.ready):
            m.d.sync += [send_data.eq(send_data >> 8), send_count.eq(send_count - 1),
                         tx_crc.eq(_crc8_next(tx_crc, send_data[:8]))]

        def send(value, count):
            return [send_data.eq(value), send_count.eq(count)]

        def send_state(name, value, count, then):
            """State ``name``: send ``count`` bytes of ``value`` when the sender is idle, then
            go to ``then``."""
            with m.State(name):
                with m.If(sender_idle):
                    m.d.sync += send(value, count)
                    m.next = then

        # -- request state -------------------------------------------------------------------
        opcode = Signal(8)
        length = Signal(8)
        received = Signal(8)            # payload bytes received
        rx_crc = Signal(8)
        head = Signal(16 * 8)           # the first 16 payload bytes
        status = Signal(Status)
        frame_timer = Signal(range(self._frame_timeout + 1))
        bus_timer = Signal(range(self._bus_timeout + 1))
        bus_expired = bus_timer == 0
        byte = self.rx.payload
        take = self.rx.valid & self.rx.ready

        addr = Signal(32)               # register or memory address of the request
        count = Signal(16)              # doublewords or records left
        word = Signal(64)               # register data, memory doubleword, fill value
        respond_length = Signal(8)
        phase = Signal(2)               # ERR_READ: which of its three fields is next
        buffer_index = Signal(8)
        byte_index = Signal(3)
        aw_done = Signal()
        w_done = Signal()

        arg_addr = head[:32]
        arg_count8 = head[32:40]
        arg_count16 = head[32:48]
        arg_fill = head[48:112]
        arg_data = head[32:96]
        m.d.comb += [
            payload_w.addr.eq(received),
            payload_w.data.eq(byte),
            payload_r.addr.eq(buffer_index),
            axil.araddr.eq(addr),
            axil.awaddr.eq(addr),
            axil.arprot.eq(0),
            axil.awprot.eq(0),
            self.mem_read.req.payload.addr.eq(addr),
            self.mem_read.req.payload.count.eq(0),
            self.mem_write.req.payload.addr.eq(addr),
            self.mem_write.req.payload.data.eq(word),
            self.msi.payload.device_id.eq(head[:32]),
            self.msi.payload.event_id.eq(head[32:64]),
        ]
        with m.If(addr[2]):
            m.d.comb += axil.wstrb.eq(Mux(opcode == Opcode.WRITE64, 0xFF, 0xF0))
        with m.Else():
            m.d.comb += axil.wstrb.eq(Mux(opcode == Opcode.WRITE64, 0xFF, 0x0F))
        m.d.comb += axil.wdata.eq(Mux(opcode == Opcode.WRITE64, word, word[:32].replicate(2)))

        def bus_wait():
            return bus_timer.eq(self._bus_timeout)

        def fail(code):
            """Record ``code`` unless an earlier error is already recorded."""
            return status.eq(Mux(status == Status.OK, code, status))

        def mem_status(resp):
            """The Status of memory response ``resp``, which times out unless it is valid."""
            return Mux(~resp.valid, Status.TIMEOUT,
                       Mux(resp.payload.error, Status.MEM_ERROR, Status.OK))

        def else_time_out():
            """After an ``m.If`` on the answer: no answer in time ends the request with TIMEOUT."""
            with m.Elif(bus_expired):
                m.d.sync += fail(Status.TIMEOUT)
                m.next = "SEND_STATUS"

        def axi_status(resp):
            return Mux(resp == AxiResp.SLVERR, Status.SLVERR,
                       Mux(resp == AxiResp.DECERR, Status.DECERR, Status.OK))

        with m.If(~bus_expired):
            m.d.sync += bus_timer.eq(bus_timer - 1)

        m.d.comb += self.busy.eq(1)
        with m.FSM():
            # ---- receiving ------------------------------------------------------------------
            with m.State("WAIT_SOF"):
                m.d.comb += [self.rx.ready.eq(1), self.busy.eq(0)]
                with m.If(take & (byte == SOF)):
                    m.d.sync += [rx_crc.eq(crc8([SOF])), frame_timer.eq(self._frame_timeout),
                                 received.eq(0), head.eq(0), opcode.eq(0), length.eq(0)]
                    m.next = "WAIT_OPCODE"

            def timed_receive(next_state):
                """Take a byte into the CRC and go on, or answer TRUNCATED if none comes."""
                m.d.comb += [self.rx.ready.eq(1), self.busy.eq(0)]
                with m.If(take):
                    m.d.sync += [rx_crc.eq(_crc8_next(rx_crc, byte)),
                                 frame_timer.eq(self._frame_timeout)]
                    m.next = next_state
                with m.Elif(frame_timer == 0):
                    m.d.sync += [status.eq(Status.TRUNCATED), respond_length.eq(0)]
                    m.next = "SEND_HEADER"
                with m.Else():
                    m.d.sync += frame_timer.eq(frame_timer - 1)

            with m.State("WAIT_OPCODE"):
                timed_receive("WAIT_LENGTH")
                with m.If(take):
                    m.d.sync += opcode.eq(byte)
            with m.State("WAIT_LENGTH"):
                timed_receive("WAIT_PAYLOAD")
                with m.If(take):
                    m.d.sync += length.eq(byte)
                    with m.If(byte == 0):
                        m.next = "WAIT_CRC"
            with m.State("WAIT_PAYLOAD"):
                timed_receive("WAIT_PAYLOAD")
                with m.If(take):
                    m.d.comb += payload_w.en.eq(1)
                    with m.If(received < 16):
                        m.d.sync += head.word_select(received[:4], 8).eq(byte)
                    m.d.sync += received.eq(received + 1)
                    with m.If(received + 1 == length):
                        m.next = "WAIT_CRC"
            with m.State("WAIT_CRC"):
                timed_receive("CHECK")
                with m.If(take):
                    m.d.sync += status.eq(Mux(byte == rx_crc, Status.OK, Status.BAD_CHECKSUM))

            # ---- checking: the frame, then the arguments -------------------------------------
            with m.State("CHECK"):
                known = Signal()
                good_length = Signal()
                bad_argument = Signal()
                answer_length = Signal(8)
                lpi_count = Signal(8)
                m.d.comb += lpi_count.eq(Mux(lpis.level < head[:8], lpis.level, head[:8]))
                m.d.sync += [addr.eq(arg_addr), phase.eq(0), buffer_index.eq(4),
                             byte_index.eq(0), word.eq(0), count.eq(0)]
                with m.Switch(opcode):
                    for op in Opcode:
                        with m.Case(op):
                            m.d.comb += [
                                known.eq(1),
                                good_length.eq(self._good_length(op, length)),
                                bad_argument.eq(self._bad_argument(op, arg_addr, head)),
                                answer_length.eq(self._respond_length(op, head, lpi_count,
                                                                      info_bytes)),
                            ]
                            m.d.sync += count.eq({
                                Opcode.MEM_READ: arg_count8,
                                Opcode.MEM_WRITE: (length - 4) >> 3,
                                Opcode.MEM_FILL: arg_count16,
                                Opcode.LPI_READ: lpi_count,
                                Opcode.INFO: (info_bytes + 7) // 8,
                            }.get(op, 0))
                            if op == Opcode.MEM_FILL:
                                m.d.sync += word.eq(arg_fill)
                            elif op in (Opcode.WRITE32, Opcode.WRITE64):
                                m.d.sync += word.eq(arg_data)
                            elif op == Opcode.CPU_MASK:
                                m.d.sync += word.eq(head[:64])
                            elif op == Opcode.TRANSLATE:
                                m.d.sync += [word.eq(head[32:64]), addr.eq(TRANSLATER)]
                            elif op == Opcode.ERR_READ:
                                m.d.sync += addr.eq(REG["GITS_ERR_CMD"])
                m.d.sync += respond_length.eq(0)
                with m.If(status == Status.OK):
                    with m.If(~known):
                        m.d.sync += status.eq(Status.UNKNOWN_OPCODE)
                    with m.Elif(~good_length):
                        m.d.sync += status.eq(Status.BAD_LENGTH)
                    with m.Elif(bad_argument):
                        m.d.sync += status.eq(Status.BAD_ARGUMENT)
                    with m.Else():
                        m.d.sync += respond_length.eq(answer_length)
                m.next = "SEND_HEADER"

            # ---- responding -------------------------------------------------------------------
            with m.State("SEND_HEADER"):
                with m.If(sender_idle):
                    m.d.sync += [tx_crc.eq(0), bus_wait(),
                                 *send(Cat(Const(SOF, 8), opcode, respond_length), 3)]
                    with m.If(status != Status.OK):
                        m.next = "SEND_STATUS"
                    with m.Else():
                        with m.Switch(opcode):
                            with m.Case(Opcode.INFO):
                                m.next = "SEND_INFO"
                            with m.Case(Opcode.READ32, Opcode.READ64, Opcode.ERR_READ):
                                m.next = "WAIT_ARREADY"
                            with m.Case(Opcode.WRITE32, Opcode.WRITE64, Opcode.TRANSLATE):
                                m.d.sync += [aw_done.eq(0), w_done.eq(0)]
                                with m.If(opcode == Opcode.TRANSLATE):
                                    m.d.sync += self.translater_device_id.eq(head[:32])
                                m.next = "WAIT_AW_W_READY"
                            with m.Case(Opcode.MEM_READ):
                                m.next = "WAIT_MEM_READ_REQ"
                            with m.Case(Opcode.MEM_WRITE):
                                m.next = "FETCH_WORD_BYTE"
                            with m.Case(Opcode.MEM_FILL):
                                m.next = "WAIT_MEM_WRITE_REQ"
                            with m.Case(Opcode.MSI):
                                m.next = "WAIT_MSI_READY"
                            with m.Case(Opcode.LPI_READ):
                                m.next = "SEND_LPIS"
                            with m.Case(Opcode.CPU_MASK):
                                m.d.sync += self.cpu_mask.eq(word)
                                m.next = "SEND_CPU_MASK"

            with m.State("SEND_INFO"):
                chunks = (info_bytes + 7) // 8
                info = Const(self._info, chunks * 64)
                index = chunks - count
                with m.If(sender_idle):
                    with m.If(count == 0):
                        m.next = "SEND_STATUS"
                    with m.Else():
                        m.d.sync += [*send(info.word_select(index[:4], 64),
                                           Mux(count == 1, info_bytes - 8 * (chunks - 1), 8)),
                                     count.eq(count - 1)]

            # Register reads (READ32, READ64, and ERR_READ's two registers).
            with m.State("WAIT_ARREADY"):
                m.d.comb += axil.arvalid.eq(1)
                with m.If(axil.arready | bus_expired):
                    m.d.sync += bus_wait()
                    with m.If(~axil.arready):
                        m.d.sync += [fail(Status.TIMEOUT), word.eq(0)]
                        m.next = "SEND_READ_DATA"
                    with m.Else():
                        m.next = "WAIT_RVALID"
            with m.State("WAIT_RVALID"):
                m.d.comb += axil.rready.eq(1)
                with m.If(axil.rvalid):
                    m.d.sync += [word.eq(axil.rdata), fail(axi_status(axil.rresp))]
                    m.next = "SEND_READ_DATA"
                with m.Elif(bus_expired):
                    m.d.sync += [word.eq(0), fail(Status.TIMEOUT)]
                    m.next = "SEND_READ_DATA"
            with m.State("SEND_READ_DATA"):
                with m.If(sender_idle):
                    with m.If(opcode == Opcode.READ32):
                        m.d.sync += send(Mux(addr[2], word[32:], word[:32]), 4)
                        m.next = "SEND_STATUS"
                    with m.Elif(opcode == Opcode.READ64):
                        m.d.sync += send(word, 8)
                        m.next = "SEND_STATUS"
                    with m.Elif(phase == 0):
                        m.d.sync += [*send(word, 8), phase.eq(1), addr.eq(REG["GITS_ERR_MSI"]),
                                     bus_wait()]
                        m.next = "WAIT_ARREADY"
                    with m.Else():
                        m.d.sync += send(word, 8)
                        m.next = "SEND_IRQ_COUNT"
            send_state("SEND_IRQ_COUNT", irq_count, 4, then="SEND_STATUS")

            # Register writes (WRITE32, WRITE64, TRANSLATE): AW and W together, in any order.
            with m.State("WAIT_AW_W_READY"):
                m.d.comb += [axil.awvalid.eq(~aw_done), axil.wvalid.eq(~w_done)]
                aw_now = aw_done | axil.awready
                w_now = w_done | axil.wready
                m.d.sync += [aw_done.eq(aw_now), w_done.eq(w_now)]
                with m.If(aw_now & w_now):
                    m.d.sync += bus_wait()
                    m.next = "WAIT_BVALID"
                else_time_out()
            with m.State("WAIT_BVALID"):
                m.d.comb += axil.bready.eq(1)
                with m.If(axil.bvalid):
                    m.d.sync += fail(axi_status(axil.bresp))
                    m.next = "SEND_STATUS"
                else_time_out()

            # Board memory reads, one doubleword a request. The wait for the memory starts
            # once the previous doubleword has gone out.
            with m.State("WAIT_MEM_READ_REQ"):
                with m.If(~sender_idle):
                    m.d.sync += bus_wait()
                with m.Elif(count == 0):
                    m.next = "SEND_STATUS"
                with m.Else():
                    m.d.comb += self.mem_read.req.valid.eq(1)
                    with m.If(self.mem_read.req.ready):
                        m.d.sync += bus_wait()
                        m.next = "WAIT_MEM_READ_DATA"
                    with m.Elif(bus_expired):
                        m.d.sync += [fail(Status.TIMEOUT), *send(0, 8), addr.eq(addr + 8),
                                     count.eq(count - 1)]
            with m.State("WAIT_MEM_READ_DATA"):
                m.d.comb += self.mem_read.resp.ready.eq(1)
                with m.If(self.mem_read.resp.valid | bus_expired):
                    m.d.sync += [addr.eq(addr + 8), count.eq(count - 1),
                                 *send(Mux(self.mem_read.resp.valid,
                                           self.mem_read.resp.payload.data, 0), 8),
                                 fail(mem_status(self.mem_read.resp))]
                    m.next = "WAIT_MEM_READ_REQ"

            # Board memory writes: MEM_WRITE's doublewords come out of the payload buffer a
            # byte at a time (the buffer answers in the cycle after its address).
            with m.State("FETCH_WORD_BYTE"):
                with m.If(count == 0):
                    m.next = "SEND_STATUS"
                with m.Else():
                    m.next = "TAKE_WORD_BYTE"
            with m.State("TAKE_WORD_BYTE"):
                m.d.sync += [word.eq(Cat(word[8:], payload_r.data)),
                             buffer_index.eq(buffer_index + 1), byte_index.eq(byte_index + 1)]
                with m.If(byte_index == 7):
                    m.d.sync += bus_wait()
                    m.next = "WAIT_MEM_WRITE_REQ"
                with m.Else():
                    m.next = "FETCH_WORD_BYTE"
            with m.State("WAIT_MEM_WRITE_REQ"):
                with m.If(count == 0):
                    m.next = "SEND_STATUS"
                with m.Else():
                    m.d.comb += self.mem_write.req.valid.eq(1)
                    with m.If(self.mem_write.req.ready):
                        m.d.sync += bus_wait()
                        m.next = "WAIT_MEM_WRITE_DONE"
                    else_time_out()
            with m.State("WAIT_MEM_WRITE_DONE"):
                m.d.comb += self.mem_write.resp.ready.eq(1)
                with m.If(self.mem_write.resp.valid | bus_expired):
                    m.d.sync += [addr.eq(addr + 8), count.eq(count - 1), bus_wait(),
                                 fail(mem_status(self.mem_write.resp))]
                    with m.If(opcode == Opcode.MEM_WRITE):
                        m.next = "FETCH_WORD_BYTE"
                    with m.Else():
                        m.next = "WAIT_MEM_WRITE_REQ"

            with m.State("WAIT_MSI_READY"):
                m.d.comb += self.msi.valid.eq(1)
                with m.If(self.msi.ready):
                    m.next = "SEND_STATUS"
                else_time_out()

            with m.State("SEND_LPIS"):
                with m.If(sender_idle):
                    with m.If(count == 0):
                        m.next = "SEND_STATUS"
                    with m.Else():
                        m.d.comb += lpis.r_en.eq(1)
                        m.d.sync += [*send(lpis.r_data, LPI_RECORD_BYTES), count.eq(count - 1)]

            send_state("SEND_CPU_MASK", self.cpu_mask, CPU_MASK_BYTES, then="SEND_STATUS")
            send_state("SEND_STATUS", status, 1, then="SEND_CRC")
            send_state("SEND_CRC", tx_crc, 1, then="WAIT_SENT")
            with m.State("WAIT_SENT"):
                with m.If(sender_idle):
                    m.d.comb += self.frame_error.eq(
                        (status == Status.BAD_CHECKSUM) | (status == Status.UNKNOWN_OPCODE) |
                        (status == Status.BAD_LENGTH) | (status == Status.TRUNCATED))
                    m.next = "WAIT_SOF"
        return m

    @staticmethod
    def _good_length(op, length):
        """Whether ``length`` payload bytes fit ``op``."""
        if op == Opcode.MEM_WRITE:
            return ((length >= mem_write_length(1)) & (length <= mem_write_length(MEM_WORDS_MAX)) &
                    (length[:3] == 4))
        return length == REQUEST_LENGTHS[op]

    def _bad_argument(self, op, addr, head):
        """Whether the arguments of a well-formed ``op`` request are out of range."""
        beyond = addr[self._addr_width:] != 0
        if op == Opcode.READ32 or op == Opcode.WRITE32:
            return (addr[:2] != 0) | beyond
        if op == Opcode.READ64 or op == Opcode.WRITE64:
            return (addr[:3] != 0) | beyond
        if op == Opcode.MEM_READ:
            count = head[32:40]
            return (addr[:3] != 0) | (count == 0) | (count > MEM_WORDS_MAX)
        if op == Opcode.MEM_WRITE:
            return addr[:3] != 0
        if op == Opcode.MEM_FILL:
            return (addr[:3] != 0) | (head[32:48] == 0)
        if op == Opcode.LPI_READ:
            count = head[:8]
            return (count == 0) | (count > LPI_RECORDS_MAX)
        return Const(0)

    def _respond_length(self, op, head, lpi_count, info_bytes):
        """Payload bytes of the response to a well-formed ``op`` request."""
        if op == Opcode.INFO:
            return info_bytes
        if op == Opcode.READ32:
            return 4
        if op == Opcode.READ64:
            return 8
        if op == Opcode.MEM_READ:
            return head[32:40] << 3
        if op == Opcode.LPI_READ:
            return (lpi_count << 2) + lpi_count
        if op == Opcode.ERR_READ:
            return 20
        if op == Opcode.CPU_MASK:
            return CPU_MASK_BYTES
        return 0
