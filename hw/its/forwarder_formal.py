"""Formal proofs of the LPI forwarder (:mod:`gic.hw.its.forwarder`).

On a small configuration (``PARAMS``: 2 redistributors, 2-packet queues), with the
``lpi`` and ``cmd`` inputs following the stream rule and anything else free:

* order (``forwarder_order``): two packets to one redistributor ``r`` are tagged by
  their payloads (two arbitrary distinct ``AnyConst`` packets; each may be taken at most
  once for ``r``, any other packet to ``r`` is assumed to differ from both: the
  forwarder does not look at ``lpi`` or ``target``, so this loses nothing). The second
  is taken after the first ("taken before", below). The assertion: the second never
  leaves ``gic[r]`` before the first, and neither leaves twice or without having been
  taken.
* SYNC (``forwarder_sync``): the second tagged packet is a SYNC; the executor sends one
  SYNC at a time and waits for ``synced``; a redistributor acknowledges only a SYNC it
  received. The assertion: ``synced`` pulses only for an outstanding SYNC, and only
  once the SYNC and every packet to its redistributor taken before it have left.
* stream (``forwarder_stream``): every ``gic[rd]`` keeps ``valid`` and its payload until
  ``ready``.

"Taken before": the ``lpi`` input has its own 2-packet FIFO in front of the arbiter, so
a command packet taken while translated packets still wait there may overtake them; the
executor waits for ``lpi_idle`` before the commands for which that matters. So a ``cmd``
packet is after an ``lpi`` packet only if the ``lpi`` packet was taken in an earlier
cycle and ``lpi_idle`` is high when the command is taken; an ``lpi`` packet is after a
``cmd`` packet taken in the same or an earlier cycle; on one input, later is after.
(Without the ``lpi_idle`` condition the order property is false:
:func:`forwarder_order_any_cross` is expected to fail.)

The forwarder is elaborated for the ``"formal"`` platform, so its FIFOs
(:class:`amaranth.lib.fifo.SyncFIFO`) add their own pointer and level invariants: with
them the stream rule closes by k-induction. The order and SYNC properties do not (the
tagged packets may sit in any FIFO cell, and the tag bookkeeping has no invariant tying
it to the cells): they are bounded (bmc: ``forwarder_order`` 8 cycles, about five
minutes; ``forwarder_sync`` 10 cycles, seconds). Narrow data: the forwarder never looks
at a packet's ``lpi`` or ``target``, so they are assumed small (lpi 0 or 1, target 0);
the SYNC proof also assumes the translator sends only SETs.
"""

from types import SimpleNamespace
from unittest import mock

from amaranth.asserts import AnyConst
from amaranth.hdl import Assert, Assume, Const, Elaboratable, Fragment, Module, Signal, Value
from amaranth.lib import data, fifo

from ..formal import FormalTop, Proof, assert_stream_output, assume_stream_input
from . import forwarder as forwarder_module
from .forwarder import Forwarder
from .layouts import GicOp, GicPacket, RoutedPacket
from .params import ItsParams

__all__ = ["PARAMS", "DEPTH", "PROOFS", "forwarder_order", "forwarder_sync",
           "forwarder_stream", "forwarder_order_any_cross"]

PARAMS = ItsParams(num_redistributors=2)
"""The small configuration of the proofs."""
DEPTH = 2
"""Packets each redistributor's queue holds in the proofs."""

_PACKET_WIDTH = data.Layout.cast(GicPacket).size
_ROUTED_WIDTH = data.Layout.cast(RoutedPacket).size


class _Stack(Elaboratable):
    """A mutant's queue: the interface of :class:`amaranth.lib.fifo.SyncFIFO`, last in
    first out."""

    def __init__(self, *, width, depth):
        self.width = width
        self.depth = depth
        self.w_data = Signal(width)
        self.w_en = Signal()
        self.w_rdy = Signal()
        self.r_data = Signal(width)
        self.r_en = Signal()
        self.r_rdy = Signal()
        self.level = Signal(range(depth + 1))

    def elaborate(self, platform):
        m = Module()
        cells = [Signal(self.width, name=f"cell{i}") for i in range(self.depth)]
        m.d.comb += [self.w_rdy.eq(self.level != self.depth), self.r_rdy.eq(self.level != 0)]
        for i, cell in enumerate(cells):
            with m.If(self.level == i + 1):
                m.d.comb += self.r_data.eq(cell)
        do_read = self.r_rdy & self.r_en
        do_write = self.w_rdy & self.w_en
        top = self.level - do_read      # where a write goes
        for i, cell in enumerate(cells):
            with m.If(do_write & (top == i)):
                m.d.sync += cell.eq(self.w_data)
        m.d.sync += self.level.eq(self.level + do_write - do_read)
        return m


class _StackForwarder(Forwarder):
    """A mutant :class:`Forwarder` whose FIFOs of ``width`` bits are stacks."""

    def __init__(self, params, *, depth, width):
        super().__init__(params, depth=depth)
        self._stack_width = width

    def elaborate(self, platform):
        def queue(*, width, depth):
            if width == self._stack_width:
                return _Stack(width=width, depth=depth)
            return fifo.SyncFIFO(width=width, depth=depth)
        with mock.patch.object(forwarder_module, "fifo", SimpleNamespace(SyncFIFO=queue)):
            return super().elaborate(platform)


def _forwarder_top(check, *, mutation=None, cross_needs_idle=True):
    """A :class:`FormalTop` around a :class:`Forwarder` of ``PARAMS`` and ``DEPTH``.

    ``check``: ``"order"``, ``"sync"`` or ``"stream"``. ``mutation``: None,
    ``"lpi_stack"`` (the ``lpi`` FIFO is a stack), ``"queue_stack"`` (the
    redistributors' queues are stacks) or ``"early_synced"`` (``synced`` also pulses the
    cycle after a SYNC is taken).
    """
    n = PARAMS.num_redistributors
    if mutation == "lpi_stack":
        dut = _StackForwarder(PARAMS, depth=DEPTH, width=_ROUTED_WIDTH)
    elif mutation == "queue_stack":
        dut = _StackForwarder(PARAMS, depth=DEPTH, width=_PACKET_WIDTH)
    else:
        dut = Forwarder(PARAMS, depth=DEPTH)

    def build(m):
        # Elaborated for "formal": the FIFOs then assert their pointer and level invariants.
        m.submodules.forwarder = Fragment.get(dut, "formal")
        assume_stream_input(m, dut.lpi, name="lpi")
        assume_stream_input(m, dut.cmd, name="cmd")

        # The forwarder never looks at a packet's lpi or target (data independence), so
        # two values of lpi (and one of target) are as good as all of them, and faster.
        for port in (dut.lpi, dut.cmd):
            m.d.comb += Assume((port.payload.packet.lpi < 2) & (port.payload.packet.target == 0),
                               "narrow data: lpi 0 or 1, target 0")
        if check == "sync":
            m.d.comb += Assume(~dut.lpi.valid | (dut.lpi.payload.packet.op == GicOp.SET),
                               "the translator sends only SETs")

        lpi_taken = dut.lpi.valid & dut.lpi.ready
        cmd_taken = dut.cmd.valid & dut.cmd.ready
        cmd_sync = cmd_taken & (dut.cmd.payload.packet.op == GicOp.SYNC)

        synced = Signal(name="synced_seen")
        if mutation == "early_synced":
            early = Signal(name="early_synced")
            m.d.sync += early.eq(cmd_sync)
            m.d.comb += synced.eq(dut.synced | early)
        else:
            m.d.comb += synced.eq(dut.synced)

        if check == "stream":
            for rd in range(n):
                assert_stream_output(m, dut.gic[rd], name=f"gic{rd}")
            return

        # The redistributor r and its output.
        r = Signal(range(n), name="r")
        m.d.comb += r.eq(AnyConst(range(n)))
        m.d.comb += Assume(r < n)
        out_fire = Signal(name="out_fire")
        out_packet = Signal(GicPacket, name="out_packet")
        for rd in range(n):
            with m.If(r == rd):
                m.d.comb += [
                    out_fire.eq(dut.gic[rd].valid & dut.gic[rd].ready),
                    out_packet.eq(dut.gic[rd].payload),
                ]

        # The two tagged packets (M1, then M2), by their payloads.
        tags = [data.View(GicPacket, AnyConst(_PACKET_WIDTH)) for _ in range(2)]
        m.d.comb += Assume(Value.cast(tags[0]) != Value.cast(tags[1]))
        if check == "sync":
            m.d.comb += Assume(tags[1].op == GicOp.SYNC)
        on_lpi, on_cmd, seen, left, leaves = [], [], [], [], []
        for k, tag in enumerate(tags):
            l_k = Signal(name=f"m{k + 1}_on_lpi")
            c_k = Signal(name=f"m{k + 1}_on_cmd")
            m.d.comb += [
                l_k.eq(lpi_taken & (dut.lpi.payload.rd == r) &
                       (Value.cast(dut.lpi.payload.packet) == Value.cast(tag))),
                c_k.eq(cmd_taken & (dut.cmd.payload.rd == r) &
                       (Value.cast(dut.cmd.payload.packet) == Value.cast(tag))),
            ]
            s_k = Signal(name=f"m{k + 1}_seen")
            with m.If(l_k | c_k):
                m.d.sync += s_k.eq(1)
            m.d.comb += Assume(~(l_k & c_k) & ~(s_k & (l_k | c_k)),
                               f"M{k + 1} is taken at most once")
            out_k = Signal(name=f"m{k + 1}_leaves")
            m.d.comb += out_k.eq(out_fire & (Value.cast(out_packet) == Value.cast(tag)))
            left_k = Signal(name=f"m{k + 1}_left")
            with m.If(out_k):
                m.d.sync += left_k.eq(1)
            on_lpi.append(l_k), on_cmd.append(c_k), seen.append(s_k)
            left.append(left_k), leaves.append(out_k)
        m1_was_lpi = Signal(name="m1_was_lpi")
        with m.If(on_lpi[0]):
            m.d.sync += m1_was_lpi.eq(1)

        # M2 is taken after M1.
        cross_ok = ~m1_was_lpi | (dut.lpi_idle if cross_needs_idle else Const(1))
        m.d.comb += [
            Assume(~on_cmd[1] | (seen[0] & cross_ok), "M2 on cmd: after M1"),
            Assume(~on_lpi[1] | seen[0] | on_cmd[0], "M2 on lpi: after M1"),
        ]

        if check == "order":
            m.d.comb += [
                Assert(~leaves[0] | (seen[0] & ~left[0]), "M1 leaves once, after it was taken"),
                Assert(~leaves[1] | (seen[1] & ~left[1] & left[0]),
                       "M2 leaves once, after it was taken and after M1"),
            ]
            return

        # check == "sync": the executor's and the redistributors' side of a SYNC.
        outstanding = Signal(name="sync_outstanding")
        with m.If(synced):
            m.d.sync += outstanding.eq(0)
        with m.If(cmd_sync):
            m.d.sync += outstanding.eq(1)
        m.d.comb += [
            Assume(~cmd_sync | ~outstanding, "the executor sends one SYNC at a time"),
            Assume(~cmd_sync | (dut.cmd.payload.rd < n), "a SYNC goes to a redistributor"),
        ]
        for rd in range(n):
            owed = Signal(name=f"sync_owed{rd}")
            with m.If(dut.ack[rd].valid & dut.ack[rd].payload.sync):
                m.d.sync += owed.eq(0)
            with m.If(dut.gic[rd].valid & dut.gic[rd].ready &
                      (dut.gic[rd].payload.op == GicOp.SYNC)):
                m.d.sync += owed.eq(1)
            m.d.comb += Assume(~(dut.ack[rd].valid & dut.ack[rd].payload.sync) | owed,
                               f"redistributor {rd} acknowledges only a SYNC it received")
        m2_done = Signal(name="m2_synced")
        with m.If(synced & seen[1]):
            m.d.sync += m2_done.eq(1)
        m.d.comb += [
            Assert(~synced | outstanding, "synced only for an outstanding SYNC"),
            Assert(~(synced & seen[1] & ~m2_done) | (left[0] & left[1]),
                   "the SYNC M2 completes only after M2 and M1 (taken before it) left"),
        ]

    return FormalTop(build, dut=dut)


def forwarder_order():
    """Forwarder (2 redistributors, 2-packet queues): per redistributor, a packet taken
    after another (same input: a later cycle; lpi after cmd: same or later cycle; cmd
    after lpi: a later cycle with ``lpi_idle``) never leaves before it; a tagged packet
    leaves at most once and only after it was taken. Bounded (bmc)."""
    return _forwarder_top("order")


def forwarder_order_mutant():
    """The ``lpi`` input's FIFO is a stack (two translated packets swap)."""
    return _forwarder_top("order", mutation="lpi_stack")


def forwarder_order_any_cross():
    """:func:`forwarder_order` without the ``lpi_idle`` condition on a command packet
    taken after a translated one: false (the command may overtake the ``lpi`` FIFO)."""
    return _forwarder_top("order", cross_needs_idle=False)


def forwarder_sync():
    """Forwarder (2 redistributors, 2-packet queues): ``synced`` pulses only for an
    outstanding SYNC, and only once that SYNC and every packet taken before it to its
    redistributor have left (redistributors acknowledge only SYNCs they received).
    Bounded (bmc)."""
    return _forwarder_top("sync")


def forwarder_sync_mutant():
    """``synced`` also pulses the cycle after a SYNC is taken."""
    return _forwarder_top("sync", mutation="early_synced")


def forwarder_stream():
    """Forwarder (2 redistributors, 2-packet queues): every ``gic[rd]`` output keeps
    ``valid`` high and its payload stable until ``ready``. k-induction (with the FIFOs'
    own pointer and level invariants)."""
    return _forwarder_top("stream")


def forwarder_stream_mutant():
    """The redistributors' queues are stacks (a packet written while the head waits
    replaces it on the output)."""
    return _forwarder_top("stream", mutation="queue_stack")


_BLOCK = f"Forwarder(num_redistributors=2, depth={DEPTH})"

PROOFS = [
    Proof("forwarder_order", _BLOCK, forwarder_order, mode="bmc", depth=8,
          mutant=forwarder_order_mutant),
    Proof("forwarder_sync", _BLOCK, forwarder_sync, mode="bmc", depth=10,
          mutant=forwarder_sync_mutant),
    Proof("forwarder_stream", _BLOCK, forwarder_stream, mode="prove", depth=6,
          mutant=forwarder_stream_mutant),
]
