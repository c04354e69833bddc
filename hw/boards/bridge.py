"""The host bridge: a PC drives the GIC on the board through framed requests on a byte stream.

The protocol is described in docs/host-protocol.md; its constants and layouts are
defined here once, and its checksum in ``hw/boards/crc8.py`` (re-exported here), and
imported by the host side (``sim/driver/bridge.py``). The bridge is the request executor
of :class:`HostBridge` around a :class:`~gic.hw.boards.bridge_rx.FrameReceiver` and a
:class:`~gic.hw.boards.bridge_tx.ResponseSender`.

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
from amaranth.lib.wiring import In, Out

from gic.hw.bus.axi import Axi4LiteSignature, AxiResp
from gic.hw.bus.mem import MemReadSignature, MemWriteSignature
from gic.hw.gicr.layouts import PENDBASER_ALIGN, TakenInterrupt
from gic.hw.its.layouts import MsiRequest
from gic.hw.its.regmap import FRAME_BYTES, REG, TRANSLATER

from gic.hw.boards.bridge_rx import FrameReceiver
from gic.hw.boards.bridge_tx import ResponseSender
from gic.hw.boards.crc8 import crc8, crc8_update

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
        m.submodules.receiver = receiver = FrameReceiver(sof=SOF,
                                                         frame_timeout=self._frame_timeout)
        m.submodules.sender = sender = ResponseSender()
        wiring.connect(m, wiring.flipped(self.rx), receiver.rx)
        wiring.connect(m, sender.tx, wiring.flipped(self.tx))
        lpis = self._lpi_fifo(m)
        irq_count = self._irq_counter(m)
        r = _Request(m, self, receiver.frame, sender)
        self._drive_buses(m, r)
        m.d.comb += [receiver.buffer_addr.eq(r.buffer_index), self.busy.eq(receiver.frame.valid)]

        with m.FSM():
            with m.State("WAIT_FRAME"):
                self._take_frame(m, r, receiver.frame, lpis)
            with m.State("SEND_HEADER"):
                with m.If(r.sender_idle):
                    self._start_response(m, r, r.respond_length)
                    with m.If(r.status != Status.OK):
                        m.next = "SEND_STATUS"
                    with m.Else():
                        self._dispatch(m, r)
            self._info_state(m, r)
            self._register_read_states(m, r, irq_count)
            self._register_write_states(m, r)
            self._memory_read_states(m, r)
            self._memory_write_states(m, r, receiver)
            with m.State("WAIT_MSI_READY"):
                m.d.comb += self.msi.valid.eq(1)
                with m.If(self.msi.ready):
                    m.next = "SEND_STATUS"
                r.else_time_out()
            with m.State("SEND_LPIS"):
                with m.If(r.sender_idle):
                    with m.If(r.count == 0):
                        m.next = "SEND_STATUS"
                    with m.Else():
                        m.d.comb += [lpis.r_en.eq(1), *r.send(lpis.r_data, LPI_RECORD_BYTES)]
                        m.d.sync += r.count.eq(r.count - 1)
            r.send_state("SEND_CPU_MASK", self.cpu_mask, CPU_MASK_BYTES, then="SEND_STATUS")
            r.send_state("SEND_STATUS", r.status, 1, then="SEND_CRC")
            r.send_state("SEND_CRC", sender.crc, 1, then="WAIT_SENT")
            with m.State("WAIT_SENT"):
                with m.If(r.sender_idle):
                    m.d.comb += [
                        receiver.frame.ready.eq(1),
                        self.frame_error.eq(
                            (r.status == Status.BAD_CHECKSUM) |
                            (r.status == Status.UNKNOWN_OPCODE) |
                            (r.status == Status.BAD_LENGTH) | (r.status == Status.TRUNCATED)),
                    ]
                    m.next = "WAIT_FRAME"
        return m

    def _lpi_fifo(self, m):
        """The FIFO of interrupts the CPUs took, fed by ``lpi``."""
        m.submodules.lpis = lpis = fifo.SyncFIFOBuffered(
            width=data.Layout.cast(TakenInterrupt).size, depth=self._lpi_depth)
        m.d.comb += [
            lpis.w_data.eq(self.lpi.payload),
            lpis.w_en.eq(self.lpi.valid),
            self.lpi.ready.eq(lpis.w_rdy),
        ]
        return lpis

    def _irq_counter(self, m):
        """The count of rising edges of ``error_irq``."""
        irq_last = Signal()
        irq_count = Signal(32)
        m.d.sync += irq_last.eq(self.error_irq)
        with m.If(self.error_irq & ~irq_last):
            m.d.sync += irq_count.eq(irq_count + 1)
        return irq_count

    def _drive_buses(self, m, r):
        """The request's address, data and arguments on the AXI4-Lite, memory and MSI ports."""
        axil = self.axil
        m.d.comb += [
            axil.araddr.eq(r.addr),
            axil.awaddr.eq(r.addr),
            axil.arprot.eq(0),
            axil.awprot.eq(0),
            self.mem_read.req.payload.addr.eq(r.addr),
            self.mem_read.req.payload.count.eq(0),
            self.mem_write.req.payload.addr.eq(r.addr),
            self.mem_write.req.payload.data.eq(r.word),
            self.msi.payload.device_id.eq(r.head[:32]),
            self.msi.payload.event_id.eq(r.head[32:64]),
        ]
        wide = r.opcode == Opcode.WRITE64
        with m.If(r.addr[2]):
            m.d.comb += axil.wstrb.eq(Mux(wide, 0xFF, 0xF0))
        with m.Else():
            m.d.comb += axil.wstrb.eq(Mux(wide, 0xFF, 0x0F))
        m.d.comb += axil.wdata.eq(Mux(wide, r.word, r.word[:32].replicate(2)))

    @staticmethod
    def _start_response(m, r, length):
        """Send the response's header (SOF, opcode, ``length``), restarting the CRC."""
        m.d.comb += [r.sender.clear_crc.eq(1), *r.send(Cat(Const(SOF, 8), r.opcode, length), 3)]
        m.d.sync += r.bus_wait()

    def _take_frame(self, m, r, frame, lpis):
        """State WAIT_FRAME: a truncated frame is answered at once; any other is checked."""
        with m.If(frame.valid & frame.payload.truncated):
            with m.If(r.sender_idle):
                m.d.sync += [r.status.eq(Status.TRUNCATED), r.respond_length.eq(0)]
                self._start_response(m, r, Const(0, 8))
                m.next = "SEND_STATUS"
        with m.Elif(frame.valid):
            self._check(m, r, frame.payload.bad_checksum, lpis)
            m.next = "SEND_HEADER"

    def _check(self, m, r, bad_checksum, lpis):
        """Check the frame and then the arguments; set up the request's registers."""
        info_bytes = data.Layout.cast(BoardInfo).size // 8
        head = r.head
        arg_addr = head[:32]
        known = Signal()
        good_length = Signal()
        bad_argument = Signal()
        answer_length = Signal(8)
        lpi_count = Signal(8)
        m.d.comb += lpi_count.eq(Mux(lpis.level < head[:8], lpis.level, head[:8]))
        m.d.sync += [r.addr.eq(arg_addr), r.phase.eq(0), r.buffer_index.eq(4),
                     r.byte_index.eq(0), r.word.eq(0), r.count.eq(0)]
        with m.Switch(r.opcode):
            for op in Opcode:
                with m.Case(op):
                    m.d.comb += [
                        known.eq(1),
                        good_length.eq(self._good_length(op, r.length)),
                        bad_argument.eq(self._bad_argument(op, arg_addr, head)),
                        answer_length.eq(self._respond_length(op, head, lpi_count, info_bytes)),
                    ]
                    m.d.sync += r.count.eq({
                        Opcode.MEM_READ: head[32:40],
                        Opcode.MEM_WRITE: (r.length - 4) >> 3,
                        Opcode.MEM_FILL: head[32:48],
                        Opcode.LPI_READ: lpi_count,
                        Opcode.INFO: (info_bytes + 7) // 8,
                    }.get(op, 0))
                    if op == Opcode.MEM_FILL:
                        m.d.sync += r.word.eq(head[48:112])
                    elif op in (Opcode.WRITE32, Opcode.WRITE64):
                        m.d.sync += r.word.eq(head[32:96])
                    elif op == Opcode.CPU_MASK:
                        m.d.sync += r.word.eq(head[:64])
                    elif op == Opcode.TRANSLATE:
                        m.d.sync += [r.word.eq(head[32:64]), r.addr.eq(TRANSLATER)]
                    elif op == Opcode.ERR_READ:
                        m.d.sync += r.addr.eq(REG["GITS_ERR_CMD"])
        m.d.sync += [r.respond_length.eq(0),
                     r.status.eq(Mux(bad_checksum, Status.BAD_CHECKSUM, Status.OK))]
        with m.If(~bad_checksum):
            with m.If(~known):
                m.d.sync += r.status.eq(Status.UNKNOWN_OPCODE)
            with m.Elif(~good_length):
                m.d.sync += r.status.eq(Status.BAD_LENGTH)
            with m.Elif(bad_argument):
                m.d.sync += r.status.eq(Status.BAD_ARGUMENT)
            with m.Else():
                m.d.sync += r.respond_length.eq(answer_length)

    def _dispatch(self, m, r):
        """From SEND_HEADER, a well-formed request goes to the states of its opcode."""
        with m.Switch(r.opcode):
            with m.Case(Opcode.INFO):
                m.next = "SEND_INFO"
            with m.Case(Opcode.READ32, Opcode.READ64, Opcode.ERR_READ):
                m.next = "WAIT_ARREADY"
            with m.Case(Opcode.WRITE32, Opcode.WRITE64, Opcode.TRANSLATE):
                m.d.sync += [r.aw_done.eq(0), r.w_done.eq(0)]
                with m.If(r.opcode == Opcode.TRANSLATE):
                    m.d.sync += self.translater_device_id.eq(r.head[:32])
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
                m.d.sync += self.cpu_mask.eq(r.word)
                m.next = "SEND_CPU_MASK"

    def _info_state(self, m, r):
        """SEND_INFO: the BoardInfo, 8 bytes at a time."""
        info_bytes = data.Layout.cast(BoardInfo).size // 8
        chunks = (info_bytes + 7) // 8
        info = Const(self._info, chunks * 64)
        index = chunks - r.count
        with m.State("SEND_INFO"):
            with m.If(r.sender_idle):
                with m.If(r.count == 0):
                    m.next = "SEND_STATUS"
                with m.Else():
                    m.d.comb += r.send(info.word_select(index[:4], 64),
                                       Mux(r.count == 1, info_bytes - 8 * (chunks - 1), 8))
                    m.d.sync += r.count.eq(r.count - 1)

    def _register_read_states(self, m, r, irq_count):
        """Register reads: READ32, READ64, and ERR_READ's two registers and error count."""
        axil = self.axil
        with m.State("WAIT_ARREADY"):
            m.d.comb += axil.arvalid.eq(1)
            with m.If(axil.arready | r.bus_expired):
                m.d.sync += r.bus_wait()
                with m.If(~axil.arready):
                    m.d.sync += [r.fail(Status.TIMEOUT), r.word.eq(0)]
                    m.next = "SEND_READ_DATA"
                with m.Else():
                    m.next = "WAIT_RVALID"
        with m.State("WAIT_RVALID"):
            m.d.comb += axil.rready.eq(1)
            with m.If(axil.rvalid):
                m.d.sync += [r.word.eq(axil.rdata), r.fail(_axi_status(axil.rresp))]
                m.next = "SEND_READ_DATA"
            with m.Elif(r.bus_expired):
                m.d.sync += [r.word.eq(0), r.fail(Status.TIMEOUT)]
                m.next = "SEND_READ_DATA"
        with m.State("SEND_READ_DATA"):
            with m.If(r.sender_idle):
                with m.If(r.opcode == Opcode.READ32):
                    m.d.comb += r.send(Mux(r.addr[2], r.word[32:], r.word[:32]), 4)
                    m.next = "SEND_STATUS"
                with m.Elif(r.opcode == Opcode.READ64):
                    m.d.comb += r.send(r.word, 8)
                    m.next = "SEND_STATUS"
                with m.Elif(r.phase == 0):
                    m.d.comb += r.send(r.word, 8)
                    m.d.sync += [r.phase.eq(1), r.addr.eq(REG["GITS_ERR_MSI"]), r.bus_wait()]
                    m.next = "WAIT_ARREADY"
                with m.Else():
                    m.d.comb += r.send(r.word, 8)
                    m.next = "SEND_IRQ_COUNT"
        r.send_state("SEND_IRQ_COUNT", irq_count, 4, then="SEND_STATUS")

    def _register_write_states(self, m, r):
        """Register writes (WRITE32, WRITE64, TRANSLATE): AW and W together, in any order."""
        axil = self.axil
        with m.State("WAIT_AW_W_READY"):
            m.d.comb += [axil.awvalid.eq(~r.aw_done), axil.wvalid.eq(~r.w_done)]
            aw_now = r.aw_done | axil.awready
            w_now = r.w_done | axil.wready
            m.d.sync += [r.aw_done.eq(aw_now), r.w_done.eq(w_now)]
            with m.If(aw_now & w_now):
                m.d.sync += r.bus_wait()
                m.next = "WAIT_BVALID"
            r.else_time_out()
        with m.State("WAIT_BVALID"):
            m.d.comb += axil.bready.eq(1)
            with m.If(axil.bvalid):
                m.d.sync += r.fail(_axi_status(axil.bresp))
                m.next = "SEND_STATUS"
            r.else_time_out()

    def _memory_read_states(self, m, r):
        """Board memory reads, one doubleword a request. The wait for the memory starts once
        the previous doubleword has gone out."""
        mem_read = self.mem_read
        with m.State("WAIT_MEM_READ_REQ"):
            with m.If(~r.sender_idle):
                m.d.sync += r.bus_wait()
            with m.Elif(r.count == 0):
                m.next = "SEND_STATUS"
            with m.Else():
                m.d.comb += mem_read.req.valid.eq(1)
                with m.If(mem_read.req.ready):
                    m.d.sync += r.bus_wait()
                    m.next = "WAIT_MEM_READ_DATA"
                with m.Elif(r.bus_expired):
                    m.d.comb += r.send(0, 8)
                    m.d.sync += [r.fail(Status.TIMEOUT), r.addr.eq(r.addr + 8),
                                 r.count.eq(r.count - 1)]
        with m.State("WAIT_MEM_READ_DATA"):
            m.d.comb += mem_read.resp.ready.eq(1)
            with m.If(mem_read.resp.valid | r.bus_expired):
                m.d.comb += r.send(Mux(mem_read.resp.valid, mem_read.resp.payload.data, 0), 8)
                m.d.sync += [r.addr.eq(r.addr + 8), r.count.eq(r.count - 1),
                             r.fail(_mem_status(mem_read.resp))]
                m.next = "WAIT_MEM_READ_REQ"

    def _memory_write_states(self, m, r, receiver):
        """Board memory writes: MEM_FILL's value, or MEM_WRITE's doublewords out of the
        payload buffer a byte at a time (the buffer answers in the cycle after its address)."""
        mem_write = self.mem_write
        with m.State("FETCH_WORD_BYTE"):
            with m.If(r.count == 0):
                m.next = "SEND_STATUS"
            with m.Else():
                m.next = "TAKE_WORD_BYTE"
        with m.State("TAKE_WORD_BYTE"):
            m.d.sync += [r.word.eq(Cat(r.word[8:], receiver.buffer_data)),
                         r.buffer_index.eq(r.buffer_index + 1), r.byte_index.eq(r.byte_index + 1)]
            with m.If(r.byte_index == 7):
                m.d.sync += r.bus_wait()
                m.next = "WAIT_MEM_WRITE_REQ"
            with m.Else():
                m.next = "FETCH_WORD_BYTE"
        with m.State("WAIT_MEM_WRITE_REQ"):
            with m.If(r.count == 0):
                m.next = "SEND_STATUS"
            with m.Else():
                m.d.comb += mem_write.req.valid.eq(1)
                with m.If(mem_write.req.ready):
                    m.d.sync += r.bus_wait()
                    m.next = "WAIT_MEM_WRITE_DONE"
                r.else_time_out()
        with m.State("WAIT_MEM_WRITE_DONE"):
            m.d.comb += mem_write.resp.ready.eq(1)
            with m.If(mem_write.resp.valid | r.bus_expired):
                m.d.sync += [r.addr.eq(r.addr + 8), r.count.eq(r.count - 1), r.bus_wait(),
                             r.fail(_mem_status(mem_write.resp))]
                with m.If(r.opcode == Opcode.MEM_WRITE):
                    m.next = "FETCH_WORD_BYTE"
                with m.Else():
                    m.next = "WAIT_MEM_WRITE_REQ"

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


def _axi_status(resp):
    """The Status of AXI response ``resp``."""
    return Mux(resp == AxiResp.SLVERR, Status.SLVERR,
               Mux(resp == AxiResp.DECERR, Status.DECERR, Status.OK))


def _mem_status(resp):
    """The Status of memory response ``resp``, which times out unless it is valid."""
    return Mux(~resp.valid, Status.TIMEOUT, Mux(resp.payload.error, Status.MEM_ERROR, Status.OK))


class _Request:
    """What the states of :class:`HostBridge` share: the frame being executed (held by the
    receiver until the response is sent), the request's registers, and actions on them."""

    def __init__(self, m, bridge, frame, sender):
        self._m = m
        self.opcode = frame.payload.opcode
        self.length = frame.payload.length
        self.head = frame.payload.head          # the first 16 payload bytes
        self.sender = sender
        self.sender_idle = sender.load.ready
        self.status = Signal(Status)
        self.addr = Signal(32)                  # register or memory address of the request
        self.count = Signal(16)                 # doublewords or records left
        self.word = Signal(64)                  # register data, memory doubleword, fill value
        self.respond_length = Signal(8)
        self.phase = Signal(2)                  # ERR_READ: which of its three fields is next
        self.buffer_index = Signal(8)
        self.byte_index = Signal(3)
        self.aw_done = Signal()
        self.w_done = Signal()
        self._bus_timeout = bridge._bus_timeout
        self.bus_timer = Signal(range(bridge._bus_timeout + 1))
        self.bus_expired = self.bus_timer == 0
        with m.If(~self.bus_expired):
            m.d.sync += self.bus_timer.eq(self.bus_timer - 1)

    def send(self, value, count):
        """Comb statements: hand ``count`` bytes of ``value`` to the sender (when it is idle)."""
        load = self.sender.load
        return [load.valid.eq(1), load.payload.data.eq(value), load.payload.count.eq(count)]

    def bus_wait(self):
        """Sync statement: (re)start the wait on the ITS or memory."""
        return self.bus_timer.eq(self._bus_timeout)

    def fail(self, code):
        """Record ``code`` unless an earlier error is already recorded."""
        return self.status.eq(Mux(self.status == Status.OK, code, self.status))

    def else_time_out(self):
        """After an ``m.If`` on the answer: no answer in time ends the request with TIMEOUT."""
        m = self._m
        with m.Elif(self.bus_expired):
            m.d.sync += self.fail(Status.TIMEOUT)
            m.next = "SEND_STATUS"

    def send_state(self, name, value, count, then):
        """State ``name``: send ``count`` bytes of ``value`` when the sender is idle, then go
        to ``then``."""
        m = self._m
        with m.State(name):
            with m.If(self.sender_idle):
                m.d.comb += self.send(value, count)
                m.next = then
