"""The :class:`~gic.sim.driver.bus.ItsBus` of the transaction-level model: a virtual platform.

:class:`TlmBus` lets :class:`gic.sim.driver.its.ItsDriver` (and any script written against
an ``ItsBus``) run unchanged on :class:`gic.sim.tlm.its.TlmIts`, with time passing as on
the RTL under :class:`gic.sim.rtlsim.bus.AmaranthItsBus`: a register access takes the AXI4-Lite
bridge's cycles (``bus/axi.Axi4LiteRegisterBridge``; :class:`~gic.sim.tlm.timing.Timing`'s
``reg_*`` fields, from ``TlmIts.timing``), ``idle`` lets
``poll_cycles`` cycles pass, and, as on the RTL bus, every register access first waits
until the MSIs signalled so far have left the translator.

Usage::

    its = TlmIts(params, memory, mem_latency=4)
    bus = TlmBus(its)

    async def bring_up():
        driver = ItsDriver(bus)
        await driver.probe()
        await driver.init_cpus(4)

    bus.run(bring_up())          # runs the kernel until the coroutine returns
"""

from gic.sim.driver.bus import ItsBus

from .kernel import Wait
from .timing import Timing

__all__ = ["TlmBus", "WRITE_STROBE", "WRITE_CYCLES", "READ_STROBE", "READ_CYCLES",
           "FORWARD_CYCLES"]

WRITE_STROBE = Timing.default("reg_write_strobe")
"""A register write takes effect at the end of the 2nd cycle after its AW/W handshake
(the default of :class:`Timing.reg_write_strobe <gic.sim.tlm.timing.Timing>`)."""
WRITE_CYCLES = Timing.default("reg_write_cycles")
"""A register write's B handshake is 4 cycles after its AW/W handshake: 5 cycles in all
(``Timing.reg_write_cycles``)."""
READ_STROBE = Timing.default("reg_read_strobe")
"""A register read samples the register in the cycle after its AR handshake
(``Timing.reg_read_strobe``)."""
READ_CYCLES = Timing.default("reg_read_cycles")
"""A register read's R handshake is 3 cycles after its AR handshake: 4 cycles in all
(``Timing.reg_read_cycles``)."""
FORWARD_CYCLES = Timing.default("forward_cycles")
"""A packet out of the translator is on its redistributor's stream within 4 cycles
(forwarder arbitration and FIFO) when the redistributors are ready
(``Timing.forward_cycles``)."""


class TlmBus(ItsBus):
    """An :class:`ItsBus` on a :class:`gic.sim.tlm.its.TlmIts`.

    Parameters
    ----------
    its : gic.sim.tlm.its.TlmIts
    poll_cycles : int
        Cycles one :meth:`idle` lets pass (as ``AmaranthItsBus``), >= 1.

    Members
    -------
    its : gic.sim.tlm.its.TlmIts
    memory : gic.sim.models.memory.Memory
    kernel : gic.sim.tlm.kernel.Kernel

    Raises
    ------
    ValueError
        If ``poll_cycles`` is out of range.
    """

    def __init__(self, its, *, poll_cycles=8):
        if not isinstance(poll_cycles, int) or poll_cycles < 1:
            raise ValueError(f"poll_cycles must be a positive integer, not {poll_cycles!r}")
        self.its = its
        self.kernel = its.kernel
        self.memory = its.memory.memory
        self.poll_cycles = poll_cycles
        self.timing = getattr(its, "timing", None) or Timing()

    async def _settle(self):
        await Wait(self.its.translator.drained())

    async def _until(self, cycle):
        await Wait(self.kernel.at(cycle))

    async def read_reg(self, offset, size=8):
        await self._settle()
        start = self.kernel.now
        await self._until(start + self.timing.reg_read_strobe)
        value = self.its.regs.read(offset, size)
        await self._until(start + self.timing.reg_read_cycles)
        return value

    async def write_reg(self, offset, value, size=8):
        await self._settle()
        start = self.kernel.now
        await self._until(start + self.timing.reg_write_strobe)
        self.its.regs.write(offset, value, size)
        await self._until(start + self.timing.reg_write_cycles)

    async def read_mem(self, addr, length):
        return self.memory.read(addr, length)

    async def write_mem(self, addr, data):
        self.memory.write(addr, data)

    async def idle(self):
        await self._until(self.kernel.now + self.poll_cycles)

    async def msi(self, device_id, event_id):
        self.its.msi(device_id, event_id)
        await self._until(self.kernel.now + 1)

    async def take_packets(self, rd):
        """The GIC stream packets redistributor ``rd`` received since the last call, once
        the MSIs signalled so far have left the translator and crossed the forwarder
        (FORWARD_CYCLES later; the TLM's redistributors are always ready)."""
        await self._settle()
        await self._until(self.kernel.now + self.timing.forward_cycles)
        return self.its.redistributors[rd].take()

    def run(self, coroutine):
        """Run ``coroutine`` (a script over this bus) as a process until it returns; its
        result."""
        process = self.kernel.spawn(coroutine)
        return self.kernel.run(until=process)
