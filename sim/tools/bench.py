"""``its bench``: the ITS's performance, from the RTL and from the transaction-level model.

1. **Correlation.** Every workload of :mod:`gic.sim.tools.workloads` runs on the RTL
   (:class:`gic.hw.its.top.Its` in Amaranth's simulator, behind the testbenches' AXI memory and
   redistributor models) and on :class:`gic.sim.tlm.its.TlmIts`, with the same parameters,
   memory latency and set-up (the Linux-style driver, then the workload's mappings and
   warm-up). The measured phase then offers the same MSIs in the same cycles and posts the
   same commands; both sides report the phase's total cycles, each MSI's latency and each
   command's latency, and the packets each redistributor received.
2. **Speed.** MSIs per wall-clock second of both simulators over the same phases.
3. **Design space** (TLM only, long runs): translation-cache size against hit rate and
   throughput for every workload; memory latency against miss throughput and latency;
   flat against two-level device tables.

Definitions. A cycle is one ITS clock. An MSI's *latency* is from the cycle it is
presented on the MSI stream (its offer cycle, or the cycle after the MSI before it was
accepted if that is later: back-to-back MSIs queue at the device, not in the ITS) to the
cycle after its outcome leaves the translator (a SET packet then waits a cycle in the
forwarder's lpi FIFO, so it is on the redistributor's stream one cycle later at the
earliest); a command's latency is from the
cycle software starts the ``GITS_CWRITER`` write that posts it to the cycle it retires. The
*total cycles* of a phase run from its first cycle to the last MSI outcome or command
retirement. Errors are ``(TLM - RTL) / RTL``.

Results go to ``build/bench/``: ``summary.json``, ``*.png`` and the machine-local report
``performance.md`` (docs/performance.md holds the committed figures and the commands that
reproduce them).
"""

import collections
import json
import math
import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from gic.hw.its.layouts import COMMAND_BYTES, Cmd, GitsCwriter
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REG
from gic.sim.models.commands import encode_command, pack, unpack
from gic.sim.driver.its import ItsDriver
from gic.sim.models.memory import Memory
from gic.sim.tlm.bus import TlmBus
from gic.sim.tlm.its import TlmIts
from gic.sim.tools.workloads import WORKLOADS, Workload, make

__all__ = ["BENCH_PARAMS", "PhaseResult", "Comparison", "set_up", "run_rtl", "run_tlm",
           "compare", "percentile", "correlate", "design_space", "speedup", "summarize",
           "plot", "performance_md", "run_bench"]

BUILD_DIR = Path("build") / "bench"
"""Where ``its bench`` writes (under the current directory): summary, report, plots."""
DOCS_PATH = BUILD_DIR / "performance.md"
"""The machine-local report; docs/performance.md holds the committed figures."""

BENCH_PARAMS = ItsParams(device_bits=8, event_bits=8, id_bits=14, collection_bits=8, hcc=4,
                         num_redistributors=4, tcache_entries=16, dcache_entries=4)
"""The parameters every benchmark runs with unless told otherwise (small ID widths keep the
tables small; the caches and the datapath are those of the default build)."""
MEM_BASE = 0x4000_0000
MEM_SIZE = 8 << 20
RING_BYTES = 65536
ACK_DELAY = 3
"""Cycles a redistributor takes to acknowledge a SYNC (``GicStreamSink``'s default)."""
RTL_SCALES = {"hit_storm": 600, "cold_misses": 80, "round_robin": 300, "zipf": 400,
              "remaps": 360, "command_stream": 40}
"""MSIs (commands for ``command_stream``) per workload in the RTL correlation runs."""
STUDY_SCALE = 5000
"""MSIs per workload in the TLM's design-space study."""
KVM_FIGURES = {
    "one vCPU": (0.8e6, 1.3e6),
    "64 vCPUs": (5.6e6, 5.6e6),
}
"""KVM's published software ITS throughput, LPIs per second, from the vgic_lpi_stress
selftest with its LPI translation cache (a range where a range was reported)."""


def percentile(values, fraction):
    """The nearest-rank percentile of ``values`` (``fraction`` in 0..1); 0 when empty."""
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class PhaseResult:
    """What one simulator measured in one workload's phase.

    Members
    -------
    workload : str
    cycles : int
        Total cycles of the phase.
    msi_latency : list of int
        Per MSI, in offer order.
    command_latency : list of int
        Per command, in ring order.
    hits : int
        MSIs answered by the translation cache.
    wall : float
        Wall-clock seconds the phase took to simulate.
    packets : list of list
        Per redistributor, the packets received during the phase.
    statuses : list of DropReason
        Per MSI, its outcome.
    accepts : list of int
        Per MSI, the cycle it was accepted.
    steps : list of int or None
        TLM only: per command, the cycle the reference model executed it (to replay the
        phase on the reference model in the TLM's order).
    """
    workload: str
    cycles: int
    msi_latency: list
    command_latency: list
    hits: int
    wall: float
    packets: list
    statuses: list = field(default_factory=list)
    accepts: list = field(default_factory=list)
    steps: list = None

    @property
    def msis(self):
        return len(self.msi_latency)

    @property
    def msi_per_cycle(self):
        return self.msis / self.cycles if self.cycles else 0.0

    @property
    def accept_rate(self):
        """MSIs accepted a cycle between the first and the last acceptance."""
        if len(self.accepts) < 2:
            return 0.0
        return len(self.accepts) / (self.accepts[-1] - self.accepts[0] + 1)

    @property
    def hit_rate(self):
        return self.hits / self.msis if self.msis else 0.0

    def metrics(self):
        """The figures compared between the simulators, by name (only those that apply)."""
        figures = {"total cycles": self.cycles}
        if self.msi_latency:
            figures["MSI mean latency"] = statistics.fmean(self.msi_latency)
            figures["MSI p99 latency"] = percentile(self.msi_latency, 0.99)
        if self.command_latency:
            figures["command mean latency"] = statistics.fmean(self.command_latency)
            figures["command p99 latency"] = percentile(self.command_latency, 0.99)
        return figures


# -- set-up, shared by both simulators ---------------------------------------------------------

class _Ring:
    """Where the measured phase writes its commands: the driver's ring after set-up."""

    def __init__(self, base, size, offset):
        self.base = base
        self.size = size
        self.offset = offset

    def post(self, memory, commands):
        """Write ``commands`` at the ring's write offset; the GITS_CWRITER value posting them."""
        for cmd, fields in commands:
            memory.write(self.base + self.offset, encode_command(cmd, **fields))
            self.offset = (self.offset + COMMAND_BYTES) % self.size
        return pack(GitsCwriter, offset=self.offset // COMMAND_BYTES)


async def set_up(bus, workload, params, *, indirect=None):
    """Bring the ITS up with the driver as Linux would, map the workload, send its warm-up.

    Returns the ring the measured phase posts to. The warm-up has left the translator when
    this returns (the last register read waits for it).
    """
    # Long command batches at a high memory latency take more than the default polls.
    driver = ItsDriver(bus, mem_base=MEM_BASE, mem_size=MEM_SIZE, ring_bytes=RING_BYTES,
                       indirect=indirect, timeout_polls=1_000_000)
    await driver.probe()
    await driver.init_cpus(params.num_redistributors)
    for icid, rd in workload.collections:
        await driver.map_collection(icid, rd)
    for device_id, event_bits in workload.devices:
        await driver.map_device(device_id, event_bits)
    await driver.send_batch([(Cmd.MAPTI, dict(device_id=device, event_id=event, pintid=lpi,
                                              icid=icid))
                             for device, event, lpi, icid in workload.mappings])
    for msi in workload.warmup:
        await bus.msi(msi.device_id, msi.event_id)
    cwriter = unpack(GitsCwriter, await bus.read_reg(REG["GITS_CWRITER"]))["offset"]
    return _Ring(driver.ring_base, driver.ring_bytes, cwriter * COMMAND_BYTES)


def _summarize(workload, cycles, msi_accept, msi_out, command_retire, hits, wall, packets,
               statuses, post_starts):
    """A :class:`PhaseResult` from the raw cycles (all relative to the phase start)."""
    msi_latency = []
    accepted_before = -1
    for msi, accept, out in zip(workload.msis, msi_accept, msi_out):
        msi_latency.append(out + 1 - max(msi.cycle, accepted_before + 1))
        accepted_before = accept
    command_latency = []
    retires = iter(command_retire)
    for post, start in zip(workload.posts, post_starts):
        for _ in post.commands:
            command_latency.append(next(retires) - start)
    return PhaseResult(workload.name, cycles, msi_latency, command_latency, hits, wall,
                       packets, statuses, list(msi_accept))


# -- the RTL -----------------------------------------------------------------------------------

def _testbench_models():
    """The testbenches' AXI memory, AXI4-Lite master and GIC stream models and their
    ``run_sim``: the bench drives the RTL with the very models the RTL tests use, so that
    both sides of the correlation share one memory latency model."""
    from gic.sim.rtlsim.gicsink import GicStreamSink
    from gic.sim.rtlsim.harness import Axi4LiteMasterModel, Axi4SlaveModel, run_sim
    return Axi4LiteMasterModel, Axi4SlaveModel, GicStreamSink, run_sim


def _events_of_lpis(workload):
    """``{pINTID: (DeviceID, EventID)}`` of every mapping the workload makes (each pINTID is
    mapped to one event only)."""
    events = {lpi: (device, event) for device, event, lpi, _ in workload.mappings}
    for post in workload.posts:
        for cmd, fields in post.commands:
            if cmd in (Cmd.MAPTI, Cmd.MAPI):
                lpi = fields.get("pintid", fields["event_id"])
                events[lpi] = (fields["device_id"], fields["event_id"])
    return events


async def _rtl_phase(ctx, its, memory, ring, workload):
    """Run the measured phase on the RTL, cycle by cycle: offer the MSIs, post the commands
    with AXI4-Lite writes of GITS_CWRITER, watch outcomes and retirements.

    Outcomes leave in decision order (a hit may overtake an earlier miss): each is given
    to the oldest MSI still in flight for its (DeviceID, EventID), from the drop report or
    the workload's pINTID of the SET (two MSIs for one event keep their order)."""
    from gic.hw.its.layouts import DropReason
    translator = its.translator
    axil = its.axil
    msis = list(workload.msis)
    posts = list(workload.posts)
    commands = workload.commands
    event_of_lpi = _events_of_lpis(workload)
    in_flight = collections.defaultdict(collections.deque)    # event -> MSI indices
    accepts, retires, post_starts = [], [], []
    outs, statuses = [None] * len(msis), [None] * len(msis)
    decided = 0
    hits = 0
    next_msi = 0
    write = None            # the CWRITER write in progress: {"aw", "w", "b"} still to do
    sampled = (its.msi.valid, its.msi.ready, translator.lpi.valid, translator.lpi.ready,
               translator.lpi.payload.packet.lpi, translator.drop.valid, translator.drop.ready,
               translator.drop.payload, its.executor.retire, translator.tcache_hit,
               axil.awvalid, axil.awready, axil.wvalid, axil.wready, axil.bvalid, axil.bready)
    cycle = 0

    def drive():
        nonlocal write
        if next_msi < len(msis) and msis[next_msi].cycle <= cycle:
            msi = msis[next_msi]
            ctx.set(its.msi.payload, {"device_id": msi.device_id, "event_id": msi.event_id})
            ctx.set(its.msi.valid, 1)
        else:
            ctx.set(its.msi.valid, 0)
        if write is None and posts and posts[0].cycle <= cycle:
            post = posts.pop(0)
            value = ring.post(memory, post.commands)
            post_starts.append(cycle)
            ctx.set(axil.awaddr, REG["GITS_CWRITER"])
            ctx.set(axil.awprot, 0)
            ctx.set(axil.wdata, value & 0xFFFF_FFFF)
            ctx.set(axil.wstrb, 0xF)
            ctx.set(axil.awvalid, 1)
            ctx.set(axil.wvalid, 1)
            ctx.set(axil.bready, 0)
            write = {"aw", "w", "b"}

    drive()
    def decide(event, status):
        nonlocal decided
        index = in_flight[event].popleft()
        outs[index], statuses[index] = cycle, status
        decided += 1

    while decided < len(msis) or len(retires) < commands or write is not None or posts:
        (_, _, msi_valid, msi_ready, lpi_valid, lpi_ready, lpi, drop_valid, drop_ready, drop,
         retire, tcache_hit, awvalid, awready, wvalid, wready, bvalid, bready) = \
            await ctx.tick().sample(*sampled)
        if msi_valid and msi_ready:
            accepts.append(cycle)
            msi = msis[next_msi]
            in_flight[(msi.device_id, msi.event_id)].append(next_msi)
            next_msi += 1
        if lpi_valid and lpi_ready:
            decide(event_of_lpi[lpi], DropReason.OK)
        if drop_valid and drop_ready:
            decide((drop.device_id, drop.event_id), DropReason(drop.reason))
        hits += tcache_hit
        if retire:
            retires.append(cycle)
        if write is not None:
            if awvalid and awready:
                write.discard("aw")
                ctx.set(axil.awvalid, 0)
            if wvalid and wready:
                write.discard("w")
                ctx.set(axil.wvalid, 0)
            if bvalid and bready:
                ctx.set(axil.bready, 0)
                write = None
            elif not write & {"aw", "w"}:
                ctx.set(axil.bready, 1)
        cycle += 1
        drive()
    total = max([out + 1 for out in outs] + [r + 1 for r in retires] + [0])
    return total, accepts, outs, statuses, retires, hits, post_starts


def run_rtl(params, workloads, *, mem_latency, ack_delay=ACK_DELAY, indirect=None,
            on_phase=None):
    """Run ``workloads`` one after the other on the RTL (one simulation, a fresh set-up each).

    Parameters
    ----------
    params : ItsParams
    workloads : list of Workload
    mem_latency : int
        ``Axi4SlaveModel(latency=...)``.
    on_phase : callable or None
        Called with each :class:`PhaseResult` as it completes (progress).

    Returns
    -------
    list of PhaseResult
    """
    from gic.hw.its.top import Its
    from gic.sim.rtlsim.bus import AmaranthItsBus
    Axi4LiteMasterModel, Axi4SlaveModel, GicStreamSink, run_sim = _testbench_models()
    memory = Memory()
    its = Its(params)
    axi = Axi4SlaveModel(memory, its.axi, latency=mem_latency)
    rds = GicStreamSink(its.gic, its.ack, ack_delay=ack_delay)
    results = []
    quiet = (its.translator.idle & its.executor.idle & its.forwarder.idle & its.cmdq.idle)

    async def testbench(ctx):
        bus = AmaranthItsBus(ctx, its, Axi4LiteMasterModel(its.axil), memory)
        for workload in workloads:
            ring = await set_up(bus, workload, params, indirect=indirect)
            while not ctx.get(quiet):
                await ctx.tick()
            before = [len(packets) for packets in rds.packets]
            started = time.perf_counter()
            total, accepts, outs, statuses, retires, hits, post_starts = await _rtl_phase(
                ctx, its, memory, ring, workload)
            wall = time.perf_counter() - started
            while not ctx.get(quiet):       # the last packets reach the redistributors
                await ctx.tick()
            packets = [list(received[start:]) for received, start in zip(rds.packets, before)]
            result = _summarize(workload, total, accepts, outs, retires, hits, wall, packets,
                                statuses, post_starts)
            results.append(result)
            if on_phase:
                on_phase(result)
            await ctx.tick().repeat(4)

    run_sim(its, testbench, processes=[axi.run, rds.run], max_cycles=None)
    return results


# -- the TLM -----------------------------------------------------------------------------------

def _tlm_phase(its, ring, workload):
    """Run the measured phase on the TLM; the same measurements as :func:`_rtl_phase`."""
    kernel = its.kernel
    start = kernel.now
    translator, executor = its.translator, its.executor
    first_outcome = len(translator.outcomes)
    first_retire = len(executor.retired)
    first_step = len(executor.stepped)
    post_starts = []
    for msi in workload.msis:
        its.msi(msi.device_id, msi.event_id, offer=start + msi.cycle)

    def poster():
        free = start
        for post in workload.posts:
            begin = max(start + post.cycle, free)
            yield kernel.at(begin)
            post_starts.append(begin - start)
            value = ring.post(its.memory.memory, post.commands)
            yield kernel.at(begin + its.timing.reg_write_strobe)
            its.regs.write(REG["GITS_CWRITER"], value, 4)
            free = begin + its.timing.reg_write_cycles
        yield kernel.at(free)

    done = kernel.env.all_of([
        translator.drained(),
        executor.retired_event(first_retire + workload.commands),
        kernel.process(poster()),
    ])
    kernel.run(until=done)
    # In acceptance order (one MSI accepted a cycle), as the workload lists them.
    outcomes = sorted(translator.outcomes[first_outcome:], key=lambda outcome: outcome.accept)
    accepts = [outcome.accept - start for outcome in outcomes]
    outs = [outcome.out - start for outcome in outcomes]
    retires = [cycle - start for cycle in executor.retired[first_retire:]]
    total = max([out + 1 for out in outs] + [r + 1 for r in retires] + [0])
    hits = sum(outcome.hit for outcome in outcomes)
    statuses = [outcome.status for outcome in outcomes]
    steps = [cycle - start for cycle in executor.stepped[first_step:]]
    return total, accepts, outs, statuses, retires, hits, post_starts, steps


def run_tlm(params, workloads, *, mem_latency, ack_delay=ACK_DELAY, indirect=None,
            on_phase=None, timing=None):
    """Run ``workloads`` one after the other on one :class:`TlmIts`, as :func:`run_rtl` does
    on the RTL (with ``timing``, a :class:`gic.sim.tlm.timing.Timing`, the defaults when
    None). Returns a list of :class:`PhaseResult`.

    Raises
    ------
    AssertionError
        If the TLM disagreed with the reference model (``TlmIts.mismatches``).
    """
    memory = Memory()
    its = TlmIts(params, memory, mem_latency=mem_latency, ack_delay=ack_delay, timing=timing)
    bus = TlmBus(its)
    results = []
    for workload in workloads:
        ring = bus.run(set_up(bus, workload, params, indirect=indirect))
        its.kernel.run(until=its.kernel.process(_quiet(its)))
        before = [len(rd.packets) for rd in its.redistributors]
        started = time.perf_counter()
        total, accepts, outs, statuses, retires, hits, post_starts, steps = _tlm_phase(
            its, ring, workload)
        wall = time.perf_counter() - started
        packets = [list(rd.packets[start:]) for rd, start in zip(its.redistributors, before)]
        result = _summarize(workload, total, accepts, outs, retires, hits, wall, packets,
                            statuses, post_starts)
        result.steps = steps
        results.append(result)
        if on_phase:
            on_phase(result)
        its.kernel.run(until=its.kernel.now + 4)
    assert not its.mismatches, f"TLM and reference model disagree: {its.mismatches[:5]}"
    return results


def _quiet(its):
    """A process that returns once the TLM is idle (as the RTL's idle signals)."""
    while not its.idle():
        yield its.kernel.timeout(1)


# -- correlation -------------------------------------------------------------------------------

@dataclass
class Comparison:
    """RTL and TLM results of one workload at one memory latency."""
    workload: str
    mem_latency: int
    rtl: PhaseResult
    tlm: PhaseResult

    def errors(self):
        """``{figure: (rtl, tlm, error %)}`` for every figure both measured."""
        rtl, tlm = self.rtl.metrics(), self.tlm.metrics()
        return {name: (rtl[name], tlm[name],
                       100.0 * (tlm[name] - rtl[name]) / rtl[name] if rtl[name] else 0.0)
                for name in rtl}

    @property
    def worst(self):
        return max(abs(error) for _, _, error in self.errors().values())

    @property
    def packets_match(self):
        return self.rtl.packets == self.tlm.packets


def compare(params, workloads, *, mem_latency, on_phase=None):
    """Both simulators on ``workloads``; a list of :class:`Comparison`."""
    rtl = run_rtl(params, workloads, mem_latency=mem_latency, on_phase=on_phase)
    tlm = run_tlm(params, workloads, mem_latency=mem_latency, on_phase=on_phase)
    return [Comparison(r.workload, mem_latency, r, t) for r, t in zip(rtl, tlm)]


def correlate(params, latencies, *, scales=None, on_phase=None):
    """The correlation runs: every workload at every memory latency of ``latencies``.

    Returns
    -------
    list of Comparison
    """
    scales = scales or RTL_SCALES
    workloads = [make(name, params, scale=scales[name]) for name in WORKLOADS]
    comparisons = []
    for latency in latencies:
        comparisons += compare(params, workloads, mem_latency=latency, on_phase=on_phase)
    return comparisons


# -- design space (TLM only) -------------------------------------------------------------------

TCACHE_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
MEM_LATENCIES = (1, 2, 4, 8, 16, 32, 64)
QUICK_TCACHE_SIZES = (4, 16, 64)
QUICK_MEM_LATENCIES = (1, 4, 16)
"""The sweeps of ``its bench --quick`` (memory latency 4 must stay: the report quotes it)."""
STUDY_WORKLOADS = ("round_robin", "zipf", "remaps")
"""The workloads whose hit rate depends on the cache size (a hit storm always hits, cold
misses never do)."""


def _one(params, workload, *, mem_latency=4, indirect=None):
    return run_tlm(params, [workload], mem_latency=mem_latency, indirect=indirect)[0]


def design_space(params, *, scale=STUDY_SCALE, tcache_sizes=TCACHE_SIZES,
                 mem_latencies=MEM_LATENCIES, on_step=None):
    """The studies only the TLM can afford (long runs, many points).

    Returns
    -------
    dict
        ``tcache``: ``{workload: [(entries, hit rate, MSIs/cycle, mean latency)]}``;
        ``memory``: ``[(latency, MSIs/cycle on cold misses, isolated miss latency)]``;
        ``tables``: ``{workload: {"flat"|"two-level": (MSIs/cycle, mean latency)}}``;
        ``msis``, ``wall``: MSIs simulated and wall seconds.
    """
    step = on_step or (lambda: None)
    results = {"tcache": {}, "memory": [], "tables": {}, "msis": 0, "wall": 0.0}
    started = time.perf_counter()

    def run(run_params, workload, **options):
        result = _one(run_params, workload, **options)
        results["msis"] += result.msis
        step()
        return result

    for name in STUDY_WORKLOADS:
        rows = []
        for entries in tcache_sizes:
            sized = replace(params, tcache_entries=entries)
            workload = make(name, sized, scale=_study_scale(name, scale))
            result = run(sized, workload)
            rows.append((entries, result.hit_rate, result.msi_per_cycle,
                         statistics.fmean(result.msi_latency)))
        results["tcache"][name] = rows
    for latency in mem_latencies:
        cold = run(params, make("cold_misses", params, scale=_study_scale("cold_misses", scale)),
                   mem_latency=latency)
        isolated = run(params, _isolated_misses(params), mem_latency=latency)
        results["memory"].append((latency, cold.msi_per_cycle, isolated.msi_latency[0]))
    for name in ("cold_misses", "zipf"):
        workload = make(name, params, scale=_study_scale(name, scale))
        results["tables"][name] = {
            label: (lambda r: (r.msi_per_cycle, statistics.fmean(r.msi_latency)))(
                run(params, workload, indirect=indirect))
            for label, indirect in (("flat", False), ("two-level", True))}
    results["wall"] = time.perf_counter() - started
    return results


def _study_scale(name, scale):
    # cold_misses needs a new event per MSI: its devices' ITTs bound it.
    return min(scale, 6 * (1 << BENCH_PARAMS.event_bits)) if name == "cold_misses" else scale


def _isolated_misses(params, count=4, gap=400):
    """MSIs far apart, each to a device not seen before: a DTE + ITE miss on an idle ITS."""
    from gic.sim.tools.workloads import Msi
    devices = tuple((device, 1) for device in range(count))
    mappings = tuple((device, 0, 8192 + device, device % params.num_redistributors)
                     for device in range(count))
    return Workload(name="isolated_misses", description="isolated DTE + ITE misses",
                    seed=0, devices=devices, mappings=mappings,
                    msis=tuple(Msi(gap * n, n, 0) for n in range(count)))


# -- the report --------------------------------------------------------------------------------

def _fmax_reports(root=Path("build")):
    """``[(build folder, board, Fmax MHz)]`` of the FPGA builds in ``build/*/report.json``."""
    found = []
    for path in sorted(Path(root).glob("*/report.json")):
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if report.get("stand_in"):
            continue
        fmax = report.get("fmax_mhz", {}).get("sync")
        if fmax:
            found.append((path.parent.name, report.get("board", path.parent.name), float(fmax)))
    return found


def speedup(comparisons):
    """``(RTL MSIs/s, TLM MSIs/s, ratio)`` over every phase with MSIs."""
    rtl_msis = sum(c.rtl.msis for c in comparisons)
    rtl_wall = sum(c.rtl.wall for c in comparisons if c.rtl.msis)
    tlm_msis = sum(c.tlm.msis for c in comparisons)
    tlm_wall = sum(c.tlm.wall for c in comparisons if c.tlm.msis)
    rtl_rate = rtl_msis / rtl_wall if rtl_wall else 0.0
    tlm_rate = tlm_msis / tlm_wall if tlm_wall else 0.0
    return rtl_rate, tlm_rate, (tlm_rate / rtl_rate if rtl_rate else 0.0)


def summarize(params, comparisons, study, tlm_only=()):
    """The ``summary.json`` contents."""
    by_name = {}
    for comparison in comparisons:
        by_name.setdefault(comparison.workload, []).append(comparison)
    reference = {result.workload: result for result in tlm_only}
    for name, found in by_name.items():
        reference.setdefault(name, found[0].rtl)
    storm = reference["hit_storm"]
    rtl_rate, tlm_rate, ratio = speedup(comparisons)
    summary = {
        "params": {name: getattr(params, name) for name in ItsParams.names()},
        "latency_definition": "cycles from the MSI presented on the MSI stream to the "
                              "cycle after its outcome leaves the translator (a SET is on "
                              "the redistributor's GIC stream one cycle later at the "
                              "earliest)",
        "hit_msi_per_cycle": round(storm.accept_rate, 4),
        "hit_latency_cycles": statistics.median_low(storm.msi_latency),
        "miss_latency_cycles": {str(latency): miss for latency, _, miss in study["memory"]},
        "rtl_miss_latency_cycles": {
            str(c.mem_latency): c.rtl.msi_latency[0] for c in comparisons
            if c.workload == "cold_misses"},
        "cold_miss_msi_per_cycle": {str(latency): round(rate, 4)
                                    for latency, rate, _ in study["memory"]},
        # None when the RTL did not run (its bench --tlm-only).
        "tlm_max_error_pct": round(max(c.worst for c in comparisons), 3) if comparisons
        else None,
        "tlm_speedup": round(ratio, 1) if comparisons else None,
        "rtl_msi_per_second": round(rtl_rate, 1),
        "tlm_msi_per_second": round(tlm_rate, 1),
        "correlation": [
            {"workload": c.workload, "mem_latency": c.mem_latency,
             "same_packets": c.packets_match,
             "figures": {name: {"rtl": rtl, "tlm": tlm, "error_pct": round(error, 3)}
                         for name, (rtl, tlm, error) in c.errors().items()}}
            for c in comparisons],
        "tcache_study": {name: [dict(zip(("entries", "hit_rate", "msi_per_cycle",
                                          "mean_latency"), row)) for row in rows]
                         for name, rows in study["tcache"].items()},
        "table_study": study["tables"],
        "study_msis": study["msis"],
        "study_seconds": round(study["wall"], 2),
        "fpga": [{"build": build, "board": board, "fmax_mhz": fmax,
                  "hit_msi_per_second": fmax * 1e6 * storm.accept_rate}
                 for build, board, fmax in _fmax_reports()],
    }
    return summary


def plot(comparisons, study, out):
    """Write the plots to ``out``; their paths."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    out.mkdir(parents=True, exist_ok=True)
    paths = []

    def save(figure, name):
        path = out / name
        figure.tight_layout()
        figure.savefig(path, dpi=110)
        pyplot.close(figure)
        paths.append(path)

    if comparisons:
        figure, axis = pyplot.subplots(figsize=(9, 4))
        labels = [f"{c.workload}\nL={c.mem_latency}" for c in comparisons]
        positions = range(len(comparisons))
        axis.bar([x - 0.2 for x in positions], [c.rtl.cycles for c in comparisons], 0.4,
                 label="RTL (Amaranth simulator)")
        axis.bar([x + 0.2 for x in positions], [c.tlm.cycles for c in comparisons], 0.4,
                 label="TLM")
        for x, c in zip(positions, comparisons):
            axis.annotate(f"{c.worst:.1f}%", (x, max(c.rtl.cycles, c.tlm.cycles)),
                          ha="center", va="bottom", fontsize=7)
        axis.set_xticks(list(positions), labels, fontsize=6, rotation=45)
        axis.set_ylabel("cycles of the measured phase")
        axis.set_title("Correlation: total cycles (labels: worst error of any figure)")
        axis.legend()
        save(figure, "correlation.png")

        zipfs = [c for c in comparisons if c.workload == "zipf"]
        if zipfs:
            figure, axis = pyplot.subplots(figsize=(6, 4))
            for c in zipfs:
                for label, result, style in (("RTL", c.rtl, "-"), ("TLM", c.tlm, "--")):
                    ordered = sorted(result.msi_latency)
                    axis.plot(ordered, [(n + 1) / len(ordered) for n in range(len(ordered))],
                              style, label=f"{label} L={c.mem_latency}")
            axis.set_xlabel("MSI latency (cycles)")
            axis.set_ylabel("fraction of MSIs")
            axis.set_title("Zipf workload: latency distribution")
            axis.legend()
            save(figure, "latency_cdf.png")

    figure, (hits, rate) = pyplot.subplots(1, 2, figsize=(10, 4))
    for name, rows in study["tcache"].items():
        entries = [row[0] for row in rows]
        hits.plot(entries, [100 * row[1] for row in rows], marker="o", label=name)
        rate.plot(entries, [row[2] for row in rows], marker="o", label=name)
    for axis, label in ((hits, "translation-cache hit rate (%)"), (rate, "MSIs per cycle")):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("translation-cache entries")
        axis.set_ylabel(label)
        axis.grid(True, alpha=0.3)
    hits.legend(fontsize=7)
    figure.suptitle("Translation-cache size (TLM)")
    save(figure, "tcache.png")

    figure, (rate, latency) = pyplot.subplots(1, 2, figsize=(10, 4))
    latencies = [row[0] for row in study["memory"]]
    rate.plot(latencies, [row[1] for row in study["memory"]], marker="o")
    rate.set_ylabel("MSIs per cycle, every MSI a miss")
    latency.plot(latencies, [row[2] for row in study["memory"]], marker="o")
    latency.set_ylabel("latency of one DTE + ITE miss (cycles)")
    for axis in (rate, latency):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("memory latency L (cycles)")
        axis.grid(True, alpha=0.3)
    figure.suptitle("Memory latency (TLM)")
    save(figure, "memory_latency.png")

    figure, axis = pyplot.subplots(figsize=(6, 4))
    names = list(study["tables"])
    for offset, label in ((-0.2, "flat"), (0.2, "two-level")):
        axis.bar([x + offset for x in range(len(names))],
                 [study["tables"][name][label][0] for name in names], 0.4, label=label)
    axis.set_xticks(range(len(names)), names)
    axis.set_ylabel("MSIs per cycle")
    axis.set_title("Flat vs two-level device table (TLM, L=4)")
    axis.legend()
    save(figure, "tables.png")
    return paths


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _rate(value, unit):
    """``value`` per second with ``unit``, in k or M."""
    return f"{value / 1e6:.1f} M {unit}/s" if value >= 1e6 else f"{value / 1e3:.0f} k {unit}/s"


def performance_md(summary, comparisons, study, plots):
    """The text of the machine-local report ``build/bench/performance.md`` (the plots beside it)."""
    params = summary["params"]
    rows = []
    for c in comparisons:
        for name, (rtl, tlm, error) in c.errors().items():
            rows.append((c.workload, c.mem_latency, name, f"{rtl:.2f}".rstrip("0").rstrip("."),
                         f"{tlm:.2f}".rstrip("0").rstrip("."), f"{error:+.2f} %"))
    storm_rate = summary["hit_msi_per_cycle"]
    best_kvm = max(high for _, high in KVM_FIGURES.values())
    fpga_rows = [(f"{f['board']} (`build/{f['build']}/report.json`)", f"{f['fmax_mhz']:.1f} MHz",
                  _rate(f["hit_msi_per_second"], "MSIs"),
                  _rate(f["fmax_mhz"] * 1e6 * summary["cold_miss_msi_per_cycle"]["4"], "MSIs"),
                  f"{f['hit_msi_per_second'] / best_kvm:.0f}x")
                 for f in summary["fpga"]]
    kvm_rows = [(f"KVM vgic-its, {what}", f"{low / 1e6:.1f}" +
                 (f" - {high / 1e6:.1f}" if high != low else "") + " M LPIs/s")
                for what, (low, high) in KVM_FIGURES.items()]
    tcache_rows = []
    for name, entries in summary["tcache_study"].items():
        for row in entries:
            tcache_rows.append((name, row["entries"], f"{100 * row['hit_rate']:.1f} %",
                                f"{row['msi_per_cycle']:.3f}", f"{row['mean_latency']:.1f}"))
    memory_rows = [(latency, f"{summary['cold_miss_msi_per_cycle'][latency]:.3f}", miss)
                   for latency, miss in summary["miss_latency_cycles"].items()]
    table_rows = [(name, label, f"{rate:.3f}", f"{latency:.1f}")
                  for name, labels in summary["table_study"].items()
                  for label, (rate, latency) in labels.items()]
    correlation = "Not run (`its bench --tlm-only`)."
    if comparisons:
        correlation = (
            "Each workload of `sim/tools/workloads.py` ran on `gic.hw.its.top.Its` in Amaranth's "
            "simulator and on\n`gic.sim.tlm.its.TlmIts`, same parameters, set-up and traffic. "
            "Error = (TLM - RTL) / RTL.\nThe packet stream each redistributor received "
            "(every SET, CLEAR, MOVLPI, SYNC, in order)\nwas identical in "
            f"{sum(c.packets_match for c in comparisons)} of {len(comparisons)} runs.\n\n"
            + _table(("workload", "L", "figure", "RTL", "TLM", "error"), rows))
        correlation_rows = (
            f"| TLM worst error against the RTL | {summary['tlm_max_error_pct']} % |\n"
            f"| TLM speed-up over the RTL simulator | {summary['tlm_speedup']}x "
            f"({summary['tlm_msi_per_second']:.0f} MSIs/s against "
            f"{summary['rtl_msi_per_second']:.0f} MSIs/s, same phases) |")
    else:
        correlation_rows = "| TLM against the RTL | not run (`its bench --tlm-only`) |"
    images = "\n".join(f"![{path.stem}]({path.name})" for path in plots)
    return f"""# Performance

The machine-local report of `make bench` (`its bench`, `sim/tools/bench.py`) on this machine;
the plots are beside it, the figures in `summary.json`. The committed figures, with the
commands that reproduce them, are in the repository's docs/performance.md.

Parameters: {", ".join(f"{name}={value}" for name, value in params.items())}.
Cycles are ITS clock cycles. An MSI's latency runs from the cycle it is presented on the
MSI stream to the cycle after its outcome leaves the translator (a SET packet is on the
redistributor's GIC stream one cycle later at the earliest, after the forwarder's lpi FIFO);
a command's from the start of the `GITS_CWRITER` write that posts it to its retirement. Memory: the
testbenches' AXI slave (`gic.sim.rtlsim.harness.Axi4SlaveModel`) with latency L, which the ITS sees
as L + 3 cycles per read (in its AXI master a read waits a cycle in its client's slot,
one in the AR register, and each beat a cycle in the R FIFO); one beat a cycle.

## Headline figures

| figure | value |
|---|---|
| MSIs accepted a cycle on translation-cache hits | {storm_rate} |
| hit latency | {summary["hit_latency_cycles"]:g} cycles (accepted in *n*, out of the translator in *n* + 2, on the redistributor's stream in *n* + 4) |
| DTE + ITE miss latency, 3 + 2 (L + 3) + 1 | {", ".join(f"{v} at L={k}" for k, v in summary["miss_latency_cycles"].items())} cycles |
| MSIs a cycle when every MSI misses (one walk at a time) | {", ".join(f"{v} at L={k}" for k, v in summary["cold_miss_msi_per_cycle"].items())} |
{correlation_rows}

## Against software

The ITS translates one MSI a cycle on translation-cache hits; at the Fmax of the FPGA
builds found in `build/*/report.json` (the figure of the last `make bitstream` per board):

{_table(("ITS build", "Fmax", "hits", "every MSI a miss (L=4)", "hits / best KVM"), fpga_rows) if fpga_rows else "(no FPGA build report yet: run `make bitstream`)"}

KVM's software ITS, for comparison (published figures of the `vgic_lpi_stress` selftest,
with KVM's LPI translation cache):

{_table(("implementation", "throughput"), kvm_rows)}

## Correlation: TLM against RTL

{correlation}

## Design space (TLM only)

{summary["study_msis"]} MSIs simulated in {summary["study_seconds"]} s.

### Translation-cache size

Replacement is round robin (FIFO): `round_robin` cycles through more vectors than a small
cache holds, so every vector is evicted just before it comes back, until the cache holds
them all.

{_table(("workload", "entries", "hit rate", "MSIs/cycle", "mean latency"), tcache_rows)}

### Memory latency

Every MSI a miss (`cold_misses`), and one isolated DTE + ITE miss:

{_table(("L", "MSIs/cycle", "miss latency"), memory_rows)}

### Flat vs two-level device table

A two-level table adds the level-1 read to every walk that reads the DTE, that is to every
miss whose device is not in the device cache: `cold_misses` spreads its misses over 6
devices (the device cache holds {params["dcache_entries"]}), `zipf`'s 4 devices stay cached.

{_table(("workload", "device table", "MSIs/cycle", "mean latency"), table_rows)}

## Plots

{images}
"""


def run_bench(*, latencies=(4, 16), rtl=True, quick=False, out=BUILD_DIR, docs=DOCS_PATH,
              params=BENCH_PARAMS, console=None):
    """Everything ``its bench`` does; returns the summary.

    Parameters
    ----------
    latencies : tuple of int
        Memory latencies of the correlation runs.
    rtl : bool
        Run the RTL (else only the TLM's figures and study).
    quick : bool
        Short runs (a smoke test of the whole flow).
    out : Path
        Where the plots and summary.json go.
    docs : Path or None
        Where performance.md goes (None: not written).
    """
    from rich.progress import Progress

    scales = {name: max(8, scale // 8) for name, scale in RTL_SCALES.items()} if quick \
        else RTL_SCALES
    study_scale = 300 if quick else STUDY_SCALE
    tcache_sizes = QUICK_TCACHE_SIZES if quick else TCACHE_SIZES
    mem_latencies = QUICK_MEM_LATENCIES if quick else MEM_LATENCIES
    workloads = [make(name, params, scale=scales[name]) for name in WORKLOADS]
    steps = len(STUDY_WORKLOADS) * len(tcache_sizes) + 2 * len(mem_latencies) + 4
    with Progress(console=console, transient=False) as progress:
        tasks = {}
        if rtl:
            for latency in latencies:
                tasks[("rtl", latency)] = progress.add_task(
                    f"RTL L={latency}", total=len(workloads))
                tasks[("tlm", latency)] = progress.add_task(
                    f"TLM L={latency}", total=len(workloads))
        else:
            tasks[("tlm", latencies[0])] = progress.add_task("TLM", total=len(workloads))
        study_task = progress.add_task("TLM design space", total=steps)
        comparisons, tlm_only = [], []
        for latency in latencies if rtl else ():
            rtl_results = run_rtl(params, workloads, mem_latency=latency,
                                  on_phase=lambda _, task=tasks[("rtl", latency)]:
                                  progress.advance(task))
            tlm_results = run_tlm(params, workloads, mem_latency=latency,
                                  on_phase=lambda _, task=tasks[("tlm", latency)]:
                                  progress.advance(task))
            comparisons += [Comparison(r.workload, latency, r, t)
                            for r, t in zip(rtl_results, tlm_results)]
        if not rtl:
            tlm_only = run_tlm(params, workloads, mem_latency=latencies[0],
                               on_phase=lambda _: progress.advance(tasks[("tlm", latencies[0])]))
        study = design_space(params, scale=study_scale, tcache_sizes=tcache_sizes,
                             mem_latencies=mem_latencies,
                             on_step=lambda: progress.advance(study_task))
    summary = summarize(params, comparisons, study, tlm_only)
    out.mkdir(parents=True, exist_ok=True)
    plots = plot(comparisons, study, out)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if docs is not None:
        docs.parent.mkdir(parents=True, exist_ok=True)
        docs.write_text(performance_md(summary, comparisons, study, plots))
    return summary
