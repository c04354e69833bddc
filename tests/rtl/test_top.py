"""The whole ITS under the Linux-style driver, against the reference model.

One script (:func:`scenario`) runs twice: on the reference model through
:class:`gic.sim.driver.bus.ModelBus`, and on :class:`gic.hw.its.top.Its` in Amaranth's simulator
through :class:`gic.sim.rtlsim.bus.AmaranthItsBus`, each with its own memory. It brings
the ITS up as Linux does, maps devices, events and collections, fires MSIs,
posts every command and every error (both error policies), injects AXI errors on
a command fetch and on table reads and writes, wraps the command ring, and
queries. The two runs must agree on everything the script observes (error
records, stats, query answers), on every packet each redistributor received,
on the error interrupt count and on the memory the ITS wrote.

Packets per redistributor: the model decides every MSI when it is accepted, the
RTL in decision order (docs/behaviour.md, "Ordering": a hit may overtake an
earlier miss). So each redistributor's command packets must come in the model's
order, and between two of them the same SETs of MSIs, in any order
(tests/packet_order.py).
"""

import asyncio
import gc
import random

import pytest

from gic.hw.its.layouts import LPI_BASE, CacheCtl, Cmd, CmdError, GitsCtlr, GitsCwriter
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REG
from gic.hw.its.top import Its, generate_verilog
from gic.sim.driver.bus import ItsBus, ModelBus
from gic.sim.models.commands import pack, unpack
from gic.sim.driver.its import ItsDriver, ItsStalled
from gic.sim.models.memory import Memory
from gic.sim.rtlsim.bus import AmaranthItsBus

from packet_order import MsiMarkingBus, compare_packets
from gic.sim.rtlsim.gicsink import GicStreamSink
from gic.sim.rtlsim.harness import Axi4LiteMasterModel, Axi4SlaveModel, run_sim

BASE_PARAMS = dict(device_bits=8, event_bits=14, id_bits=14, collection_bits=8, hcc=2,
                   num_redistributors=3, tcache_entries=8, dcache_entries=2)
MEM_BASE = 0x4000_0000
MEM_SIZE = 4 << 20
RING_BYTES = 4096


class InjectOnPost(ItsBus):
    """An :class:`ItsBus` that forwards to ``bus``, and can make memory fail from the
    driver's next GITS_CWRITER write on (so the command it posts cannot be fetched)."""

    def __init__(self, bus):
        self.bus = bus
        self.memory = bus.memory
        self._armed = None

    def arm(self, addr, length):
        self._armed = (addr, length)

    async def read_reg(self, offset, size=8):
        return await self.bus.read_reg(offset, size)

    async def write_reg(self, offset, value, size=8):
        if offset == REG["GITS_CWRITER"] and self._armed:
            self.memory.inject_error(*self._armed)
            self._armed = None
        await self.bus.write_reg(offset, value, size)

    async def read_mem(self, addr, length):
        return await self.bus.read_mem(addr, length)

    async def write_mem(self, addr, data):
        await self.bus.write_mem(addr, data)

    async def idle(self):
        await self.bus.idle()

    async def msi(self, device_id, event_id):
        await self.bus.msi(device_id, event_id)


async def post(driver, log, cmd, **fields):
    """Post one command; log the error it gave (from GITS_ERR_CMD, or the stall), then clear
    the error record and any memory fault injected for it; resume a stalled queue."""
    bus = driver.bus
    try:
        await driver.send(cmd, **fields)
    except ItsStalled as stalled:
        log.append(("stalled", cmd, stalled.code, stalled.offset, stalled.cmd))
        bus.memory.clear_errors()
        await driver.resume(skip=True)
    log.append(("error", cmd, await driver.read_error()))
    await driver.clear_errors()
    bus.memory.clear_errors()


async def quiesce(bus):
    """Disable the ITS and wait for GITS_CTLR.Quiescent."""
    await bus.write_reg(REG["GITS_CTLR"], pack(GitsCtlr, enabled=0), 4)
    while not unpack(GitsCtlr, await bus.read_reg(REG["GITS_CTLR"], 4))["quiescent"]:
        await bus.idle()


async def scenario(bus, log, seed=0):
    """Everything the ITS does, as a script over any :class:`ItsBus`; observations go to
    ``log``."""
    rng = random.Random(seed)
    bus = InjectOnPost(bus)
    driver = ItsDriver(bus, mem_base=MEM_BASE, mem_size=MEM_SIZE, ring_bytes=RING_BYTES)

    # Bring-up as Linux: probe, MAPC + INVALL + SYNC per CPU; a collection in memory.
    log.append(("features", await driver.probe()))
    await driver.init_cpus(3)
    await driver.map_collection(5, 2)
    itts = {device: await driver.map_device(device, bits)
            for device, bits in ((0, 4), (1, 3), (2, 14))}
    for event in range(12):
        await driver.map_event(0, event, LPI_BASE + event, event % 3)
    await driver.map_event(1, 0, 9000, 5)
    await driver.map_event(1, 1, 9001, 1)
    await driver.map_event(1, 2, 9002, 6, sync=False)   # collection 6 exists, is not mapped
    await driver.map_event(2, 8200, 8200, 0)            # MAPI

    # An MSI storm (hits and misses) and MSIs that must be dropped.
    storm = [(0, rng.randrange(10)) for _ in range(40)] + [(1, 0), (1, 1), (2, 8200)] * 3
    strays = [(0, 15), (0, 16), (5, 0), (300, 0), (1, 2), (2, 1 << 14)]
    for device, event in storm + strays:
        await bus.msi(device, event)
    log.append(("msi error", await driver.read_msi_error()))
    await driver.clear_errors()

    # Every command, and MSIs that must see each mapping change at once.
    await driver.int_(0, 1)
    await driver.clear(0, 1)
    await driver.inv(0, 2)
    await driver.move(0, 0, 2)                  # RD 0 -> RD 2: MOVLPI
    await bus.msi(0, 0)                         # cached before: must go to RD 2 now
    await driver.discard(0, 3)
    await bus.msi(0, 3)                         # dropped: unmapped interrupt
    await driver.invall(1)
    await driver.move_all(0, 1)
    await driver.sync(2)
    await driver.map_collection(1, 0)           # collection 1: RD 1 -> RD 0
    await bus.msi(1, 1)
    await driver.map_event(0, 4, 8500, 5)       # MAPTI over a mapped, cached event
    await bus.msi(0, 4)
    await driver.unmap_device(1)
    await bus.msi(1, 0)                         # dropped: unmapped device
    log.append(("msi error", await driver.read_msi_error()))
    await driver.clear_errors()

    # Every command error code.
    errors = [
        (Cmd.MAPD, dict(device_id=300, size=1, itt_addr=0, valid=1)),
        (Cmd.MAPD, dict(device_id=3, size=14, itt_addr=0, valid=1)),
        (Cmd.MAPC, dict(icid=3, rdbase=5, valid=1)),
        (Cmd.MAPC, dict(icid=300, rdbase=0, valid=1)),
        (Cmd.MAPTI, dict(device_id=7, event_id=0, pintid=8192, icid=0)),
        (Cmd.MAPTI, dict(device_id=0, event_id=16, pintid=8192, icid=0)),
        (Cmd.MAPTI, dict(device_id=0, event_id=13, pintid=100, icid=0)),
        (Cmd.MAPI, dict(device_id=0, event_id=13, icid=0)),
        (Cmd.MAPTI, dict(device_id=0, event_id=13, pintid=8192, icid=300)),
        (Cmd.MOVI, dict(device_id=0, event_id=14, icid=0)),
        (Cmd.MOVI, dict(device_id=0, event_id=5, icid=6)),
        (Cmd.INT, dict(device_id=0, event_id=3)),
        (Cmd.CLEAR, dict(device_id=1, event_id=0)),
        (Cmd.INV, dict(device_id=0, event_id=17)),
        (Cmd.DISCARD, dict(device_id=1, event_id=2)),
        (Cmd.INT, dict(device_id=1, event_id=2)),
        (Cmd.INVALL, dict(icid=6)),
        (Cmd.MOVALL, dict(rdbase1=0, rdbase2=7)),
        (Cmd.SYNC, dict(rdbase=9)),
        (Cmd.VMAPP, dict(device_id=0)),
        (0x77, dict(device_id=0)),
    ]
    for cmd, fields in errors:
        await post(driver, log, cmd, **fields)

    # AXI errors: a command fetch, a table read (command and MSI), a table write; CWRITER
    # beyond the ring.
    creadr = await bus.read_reg(REG["GITS_CREADR"], 4)
    bus.arm(driver.ring_base + creadr + 8, 8)
    await post(driver, log, Cmd.INT, device_id=0, event_id=5)
    bus.memory.inject_error(itts[0] + 8 * 11, 8)
    await bus.msi(0, 11)
    await post(driver, log, Cmd.INT, device_id=0, event_id=11)
    bus.memory.inject_error(itts[0] + 8 * 12, 8)
    await post(driver, log, Cmd.MAPTI, device_id=0, event_id=12, pintid=8300, icid=0)
    await bus.write_reg(REG["GITS_CWRITER"], pack(GitsCwriter, offset=RING_BYTES // 32), 4)
    log.append(("cwriter", await driver.read_error()))
    await driver.clear_errors()

    # More commands than the ring holds, without SYNC: the ring wraps.
    mapped = [0, 1, 2, 4, 5, 6, 7, 8, 9]
    await driver.send_batch([(Cmd.INT, dict(device_id=0, event_id=mapped[n % len(mapped)]))
                             for n in range(150)])

    # Queries, and MSIs while disabled.
    for device, event in ((0, 0), (0, 15), (300, 0), (1, 0)):
        log.append(("query", await driver.query(device, event)))
    await quiesce(bus)
    await bus.msi(0, 1)
    log.append(("query disabled", await driver.query(0, 1)))
    await bus.write_reg(REG["GITS_CTLR"], pack(GitsCtlr, enabled=1), 4)

    # GITS_CACHE_CTL: with the caches bypassed, then after invalidating them.
    await bus.write_reg(REG["GITS_CACHE_CTL"], pack(CacheCtl, disable=1), 4)
    for event in range(1, 4):
        await bus.msi(0, event)
    await bus.write_reg(REG["GITS_CACHE_CTL"], pack(CacheCtl, invalidate=1), 4)
    for event in range(1, 4):
        await bus.msi(0, event)

    stats = await driver.stats()
    log.append(("stats", {name: value for name, value in stats.items()
                          if not name.startswith("TCACHE")}))
    log.append(("errors", await driver.read_error(), await driver.read_msi_error()))
    return stats


def run_model(params, seed=0):
    memory = Memory()
    bus = MsiMarkingBus.create(params, memory)
    log = []
    asyncio.run(scenario(bus, log, seed))
    packets = [bus.model.take_packets(rd) for rd in range(params.num_redistributors)]
    return log, packets, bus.msi_packets, bus.model.error_pulses, memory


def run_rtl(params, *, seed=0, latency=4, backpressure=0.0, translater=False):
    memory = Memory()
    its = Its(params)
    axi = Axi4SlaveModel(memory, its.axi, latency=latency, backpressure=backpressure,
                         idle=backpressure, reorder=bool(backpressure), seed=seed)
    rds = GicStreamSink(its.gic, its.ack, backpressure=backpressure, ack_delay=5,
                             seed=seed)
    log = []
    observed = {"irq": 0}

    async def count_irq(ctx):
        async for _, _, irq in ctx.tick().sample(its.error_irq):
            observed["irq"] += irq

    async def testbench(ctx):
        bus = AmaranthItsBus(ctx, its, Axi4LiteMasterModel(its.axil), memory,
                             translater=translater)
        observed["stats"] = await scenario(bus, log, seed)
        while not ctx.get(its.forwarder.idle & its.translator.idle & its.executor.idle):
            await ctx.tick()
        await ctx.tick().repeat(10)

    run_sim(its, testbench, processes=[axi.run, rds.run, count_irq], max_cycles=400_000)
    return log, rds.packets, observed, memory


def compare(params, *, seed=0, **kwargs):
    model_log, model_packets, msi_packets, model_pulses, model_memory = run_model(params, seed)
    log, packets, observed, memory = run_rtl(params, seed=seed, **kwargs)
    for index, (want, got) in enumerate(zip(model_log, log)):
        assert got == want, f"observation {index}: RTL {got}, model {want}"
    assert len(log) == len(model_log)
    for rd in range(params.num_redistributors):
        compare_packets(rd, model_packets[rd], msi_packets[rd], packets[rd])
    assert observed["irq"] == model_pulses
    assert memory.read(MEM_BASE, MEM_SIZE) == model_memory.read(MEM_BASE, MEM_SIZE)
    assert observed["stats"]["TCACHE_HIT"] > 0 and observed["stats"]["TCACHE_MISS"] > 0
    return model_log


@pytest.mark.parametrize("policy", ["skip", "stall"])
def test_driver_against_model(policy):
    """Every command, error code and drop, both error policies, memory latency 4."""
    log = compare(ItsParams(**BASE_PARAMS, error_policy=policy))
    codes = {entry[2].code for entry in log if entry[0] == "error" and entry[2]} | \
        {entry[2] for entry in log if entry[0] == "stalled"} | \
        {entry[1].code for entry in log if entry[0] == "cwriter"}
    assert set(CmdError) - {CmdError.NONE} <= codes, set(CmdError) - codes


def test_backpressure_slow_memory_and_translater():
    """Redistributors not ready half the time, slow reordering memory, MSIs written to
    GITS_TRANSLATER with the DeviceID sideband."""
    compare(ItsParams(**BASE_PARAMS), latency=12, backpressure=0.5, translater=True, seed=3)


def test_query_port_beside_gits_query():
    """The external query port and GITS_QUERY share the translator; each gets its answers."""
    params = ItsParams(**BASE_PARAMS)
    memory = Memory()
    model_bus = ModelBus.create(params, Memory())
    its = Its(params)
    axi = Axi4SlaveModel(memory, its.axi, latency=6)
    rds = GicStreamSink(its.gic, its.ack)
    asked = [(0, e) for e in range(12)] + [(1, 0), (5, 0), (0, 40)]

    async def setup(driver):
        await driver.probe()
        await driver.init_cpus(3)
        await driver.map_device(0, 4)
        for event in range(10):
            await driver.map_event(0, event, LPI_BASE + 7 * event, event % 3)

    asyncio.run(setup(ItsDriver(model_bus, mem_base=MEM_BASE, ring_bytes=RING_BYTES)))
    expected = [model_bus.model.query(d, e) for d, e in asked]

    answers = []

    async def collect(ctx):
        ctx.set(its.query_resp.ready, 1)
        async for _, _, valid, answer in ctx.tick().sample(its.query_resp.valid,
                                                           its.query_resp.payload):
            if valid:
                answers.append((answer.status, answer.pintid, answer.target))

    async def testbench(ctx):
        bus = AmaranthItsBus(ctx, its, Axi4LiteMasterModel(its.axil), memory)
        driver = ItsDriver(bus, mem_base=MEM_BASE, ring_bytes=RING_BYTES)
        await setup(driver)
        for device, event in asked:
            ctx.set(its.query.payload, {"device_id": device, "event_id": event})
            ctx.set(its.query.valid, 1)
            await ctx.tick().until(its.query.ready)
            ctx.set(its.query.valid, 0)
            # A register query right behind the port's.
            result = await driver.query(event % 3, device)
            want = model_bus.model.query(event % 3, device)
            assert (result.status, result.pintid, result.target) == tuple(want)
        await ctx.tick().repeat(10)

    run_sim(its, testbench, processes=[axi.run, rds.run, collect])
    assert answers == [tuple(answer) for answer in expected]


def test_command_throughput(capsys):
    """Cycles per command in a stream of MAPTIs, then of INTs, through the whole ITS (one
    CWRITER write posts each batch; AXI memory latency 4 and 10), printed for the report."""
    params = ItsParams(**BASE_PARAMS)
    count = 64
    figures = {}
    for latency in (4, 10):
        memory = Memory()
        its = Its(params)
        axi = Axi4SlaveModel(memory, its.axi, latency=latency)
        rds = GicStreamSink(its.gic, its.ack)
        retired = []

        async def watch(ctx):
            cycle = 0
            async for _, _, retire in ctx.tick().sample(its.executor.retire):
                cycle += 1
                if retire:
                    retired.append(cycle)

        async def testbench(ctx):
            bus = AmaranthItsBus(ctx, its, Axi4LiteMasterModel(its.axil), memory)
            driver = ItsDriver(bus, mem_base=MEM_BASE, ring_bytes=RING_BYTES)
            await driver.probe()
            await driver.init_cpus(3)
            await driver.map_device(0, 8)
            batches = {
                "MAPTI": [(Cmd.MAPTI, dict(device_id=0, event_id=e, pintid=LPI_BASE + e,
                                           icid=e % 3)) for e in range(count)],
                "INT": [(Cmd.INT, dict(device_id=0, event_id=e)) for e in range(count)],
            }
            for name, commands in batches.items():
                first = len(retired)
                await driver.send_batch(commands)
                times = retired[first:first + count]
                figures[(name, latency)] = (times[-1] - times[0]) / (count - 1)

        run_sim(its, testbench, processes=[axi.run, rds.run, watch])
    with capsys.disabled():
        for (name, latency), cycles in sorted(figures.items()):
            print(f"\n  ITS: {cycles:.1f} cycles per {name} (AXI latency {latency})", end="")
    assert all(cycles < 60 for cycles in figures.values())


def test_generate_verilog(tmp_path):
    path = generate_verilog(ItsParams(**BASE_PARAMS), tmp_path / "its.v")
    text = path.read_text()
    assert "module its(" in text
    for port in ("axil__awaddr", "axil__rdata", "axi__arvalid", "axi__rdata", "msi__payload",
                 "translater_device_id", "gic__0__valid", "gic__2__payload", "ack__1__ready",
                 "query_resp__payload", "error_irq"):
        assert port in text, port


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_parameter_messages():
    with pytest.raises(TypeError, match="params must be an ItsParams, not None") as info:
        Its(None)
    del info      # drop the half-built component here, where its warning is filtered
    gc.collect()
    with pytest.raises(ValueError, match="poll_cycles must be a positive integer, not 0"):
        AmaranthItsBus(None, None, None, Memory(), poll_cycles=0)
