"""``its_axi``, the plain-Verilog wrapper of the ITS, driven as an SoC would drive it.

Nothing here knows Amaranth's port names: cocotbext-axi's ``AxiLiteMaster`` and ``AxiRam``
find the buses with ``from_prefix(dut, "s_axil")`` and ``from_prefix(dut, "m_axi")``,
the MSI goes in on ``s_msi_device_id``/``s_msi_event_id``/``s_msi_valid``, the packet comes
out on ``m_gicN_op``/``m_gicN_lpi``, the clock is ``aclk`` and the reset ``aresetn``
(active low). The Linux-style driver brings the ITS up through these ports, maps a device
and an event, and the MSI must come out as the LPI the mapping names (the expectation is
the mapping, written out here), on the redistributor the collection names.
"""

import logging

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam

from gic.hw.its.params import ItsParams
from gic.sim.driver.bus import ItsBus
from gic.sim.driver.its import ItsDriver
from gic.tb.common.build import CLOCK_PERIOD_NS, build, run, run_folder

PARAMS = ItsParams(device_bits=8, event_bits=8, id_bits=14, collection_bits=8, hcc=4,
                   num_redistributors=4, tcache_entries=4, dcache_entries=1)
MEMORY_BASE = 0x4000_0000
MEMORY_BYTES = 1 << 22
"""The driver puts its ring and tables at 0x4000_0000 on (ItsDriver's default)."""
GIC_OPS = {0: "SET", 1: "CLEAR", 2: "INV", 3: "INVALL", 4: "MOVLPI", 5: "MOVALL", 6: "SYNC"}
"""GicOp on m_gicN_op, written out from docs/architecture.md section 6."""


class WrapperBus(ItsBus):
    """The ItsBus of the wrapper: registers over ``s_axil``, memory in the ``AxiRam``."""

    def __init__(self, dut, axil, ram):
        self.dut, self.axil, self.ram = dut, axil, ram

    async def read_reg(self, offset, size=8):
        return int.from_bytes((await self.axil.read(offset, size)).data, "little")

    async def write_reg(self, offset, value, size=8):
        await self.axil.write(offset, value.to_bytes(size, "little"))

    async def read_mem(self, addr, length):
        return bytes(self.ram.read(addr - MEMORY_BASE, length))

    async def write_mem(self, addr, data):
        self.ram.write(addr - MEMORY_BASE, bytes(data))

    async def idle(self):
        await ClockCycles(self.dut.aclk, 8)

    async def msi(self, device_id, event_id):
        dut = self.dut
        dut.s_msi_device_id.value = device_id
        dut.s_msi_event_id.value = event_id
        dut.s_msi_valid.value = 1
        while True:
            await RisingEdge(dut.aclk)
            if dut.s_msi_ready.value:
                break
        dut.s_msi_valid.value = 0


async def collect_packets(dut, packets):
    """Every packet on m_gic0..3, as (redistributor, op name, lpi)."""
    for rd in range(PARAMS.num_redistributors):
        getattr(dut, f"m_gic{rd}_ready").value = 1
    while True:
        await RisingEdge(dut.aclk)
        await ReadOnly()
        for rd in range(PARAMS.num_redistributors):
            if getattr(dut, f"m_gic{rd}_valid").value:
                packets.append((rd, GIC_OPS[int(getattr(dut, f"m_gic{rd}_op").value)],
                                int(getattr(dut, f"m_gic{rd}_lpi").value)))


async def ack_syncs(dut):
    """Each redistributor acknowledges a SYNC one cycle after it is offered."""
    for rd in range(PARAMS.num_redistributors):
        getattr(dut, f"s_ack{rd}_valid").value = 0
        getattr(dut, f"s_ack{rd}_sync").value = 1
    pending = [0] * PARAMS.num_redistributors
    while True:
        await RisingEdge(dut.aclk)
        for rd in range(PARAMS.num_redistributors):
            if getattr(dut, f"m_gic{rd}_valid").value and \
                    GIC_OPS[int(getattr(dut, f"m_gic{rd}_op").value)] == "SYNC":
                pending[rd] += 1
            ack = getattr(dut, f"s_ack{rd}_valid")
            if ack.value and getattr(dut, f"s_ack{rd}_ready").value:
                pending[rd] -= 1
            ack.value = 1 if pending[rd] > 0 else 0


@cocotb.test()
async def run_bring_up_and_msi(dut):
    cocotb.start_soon(Clock(dut.aclk, CLOCK_PERIOD_NS, unit="ns").start())
    for name in ("s_msi_valid", "s_query_valid", "m_query_resp_ready", "translater_device_id"):
        getattr(dut, name).value = 0
    dut.aresetn.value = 0
    for name in ("s_axil", "m_axi"):
        logging.getLogger(f"cocotb.its_axi.{name}").setLevel(logging.WARNING)
    axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.aclk, dut.aresetn,
                         reset_active_level=False)
    ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.aclk, dut.aresetn,
                 reset_active_level=False, size=MEMORY_BYTES)
    await ClockCycles(dut.aclk, 4)
    dut.aresetn.value = 1
    await ClockCycles(dut.aclk, 2)
    packets = []
    cocotb.start_soon(collect_packets(dut, packets))
    cocotb.start_soon(ack_syncs(dut))

    bus = WrapperBus(dut, axil, ram)
    driver = ItsDriver(bus, mem_base=MEMORY_BASE, mem_size=MEMORY_BYTES)
    await driver.probe()
    assert driver.features.device_bits == PARAMS.device_bits      # GITS_TYPER.Devbits + 1
    assert driver.features.hcc == PARAMS.hcc
    await driver.init_cpus(4)                   # collection c on redistributor c
    await driver.map_device(0x21, event_bits=4)
    await driver.map_event(0x21, 5, lpi=8200, icid=2)
    before = len(packets)
    await bus.msi(0x21, 5)
    for _ in range(200):
        await RisingEdge(dut.aclk)
        if len(packets) > before:
            break
    assert packets[before:] == [(2, "SET", 8200)], packets[before:]
    stats = await driver.stats()
    assert stats["MSI_TRANSLATED"] == 1 and stats["MSI_DROPPED"] == 0


# ---------------------------------------------------------------------------------------------
# pytest entry

def build_folder():
    from gic.hw.wrappers import its_axi
    return build("wrapper", "its_axi", "its_axi",
                 lambda path: path.write_text(its_axi(PARAMS).verilog()), PARAMS)


def test_its_axi_from_its_ports_alone():
    """The wrapper's Verilog in Icarus, driven through its conventional port names."""
    build_dir = build_folder()
    failed = run(build_dir, "its_axi", "gic.tb.wrapper.test_its_axi",
                 test_dir=run_folder("wrapper", "its_axi", "run_bring_up_and_msi", 1,
                                     out_folder="wrapper"), seed=1)
    assert failed == [], f"failed: {failed} (see build/tb/wrapper/its_axi/)"
