"""The redistributors' AXI memory attributes in the Gic top: the property-table reads carry
GICR_PROPBASER's InnerCache/OuterCache, the pending-table reads and writes GICR_PENDBASER's
(docs/axi-attributes.md), each redistributor its own.

The expected codes come from the tables written out here (GIC field -> memory type -> AMBA
AXI4 IHI 0022 Table A4-5), not from the RTL's own tables.
"""

import types

import pytest

from gic.hw.gicr.gic import Gic
from gic.hw.gicr.layouts import GicrCtlr, GicrPendbaser, GicrPropbaser, LpiConfig
from gic.hw.its.params import ItsParams
from gic.sim.driver.gicr import RedistributorDriver, pending_table_bytes, property_table_bytes
from gic.sim.models.commands import pack, unpack
from gic.sim.models.memory import Memory
from gic.sim.rtlsim.bus import AmaranthItsBus
from gic.sim.rtlsim.harness import Axi4LiteMasterModel, Axi4SlaveModel, run_sim

from .amba_tables import PROT_NONSECURE, expected_cache


PARAMS = ItsParams(device_bits=8, event_bits=8, id_bits=14, collection_bits=8, hcc=2,
                   num_redistributors=2, tcache_entries=4, dcache_entries=2)
ID_BITS = 14
RD_ID_BIT = 4               # the Gic's AXI ID: the ITS's 4 bits, then 1 for the redistributors


def prop_base(rd):
    return 0x1000_0000 + 0x10_0000 * rd


def pend_base(rd):
    return 0x2000_0000 + 0x10_0000 * rd


# (InnerCache, OuterCache) of each redistributor's PROPBASER and PENDBASER; within a set the
# four ARCACHE differ, and the pending tables' AWCACHE differ.
ATTRIBUTE_SETS = {
    "cacheable": {0: dict(prop=(0b111, 0b000), pend=(0b001, 0b000)),
                  1: dict(prop=(0b100, 0b010), pend=(0b011, 0b101))},
    "mixed":     {0: dict(prop=(0b000, 0b111), pend=(0b110, 0b000)),
                  1: dict(prop=(0b101, 0b000), pend=(0b111, 0b100))},
}


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


@pytest.mark.parametrize("name", sorted(ATTRIBUTE_SETS))
def test_redistributor_attributes_per_table(name):
    """Two redistributors, each with distinct attributes in GICR_PROPBASER and PENDBASER:
    the scan of the pending table at EnableLPIs (pending reads, the sweep's writes), the
    property reads of the LPIs found and of those set by GICR_SETLPIR, the spills of a full
    cache and the write-back at EnableLPIs 1 -> 0 (pending read-modify-writes)."""
    attrs = ATTRIBUTE_SETS[name]
    gic = Gic(PARAMS, lpi_cache=2)
    memory = Memory()
    slave = Axi4SlaveModel(memory, gic.axi, latency=3, backpressure=0.2, seed=4)
    monitor = AddressMonitor(gic.axi)
    config = pack(LpiConfig, enable=1, priority=0x20)

    async def testbench(ctx):
        its_view = types.SimpleNamespace(translator=gic.its.translator, regs=gic.its.regs,
                                         msi=gic.msi,
                                         translater_device_id=gic.translater_device_id)
        bus = AmaranthItsBus(ctx, its_view, Axi4LiteMasterModel(gic.axil), memory)
        for rd in range(2):
            memory.fill(prop_base(rd), property_table_bytes(ID_BITS), config)
            memory.fill(pend_base(rd), pending_table_bytes(ID_BITS), 0)
            # LPIs pending in memory before EnableLPIs: 8192 + 3 .. 8192 + 5 and 8300.
            memory.write_int(pend_base(rd) + 8192 // 8, 0b111000)
            memory.write_int(pend_base(rd) + 8192 // 8 + 8, 1 << (8300 - 8256))
            gicr = RedistributorDriver(bus, rd)
            await gicr.wake()
            prop, pend = attrs[rd]["prop"], attrs[rd]["pend"]
            propbaser = pack(GicrPropbaser, id_bits=ID_BITS - 1, pa=prop_base(rd) >> 12,
                             inner_cache=prop[0], outer_cache=prop[1], shareability=1)
            pendbaser = pack(GicrPendbaser, pa=pend_base(rd) >> 16,
                             inner_cache=pend[0], outer_cache=pend[1], shareability=1)
            await gicr.write("GICR_PROPBASER", propbaser)
            await gicr.write("GICR_PENDBASER", pendbaser)
            assert await gicr.read("GICR_PROPBASER") == propbaser
            assert await gicr.read("GICR_PENDBASER") == pendbaser
            await gicr.write("GICR_CTLR", pack(GicrCtlr, enable_lpis=1), 4)
            await gicr.wait_rwp()
        for rd in range(2):
            gicr = RedistributorDriver(bus, rd)
            for intid in (8200, 8201, 8202, 8400, 8401):     # a full cache spills
                await gicr.set_lpi(intid)
            await gicr.clear_lpi(8201)
            await gicr.disable_lpis()                        # the cache to the pending table
            assert not unpack(GicrCtlr, await gicr.read("GICR_CTLR", 4))["enable_lpis"]

    run_sim(gic, testbench, processes=[slave.run, monitor.run], max_cycles=400_000)

    prop_bytes = property_table_bytes(ID_BITS)
    pend_bytes = pending_table_bytes(ID_BITS)

    def expected(axid, addr, write):
        assert axid >> RD_ID_BIT == 1, f"an access of the ITS at {addr:#x} (ID {axid})"
        rd = axid & ((1 << RD_ID_BIT) - 1)
        if prop_base(rd) <= addr < prop_base(rd) + prop_bytes:
            assert not write, f"redistributor {rd} writes its property table at {addr:#x}"
            return "prop", expected_cache(*attrs[rd]["prop"], write=False)
        assert pend_base(rd) <= addr < pend_base(rd) + pend_bytes, \
            f"redistributor {rd}: an access outside its tables at {addr:#x}"
        return "pend", expected_cache(*attrs[rd]["pend"], write=write)

    seen = set()
    for direction, records in (("read", monitor.reads), ("write", monitor.writes)):
        for axid, addr, cache, prot, qos, lock in records:
            what, want = expected(axid, addr, direction == "write")
            assert cache == want, (f"{direction} of the {what} table at {addr:#x} (ID {axid}): "
                                   f"AxCACHE {cache:#06b}, want {want:#06b}")
            assert (prot, qos, lock) == (PROT_NONSECURE, 0, 0)
            seen.add((direction, what, axid & ((1 << RD_ID_BIT) - 1)))
    assert seen == {(direction, what, rd) for rd in range(2)
                    for direction, what in (("read", "prop"), ("read", "pend"),
                                            ("write", "pend"))}, seen
