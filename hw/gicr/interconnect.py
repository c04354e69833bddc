"""The bus glue of the Gic top: a 2:1 AXI4 join and a 1:N AXI4-Lite frame decoder.

* :class:`Axi4Join`: two AXI4 masters (the ITS, the redistributors) onto one,
  each master's IDs kept apart by one more ID bit.
* :class:`Axi4LiteDecoder`: one AXI4-Lite slave port onto several equal-sized
  register frames (the ITS frame, then one frame per redistributor).
"""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from ..bus.axi import AxiResp, Axi4LiteSignature, Axi4Signature
from ..bus.mem import ADDR_BITS

__all__ = ["Axi4Join", "Axi4LiteDecoder"]

_AR_FIELDS = ("araddr", "arlen", "arsize", "arburst", "arlock", "arcache", "arprot", "arqos")
_AW_FIELDS = ("awaddr", "awlen", "awsize", "awburst", "awlock", "awcache", "awprot", "awqos")


def _check(name, value, allowed, what):
    if not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
        raise ValueError(f"{name} must be {what}, not {value!r}")


class Axi4Join(wiring.Component):
    """Two AXI4 masters onto one AXI4 master port.

    Address channels: each of ``AR`` and ``AW`` has a one-entry holding register on the
    output; when both inputs offer, they take turns. The output ID is the input's ID
    (zero-extended to the wider input's width) with one bit above it naming the input
    (0: ``first``, 1: ``second``), so responses go back by ``RID``/``BID`` alone and
    each input keeps the AXI ordering of its own IDs. Write data follows the order in
    which the ``AW`` of each input were taken (a FIFO of ``max_writes`` owners): an
    input's ``W`` beats pass once its ``AW`` is held, until ``WLAST``.

    The attributes (``AxLOCK``, ``AxCACHE``, ``AxPROT``, ``AxQOS``) are held with the address.

    Latency: one cycle on ``AR`` and ``AW``; ``R``, ``B`` and ``W`` pass combinationally.

    Parameters
    ----------
    first_id_width, second_id_width : int
        ID bits of the two inputs, 1..15.
    data_width : int
        64, 128 or 256.
    max_writes : int
        Write bursts whose ``AW`` was taken and whose data has not all passed, 1..16.

    Members
    -------
    first : In(Axi4Signature(id_width=first_id_width))
    second : In(Axi4Signature(id_width=second_id_width))
    axi : Out(Axi4Signature(id_width=max(first_id_width, second_id_width) + 1))

    Raises
    ------
    ValueError
        If a parameter is out of range.
    """

    def __init__(self, *, first_id_width, second_id_width, data_width=64, max_writes=4):
        _check("first_id_width", first_id_width, range(1, 16), "an integer in 1..15")
        _check("second_id_width", second_id_width, range(1, 16), "an integer in 1..15")
        _check("max_writes", max_writes, range(1, 17), "an integer in 1..16")
        self._id_width = max(first_id_width, second_id_width)
        self._max_writes = max_writes
        super().__init__({
            "first": In(Axi4Signature(addr_width=ADDR_BITS, data_width=data_width,
                                      id_width=first_id_width)),
            "second": In(Axi4Signature(addr_width=ADDR_BITS, data_width=data_width,
                                       id_width=second_id_width)),
            "axi": Out(Axi4Signature(addr_width=ADDR_BITS, data_width=data_width,
                                     id_width=self._id_width + 1)),
        })

    def _address_channel(self, m, prefix, fields, allow=1):
        """One holding register for ``AR`` or ``AW``, filled only while ``allow``; returns
        ``(taking, take_second)``: an input's address is taken this cycle, and which."""
        inputs = (self.first, self.second)
        out = self.axi
        valid = getattr(out, f"{prefix}valid")
        ready = getattr(out, f"{prefix}ready")
        held = Signal(name=f"{prefix}_held")
        turn = Signal(name=f"{prefix}_second_turn")    # who goes first when both offer
        m.d.comb += valid.eq(held)
        free = (~held | ready) & allow
        offers = [getattr(port, f"{prefix}valid") for port in inputs]
        take_second = Signal(name=f"{prefix}_take_second")
        taking = Signal(name=f"{prefix}_taking")
        m.d.comb += [
            take_second.eq(offers[1] & (~offers[0] | turn)),
            taking.eq(free & (offers[0] | offers[1])),
            getattr(inputs[0], f"{prefix}ready").eq(free & ~take_second),
            getattr(inputs[1], f"{prefix}ready").eq(free & take_second),
        ]
        with m.If(valid & ready):
            m.d.sync += held.eq(0)
        for index, port in enumerate(inputs):
            with m.If(taking & (take_second == index)):
                m.d.sync += [held.eq(1), turn.eq(~take_second),
                             getattr(out, f"{prefix}id").eq(
                                 Cat(getattr(port, f"{prefix}id"),
                                     Const(0, self._id_width - len(getattr(port, f"{prefix}id"))),
                                     Const(index, 1)))]
                m.d.sync += [getattr(out, name).eq(getattr(port, name)) for name in fields]
        return taking, take_second

    def _response_channel(self, m, prefix, fields):
        """Route ``R`` or ``B`` back by the ID's top bit."""
        out = self.axi
        rid = getattr(out, f"{prefix}id")
        source = rid[self._id_width]
        for index, port in enumerate((self.first, self.second)):
            width = len(getattr(port, f"{prefix}id"))
            m.d.comb += [
                getattr(port, f"{prefix}valid").eq(getattr(out, f"{prefix}valid") &
                                                   (source == index)),
                getattr(port, f"{prefix}id").eq(rid[:width]),
            ]
            m.d.comb += [getattr(port, name).eq(getattr(out, name)) for name in fields]
            with m.If(source == index):
                m.d.comb += getattr(out, f"{prefix}ready").eq(getattr(port, f"{prefix}ready"))

    def elaborate(self, platform):
        m = Module()
        self._address_channel(m, "ar", _AR_FIELDS)
        self._response_channel(m, "r", ("rdata", "rresp", "rlast"))

        # An AW is taken only while the owner of its data can be recorded.
        m.submodules.write_order = order = fifo.SyncFIFO(width=1, depth=self._max_writes)
        taking, take_second = self._address_channel(m, "aw", _AW_FIELDS, allow=order.w_rdy)
        m.d.comb += [order.w_en.eq(taking), order.w_data.eq(take_second)]

        out = self.axi
        owner = order.r_data[0]
        for index, port in enumerate((self.first, self.second)):
            active = order.r_rdy & (owner == index)
            with m.If(active):
                m.d.comb += [out.wvalid.eq(port.wvalid), out.wdata.eq(port.wdata),
                             out.wstrb.eq(port.wstrb), out.wlast.eq(port.wlast),
                             port.wready.eq(out.wready)]
        m.d.comb += order.r_en.eq(out.wvalid & out.wready & out.wlast)
        self._response_channel(m, "b", ("bresp",))
        return m


class Axi4LiteDecoder(wiring.Component):
    """One AXI4-Lite slave port onto ``frames`` register frames of ``frame_bytes`` each.

    Frame ``k`` answers addresses ``k * frame_bytes`` .. ``(k + 1) * frame_bytes - 1``
    and sees them from 0. One transaction at a time: a read or a write (reads and writes
    take turns when both wait) goes to its frame's port, channels passing through
    combinationally, and the next one starts after its response. An address beyond the
    last frame is answered ``DECERR`` here.

    Parameters
    ----------
    frames : int
        Number of frames, 1..256.
    frame_bytes : int
        A power of two, at least 8.
    data_width : int
        32 or 64.

    Members
    -------
    axil : In(Axi4LiteSignature(addr_width=log2(frame_bytes) + ceil(log2(frames))))
        The slave port.
    frame : Out(Axi4LiteSignature(addr_width=log2(frame_bytes))).array(frames)
        One master port per frame.

    Raises
    ------
    ValueError
        If a parameter is out of range.
    """

    def __init__(self, *, frames, frame_bytes, data_width=64):
        _check("frames", frames, range(1, 257), "an integer in 1..256")
        if not isinstance(frame_bytes, int) or frame_bytes < 8 or frame_bytes & (frame_bytes - 1):
            raise ValueError(f"frame_bytes must be a power of two >= 8, not {frame_bytes!r}")
        self._frames = frames
        self._frame_bits = frame_bytes.bit_length() - 1
        select_bits = (frames - 1).bit_length()
        super().__init__({
            "axil": In(Axi4LiteSignature(addr_width=self._frame_bits + max(select_bits, 1),
                                         data_width=data_width)),
            "frame": Out(Axi4LiteSignature(addr_width=self._frame_bits,
                                           data_width=data_width)).array(frames),
        })

    def elaborate(self, platform):
        m = Module()
        bus = self.axil
        target = Signal(range(self._frames + 1))     # self._frames: no frame (DECERR)
        prefer_write = Signal()
        done = Signal()                              # the address handshake is over
        data_done = Signal()                         # the write data handshake is over

        def frame_of(addr, name):
            """The frame ``addr`` falls in, or ``frames`` when none."""
            index = addr[self._frame_bits:]
            result = Signal(range(self._frames + 1), name=name)
            m.d.comb += result.eq(self._frames)
            for frame in range(self._frames):
                with m.If(index == frame):
                    m.d.comb += result.eq(frame)
            return result

        for port in self.frame:
            m.d.comb += [port.araddr.eq(bus.araddr[:self._frame_bits]), port.arprot.eq(bus.arprot),
                         port.awaddr.eq(bus.awaddr[:self._frame_bits]), port.awprot.eq(bus.awprot),
                         port.wdata.eq(bus.wdata), port.wstrb.eq(bus.wstrb)]

        def pass_through(requests, response, payload):
            """One transaction's handshakes between ``bus`` and frame ``target``'s port.

            ``requests`` pairs each request channel (``"ar"``; ``"aw"``, ``"w"``) with the
            flag set once its handshake is over; the ``response`` channel (``"r"``, ``"b"``)
            carries the ``payload`` fields back, and ends the transaction. With no frame the
            requests are taken here and the response is DECERR.
            """
            def sig(interface, channel, name):
                return getattr(interface, channel + name)

            with m.If(target == self._frames):
                for channel, flag in requests:
                    m.d.comb += sig(bus, channel, "ready").eq(~flag)
                    with m.If(sig(bus, channel, "valid") & ~flag):
                        m.d.sync += flag.eq(1)
                all_done = Cat(flag for _, flag in requests).all()
                m.d.comb += [sig(bus, response, "valid").eq(all_done),
                             sig(bus, response, "resp").eq(AxiResp.DECERR)]
                with m.If(sig(bus, response, "valid") & sig(bus, response, "ready")):
                    m.next = "IDLE"
            for index, port in enumerate(self.frame):
                with m.If(target == index):
                    for channel, flag in requests:
                        m.d.comb += [
                            sig(port, channel, "valid").eq(sig(bus, channel, "valid") & ~flag),
                            sig(bus, channel, "ready").eq(sig(port, channel, "ready") & ~flag),
                        ]
                        with m.If(sig(port, channel, "valid") & sig(port, channel, "ready")):
                            m.d.sync += flag.eq(1)
                    m.d.comb += [
                        sig(bus, response, "valid").eq(sig(port, response, "valid")),
                        *(getattr(bus, name).eq(getattr(port, name)) for name in payload),
                        sig(port, response, "ready").eq(sig(bus, response, "ready")),
                    ]
                    with m.If(sig(port, response, "valid") & sig(bus, response, "ready")):
                        m.next = "IDLE"

        read_frame = frame_of(bus.araddr, "read_frame")
        write_frame = frame_of(bus.awaddr, "write_frame")
        with m.FSM():
            with m.State("IDLE"):
                m.d.sync += [done.eq(0), data_done.eq(0)]
                with m.If(bus.arvalid & ~(bus.awvalid & prefer_write)):
                    m.d.sync += [target.eq(read_frame), prefer_write.eq(1)]
                    m.next = "READ"
                with m.Elif(bus.awvalid):
                    m.d.sync += [target.eq(write_frame), prefer_write.eq(0)]
                    m.next = "WRITE"

            with m.State("READ"):
                pass_through(requests=[("ar", done)], response="r", payload=["rdata", "rresp"])

            with m.State("WRITE"):
                pass_through(requests=[("aw", done), ("w", data_done)], response="b",
                             payload=["bresp"])
        return m
