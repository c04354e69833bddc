"""The shared encodings against the tables of docs/architecture.md, written out here by hand.

The expectations below are copied from docs/architecture.md (and the architecture), not
computed from hw/its/layouts.py, so a wrong field position fails here.
"""

import random

import pytest
from amaranth.lib import data

from gic.hw.its import layouts as L
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REG, REGISTERS
from gic.sim.models.commands import decode_command, encode_command, pack, unpack

# Command numbers (docs/architecture.md, section 3).
COMMAND_NUMBERS = {
    "MOVI": 0x01, "INT": 0x03, "CLEAR": 0x04, "SYNC": 0x05, "MAPD": 0x08, "MAPC": 0x09,
    "MAPTI": 0x0A, "MAPI": 0x0B, "INV": 0x0C, "INVALL": 0x0D, "MOVALL": 0x0E, "DISCARD": 0x0F,
    "VMOVI": 0x21, "VMOVP": 0x22, "VSGI": 0x23, "VSYNC": 0x25, "VMAPP": 0x29, "VMAPTI": 0x2A,
    "VMAPI": 0x2B, "VINVALL": 0x2D, "INVDB": 0x2E,
}

# Field positions: name -> (doubleword, low bit, high bit) (docs/architecture.md, section 3).
DEVICE = ("device_id", 0, 32, 63)
EVENT = ("event_id", 1, 0, 31)
ICID = ("icid", 2, 0, 15)
COMMAND_FIELDS = {
    "MOVI": [DEVICE, EVENT, ICID],
    "INT": [DEVICE, EVENT],
    "CLEAR": [DEVICE, EVENT],
    "SYNC": [("rdbase", 2, 16, 50)],
    "MAPD": [DEVICE, ("size", 1, 0, 4), ("itt_addr", 2, 8, 51), ("valid", 2, 63, 63)],
    "MAPC": [ICID, ("rdbase", 2, 16, 50), ("valid", 2, 63, 63)],
    "MAPTI": [DEVICE, EVENT, ("pintid", 1, 32, 63), ICID],
    "MAPI": [DEVICE, EVENT, ICID],
    "INV": [DEVICE, EVENT],
    "INVALL": [ICID],
    "MOVALL": [("rdbase1", 2, 16, 50), ("rdbase2", 3, 16, 50)],
    "DISCARD": [DEVICE, EVENT],
}

# Error codes (docs/architecture.md, section 3: the numbers Linux KVM reports).
ERROR_CODES = {
    "MAPD_DEVICE_OOR": 0x010801, "MAPD_ITTSIZE_OOR": 0x010802, "MAPC_PROCNUM_OOR": 0x010902,
    "MAPC_COLLECTION_OOR": 0x010903, "MAPTI_UNMAPPED_DEVICE": 0x010A04, "MAPTI_ID_OOR": 0x010A05,
    "MAPTI_PHYSICALID_OOR": 0x010A06, "MOVI_UNMAPPED_INTERRUPT": 0x010107,
    "MOVI_UNMAPPED_COLLECTION": 0x010109, "INT_UNMAPPED_INTERRUPT": 0x010307,
    "CLEAR_UNMAPPED_INTERRUPT": 0x010507, "INV_UNMAPPED_INTERRUPT": 0x010C07,
    "INVALL_UNMAPPED_COLLECTION": 0x010D09, "MOVALL_PROCNUM_OOR": 0x010E01,
    "DISCARD_UNMAPPED_INTERRUPT": 0x010F07,
}

# Register offsets (docs/architecture.md, section 2).
REGISTER_OFFSETS = {
    "GITS_CTLR": 0x0000, "GITS_IIDR": 0x0004, "GITS_TYPER": 0x0008, "GITS_CBASER": 0x0080,
    "GITS_CWRITER": 0x0088, "GITS_CREADR": 0x0090, "GITS_BASER0": 0x0100, "GITS_BASER1": 0x0108,
    "GITS_BASER7": 0x0138, "GITS_PIDR2": 0xFFE8, "GITS_TRANSLATER": 0x10040,
}


def bits(value, lo, hi):
    return (value >> lo) & ((1 << (hi - lo + 1)) - 1)


def field_positions(layout):
    return {name: (f.offset, f.offset + f.width - 1)
            for name, f in data.Layout.cast(layout) if not name.startswith("_")}


@pytest.mark.parametrize("name,number", COMMAND_NUMBERS.items())
def test_command_numbers(name, number):
    assert L.Cmd[name].value == number


def test_gicv3_commands_have_layouts():
    assert sorted(c.name for c in L.COMMAND_LAYOUTS) == sorted(COMMAND_FIELDS)
    for layout in L.COMMAND_LAYOUTS.values():
        assert data.Layout.cast(layout).size == 256


@pytest.mark.parametrize("name", COMMAND_FIELDS)
def test_command_field_positions(name):
    """Each field lands in the doubleword and bits docs/architecture.md gives."""
    cmd = L.Cmd[name]
    rng = random.Random(name)
    values = {f: rng.getrandbits(hi - lo + 1) | 1 for f, _, lo, hi in COMMAND_FIELDS[name]}
    raw = encode_command(cmd, **values)
    assert len(raw) == 32
    dws = [int.from_bytes(raw[8 * i:8 * i + 8], "little") for i in range(4)]
    assert bits(dws[0], 0, 7) == COMMAND_NUMBERS[name]
    expected = [0, 0, 0, 0]
    expected[0] = COMMAND_NUMBERS[name]
    for field, dw, lo, hi in COMMAND_FIELDS[name]:
        assert bits(dws[dw], lo, hi) == values[field], field
        expected[dw] |= values[field] << lo
    assert dws == expected, "bits outside the named fields must be zero"


@pytest.mark.parametrize("name", COMMAND_FIELDS)
def test_command_round_trip(name):
    cmd = L.Cmd[name]
    rng = random.Random(name + "rt")
    for _ in range(20):
        values = {f: rng.getrandbits(hi - lo + 1) for f, _, lo, hi in COMMAND_FIELDS[name]}
        decoded = decode_command(encode_command(cmd, **values))
        assert decoded.cmd is cmd
        assert decoded.fields == values


def test_unknown_and_gicv4_commands_decode_to_numbers():
    for number in (0x00, 0x02, 0x10, 0x2A, 0xFF):
        decoded = decode_command(encode_command(number, device_id=0x1234))
        assert decoded.cmd == number and decoded.device_id == 0x1234


def test_encode_rejects_bad_fields():
    with pytest.raises(ValueError, match="has no field 'icid'"):
        encode_command(L.Cmd.INT, device_id=1, event_id=2, icid=3)
    with pytest.raises(ValueError, match="does not fit in 5 bits"):
        encode_command(L.Cmd.MAPD, size=32)


@pytest.mark.parametrize("name,code", ERROR_CODES.items())
def test_error_codes(name, code):
    assert L.CmdError[name].value == code


@pytest.mark.parametrize("name,offset", REGISTER_OFFSETS.items())
def test_register_offsets(name, offset):
    assert REG[name] == offset


def test_register_offsets_unique_and_imp_def_in_range():
    offsets = [r.offset for r in REGISTERS]
    assert len(offsets) == len(set(offsets))
    for reg in REGISTERS:
        if reg.name.startswith(("GITS_ERR", "GITS_QUERY", "GITS_CACHE", "GITS_STAT")):
            assert 0xC000 <= reg.offset <= 0xFFCF, reg.name


@pytest.mark.parametrize("layout,expected", [
    (L.GitsCtlr, {"enabled": (0, 0), "quiescent": (31, 31)}),
    (L.GitsTyper, {"physical": (0, 0), "virtual": (1, 1), "itt_entry_size": (4, 7),
                   "id_bits": (8, 12), "devbits": (13, 17), "seis": (18, 18), "pta": (19, 19),
                   "hcc": (24, 31), "cid_bits": (32, 35), "cil": (36, 36)}),
    (L.GitsCbaser, {"valid": (63, 63), "pa": (12, 51), "size": (0, 7)}),
    (L.GitsCwriter, {"offset": (5, 19), "retry": (0, 0)}),
    (L.GitsCreadr, {"offset": (5, 19), "stalled": (0, 0)}),
    (L.GitsBaser, {"valid": (63, 63), "indirect": (62, 62), "type": (56, 58),
                   "entry_size": (48, 52), "pa": (12, 47), "page_size": (8, 9), "size": (0, 7)}),
    (L.GitsPidr2, {"arch_rev": (4, 7)}),
    (L.DeviceTableEntry, {"valid": (63, 63), "itt_addr": (5, 48), "size": (0, 4)}),
    (L.Level1Entry, {"valid": (63, 63), "addr": (12, 51)}),
    (L.CollectionTableEntry, {"valid": (63, 63), "rdbase": (16, 51), "icid": (0, 15)}),
])
def test_register_and_table_fields(layout, expected):
    """Field bit ranges as the register map and table formats of docs/architecture.md give them."""
    positions = field_positions(layout)
    for name, span in expected.items():
        assert positions[name] == span, f"{layout.__name__}.{name}"


def test_table_entries_are_8_bytes():
    for layout in (L.DeviceTableEntry, L.Level1Entry, L.IttEntry, L.CollectionTableEntry):
        assert data.Layout.cast(layout).size == 64, layout.__name__


def test_itt_entry_has_valid_pintid_icid():
    positions = field_positions(L.IttEntry)
    assert {"valid", "intid", "icid", "virtual", "doorbell"} <= set(positions)


def test_baser_types_and_page_sizes():
    assert {t.name: t.value for t in L.BaserType} == {
        "UNIMPLEMENTED": 0, "DEVICES": 1, "VPES": 2, "COLLECTIONS": 4}
    assert {p.name: p.value for p in L.PageSize} == {"SIZE_4K": 0, "SIZE_16K": 1, "SIZE_64K": 2}


def test_gic_stream_ops():
    assert {op.name for op in L.GicOp} == {"SET", "CLEAR", "INV", "INVALL", "MOVLPI", "MOVALL",
                                            "SYNC"}
    value = pack(L.GicPacket, op=L.GicOp.MOVLPI, lpi=8200, target=3)
    assert unpack(L.GicPacket, value) == {"op": L.GicOp.MOVLPI, "lpi": 8200, "target": 3}


def test_typer_from_params():
    """GITS_TYPER bits computed by hand from the field table of docs/architecture.md."""
    p = ItsParams(device_bits=12, event_bits=10, hcc=7, collection_bits=9)
    typer = p.typer
    assert bits(typer, 0, 0) == 1          # Physical
    assert bits(typer, 1, 1) == 0          # Virtual (GICv3 only for now)
    assert bits(typer, 4, 7) == 8 - 1      # 8-byte ITE
    assert bits(typer, 8, 12) == 10 - 1    # EventID bits - 1
    assert bits(typer, 13, 17) == 12 - 1   # Devbits - 1
    assert bits(typer, 19, 19) == 0        # PTA = 0: RDbase is a processor number
    assert bits(typer, 24, 31) == 7        # HCC
    assert bits(typer, 32, 35) == 9 - 1    # CIDbits - 1
    assert bits(typer, 36, 36) == 1        # CIL
