"""cocotb testbench of the whole LPI path (``gic.hw.gicr.gic.Gic``) on its generated Verilog:
MSI -> ITS -> redistributor -> CPU acknowledge.

The :class:`TB` owns the clock, the reset and the bus models: cocotbext-axi's
``AxiLiteMaster`` on the Gic's one register port (the ITS frame at 0, redistributor
``n`` at ``0x20000 * (1 + n)``), :class:`~gic.tb.common.axi_memory.AxiMemory` on its AXI4
master (ITS tables and the redistributors' property and pending tables in one
:class:`gic.sim.models.memory.Memory`), the MSI stream, a :class:`~gic.tb.gic.cpu.Cpu` on every CPU
interface (acknowledge, hold, end of interrupt, preemption), and idle/backpressure
generators. :class:`~gic.tb.common.itsbus.CocotbItsBus` covers the whole register space,
so the unchanged Linux-style :class:`gic.sim.driver.its.ItsDriver` and
:class:`gic.sim.driver.gicr.RedistributorDriver` bring everything up.
:class:`~gic.tb.gic.scoreboard.GicScoreboard` checks the ITS against the ITS model and the
redistributors and CPU interfaces against the redistributor models; each test ends
with :meth:`TB.finish`: every CPU drains, the LPIs are written back to the pending
tables (EnableLPIs 1 -> 0), which must equal the model's, as must the ITS's tables;
the functional coverage (:mod:`gic.tb.gic.coverage`) goes to ``coverage.yml``.

Tests are ``async def run_<name>(dut, ...)``; the pytest entry at the bottom builds the
Verilog once and runs each test through cocotb's runner, as tb/its does.
"""

import random

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from gic.hw.gicr.layouts import (
    MIN_LPI_ID_BITS, SPURIOUS_INTID, GicrCtlr, GicrPendbaser, GicrPropbaser, GicrTyper,
    GicrWaker, LpiConfig,
)
from gic.hw.gicr.regmap import IIDR_VALUE, PIDR2_VALUE, REG as GICR
from gic.hw.its.layouts import LPI_BASE, Cmd, GicOp
from gic.hw.its.params import ItsParams
from gic.sim.models.commands import pack, unpack
from gic.sim.driver.gicr import RedistributorDriver, pending_table_bytes, property_table_bytes
from gic.sim.models.gicr import rd_frame

from gic.tb.common.build import build, reproduce_command, run_folder, run_testcase
from gic.tb.common.itsbus import CocotbItsBus, RegisterAccessError
from gic.tb.common.monitors import cycle_now, high
from gic.tb.common.pause import cycle_pause, heavy_pause, random_pause
from gic.tb.common.counts import record_counts
from gic.tb.common.scoreboard import ScoreboardError
from gic.tb.common.testbench import BaseTB, TIMEOUT_US, params_of_run, seed_of_run
from gic.tb.gic.coverage import GicCoverage
from gic.tb.gic.cpu import Cpu
from gic.tb.gic.scoreboard import GicScoreboard, ItsView

PROP_BASE = 0x1000_0000
"""The LPI property table, shared by every redistributor (as Linux sets it up)."""
PEND_BASE = 0x1100_0000
"""Redistributor ``n``'s pending table is at ``PEND_BASE + 0x10000 * n``."""
ID_BITS = 14
"""GICR_PROPBASER.IDbits + 1: LPIs 8192..16383 (a pending-table scan reads 128 doublewords)."""
DEFAULT_PRIORITY = 0xA0


def pend_base(rd):
    """Redistributor ``rd``'s pending table."""
    return PEND_BASE + 0x10000 * rd


def config(priority, enable=True):
    """The property-table byte of an LPI with ``priority`` (0..255, bits [1:0] ignored)."""
    return pack(LpiConfig, enable=int(enable), priority=priority >> 2)


class TB(BaseTB):
    """CPUs, redistributor drivers, scoreboard and coverage around the ``gic`` Verilog, on
    :class:`~gic.tb.common.testbench.BaseTB`'s clock, reset and bus models.

    Parameters
    ----------
    dut : cocotb handle
    seed, latency, reorder, idle_inserter, backpressure_inserter
        As :class:`~gic.tb.common.testbench.BaseTB` and its ``_pause_streams`` take them.
    cpu_delay, cpu_hold : (int, int)
        Cycles a CPU waits before acknowledging, and holds an interrupt.
    settle : bool
        Register accesses first wait for the MSIs signalled so far to be decided.

    Members
    -------
    dut : ItsView
        The top level (the ITS parts' names resolve inside its ``its`` instance).
    cpus : list of Cpu
    scoreboard : GicScoreboard
    bus : CocotbItsBus
        The whole register space: ``bus.read_reg(rd_frame(n) + offset)`` reaches GICR_*.
    gicrs : list of RedistributorDriver
    coverage : GicCoverage

    and :class:`~gic.tb.common.testbench.BaseTB`'s.
    """

    idle_cycles = 20

    def __init__(self, dut, *, seed=None, idle_inserter=None, backpressure_inserter=None,
                 latency=4, reorder=False, cpu_delay=(0, 6), cpu_hold=(0, 20), settle=True):
        super().__init__(dut, name="gic", seed=seed, latency=latency, reorder=reorder)
        self.dut = ItsView(dut)
        dut.query_resp__ready.value = 1     # the query port is tb/its's business
        n = self.params.num_redistributors
        self.cpus = [Cpu(dut, rd, dut.clk, rng=random.Random(self.rng.random()),
                         delay=cpu_delay, hold=cpu_hold) for rd in range(n)]
        self.scoreboard = GicScoreboard(dut, self.params, self.model_memory, self.log)
        self.coverage = GicCoverage(self.scoreboard, lpi_cache=LPI_CACHE)
        self._pause_streams(idle_inserter, backpressure_inserter)
        self.bus = CocotbItsBus(self, settle=settle)
        self.gicrs = [RedistributorDriver(self.bus, rd) for rd in range(n)]

    # -- set-up and tear-down -----------------------------------------------------------------

    async def start(self, *, ptz=True, enable=True, pending=None, **driver_options):
        """Reset, then bring everything up as Linux does: the ITS (probe), each
        redistributor (wake, property and pending tables, EnableLPIs), then MAPC + INVALL +
        SYNC per CPU. Every LPI starts enabled at :data:`DEFAULT_PRIORITY`.

        Parameters
        ----------
        ptz : bool or list of bool
            GICR_PENDBASER.PTZ per redistributor (False: the pending table is scanned).
        enable : bool
            Set EnableLPIs (else the redistributors are woken and left disabled).
        pending : dict of int to list of int, or None
            LPIs marked in each redistributor's pending table before EnableLPIs (as
            after a migration).

        Returns
        -------
        ItsDriver
        """
        await self.reset()
        n = self.params.num_redistributors
        self.fill(PROP_BASE, property_table_bytes(ID_BITS), config(DEFAULT_PRIORITY))
        for rd in range(n):
            self.fill(pend_base(rd), pending_table_bytes(ID_BITS), 0)
            for lpi in (pending or {}).get(rd, []):
                self.set_pending_bit(rd, lpi)
        driver = self.its_driver(**driver_options)
        await driver.probe()
        for rd, gicr in enumerate(self.gicrs):
            await gicr.wake()
            if enable:
                await self.enable_lpis(rd, ptz=ptz[rd] if isinstance(ptz, list) else ptz)
        await driver.init_cpus(n)
        return driver

    async def enable_lpis(self, rd, *, ptz=True):
        """Program redistributor ``rd``'s tables and set EnableLPIs (its_cpu_init_lpis)."""
        await self.gicrs[rd].enable_lpis(prop_base=PROP_BASE, pend_base=pend_base(rd),
                                         id_bits=ID_BITS, ptz=ptz)

    def fill(self, addr, length, byte):
        """Fill memory with ``byte`` behind the DUT's back (both memories)."""
        for memory in (self.memory, self.model_memory):
            memory.fill(addr, length, byte)

    def set_config(self, lpi, priority, enable=True):
        """Write ``lpi``'s property-table byte (both memories); an INV makes it count."""
        for memory in (self.memory, self.model_memory):
            memory.write_int(PROP_BASE + lpi - LPI_BASE, config(priority, enable), 1)

    def set_pending_bit(self, rd, lpi):
        """Mark ``lpi`` pending in redistributor ``rd``'s table (both memories)."""
        addr = pend_base(rd) + lpi // 8
        for memory in (self.memory, self.model_memory):
            memory.write_int(addr, memory.read_int(addr, 1) | 1 << lpi % 8, 1)

    def pending_in_table(self, rd, memory=None):
        """The LPIs marked in redistributor ``rd``'s pending table."""
        data = (memory or self.memory).read(pend_base(rd), pending_table_bytes(ID_BITS))
        return {8 * index + bit for index, byte in enumerate(data) if byte
                for bit in range(8) if byte >> bit & 1 and 8 * index + bit >= LPI_BASE}

    def mask(self, *rds):
        """Stop CPUs ``rds`` (all when none given) from taking interrupts."""
        for rd in rds or range(len(self.cpus)):
            self.cpus[rd].mask()

    def unmask(self, *rds):
        """Let CPUs ``rds`` (all when none given) take interrupts again."""
        for rd in rds or range(len(self.cpus)):
            self.cpus[rd].unmask()

    def _busy(self):
        """The ITS, a redistributor or a CPU has work, or a move is under way
        (:meth:`wait_idle`)."""
        dut = self.dut
        return (self._its_busy() or high(dut.msi__valid)
                or any(not high(getattr(dut, f"rd{rd}").idle)
                       or high(getattr(dut, f"rd{rd}").move_out__valid)
                       for rd in range(self.params.num_redistributors))
                or not all(cpu.quiet() for cpu in self.cpus))

    async def msis(self, pairs, *, idle=True):
        """Signal the MSIs ``[(device_id, event_id), ...]``; with ``idle``, wait until
        every LPI they raise is pending (or taken)."""
        for device_id, event_id in pairs:
            await self.bus.msi(device_id, event_id)
        if idle:
            await self.wait_idle()

    async def finish(self, driver=None, *, packets_at_least=1):
        """End a test: the CPUs take every LPI they can; then EnableLPIs 1 -> 0 on every
        redistributor writes what is still pending (disabled LPIs) to its pending table,
        which must be the model's; then the scoreboard and the ITS's tables."""
        self.unmask()
        await self.wait_idle()
        self.scoreboard.check_delivered()
        if driver is not None:
            await driver.stats()        # every ITS counter compared with the model
        for gicr in self.gicrs:
            if unpack(GicrCtlr, await gicr.read("GICR_CTLR", 4))["enable_lpis"]:
                await gicr.disable_lpis()
        await self.wait_idle()
        self.coverage.export("coverage.yml")
        record_counts(commands=len(self.scoreboard.its.commands),
                      msis=sum(self.scoreboard.its.msis.values()),
                      faults=len(self.axi_memory.errors),
                      mismatches=len(self.scoreboard.mismatches)
                      + len(self.scoreboard.its.mismatches))
        problems = []
        for rd in range(self.params.num_redistributors):
            rtl, model = self.pending_in_table(rd), self.pending_in_table(rd, self.model_memory)
            if rtl != model:
                problems.append(f"redistributor {rd} pending table after EnableLPIs 1 -> 0: "
                                f"only the RTL's has {sorted(rtl - model)}, only the model's "
                                f"{sorted(model - rtl)}")
        try:
            self.scoreboard.check(packets_at_least=packets_at_least)
        except ScoreboardError as error:
            problems.insert(0, str(error))
        assert not problems, "; ".join(problems)
        self.check_memory()
        self.log.info("cycles simulated: %d; taken per CPU: %s", cycle_now(),
                      [len(cpu.taken) for cpu in self.cpus])

    def taken(self, rd):
        """The INTIDs CPU ``rd`` acknowledged so far; forgets them."""
        taken, self.cpus[rd].taken = self.cpus[rd].taken, []
        return taken


async def _device(driver, device_id, lpis, icid_of, *, bits=5):
    """MAPD ``device_id``, MAPTI event ``e`` to ``lpis[e]`` in collection ``icid_of(e)``
    (one batch, each MAPTI followed by its SYNC as Linux does)."""
    await driver.map_device(device_id, bits)
    await driver.send_batch([(Cmd.MAPTI, dict(device_id=device_id, event_id=event_id,
                                              pintid=lpi, icid=icid_of(event_id)))
                             for event_id, lpi in enumerate(lpis)], sync=True)
    record = await driver.read_error()
    assert record is None, f"mapping device {device_id}: {record}"


# ---------------------------------------------------------------------------------------------
# Directed tests.

@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_registers(dut):
    """Every GICR register of every redistributor: TYPER (processor number, Last, PLPIS,
    DirectLPI), IIDR, PIDR2, WAKER, PROPBASER and PENDBASER read back as written (64- and
    32-bit accesses; PTZ write-only; fixed while EnableLPIs = 1), CTLR.EnableLPIs, SYNCR
    and RWP at rest, SGI_base reading zero, DECERR beyond the last frame. The scoreboard
    compares every read with the model too."""
    tb = TB(dut)
    await tb.reset()
    n = tb.params.num_redistributors
    for rd, gicr in enumerate(tb.gicrs):
        typer = unpack(GicrTyper, await gicr.read("GICR_TYPER"))
        assert (typer["plpis"], typer["direct_lpi"], typer["vlpis"]) == (1, 1, 0), typer
        assert typer["processor_number"] == rd and typer["affinity"] == rd, typer
        assert typer["last"] == (rd == n - 1), typer
        assert await gicr.read("GICR_TYPER", 4) == (await gicr.read("GICR_TYPER")) & 0xFFFFFFFF
        assert await tb.bus.read_reg(rd_frame(rd) + GICR["GICR_TYPER"] + 4, 4) == rd
        assert await gicr.read("GICR_IIDR", 4) == IIDR_VALUE
        assert await gicr.read("GICR_PIDR2", 4) == PIDR2_VALUE
        waker = unpack(GicrWaker, await gicr.read("GICR_WAKER", 4))
        assert waker["processor_sleep"] == 1 and waker["children_asleep"] == 1, waker
        await gicr.wake()
        assert await gicr.read("GICR_WAKER", 4) == 0
        ctlr = unpack(GicrCtlr, await gicr.read("GICR_CTLR", 4))
        assert (ctlr["enable_lpis"], ctlr["ces"], ctlr["ir"], ctlr["rwp"]) == (0, 1, 1, 0), ctlr
        # PROPBASER: every field but the reserved ones reads back (64-bit and 32-bit writes).
        propbaser = pack(GicrPropbaser, id_bits=ID_BITS - 1, inner_cache=7, shareability=1,
                         pa=(PROP_BASE >> 12) + rd, outer_cache=2)
        await gicr.write("GICR_PROPBASER", propbaser | 1 << 63 | 1 << 5)    # reserved bits
        assert await gicr.read("GICR_PROPBASER") == propbaser
        await tb.bus.write_reg(rd_frame(rd) + GICR["GICR_PROPBASER"] + 4, 0x0100_0000, 4)
        assert await gicr.read("GICR_PROPBASER") == (propbaser & 0xFFFFFFFF) | 0x0100_0000 << 32
        # PENDBASER: PTZ is write-only.
        pendbaser = pack(GicrPendbaser, pa=pend_base(rd) >> 16, inner_cache=5, shareability=2,
                         outer_cache=1)
        await gicr.write("GICR_PENDBASER", pendbaser | pack(GicrPendbaser, ptz=1))
        assert await gicr.read("GICR_PENDBASER") == pendbaser
        await tb.bus.write_reg(rd_frame(rd) + GICR["GICR_PENDBASER"], pendbaser & 0xFFFFFFFF, 4)
        assert await gicr.read("GICR_PENDBASER", 4) == pendbaser & 0xFFFFFFFF
        # The SGI_base frame and unknown offsets read as zero and ignore writes.
        await tb.bus.write_reg(rd_frame(rd) + 0x10000, 0xFFFF_FFFF, 4)
        assert await tb.bus.read_reg(rd_frame(rd) + 0x10000, 4) == 0
        assert await tb.bus.read_reg(rd_frame(rd) + 0x30) == 0
        # Write-only registers read as zero.
        for name in ("GICR_SETLPIR", "GICR_CLRLPIR", "GICR_INVLPIR", "GICR_INVALLR"):
            assert await gicr.read(name) == 0, name
    for rd in range(n):
        await tb.enable_lpis(rd)
        ctlr = unpack(GicrCtlr, await tb.gicrs[rd].read("GICR_CTLR", 4))
        assert ctlr["enable_lpis"] == 1 and ctlr["rwp"] == 0, ctlr
        assert await tb.gicrs[rd].read("GICR_SYNCR", 4) == 0
        # Table bases are fixed while EnableLPIs = 1.
        before = await tb.gicrs[rd].read("GICR_PROPBASER")
        await tb.gicrs[rd].write("GICR_PROPBASER", before ^ 1 << 12)
        await tb.gicrs[rd].write("GICR_PENDBASER", 0)
        assert await tb.gicrs[rd].read("GICR_PROPBASER") == before
        assert await tb.gicrs[rd].read("GICR_PENDBASER") != 0
    # Beyond the last redistributor frame: DECERR.
    try:
        await tb.bus.read_reg(rd_frame(n) + GICR["GICR_TYPER"])
    except RegisterAccessError as error:
        assert "DECERR" in str(error), error
    else:
        raise AssertionError("a read beyond the last redistributor frame was answered OKAY")
    await tb.finish(packets_at_least=0)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_enable_lpis(dut):
    """GICR_CTLR.EnableLPIs: 0 -> 1 delivers the LPIs marked in the pending table (not with
    PTZ); 1 -> 0 writes the pending ones back (RWP until done); 1 again delivers them
    again; SETs and moves to a redistributor with EnableLPIs = 0 are lost."""
    tb = TB(dut)
    marked = [8192 + 70, 9000, 12345, 16383]
    tb.mask(1)
    # RD 2 enables with PTZ: its table is taken to be zero, the LPI marked there is not.
    driver = await tb.start(ptz=[True, False, True, False],
                            pending={1: marked[:2], 2: [marked[2]], 3: [marked[3]]})
    await tb.wait_idle()
    assert tb.taken(3) == [marked[3]]
    assert tb.taken(2) == []
    tb.unmask(1)
    await tb.wait_idle()
    assert tb.taken(1) == sorted(marked[:2])
    # Pending LPIs survive EnableLPIs 1 -> 0 -> 1 in the pending table.
    await _device(driver, 1, [8300, 8301, 8302], lambda e: 1)
    tb.mask(1)
    await tb.msis([(1, 0), (1, 2)])
    await tb.gicrs[1].disable_lpis()
    assert tb.pending_in_table(1) == {8300, 8302}, tb.pending_in_table(1)
    await tb.msis([(1, 1)])                    # EnableLPIs = 0: lost
    await tb.enable_lpis(1, ptz=False)
    tb.unmask(1)
    await tb.wait_idle()
    assert tb.taken(1) == [8300, 8302]
    await tb.finish(driver, packets_at_least=3)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_direct_injection(dut):
    """GICR_SETLPIR, CLRLPIR, INVLPIR, INVALLR and SYNCR, with no ITS involved: 64- and
    32-bit writes, INTIDs out of range ignored, a disabled LPI held until INVLPIR /
    INVALLR reload its configuration; GICR_PROPBASER.IDbits too small for any LPI; then
    the CPU interface by hand: 1023 when nothing can be signalled, an LPI not above the
    running priority waits, an end of interrupt naming a special INTID drops nothing."""
    tb = TB(dut)
    driver = await tb.start()
    gicr = tb.gicrs[2]
    tb.mask(2)
    for lpi in (9000, 9001, 9002):
        await gicr.set_lpi(lpi)
    await tb.bus.write_reg(rd_frame(2) + GICR["GICR_SETLPIR"], 9003, 4)     # 32-bit form
    for intid in (8191, 1 << ID_BITS, 0x10000 + 9004, 0):                   # out of range
        await gicr.set_lpi(intid)
    await gicr.clear_lpi(9001)
    tb.set_config(9002, 0x20, enable=False)
    await gicr.inv_lpi(9002)
    tb.unmask(2)
    await tb.wait_idle()
    assert tb.taken(2) == [9000, 9003]
    tb.mask(2)
    await gicr.set_lpi(9003)
    await gicr.set_lpi(9004)
    tb.set_config(9002, 0x20)
    tb.set_config(9004, 0x10)
    await gicr.inv_all()                       # 9002 enabled again, 9004 first now
    tb.unmask(2)
    await tb.wait_idle()
    assert tb.taken(2) == [9004, 9002, 9003]
    # Writes queue without waiting on GICR_SYNCR; the last one waits for all of them.
    tb.mask(0)
    for lpi in range(9100, 9108):
        await tb.gicrs[0].set_lpi(lpi, sync=False)
    await tb.gicrs[0].clear_lpi(9100, sync=False)
    await tb.gicrs[0].wait_syncr()
    tb.unmask(0)
    await tb.wait_idle()
    assert tb.taken(0) == list(range(9101, 9108))
    # GICR_PROPBASER.IDbits bounds the LPIs: with fewer than 14 INTID bits there are none.
    await tb.gicrs[1].disable_lpis()
    await tb.gicrs[1].enable_lpis(prop_base=PROP_BASE, pend_base=pend_base(1),
                                  id_bits=MIN_LPI_ID_BITS - 1, ptz=True)
    await tb.gicrs[1].set_lpi(LPI_BASE)
    await tb.wait_idle()
    assert tb.taken(1) == []
    await tb.gicrs[1].disable_lpis()
    await tb.enable_lpis(1)
    await tb.gicrs[1].set_lpi(LPI_BASE)
    await tb.wait_idle()
    assert tb.taken(1) == [LPI_BASE]
    # The CPU interface by hand: spurious answers, running priority, special INTIDs.
    cpu = tb.cpus[3]
    tb.mask(3)
    assert await cpu.acknowledge() == SPURIOUS_INTID            # nothing pending
    await tb.gicrs[3].set_lpi(9200)
    await tb.gicrs[3].set_lpi(9201)
    assert await cpu.acknowledge() == 9200
    assert await cpu.acknowledge() == SPURIOUS_INTID            # not above 0xA0 running
    await cpu.end_of_interrupt(SPURIOUS_INTID)                  # special: no priority drop
    assert await cpu.acknowledge() == SPURIOUS_INTID
    await cpu.end_of_interrupt(9200)
    assert await cpu.acknowledge() == 9201
    await cpu.end_of_interrupt(9201)
    await tb.finish(driver, packets_at_least=0)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_packets(dut):
    """Every GIC stream packet end to end: SET (MSI and INT), CLEAR, INV, INVALL, MOVLPI
    (MOVI), MOVALL and SYNC, each seen by a redistributor and by its CPU."""
    tb = TB(dut)
    driver = await tb.start()
    lpis = [8192 + 8 * event for event in range(8)]
    await _device(driver, 3, lpis, lambda e: e % 4)
    tb.mask()
    await tb.msis([(3, 0), (3, 1)])                         # SET
    await driver.int_(3, 2)                                 # SET by command
    await driver.int_(3, 6)
    await driver.clear(3, 6)                                # CLEAR
    tb.set_config(lpis[4], 0x30, enable=False)
    await tb.msis([(3, 4)])
    await driver.inv(3, 4)                                  # INV: now disabled
    tb.set_config(lpis[0], 0x30, enable=False)
    await driver.invall(0)                                  # INVALL on RD 0
    await driver.move(3, 1, 2)                              # MOVLPI: RD 1 -> RD 2
    await driver.move_all(2, 3)                             # MOVALL: RD 2 -> RD 3
    await driver.sync(3)
    tb.unmask()
    await tb.wait_idle()
    assert [tb.taken(rd) for rd in range(4)] == [[], [], [], sorted([lpis[1], lpis[2]])]
    counts = tb.scoreboard.packets
    for op, rd in ((GicOp.SET, 0), (GicOp.CLEAR, 2), (GicOp.INV, 0), (GicOp.INVALL, 0),
                   (GicOp.MOVLPI, 1), (GicOp.MOVALL, 2), (GicOp.SYNC, 3)):
        assert counts[rd][op] > 0, f"no {op.name} packet reached redistributor {rd}: {counts}"
    assert tb.scoreboard.moved == 3      # 8200 to RD 2, then 8200 and 8208 to RD 3
    tb.set_config(lpis[0], DEFAULT_PRIORITY)
    tb.set_config(lpis[4], DEFAULT_PRIORITY)
    await driver.inv(3, 0)
    await driver.inv(3, 4)
    await tb.wait_idle()
    assert tb.taken(0) == [lpis[0], lpis[4]]
    await tb.finish(driver, packets_at_least=10)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(nesting=[1, 3])
async def run_priority_order(dut, nesting=1):
    """LPIs made pending while the CPU does not acknowledge are taken highest priority
    first (lowest INTID among equals); while one is held, a higher-priority LPI preempts
    it (when the CPU nests) and a lower one waits for the end of interrupt."""
    tb = TB(dut, cpu_hold=(150, 150))
    for cpu in tb.cpus:
        cpu.max_nesting = nesting
    driver = await tb.start()
    priorities = [0x80, 0x10, 0xF0, 0x10, 0x40, 0x00, 0xFC, 0x80]
    lpis = [9500 - 3 * event for event in range(len(priorities))]
    for lpi, priority in zip(lpis, priorities):
        tb.set_config(lpi, priority)
    await _device(driver, 5, lpis, lambda e: 1)
    tb.mask(1)
    await tb.msis([(5, e) for e in range(len(lpis))])
    tb.unmask(1)
    await tb.wait_idle()
    assert tb.taken(1) == [lpi for _, lpi in sorted(zip(priorities, lpis))]
    assert tb.cpus[1].deepest == 1, "an LPI preempted one of higher priority"
    # Hold a low-priority LPI, then raise a lower and a higher one.
    await tb.msis([(5, 2)], idle=False)                    # 0xF0
    while not tb.cpus[1].taken:
        await RisingEdge(dut.clk)
    await tb.msis([(5, 6), (5, 5)])                        # 0xFC, then 0x00
    assert tb.taken(1) == [lpis[2], lpis[5], lpis[6]]
    assert tb.cpus[1].deepest == min(nesting, 2), tb.cpus[1].deepest
    await tb.finish(driver, packets_at_least=len(lpis) + 3)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_disabled_lpi(dut):
    """A disabled LPI is held pending, not signalled, until its property byte enables it
    and an INV (or INVALL) makes the redistributor read it again."""
    tb = TB(dut)
    driver = await tb.start()
    await _device(driver, 2, [10000, 10001, 10002], lambda e: 0)
    for lpi in (10000, 10001, 10002):
        tb.set_config(lpi, 0x50, enable=False)
    await driver.invall(0)
    await tb.msis([(2, 0), (2, 1), (2, 2)])
    assert tb.taken(0) == []
    tb.set_config(10001, 0x50)
    await driver.inv(2, 1)
    await tb.wait_idle()
    assert tb.taken(0) == [10001]
    tb.set_config(10000, 0x60)
    tb.set_config(10002, 0x58)
    await driver.invall(0)
    await tb.wait_idle()
    assert tb.taken(0) == [10002, 10000]
    tb.set_config(10000, 0x50, enable=False)    # disabled and pending at the end
    await driver.inv(2, 0)
    tb.mask(0)
    await tb.msis([(2, 0)])
    await tb.finish(driver, packets_at_least=6)
    assert tb.pending_in_table(0) == {10000}, tb.pending_in_table(0)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_moves(dut):
    """A pending LPI survives MOVI (MOVLPI to the old redistributor, the SYNC to the new
    one waits for the move) and MOVALL, and is taken on the new CPU only; a disabled one
    moves disabled; moving to the same redistributor changes nothing."""
    tb = TB(dut)
    driver = await tb.start()
    lpis = [11000 + event for event in range(6)]
    await _device(driver, 4, lpis, lambda e: 0)
    tb.set_config(lpis[5], 0x30, enable=False)
    await driver.inv(4, 5)
    tb.mask()
    await tb.msis([(4, e) for e in range(6)])
    await driver.move(4, 0, 1)                  # MOVI: RD 0 -> RD 1
    await driver.move(4, 1, 0)                  # same collection: nothing moves
    await driver.move_all(0, 2)                 # MOVALL: the rest to RD 2
    await driver.move_all(2, 2)                 # to itself: nothing
    tb.unmask(0)
    await tb.wait_idle()
    assert tb.taken(0) == []
    tb.unmask(1, 2)
    await tb.wait_idle()
    assert tb.taken(1) == [lpis[0]] and tb.taken(2) == lpis[1:5], tb.cpus
    # The disabled one went along: enabled and invalidated on RD 2 (collection 2).
    await driver.move(4, 5, 2)                  # the ITE now names RD 2 for INV
    tb.set_config(lpis[5], 0x30)
    await driver.inv(4, 5)
    await tb.wait_idle()
    assert tb.taken(2) == [lpis[5]]
    await tb.finish(driver, packets_at_least=10)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_discard_clear(dut):
    """DISCARD and CLEAR clear a pending LPI before the CPU takes it; INT after CLEAR
    raises it again; an MSI after DISCARD is dropped."""
    tb = TB(dut)
    driver = await tb.start()
    await _device(driver, 6, [12000, 12001, 12002], lambda e: 3)
    tb.mask(3)
    await tb.msis([(6, 0), (6, 1), (6, 2)])
    await driver.discard(6, 0)
    await driver.clear(6, 1)
    await driver.clear(6, 1)                    # not pending: nothing
    await tb.msis([(6, 0)])                     # unmapped now: dropped
    tb.unmask(3)
    await tb.wait_idle()
    assert tb.taken(3) == [12002]
    await driver.int_(6, 1)
    await tb.wait_idle()
    assert tb.taken(3) == [12001]
    await tb.finish(driver, packets_at_least=5)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_many_pending(dut):
    """More LPIs pending on one redistributor than its LPI cache holds: the rest go to the
    pending table and come back (scans) in signalling order; CLEAR and MOVLPI reach the
    ones in memory; EnableLPIs 1 -> 0 writes all of them, 0 -> 1 takes them all back, and
    MOVALL moves them all."""
    tb = TB(dut, cpu_hold=(0, 2))
    rng = random.Random(f"many-{seed_of_run()}")
    driver = await tb.start()
    count = LPI_CACHE + 12
    lpis = rng.sample(range(8192, 1 << ID_BITS), count)
    priorities = [rng.choice([0x00, 0x40, 0x80, 0xC0, 0xFC]) for _ in lpis]
    for lpi, priority in zip(lpis, priorities):
        tb.set_config(lpi, priority)
    await _device(driver, 7, lpis, lambda e: 1, bits=6)
    tb.mask(1)
    await tb.msis([(7, e) for e in range(count)])
    await driver.clear(7, 3)
    await driver.move(7, 4, 2)
    tb.unmask(1)
    await tb.wait_idle()
    want = [lpi for _, lpi in sorted(zip(priorities, lpis)) if lpi not in lpis[3:5]]
    assert tb.taken(1) == want
    tb.mask(1)
    await tb.msis([(7, e) for e in range(count)])
    held = set(lpis) - {lpis[4]}                        # event 4 is on RD 2 now
    await tb.gicrs[1].disable_lpis()
    assert tb.pending_in_table(1) == held
    await tb.enable_lpis(1, ptz=False)
    await driver.move_all(1, 3)
    await tb.wait_idle()
    assert sorted(tb.taken(3)) == sorted(held)
    await tb.finish(driver, packets_at_least=2 * count)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_memory_errors(dut):
    """Memory errors on the redistributors' tables (docs/redistributor.md): a pending-table
    doubleword that cannot be read at EnableLPIs holds no LPI; a property byte that
    cannot be read reads as 0 (the LPI is pending but disabled until an invalidation
    reads it); a failing pending-table write at EnableLPIs 1 -> 0 leaves the table as
    it was."""
    tb = TB(dut)
    driver = await tb.start(enable=False, pending={2: [9300, 9400]})
    dw = 8
    tb.inject_error(pend_base(2) + 9300 // 64 * dw, dw, "DECERR")
    for rd in range(tb.params.num_redistributors):
        await tb.enable_lpis(rd, ptz=rd != 2)
    await tb.wait_idle()
    assert tb.taken(2) == [9400]
    tb.clear_errors()
    tb.inject_error(PROP_BASE + 9504 - LPI_BASE, dw)        # the property doubleword of 9504
    await tb.gicrs[0].set_lpi(9504)
    await tb.wait_idle()
    assert tb.taken(0) == []
    tb.clear_errors()
    await tb.gicrs[0].inv_lpi(9504)
    await tb.wait_idle()
    assert tb.taken(0) == [9504]
    tb.mask(1)
    await tb.gicrs[1].set_lpi(9600)
    tb.inject_write_error(pend_base(1) + 9600 // 64 * dw, dw)
    await tb.gicrs[1].disable_lpis()
    assert tb.pending_in_table(1) == set()
    tb.clear_errors()
    await tb.finish(driver, packets_at_least=0)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize((("idle_inserter", "backpressure_inserter"),
                     [(None, None), (random_pause, random_pause)]))
async def run_msi_storm(dut, idle_inserter=None, backpressure_inserter=None):
    """MSIs to every CPU back to back, on the MSI stream and through GITS_TRANSLATER (hits
    overtaking misses), while the CPUs acknowledge, nest and end interrupts; memory latency
    and reordering."""
    tb = TB(dut, idle_inserter=idle_inserter, backpressure_inserter=backpressure_inserter,
            latency=6, reorder=True, cpu_delay=(0, 3), cpu_hold=(0, 12))
    rng = random.Random(f"storm-{seed_of_run()}")
    driver = await tb.start()
    lpis = rng.sample(range(8192, 1 << ID_BITS), 24)
    for lpi in lpis:
        tb.set_config(lpi, rng.choice(range(0, 256, 4)))
    await _device(driver, 9, lpis, lambda e: e % 4)
    pairs = [(9, rng.randrange(24)) for _ in range(60)]
    for device_id, event_id in pairs:
        await tb.bus.msi(device_id, event_id, translater=rng.random() < 0.2)
    await tb.finish(driver, packets_at_least=60)


# ---------------------------------------------------------------------------------------------
# The seeded random mix.

@cocotb.test(timeout_time=4 * TIMEOUT_US, timeout_unit="us")
async def run_random_mix(dut):
    """A seeded mix: memory latency, reordering, pauses and CPU timing drawn at random;
    background MSIs while random operations remap, move (each followed by its SYNC),
    discard, clear, INT, change priorities and enables (with INV, INVALL, INVLPIR,
    INVALLR), inject directly (SETLPIR, CLRLPIR), mask CPUs for a while and turn
    EnableLPIs off and on."""
    seed = seed_of_run()
    rng = random.Random(f"gic_random_mix-{seed}")
    params = params_of_run()
    n = params.num_redistributors
    inserters = [None, None, random_pause, cycle_pause, heavy_pause]
    setting = dict(latency=rng.randint(1, 12), reorder=rng.random() < 0.5,
                   idle=rng.choice(inserters), backpressure=rng.choice(inserters),
                   cpu_delay=rng.choice([(0, 2), (0, 20)]), cpu_hold=rng.choice([(0, 4), (0, 60)]),
                   lpis=rng.randint(12, 48), steps=rng.randint(20, 40))
    tb = TB(dut, idle_inserter=setting["idle"], backpressure_inserter=setting["backpressure"],
            latency=setting["latency"], reorder=setting["reorder"],
            cpu_delay=setting["cpu_delay"], cpu_hold=setting["cpu_hold"], settle=False)
    tb.log.info("random mix: %s", {k: getattr(v, "__name__", v) for k, v in setting.items()})
    driver = await tb.start(ptz=[rng.random() < 0.5 for _ in range(n)])
    icids = list(range(n)) + [params.hcc + 3]
    await driver.map_collection(icids[-1], rng.randrange(n))
    lpis = rng.sample(range(8192, (1 << ID_BITS) + 64), setting["lpis"])    # a few out of range
    for lpi in lpis:
        if lpi < 1 << ID_BITS:
            tb.set_config(lpi, rng.choice(range(0, 256, 4)), enable=rng.random() < 0.9)
    events = {}
    for device_id in (1, 2):
        await driver.map_device(device_id, 6)
    for index, lpi in enumerate(lpis):
        events[(1 + index % 2, index // 2)] = lpi
    await driver.send_batch([(Cmd.MAPTI, dict(device_id=device_id, event_id=event_id,
                                              pintid=lpi, icid=rng.choice(icids)))
                             for (device_id, event_id), lpi in sorted(events.items())])
    keys = sorted(events)
    disabled = set()

    for _ in range(setting["steps"]):
        for _ in range(rng.randint(0, 6)):
            await tb.bus.msi(*rng.choice(keys), translater=rng.random() < 0.1)
        operation = rng.choice(["int", "clear", "discard", "movi", "movi", "movall", "inv",
                                "invall", "config", "setlpir", "clrlpir", "invlpir",
                                "invallr", "mask", "mask", "enable", "remap", "wait"])
        device_id, event_id = rng.choice(keys)
        rd = rng.randrange(n)
        if operation in ("int", "clear", "inv"):
            await tb.bus.wait_settled()
            await driver.send(Cmd[operation.upper()], device_id=device_id, event_id=event_id)
        elif operation == "discard":
            await tb.bus.wait_settled()
            await driver.discard(device_id, event_id)
        elif operation == "remap":
            await tb.bus.wait_settled()
            await driver.map_event(device_id, event_id, events[(device_id, event_id)],
                                   rng.choice(icids))
        elif operation == "movi":
            await tb.bus.wait_settled()
            await driver.move(device_id, event_id, rng.choice(icids))
        elif operation == "movall":
            await tb.bus.wait_settled()
            await driver.move_all(rd, rng.randrange(n))
        elif operation == "invall":
            await driver.invall(rng.choice(icids))
        elif operation == "config":
            # Defined only once invalidated everywhere (docs/redistributor.md): no CPU may
            # acknowledge in between, since a refill scan may already read the new byte.
            lpi = rng.choice([lpi for lpi in lpis if lpi < 1 << ID_BITS])
            masked = [cpu.masked for cpu in tb.cpus]
            tb.mask()
            await tb.wait_idle()
            tb.set_config(lpi, rng.choice(range(0, 256, 4)), enable=rng.random() < 0.8)
            for gicr in tb.gicrs:
                await gicr.inv_lpi(lpi)
            for cpu in range(n):
                if not masked[cpu]:
                    tb.unmask(cpu)
        elif operation == "setlpir":
            await tb.gicrs[rd].set_lpi(rng.choice(lpis + [8000, 0x1_2000]),
                                       sync=rng.random() < 0.5)
        elif operation == "clrlpir":
            await tb.gicrs[rd].clear_lpi(rng.choice(lpis), sync=rng.random() < 0.5)
        elif operation == "invlpir":
            await tb.gicrs[rd].inv_lpi(rng.choice(lpis), sync=rng.random() < 0.5)
        elif operation == "invallr":
            await tb.gicrs[rd].inv_all(sync=rng.random() < 0.5)
        elif operation == "mask":
            (tb.unmask if tb.cpus[rd].masked else tb.mask)(rd)
        elif operation == "enable":
            # Quiet first: a move arriving while EnableLPIs changes is UNPREDICTABLE.
            await tb.wait_idle()
            if rd in disabled:
                disabled.discard(rd)
                await tb.enable_lpis(rd, ptz=False)
            else:
                disabled.add(rd)
                await tb.gicrs[rd].disable_lpis()
        elif operation == "wait":
            await ClockCycles(dut.clk, rng.randint(10, 300))
    await tb.bus.wait_settled()
    for rd in sorted(disabled):
        await tb.wait_idle()
        await tb.enable_lpis(rd, ptz=False)
    await tb.finish(driver, packets_at_least=1)


# ---------------------------------------------------------------------------------------------
# pytest entry: one Verilog build, each test run through cocotb's runner.

PARAM_SETS = {"skip": ItsParams()}
"""The parameter set: the default ItsParams (four redistributors); named by its error
policy, as tb/its names its sets (tb/conftest.py expands the tests over these)."""
LPI_CACHE = 16
"""LPI cache entries per redistributor (the Gic's default)."""
DIRECTED = ["run_registers", "run_enable_lpis", "run_direct_injection", "run_packets",
            "run_priority_order", "run_disabled_lpi", "run_moves", "run_discard_clear",
            "run_many_pending", "run_memory_errors", "run_msi_storm"]
"""The directed cocotb tests."""
RANDOM = ["run_random_mix"]
"""The seeded constrained-random cocotb tests."""
POLICY_SENSITIVE = []
"""No test depends on the error policy (tb/conftest.py reads this)."""


def build_folder(name="skip"):
    """The Verilog and the Icarus build of a parameter set, built once (``gic.v``, ``sim.vvp``)."""
    from gic.hw.gicr.gic import generate_verilog
    params = PARAM_SETS[name]
    return build("gic", name, "gic",
                 lambda path: generate_verilog(params, path, lpi_cache=LPI_CACHE),
                 (params, LPI_CACHE))


def run_cocotb(name, testcase, seed, *, waves=False, test_dir=None):
    """Run cocotb test ``testcase`` (all its parametrized forms) on the ``name`` build
    (:func:`gic.tb.common.build.run_testcase`).

    Returns
    -------
    Path
        The test's folder: ``results.xml``, ``sim.log``, and ``gic.fst`` with ``waves``
        (or ``WAVES=1``).
    """
    return run_testcase(
        build_folder(name), "gic", "gic.tb.gic.test_gic", testcase, params=PARAM_SETS[name],
        seed=seed, test_dir=test_dir or run_folder("gic", name, testcase, seed, out_folder="gic"),
        where="the Gic",
        reproduce=reproduce_command("tb/gic/test_gic.py", testcase, name, seed,
                                    random=testcase in RANDOM),
        waves=waves)


def test_directed(testcase, policy, seed):
    """Each directed test, seed 1 unless ``--seed``/``SEED``. tb/conftest.py parametrizes it."""
    run_cocotb(policy, testcase, seed)


def test_random(testcase, policy, seed):
    """The random mix, seeds 1 and 2 (``--seeds N``: 1..N). tb/conftest.py parametrizes it."""
    run_cocotb(policy, testcase, seed)
