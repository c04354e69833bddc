"""A FIFO whose head is a register: what reads it starts from flip-flops."""

from amaranth.hdl import Module, Signal
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["HeadRegisteredFIFO"]


class HeadRegisteredFIFO(wiring.Component):
    """A :class:`~amaranth.lib.fifo.SyncFIFO` whose head entry is held in a register.

    Same ports, capacity and cycle behaviour as ``SyncFIFO(width=width, depth=depth)``
    (an entry written on cycle *n* is at the head from cycle *n* + 1; ``w_rdy`` is low
    only when ``depth`` entries are held, even while one is read), but ``r_data`` comes
    straight from flip-flops, not through a memory read, so the logic that decides on
    the head starts from registers. The entries behind the head are in a ``SyncFIFO``
    of ``depth - 1``. ``level`` is the number of entries held (0..``depth``).
    """

    def __init__(self, *, width, depth):
        if depth < 2:
            raise ValueError(f"depth must be at least 2, not {depth!r}")
        self._depth = depth
        super().__init__({
            "w_data": In(width), "w_en": In(1), "w_rdy": Out(1),
            "r_data": Out(width), "r_en": In(1), "r_rdy": Out(1),
            "level": Out(range(depth + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.rest = rest = fifo.SyncFIFO(width=len(self.w_data), depth=self._depth - 1)
        head_valid = Signal()
        head = Signal(len(self.w_data))
        # The rest holds entries only while the head does (invariant).
        m.d.comb += [
            self.r_rdy.eq(head_valid),
            self.r_data.eq(head),
            self.w_rdy.eq(~head_valid | rest.w_rdy),
            rest.w_data.eq(self.w_data),
            self.level.eq(head_valid + rest.level),
        ]
        do_read = self.r_en & head_valid
        do_write = self.w_en & self.w_rdy
        with m.If(do_read):
            with m.If(rest.r_rdy):
                m.d.comb += [rest.r_en.eq(1), rest.w_en.eq(do_write)]
                m.d.sync += head.eq(rest.r_data)
            with m.Elif(do_write):
                m.d.sync += head.eq(self.w_data)
            with m.Else():
                m.d.sync += head_valid.eq(0)
        with m.Elif(do_write):
            with m.If(head_valid):
                m.d.comb += rest.w_en.eq(1)
            with m.Else():
                m.d.sync += [head.eq(self.w_data), head_valid.eq(1)]
        return m


# -- formal proofs (gic.hw.formal, docs/formal.md) ---------------------------------------

def _fifo_top(*, width, depth, data, fault=None):
    """The FIFO against a reference model: a list of ``depth`` entries and their count.

    Always asserted: ``level`` is the count, ``w_rdy`` is ``count < depth``, ``r_rdy`` is
    ``count > 0``, and the output rule (``r_rdy`` stays high and ``r_data`` stable until
    ``r_en``). With ``data``: ``r_data`` is the model's head whenever ``r_rdy`` is high, so
    what goes in comes out in order, nothing lost or duplicated. ``fault`` builds a broken
    FIFO instead (the mutants)."""
    from amaranth.hdl import Assert, Signal
    from gic.hw.formal import FormalTop, assert_stable

    dut = (fault or HeadRegisteredFIFO)(width=width, depth=depth)

    def build(m):
        m.submodules.dut = dut
        count = Signal(range(depth + 1), name="model_count")
        entries = [Signal(width, name=f"model_entry{i}") for i in range(depth)]
        do_write = dut.w_en & dut.w_rdy
        do_read = dut.r_en & dut.r_rdy
        m.d.sync += count.eq(count + do_write - do_read)
        with m.If(do_read):
            m.d.sync += [entries[i].eq(entries[i + 1]) for i in range(depth - 1)]
        with m.If(do_write):
            with m.Switch(count - do_read):
                for i in range(depth):
                    with m.Case(i):
                        m.d.sync += entries[i].eq(dut.w_data)
        m.d.comb += [
            Assert(dut.level == count, "level is the number of entries held"),
            Assert(dut.w_rdy == (count < depth), "w_rdy: room for one more"),
            Assert(dut.r_rdy == (count > 0), "r_rdy: an entry is held"),
        ]
        if data:
            with m.If(dut.r_rdy):
                m.d.comb += Assert(dut.r_data == entries[0], "r_data is the oldest entry")
        assert_stable(m, dut.r_rdy, dut.r_en, dut.r_data, name="r")

    return FormalTop(build, dut=dut)


class _LosesWritesWhenFull(HeadRegisteredFIFO):
    """Mutant: ``w_rdy`` always high, so a write to a full FIFO is lost."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += self.w_rdy.eq(1)
        return m


class _CorruptsTheRest(HeadRegisteredFIFO):
    """Mutant: the entries behind the head are stored inverted (control intact)."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.comb += m.submodules.rest.w_data.eq(~self.w_data)
        return m


def _fifo_control():
    """HeadRegisteredFIFO(width=2, depth=3): level, w_rdy and r_rdy follow the model's
    count; r_rdy stays high with r_data stable until r_en. k-induction closes."""
    return _fifo_top(width=2, depth=3, data=False)


def _fifo_order():
    """HeadRegisteredFIFO(width=2, depth=3): every r_data is the oldest entry written and
    not read (in order, nothing lost or duplicated), with the control properties.
    Bounded: k-induction does not close, since the SyncFIFO behind the head keeps its
    entries in a memory the properties cannot see."""
    return _fifo_top(width=2, depth=3, data=True)


def _proofs():
    from gic.hw.formal import Proof
    return [
        Proof("fifo_control", "HeadRegisteredFIFO(width=2, depth=3)", _fifo_control,
              mode="prove", depth=6,
              mutant=lambda: _fifo_top(width=2, depth=3, data=False,
                                       fault=_LosesWritesWhenFull)),
        Proof("fifo_order", "HeadRegisteredFIFO(width=2, depth=3)", _fifo_order,
              mode="bmc", depth=14,
              mutant=lambda: _fifo_top(width=2, depth=3, data=True, fault=_CorruptsTheRest)),
    ]


PROOFS = _proofs()
"""This module's formal proofs (gic.sim.tools.formal)."""
