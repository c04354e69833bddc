"""The executor's sub-blocks (hw/its/executor.py) against spec tables written out here:
``CommandDecoder`` (which numbers are commands, and each one's write, packet and error
codes: IHI 0069 command numbers, the Linux KVM error encodings), ``FieldChecks`` (the
CHECK step's codes and their order, docs/behaviour.md) and ``EntryEncoder`` (the DTE, ITE
and CTE bit layouts of the brief's section 4).

Commands are built from their doubleword fields: DW0 [7:0] number, [63:32] DeviceID; DW1
[31:0] EventID, [63:32] pINTID (MAPD: [4:0] Size); DW2 [15:0] ICID, [50:16] RDbase (MAPD:
[51:8] ITT_addr), [63] V; DW3 [50:16] RDbase2.
"""

import pytest
from amaranth.sim import Simulator

from gic.hw.its.executor import RECIPES, CommandDecoder, EntryEncoder, FieldChecks, Write
from gic.hw.its.layouts import Cmd, GicOp
from gic.hw.its.params import ItsParams


def command(number, *, device_id=0, event_id=0, pintid=0, size=0, icid=0, rdbase=0,
            itt_addr=0, valid=0, rdbase2=0):
    dw0 = number | device_id << 32
    dw1 = event_id | pintid << 32 | size
    dw2 = icid | rdbase << 16 | itt_addr << 8 | valid << 63
    dw3 = rdbase2 << 16
    return dw0 | dw1 << 64 | dw2 << 128 | dw3 << 192


def run_comb(dut, cases, inputs, outputs):
    """Set ``inputs(case)`` (``(signal, value)`` pairs), collect ``outputs(ctx)``, per case."""
    results = []

    async def testbench(ctx):
        for case in cases:
            for signal, value in inputs(case):
                ctx.set(signal, value)
            results.append(outputs(ctx))

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()
    return results


# -- CommandDecoder --------------------------------------------------------------------------

# number: (write, packet op or None, the code of the first check)
DECODE = {
    0x08: ("DTE", None, 0x010801),            # MAPD: MAPD_DEVICE_OOR
    0x09: ("COLLECTION", None, 0x010903),     # MAPC: MAPC_COLLECTION_OOR (no device look-up)
    0x0A: ("ITE_MAP", None, 0x010A04),        # MAPTI: MAPTI_UNMAPPED_DEVICE
    0x0B: ("ITE_MAP", None, 0x010A04),        # MAPI
    0x01: ("ITE_MOVE", "MOVLPI", 0x010107),   # MOVI: MOVI_UNMAPPED_INTERRUPT
    0x03: ("NONE", "SET", 0x010307),          # INT
    0x04: ("NONE", "CLEAR", 0x010507),        # CLEAR
    0x0C: ("NONE", "INV", 0x010C07),          # INV
    0x0F: ("ITE_DISCARD", "CLEAR", 0x010F07),  # DISCARD
    0x0D: ("NONE", "INVALL", 0x010D09),       # INVALL: INVALL_UNMAPPED_COLLECTION
    0x0E: ("NONE", "MOVALL", 0x010E01),       # MOVALL: MOVALL_PROCNUM_OOR
    0x05: ("NONE", "SYNC", 0x020002),         # SYNC: SYNC_PROCNUM_OOR
}


def test_command_decoder():
    dut = CommandDecoder()
    got = run_comb(dut, range(256), lambda n: [(dut.cmd, n)],
                   lambda ctx: (ctx.get(dut.supported), ctx.get(dut.recipe)))
    for number, (supported, recipe) in enumerate(got):
        assert supported == (number in DECODE), hex(number)
        if not supported:
            assert recipe.as_value().value == 0
            continue
        write, op, first_code = DECODE[number]
        assert recipe.write == Write[write]
        assert (recipe.packet_when.value != 0) == (op is not None)
        if op is not None:
            assert recipe.packet_op == GicOp[op]
        first = next(code for code in (recipe.device_oor, recipe.collection_oor,
                                       recipe.rd_oor, recipe.cmd_collection)
                     if code.value != 0)
        assert first.value == first_code
        assert recipe.pintid_is_event == (number == 0x0B)


# -- FieldChecks -----------------------------------------------------------------------------

PARAMS = ItsParams(event_bits=16, id_bits=16, num_redistributors=4)

# (command, pintid, DTE Size, collection exists) -> code
CHECKS = [
    ((command(0x08, size=15, valid=1), 0, 0, 1), 0),
    ((command(0x08, size=16, valid=1), 0, 0, 1), 0x010802),   # 17 EventID bits > 16
    ((command(0x08, size=31, valid=0), 0, 0, 1), 0),          # V=0: Size not checked
    ((command(0x0A, event_id=31, pintid=8192), 8192, 4, 1), 0),
    ((command(0x0A, event_id=32, pintid=8192), 8192, 4, 1), 0x010A05),   # 32 >= 2**5
    ((command(0x0A, event_id=32, pintid=1), 1, 4, 0), 0x010A05),         # event first
    ((command(0x0A, event_id=3, pintid=8191), 8191, 4, 1), 0x010A06),    # not an LPI
    ((command(0x0A, event_id=3, pintid=65536), 65536, 4, 1), 0x010A06),  # beyond id_bits
    ((command(0x0A, event_id=3, pintid=65535), 65535, 4, 1), 0),
    ((command(0x0A, event_id=3, pintid=8192), 8192, 4, 0), 0x010903),    # no such ICID
    ((command(0x0B, event_id=100), 100, 15, 1), 0x010A06),               # MAPI: pINTID 100
    ((command(0x0B, event_id=9000), 9000, 15, 1), 0),
    ((command(0x05, rdbase=3), 0, 0, 1), 0),
    ((command(0x05, rdbase=4), 0, 0, 1), 0x020002),
    ((command(0x09, rdbase=4, valid=1), 0, 0, 1), 0x010902),
    ((command(0x09, rdbase=4, valid=0), 0, 0, 1), 0),                    # V=0: RDbase unused
    ((command(0x09, rdbase=4, valid=1), 0, 0, 0), 0x010903),             # ICID before RDbase
    ((command(0x0E, rdbase=4, rdbase2=0), 0, 0, 1), 0x010E01),
    ((command(0x0E, rdbase=0, rdbase2=5), 0, 0, 1), 0x010E01),
    ((command(0x0E, rdbase=3, rdbase2=3), 0, 0, 1), 0),
    ((command(0x03, event_id=1 << 16), 0, 15, 1), 0x010307),             # INT: event beyond
    ((command(0x01, event_id=2, icid=9), 0, 15, 0), 0),                  # MOVI: no ICID check
]


@pytest.mark.parametrize("given,expected", CHECKS)
def test_field_checks(given, expected):
    raw, pintid, dte_size, exists = given
    dut = FieldChecks(PARAMS)
    recipe = RECIPES[Cmd(raw & 0xFF)].as_value().value
    got, = run_comb(dut, [given], lambda _: [
        (dut.command.as_value(), raw), (dut.recipe.as_value(), recipe), (dut.pintid, pintid),
        (dut.dte_size, dte_size), (dut.collection_exists, exists),
    ], lambda ctx: ctx.get(dut.code).value)
    assert got == expected


# -- EntryEncoder ----------------------------------------------------------------------------

DTE_AT, ITE_AT, CTE_AT = 0x100008, 0x300010, 0x200050

# (write, command, pintid, ITE read) -> (addr, data)
ENTRIES = [
    # DTE: [63] Valid, [48:5] ITT_addr bits [51:8], [4:0] Size.
    (("DTE", command(0x08, size=4, itt_addr=0x3000, valid=1), 0, 0),
     (DTE_AT, 0x8000_0000_0006_0004)),
    (("DTE", command(0x08, size=4, itt_addr=0x3000, valid=0), 0, 0), (DTE_AT, 0)),
    (("DTE", command(0x08, size=31, itt_addr=(1 << 44) - 1, valid=1), 0, 0),
     (DTE_AT, 0x8001_FFFF_FFFF_FFFF)),
    # ITE: [0] Valid, [31:16] ICID, [47:32] pINTID.
    (("ITE_MAP", command(0x0A, icid=2), 0x9000, 0), (ITE_AT, 0x0000_9000_0002_0001)),
    (("ITE_MOVE", command(0x01, icid=7), 0, 0x0000_2005_0003_0001),
     (ITE_AT, 0x0000_2005_0007_0001)),
    (("ITE_DISCARD", command(0x0F), 0, 0x0000_2005_0003_0001), (ITE_AT, 0)),
    # CTE: [63] Valid, [51:16] RDbase, [15:0] ICID.
    (("COLLECTION", command(0x09, icid=10, rdbase=2, valid=1), 0, 0),
     (CTE_AT, 0x8000_0000_0002_000A)),
    (("COLLECTION", command(0x09, icid=10, rdbase=2, valid=0), 0, 0), (CTE_AT, 0)),
    (("NONE", command(0x03), 0, 0x0000_2005_0003_0001), (0, 0)),
]


@pytest.mark.parametrize("given,expected", ENTRIES)
def test_entry_encoder(given, expected):
    write, raw, pintid, ite = given
    dut = EntryEncoder()
    got, = run_comb(dut, [given], lambda _: [
        (dut.write, Write[write]), (dut.command.as_value(), raw), (dut.pintid, pintid),
        (dut.ite.as_value(), ite), (dut.dte_addr, DTE_AT), (dut.ite_addr, ITE_AT),
        (dut.cte_addr, CTE_AT),
    ], lambda ctx: (ctx.get(dut.addr), ctx.get(dut.data)))
    assert got == expected
