"""CPUs on the Gic's CPU interfaces, for cocotb testbenches.

A :class:`Cpu` behaves as an interrupt handler on one redistributor's CPU interface
(``cpu__<n>__*`` of the ``gic`` top, :class:`gic.hw.gicr.redistributor.CpuInterfaceSignature`):
when ``irq`` is high and it is not masked, it waits a random number of cycles, reads
ICC_IAR1_EL1 (the ``iar_req`` / ``iar`` handshake), holds the interrupt a random time,
then writes ICC_EOIR1_EL1 (``eoir``). While it holds one, a higher-priority LPI raises
``irq`` again (preemption): it takes that one too, nesting up to ``max_nesting`` deep,
and ends them innermost first, as priority drop requires. The CPU only drives the
interface; the scoreboard checks what the redistributor answers from its own monitors.
"""

import random

import cocotb
from cocotb.triggers import ClockCycles, Event, First, RisingEdge

from gic.hw.gicr.layouts import SPURIOUS_INTID, IccEoir1
from gic.sim.models.commands import pack

from gic.tb.common.monitors import high

__all__ = ["Cpu"]


class Cpu:
    """An interrupt handler on CPU interface ``rd`` of the Gic.

    Parameters
    ----------
    dut : cocotb handle
        The ``gic`` top level.
    rd : int
        Processor number (= its redistributor).
    clock : cocotb handle
    rng : random.Random
    delay : (int, int)
        Cycles from ``irq`` to the acknowledge, uniformly drawn.
    hold : (int, int)
        Cycles an interrupt is held before its end of interrupt, uniformly drawn.
    max_nesting : int
        Interrupts held at once at most (1: no preemption).

    Members
    -------
    taken : list of int
        Every INTID acknowledged, in order.
    spurious : int
        Acknowledges answered 1023.
    deepest : int
        Interrupts held at once at most so far (2 or more: one preempted another).
    masked : bool
        Taking no interrupt (as PSTATE.I set); see :meth:`mask` and :meth:`unmask`.
    """

    def __init__(self, dut, rd, clock, *, rng=None, delay=(0, 6), hold=(0, 20), max_nesting=3):
        if max_nesting < 1:
            raise ValueError(f"max_nesting must be at least 1, not {max_nesting!r}")
        self.rd = rd
        self.clock = clock
        self.rng = rng or random.Random(rd)
        self.delay = delay
        self.hold = hold
        self.max_nesting = max_nesting
        self.taken = []
        self.spurious = 0
        self.deepest = 0
        self.masked = False
        self._held = 0
        self._wake = Event()
        self.irq = getattr(dut, f"cpu__{rd}__irq")
        self.iar_req_valid = getattr(dut, f"cpu__{rd}__iar_req__valid")
        self.iar_req_ready = getattr(dut, f"cpu__{rd}__iar_req__ready")
        self.iar_valid = getattr(dut, f"cpu__{rd}__iar__valid")
        self.iar_payload = getattr(dut, f"cpu__{rd}__iar__payload")
        self.eoir_valid = getattr(dut, f"cpu__{rd}__eoir__valid")
        self.eoir_payload = getattr(dut, f"cpu__{rd}__eoir__payload")
        self.eoir_ready = getattr(dut, f"cpu__{rd}__eoir__ready")
        self.iar_req_valid.value = 0
        getattr(dut, f"cpu__{rd}__iar_req__payload").value = 0
        getattr(dut, f"cpu__{rd}__iar__ready").value = 1     # answers are taken at once
        self.eoir_valid.value = 0
        self.eoir_payload.value = 0
        cocotb.start_soon(self._run())

    def mask(self):
        """Take no new interrupt (one being held is still ended)."""
        self.masked = True
        self._wake.set()

    def unmask(self):
        """Take interrupts again."""
        self.masked = False
        self._wake.set()

    def quiet(self):
        """Holding no interrupt, and none to take (masked, or ``irq`` low)."""
        return self._held == 0 and (self.masked or not high(self.irq))

    async def _run(self):
        while True:
            if self.masked or not high(self.irq):
                self._wake.clear()
                await First(RisingEdge(self.irq), self._wake.wait())
                continue
            await self._take(1)

    async def _take(self, depth):
        """Acknowledge, hold (taking preempting interrupts), end."""
        low, high_ = self.delay
        if high_:
            await ClockCycles(self.clock, self.rng.randint(low, high_) or 1)
        if self.masked:
            return
        self._held += 1
        try:
            intid = await self.acknowledge()
            if intid == SPURIOUS_INTID:
                self.spurious += 1
                return
            self.taken.append(intid)
            self.deepest = max(self.deepest, depth)
            edge = RisingEdge(self.clock)
            for _ in range(self.rng.randint(*self.hold)):
                await edge
                if depth < self.max_nesting and not self.masked and high(self.irq):
                    await self._take(depth + 1)
            await self.end_of_interrupt(intid)
        finally:
            self._held -= 1

    async def acknowledge(self):
        """Read ICC_IAR1_EL1: the INTID the redistributor answers (a test drives the
        interface itself only while the CPU is masked and holds nothing)."""
        edge = RisingEdge(self.clock)
        self.iar_req_valid.value = 1
        await edge
        while not high(self.iar_req_ready):
            await edge
        self.iar_req_valid.value = 0
        while True:
            await edge
            if high(self.iar_valid):
                return int(self.iar_payload.value)

    async def end_of_interrupt(self, intid):
        """Write ICC_EOIR1_EL1 with ``intid``."""
        edge = RisingEdge(self.clock)
        self.eoir_payload.value = pack(IccEoir1, intid=intid)
        self.eoir_valid.value = 1
        await edge
        while not high(self.eoir_ready):
            await edge
        self.eoir_valid.value = 0
