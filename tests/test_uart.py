"""hw/boards/uart.py: 8N1 transmitter and receiver.

The line is checked against the 8N1 definition (start bit 0, LSB first, stop bit 1,
``divisor`` cycles a bit), and TX is looped back into RX.
"""

import gc
import random

import pytest
from amaranth.hdl import Module

from gic.hw.boards.uart import UartRx, UartTx, uart_divisor
from gic.sim.rtlsim.harness import run_sim, stream_get, stream_get_many, stream_put_many

DIVISOR = 5


def loopback():
    m = Module()
    m.submodules.tx = tx = UartTx(divisor=DIVISOR)
    m.submodules.rx = rx = UartRx(divisor=DIVISOR)
    m.d.comb += rx.rx.eq(tx.tx)
    return m, tx, rx


def test_loopback_back_to_back_bytes():
    top, tx, rx = loopback()
    rng = random.Random(11)
    data = [0x00, 0xFF, 0x55, 0xAA, 0xA5] + [rng.getrandbits(8) for _ in range(20)]
    received = []

    async def sender(ctx):
        await stream_put_many(ctx, tx.data, data)

    async def receiver(ctx):
        received.extend(await stream_get_many(ctx, rx.data, len(data)))

    run_sim(top, sender, receiver)
    assert received == data


def test_tx_line_is_8n1_lsb_first():
    dut = UartTx(divisor=DIVISOR)
    line = []

    async def testbench(ctx):
        await stream_put_many(ctx, dut.data, [0x35])
        for _ in range(11 * DIVISOR):
            _, _, level = await ctx.tick().sample(dut.tx)
            line.append(level)

    run_sim(dut, testbench)
    bits = line[:10 * DIVISOR:DIVISOR]
    assert bits == [0, 1, 0, 1, 0, 1, 1, 0, 0, 1]          # start, 0x35 LSB first, stop
    assert all(line[i] == line[i - i % DIVISOR] for i in range(10 * DIVISOR))
    assert line[10 * DIVISOR:] == [1] * DIVISOR              # idle after the stop bit


async def drive_line(ctx, rx, bits, divisor=DIVISOR):
    for bit in bits:
        ctx.set(rx, bit)
        await ctx.tick().repeat(divisor)


def test_rx_drops_glitches_and_bad_stop_bits():
    dut = UartRx(divisor=DIVISOR)
    events = []

    async def monitor(ctx):
        async for _, _, error in ctx.tick().sample(dut.framing_error):
            if error:
                events.append("framing")

    async def testbench(ctx):
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(4)
        ctx.set(dut.rx, 0)              # a glitch shorter than half a bit: no byte
        await ctx.tick()
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(3 * DIVISOR)
        # 0x81 with its stop bit low: dropped, framing error.
        await drive_line(ctx, dut.rx, [0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1])
        await drive_line(ctx, dut.rx, [0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1])     # 0x42
        byte = await stream_get(ctx, dut.data)
        assert byte == 0x42

    run_sim(dut, testbench, processes=[monitor])
    assert events == ["framing"]


def test_rx_overrun_keeps_the_first_byte():
    dut = UartRx(divisor=DIVISOR)
    overruns = []

    async def monitor(ctx):
        async for _, _, overrun in ctx.tick().sample(dut.overrun):
            if overrun:
                overruns.append(1)

    async def testbench(ctx):
        for byte in (0x11, 0x22):
            await drive_line(ctx, dut.rx, [0, *((byte >> i) & 1 for i in range(8)), 1])
        assert await stream_get(ctx, dut.data) == 0x11

    run_sim(dut, testbench, processes=[monitor])
    assert overruns == [1]


def test_divisor():
    assert uart_divisor(100e6, 115200) == 868
    assert uart_divisor(25e6, 1_000_000) == 25
    with pytest.raises(ValueError, match="too fast"):
        uart_divisor(1e6, 500_000)
    with pytest.raises(ValueError, match="off"):
        uart_divisor(10e6, 1_900_000)                      # 5 cycles: 5.3 % fast
    with pytest.raises(ValueError, match="baud"):
        uart_divisor(10e6, 0)


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
@pytest.mark.parametrize("cls", [UartTx, UartRx])
@pytest.mark.parametrize("divisor", [3, 4.5, "8"])
def test_bad_divisor(cls, divisor):
    with pytest.raises(ValueError, match="divisor must be an integer >= 4"):
        cls(divisor=divisor)
    gc.collect()        # the half-built component warns here, inside the filter
