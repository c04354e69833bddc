"""sim/driver/bridge.py: the host client against the simulated board, and the `its host` command.

The board carries the ITS stand-in of tests/its_stand_in.py (registers, SET per MSI,
SLVERR range) in its Gic, with the real redistributors and CPU stand-ins, except in the
end-to-end test, where the Linux-style drivers bring up the real ITS and the
redistributors over the bridge. What the CPUs take is checked against the priority
rule (lowest priority value first, then lowest INTID) and the documented demo set-up.
"""

import os
import threading

import pytest
from amaranth.lib import stream, wiring
from amaranth.hdl import Module, Signal
from amaranth.lib.wiring import In, Out

from gic.hw.boards.bridge import BoardInfo, Opcode, Status, crc8
from gic.hw.boards.top import ItsBoardTop
from gic.hw.its.params import ItsParams
from its_stand_in import LAST_MSI, SLVERR_BASE, ItsStandIn
from gic.sim.cli import main
from gic.sim.models.commands import pack
from gic.sim.driver.gicr import RedistributorDriver
from demo_tables import priority, table_rows
from gic.sim.driver.bridge import (BoardItsBus, BridgeClient, BridgeError, BridgeStatusError,
                                   BridgeTimeout, simulate)
from gic.sim.tools.board import board_memory, board_windows

BASE = 0x4000_0000
MEM_BYTES = 128 * 1024


def stand_in_board(**kwargs):
    options = dict(params=ItsParams(num_redistributors=2), clk_freq=1e6, mem_bytes=MEM_BYTES,
                   mem_base=BASE, host_link="stream", its=ItsStandIn, lpi_depth=64,
                   frame_timeout=300, bus_timeout=200)
    options.update(kwargs)
    return ItsBoardTop(**options)


def test_client_and_board_bus():
    top = stand_in_board()

    async def scenario(link):
        client = BridgeClient(link)
        info = await client.info()
        assert info["stand_in"] == 1 and info["mem_base"] == BASE and \
            info["mem_bytes"] == MEM_BYTES and info["pending_window"] == 8192
        # 2 redistributors, a 128 KiB main window: pending table 1 is in it, no other window.
        assert board_windows(info) == [(BASE, MEM_BYTES)]
        await client.write_reg(0x08, 0x0123456789ABCDEF)
        assert await client.read_reg(0x0C, 4) == 0x01234567
        await client.write_reg(0x08, 0xFFFFFFFF, 4)
        assert await client.read_reg(0x08) == 0x01234567FFFFFFFF

        bus = BoardItsBus(client)
        before = client.requests
        await bus.write_mem(BASE, bytes(4096))                       # zeroing: one MEM_FILL
        assert client.requests - before == 1
        await bus.write_mem(BASE + 3, b"hello, world")              # unaligned: read-merge-write
        assert await bus.read_mem(BASE + 3, 12) == b"hello, world"
        assert await bus.read_mem(BASE, 3) == bytes(3)
        data = bytes(range(256)) * 2                                # 64 doublewords, 4 requests
        before = client.requests
        await bus.write_mem(BASE + 0x800, data)
        assert client.requests - before == 4
        assert await bus.read_mem(BASE + 0x800, len(data)) == data

        # The redistributors through the GICR frames, with the Linux-style driver; property
        # bytes: priority [7:2], enable [0]. The stand-in ITS sends SET lpi=EventID to
        # redistributor DeviceID % 2.
        prop = BASE + 0x1000
        await bus.write_mem(prop, bytes(8192))
        await bus.write_mem(prop + 8200 - 8192, bytes([0x90 | 1, 0x30 | 1, 0x90 | 1]))
        for rd in range(2):
            gicr = RedistributorDriver(bus, rd)
            await gicr.wake()
            await gicr.enable_lpis(prop_base=prop, pend_base=BASE + 0x10000 * rd, id_bits=14,
                                   ptz=True)
        await bus.mask_cpus(0b11)
        await bus.msi(3, 8202)
        await bus.msi(3, 8200)
        await client.translate(4, 8201)
        assert await client.read_reg(LAST_MSI) == 4 << 32 | 8201
        assert await bus.take_interrupts() == []          # both masked: pending
        await bus.mask_cpus(0b01)
        assert [(t.cpu, t.intid, t.priority) for t in await bus.take_interrupts()] == \
            [(1, 8200, 0x90), (1, 8202, 0x90)]            # same priority: lower INTID first
        assert await bus.take_interrupts() == []          # CPU 0 masked
        await bus.mask_cpus(0)
        await gicr.set_lpi(8201)                          # GICR_SETLPIR on RD 1
        taken = await bus.take_interrupts()
        assert sorted((t.cpu, t.intid, t.priority) for t in taken) == \
            [(0, 8201, 0x30), (1, 8201, 0x30)]

        with pytest.raises(BridgeStatusError, match="READ64 answered SLVERR") as error:
            await client.read_reg(SLVERR_BASE)
        assert error.value.status == Status.SLVERR
        records = await client.errors()
        assert records.irq_pulses == 1
        with pytest.raises(BridgeStatusError, match="MEM_ERROR"):
            await bus.read_mem(BASE + MEM_BYTES, 8)
        return "done"

    assert simulate(top, scenario, max_cycles=400_000) == "done"


def test_uart_link():
    top = stand_in_board(host_link="uart", clk_freq=4e6, baud=1_000_000)    # 4 cycles a bit
    assert top.divisor == 4

    async def scenario(link):
        client = BridgeClient(link)
        info = await client.info()
        assert info["baud"] == 1_000_000
        await client.write_reg(0x10, 0xDEADBEEF, 4)
        return await client.read_reg(0x10, 4)

    assert simulate(top, scenario, max_cycles=100_000) == 0xDEADBEEF


class _Silent(wiring.Component):
    """A board that takes every byte and never answers."""
    host_rx: In(stream.Signature(8))
    host_tx: Out(stream.Signature(8))

    host_link = "stream"
    clk_freq = 1e6

    def elaborate(self, platform):
        m = Module()
        taken = Signal(8)
        m.d.comb += self.host_rx.ready.eq(1)
        m.d.sync += taken.eq(taken + self.host_rx.valid)
        return m


def test_nothing_answering_is_one_clear_timeout():
    async def scenario(link):
        with pytest.raises(BridgeTimeout, match="0 of 3 bytes within 500 cycles"):
            await BridgeClient(link, quiet=0.01).info()
        return "timed out"

    async def run(link):
        link.timeout_cycles = 500
        return await scenario(link)

    assert simulate(_Silent(), run, max_cycles=10_000) == "timed out"


def _fake_board(fd, answers):
    """Answer each request read from ``fd`` with the next of ``answers`` (or nothing)."""
    buffer = b""
    for answer in answers:
        while len(buffer) < 3 or len(buffer) < 4 + buffer[2]:
            try:
                buffer += os.read(fd, 256)
            except OSError:
                return
        buffer = buffer[4 + buffer[2]:]
        os.write(fd, answer)


def _response(opcode, payload, status=Status.OK):
    head = bytes([0xA5, opcode.value, len(payload)]) + payload + bytes([status.value])
    return head + bytes([crc8(head)])


def test_its_host_over_a_serial_port(capsys):
    """A pty stands for the board's serial port: INFO answered, then silence."""
    master, slave = os.openpty()
    info = pack(BoardInfo, magic=int.from_bytes(b"ITSB", "little"), version=3, stand_in=1,
                num_redistributors=4, lpi_depth=512, clk_hz=100_000_000, baud=115200,
                mem_base=BASE, mem_bytes=65536, pending_window=8192).to_bytes(34, "little")
    board = threading.Thread(target=_fake_board, args=(master, [_response(Opcode.INFO, info)]),
                             daemon=True)
    board.start()
    try:
        assert main(["host", "--port", os.ttyname(slave), "--info", "--timeout", "0.5"]) == 0
        out = capsys.readouterr().out
        # 64 KiB main window + pending windows of redistributors 1..3: 88 KiB.
        assert ("a STAND-IN, not the ITS at 100 MHz, 88 KiB of memory at 0x40000000 (64 KiB, "
                "then 3 pending windows of 8 KiB, 64 KiB apart), 4 redistributors") in out
        board.join(timeout=5)
        # Nobody answers any more: one line, exit 2, no traceback.
        assert main(["host", "--port", os.ttyname(slave), "--timeout", "0.2"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no answer from the board" in err
        assert "Traceback" not in err
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("argv, words", [
    (["host", "--port", "/dev/no-such-port"], "cannot open serial port /dev/no-such-port"),
    (["host"], "--port"),
    (["host", "--port", "/dev/null"], "not a serial port"),
])
def test_its_host_bad_port_is_one_line(capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err


def test_a_stand_in_board_is_refused_by_the_demo():
    top = stand_in_board()

    async def scenario(link):
        from gic.sim.tools.board import board_demo
        with pytest.raises(BridgeError, match="stand-in, not the ITS"):
            await board_demo(BridgeClient(link))
        return "refused"

    assert simulate(top, scenario, max_cycles=50_000) == "refused"


KIB = 1024
STRIDE = 64 * KIB           # GICR_PENDBASER: pending tables 64 KiB aligned, one per redistributor


def board_info(**fields):
    info = {"mem_base": BASE, "mem_bytes": 64 * KIB, "pending_window": 8 * KIB,
            "num_redistributors": 4}
    info.update(fields)
    return info


def test_board_memory_default_map():
    """The default board (docs/host-protocol.md): a 64 KiB main window and 8 KiB pending
    windows 64 KiB apart. LPIs of 14 INTID bits: 2 KiB pending tables (2**14 / 8), an 8 KiB
    property table (2**14 - 8192 LPIs), 4 KiB aligned after pending table 0; the ITS gets
    the rest of the main window."""
    info = board_info()
    assert board_windows(info) == [(BASE, 64 * KIB), (BASE + STRIDE, 8 * KIB),
                                   (BASE + 2 * STRIDE, 8 * KIB), (BASE + 3 * STRIDE, 8 * KIB)]
    layout = board_memory(info, 14)
    assert layout.pend_bases == [BASE + STRIDE * n for n in range(4)]
    assert layout.prop_base == BASE + 4 * KIB
    assert (layout.its_base, layout.its_bytes) == (BASE + 12 * KIB, 52 * KIB)
    # 16 INTID bits: 8 KiB pending tables fill the pending windows; the 56 KiB property
    # table leaves no room for the ITS in 64 KiB, so the main window must grow to 128 KiB,
    # which takes in pending table 1 (no window for it then).
    info = board_info(mem_bytes=128 * KIB)
    assert board_windows(info) == [(BASE, 128 * KIB), (BASE + 2 * STRIDE, 8 * KIB),
                                   (BASE + 3 * STRIDE, 8 * KIB)]
    layout = board_memory(info, 16)
    assert layout.prop_base == BASE + 8 * KIB                     # 8 KiB .. 64 KiB
    assert (layout.its_base, layout.its_bytes) == (BASE + STRIDE + 8 * KIB, 56 * KIB)


def test_board_memory_dense_main_window():
    """A main window over every pending table's place: no pending windows, the ITS in the
    largest gap between the pending tables (the first of the three 60 KiB ones)."""
    info = board_info(mem_bytes=256 * KIB)
    assert board_windows(info) == [(BASE, 256 * KIB)]
    layout = board_memory(info, 14)
    assert layout.pend_bases == [BASE + STRIDE * n for n in range(4)]
    assert layout.prop_base == BASE + 4 * KIB
    assert (layout.its_base, layout.its_bytes) == (BASE + STRIDE + 4 * KIB, 60 * KIB)


@pytest.mark.parametrize("fields, id_bits, words", [
    ({}, 16, "64 KiB main memory window cannot hold .*: build the bitstream with --mem-kib 128"),
    ({"mem_bytes": 32 * KIB}, 14, "--mem-kib 64$"),
    ({}, 17, "8 KiB pending windows cannot hold the 16 KiB pending tables of LPIs of 17 INTID "
             "bits: build the bitstream with --pending-kib 16"),
    ({"pending_window": 4 * KIB}, 16, "--pending-kib 8$"),
    ({"mem_bytes": 256 * KIB}, 17, "--mem-kib 512$"),
    ({}, 20, "128 KiB pending tables, more than the 64 KiB between"),
    ({"mem_base": BASE + 32 * KIB}, 14, "not on a 64 KiB boundary"),
])
def test_board_memory_errors_name_the_fix(fields, id_bits, words):
    with pytest.raises(BridgeError, match=words) as error:
        board_memory(board_info(**fields), id_bits)
    assert "\n" not in str(error.value)


def test_board_memory_fix_works():
    """What an error asks to build with is enough."""
    assert board_memory(board_info(mem_bytes=128 * KIB), 16).its_bytes >= 32 * KIB
    assert board_memory(board_info(pending_window=16 * KIB, mem_bytes=512 * KIB), 17)


def test_its_host_sim_brings_up_the_real_its(capsys):
    """End to end: `its host --sim` runs the unchanged drivers over the bridge on the board
    top: the ITS, 4 redistributors and the CPU stand-ins; every LPI taken once by the CPU
    of its collection, then, in the priority round, in priority order."""
    devices, events, cpus = 2, 6, 4
    assert main(["host", "--sim", "--devices", str(devices), "--events", str(events)]) == 0
    out = capsys.readouterr().out
    assert ("board: ITS at 100 MHz, 88 KiB of memory at 0x40000000 (64 KiB, then 3 pending "
            "windows of 8 KiB, 64 KiB apart), 4 redistributors") in out
    # The tables where docs/host-protocol.md puts them for LPIs of 14 INTID bits: 2 KiB
    # pending tables 64 KiB apart, the 8 KiB property table at 4 KiB, the ITS after it.
    assert ("property table at 0x40001000, pending tables at 0x40000000, 0x40010000, "
            "0x40020000, 0x40030000") in out
    assert "52 KiB of board memory at 0x40003000" in out
    # First round: device d event e -> LPI 8192 + d*EVENTS + e on CPU (d + e) mod 4.
    first = {int(row[0]): row[2].split() for row in table_rows(out, "First round")}
    for cpu in range(cpus):
        lpis = sorted(8192 + d * events + e for d in range(devices) for e in range(events)
                      if (d + e) % cpus == cpu)
        assert sorted(int(word) for word in first[cpu][::2]) == lpis
        assert first[cpu][1::2] == [f"({priority(int(lpi)):#04x})" for lpi in first[cpu][::2]]
    # Priority round: per CPU the first 6 events on it (here all of them), taken highest
    # priority first, then lowest INTID.
    taken = {}
    for row in table_rows(out, "Priority round"):
        cpu = int(row[0])
        taken.setdefault(cpu, []).append((int(row[2]), int(row[3], 16)))
    for cpu in range(cpus):
        lpis = [8192 + d * events + e for d in range(devices) for e in range(events)
                if (d + e) % cpus == cpu]
        assert taken[cpu] == sorted(((lpi, priority(lpi)) for lpi in lpis),
                                    key=lambda item: (item[1], item[0]))
    assert "all 12 LPIs taken as expected; the 2 strays dropped" in out
    assert "translated 24, dropped 2" in out
