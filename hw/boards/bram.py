"""On-chip memory for the board: the command ring and the ITS's tables live here.

:class:`AxiBram` serves an AXI4 slave port (the ITS's memory master) and a second,
simple port (:mod:`gic.hw.bus.mem` read/write streams) that the host bridge uses to
write tables and read them back, from one ``amaranth.lib.memory.Memory`` with one
read and one write port (block RAM: DP16KD on ECP5). The memory may be sparse: a few
windows of the address space, stored back to back, so that tables which must sit far
apart (a pending table per redistributor, 64 KiB aligned) cost only the block RAM they
use.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, fifo, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from gic.hw.bus.axi import Axi4Signature, AxiBurst, AxiResp
from gic.hw.bus.mem import ADDR_BITS, MemReadSignature, MemWriteSignature

__all__ = ["AxiBram", "WINDOW_BYTES"]

_PAGE_BITS = 12
"""An AXI burst never crosses a 4 KiB boundary: only the low 12 address bits move in it."""
WINDOW_BYTES = (1 << _PAGE_BITS, 1 << 24)
"""Smallest and largest window: a page (so an AXI burst stays in one window) to 16 MiB."""


class AxiBram(wiring.Component):
    """Block RAM behind an AXI4 slave port, with a second port for the host bridge.

    The memory answers the byte addresses of its windows, ``base + offset .. base + offset
    + size - 1`` for each ``(offset, size)`` of ``windows`` (one window of ``size`` bytes at
    ``base`` by default); every beat elsewhere gets ``DECERR`` (reads return zero, writes
    change nothing). The windows are stored back to back, largest first, in one memory of
    the sum of their sizes. ``FIXED`` and ``INCR`` bursts of any ``AxSIZE`` up to the bus
    width are served (an unaligned first beat reads the whole word; ``wstrb`` selects the
    bytes written); a ``WRAP`` burst or an ``AxSIZE`` wider than the bus is answered
    ``SLVERR`` on every beat and writes nothing.

    Each beat's address is decoded on its own, from registers: its window is the one whose
    high address bits match (one compare of the bits above all windows, one of a few bits
    per window); the memory's word address is the beat's bits inside the window under
    that window's constant place in the memory (an AND-OR, the windows being aligned to
    their sizes in the memory too).

    One read burst and one write burst are served at a time, reads and writes
    independently (AXI does not order them). Reads: ``R`` beats follow one a cycle,
    the first 3 cycles after the ``AR`` handshake. Writes: one ``W`` beat a cycle from
    the cycle after the ``AW`` handshake; ``B`` is valid in the cycle after the last
    ``W`` beat.

    The bridge port takes precedence over AXI for the memory's one read port and its
    one write port: an AXI beat waits a cycle when the bridge uses the port then. A
    bridge read of ``count + 1`` doublewords answers them one a cycle, the first 3 cycles
    after the request; a bridge write completes in the cycle after it is taken. Either
    answers ``error`` for a doubleword outside the windows.

    Parameters
    ----------
    size : int
        Bytes of the one window at ``base`` when ``windows`` is not given: a power of two
        from 4 KiB to 16 MiB (default 64 KiB).
    windows : list of (int, int) or None
        ``(offset, size)`` of each window, bytes from ``base``: each size a power of two
        from 4 KiB to 16 MiB, each offset a multiple of its size, no two overlapping, 16 MiB
        in all at most.
    base : int
        First byte address, a multiple of the largest window's size.
    data_width : int
        AXI data bits (the memory's word): 64, 128 or 256.
    addr_width : int
        AXI address bits, 12..64 (default 48, the ITS's).
    id_width : int
        AXI ID bits, 1..16.

    Members
    -------
    axi : In(Axi4Signature(addr_width=addr_width, data_width=data_width, id_width=id_width))
        The slave port.
    read : In(MemReadSignature())
        The bridge's reads of doublewords (``addr`` 8-byte aligned).
    write : In(MemWriteSignature())
        The bridge's writes of doublewords.

    Raises
    ------
    ValueError
        If a parameter is out of range, both ``size`` and ``windows`` are given, windows
        overlap, or ``base`` is not aligned to the largest window.
    """

    def __init__(self, *, size=None, windows=None, base=0x4000_0000, data_width=64,
                 addr_width=ADDR_BITS, id_width=4):
        low, high = WINDOW_BYTES
        if windows is None:
            size = 64 * 1024 if size is None else size
            if not _power_of_two(size, low, high):
                raise ValueError(f"size must be a power of two from {low} to {high} bytes, "
                                 f"not {size!r}")
            windows = [(0, size)]
        elif size is not None:
            raise ValueError("give size (one window) or windows, not both")
        else:
            windows = _check_windows(windows)
        if not isinstance(addr_width, int) or not 12 <= addr_width <= 64:
            raise ValueError(f"addr_width must be an integer in 12..64, not {addr_width!r}")
        largest = max(window_size for _, window_size in windows)
        end = max(offset + window_size for offset, window_size in windows)
        if not isinstance(base, int) or base < 0 or base % largest or base + end > 1 << addr_width:
            raise ValueError(f"base must be a multiple of the largest window's size "
                             f"({largest:#x}) with every window inside the {addr_width}-bit "
                             f"address space, not {base!r}")
        self._windows = windows
        self._base = base
        self._addr_width = addr_width
        super().__init__({
            "axi": In(Axi4Signature(addr_width=addr_width, data_width=data_width,
                                    id_width=id_width)),
            "read": In(MemReadSignature()),
            "write": In(MemWriteSignature()),
        })
        self._data_width = data_width
        self._id_width = id_width

    @property
    def size(self):
        """Bytes of memory: the sum of the windows' sizes."""
        return sum(window_size for _, window_size in self._windows)

    @property
    def windows(self):
        """``(offset, size)`` of each window, by offset."""
        return list(self._windows)

    @property
    def base(self):
        return self._base

    def placement(self):
        """Where each window is in the memory: ``(offset, size, first byte in the memory)``
        by offset. Largest first (then by offset), back to back, so each window starts on a
        multiple of its own size in the memory too."""
        stored = {}
        position = 0
        for offset, window_size in sorted(self._windows, key=lambda w: (-w[1], w[0])):
            stored[offset] = position
            position += window_size
        return [(offset, window_size, stored[offset]) for offset, window_size in self._windows]

    def _decoder(self, word_bits):
        """``(inside, word_index)``: functions of an address value giving whether it is in a
        window and its word in the memory (any word when it is in none)."""
        placement = self.placement()
        bits = {offset: window_size.bit_length() - 1 for offset, window_size, _ in placement}
        # Above ``common`` every window has the same address bits: one shared compare.
        common = max(bits.values())
        while len({(self._base + offset) >> common for offset, _, _ in placement}) > 1:
            common += 1
        common = min(common, self._addr_width)
        shared = (self._base + placement[0][0]) >> common
        low = min(bits.values())

        def hits(addr):
            above = addr[common:] == shared if common < self._addr_width else Const(1)
            if len(placement) == 1:
                return [above]
            return [above & (addr[bits[offset]:common] ==
                             ((self._base + offset) >> bits[offset]) % (1 << common - bits[offset]))
                    for offset, _, _ in placement]

        def inside(addr):
            return Cat(hits(addr)).any()

        def word_index(addr):
            # The bits inside the smallest window are the address's in every window; above
            # them, each window's own bits and its constant place, selected by its hit.
            places = [Cat(addr[low:bits[offset]],
                          Const(stored >> bits[offset], self._depth_bits - bits[offset]))
                      for offset, _, stored in placement]
            if len(places) == 1:
                return Cat(addr[word_bits:low], places[0])
            high = 0
            for hit, place in zip(hits(addr), places):
                high = high | Mux(hit, place, 0)
            return Cat(addr[word_bits:low], high)

        return inside, word_index

    def elaborate(self, platform):
        m = Module()
        axi = self.axi
        word_bytes = self._data_width // 8
        word_bits = word_bytes.bit_length() - 1
        m.submodules.memory = memory = Memory(shape=self._data_width,
                                              depth=self.size // word_bytes, init=[])
        rd = memory.read_port()
        wr = memory.write_port(granularity=8)
        inside, word_index = self._decoder(word_bits)

        # -- the memory's read port: the bridge first, else the AXI read burst ------------------
        # Each reader queues its answers in a 2-entry FIFO: a word asked in one cycle comes
        # out of the memory in the next, and is queued then; a reader asks only when its
        # queue has room for everything in flight.
        bridge_beat = data.StructLayout({"last": 1, "error": 1, "lane": max(word_bits - 3, 1)})
        axi_beat = data.StructLayout({"resp": AxiResp, "last": 1, "id": self._id_width})
        readers = {}
        for name, layout in (("bridge", bridge_beat), ("axi", axi_beat)):
            queue = fifo.SyncFIFO(width=self._data_width + layout.size, depth=2)
            m.submodules[f"{name}_read_queue"] = queue
            issue = Signal(name=f"{name}_read_issue")
            error = Signal(name=f"{name}_read_error")
            beat = Signal(layout, name=f"{name}_read_beat")
            in_flight = Signal(name=f"{name}_read_in_flight")
            error_in_flight = Signal(name=f"{name}_read_error_in_flight")
            beat_in_flight = Signal(layout, name=f"{name}_read_beat_in_flight")
            m.d.sync += [in_flight.eq(issue), error_in_flight.eq(error),
                         beat_in_flight.eq(beat)]
            m.d.comb += [
                queue.w_en.eq(in_flight),
                queue.w_data.eq(Cat(Mux(error_in_flight, 0, rd.data), beat_in_flight)),
            ]
            room = queue.level + in_flight < 2 + queue.r_en
            out = data.View(layout, queue.r_data[self._data_width:])
            readers[name] = (queue, issue, error, beat, room, out)

        # Bridge reads: count + 1 doublewords from addr.
        queue, issue, error, beat, room, out = readers["bridge"]
        bridge_reading = issue
        active = Signal()
        addr = Signal(ADDR_BITS)
        left = Signal(3)
        m.d.comb += self.read.req.ready.eq(~active)
        with m.If(self.read.req.valid & self.read.req.ready):
            m.d.sync += [active.eq(1), addr.eq(self.read.req.payload.addr),
                         left.eq(self.read.req.payload.count)]
        m.d.comb += [
            issue.eq(active & room),
            error.eq(~inside(addr)),
            beat.last.eq(left == 0),
            beat.error.eq(~inside(addr)),
        ]
        if word_bits > 3:
            m.d.comb += beat.lane.eq(addr[3:word_bits])
        with m.If(issue):
            m.d.comb += rd.addr.eq(word_index(addr))
            m.d.sync += [addr.eq(addr + 8), left.eq(left - 1)]
            with m.If(left == 0):
                m.d.sync += active.eq(0)
        word = queue.r_data[:self._data_width]
        m.d.comb += [
            self.read.resp.valid.eq(queue.r_rdy),
            self.read.resp.payload.data.eq(word.word_select(out.lane, 64)
                                           if word_bits > 3 else word),
            self.read.resp.payload.last.eq(out.last),
            self.read.resp.payload.error.eq(out.error),
            queue.r_en.eq(self.read.resp.ready),
        ]

        # AXI read bursts, one at a time.
        queue, issue, error, beat, room, out = readers["axi"]
        burst, advance = self._burst(m, "ar", axi.arvalid & axi.arready, axi.arid, axi.araddr, axi.arlen,
                            axi.arsize, axi.arburst, word_bits)
        m.d.comb += axi.arready.eq(~burst.active)
        outside = ~inside(burst.addr)
        m.d.comb += [
            issue.eq(burst.active & room & ~bridge_reading),
            error.eq(outside | burst.bad),
            beat.resp.eq(Mux(burst.bad, AxiResp.SLVERR, Mux(outside, AxiResp.DECERR,
                                                            AxiResp.OKAY))),
            beat.last.eq(burst.left == 0),
            beat.id.eq(burst.id),
        ]
        with m.If(issue):
            m.d.comb += [rd.addr.eq(word_index(burst.addr)), advance.eq(1)]
        m.d.comb += [
            axi.rvalid.eq(queue.r_rdy),
            axi.rdata.eq(queue.r_data[:self._data_width]),
            axi.rresp.eq(out.resp),
            axi.rlast.eq(out.last),
            axi.rid.eq(out.id),
            queue.r_en.eq(axi.rready),
        ]

        # -- the memory's write port: the bridge first, else the AXI write burst ----------------
        port = self.write
        bridge_writing = Signal()
        outside = ~inside(port.req.payload.addr)
        m.d.comb += [
            port.req.ready.eq(~port.resp.valid | port.resp.ready),
            bridge_writing.eq(port.req.valid & port.req.ready),
        ]
        lane_enable = Const(0xFF, word_bytes)
        if word_bits > 3:
            lane_enable = lane_enable << (port.req.payload.addr[3:word_bits] * 8)
        with m.If(bridge_writing):
            m.d.comb += [
                wr.addr.eq(word_index(port.req.payload.addr)),
                wr.data.eq(port.req.payload.data.replicate(self._data_width // 64)),
                wr.en.eq(Mux(outside, 0, lane_enable)),
            ]
            m.d.sync += [port.resp.valid.eq(1), port.resp.payload.error.eq(outside)]
        with m.Elif(port.resp.ready):
            m.d.sync += port.resp.valid.eq(0)

        burst, advance = self._burst(m, "aw", axi.awvalid & axi.awready, axi.awid, axi.awaddr, axi.awlen,
                            axi.awsize, axi.awburst, word_bits)
        decerr = Signal()            # an earlier beat of the burst fell outside the memory
        outside = ~inside(burst.addr)
        m.d.comb += [
            axi.awready.eq(~burst.active & ~axi.bvalid),
            axi.wready.eq(burst.active & ~bridge_writing),
        ]
        with m.If(axi.awvalid & axi.awready):
            m.d.sync += decerr.eq(0)
        with m.If(axi.wvalid & axi.wready):
            m.d.comb += advance.eq(1)
            with m.If(outside):
                m.d.sync += decerr.eq(1)
            with m.Elif(~burst.bad):
                m.d.comb += [wr.addr.eq(word_index(burst.addr)), wr.data.eq(axi.wdata),
                             wr.en.eq(axi.wstrb)]
            with m.If(burst.left == 0):
                m.d.sync += [
                    axi.bvalid.eq(1),
                    axi.bid.eq(burst.id),
                    axi.bresp.eq(Mux(burst.bad, AxiResp.SLVERR,
                                     Mux(decerr | outside, AxiResp.DECERR, AxiResp.OKAY))),
                ]
        with m.If(axi.bvalid & axi.bready):
            m.d.sync += axi.bvalid.eq(0)
        return m

    @property
    def _depth_bits(self):
        """Byte-address bits of the memory: the sum of the windows rounded up to a power of two."""
        return (self.size - 1).bit_length()

    def _burst(self, m, prefix, start, id, addr, length, size, burst, word_bits):
        """The state of the AXI burst in progress on one direction.

        Loads at ``start``; each cycle ``advance`` is high it moves to the next beat and
        ends after the last. The address moves inside its 4 KiB page: an INCR burst may
        not cross one, and only its low 12 bits change.
        """
        state = Signal(data.StructLayout({
            "active": 1, "addr": self._addr_width, "left": 8, "size": 3, "fixed": 1, "bad": 1,
            "id": self._id_width,
        }), name=prefix)
        advance = Signal(name=f"{prefix}_advance")
        with m.If(start):
            m.d.sync += [
                state.active.eq(1), state.id.eq(id), state.addr.eq(addr), state.left.eq(length),
                state.size.eq(size), state.fixed.eq(burst == AxiBurst.FIXED),
                state.bad.eq(~((burst == AxiBurst.FIXED) | (burst == AxiBurst.INCR)) |
                             (size > word_bits)),
            ]
        step = Const(1, _PAGE_BITS + 1) << state.size
        low = state.addr[:_PAGE_BITS]
        aligned = low & ~(step - 1)[:_PAGE_BITS]
        with m.If(advance):
            m.d.sync += state.left.eq(state.left - 1)
            with m.If(~state.fixed):
                m.d.sync += state.addr[:_PAGE_BITS].eq(aligned + step)
            with m.If(state.left == 0):
                m.d.sync += state.active.eq(0)
        return state, advance


def _power_of_two(value, low, high):
    return (isinstance(value, int) and not isinstance(value, bool) and value & (value - 1) == 0
            and low <= value <= high)


def _check_windows(windows):
    """``windows`` as a list of ``(offset, size)`` by offset, or ValueError saying what is wrong."""
    low, high = WINDOW_BYTES
    try:
        windows = sorted((offset, size) for offset, size in windows)
    except (TypeError, ValueError):
        raise ValueError(f"windows must be a list of (offset, size) pairs, not {windows!r}") \
            from None
    if not windows:
        raise ValueError("windows must hold at least one (offset, size)")
    for offset, size in windows:
        if not _power_of_two(size, low, high):
            raise ValueError(f"window ({offset!r}, {size!r}): size must be a power of two from "
                             f"{low} to {high} bytes")
        if not isinstance(offset, int) or offset < 0 or offset % size:
            raise ValueError(f"window ({offset!r}, {size:#x}): offset must be a multiple of its "
                             f"size")
    for (offset, size), (next_offset, next_size) in zip(windows, windows[1:]):
        if offset + size > next_offset:
            raise ValueError(f"windows ({offset:#x}, {size:#x}) and ({next_offset:#x}, "
                             f"{next_size:#x}) overlap")
    total = sum(size for _, size in windows)
    if total > high:
        raise ValueError(f"windows hold {total} bytes, more than {high}")
    return windows
