"""hw/boards/bridge_tx.py: the host bridge's response sender.

Bytes are checked against the chunks handed over (low byte first, docs/host-protocol.md:
multi-byte fields are little-endian) and the CRC against CRC-8 as the protocol defines it:
polynomial 0x07, initial value 0, no reflection, check value 0xF4 for b"123456789",
computed bit by bit here.
"""

import random

from gic.hw.boards.bridge_tx import ResponseSender
from gic.sim.rtlsim.harness import run_sim

from crc_reference import crc8_reference


def test_reference_crc_is_the_protocols():
    assert crc8_reference(b"123456789") == 0xF4


async def load(ctx, dut, data, count):
    """Hand a chunk over; returns once it was taken."""
    ctx.set(dut.load.payload, {"data": data, "count": count})
    ctx.set(dut.load.valid, 1)
    await ctx.tick().until(dut.load.ready)
    ctx.set(dut.load.valid, 0)


def test_chunks_go_out_low_byte_first_and_the_crc_follows():
    dut = ResponseSender()
    message = b"123456789"
    chunks = [message[0:3], message[3:8], message[8:9]]
    sent = []

    async def producer(ctx):
        for chunk in chunks:
            await load(ctx, dut, int.from_bytes(chunk, "little") | 0xEE << 8 * len(chunk),
                       len(chunk))

    async def consumer(ctx):
        rng = random.Random(3)
        while len(sent) < len(message):
            ready = rng.random() < 0.6
            ctx.set(dut.tx.ready, ready)
            _, _, valid, byte = await ctx.tick().sample(dut.tx.valid, dut.tx.payload)
            if valid and ready:
                sent.append(byte)
        ctx.set(dut.tx.ready, 0)
        await ctx.tick()
        assert ctx.get(dut.crc) == 0xF4
        assert not ctx.get(dut.tx.valid) and ctx.get(dut.load.ready)

    run_sim(dut, producer, consumer)
    assert bytes(sent) == message       # bytes beyond count (0xEE) never go out


def test_timing_ready_only_when_idle_and_bytes_from_the_next_cycle():
    dut = ResponseSender()

    async def testbench(ctx):
        assert ctx.get(dut.load.ready) and not ctx.get(dut.tx.valid)
        ctx.set(dut.tx.ready, 1)
        ctx.set(dut.load.payload, {"data": 0x0302_01, "count": 3})
        ctx.set(dut.load.valid, 1)
        await ctx.tick()
        ctx.set(dut.load.valid, 0)
        seen = []
        for _ in range(3):
            assert ctx.get(dut.tx.valid) and not ctx.get(dut.load.ready)
            seen.append(ctx.get(dut.tx.payload))
            await ctx.tick()
        assert seen == [1, 2, 3]
        assert ctx.get(dut.load.ready) and not ctx.get(dut.tx.valid)
        assert ctx.get(dut.crc) == crc8_reference(bytes([1, 2, 3]))
        # A load offered while busy is not taken: ready is low.
        ctx.set(dut.tx.ready, 0)
        ctx.set(dut.load.payload, {"data": 0xAB, "count": 1})
        ctx.set(dut.load.valid, 1)
        await ctx.tick()
        ctx.set(dut.load.payload, {"data": 0xCD, "count": 1})
        await ctx.tick()
        ctx.set(dut.load.valid, 0)
        assert ctx.get(dut.tx.payload) == 0xAB and not ctx.get(dut.load.ready)
        # clear_crc restarts the CRC: then it covers only the bytes after it.
        ctx.set(dut.clear_crc, 1)
        await ctx.tick()
        ctx.set(dut.clear_crc, 0)
        assert ctx.get(dut.crc) == 0
        ctx.set(dut.tx.ready, 1)
        await ctx.tick()
        ctx.set(dut.tx.ready, 0)
        assert ctx.get(dut.crc) == crc8_reference(b"\xAB")
        assert ctx.get(dut.load.ready)

    run_sim(dut, testbench)
