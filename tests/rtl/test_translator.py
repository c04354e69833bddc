"""The translator against the reference model: random MSIs and queries, throughput and
latency, hit-under-miss, decision order, backpressure, invalidation, DISABLED, hold/idle.

The tables live in a shared Memory (tests/rtl/its_tables.py); every packet, drop and query
answer is checked against ``ItsModel`` on the same memory. Order (docs/behaviour.md,
"Ordering"): the outcomes decided at look-up (hits, DISABLED) leave in acceptance order, so
do the misses (one walk at a time), and the two streams interleave in decision order; the
query answers keep the order of the questions. Timing expectations come from the goals (one
MSI a cycle on hits, hit latency <= 3, a miss costing its memory round trips + <= 4 cycles,
hits not waiting for a miss), the read counts from the spec's table formats and the round
trip from the memory model's latency.
"""

import collections
import gc
import random

import pytest
from amaranth.back import verilog
from amaranth.hdl import Elaboratable, Module
from amaranth.lib import wiring

from gic.hw.its.collections import CollectionTable
from gic.hw.its.layouts import ENTRY_BYTES, DropReason, GicOp, GitsCtlr, IttEntry, InvalKind, PageSize
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REG
from gic.hw.its.translator import Translator
from gic.sim.models.commands import pack, unpack

from .its_tables import TableSet
from gic.sim.rtlsim.harness import MemPortModel, run_sim, stream_put

PARAMS = ItsParams(device_bits=12, event_bits=8, collection_bits=8, hcc=4,
                   num_redistributors=4, tcache_entries=8, dcache_entries=4)
HIT_LATENCY_GOAL = 3
MISS_OVERHEAD_GOAL = 4


class TranslatorBench(Elaboratable):
    """The translator with the on-chip collection table on its ``coll`` port."""

    def __init__(self, params, **kwargs):
        self.translator = Translator(params, **kwargs)
        self.collections = CollectionTable(params)

    def elaborate(self, platform):
        m = Module()
        m.submodules.translator = self.translator
        m.submodules.collections = self.collections
        wiring.connect(m, self.translator.coll, self.collections.translator_read)
        return m


class Harness:
    """Drives MSIs and queries, takes every output, and records the cycle of each handshake.

    :meth:`process` runs every cycle (a simulator process): it samples the handshakes at
    the clock edge, numbers them with the edge, then offers the next MSI / query and sets
    the output readies (``lpi_ready`` can be switched off by the testbench, and
    ``backpressure`` drops the readies at random). Testbenches add work with
    :meth:`send`, and wait with :meth:`wait_for`.
    """

    def __init__(self, tables, *, params=PARAMS, latency=4, mem_backpressure=0.0,
                 mem_idle=0.0, backpressure=0.0, input_idle=0.0, seed=0, **kwargs):
        self.tables = tables
        self.bench = TranslatorBench(params, **kwargs)
        self.dut = self.bench.translator
        self.memory = MemPortModel(tables.memory, read=self.dut.mem, latency=latency,
                                   backpressure=mem_backpressure, idle=mem_idle, seed=seed)
        self.rng = random.Random(seed)
        self.backpressure = backpressure
        self.input_idle = input_idle
        self.lpi_ready = True
        self.go = False
        self.edge = 0
        self.pending = {"msi": collections.deque(), "query": collections.deque()}
        self.accepted = {"msi": [], "query": []}      # (edge, device_id, event_id)
        self.lpis = []                                # (edge, rd, pintid)
        self.drops = []                               # (edge, reason, device_id, event_id)
        self.answers = []                             # (edge, status, pintid, target)
        self.hits = []                                # edges of tcache_hit pulses
        self.misses = []
        self.disabled = []                            # per accepted MSI: Enabled was 0

    def send(self, kind, requests):
        self.pending[kind].extend(requests)

    @property
    def outputs(self):
        return len(self.lpis) + len(self.drops) + len(self.answers)

    async def setup(self, ctx, *, enabled=True):
        """BASERs and on-chip collections as the model has them; then start offering."""
        ctx.set(self.dut.baser_dev.as_value(), self.tables.baser_dev)
        ctx.set(self.dut.baser_coll.as_value(), self.tables.baser_coll)
        ctx.set(self.dut.enabled, enabled)
        await self.load_collections(ctx)
        self.go = True

    async def load_collections(self, ctx):
        for icid, mapped, rd in self.tables.on_chip_collections():
            await stream_put(ctx, self.bench.collections.write,
                             {"icid": icid, "valid": mapped, "rd": rd})

    async def wait_for(self, ctx, condition, *, timeout=20_000):
        for _ in range(timeout):
            if condition():
                return
            await ctx.tick()
        raise TimeoutError("the translator did not get there")

    async def drain(self, ctx):
        """Wait until everything sent was accepted and the translator is idle."""
        await self.wait_for(ctx, lambda: not any(self.pending.values()))
        await ctx.tick()
        await self.wait_for(ctx, lambda: ctx.get(self.dut.idle))

    async def process(self, ctx):
        dut = self.dut
        inputs = {"msi": dut.msi, "query": dut.query}
        outputs = (dut.lpi, dut.drop, dut.query_resp)
        sampled = [dut.msi.valid, dut.msi.ready, dut.query.valid, dut.query.ready,
                   dut.tcache_hit, dut.tcache_miss, dut.enabled]
        for port in outputs:
            sampled += [port.valid, port.ready, port.payload]
        waiting = {"msi": False, "query": False}      # offered and not taken yet
        self._set_inputs(ctx, inputs, outputs, waiting)
        async for _, _, msi_valid, msi_ready, query_valid, query_ready, hit, miss, enabled, \
                *output_values in ctx.tick().sample(*sampled):
            for kind, valid, ready in (("msi", msi_valid, msi_ready),
                                       ("query", query_valid, query_ready)):
                if valid and ready:
                    self.accepted[kind].append((self.edge, *self.pending[kind].popleft()))
                waiting[kind] = bool(valid and not ready)
            if msi_valid and msi_ready:
                self.disabled.append(not enabled)
            (lpi_v, lpi_r, lpi), (drop_v, drop_r, drop), (ans_v, ans_r, ans) = \
                zip(*[iter(output_values)] * 3)
            if lpi_v and lpi_r:
                assert lpi.packet.op == GicOp.SET
                self.lpis.append((self.edge, lpi.rd, lpi.packet.lpi))
            if drop_v and drop_r:
                self.drops.append((self.edge, drop.reason, drop.device_id, drop.event_id))
            if ans_v and ans_r:
                assert ans.done
                self.answers.append((self.edge, ans.status, ans.pintid, ans.target))
            if hit:
                self.hits.append(self.edge)
            if miss:
                self.misses.append(self.edge)
            self.edge += 1
            self._set_inputs(ctx, inputs, outputs, waiting)

    def _set_inputs(self, ctx, inputs, outputs, waiting):
        for kind, port in inputs.items():
            if waiting[kind]:
                continue                       # a stream may not withdraw what it offers
            offer = self.go and self.pending[kind] and \
                not (self.input_idle and self.rng.random() < self.input_idle)
            ctx.set(port.valid, bool(offer))
            if offer:
                device_id, event_id = self.pending[kind][0]
                ctx.set(port.payload, {"device_id": device_id, "event_id": event_id})
        for port in outputs:
            ready = not (self.backpressure and self.rng.random() < self.backpressure)
            ctx.set(port.ready, ready and (self.lpi_ready or port is not self.dut.lpi))

    def run(self, testbench):
        async def main(ctx):
            await testbench(ctx, self)
        run_sim(self.bench, main, processes=[self.memory.run, self.process])

    # -- checking against the model ----------------------------------------------------------

    def expected(self, msis, queries=()):
        """What the model gives for ``msis`` and ``queries``, in order: per MSI the output
        event (``("lpi", rd, pintid)`` or ``("drop", reason, device_id, event_id)``), per
        query its answer."""
        model = self.tables.model
        events = []
        for device_id, event_id in msis:
            translation = model.query(device_id, event_id)
            if translation.status == DropReason.OK:
                events.append(("lpi", translation.target, translation.pintid))
            else:
                events.append(("drop", translation.status, device_id, event_id))
        answers = [tuple(model.query(device_id, event_id)) for device_id, event_id in queries]
        return events, answers

    def looked_up(self):
        """Per MSI accepted, in order: whether its outcome was decided at look-up (a hit, or
        DISABLED) rather than by a walk. The tcache pulses come in acceptance order."""
        pulses = iter(kind for _, kind in sorted([(edge, True) for edge in self.hits] +
                                                 [(edge, False) for edge in self.misses]))
        return [True if disabled else next(pulses) for disabled in self.disabled]

    def output_events(self, since=0):
        """The MSI outputs (SETs and drops), in the order they left, from MSI ``since`` on."""
        events = sorted([(edge, ("lpi", rd, pintid)) for edge, rd, pintid in self.lpis] +
                        [(edge, ("drop", *drop)) for edge, *drop in self.drops])
        return [event for _, event in events][since:]

    def check(self, msis, queries=()):
        """The outputs are what the model gives, in decision order: the outcomes decided at
        look-up leave in acceptance order, so do the walked ones, and the output is an
        interleaving of the two (so per redistributor as well); the answers keep the order
        of the questions."""
        events, answers = self.expected(msis, queries)
        looked_up = self.looked_up()
        assert len(looked_up) == len(msis)
        at_lookup = [e for e, early in zip(events, looked_up) if early]
        walked = [e for e, early in zip(events, looked_up) if not early]
        got = self.output_events()
        assert sorted(got, key=repr) == sorted(events, key=repr)
        assert is_interleaving(got, at_lookup, walked), (got, at_lookup, walked)
        assert [tuple(a[1:]) for a in self.answers] == answers


def is_interleaving(merged, first, second):
    """Whether ``merged`` is ``first`` and ``second`` interleaved, each in its order."""
    if len(merged) != len(first) + len(second):
        return False
    reachable = {0}                 # counts taken from ``first`` after each step
    for step, item in enumerate(merged):
        reachable = {i + 1 for i in reachable if i < len(first) and first[i] == item} | \
                    {i for i in reachable if step - i < len(second) and second[step - i] == item}
        if not reachable:
            return False
    return True


def standard_tables(params=PARAMS, *, rng, page_size=PageSize.SIZE_4K, indirect=False):
    """Six devices, on-chip collections 0..2 mapped (3 not), CTEs 5 and 6 mapped, 7 not;
    some events unmapped or pointing at unmapped collections."""
    tables = TableSet(params, page_size=page_size, indirect=indirect, device_pages=2)
    for icid, rd in ((0, 0), (1, 1), (2, 2), (5, 3), (6, 1)):
        tables.map_collection(icid, rd)
    tables.map_collection(7, 2, valid=False)
    devices = {}
    per_page = tables.page // ENTRY_BYTES
    in_table = 1 << params.device_bits if indirect else 2 * per_page
    for device_id in rng.sample(range(1, min(in_table, 1 << params.device_bits)), 6):
        size = rng.randrange(2, 5)
        tables.map_device(device_id, size)
        devices[device_id] = size
        for event_id in range(2 ** (size + 1)):
            if rng.random() < 0.85:
                tables.map_event(device_id, event_id, rng.randrange(8192, 1 << params.id_bits),
                                 rng.choice((0, 1, 2, 5, 6, 0, 1, 2, 3, 7)))
    return tables, devices


def random_msis(rng, devices, count, *, hot=6):
    """Mostly a small hot set (hits), some cold events, and some out-of-range IDs."""
    pairs = [(d, e) for d, size in devices.items() for e in range(2 ** (size + 1))]
    hot_set = rng.sample(pairs, hot)
    msis = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.7:
            msis.append(rng.choice(hot_set))
        elif roll < 0.9:
            msis.append(rng.choice(pairs))
        else:
            msis.append((rng.choice([*devices, 0, (1 << 12) - 1, 1 << 12, 0xffff_ffff]),
                         rng.choice([0, 1, 31, 255, 256, 0xffff_ffff])))
    return msis


@pytest.mark.parametrize("latency", [4, 16])
@pytest.mark.parametrize("seed", [1, 2])
def test_random_msis_against_model(latency, seed):
    print(f"seed {seed} latency {latency}")
    rng = random.Random(seed)
    tables, devices = standard_tables(rng=rng, page_size=rng.choice(list(PageSize)),
                                      indirect=seed % 2 == 0)
    msis = random_msis(rng, devices, 250)
    queries = random_msis(rng, devices, 25)
    harness = Harness(tables, latency=latency, mem_backpressure=0.2, mem_idle=0.1,
                      backpressure=0.2, input_idle=0.2, seed=seed)

    async def testbench(ctx, h):
        await h.setup(ctx)
        h.send("msi", msis)
        h.send("query", queries)
        await h.drain(ctx)

    harness.run(testbench)
    harness.check(msis, queries)
    assert len(harness.hits) + len(harness.misses) == len(msis)
    assert len(harness.hits) > len(msis) // 4


def warm_pairs(devices, count):
    return [(d, e) for d, size in devices.items() for e in range(2)][:count]


def mapped_pairs(tables, devices, *, on_chip=True):
    """Events whose translation succeeds, with an on-chip collection (or one in memory)."""
    pairs = []
    for device_id, size in devices.items():
        for event_id in range(2 ** (size + 1)):
            translation = tables.model.query(device_id, event_id)
            ite = unpack(IttEntry, tables.memory.read_int(tables.ite_address(device_id,
                                                                             event_id)))
            if translation.status == DropReason.OK and (ite["icid"] < PARAMS.hcc) == on_chip:
                pairs.append((device_id, event_id))
    return pairs


def test_hit_throughput_and_latency():
    """Hits: one MSI accepted and one packet out per cycle; each packet 2 cycles after its
    MSI (goal <= 3)."""
    rng = random.Random(3)
    tables, devices = standard_tables(rng=rng)
    hot = mapped_pairs(tables, devices)[:PARAMS.tcache_entries]
    burst = [hot[n % len(hot)] for n in range(64)]
    harness = Harness(tables)

    async def testbench(ctx, h):
        await h.setup(ctx)
        h.send("msi", hot)
        await h.drain(ctx)
        h.send("msi", burst)
        await h.drain(ctx)

    harness.run(testbench)
    harness.check(hot + burst)
    accepted = [edge for edge, *_ in harness.accepted["msi"][len(hot):]]
    out = [edge for edge, *_ in harness.lpis[len(hot):]]
    assert accepted == list(range(accepted[0], accepted[0] + len(burst)))   # 1 per cycle
    assert out == list(range(out[0], out[0] + len(burst)))
    latencies = {o - a for a, o in zip(accepted, out)}
    print(f"hit throughput {len(burst)} MSIs in {accepted[-1] - accepted[0] + 1} cycles, "
          f"hit latency {latencies}")
    assert latencies == {2}
    assert max(latencies) <= HIT_LATENCY_GOAL
    assert len(harness.hits) == len(burst)
    assert harness.hits == [edge + 1 for edge in accepted]


@pytest.mark.parametrize("latency", [4, 16])
@pytest.mark.parametrize("case, reads", [
    ("flat", 2),                 # DTE, ITE (collection on chip)
    ("flat_cte", 3),             # DTE, ITE, CTE
    ("two_level", 3),            # level-1 entry, DTE, ITE
    ("device_cached", 1),        # ITE only: the device cache holds the DTE
])
def test_miss_latency(latency, case, reads):
    """A miss costs its memory round trips (reads x latency) + at most 4 cycles."""
    rng = random.Random(4)
    tables, devices = standard_tables(rng=rng, indirect=case == "two_level")
    pairs = mapped_pairs(tables, devices, on_chip=case != "flat_cte")
    first, second = next((a, b) for a in pairs for b in pairs if a[0] == b[0] and a != b)
    harness = Harness(tables, latency=latency)

    async def testbench(ctx, h):
        await h.setup(ctx)
        if case == "device_cached":
            h.send("msi", [first])           # fills the device cache
            await h.drain(ctx)
        h.send("msi", [second])
        await h.drain(ctx)

    harness.run(testbench)
    msis = [first, second] if case == "device_cached" else [second]
    harness.check(msis)
    assert harness.memory.reads == reads + (case == "device_cached") * 2
    accepted = harness.accepted["msi"][-1][0]
    emitted = harness.lpis[-1][0]
    overhead = emitted - accepted - reads * latency
    print(f"miss ({case}, {reads} reads, memory latency {latency}): "
          f"{emitted - accepted} cycles, {overhead} beyond the round trips")
    assert 0 <= overhead <= MISS_OVERHEAD_GOAL


def edges(records, start=0):
    return [edge for edge, *_ in records[start:]]


def test_hit_overtakes_miss():
    """While a miss waits for memory, later hits are accepted one per cycle and their SETs
    leave 2 cycles after their MSIs, before the miss's (memory latency L = 16: the miss
    takes 2L + 3 cycles); the miss's SET leaves when its walk ends."""
    rng = random.Random(5)
    tables, devices = standard_tables(rng=rng)
    pairs = mapped_pairs(tables, devices)
    hot, cold = pairs[:6], pairs[-1]
    hits = [hot[n % len(hot)] for n in range(12)]
    latency = 16
    harness = Harness(tables, latency=latency, queue_depth=8)

    async def testbench(ctx, h):
        await h.setup(ctx)
        h.send("msi", hot)
        await h.drain(ctx)
        h.send("msi", [cold] + hits)
        await h.drain(ctx)

    harness.run(testbench)
    harness.check(hot + [cold] + hits)
    accepted = edges(harness.accepted["msi"], len(hot))
    assert accepted == list(range(accepted[0], accepted[0] + 13))   # no stall behind the miss
    want = [tables.model.query(*pair) for pair in [cold] + hits]
    sets = harness.lpis[len(hot):]
    miss_edge = next(edge for edge, rd, pintid in sets
                     if (rd, pintid) == (want[0].target, want[0].pintid))
    hit_edges = [edge for edge, *_ in sets if edge != miss_edge]
    assert miss_edge - accepted[0] == 2 * latency + 3
    assert hit_edges == [a + 2 for a in accepted[1:]]               # hit latency 2
    assert all(edge < miss_edge for edge in hit_edges)              # before the miss's SET
    assert [(rd, pintid) for _, rd, pintid in sets] == \
        [(t.target, t.pintid) for t in want[1:] + want[:1]]
    print(f"hit-under-miss: 12 hits out {hit_edges[0] - accepted[1]} cycles after their MSI, "
          f"the last {miss_edge - hit_edges[-1]} cycles before the miss's SET "
          f"({miss_edge - accepted[0]} cycles)")


def test_miss_not_starved_and_tie_rule():
    """A continuous stream of hits around a miss: the miss's SET still leaves 2L + 3 cycles
    after its MSI (it is not starved). The hit looked up in the cycle before the walk ends
    is decided in the same cycle as the miss (a tie): the miss goes first, that hit one
    cycle later, and every later hit keeps that extra cycle while the stream lasts."""
    rng = random.Random(15)
    tables, devices = standard_tables(rng=rng)
    pairs = mapped_pairs(tables, devices)
    hot, cold = pairs[:6], pairs[-1]
    latency = 16
    before = [hot[n % len(hot)] for n in range(3)]
    after = [hot[n % len(hot)] for n in range(80)]
    harness = Harness(tables, latency=latency, queue_depth=8)

    async def testbench(ctx, h):
        await h.setup(ctx)
        h.send("msi", hot)
        await h.drain(ctx)
        h.send("msi", before + [cold] + after)
        await h.drain(ctx)

    harness.run(testbench)
    harness.check(hot + before + [cold] + after)
    accepted = edges(harness.accepted["msi"], len(hot))
    assert accepted == list(range(accepted[0], accepted[0] + len(accepted)))
    miss_accepted = accepted[len(before)]
    cold_out = tables.model.query(*cold)
    sets = harness.lpis[len(hot):]
    miss_edge = next(edge for edge, rd, pintid in sets
                     if (rd, pintid) == (cold_out.target, cold_out.pintid))
    assert miss_edge - miss_accepted == 2 * latency + 3
    hit_out = [edge for edge, *_ in sets if edge != miss_edge]
    hit_in = accepted[:len(before)] + accepted[len(before) + 1:]
    # Decided (look-up + 1 = accepted + 2) before the walk ended: 2 cycles; from the tie on: 3.
    assert [o - a for a, o in zip(hit_in, hit_out)] == \
        [2 if a + 2 < miss_edge else 3 for a in hit_in]
    tie = next(a for a in hit_in if a + 2 == miss_edge)
    assert hit_out[hit_in.index(tie)] == miss_edge + 1


def test_same_event_keeps_order():
    """Two MSIs for the same (DeviceID, EventID): the first misses and walks; the second,
    accepted while it walks, misses too and waits for the walker (no miss-under-miss), so
    it is looked up again after the first one's outcome filled the cache and hits. Hits on
    other events overtake the first miss; the two SETs of the event stay in order."""
    rng = random.Random(16)
    tables, devices = standard_tables(rng=rng)
    pairs = mapped_pairs(tables, devices)
    hot, cold = pairs[:4], pairs[-1]
    latency = 16
    burst = [cold] + hot + [cold] + hot
    harness = Harness(tables, latency=latency)

    async def testbench(ctx, h):
        await h.setup(ctx)
        h.send("msi", hot)
        await h.drain(ctx)
        h.send("msi", burst)
        await h.drain(ctx)

    harness.run(testbench)
    harness.check(hot + burst)
    assert harness.looked_up()[len(hot):] == [False] + [True] * 4 + [True] + [True] * 4
    cold_out = tables.model.query(*cold)
    sets = harness.lpis[len(hot):]
    cold_edges = [edge for edge, rd, pintid in sets
                  if (rd, pintid) == (cold_out.target, cold_out.pintid)]
    accepted = edges(harness.accepted["msi"], len(hot))
    assert len(cold_edges) == 2
    assert cold_edges[0] - accepted[0] == 2 * latency + 3
    # The second MSI of the event is accepted at once but waits in the look-up stage; it is
    # decided after the first's SET left and its fill was applied (the cycle after): it
    # hits in the look-up two cycles after, and its SET leaves the cycle after that.
    assert accepted[5] == accepted[0] + 5
    assert cold_edges[1] == cold_edges[0] + 3
    assert all(edge < cold_edges[0] for edge in edges(sets)[:4])     # the 4 hits overtook


def test_queries_and_drops_overtake_a_miss():
    """A query that hits, and an MSI dropped as DISABLED, are decided at look-up: they leave
    before the outcome of an earlier miss (an MSI walking the tables). A miss whose walk
    ends in a drop is overtaken by hits as well."""
    rng = random.Random(17)
    tables, devices = standard_tables(rng=rng)
    pairs = mapped_pairs(tables, devices)
    hot, cold, cold2 = pairs[:3], pairs[-1], pairs[-2]
    unmapped = next((d, e) for d, size in devices.items() for e in range(2 ** (size + 1))
                    if tables.model.query(d, e).status == DropReason.UNMAPPED_INTERRUPT)
    latency = 16
    harness = Harness(tables, latency=latency)

    async def testbench(ctx, h):
        await h.setup(ctx)
        h.send("msi", hot)
        await h.drain(ctx)
        # A miss, then a query that hits, then a miss that drops behind hits.
        h.send("msi", [cold])
        await h.wait_for(ctx, lambda: len(h.accepted["msi"]) == len(hot) + 1)
        h.send("query", [hot[0]])
        await h.drain(ctx)
        h.send("msi", [unmapped] + hot)
        await h.drain(ctx)
        # A miss, then the ITS disabled: the next MSIs drop as DISABLED before its SET.
        h.send("msi", [cold2])
        await h.wait_for(ctx, lambda: len(h.accepted["msi"]) == 2 * len(hot) + 3)
        ctx.set(h.dut.enabled, 0)
        h.send("msi", hot)
        await h.drain(ctx)

    harness.run(testbench)
    cold_sets = [next(edge for edge, rd, pintid in harness.lpis
                      if (rd, pintid) == (t.target, t.pintid))
                 for t in (tables.model.query(*cold), tables.model.query(*cold2))]
    answer_edge = harness.answers[0][0]
    assert answer_edge < cold_sets[0]
    assert harness.answers[0][1:] == tuple(tables.model.query(*hot[0]))
    assert answer_edge - harness.accepted["query"][0][0] == 2
    unmapped_drop = next(d for d in harness.drops if d[2:] == unmapped)
    hot_after = edges(harness.lpis, len(hot) + 1)[:len(hot)]
    assert unmapped_drop[1] == DropReason.UNMAPPED_INTERRUPT
    assert all(edge < unmapped_drop[0] for edge in hot_after)
    disabled = [d for d in harness.drops if d[1] == DropReason.DISABLED]
    assert [d[2:] for d in disabled] == hot
    assert all(d[0] < cold_sets[1] for d in disabled)
    # Warm-up, cold, unmapped + hits, cold2 + DISABLED.
    assert harness.looked_up() == [False] * 3 + [False] + [False] + [True] * 3 + [False] + \
        [True] * 3


def test_queries_keep_their_order():
    """Query answers carry no ID, so they keep the order of the questions: a query waits in
    the look-up stage while an earlier query walks (and the MSIs behind it wait too); MSIs
    that hit still overtake the walking query."""
    rng = random.Random(18)
    tables, devices = standard_tables(rng=rng)
    pairs = mapped_pairs(tables, devices)
    hot, cold, cold2 = pairs[:3], pairs[-1], pairs[-2]
    latency = 16
    harness = Harness(tables, latency=latency)

    async def testbench(ctx, h):
        await h.setup(ctx)
        h.send("msi", hot)
        await h.drain(ctx)
        h.send("query", [cold])
        await h.wait_for(ctx, lambda: h.accepted["query"])
        h.send("msi", hot)
        await h.drain(ctx)
        h.send("query", [cold2, hot[1]])
        await h.drain(ctx)

    harness.run(testbench)
    harness.check(hot + hot, [cold, cold2, hot[1]])
    asked = edges(harness.accepted["query"])
    answered = edges(harness.answers)
    # The MSIs sent after the first query hit and leave before its answer.
    assert all(edge < answered[0] for edge in edges(harness.lpis, len(hot)))
    assert answered[0] - asked[0] == 2 * latency + 3
    # The query that hits, asked right behind one that walks, waits until that walk's
    # answer left (look-up the cycle after, answer the cycle after that).
    assert asked[2] == asked[1] + 1
    assert answered[1] - asked[1] >= latency + 3          # walked (the DTE may be cached)
    assert answered[2] == answered[1] + 2


def test_second_miss_waits_and_queue_limit():
    """A second miss waits for the walker, holding up the input (no miss-under-miss); the
    queue holds only outcomes decided at look-up: with ``lpi`` not ready, ``queue_depth``
    hits fill it and stop the input."""
    rng = random.Random(6)
    tables, devices = standard_tables(rng=rng)
    pairs = mapped_pairs(tables, devices)
    hot = pairs[:4]
    cold = pairs[-2:]
    hits = [hot[n % 4] for n in range(10)]
    latency = 16
    harness = Harness(tables, latency=latency, queue_depth=4)

    async def testbench(ctx, h):
        await h.setup(ctx)
        h.send("msi", hot)
        await h.drain(ctx)
        h.send("msi", [cold[0]] + hits + [cold[1]] + hits)
        await h.drain(ctx)
        h.lpi_ready = False
        h.send("msi", hits)
        await ctx.tick().repeat(40)
        # 4 in the queue, 1 in the look-up stage.
        assert len(h.accepted["msi"]) == len(hot) + 2 * len(hits) + 2 + 5
        h.lpi_ready = True
        await h.drain(ctx)

    harness.run(testbench)
    harness.check(hot + [cold[0]] + hits + [cold[1]] + hits + hits)
    accepted = edges(harness.accepted["msi"], len(hot))
    first_miss_out = harness.lpis[len(hot) + len(hits)][0]
    # The hits and the second miss are accepted at once; the second miss waits in the
    # look-up stage for the walker, so the next MSI is accepted only after the first
    # miss's outcome left, its fill cycle passed and the second walk started.
    n = len(hits) + 2
    assert accepted[:n] == list(range(accepted[0], accepted[0] + n))
    assert accepted[n] == first_miss_out + 2
    assert harness.misses[-1] == first_miss_out + 2
    assert first_miss_out - accepted[0] == 2 * latency + 3


def test_backpressure_on_lpi():
    rng = random.Random(7)
    tables, devices = standard_tables(rng=rng)
    msis = random_msis(rng, devices, 60)
    harness = Harness(tables, queue_depth=4)

    async def testbench(ctx, h):
        await h.setup(ctx)
        h.lpi_ready = False
        h.send("msi", msis)
        await ctx.tick().repeat(200)
        stuck = len(h.accepted["msi"])
        assert not h.lpis
        await ctx.tick().repeat(50)
        assert len(h.accepted["msi"]) == stuck          # input stopped, nothing lost
        assert not ctx.get(h.dut.idle)
        h.lpi_ready = True
        await h.drain(ctx)

    harness.run(testbench)
    harness.check(msis)


async def change_tables(ctx, h, change, inval):
    """As the executor does: hold, wait for idle, change the tables, invalidate, release."""
    ctx.set(h.dut.hold, 1)
    await h.wait_for(ctx, lambda: ctx.get(h.dut.idle))
    change()
    if inval is not None:
        kind, device_id, event_id = inval
        await stream_put(ctx, h.dut.inval, {"kind": kind, "device_id": device_id,
                                            "event_id": event_id})
    await h.load_collections(ctx)
    ctx.set(h.dut.hold, 0)


@pytest.mark.parametrize("kind", list(InvalKind))
def test_invalidation(kind):
    """After a table change and its invalidation, MSIs see the new mapping (the model's);
    without the invalidation the cache would still answer the old one."""
    rng = random.Random(8)
    tables, devices = standard_tables(rng=rng)
    pairs = mapped_pairs(tables, devices)
    device_id, event_id = pairs[0]
    others = [p for p in pairs if p[0] != device_id][:3]
    same_device = [p for p in pairs if p[0] == device_id and p != pairs[0]][:2]
    watched = [pairs[0]] + same_device + others
    old = [tables.model.query(*p) for p in watched]
    new_itt = 0x0700_0000

    def change():
        if kind is InvalKind.EVENT:        # MAPTI over the event: new pINTID
            tables.map_event(device_id, event_id, 9999, 1)
        elif kind is InvalKind.DEVICE:     # MAPD to a new ITT: every event moves
            size = devices[device_id]
            tables.map_device(device_id, size, itt=new_itt)
            for e in range(2 ** (size + 1)):
                tables.map_event(device_id, e, 10000 + e, 2)
        else:                              # MAPC: collection 0 moves to RD 3, 1 to RD 0
            tables.map_collection(0, 3)
            tables.map_collection(1, 0)

    harness = Harness(tables)

    async def testbench(ctx, h):
        await h.setup(ctx)
        h.send("msi", watched)
        await h.drain(ctx)
        await change_tables(ctx, h, change, None)
        h.send("msi", watched)             # no invalidation yet: the caches answer
        await h.drain(ctx)
        await change_tables(ctx, h, lambda: None, (kind, device_id, event_id))
        h.send("msi", watched)
        await h.drain(ctx)

    harness.run(testbench)
    n = len(watched)
    got = [(rd, pintid) for _, rd, pintid in harness.lpis]
    assert got[:n] == got[n:2 * n] == [(t.target, t.pintid) for t in old]
    new = [("lpi", t.target, t.pintid) for t in (tables.model.query(*p) for p in watched)]
    # The invalidated entries miss, the others hit and overtake them.
    looked_up = harness.looked_up()[2 * n:]
    assert not all(looked_up)
    assert is_interleaving(harness.output_events()[2 * n:],
                           [e for e, early in zip(new, looked_up) if early],
                           [e for e, early in zip(new, looked_up) if not early])
    assert [(rd, pintid) for _, rd, pintid in new] != [(t.target, t.pintid) for t in old]
    assert not harness.drops


def test_fill_of_a_walk_before_an_invalidation_is_dropped():
    """The walk read the old ITE; the table changes and the invalidation comes while its
    result waits (lpi not ready). The old outcome leaves (it was decided before), but it
    must not be cached: the next MSI misses and sees the new ITE."""
    rng = random.Random(9)
    tables, devices = standard_tables(rng=rng)
    pair = mapped_pairs(tables, devices)[0]
    old = tables.model.query(*pair)
    harness = Harness(tables, latency=8)

    async def testbench(ctx, h):
        await h.setup(ctx)
        h.lpi_ready = False
        h.send("msi", [pair])
        await h.wait_for(ctx, lambda: ctx.get(h.dut.lpi.valid))
        tables.map_event(*pair, 12345, 2)
        await stream_put(ctx, h.dut.inval, {"kind": InvalKind.EVENT, "device_id": pair[0],
                                            "event_id": pair[1]})
        h.lpi_ready = True
        await h.drain(ctx)
        h.send("msi", [pair, pair])
        await h.drain(ctx)

    harness.run(testbench)
    new = tables.model.query(*pair)
    assert [(rd, pintid) for _, rd, pintid in harness.lpis] == \
        [(old.target, old.pintid), (new.target, new.pintid), (new.target, new.pintid)]
    assert len(harness.misses) == 2 and len(harness.hits) == 1


def test_cache_disable():
    rng = random.Random(10)
    tables, devices = standard_tables(rng=rng)
    pairs = mapped_pairs(tables, devices)[:3]
    msis = pairs * 3
    harness = Harness(tables)

    async def testbench(ctx, h):
        ctx.set(h.dut.cache_disable, 1)
        await h.setup(ctx)
        h.send("msi", msis)
        await h.drain(ctx)

    harness.run(testbench)
    harness.check(msis)
    assert len(harness.misses) == len(msis) and not harness.hits
    assert harness.memory.reads == 2 * len(msis)


def test_disabled():
    """Enabled = 0: MSIs drop as DISABLED, queries answer DISABLED, no memory access."""
    rng = random.Random(11)
    tables, devices = standard_tables(rng=rng)
    tables.model.write(REG["GITS_CTLR"], pack(GitsCtlr, enabled=0))
    msis = random_msis(rng, devices, 20)
    harness = Harness(tables)

    async def testbench(ctx, h):
        await h.setup(ctx, enabled=False)
        h.send("msi", msis)
        h.send("query", msis[:5])
        await h.drain(ctx)

    harness.run(testbench)
    harness.check(msis, msis[:5])
    assert {d[1] for d in harness.drops} == {DropReason.DISABLED}
    assert harness.memory.reads == 0 and not harness.hits and not harness.misses


def test_queries_send_and_count_nothing():
    rng = random.Random(12)
    tables, devices = standard_tables(rng=rng)
    queries = random_msis(rng, devices, 40)
    msis = random_msis(rng, devices, 40)
    harness = Harness(tables, latency=4)

    async def testbench(ctx, h):
        await h.setup(ctx)
        h.send("query", queries)
        await h.drain(ctx)
        assert not h.lpis and not h.drops and not h.hits and not h.misses
        h.send("query", queries)
        h.send("msi", msis)
        await h.drain(ctx)

    harness.run(testbench)
    harness.check(msis, queries + queries)
    assert len(harness.hits) + len(harness.misses) == len(msis)
    # Offered together, they take turns until one side runs out.
    merged = sorted([(edge, "query") for edge, *_ in harness.accepted["query"][len(queries):]] +
                    [(edge, "msi") for edge, *_ in harness.accepted["msi"]])
    kinds = [kind for _, kind in merged][:2 * len(msis)]
    assert all(a != b for a, b in zip(kinds, kinds[1:])), kinds


def test_hold_and_idle():
    rng = random.Random(13)
    tables, devices = standard_tables(rng=rng)
    pair = mapped_pairs(tables, devices)[0]
    harness = Harness(tables, latency=16)

    async def testbench(ctx, h):
        await h.setup(ctx)
        assert ctx.get(h.dut.idle)
        ctx.set(h.dut.hold, 1)
        h.send("msi", [pair])
        await ctx.tick().repeat(20)
        assert not h.accepted["msi"] and ctx.get(h.dut.idle)
        ctx.set(h.dut.hold, 0)
        await h.wait_for(ctx, lambda: h.accepted["msi"])
        ctx.set(h.dut.hold, 1)
        for _ in range(30):                  # the walk is in flight: not idle
            await ctx.tick()
            if h.lpis:
                break
            assert not ctx.get(h.dut.idle)
        await h.wait_for(ctx, lambda: ctx.get(h.dut.idle))
        assert len(h.lpis) == 1
        ctx.set(h.dut.hold, 0)

    harness.run(testbench)
    harness.check([pair])


def test_verilog_conversion():
    for params in (ItsParams(), ItsParams(hcc=0), PARAMS):
        assert "module" in verilog.convert(Translator(params))
    assert "module" in verilog.convert(CollectionTable(ItsParams(hcc=0)))


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_parameter_errors():
    with pytest.raises(TypeError, match=r"params must be an ItsParams, not 'x'"):
        Translator("x")
    with pytest.raises(ValueError, match=r"queue_depth must be an integer in 2\.\.64, not 1"):
        Translator(PARAMS, queue_depth=1)
    with pytest.raises(ValueError, match=r"queue_depth must be an integer in 2\.\.64, not 65"):
        Translator(PARAMS, queue_depth=65)
    with pytest.raises(TypeError, match=r"params must be an ItsParams, not None"):
        CollectionTable(None)
    gc.collect()  # the half-built components warn when collected: here, where that is ignored
