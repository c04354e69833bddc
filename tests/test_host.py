"""sim/host.py: the host client against the simulated board, and the `its host` command.

The board carries the ITS stand-in of tests/its_stand_in.py (registers, SET per MSI,
SLVERR range) except in the end-to-end test, where the Linux-style driver brings up
the real ITS over the bridge.
"""

import os
import threading

import pytest
from amaranth.lib import stream, wiring
from amaranth.hdl import Module, Signal
from amaranth.lib.wiring import In, Out

from hw.boards.bridge import BoardInfo, Opcode, Status, crc8
from hw.boards.top import ItsBoardTop
from hw.its.layouts import GicOp
from hw.its.params import ItsParams
from its_stand_in import LAST_MSI, SLVERR_BASE, ItsStandIn
from sim.cli import main
from sim.commands import pack
from sim.host import (BoardItsBus, BridgeClient, BridgeError, BridgeStatusError, BridgeTimeout,
                      simulate)
from sim.model import Packet

BASE = 0x4000_0000


def stand_in_board(**kwargs):
    options = dict(params=ItsParams(num_redistributors=2), clk_freq=1e6, mem_bytes=8192,
                   mem_base=BASE, host_link="stream", its=ItsStandIn, lpi_depth=64,
                   frame_timeout=300, bus_timeout=200)
    options.update(kwargs)
    return ItsBoardTop(**options)


def test_client_and_board_bus():
    top = stand_in_board()

    async def scenario(link):
        client = BridgeClient(link)
        info = await client.info()
        assert info["stand_in"] == 1 and info["mem_base"] == BASE and info["mem_bytes"] == 8192
        await client.write_reg(0x08, 0x0123456789ABCDEF)
        assert await client.read_reg(0x0C, 4) == 0x01234567
        await client.write_reg(0x08, 0xFFFFFFFF, 4)
        assert await client.read_reg(0x08) == 0x01234567FFFFFFFF

        bus = BoardItsBus(client, 2)
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

        await bus.msi(3, 8200)
        await client.translate(4, 8201)
        assert await client.read_reg(LAST_MSI) == 4 << 32 | 8201
        assert await bus.take_packets(1) == [Packet(GicOp.SET, 8200)]
        assert await bus.take_packets(0) == [Packet(GicOp.SET, 8201)]

        with pytest.raises(BridgeStatusError, match="READ64 answered SLVERR") as error:
            await client.read_reg(SLVERR_BASE)
        assert error.value.status == Status.SLVERR
        records = await client.errors()
        assert records.irq_pulses == 1
        with pytest.raises(BridgeStatusError, match="MEM_ERROR"):
            await bus.read_mem(BASE + 8192, 8)
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
    info = pack(BoardInfo, magic=int.from_bytes(b"ITSB", "little"), version=1, stand_in=1,
                num_redistributors=4, lpi_depth=512, clk_hz=100_000_000, baud=115200,
                mem_base=BASE, mem_bytes=65536).to_bytes(30, "little")
    board = threading.Thread(target=_fake_board, args=(master, [_response(Opcode.INFO, info)]),
                             daemon=True)
    board.start()
    try:
        assert main(["host", "--port", os.ttyname(slave), "--info", "--timeout", "0.5"]) == 0
        out = capsys.readouterr().out
        assert "a STAND-IN, not the ITS at 100 MHz, 64 KiB of memory at 0x40000000" in out
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
        from sim.host import board_demo
        with pytest.raises(BridgeError, match="stand-in, not the ITS"):
            await board_demo(BridgeClient(link))
        return "refused"

    assert simulate(top, scenario, max_cycles=50_000) == "refused"


def test_its_host_sim_brings_up_the_real_its(capsys):
    """End to end: `its host --sim` runs the unchanged driver over the bridge on the ITS."""
    assert main(["host", "--sim", "--devices", "2", "--events", "3"]) == 0
    out = capsys.readouterr().out
    assert "board: ITS at 100 MHz, 64 KiB of memory at 0x40000000, 4 redistributors" in out
    assert "all 6 LPIs delivered as expected; the 2 strays dropped" in out
    assert "translated 6, dropped 2" in out
