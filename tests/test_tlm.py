"""The transaction-level model (sim/tlm/), the workloads and the bench.

Functional results are checked against the reference model (sim/models/its.py), never
against the TLM itself: the Linux-style driver runs the same script on both, and each
workload is replayed on the reference model in the order the TLM decided it. Timing is
checked against figures derived from the RTL's docstrings (hw/its/translator.py,
walker.py, executor.py: a hit leaves the translator 2 cycles after it is accepted, a
read costs the memory latency L plus the AXI master's cycle, ...) and against the RTL
itself, in Amaranth's simulator, on short workloads.
"""

import asyncio
import collections
import random
from dataclasses import replace

import pytest

from gic.hw.its.layouts import LPI_BASE, CacheCtl, Cmd, CmdError, DropReason, GitsCtlr, InvalKind
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REG
from gic.hw.its.tcache import TranslationCache
from packet_order import MsiMarkingBus, compare_packets
from gic.sim.tools import bench
from gic.sim.driver.bus import ModelBus
from gic.sim.cli import main
from gic.sim.models.commands import pack, unpack
from gic.sim.driver.its import ItsDriver, ItsStalled
from gic.sim.models.memory import Memory
from gic.sim.models.its import ItsModel
from gic.sim.rtlsim.harness import run_sim
from gic.sim.tlm.bus import TlmBus
from gic.sim.tlm.its import Cache, TlmIts
from gic.sim.tlm.kernel import Clock, Fifo, Kernel, Wait
from gic.sim.tlm.memory import READ_REGISTERS, MemoryTarget
from gic.sim.tools.workloads import WORKLOADS, Msi, Workload, make

PARAMS = ItsParams(device_bits=8, event_bits=8, id_bits=14, collection_bits=8, hcc=2,
                   num_redistributors=3, tcache_entries=8, dcache_entries=2)
MEM_BASE = 0x4000_0000
MEM_SIZE = 4 << 20
RING_BYTES = 4096


# -- the kernel --------------------------------------------------------------------------------

def test_fifo_blocks_when_full_and_when_empty():
    kernel = Kernel()
    fifo = Fifo(kernel, capacity=2)
    put_at, got = [], []

    def producer():
        for n in range(4):
            yield fifo.put(n)
            put_at.append(kernel.now)

    def consumer():
        yield kernel.timeout(10)
        for _ in range(4):
            item = yield fifo.get()
            got.append((kernel.now, item))
            yield kernel.timeout(5)

    kernel.process(producer())
    kernel.process(consumer())
    kernel.run()
    assert put_at == [0, 0, 10, 15]         # the third waits for room
    assert got == [(10, 0), (15, 1), (20, 2), (25, 3)]
    assert fifo.num_available() == 0 and fifo.num_free() == 2 and fifo.nb_get("none") == "none"


def test_async_coroutines_and_end_of_cycle():
    kernel = Kernel(Clock(50e6))
    order = []

    async def script():
        await Wait(kernel.timeout(7))
        order.append(("script", kernel.now))
        return "done"

    def process():
        yield kernel.timeout(7)
        kernel.end_of_cycle(lambda: order.append(("end of cycle", kernel.now)))
        order.append(("process", kernel.now))

    kernel.process(process())
    assert kernel.run(until=kernel.spawn(script())) == "done"
    kernel.run()
    assert order == [("process", 7), ("script", 7), ("end of cycle", 7)]
    assert kernel.clock.seconds(50) == pytest.approx(1e-6)


# -- memory ------------------------------------------------------------------------------------

def run_reads(target, requests):
    """``requests``: (cycle, client, addr, count); the ReadResult of each, in order."""
    kernel = target.kernel
    results = [None] * len(requests)

    def requester(index, cycle, client, addr, count):
        yield kernel.at(cycle)
        results[index] = yield target.read(client, addr, count)

    for index, request in enumerate(requests):
        kernel.process(requester(index, *request))
    kernel.run()
    return results


def test_memory_latency_bandwidth_and_round_robin():
    memory = Memory()
    memory.write_int(0x1000, 0x1234)
    memory.inject_error(0x2000, 8)
    target = MemoryTarget(Kernel(), memory, latency=4, read_clients=3)
    one, burst, behind, faulty = run_reads(target, [
        (10, 2, 0x1000, 1), (20, 0, 0x3000, 4), (21, 1, 0x1000, 1), (40, 1, 0x2000, 1)])
    # L + 3 from acceptance to data (the AXI master registers the request, then AR; the
    # beats wait a cycle in its R FIFO).
    assert READ_REGISTERS == 3
    assert (one.accepted, one.first, one.data) == (10, 17, [0x1234])
    # One doubleword a cycle on the read channel: the single read waits for the burst.
    assert (burst.first, burst.last) == (27, 30)
    assert behind.first == 31
    assert faulty.data == [None] and faulty.error
    # Same-cycle requests all go into their clients' slots; they are granted one a cycle
    # from the next, round robin from the client after the last winner (2, then 0).
    target = MemoryTarget(Kernel(), memory, latency=4, read_clients=3)
    results = run_reads(target, [(5, client, 0x1000, 1) for client in (0, 1, 2)])
    assert [result.accepted for result in results] == [5, 5, 5]
    assert [result.first for result in results] == [12, 13, 14]     # granted in 6, 7, 8
    results = run_reads(target, [(20, client, 0x1000, 1) for client in (2, 1, 0)])
    assert [result.accepted for result in results] == [20, 20, 20]
    assert [result.first for result in results] == [29, 28, 27]     # 0, 1, 2 in 21, 22, 23
    write = target.write(30, 0x4000, 7)
    assert (write.done, write.error, memory.read_int(0x4000)) == (35, False, 7)


@pytest.mark.parametrize("make_it, message", [
    (lambda: Clock(0), "frequency must be positive, not 0"),
    (lambda: Fifo(Kernel(), capacity=0), "capacity must be None or a positive integer, not 0"),
    (lambda: MemoryTarget(Kernel(), Memory(), latency=0),
     "latency must be an integer >= 1, not 0"),
    (lambda: MemoryTarget(Kernel(), Memory(), bandwidth=0),
     "bandwidth must be an integer >= 1, not 0"),
    (lambda: MemoryTarget(Kernel(), Memory(), read_clients=0),
     "read_clients must be an integer >= 1, not 0"),
    (lambda: TlmIts(None, Memory()), "params must be an ItsParams, not None"),
    (lambda: TlmIts(PARAMS, Memory(), ack_delay=0), "ack_delay must be an integer >= 1, not 0"),
    (lambda: TlmBus(TlmIts(PARAMS, Memory()), poll_cycles=0),
     "poll_cycles must be a positive integer, not 0"),
])
def test_constructor_messages(make_it, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make_it()


# -- the caches: the same replacement as the RTL -----------------------------------------------

@pytest.mark.parametrize("seed", [1, 2])
def test_cache_replacement_matches_the_rtl_cache(seed):
    """Random fills, invalidations and look-ups on hw/its/tcache.TranslationCache (in
    Amaranth's simulator) and on the TLM's Cache give the same hits and values."""
    rng = random.Random(seed)
    params = replace(PARAMS, tcache_entries=4)
    keys = [(device, event) for device in range(3) for event in range(3)]
    operations = []
    for _ in range(160):
        choice = rng.random()
        if choice < 0.5:
            operations.append(("fill", rng.choice(keys), rng.randrange(100)))
        elif choice < 0.6:
            kind = rng.choice(list(InvalKind))
            operations.append(("inval", kind, *rng.choice(keys)))
        else:
            operations.append(("lookup", rng.choice(keys)))
    dut = TranslationCache(params)
    model = Cache(4, event=True)
    seen = {"rtl": [], "tlm": []}

    for operation in operations:
        if operation[0] == "fill":
            model.reserved = True
            model.fill(operation[1], operation[2])
        elif operation[0] == "inval":
            model.invalidate(*operation[1:])
        else:
            value = model.lookup(operation[1])
            seen["tlm"].append(None if value is None else value)

    async def testbench(ctx):
        for operation in operations:
            if operation[0] == "fill":
                (device, event), value = operation[1], operation[2]
                ctx.set(dut.reserve, 1)
                await ctx.tick()
                ctx.set(dut.reserve, 0)
                ctx.set(dut.fill.payload, {"key": {"device_id": device, "event_id": event},
                                           "value": {"pintid": value, "rd": 0}})
                ctx.set(dut.fill.valid, 1)
                await ctx.tick()
                ctx.set(dut.fill.valid, 0)
            elif operation[0] == "inval":
                kind, device, event = operation[1:]
                ctx.set(dut.inval.payload, {"kind": kind, "device_id": device,
                                            "event_id": event})
                ctx.set(dut.inval.valid, 1)
                await ctx.tick()
                ctx.set(dut.inval.valid, 0)
            else:
                device, event = operation[1]
                ctx.set(dut.lookup.key, {"device_id": device, "event_id": event})
                hit = ctx.get(dut.lookup.hit)
                seen["rtl"].append(ctx.get(dut.lookup.value).pintid if hit else None)

    run_sim(dut, testbench)
    assert seen["tlm"] == seen["rtl"]
    assert model.evictions > 0 and any(value is None for value in seen["rtl"])


# -- functional: the TLM against the reference model, through the driver ------------------------

async def post(driver, log, cmd, **fields):
    """Post one command; log its error (or stall), clear it, resume a stalled queue."""
    try:
        await driver.send(cmd, **fields)
    except ItsStalled as stalled:
        log.append(("stalled", cmd, stalled.code, stalled.offset))
        await driver.resume(skip=True)
    log.append(("error", cmd, await driver.read_error()))
    await driver.clear_errors()


async def scenario(bus, log):
    """A Linux-style bring-up, MSIs (hits, misses, drops), every command and error, memory
    errors, a wrapping ring, queries, GITS_CACHE_CTL; observations go to ``log``."""
    rng = random.Random(7)
    memory = bus.memory
    driver = ItsDriver(bus, mem_base=MEM_BASE, mem_size=MEM_SIZE, ring_bytes=RING_BYTES)
    log.append(("features", await driver.probe()))
    await driver.init_cpus(3)
    await driver.map_collection(5, 2)                   # held in memory (hcc = 2)
    itts = {device: await driver.map_device(device, bits)
            for device, bits in ((0, 4), (1, 3), (2, 8))}
    for event in range(12):
        await driver.map_event(0, event, LPI_BASE + event, event % 3)
    await driver.map_event(1, 0, 9000, 5)
    await driver.map_event(1, 1, 9001, 1)
    await driver.map_event(1, 2, 9002, 6, sync=False)  # collection 6 is not mapped
    await driver.map_event(2, 200, 200 + LPI_BASE, 0)

    for device, event in [(0, rng.randrange(10)) for _ in range(60)] + \
            [(1, 0), (1, 1), (2, 200)] * 4 + [(0, 15), (0, 16), (5, 0), (300, 0), (1, 2)]:
        await bus.msi(device, event)
    log.append(("msi error", await driver.read_msi_error()))
    await driver.clear_errors()

    await driver.int_(0, 1)
    await driver.clear(0, 1)
    await driver.inv(0, 2)
    await driver.move(0, 0, 2)                  # cached: the MSI must go to RD 2 now
    await bus.msi(0, 0)
    await driver.discard(0, 3)
    await bus.msi(0, 3)
    await driver.invall(1)
    await driver.move_all(0, 1)
    await driver.map_collection(1, 0)           # collection 1: RD 1 -> RD 0
    await bus.msi(1, 1)
    await driver.map_event(0, 4, 8500, 5)       # MAPTI over a mapped, cached event
    await bus.msi(0, 4)
    await driver.unmap_device(1)
    await bus.msi(1, 0)

    for cmd, fields in [
            (Cmd.MAPD, dict(device_id=300, size=1, itt_addr=0, valid=1)),
            (Cmd.MAPD, dict(device_id=3, size=14, itt_addr=0, valid=1)),
            (Cmd.MAPC, dict(icid=1, rdbase=5, valid=1)),
            (Cmd.MAPTI, dict(device_id=7, event_id=0, pintid=8192, icid=0)),
            (Cmd.MAPTI, dict(device_id=0, event_id=16, pintid=8192, icid=0)),
            (Cmd.MAPTI, dict(device_id=0, event_id=13, pintid=100, icid=0)),
            (Cmd.MOVI, dict(device_id=0, event_id=5, icid=6)),
            (Cmd.INT, dict(device_id=0, event_id=3)),
            (Cmd.INVALL, dict(icid=6)),
            (Cmd.MOVALL, dict(rdbase1=0, rdbase2=7)),
            (Cmd.SYNC, dict(rdbase=9)),
            (0x77, dict(device_id=0))]:
        await post(driver, log, cmd, **fields)

    # AXI errors on a table read (an MSI and a command) and a table write.
    memory.inject_error(itts[0] + 8 * 11, 8)
    await bus.msi(0, 11)
    await post(driver, log, Cmd.INT, device_id=0, event_id=11)
    memory.clear_errors()
    memory.inject_error(itts[0] + 8 * 12, 8)
    await post(driver, log, Cmd.MAPTI, device_id=0, event_id=12, pintid=8300, icid=0)
    memory.clear_errors()

    # More commands than the ring holds: it wraps.
    mapped = [0, 1, 2, 4, 5, 6, 7, 8, 9]
    await driver.send_batch([(Cmd.INT, dict(device_id=0, event_id=mapped[n % len(mapped)]))
                             for n in range(150)])

    for device, event in ((0, 0), (0, 15), (300, 0), (2, 200)):
        log.append(("query", await driver.query(device, event)))
    await bus.write_reg(REG["GITS_CTLR"], pack(GitsCtlr, enabled=0), 4)
    while not unpack(GitsCtlr, await bus.read_reg(REG["GITS_CTLR"], 4))["quiescent"]:
        await bus.idle()
    await bus.msi(0, 1)                         # dropped: disabled
    await bus.write_reg(REG["GITS_CTLR"], pack(GitsCtlr, enabled=1), 4)
    await bus.write_reg(REG["GITS_CACHE_CTL"], pack(CacheCtl, disable=1), 4)
    for event in range(1, 4):
        await bus.msi(0, event)
    await bus.write_reg(REG["GITS_CACHE_CTL"], pack(CacheCtl, invalidate=1), 4)
    while unpack(CacheCtl, await bus.read_reg(REG["GITS_CACHE_CTL"], 4))["invalidate"]:
        await bus.idle()
    for event in range(1, 4):
        await bus.msi(0, event)
    stats = await driver.stats()
    log.append(("stats", {name: value for name, value in stats.items()
                          if not name.startswith("TCACHE")}))
    log.append(("errors", await driver.read_error(), await driver.read_msi_error()))
    packets = [await bus.take_packets(rd) for rd in range(PARAMS.num_redistributors)]
    return stats, packets


@pytest.mark.parametrize("policy", ["skip", "stall"])
def test_driver_scenario_matches_the_reference_model(policy):
    params = replace(PARAMS, error_policy=policy)
    model_memory, tlm_memory = Memory(), Memory()
    model_bus = MsiMarkingBus.create(params, model_memory)
    model_log, tlm_log = [], []
    _, model_packets = asyncio.run(scenario(model_bus, model_log))

    its = TlmIts(params, tlm_memory, mem_latency=5)
    bus = TlmBus(its)
    stats, packets = bus.run(scenario(bus, tlm_log))

    assert not its.mismatches
    for index, (want, got) in enumerate(zip(model_log, tlm_log)):
        assert got == want, f"observation {index}: TLM {got}, model {want}"
    assert len(tlm_log) == len(model_log)
    for rd, want in enumerate(model_packets):
        compare_packets(rd, want, model_bus.msi_packets[rd], packets[rd])
    assert its.model.error_pulses == model_bus.model.error_pulses
    assert tlm_memory.read(MEM_BASE, MEM_SIZE) == model_memory.read(MEM_BASE, MEM_SIZE)
    assert stats["TCACHE_HIT"] > 0 and stats["TCACHE_MISS"] > 0
    if policy == "stall":
        assert any(entry[0] == "stalled" for entry in tlm_log)


def replay(params, workload, result):
    """The workload on the reference model, MSIs and commands in the order the TLM
    accepted or executed them; ``(packets per redistributor, per redistributor the indices
    of the MSIs' SETs in them, MSI outcomes, model)``."""
    memory = Memory()
    bus = ModelBus(ItsModel(params, memory, auto_execute=True), memory)
    ring = asyncio.run(bench.set_up(bus, workload, params))
    model = bus.model
    model.auto_execute = False
    for rd in range(params.num_redistributors):
        model.take_packets(rd)
    cwriter = None
    for post in workload.posts:
        cwriter = ring.post(memory, post.commands)
    if cwriter is not None:
        model.write(REG["GITS_CWRITER"], cwriter, 4)
    events = sorted([(cycle, 0, index) for index, cycle in enumerate(result.accepts)] +
                    [(cycle, 1, index) for index, cycle in enumerate(result.steps)])
    statuses = [None] * len(workload.msis)
    msi_packets = [set() for _ in range(params.num_redistributors)]
    for _, kind, index in events:
        if kind == 0:
            msi = workload.msis[index]
            translation = model.msi(msi.device_id, msi.event_id)
            statuses[index] = translation.status
            if translation.status is DropReason.OK:
                msi_packets[translation.target].add(len(model.packets[translation.target]) - 1)
        else:
            assert model.step().error is CmdError.NONE
    packets = [model.take_packets(rd) for rd in range(params.num_redistributors)]
    return packets, msi_packets, statuses, model


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_workload_outcomes_match_the_reference_model(name):
    workload = make(name, PARAMS, scale={"command_stream": 24}.get(name, 240))
    result, = bench.run_tlm(PARAMS, [workload], mem_latency=6)
    packets, msi_packets, statuses, model = replay(PARAMS, workload, result)
    assert result.statuses == statuses
    if workload.posts and workload.msis:
        # A command's packet and an MSI's may leave in either order within a cycle's reach.
        assert [collections.Counter(got) for got in result.packets] == \
            [collections.Counter(want) for want in packets]
    else:
        for rd, want in enumerate(packets):
            compare_packets(rd, want, msi_packets[rd], result.packets[rd])
    assert len(result.command_latency) == workload.commands
    assert sum(map(len, packets)) > 0


# -- timing: figures from the RTL's docstrings --------------------------------------------------

def tlm_phase(workload, *, mem_latency, params=PARAMS):
    result, = bench.run_tlm(params, [workload], mem_latency=mem_latency)
    return result


def simple_workload(msis, *, devices=4, events=8, icid=lambda d, e: (d + e) % 2):
    return Workload(
        name="timing", description="", seed=0,
        devices=tuple((device, 3) for device in range(devices)),
        mappings=tuple((d, e, LPI_BASE + 16 * d + e, icid(d, e))
                       for d in range(devices) for e in range(events)),
        msis=tuple(msis))


def test_hits_are_accepted_one_a_cycle_with_a_latency_of_3():
    events = [(0, e) for e in range(4)]
    workload = simple_workload([Msi(0, *events[n % 4]) for n in range(50)])
    workload = replace(workload, warmup=tuple(Msi(0, d, e) for d, e in events))
    result = tlm_phase(workload, mem_latency=4)
    assert result.accepts == list(range(50))
    assert result.msi_latency == [3] * 50           # accepted n, out n + 2, RD n + 4
    assert result.hit_rate == 1.0 and result.cycles == 52


@pytest.mark.parametrize("latency", [1, 4, 16])
def test_miss_latency_is_its_memory_round_trips_plus_3(latency):
    """Each read: L + 3 cycles (AXI master + slave); a miss leaves 3 cycles after it is
    accepted plus its reads; a DTE + ITE miss, an ITE miss (device cached) and a miss that
    also reads the collection table (ICID >= hcc)."""
    trip = latency + READ_REGISTERS
    workload = simple_workload([Msi(0, 0, 0), Msi(200, 0, 1), Msi(400, 1, 5)],
                               icid=lambda d, e: 3 if (d, e) == (1, 5) else 0)
    workload = replace(workload, collections=((3, 1),))
    result = tlm_phase(workload, mem_latency=latency)
    assert result.msi_latency == [3 + 2 * trip + 1, 3 + trip + 1, 3 + 3 * trip + 1]


def test_hits_under_a_miss_do_not_wait_for_it():
    """A miss, then hits accepted one a cycle while it walks: they leave 2 cycles after
    they are accepted, before the miss; a second miss waits for the walker (one walk at a
    time)."""
    events = [(0, e) for e in range(4)]
    msis = [Msi(0, 1, 0)] + [Msi(0, *events[n % 4]) for n in range(5)] + [Msi(0, 2, 0)]
    workload = replace(simple_workload(msis), warmup=tuple(Msi(0, d, e) for d, e in events))
    result = tlm_phase(workload, mem_latency=8)
    trip = 8 + READ_REGISTERS
    miss_out = 3 + 2 * trip                 # the DTE + ITE miss accepted at 0 leaves then
    assert result.accepts == list(range(7))
    assert result.msi_latency[:6] == [miss_out + 1] + [3] * 5
    # The second miss (accepted at 6) walks from two cycles after the first one left (the
    # walker is free once the first one's fills are applied, the cycle after it left).
    walk = miss_out + 2
    assert result.msi_latency[6] == walk + 2 + 2 * trip + 1 - 6
    assert result.hits == 5


@pytest.mark.parametrize("latency", [4, 10])
def test_command_costs_follow_the_executor_steps(latency):
    """Back to back: an INT reads the DTE and the ITE (7 + 2 read trips), a MAPTI reads the
    DTE and writes the ITE (8 + a read trip + a write trip)."""
    trip = latency + READ_REGISTERS
    write_trip = latency + 1
    workload = make("command_stream", PARAMS, scale=32, batch=200, every=1000)
    assert len(workload.posts) == 1         # all posted at cycle 0: latency = retire cycle
    retires = tlm_phase(workload, mem_latency=latency).command_latency
    commands = [cmd for post in workload.posts for cmd, _ in post.commands]
    gaps = collections.defaultdict(list)
    for n in range(1, len(commands)):
        if commands[n] == commands[n - 1]:
            gaps[commands[n]].append(retires[n] - retires[n - 1])
    assert set(gaps[Cmd.MAPTI]) == {8 + trip + write_trip}
    # An INT's reads may also wait behind the command fetch's four-beat bursts.
    assert min(gaps[Cmd.INT]) == 7 + 2 * trip


# -- correlation with the RTL -------------------------------------------------------------------

@pytest.mark.parametrize("latency, names", [
    (4, ("zipf", "remaps", "command_stream")),
    (16, ("cold_misses",)),
])
def test_tlm_correlates_with_the_rtl(latency, names):
    """Total cycles, mean and p99 latencies within 5 % of the RTL (Its in Amaranth's
    simulator, same parameters, memory latency, set-up and traffic)."""
    scales = {"zipf": 60, "remaps": 150, "command_stream": 16, "cold_misses": 16}
    workloads = [make(name, bench.BENCH_PARAMS, scale=scales[name]) for name in names]
    for comparison in bench.compare(bench.BENCH_PARAMS, workloads, mem_latency=latency):
        for figure, (rtl, tlm, error) in comparison.errors().items():
            assert abs(error) <= 5.0, \
                f"{comparison.workload} L={latency} {figure}: RTL {rtl}, TLM {tlm}"
        assert [collections.Counter(p) for p in comparison.rtl.packets] == \
            [collections.Counter(p) for p in comparison.tlm.packets]
        assert comparison.rtl.statuses == comparison.tlm.statuses


@pytest.mark.parametrize("latency", [4, 16])
def test_tlm_matches_the_rtl_around_misses(latency):
    """Decision order cycle by cycle: one MSI a cycle, hits before, under and after misses
    (a hit decided in the walk's cycle, a second miss waiting for the walker, a walk that
    ends in a drop); every MSI's latency, outcome and packet order are the RTL's."""
    events = [(0, e) for e in range(4)]

    def hits(count):
        return [events[n % len(events)] for n in range(count)]

    pattern = hits(3) + [(1, 0)] + hits(30) + [(2, 1), (3, 9)] + hits(12) + [(1, 7)] + hits(20)
    workload = replace(simple_workload([Msi(n, d, e) for n, (d, e) in enumerate(pattern)]),
                       warmup=tuple(Msi(0, d, e) for d, e in events))
    comparison, = bench.compare(PARAMS, [workload], mem_latency=latency)
    rtl, tlm = comparison.rtl, comparison.tlm
    assert tlm.msi_latency == rtl.msi_latency
    assert tlm.statuses == rtl.statuses and DropReason.EVENT_OOR in rtl.statuses
    assert tlm.packets == rtl.packets and tlm.cycles == rtl.cycles
    # The hits right behind the first miss did not wait for it.
    assert rtl.msi_latency[4:8] == [3] * 4 and rtl.msi_latency[3] > 2 * latency


# -- workloads and the bench ---------------------------------------------------------------------

@pytest.mark.parametrize("name", list(WORKLOADS))
def test_workloads_are_seeded_and_fit_the_parameters(name):
    first, again = make(name, PARAMS), make(name, PARAMS)
    other = make(name, PARAMS, seed=99)
    assert first == again and first != other
    cycles = [msi.cycle for msi in first.msis]
    assert cycles == sorted(cycles)
    for device, event, lpi, icid in first.mappings:
        assert device < 1 << PARAMS.device_bits and event < 1 << PARAMS.event_bits
        assert LPI_BASE <= lpi < 1 << PARAMS.id_bits and icid < PARAMS.num_collections
    assert len({lpi for _, _, lpi, _ in first.mappings}) == len(first.mappings)


def test_workload_messages():
    with pytest.raises(ValueError, match="unknown workload 'nope'; workloads: hit_storm"):
        make("nope", PARAMS)
    with pytest.raises(ValueError, match="workload cold_misses needs 6 devices of 25 events; "
                                         "device_bits=2, event_bits=8 are too small"):
        make("cold_misses", replace(PARAMS, device_bits=2))


def test_percentile():
    assert bench.percentile([], 0.99) == 0
    assert bench.percentile(list(range(1, 101)), 0.99) == 99
    assert bench.percentile([5, 1, 3], 0.5) == 3


def test_bench_writes_summary_plots_and_report(tmp_path):
    summary = bench.run_bench(rtl=False, quick=True, latencies=(4,), out=tmp_path,
                              docs=tmp_path / "performance.md")
    for key in ("hit_msi_per_cycle", "hit_latency_cycles", "miss_latency_cycles",
                "tlm_max_error_pct", "tlm_speedup"):
        assert key in summary
    assert summary["hit_msi_per_cycle"] == 1.0 and summary["hit_latency_cycles"] == 3
    assert summary["miss_latency_cycles"]["4"] == 3 + 2 * (4 + READ_REGISTERS) + 1
    for name in ("summary.json", "tcache.png", "memory_latency.png", "tables.png"):
        assert (tmp_path / name).stat().st_size > 0
    text = (tmp_path / "performance.md").read_text()
    assert "## Design space" in text and "vgic_lpi_stress" in text


def test_bench_command_line_rejects_a_bad_latency(capsys):
    assert main(["bench", "--latency", "0"]) == 2
    assert "must be at least 1" in capsys.readouterr().err
