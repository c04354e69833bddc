"""The :class:`~gic.sim.driver.bus.ItsBus` of the RTL in Amaranth's simulator.

:class:`AmaranthItsBus` lets :class:`gic.sim.driver.its.ItsDriver` (and any test script
written against an ``ItsBus``) run unchanged inside an Amaranth testbench on
:class:`gic.hw.its.top.Its`: register accesses go over the ITS's AXI4-Lite port
through an AXI4-Lite master model, memory accesses go straight to the
:class:`~gic.sim.models.memory.Memory` an AXI4 slave model serves to the ITS, ``idle``
lets clock cycles pass, and ``msi`` drives the MSI stream (or writes
GITS_TRANSLATER with the DeviceID on the sideband).

Usage, in a testbench (``sim/rtlsim/harness.py`` provides the bus models)::

    async def testbench(ctx):
        bus = AmaranthItsBus(ctx, its, Axi4LiteMasterModel(its.axil), memory)
        driver = ItsDriver(bus)
        await driver.probe()
"""

import types
from pathlib import Path

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring

from gic.hw.gicr.cpu import CpuStandIn
from gic.hw.gicr.gic import Gic
from gic.hw.its.regmap import TRANSLATER
from gic.hw.its.top import Its

from gic.sim.driver.bus import ItsBus, Taken
from .gicsink import GicStreamSink
from gic.sim.models.memory import Memory
from .harness import BUILD_DIR, Axi4LiteMasterModel, Axi4SlaveModel, run_sim

__all__ = ["AmaranthItsBus", "AmaranthGicBus", "run_on_rtl", "run_on_gic"]


class AmaranthItsBus(ItsBus):
    """An :class:`ItsBus` on :class:`gic.hw.its.top.Its` in an Amaranth testbench.

    The reference model is untimed: an MSI has been translated when the next
    register access happens. So that scripts see the same, every register
    access first waits until the MSIs signalled so far have left the
    translator (their packets are in the forwarder, their drops recorded).

    Parameters
    ----------
    ctx : amaranth.sim testbench context
        Of the testbench the driver runs in.
    its : gic.hw.its.top.Its
        The simulated ITS.
    axil : AXI4-Lite master model
        Has ``async read(ctx, addr, size)`` and ``async write(ctx, addr, value, size)``
        on ``its.axil`` (``gic.sim.rtlsim.harness.Axi4LiteMasterModel``).
    memory : gic.sim.models.memory.Memory
        The memory the AXI4 slave model behind ``its.axi`` serves.
    translater : bool
        ``msi`` writes GITS_TRANSLATER (DeviceID on ``its.translater_device_id``)
        instead of driving the ``its.msi`` stream.
    poll_cycles : int
        Clock cycles one :meth:`idle` lets pass.

    Members
    -------
    memory : gic.sim.models.memory.Memory
    """

    def __init__(self, ctx, its, axil, memory, *, translater=False, poll_cycles=8, sink=None):
        if not isinstance(poll_cycles, int) or poll_cycles < 1:
            raise ValueError(f"poll_cycles must be a positive integer, not {poll_cycles!r}")
        self.ctx = ctx
        self.its = its
        self.axil = axil
        self.memory = memory
        self.translater = translater
        self.poll_cycles = poll_cycles
        self.sink = sink
        self._settled = (its.translator.idle & ~its.regs.translater.valid & ~its.msi.valid)

    async def _settle(self):
        while not self.ctx.get(self._settled):
            await self.ctx.tick()

    async def read_reg(self, offset, size=8):
        await self._settle()
        return await self.axil.read(self.ctx, offset, size)

    async def write_reg(self, offset, value, size=8):
        await self._settle()
        await self.axil.write(self.ctx, offset, value, size)

    async def read_mem(self, addr, length):
        return self.memory.read(addr, length)

    async def write_mem(self, addr, data):
        self.memory.write(addr, data)

    async def take_packets(self, rd):
        """The packets redistributor ``rd`` received since the last call, once every MSI
        signalled so far has been forwarded (needs ``sink``, a :class:`gic.sim.rtlsim.gicsink.GicStreamSink`).
        """
        await self._settle()
        while not self.ctx.get(self.its.forwarder.idle):
            await self.ctx.tick()
        await self.ctx.tick().repeat(2)     # the sink samples what the forwarder handed over
        return self.sink.take(rd)

    async def idle(self):
        await self.ctx.tick().repeat(self.poll_cycles)

    async def msi(self, device_id, event_id):
        ctx, its = self.ctx, self.its
        if self.translater:
            ctx.set(its.translater_device_id, device_id)
            await self.axil.write(ctx, TRANSLATER, event_id, 4)
            return
        ctx.set(its.msi.payload, {"device_id": device_id, "event_id": event_id})
        ctx.set(its.msi.valid, 1)
        await ctx.tick().until(its.msi.ready)
        ctx.set(its.msi.valid, 0)


def run_on_rtl(params, script, *, memory=None, mem_latency=4, vcd=None, backpressure=0.0,
               translater=False, seed=0, max_cycles=None):
    """Run ``await script(bus)`` against :class:`gic.hw.its.top.Its` in Amaranth's simulator.

    The ITS's AXI4 master is served from ``memory`` with ``mem_latency`` cycles per
    request (:class:`gic.sim.rtlsim.harness.Axi4SlaveModel`); its GIC streams end in a
    :class:`gic.sim.rtlsim.gicsink.GicStreamSink` that acknowledges SYNCs; ``bus`` is an
    :class:`AmaranthItsBus` whose ``take_packets(rd)`` reads that sink.

    Parameters
    ----------
    vcd : str or Path or None
        Write a waveform (and a GTKWave save file beside it), as :func:`gic.sim.rtlsim.harness.run_sim`.
    backpressure : float
        Probability that a redistributor is not ready in a cycle.

    Returns
    -------
    (result, cycles)
        What ``script`` returned, and the clock cycles simulated.
    """
    its = Its(params)
    memory = Memory() if memory is None else memory
    slave = Axi4SlaveModel(memory, its.axi, latency=mem_latency, seed=seed)
    sink = GicStreamSink(its.gic, its.ack, backpressure=backpressure, seed=seed)
    outcome = {}

    async def testbench(ctx):
        bus = AmaranthItsBus(ctx, its, Axi4LiteMasterModel(its.axil), memory,
                             translater=translater, sink=sink)
        start = ctx.get(cycle)
        outcome["result"] = await script(bus)
        outcome["cycles"] = ctx.get(cycle) - start

    top = Module()
    top.submodules.its = its
    cycle = Signal(64)
    top.d.sync += cycle.eq(cycle + 1)
    traces = [its.axil, its.msi, its.translator.lpi, its.translator.mem, its.executor.mem_read,
              its.executor.mem_write, *its.gic, *its.ack, its.error_irq]
    run_sim(top, testbench, processes=[slave.run, sink.run], vcd=vcd, max_cycles=max_cycles,
            traces=traces)
    return outcome["result"], outcome["cycles"]


class AmaranthGicBus(AmaranthItsBus):
    """An :class:`AmaranthItsBus` on a simulated :class:`gic.hw.gicr.gic.Gic` whose CPUs are
    :class:`gic.hw.gicr.cpu.CpuStandIn` each (see :func:`run_on_gic`).

    Register offsets reach the whole Gic (the ITS frame at 0, redistributor ``n`` at
    ``0x20000 * (1 + n)``). ``mask_cpus`` and ``take_interrupts`` are the CPU side of
    :mod:`gic.sim.tools.gicdemo`.

    Parameters
    ----------
    gic : gic.hw.gicr.gic.Gic
    cpus : list of CpuStandIn
        On ``gic.cpu[n]``.
    taken : list
        The :class:`gic.sim.tools.gicdemo.Taken` records the process of :func:`run_on_gic` appends.
    """

    def __init__(self, ctx, gic, cpus, axil, memory, taken, **kwargs):
        its_view = types.SimpleNamespace(translator=gic.its.translator, regs=gic.its.regs,
                                         msi=gic.msi,
                                         translater_device_id=gic.translater_device_id)
        super().__init__(ctx, its_view, axil, memory, **kwargs)
        self.gic = gic
        self.cpus = cpus
        self._taken = taken

    def _cpus_quiet(self):
        ctx, gic = self.ctx, self.gic
        if not ctx.get(gic.its.forwarder.idle):
            return False
        for rd, cpu in zip(gic.redistributors, self.cpus):
            if not ctx.get(rd.idle) or ctx.get(rd.move_out.valid) or ctx.get(cpu.busy) or \
                    ctx.get(cpu.record.valid) or (ctx.get(cpu.cpu.irq) and not ctx.get(cpu.mask)):
                return False
        return True

    async def mask_cpus(self, mask):
        for n, cpu in enumerate(self.cpus):
            self.ctx.set(cpu.mask, mask >> n & 1)
        await self.ctx.tick()

    async def take_interrupts(self):
        """What the CPUs took since the last call, once every MSI signalled so far has been
        handled and no unmasked CPU has an interrupt left to take."""
        await self._settle()
        while not self._cpus_quiet():
            await self.ctx.tick()
        await self.ctx.tick()               # the record process sees the last record
        taken = list(self._taken)
        self._taken.clear()
        return taken


def run_on_gic(params, script, *, memory=None, mem_latency=4, vcd=None, lpi_cache=16,
               max_cycles=None):
    """Run ``await script(bus)`` against :class:`gic.hw.gicr.gic.Gic` with a
    :class:`gic.hw.gicr.cpu.CpuStandIn` on each CPU interface, in Amaranth's simulator.

    The Gic's AXI4 master is served from ``memory`` with ``mem_latency`` cycles per
    request; ``bus`` is an :class:`AmaranthGicBus`; each record a CPU stand-in makes is
    taken at once and kept, with the clock cycle it appeared at (the cycle after the
    acknowledge), as a :class:`gic.sim.tools.gicdemo.Taken`.

    Returns
    -------
    (result, cycles)
        What ``script`` returned, and the clock cycles simulated.
    """
    gic = Gic(params, lpi_cache=lpi_cache)
    cpus = [CpuStandIn(cpu=n) for n in range(params.num_redistributors)]
    memory = Memory() if memory is None else memory
    slave = Axi4SlaveModel(memory, gic.axi, latency=mem_latency)
    taken = []
    outcome = {}

    top = Module()
    top.submodules.gic = gic
    for n, cpu in enumerate(cpus):
        top.submodules[f"cpu{n}"] = cpu
        wiring.connect(top, cpu.cpu, gic.cpu[n])
    cycle = Signal(64)
    top.d.sync += cycle.eq(cycle + 1)

    async def records(ctx):
        sampled = [cycle]
        for cpu in cpus:
            ctx.set(cpu.record.ready, 1)
            sampled += [cpu.record.valid, cpu.record.payload]
        async for _, _, now, *values in ctx.tick().sample(*sampled):
            for valid, payload in zip(values[::2], values[1::2]):
                if valid:
                    taken.append(Taken(payload.cpu, payload.intid, payload.priority, now))

    async def testbench(ctx):
        bus = AmaranthGicBus(ctx, gic, cpus, Axi4LiteMasterModel(gic.axil), memory, taken)
        start = ctx.get(cycle)
        outcome["result"] = await script(bus)
        outcome["cycles"] = ctx.get(cycle) - start

    its = gic.its
    traces = [gic.axil, gic.msi, its.translator.lpi, *its.gic, *its.ack,
              *(cpu.cpu for cpu in cpus), *(cpu.record for cpu in cpus), gic.error_irq]
    run_sim(top, testbench, processes=[slave.run, records], vcd=vcd, max_cycles=max_cycles,
            traces=traces)
    if vcd is not None:
        # Amaranth's save file shows the traces' interfaces zoomed to 0..1 fs: replace it.
        from gic.sim.rtlsim.waves import write_gic_save_file
        path = Path(vcd)
        if path.parent == Path("."):
            path = BUILD_DIR / path.with_suffix(".vcd").name
        write_gic_save_file(path, params.num_redistributors)
    return outcome["result"], outcome["cycles"]
