"""The architectural reference model against docs/behaviour.md.

Expected values are literal numbers from docs/architecture.md and docs/behaviour.md. Most
tests start from :func:`baseline`, an enabled ITS with four commands retired:

* device table at DT (flat, 4 KiB pages, 512 DTEs), collection table at CT (512 CTEs),
  a one-page command ring at RING (128 commands);
* device 1 with 32 events (MAPD Size 4), ITT at ITT;
* collection 0 on redistributor 1; collection 3 (on chip, HCC = 4) unmapped;
* event 2 -> LPI 8194 in collection 0, event 5 -> LPI 8197 in collection 3.
"""

import pytest

from gic.hw.its.geometry import (device_entry_int, flat_entry_address_int, ite_address_int,
                                 level2_entry_address_int)
from gic.hw.its.layouts import (
    Cmd, CmdError, DropReason, ErrCmdRecord, ErrMsiRecord, GicOp, GitsBaser, GitsCbaser,
    GitsCwriter, Level1Entry, PageSize, QueryRequest,
)
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REG, STAT_COUNTERS
from gic.sim.models.commands import decode_command, encode_command, pack, unpack
from gic.sim.models.memory import Memory
from gic.sim.models.its import ExecutedCommand, ItsModel, Packet, Translation

CTLR, CBASER, CWRITER, CREADR = (REG[n] for n in ("GITS_CTLR", "GITS_CBASER", "GITS_CWRITER",
                                                  "GITS_CREADR"))
BASER0, BASER1 = REG["GITS_BASER0"], REG["GITS_BASER1"]
ERR_CMD, ERR_MSI = REG["GITS_ERR_CMD"], REG["GITS_ERR_MSI"]
QUERY, QUERY_RESULT, CACHE_CTL = REG["GITS_QUERY"], REG["GITS_QUERY_RESULT"], REG["GITS_CACHE_CTL"]

RING = 0x10000
DT = 0x100000
CT = 0x200000
ITT = 0x300000
L2 = 0x400000
RING_SLOTS = 128      # one 4 KiB page of 32-byte commands
BASELINE_COMMANDS = 4

enc = encode_command


# -- helpers ---------------------------------------------------------------------------------

def make_its(policy="skip", *, indirect=0, page_size=PageSize.SIZE_4K, enable=True,
             auto_execute=True, **params):
    """A model with both tables and a one-page ring programmed, enabled unless told."""
    mem = Memory()
    its = ItsModel(ItsParams(error_policy=policy, **params), mem, auto_execute=auto_execute)
    its.write(BASER0, pack(GitsBaser, valid=1, indirect=indirect, page_size=page_size,
                           pa=DT >> 12))
    its.write(BASER1, pack(GitsBaser, valid=1, page_size=PageSize.SIZE_4K, pa=CT >> 12))
    its.write(CBASER, pack(GitsCbaser, valid=1, pa=RING >> 12, size=0))
    if enable:
        its.write(CTLR, 1, 4)
    return its, mem


def queue(its, *commands):
    """Write ``commands`` (32 bytes each) at CWRITER; the CWRITER value that posts them."""
    slot = unpack(GitsCwriter, its.read(CWRITER))["offset"]
    for command in commands:
        its.memory.write(RING + 32 * slot, command)
        slot = (slot + 1) % RING_SLOTS
    return pack(GitsCwriter, offset=slot)


def post(its, *commands):
    """Queue ``commands`` and advance CWRITER; the ExecutedCommands that ran."""
    before = len(its.executed)
    its.write(CWRITER, queue(its, *commands))
    return its.executed[before:]


def baseline(policy="skip", **params):
    """The state described in the module docstring; the next command is at ring offset 0x80."""
    its, mem = make_its(policy, **params)
    done = post(its,
                enc(Cmd.MAPD, device_id=1, size=4, itt_addr=ITT >> 8, valid=1),
                enc(Cmd.MAPC, icid=0, rdbase=1, valid=1),
                enc(Cmd.MAPTI, device_id=1, event_id=2, pintid=8194, icid=0),
                enc(Cmd.MAPTI, device_id=1, event_id=5, pintid=8197, icid=3))
    assert [e.error for e in done] == [CmdError.NONE] * BASELINE_COMMANDS
    return its, mem


def all_packets(its):
    return [list(queue_) for queue_ in its.packets]


def no_packets(its):
    return all(not queue_ for queue_ in its.packets)


def err_cmd(its):
    return unpack(ErrCmdRecord, its.read(ERR_CMD))


def err_msi(its):
    return unpack(ErrMsiRecord, its.read(ERR_MSI))


def reenable(its, **writes):
    """Disable the ITS, write registers (offset -> value), enable it again."""
    its.write(CTLR, 0, 4)
    for offset, value in writes.items():
        its.write(REG[offset], value)
    its.write(CTLR, 1, 4)


# -- packets ---------------------------------------------------------------------------------

def test_packet_bits():
    # GicPacket: op [2:0], lpi [18:3], target [26:19].
    assert Packet(GicOp.MOVLPI, 8192, 3).to_bits() == 0x190004
    assert Packet.from_bits(0x190004) == Packet(GicOp.MOVLPI, 8192, 3)
    assert Packet(GicOp.SYNC).to_bits() == 6
    assert Packet.from_bits(0x10008) == Packet(GicOp.SET, 8193, 0)


# -- registers -------------------------------------------------------------------------------

def test_reset_values():
    its = ItsModel(ItsParams(), Memory())
    assert its.read(CTLR, 4) == 0x8000_0000           # disabled and quiescent
    assert its.read(REG["GITS_IIDR"], 4) == 0x7A00_043B
    assert its.read(REG["GITS_TYPER"]) == 0x1F_0401_EF71
    assert its.read(REG["GITS_PIDR2"], 4) == 0x3B      # ArchRev 3
    assert its.read(BASER0) == 0x0107_0000_0000_0200   # Devices, 8-byte entries, 64K pages
    assert its.read(BASER1) == 0x0407_0000_0000_0200   # Collections
    for offset in (CBASER, CWRITER, CREADR, ERR_CMD, ERR_MSI, QUERY, QUERY_RESULT):
        assert its.read(offset) == 0
    assert its.read(CACHE_CTL, 4) == 0
    assert all(its.read(0xC100 + 4 * n, 4) == 0 for n in range(len(STAT_COUNTERS)))
    assert its.quiescent and not its.enabled and not its.stalled


def test_typer_follows_params():
    params = ItsParams(device_bits=20, event_bits=8, hcc=0, collection_bits=8)
    assert ItsModel(params, Memory()).read(REG["GITS_TYPER"]) == 0x17_0002_6771


@pytest.mark.parametrize("offset,size,message", [
    (0x0, 2, r"access size must be 4 or 8 bytes, not 2"),
    (0x84, 8, r"a 8-byte access must be 8-byte aligned, not at offset 0x84"),
    (0x2, 4, r"a 4-byte access must be 4-byte aligned, not at offset 0x2"),
    (0x20000, 4, r"offset 0x20000 is outside the 128 KiB ITS frame"),
    (-8, 8, r"offset -0x8 is outside the 128 KiB ITS frame"),
])
def test_bad_access(offset, size, message):
    its = ItsModel(ItsParams(), Memory())
    with pytest.raises(ValueError, match=message):
        its.read(offset, size)
    with pytest.raises(ValueError, match=message):
        its.write(offset, 0, size)


def test_write_value_must_fit():
    its = ItsModel(ItsParams(), Memory())
    with pytest.raises(ValueError, match=r"value 0x100000000 does not fit in a 4-byte write"):
        its.write(CTLR, 1 << 32, 4)


@pytest.mark.parametrize("offset", [0x0010, 0x0098, 0x0140, 0xC030, 0xC118, 0xFFE0, 0x10000,
                                    0x10048, 0x1FFF8])
def test_unknown_offsets_raz_wi(offset):
    its, _ = make_its()
    its.write(offset, (1 << 64) - 1)
    its.write(offset, 0xFFFF_FFFF, 4)
    assert its.read(offset) == 0
    assert its.read(offset, 4) == 0
    assert its.read(CTLR, 4) == 1 and its.read(CWRITER) == 0 and its.error_pulses == 0


@pytest.mark.parametrize("name,size", [("GITS_IIDR", 4), ("GITS_TYPER", 8), ("GITS_CREADR", 8),
                                       ("GITS_PIDR2", 4), ("GITS_QUERY_RESULT", 8)])
def test_read_only_registers_ignore_writes(name, size):
    its = ItsModel(ItsParams(), Memory())
    before = its.read(REG[name], size)
    its.write(REG[name], (1 << (8 * size)) - 1, size)
    assert its.read(REG[name], size) == before


def test_ctlr_enable_and_quiescent():
    its = ItsModel(ItsParams(), Memory())
    its.write(CTLR, 0xFFFF_FFFF, 4)             # Quiescent is read-only
    assert its.read(CTLR, 4) == 0x1 and its.enabled and not its.quiescent
    its.write(CTLR, 0, 4)
    assert its.read(CTLR, 4) == 0x8000_0000 and its.quiescent


def test_32bit_halves():
    its = ItsModel(ItsParams(), Memory())
    # CBASER Valid, PA 0x12345000, Size 3, Shareability 1, written as two 32-bit halves.
    its.write(CBASER, 0x1234_5403, 4)
    its.write(CBASER + 4, 0x8000_0000, 4)
    assert its.read(CBASER) == 0x8000_0000_1234_5403
    assert its.read(CBASER, 4) == 0x1234_5403
    assert its.read(CBASER + 4, 4) == 0x8000_0000
    # The other half is kept.
    its.write(CBASER + 4, 0, 4)
    assert its.read(CBASER) == 0x0000_0000_1234_5403
    # CWRITER as Linux writes it: one 32-bit access.
    its.write(CWRITER, 0x60, 4)
    assert its.read(CWRITER) == 0x60 and its.read(CWRITER + 4, 4) == 0
    # TYPER's upper half: CIL and CIDbits 15.
    assert its.read(REG["GITS_TYPER"] + 4, 4) == 0x1F
    assert its.read(REG["GITS_TYPER"], 4) == 0x0401_EF71
    # An 8-byte read of two 32-bit registers: CTLR low, IIDR high.
    assert its.read(CTLR) == 0x7A00_043B_8000_0000
    # A BASER written by halves.
    its.write(BASER0, 0x0010_0100, 4)           # PA 0x100000, Page_Size 16K
    its.write(BASER0 + 4, 0x8000_0000, 4)
    assert its.read(BASER0) == 0x8107_0000_0010_0100


def test_cbaser_fields_and_reset_of_the_queue():
    its, mem = baseline()
    assert its.read(CREADR) == 0x80 and its.read(CWRITER) == 0x80
    its.write(CBASER, 0x1234)                    # ignored while enabled
    assert its.read(CBASER) == 0x8000_0000_0001_0000
    its.write(CTLR, 0, 4)
    its.write(CBASER, (1 << 64) - 1)
    # Valid, InnerCache, OuterCache, PA [51:12], Shareability, Size; reserved bits read 0.
    assert its.read(CBASER) == 0xB8EF_FFFF_FFFF_FCFF
    # CREADR back to 0 and, as KVM, CWRITER too: the new ring starts empty.
    assert its.read(CREADR) == 0 and its.read(CWRITER) == 0


def test_cwriter_offset_and_retry_read():
    its = ItsModel(ItsParams(), Memory())
    its.write(CBASER, pack(GitsCbaser, valid=1, pa=RING >> 12, size=1))   # 8 KiB ring
    its.write(CWRITER, 0x1FE0 | 1)                # last slot, with Retry
    assert its.read(CWRITER) == 0x1FE0            # Retry reads 0
    assert its.error_pulses == 0


@pytest.mark.parametrize("size,offset", [(0, 0x1000), (0, 0xFFFE0), (1, 0x2000)])
def test_cwriter_out_of_range(size, offset):
    its = ItsModel(ItsParams(), Memory())
    its.write(CBASER, pack(GitsCbaser, valid=1, pa=RING >> 12, size=size))
    its.write(CWRITER, 0x40)
    its.write(CWRITER, offset)
    assert its.read(CWRITER) == 0x40              # the write is ignored
    assert err_cmd(its) == {"code": 0x020003, "valid": 1, "offset": offset, "cmd": 0,
                            "overflow": 0}
    assert its.stats["CMD_ERRORS"] == 1 and its.error_pulses == 1
    assert its.stats["CMD_EXECUTED"] == 0 and its.executed == []
    assert its.read(CREADR) == 0 and not its.stalled


@pytest.mark.parametrize("page_size,reads", [(0, 0), (1, 1), (2, 2), (3, 2)])
@pytest.mark.parametrize("baser", [BASER0, BASER1])
def test_baser_page_size_probe(baser, page_size, reads):
    its = ItsModel(ItsParams(), Memory())
    its.write(baser, page_size << 8)
    assert (its.read(baser) >> 8) & 3 == reads


def test_baser_read_only_fields_and_indirect():
    its = ItsModel(ItsParams(), Memory())
    its.write(BASER0, (1 << 64) - 1)
    its.write(BASER1, (1 << 64) - 1)
    # Type and Entry_Size keep their values; Page_Size 3 reads 64K; Indirect only on BASER0.
    assert its.read(BASER0) == 0xF9E7_FFFF_FFFF_FEFF
    assert its.read(BASER1) == 0xBCE7_FFFF_FFFF_FEFF
    its.write(BASER0, 0)
    assert its.read(BASER0) == 0x0107_0000_0000_0000   # Page_Size 4K as written


@pytest.mark.parametrize("n", range(2, 8))
def test_baser2_to_7_raz_wi(n):
    its = ItsModel(ItsParams(), Memory())
    its.write(0x100 + 8 * n, (1 << 64) - 1)
    its.write(0x100 + 8 * n + 4, 0xFFFF_FFFF, 4)
    assert its.read(0x100 + 8 * n) == 0


def test_baser_ignored_while_enabled():
    its, _ = make_its()
    before = its.read(BASER0), its.read(BASER1)
    its.write(BASER0, 0)
    its.write(BASER1 + 4, 0, 4)
    assert (its.read(BASER0), its.read(BASER1)) == before


def test_baser_pa_rounded_down_to_page():
    # 64K pages with PA = DT + 0x1000: the table starts at DT.
    its, mem = make_its(page_size=PageSize.SIZE_64K, enable=False)
    its.write(BASER0, pack(GitsBaser, valid=1, page_size=PageSize.SIZE_64K, pa=(DT + 0x1000) >> 12))
    assert its.read(BASER0) == 0x8107_0000_0010_1200
    its.write(CTLR, 1, 4)
    post(its, enc(Cmd.MAPD, device_id=3, size=0, itt_addr=ITT >> 8, valid=1))
    assert mem.read_int(DT + 24) == 0x8000_0000_0006_0000


def test_error_record_overflow_and_clear():
    its, _ = baseline()
    post(its, enc(Cmd.INT, device_id=1, event_id=3), enc(Cmd.SYNC, rdbase=9))
    assert err_cmd(its) == {"code": 0x010307, "valid": 1, "offset": 0x80, "cmd": 0x03,
                            "overflow": 1}
    assert its.stats["CMD_ERRORS"] == 2 and its.error_pulses == 2
    its.write(ERR_CMD + 4, 0, 4)                 # any write clears
    assert its.read(ERR_CMD) == 0
    post(its, enc(Cmd.SYNC, rdbase=9))
    assert err_cmd(its) == {"code": 0x020002, "valid": 1, "offset": 0xC0, "cmd": 0x05,
                            "overflow": 0}


def test_stat_registers_count_and_clear():
    its, _ = baseline()
    its.msi(1, 2)
    its.msi(1, 3)
    post(its, enc(Cmd.INT, device_id=1, event_id=3))
    assert its.read(0xC100, 4) == 1              # MSI_TRANSLATED
    assert its.read(0xC104, 4) == 1              # MSI_DROPPED
    assert its.read(0xC108, 4) == 5              # CMD_EXECUTED
    assert its.read(0xC10C, 4) == 1              # CMD_ERRORS
    assert its.read(0xC110) == 0                 # TCACHE_HIT, TCACHE_MISS: no cache
    assert its.read(0xC100) == 0x1_0000_0001     # two counters in one 8-byte read
    its.write(0xC108, 0xFFFF_FFFF, 4)
    assert its.read(0xC108, 4) == 0 and its.stats["CMD_EXECUTED"] == 0
    assert its.read(0xC100, 4) == 1


def test_cache_ctl():
    its, _ = baseline()
    its.write(CACHE_CTL, 0x3, 4)                 # invalidate (done at once) and disable
    assert its.read(CACHE_CTL, 4) == 0x2
    assert its.msi(1, 2) == Translation(DropReason.OK, 8194, 1)
    its.write(CACHE_CTL, 0, 4)
    assert its.read(CACHE_CTL, 4) == 0


# -- commands: effects and packets -----------------------------------------------------------

def test_mapd_writes_and_clears_dte():
    its, mem = make_its()
    post(its, enc(Cmd.MAPD, device_id=1, size=4, itt_addr=ITT >> 8, valid=1))
    # [63] Valid, [48:5] ITT address bits [51:8], [4:0] Size.
    assert mem.read_int(DT + 8) == 0x8000_0000_0006_0004
    post(its, enc(Cmd.MAPD, device_id=1, size=4, itt_addr=ITT >> 8, valid=0))
    assert mem.read_int(DT + 8) == 0
    assert no_packets(its)


def test_mapd_unmap_ignores_size():
    # Size is only checked for V=1.
    its, mem = make_its()
    assert post(its, enc(Cmd.MAPD, device_id=1, size=31, valid=0))[0].error is CmdError.NONE


def test_mapc_on_chip_writes_no_memory():
    its, mem = make_its()
    cwriter = queue(its, enc(Cmd.MAPC, icid=2, rdbase=3, valid=1))
    writes = mem.writes
    its.write(CWRITER, cwriter)
    assert mem.writes == writes
    assert its.collection(2) == 3
    post(its, enc(Cmd.MAPC, icid=2, rdbase=3, valid=0))
    assert its.collection(2) is None
    assert no_packets(its)


def test_mapc_beyond_hcc_writes_cte():
    its, mem = make_its()
    post(its, enc(Cmd.MAPC, icid=10, rdbase=2, valid=1))
    # [63] Valid, [51:16] RDbase, [15:0] ICID, at base + 8 * ICID.
    assert mem.read_int(CT + 80) == 0x8000_0000_0002_000A
    assert its.collection(10) == 2
    post(its, enc(Cmd.MAPC, icid=10, valid=0))
    assert mem.read_int(CT + 80) == 0
    assert its.collection(10) is None


def test_mapti_writes_ite_and_overwrites():
    its, mem = baseline()
    # ITE: [0] Valid, [31:16] ICID, [47:32] pINTID.
    assert mem.read_int(ITT + 16) == 0x0000_2002_0000_0001
    assert mem.read_int(ITT + 40) == 0x0000_2005_0003_0001
    post(its, enc(Cmd.MAPC, icid=2, rdbase=3, valid=1),
         enc(Cmd.MAPTI, device_id=1, event_id=2, pintid=0x9000, icid=2))
    assert mem.read_int(ITT + 16) == 0x0000_9000_0002_0001
    assert its.msi(1, 2) == Translation(DropReason.OK, 0x9000, 3)
    assert all_packets(its) == [[], [], [], [Packet(GicOp.SET, 0x9000)]]


def test_mapi_uses_event_id():
    its, mem = baseline()
    itt2 = ITT + 0x10000
    post(its, enc(Cmd.MAPD, device_id=2, size=13, itt_addr=itt2 >> 8, valid=1),
         enc(Cmd.MAPI, device_id=2, event_id=8200, icid=0))
    assert mem.read_int(ite_address_int(itt2 >> 8, 8200)) == 0x0000_2008_0000_0001
    assert its.msi(2, 8200) == Translation(DropReason.OK, 8200, 1)


@pytest.mark.parametrize("cmd,op", [(Cmd.INT, GicOp.SET), (Cmd.CLEAR, GicOp.CLEAR),
                                    (Cmd.INV, GicOp.INV)])
def test_event_commands_send_one_packet(cmd, op):
    its, mem = baseline()
    cwriter = queue(its, enc(cmd, device_id=1, event_id=2))
    writes = mem.writes
    its.write(CWRITER, cwriter)
    assert mem.writes == writes
    assert its.executed[-1] == ExecutedCommand(0x80, decode_command(enc(cmd, device_id=1,
                                                                        event_id=2)),
                                               CmdError.NONE)
    assert all_packets(its) == [[], [Packet(op, 8194)], [], []]


def test_discard_clears_and_unmaps():
    its, mem = baseline()
    post(its, enc(Cmd.DISCARD, device_id=1, event_id=2))
    assert all_packets(its) == [[], [Packet(GicOp.CLEAR, 8194)], [], []]
    assert mem.read_int(ITT + 16) == 0
    assert its.msi(1, 2) == Translation(DropReason.UNMAPPED_INTERRUPT)


def test_invall():
    its, _ = baseline()
    post(its, enc(Cmd.INVALL, icid=0))
    assert all_packets(its) == [[], [Packet(GicOp.INVALL)], [], []]


@pytest.mark.parametrize("rd1,rd2,expected", [
    (0, 3, [[Packet(GicOp.MOVALL, 0, 3)], [], [], []]),
    (2, 2, [[], [], [], []]),
])
def test_movall(rd1, rd2, expected):
    its, _ = baseline()
    post(its, enc(Cmd.MOVALL, rdbase1=rd1, rdbase2=rd2))
    assert its.executed[-1].error is CmdError.NONE
    assert all_packets(its) == expected


def test_sync():
    its, _ = baseline()
    post(its, enc(Cmd.SYNC, rdbase=2), enc(Cmd.SYNC, rdbase=0))
    assert all_packets(its) == [[Packet(GicOp.SYNC)], [], [Packet(GicOp.SYNC)], []]


def test_movi_to_another_redistributor():
    its, mem = baseline()
    post(its, enc(Cmd.MAPC, icid=1, rdbase=3, valid=1),
         enc(Cmd.MOVI, device_id=1, event_id=2, icid=1))
    # MOVLPI goes to the old RD and names the new one.
    assert all_packets(its) == [[], [Packet(GicOp.MOVLPI, 8194, 3)], [], []]
    assert mem.read_int(ITT + 16) == 0x0000_2002_0001_0001
    its.take_packets(1)
    assert its.msi(1, 2) == Translation(DropReason.OK, 8194, 3)
    assert all_packets(its) == [[], [], [], [Packet(GicOp.SET, 8194)]]


def test_movi_same_redistributor_sends_nothing():
    its, mem = baseline()
    post(its, enc(Cmd.MAPC, icid=2, rdbase=1, valid=1),
         enc(Cmd.MOVI, device_id=1, event_id=2, icid=2))
    assert no_packets(its)
    assert mem.read_int(ITT + 16) == 0x0000_2002_0002_0001


def test_movi_from_unmapped_collection_sends_nothing():
    its, mem = baseline()
    post(its, enc(Cmd.MOVI, device_id=1, event_id=5, icid=0))   # event 5 is in unmapped 3
    assert its.executed[-1].error is CmdError.NONE
    assert no_packets(its)
    assert its.msi(1, 5) == Translation(DropReason.OK, 8197, 1)


def test_take_packets_empties_queue():
    its, _ = baseline()
    its.msi(1, 2)
    its.msi(1, 2)
    assert its.take_packets(1) == [Packet(GicOp.SET, 8194)] * 2
    assert its.take_packets(1) == [] and no_packets(its)


# -- command errors --------------------------------------------------------------------------

ERROR_CASES = {
    # name: (failing command, error code, command number in the record, fault address or None)
    "movi_unmapped_interrupt": (enc(Cmd.MOVI, device_id=1, event_id=3, icid=0),
                                0x010107, 0x01, None),
    "movi_unmapped_collection": (enc(Cmd.MOVI, device_id=1, event_id=2, icid=2),
                                 0x010109, 0x01, None),
    "int_unmapped_interrupt": (enc(Cmd.INT, device_id=1, event_id=3), 0x010307, 0x03, None),
    "int_unmapped_collection": (enc(Cmd.INT, device_id=1, event_id=5), 0x010307, 0x03, None),
    "int_unmapped_device": (enc(Cmd.INT, device_id=2, event_id=0), 0x010307, 0x03, None),
    "clear_unmapped_interrupt": (enc(Cmd.CLEAR, device_id=1, event_id=3), 0x010507, 0x04, None),
    "clear_event_oor": (enc(Cmd.CLEAR, device_id=1, event_id=32), 0x010507, 0x04, None),
    "mapd_device_oor": (enc(Cmd.MAPD, device_id=0x10000, size=4, valid=1), 0x010801, 0x08, None),
    "mapd_beyond_table": (enc(Cmd.MAPD, device_id=512, size=4, valid=1), 0x010801, 0x08, None),
    "mapd_ittsize_oor": (enc(Cmd.MAPD, device_id=2, size=16, valid=1), 0x010802, 0x08, None),
    "mapc_procnum_oor": (enc(Cmd.MAPC, icid=1, rdbase=4, valid=1), 0x010902, 0x09, None),
    "mapc_collection_oor": (enc(Cmd.MAPC, icid=512, rdbase=0, valid=1), 0x010903, 0x09, None),
    "mapti_collection_oor": (enc(Cmd.MAPTI, device_id=1, event_id=6, pintid=8200, icid=600),
                             0x010903, 0x0A, None),
    "mapti_unmapped_device": (enc(Cmd.MAPTI, device_id=2, event_id=0, pintid=8200, icid=0),
                              0x010A04, 0x0A, None),
    "mapti_device_oor": (enc(Cmd.MAPTI, device_id=0x10000, event_id=0, pintid=8200, icid=0),
                         0x010A04, 0x0A, None),
    "mapti_id_oor": (enc(Cmd.MAPTI, device_id=1, event_id=32, pintid=8200, icid=0),
                     0x010A05, 0x0A, None),
    "mapti_physicalid_low": (enc(Cmd.MAPTI, device_id=1, event_id=6, pintid=8191, icid=0),
                             0x010A06, 0x0A, None),
    "mapti_physicalid_high": (enc(Cmd.MAPTI, device_id=1, event_id=6, pintid=0x10000, icid=0),
                              0x010A06, 0x0A, None),
    "mapi_physicalid": (enc(Cmd.MAPI, device_id=1, event_id=6, icid=0), 0x010A06, 0x0B, None),
    "inv_unmapped_interrupt": (enc(Cmd.INV, device_id=1, event_id=5), 0x010C07, 0x0C, None),
    "invall_unmapped_collection": (enc(Cmd.INVALL, icid=3), 0x010D09, 0x0D, None),
    "invall_collection_oor": (enc(Cmd.INVALL, icid=600), 0x010D09, 0x0D, None),
    "movall_procnum_oor_1": (enc(Cmd.MOVALL, rdbase1=4, rdbase2=0), 0x010E01, 0x0E, None),
    "movall_procnum_oor_2": (enc(Cmd.MOVALL, rdbase1=0, rdbase2=4), 0x010E01, 0x0E, None),
    "discard_unmapped_collection": (enc(Cmd.DISCARD, device_id=1, event_id=5), 0x010F07, 0x0F,
                                    None),
    "discard_unmapped_interrupt": (enc(Cmd.DISCARD, device_id=1, event_id=3), 0x010F07, 0x0F,
                                   None),
    "unsupported_gicv4_vmapp": (enc(Cmd.VMAPP, device_id=1), 0x020001, 0x29, None),
    "unsupported_gicv4_vmovi": (enc(Cmd.VMOVI, device_id=1), 0x020001, 0x21, None),
    "unsupported_zero": (enc(0x00), 0x020001, 0x00, None),
    "unsupported_0xff": (enc(0xFF, device_id=7), 0x020001, 0xFF, None),
    "sync_procnum_oor": (enc(Cmd.SYNC, rdbase=4), 0x020002, 0x05, None),
    "command_read_error": (enc(Cmd.INT, device_id=1, event_id=2), 0x020010, 0x00, RING + 0x80),
    "table_read_error_dte": (enc(Cmd.INT, device_id=1, event_id=2), 0x020011, 0x03, DT + 8),
    "table_read_error_ite": (enc(Cmd.MOVI, device_id=1, event_id=2, icid=0), 0x020011, 0x01,
                             ITT + 16),
    "table_write_error": (enc(Cmd.MAPTI, device_id=1, event_id=7, pintid=8199, icid=0),
                          0x020012, 0x0A, ITT + 56),
}


@pytest.mark.parametrize("policy", ["skip", "stall"])
@pytest.mark.parametrize("case", ERROR_CASES)
def test_command_error(policy, case):
    raw, code, number, fault = ERROR_CASES[case]
    its, mem = baseline(policy)
    cwriter = queue(its, raw)
    if fault is not None:
        mem.inject_error(fault, 8)
    writes = mem.writes
    its.write(CWRITER, cwriter)

    command = None if code == 0x020010 else decode_command(raw)
    assert its.executed[BASELINE_COMMANDS:] == [ExecutedCommand(0x80, command, CmdError(code))]
    assert err_cmd(its) == {"code": code, "valid": 1, "offset": 0x80, "cmd": number,
                            "overflow": 0}
    assert its.stats["CMD_ERRORS"] == 1 and its.stats["CMD_EXECUTED"] == 5
    assert its.error_pulses == 1
    assert no_packets(its) and mem.writes == writes and its.drops == []
    if policy == "skip":
        assert its.read(CREADR) == 0xA0 and not its.stalled
    else:
        assert its.read(CREADR) == 0x81 and its.stalled


def test_every_error_code_is_tested():
    tested = {code for _, code, _, _ in ERROR_CASES.values()} | {0x020003}   # + CWRITER_OOR
    assert tested == {error.value for error in CmdError if error is not CmdError.NONE}


def test_discard_failure_keeps_mapping():
    its, mem = baseline()
    post(its, enc(Cmd.DISCARD, device_id=1, event_id=5))
    assert its.executed[-1].error is CmdError.DISCARD_UNMAPPED_INTERRUPT
    assert mem.read_int(ITT + 40) == 0x0000_2005_0003_0001


def test_skip_goes_on():
    its, _ = baseline("skip")
    post(its, enc(Cmd.INT, device_id=1, event_id=3), enc(Cmd.INT, device_id=1, event_id=2))
    assert [e.error for e in its.executed[BASELINE_COMMANDS:]] == [
        CmdError.INT_UNMAPPED_INTERRUPT, CmdError.NONE]
    assert all_packets(its) == [[], [Packet(GicOp.SET, 8194)], [], []]
    assert its.read(CREADR) == 0xC0


def test_stall_waits_for_retry():
    its, mem = baseline("stall")
    mem.inject_error(DT + 8, 8)                  # the DTE read fails
    cwriter = queue(its, enc(Cmd.INT, device_id=1, event_id=2),
                    enc(Cmd.INT, device_id=1, event_id=2))
    its.write(CWRITER, cwriter)
    assert its.read(CREADR) == 0x81 and its.stalled and no_packets(its)
    assert its.run_commands() == [] and its.step() is None

    # Retry while the fault persists: tried again, stalls again, counted twice.
    its.write(CWRITER, cwriter | 1)
    assert its.read(CREADR) == 0x81 and its.stalled
    assert its.stats["CMD_EXECUTED"] == 6 and its.stats["CMD_ERRORS"] == 2
    assert its.error_pulses == 2 and err_cmd(its)["overflow"] == 1

    # A write without Retry does not restart the queue.
    its.write(CWRITER, cwriter)
    assert its.stalled and its.stats["CMD_EXECUTED"] == 6

    mem.clear_errors()
    its.write(CWRITER, cwriter | 1)
    assert not its.stalled and its.read(CREADR) == 0xC0
    assert [e.offset for e in its.executed[BASELINE_COMMANDS:]] == [0x80, 0x80, 0x80, 0xA0]
    assert all_packets(its) == [[], [Packet(GicOp.SET, 8194)] * 2, [], []]


def test_cbaser_write_clears_stall():
    its, _ = baseline("stall")
    post(its, enc(Cmd.SYNC, rdbase=7))
    assert its.stalled
    its.write(CBASER, pack(GitsCbaser, valid=1, pa=RING >> 12))   # ignored: enabled
    assert its.stalled and its.read(CREADR) == 0x81
    reenable(its, GITS_CBASER=pack(GitsCbaser, valid=1, pa=RING >> 12))
    assert not its.stalled and its.read(CREADR) == 0 and its.read(CWRITER) == 0
    post(its, enc(Cmd.INT, device_id=1, event_id=2))
    assert all_packets(its) == [[], [Packet(GicOp.SET, 8194)], [], []]


def test_mapd_two_level_invalid_level1_entry():
    its, mem = make_its(indirect=1)
    # Level-1 entry 0 is not Valid: DeviceIDs 0..511 are out of range.
    post(its, enc(Cmd.MAPD, device_id=1, size=4, itt_addr=ITT >> 8, valid=1))
    assert its.executed[-1].error is CmdError.MAPD_DEVICE_OOR
    assert err_cmd(its)["code"] == 0x010801
    assert its.msi(1, 0) == Translation(DropReason.DEVICE_OOR)


def test_mapd_device_bits_limit():
    # device_bits 8: DeviceID 256 is out of range although the table holds 512 DTEs.
    its, _ = make_its(device_bits=8)
    post(its, enc(Cmd.MAPD, device_id=255, size=0, valid=1),
         enc(Cmd.MAPD, device_id=256, size=0, valid=1))
    assert [e.error for e in its.executed] == [CmdError.NONE, CmdError.MAPD_DEVICE_OOR]


def test_mapd_ittsize_follows_event_bits():
    its, _ = make_its(event_bits=8)
    post(its, enc(Cmd.MAPD, device_id=1, size=7, valid=1),
         enc(Cmd.MAPD, device_id=1, size=8, valid=1))
    assert [e.error for e in its.executed] == [CmdError.NONE, CmdError.MAPD_ITTSIZE_OOR]


def test_collection_bits_limit():
    # collection_bits 8: ICID 256 does not exist although the table holds 512 CTEs.
    its, _ = make_its(collection_bits=8)
    post(its, enc(Cmd.MAPC, icid=255, rdbase=0, valid=1),
         enc(Cmd.MAPC, icid=256, rdbase=0, valid=1))
    assert [e.error for e in its.executed] == [CmdError.NONE, CmdError.MAPC_COLLECTION_OOR]


def test_mapc_beyond_hcc_needs_collection_table():
    its, _ = make_its(enable=False)
    its.write(BASER1, 0)
    its.write(CTLR, 1, 4)
    post(its, enc(Cmd.MAPC, icid=3, rdbase=0, valid=1),
         enc(Cmd.MAPC, icid=4, rdbase=0, valid=1))
    assert [e.error for e in its.executed] == [CmdError.NONE, CmdError.MAPC_COLLECTION_OOR]


def test_mapc_collection_checked_before_procnum():
    its, _ = make_its()
    post(its, enc(Cmd.MAPC, icid=600, rdbase=9, valid=1))
    assert its.executed[-1].error is CmdError.MAPC_COLLECTION_OOR


def test_unmap_collection_with_any_rdbase():
    # RDbase is checked only for V=1.
    its, _ = make_its()
    post(its, enc(Cmd.MAPC, icid=1, rdbase=9, valid=0))
    assert its.executed[-1].error is CmdError.NONE


# -- queue mechanics -------------------------------------------------------------------------

def test_ring_wraps_around():
    its, _ = baseline()
    for _ in range(3):
        post(its, *[enc(Cmd.INT, device_id=1, event_id=2)] * 100)
    ints = its.executed[BASELINE_COMMANDS:]
    assert [e.offset for e in ints] == [32 * ((4 + i) % 128) for i in range(300)]
    assert all(e.error is CmdError.NONE for e in ints)
    assert its.read(CREADR) == 32 * (304 % 128) == its.read(CWRITER)
    assert all_packets(its) == [[], [Packet(GicOp.SET, 8194)] * 300, [], []]


def test_ring_wraps_with_full_ring():
    # 127 commands fill a 128-slot ring (CWRITER == CREADR means empty).
    its, _ = baseline()
    post(its, *[enc(Cmd.SYNC, rdbase=0)] * 127)
    assert its.read(CREADR) == 0x60 and len(its.packets[0]) == 127


def test_step_by_step():
    its, mem = make_its(auto_execute=False)
    cwriter = queue(its, enc(Cmd.MAPC, icid=0, rdbase=2, valid=1), enc(Cmd.INVALL, icid=0))
    its.write(CWRITER, cwriter)
    assert its.executed == [] and its.read(CREADR) == 0
    first = its.step()
    assert first == ExecutedCommand(0, decode_command(enc(Cmd.MAPC, icid=0, rdbase=2, valid=1)),
                                    CmdError.NONE)
    assert its.read(CREADR) == 0x20
    assert its.run_commands() == [ExecutedCommand(0x20, decode_command(enc(Cmd.INVALL, icid=0)),
                                                  CmdError.NONE)]
    assert its.step() is None and its.run_commands() == []
    assert all_packets(its) == [[], [], [Packet(GicOp.INVALL)], []]


def test_no_fetch_while_disabled_or_ring_invalid():
    its, _ = make_its(enable=False)
    post(its, enc(Cmd.SYNC, rdbase=1))
    assert its.executed == [] and its.step() is None
    its.write(CTLR, 1, 4)                        # enabling runs the queue
    assert [e.offset for e in its.executed] == [0]
    assert all_packets(its) == [[], [Packet(GicOp.SYNC)], [], []]

    reenable(its, GITS_CBASER=pack(GitsCbaser, valid=0, pa=RING >> 12))
    post(its, enc(Cmd.SYNC, rdbase=1))
    assert len(its.executed) == 1 and its.step() is None


def test_commands_and_msis_in_order():
    its, _ = baseline()
    post(its, enc(Cmd.MAPTI, device_id=1, event_id=9, pintid=8300, icid=0))
    assert its.msi(1, 9) == Translation(DropReason.OK, 8300, 1)
    post(its, enc(Cmd.DISCARD, device_id=1, event_id=9))
    assert its.msi(1, 9) == Translation(DropReason.UNMAPPED_INTERRUPT)
    assert all_packets(its) == [[], [Packet(GicOp.SET, 8300), Packet(GicOp.CLEAR, 8300)], [], []]


# -- tables ----------------------------------------------------------------------------------

@pytest.mark.parametrize("page_size,entries", [(PageSize.SIZE_4K, 512), (PageSize.SIZE_16K, 2048),
                                               (PageSize.SIZE_64K, 8192)])
def test_flat_device_table(page_size, entries):
    its, mem = make_its(page_size=page_size)
    post(its, enc(Cmd.MAPD, device_id=entries - 1, size=0, itt_addr=ITT >> 8, valid=1),
         enc(Cmd.MAPD, device_id=entries, size=0, itt_addr=ITT >> 8, valid=1))
    assert [e.error for e in its.executed] == [CmdError.NONE, CmdError.MAPD_DEVICE_OOR]
    assert mem.read_int(flat_entry_address_int(DT, entries - 1)) == 0x8000_0000_0006_0000
    assert its.msi(entries, 0) == Translation(DropReason.DEVICE_OOR)


@pytest.mark.parametrize("page_size,per_page", [(PageSize.SIZE_4K, 512),
                                                (PageSize.SIZE_16K, 2048),
                                                (PageSize.SIZE_64K, 8192)])
def test_two_level_device_table(page_size, per_page):
    its, mem = make_its(indirect=1, page_size=page_size)
    # Level-1 entry 1 ([63] Valid, [51:12] address) covers DeviceIDs per_page..2*per_page-1.
    device = per_page + 1
    level1 = device_entry_int(its.params, its.read(BASER0), device)
    assert level1 == (True, DT + 8, 1)
    mem.write_int(level1.addr, pack(Level1Entry, valid=1, addr=L2 >> 12))
    assert mem.read_int(DT + 8) == 0x8000_0000_0040_0000
    post(its, enc(Cmd.MAPD, device_id=device, size=4, itt_addr=ITT >> 8, valid=1),
         enc(Cmd.MAPC, icid=1, rdbase=2, valid=1),
         enc(Cmd.MAPTI, device_id=device, event_id=3, pintid=9000, icid=1))
    assert [e.error for e in its.executed] == [CmdError.NONE] * 3
    assert mem.read_int(level2_entry_address_int(L2 >> 12, level1.slot)) == 0x8000_0000_0006_0004
    assert its.msi(device, 3) == Translation(DropReason.OK, 9000, 2)
    assert its.msi(per_page - 1, 3) == Translation(DropReason.DEVICE_OOR)   # level-1 entry 0
    assert its.msi(device + 1, 3) == Translation(DropReason.UNMAPPED_DEVICE)


def test_two_level_beyond_level1_table():
    # 4K pages, Size 0: 512 level-1 entries * 512 DTEs; device_bits 20 lets 2**18 be asked.
    its, _ = make_its(indirect=1, device_bits=20)
    post(its, enc(Cmd.MAPD, device_id=512 * 512, size=0, valid=1))
    assert its.executed[-1].error is CmdError.MAPD_DEVICE_OOR


def test_collections_beyond_hcc_translate():
    its, mem = baseline()
    post(its, enc(Cmd.MAPC, icid=10, rdbase=3, valid=1),
         enc(Cmd.MAPTI, device_id=1, event_id=4, pintid=8196, icid=10))
    assert its.msi(1, 4) == Translation(DropReason.OK, 8196, 3)
    post(its, enc(Cmd.INT, device_id=1, event_id=4), enc(Cmd.INVALL, icid=10))
    assert all_packets(its) == [[], [], [], [Packet(GicOp.SET, 8196), Packet(GicOp.SET, 8196),
                                            Packet(GicOp.INVALL)]]


def test_hcc_zero_puts_every_collection_in_memory():
    its, mem = make_its(hcc=0)
    post(its, enc(Cmd.MAPC, icid=0, rdbase=1, valid=1))
    assert mem.read_int(CT) == 0x8000_0000_0001_0000
    assert its.collection(0) == 1


def test_cte_naming_no_redistributor_is_unmapped():
    its, mem = baseline()
    post(its, enc(Cmd.MAPTI, device_id=1, event_id=4, pintid=8196, icid=10))
    mem.write_int(CT + 80, 0x8000_0000_0009_000A)    # Valid, RDbase 9 (only 4 RDs)
    assert its.collection(10) is None
    assert its.msi(1, 4) == Translation(DropReason.UNMAPPED_COLLECTION)


# -- MSIs ------------------------------------------------------------------------------------

def _disable(its, mem):
    its.write(CTLR, 0, 4)


def _invalidate_device_table(its, mem):
    reenable(its, GITS_BASER0=0)


def _fault(address):
    def inject(its, mem):
        mem.inject_error(address, 8, "DECERR")
    return inject


def _collection_beyond_hcc(its, mem):
    post(its, enc(Cmd.MAPTI, device_id=1, event_id=4, pintid=8196, icid=10))


def _collection_table_fault(its, mem):
    _collection_beyond_hcc(its, mem)
    mem.inject_error(CT + 80, 8, "DECERR")


def _level1_fault(its, mem):
    reenable(its, GITS_BASER0=pack(GitsBaser, valid=1, indirect=1, page_size=PageSize.SIZE_4K,
                                   pa=DT >> 12))
    mem.write_int(DT, pack(Level1Entry, valid=1, addr=L2 >> 12))
    mem.inject_error(DT, 8)


DROP_CASES = {
    # name: (setup, device_id, event_id, reason value)
    "disabled": (_disable, 1, 2, 1),
    "device_beyond_devbits": (None, 0x10000, 2, 2),
    "device_beyond_table": (None, 512, 2, 2),
    "device_table_invalid": (_invalidate_device_table, 1, 2, 2),
    "unmapped_device": (None, 2, 0, 3),
    "event_oor": (None, 1, 32, 4),
    "unmapped_interrupt": (None, 1, 3, 5),
    "unmapped_collection_on_chip": (None, 1, 5, 6),
    "unmapped_collection_in_table": (_collection_beyond_hcc, 1, 4, 6),
    "memory_error_dte": (_fault(DT + 8), 1, 2, 7),
    "memory_error_ite": (_fault(ITT + 16), 1, 2, 7),
    "memory_error_cte": (_collection_table_fault, 1, 4, 7),
    "memory_error_level1": (_level1_fault, 1, 2, 7),
}


def test_every_drop_reason_is_tested():
    tested = {reason for _, _, _, reason in DROP_CASES.values()}
    assert tested == {reason.value for reason in DropReason if reason is not DropReason.OK}


@pytest.mark.parametrize("case", DROP_CASES)
def test_msi_drop(case):
    setup, device_id, event_id, reason = DROP_CASES[case]
    its, mem = baseline()
    if setup is not None:
        setup(its, mem)
    writes = mem.writes
    assert its.msi(device_id, event_id) == Translation(DropReason(reason), 0, 0)
    assert its.drops == [(DropReason(reason), device_id, event_id)]
    assert err_msi(its) == {"reason": DropReason(reason), "valid": 1, "event_id": event_id,
                            "device_id": device_id, "overflow": 0}
    assert its.read(ERR_MSI, 4) & 0xF == reason
    assert its.stats["MSI_DROPPED"] == 1 and its.stats["MSI_TRANSLATED"] == 0
    drop_names = {1: "DISABLED", 2: "DEVICE_OOR", 3: "UNMAPPED_DEVICE", 4: "EVENT_OOR",
                  5: "UNMAPPED_INTERRUPT", 6: "UNMAPPED_COLLECTION", 7: "MEMORY_ERROR"}
    counters = {name: its.stats[f"DROP_{name}"] for name in drop_names.values()}
    assert counters == {name: int(number == reason) for number, name in drop_names.items()}
    assert its.read(0xC100 + 4 * (6 + reason - 1), 4) == 1    # GITS_STAT_DROP_<reason>
    assert its.error_pulses == 1
    assert no_packets(its) and mem.writes == writes


def test_msi_translated():
    its, _ = baseline()
    assert its.msi(1, 2) == Translation(DropReason.OK, 8194, 1)
    assert all_packets(its) == [[], [Packet(GicOp.SET, 8194)], [], []]
    assert its.stats["MSI_TRANSLATED"] == 1 and its.stats["MSI_DROPPED"] == 0
    assert its.error_pulses == 0 and its.drops == [] and its.read(ERR_MSI) == 0


def test_msi_record_overflow_truncation_and_clear():
    its, _ = baseline()
    its.msi(0x8000_0001, 0x0100_0005)            # DeviceID [30:0] and EventID [23:0] recorded
    its.msi(1, 3)
    assert err_msi(its) == {"reason": DropReason.DEVICE_OOR, "valid": 1, "event_id": 5,
                            "device_id": 1, "overflow": 1}
    assert its.drops == [(DropReason.DEVICE_OOR, 0x8000_0001, 0x0100_0005),
                         (DropReason.UNMAPPED_INTERRUPT, 1, 3)]
    assert its.error_pulses == 2 and its.stats["MSI_DROPPED"] == 2
    its.write(ERR_MSI, 0, 4)
    assert its.read(ERR_MSI) == 0


def test_translater_write():
    its, _ = baseline()
    its.write(0x10040, 2, 4, device_id=1)
    its.write(0x10040, 2, 8, device_id=1)        # EventID is the low 32 bits
    assert all_packets(its) == [[], [Packet(GicOp.SET, 8194)] * 2, [], []]
    assert its.stats["MSI_TRANSLATED"] == 2
    assert its.read(0x10040, 4) == 0             # write-only
    its.write(0x10040, 3, 4, device_id=1)
    its.write(CTLR, 0, 4)
    its.write(0x10040, 2, 4, device_id=1)
    assert its.drops == [(DropReason.UNMAPPED_INTERRUPT, 1, 3), (DropReason.DISABLED, 1, 2)]


# -- query -----------------------------------------------------------------------------------

@pytest.mark.parametrize("device_id,event_id,expected", [
    (1, 2, Translation(DropReason.OK, 8194, 1)),
    (1, 3, Translation(DropReason.UNMAPPED_INTERRUPT)),
    (1, 5, Translation(DropReason.UNMAPPED_COLLECTION)),
    (7, 0, Translation(DropReason.UNMAPPED_DEVICE)),
])
def test_query_has_no_side_effects(device_id, event_id, expected):
    its, mem = baseline()
    writes = mem.writes
    assert its.query(device_id, event_id) == expected
    assert no_packets(its) and its.drops == [] and its.error_pulses == 0
    assert its.stats == {"MSI_TRANSLATED": 0, "MSI_DROPPED": 0, "CMD_EXECUTED": 4,
                         "CMD_ERRORS": 0, "TCACHE_HIT": 0, "TCACHE_MISS": 0,
                         **{f"DROP_{reason.name}": 0 for reason in DropReason if reason.value},
                         "PARITY_ERRORS": 0}
    assert its.read(ERR_MSI) == 0 and mem.writes == writes


def test_query_disabled_and_memory_error():
    its, mem = baseline()
    mem.inject_error(ITT + 16, 8)
    assert its.query(1, 2) == Translation(DropReason.MEMORY_ERROR)
    its.write(CTLR, 0, 4)
    assert its.query(1, 2) == Translation(DropReason.DISABLED)
    assert its.drops == [] and its.error_pulses == 0


def test_query_registers():
    its, _ = baseline()
    its.write(QUERY, pack(QueryRequest, device_id=1, event_id=2))
    # [0] done, [7:4] status, [15:8] target, [63:32] pINTID.
    assert its.read(QUERY_RESULT) == 0x0000_2002_0000_0101
    assert its.read(QUERY) == 0x0000_0001_0000_0002     # reads back the request
    its.write(QUERY, pack(QueryRequest, device_id=1, event_id=3))
    assert its.read(QUERY_RESULT) == 0x51                # UNMAPPED_INTERRUPT
    # As two 32-bit writes: EventID half, then DeviceID half.
    its.write(QUERY, 5, 4)
    its.write(QUERY + 4, 1, 4)
    assert its.read(QUERY_RESULT) == 0x61                # UNMAPPED_COLLECTION
    its.write(CTLR, 0, 4)
    its.write(QUERY, pack(QueryRequest, device_id=1, event_id=2))
    assert its.read(QUERY_RESULT) == 0x11                # DISABLED
    assert no_packets(its) and its.drops == [] and its.error_pulses == 0
    assert its.stats["MSI_TRANSLATED"] == 0 and its.stats["MSI_DROPPED"] == 0


def test_parity_registers():
    """GITS_PARITY_INJECT changes no translation; GITS_ERR_PARITY and
    GITS_STAT_PARITY_ERRORS read 0 until told of an error (parity_error), as the RTL's."""
    from gic.hw.its.layouts import CacheId, ErrParityRecord, ParityInject
    from gic.hw.its.regmap import stat_offset
    its, _ = baseline()
    before = its.query(1, 2)
    its.write(REG["GITS_PARITY_INJECT"], pack(ParityInject, cache=CacheId.DEVICE, index=1,
                                              bit=3), 4)
    assert its.parity_injections == [(CacheId.DEVICE, 1, 3)]
    assert its.read(REG["GITS_PARITY_INJECT"], 4) == 0
    assert its.query(1, 2) == before
    assert its.read(REG["GITS_ERR_PARITY"], 4) == 0 and its.error_pulses == 0
    its.parity_error(CacheId.TRANSLATION, 5)
    its.parity_error(CacheId.DEVICE, 1)
    assert unpack(ErrParityRecord, its.read(REG["GITS_ERR_PARITY"], 4)) == {
        "cache": CacheId.TRANSLATION, "valid": 1, "index": 5, "overflow": 1}
    assert its.read(stat_offset("PARITY_ERRORS"), 4) == 2 and its.error_pulses == 2
    its.write(REG["GITS_ERR_PARITY"], 0, 4)
    assert its.read(REG["GITS_ERR_PARITY"], 4) == 0
