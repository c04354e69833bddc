"""A CPU stand-in: takes every interrupt its redistributor signals and records it."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import SPURIOUS_INTID, TakenInterrupt
from .redistributor import CpuInterfaceSignature

__all__ = ["CpuStandIn"]


class CpuStandIn(wiring.Component):
    """Stands for a CPU on a redistributor's CPU interface, as an interrupt handler would.

    While ``mask`` is low and ``irq`` is high, it acknowledges (a read of ICC_IAR1_EL1),
    records ``(cpu, INTID, priority)`` on ``record`` (the priority is the running priority,
    ICC_RPR_EL1, right after the acknowledge), and ends the interrupt (a write of
    ICC_EOIR1_EL1 with the INTID). So with ``mask`` high LPIs stay pending; once it drops
    they are taken one after the other in the order the redistributor signals them:
    highest priority (lowest value) first, then lowest INTID.

    An acknowledge starts only when ``record`` is empty, so a record that is not taken
    holds the CPU back and nothing is lost. A spurious answer (1023: the LPI went away
    between ``irq`` and the acknowledge) records nothing and needs no end of interrupt.

    Latency: from ``irq`` to ``record.valid`` 4 cycles with a redistributor that is idle
    (it answers an acknowledge two cycles after taking it); one interrupt every 7 cycles
    at best with up to 16 LPI cache entries (``irq`` is low while the redistributor's
    derived state settles after the acknowledge and the end of interrupt).

    Parameters
    ----------
    cpu : int
        Processor number written into the records, 0..255.

    Members
    -------
    cpu : Out(CpuInterfaceSignature())
        To the redistributor's ``cpu`` port.
    mask : In(1)
        Take no interrupt while high (as PSTATE.I set on a CPU).
    record : Out(stream.Signature(TakenInterrupt))
        One record per interrupt taken.
    busy : Out(1)
        An interrupt is being taken (acknowledge sent, end of interrupt not yet taken).
    """

    def __init__(self, *, cpu):
        if not isinstance(cpu, int) or isinstance(cpu, bool) or not 0 <= cpu <= 255:
            raise ValueError(f"cpu must be an integer in 0..255, not {cpu!r}")
        self._cpu = cpu
        super().__init__({"cpu": Out(CpuInterfaceSignature()),
                          "mask": In(1),
                          "record": Out(stream.Signature(TakenInterrupt)),
                          "busy": Out(1)})

    def elaborate(self, platform):
        m = Module()
        cpu = self.cpu
        intid = Signal(24)
        m.d.comb += [self.record.payload.cpu.eq(self._cpu), cpu.eoir.payload.intid.eq(intid)]
        with m.If(self.record.ready):
            m.d.sync += self.record.valid.eq(0)

        with m.FSM():
            with m.State("WAIT_IRQ"):
                with m.If(cpu.irq & ~self.mask & ~self.record.valid):
                    m.next = "WAIT_IAR_TAKEN"
            with m.State("WAIT_IAR_TAKEN"):
                m.d.comb += [cpu.iar_req.valid.eq(1), self.busy.eq(1)]
                with m.If(cpu.iar_req.ready):
                    m.next = "WAIT_IAR"
            with m.State("WAIT_IAR"):
                m.d.comb += [cpu.iar.ready.eq(1), self.busy.eq(1)]
                with m.If(cpu.iar.valid):
                    m.d.sync += intid.eq(cpu.iar.payload.intid)
                    with m.If(cpu.iar.payload.intid == SPURIOUS_INTID):
                        m.next = "WAIT_IRQ"
                    with m.Else():
                        m.d.sync += [self.record.valid.eq(1),
                                     self.record.payload.intid.eq(cpu.iar.payload.intid),
                                     self.record.payload.priority.eq(cpu.rpr)]
                        m.next = "WAIT_EOIR_TAKEN"
            with m.State("WAIT_EOIR_TAKEN"):
                m.d.comb += [cpu.eoir.valid.eq(1), self.busy.eq(1)]
                with m.If(cpu.eoir.ready):
                    m.next = "WAIT_IRQ"
        return m
