"""Parity on the translation path's caches (docs/behaviour.md, "Cache parity").

Two levels:

* the caches alone, every bit of every entry of a small configuration flipped in turn
  (GITS_PARITY_INJECT's path, ``Cache.inject``): the entry never hits again, no other
  key gets its value, the other entries keep theirs, the error is reported once with
  the entry's index by the caches' scrub, and the entry is dropped (a fill of its key
  takes it again and hits);
* the whole ITS under the driver: random flips in both caches through
  GITS_PARITY_INJECT; every MSI still gives the LPI the test mapped, the error is
  counted (GITS_STAT_PARITY_ERRORS) and recorded (GITS_ERR_PARITY: cache and index),
  ``error_irq`` pulses once per error, and the entry is refetched (memory is read).

Which entry holds which key comes from the replacement policy documented in
hw/its/tcache.py (after an invalidation, the lowest free entry first).
"""

import random

import pytest
from amaranth.lib import data

from gic.hw.its.layouts import (LPI_BASE, CacheCtl, CacheId, ErrParityRecord, GicOp,
                                InvalKind, ParityInject)
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REG, stat_offset
from gic.hw.its.tcache import (DeviceCache, DeviceCacheValue, TranslationCache,
                               TranslationCacheValue, device_key, translation_key)
from gic.hw.its.top import Its
from gic.sim.driver.its import ItsDriver
from gic.sim.models.commands import pack, unpack
from gic.sim.models.memory import Memory
from gic.sim.rtlsim.bus import AmaranthItsBus
from gic.sim.rtlsim.gicsink import GicStreamSink
from gic.sim.rtlsim.harness import Axi4LiteMasterModel, Axi4SlaveModel, run_sim

PARAMS = ItsParams(tcache_entries=4, dcache_entries=2, device_bits=4, event_bits=4)


def _width(layout):
    return data.Layout.cast(layout).size


def _cases(kind):
    """(cache, keys, values, stored bits per entry) for a full cache of ``kind``."""
    if kind == "translation":
        cache = TranslationCache(PARAMS)
        # Keys one bit apart, so a flipped key bit can land on another entry's key.
        keys = [{"device_id": 1, "event_id": n} for n in range(PARAMS.tcache_entries)]
        values = [{"pintid": LPI_BASE + 3 * n, "rd": n} for n in range(len(keys))]
        key_layout, value_layout = translation_key(PARAMS), TranslationCacheValue
    else:
        cache = DeviceCache(PARAMS)
        keys = [{"device_id": n} for n in range(PARAMS.dcache_entries)]
        values = [{"itt_addr": 0x100 + n, "size": n + 1} for n in range(len(keys))]
        key_layout, value_layout = device_key(PARAMS), DeviceCacheValue
    width = _width(key_layout) + _width(value_layout) + 1
    return cache, keys, values, key_layout, width


async def _fill(ctx, dut, key, value):
    """Reserve an entry, then fill it with (key, value), as the translator does."""
    ctx.set(dut.reserve, 1)
    await ctx.tick()
    ctx.set(dut.reserve, 0)
    ctx.set(dut.fill.payload, {"key": key, "value": value})
    ctx.set(dut.fill.valid, 1)
    await ctx.tick()
    ctx.set(dut.fill.valid, 0)


def _as_int(layout, fields):
    return data.Layout.cast(layout).const(fields).as_value().value


def _from_int(layout, value):
    view = data.Layout.cast(layout).from_bits(value)
    return {name: view[name] for name, _ in data.Layout.cast(layout)}


@pytest.mark.parametrize("kind", ["translation", "device"])
def test_every_bit_of_every_entry(kind):
    dut, keys, values, key_layout, width = _cases(kind)
    key_bits = _width(key_layout)
    seen = {"cases": 0}

    async def testbench(ctx):
        def lookup(key):
            ctx.set(dut.lookup.key, key)
            if not ctx.get(dut.lookup.hit):
                return None
            value = ctx.get(dut.lookup.value)
            return {name: getattr(value, name) for name, _ in data.Layout.cast(value.shape())}

        async def refill_all():
            ctx.set(dut.inval.payload, {"kind": InvalKind.ALL})
            ctx.set(dut.inval.valid, 1)
            await ctx.tick()
            ctx.set(dut.inval.valid, 0)
            for key, value in zip(keys, values):   # entry n holds keys[n]
                await _fill(ctx, dut, key, value)

        for index in range(len(keys)):
            for bit in range(width + 1):            # bit == width: beyond the entry
                await refill_all()
                assert not ctx.get(dut.parity_error.valid)
                ctx.set(dut.inject.payload, {"index": index, "bit": bit})
                ctx.set(dut.inject.valid, 1)
                await ctx.tick()
                ctx.set(dut.inject.valid, 0)
                corrupted = bit < width
                # From the next cycle the bad entry never answers; every other key gets
                # its own value, also the one the flipped key now spells.
                for n, key in enumerate(keys):
                    want = None if n == index and corrupted else values[n]
                    assert lookup(key) == want, (index, bit, n)
                if bit < key_bits:
                    alias = _from_int(key_layout, _as_int(key_layout, keys[index]) ^ (1 << bit))
                    others = [values[n] for n, key in enumerate(keys)
                              if key == alias and n != index]
                    assert lookup(alias) == (others[0] if others else None), (index, bit)
                assert not ctx.get(dut.parity_error.valid)
                await ctx.tick()
                # Reported once, with the entry's index; the entry stays unused.
                assert ctx.get(dut.parity_error.valid) == corrupted, (index, bit)
                if corrupted:
                    assert ctx.get(dut.parity_error.payload) == index
                assert lookup(keys[index]) == (None if corrupted else values[index])
                await ctx.tick()
                assert not ctx.get(dut.parity_error.valid)
                if corrupted:
                    # Dropped: the refill of its key takes the free entry (nothing is
                    # evicted) and hits.
                    await _fill(ctx, dut, keys[index], values[index])
                    for n, key in enumerate(keys):
                        assert lookup(key) == values[n], (index, bit, n)
                    assert not ctx.get(dut.parity_error.valid)
                seen["cases"] += 1

    run_sim(dut, testbench, max_cycles=None)
    assert seen["cases"] == len(keys) * (width + 1)


def test_errors_in_two_entries_reported_one_a_cycle():
    dut, keys, values, _, _ = _cases("translation")

    async def testbench(ctx):
        for key, value in zip(keys, values):
            await _fill(ctx, dut, key, value)
        for index in (3, 1):
            ctx.set(dut.inject.payload, {"index": index, "bit": 20})
            ctx.set(dut.inject.valid, 1)
            await ctx.tick()
        ctx.set(dut.inject.valid, 0)
        reports = []
        for _ in range(4):
            if ctx.get(dut.parity_error.valid):
                reports.append(ctx.get(dut.parity_error.payload))
            await ctx.tick()
        assert reports == [3, 1]

    run_sim(dut, testbench)


def test_no_report_without_injection():
    """Without an injection nothing is ever reported (the parity of every fill is right)."""
    dut, keys, values, _, _ = _cases("translation")

    async def testbench(ctx):
        rng = random.Random(1)
        for _ in range(60):
            n = rng.randrange(len(keys))
            value = {"pintid": rng.randrange(1 << 16), "rd": rng.randrange(256)}
            await _fill(ctx, dut, keys[n], value)
            ctx.set(dut.lookup.key, keys[n])
            assert ctx.get(dut.lookup.hit)
            await ctx.tick()
            assert not ctx.get(dut.parity_error.valid)

    run_sim(dut, testbench)


# -- the whole ITS ------------------------------------------------------------------------

ITS_PARAMS = ItsParams(device_bits=8, event_bits=8, id_bits=14, collection_bits=8, hcc=4,
                       num_redistributors=2, tcache_entries=8, dcache_entries=2)
MEM_BASE = 0x4000_0000
# Entry n of the translation cache holds KEYS[n] after an invalidation and one MSI each
# (in this order); entry d of the device cache holds device d.
KEYS = [(0, e) for e in range(6)] + [(1, 0), (1, 1)]
SPARE = {0: (0, 7), 1: (1, 2)}      # mapped, not among KEYS: a device cache look-up that walks
LPIS = {(d, e): (LPI_BASE + 16 * d + e, (d + e) % 2) for d, e in KEYS + list(SPARE.values())}


def _entry_bits(cache):
    key = translation_key(ITS_PARAMS) if cache is CacheId.TRANSLATION else device_key(ITS_PARAMS)
    value = TranslationCacheValue if cache is CacheId.TRANSLATION else DeviceCacheValue
    return _width(key) + _width(value) + 1


def _injections(seed, count):
    """Random (cache, index, bit), and for each cache a key bit, a value bit and the parity
    bit of some entry."""
    rng = random.Random(seed)
    cases = []
    for cache, entries, key_bits in ((CacheId.TRANSLATION, ITS_PARAMS.tcache_entries, 16),
                                     (CacheId.DEVICE, ITS_PARAMS.dcache_entries, 8)):
        width = _entry_bits(cache)
        cases += [(cache, rng.randrange(entries), rng.randrange(key_bits)),
                  (cache, rng.randrange(entries), rng.randrange(key_bits, width - 1)),
                  (cache, rng.randrange(entries), width - 1)]
    while len(cases) < count:
        cache = rng.choice([CacheId.TRANSLATION, CacheId.DEVICE])
        entries = ITS_PARAMS.tcache_entries if cache is CacheId.TRANSLATION \
            else ITS_PARAMS.dcache_entries
        cases.append((cache, rng.randrange(entries), rng.randrange(_entry_bits(cache))))
    return cases


def test_its_random_flips():
    memory = Memory()
    its = Its(ITS_PARAMS)
    axi = Axi4SlaveModel(memory, its.axi, latency=4)
    sink = GicStreamSink(its.gic, its.ack)
    irq = {"pulses": 0}
    checked = []

    async def count_irq(ctx):
        async for _, _, pulse in ctx.tick().sample(its.error_irq):
            irq["pulses"] += pulse

    async def testbench(ctx):
        bus = AmaranthItsBus(ctx, its, Axi4LiteMasterModel(its.axil), memory, sink=sink)
        driver = ItsDriver(bus, mem_base=MEM_BASE, ring_bytes=4096)
        await driver.probe()
        await driver.init_cpus(2)
        for device in (0, 1):
            await driver.map_device(device, 3)
        for (device, event), (lpi, rd) in LPIS.items():   # collection n: RD n
            await driver.map_event(device, event, lpi, rd, sync=False)
        await driver.sync(0)
        for rd in (0, 1):
            await bus.take_packets(rd)       # the bring-up's INVALLs and SYNCs

        async def msi_gives_its_lpi(device, event):
            await bus.msi(device, event)
            lpi, rd = LPIS[(device, event)]
            assert [(p.op, p.lpi) for p in await bus.take_packets(rd)] == [(GicOp.SET, lpi)]
            assert await bus.take_packets(1 - rd) == []

        async def fill_caches():
            await bus.write_reg(REG["GITS_CACHE_CTL"], pack(CacheCtl, invalidate=1), 4)
            while unpack(CacheCtl, await bus.read_reg(REG["GITS_CACHE_CTL"], 4))["invalidate"]:
                await bus.idle()
            for device, event in KEYS:
                await msi_gives_its_lpi(device, event)

        # Reference: the memory reads of a translation-cache hit and of a walk that finds
        # the DTE in the device cache.
        await fill_caches()
        before = memory.reads
        await msi_gives_its_lpi(*KEYS[3])
        hit_reads = memory.reads - before
        before = memory.reads
        await msi_gives_its_lpi(*SPARE[0])
        walk_reads = memory.reads - before
        assert hit_reads == 0 and walk_reads > 0

        errors = 0
        for cache, index, bit in _injections(seed=5, count=16):
            await fill_caches()
            pulses = irq["pulses"]
            await bus.write_reg(REG["GITS_PARITY_INJECT"],
                                pack(ParityInject, cache=cache, index=index, bit=bit), 4)
            before = memory.reads
            if cache is CacheId.TRANSLATION:
                await msi_gives_its_lpi(*KEYS[index])       # misses, walks, refills
                assert memory.reads - before > hit_reads
            else:
                await msi_gives_its_lpi(*SPARE[index])      # walks, and reads the DTE again
                assert memory.reads - before > walk_reads
            errors += 1
            record = unpack(ErrParityRecord, await bus.read_reg(REG["GITS_ERR_PARITY"], 4))
            assert record == {"cache": cache, "valid": 1, "index": index, "overflow": 0}, \
                (cache, index, bit)
            assert await bus.read_reg(stat_offset("PARITY_ERRORS"), 4) == errors
            await ctx.tick().repeat(4)
            assert irq["pulses"] == pulses + 1
            # The entry was refetched: the same MSI now hits (or walks as without error).
            before = memory.reads
            if cache is CacheId.TRANSLATION:
                await msi_gives_its_lpi(*KEYS[index])
                assert memory.reads - before == hit_reads
            await bus.write_reg(REG["GITS_ERR_PARITY"], 0, 4)
            assert await bus.read_reg(REG["GITS_ERR_PARITY"], 4) == 0
            checked.append((cache, index, bit))
        assert await driver.read_msi_error() is None

    run_sim(its, testbench, processes=[axi.run, sink.run, count_irq], max_cycles=2_000_000)
    assert len(checked) == 16


def test_its_second_error_overflows():
    """Two errors before software reads GITS_ERR_PARITY: the first is kept, overflow set."""
    memory = Memory()
    its = Its(ITS_PARAMS)
    axi = Axi4SlaveModel(memory, its.axi, latency=4)
    sink = GicStreamSink(its.gic, its.ack)

    async def testbench(ctx):
        bus = AmaranthItsBus(ctx, its, Axi4LiteMasterModel(its.axil), memory, sink=sink)
        driver = ItsDriver(bus, mem_base=MEM_BASE, ring_bytes=4096)
        await driver.probe()
        await driver.init_cpus(2)
        await driver.map_device(0, 3)
        for event in range(3):
            await driver.map_event(0, event, LPI_BASE + event, 0)
        for event in range(3):
            await bus.msi(0, event)
        for index in (2, 1):
            await bus.write_reg(REG["GITS_PARITY_INJECT"], pack(
                ParityInject, cache=CacheId.TRANSLATION, index=index, bit=20), 4)
        for event in (2, 1):
            await bus.msi(0, event)
        assert [p.lpi for p in await bus.take_packets(0) if p.op == GicOp.SET] == \
            [LPI_BASE, LPI_BASE + 1, LPI_BASE + 2, LPI_BASE + 2, LPI_BASE + 1]
        record = unpack(ErrParityRecord, await bus.read_reg(REG["GITS_ERR_PARITY"], 4))
        assert record == {"cache": CacheId.TRANSLATION, "valid": 1, "index": 2, "overflow": 1}
        assert await bus.read_reg(stat_offset("PARITY_ERRORS"), 4) == 2

    run_sim(its, testbench, processes=[axi.run, sink.run])
