"""cocotb: a reset in the middle of an MSI storm and a command stream leaves nothing behind.

The ITS (the ``its`` Verilog of :mod:`gic.tb.its.test_its`, its :class:`TB`) is brought up
with the Linux-style driver; a command stream is posted (not waited for) and MSIs
arrive every cycle or two; at a random cycle of that traffic ``rst`` is asserted. The
memory and redistributor models are reset with it: while the reset is held, the
answers they still owed are thrown away (a write burst whose data had not come is
completed with no byte strobed, so no stale beat pairs with a later burst), and
memory is zeroed as at power-on. The scoreboard of the first life is retired and a
fresh one (a fresh reference model) watches the second:

* for some hundred cycles after the reset nothing comes out (no packet, no memory
  access, no error pulse);
* every register reads its power-on value (the fresh model's);
* a second bring-up, other mappings for the same events (so a stale cache entry would
  show), an MSI storm with drops, commands and queries then pass the scoreboard as
  on a fresh ITS, and the memory the ITS wrote equals the model's.
"""

import random

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi.axi_channels import AxiWTransaction

from gic.hw.its.layouts import Cmd, GitsCwriter
from gic.hw.its.regmap import REG, REGISTERS, TRANSLATER
from gic.sim.models.commands import encode_command, pack
from gic.sim.models.its import ItsModel
from gic.sim.models.memory import Memory

from gic.tb.common.axi_memory import WriteFaultMemory
from gic.tb.common.monitors import high, watch
from gic.tb.common.scoreboard import ItsScoreboard
from gic.tb.common.testbench import MEM_BASE, MEM_SIZE, TIMEOUT_US
from gic.tb.its.test_its import PARAM_SETS, TB, _map, _traffic, build_folder


class _WriteHandshakes:
    """AW and W handshakes on the ITS's AXI4 master (its writes are single beats)."""

    def __init__(self, dut):
        self.aw = self.w = 0
        watch(dut.clk, dut.axi__awvalid, self._aw, when=lambda: high(dut.axi__awready))
        watch(dut.clk, dut.axi__wvalid, self._w, when=lambda: high(dut.axi__wready))

    def _aw(self, cycle):
        self.aw += 1

    def _w(self, cycle):
        self.w += 1


async def _reset_mid_traffic(tb, handshakes):
    """Assert ``rst``, reset the models and the scoreboard with the ITS, release it."""
    dut, memory = tb.dut, tb.axi_memory
    old = tb.scoreboard
    old._post = lambda *args, **kwargs: None      # the first life's model sees no more
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    # A write burst accepted without its data: complete it with no byte strobed.
    for _ in range(handshakes.aw - handshakes.w):
        memory.w.queue.put_nowait(AxiWTransaction(wdata=0, wstrb=0, wlast=1))
    # The answers owed (read data, write responses, SYNC acknowledges) are dropped.
    channels = [memory.ar, memory.aw, memory.r, memory.b, tb.msi_source, tb.query_source,
                *(r.ack for r in tb.redistributors)]
    for _ in range(200):
        memory._reads.clear()
        memory._writes.clear()
        for channel in channels:
            channel.clear()
        await RisingEdge(dut.clk)
    memory.w.clear()                               # W beats ahead of their AW
    for r in tb.redistributors:
        r.syncs.clear()
        r.acks.clear()
    tb.memory.fill(MEM_BASE, MEM_SIZE, 0)
    tb.model_memory = WriteFaultMemory()
    tb.scoreboard = ItsScoreboard(dut, tb.params, tb.model_memory, tb.log)
    tb.received = [[] for _ in tb.redistributors]
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    tb.scoreboard.start()


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_reset_under_traffic(dut):
    tb = TB(dut, settle=False)
    handshakes = _WriteHandshakes(dut)
    rng = random.Random(tb.rng.random())
    n = tb.params.num_redistributors
    driver = await tb.start()
    await _map(driver, 0, 4, range(16), lambda e: e % n)
    await _map(driver, 1, 3, range(8), lambda e: (e + 1) % n)

    # A command stream (INT, MOVI, SYNC), posted in one CWRITER write.
    creadr = await tb.bus.read_reg(REG["GITS_CREADR"], 4)
    slots = (driver.ring_bytes - creadr) // 32 - 1
    raw = b""
    for index in range(min(slots, 90) // 3):
        event = rng.randrange(16)
        raw += encode_command(Cmd.INT, device_id=0, event_id=event)
        raw += encode_command(Cmd.MOVI, device_id=0, event_id=event, icid=rng.randrange(n))
        raw += encode_command(Cmd.SYNC, rdbase=index % n)
    await tb.bus.write_mem(driver.ring_base + creadr, raw)
    await tb.bus.write_reg(REG["GITS_CWRITER"],
                           pack(GitsCwriter, offset=(creadr + len(raw)) // 32), 4)

    # The MSI storm (hits, misses, drops), then the reset at a random cycle of it.
    stop = cocotb.triggers.Event()
    pairs = [(0, e) for e in range(16)] + [(1, e) for e in range(8)] + [(0, 40), (7, 0)]
    traffic = cocotb.start_soon(_traffic(tb, pairs, stop, gap=(0, 1)))
    await ClockCycles(dut.clk, rng.randint(40, 600))
    traffic.cancel()
    busy = tb._its_busy()
    tb.log.info("reset with the ITS %s, %d packets received", "busy" if busy else "idle",
                sum(len(p) for p in tb.received))
    await _reset_mid_traffic(tb, handshakes)

    # Nothing comes out by itself.
    reads, writes = tb.axi_memory.reads, tb.axi_memory.writes
    await ClockCycles(dut.clk, 300)
    assert all(not packets for packets in tb.received), tb.received
    assert (tb.axi_memory.reads, tb.axi_memory.writes) == (reads, writes)
    assert tb.scoreboard.irq_pulses == 0

    # Power-on register values, then a second life as on a fresh ITS.
    fresh = ItsModel(tb.params, Memory())
    for register in REGISTERS:
        if register.offset != TRANSLATER:
            size = register.width // 8
            got = await tb.bus.read_reg(register.offset, size)
            assert got == fresh.read(register.offset, size), \
                f"{register.name}: {got:#x} after reset, {fresh.read(register.offset, size):#x} at power-on"
    driver = await _bring_up_again(tb)
    await _map(driver, 0, 4, range(16), lambda e: (e + 1) % n, offset=7)
    await _map(driver, 1, 3, range(8), lambda e: e % n, offset=7)
    for _ in range(3):
        await tb.msis([rng.choice(pairs) for _ in range(30)])
        await driver.int_(0, rng.randrange(16))
        await driver.move(1, rng.randrange(8), rng.randrange(n))
    for device, event in ((0, 3), (1, 9), (5, 0)):
        await driver.query(device, event)
    await tb.finish(driver, packets_at_least=90)


async def _bring_up_again(tb):
    """Linux's bring-up on the reset ITS (:meth:`TB.start` without its reset)."""
    driver = tb.its_driver()
    await driver.probe()
    await driver.init_cpus(tb.params.num_redistributors)
    return driver


# pytest entry: the ``its`` build of the skip parameter set (gic.tb.its.test_its).

from gic.tb.common.build import run_folder, run_testcase  # noqa: E402


def test_reset_under_traffic():
    """The cocotb test above on the skip build, seed 1."""
    params = PARAM_SETS["skip"]
    run_testcase(build_folder("skip"), "its", "gic.tb.its.test_reset", "run_reset_under_traffic",
                 params=params, seed=1,
                 test_dir=run_folder("its", "skip", "run_reset_under_traffic", 1, out_folder=""),
                 where="the skip build",
                 reproduce=".venv/bin/pytest tb/its/test_reset.py -p no:xdist")
