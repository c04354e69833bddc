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
