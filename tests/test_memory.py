"""The sparse little-endian memory and its error injection."""

import pytest

from gic.sim.models.memory import BusError, Memory


def test_unwritten_reads_zero_and_little_endian():
    mem = Memory()
    assert mem.read(0x1234_5678, 16) == bytes(16)
    mem.write_int(0x1000, 0x0102030405060708)
    assert mem.read(0x1000, 8) == bytes([8, 7, 6, 5, 4, 3, 2, 1])
    assert mem.read_int(0x1004, 4) == 0x01020304


def test_access_across_pages():
    mem = Memory()
    data = bytes(range(256)) * 40  # 10 KiB, spans three 4 KiB pages
    mem.write(0xFFF0, data)
    assert mem.read(0xFFF0, len(data)) == data
    assert mem.read(0xFFE0, 16) == bytes(16)


def test_injected_errors_and_range():
    mem = Memory(size=1 << 20)
    mem.inject_error(0x2000, 0x100, "DECERR")
    assert mem.fault(0x1FF8, 8) is None
    assert mem.fault(0x20F8, 16) == "DECERR"
    with pytest.raises(BusError) as info:
        mem.read(0x2010, 8)
    assert info.value.resp == "DECERR" and info.value.addr == 0x2010
    with pytest.raises(BusError):
        mem.write(0x2000, b"x")
    assert mem.fault((1 << 20) - 4, 8) == "DECERR"
    mem.clear_errors()
    assert mem.read(0x2010, 8) == bytes(8)
    with pytest.raises(ValueError, match="resp must be SLVERR or DECERR, not 'OKAY'"):
        mem.inject_error(0, 1, "OKAY")


def test_fill():
    mem = Memory()
    mem.fill(0x100, 32, 0xAA)
    assert mem.read(0x100, 32) == b"\xaa" * 32
