"""CRC-8 of the host protocol (docs/host-protocol.md): polynomial 0x07, initial value 0,
no reflection (the CRC-8 of ``b"123456789"`` is 0xF4), in Python and in hardware.

:mod:`gic.hw.boards.bridge` re-exports :func:`crc8` and :func:`crc8_update`.
"""

from amaranth.hdl import Cat

__all__ = ["crc8_update", "crc8", "crc8_next"]


def crc8_update(crc, byte):
    """CRC-8 (polynomial 0x07) of ``crc`` followed by ``byte``, in Python."""
    crc ^= byte
    for _ in range(8):
        crc = (crc << 1 ^ 0x07 if crc & 0x80 else crc << 1) & 0xFF
    return crc


def crc8(data, crc=0):
    """CRC-8 (polynomial 0x07, initial value 0) of the bytes ``data``."""
    for byte in data:
        crc = crc8_update(crc, byte)
    return crc


def crc8_next(crc, byte):
    """The hardware CRC-8 step: each output bit is the XOR of the input bits that feed it.

    CRC is linear in (crc, byte): the matrix comes from the Python function on unit vectors,
    so each bit is a 2-level XOR tree instead of 8 chained steps.
    """
    inputs = Cat(crc, byte)
    bits = []
    for out in range(8):
        taps = [i for i in range(16)
                if crc8_update((1 << i) & 0xFF, (1 << i) >> 8) >> out & 1]
        bits.append(Cat(*(inputs[i] for i in taps)).xor())
    return Cat(*bits)
