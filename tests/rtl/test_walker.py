"""The table walker against the reference model: flat and two-level device tables at every
page size, every drop reason, collections on chip and in memory, memory errors, timing.

Tables are written into a shared Memory (tests/rtl/its_tables.py); each walk's outcome
is checked against ``ItsModel.query`` on the same memory and, where a test names one,
against the drop reason docs/behaviour.md gives. Read counts come from the spec's table
formats (level-1 entry, DTE, ITE, CTE).
"""

import gc
import random

import pytest
from amaranth.hdl import Elaboratable, Module
from amaranth.lib import wiring

from gic.hw.its.collections import CollectionTable
from gic.hw.its.layouts import ENTRY_BYTES, PAGE_BYTES, DropReason, IttEntry, PageSize
from gic.hw.its.params import ItsParams
from gic.hw.its.walker import Walker
from gic.sim.models.commands import unpack

from .its_tables import TableSet
from gic.sim.rtlsim.harness import MemPortModel, run_sim, stream_get, stream_put

PARAMS = ItsParams(device_bits=20, event_bits=16, collection_bits=8, hcc=4,
                   num_redistributors=4)
PAGE_SIZES = [PageSize.SIZE_4K, PageSize.SIZE_16K, PageSize.SIZE_64K]


class WalkerBench(Elaboratable):
    """The walker with the on-chip collection table on its ``coll`` port."""

    def __init__(self, params):
        self.walker = Walker(params)
        self.collections = CollectionTable(params)

    def elaborate(self, platform):
        m = Module()
        m.submodules.walker = self.walker
        m.submodules.collections = self.collections
        wiring.connect(m, self.walker.coll, self.collections.translator_read)
        return m


class Walk:
    """One walk to run: the request, and what the walker gave (filled in by :func:`run_walks`)."""

    def __init__(self, device_id, event_id, *, dte=None, expect=None):
        self.device_id = device_id
        self.event_id = event_id
        self.dte = dte            # (itt_addr, size) given as a device-cache hit, or None
        self.expect = expect      # the drop reason docs/behaviour.md gives, or None
        self.result = None
        self.reads = None
        self.cycles = None

    def __repr__(self):
        return f"Walk({self.device_id:#x}, {self.event_id:#x}, dte={self.dte})"


def run_walks(tables, walks, *, params=PARAMS, latency=4, backpressure=0.0, idle=0.0, seed=0):
    bench = WalkerBench(params)
    walker = bench.walker
    memory = MemPortModel(tables.memory, read=walker.mem, latency=latency,
                          backpressure=backpressure, idle=idle, seed=seed)

    async def testbench(ctx):
        ctx.set(walker.baser_dev.as_value(), tables.baser_dev)
        ctx.set(walker.baser_coll.as_value(), tables.baser_coll)
        for icid, mapped, rd in tables.on_chip_collections():
            await stream_put(ctx, bench.collections.write,
                             {"icid": icid, "valid": mapped, "rd": rd})
        for walk in walks:
            itt_addr, size = walk.dte or (0, 0)
            reads = memory.reads
            await stream_put(ctx, walker.request, {
                "device_id": walk.device_id, "event_id": walk.event_id,
                "dte_cached": walk.dte is not None,
                "dte": {"itt_addr": itt_addr >> 8, "size": size}})
            cycles = 1
            while not ctx.get(walker.result.valid):
                await ctx.tick()
                cycles += 1
            walk.cycles = cycles
            walk.result = await stream_get(ctx, walker.result)
            walk.reads = memory.reads - reads

    run_sim(bench, testbench, processes=[memory.run])
    return walks


def check(tables, walks):
    """Every walk gave what the model gives, and the drop reason the spec gives."""
    for walk in walks:
        expected = tables.model.query(walk.device_id, walk.event_id)
        result = walk.result
        got = (result.status, result.pintid, result.rd) if result.status == DropReason.OK \
            else (result.status, 0, 0)
        assert got == tuple(expected), (walk, got, expected)
        if walk.expect is not None:
            assert result.status == walk.expect, walk
        assert (result.device_id, result.event_id) == (walk.device_id, walk.event_id)


def populate(tables, rng, devices, *, events=6, size=3):
    """Map each device with some events, on chip and in the collection table."""
    for rd, icid in enumerate((0, 1, 6, 9)):
        tables.map_collection(icid, rd)
    for device_id in devices:
        tables.map_device(device_id, size)
        for event_id in range(events):
            tables.map_event(device_id, event_id, rng.randrange(8192, 1 << 16),
                             rng.choice((0, 1, 6, 9)))


def reads_of(walk, tables, *, level1):
    """Memory reads the spec's formats need for a successful walk."""
    ite = tables.memory.read_int(tables.ite_address(walk.device_id, walk.event_id))
    icid = unpack(IttEntry, ite)["icid"]
    device_table = 0 if walk.dte is not None else 1 + level1
    return device_table + 1 + (icid >= PARAMS.hcc)


@pytest.mark.parametrize("page_size", PAGE_SIZES)
def test_flat_device_table(page_size):
    rng = random.Random(page_size.value)
    tables = TableSet(PARAMS, page_size=page_size)
    entries = PAGE_BYTES[page_size] // ENTRY_BYTES   # one page
    devices = [0, 1, 7, entries - 1]
    populate(tables, rng, devices)
    walks = [Walk(d, e) for d in devices for e in (0, 3, 5)]
    walks += [Walk(entries, 0, expect=DropReason.DEVICE_OOR),
              Walk(entries + 5, 1, expect=DropReason.DEVICE_OOR),
              Walk(2, 0, expect=DropReason.UNMAPPED_DEVICE)]
    rng.shuffle(walks)
    check(tables, run_walks(tables, walks))
    for walk in walks:
        if walk.expect is None:
            assert walk.result.status == DropReason.OK
            assert walk.reads == reads_of(walk, tables, level1=False), walk
        else:
            assert walk.reads == (walk.expect == DropReason.UNMAPPED_DEVICE), walk


@pytest.mark.parametrize("page_size", PAGE_SIZES)
def test_two_level_device_table(page_size):
    rng = random.Random(10 + page_size.value)
    tables = TableSet(PARAMS, page_size=page_size, indirect=True, device_pages=2)
    per_page = PAGE_BYTES[page_size] // ENTRY_BYTES
    devices = [0, 5, per_page - 1, per_page, 3 * per_page + 2]
    devices = [d for d in devices if d < 1 << PARAMS.device_bits]
    populate(tables, rng, devices)
    walks = [Walk(d, e) for d in devices for e in (0, 4)]
    # Level-1 entry 2 was never written (Valid = 0): DEVICE_OOR after reading it.
    walks.append(Walk(2 * per_page + 1, 0, expect=DropReason.DEVICE_OOR))
    # A level-2 page exists but the DTE in it is zero.
    walks.append(Walk(per_page + 1, 0, expect=DropReason.UNMAPPED_DEVICE))
    rng.shuffle(walks)
    check(tables, run_walks(tables, walks))
    for walk in walks:
        if walk.expect is None:
            assert walk.result.status == DropReason.OK
            assert walk.reads == reads_of(walk, tables, level1=True), walk
        else:
            assert walk.reads == {DropReason.DEVICE_OOR: 1,
                                  DropReason.UNMAPPED_DEVICE: 2}[walk.expect], walk


def test_two_level_range_and_invalid_level1():
    """4K pages, one level-1 page: 512 level-1 entries of 512 DTEs; DeviceIDs from 512*512
    are out of range without a read; a level-1 entry cleared by software drops its devices."""
    tables = TableSet(PARAMS, page_size=PageSize.SIZE_4K, indirect=True)
    populate(tables, random.Random(3), [5, 512 * 7 + 3])
    tables.set_level1(7, valid=False)
    walks = [Walk(5, 1),
             Walk(512 * 7 + 3, 1, expect=DropReason.DEVICE_OOR),
             Walk(512 * 512, 0, expect=DropReason.DEVICE_OOR),
             Walk(512 * 512 + 513, 0, expect=DropReason.DEVICE_OOR)]
    check(tables, run_walks(tables, walks))
    assert walks[0].reads == reads_of(walks[0], tables, level1=True)
    assert [walk.reads for walk in walks[1:]] == [1, 0, 0]


@pytest.mark.parametrize("page_size", PAGE_SIZES)
def test_page_size_rounds_base_down(page_size):
    """PA bits below the page size are ignored: the table base is PA rounded down."""
    low = PAGE_BYTES[page_size] - 4096
    tables = TableSet(PARAMS, page_size=page_size, pa_low_bits=low)
    populate(tables, random.Random(4), [3])
    walks = [Walk(3, e) for e in range(3)]
    check(tables, run_walks(tables, walks))
    assert all(walk.result.status == DropReason.OK for walk in walks)


def test_every_drop_reason():
    tables = TableSet(PARAMS, collection_pages=1)
    rng = random.Random(5)
    populate(tables, rng, [1, 2])
    tables.map_device(3, 1, valid=False)                      # DTE present but not Valid
    tables.map_event(2, 4, 8200, 1, valid=False)              # ITE not Valid
    tables.map_event(2, 5, 8201, 2)                           # on chip, never mapped
    tables.map_event(1, 5, 8202, 7)                           # CTE never written
    tables.map_collection(8, 1, valid=False)
    tables.map_event(1, 4, 8203, 8)                           # CTE not Valid
    tables.map_collection(10, PARAMS.num_redistributors)      # CTE naming no redistributor
    tables.map_event(1, 3, 8204, 10)
    tables.map_event(2, 3, 8205, 255)                         # the last ICID: mapped
    tables.map_collection(255, 3)
    walks = [
        Walk(1 << PARAMS.device_bits, 0, expect=DropReason.DEVICE_OOR),
        Walk(4096 // 8, 0, expect=DropReason.DEVICE_OOR),
        Walk(3, 0, expect=DropReason.UNMAPPED_DEVICE),
        Walk(4, 0, expect=DropReason.UNMAPPED_DEVICE),
        Walk(1, 1 << 4, expect=DropReason.EVENT_OOR),          # size 3: events 0..15
        Walk(1, 0xffff_ffff, expect=DropReason.EVENT_OOR),
        Walk(2, 4, expect=DropReason.UNMAPPED_INTERRUPT),
        Walk(2, 15, expect=DropReason.UNMAPPED_INTERRUPT),
        Walk(2, 5, expect=DropReason.UNMAPPED_COLLECTION),
        Walk(1, 5, expect=DropReason.UNMAPPED_COLLECTION),
        Walk(1, 4, expect=DropReason.UNMAPPED_COLLECTION),
        Walk(1, 3, expect=DropReason.UNMAPPED_COLLECTION),
        Walk(2, 3, expect=DropReason.OK),
        Walk(1, 0), Walk(2, 1),
    ]
    check(tables, run_walks(tables, walks))


def test_collection_table_limits():
    """ICIDs >= hcc: beyond the table, beyond collection_bits, or BASER1 not Valid."""
    params = ItsParams(device_bits=8, event_bits=8, collection_bits=10, hcc=2,
                       num_redistributors=2)
    tables = TableSet(params, collection_pages=1)      # 512 CTEs
    tables.map_device(0, 4)
    for event_id, icid in enumerate((1, 2, 511, 512, 1023, 1024, 0xffff)):
        tables.map_event(0, event_id, 9000 + event_id, icid)
    for icid in (2, 511):
        tables.map_collection(icid, 1)
    tables.map_collection(1, 0)
    walks = [Walk(0, e) for e in range(7)]
    check(tables, run_walks(tables, walks, params=params))
    assert [walk.result.status for walk in walks] == [DropReason.OK] * 3 + \
        [DropReason.UNMAPPED_COLLECTION] * 4

    no_table = TableSet(params, tables.memory, collection_valid=False)
    no_table.map_collection(1, 1)
    no_table.map_device(0, 4, itt=tables.ite_address(0, 0))
    walks = [Walk(0, e) for e in range(3)]
    check(no_table, run_walks(no_table, walks, params=params))
    assert [walk.result.status for walk in walks] == [DropReason.OK] + \
        [DropReason.UNMAPPED_COLLECTION] * 2


def test_no_on_chip_collections():
    params = ItsParams(device_bits=8, event_bits=8, collection_bits=4, hcc=0,
                       num_redistributors=3)
    tables = TableSet(params)
    tables.map_device(1, 2)
    for icid in range(3):
        tables.map_collection(icid, 2 - icid)
        tables.map_event(1, icid, 8192 + icid, icid)
    tables.map_event(1, 3, 8195, 3)
    walks = [Walk(1, e) for e in range(4)]
    check(tables, run_walks(tables, walks, params=params))
    assert [walk.reads for walk in walks] == [3] * 4
    assert [walk.result.rd for walk in walks[:3]] == [2, 1, 0]


@pytest.mark.parametrize("where", ["level1", "dte", "ite", "cte"])
def test_memory_error(where):
    tables = TableSet(PARAMS, indirect=where == "level1")
    populate(tables, random.Random(6), [9])
    tables.map_event(9, 7, 8300, 6)                           # CTE of ICID 6
    address = {"level1": 0x0100_0000, "dte": tables.dte_address(9),
               "ite": tables.ite_address(9, 7), "cte": tables.cte_address(6)}[where]
    tables.memory.inject_error(address, 8, "SLVERR" if where != "ite" else "DECERR")
    walks = [Walk(9, 7, expect=DropReason.MEMORY_ERROR)]
    check(tables, run_walks(tables, walks))


def test_address_beyond_the_bus():
    """An ITT whose ITE address needs more than 48 bits: the bus would answer DECERR."""
    tables = TableSet(PARAMS)
    populate(tables, random.Random(7), [])
    top = (1 << 52) - 256
    tables.map_device(4, 3, itt=top)
    walks = [Walk(4, 2, expect=DropReason.MEMORY_ERROR)]
    check(tables, run_walks(tables, walks))
    assert walks[0].reads == 1                                # the DTE, not the ITE


def test_cached_dte_skips_the_device_table():
    tables = TableSet(PARAMS, indirect=True)
    rng = random.Random(8)
    populate(tables, rng, [600])
    itt = tables.ite_address(600, 0)
    walks = [Walk(600, e, dte=(itt, 3)) for e in (0, 1, 2, 3)]
    walks.append(Walk(600, 16, dte=(itt, 3), expect=DropReason.EVENT_OOR))
    walks.append(Walk(600, 9, dte=(itt, 3), expect=DropReason.UNMAPPED_INTERRUPT))
    check(tables, run_walks(tables, walks))
    for walk in walks[:4]:
        assert walk.reads == reads_of(walk, tables, level1=True)
        assert not walk.result.dte_read
    assert [walk.reads for walk in walks[4:]] == [0, 1]


def test_dte_reported_for_the_device_cache():
    tables = TableSet(PARAMS)
    populate(tables, random.Random(9), [12])
    itt = tables.ite_address(12, 0)
    walks = [Walk(12, 2), Walk(12, 100), Walk(13, 0)]
    check(tables, run_walks(tables, walks))
    assert walks[0].result.dte_read and walks[1].result.dte_read
    assert (walks[0].result.dte.itt_addr << 8, walks[0].result.dte.size) == (itt, 3)
    assert not walks[2].result.dte_read


@pytest.mark.parametrize("latency", [1, 4, 16])
def test_latency(latency):
    """A walk of k reads offers its result 2 + k * latency cycles after its request."""
    tables = TableSet(PARAMS, indirect=True)
    populate(tables, random.Random(10), [3])
    itt = tables.ite_address(3, 0)
    walks = [Walk(3, 0), Walk(3, 2), Walk(3, 0, dte=(itt, 3)),
             Walk(1 << 20, 0, expect=DropReason.DEVICE_OOR)]
    check(tables, run_walks(tables, walks, latency=latency))
    for walk in walks:
        assert walk.cycles == 2 + walk.reads * latency, (walk, walk.cycles, walk.reads)
    print(f"latency {latency}: " + ", ".join(f"{w.reads} reads -> {w.cycles} cycles"
                                             for w in walks))


@pytest.mark.parametrize("seed", [21, 22])
def test_random_walks_with_memory_stalls(seed):
    print(f"seed {seed}")
    rng = random.Random(seed)
    tables = TableSet(PARAMS, page_size=rng.choice(PAGE_SIZES), indirect=rng.random() < 0.5,
                      device_pages=2)
    devices = rng.sample(range(1, 3000), 8)
    populate(tables, rng, devices, events=10)
    for device_id in rng.sample(devices, 2):
        tables.map_event(device_id, rng.randrange(10), 8192, 0, valid=False)
    tables.memory.inject_error(tables.ite_address(devices[0], 9), 8)
    walks = [Walk(rng.choice(devices + [0, 4000]), rng.randrange(20)) for _ in range(40)]
    check(tables, run_walks(tables, walks, latency=rng.choice((1, 3, 7)), backpressure=0.3,
                            idle=0.3, seed=seed))


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_params_must_be_its_params():
    with pytest.raises(TypeError, match=r"params must be an ItsParams, not \{\}"):
        Walker({})
    gc.collect()  # the half-built components warn when collected: here, where that is ignored


# -- the on-chip collection table the walker reads -----------------------------------------------

@pytest.mark.parametrize("hcc", [0, 1, 4])
def test_collection_table(hcc):
    """Reset: all unmapped; a write is seen from the next cycle on, on the read port;
    unmapping works; ICIDs at or above hcc never answer mapped (writes to them ignored)."""
    params = ItsParams(hcc=hcc, num_redistributors=8)
    dut = CollectionTable(params)
    port = dut.translator_read

    def read(ctx, icid):
        ctx.set(port.icid, icid)
        return (ctx.get(port.mapped), ctx.get(port.rd) if ctx.get(port.mapped) else None)

    async def testbench(ctx):
        for icid in range(hcc + 2):
            assert read(ctx, icid) == (0, None)
        expected = {}
        for icid in range(hcc + 2):
            rd = (3 * icid + 1) % 8
            ctx.set(dut.write.payload, {"icid": icid, "valid": 1, "rd": rd})
            ctx.set(dut.write.valid, 1)
            assert ctx.get(dut.write.ready)
            assert read(ctx, icid) == (0, None)       # not yet
            await ctx.tick()
            ctx.set(dut.write.valid, 0)
            if icid < hcc:
                expected[icid] = rd
        for icid in range(hcc + 2):
            assert read(ctx, icid) == ((1, expected[icid]) if icid in expected else (0, None))
        if hcc:
            await stream_put(ctx, dut.write, {"icid": 0, "valid": 0, "rd": 5})
            assert read(ctx, 0) == (0, None)

    run_sim(dut, testbench)
