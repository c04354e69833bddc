"""No cached translation survives a GITS_BASER0 change: re-enabling empties the caches.

One script runs on the reference model, the RTL (Amaranth simulation) and the TLM:
it maps a device, translates an MSI (filling the caches), disables the ITS, points
GITS_BASER0 at an empty device table, enables again and sends the same MSI, which
the model (no caches: it always reads the tables) answers UNMAPPED_DEVICE.
"""

import asyncio

import pytest

from gic.hw.its.layouts import GitsBaser, GitsCtlr
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REG, stat_offset
from gic.sim.driver.bus import ModelBus
from gic.sim.models.commands import pack, unpack
from gic.sim.driver.its import ItsDriver
from gic.sim.models.memory import Memory
from gic.sim.rtlsim.bus import run_on_rtl
from gic.sim.tlm.bus import TlmBus
from gic.sim.tlm.its import TlmIts

PARAMS = ItsParams(device_bits=8, event_bits=8, id_bits=14, collection_bits=8, hcc=4,
                   num_redistributors=2, tcache_entries=4, dcache_entries=2)
LPI = 8192 + 77


async def script(bus):
    driver = ItsDriver(bus, mem_base=0x10_0000, mem_size=4 << 20, page_size=4096,
                       ring_bytes=4096, indirect=False)
    await driver.probe()
    await driver.init_cpus(2)
    await driver.map_device(5, 3)
    await driver.map_event(5, 1, LPI, 1)
    await bus.msi(5, 1)
    await bus.msi(5, 1)                                  # a translation-cache hit
    first = [p for p in await bus.take_packets(1) if p.lpi == LPI]
    ctlr = await bus.read_reg(REG["GITS_CTLR"], 4)
    await bus.write_reg(REG["GITS_CTLR"], ctlr & ~pack(GitsCtlr, enabled=1), 4)
    while not unpack(GitsCtlr, await bus.read_reg(REG["GITS_CTLR"], 4))["quiescent"]:
        await bus.idle()
    baser = unpack(GitsBaser, await bus.read_reg(REG["GITS_BASER0"]))
    empty = await driver.alloc(4096, 4096)               # a zeroed table: no device mapped
    baser["pa"] = empty // 4096
    await bus.write_reg(REG["GITS_BASER0"], pack(GitsBaser, **baser))
    await bus.write_reg(REG["GITS_CTLR"], ctlr | pack(GitsCtlr, enabled=1), 4)
    await bus.msi(5, 1)
    after = [p for p in await bus.take_packets(1) if p.lpi == LPI]
    dropped = await bus.read_reg(stat_offset("DROP_UNMAPPED_DEVICE"), 4)
    return len(first), len(after), dropped


def on_model():
    return asyncio.run(script(ModelBus.create(PARAMS)))


def on_rtl():
    result, _ = run_on_rtl(PARAMS, script)
    return result


def on_tlm():
    bus = TlmBus(TlmIts(PARAMS, Memory(), mem_latency=4))
    return bus.run(script(bus))


def test_model_reads_the_new_table():
    assert on_model() == (2, 0, 1)


@pytest.mark.parametrize("target", [on_rtl, on_tlm], ids=["rtl", "tlm"])
def test_caches_do_not_outlive_a_baser_change(target):
    assert target() == on_model()
