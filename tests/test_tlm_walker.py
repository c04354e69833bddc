"""The TLM's table walker (sim/tlm/walker.py) alone, on tables the test lays out itself
(addresses as docs/behaviour.md, "Tables", gives them) behind a MemoryTarget: every
outcome, the reads made (their addresses, in order) and the decision cycle, worked out
from the walker's rule (a read offered in the cycle the previous one's data arrives, the
first the cycle after the start; the result the cycle after the last data; a read
granted at once has its data latency + 3 cycles after it)."""

import pytest

from gic.hw.bus.mem import ADDR_BITS
from gic.hw.its.layouts import (
    CollectionTableEntry, DeviceTableEntry, DropReason, GitsBaser, IttEntry, Level1Entry,
)
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REG
from gic.sim.models.commands import pack
from gic.sim.models.memory import Memory
from gic.sim.tlm.kernel import Kernel
from gic.sim.tlm.memory import MemoryTarget
from gic.sim.tlm.tables import _Tables
from gic.sim.tlm.walker import Walker, _Walk

PARAMS = ItsParams(device_bits=8, event_bits=8, id_bits=14, collection_bits=8, hcc=2,
                   num_redistributors=3)
LATENCY = 4
READ = LATENCY + 3          # offer to data, granted at once
DEVICES, COLLECTIONS, LEVEL2 = 0x10_0000, 0x20_0000, 0x40_0000
START = 10


def itt(device):
    return 0x30_0000 + 0x1000 * device


class Registers:
    """The two GITS_BASERn and the on-chip collections: all the walker's tables ask of the
    reference model."""

    def __init__(self, *, indirect):
        self.values = {
            REG["GITS_BASER0"]: pack(GitsBaser, valid=1, indirect=int(indirect), page_size=0,
                                     pa=DEVICES >> 12, size=0),
            REG["GITS_BASER1"]: pack(GitsBaser, valid=1, page_size=0, pa=COLLECTIONS >> 12,
                                     size=0),
        }
        self.on_chip = {0: 1}                   # collection 1 (on chip) is unmapped

    def read(self, offset, size=8):
        return self.values[offset]

    def collection(self, icid):
        return self.on_chip.get(icid)


class Recorder(MemoryTarget):
    def read(self, client, addr, count=1):
        self.addresses.append(addr)
        return super().read(client, addr, count)


def build(*, indirect=False):
    memory = Memory()
    if indirect:    # level-1 entry 0 -> a level-2 page; level-1 entry 1 invalid
        memory.write_int(DEVICES, pack(Level1Entry, valid=1, addr=LEVEL2 >> 12))
        dte_base = LEVEL2
    else:
        dte_base = DEVICES
    for device in range(3):
        memory.write_int(dte_base + 8 * device,
                         pack(DeviceTableEntry, valid=int(device != 2), itt_addr=itt(device) >> 8,
                              size=3))           # 16 events
    ites = {(0, 1): (0, 8200), (0, 2): (5, 8201), (0, 3): (6, 8202), (1, 4): (1, 8300),
            (1, 5): (0, 8301)}
    for (device, event), (icid, intid) in ites.items():
        memory.write_int(itt(device) + 8 * event, pack(IttEntry, valid=1, icid=icid, intid=intid))
    memory.write_int(COLLECTIONS + 8 * 5, pack(CollectionTableEntry, valid=1, rdbase=2))
    memory.write_int(COLLECTIONS + 8 * 6, pack(CollectionTableEntry, valid=0, rdbase=2))
    kernel = Kernel()
    target = Recorder(kernel, memory, latency=LATENCY, read_clients=3)
    target.addresses = []
    walker = Walker(kernel, PARAMS, _Tables(PARAMS, Registers(indirect=indirect)), target)
    return kernel, walker, memory, target.addresses


def walk(device, event, *, dte=None, indirect=False, error=None):
    kernel, walker, memory, addresses = build(indirect=indirect)
    if error is not None:
        memory.inject_error(error, 8)
    state = _Walk(START, kernel, None)

    def process():
        yield kernel.at(START)
        yield from walker.run(state, device, event, dte)
    kernel.process(process())
    kernel.run()
    return state, addresses


def decided(reads):
    return START + 1 + reads * READ + 1 if reads else START + 2



@pytest.mark.parametrize("indirect", [False, True])
def test_a_translation_reads_its_entries_in_order(indirect):
    dte = (LEVEL2 if indirect else DEVICES)
    state, addresses = walk(0, 2, indirect=indirect)
    level1 = [DEVICES] if indirect else []
    assert addresses == level1 + [dte, itt(0) + 16, COLLECTIONS + 40]
    assert state.result == (DropReason.OK, 8201, 2, decided(len(addresses)))
    assert state.dte_read and state.dte == (itt(0) >> 8, 3)
    assert state.bound == decided(len(addresses))


def test_a_cached_dte_and_an_on_chip_collection_save_reads():
    state, addresses = walk(0, 1, dte=(itt(0) >> 8, 3))
    assert addresses == [itt(0) + 8]                        # collection 0 is on chip
    assert state.result == (DropReason.OK, 8200, 1, decided(1))
    assert not state.dte_read


@pytest.mark.parametrize("device, event, indirect, error, status, reads", [
    (1 << 8, 0, False, None, DropReason.DEVICE_OOR, 0),      # DeviceID beyond device_bits
    (600, 0, True, None, DropReason.DEVICE_OOR, 0),          # two-level: the same
    (2, 0, False, None, DropReason.UNMAPPED_DEVICE, 1),
    (0, 16, False, None, DropReason.EVENT_OOR, 1),           # 16 events: 0..15
    (0, 7, False, None, DropReason.UNMAPPED_INTERRUPT, 2),
    (0, 3, False, None, DropReason.UNMAPPED_COLLECTION, 3),  # CTE invalid
    (1, 4, False, None, DropReason.UNMAPPED_COLLECTION, 2),  # on chip, unmapped
    (0, 2, False, itt(0) + 16, DropReason.MEMORY_ERROR, 2),
    (1, 4, True, LEVEL2 + 8, DropReason.MEMORY_ERROR, 2),
])
def test_drops(device, event, indirect, error, status, reads):
    state, addresses = walk(device, event, indirect=indirect, error=error)
    assert len(addresses) == reads
    assert state.result == (status, 0, 0, decided(reads))


def test_an_invalid_level1_entry_is_out_of_range():
    # A 4K page holds 512 DTEs: DeviceID 512 (device_bits = 10) is in level-1 entry 1,
    # which is not Valid: one read.
    kernel, walker, memory, addresses = build(indirect=True)
    walker.params = ItsParams(device_bits=10, event_bits=8, id_bits=14, collection_bits=8,
                              hcc=2, num_redistributors=3)
    walker.tables.params = walker.params
    state = _Walk(START, kernel, None)

    def process():
        yield kernel.at(START)
        yield from walker.run(state, 512, 0, None)
    kernel.process(process())
    kernel.run()
    assert addresses == [DEVICES + 8]
    assert state.result == (DropReason.DEVICE_OOR, 0, 0, decided(1))


def test_an_address_beyond_the_bus_is_a_memory_error_without_a_read():
    state, addresses = walk(0, 1, dte=((1 << ADDR_BITS) >> 8, 3))
    assert addresses == []
    assert state.result == (DropReason.MEMORY_ERROR, 0, 0, decided(0))
