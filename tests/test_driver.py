"""The Linux-style driver (sim/driver/its.py) bringing up the reference model through sim/driver/bus.py.

Expectations come from what each test mapped and from the architecture (the
docs/architecture.md, docs/behaviour.md), never from the driver's own bookkeeping.
"""

import asyncio

import pytest

from gic.hw.its.layouts import (
    BaserType, Cmd, CmdError, DropReason, GicOp, PageSize,
    GitsBaser, GitsCbaser, GitsCreadr, GitsCtlr, GitsCwriter, Level1Entry,
)
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REG
from gic.sim.driver.bus import ItsBus, ModelBus
from gic.sim.models.commands import encode_command, pack, unpack
from gic.sim.driver.its import ItsDriver, ItsError, ItsStalled, ItsTimeout
from gic.sim.models.memory import Memory
from gic.sim.models.its import ItsModel

LPI = 8192
BASER_OFFSETS = {REG[f"GITS_BASER{n}"] for n in range(8)}


def run(coroutine):
    return asyncio.run(coroutine)


async def up(params=ItsParams(), cpus=None, bus=None, **options):
    """A model ITS probed and its CPUs' collections mapped by the driver."""
    bus = ModelBus.create(params) if bus is None else bus
    driver = ItsDriver(bus, **options)
    await driver.probe()
    await driver.init_cpus(params.num_redistributors if cpus is None else cpus)
    return bus, driver


async def delivered(bus, rds):
    """The LPIs SET on each redistributor since the last call."""
    return {rd: [p.lpi for p in await bus.take_packets(rd) if p.op is GicOp.SET]
            for rd in range(rds)}


async def up_with_event(device_id, event_bits, event_id, lpi, icid):
    """:func:`up`, then one device and one of its events mapped; the packets so far taken."""
    bus, driver = await up()
    await driver.map_device(device_id, event_bits)
    await driver.map_event(device_id, event_id, lpi, icid)
    await delivered(bus, 4)
    return bus, driver


async def baser(bus, n):
    return unpack(GitsBaser, await bus.read_reg(REG[f"GITS_BASER{n}"]))


# -- probe ------------------------------------------------------------------------------------

def test_probe_keeps_64k_and_goes_two_level_for_a_big_device_table():
    async def body():
        params = ItsParams()
        bus = ModelBus.create(params)
        driver = ItsDriver(bus)
        features = await driver.probe()
        assert (features.device_bits, features.event_bits, features.collection_bits,
                features.hcc) == (16, 16, 16, 4)
        devices = driver.tables[BaserType.DEVICES]
        # 2**16 DTEs of 8 bytes (512 KiB) do not fit a 64 KiB page: two-level.
        assert devices.page_bytes == 65536 and devices.indirect
        value = await baser(bus, 0)
        assert await bus.read_reg(REG["GITS_BASER0"]) == devices.value
        assert value["valid"] and value["indirect"]
        assert value["page_size"] is PageSize.SIZE_64K
        assert value["type"] is BaserType.DEVICES
        assert value["pa"] * 4096 == devices.base and devices.base % 65536 == 0
        # HCC 4 < 2**16 ICIDs: a flat collection table exists.
        collections = await baser(bus, 1)
        assert collections["valid"] and not collections["indirect"]
        assert collections["type"] is BaserType.COLLECTIONS
        cbaser = unpack(GitsCbaser, await bus.read_reg(REG["GITS_CBASER"]))
        assert cbaser["valid"] and cbaser["size"] == 65536 // 4096 - 1
        assert cbaser["pa"] * 4096 == driver.ring_base
        assert unpack(GitsCtlr, await bus.read_reg(REG["GITS_CTLR"], 4))["enabled"]
        # Everything the driver allocated lies in its memory window, without overlap.
        spans = sorted([(t.base, t.base + t.pages * t.page_bytes) for t in driver.tables.values()]
                       + [(driver.ring_base, driver.ring_base + 65536)])
        assert spans[0][0] >= 0x4000_0000 and spans[-1][1] <= 0x4000_0000 + (16 << 20)
        assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))
    run(body())


@pytest.mark.parametrize("device_bits, indirect, two_level, pages", [
    (8, None, False, 1),     # 2 KiB of DTEs fit one page: flat
    (8, True, True, 1),      # asked for: two-level
    (16, False, False, 8),   # refused: 512 KiB flat = 8 pages of 64 KiB
])
def test_probe_table_format(device_bits, indirect, two_level, pages):
    async def body():
        bus = ModelBus.create(ItsParams(device_bits=device_bits))
        driver = ItsDriver(bus, indirect=indirect)
        await driver.probe()
        value = await baser(bus, 0)
        assert bool(value["indirect"]) is two_level
        assert value["size"] + 1 == pages
        assert driver.tables[BaserType.DEVICES].indirect is two_level
    run(body())


class BaserLimitedBus(ModelBus):
    """An ITS whose BASERs support only the ``forced`` field values: writes read back as them."""

    def __init__(self, params, **forced):
        super().__init__(ItsModel(params, Memory()))
        self.forced = forced
        self.tried = []

    async def write_reg(self, offset, value, size=8):
        if offset in BASER_OFFSETS and size == 8:
            fields = unpack(GitsBaser, value)
            self.tried.append(fields["page_size"])
            value = pack(GitsBaser, **dict(fields, **self.forced))
        await super().write_reg(offset, value, size)


def test_probe_falls_back_to_the_page_size_that_sticks():
    async def body():
        params = ItsParams()
        bus = BaserLimitedBus(params, page_size=PageSize.SIZE_4K)
        _, driver = await up(params, bus=bus)
        assert bus.tried[:3] == [PageSize.SIZE_64K, PageSize.SIZE_16K, PageSize.SIZE_4K]
        assert (await baser(bus, 0))["page_size"] is PageSize.SIZE_4K
        table = driver.tables[BaserType.DEVICES]
        assert table.page_bytes == 4096 and table.indirect
        # 4 KiB level-2 pages hold 512 DTEs: devices 3 and 600 need two level-2 pages.
        for device in (3, 600):
            await driver.map_device(device, 2)
            await driver.map_event(device, 1, LPI + device, 1)
            await bus.msi(device, 1)
        assert (await delivered(bus, 4))[1] == [LPI + 3, LPI + 600]
    run(body())


def test_probe_takes_the_shareability_that_sticks():
    async def body():
        bus = BaserLimitedBus(ItsParams(), shareability=0)
        await ItsDriver(bus).probe()
        value = await baser(bus, 0)
        # Linux: a non-shareable table is also made non-cacheable (InnerCache 1, nC).
        assert value["valid"] and value["shareability"] == 0 and value["inner_cache"] == 1
    run(body())


def test_probe_refuses_a_baser_that_does_not_stick():
    async def body():
        bus = BaserLimitedBus(ItsParams(), pa=0x1234)
        with pytest.raises(ItsError, match="GITS_BASER0 does not stick"):
            await ItsDriver(bus).probe()
    run(body())


def test_probe_asks_for_a_smaller_page_size_when_told():
    async def body():
        bus = ModelBus.create(ItsParams())
        driver = ItsDriver(bus, page_size=16384)
        await driver.probe()
        assert (await baser(bus, 0))["page_size"] is PageSize.SIZE_16K
        assert driver.tables[BaserType.DEVICES].page_bytes == 16384
    run(body())


def test_no_collection_table_when_the_on_chip_collections_suffice():
    async def body():
        bus = ModelBus.create(ItsParams(hcc=4))
        driver = ItsDriver(bus, collections=4)
        await driver.probe()
        assert BaserType.COLLECTIONS not in driver.tables
        assert not (await baser(bus, 1))["valid"]
    run(body())


# -- mapping and delivery -----------------------------------------------------------------------

@pytest.mark.parametrize("indirect", [False, True])
@pytest.mark.parametrize("page_size", [4096, 65536])
def test_lpis_reach_the_redistributors_they_were_mapped_to(indirect, page_size):
    async def body():
        params = ItsParams(device_bits=14, num_redistributors=4, hcc=2)
        bus, driver = await up(params, indirect=indirect, page_size=page_size)
        await delivered(bus, 4)
        # ICIDs 2 and 3 are beyond HCC: they live in the collection table.
        expected = {rd: [] for rd in range(4)}
        devices = (0, 7, 511, 512, 4000, 16383)
        for number, device in enumerate(devices):
            await driver.map_device(device, 5)
            for event in range(0, 32, 5):
                lpi = LPI + 100 * number + event
                icid = (device + event) % 4
                await driver.map_event(device, event, lpi, icid)
                expected[icid].append(lpi)       # collection c is on CPU c (init_cpus)
        for number, device in enumerate(devices):
            for event in range(0, 32, 5):
                await bus.msi(device, event)
        assert await delivered(bus, 4) == expected
        assert (await driver.stats())["MSI_TRANSLATED"] == sum(map(len, expected.values()))
        answer = await driver.query(4000, 10)
        assert (answer.status, answer.pintid, answer.target) == (DropReason.OK, LPI + 410, 2)
        if indirect:
            table = driver.tables[BaserType.DEVICES]
            per_page = page_size // 8
            for device in devices:
                raw = await bus.read_mem(table.base + 8 * (device // per_page), 8)
                entry = unpack(Level1Entry, int.from_bytes(raw, "little"))
                assert entry["valid"] and entry["addr"] != 0
    run(body())


def test_init_cpus_posts_mapc_invall_sync_per_cpu():
    async def body():
        params = ItsParams(num_redistributors=3)
        bus, _ = await up(params)
        posted = [(e.command.cmd, dict(e.command.fields)) for e in bus.model.executed]
        expected = []
        for cpu in range(3):
            expected += [(Cmd.MAPC, {"icid": cpu, "rdbase": cpu, "valid": 1}),
                         (Cmd.INVALL, {"icid": cpu}), (Cmd.SYNC, {"rdbase": cpu})]
        assert [(cmd, {k: v for k, v in fields.items() if k in want})
                for (cmd, fields), (_, want) in zip(posted, expected)] == expected
        assert len(posted) == 9
        for rd in range(3):
            assert [p.op for p in await bus.take_packets(rd)] == [GicOp.INVALL, GicOp.SYNC]
    run(body())


def test_mapping_commands_are_followed_by_a_sync_to_their_redistributor():
    async def body():
        bus, driver = await up()
        start = len(bus.model.executed)
        await driver.map_device(1, 3)
        await driver.map_event(1, 2, LPI + 2, 3)
        await driver.map_event(1, 4, 4, 2, sync=False)     # MAPI (pINTID = EventID), no SYNC
        await driver.move(1, 2, 1)
        tail = [(e.command.cmd, e.command.fields.get("rdbase")) for e in bus.model.executed[start:]]
        assert tail == [(Cmd.MAPD, None), (Cmd.MAPTI, None), (Cmd.SYNC, 3), (Cmd.MAPI, None),
                        (Cmd.MOVI, None), (Cmd.SYNC, 1)]
        # MAPI with pINTID 4 is not an LPI: the ITS refuses it (skip policy records it).
        assert (await driver.read_error()).code is CmdError.MAPTI_PHYSICALID_OOR
    run(body())


def test_movi_retargets_and_moves_the_pending_state():
    async def body():
        bus, driver = await up_with_event(5, 4, 9, LPI + 59, 0)
        await bus.msi(5, 9)
        await driver.move(5, 9, 3)
        await bus.msi(5, 9)
        packets = {rd: await bus.take_packets(rd) for rd in range(4)}
        assert [p for p in packets[0] if p.op is not GicOp.SYNC] == [
            (GicOp.SET, LPI + 59, 0), (GicOp.MOVLPI, LPI + 59, 3)]
        assert [p for p in packets[3] if p.op is GicOp.SET] == [(GicOp.SET, LPI + 59, 0)]
        answer = await driver.query(5, 9)
        assert (answer.status, answer.target) == (DropReason.OK, 3)
    run(body())


def test_discard_clears_and_unmaps():
    async def body():
        bus, driver = await up_with_event(2, 1, 1, LPI + 21, 1)
        await driver.discard(2, 1)
        assert [p for p in await bus.take_packets(1) if p.op is GicOp.CLEAR] == [
            (GicOp.CLEAR, LPI + 21, 0)]
        await bus.msi(2, 1)
        assert await delivered(bus, 4) == {0: [], 1: [], 2: [], 3: []}
        assert (await driver.query(2, 1)).status is DropReason.UNMAPPED_INTERRUPT
        assert (await driver.stats())["MSI_DROPPED"] == 1
        drop = await driver.read_msi_error()
        assert (drop.reason, drop.device_id, drop.event_id) == (
            DropReason.UNMAPPED_INTERRUPT, 2, 1)
    run(body())


def test_unmap_device_and_move_all_and_other_helpers():
    async def body():
        bus, driver = await up_with_event(3, 2, 0, LPI + 30, 2)
        await driver.int_(3, 0)
        await driver.inv(3, 0)
        await driver.clear(3, 0)
        await driver.invall(2)
        await driver.move_all(2, 0)
        await driver.sync(1)
        assert [p.op for p in await bus.take_packets(2) if p.op is not GicOp.SYNC] == [
            GicOp.SET, GicOp.INV, GicOp.CLEAR, GicOp.INVALL, GicOp.MOVALL]
        assert [p.op for p in await bus.take_packets(1)] == [GicOp.SYNC]
        await driver.unmap_device(3)
        assert (await driver.query(3, 0)).status is DropReason.UNMAPPED_DEVICE
        assert await driver.read_error() is None
    run(body())


# -- errors -----------------------------------------------------------------------------------

def test_a_stalled_queue_raises_with_the_code_and_offset_then_resumes():
    async def body():
        params = ItsParams(error_policy="stall")
        bus, driver = await up(params, cpus=4)
        before = 3 * 4                           # MAPC, INVALL, SYNC for each of 4 CPUs
        with pytest.raises(ItsStalled) as stalled:
            await driver.map_event(6, 0, LPI, 0)          # device 6 was never mapped
        assert stalled.value.code is CmdError.MAPTI_UNMAPPED_DEVICE
        assert stalled.value.offset == before * 32
        assert stalled.value.cmd == Cmd.MAPTI.value
        assert "MAPTI_UNMAPPED_DEVICE" in str(stalled.value)
        await driver.resume()
        await driver.map_device(6, 1)
        await driver.map_event(6, 0, LPI + 6, 2)
        await delivered(bus, 4)
        await bus.msi(6, 0)
        assert (await delivered(bus, 4))[2] == [LPI + 6]
        assert await driver.read_error() is None
    run(body())


def test_skip_policy_records_the_error_and_goes_on():
    async def body():
        bus, driver = await up(ItsParams(error_policy="skip"))
        await driver.map_collection(100, 7)               # RD 7 does not exist
        record = await driver.read_error()
        assert record.code is CmdError.MAPC_PROCNUM_OOR and record.cmd == Cmd.MAPC.value
        assert record.offset == 3 * 4 * 32                # after init_cpus' 12 commands
        assert record.overflow                            # the SYNC to RD 7 failed too
        await driver.map_device(1, 1)                     # the queue went on
        assert (await driver.stats())["CMD_ERRORS"] >= 1
    run(body())


class SlowModelBus(ModelBus):
    """A model that executes only ``per_poll`` commands each time the driver idles."""

    def __init__(self, params, per_poll):
        super().__init__(ItsModel(params, Memory(), auto_execute=False))
        self.per_poll = per_poll
        self.cwriter_writes = 0

    async def write_reg(self, offset, value, size=8):
        self.cwriter_writes += offset == REG["GITS_CWRITER"]
        await super().write_reg(offset, value, size)

    async def idle(self):
        for _ in range(self.per_poll):
            if self.model.step() is None:
                break


@pytest.mark.parametrize("per_poll", [1, 7, 1000])
def test_ring_wraps_around_with_thousands_of_ints(per_poll):
    async def body():
        params = ItsParams()
        bus = SlowModelBus(params, per_poll)
        _, driver = await up(params, bus=bus, ring_bytes=4096)      # 128 slots
        for device, icid in ((1, 0), (2, 1), (3, 2), (4, 3)):
            await driver.map_device(device, 2)
            await driver.map_event(device, 3, LPI + device, icid)
        await delivered(bus, 4)
        writes = bus.cwriter_writes
        ints = [(Cmd.INT, {"device_id": 1 + n % 4, "event_id": 3}) for n in range(3000)]
        await driver.send_batch(ints)
        # A 128-slot ring takes at most 127 commands per CWRITER advance.
        assert bus.cwriter_writes - writes >= -(-3000 // 127)
        assert await delivered(bus, 4) == {rd: [LPI + rd + 1] * 750 for rd in range(4)}
        # Commands one at a time (Linux style, each followed by a SYNC) wrap too.
        for n in range(300):
            await driver.int_(1 + n % 4, 3)
        assert await delivered(bus, 4) == {rd: [LPI + rd + 1] * 75 for rd in range(4)}
        stats = await driver.stats()
        assert stats["CMD_EXECUTED"] == len(bus.model.executed) and stats["CMD_ERRORS"] == 0
    run(body())


class FrozenBus(ItsBus):
    """Registers that hold what is written; CREADR never moves; counts the idles."""

    def __init__(self, quiescent=True):
        self.registers = {
            REG["GITS_TYPER"]: ItsParams().typer,
            REG["GITS_BASER0"]: pack(GitsBaser, type=BaserType.DEVICES, entry_size=7,
                                     page_size=PageSize.SIZE_64K),
        }
        self.quiescent = quiescent
        self.idles = 0

    async def read_reg(self, offset, size=8):
        if offset == REG["GITS_CTLR"]:
            return self.registers.get(offset, 0) | pack(GitsCtlr, quiescent=self.quiescent)
        return self.registers.get(offset, 0)

    async def write_reg(self, offset, value, size=8):
        if offset in (REG["GITS_CTLR"], REG["GITS_CBASER"], REG["GITS_CWRITER"],
                      REG["GITS_BASER0"]):
            self.registers[offset] = value

    async def read_mem(self, addr, length):
        return bytes(length)

    async def write_mem(self, addr, data):
        pass

    async def idle(self):
        self.idles += 1

    async def msi(self, device_id, event_id):
        pass


def test_timeout_when_creadr_never_moves():
    async def body():
        bus = FrozenBus()
        driver = ItsDriver(bus, timeout_polls=50)
        await driver.probe()
        with pytest.raises(ItsTimeout, match="GITS_CREADR") as timeout:
            await driver.sync(0)
        assert "50 polls" in str(timeout.value)
        assert bus.idles == 50
    run(body())


def test_timeout_when_the_its_never_gets_quiescent():
    async def body():
        driver = ItsDriver(FrozenBus(quiescent=False), timeout_polls=20)
        with pytest.raises(ItsTimeout, match="Quiescent"):
            await driver.probe()
    run(body())


def test_driver_memory_exhausted_is_a_clear_error():
    async def body():
        driver = ItsDriver(ModelBus.create(ItsParams()), mem_size=64 << 10)
        with pytest.raises(ItsError, match="driver memory exhausted"):
            await driver.probe()
    run(body())


@pytest.mark.parametrize("options, message", [
    ({"page_size": 8192}, "page_size must be 4096, 16384 or 65536"),
    ({"ring_bytes": 1000}, "ring_bytes must be a multiple of 4096"),
    ({"indirect": "yes"}, "indirect must be True, False or None"),
    ({"timeout_polls": 0}, "timeout_polls must be a positive integer"),
    ({"mem_base": 0x123}, "mem_base must be a 4 KiB aligned address"),
])
def test_bad_driver_parameters(options, message):
    with pytest.raises(ValueError, match=message):
        ItsDriver(ModelBus.create(ItsParams()), **options)


def test_resync_after_a_post_behind_the_drivers_back():
    """Software posts one INT itself; after resync the driver appends after it."""
    async def body():
        bus, driver = await up(ItsParams())
        await driver.map_device(1, 4)
        await driver.map_event(1, 2, LPI + 20, 3)
        await delivered(bus, 4)
        cwriter = unpack(GitsCwriter, await bus.read_reg(REG["GITS_CWRITER"], 4))["offset"] * 32
        await bus.write_mem(driver.ring_base + cwriter, encode_command(Cmd.INT, device_id=1,
                                                                       event_id=2))
        await bus.write_reg(REG["GITS_CWRITER"], pack(GitsCwriter, offset=cwriter // 32 + 1), 4)
        await driver.resync()
        await driver.int_(1, 2)
        assert (await delivered(bus, 4))[3] == [LPI + 20, LPI + 20]
        readr = unpack(GitsCreadr, await bus.read_reg(REG["GITS_CREADR"], 4))["offset"] * 32
        assert readr == cwriter + 2 * 32 + 32      # our INT, the driver's INT and its SYNC
    run(body())
