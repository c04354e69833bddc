"""Reset under traffic: nothing of the ITS's state survives a reset (docs/behaviour.md).

The ITS runs behind a :class:`~amaranth.hdl.ResetInserter` on its ``sync`` domain. It is
brought up with the Linux-style driver, then a command stream (posted straight into the
ring, not waited for) and an MSI storm run, and at some cycle of that traffic the reset
is asserted. The memory side is reset with it (the AXI4 slave model forgets the
write bursts whose data had not come; the read and write responses already owed
drain while the reset is held; memory is zeroed as at power-on) and the packets the
redistributors got before the reset are put aside. Then:

* nothing comes out of the reset ITS by itself (no packet, no memory access, no
  error pulse);
* a second bring-up (other LPIs for the same events, so that a stale cache entry
  would show) behaves as on a fresh reference model: every register reads its
  power-on value before it, and the bring-up, an MSI storm with drops, the counters,
  the error records and queries give the same observations, packets and error
  pulses.
"""

import asyncio
import collections
import random

import pytest
from amaranth.hdl import Module, ResetInserter, Signal

from gic.hw.its.layouts import LPI_BASE, Cmd, GitsCwriter
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REG, REGISTERS, TRANSLATER
from gic.hw.its.top import Its
from gic.sim.driver.bus import ModelBus
from gic.sim.driver.its import ItsDriver
from gic.sim.models.commands import encode_command, pack
from gic.sim.models.memory import Memory
from gic.sim.rtlsim.bus import AmaranthItsBus
from gic.sim.rtlsim.gicsink import GicStreamSink
from gic.sim.rtlsim.harness import Axi4LiteMasterModel, Axi4SlaveModel, run_sim

PARAMS = ItsParams(device_bits=8, event_bits=8, id_bits=14, collection_bits=8, hcc=2,
                   num_redistributors=2, tcache_entries=8, dcache_entries=2)
MEM_BASE = 0x4000_0000
MEM_SIZE = 1 << 20
RING_BYTES = 4096
EVENTS = [(d, e) for d in (0, 1) for e in range(8)]


class ResettableSlave(Axi4SlaveModel):
    """The AXI4 slave model, reset with the ITS: write bursts still waiting for their data
    are forgotten; responses already owed drain while the reset is held."""

    def reset(self):
        self._aws.clear()
        self._w_beats.clear()

    def drained(self):
        return not self._reads and not self._bs and not self._aws and not self._w_beats


async def bring_up(driver, lpi_base):
    """Probe, collections 0 and 1 on RDs 0 and 1, two devices of 8 events each."""
    await driver.probe()
    await driver.init_cpus(2)
    for device in (0, 1):
        await driver.map_device(device, 3)
    for device, event in EVENTS:
        await driver.map_event(device, event, lpi_base + 8 * device + event, (device + event) % 2,
                               sync=False)
    await driver.sync(0)
    await driver.sync(1)


async def second_life(bus, log, seed):
    """From power-on: the registers, a bring-up, a storm with drops, counters and records."""
    rng = random.Random(seed)
    for register in REGISTERS:
        if register.offset != TRANSLATER:
            log.append(("reg", register.name, await bus.read_reg(register.offset,
                                                                 register.width // 8)))
    driver = ItsDriver(bus, mem_base=MEM_BASE, mem_size=MEM_SIZE, ring_bytes=RING_BYTES)
    await bring_up(driver, LPI_BASE + 1000)
    log.append(("bring-up packets", [await bus.take_packets(rd) for rd in (0, 1)]))
    storm = [rng.choice(EVENTS) for _ in range(40)] + [(0, 9), (7, 0), (1, 3)]
    for device, event in storm:
        await bus.msi(device, event)
    log.append(("storm packets", [collections.Counter(await bus.take_packets(rd))
                                  for rd in (0, 1)]))
    stats = await driver.stats()
    log.append(("stats", {name: value for name, value in stats.items()
                          if not name.startswith("TCACHE")}))
    log.append(("errors", await driver.read_error(), await driver.read_msi_error()))
    for device, event in ((0, 1), (1, 7), (3, 0)):
        log.append(("query", await driver.query(device, event)))


def run_model(seed):
    bus = ModelBus.create(PARAMS, Memory())
    log = []
    asyncio.run(second_life(bus, log, seed))
    return log, bus.model.error_pulses


def run_rtl(reset_after, seed):
    memory = Memory()
    its = Its(PARAMS)
    rst = Signal()
    top = Module()
    top.submodules.its = ResetInserter(rst)(its)
    slave = ResettableSlave(memory, its.axi, latency=6)
    sink = GicStreamSink(its.gic, its.ack, ack_delay=5)
    irq = {"pulses": 0}
    log = []
    seen = {}

    async def count_irq(ctx):
        async for _, _, pulse in ctx.tick().sample(its.error_irq):
            irq["pulses"] += pulse

    async def testbench(ctx):
        rng = random.Random(seed)
        bus = AmaranthItsBus(ctx, its, Axi4LiteMasterModel(its.axil), memory, sink=sink)
        driver = ItsDriver(bus, mem_base=MEM_BASE, mem_size=MEM_SIZE, ring_bytes=RING_BYTES)
        await bring_up(driver, LPI_BASE)

        # A command stream, posted and not waited for: mapping changes, INTs, SYNCs.
        commands = []
        for n in range(40):
            device, event = rng.choice(EVENTS)
            commands += [
                (Cmd.INT, dict(device_id=device, event_id=event)),
                (Cmd.MOVI, dict(device_id=device, event_id=event, icid=n % 2)),
                (Cmd.SYNC, dict(rdbase=n % 2)),
            ]
        creadr = await bus.read_reg(REG["GITS_CREADR"], 4)
        raw = b"".join(encode_command(cmd, **fields) for cmd, fields in commands[:100])
        memory.write(driver.ring_base + creadr, raw[:RING_BYTES - 32 - creadr])
        posted = min(len(raw), RING_BYTES - 32 - creadr) // 32
        await bus.write_reg(REG["GITS_CWRITER"],
                            pack(GitsCwriter, offset=creadr // 32 + posted), 4)

        # The MSI storm (hits, misses and drops), one offered every cycle, and the reset.
        ctx.set(its.msi.valid, 1)
        for _ in range(reset_after):
            device, event = rng.choice(EVENTS + [(0, 12), (5, 1)])
            ctx.set(its.msi.payload, {"device_id": device, "event_id": event})
            await ctx.tick().until(its.msi.ready)
        seen["busy"] = not ctx.get(its.translator.idle & its.executor.idle & its.cmdq.idle)
        ctx.set(rst, 1)
        ctx.set(its.msi.valid, 0)
        slave.reset()
        await ctx.tick().repeat(16)
        while not slave.drained():
            await ctx.tick()
        await ctx.tick().repeat(16)
        # The SYNC acknowledges owed were taken too (the forwarder is ready in reset).
        assert not any(ctx.get(ack.valid) for ack in its.ack)
        seen["before"] = [len(sink.take(rd)) for rd in (0, 1)]
        memory.fill(MEM_BASE, MEM_SIZE, 0)
        ctx.set(rst, 0)

        # Nothing comes out by itself.
        irq["pulses"] = 0
        reads, writes = slave.reads, slave.writes
        await ctx.tick().repeat(300)
        assert [sink.take(rd) for rd in (0, 1)] == [[], []]
        assert (slave.reads, slave.writes) == (reads, writes)
        assert irq["pulses"] == 0

        await second_life(bus, log, seed)
        await ctx.tick().repeat(10)

    run_sim(top, testbench, processes=[slave.run, sink.run, count_irq], max_cycles=600_000)
    return log, irq["pulses"], seen


@pytest.mark.parametrize("reset_after,seed", [(30, 1), (150, 2), (600, 3)])
def test_reset_mid_traffic_then_bring_up_as_from_power_on(reset_after, seed):
    model_log, model_pulses = run_model(seed)
    log, pulses, seen = run_rtl(reset_after, seed)
    assert seen["busy"], "the reset came when nothing was in flight"
    assert sum(seen["before"]) > 0
    for index, (want, got) in enumerate(zip(model_log, log)):
        assert got == want, f"observation {index}: RTL {got}, model {want}"
    assert len(log) == len(model_log)
    assert pulses == model_pulses
