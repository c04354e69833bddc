"""The ITS's internal memory port: simple read/write request streams.

The command fetch engine, the table walker and the executor talk to memory
through these streams; :class:`gic.hw.bus.axi.Axi4MemoryMaster` arbitrates between
them and turns them into AXI4 bursts. Addresses are byte addresses of
64-bit doublewords (8-byte aligned); a read asks for 1..8 consecutive
doublewords, a write stores one doubleword (every table entry is 8 bytes).

Every request carries the memory attributes of the table or ring it accesses
(:class:`MemAttributes`: the InnerCache and OuterCache fields of the GITS_CBASER or
GITS_BASERn that describes it); the memory master turns them into ``AxCACHE``
(docs/axi-attributes.md). A client that leaves them 0 asks for Device-nGnRnE.
"""

from amaranth.hdl import Cat
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ADDR_BITS", "MemAttributes", "mem_attributes", "MemReadRequest", "MemReadData", "MemWriteRequest", "MemWriteResponse",
           "MemReadSignature", "MemWriteSignature"]

ADDR_BITS = 48
"""Physical address bits the ITS drives."""


class MemAttributes(data.Struct):
    """The cacheability of one access, in the encoding of the GIC registers' fields.

    ``inner_cache``: GITS_CBASER/GITS_BASERn.InnerCache (0b000 Device-nGnRnE, 0b001
    Normal Non-cacheable, 0b010 RaWt, 0b011 RaWb, 0b100 WaWt, 0b101 WaWb, 0b110 RaWaWt,
    0b111 RaWaWb). ``outer_cache``: OuterCache, the same encodings except that 0b000
    means "as InnerCache". Shareability is not carried: AXI4 has no signal for it
    (docs/axi-attributes.md).
    """
    inner_cache: 3
    outer_cache: 3


def mem_attributes(register):
    """The :class:`MemAttributes` of the table or ring a GITS_CBASER / GITS_BASERn view
    (or any view with ``inner_cache`` and ``outer_cache`` fields) describes."""
    return Cat(register.inner_cache, register.outer_cache)


class MemReadRequest(data.Struct):
    """Read ``count + 1`` doublewords starting at ``addr`` (8-byte aligned), with the
    memory attributes ``attr``."""
    addr:  ADDR_BITS
    count: 3
    attr:  MemAttributes


class MemReadData(data.Struct):
    """One doubleword of a read, in address order; ``last`` marks the final one."""
    data:  64
    last:  1
    error: 1   # the bus answered SLVERR or DECERR for this doubleword


class MemWriteRequest(data.Struct):
    """Write the doubleword ``data`` at ``addr`` (8-byte aligned), with the memory
    attributes ``attr``."""
    addr: ADDR_BITS
    data: 64
    attr: MemAttributes


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
