"""hw/boards/bridge.py: the framed host protocol, byte by byte (docs/host-protocol.md).

Requests are built here from the document (SOF, opcode, length, payload, CRC-8 with
polynomial 0x07 whose check value is 0xF4), not with the host client, and sent into
the board top (byte-stream link) carrying the ITS stand-in of tests/its_stand_in.py in
its Gic, with the real redistributors and CPU stand-ins. Redistributor register values
are written from the architecture's field positions (docs/redistributor.md), and what
the CPUs take is checked against the priority rule: lowest priority value first, then
lowest INTID.
"""

import gc

import pytest
from amaranth.sim import Simulator

from gic.hw.boards.bridge import BoardInfo, HostBridge, Opcode, Status, crc8
from gic.hw.boards.top import ItsBoardTop
from gic.hw.gicr.layouts import TakenInterrupt
from gic.hw.its.params import ItsParams
from its_stand_in import DMA_ADDR, DMA_DATA, DMA_STATUS, LAST_MSI, SLVERR_BASE, ItsStandIn
from gic.sim.models.commands import unpack
from gic.sim.driver.bridge import BridgeTimeout, SimTransport

SOF = 0xA5
BASE = 0x4000_0000
CLK = 1e6
FRAME_TIMEOUT = 300
CPUS = 2
MEM_BYTES = 64 * 1024           # the main window: pending table 0, property table, ITS
PENDING_WINDOW = 4 * 1024       # pending table 1 at BASE + 64 KiB (GICR_PENDBASER.PA [51:16])
GICR = 0x20000                  # redistributor n's frame: GICR * (1 + n)


def code(opcode):
    return opcode.value if isinstance(opcode, Opcode) else opcode


def request(opcode, payload=b"", *, length=None, crc=None):
    head = bytes([SOF, code(opcode), len(payload) if length is None else length]) + bytes(payload)
    return head + bytes([crc8(head) if crc is None else crc])


def le(value, size):
    return value.to_bytes(size, "little")


async def answer(link, *, timeout=None):
    """(opcode, payload, status) of the next response, its CRC checked."""
    head = await link.receive(3, timeout)
    assert head[0] == SOF
    rest = await link.receive(head[2] + 2, timeout)
    assert crc8(head + rest[:-1]) == rest[-1], "bad CRC on the response"
    return head[1], rest[:-2], Status(rest[-2])


async def exchange(link, opcode, payload=b"", **kwargs):
    await link.send(request(opcode, payload, **kwargs))
    op, data, status = await answer(link)
    assert op == code(opcode)
    return data, status


def board(**kwargs):
    return ItsBoardTop(params=ItsParams(num_redistributors=CPUS), clk_freq=CLK,
                       mem_bytes=MEM_BYTES, pending_window=PENDING_WINDOW, mem_base=BASE,
                       host_link="stream", its=ItsStandIn,
                       lpi_depth=16, frame_timeout=FRAME_TIMEOUT, bus_timeout=200, **kwargs)


def run(top, scenario, cycles=200_000):
    sim = Simulator(top)
    sim.add_clock(1 / CLK)

    async def testbench(ctx):
        await scenario(SimTransport(ctx, top, timeout_cycles=5000), ctx)

    async def watchdog(ctx):
        for _ in range(cycles):
            await ctx.tick()
        raise TimeoutError("simulation ran too long")

    sim.add_testbench(testbench)
    sim.add_testbench(watchdog, background=True)
    sim.run()


def test_crc8_is_the_standard_one():
    assert crc8(b"123456789") == 0xF4
    assert crc8(b"") == 0


def test_info_registers_and_slverr():
    top = board()

    async def scenario(link, ctx):
        data, status = await exchange(link, Opcode.INFO)
        assert status == Status.OK and len(data) == 34
        info = unpack(BoardInfo, int.from_bytes(data, "little"))
        assert info["magic"] == int.from_bytes(b"ITSB", "little") and info["version"] == 3
        assert info["stand_in"] == 1 and info["num_redistributors"] == CPUS
        assert (info["mem_base"], info["mem_bytes"], info["pending_window"], info["lpi_depth"]) \
            == (BASE, MEM_BYTES, PENDING_WINDOW, 16)
        assert (info["clk_hz"], info["baud"]) == (CLK, 0)

        assert await exchange(link, Opcode.WRITE64, le(0x10, 4) + le(0x1122334455667788, 8)) \
            == (b"", Status.OK)
        assert await exchange(link, Opcode.READ64, le(0x10, 4)) == \
            (le(0x1122334455667788, 8), Status.OK)
        assert await exchange(link, Opcode.READ32, le(0x14, 4)) == (le(0x11223344, 4), Status.OK)
        assert await exchange(link, Opcode.READ32, le(0x10, 4)) == (le(0x55667788, 4), Status.OK)
        # A 32-bit write to the upper half leaves the lower one.
        assert await exchange(link, Opcode.WRITE32, le(0x14, 4) + le(0xCAFEF00D, 4)) == \
            (b"", Status.OK)
        assert await exchange(link, Opcode.READ64, le(0x10, 4)) == \
            (le(0xCAFEF00D55667788, 8), Status.OK)

        # SLVERR from the ITS is a status; the read answers zeros of the promised length.
        assert await exchange(link, Opcode.READ64, le(SLVERR_BASE, 4)) == (bytes(8), Status.SLVERR)
        assert await exchange(link, Opcode.WRITE32, le(SLVERR_BASE + 4, 4) + le(1, 4)) == \
            (b"", Status.SLVERR)
        data, status = await exchange(link, Opcode.ERR_READ)
        assert status == Status.OK and len(data) == 20
        assert int.from_bytes(data[16:], "little") == 2        # two error interrupt pulses

        # The redistributors' frames, after the ITS's: GICR_TYPER (PLPIS [0], DirectLPI [3],
        # Last [4], Processor_Number [23:8], Aff0 [39:32]) and GICR_PIDR2 (ArchRev [7:4] = 3).
        for rd in range(CPUS):
            data, status = await exchange(link, Opcode.READ64, le(GICR * (1 + rd) + 0x08, 4))
            typer = int.from_bytes(data, "little")
            assert status == Status.OK, rd
            assert typer & 1 and typer >> 3 & 1 and typer >> 4 & 1 == (rd == CPUS - 1)
            assert (typer >> 8 & 0xFFFF, typer >> 32 & 0xFF) == (rd, rd)
            data, status = await exchange(link, Opcode.READ32, le(GICR * (1 + rd) + 0xFFE8, 4))
            assert status == Status.OK and int.from_bytes(data, "little") >> 4 & 0xF == 3
        # GICR_PROPBASER reads back as written, through either half.
        await exchange(link, Opcode.WRITE64, le(GICR * 2 + 0x70, 4) + le(0x4000_100D, 8))
        assert await exchange(link, Opcode.READ32, le(GICR * 2 + 0x70, 4)) == \
            (le(0x4000_100D, 4), Status.OK)
        # Beyond the last frame (but inside the register port): DECERR from the decoder.
        assert await exchange(link, Opcode.READ64, le(GICR * (1 + CPUS), 4)) == \
            (bytes(8), Status.DECERR)

    run(top, scenario)


def test_memory_msis_translater_and_lpis_taken_in_priority_order():
    top = board()
    words = [0x0102030405060708 * (i + 1) for i in range(3)]

    async def scenario(link, ctx):
        payload = le(BASE + 0x100, 4) + b"".join(le(w, 8) for w in words)
        assert await exchange(link, Opcode.MEM_WRITE, payload) == (b"", Status.OK)
        assert await exchange(link, Opcode.MEM_FILL, le(BASE + 0x118, 4) + le(4, 2) +
                              le(0xEE, 8)) == (b"", Status.OK)
        data, status = await exchange(link, Opcode.MEM_READ, le(BASE + 0x100, 4) + bytes([8]))
        assert status == Status.OK
        assert [int.from_bytes(data[i:i + 8], "little") for i in range(0, 64, 8)] == \
            words + [0xEE] * 4 + [0]
        # The main window's end and pending window 1 (at BASE + 64 KiB) meet: one read
        # across both. Off the end of the pending window: MEM_ERROR, the words inside are
        # still read, the one outside reads zero.
        pending = BASE + 0x10000
        assert await exchange(link, Opcode.MEM_WRITE, le(pending - 8, 4) + le(words[0], 8) +
                              le(words[1], 8)) == (b"", Status.OK)
        assert await exchange(link, Opcode.MEM_WRITE, le(pending + PENDING_WINDOW - 8, 4) +
                              le(words[2], 8)) == (b"", Status.OK)
        data, status = await exchange(link, Opcode.MEM_READ, le(pending - 8, 4) + bytes([2]))
        assert (data, status) == (le(words[0], 8) + le(words[1], 8), Status.OK)
        data, status = await exchange(link, Opcode.MEM_READ,
                                      le(pending + PENDING_WINDOW - 8, 4) + bytes([2]))
        assert (data, status) == (le(words[2], 8) + bytes(8), Status.MEM_ERROR)
        assert (await exchange(link, Opcode.MEM_FILL, le(pending + PENDING_WINDOW, 4) +
                               le(1, 2) + le(0, 8)))[1] == Status.MEM_ERROR
        # Where redistributor 2's pending window would be (there are only 2): nothing.
        assert (await exchange(link, Opcode.MEM_WRITE, le(BASE + 0x20000, 4) + le(1, 8)))[1] \
            == Status.MEM_ERROR
        await exchange(link, Opcode.MEM_FILL, le(pending - 8, 4) + le(2, 2) + le(0, 8))
        await exchange(link, Opcode.MEM_FILL, le(pending + PENDING_WINDOW - 8, 4) + le(1, 2) +
                       le(0, 8))

        # The ITS (stand-in) reads the memory the bridge wrote, over its AXI master.
        await exchange(link, Opcode.WRITE64, le(DMA_ADDR, 4) + le(BASE + 0x108, 8))
        assert await exchange(link, Opcode.READ64, le(DMA_STATUS, 4)) == (le(1, 8), Status.OK)
        assert await exchange(link, Opcode.READ64, le(DMA_DATA, 4)) == (le(words[1], 8), Status.OK)

        # The redistributors, as the architecture sets them up: property table (one byte per
        # LPI from 8192: priority [7:2], enable [0]) in board memory, PROPBASER (PA [51:12],
        # IDbits [4:0] = 13), PENDBASER (PA [51:16], PTZ [62]), CTLR.EnableLPIs, RWP [3] = 0.
        prop = BASE + 0x1000
        priorities = {8200: 0x80, 8201: 0x40, 8202: 0x40, 8203: 0x10, 8300: 0x60, 9000: 0x80}
        table = bytearray(0x400)
        for lpi in range(8192, 8192 + 0x400):
            table[lpi - 8192] = priorities.get(lpi, 0xA0) | 1
        table[8205 - 8192] = 0x08                              # disabled: never taken
        for start in range(0, len(table), 128):
            assert await exchange(link, Opcode.MEM_WRITE,
                                  le(prop + start, 4) + table[start:start + 128]) == \
                (b"", Status.OK)
        await exchange(link, Opcode.MEM_FILL, le(prop + 0x400, 4) + le(0x380, 2) + bytes(8))
        for rd in range(CPUS):
            frame = GICR * (1 + rd)
            await exchange(link, Opcode.WRITE64, le(frame + 0x70, 4) + le(prop | 13, 8))
            await exchange(link, Opcode.WRITE64, le(frame + 0x78, 4) +
                           le(BASE + 0x10000 * rd | 1 << 62, 8))
            assert await exchange(link, Opcode.WRITE32, le(frame, 4) + le(1, 4)) == \
                (b"", Status.OK)
            for _ in range(20):
                data, _ = await exchange(link, Opcode.READ32, le(frame, 4))
                if not int.from_bytes(data, "little") >> 3 & 1:
                    break
            assert int.from_bytes(data, "little") & 1

        # CPUs masked: the MSIs (stream and GITS_TRANSLATER) pend; the stand-in sends SET
        # lpi=EventID to redistributor DeviceID % 2.
        assert await exchange(link, Opcode.CPU_MASK, le(0b11, 8)) == (le(0b11, 8), Status.OK)
        sent = [(1, 8200), (1, 8201), (0, 8202), (1, 8205), (1, 8203), (0, 9000)]
        for device, event in sent:
            assert await exchange(link, Opcode.MSI, le(device, 4) + le(event, 4)) == \
                (b"", Status.OK)
        assert await exchange(link, Opcode.TRANSLATE, le(7, 4) + le(8300, 4)) == (b"", Status.OK)
        assert await exchange(link, Opcode.READ64, le(LAST_MSI, 4)) == \
            (le(7 << 32 | 8300, 8), Status.OK)
        data, status = await exchange(link, Opcode.ERR_READ)
        assert int.from_bytes(data[:8], "little") == 7 and \
            int.from_bytes(data[8:16], "little") == 7 << 32 | 8300     # MSI_COUNT, LAST_MSI
        await ctx.tick().repeat(50)
        assert await exchange(link, Opcode.LPI_READ, bytes([32])) == (b"", Status.OK)
        # CPU 0 unmasked first, then CPU 1.
        records = []
        for mask in (0b10, 0b00):
            assert await exchange(link, Opcode.CPU_MASK, le(mask, 8)) == (le(mask, 8), Status.OK)
            await ctx.tick().repeat(100)
            for limit in (2, 32):
                data, status = await exchange(link, Opcode.LPI_READ, bytes([limit]))
                assert status == Status.OK and len(data) % 5 == 0 and len(data) <= 5 * limit
                records += [unpack(TakenInterrupt, int.from_bytes(data[i:i + 5], "little"))
                            for i in range(0, len(data), 5)]
        got = [(r["cpu"], r["intid"], r["priority"]) for r in records]
        expected = []
        for cpu in range(CPUS):
            mine = {e for d, e in sent + [(7, 8300)] if d % CPUS == cpu and e != 8205}
            expected += [(cpu, lpi, priorities[lpi])
                         for lpi in sorted(mine, key=lambda lpi: (priorities[lpi], lpi))]
        assert got == expected

    run(top, scenario, cycles=400_000)


def test_bad_frames_get_an_error_and_the_bridge_resyncs():
    top = board()
    frame_errors = []

    async def scenario(link, ctx):
        good = request(Opcode.READ64, le(0, 4))
        # Bad checksum.
        await link.send(request(Opcode.READ64, le(0, 4), crc=0x00 if crc8(good[:-1]) else 0x01))
        assert await answer(link) == (Opcode.READ64.value, b"", Status.BAD_CHECKSUM)
        # Unknown opcode (with a good checksum), and known opcodes with a wrong length.
        assert await exchange(link, 0x7E, b"\x01\x02") == (b"", Status.UNKNOWN_OPCODE)
        assert await exchange(link, Opcode.READ32, le(0, 5)) == (b"", Status.BAD_LENGTH)
        assert await exchange(link, Opcode.MEM_WRITE, le(BASE, 4) + bytes(9)) == \
            (b"", Status.BAD_LENGTH)
        assert await exchange(link, Opcode.CPU_MASK, bytes(4)) == (b"", Status.BAD_LENGTH)
        # Misaligned or out-of-range arguments.
        for opcode, payload in ((Opcode.READ64, le(4, 4)), (Opcode.READ32, le(2, 4)),
                                (Opcode.READ32, le(1 << 19, 4)),     # beyond 3 frames
                                (Opcode.MEM_READ, le(BASE, 4) + b"\x00"),
                                (Opcode.MEM_READ, le(BASE, 4) + b"\x11"),
                                (Opcode.MEM_FILL, le(BASE + 4, 4) + le(1, 2) + bytes(8)),
                                (Opcode.LPI_READ, b"\x00"), (Opcode.LPI_READ, b"\x21")):
            assert await exchange(link, opcode, payload) == (b"", Status.BAD_ARGUMENT), opcode
        # Truncated: the bytes stop mid-payload; the bridge answers once the frame times out.
        await link.send(good[:5])
        assert await answer(link) == (Opcode.READ64.value, b"", Status.TRUNCATED)
        # Garbage before a SOF is skipped; the next good frame works.
        await link.send(b"\x00\x13\x37" + good)
        assert await answer(link) == (Opcode.READ64.value, bytes(8), Status.OK)
        # A truncated frame followed at once by a good one eats the good one's start: one
        # error answer (the rest of the good frame is lost, as on a UART), then the bridge
        # is back at SOF and the host's retry works.
        await link.send(good[:4] + good[:4])
        assert await answer(link) == (Opcode.READ64.value, b"", Status.BAD_CHECKSUM)
        assert await exchange(link, Opcode.READ64, le(0, 4)) == (bytes(8), Status.OK)
        frame_errors.append(True)

    run(top, scenario)
    assert frame_errors


def test_nothing_answering_gives_timeout():
    """A bridge alone: no ITS takes the register access, the MSI or the memory request."""
    dut = HostBridge(info={}, bus_timeout=50, frame_timeout=100)
    sim = Simulator(dut)
    sim.add_clock(1e-6)

    class Link(SimTransport):
        """The bridge's own byte streams as a transport."""

        def __init__(self, ctx):
            super().__init__(ctx, type("Top", (), {"host_link": "stream", "host_rx": dut.rx,
                                                   "host_tx": dut.tx})(), timeout_cycles=2000)

    async def testbench(ctx):
        link = Link(ctx)
        assert await exchange(link, Opcode.READ64, le(0, 4)) == (bytes(8), Status.TIMEOUT)
        assert await exchange(link, Opcode.WRITE32, le(0, 4) + le(0, 4)) == \
            (b"", Status.TIMEOUT)
        assert await exchange(link, Opcode.MSI, bytes(8)) == (b"", Status.TIMEOUT)
        assert await exchange(link, Opcode.MEM_READ, le(0, 4) + b"\x01") == \
            (bytes(8), Status.TIMEOUT)
        data, status = await exchange(link, Opcode.INFO)
        assert status == Status.OK and unpack(BoardInfo, int.from_bytes(data, "little"))[
            "stand_in"] == 0
        with pytest.raises(BridgeTimeout):
            await link.receive(1, None)

    sim.add_testbench(testbench)
    sim.run()


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
@pytest.mark.parametrize("kwargs, words", [
    ({"info": {}, "lpi_depth": 0}, "lpi_depth"),
    ({"info": {}, "frame_timeout": 0}, "frame_timeout"),
    ({"info": {}, "bus_timeout": -1}, "bus_timeout"),
    ({"info": {}, "addr_width": 12}, "addr_width"),
    ({"info": {"colour": 1}}, "info"),
])
def test_bad_parameters(kwargs, words):
    with pytest.raises(ValueError, match=words):
        HostBridge(**kwargs)
    gc.collect()        # the half-built component warns here, inside the filter


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
@pytest.mark.parametrize("kwargs, words", [
    ({"mem_bytes": 3000}, "mem_bytes must be a power of two from 4096 to 16777216 bytes"),
    ({"mem_bytes": 2048}, "mem_bytes must be a power of two"),
    ({"pending_window": 128 * 1024}, "pending_window must be a power of two from 4096 to 65536"),
    ({"pending_window": 6144}, "pending_window must be a power of two"),
    ({"mem_base": BASE + 0x8000, "mem_bytes": 0x8000}, "mem_base must be a multiple of 0x10000"),
    ({"mem_base": BASE + 0x10000, "mem_bytes": 0x20000}, "and of mem_bytes"),
])
def test_board_memory_parameters(kwargs, words):
    with pytest.raises(ValueError, match=words):
        ItsBoardTop(params=ItsParams(num_redistributors=CPUS), clk_freq=CLK, host_link="stream",
                    its=ItsStandIn, **kwargs)
    gc.collect()        # the half-built component warns here, inside the filter
