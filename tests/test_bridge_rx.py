"""hw/boards/bridge_rx.py: the host bridge's frame receiver.

Frames are built here from docs/host-protocol.md (SOF 0xA5, opcode, length,
payload[length], CRC-8 with polynomial 0x07 over every byte before it, SOF included),
with a bitwise CRC written in this file (check value 0xF4 for b"123456789").
"""

import gc
import random

import pytest

from gic.hw.boards.bridge_rx import FrameReceiver
from gic.sim.rtlsim.harness import run_sim

from crc_reference import crc8_reference

SOF = 0xA5
TIMEOUT = 6


def frame(opcode, payload, *, crc=None):
    head = bytes([SOF, opcode, len(payload)]) + bytes(payload)
    return head + bytes([crc8_reference(head) if crc is None else crc])


def test_reference_crc_is_the_protocols():
    assert crc8_reference(b"123456789") == 0xF4


async def feed(ctx, dut, stream):
    """Offer each byte (None: a cycle with no byte) until taken; returns in the cycle after
    the last byte's transfer."""
    for byte in stream:
        if byte is None:
            ctx.set(dut.rx.valid, 0)
            await ctx.tick()
            continue
        ctx.set(dut.rx.payload, byte)
        ctx.set(dut.rx.valid, 1)
        while True:
            _, _, ready = await ctx.tick().sample(dut.rx.ready)
            if ready:
                break
    ctx.set(dut.rx.valid, 0)


def expect(frame_value, opcode, payload, *, bad_checksum=0, truncated=0):
    head = bytes(payload[:16]).ljust(16, b"\0")
    assert frame_value.opcode == opcode
    assert frame_value.length == len(payload)
    assert frame_value.head == int.from_bytes(head, "little")
    assert (frame_value.bad_checksum, frame_value.truncated) == (bad_checksum, truncated)


@pytest.mark.parametrize("payload", [b"", b"\x10\x00\x00\x00", bytes(range(1, 13)),
                                     bytes(random.Random(1).randrange(256) for _ in range(60))])
def test_frame_held_until_taken_in_the_cycle_after_its_crc(payload):
    dut = FrameReceiver(sof=SOF, frame_timeout=TIMEOUT)

    async def testbench(ctx):
        # Bytes before the SOF are discarded.
        await feed(ctx, dut, [0x00, 0x13, None] + list(frame(0x03, payload)))
        assert ctx.get(dut.frame.valid) and not ctx.get(dut.rx.ready)
        expect(ctx.get(dut.frame.payload), 0x03, payload)
        # Held (and no byte taken) for as long as the consumer keeps it.
        ctx.set(dut.rx.payload, SOF)
        ctx.set(dut.rx.valid, 1)
        for _ in range(3 * TIMEOUT):
            await ctx.tick()
            assert ctx.get(dut.frame.valid) and not ctx.get(dut.rx.ready)
            expect(ctx.get(dut.frame.payload), 0x03, payload)
        ctx.set(dut.rx.valid, 0)
        # Every payload byte is in the buffer, read back a cycle after its address.
        for index, byte in enumerate(payload):
            ctx.set(dut.buffer_addr, index)
            await ctx.tick()
            assert ctx.get(dut.buffer_data) == byte, index
        ctx.set(dut.frame.ready, 1)
        await ctx.tick()
        ctx.set(dut.frame.ready, 0)
        assert not ctx.get(dut.frame.valid) and ctx.get(dut.rx.ready)
        # The next frame, with a bad CRC.
        await feed(ctx, dut, frame(0x44, b"\x01\x02", crc=crc8_reference(b"") ^ 0x5A))
        assert ctx.get(dut.frame.valid)
        expect(ctx.get(dut.frame.payload), 0x44, b"\x01\x02", bad_checksum=1)

    run_sim(dut, testbench)


def test_bytes_come_with_gaps():
    dut = FrameReceiver(sof=SOF, frame_timeout=TIMEOUT)
    payload = bytes(range(0x30, 0x30 + 20))
    rng = random.Random(7)
    stream = []
    for byte in frame(0x07, payload):
        stream += [None] * rng.randrange(TIMEOUT + 1) + [byte]  # a gap of up to TIMEOUT cycles

    async def testbench(ctx):
        await feed(ctx, dut, stream)
        assert ctx.get(dut.frame.valid)
        expect(ctx.get(dut.frame.payload), 0x07, payload)

    run_sim(dut, testbench)


@pytest.mark.parametrize("cut", [1, 2, 3, 7])     # after SOF, opcode, length, 4 payload bytes
def test_a_frame_that_stops_is_truncated(cut):
    dut = FrameReceiver(sof=SOF, frame_timeout=TIMEOUT)
    whole = frame(0x05, bytes(range(1, 13)))

    async def testbench(ctx):
        await feed(ctx, dut, whole[:cut])
        # No byte: after TIMEOUT idle cycles it still waits; the frame ends on the next one.
        for _ in range(TIMEOUT + 1):
            assert not ctx.get(dut.frame.valid) and ctx.get(dut.rx.ready)
            await ctx.tick()
        assert ctx.get(dut.frame.valid) and not ctx.get(dut.rx.ready)
        value = ctx.get(dut.frame.payload)
        assert (value.truncated, value.bad_checksum) == (1, 0)
        assert value.opcode == (0x05 if cut >= 2 else 0)
        ctx.set(dut.frame.ready, 1)
        await ctx.tick()
        ctx.set(dut.frame.ready, 0)
        # A good frame after it is received whole.
        await feed(ctx, dut, frame(0x01, b""))
        expect(ctx.get(dut.frame.payload), 0x01, b"")

    run_sim(dut, testbench)


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_parameters_are_checked():
    with pytest.raises(ValueError):
        FrameReceiver(sof=0x100, frame_timeout=1)
    with pytest.raises(ValueError):
        FrameReceiver(sof=SOF, frame_timeout=0)
    gc.collect()        # the half-built component warns here, inside the filter
