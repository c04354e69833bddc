"""hw/its/geometry.py: the integer functions against worked examples of the GICv3 table
formats (written out below, with the arithmetic in the comments), and the Amaranth
functions against the integer ones over many random values, through the simulator.

GITS_BASERn is built here from its bit positions (IHI 0069, GITS_BASER<n>): [63] Valid,
[62] Indirect, [47:12] PA, [9:8] Page_Size (0: 4K, 1: 16K, 2: 64K, 3 reserved), [7:0] Size.
Every entry is 8 bytes, so a page holds 512, 2048 or 8192 entries.
"""

import random

import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from gic.hw.its import geometry as g
from gic.hw.its.layouts import GitsBaser
from gic.hw.its.params import ItsParams


def baser(*, valid=1, indirect=0, page_size=0, pa=0, size=0):
    return valid << 63 | indirect << 62 | pa << 12 | page_size << 8 | size


P20 = ItsParams(device_bits=20, collection_bits=8, hcc=4)

# (page_size, PA field, Size, Indirect, DeviceID) ->
#   (base, page = L1 index / DTE page, slot = offset in the L2 page, level1_page)
INDEX_TABLE = [
    # 64 KiB pages, 8192 entries a page: 74565 = 9 * 8192 + 837.
    ((2, 0x100, 0, 1, 0x12345), (0x100000, 9, 837, 0)),
    ((2, 0x100, 0, 1, 0), (0x100000, 0, 0, 0)),
    ((2, 0x100, 0, 1, 8191), (0x100000, 0, 8191, 0)),
    ((2, 0x100, 0, 1, 8192), (0x100000, 1, 0, 0)),
    ((2, 0x100, 0, 1, 0xFFFFF), (0x100000, 127, 8191, 0)),
    # PA 0x101000 rounded down to 64K (and to 16K) is 0x100000; 4K keeps it.
    ((2, 0x101, 0, 0, 3), (0x100000, 0, 3, 0)),
    ((1, 0x101, 0, 0, 3), (0x100000, 0, 3, 0)),
    ((0, 0x101, 0, 0, 3), (0x101000, 0, 3, 0)),
    ((1, 0x107, 0, 0, 3), (0x104000, 0, 3, 0)),
    # Page_Size 3 (reserved) is taken as 64K.
    ((3, 0x101, 0, 1, 0x12345), (0x100000, 9, 837, 0)),
    # 16 KiB pages, 2048 entries a page: 5000 = 2 * 2048 + 904.
    ((1, 0x400, 0, 1, 5000), (0x400000, 2, 904, 0)),
    # 4 KiB pages, 512 a page: 2**18 = 512 * 512 -> level-1 entry 512, on level-1 page 1.
    ((0, 0x100, 0, 1, 1 << 18), (0x100000, 512, 0, 1)),
    ((0, 0x100, 0, 1, 513), (0x100000, 1, 1, 0)),
]


@pytest.mark.parametrize("given,expected", INDEX_TABLE)
def test_table_geometry_int(given, expected):
    page_size, pa, size, indirect, device_id = given
    value = baser(page_size=page_size, pa=pa, size=size, indirect=indirect)
    assert tuple(g.table_geometry_int(value, device_id)) == expected


def test_page_sizes():
    assert [g.page_bytes_int(n) for n in range(4)] == [4096, 16384, 65536, 65536]
    assert [g.entry_shift_int(n) for n in range(4)] == [9, 11, 13, 13]
    assert g.table_base_int(0x101, 2) == 0x100000
    assert g.baser_fields_int(baser(valid=1, indirect=1, page_size=2, pa=0xABCDE, size=7)) == \
        (1, 1, 2, 0xABCDE, 7)


def test_two_level_64k_worked_example():
    # Two-level device table at 0x100000, 64 KiB pages, DeviceID 0x12345: level-1 entry 9
    # at 0x100000 + 9 * 8 = 0x100048; its level-2 page at 0x40000000 (Level1Entry.addr
    # 0x40000) holds the DTE at slot 837: 0x40000000 + 837 * 8 = 0x40001A28.
    value = baser(indirect=1, page_size=2, pa=0x100)
    assert g.device_entry_int(P20, value, 0x12345) == (True, 0x100048, 837)
    assert g.level1_entry_address_int(0x100000, 9) == 0x100048
    assert g.level2_entry_address_int(0x40000, 837) == 0x40001A28


def test_flat_device_table():
    # Flat, 4 KiB pages, Size 1: 1024 DTEs; DTE 1023 at 0x100000 + 1023 * 8 = 0x101FF8.
    value = baser(page_size=0, pa=0x100, size=1)
    assert g.device_entry_int(P20, value, 1023) == (False, 0x101FF8, 0)
    assert g.flat_entry_address_int(0x100000, 1023) == 0x101FF8
    assert g.device_entry_int(P20, value, 1024) is None


@pytest.mark.parametrize("given,expected", [
    # (valid, indirect, page_size, size, device_id): in range
    ((1, 0, 0, 0, 511), True),
    ((1, 0, 0, 0, 512), False),         # flat 4K Size 0: 512 DTEs
    ((1, 0, 2, 0, 8191), True),
    ((1, 0, 2, 0, 8192), False),
    ((1, 1, 0, 0, (1 << 18) - 1), True),  # two-level 4K Size 0: 512 * 512 DTEs
    ((1, 1, 0, 0, 1 << 18), False),
    ((1, 1, 0, 1, 1 << 18), True),        # Size 1: two level-1 pages
    ((1, 1, 2, 0, 0xFFFFF), True),
    ((1, 1, 2, 0, 1 << 20), False),       # beyond device_bits (20)
    ((0, 0, 0, 0, 0), False),             # BASER0 not Valid
])
def test_device_in_range_int(given, expected):
    valid, indirect, page_size, size, device_id = given
    value = baser(valid=valid, indirect=indirect, page_size=page_size, size=size, pa=0x100)
    assert g.device_in_range_int(P20, value, device_id) is expected


def test_ite_address_int():
    # ITT at 0x300000 (ITT_addr 0x3000): EventID 5 at 0x300028; ITT at 0x310000, EventID 8200
    # at 0x310000 + 65600 = 0x320040; the top of the 52-bit space.
    assert g.ite_address_int(0x3000, 5) == 0x300028
    assert g.ite_address_int(0x3100, 8200) == 0x320040
    assert g.ite_address_int((1 << 44) - 1, 0) == (1 << 52) - 256


@pytest.mark.parametrize("given,expected", [
    # (BASER1 valid, size, icid): exists (collection_bits 8, hcc 4, 4K pages: 512 CTEs a page)
    ((0, 0, 3), True),        # on chip, whatever BASER1 says
    ((0, 0, 4), False),       # in memory, table not Valid
    ((1, 0, 10), True),
    ((1, 0, 255), True),
    ((1, 0, 256), False),     # beyond collection_bits
])
def test_collection_exists_int(given, expected):
    valid, size, icid = given
    value = baser(valid=valid, size=size, pa=0x200)
    assert g.collection_exists_int(P20, value, icid) is expected


def test_collection_table_int():
    # 4K pages, Size 0: 512 CTEs; CTE 10 at 0x200000 + 80 = 0x200050.
    p16 = ItsParams(collection_bits=16, hcc=0)
    value = baser(pa=0x200)
    assert g.flat_entry_address_int(g.table_geometry_int(value, 10).base, 10) == 0x200050
    assert g.collection_in_table_int(value, 511)
    assert not g.collection_in_table_int(value, 512)
    assert g.collection_exists_int(p16, baser(pa=0x200, size=1), 1023)
    assert not g.collection_exists_int(p16, baser(pa=0x200, size=1), 1024)


# -- the Amaranth functions against the integer ones ---------------------------------------

class _Dut:
    def __init__(self, params):
        self.params = params
        self.m = m = Module()
        self.baser = Signal(GitsBaser)
        self.index = Signal(32)
        self.icid = Signal(16)
        self.level1_addr = Signal(40)
        self.itt_addr = Signal(44)
        self.event_id = Signal(32)
        dev = g.table_geometry(m, self.baser, self.index, name="dev")
        coll = g.table_geometry(m, self.baser, self.icid, name="coll")
        exprs = {
            "base": dev.base, "page": dev.page, "slot": dev.slot, "level1_page": dev.level1_page,
            "coll_page": coll.page,
            "level1": g.level1_entry_address(dev.base, dev.page),
            "flat": g.flat_entry_address(dev.base, self.index),
            "level2": g.level2_entry_address(self.level1_addr, dev.slot),
            "ite": g.ite_address(self.itt_addr, self.event_id),
            "in_range": g.device_in_range(params, self.baser, self.index, dev),
            "in_table": g.collection_in_table(self.baser, coll),
            "exists": g.collection_exists(params, self.baser, self.icid, coll),
        }
        self.outputs = {}
        for name, expr in exprs.items():
            self.outputs[name] = out = Signal(64, name=name)
            m.d.comb += out.eq(expr)


def _expected(params, baser_value, index, icid, level1_addr, itt_addr, event_id):
    dev = g.table_geometry_int(baser_value, index)
    return {
        "base": dev.base, "page": dev.page, "slot": dev.slot, "level1_page": dev.level1_page,
        "coll_page": g.table_geometry_int(baser_value, icid).page,
        "level1": g.level1_entry_address_int(dev.base, dev.page),
        "flat": g.flat_entry_address_int(dev.base, index),
        "level2": g.level2_entry_address_int(level1_addr, dev.slot),
        "ite": g.ite_address_int(itt_addr, event_id),
        "in_range": int(g.device_in_range_int(params, baser_value, index)),
        "in_table": int(g.collection_in_table_int(baser_value, icid)),
        "exists": int(g.collection_exists_int(params, baser_value, icid)),
    }


@pytest.mark.parametrize("params", [
    ItsParams(device_bits=20, collection_bits=8, hcc=4),
    ItsParams(device_bits=1, collection_bits=16, hcc=0),
    ItsParams(device_bits=16, collection_bits=1, hcc=2),
], ids=["d20c8h4", "d1c16h0", "d16c1h2"])
def test_amaranth_matches_int(params):
    rng = random.Random(params.device_bits)
    dut = _Dut(params)

    def small(bits):
        # Mostly values near the table edges, sometimes any value of the width.
        return rng.getrandbits(bits) if rng.random() < 0.3 else rng.getrandbits(rng.randint(0, min(bits, 20)))

    cases = []
    for _ in range(400):
        value = baser(valid=rng.getrandbits(1), indirect=rng.getrandbits(1),
                      page_size=rng.getrandbits(2), pa=rng.getrandbits(36),
                      size=rng.choice([0, 1, 2, rng.getrandbits(8)]))
        value |= rng.getrandbits(64) & 0x3FFF_0000_0000_0C00   # the other fields, ignored
        cases.append((value, small(32), small(16), rng.getrandbits(40), rng.getrandbits(44),
                      small(32)))
    mismatches = []

    async def testbench(ctx):
        for case in cases:
            value, index, icid, level1_addr, itt_addr, event_id = case
            ctx.set(dut.baser.as_value(), value)
            for signal, v in ((dut.index, index), (dut.icid, icid),
                              (dut.level1_addr, level1_addr), (dut.itt_addr, itt_addr),
                              (dut.event_id, event_id)):
                ctx.set(signal, v)
            got = {name: ctx.get(out) for name, out in dut.outputs.items()}
            want = _expected(params, *case)
            if got != want:
                mismatches.append((case, got, want))

    sim = Simulator(dut.m)
    sim.add_testbench(testbench)
    sim.run()
    assert not mismatches, mismatches[:3]
