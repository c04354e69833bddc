"""AXI memory attributes: AxCACHE from the GIC registers' cacheability fields, AxPROT, AxQOS,
AxLOCK, on the memory master alone and on the whole ITS programmed by the driver.

The expected codes come from the tables written out here (GIC field -> memory type -> AMBA
AXI4 IHI 0022 Table A4-5), not from the RTL's own tables (docs/axi-attributes.md).
"""

import gc
import random

import pytest

from gic.hw.bus.axi import Axi4MemoryMaster
from gic.hw.its.layouts import BaserType, GitsBaser, GitsCbaser, GitsCtlr
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REG
from gic.hw.its.top import Its
from gic.sim.driver.its import ItsDriver
from gic.sim.models.commands import pack, unpack
from gic.sim.models.memory import Memory
from gic.sim.rtlsim.bus import AmaranthItsBus
from gic.sim.rtlsim.gicsink import GicStreamSink
from gic.sim.rtlsim.harness import (Axi4LiteMasterModel, Axi4SlaveModel, run_sim,
                                    stream_get_many, stream_put)

from .amba_tables import PROT_NONSECURE, PROT_SECURE, expected_cache



class AddressMonitor:
    """Records every AR and AW handshake: (id, addr, cache, prot, qos, lock)."""

    def __init__(self, axi):
        self.axi = axi
        self.reads = []
        self.writes = []

    async def run(self, ctx):
        axi = self.axi
        signals = [axi.arvalid, axi.arready, axi.arid, axi.araddr, axi.arcache, axi.arprot,
                   axi.arqos, axi.arlock,
                   axi.awvalid, axi.awready, axi.awid, axi.awaddr, axi.awcache, axi.awprot,
                   axi.awqos, axi.awlock]
        async for _, _, *values in ctx.tick().sample(*signals):
            if values[0] and values[1]:
                self.reads.append(tuple(values[2:8]))
            if values[8] and values[9]:
                self.writes.append(tuple(values[10:16]))


# --- the memory master alone -------------------------------------------------------------------

@pytest.mark.parametrize("secure, qos", [(False, 0), (True, 9)])
def test_master_cache_per_request(secure, qos):
    """Every (InnerCache, OuterCache) pair, on two read clients and two write clients, with
    requests of different attributes back to back."""
    dut = Axi4MemoryMaster(read_clients=2, write_clients=2, secure=secure, qos=qos)
    memory = Memory()
    slave = Axi4SlaveModel(memory, dut.axi, latency=2, backpressure=0.3, seed=5)
    monitor = AddressMonitor(dut.axi)
    pairs = [(inner, outer) for inner in range(8) for outer in range(8)]
    random.Random(1).shuffle(pairs)

    def reader(index):
        async def testbench(ctx):
            for n, (inner, outer) in enumerate(pairs[index::2]):
                addr = 0x1000 * (index + 1) + 8 * n
                await stream_put(ctx, dut.read[index].req, {
                    "addr": addr, "count": n % 4,
                    "attr": {"inner_cache": inner, "outer_cache": outer}})
                await stream_get_many(ctx, dut.read[index].resp, n % 4 + 1)
        return testbench

    def writer(index):
        async def testbench(ctx):
            for n, (inner, outer) in enumerate(pairs[index::2]):
                addr = 0x8000 * (index + 1) + 8 * n
                await stream_put(ctx, dut.write[index].req, {
                    "addr": addr, "data": n,
                    "attr": {"inner_cache": inner, "outer_cache": outer}})
                await stream_get_many(ctx, dut.write[index].resp, 1)
        return testbench

    run_sim(dut, reader(0), reader(1), writer(0), writer(1),
            processes=[slave.run, monitor.run], max_cycles=20_000)

    prot = PROT_SECURE if secure else PROT_NONSECURE
    want_reads = {(index, 0x1000 * (index + 1) + 8 * n):
                  expected_cache(inner, outer, write=False)
                  for index in range(2) for n, (inner, outer) in enumerate(pairs[index::2])}
    want_writes = {(index, 0x8000 * (index + 1) + 8 * n):
                   expected_cache(inner, outer, write=True)
                   for index in range(2) for n, (inner, outer) in enumerate(pairs[index::2])}
    assert len(monitor.reads) == len(want_reads) and len(monitor.writes) == len(want_writes)
    for rid, addr, cache, got_prot, got_qos, lock in monitor.reads:
        assert cache == want_reads[(rid, addr)], f"AR {rid} {addr:#x}: ARCACHE {cache:#06b}"
        assert (got_prot, got_qos, lock) == (prot, qos, 0)
    for wid, addr, cache, got_prot, got_qos, lock in monitor.writes:
        assert cache == want_writes[(wid, addr)], f"AW {wid} {addr:#x}: AWCACHE {cache:#06b}"
        assert (got_prot, got_qos, lock) == (prot, qos, 0)


def test_master_cache_of_a_split_burst():
    """Both bursts of a read crossing 4 KiB carry the request's ARCACHE."""
    dut = Axi4MemoryMaster(read_clients=1, write_clients=1)
    slave = Axi4SlaveModel(Memory(), dut.axi, latency=2)
    monitor = AddressMonitor(dut.axi)

    async def testbench(ctx):
        await stream_put(ctx, dut.read[0].req, {
            "addr": 0x1FF0, "count": 3, "attr": {"inner_cache": 0b111, "outer_cache": 0b100}})
        await stream_get_many(ctx, dut.read[0].resp, 4)

    run_sim(dut, testbench, processes=[slave.run, monitor.run], max_cycles=2000)
    assert [(addr, cache) for _, addr, cache, *_ in monitor.reads] == [
        (0x1FF0, 0b1010), (0x2000, 0b1010)]


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
@pytest.mark.parametrize("kwargs, message", [
    (dict(qos=16), r"qos must be an integer in 0\.\.15, not 16"),
    (dict(qos=True), r"qos must be an integer in 0\.\.15, not True"),
    (dict(secure=1), r"secure must be a bool, not 1"),
])
def test_master_attribute_parameter_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Axi4MemoryMaster(read_clients=1, write_clients=1, **kwargs)
    gc.collect()            # the refused object goes while its warning is ignored here


# --- the whole ITS, programmed by the driver ---------------------------------------------------

PARAMS = ItsParams(device_bits=8, event_bits=8, id_bits=14, collection_bits=8, hcc=1,
                   num_redistributors=2, tcache_entries=4, dcache_entries=2)

# (InnerCache, OuterCache) per register; within a set, each register's ARCACHE differs from
# the others', and the two tables' AWCACHE differ.
ATTRIBUTE_SETS = {
    "cacheable": dict(cbaser=(0b101, 0b000), devices=(0b111, 0b010), collections=(0b011, 0b000)),
    "mixed": dict(cbaser=(0b001, 0b000), devices=(0b100, 0b110), collections=(0b000, 0b111)),
}


def _within(addr, base, length):
    return base <= addr < base + length


@pytest.mark.parametrize("name", sorted(ATTRIBUTE_SETS))
def test_its_attributes_per_client(name):
    """Command fetch (ID 0) with GITS_CBASER's fields; the executor's (ID 1) and the
    translator's (ID 2) level-1, DTE and ITE reads and the DTE/ITE writes with the device
    table's GITS_BASERn; CTE reads and writes with the collection table's."""
    attrs = ATTRIBUTE_SETS[name]
    its = Its(PARAMS)
    memory = Memory()
    slave = Axi4SlaveModel(memory, its.axi, latency=3, reorder=True, seed=2)
    sink = GicStreamSink(its.gic, its.ack, seed=2)
    monitor = AddressMonitor(its.axi)
    found = {}

    async def testbench(ctx):
        bus = AmaranthItsBus(ctx, its, Axi4LiteMasterModel(its.axil), memory, sink=sink)
        driver = ItsDriver(bus, mem_base=0x4000_0000, mem_size=4 << 20, page_size=4096,
                           indirect=True, ring_bytes=4096)
        await driver.probe()
        # Disabled and quiescent, give each register its attributes (the driver programs
        # RaWaWb everywhere).
        await bus.write_reg(REG["GITS_CTLR"], pack(GitsCtlr, enabled=0), 4)
        while not unpack(GitsCtlr, await bus.read_reg(REG["GITS_CTLR"], 4))["quiescent"]:
            await bus.idle()
        for table in driver.tables.values():
            key = "devices" if table.type == BaserType.DEVICES else "collections"
            offset = REG[f"GITS_BASER{table.index}"]
            fields = unpack(GitsBaser, await bus.read_reg(offset))
            fields.update(inner_cache=attrs[key][0], outer_cache=attrs[key][1])
            await bus.write_reg(offset, pack(GitsBaser, **fields))
            assert unpack(GitsBaser, await bus.read_reg(offset)) == fields
        fields = unpack(GitsCbaser, await bus.read_reg(REG["GITS_CBASER"]))
        fields.update(inner_cache=attrs["cbaser"][0], outer_cache=attrs["cbaser"][1])
        await bus.write_reg(REG["GITS_CBASER"], pack(GitsCbaser, **fields))
        await driver.resync()
        await bus.write_reg(REG["GITS_CTLR"], pack(GitsCtlr, enabled=1), 4)

        await driver.init_cpus(2)
        await driver.map_collection(5, 1)             # in memory (hcc=1): CTE write
        itt = await driver.map_device(3, 4)           # level-1 read, DTE write
        await driver.map_event(3, 2, 8200, 5)         # DTE, ITE, CTE reads; ITE write
        await driver.map_event(3, 3, 8201, 0)
        await bus.msi(3, 2)                           # translator: L1, DTE, ITE, CTE reads
        await bus.msi(3, 3)
        await driver.move(3, 3, 5)                    # ITE read and write, CTE read
        await driver.sync(1)
        found["ring"] = (driver.ring_base, driver.ring_bytes)
        found["itt"] = (itt, 16 * 8)
        found["tables"] = {table.type: (table.base, table.pages * table.page_bytes)
                           for table in driver.tables.values()}
        found["level2"] = [(page, 4096) for page in driver._level2.values()]

    run_sim(its, testbench, processes=[slave.run, sink.run, monitor.run], max_cycles=400_000)

    def expected(addr, write):
        if _within(addr, *found["ring"]):
            assert not write, f"a write to the command ring at {addr:#x}"
            return "ring", expected_cache(*attrs["cbaser"], write=False)
        if _within(addr, *found["tables"][BaserType.COLLECTIONS]):
            return "cte", expected_cache(*attrs["collections"], write=write)
        if _within(addr, *found["tables"][BaserType.DEVICES]):
            return "level1", expected_cache(*attrs["devices"], write=write)
        if any(_within(addr, *page) for page in found["level2"]):
            return "dte", expected_cache(*attrs["devices"], write=write)
        assert _within(addr, *found["itt"]), f"an access outside every table at {addr:#x}"
        return "ite", expected_cache(*attrs["devices"], write=write)

    seen = set()
    for direction, records in (("read", monitor.reads), ("write", monitor.writes)):
        for axid, addr, cache, prot, qos, lock in records:
            what, want = expected(addr, direction == "write")
            assert cache == want, (f"{direction} of the {what} at {addr:#x} (ID {axid}): "
                                   f"AxCACHE {cache:#06b}, want {want:#06b}")
            assert (prot, qos, lock) == (PROT_NONSECURE, 0, 0)
            seen.add((direction, what, axid))
    # Every client met every table it reads or writes.
    assert {("read", "ring", 0),
            ("read", "level1", 1), ("read", "dte", 1), ("read", "ite", 1), ("read", "cte", 1),
            ("read", "level1", 2), ("read", "dte", 2), ("read", "ite", 2), ("read", "cte", 2),
            ("write", "dte", 0), ("write", "ite", 0), ("write", "cte", 0)} <= seen, seen
