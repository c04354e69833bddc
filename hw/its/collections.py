"""The on-chip collections: ICIDs below GITS_TYPER.HCC and the redistributor each maps to."""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .params import ItsParams

__all__ = ["CollectionWrite", "CollectionReadSignature", "CollectionTable"]

ICID_BITS = 16
"""Width of an ICID on every port (the ITE and command field width)."""
RD_BITS = 8
"""Width of a redistributor number on every port (as ``RoutedPacket.rd``)."""


class CollectionWrite(data.Struct):
    """One MAPC applied to an on-chip collection: map ``icid`` to ``rd`` (valid=1) or unmap it."""
    icid:  ICID_BITS
    valid: 1
    rd:    RD_BITS


class CollectionReadSignature(wiring.Signature):
    """A combinational read port of the collection table, as seen by its user.

    Members
    -------
    icid : Out(16)
        The ICID asked for; the table answers in the same cycle.
    mapped : In(1)
        The collection is on chip (``icid < hcc``) and mapped.
    rd : In(8)
        Its target redistributor (meaningful when ``mapped``).
    """

    def __init__(self):
        super().__init__({
            "icid": Out(ICID_BITS),
            "mapped": In(1),
            "rd": In(RD_BITS),
        })


class CollectionTable(wiring.Component):
    """The ``hcc`` collections held on chip (GITS_TYPER.HCC), in registers.

    ICIDs at or above ``hcc`` live in the memory collection table (GITS_BASER1)
    and are read by the table walker; this block never answers ``mapped`` for
    them. After reset every collection is unmapped. With ``hcc`` = 0 the block
    holds nothing and answers "unmapped" to every read.

    Latency: reads are combinational (answer in the cycle ``icid`` is
    presented); a write accepted on cycle *n* is seen by reads from cycle
    *n* + 1 (a read on cycle *n* still sees the old value).

    Parameters
    ----------
    params : ItsParams
        ``hcc`` gives the number of collections; ``num_redistributors`` the
        width of the stored redistributor number.

    Members
    -------
    write : In(stream.Signature(CollectionWrite))
        From the executor (MAPC of an ICID below ``hcc``). Always ready: one
        write per cycle. Writes to ICIDs at or above ``hcc`` are ignored. ``rd``
        must be below ``num_redistributors`` (MAPC checks MAPC_PROCNUM_OOR first).
    translator_read : In(CollectionReadSignature())
        Read port of the translator's table walker.

    Raises
    ------
    TypeError
        If ``params`` is not an :class:`ItsParams`.
    """

    write: In(stream.Signature(CollectionWrite))
    translator_read: In(CollectionReadSignature())

    def __init__(self, params):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        self._params = params
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        hcc = self._params.hcc
        rd_bits = self._params.rd_bits

        m.d.comb += self.write.ready.eq(1)

        mapped = [Signal(name=f"mapped{icid}") for icid in range(hcc)]
        rds = [Signal(rd_bits, name=f"rd{icid}") for icid in range(hcc)]

        with m.If(self.write.valid):
            with m.Switch(self.write.payload.icid):
                for icid in range(hcc):
                    with m.Case(icid):
                        m.d.sync += [
                            mapped[icid].eq(self.write.payload.valid),
                            rds[icid].eq(self.write.payload.rd),
                        ]

        for port in (self.translator_read,):
            with m.Switch(port.icid):
                for icid in range(hcc):
                    with m.Case(icid):
                        m.d.comb += [
                            port.mapped.eq(mapped[icid]),
                            port.rd.eq(rds[icid]),
                        ]

        return m
