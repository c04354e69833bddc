"""The register block against the reference model and the numbers of docs/behaviour.md."""

import gc
import random

import pytest

from gic.hw.its.layouts import (
    BaserType, CacheCtl, Cmd, CmdError, DropReason, ErrCmdRecord, ErrMsiRecord, GitsBaser,
    GitsCbaser, GitsCreadr, GitsCtlr, GitsCwriter, PageSize, QueryRequest, QueryResponse,
)
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import IIDR_VALUE, NUM_BASERS, REG, REGISTERS, STAT_COUNTERS, TRANSLATER, stat_offset
from gic.hw.its.regs import Registers
from gic.sim.models.commands import pack, unpack
from gic.sim.models.memory import Memory
from gic.sim.models.its import ItsModel

from gic.sim.rtlsim.harness import run_sim, stream_get, stream_put

PARAMS = ItsParams(device_bits=8, event_bits=8, tcache_entries=8, dcache_entries=2)
UNKNOWN = (0x0010, 0x0098, 0x0140, 0x0200, 0xC028, 0xC030, 0xC118, 0xFFF0, 0x10048, 0x1FFF8)
"""Offsets no register occupies: RAZ/WI."""


class RegisterBus:
    """Accesses on the register bus, as the AXI4-Lite bridge makes them."""

    def __init__(self, bus):
        self.bus = bus

    async def write(self, ctx, offset, value, size=8):
        """Write; returns the ``err`` answer."""
        lane = offset & 7
        ctx.set(self.bus.addr, offset & ~7)
        ctx.set(self.bus.w_data, value << (8 * lane))
        ctx.set(self.bus.w_strb, ((1 << size) - 1) << lane)
        ctx.set(self.bus.w_stb, 1)
        await ctx.tick()
        ctx.set(self.bus.w_stb, 0)
        return ctx.get(self.bus.err)

    async def read(self, ctx, offset, size=8):
        lane = offset & 7
        ctx.set(self.bus.addr, offset & ~7)
        ctx.set(self.bus.r_stb, 1)
        await ctx.tick()
        ctx.set(self.bus.r_stb, 0)
        assert not ctx.get(self.bus.err)
        return (ctx.get(self.bus.r_data) >> (8 * lane)) & ((1 << (8 * size)) - 1)


def make(params=PARAMS, **kwargs):
    dut = Registers(params, **kwargs)
    return dut, RegisterBus(dut.bus), ItsModel(params, Memory(), auto_execute=False)


def idle_its(ctx, dut):
    """The rest of the ITS is idle and takes every MSI and query at once."""
    ctx.set(dut.idle, 1)
    ctx.set(dut.translater.ready, 1)


def test_reset_values():
    """Every register reads as the model's after reset; the numbers the spec fixes."""
    dut, bus, model = make()

    async def testbench(ctx):
        idle_its(ctx, dut)
        for register in REGISTERS:
            for size in (4, 8) if register.width == 64 else (4,):
                for offset in range(register.offset, register.offset + register.width // 8, size):
                    assert await bus.read(ctx, offset, size) == model.read(offset, size), \
                        f"{register.name} at {offset:#x}, {size} bytes"
        ctlr = unpack(GitsCtlr, await bus.read(ctx, REG["GITS_CTLR"], 4))
        assert ctlr == {"enabled": 0, "quiescent": 1}
        assert await bus.read(ctx, REG["GITS_IIDR"], 4) == IIDR_VALUE
        assert await bus.read(ctx, REG["GITS_TYPER"]) == PARAMS.typer
        assert (await bus.read(ctx, REG["GITS_PIDR2"], 4) >> 4) & 0xF == 3
        baser0 = unpack(GitsBaser, await bus.read(ctx, REG["GITS_BASER0"]))
        baser1 = unpack(GitsBaser, await bus.read(ctx, REG["GITS_BASER1"]))
        assert (baser0["type"], baser1["type"]) == (BaserType.DEVICES, BaserType.COLLECTIONS)
        assert baser0["page_size"] == baser1["page_size"] == PageSize.SIZE_64K
        assert baser0["entry_size"] == baser1["entry_size"] == 7
        for n in range(2, NUM_BASERS):
            assert await bus.read(ctx, REG[f"GITS_BASER{n}"]) == 0

    run_sim(dut, testbench)


# Offsets the random test writes, with a generator of interesting values.
def _baser_value(rng):
    return pack(GitsBaser, valid=rng.getrandbits(1), indirect=rng.getrandbits(1),
                page_size=rng.choice(list(PageSize)), size=rng.getrandbits(8),
                pa=rng.getrandbits(36), shareability=rng.getrandbits(2),
                inner_cache=rng.getrandbits(3), outer_cache=rng.getrandbits(3)) \
        | (rng.getrandbits(1) << 9 if rng.random() < 0.3 else 0) \
        | rng.choice([0, 0, 1 << 56, 7 << 48, 1 << 12 + 36])


WRITTEN = {
    REG["GITS_CTLR"]: lambda rng: rng.getrandbits(1) | rng.choice([0, 1 << 31, 0xFFFFFFFE]),
    REG["GITS_CBASER"]: lambda rng: rng.getrandbits(64),
    REG["GITS_CWRITER"]: lambda rng: rng.choice([rng.getrandbits(64),
                                                 rng.randrange(0, 1 << 20, 32)]),
    **{REG[f"GITS_BASER{n}"]: _baser_value for n in range(NUM_BASERS)},
    REG["GITS_ERR_CMD"]: lambda rng: rng.getrandbits(64),
    stat_offset("CMD_ERRORS"): lambda rng: rng.getrandbits(32),
    REG["GITS_PIDR2"]: lambda rng: rng.getrandbits(32),
    REG["GITS_TYPER"]: lambda rng: rng.getrandbits(64),
    REG["GITS_CREADR"]: lambda rng: rng.getrandbits(64),
    **{offset: lambda rng: rng.getrandbits(64) for offset in UNKNOWN},
}
READ = sorted(set(WRITTEN) | {REG["GITS_IIDR"], stat_offset("MSI_DROPPED")})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_accesses_match_model(seed):
    """Random 32- and 64-bit accesses (either half) to the registers; every read matches the
    reference model: read-back rules, RO fields, writes ignored while enabled, CWRITER_OOR."""
    print(f"seed {seed}")
    rng = random.Random(seed)
    dut, bus, model = make()

    async def testbench(ctx):
        idle_its(ctx, dut)
        for _ in range(400):
            offset = rng.choice(sorted(WRITTEN) if rng.random() < 0.5 else READ)
            size = rng.choice([4, 8]) if offset % 8 == 0 else 4
            if size == 4 and offset % 8 == 0 and rng.random() < 0.5:
                offset += 4
            if rng.random() < 0.5 and (offset & ~7) in WRITTEN:
                value = WRITTEN[offset & ~7](rng)
                if size == 4:
                    value = (value >> (8 * (offset & 4))) & 0xFFFFFFFF
                await bus.write(ctx, offset, value, size)
                model.write(offset, value, size)
            else:
                got = await bus.read(ctx, offset, size)
                want = model.read(offset, size)
                assert got == want, f"read {offset:#x} ({size} bytes): {got:#x}, model {want:#x}"

    run_sim(dut, testbench)


def test_baser_rules():
    """Page_Size 3 reads 64K, Indirect only on BASER0, Type/Entry_Size RO, writes ignored while
    enabled, 32-bit halves."""
    dut, bus, _ = make()

    async def testbench(ctx):
        idle_its(ctx, dut)
        for n, indirect in ((0, 1), (1, 0)):
            offset = REG[f"GITS_BASER{n}"]
            value = pack(GitsBaser, valid=1, indirect=1, page_size=PageSize.SIZE_16K,
                         pa=0x123456, size=9) | (3 << 56) | (31 << 48)
            await bus.write(ctx, offset, value)
            got = unpack(GitsBaser, await bus.read(ctx, offset))
            assert got["indirect"] == indirect
            assert got["page_size"] == PageSize.SIZE_16K
            assert (got["pa"], got["size"], got["entry_size"]) == (0x123456, 9, 7)
            assert got["type"] == (BaserType.DEVICES if n == 0 else BaserType.COLLECTIONS)
            await bus.write(ctx, offset, 3 << 8, 4)          # Page_Size 3 in the low half
            got = unpack(GitsBaser, await bus.read(ctx, offset))
            assert got["page_size"] == PageSize.SIZE_64K
            assert got["pa"] == 0x100000                       # low half wrote PA[19:0] = 0
            assert got["valid"] == 1                           # the high half kept
        # The port follows the register.
        assert ctx.get(dut.baser_dev.page_size) == PageSize.SIZE_64K
        assert ctx.get(dut.baser_dev.valid) == 1
        await bus.write(ctx, REG["GITS_CTLR"], 1, 4)
        await bus.write(ctx, REG["GITS_BASER0"], 0)
        await bus.write(ctx, REG["GITS_CBASER"], 0)
        assert unpack(GitsBaser, await bus.read(ctx, REG["GITS_BASER0"]))["valid"] == 1
        await bus.write(ctx, REG["GITS_CTLR"], 0, 4)
        await bus.write(ctx, REG["GITS_BASER0"] + 4, 0, 4)     # high half: Valid = 0
        assert unpack(GitsBaser, await bus.read(ctx, REG["GITS_BASER0"]))["valid"] == 0

    run_sim(dut, testbench)


def test_cbaser_cwriter_and_queue_controls():
    """CBASER write: restart pulse, CWRITER to 0, ignored while enabled; CWRITER Retry pulse,
    reads 0; an offset beyond the ring is CWRITER_OOR; CREADR reads the queue's value."""
    dut, bus, _ = make()
    pulses = {"restart": 0, "retry": 0}

    async def watch(ctx):
        async for _, _, restart, retry in ctx.tick().sample(dut.restart, dut.retry):
            pulses["restart"] += restart
            pulses["retry"] += retry

    async def testbench(ctx):
        idle_its(ctx, dut)
        cbaser = pack(GitsCbaser, valid=1, pa=0x12345, size=1, shareability=1, inner_cache=7,
                      outer_cache=5)
        await bus.write(ctx, REG["GITS_CBASER"], cbaser | (1 << 62) | (3 << 8))  # + reserved
        assert await bus.read(ctx, REG["GITS_CBASER"]) == cbaser
        assert ctx.get(dut.cbaser.pa) == 0x12345
        assert pulses["restart"] == 1
        await bus.write(ctx, REG["GITS_CWRITER"], pack(GitsCwriter, offset=255, retry=1), 4)
        assert pulses["retry"] == 1
        assert ctx.get(dut.cwriter) == 255
        assert await bus.read(ctx, REG["GITS_CWRITER"]) == pack(GitsCwriter, offset=255)
        # Two pages: 256 slots. Offset 256 is beyond the ring.
        await bus.write(ctx, REG["GITS_CWRITER"], pack(GitsCwriter, offset=256, retry=1), 4)
        assert pulses["retry"] == 1
        assert ctx.get(dut.cwriter) == 255
        record = unpack(ErrCmdRecord, await bus.read(ctx, REG["GITS_ERR_CMD"]))
        assert record == {"code": CmdError.CWRITER_OOR.value, "valid": 1, "offset": 256 * 32,
                          "cmd": 0, "overflow": 0}
        assert await bus.read(ctx, stat_offset("CMD_ERRORS"), 4) == 1
        ctx.set(dut.creadr, GitsCreadr.const({"offset": 77, "stalled": 1}))
        assert await bus.read(ctx, REG["GITS_CREADR"], 4) == pack(GitsCreadr, offset=77,
                                                                    stalled=1)
        await bus.write(ctx, REG["GITS_CREADR"], 0)            # read only
        assert await bus.read(ctx, REG["GITS_CREADR"] + 4, 4) == 0
        # Enabled: CBASER writes are ignored (no restart), CWRITER writes are not.
        await bus.write(ctx, REG["GITS_CTLR"], 1, 4)
        await bus.write(ctx, REG["GITS_CBASER"], 0)
        assert await bus.read(ctx, REG["GITS_CBASER"]) == cbaser
        assert pulses["restart"] == 1
        await bus.write(ctx, REG["GITS_CWRITER"], pack(GitsCwriter, offset=3))
        assert ctx.get(dut.cwriter) == 3
        await bus.write(ctx, REG["GITS_CTLR"], 0, 4)
        await bus.write(ctx, REG["GITS_CBASER"] + 4, cbaser >> 32, 4)   # either half restarts
        assert pulses["restart"] == 2
        assert ctx.get(dut.cwriter) == 0

    run_sim(dut, testbench, processes=[watch])


def test_quiescent_follows_idle():
    dut, bus, _ = make()

    async def testbench(ctx):
        ctx.set(dut.idle, 0)
        assert unpack(GitsCtlr, await bus.read(ctx, REG["GITS_CTLR"], 4))["quiescent"] == 0
        ctx.set(dut.idle, 1)
        assert unpack(GitsCtlr, await bus.read(ctx, REG["GITS_CTLR"], 4))["quiescent"] == 1
        await bus.write(ctx, REG["GITS_CTLR"], 1, 4)
        assert ctx.get(dut.enabled)
        assert unpack(GitsCtlr, await bus.read(ctx, REG["GITS_CTLR"], 4)) == \
            {"enabled": 1, "quiescent": 0}

    run_sim(dut, testbench)


def test_error_records_counters_and_irq():
    """GITS_ERR_CMD and GITS_ERR_MSI keep the first error, then set overflow; a write clears
    them; the counters count and clear; error_irq pulses once per error."""
    dut, bus, _ = make()
    irq = {"pulses": 0}

    async def watch(ctx):
        async for _, _, pulse in ctx.tick().sample(dut.error_irq):
            irq["pulses"] += pulse

    async def pulse(ctx, *signals):
        for signal in signals:
            ctx.set(signal, 1)
        await ctx.tick()
        for signal in signals:
            ctx.set(signal, 0)

    async def testbench(ctx):
        idle_its(ctx, dut)
        ctx.set(dut.failure.payload, {"code": CmdError.MAPTI_ID_OOR, "offset": 0x1E0,
                                      "cmd": Cmd.MAPTI.value})
        await pulse(ctx, dut.failure.valid, dut.executed)
        ctx.set(dut.failure.payload, {"code": CmdError.UNSUPPORTED_COMMAND, "offset": 0,
                                      "cmd": 0x29})
        await pulse(ctx, dut.failure.valid, dut.executed)
        await pulse(ctx, dut.executed)
        record = unpack(ErrCmdRecord, await bus.read(ctx, REG["GITS_ERR_CMD"]))
        assert record == {"code": CmdError.MAPTI_ID_OOR.value, "valid": 1, "offset": 0x1E0,
                          "cmd": 0x0A, "overflow": 1}
        await bus.write(ctx, REG["GITS_ERR_CMD"] + 4, 0, 4)
        assert await bus.read(ctx, REG["GITS_ERR_CMD"]) == 0
        await stream_put(ctx, dut.drop, {"reason": DropReason.EVENT_OOR,
                                         "device_id": 0xFFFF_FFFF, "event_id": 0x1234_5678})
        await stream_put(ctx, dut.drop, {"reason": DropReason.DISABLED, "device_id": 1,
                                         "event_id": 2})
        record = unpack(ErrMsiRecord, await bus.read(ctx, REG["GITS_ERR_MSI"]))
        assert record == {"reason": DropReason.EVENT_OOR, "valid": 1, "event_id": 0x34_5678,
                          "device_id": 0x7FFF_FFFF, "overflow": 1}
        await bus.write(ctx, REG["GITS_ERR_MSI"], 0)
        assert await bus.read(ctx, REG["GITS_ERR_MSI"]) == 0
        for _ in range(3):
            await pulse(ctx, dut.translated, dut.tcache_hit)
        await pulse(ctx, dut.tcache_miss)
        expected = {"MSI_TRANSLATED": 3, "MSI_DROPPED": 2, "CMD_EXECUTED": 3, "CMD_ERRORS": 2,
                    "TCACHE_HIT": 3, "TCACHE_MISS": 1, "DROP_DISABLED": 1, "DROP_DEVICE_OOR": 0,
                    "DROP_UNMAPPED_DEVICE": 0, "DROP_EVENT_OOR": 1, "DROP_UNMAPPED_INTERRUPT": 0,
                    "DROP_UNMAPPED_COLLECTION": 0, "DROP_MEMORY_ERROR": 0, "PARITY_ERRORS": 0}
        assert {name for name, _ in STAT_COUNTERS} == set(expected)
        for name, _ in STAT_COUNTERS:
            assert await bus.read(ctx, stat_offset(name), 4) == expected[name], name
        # An 8-byte write at GITS_STAT_MSI_TRANSLATED clears it and MSI_DROPPED beside it.
        await bus.write(ctx, stat_offset("MSI_TRANSLATED"), 0)
        await bus.write(ctx, stat_offset("CMD_ERRORS"), 5, 4)
        for name in ("MSI_TRANSLATED", "MSI_DROPPED", "CMD_ERRORS"):
            assert await bus.read(ctx, stat_offset(name), 4) == 0
        assert await bus.read(ctx, stat_offset("CMD_EXECUTED"), 4) == 3
        # A failure in the cycle the record is cleared is recorded.
        ctx.set(dut.failure.payload, {"code": CmdError.SYNC_PROCNUM_OOR, "offset": 0x20,
                                      "cmd": Cmd.SYNC.value})
        ctx.set(dut.failure.valid, 1)
        await bus.write(ctx, REG["GITS_ERR_CMD"], 0)
        ctx.set(dut.failure.valid, 0)
        record = unpack(ErrCmdRecord, await bus.read(ctx, REG["GITS_ERR_CMD"]))
        assert (record["code"], record["overflow"]) == (CmdError.SYNC_PROCNUM_OOR.value, 0)
        await ctx.tick().repeat(4)
        assert irq["pulses"] == 5

    run_sim(dut, testbench, processes=[watch])


def test_query_registers():
    """A GITS_QUERY write sends the request; the answer shows in GITS_QUERY_RESULT with done;
    a second write before the answer makes the first answer stale."""
    dut, bus, _ = make()

    async def testbench(ctx):
        idle_its(ctx, dut)
        request = pack(QueryRequest, device_id=7, event_id=9)
        await bus.write(ctx, REG["GITS_QUERY"], request)
        assert await bus.read(ctx, REG["GITS_QUERY"]) == request
        got = await stream_get(ctx, dut.query)
        assert (got.device_id, got.event_id) == (7, 9)
        assert unpack(QueryResponse, await bus.read(ctx, REG["GITS_QUERY_RESULT"]))["done"] == 0
        await stream_put(ctx, dut.query_resp, {"done": 1, "status": DropReason.OK,
                                               "target": 2, "pintid": 8200})
        assert await bus.read(ctx, REG["GITS_QUERY_RESULT"]) == pack(
            QueryResponse, done=1, status=DropReason.OK, target=2, pintid=8200)
        # Stale answer: a new request (upper half only: DeviceID 8) while the first is out.
        await bus.write(ctx, REG["GITS_QUERY"], pack(QueryRequest, device_id=7, event_id=10))
        await stream_get(ctx, dut.query)
        await bus.write(ctx, REG["GITS_QUERY"] + 4, 8, 4)
        assert not ctx.get(dut.query.valid)
        await stream_put(ctx, dut.query_resp, {"done": 1, "status": DropReason.EVENT_OOR})
        assert unpack(QueryResponse, await bus.read(ctx, REG["GITS_QUERY_RESULT"]))["done"] == 0
        got = await stream_get(ctx, dut.query)
        assert (got.device_id, got.event_id) == (8, 10)
        await stream_put(ctx, dut.query_resp, {"done": 1, "status": DropReason.UNMAPPED_DEVICE})
        assert unpack(QueryResponse, await bus.read(ctx, REG["GITS_QUERY_RESULT"])) == {
            "done": 1, "status": DropReason.UNMAPPED_DEVICE, "target": 0, "pintid": 0}

    run_sim(dut, testbench)


def test_cache_ctl():
    dut, bus, _ = make()

    async def testbench(ctx):
        idle_its(ctx, dut)
        await bus.write(ctx, REG["GITS_CACHE_CTL"], pack(CacheCtl, disable=1), 4)
        assert ctx.get(dut.cache_disable) and not ctx.get(dut.cache_inval)
        await bus.write(ctx, REG["GITS_CACHE_CTL"], pack(CacheCtl, invalidate=1, disable=1), 4)
        assert ctx.get(dut.cache_inval)
        assert await bus.read(ctx, REG["GITS_CACHE_CTL"], 4) == pack(CacheCtl, invalidate=1,
                                                                    disable=1)
        ctx.set(dut.cache_inval_done, 1)
        await ctx.tick()
        ctx.set(dut.cache_inval_done, 0)
        assert await bus.read(ctx, REG["GITS_CACHE_CTL"], 4) == pack(CacheCtl, disable=1)
        await bus.write(ctx, REG["GITS_CACHE_CTL"], 0, 4)
        assert not ctx.get(dut.cache_disable)

    run_sim(dut, testbench)


def test_translater_writes():
    """A 32-bit GITS_TRANSLATER write is an MSI with the sideband DeviceID; a write while the
    FIFO is full answers err and is lost."""
    dut, bus, _ = make(translater_depth=2)

    async def testbench(ctx):
        ctx.set(dut.idle, 1)
        for device, event in ((5, 100), (6, 101), (7, 102)):
            ctx.set(dut.translater_device_id, device)
            err = await bus.write(ctx, TRANSLATER, event, 4)
            assert err == (device == 7)
        ctx.set(dut.translater_device_id, 0)
        assert unpack(GitsCtlr, await bus.read(ctx, REG["GITS_CTLR"], 4))["quiescent"] == 0
        got = [await stream_get(ctx, dut.translater) for _ in range(2)]
        assert [(g.device_id, g.event_id) for g in got] == [(5, 100), (6, 101)]
        await ctx.tick()
        assert not ctx.get(dut.translater.valid)
        await bus.write(ctx, TRANSLATER + 4, 55, 4)            # not TRANSLATER
        await ctx.tick()
        assert not ctx.get(dut.translater.valid)
        assert await bus.read(ctx, TRANSLATER, 4) == 0

    run_sim(dut, testbench)


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_parameter_messages():
    with pytest.raises(TypeError, match="params must be an ItsParams, not 3"):
        Registers(3)
    with pytest.raises(ValueError, match="translater_depth must be a positive integer, "
                                         "not 0") as info:
        Registers(PARAMS, translater_depth=0)
    del info      # drop the half-built components here, where their warning is filtered
    gc.collect()
