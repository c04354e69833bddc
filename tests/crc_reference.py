"""CRC-8 as docs/host-protocol.md specifies it (polynomial 0x07, initial value 0, no
reflection, no final XOR), bit by bit: the tests' expectation for the bridge's CRC."""


def crc8_reference(data):
    crc = 0
    for byte in data:
        for bit in range(7, -1, -1):
            feedback = (crc >> 7 & 1) ^ (byte >> bit & 1)
            crc = (crc << 1 & 0xFF) ^ (0x07 if feedback else 0)
    return crc
