"""AXI4 and AXI4-Lite signatures, and the two bridges the ITS needs.

* :class:`Axi4LiteSignature` / :class:`Axi4Signature`: flat bundles whose
  members are named exactly as the AXI specification (IHI 0022) names them
  (``awaddr``, ``awvalid``, ``awready``, ...). A component port ``axil:
  In(Axi4LiteSignature())`` becomes Verilog ports ``axil__awaddr``,
  ``axil__awvalid``, ...: cocotbext-axi finds them with
  ``AxiLiteBus.from_prefix(dut, "axil_")``.
* :class:`RegisterBusSignature`: the single-cycle register bus the ITS register
  block sits on.
* :class:`Axi4LiteRegisterBridge`: AXI4-Lite slave -> register bus.
* :class:`Axi4MemoryMaster`: the ITS's internal memory ports
  (:mod:`gic.hw.bus.mem`) -> one AXI4 master.

Signatures are seen from the master (the initiator): ``Out`` members are driven
by the master, ``In`` members by the slave. A slave port is
``In(Axi4LiteSignature(...))``.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Shape, Signal
from amaranth.lib import enum, fifo, wiring
from amaranth.lib.wiring import In, Out

from .fifo import HeadRegisteredFIFO
from .mem import ADDR_BITS, MemAttributes, MemReadSignature, MemWriteSignature

__all__ = ["AxiResp", "AxiBurst", "GIC_CACHE_NAMES", "ARCACHE", "AWCACHE", "gic_memory_type",
           "axi_cache", "axi_prot", "Axi4LiteSignature", "Axi4Signature", "RegisterBusSignature",
           "Axi4LiteRegisterBridge", "Axi4MemoryMaster"]


class AxiResp(enum.Enum, shape=2):
    """AXI ``BRESP`` / ``RRESP`` encodings."""
    OKAY   = 0  #: normal access success
    EXOKAY = 1  #: exclusive access success (never produced by this design)
    SLVERR = 2  #: the slave was reached and reported an error
    DECERR = 3  #: no slave at the address (decode error)


class AxiBurst(enum.Enum, shape=2):
    """AXI ``AxBURST`` encodings."""
    FIXED = 0  #: every beat at the same address
    INCR  = 1  #: incrementing address (the only type the memory master issues)
    WRAP  = 2  #: incrementing, wrapping at the burst-size boundary


GIC_CACHE_NAMES = ("Device-nGnRnE", "Normal Non-cacheable", "Normal RaWt", "Normal RaWb",
                   "Normal WaWt", "Normal WaWb", "Normal RaWaWt", "Normal RaWaWb")
"""The GIC's cacheability encodings (GITS_CBASER/GITS_BASERn/GICR_PROPBASER/GICR_PENDBASER
InnerCache; OuterCache is the same except that 0 means "as InnerCache"), by value."""

ARCACHE = (0b0000, 0b0011, 0b1110, 0b1111, 0b1010, 0b1011, 0b1110, 0b1111)
"""``ARCACHE`` for each GIC cacheability value, from AMBA AXI4 (IHI 0022) Table A4-5: Device
Non-bufferable, Normal Non-cacheable Bufferable, Write-through Read-allocate, Write-back
Read-allocate, Write-through Write-allocate, Write-back Write-allocate, Write-through
Read and Write-allocate, Write-back Read and Write-allocate (the table's first encoding
where it gives two)."""

AWCACHE = (0b0000, 0b0011, 0b0110, 0b0111, 0b1110, 0b1111, 0b1110, 0b1111)
"""``AWCACHE`` for each GIC cacheability value, the same memory types as :data:`ARCACHE`."""


def gic_memory_type(inner_cache, outer_cache):
    """The GIC cacheability value an access is issued with: the outer one (the one the
    interconnect and the memory beyond the ITS see), ``inner_cache`` when ``outer_cache``
    is 0 ("as InnerCache"), and Device-nGnRnE (0) whenever ``inner_cache`` is, since
    Device memory has no separate outer type. Works on integers and on Amaranth values."""
    if isinstance(inner_cache, int) and isinstance(outer_cache, int):
        if inner_cache == 0:
            return 0
        return outer_cache or inner_cache
    return Mux(inner_cache == 0, 0, Mux(outer_cache == 0, inner_cache, outer_cache))


def axi_cache(inner_cache, outer_cache, *, write):
    """``AWCACHE`` (``write``) or ``ARCACHE`` for the GIC fields (integers)."""
    return (AWCACHE if write else ARCACHE)[gic_memory_type(inner_cache, outer_cache)]


def axi_prot(*, secure=False):
    """``AxPROT`` of every ITS access: data (bit 2 = 0), non-secure unless ``secure``
    (bit 1), privileged (bit 0 = 1)."""
    return (0 if secure else 0b010) | 0b001


def _axcache(m, attr, table, name):
    """The ``AxCACHE`` (from ``table``, :data:`ARCACHE` or :data:`AWCACHE`) of ``attr``
    (a :class:`~gic.hw.bus.mem.MemAttributes`), as a combinational signal."""
    attr = MemAttributes(attr)
    memory_type = Signal(3, name=f"{name}_memory_type")
    cache = Signal(4, name=f"{name}_cache")
    m.d.comb += memory_type.eq(gic_memory_type(attr.inner_cache, attr.outer_cache))
    with m.Switch(memory_type):
        for value, code in enumerate(table):
            with m.Case(value):
                m.d.comb += cache.eq(code)
    return cache


def _check_int(name, value, allowed, what):
    if not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
        raise ValueError(f"{name} must be {what}, not {value!r}")


def _check_data_width(value, allowed):
    _check_int("data_width", value, allowed, " or ".join(map(str, allowed)))


class _WidthSignature(wiring.Signature):
    """A signature whose members follow from a few widths; two are equal when the widths are."""

    def __init__(self, members, **widths):
        self._widths = widths
        super().__init__(members)

    @property
    def addr_width(self):
        return self._widths["addr_width"]

    @property
    def data_width(self):
        return self._widths["data_width"]

    def __eq__(self, other):
        return type(other) is type(self) and other._widths == self._widths

    def __repr__(self):
        widths = ", ".join(f"{name}={value}" for name, value in self._widths.items())
        return f"{type(self).__name__}({widths})"


class Axi4LiteSignature(_WidthSignature):
    """An AXI4-Lite bus, seen from the master.

    Parameters
    ----------
    addr_width : int
        Byte address bits, 1..64. The ITS frame needs 17 (128 KiB).
    data_width : int
        Data bits, 32 or 64.

    Members
    -------
    awaddr, awprot, awvalid : Out
        Write address channel; ``awready`` : In.
    wdata, wstrb, wvalid : Out
        Write data channel (one strobe bit per byte); ``wready`` : In.
    bresp : In(AxiResp)
        With ``bvalid`` : In, write response channel; ``bready`` : Out.
    araddr, arprot, arvalid : Out
        Read address channel; ``arready`` : In.
    rdata, rresp : In(AxiResp)
        With ``rvalid`` : In, read data channel; ``rready`` : Out.

    Raises
    ------
    ValueError
        If ``addr_width`` or ``data_width`` is out of range.
    """

    def __init__(self, *, addr_width=17, data_width=64):
        _check_int("addr_width", addr_width, range(1, 65), "an integer in 1..64")
        _check_data_width(data_width, (32, 64))
        super().__init__({
            "awaddr":  Out(addr_width),
            "awprot":  Out(3),
            "awvalid": Out(1),
            "awready": In(1),
            "wdata":   Out(data_width),
            "wstrb":   Out(data_width // 8),
            "wvalid":  Out(1),
            "wready":  In(1),
            "bresp":   In(AxiResp),
            "bvalid":  In(1),
            "bready":  Out(1),
            "araddr":  Out(addr_width),
            "arprot":  Out(3),
            "arvalid": Out(1),
            "arready": In(1),
            "rdata":   In(data_width),
            "rresp":   In(AxiResp),
            "rvalid":  In(1),
            "rready":  Out(1),
        }, addr_width=addr_width, data_width=data_width)


class Axi4Signature(_WidthSignature):
    """A full AXI4 bus (the subset the ITS uses: no region, user), seen from the master.

    Parameters
    ----------
    addr_width : int
        Byte address bits, 12..64 (bursts stop at 4 KiB boundaries).
    data_width : int
        Data bits: 64, 128 or 256.
    id_width : int
        Transaction ID bits, 1..16.

    Members
    -------
    awid, awaddr, awlen, awsize, awburst(AxiBurst), awlock, awcache, awprot, awqos, awvalid : Out
        Write address channel (``awlen`` = beats - 1, ``awsize`` = log2(bytes per beat);
        ``awlock`` 1 bit, ``awcache`` 4, ``awprot`` 3, ``awqos`` 4, as AMBA AXI4 defines
        them); ``awready`` : In.
    wdata, wstrb, wlast, wvalid : Out
        Write data channel; ``wready`` : In.
    bid, bresp(AxiResp), bvalid : In
        Write response channel; ``bready`` : Out.
    arid, araddr, arlen, arsize, arburst(AxiBurst), arlock, arcache, arprot, arqos, arvalid : Out
        Read address channel; ``arready`` : In.
    rid, rdata, rresp(AxiResp), rlast, rvalid : In
        Read data channel; ``rready`` : Out.

    Raises
    ------
    ValueError
        If a parameter is out of range.
    """

    def __init__(self, *, addr_width=ADDR_BITS, data_width=64, id_width=4):
        _check_int("addr_width", addr_width, range(12, 65), "an integer in 12..64")
        _check_data_width(data_width, (64, 128, 256))
        _check_int("id_width", id_width, range(1, 17), "an integer in 1..16")
        super().__init__({
            "awid":    Out(id_width),
            "awaddr":  Out(addr_width),
            "awlen":   Out(8),
            "awsize":  Out(3),
            "awburst": Out(AxiBurst),
            "awlock":  Out(1),
            "awcache": Out(4),
            "awprot":  Out(3),
            "awqos":   Out(4),
            "awvalid": Out(1),
            "awready": In(1),
            "wdata":   Out(data_width),
            "wstrb":   Out(data_width // 8),
            "wlast":   Out(1),
            "wvalid":  Out(1),
            "wready":  In(1),
            "bid":     In(id_width),
            "bresp":   In(AxiResp),
            "bvalid":  In(1),
            "bready":  Out(1),
            "arid":    Out(id_width),
            "araddr":  Out(addr_width),
            "arlen":   Out(8),
            "arsize":  Out(3),
            "arburst": Out(AxiBurst),
            "arlock":  Out(1),
            "arcache": Out(4),
            "arprot":  Out(3),
            "arqos":   Out(4),
            "arvalid": Out(1),
            "arready": In(1),
            "rid":     In(id_width),
            "rdata":   In(data_width),
            "rresp":   In(AxiResp),
            "rlast":   In(1),
            "rvalid":  In(1),
            "rready":  Out(1),
        }, addr_width=addr_width, data_width=data_width, id_width=id_width)

    @property
    def id_width(self):
        return self._widths["id_width"]


class RegisterBusSignature(_WidthSignature):
    """A single-cycle register bus, seen from the initiator (:class:`Axi4LiteRegisterBridge`).

    One access at a time; a strobe is high for exactly one cycle and the target answers in
    the next cycle:

    .. wavedrom::

        {"signal": [
            {"name": "clk",    "wave": "p...."},
            {"name": "addr",   "wave": "x3x..", "data": ["A"]},
            {"name": "r_stb",  "wave": "010.."},
            {"name": "r_data", "wave": "x.4x.", "data": ["reg[A]"]},
            {"name": "err",    "wave": "x.0x."}
        ]}

    Parameters
    ----------
    addr_width : int
        Byte address bits, 1..64.
    data_width : int
        Data bits, 32 or 64.

    Members
    -------
    addr : Out(addr_width)
        Byte address of the register word, aligned to ``data_width // 8`` (low bits zero);
        valid while ``r_stb`` or ``w_stb`` is high.
    r_stb : Out(1)
        Read strobe. A register with read side effects acts on it.
    r_data : In(data_width)
        The word at ``addr``, valid in the cycle after ``r_stb`` (sampled only then).
    w_stb : Out(1)
        Write strobe: write the bytes of ``w_data`` selected by ``w_strb`` at ``addr``.
    w_data : Out(data_width)
        Write data, valid with ``w_stb``.
    w_strb : Out(data_width // 8)
        Byte enables, valid with ``w_stb``. A 32-bit access to the upper half of a 64-bit
        register has ``w_strb == 0xF0`` and its data in ``w_data[32:64]``.
    err : In(1)
        The access failed (answered SLVERR); sampled in the cycle after either strobe.

    Raises
    ------
    ValueError
        If ``addr_width`` or ``data_width`` is out of range.
    """

    def __init__(self, *, addr_width=17, data_width=64):
        _check_int("addr_width", addr_width, range(1, 65), "an integer in 1..64")
        _check_data_width(data_width, (32, 64))
        super().__init__({
            "addr":   Out(addr_width),
            "r_stb":  Out(1),
            "r_data": In(data_width),
            "w_stb":  Out(1),
            "w_data": Out(data_width),
            "w_strb": Out(data_width // 8),
            "err":    In(1),
        }, addr_width=addr_width, data_width=data_width)


class Axi4LiteRegisterBridge(wiring.Component):
    """AXI4-Lite slave in front of a :class:`RegisterBusSignature` register block.

    One transaction at a time. ``AW`` and ``W`` are each taken into a holding register as
    soon as they arrive, in either order or together; a write starts once both are held.
    When a read and a write are both waiting, they take turns, so neither starves. The
    register bus address is the AXI address with its low ``log2(data_width // 8)`` bits
    cleared; the AXI ``wstrb`` pass through, so 32-bit accesses to either half of a 64-bit
    register work (for reads the master picks its half out of ``rdata``). ``err`` from the
    register block becomes ``SLVERR``; otherwise the answer is ``OKAY``.

    Latency (no backpressure), counted in clock edges from the address handshake: a read's
    ``R`` handshake can happen at the 3rd edge after its ``AR`` handshake (``r_stb`` in the
    cycle right after it, ``r_data`` sampled in the next one); a write's ``B`` handshake at
    the 4th edge after the later of its ``AW``/``W`` handshakes (``w_stb`` in the second
    cycle, ``err`` sampled in the third). Throughput: one read every 4 cycles, one write
    every 5.

    .. wavedrom::

        {"signal": [
            {"name": "clk",     "wave": "p...."},
            {"name": "arvalid", "wave": "010.."},
            {"name": "arready", "wave": "1.0.."},
            {"name": "r_stb",   "wave": "0.10."},
            {"name": "r_data",  "wave": "x..4x"},
            {"name": "rvalid",  "wave": "0...1"}
        ]}

    Parameters
    ----------
    addr_width : int
        Byte address bits of the AXI4-Lite port and the register bus, 1..64.
    data_width : int
        32 or 64.

    Members
    -------
    axil : In(Axi4LiteSignature(addr_width=addr_width, data_width=data_width))
        The slave port.
    regs : Out(RegisterBusSignature(addr_width=addr_width, data_width=data_width))
        The register block.

    Raises
    ------
    ValueError
        If a parameter is out of range.
    """

    def __init__(self, *, addr_width=17, data_width=64):
        super().__init__({
            "axil": In(Axi4LiteSignature(addr_width=addr_width, data_width=data_width)),
            "regs": Out(RegisterBusSignature(addr_width=addr_width, data_width=data_width)),
        })
        self._addr_width = addr_width
        self._data_width = data_width

    def elaborate(self, platform):
        m = Module()
        axil, regs = self.axil, self.regs
        offset_bits = (self._data_width // 8).bit_length() - 1

        def aligned(addr):
            return Cat(Const(0, offset_bits), addr[offset_bits:])

        # AW and W are held independently: AXI lets them arrive in any order.
        aw_held = Signal()
        aw_addr = Signal(self._addr_width)
        w_held = Signal()
        w_data = Signal(self._data_width)
        w_strb = Signal(self._data_width // 8)
        write_waiting = aw_held & w_held
        prefer_write = Signal()    # the last access was a read: a waiting write goes next
        addr = Signal(self._addr_width)
        rdata = Signal(self._data_width)
        resp = Signal(AxiResp)

        m.d.comb += [
            axil.awready.eq(~aw_held),
            axil.wready.eq(~w_held),
            regs.addr.eq(addr),
            regs.w_data.eq(w_data),
            regs.w_strb.eq(w_strb),
            axil.rdata.eq(rdata),
            axil.rresp.eq(resp),
            axil.bresp.eq(resp),
        ]
        with m.If(axil.awvalid & axil.awready):
            m.d.sync += [aw_held.eq(1), aw_addr.eq(axil.awaddr)]
        with m.If(axil.wvalid & axil.wready):
            m.d.sync += [w_held.eq(1), w_data.eq(axil.wdata), w_strb.eq(axil.wstrb)]

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += axil.arready.eq(~(write_waiting & prefer_write))
                with m.If(axil.arvalid & axil.arready):
                    m.d.sync += addr.eq(aligned(axil.araddr))
                    m.next = "READ"
                with m.Elif(write_waiting):
                    m.d.sync += addr.eq(aligned(aw_addr))
                    m.next = "WRITE"
            with m.State("READ"):
                m.d.comb += regs.r_stb.eq(1)
                m.next = "WAIT_READ_DATA"
            with m.State("WAIT_READ_DATA"):
                m.d.sync += [rdata.eq(regs.r_data),
                             resp.eq(Mux(regs.err, AxiResp.SLVERR, AxiResp.OKAY))]
                m.next = "WAIT_RREADY"
            with m.State("WAIT_RREADY"):
                m.d.comb += axil.rvalid.eq(1)
                with m.If(axil.rready):
                    m.d.sync += prefer_write.eq(1)
                    m.next = "IDLE"
            with m.State("WRITE"):
                m.d.comb += regs.w_stb.eq(1)
                m.next = "WAIT_WRITE_ERR"
            with m.State("WAIT_WRITE_ERR"):
                m.d.sync += [resp.eq(Mux(regs.err, AxiResp.SLVERR, AxiResp.OKAY)),
                             aw_held.eq(0), w_held.eq(0)]
                m.next = "WAIT_BREADY"
            with m.State("WAIT_BREADY"):
                m.d.comb += axil.bvalid.eq(1)
                with m.If(axil.bready):
                    m.d.sync += prefer_write.eq(0)
                    m.next = "IDLE"
        return m


def _round_robin(m, name, requests):
    """Grant one of ``requests`` (a list of 1-bit values), starting after the last winner.

    Returns ``(grant, any_request, advance)``: the granted index, whether any request is
    up, and a signal to drive high when the grant was used (moves the priority on).
    """
    count = len(requests)
    grant = Signal(range(max(count, 2)), name=f"{name}_grant")
    last = Signal(range(max(count, 2)), init=count - 1, name=f"{name}_last")
    advance = Signal(name=f"{name}_advance")
    with m.Switch(last):
        for previous in range(count):
            with m.Case(previous):
                # Later assignments win: walk from lowest to highest priority.
                for offset in reversed(range(count)):
                    index = (previous + 1 + offset) % count
                    with m.If(requests[index]):
                        m.d.comb += grant.eq(index)
    with m.If(advance):
        m.d.sync += last.eq(grant)
    return grant, Cat(requests).any(), advance


class Axi4MemoryMaster(wiring.Component):
    """The ITS's internal memory ports (:mod:`gic.hw.bus.mem`) onto one AXI4 master.

    Reads: each read client has its own AXI ID (client ``i`` uses ID ``i``), so its
    responses come back in its request order while other clients' bursts may be answered
    before, after or interleaved with them (as AXI allows between IDs). A request of
    ``count + 1`` doublewords at ``addr`` becomes one ``INCR`` burst of full-width beats
    (``arsize = log2(data_width / 8)``, ``araddr = addr``, possibly not aligned to the beat)
    covering those doublewords: 4 doublewords at a 32-byte aligned address take 4 beats at
    64 bits, 2 at 128 and 1 at 256. A request crossing a 4 KiB boundary is split into two
    bursts. Up to ``max_outstanding`` requests per client may be in flight; clients are
    served round-robin, one ``AR`` per cycle. Returned doublewords are taken out of the
    beats according to the address, one per cycle, marked ``last`` at the request's end,
    with ``error`` set when their beat was answered ``SLVERR`` or ``DECERR``. A client not
    taking its data stalls the ``R`` channel (``rready`` low).

    Writes: one doubleword a request, issued as a single full-width beat (``awlen = 0``)
    whose ``wstrb`` selects the doubleword's 8 bytes; client ``i`` uses write ID ``i`` and
    gets one completion per write in order, ``error`` on ``SLVERR``/``DECERR``. AXI does not
    order reads against writes: a client that reads what it wrote waits for the completion.

    Latency: a read request accepted at a clock edge waits in its client's slot (one
    request per client: ``req.ready`` is the slot being empty) and competes from the next
    cycle; granted, it has its ``AR`` valid in the cycle after that. So a client's next
    request is accepted at the earliest two cycles after its previous one. A write request
    has its ``AW`` valid in the next cycle. ``R`` beats go through a
    2-entry FIFO (``rready`` is its room, from a register) and reach the clients the cycle
    after they are taken; ``B`` responses reach the clients in the same cycle
    (combinational path from ``bvalid`` to the client streams and from the clients'
    ``ready`` to ``bready``).

    Memory attributes (docs/axi-attributes.md): each request's ``attr`` (the InnerCache and
    OuterCache fields of the register describing what it accesses) gives its ``AxCACHE``,
    from the outer cacheability (:func:`gic_memory_type`), by AMBA AXI4 Table A4-5:

    =================================  ===========  ===========
    GIC cacheability (outer, or inner  ``ARCACHE``  ``AWCACHE``
    when OuterCache is 0b000)
    =================================  ===========  ===========
    0b000 Device-nGnRnE                0b0000       0b0000
    0b001 Normal Non-cacheable         0b0011       0b0011
    0b010 Read-allocate Write-through  0b1110       0b0110
    0b011 Read-allocate Write-back     0b1111       0b0111
    0b100 Write-allocate Write-through 0b1010       0b1110
    0b101 Write-allocate Write-back    0b1011       0b1111
    0b110 RaWa Write-through           0b1110       0b1110
    0b111 RaWa Write-back              0b1111       0b1111
    =================================  ===========  ===========

    InnerCache 0b000 (Device-nGnRnE) makes the access Device Non-bufferable whatever
    OuterCache says. ``AxCACHE`` is a register loaded with the address (reads: from the
    client's slot, where the code is computed when the request is taken; writes: computed
    from the granted client's request), so it adds no latency and no path from the bus.
    ``AxPROT`` is :func:`axi_prot` (data, privileged, non-secure unless ``secure``),
    ``AxQOS`` is ``qos``, ``AxLOCK`` is 0 (normal access): constants.

    Parameters
    ----------
    read_clients : int
        Number of read ports, 0..2**id_width.
    write_clients : int
        Number of write ports, 0..2**id_width.
    data_width : int
        AXI data bits: 64, 128 or 256.
    id_width : int
        AXI ID bits, 1..16.
    max_outstanding : int
        Read requests in flight per client, 1..256.
    secure : bool
        Issue secure accesses (``AxPROT[1]`` = 0); default non-secure (``AxPROT`` = 0b011).
    qos : int
        ``AxQOS`` of every access, 0..15 (default 0: no QoS scheme).

    Members
    -------
    axi : Out(Axi4Signature(addr_width=48, data_width=data_width, id_width=id_width))
        The master port.
    read : In(MemReadSignature()).array(read_clients)
        Read ports (present when ``read_clients`` > 0).
    write : In(MemWriteSignature()).array(write_clients)
        Write ports (present when ``write_clients`` > 0).

    Raises
    ------
    ValueError
        If a parameter is out of range.
    """

    def __init__(self, *, read_clients, write_clients, data_width=64, id_width=4,
                 max_outstanding=4, secure=False, qos=0):
        _check_data_width(data_width, (64, 128, 256))
        _check_int("id_width", id_width, range(1, 17), "an integer in 1..16")
        ids = range(0, (1 << id_width) + 1)
        _check_int("read_clients", read_clients, ids, f"an integer in 0..{1 << id_width} "
                   f"(one AXI ID each with id_width={id_width})")
        _check_int("write_clients", write_clients, ids, f"an integer in 0..{1 << id_width} "
                   f"(one AXI ID each with id_width={id_width})")
        if read_clients + write_clients == 0:
            raise ValueError("Axi4MemoryMaster needs at least one read or write client")
        _check_int("max_outstanding", max_outstanding, range(1, 257), "an integer in 1..256")
        if not isinstance(secure, bool):
            raise ValueError(f"secure must be a bool, not {secure!r}")
        _check_int("qos", qos, range(16), "an integer in 0..15")
        self._prot = axi_prot(secure=secure)
        self._qos = qos
        self._data_width = data_width
        self._id_width = id_width
        self._read_clients = read_clients
        self._write_clients = write_clients
        self._max_outstanding = max_outstanding
        members = {"axi": Out(Axi4Signature(addr_width=ADDR_BITS, data_width=data_width,
                                            id_width=id_width))}
        if read_clients:
            members["read"] = In(MemReadSignature()).array(read_clients)
        if write_clients:
            members["write"] = In(MemWriteSignature()).array(write_clients)
        super().__init__(members)

    @property
    def data_width(self):
        return self._data_width

    def elaborate(self, platform):
        m = Module()
        axi = self.axi
        lanes = self._data_width // 64
        lane_bits = lanes.bit_length() - 1
        beat_size = (self._data_width // 8).bit_length() - 1
        m.d.comb += [
            axi.arsize.eq(beat_size),
            axi.arburst.eq(AxiBurst.INCR),
            axi.awsize.eq(beat_size),
            axi.awburst.eq(AxiBurst.INCR),
            axi.awlen.eq(0),
            axi.wlast.eq(1),
            axi.arprot.eq(self._prot),
            axi.awprot.eq(self._prot),
            axi.arqos.eq(self._qos),
            axi.awqos.eq(self._qos),
            axi.arlock.eq(0),
            axi.awlock.eq(0),
        ]
        if self._read_clients:
            self._elaborate_reads(m, lanes, lane_bits)
        if self._write_clients:
            self._elaborate_writes(m, lane_bits)
        return m

    def _elaborate_reads(self, m, lanes, lane_bits):
        axi, clients = self.axi, self.read
        count_bits = 3
        # Per client, the requests in flight: their first doubleword's lane and their count.
        descriptors = []
        for index in range(self._read_clients):
            descriptor = fifo.SyncFIFO(width=lane_bits + count_bits, depth=self._max_outstanding)
            m.submodules[f"read{index}_in_flight"] = descriptor
            descriptors.append(descriptor)

        # -- requests: each client hands its request to its own slot (a register; the
        # client's ``ready`` is the slot being empty), the slots are arbitrated, and the
        # granted one becomes one AR (two when the request crosses 4 KiB). No client's logic
        # runs through the arbiter or the burst arithmetic in the cycle it makes a request.
        ar_valid = Signal()
        ar_second = Signal()          # a second burst of the same request is still to issue
        second_len = Signal(8)
        m.d.comb += axi.arvalid.eq(ar_valid)
        ar_free = ~ar_valid | (axi.arready & ~ar_second)

        slots = []
        for index, client in enumerate(clients):
            slot_valid = Signal(name=f"read{index}_slot_valid")
            slot_addr = Signal(ADDR_BITS, name=f"read{index}_slot_addr")
            slot_count = Signal(count_bits, name=f"read{index}_slot_count")
            slot_cache = Signal(4, name=f"read{index}_slot_cache")
            m.d.comb += client.req.ready.eq(~slot_valid)
            with m.If(client.req.valid & ~slot_valid):
                m.d.sync += [slot_valid.eq(1), slot_addr.eq(client.req.payload.addr),
                             slot_count.eq(client.req.payload.count),
                             slot_cache.eq(_axcache(m, client.req.payload.attr, ARCACHE,
                                                    f"read{index}"))]
            slots.append((slot_valid, slot_addr, slot_count, slot_cache))

        grant, any_request, advance = _round_robin(
            m, "read", [slot_valid & descriptor.w_rdy
                        for (slot_valid, *_), descriptor in zip(slots, descriptors)])
        accept = Signal()
        m.d.comb += [accept.eq(ar_free & any_request), advance.eq(accept)]

        req_addr = Signal(ADDR_BITS)
        req_count = Signal(count_bits)
        req_cache = Signal(4)
        req_id = grant
        with m.Switch(grant):
            for index, (slot_valid, slot_addr, slot_count, slot_cache) in enumerate(slots):
                with m.Case(index):
                    m.d.comb += [
                        req_addr.eq(slot_addr),
                        req_count.eq(slot_count),
                        req_cache.eq(slot_cache),
                        descriptors[index].w_en.eq(accept),
                    ]
                    with m.If(accept):
                        m.d.sync += slot_valid.eq(0)
        for descriptor in descriptors:
            m.d.comb += descriptor.w_data.eq(Cat(req_addr[3:3 + lane_bits], req_count))

        # Beats covering doublewords [start_lane, start_lane + count] of the first beat on.
        start_lane = req_addr[3:3 + lane_bits]
        total_len = (start_lane + req_count) >> lane_bits
        page_dw = req_addr[3:12]             # doubleword index in the 4 KiB page
        crosses = (page_dw + req_count)[9]
        first_len = ((1 << (9 - lane_bits)) - 1) - (page_dw >> lane_bits)

        with m.If(accept):
            m.d.sync += [
                ar_valid.eq(1),
                axi.arid.eq(req_id),
                axi.araddr.eq(req_addr),
                axi.arcache.eq(req_cache),
                axi.arlen.eq(Mux(crosses, first_len, total_len)),
                ar_second.eq(crosses),
                second_len.eq(total_len - first_len - 1),
            ]
        with m.Elif(ar_valid & axi.arready):
            with m.If(ar_second):
                # The next 4 KiB page, from the registered first address (timing: no adder
                # behind the arbiter).
                m.d.sync += [axi.araddr.eq(Cat(Const(0, 12), axi.araddr[12:] + 1)),
                             axi.arlen.eq(second_len),
                             ar_second.eq(0)]
            with m.Else():
                m.d.sync += ar_valid.eq(0)

        # -- responses: R beats wait in a 2-entry FIFO (``rready`` is its room, a register;
        # the clients see its head, also a register), then go to their client by RID, a
        # doubleword a cycle.
        rid = Signal.like(axi.rid)
        rresp = Signal(AxiResp)
        rdata = Signal.like(axi.rdata)
        beats = HeadRegisteredFIFO(width=len(rid) + Shape.cast(AxiResp).width + len(rdata),
                                   depth=2)
        m.submodules.read_beats = beats
        rvalid = beats.r_rdy
        rready = beats.r_en
        m.d.comb += [
            beats.w_data.eq(Cat(axi.rid, axi.rresp.as_value(), axi.rdata)),
            beats.w_en.eq(axi.rvalid),
            axi.rready.eq(beats.w_rdy),
            Cat(rid, rresp.as_value(), rdata).eq(beats.r_data),
        ]
        error = (rresp == AxiResp.SLVERR) | (rresp == AxiResp.DECERR)
        routes = []
        for index, (client, descriptor) in enumerate(zip(clients, descriptors)):
            done = Signal(count_bits, name=f"read{index}_done")   # doublewords delivered
            last = Signal(name=f"read{index}_last")
            beat_done = Signal(name=f"read{index}_beat_done")     # last wanted doubleword of the beat
            take = Signal(name=f"read{index}_take")
            m.d.comb += [
                last.eq(done == descriptor.r_data[lane_bits:]),
                client.resp.payload.last.eq(last),
                client.resp.payload.error.eq(error),
            ]
            if lane_bits:
                lane = Signal(lane_bits, name=f"read{index}_lane")
                m.d.comb += [
                    lane.eq(descriptor.r_data[:lane_bits] + done),
                    client.resp.payload.data.eq(rdata.word_select(lane, 64)),
                    beat_done.eq(last | (lane == lanes - 1)),
                ]
            else:
                m.d.comb += [client.resp.payload.data.eq(rdata), beat_done.eq(1)]
            with m.If(take):
                m.d.sync += done.eq(Mux(last, 0, done + 1))
                m.d.comb += descriptor.r_en.eq(last)
            routes.append((client, descriptor, take, beat_done))

        # An ID with nothing in flight is a slave's mistake: drop its beat rather than hang.
        m.d.comb += rready.eq(1)
        with m.Switch(rid):
            for index, (client, descriptor, take, beat_done) in enumerate(routes):
                with m.Case(index):
                    m.d.comb += [
                        client.resp.valid.eq(rvalid & descriptor.r_rdy),
                        take.eq(rvalid & descriptor.r_rdy & client.resp.ready),
                    ]
                    with m.If(descriptor.r_rdy):
                        # Hold the beat until its last wanted doubleword is taken.
                        m.d.comb += rready.eq(take & beat_done)

    def _elaborate_writes(self, m, lane_bits):
        axi, clients = self.axi, self.write
        aw_valid = Signal()
        w_valid = Signal()
        m.d.comb += [axi.awvalid.eq(aw_valid), axi.wvalid.eq(w_valid)]
        free = (~aw_valid | axi.awready) & (~w_valid | axi.wready)

        grant, any_request, advance = _round_robin(m, "write",
                                                   [client.req.valid for client in clients])
        accept = Signal()
        m.d.comb += [accept.eq(free & any_request), advance.eq(accept)]
        addr = Signal(ADDR_BITS)
        data = Signal(64)
        cache = Signal(4)
        # Each client's AWCACHE is looked up before the grant mux (beside the arbiter).
        caches = [_axcache(m, client.req.payload.attr, AWCACHE, f"write{index}")
                  for index, client in enumerate(clients)]
        with m.Switch(grant):
            for index, client in enumerate(clients):
                with m.Case(index):
                    m.d.comb += [addr.eq(client.req.payload.addr),
                                 data.eq(client.req.payload.data),
                                 cache.eq(caches[index]),
                                 client.req.ready.eq(accept)]
        lane = addr[3:3 + lane_bits]
        with m.If(accept):
            m.d.sync += [
                aw_valid.eq(1), w_valid.eq(1),
                axi.awid.eq(grant),
                axi.awaddr.eq(addr),
                axi.awcache.eq(cache),
                axi.wdata.eq(data.replicate(self._data_width // 64)),
                axi.wstrb.eq(Const(0xFF, 8) << (lane * 8) if lane_bits else 0xFF),
            ]
        with m.Else():
            with m.If(axi.awready):
                m.d.sync += aw_valid.eq(0)
            with m.If(axi.wready):
                m.d.sync += w_valid.eq(0)

        error = (axi.bresp == AxiResp.SLVERR) | (axi.bresp == AxiResp.DECERR)
        for client in clients:
            m.d.comb += client.resp.payload.error.eq(error)
        m.d.comb += axi.bready.eq(1)          # an ID nobody asked for is dropped, not hung on
        with m.Switch(axi.bid):
            for index, client in enumerate(clients):
                with m.Case(index):
                    m.d.comb += [client.resp.valid.eq(axi.bvalid),
                                 axi.bready.eq(client.resp.ready)]


# -- formal proofs (gic.hw.formal, docs/formal.md) ---------------------------------------

_MASTER = dict(id_width=1, max_outstanding=2)
"""The small parameters of the memory master's proofs."""


def _zero_extend(value, width):
    return Cat(value, Const(0, width - len(value)))[:width]


def _assume_axi_slave_channels(m, axi):
    """A well-behaved slave holds R and B stable until they are taken."""
    from gic.hw.formal import assume_stable
    assume_stable(m, axi.rvalid, axi.rready,
                  [axi.rid, axi.rdata, axi.rresp.as_value(), axi.rlast], name="R")
    assume_stable(m, axi.bvalid, axi.bready, [axi.bid, axi.bresp.as_value()], name="B")


def _assert_axi_master_channels(m, axi):
    """AR, AW and W: valid held and the channel's signals stable until ready (AXI A3.2.1);
    no burst crosses 4 KiB (A3.4.1); each write is one beat with WLAST, its W beat issued
    with its AW, one W per AW."""
    from amaranth.hdl import Assert, signed
    from gic.hw.formal import Counter, assert_stable
    assert_stable(m, axi.arvalid, axi.arready,
                  [axi.arid, axi.araddr, axi.arlen, axi.arsize, axi.arburst.as_value(),
                   axi.arlock, axi.arcache, axi.arprot, axi.arqos], name="AR")
    assert_stable(m, axi.awvalid, axi.awready,
                  [axi.awid, axi.awaddr, axi.awlen, axi.awsize, axi.awburst.as_value(),
                   axi.awlock, axi.awcache, axi.awprot, axi.awqos], name="AW")
    assert_stable(m, axi.wvalid, axi.wready, [axi.wdata, axi.wstrb, axi.wlast], name="W")
    size = (len(axi.wdata) // 8).bit_length() - 1
    beats_per_page = 4096 >> size
    with m.If(axi.arvalid):
        m.d.comb += [
            Assert(axi.arsize == size, "ARSIZE is the bus width"),
            Assert(axi.arburst == AxiBurst.INCR, "ARBURST is INCR"),
            Assert(axi.araddr[size:12] + axi.arlen < beats_per_page,
                   "no read burst crosses 4 KiB"),
        ]
    with m.If(axi.awvalid):
        m.d.comb += [
            Assert(axi.awsize == size, "AWSIZE is the bus width"),
            Assert(axi.awlen == 0, "writes are single beats"),
            Assert(axi.awaddr[size:12] + axi.awlen < beats_per_page,
                   "no write burst crosses 4 KiB"),
        ]
    with m.If(axi.wvalid):
        m.d.comb += Assert(axi.wlast, "WLAST on the last (only) beat of each write burst")
    # W beats minus AW handshakes so far: W follows its AW one to one, issued together.
    lead = Counter(m, up=axi.awvalid & axi.awready, down=axi.wvalid & axi.wready,
                   shape=signed(3), name="aw_lead")
    m.d.comb += Assert(lead.value + axi.awvalid == axi.wvalid,
                       "each AW has exactly one W beat, issued with it")


def _master_handshakes(fault=None):
    """Axi4MemoryMaster(read_clients=2, write_clients=2, data_width=128, id_width=1,
    max_outstanding=2), any client requests and slave responses (held stable until taken):
    AR/AW/W valid and payload stable until ready; ARSIZE/AWSIZE, INCR; no burst crosses
    4 KiB; writes one beat with WLAST, one W per AW; the write clients' completion streams
    stable until ready. k-induction closes."""
    from amaranth.hdl import Assert
    from gic.hw.formal import (FormalTop, assert_stream_output, assume_stream_input)

    dut = (fault or Axi4MemoryMaster)(read_clients=2, write_clients=2, data_width=128,
                                      **_MASTER)

    def build(m):
        m.submodules.dut = dut
        _assume_axi_slave_channels(m, dut.axi)
        for index, client in enumerate(dut.read):
            assume_stream_input(m, client.req, name=f"read{index}_req")
        for index, client in enumerate(dut.write):
            assume_stream_input(m, client.req, name=f"write{index}_req")
            assert_stream_output(m, client.resp, name=f"write{index}_resp")
        _assert_axi_master_channels(m, dut.axi)

    return FormalTop(build, dut=dut)


def _master_reads(fault=None, *, data=False, data_width=128):
    """Axi4MemoryMaster(read_clients=2, write_clients=0, data_width=128, id_width=1,
    max_outstanding=2) against a well-behaved slave (R held until taken, only for an ID
    with a burst outstanding, in order per ID, RLAST on each burst's last beat) and
    clients asking for 8-byte aligned addresses: per client, at most ``max_outstanding``
    requests in flight beyond the one in its slot, at most two bursts per request on AR;
    each request answered by exactly ``count + 1`` doublewords, ``last`` on the final one
    (one completion per request, none without one); the clients' data streams stable
    until ready; AR stable, no burst across 4 KiB. Bounded (11 cycles: two requests per
    client, a split one included): the in-flight FIFOs keep their entries in memories the
    properties cannot see, so k-induction does not close; deeper searches grow fast
    (12 cycles take about a minute).

    With ``data``: see :func:`_master_read_data`."""
    from amaranth.hdl import Assert, Assume, Cat, Const, Mux, Signal
    from gic.hw.formal import (FormalTop, ModelQueue, assert_stable, assert_stream_output,
                               assume_stable, assume_stream_input)

    dut = (fault or Axi4MemoryMaster)(read_clients=2, write_clients=0, data_width=data_width,
                                      **_MASTER)
    outstanding = _MASTER["max_outstanding"]

    def build(m):
        m.submodules.dut = dut
        axi = dut.axi
        size = (len(axi.rdata) // 8).bit_length() - 1
        lanes = len(axi.rdata) // 64
        assume_stable(m, axi.rvalid, axi.rready,
                      [axi.rid, axi.rdata, axi.rresp.as_value(), axi.rlast], name="R")
        assert_stable(m, axi.arvalid, axi.arready,
                      [axi.arid, axi.araddr, axi.arlen, axi.arsize, axi.arburst.as_value(),
                       axi.arcache], name="AR")
        with m.If(axi.arvalid):
            m.d.comb += Assert(axi.araddr[size:12] + axi.arlen < (4096 >> size),
                               "no read burst crosses 4 KiB")
        # The slave: per ID, the bursts accepted on AR (address, length) and the beat
        # within the oldest one.
        ar_take = axi.arvalid & axi.arready
        r_take = axi.rvalid & axi.rready
        bursts, beats = [], []
        for ident in range(1 << len(axi.arid)):
            beat = Signal(8, name=f"slave_id{ident}_beat")
            here = r_take & (axi.rid == ident)
            queue = ModelQueue(m, width=8 + (len(axi.araddr) if data else 0),
                               depth=2 * outstanding, push=ar_take & (axi.arid == ident),
                               data=Cat(axi.arlen, axi.araddr if data else Const(0, 0)),
                               pop=here & axi.rlast,
                               name=f"slave_id{ident}")
            with m.If(here):
                m.d.sync += beat.eq(Mux(axi.rlast, 0, beat + 1))
            m.d.comb += Assert(queue.count + (ar_take & (axi.arid == ident)) <= queue.depth,
                               "at most two bursts on AR per request in flight")
            bursts.append(queue)
            beats.append(beat)
        with m.If(axi.rvalid):
            with m.Switch(axi.rid):
                for ident, (queue, beat) in enumerate(zip(bursts, beats)):
                    with m.Case(ident):
                        length = queue.head[:8]
                        beat_addr = Cat(Const(0, size), queue.head[8 + size:] + beat)
                        m.d.comb += [
                            Assume(queue.count > 0, "R only for an outstanding burst"),
                            Assume(axi.rlast == (beat == length), "RLAST on the last beat"),
                        ]
                        if data:
                            m.d.comb += Assume(
                                axi.rdata == Cat(*[_zero_extend((beat_addr + 8 * lane)[:ADDR_BITS],
                                                                64) for lane in range(lanes)]),
                                "each doubleword of memory holds its address")
        # The clients: their requests (address, count) in flight and the doublewords
        # delivered of the oldest.
        for index, client in enumerate(dut.read):
            req, resp = client.req, client.resp
            assume_stream_input(m, req, name=f"read{index}_req")
            m.d.comb += Assume(req.payload.addr[:3] == 0, "requests are 8-byte aligned")
            if data:
                m.d.comb += Assume(req.payload.addr[13:] == 0,
                                   "in the first two 4 KiB pages (the search's size)")
            assert_stream_output(m, resp, name=f"read{index}_resp")
            taken = resp.valid & resp.ready
            queue = ModelQueue(m, width=3 + (len(req.payload.addr) if data else 0),
                               depth=outstanding + 1, push=req.valid & req.ready,
                               data=Cat(req.payload.count,
                                        req.payload.addr if data else Const(0, 0)),
                               pop=taken & resp.payload.last, name=f"read{index}_model")
            delivered = Signal(3, name=f"read{index}_delivered")
            with m.If(taken):
                m.d.sync += delivered.eq(Mux(resp.payload.last, 0, delivered + 1))
            count = queue.head[:3]
            addr = queue.head[3:]
            m.d.comb += Assert(queue.count <= outstanding + ~req.ready,
                               "at most max_outstanding requests in flight per client")
            with m.If(resp.valid):
                m.d.comb += [
                    Assert(queue.count > 0, "no data without a request"),
                    Assert(resp.payload.last == (delivered == count),
                           "count + 1 doublewords per request, last on the final one"),
                ]
                if data:
                    m.d.comb += Assert(resp.payload.data == (addr + 8 * delivered)[:ADDR_BITS],
                                       "the doublewords asked for, in address order")

    return FormalTop(build, dut=dut)


def _master_writes(fault=None):
    """Axi4MemoryMaster(read_clients=0, write_clients=2, data_width=128, id_width=1,
    max_outstanding=2) against a slave that answers B only for an ID with a write
    outstanding and takes at most 4 writes ahead of their answers: per client, one
    completion per write taken and none without one (the writes taken and not answered
    are those on AW or beyond); WSTRB selects the request's doubleword of the beat; the
    completion streams stable until ready; and the AW/W rules. k-induction closes."""
    from amaranth.hdl import Assert, Assume, Const, Signal
    from gic.hw.formal import FormalTop, Counter, assume_stable, assume_stream_input, \
        assert_stream_output

    dut = (fault or Axi4MemoryMaster)(read_clients=0, write_clients=2, data_width=128,
                                      **_MASTER)

    def build(m):
        m.submodules.dut = dut
        axi = dut.axi
        assume_stable(m, axi.bvalid, axi.bready, [axi.bid, axi.bresp.as_value()], name="B")
        _assert_axi_master_channels(m, axi)
        aw_take = axi.awvalid & axi.awready
        b_take = axi.bvalid & axi.bready
        pending = []
        for ident in range(1 << len(axi.awid)):
            on_bus = Counter(m, up=aw_take & (axi.awid == ident),
                             down=b_take & (axi.bid == ident), name=f"slave_id{ident}_writes")
            pending.append(on_bus.value)
            with m.If(axi.bvalid & (axi.bid == ident)):
                m.d.comb += Assume(on_bus.value > 0, "B only for an outstanding write")
        total = sum(pending)
        with m.If(aw_take):
            m.d.comb += Assume(total < 4, "the slave takes at most 4 writes ahead of B")
        m.d.comb += Assert(total <= 4, "(invariant of the slave's limit: no counter wraps)")
        with m.If(axi.wvalid):
            m.d.comb += Assert(axi.wstrb == (Const(0xFF, 16) << (axi.awaddr[3] * 8))[:16],
                               "WSTRB selects the request's doubleword")
        for index, client in enumerate(dut.write):
            req, resp = client.req, client.resp
            assume_stream_input(m, req, name=f"write{index}_req")
            m.d.comb += Assume(req.payload.addr[:3] == 0, "requests are 8-byte aligned")
            assert_stream_output(m, resp, name=f"write{index}_resp")
            taken = Counter(m, up=req.valid & req.ready, down=resp.valid & resp.ready,
                            name=f"write{index}_taken")
            m.d.comb += Assert(taken.value == pending[index] + (axi.awvalid & (axi.awid == index)),
                               "the writes taken and not answered are on AW or beyond")
            with m.If(resp.valid):
                m.d.comb += Assert(taken.value > 0, "no completion without a write")

    return FormalTop(build, dut=dut)


def _bridge_handshakes(fault=None):
    """Axi4LiteRegisterBridge(addr_width=8, data_width=32), any master holding AW, W and AR
    stable until ready: R and B stable until ready; one access at a time on the register
    bus, strobes one cycle long; the requests taken and unanswered are exactly those held
    (AW, W) or being served (AR): one response per request, none without one.
    k-induction closes."""
    return _bridge(data=False, fault=fault)


def _bridge_data():
    """Axi4LiteRegisterBridge(addr_width=8, data_width=32), as axil_bridge_handshakes and:
    the write strobe carries the W beat's WSTRB and WDATA at the AW address (aligned), the
    read strobe the AR address; RDATA/RRESP and BRESP are the register block's answer
    (``err`` is SLVERR). Bounded: the held AW/W are registers the properties cannot see."""
    return _bridge(data=True)


def _bridge(*, data, fault=None):
    """Axi4LiteRegisterBridge(addr_width=8, data_width=32) and any master that holds AW, W
    and AR stable until ready. Always: R and B stable until ready; one access at a time on
    the register bus, each strobe one cycle; the requests taken and not answered are those
    the bridge holds (AW/W) or is serving (AR): one response per request, none without one.
    With ``data``: the write strobe carries the W beat's WSTRB and WDATA and the AW address
    (aligned), the read strobe the AR address; RDATA/RRESP and BRESP are the register
    block's answer (``err`` -> SLVERR)."""
    from amaranth.hdl import Assert, Signal
    from gic.hw.formal import Counter, FormalTop, assert_stable, assume_stable, past

    dut = (fault or Axi4LiteRegisterBridge)(addr_width=8, data_width=32)

    def build(m):
        m.submodules.dut = dut
        axil, regs = dut.axil, dut.regs
        assume_stable(m, axil.awvalid, axil.awready, [axil.awaddr, axil.awprot], name="AW")
        assume_stable(m, axil.wvalid, axil.wready, [axil.wdata, axil.wstrb], name="W")
        assume_stable(m, axil.arvalid, axil.arready, [axil.araddr, axil.arprot], name="AR")
        assert_stable(m, axil.rvalid, axil.rready, [axil.rdata, axil.rresp.as_value()],
                      name="R")
        assert_stable(m, axil.bvalid, axil.bready, axil.bresp.as_value(), name="B")
        aw_take = axil.awvalid & axil.awready
        w_take = axil.wvalid & axil.wready
        ar_take = axil.arvalid & axil.arready
        b_take = axil.bvalid & axil.bready
        r_take = axil.rvalid & axil.rready
        aws = Counter(m, up=aw_take, down=b_take, name="aw_unanswered")
        ws = Counter(m, up=w_take, down=b_take, name="w_unanswered")
        ars = Counter(m, up=ar_take, down=r_take, name="ar_unanswered")
        was_r_stb = past(m, regs.r_stb, name="was_r_stb")
        was_w_stb = past(m, regs.w_stb, name="was_w_stb")
        m.d.comb += [
            Assert(~(regs.r_stb & regs.w_stb), "one access at a time"),
            Assert(~(was_r_stb & regs.r_stb) & ~(was_w_stb & regs.w_stb),
                   "a strobe lasts one cycle"),
            Assert(~(axil.rvalid & axil.bvalid), "one response at a time"),
            Assert(aws.value == ~axil.awready + axil.bvalid,
                   "AW taken and unanswered: the one held, and the one answered on B"),
            Assert(ws.value == ~axil.wready + axil.bvalid,
                   "W taken and unanswered: the one held, and the one answered on B"),
            Assert(ars.value == regs.r_stb + was_r_stb + axil.rvalid,
                   "AR taken and unanswered: the one being read or answered on R"),
        ]
        if data:
            awaddr = Signal.like(axil.awaddr, name="last_awaddr")
            wdata = Signal.like(axil.wdata, name="last_wdata")
            wstrb = Signal.like(axil.wstrb, name="last_wstrb")
            araddr = Signal.like(axil.araddr, name="last_araddr")
            with m.If(aw_take):
                m.d.sync += awaddr.eq(axil.awaddr)
            with m.If(w_take):
                m.d.sync += [wdata.eq(axil.wdata), wstrb.eq(axil.wstrb)]
            with m.If(ar_take):
                m.d.sync += araddr.eq(axil.araddr)
            answer = Signal.like(regs.r_data, name="answer")
            error = Signal(name="answer_err")
            with m.If(was_r_stb):
                m.d.sync += [answer.eq(regs.r_data), error.eq(regs.err)]
            with m.If(was_w_stb):
                m.d.sync += error.eq(regs.err)
            with m.If(regs.w_stb):
                m.d.comb += [
                    Assert(regs.w_strb == wstrb, "WSTRB passed through"),
                    Assert(regs.w_data == wdata, "WDATA passed through"),
                    Assert(regs.addr == Cat(Const(0, 2), awaddr[2:]), "the AW address, aligned"),
                ]
            with m.If(regs.r_stb):
                m.d.comb += Assert(regs.addr == Cat(Const(0, 2), araddr[2:]),
                                   "the AR address, aligned")
            with m.If(axil.rvalid):
                m.d.comb += [
                    Assert(axil.rdata == answer, "RDATA is the register's value"),
                    Assert(axil.rresp.as_value() == Mux(error, AxiResp.SLVERR.value,
                                                        AxiResp.OKAY.value),
                           "RRESP: err is SLVERR"),
                ]
            with m.If(axil.bvalid):
                m.d.comb += Assert(axil.bresp.as_value() == Mux(error, AxiResp.SLVERR.value,
                                                                       AxiResp.OKAY.value),
                                   "BRESP: err is SLVERR")

    return FormalTop(build, dut=dut)


class _WDropsAfterAw(Axi4MemoryMaster):
    """Mutant: W valid follows AW valid, so W drops when AW is taken first."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.axi.wvalid.eq(self.axi.awvalid)
        return m


class _LastEveryDoubleword(Axi4MemoryMaster):
    """Mutant: read client 0 sees ``last`` on every doubleword."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.read[0].resp.payload.last.eq(1)
        return m


class _DataFromTheBus(Axi4MemoryMaster):
    """Mutant: read client 0 takes its data from RDATA on the bus, not from the beat it is
    given (the one at the head of the R FIFO)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.read[0].resp.payload.data.eq(self.axi.rdata[:64])
        return m


def _master_read_data():
    """Axi4MemoryMaster(read_clients=2, write_clients=0, data_width=64, id_width=1,
    max_outstanding=2) as axi_master_reads, with a slave whose memory holds at each
    doubleword its own address and requests in the first 8 KiB (two pages, so a request
    split at 4 KiB is in reach): each client gets the doublewords it asked for, in address
    order. Bounded (9 cycles: the search with the data in it grows fast, the 10th cycle
    alone takes minutes)."""
    return _master_reads(data=True, data_width=64)


class _BReadyAlways(Axi4MemoryMaster):
    """Mutant: B taken whether or not its client takes the completion (completions lost)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.axi.bready.eq(1)
        return m


class _StrobesAllBytes(Axi4LiteRegisterBridge):
    """Mutant: every write strobes all bytes (WSTRB not passed through)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.regs.w_strb.eq((1 << len(self.regs.w_strb)) - 1)
        return m


class _AwReadyAlways(Axi4LiteRegisterBridge):
    """Mutant: AW taken while one is held (the held address is overwritten, a request lost)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.axil.awready.eq(1)
        return m


def _proofs():
    from gic.hw.formal import Proof
    master = "Axi4MemoryMaster({}, {}-bit, 1-bit IDs, max_outstanding=2)".format
    bridge = "Axi4LiteRegisterBridge(addr_width=8, data_width=32)"
    return [
        Proof("axi_master_handshakes", master("2 read + 2 write", 128), _master_handshakes,
              mode="prove", depth=6,
              mutant=lambda: _master_handshakes(fault=_WDropsAfterAw)),
        Proof("axi_master_reads", master("2 read", 128), _master_reads, mode="bmc", depth=11,
              mutant=lambda: _master_reads(fault=_LastEveryDoubleword)),
        Proof("axi_master_read_data",
              master("2 read", 64),
              _master_read_data, mode="bmc", depth=9,
              mutant=lambda: _master_reads(fault=_DataFromTheBus, data=True, data_width=64)),
        Proof("axi_master_writes", master("2 write", 128), _master_writes, mode="prove", depth=6,
              mutant=lambda: _master_writes(fault=_BReadyAlways)),
        Proof("axil_bridge_handshakes", bridge, _bridge_handshakes, mode="prove", depth=6,
              mutant=lambda: _bridge_handshakes(fault=_AwReadyAlways)),
        Proof("axil_bridge_data", bridge, _bridge_data, mode="bmc", depth=14,
              mutant=lambda: _bridge(data=True, fault=_StrobesAllBytes)),
    ]


PROOFS = _proofs()
"""This module's formal proofs (gic.sim.tools.formal)."""
