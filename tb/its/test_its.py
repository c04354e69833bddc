"""cocotb testbench of the whole ITS (``gic.hw.its.top.Its``) on its generated Verilog.

The :class:`TB` owns the clock, the reset and the bus models: cocotbext-axi's
``AxiLiteMaster`` on the register port, :class:`~gic.tb.common.axi_memory.AxiMemory` (a
:class:`gic.sim.models.memory.Memory` with latency and SLVERR/DECERR injection) on the AXI4
master, stream sources for MSIs and queries, a redistributor model per GIC stream that
acknowledges SYNCs after a random delay, and idle/backpressure generators on every
stream. :class:`~gic.tb.common.itsbus.CocotbItsBus` runs the unchanged Linux-style
:class:`gic.sim.driver.its.ItsDriver` on it. :class:`~gic.tb.common.scoreboard.ItsScoreboard`
feeds the reference model from monitors on the DUT and checks every packet each
redistributor receives, in order, and every register read; each test ends with
:meth:`TB.finish`, which asserts empty queues and zero mismatches and writes the
functional coverage (``coverage.yml``) into the test's folder.

Tests are ``async def run_<name>(dut, ..., idle_inserter=None,
backpressure_inserter=None)``, expanded over those options with
``cocotb.parametrize``. The pytest entry at the bottom builds the Verilog once per
parameter set (the error policy is a build parameter) and runs each test on each
set through cocotb's runner; ``SEED`` (or ``--seed``) picks the seed, and a failing
test prints the command that runs it again.
"""

import json
import random
import time
from pathlib import Path

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from gic.hw.its.layouts import (
    CBASER_PAGE, COMMAND_BYTES, ENTRY_BYTES, ITT_ALIGN, LPI_BASE, BaserType, CacheCtl, Cmd, CmdError,
    CollectionTableEntry, DeviceTableEntry, DropReason, GitsCreadr, GitsCtlr, GitsCwriter,
    Level1Entry, MsiRequest,
)
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REG
from gic.sim.models.commands import encode_command, pack, unpack
from gic.sim.driver.its import ItsStalled

from gic.tb.common.counts import long_of_run, record_counts
from gic.tb.common.itsbus import CocotbItsBus
from gic.tb.common.monitors import cycle_now
from gic.tb.common.pause import cycle_pause, heavy_pause, random_pause
from gic.tb.common.redistributor import Redistributor
from gic.tb.common.scoreboard import ItsScoreboard
from gic.tb.common.streams import PayloadBus, PayloadSink, PayloadSource, PayloadTransaction
from gic.tb.common.testbench import BaseTB, TIMEOUT_US, params_of_run, seed_of_run
from gic.tb.its.coverage import CoverageCollector, export
from gic.tb.its.speed import MSIS, speed_scenario


class TB(BaseTB):
    """Redistributor models, query port, scoreboard and coverage around the ``its``
    Verilog, on :class:`~gic.tb.common.testbench.BaseTB`'s clock, reset and bus models.

    Parameters
    ----------
    dut : cocotb handle
    seed, latency, reorder, idle_inserter, backpressure_inserter
        As :class:`~gic.tb.common.testbench.BaseTB` and its ``_pause_streams`` take them.
    ack_delay : (int, int)
        Cycles a redistributor takes to acknowledge a SYNC.
    translater : bool
        The driver's MSIs go through GITS_TRANSLATER instead of the MSI stream.
    settle : bool
        Register accesses first wait for the MSIs signalled so far to be decided.

    Members
    -------
    query_source : PayloadSource
    query_sink : PayloadSink
    redistributors : list of Redistributor
    received : list of list of Packet
        Every packet each redistributor took.
    scoreboard : ItsScoreboard
    bus : CocotbItsBus
    coverage : CoverageCollector

    and :class:`~gic.tb.common.testbench.BaseTB`'s.
    """

    def __init__(self, dut, *, seed=None, idle_inserter=None, backpressure_inserter=None,
                 latency=4, reorder=False, ack_delay=(1, 20), translater=False, settle=True):
        super().__init__(dut, name="its", seed=seed, latency=latency, reorder=reorder)
        dut.query_resp__ready.value = 0
        for rd in range(self.params.num_redistributors):
            getattr(dut, f"gic__{rd}__ready").value = 0
            getattr(dut, f"ack__{rd}__valid").value = 0
            getattr(dut, f"ack__{rd}__payload").value = 0
        clock, reset = dut.clk, dut.rst
        self.query_source = PayloadSource(PayloadBus.from_prefix(dut, "query_"), clock, reset)
        self.query_sink = PayloadSink(PayloadBus.from_prefix(dut, "query_resp_"), clock, reset)
        cocotb.start_soon(self._drain_query_answers())
        self.scoreboard = ItsScoreboard(dut, self.params, self.model_memory, self.log)
        n = self.params.num_redistributors
        self.received = [[] for _ in range(n)]
        self.redistributors = [
            Redistributor(dut, rd, clock, reset, self._on_packet, ack_delay=ack_delay,
                          rng=random.Random(self.rng.random())) for rd in range(n)]
        self._pause_streams(
            idle_inserter, backpressure_inserter,
            idle={"query": self.query_source,
                  **{f"ack{rd}": r.ack for rd, r in enumerate(self.redistributors)}},
            backpressure={"query_resp": self.query_sink,
                          **{f"gic{rd}": r.sink for rd, r in enumerate(self.redistributors)}})
        self.bus = CocotbItsBus(self, translater=translater, settle=settle)
        self.coverage = CoverageCollector(self)

    def _on_packet(self, rd, packet):
        self.received[rd].append(packet)
        self.scoreboard.receive(rd, packet)

    # -- set-up and tear-down -----------------------------------------------------------------

    async def reset(self):
        """Reset the ITS; start the monitors."""
        await super().reset()
        self.coverage.start()

    async def start(self, *, cpus=None, **driver_options):
        """Reset, then bring the ITS up as Linux does (probe, MAPC + INVALL + SYNC per CPU).

        Returns
        -------
        ItsDriver
        """
        await self.reset()
        driver = self.its_driver(**driver_options)
        features = await driver.probe()
        assert features.device_bits == self.params.device_bits
        assert features.hcc == self.params.hcc
        self.coverage.table_format(driver)
        await driver.init_cpus(self.params.num_redistributors if cpus is None else cpus)
        return driver

    def _busy(self):
        """The ITS has work, a query is unanswered or a redistributor owes a SYNC's
        acknowledge (:meth:`wait_idle`)."""
        return (self._its_busy() or not self.query_source.idle()
                or any(len(r.acks) < len(r.syncs) for r in self.redistributors))

    async def finish(self, driver=None, *, packets_at_least=1):
        """End a test: drain, check the scoreboard and the memory the ITS wrote, write
        the coverage."""
        await self.wait_idle()
        if driver is not None:
            await driver.stats()        # every counter compared with the model
            await driver.read_error()
            await driver.read_msi_error()
        self.coverage.finish()
        export("coverage.yml")
        record_counts(commands=len(self.scoreboard.commands),
                      msis=sum(self.scoreboard.msis.values()),
                      faults=len(self.axi_memory.errors),
                      mismatches=len(self.scoreboard.mismatches))
        self.scoreboard.check(packets_at_least=packets_at_least)
        self.check_memory()
        self.log.info("cycles simulated: %d", cycle_now())

    # -- helpers ------------------------------------------------------------------------------

    async def arm_fetch_error(self, driver, resp="SLVERR"):
        """Make the next command the driver posts fail to fetch (from its CWRITER write)."""
        cwriter = unpack(GitsCwriter, await self.bus.read_reg(REG["GITS_CWRITER"]))
        slot = driver.ring_base + cwriter["offset"] * COMMAND_BYTES
        self.bus.before_cwriter.append(lambda: self.inject_error(slot, COMMAND_BYTES, resp))

    def write_entry(self, addr, value):
        """Write an 8-byte table entry behind the ITS's back (both memories)."""
        self.memory.write_int(addr, value)
        self.model_memory.write_int(addr, value)

    async def post(self, driver, cmd, expect=CmdError.NONE, *, sync=False, **fields):
        """Post one command and wait; check the error it gave (unless ``expect`` is None),
        then clear the record.

        Under the stall policy a failing command stalls the queue: the failing command
        is replaced by a SYNC and the queue resumed (``driver.resume``).
        """
        stalls = await self.post_batch(driver, [(cmd, fields)], sync=sync)
        record = await driver.read_error()
        code = stalls[0] if stalls else CmdError.NONE
        if code is CmdError.NONE and record is not None:
            code = record.code
        assert expect is None or code == expect, \
            f"{cmd!r} {fields}: got {code!r}, expected {expect!r}"
        await driver.clear_errors()
        self.clear_errors()

    async def post_batch(self, driver, commands, *, sync=False):
        """Post commands and wait; under the stall policy, replace each failing command by
        a SYNC and resume. Returns the error codes the queue stalled on."""
        stalls = []
        try:
            await driver.send_batch(commands, sync=sync)
        except ItsStalled as stalled:
            assert self.params.error_policy == "stall", f"stalled under skip: {stalled}"
            stalls.append(stalled.code)
            while True:
                self.clear_errors()
                try:
                    await driver.resume(skip=True)
                    break
                except ItsStalled as again:
                    stalls.append(again.code)
        return stalls

    async def msis(self, pairs, *, settle=True):
        """Signal the MSIs ``[(device_id, event_id), ...]``; wait until decided."""
        for device_id, event_id in pairs:
            await self.bus.msi(device_id, event_id)
        if settle:
            await self.bus.wait_settled()

    async def query(self, device_id, event_id, *, wait=True):
        """Ask the query port; the scoreboard checks the answer (``wait``: until it came)."""
        await self.query_source.send(PayloadTransaction(
            payload=pack(MsiRequest, device_id=device_id, event_id=event_id)))
        edge = RisingEdge(self.dut.clk)
        while wait and (not self.query_source.idle() or self.scoreboard.queries_pending()):
            await edge

    async def _drain_query_answers(self):
        while True:
            await self.query_sink.recv()        # the scoreboard's monitor checks them

    async def expect_drop(self, driver, device_id, event_id, reason):
        """Signal one MSI and check it was dropped for ``reason`` (GITS_ERR_MSI)."""
        await driver.clear_errors()
        await self.msis([(device_id, event_id)])
        record = await driver.read_msi_error()
        got = None if record is None else record.reason
        assert got == reason, f"MSI ({device_id}, {event_id}): dropped {got}, expected {reason}"


def _ite(driver, itt, event_id):
    return itt + event_id * driver.features.ite_bytes


# ---------------------------------------------------------------------------------------------
# Directed tests.

BOTH_PAUSED = ((("idle_inserter", "backpressure_inserter"),
                [(None, None), (random_pause, random_pause)]),)
"""Run a test once without pauses, once with random idle cycles and backpressure."""


def _lpi(driver, device_id, event_id, offset=0):
    """The LPI the tests map (DeviceID, EventID) to: 64 per device, wrapping in the LPIs."""
    lpis = (1 << driver.bus.tb.params.id_bits) - LPI_BASE
    return LPI_BASE + (offset + 64 * device_id + event_id) % lpis


async def _map(driver, device_id, bits, events, icid_of, offset=0):
    """MAPD a device and MAPTI ``events`` to :func:`_lpi`; check that none failed."""
    itt = await driver.map_device(device_id, bits)
    for event_id in events:
        await driver.map_event(device_id, event_id, _lpi(driver, device_id, event_id, offset),
                               icid_of(event_id))
    record = await driver.read_error()
    assert record is None, f"mapping device {device_id}: {record}"
    return itt


async def _quiesce(tb):
    await tb.bus.write_reg(REG["GITS_CTLR"], pack(GitsCtlr, enabled=0), 4)
    while not unpack(GitsCtlr, await tb.bus.read_reg(REG["GITS_CTLR"], 4))["quiescent"]:
        await tb.bus.idle()


async def _enable(tb):
    await tb.bus.write_reg(REG["GITS_CTLR"], pack(GitsCtlr, enabled=1), 4)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(idle_inserter=[None, random_pause], backpressure_inserter=[None, random_pause])
async def run_linux_bring_up(dut, idle_inserter=None, backpressure_inserter=None):
    """Linux's sequence: probe (disable, Quiescent, BASER probing, CBASER), MAPC + INVALL +
    SYNC per CPU, then MAPD and MAPTI + SYNC per event, and MSIs (32-bit CWRITER and
    CREADR accesses throughout, as Linux)."""
    tb = TB(dut, idle_inserter=idle_inserter, backpressure_inserter=backpressure_inserter)
    driver = await tb.start()
    n = tb.params.num_redistributors
    mapped = []
    for device_id, bits in ((0, 2), (1, 3), (7, 5), (2 ** tb.params.device_bits - 1, 1)):
        await driver.map_device(device_id, bits)
        for event_id in range(min(2 ** bits, 6)):
            await driver.map_event(device_id, event_id, _lpi(driver, device_id, event_id),
                                   (device_id + event_id) % n)
            mapped.append((device_id, event_id))
    await tb.msis([pair for pair in mapped for _ in range(2)])
    stats = await driver.stats()
    assert stats["MSI_TRANSLATED"] == 2 * len(mapped)
    assert stats["TCACHE_HIT"] > 0
    await tb.finish(driver, packets_at_least=2 * len(mapped))


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(*BOTH_PAUSED)
async def run_every_command(dut, idle_inserter=None, backpressure_inserter=None):
    """Each of the twelve commands succeeding, with MSIs that must see each change."""
    tb = TB(dut, idle_inserter=idle_inserter, backpressure_inserter=backpressure_inserter)
    driver = await tb.start()
    await _map(driver, 0, 4, range(8), lambda e: e % 3)
    await driver.map_device(1, 3)
    await driver.map_event(1, 0, 9000, 1)
    await driver.map_device(2, 14)
    await driver.map_event(2, 8200, 8200, 2)                 # MAPI: pINTID = EventID
    await tb.msis([(0, e) for e in range(8)] + [(1, 0), (2, 8200)])
    await driver.int_(0, 1)
    await driver.clear(0, 1)
    await driver.inv(0, 2)
    await driver.move(0, 0, 2)                               # RD 0 -> RD 2: MOVLPI to RD 0
    await tb.msis([(0, 0)])                                  # was cached on RD 0
    await driver.discard(0, 3)                               # CLEAR, then unmapped
    await tb.expect_drop(driver, 0, 3, DropReason.UNMAPPED_INTERRUPT)
    await driver.invall(1)
    await driver.move_all(0, 1)
    await driver.move_all(2, 2)                              # same RD: no packet
    await driver.sync(2)
    await driver.map_collection(1, 0)                        # collection 1: RD 1 -> RD 0
    await tb.msis([(0, 1), (0, 4)])
    await driver.map_event(0, 4, 8500, 2)                    # MAPTI over a cached mapping
    await tb.msis([(0, 4)])
    await driver.unmap_device(1)
    await tb.expect_drop(driver, 1, 0, DropReason.UNMAPPED_DEVICE)
    await driver.map_device(0, 2)                            # a new, empty ITT
    await tb.expect_drop(driver, 0, 0, DropReason.UNMAPPED_INTERRUPT)
    await tb.finish(driver, packets_at_least=20)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_command_errors(dut):
    """Every command error code; under the stall policy each stalls the queue, which
    goes on once the failing command is replaced (CWRITER.Retry)."""
    tb = TB(dut)
    p = tb.params
    driver = await tb.start()
    await _map(driver, 0, 4, range(12), lambda e: e % 3)
    await driver.map_device(2, p.event_bits)
    await driver.map_event(0, 2, LPI_BASE + 2, 6, sync=False)   # collection 6 is not mapped
    await driver.discard(0, 3)
    too_many_ids = {"device_id": 1 << p.device_bits, "icid": 1 << p.collection_bits,
                    "rdbase": p.num_redistributors, "pintid": 1 << p.id_bits}
    errors = [
        (Cmd.MAPD, CmdError.MAPD_DEVICE_OOR,
         dict(device_id=too_many_ids["device_id"], size=1, itt_addr=0, valid=1)),
        (Cmd.MAPD, CmdError.MAPD_ITTSIZE_OOR, dict(device_id=3, size=p.event_bits, valid=1)),
        (Cmd.MAPC, CmdError.MAPC_PROCNUM_OOR, dict(icid=1, rdbase=too_many_ids["rdbase"],
                                                  valid=1)),
        (Cmd.MAPC, CmdError.MAPC_COLLECTION_OOR, dict(icid=too_many_ids["icid"], valid=1)),
        (Cmd.MAPTI, CmdError.MAPTI_UNMAPPED_DEVICE, dict(device_id=7, pintid=LPI_BASE)),
        (Cmd.MAPTI, CmdError.MAPTI_ID_OOR, dict(device_id=0, event_id=16, pintid=LPI_BASE)),
        (Cmd.MAPTI, CmdError.MAPTI_PHYSICALID_OOR, dict(device_id=0, event_id=13, pintid=100)),
        (Cmd.MAPTI, CmdError.MAPTI_PHYSICALID_OOR,
         dict(device_id=0, event_id=13, pintid=too_many_ids["pintid"])),
        (Cmd.MAPTI, CmdError.MAPC_COLLECTION_OOR,
         dict(device_id=0, event_id=13, pintid=LPI_BASE, icid=too_many_ids["icid"])),
        (Cmd.MAPI, CmdError.MAPTI_UNMAPPED_DEVICE, dict(device_id=9, event_id=8300)),
        (Cmd.MAPI, CmdError.MAPTI_ID_OOR, dict(device_id=0, event_id=16)),
        (Cmd.MAPI, CmdError.MAPTI_PHYSICALID_OOR, dict(device_id=0, event_id=13)),
        (Cmd.MAPI, CmdError.MAPC_COLLECTION_OOR,
         dict(device_id=2, event_id=8300, icid=too_many_ids["icid"])),
        (Cmd.MOVI, CmdError.MOVI_UNMAPPED_INTERRUPT, dict(device_id=0, event_id=14)),
        (Cmd.MOVI, CmdError.MOVI_UNMAPPED_COLLECTION, dict(device_id=0, event_id=5, icid=6)),
        (Cmd.INT, CmdError.INT_UNMAPPED_INTERRUPT, dict(device_id=0, event_id=3)),
        (Cmd.CLEAR, CmdError.CLEAR_UNMAPPED_INTERRUPT, dict(device_id=1, event_id=0)),
        (Cmd.INV, CmdError.INV_UNMAPPED_INTERRUPT, dict(device_id=0, event_id=17)),
        (Cmd.DISCARD, CmdError.DISCARD_UNMAPPED_INTERRUPT, dict(device_id=0, event_id=2)),
        (Cmd.INT, CmdError.INT_UNMAPPED_INTERRUPT, dict(device_id=0, event_id=2)),
        (Cmd.INVALL, CmdError.INVALL_UNMAPPED_COLLECTION, dict(icid=6)),
        (Cmd.MOVALL, CmdError.MOVALL_PROCNUM_OOR, dict(rdbase1=0, rdbase2=7)),
        (Cmd.MOVALL, CmdError.MOVALL_PROCNUM_OOR, dict(rdbase1=5, rdbase2=0)),
        (Cmd.SYNC, CmdError.SYNC_PROCNUM_OOR, dict(rdbase=9)),
        (Cmd.VMAPP, CmdError.UNSUPPORTED_COMMAND, dict(device_id=0)),
        (0x77, CmdError.UNSUPPORTED_COMMAND, dict(device_id=0)),
    ]
    for cmd, code, fields in errors:
        await tb.post(driver, cmd, expect=code, **fields)
        await tb.msis([(0, 0)])                 # the ITS keeps translating
    # CWRITER beyond the ring: ignored, recorded, under either policy.
    await tb.bus.write_reg(REG["GITS_CWRITER"], pack(GitsCwriter, offset=driver.ring_bytes // 32),
                           4)
    record = await driver.read_error()
    assert record is not None and record.code == CmdError.CWRITER_OOR, record
    await driver.clear_errors()
    await driver.int_(0, 0)                     # the queue still works
    await tb.finish(driver, packets_at_least=len(errors))


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(table=["flat_4K", "flat_16K", "flat_64K", "two_level_4K", "two_level_16K",
                           "two_level_64K"])
async def run_device_tables(dut, table="two_level_4K"):
    """Flat and two-level device tables of each page size: devices at the edges of the
    level-2 pages, an invalid level-1 entry (MAPD_DEVICE_OOR, DEVICE_OOR), and a flat
    table cut short by BASER0.Size."""
    tb = TB(dut)
    form, size = table.rsplit("_", 1)
    page = int(size[:-1]) * 1024
    driver = await tb.start(page_size=page, indirect=form == "two_level")
    devices = driver.tables[BaserType.DEVICES]
    assert devices.indirect == (form == "two_level") and devices.page_bytes == page
    last = (1 << tb.params.device_bits) - 1
    per_page = page // ENTRY_BYTES
    if devices.indirect:
        # The last device's level-2 page is not allocated yet: its level-1 entry is invalid.
        await tb.post(driver, Cmd.MAPD, expect=CmdError.MAPD_DEVICE_OOR, device_id=last, size=1,
                      itt_addr=0, valid=1)
        await tb.expect_drop(driver, last, 0, DropReason.DEVICE_OOR)
    ids = sorted({0, 1, per_page - 1, per_page, last} & set(range(last + 1)))
    for device_id in ids:
        await _map(driver, device_id, 2, range(3), lambda e: e % 3)
    await tb.msis([(d, e) for d in ids for e in range(3)] * 2)
    if not devices.indirect and devices.pages > 1:
        # BASER0.Size = 0: only the first page of DTEs exists.
        await _quiesce(tb)
        baser = await tb.bus.read_reg(REG["GITS_BASER0"])
        await tb.bus.write_reg(REG["GITS_BASER0"], baser & ~0xFF)
        await _enable(tb)
        # The RTL keeps the translations it cached across the BASER0 rewrite (the model,
        # which has no cache, then disagrees): invalidate, so this checks the table's cut.
        await tb.bus.write_reg(REG["GITS_CACHE_CTL"], pack(CacheCtl, invalidate=1), 4)
        await tb.expect_drop(driver, per_page, 0, DropReason.DEVICE_OOR)
        await tb.post(driver, Cmd.MAPD, expect=CmdError.MAPD_DEVICE_OOR, device_id=per_page,
                      size=1, itt_addr=0, valid=1)
        await _quiesce(tb)
        await tb.bus.write_reg(REG["GITS_BASER0"], baser)
        await _enable(tb)
        await tb.msis([(per_page, 1)])
    await tb.finish(driver, packets_at_least=len(ids) * 6)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_collections_beyond_hcc(dut):
    """Collections at and above GITS_TYPER.HCC live in the collection table: map, remap,
    unmap them, MOVI between on-chip and memory collections, a CTE naming no
    redistributor, an ICID beyond the collections."""
    tb = TB(dut)
    p = tb.params
    driver = await tb.start()
    table = driver.tables[BaserType.COLLECTIONS]
    await driver.map_collection(5, 1)
    await driver.map_collection(200, 2)
    icids = [0, 1, 2, 5, 200, 5]
    await _map(driver, 0, 4, range(6), lambda e: icids[e])
    await tb.msis([(0, e) for e in range(6)] * 2)
    await driver.map_collection(5, 0)                       # remap in memory
    await tb.msis([(0, 3), (0, 5)])
    await driver.move(0, 0, 200)                             # on chip -> memory
    await driver.move(0, 4, 1)                               # memory -> on chip
    await tb.msis([(0, 0), (0, 4)])
    await driver.invall(200)
    await driver.invall(5)
    await driver.map_collection(5, 0, valid=False)
    await tb.expect_drop(driver, 0, 3, DropReason.UNMAPPED_COLLECTION)
    # A valid CTE that names no redistributor counts as unmapped.
    tb.write_entry(table.base + 7 * ENTRY_BYTES, pack(
        CollectionTableEntry, valid=1, rdbase=p.num_redistributors + 2, icid=7))
    await driver.map_event(0, 6, LPI_BASE + 6, 7, sync=False)
    await tb.expect_drop(driver, 0, 6, DropReason.UNMAPPED_COLLECTION)
    await tb.post(driver, Cmd.INT, expect=CmdError.INT_UNMAPPED_INTERRUPT, device_id=0,
                  event_id=6)
    await tb.post(driver, Cmd.INVALL, expect=CmdError.INVALL_UNMAPPED_COLLECTION, icid=7)
    await tb.post(driver, Cmd.MAPC, expect=CmdError.MAPC_COLLECTION_OOR,
                  icid=1 << p.collection_bits, rdbase=0, valid=1)
    await tb.finish(driver, packets_at_least=14)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(*BOTH_PAUSED)
async def run_ring_wrap(dut, idle_inserter=None, backpressure_inserter=None):
    """Hundreds of INTs without SYNC through a 4 KiB ring (128 slots): CREADR wraps to 0
    again and again; the driver writes CWRITER 32 bits at a time, as Linux."""
    tb = TB(dut, idle_inserter=idle_inserter, backpressure_inserter=backpressure_inserter)
    driver = await tb.start(ring_bytes=4096)
    await _map(driver, 0, 3, range(8), lambda e: e % 3)
    for round_ in range(2):
        await driver.send_batch([(Cmd.INT, dict(device_id=0, event_id=(n + round_) % 8))
                                 for n in range(140)])
        await tb.msis([(0, e) for e in range(8)])
    wraps = sum(1 for (_, a), (_, b) in zip(tb.scoreboard.commands, tb.scoreboard.commands[1:])
                if b.offset < a.offset)
    assert wraps >= 2, f"the ring wrapped {wraps} times"
    await tb.finish(driver, packets_at_least=280)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_stall_and_retry(dut):
    """A transient memory error on a command's table read: under stall, CREADR.Stalled
    until CWRITER.Retry re-executes it (then it succeeds), MSIs translated meanwhile; a
    stall cleared by a new GITS_CBASER. Under skip the command is skipped. Retry while
    not stalled has no effect."""
    tb = TB(dut)
    stall = tb.params.error_policy == "stall"
    driver = await tb.start()
    itt = await _map(driver, 0, 3, range(4), lambda e: e % 3)
    tb.inject_error(_ite(driver, itt, 1), ENTRY_BYTES, "SLVERR")
    if stall:
        try:
            await driver.int_(0, 1, sync=False)
            raise AssertionError("INT on a failing ITE read did not stall")
        except ItsStalled as stalled:
            assert stalled.code == CmdError.TABLE_READ_ERROR, stalled
        creadr = unpack(GitsCreadr, await tb.bus.read_reg(REG["GITS_CREADR"]))
        assert creadr["stalled"]
        await tb.msis([(0, 2), (0, 0)])                      # translation goes on
        await tb.expect_drop(driver, 0, 1, DropReason.MEMORY_ERROR)
        tb.clear_errors()
        await driver.resume(skip=False)                      # Retry: INT again, succeeds
        # A stall cleared by writing GITS_CBASER (while disabled): the ring starts afresh.
        try:
            await driver.int_(0, 6, sync=False)
            raise AssertionError("INT of an unmapped event did not stall")
        except ItsStalled as stalled:
            assert stalled.code == CmdError.INT_UNMAPPED_INTERRUPT, stalled
        await driver.clear_errors()
        await _quiesce(tb)
        cbaser = await tb.bus.read_reg(REG["GITS_CBASER"])
        await tb.bus.write_reg(REG["GITS_CBASER"], cbaser)
        creadr = unpack(GitsCreadr, await tb.bus.read_reg(REG["GITS_CREADR"]))
        assert not creadr["stalled"] and creadr["offset"] == 0, creadr
        await _enable(tb)
        await driver.resync()               # CBASER's write reset CWRITER to 0
    else:
        await tb.post(driver, Cmd.INT, expect=CmdError.TABLE_READ_ERROR, device_id=0,
                      event_id=1)
    await driver.int_(0, 1)
    # Retry while not stalled: nothing happens.
    cwriter = await tb.bus.read_reg(REG["GITS_CWRITER"], 4)
    await tb.bus.write_reg(REG["GITS_CWRITER"], cwriter | pack(GitsCwriter, retry=1), 4)
    await driver.int_(0, 2)
    await tb.finish(driver, packets_at_least=5)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_sync_ordering(dut):
    """Redistributors that take 60..200 cycles to acknowledge: every SYNC retires only
    after its redistributor acknowledged it, and after every earlier packet to it."""
    tb = TB(dut, ack_delay=(60, 200))
    driver = await tb.start()
    await _map(driver, 0, 3, range(6), lambda e: e % 3)
    n = tb.params.num_redistributors
    for round_ in range(3):
        await tb.msis([(0, e) for e in range(6)], settle=False)
        await driver.send_batch([(Cmd.INT, dict(device_id=0, event_id=e)) for e in range(6)] +
                                [(Cmd.SYNC, dict(rdbase=rd)) for rd in range(n)] +
                                [(Cmd.INV, dict(device_id=0, event_id=round_)),
                                 (Cmd.SYNC, dict(rdbase=round_ % n))])
    await tb.wait_idle()
    synced = [[] for _ in range(n)]
    for cycle, executed in tb.scoreboard.commands:
        if executed.command is not None and executed.command.cmd == Cmd.SYNC \
                and executed.error is CmdError.NONE:
            synced[executed.command.rdbase].append(cycle)
    for rd, redistributor in enumerate(tb.redistributors):
        assert len(synced[rd]) == len(redistributor.acks), (rd, synced[rd], redistributor.acks)
        for retired, acked in zip(synced[rd], redistributor.acks):
            assert retired >= acked, f"RD {rd}: SYNC retired at cycle {retired}, acked {acked}"
    await tb.finish(driver, packets_at_least=36)


async def _traffic(tb, pairs, stop, *, gap=(0, 6), translater_share=0.0):
    """Background MSIs to random ``pairs`` until ``stop`` is set; returns how many."""
    count = 0
    rng = random.Random(tb.rng.random())
    while not stop.is_set():
        device_id, event_id = rng.choice(pairs)
        await tb.bus.msi(device_id, event_id, translater=rng.random() < translater_share)
        count += 1
        pause = rng.randint(*gap)
        if pause:
            await ClockCycles(tb.dut.clk, pause)
    return count


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(*BOTH_PAUSED)
async def run_moves_under_traffic(dut, idle_inserter=None, backpressure_inserter=None):
    """MOVI, MOVALL, MAPC remaps and INTs while MSIs keep arriving on the events being
    moved: each MSI's LPI goes where the mapping was when the ITS took it, and the
    MOVLPI/MOVALL packets stay in order with the SETs on each redistributor."""
    tb = TB(dut, idle_inserter=idle_inserter, backpressure_inserter=backpressure_inserter,
            settle=False)
    driver = await tb.start()
    n = tb.params.num_redistributors
    await _map(driver, 0, 4, range(16), lambda e: e % n)
    stop = cocotb.triggers.Event()
    traffic = cocotb.start_soon(_traffic(tb, [(0, e) for e in range(16)], stop))
    rng = random.Random(tb.rng.random())
    for step in range(30):
        choice = rng.randrange(4)
        if choice == 0:
            await driver.move(0, rng.randrange(16), rng.randrange(n))
        elif choice == 1:
            await driver.move_all(rng.randrange(n), rng.randrange(n))
        elif choice == 2:
            await driver.map_collection(rng.randrange(n), rng.randrange(n))
        else:
            await driver.int_(0, rng.randrange(16))
    stop.set()
    sent = await traffic
    tb.log.info("%d MSIs under traffic", sent)
    await tb.bus.wait_settled()
    await tb.finish(driver, packets_at_least=sent)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_discard(dut):
    """DISCARD: a CLEAR to the LPI's redistributor, then the event is unmapped (a cached
    translation too); a second DISCARD, INT and MSIs fail; the event can be mapped again.
    With only the on-chip collections (no collection table), as software that needs no
    more than GITS_TYPER.HCC collections sets it up."""
    tb = TB(dut)
    hcc = tb.params.hcc
    driver = await tb.start(collections=hcc, cpus=hcc)
    assert BaserType.COLLECTIONS not in driver.tables
    await _map(driver, 0, 2, range(4), lambda e: e % 2)
    await tb.msis([(0, 0), (0, 1), (0, 1)])
    await driver.discard(0, 0)
    await tb.expect_drop(driver, 0, 0, DropReason.UNMAPPED_INTERRUPT)
    await driver.discard(0, 1)                               # was cached
    await tb.expect_drop(driver, 0, 1, DropReason.UNMAPPED_INTERRUPT)
    await tb.post(driver, Cmd.DISCARD, expect=CmdError.DISCARD_UNMAPPED_INTERRUPT, device_id=0,
                  event_id=0)
    await tb.post(driver, Cmd.INT, expect=CmdError.INT_UNMAPPED_INTERRUPT, device_id=0,
                  event_id=1)
    await driver.map_event(0, 0, LPI_BASE + 77, hcc - 1)
    await tb.msis([(0, 0)])
    await tb.finish(driver, packets_at_least=6)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_msi_drops(dut):
    """Every reason an MSI is dropped, from the MSI stream and GITS_TRANSLATER: the drop
    record (and its overflow), the counters by reason, the error output."""
    tb = TB(dut)
    p = tb.params
    driver = await tb.start()
    devices = driver.tables[BaserType.DEVICES]
    collections = driver.tables[BaserType.COLLECTIONS]
    await _map(driver, 0, 2, range(2), lambda e: 0)
    await driver.map_event(0, 2, LPI_BASE + 2, 6, sync=False)    # collection 6 unmapped
    await driver.map_collection(5, 1)
    itt3 = await _map(driver, 3, 2, range(2), lambda e: 5)
    await _map(driver, 4, 2, range(2), lambda e: 1)
    for translater in (False, True):
        tb.bus.translater = translater
        await tb.expect_drop(driver, 1 << p.device_bits, 0, DropReason.DEVICE_OOR)
        await tb.expect_drop(driver, 5, 0, DropReason.UNMAPPED_DEVICE)
        await tb.expect_drop(driver, 0, 4, DropReason.EVENT_OOR)
        await tb.expect_drop(driver, 0, 3, DropReason.UNMAPPED_INTERRUPT)
        await tb.expect_drop(driver, 0, 2, DropReason.UNMAPPED_COLLECTION)
        await tb.msis([(0, 0), (0, 1)])
    tb.bus.translater = False
    # Memory errors on each table a translation reads (with the caches bypassed).
    await tb.bus.write_reg(REG["GITS_CACHE_CTL"], pack(CacheCtl, disable=1), 4)
    for resp in ("SLVERR", "DECERR"):
        for addr in (devices.base + 3 * ENTRY_BYTES, _ite(driver, itt3, 1),
                     collections.base + 5 * ENTRY_BYTES):
            tb.inject_error(addr, ENTRY_BYTES, resp)
            await tb.expect_drop(driver, 3, 1, DropReason.MEMORY_ERROR)
            tb.clear_errors()
    await tb.bus.write_reg(REG["GITS_CACHE_CTL"], pack(CacheCtl, disable=0), 4)
    # Two drops in a row: the record keeps the first and sets overflow.
    await driver.clear_errors()
    await tb.msis([(5, 0), (0, 3), (3, 0), (4, 1)])
    record = await driver.read_msi_error()
    assert record.reason == DropReason.UNMAPPED_DEVICE and record.overflow, record
    await tb.finish(driver, packets_at_least=6)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_disabled(dut):
    """With GITS_CTLR.Enabled = 0: MSIs (stream and GITS_TRANSLATER) are dropped as
    DISABLED, queries answer DISABLED, posted commands wait; enabling runs them. A DISABLED
    drop overtakes the drop of a walk in flight."""
    tb = TB(dut)
    driver = await tb.start()
    await _map(driver, 0, 2, range(4), lambda e: e % 3)
    await _quiesce(tb)
    await tb.expect_drop(driver, 0, 0, DropReason.DISABLED)
    await tb.bus.msi(0, 1, translater=True)
    await tb.expect_drop(driver, 0, 2, DropReason.DISABLED)
    answer = await driver.query(0, 1)
    assert answer.status == DropReason.DISABLED, answer
    await tb.query(0, 1)
    # A command posted while disabled is not executed until the ITS is enabled.
    cwriter = unpack(GitsCwriter, await tb.bus.read_reg(REG["GITS_CWRITER"]))["offset"] * 32
    await tb.bus.write_mem(driver.ring_base + cwriter, encode_command(Cmd.INT, device_id=0,
                                                                      event_id=3))
    await tb.bus.write_reg(REG["GITS_CWRITER"], pack(GitsCwriter, offset=cwriter // 32 + 1), 4)
    await ClockCycles(dut.clk, 100)
    creadr = unpack(GitsCreadr, await tb.bus.read_reg(REG["GITS_CREADR"]))
    assert creadr["offset"] * 32 == cwriter, creadr
    await _enable(tb)
    while unpack(GitsCreadr, await tb.bus.read_reg(REG["GITS_CREADR"]))["offset"] * 32 == cwriter:
        await tb.bus.idle()
    await driver.resync()               # after our own post behind the driver's back
    await tb.msis([(0, 0)])
    # Drops leave in decision order: the drop of a walk (an unmapped device) is overtaken by
    # a DISABLED drop decided at look-up while the walk waits for slow memory, and the drop
    # record keeps the first decided (docs/behaviour.md, "Ordering").
    await driver.clear_errors()
    latency, tb.axi_memory.latency = tb.axi_memory.latency, 200
    tb.bus.settle = False
    await tb.bus.msi(5, 0)
    await ClockCycles(dut.clk, 20)
    await tb.bus.write_reg(REG["GITS_CTLR"], pack(GitsCtlr, enabled=0), 4)
    await tb.bus.msi(0, 1)
    tb.bus.settle = True
    await tb.bus.wait_settled()
    tb.axi_memory.latency = latency
    record = await driver.read_msi_error()
    assert record.reason == DropReason.DISABLED and record.overflow, record
    await _enable(tb)
    await tb.finish(driver, packets_at_least=2)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_memory_errors(dut):
    """SLVERR and DECERR on a command fetch (COMMAND_READ_ERROR), on every table read a
    command makes (TABLE_READ_ERROR: level-1 entry, DTE, ITE, CTE) and on its table
    write (TABLE_WRITE_ERROR); nothing hangs, nothing is sent."""
    tb = TB(dut)
    driver = await tb.start(page_size=4096, indirect=True)
    devices = driver.tables[BaserType.DEVICES]
    collections = driver.tables[BaserType.COLLECTIONS]
    await driver.map_collection(5, 1)
    itt0 = await _map(driver, 0, 3, range(6), lambda e: 5 if e == 4 else e % 3)
    itt2 = await driver.map_device(2, tb.params.event_bits)
    level2 = unpack(Level1Entry, tb.memory.read_int(devices.base))["addr"] * CBASER_PAGE
    dte = [level2 + d * ENTRY_BYTES for d in range(4)]
    cte5 = collections.base + 5 * ENTRY_BYTES
    R, W = CmdError.TABLE_READ_ERROR, CmdError.TABLE_WRITE_ERROR
    for resp in ("SLVERR", "DECERR"):
        await tb.arm_fetch_error(driver, resp)
        await tb.post(driver, Cmd.INT, expect=CmdError.COMMAND_READ_ERROR, device_id=0,
                      event_id=0)
        cases = [
            ("read", devices.base, Cmd.MAPD, R, dict(device_id=1, size=1, itt_addr=0x100,
                                                     valid=1)),
            ("write", dte[1], Cmd.MAPD, W, dict(device_id=1, size=1, itt_addr=0x100, valid=1)),
            ("read", dte[0], Cmd.MAPTI, R, dict(device_id=0, event_id=6, pintid=LPI_BASE)),
            ("write", _ite(driver, itt0, 6), Cmd.MAPTI, W,
             dict(device_id=0, event_id=6, pintid=LPI_BASE)),
            ("read", dte[2], Cmd.MAPI, R, dict(device_id=2, event_id=8300)),
            ("write", _ite(driver, itt2, 8300), Cmd.MAPI, W, dict(device_id=2, event_id=8300)),
            ("read", _ite(driver, itt0, 1), Cmd.MOVI, R, dict(device_id=0, event_id=1, icid=2)),
            ("read", cte5, Cmd.MOVI, R, dict(device_id=0, event_id=1, icid=5)),
            ("write", _ite(driver, itt0, 1), Cmd.MOVI, W, dict(device_id=0, event_id=1,
                                                                icid=2)),
            ("read", _ite(driver, itt0, 0), Cmd.INT, R, dict(device_id=0, event_id=0)),
            ("read", cte5, Cmd.CLEAR, R, dict(device_id=0, event_id=4)),
            ("read", dte[0], Cmd.INV, R, dict(device_id=0, event_id=2)),
            ("read", _ite(driver, itt0, 3), Cmd.DISCARD, R, dict(device_id=0, event_id=3)),
            ("write", _ite(driver, itt0, 3), Cmd.DISCARD, W, dict(device_id=0, event_id=3)),
            ("read", cte5, Cmd.INVALL, R, dict(icid=5)),
            ("write", cte5, Cmd.MAPC, W, dict(icid=5, rdbase=2, valid=1)),
        ]
        for kind, addr, cmd, code, fields in cases:
            (tb.inject_error if kind == "read" else tb.inject_write_error)(addr, ENTRY_BYTES,
                                                                           resp)
            await tb.post(driver, cmd, expect=code, **fields)
            await tb.msis([(0, 5)])
    await driver.int_(0, 1)
    await tb.finish(driver, packets_at_least=3)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(backpressure_inserter=[None, heavy_pause])
async def run_query_port(dut, backpressure_inserter=None):
    """The query port answers every status, in order, while GITS_QUERY asks the same
    translator; answers wait when the port's consumer is not ready."""
    tb = TB(dut, backpressure_inserter=backpressure_inserter)
    p = tb.params
    driver = await tb.start()
    await _map(driver, 0, 4, range(10), lambda e: e % 3)
    await driver.map_event(0, 10, LPI_BASE + 10, 6, sync=False)
    asked = ([(0, e) for e in range(12)] + [(1, 0), (0, 40), (1 << p.device_bits, 0)])
    for index, (device_id, event_id) in enumerate(asked):
        await tb.query(device_id, event_id, wait=False)
        await driver.query(0, (event_id + 1) % 16)          # GITS_QUERY right behind it
        if index % 4 == 0:
            await tb.msis([(0, index % 10)], settle=False)
    await tb.bus.write_reg(REG["GITS_CACHE_CTL"], pack(CacheCtl, disable=1), 4)
    tb.inject_error(driver.tables[BaserType.DEVICES].base, ENTRY_BYTES, "DECERR")
    await tb.query(0, 1)
    tb.clear_errors()
    await tb.bus.write_reg(REG["GITS_CACHE_CTL"], pack(CacheCtl, disable=0), 4)
    await _quiesce(tb)
    await tb.query(0, 1)
    await _enable(tb)
    await tb.finish(driver, packets_at_least=4)
    statuses = set(tb.scoreboard.queries)
    assert statuses == set(DropReason), set(DropReason) - statuses


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_translater(dut):
    """MSIs through GITS_TRANSLATER (the DeviceID on the sideband, held from the write's
    address to its answer), interleaved with MSIs on the stream."""
    tb = TB(dut, translater=True)
    driver = await tb.start()
    await _map(driver, 1, 3, range(8), lambda e: e % 3)
    await _map(driver, 6, 3, range(8), lambda e: (e + 1) % 3)
    for round_ in range(4):
        for event_id in range(8):
            await tb.bus.msi(1 if event_id % 2 else 6, event_id)
            await tb.bus.msi(6 if event_id % 2 else 1, event_id, translater=False)
        await tb.bus.msi(9, round_)                          # unmapped device: dropped
    await tb.bus.wait_settled()
    await tb.finish(driver, packets_at_least=64)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def run_caches(dut):
    """More events than the translation cache holds, more devices than the device cache
    holds: hits, misses, evictions; remaps of cached events and devices must never
    hit stale; GITS_CACHE_CTL bypass and invalidate."""
    tb = TB(dut)
    driver = await tb.start()
    n = tb.params.num_redistributors
    pairs = []
    for device_id in range(4):
        await _map(driver, device_id, 3, range(6), lambda e, d=device_id: (d + e) % n)
        pairs += [(device_id, e) for e in range(6)]
    rng = random.Random(tb.rng.random())
    hot = pairs[:5]
    await tb.msis([rng.choice(hot if rng.random() < 0.6 else pairs) for _ in range(150)])
    await driver.map_event(0, 0, LPI_BASE + 999, 2)         # a hot, cached event
    await tb.msis([(0, 0), (0, 1)])
    await _map(driver, 1, 2, range(2), lambda e: 1, offset=2000)  # a new ITT
    await tb.msis([(1, 0), (1, 1), (1, 2)])
    before = await driver.stats()
    await tb.bus.write_reg(REG["GITS_CACHE_CTL"], pack(CacheCtl, disable=1), 4)
    await tb.msis(hot * 3)
    after = await driver.stats()
    assert after["TCACHE_HIT"] == before["TCACHE_HIT"], (before, after)
    await tb.bus.write_reg(REG["GITS_CACHE_CTL"], pack(CacheCtl, disable=0), 4)
    await tb.msis(hot * 2)
    await tb.bus.write_reg(REG["GITS_CACHE_CTL"], pack(CacheCtl, invalidate=1), 4)
    await tb.msis(hot)
    await tb.finish(driver, packets_at_least=150)


# ---------------------------------------------------------------------------------------------
# Constrained-random test.

class RandomWorld:
    """What the random test believes is mapped (its guesses steer the choices; the
    scoreboard's model, not this, decides what is right).

    Members
    -------
    devices : dict of int to int
        DeviceID -> EventID bits of its ITT.
    events : dict of (int, int) to (int, int)
        (DeviceID, EventID) -> (pINTID, ICID) believed mapped.
    collections : list of int
        ICIDs believed mapped (on chip and in memory).
    """

    def __init__(self, rng, params):
        self.rng = rng
        self.params = params
        self.devices = {}
        self.events = {}
        self.collections = list(range(params.num_redistributors))

    def lpi(self):
        return self.rng.randrange(LPI_BASE, 1 << self.params.id_bits)

    def device(self):
        return self.rng.choice(sorted(self.devices))

    def event(self):
        """A (DeviceID, EventID) in a mapped device's range, mapped or not."""
        device_id = self.device()
        return device_id, self.rng.randrange(1 << self.devices[device_id])

    def mapped(self):
        return self.rng.choice(sorted(self.events)) if self.events else self.event()

    def stray(self):
        """An MSI the ITS must drop: unmapped event, EventID or DeviceID out of range."""
        kind = self.rng.randrange(3)
        if kind == 0:
            device_id, event_id = self.event()
            return device_id, event_id
        if kind == 1:
            device_id = self.device()
            return device_id, (1 << self.devices[device_id]) + self.rng.randrange(4)
        return (1 << self.params.device_bits) + self.rng.randrange(8), 0


def _random_error(world, rng, params):
    """A command that fails (or might), with fields chosen to hit one check."""
    device_id, event_id = world.event()
    return rng.choice([
        (Cmd.MAPD, dict(device_id=(1 << params.device_bits) + 1, size=1, valid=1)),
        (Cmd.MAPD, dict(device_id=device_id, size=params.event_bits, valid=1)),
        (Cmd.MAPC, dict(icid=1 << params.collection_bits, rdbase=0, valid=1)),
        (Cmd.MAPC, dict(icid=0, rdbase=params.num_redistributors + 1, valid=1)),
        (Cmd.MAPTI, dict(device_id=device_id, event_id=event_id, pintid=rng.randrange(LPI_BASE),
                         icid=0)),
        (Cmd.MAPTI, dict(device_id=device_id, event_id=1 << 20, pintid=LPI_BASE, icid=0)),
        (Cmd.MAPI, dict(device_id=device_id, event_id=event_id, icid=0)),
        (Cmd.MOVI, dict(device_id=device_id, event_id=event_id, icid=rng.randrange(
            params.hcc, 64))),
        (Cmd.INT, dict(device_id=device_id, event_id=(1 << world.devices[device_id]) + 1)),
        (Cmd.INVALL, dict(icid=rng.randrange(params.hcc, 64))),
        (Cmd.MOVALL, dict(rdbase1=0, rdbase2=params.num_redistributors)),
        (Cmd.SYNC, dict(rdbase=params.num_redistributors + 3)),
        (rng.choice([Cmd.VMAPP, Cmd.VSYNC, 0x00, 0x42]), dict(device_id=device_id)),
    ])


def _long_error(world, rng, params):
    """An illegal command of the long mix (``its regress --long``): an out-of-range or
    unmapped DeviceID, EventID, ICID or pINTID, an unmapped collection, a bad ITT size
    (the model knows the error of each); else one of :func:`_random_error`'s."""
    device_id, event_id = world.event()
    unmapped = rng.choice([d for d in range(1 << params.device_bits) if d not in world.devices]
                          or [device_id])
    far_device = (1 << params.device_bits) + rng.randrange(1 << 12)
    far_icid = (1 << params.collection_bits) + rng.randrange(64)
    loose_icid = rng.choice([i for i in range(params.hcc, 1 << params.collection_bits)
                             if i not in world.collections] or [far_icid])
    return rng.choice([
        (Cmd.MAPTI, dict(device_id=unmapped, event_id=event_id, pintid=world.lpi(), icid=0)),
        (Cmd.MAPTI, dict(device_id=far_device, event_id=0, pintid=world.lpi(), icid=0)),
        (Cmd.MAPTI, dict(device_id=device_id, event_id=event_id, pintid=world.lpi(),
                         icid=far_icid)),
        (Cmd.MAPTI, dict(device_id=device_id, event_id=event_id,
                         pintid=(1 << params.id_bits) + rng.randrange(1 << 10), icid=0)),
        (Cmd.MAPTI, dict(device_id=device_id, event_id=(1 << world.devices[device_id])
                         + rng.randrange(16), pintid=world.lpi(), icid=0)),
        (rng.choice([Cmd.INT, Cmd.CLEAR, Cmd.INV, Cmd.DISCARD]),
         dict(device_id=rng.choice([unmapped, far_device]), event_id=event_id)),
        (Cmd.MOVI, dict(device_id=device_id, event_id=event_id, icid=far_icid)),
        (Cmd.MOVI, dict(device_id=unmapped, event_id=event_id, icid=0)),
        (Cmd.INVALL, dict(icid=rng.choice([far_icid, loose_icid]))),
        (Cmd.MAPC, dict(icid=far_icid, rdbase=0, valid=rng.randrange(2))),
        (Cmd.MAPD, dict(device_id=far_device, size=rng.randrange(params.event_bits),
                        valid=1)),
        (Cmd.MAPD, dict(device_id=unmapped, size=rng.randrange(params.event_bits, 32),
                        valid=1)),
        _random_error(world, rng, params),
    ])


def _ring(world, rng, params):
    """A ring's worth of commands for the long mix: legal ones on what the test believes
    mapped, about a quarter illegal (:func:`_long_error`)."""
    n = params.num_redistributors
    commands = []
    for _ in range(rng.randint(20, 100)):
        device_id, event_id = world.mapped()
        kind = rng.random()
        if kind < 0.25:
            commands.append(_long_error(world, rng, params))
        elif kind < 0.55:
            commands.append((rng.choice([Cmd.INT, Cmd.INV, Cmd.CLEAR]),
                             dict(device_id=device_id, event_id=event_id)))
        elif kind < 0.7:
            commands.append((Cmd.MOVI, dict(device_id=device_id, event_id=event_id,
                                            icid=rng.choice(world.collections))))
        elif kind < 0.85:
            device_id, event_id = world.event()
            lpi, icid = world.lpi(), rng.choice(world.collections)
            commands.append((Cmd.MAPTI, dict(device_id=device_id, event_id=event_id,
                                             pintid=lpi, icid=icid)))
            world.events[(device_id, event_id)] = (lpi, icid)
        elif kind < 0.9:
            commands.append((Cmd.DISCARD, dict(device_id=device_id, event_id=event_id)))
            world.events.pop((device_id, event_id), None)
        elif kind < 0.95:
            commands.append((Cmd.SYNC, dict(rdbase=rng.randrange(n))))
        else:
            commands.append((Cmd.INVALL, dict(icid=rng.choice(world.collections))))
    return commands


class _LatencySpikes:
    """Now and then the memory's latency jumps for a while (the long mix)."""

    def __init__(self, tb, rng):
        self.tb, self.rng, self.running, self.spikes = tb, rng, True, 0
        self.base = tb.axi_memory.latency
        self.task = cocotb.start_soon(self._run())

    async def _run(self):
        memory, clock = self.tb.axi_memory, self.tb.dut.clk
        while self.running:
            await ClockCycles(clock, self.rng.randint(200, 4000))
            if not self.running:
                break
            memory.latency = self.rng.randint(40, 400)
            self.spikes += 1
            await ClockCycles(clock, self.rng.randint(20, 1500))
            memory.latency = self.base

    def stop(self):
        self.running = False
        self.tb.axi_memory.latency = self.base


LONG = long_of_run()
"""Commands the random mix runs at least (``its regress --long``, through
:data:`gic.tb.common.counts.LONG_VARIABLE`); 0: its usual 50 to 80 steps."""


@cocotb.test(timeout_time=4 * TIMEOUT_US * max(1, LONG // 2000), timeout_unit="us")
async def run_random_mix(dut):
    """A seeded mix: a random table format, ring, memory latency and reordering, pauses
    and redistributor delays; many devices; background MSI traffic (stream and
    GITS_TRANSLATER, mapped and stray) while random commands remap, move, discard,
    invalidate and fail, with memory errors and disable windows in between.

    Long (``LONG`` commands, ``its regress --long``): it keeps going until that many
    commands retired, with rings of commands a quarter of them illegal
    (:func:`_ring`, :func:`_long_error`), more illegal single commands and memory
    errors, MSIs to random DeviceIDs too (mapped and not) and latency spikes on the
    memory."""
    seed = seed_of_run()
    rng = random.Random(f"random_mix-{seed}")
    params = params_of_run()
    inserters = [None, None, random_pause, cycle_pause, heavy_pause]
    config = dict(
        table=rng.choice(["flat", "two_level"]), page=rng.choice([4096, 16384, 65536]),
        ring=rng.choice([4096, 8192]), latency=rng.randint(1, 12), reorder=rng.random() < 0.5,
        idle=rng.choice(inserters), backpressure=rng.choice(inserters),
        ack_delay=rng.choice([(1, 4), (1, 40), (20, 150)]),
        translater_share=rng.choice([0.0, 0.0, 0.25]), devices=rng.randint(3, 20),
        steps=rng.randint(50, 80), gap=rng.choice([(0, 0), (0, 4), (2, 20)]))
    tb = TB(dut, idle_inserter=config["idle"], backpressure_inserter=config["backpressure"],
            latency=config["latency"], reorder=config["reorder"], ack_delay=config["ack_delay"],
            settle=False)
    tb.log.info("random mix: %s", {k: getattr(v, "__name__", v) for k, v in config.items()})
    driver = await tb.start(page_size=config["page"], indirect=config["table"] == "two_level",
                            ring_bytes=config["ring"])
    n = params.num_redistributors
    world = RandomWorld(rng, params)
    extra = sorted(rng.sample(range(params.hcc, 64), 3))
    for icid in extra:
        await tb.post(driver, Cmd.MAPC, expect=None, icid=icid, rdbase=rng.randrange(n), valid=1)
        world.collections.append(icid)
    for device_id in sorted(rng.sample(range(1 << params.device_bits), config["devices"])):
        world.devices[device_id] = rng.randint(1, 5)
        await driver.map_device(device_id, world.devices[device_id])
        for event_id in rng.sample(range(1 << world.devices[device_id]),
                                   max(1, (1 << world.devices[device_id]) // 2)):
            world.events[(device_id, event_id)] = (world.lpi(), rng.choice(world.collections))
    await driver.send_batch([(Cmd.MAPTI, dict(device_id=d, event_id=e, pintid=lpi, icid=icid))
                             for (d, e), (lpi, icid) in sorted(world.events.items())])

    stop = cocotb.triggers.Event()
    pairs = sorted(world.events) + [world.stray() for _ in range(len(world.events) // 4 + 1)]
    if LONG:
        pairs += [(rng.randrange(1 << params.device_bits), rng.randrange(32))
                  for _ in range(len(world.events) // 4 + 1)]
        spikes = _LatencySpikes(tb, random.Random(rng.random()))
    traffic = cocotb.start_soon(_traffic(tb, pairs, stop, gap=config["gap"],
                                         translater_share=config["translater_share"]))
    sent = 0

    async def pause_traffic():
        nonlocal traffic, sent
        stop.set()
        sent += await traffic
        await tb.bus.wait_settled()

    def resume_traffic():
        nonlocal traffic
        stop.clear()
        traffic = cocotb.start_soon(_traffic(tb, pairs, stop, gap=config["gap"],
                                             translater_share=config["translater_share"]))

    operations = ["mapti"] * 4 + ["movi"] * 3 + ["discard", "int", "clear", "inv", "invall",
                  "movall", "sync", "mapd", "mapc", "batch", "query", "cache", "error",
                  "error", "memory", "disable"]
    if LONG:
        operations += ["ring"] * 6 + ["long_error"] * 3 + ["memory"] * 2
    step = 0
    while (len(tb.scoreboard.commands) < LONG) if LONG else step < config["steps"]:
        step += 1
        operation = rng.choice(operations)
        device_id, event_id = world.mapped()
        if operation == "mapti":
            device_id, event_id = world.event()
            lpi, icid = world.lpi(), rng.choice(world.collections)
            fields = dict(device_id=device_id, event_id=event_id, icid=icid)
            if rng.random() < 0.9:
                await tb.post(driver, Cmd.MAPTI, expect=None, sync=rng.random() < 0.5,
                              pintid=lpi, **fields)
            else:                           # pINTID = EventID: below 8192, an error
                await tb.post(driver, Cmd.MAPI, expect=None, **fields)
            world.events[(device_id, event_id)] = (lpi, icid)
        elif operation == "movi":
            icid = rng.choice(world.collections)
            await tb.post(driver, Cmd.MOVI, expect=None, sync=rng.random() < 0.5,
                          device_id=device_id, event_id=event_id, icid=icid)
        elif operation == "discard":
            await tb.post(driver, Cmd.DISCARD, expect=None, device_id=device_id,
                          event_id=event_id)
            world.events.pop((device_id, event_id), None)
        elif operation in ("int", "clear", "inv"):
            await tb.post(driver, Cmd[operation.upper()], expect=None, device_id=device_id,
                          event_id=event_id)
        elif operation == "invall":
            await tb.post(driver, Cmd.INVALL, expect=None, icid=rng.choice(world.collections))
        elif operation == "movall":
            await tb.post(driver, Cmd.MOVALL, expect=None, rdbase1=rng.randrange(n),
                          rdbase2=rng.randrange(n))
        elif operation == "sync":
            await tb.post(driver, Cmd.SYNC, expect=None, rdbase=rng.randrange(n))
        elif operation == "mapd":
            device_id = world.device()
            bits = rng.randint(1, 5)
            itt = await driver.alloc((1 << bits) * driver.features.ite_bytes, ITT_ALIGN)
            await tb.post(driver, Cmd.MAPD, expect=None, device_id=device_id, size=bits - 1,
                          itt_addr=itt // ITT_ALIGN, valid=int(rng.random() < 0.9))
            world.devices[device_id] = bits
            for key in [key for key in world.events if key[0] == device_id]:
                del world.events[key]
        elif operation == "mapc":
            await tb.post(driver, Cmd.MAPC, expect=None, sync=True,
                          icid=rng.choice(world.collections), rdbase=rng.randrange(n), valid=1)
        elif operation == "batch":
            await tb.post_batch(driver, [(rng.choice([Cmd.INT, Cmd.INV, Cmd.CLEAR]),
                                          dict(zip(("device_id", "event_id"), world.mapped())))
                                         for _ in range(rng.randint(5, 60))])
            await driver.clear_errors()
        elif operation == "query":
            await driver.query(*world.mapped())
            await tb.query(*world.stray(), wait=False)
            await tb.query(*world.mapped(), wait=False)
        elif operation == "cache":
            await tb.bus.write_reg(REG["GITS_CACHE_CTL"], pack(
                CacheCtl, invalidate=int(rng.random() < 0.5), disable=int(rng.random() < 0.3)),
                4)
        elif operation == "error":
            cmd, fields = _random_error(world, rng, params)
            await tb.post(driver, cmd, expect=None, **fields)
        elif operation == "long_error":
            cmd, fields = _long_error(world, rng, params)
            await tb.post(driver, cmd, expect=None, **fields)
        elif operation == "ring":
            await tb.post_batch(driver, _ring(world, rng, params))
            await driver.clear_errors()
        elif operation == "memory":
            # A memory error on an entry a command reads; MSIs wait, since the model
            # decides them when they are taken and the RTL reads memory later.
            await pause_traffic()
            target = rng.choice(["dte", "ite", "fetch"])
            resp = rng.choice(["SLVERR", "DECERR"])
            if target == "fetch":
                await tb.arm_fetch_error(driver, resp)
            else:
                entry = _dte_address(tb, driver, device_id)
                if target == "ite":
                    dte = unpack(DeviceTableEntry, tb.memory.read_int(entry))
                    entry = dte["itt_addr"] * ITT_ALIGN + event_id * ENTRY_BYTES
                tb.inject_error(entry, ENTRY_BYTES, resp)
            await tb.post(driver, Cmd.INT, expect=None, device_id=device_id, event_id=event_id)
            tb.clear_errors()
            resume_traffic()
        elif operation == "disable":
            await tb.bus.write_reg(REG["GITS_CTLR"], pack(GitsCtlr, enabled=0), 4)
            await ClockCycles(dut.clk, rng.randint(5, 60))
            await _enable(tb)
    await pause_traffic()
    if LONG:
        spikes.stop()
        tb.log.info("long mix: %d steps, %d commands, %d latency spikes", step,
                    len(tb.scoreboard.commands), spikes.spikes)
    await tb.bus.write_reg(REG["GITS_CACHE_CTL"], pack(CacheCtl, disable=0), 4)
    await tb.msis(sorted(world.events)[:20])
    tb.log.info("%d MSIs of background traffic", sent)
    await tb.finish(driver, packets_at_least=1)


def _dte_address(tb, driver, device_id):
    """Where the DTE of ``device_id`` is (through its level-1 entry in a two-level table)."""
    table = driver.tables[BaserType.DEVICES]
    if not table.indirect:
        return table.base + device_id * ENTRY_BYTES
    index, slot = divmod(device_id, table.ids_per_level2_page)
    level1 = unpack(Level1Entry, tb.memory.read_int(table.base + index * ENTRY_BYTES))
    return level1["addr"] * CBASER_PAGE + slot * ENTRY_BYTES


@cocotb.test(timeout_time=4 * TIMEOUT_US, timeout_unit="us")
async def run_speed(dut):
    """:func:`gic.tb.its.speed.speed_scenario` on the whole testbench: writes the cycles
    simulated and the wall time to ``speed.json`` (``its regress --speed``)."""
    tb = TB(dut)
    await tb.reset()
    start_cycle, start = cycle_now(), time.perf_counter()
    await speed_scenario(tb.bus, num_redistributors=tb.params.num_redistributors)
    cycles, seconds = cycle_now() - start_cycle, time.perf_counter() - start
    Path("speed.json").write_text(json.dumps({"cycles": cycles, "seconds": seconds}))
    tb.log.info("speed: %d cycles in %.2f s: %.0f cycles/s", cycles, seconds, cycles / seconds)
    await tb.finish(packets_at_least=MSIS)


# ---------------------------------------------------------------------------------------------
# pytest entry: one Verilog build per parameter set, each test run through cocotb's runner.

from gic.tb.common.build import build, reproduce_command, run_folder, run_testcase  # noqa: E402
from gic.tb.its.waves import write_its_save_file  # noqa: E402

BASE_PARAMS = dict(device_bits=10, event_bits=14, id_bits=14, collection_bits=8, hcc=2,
                   num_redistributors=3, tcache_entries=8, dcache_entries=2)
PARAM_SETS = {policy: ItsParams(**BASE_PARAMS, error_policy=policy)
              for policy in ("skip", "stall")}
"""The parameter sets every test runs on: the error policy is a build parameter."""
DIRECTED = ["run_linux_bring_up", "run_every_command", "run_command_errors", "run_device_tables",
            "run_collections_beyond_hcc", "run_ring_wrap", "run_stall_and_retry",
            "run_sync_ordering", "run_moves_under_traffic", "run_discard", "run_msi_drops",
            "run_disabled", "run_memory_errors", "run_query_port", "run_translater",
            "run_caches"]
"""The directed cocotb tests, each run on every parameter set."""
RANDOM = ["run_random_mix"]
"""The seeded constrained-random cocotb tests."""
POLICY_SENSITIVE = ["run_command_errors", "run_stall_and_retry", "run_memory_errors",
                    "run_device_tables", "run_collections_beyond_hcc", "run_discard"]
"""The directed tests whose commands fail: by default only these also run on the stall
build (``--all-policies``, ``--seeds`` and ``--seed-list`` run every test on both)."""


def build_folder(policy):
    """The Verilog and the Icarus build of a parameter set, built once (``its.v``, ``sim.vvp``)."""
    from gic.hw.its.top import generate_verilog
    params = PARAM_SETS[policy]
    return build("its", policy, "its", lambda path: generate_verilog(params, path), params)


def run_cocotb(policy, testcase, seed, *, waves=False, test_dir=None):
    """Run cocotb test ``testcase`` (all its parametrized forms) on the ``policy`` build
    (:func:`gic.tb.common.build.run_testcase`).

    Returns
    -------
    Path
        The test's folder: ``results.xml``, ``sim.log``, ``coverage.yml``, and
        ``its.fst`` with its GTKWave save file ``its.gtkw`` with ``waves`` (or ``WAVES=1``).
    """
    build_dir = build_folder(policy)
    params = PARAM_SETS[policy]
    return run_testcase(
        build_dir, "its", "gic.tb.its.test_its", testcase, params=params, seed=seed,
        test_dir=test_dir or run_folder("its", policy, testcase, seed, out_folder=""),
        where=f"the {policy} build",
        reproduce=reproduce_command("tb/its/test_its.py", testcase, policy, seed,
                                    random=testcase in RANDOM, all_policies=True),
        waves=waves,
        save_file=lambda folder: write_its_save_file(folder, build_dir / "its.v",
                                                     params.num_redistributors, params))


def test_directed(testcase, policy, seed):
    """Each directed test on the skip build, and those whose commands fail on the stall
    build too (every one on both with ``--all-policies``); seed 1 unless ``--seed``/``SEED``.
    tb/conftest.py parametrizes it."""
    run_cocotb(policy, testcase, seed)


def test_random(testcase, policy, seed):
    """The random mix on each parameter set, seeds 1 and 2 (``--seeds N``: 1..N).
    tb/conftest.py parametrizes it."""
    run_cocotb(policy, testcase, seed)
