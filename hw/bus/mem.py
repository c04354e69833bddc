"""The ITS's internal memory port: simple read/write request streams.

The command fetch engine, the table walker and the executor talk to memory
through these streams; :class:`gic.hw.bus.axi.Axi4MemoryMaster` arbitrates between
them and turns them into AXI4 bursts. Addresses are byte addresses of
64-bit doublewords (8-byte aligned); a read asks for 1..8 consecutive
doublewords, a write stores one doubleword (every table entry is 8 bytes).
"""

from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ADDR_BITS", "MemReadRequest", "MemReadData", "MemWriteRequest", "MemWriteResponse",
           "MemReadSignature", "MemWriteSignature"]

ADDR_BITS = 48
"""Physical address bits the ITS drives."""


class MemReadRequest(data.Struct):
    """Read ``count + 1`` doublewords starting at ``addr`` (8-byte aligned)."""
    addr:  ADDR_BITS
    count: 3


class MemReadData(data.Struct):
    """One doubleword of a read, in address order; ``last`` marks the final one."""
    data:  64
    last:  1
    error: 1   # the bus answered SLVERR or DECERR for this doubleword


class MemWriteRequest(data.Struct):
    """Write the doubleword ``data`` at ``addr`` (8-byte aligned)."""
    addr: ADDR_BITS
    data: 64


class MemWriteResponse(data.Struct):
    """Completion of one write."""
    error: 1


class MemReadSignature(wiring.Signature):
    """A read port as seen by its user (the requester): requests out, data in."""

    def __init__(self):
        super().__init__({
            "req": Out(stream.Signature(MemReadRequest)),
            "resp": In(stream.Signature(MemReadData)),
        })


class MemWriteSignature(wiring.Signature):
    """A write port as seen by its user: requests out, completions in."""

    def __init__(self):
        super().__init__({
            "req": Out(stream.Signature(MemWriteRequest)),
            "resp": In(stream.Signature(MemWriteResponse)),
        })
