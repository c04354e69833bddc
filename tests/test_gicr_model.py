"""The redistributor reference model against the architecture and docs/redistributor.md."""

import asyncio
from pathlib import Path

import pytest

from gic.hw.gicr.layouts import (
    SPURIOUS_INTID, GicrCtlr, GicrPendbaser, GicrPropbaser, GicrSyncr, GicrTyper, GicrWaker,
    LpiConfig,
)
from gic.hw.gicr.regmap import IIDR_VALUE, PIDR2_VALUE, REG, markdown_table
from gic.hw.its.layouts import LPI_BASE, GicOp
from gic.hw.its.params import ItsParams
from gic.sim.driver.bus import ModelBus
from gic.sim.models.commands import pack, unpack
from gic.sim.driver.its import ItsDriver
from gic.sim.driver.gicr import RedistributorDriver, pending_table_bytes, property_table_bytes
from gic.sim.models.gicr import GicModel, LpiState, RedistributorModel, rd_frame
from gic.sim.models.memory import Memory
from gic.sim.models.its import Packet

PARAMS = ItsParams(device_bits=8, event_bits=8, id_bits=14, collection_bits=8, hcc=4,
                   num_redistributors=3)
PROP_BASE = 0x1000_0000
PEND_BASE = 0x1100_0000


def pend_base(rd):
    return PEND_BASE + 0x10000 * rd


def config(priority, enable=1):
    """An LpiConfig byte; ``priority`` is the full 8-bit value (bits [1:0] ignored)."""
    return pack(LpiConfig, enable=enable, priority=priority >> 2)


def write_config(memory, lpi, priority, enable=1):
    memory.write_int(PROP_BASE + lpi - LPI_BASE, config(priority, enable), 1)


def pending_bits(memory, rd, id_bits=14):
    """The INTIDs whose bit is set in ``rd``'s pending table."""
    raw = int.from_bytes(memory.read(pend_base(rd), pending_table_bytes(id_bits)), "little")
    return {intid for intid in range(1 << id_bits) if raw >> intid & 1}


def enabled_rd(memory=None, *, rd=0, ptz=True, id_bits=14):
    """A redistributor model with LPIs enabled over the tables at PROP_BASE / pend_base(rd)."""
    memory = memory or Memory()
    model = RedistributorModel(PARAMS, memory, processor_number=rd)
    model.write(REG["GICR_PROPBASER"], pack(GicrPropbaser, id_bits=id_bits - 1,
                                            pa=PROP_BASE >> 12))
    model.write(REG["GICR_PENDBASER"], pack(GicrPendbaser, pa=pend_base(rd) >> 16, ptz=int(ptz)))
    model.write(REG["GICR_CTLR"], pack(GicrCtlr, enable_lpis=1), 4)
    return model, memory


def drain(model):
    """Acknowledge until 1023; the INTIDs in order (each followed by an EOI)."""
    taken = []
    while (intid := model.acknowledge()) != SPURIOUS_INTID:
        taken.append(intid)
        model.end_of_interrupt(intid)
    return taken


# -- registers -----------------------------------------------------------------------------------

def test_reset_registers():
    model = RedistributorModel(PARAMS, Memory(), processor_number=2)
    assert unpack(GicrCtlr, model.read(REG["GICR_CTLR"], 4)) == \
        {"enable_lpis": 0, "ces": 1, "ir": 1, "rwp": 0, "uwp": 0}
    assert model.read(REG["GICR_IIDR"], 4) == IIDR_VALUE
    typer = unpack(GicrTyper, model.read(REG["GICR_TYPER"]))
    assert typer["plpis"] == 1 and typer["direct_lpi"] == 1 and typer["vlpis"] == 0
    assert typer["processor_number"] == 2 and typer["affinity"] == 2
    assert typer["last"] == 1                          # 2 is the last of 3
    assert unpack(GicrTyper, RedistributorModel(PARAMS, Memory(), processor_number=1).read(
        REG["GICR_TYPER"]))["last"] == 0
    assert model.read(REG["GICR_TYPER"] + 4, 4) == model.read(REG["GICR_TYPER"]) >> 32
    assert unpack(GicrWaker, model.read(REG["GICR_WAKER"], 4)) == \
        {"processor_sleep": 1, "children_asleep": 1}
    assert model.read(REG["GICR_PIDR2"], 4) == PIDR2_VALUE
    assert (PIDR2_VALUE >> 4) & 0xF == 3
    assert model.read(REG["GICR_SYNCR"], 4) == 0
    for offset in (0x0018, 0x0050, 0x0080, 0x00C8, 0x10000, 0x1FFF8):
        assert model.read(offset) == 0


def test_waker_and_base_registers():
    model = RedistributorModel(PARAMS, Memory())
    model.write(REG["GICR_WAKER"], pack(GicrWaker, processor_sleep=0), 4)
    assert unpack(GicrWaker, model.read(REG["GICR_WAKER"], 4)) == \
        {"processor_sleep": 0, "children_asleep": 0}
    prop = pack(GicrPropbaser, id_bits=13, pa=0x12345, inner_cache=7, shareability=1,
                outer_cache=2)
    model.write(REG["GICR_PROPBASER"], prop | 1 << 63)     # reserved bits read 0
    assert model.read(REG["GICR_PROPBASER"]) == prop
    pend = pack(GicrPendbaser, pa=0x123, inner_cache=5, shareability=2, outer_cache=1)
    model.write(REG["GICR_PENDBASER"], pend | pack(GicrPendbaser, ptz=1))
    assert model.read(REG["GICR_PENDBASER"]) == pend            # PTZ is write-only
    # 32-bit writes to either half keep the other half.
    model.write(REG["GICR_PROPBASER"] + 4, 0x7, 4)
    assert model.read(REG["GICR_PROPBASER"]) == (prop & 0xFFFF_FFFF) | 0x7 << 32
    # Ignored while EnableLPIs = 1.
    model.write(REG["GICR_CTLR"], pack(GicrCtlr, enable_lpis=1), 4)
    model.write(REG["GICR_PROPBASER"], 0)
    model.write(REG["GICR_PENDBASER"], 0)
    assert model.read(REG["GICR_PROPBASER"]) != 0 and model.read(REG["GICR_PENDBASER"]) == pend


def test_constructor_checks():
    with pytest.raises(ValueError, match=r"processor_number must be an integer in 0\.\.2, not 3"):
        RedistributorModel(PARAMS, Memory(), processor_number=3)
    with pytest.raises(TypeError, match="params must be an ItsParams"):
        RedistributorModel({}, Memory())
    with pytest.raises(ValueError, match="outside the 128 KiB"):
        RedistributorModel(PARAMS, Memory()).read(0x20000)


# -- pending state, priority order, enable ------------------------------------------------------

def test_priority_order():
    """Lowest priority value first, then lowest INTID; 1023 when nothing is pending."""
    model, memory = enabled_rd()
    for lpi, priority in ((8200, 0xA0), (8193, 0xA0), (9000, 0x20), (8192, 0xF0), (8300, 0xA3)):
        write_config(memory, lpi, priority)
        model.set(lpi)
    assert model.irq
    assert drain(model) == [9000, 8193, 8200, 8300, 8192]   # 0xA3 is priority 0xA0
    assert not model.irq and model.acknowledge() == SPURIOUS_INTID


def test_set_is_idempotent_and_clear():
    model, memory = enabled_rd()
    write_config(memory, 8500, 0x40)
    model.packet(Packet(GicOp.SET, 8500))
    model.packet(Packet(GicOp.SET, 8500))
    model.packet(Packet(GicOp.CLEAR, 8500))
    assert model.acknowledge() == SPURIOUS_INTID
    model.packet(Packet(GicOp.CLEAR, 8501))          # clearing what is not pending: nothing
    assert model.pending == {}


def test_disabled_lpi_held_until_enabled_and_inv():
    model, memory = enabled_rd()
    write_config(memory, 8400, 0x10, enable=0)
    write_config(memory, 8401, 0x80)
    model.set(8400)
    model.set(8401)
    assert drain(model) == [8401]
    assert model.pending == {8400: LpiState(False, 0x10)}      # still pending
    write_config(memory, 8400, 0x10, enable=1)
    assert model.acknowledge() == SPURIOUS_INTID                # configuration is cached
    model.packet(Packet(GicOp.INV, 8400))
    assert drain(model) == [8400]
    # INVALL reloads every pending LPI; a re-prioritised one changes the order.
    for lpi in (8410, 8411):
        write_config(memory, lpi, 0x40)
        model.set(lpi)
    write_config(memory, 8411, 0x30)
    write_config(memory, 8410, 0x40, enable=0)
    model.packet(Packet(GicOp.INVALL))
    assert drain(model) == [8411]
    write_config(memory, 8410, 0x40)
    model.write(REG["GICR_INVALLR"], 0)
    assert drain(model) == [8410]


def test_running_priority_and_eoi():
    """An acknowledged LPI's priority is active: only a higher priority is signalled until EOI."""
    model, memory = enabled_rd()
    for lpi, priority in ((8192, 0x80), (8193, 0x80), (8194, 0x40), (8195, 0xC0)):
        write_config(memory, lpi, priority)
    model.set(8192)
    model.set(8193)
    assert model.acknowledge() == 8192
    assert model.running_priority == 0x80
    assert not model.irq and model.acknowledge() == SPURIOUS_INTID   # same priority waits
    model.set(8194)
    assert model.irq and model.acknowledge() == 8194                  # preemption
    assert model.running_priority == 0x40
    model.end_of_interrupt(1023)                                      # special: no effect
    assert model.running_priority == 0x40
    model.end_of_interrupt(8194)
    assert model.running_priority == 0x80
    model.end_of_interrupt(8192)
    assert model.running_priority == 0x100
    model.set(8195)
    assert drain(model) == [8193, 8195]


def test_out_of_range_and_disabled_redistributor():
    memory = Memory()
    model = RedistributorModel(PARAMS, memory)
    write_config(memory, 8192, 0x00)
    model.set(8192)                                   # EnableLPIs = 0: ignored
    model.write(REG["GICR_SETLPIR"], 8192)
    assert model.pending == {}
    model, memory = enabled_rd(id_bits=14)
    for lpi in (LPI_BASE - 1, 1 << 14, 1 << 20, 1023):
        model.write(REG["GICR_SETLPIR"], lpi)
        model.set(lpi)
    assert model.pending == {}
    # IDbits + 1 below 14: no LPI at all; IDbits beyond params.id_bits: capped.
    model, memory = enabled_rd(id_bits=13)
    model.set(8192)
    assert model.pending == {}
    model, _ = enabled_rd(id_bits=16)
    assert model.lpi_limit == 1 << PARAMS.id_bits


def test_property_read_error_reads_disabled():
    model, memory = enabled_rd()
    memory.inject_error(PROP_BASE + 8, 8)
    model.set(LPI_BASE + 9)
    assert model.pending == {LPI_BASE + 9: LpiState(False, 0)}


def test_direct_injection_registers():
    model, memory = enabled_rd()
    write_config(memory, 8600, 0x60)
    write_config(memory, 8601, 0x50)
    model.write(REG["GICR_SETLPIR"], 8600)
    model.write(REG["GICR_SETLPIR"], 8601, 4)                  # 32-bit write: low half
    model.write(REG["GICR_CLRLPIR"], 8601)
    assert set(model.pending) == {8600}
    write_config(memory, 8600, 0x60, enable=0)
    model.write(REG["GICR_INVLPIR"], 8600)
    assert model.acknowledge() == SPURIOUS_INTID
    write_config(memory, 8600, 0x60)
    model.write(REG["GICR_INVLPIR"], 8600)
    assert unpack(GicrSyncr, model.read(REG["GICR_SYNCR"], 4))["busy"] == 0
    assert drain(model) == [8600]


# -- EnableLPIs: pending table scan and write-back -----------------------------------------------

def test_enable_scans_pending_table_and_disable_writes_back():
    memory = Memory()
    for lpi, priority in ((8192, 0x30), (8260, 0x20), (12000, 0x20), (16383, 0x10)):
        write_config(memory, lpi, priority)
    for lpi in (100, 8192, 8260, 12000, 16383):      # INTID 100 is not an LPI: ignored
        memory.write_int(pend_base(0) + lpi // 8, 1 << lpi % 8 | memory.read_int(
            pend_base(0) + lpi // 8, 1), 1)
    model, _ = enabled_rd(memory, ptz=False)
    assert set(model.pending) == {8192, 8260, 12000, 16383}
    assert model.acknowledge() == 16383
    model.end_of_interrupt(16383)
    model.set(9999)
    write_config(memory, 10000, 0x00, enable=0)
    model.set(10000)
    model.write(REG["GICR_CTLR"], pack(GicrCtlr, enable_lpis=0), 4)
    assert model.pending == {}
    assert pending_bits(memory, 0) == {100, 8192, 8260, 12000, 9999, 10000}
    # PTZ = 1: the table is taken as zero.
    model.write(REG["GICR_PENDBASER"], pack(GicrPendbaser, pa=pend_base(0) >> 16, ptz=1))
    model.write(REG["GICR_CTLR"], pack(GicrCtlr, enable_lpis=1), 4)
    assert model.pending == {}
    model.write(REG["GICR_CTLR"], pack(GicrCtlr, enable_lpis=0), 4)
    # Without PTZ the same table comes back, configuration re-read.
    write_config(memory, 10000, 0x00)
    write_config(memory, 9999, 0xF0)
    model.write(REG["GICR_PENDBASER"], pack(GicrPendbaser, pa=pend_base(0) >> 16))
    model.write(REG["GICR_CTLR"], pack(GicrCtlr, enable_lpis=1), 4)
    assert drain(model) == [10000, 8260, 12000, 8192, 9999]


def test_pending_table_read_error_is_skipped():
    memory = Memory()
    write_config(memory, 8192, 0x10)
    write_config(memory, 8256, 0x10)
    memory.write_int(pend_base(0) + 8192 // 8, 1, 1)
    memory.write_int(pend_base(0) + 8256 // 8, 1, 1)
    memory.inject_error(pend_base(0) + 8192 // 8, 8)
    model, _ = enabled_rd(memory, ptz=False)
    assert set(model.pending) == {8256}


# -- moves ---------------------------------------------------------------------------------------

def test_packet_moves():
    memory = Memory()
    rd0, _ = enabled_rd(memory, rd=0)
    write_config(memory, 8192, 0x10)
    write_config(memory, 8193, 0x10)
    rd0.set(8192)
    rd0.set(8193)
    assert rd0.packet(Packet(GicOp.MOVLPI, 8192, 0)) == []       # to itself: stays
    assert rd0.packet(Packet(GicOp.MOVLPI, 8194, 1)) == []       # not pending: nothing
    assert rd0.packet(Packet(GicOp.MOVLPI, 8192, 2)) == [(8192, 2)]
    assert rd0.packet(Packet(GicOp.MOVALL, 0, 1)) == [(8193, 1)]
    assert rd0.pending == {}
    assert rd0.packet(Packet(GicOp.SYNC)) == [] and rd0.syncs == 1


# -- GicModel: the ITS model and the redistributors ----------------------------------------------

async def bring_up(priority):
    """A GicModel whose LPIs all have ``priority``, its ITS and every redistributor brought up
    Linux-style; the model and the ITS driver."""
    memory = Memory()
    memory.fill(PROP_BASE, property_table_bytes(14), config(priority))
    model = GicModel(PARAMS, memory)
    bus = ModelBus(model)
    driver = ItsDriver(bus, mem_base=0x4000_0000, mem_size=4 << 20, ring_bytes=4096)
    await driver.probe()
    for rd in range(PARAMS.num_redistributors):
        gicr = RedistributorDriver(bus, rd)
        await gicr.wake()
        await gicr.enable_lpis(prop_base=PROP_BASE, pend_base=pend_base(rd), id_bits=14)
    await driver.init_cpus(PARAMS.num_redistributors)
    return model, driver


def run(coroutine):
    return asyncio.run(coroutine)


def test_gic_model_msi_to_acknowledge():
    async def script():
        model, driver = await bring_up(0xA0)
        await driver.map_device(1, 4)
        for event in range(4):
            await driver.map_event(1, event, 9000 + event, event % 3)
        write_config(model.memory, 9003, 0x20)
        await driver.inv(1, 3)
        for event in (2, 0, 3, 1):
            await driver.bus.msi(1, event)
        assert [model.irq(rd) for rd in range(3)] == [True, True, True]
        assert model.acknowledge(0) == 9003           # 0x20 beats 0xA0
        assert model.acknowledge(0) == SPURIOUS_INTID  # 9000 waits: 0xA0 is below 0x20
        model.end_of_interrupt(0, 9003)
        assert model.acknowledge(0) == 9000
        assert model.acknowledge(1) == 9001
        assert model.acknowledge(2) == 9002
        assert model.rds[0].syncs >= 1

    run(script())


def test_gic_model_movi_movall_discard_keep_or_clear_pending():
    async def script():
        model, driver = await bring_up(0x80)
        await driver.map_device(0, 4)
        for event in range(6):
            await driver.map_event(0, event, 8192 + event, 0)
        for event in range(6):
            await driver.int_(0, event)
        assert set(model.rds[0].pending) == {8192 + e for e in range(6)}
        # MOVI: the pending LPI goes with the event to collection 1's redistributor.
        await driver.move(0, 2, 1)
        assert 8194 in model.rds[1].pending and 8194 not in model.rds[0].pending
        # A pending LPI survives MOVALL.
        await driver.move_all(0, 2)
        assert set(model.rds[2].pending) == {8192, 8193, 8195, 8196, 8197}
        assert model.rds[0].pending == {}
        # DISCARD clears it. (Event 3's LPI is already on RD 2: the MOVI sends RD 0 a MOVLPI
        # of nothing, then the DISCARD's CLEAR goes to RD 2.)
        await driver.move(0, 3, 2)
        await driver.discard(0, 3)
        assert 8195 not in model.rds[2].pending
        await driver.clear(0, 2)
        assert model.rds[1].pending == {}
        assert model.moves[0] == (0, 8194, 1)
        assert model.acknowledge(2) == 8192
        assert model.acknowledge(1) == SPURIOUS_INTID

    run(script())


def test_gic_model_register_space():
    memory = Memory()
    model = GicModel(PARAMS, memory)
    assert model.read(rd_frame(1) + REG["GICR_TYPER"]) == model.rds[1].typer
    assert model.read(0x0008) == PARAMS.typer
    with pytest.raises(ValueError, match="beyond the last redistributor"):
        model.read(rd_frame(3))
    model.write(rd_frame(2) + REG["GICR_WAKER"], 0, 4)
    assert model.read(rd_frame(2) + REG["GICR_WAKER"], 4) == 0


def test_docs_register_table_matches_register_map():
    text = (Path(__file__).resolve().parents[1] / "docs" / "redistributor.md").read_text()
    assert markdown_table() in text
