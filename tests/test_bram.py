"""hw/boards/bram.py: the board's block RAM behind AXI4, and the bridge's port into it.

Expected data come from a Python dictionary written beside the DUT, addresses and
responses from the AXI specification (IHI 0022): INCR/FIXED beats, DECERR outside
the memory, SLVERR for what the RAM does not serve.
"""

import gc
import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring

from gic.hw.boards.bram import AxiBram
from gic.hw.bus.axi import Axi4MemoryMaster, AxiBurst, AxiResp
from gic.sim.rtlsim.harness import run_sim, stream_get, stream_put

BASE = 0x4000_0000


async def axi_read(ctx, axi, addr, *, beats=1, size=3, burst=AxiBurst.INCR, id=0):
    """One AXI4 read burst; returns [(rdata, rresp, rlast, rid)] per beat."""
    ctx.set(axi.arid, id)
    ctx.set(axi.araddr, addr)
    ctx.set(axi.arlen, beats - 1)
    ctx.set(axi.arsize, size)
    ctx.set(axi.arburst, burst)
    ctx.set(axi.arvalid, 1)
    await ctx.tick().until(axi.arready)
    ctx.set(axi.arvalid, 0)
    ctx.set(axi.rready, 1)
    answers = []
    while len(answers) < beats:
        _, _, valid, *beat = await ctx.tick().sample(axi.rvalid, axi.rdata, axi.rresp,
                                                     axi.rlast, axi.rid)
        if valid:
            answers.append((beat[0], AxiResp(beat[1]), beat[2], beat[3]))
    ctx.set(axi.rready, 0)
    return answers


async def axi_write(ctx, axi, addr, words, *, size=3, burst=AxiBurst.INCR, id=0, strobes=None):
    """One AXI4 write burst of ``words``; returns (bresp, bid)."""
    ctx.set(axi.awid, id)
    ctx.set(axi.awaddr, addr)
    ctx.set(axi.awlen, len(words) - 1)
    ctx.set(axi.awsize, size)
    ctx.set(axi.awburst, burst)
    ctx.set(axi.awvalid, 1)
    await ctx.tick().until(axi.awready)
    ctx.set(axi.awvalid, 0)
    for index, word in enumerate(words):
        ctx.set(axi.wdata, word)
        ctx.set(axi.wstrb, 0xFF if strobes is None else strobes[index])
        ctx.set(axi.wlast, index == len(words) - 1)
        ctx.set(axi.wvalid, 1)
        await ctx.tick().until(axi.wready)
    ctx.set(axi.wvalid, 0)
    ctx.set(axi.bready, 1)
    resp, bid = await ctx.tick().sample(axi.bresp, axi.bid).until(axi.bvalid)
    ctx.set(axi.bready, 0)
    return AxiResp(resp), bid


async def bridge_read(ctx, dut, addr, count=1):
    await stream_put(ctx, dut.read.req, {"addr": addr, "count": count - 1})
    return [await stream_get(ctx, dut.read.resp) for _ in range(count)]


async def bridge_write(ctx, dut, addr, word):
    await stream_put(ctx, dut.write.req, {"addr": addr, "data": word})
    return (await stream_get(ctx, dut.write.resp)).error


def test_incr_bursts_and_bridge_port_share_the_memory():
    dut = AxiBram(size=4096, base=BASE)
    rng = random.Random(3)
    words = [rng.getrandbits(64) for _ in range(8)]

    async def testbench(ctx):
        assert await axi_write(ctx, dut.axi, BASE + 0x100, words, id=5) == (AxiResp.OKAY, 5)
        beats = await axi_read(ctx, dut.axi, BASE + 0x100, beats=8, id=3)
        assert [b[0] for b in beats] == words
        assert [b[2] for b in beats] == [0] * 7 + [1]
        assert {b[1] for b in beats} == {AxiResp.OKAY} and {b[3] for b in beats} == {3}
        # The bridge sees what AXI wrote, and AXI what the bridge wrote.
        answers = await bridge_read(ctx, dut, BASE + 0x108, count=3)
        assert [a.data for a in answers] == words[1:4]
        assert [a.last for a in answers] == [0, 0, 1] and not any(a.error for a in answers)
        assert await bridge_write(ctx, dut, BASE + 0xFF8, 0x1122334455667788) == 0
        beats = await axi_read(ctx, dut.axi, BASE + 0xFF8)
        assert beats[0][:2] == (0x1122334455667788, AxiResp.OKAY)

    run_sim(dut, testbench)


def test_byte_strobes_narrow_and_fixed_bursts():
    dut = AxiBram(size=4096, base=BASE)

    async def testbench(ctx):
        await axi_write(ctx, dut.axi, BASE, [0x1111111111111111, 0x2222222222222222])
        # Two 32-bit beats from an address 4 bytes into a doubleword: upper half, then the
        # next doubleword's lower half (INCR of size 4 bytes).
        resp, _ = await axi_write(ctx, dut.axi, BASE + 4, [0xAAAAAAAA_00000000, 0x00000000_BBBBBBBB],
                                  size=2, strobes=[0xF0, 0x0F])
        assert resp == AxiResp.OKAY
        assert [a.data for a in await bridge_read(ctx, dut, BASE, 2)] == \
            [0xAAAAAAAA_11111111, 0x22222222_BBBBBBBB]
        # FIXED: every beat at the same address; the last one stays.
        await axi_write(ctx, dut.axi, BASE + 0x40, [1, 2, 3], burst=AxiBurst.FIXED)
        beats = await axi_read(ctx, dut.axi, BASE + 0x40, beats=2, burst=AxiBurst.FIXED)
        assert [b[0] for b in beats] == [3, 3]

    run_sim(dut, testbench)


def test_outside_the_memory_is_decerr_and_wrap_is_slverr():
    dut = AxiBram(size=4096, base=BASE)

    async def testbench(ctx):
        await axi_write(ctx, dut.axi, BASE, [0x55])
        # A burst that starts in another 4 KiB page than the memory: DECERR, reads zero.
        beats = await axi_read(ctx, dut.axi, BASE + 4096, beats=2)
        assert [(b[0], b[1]) for b in beats] == [(0, AxiResp.DECERR)] * 2
        assert (await axi_write(ctx, dut.axi, BASE - 8, [7]))[0] == AxiResp.DECERR
        assert (await axi_write(ctx, dut.axi, 0, [7, 8]))[0] == AxiResp.DECERR
        beats = await axi_read(ctx, dut.axi, BASE, beats=2, burst=AxiBurst.WRAP)
        assert {b[1] for b in beats} == {AxiResp.SLVERR}
        assert (await axi_write(ctx, dut.axi, BASE, [9, 9], burst=AxiBurst.WRAP))[0] == \
            AxiResp.SLVERR
        beats = await axi_read(ctx, dut.axi, BASE, size=4)       # 16 bytes on a 64-bit bus
        assert beats[0][1] == AxiResp.SLVERR
        # Nothing above changed the memory.
        assert (await axi_read(ctx, dut.axi, BASE))[0][:2] == (0x55, AxiResp.OKAY)
        answers = await bridge_read(ctx, dut, BASE + 4096 - 8, count=2)
        assert [(a.error, a.last) for a in answers] == [(0, 0), (1, 1)]
        assert await bridge_write(ctx, dut, BASE + 4096, 1) == 1

    run_sim(dut, testbench)


def test_the_its_memory_master_reads_and_writes_through_axi():
    """The ITS's own AXI master (several IDs, bursts crossing nothing) against the RAM."""
    top = Module()
    top.submodules.master = master = Axi4MemoryMaster(read_clients=2, write_clients=1)
    top.submodules.ram = ram = AxiBram(size=8192, base=BASE)
    wiring.connect(top, master.axi, ram.axi)
    rng = random.Random(7)
    words = {BASE + 8 * i: rng.getrandbits(64) for i in range(32)}

    async def testbench(ctx):
        for addr, word in words.items():
            await stream_put(ctx, master.write[0].req, {"addr": addr, "data": word})
            assert not (await stream_get(ctx, master.write[0].resp)).error
        for start in (BASE, BASE + 0x40, BASE + 0x18):
            await stream_put(ctx, master.read[1].req, {"addr": start, "count": 7})
            got = [await stream_get(ctx, master.read[1].resp) for _ in range(8)]
            assert [g.data for g in got] == [words[start + 8 * i] for i in range(8)]
            assert got[-1].last and not any(g.error for g in got)
        await stream_put(ctx, master.read[0].req, {"addr": BASE + 8192, "count": 0})
        assert (await stream_get(ctx, master.read[0].resp)).error

    run_sim(top, testbench)


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
@pytest.mark.parametrize("kwargs, words", [
    ({"size": 1000}, "size"),
    ({"size": 32}, "size"),
    ({"base": 0x1234}, "base"),
    ({"addr_width": 8}, "addr_width"),
])
def test_bad_parameters(kwargs, words):
    with pytest.raises(ValueError, match=words):
        AxiBram(**kwargs)
    gc.collect()        # the half-built component warns here, inside the filter


# A sparse memory as the board's (docs/host-protocol.md): a main window at the base and
# small windows 64 KiB apart, with gaps between them. Stored largest first, back to back:
# 16 KiB + 3 * 4 KiB = 28 KiB of memory.
WINDOWS = [(0, 16384), (0x10000, 4096), (0x20000, 4096), (0x30000, 8192)]


def window_addresses():
    """Per window: its first, a middle and its last doubleword address."""
    return [BASE + offset + place for offset, size in WINDOWS for place in (0, size // 2, size - 8)]


def gap_addresses():
    """Doublewords in no window: right after each window, right before the ones not at the
    base, between windows, and beyond the last."""
    addresses = [BASE + offset + size for offset, size in WINDOWS]
    addresses += [BASE + offset - 8 for offset, _ in WINDOWS[1:]]
    addresses += [BASE + 0x8000, BASE + 0x30000 + 0x4000, BASE + 0x40000, BASE - 8]
    return addresses


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_windows_store_back_to_back():
    dut = AxiBram(windows=WINDOWS, base=BASE)
    assert dut.size == 16384 + 4096 + 4096 + 8192
    assert dut.windows == WINDOWS
    # Largest first, then by offset: each window on a multiple of its size in the memory.
    assert dut.placement() == [(0, 16384, 0), (0x10000, 4096, 24576), (0x20000, 4096, 28672),
                               (0x30000, 8192, 16384)]
    del dut
    gc.collect()        # not elaborated: it warns here, inside the filter


def test_windows_hold_their_own_words_and_gaps_are_decerr():
    dut = AxiBram(windows=WINDOWS, base=BASE)
    rng = random.Random(11)
    inside = {addr: rng.getrandbits(64) for addr in window_addresses()}

    async def testbench(ctx):
        # Every window keeps its own words: no two windows alias in the memory.
        for addr, word in inside.items():
            assert await axi_write(ctx, dut.axi, addr, [word]) == (AxiResp.OKAY, 0)
        for addr, word in inside.items():
            assert (await axi_read(ctx, dut.axi, addr))[0][:2] == (word, AxiResp.OKAY)
            assert [(a.data, a.error) for a in await bridge_read(ctx, dut, addr)] == [(word, 0)]
        # Gaps: DECERR and zero by AXI, error by the bridge, and nothing written anywhere.
        for addr in gap_addresses():
            assert (await axi_write(ctx, dut.axi, addr, [0xBAD]))[0] == AxiResp.DECERR, hex(addr)
            assert (await axi_read(ctx, dut.axi, addr))[0][:2] == (0, AxiResp.DECERR), hex(addr)
            assert await bridge_write(ctx, dut, addr, 0xBAD) == 1, hex(addr)
            assert [(a.data, a.error) for a in await bridge_read(ctx, dut, addr)] == [(0, 1)]
        for addr, word in inside.items():
            assert (await axi_read(ctx, dut.axi, addr))[0][:2] == (word, AxiResp.OKAY)

    run_sim(dut, testbench)


def test_bursts_and_bridge_reads_at_window_edges():
    """An AXI burst stays in its 4 KiB page, so in one window or in a gap: one up to a
    window's last doubleword is OKAY, one from the doubleword after it DECERR. A bridge
    read is not a burst: it runs from a window into the gap, beat by beat."""
    dut = AxiBram(windows=[(0, 16384), (0x10000, 4096), (0x14000, 16384)], base=BASE)
    words = [0x1111 * (i + 1) for i in range(4)]

    async def testbench(ctx):
        # The last 4 doublewords of the 16 KiB main window, then the first of the next
        # page (gap) in a second burst.
        end = BASE + 16384
        assert await axi_write(ctx, dut.axi, end - 32, words) == (AxiResp.OKAY, 0)
        beats = await axi_read(ctx, dut.axi, end - 32, beats=4)
        assert [(b[0], b[1]) for b in beats] == [(w, AxiResp.OKAY) for w in words]
        beats = await axi_read(ctx, dut.axi, end, beats=2)
        assert [(b[0], b[1]) for b in beats] == [(0, AxiResp.DECERR)] * 2
        # The small window's last doubleword by a burst from inside it; the window at
        # 0x14000 starts right after a gap: a burst there reads its own words.
        small_end = BASE + 0x10000 + 4096
        assert await axi_write(ctx, dut.axi, small_end - 16, words[:2]) == (AxiResp.OKAY, 0)
        assert await axi_write(ctx, dut.axi, BASE + 0x14000, words[2:]) == (AxiResp.OKAY, 0)
        beats = await axi_read(ctx, dut.axi, BASE + 0x14000, beats=2)
        assert [b[0] for b in beats] == words[2:]
        # A write burst with beats in the gap before 0x14000 (the page 0x13000): DECERR,
        # and the window after it unchanged.
        assert (await axi_write(ctx, dut.axi, BASE + 0x14000 - 16, [7, 7]))[0] == AxiResp.DECERR
        assert [b[0] for b in await axi_read(ctx, dut.axi, BASE + 0x14000, beats=2)] == words[2:]
        # The bridge reads 3 doublewords from 2 before the small window's end: two words,
        # then an error.
        answers = await bridge_read(ctx, dut, small_end - 16, count=3)
        assert [(a.data, a.error, a.last) for a in answers] == \
            [(words[0], 0, 0), (words[1], 0, 0), (0, 1, 1)]
        # The main window's end and the small window's start are not adjacent: a bridge read
        # across the main window's end errs after it.
        answers = await bridge_read(ctx, dut, end - 8, count=2)
        assert [(a.data, a.error) for a in answers] == [(words[3], 0), (0, 1)]

    run_sim(dut, testbench)


def test_windows_behind_the_its_memory_master():
    """The ITS's AXI master (INCR bursts of up to 8 doublewords) in the small windows."""
    top = Module()
    top.submodules.master = master = Axi4MemoryMaster(read_clients=1, write_clients=1)
    top.submodules.ram = ram = AxiBram(windows=WINDOWS, base=BASE)
    wiring.connect(top, master.axi, ram.axi)
    rng = random.Random(5)
    starts = [BASE + 0x10000, BASE + 0x20000 + 4096 - 64, BASE + 0x30000 + 0x1000]
    words = {start + 8 * i: rng.getrandbits(64) for start in starts for i in range(8)}

    async def testbench(ctx):
        for addr, word in words.items():
            await stream_put(ctx, master.write[0].req, {"addr": addr, "data": word})
            assert not (await stream_get(ctx, master.write[0].resp)).error
        for start in starts:
            await stream_put(ctx, master.read[0].req, {"addr": start, "count": 7})
            got = [await stream_get(ctx, master.read[0].resp) for _ in range(8)]
            assert [g.data for g in got] == [words[start + 8 * i] for i in range(8)]
            assert not any(g.error for g in got)
        await stream_put(ctx, master.read[0].req, {"addr": BASE + 0x11000, "count": 0})
        assert (await stream_get(ctx, master.read[0].resp)).error

    run_sim(top, testbench)


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
@pytest.mark.parametrize("kwargs, words", [
    ({"windows": [(0, 2048)]}, r"window \(0, 2048\): size must be a power of two from 4096"),
    ({"windows": [(0, 12288)]}, r"window \(0, 12288\): size must be a power of two"),
    ({"windows": [(0x1000, 8192)]},
     r"window \(4096, 0x2000\): offset must be a multiple of its size"),
    ({"windows": [(0, 8192), (0x1000, 4096)]},
     r"windows \(0x0, 0x2000\) and \(0x1000, 0x1000\) overlap"),
    ({"windows": [(0, 1 << 24), (1 << 24, 4096)]}, "more than 16777216"),
    ({"windows": []}, "at least one"),
    ({"windows": [3]}, r"\(offset, size\) pairs"),
    ({"windows": [(0, 4096)], "size": 4096}, "size .* or windows, not both"),
    ({"windows": [(0, 0x10000)], "base": 0x4000_8000}, r"largest window's size \(0x10000\)"),
    ({"windows": [(0, 4096), (0xFFFF_F000, 4096)], "addr_width": 32, "base": 0x1000},
     "inside the 32-bit address space"),
])
def test_bad_windows(kwargs, words):
    with pytest.raises(ValueError, match=words):
        AxiBram(**kwargs)
    gc.collect()
