"""The ITS: every block of hw/its/ composed behind an AXI4-Lite slave and an AXI4 master."""

from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..bus.axi import Axi4LiteRegisterBridge, Axi4LiteSignature, Axi4MemoryMaster, Axi4Signature
from ..bus.mem import ADDR_BITS
from .cmdq import CommandQueue
from .collections import CollectionTable
from .executor import Executor
from .forwarder import Forwarder
from .layouts import GicAck, GicPacket, MsiRequest, QueryResponse
from .params import ItsParams
from .regmap import FRAME_BYTES
from .regs import Registers
from .translator import Translator

__all__ = ["Its", "generate_verilog"]

AXIL_ADDR_BITS = (FRAME_BYTES - 1).bit_length()
"""The AXI4-Lite slave decodes the 128 KiB ITS frame."""
AXI_ID_BITS = 4


def _merge(m, name, first, second, sink, *, allow=1):
    """Merge streams ``first`` and ``second`` into ``sink``, taking turns when both offer.

    A transfer happens only when ``allow`` is high. Returns the signal that says
    which one ``sink`` carries this cycle (1: ``second``).
    """
    second_turn = Signal(name=f"{name}_second_turn")
    take_second = Signal(name=f"{name}_take_second")
    m.d.comb += [
        take_second.eq(second.valid & (~first.valid | second_turn)),
        sink.valid.eq(Mux(take_second, second.valid, first.valid) & allow),
        sink.payload.eq(Mux(take_second, second.payload, first.payload)),
        first.ready.eq(sink.ready & allow & ~take_second),
        second.ready.eq(sink.ready & allow & take_second),
    ]
    with m.If(sink.valid & sink.ready):
        m.d.sync += second_turn.eq(~take_second)
    return take_second


class Its(wiring.Component):
    """A GICv3 Interrupt Translation Service.

    Software programs it through ``axil`` (the ITS frame of
    :data:`gic.hw.its.regmap.REGISTERS`); devices signal MSIs on the ``msi`` stream
    or by writing GITS_TRANSLATER with their DeviceID on
    ``translater_device_id``; it reads its command ring and tables and writes
    the tables through ``axi``, and sends each redistributor its packets on
    ``gic[rd]``, which acknowledges SYNCs on ``ack[rd]``. Behaviour:
    docs/behaviour.md.

    Inside: :class:`~gic.hw.bus.axi.Axi4LiteRegisterBridge` ->
    :class:`~gic.hw.its.regs.Registers`; :class:`~gic.hw.its.cmdq.CommandQueue` ->
    :class:`~gic.hw.its.executor.Executor`; MSIs -> :class:`~gic.hw.its.translator.Translator`;
    both -> :class:`~gic.hw.its.forwarder.Forwarder`; on-chip collections in
    :class:`~gic.hw.its.collections.CollectionTable`; the command queue, the
    executor and the translator read memory (AXI IDs 0, 1, 2) and the executor
    writes it through :class:`~gic.hw.bus.axi.Axi4MemoryMaster`, each access with the
    ``AxCACHE`` of its ring's or table's GITS_CBASER / GITS_BASERn, ``AxPROT`` 0b011 (data,
    non-secure, privileged), ``AxQOS`` 0 (docs/axi-attributes.md).

    A write address on ``axil`` is taken only while the GITS_TRANSLATER FIFO
    has room, so MSIs written there are never lost: the writer waits.
    The MSI stream and GITS_TRANSLATER writes take turns into the translator;
    so do the query port and GITS_QUERY (each answer goes back to its asker).

    Parameters
    ----------
    params : ItsParams

    Members
    -------
    axil : In(Axi4LiteSignature(addr_width=17, data_width=64))
        Register access.
    translater_device_id : In(32)
        DeviceID of the GITS_TRANSLATER write in progress on ``axil``: keep it stable from
        the write's address handshake to its response.
    msi : In(stream.Signature(MsiRequest))
        MSIs.
    query : In(stream.Signature(MsiRequest))
        Translation queries (nothing is sent, recorded or counted).
    query_resp : Out(stream.Signature(QueryResponse))
        One answer per query, in order.
    axi : Out(Axi4Signature(addr_width=48, data_width=params.mem_data_width, id_width=4))
        Memory.
    gic : Out(stream.Signature(GicPacket)).array(num_redistributors)
    ack : In(stream.Signature(GicAck)).array(num_redistributors)
    error_irq : Out(1)
        Pulses once per command error, CWRITER_OOR, dropped MSI and cache parity error.
    """

    def __init__(self, params):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        self._params = params
        n = params.num_redistributors
        super().__init__({
            "axil": In(Axi4LiteSignature(addr_width=AXIL_ADDR_BITS, data_width=64)),
            "translater_device_id": In(32),
            "msi": In(stream.Signature(MsiRequest)),
            "query": In(stream.Signature(MsiRequest)),
            "query_resp": Out(stream.Signature(QueryResponse)),
            "axi": Out(Axi4Signature(addr_width=ADDR_BITS, data_width=params.mem_data_width,
                                     id_width=AXI_ID_BITS)),
            "gic": Out(stream.Signature(GicPacket)).array(n),
            "ack": In(stream.Signature(GicAck)).array(n),
            "error_irq": Out(1),
        })
        self.bridge = Axi4LiteRegisterBridge(addr_width=AXIL_ADDR_BITS, data_width=64)
        self.regs = Registers(params)
        self.cmdq = CommandQueue()
        self.executor = Executor(params)
        self.translator = Translator(params)
        self.collections = CollectionTable(params)
        self.forwarder = Forwarder(params)
        self.memory = Axi4MemoryMaster(read_clients=3, write_clients=1,
                                       data_width=params.mem_data_width,
                                       id_width=AXI_ID_BITS)

    def elaborate(self, platform):
        m = Module()
        n = self._params.num_redistributors
        regs, cmdq, executor, translator = self.regs, self.cmdq, self.executor, self.translator
        forwarder, collections, memory = self.forwarder, self.collections, self.memory
        m.submodules.bridge = self.bridge
        m.submodules.regs = regs
        m.submodules.cmdq = cmdq
        m.submodules.executor = executor
        m.submodules.translator = translator
        m.submodules.collections = collections
        m.submodules.forwarder = forwarder
        m.submodules.memory = memory

        # Registers.
        wiring.connect(m, wiring.flipped(self.axil), self.bridge.axil)
        # Backpressure for GITS_TRANSLATER: the bridge runs one access at a time and the
        # register bus cannot wait, so a write address is only taken while the MSI FIFO has
        # room; the one write in flight then always finds it. (Overrides the two AW
        # handshake signals wiring.connect drove above.)
        m.d.comb += [
            self.bridge.axil.awvalid.eq(self.axil.awvalid & regs.translater_room),
            self.axil.awready.eq(self.bridge.axil.awready & regs.translater_room),
        ]
        wiring.connect(m, self.bridge.regs, regs.bus)
        m.d.comb += [
            regs.translater_device_id.eq(self.translater_device_id),
            self.error_irq.eq(regs.error_irq),
            regs.idle.eq(cmdq.idle & executor.idle & translator.idle & forwarder.idle),
        ]

        # Commands: fetch, execute, retire.
        wiring.connect(m, cmdq.cmd, executor.cmd)
        wiring.connect(m, executor.failure, regs.failure)
        m.d.comb += [
            cmdq.enabled.eq(regs.enabled),
            cmdq.cbaser.eq(regs.cbaser),
            cmdq.cwriter.eq(regs.cwriter),
            cmdq.restart.eq(regs.restart),
            cmdq.retry.eq(regs.retry),
            regs.creadr.eq(cmdq.creadr),
            cmdq.retire.eq(executor.retire),
            cmdq.stall.eq(executor.stall),
            regs.executed.eq(executor.retire),
            executor.baser_dev.eq(regs.baser_dev),
            executor.baser_coll.eq(regs.baser_coll),
            executor.cache_inval.eq(regs.cache_inval),
            regs.cache_inval_done.eq(executor.cache_inval_done),
        ]

        # Translation: MSIs and queries in, the executor's hold and invalidations.
        _merge(m, "msi", self.msi, regs.translater, translator.msi)
        m.submodules.query_askers = askers = fifo.SyncFIFO(width=1, depth=16)
        asked_by_regs = _merge(m, "query", self.query, regs.query, translator.query,
                               allow=askers.w_rdy)
        answer_to_regs = askers.r_data[0]
        m.d.comb += [
            askers.w_en.eq(translator.query.valid & translator.query.ready),
            askers.w_data.eq(asked_by_regs),
            askers.r_en.eq(translator.query_resp.valid & translator.query_resp.ready),
            self.query_resp.payload.eq(translator.query_resp.payload),
            regs.query_resp.payload.eq(translator.query_resp.payload),
            self.query_resp.valid.eq(translator.query_resp.valid & ~answer_to_regs),
            regs.query_resp.valid.eq(translator.query_resp.valid & answer_to_regs),
            translator.query_resp.ready.eq(Mux(answer_to_regs, regs.query_resp.ready,
                                               self.query_resp.ready)),
        ]
        wiring.connect(m, executor.inval, translator.inval)
        wiring.connect(m, translator.drop, regs.drop)
        m.d.comb += [
            translator.enabled.eq(regs.enabled),
            translator.baser_dev.eq(regs.baser_dev),
            translator.baser_coll.eq(regs.baser_coll),
            translator.cache_disable.eq(regs.cache_disable),
            translator.hold.eq(executor.hold),
            executor.translator_idle.eq(translator.idle & forwarder.lpi_idle),
            regs.translated.eq(translator.lpi.valid & translator.lpi.ready),
            regs.tcache_hit.eq(translator.tcache_hit),
            regs.tcache_miss.eq(translator.tcache_miss),
        ]
        # (Streams without backpressure: the register block's ports are always ready.)
        m.d.comb += [
            translator.parity_inject.valid.eq(regs.parity_inject.valid),
            translator.parity_inject.payload.eq(regs.parity_inject.payload),
            regs.tcache_parity.valid.eq(translator.tcache_parity.valid),
            regs.tcache_parity.payload.eq(translator.tcache_parity.payload),
            regs.dcache_parity.valid.eq(translator.dcache_parity.valid),
            regs.dcache_parity.payload.eq(translator.dcache_parity.payload),
        ]

        # On-chip collections.
        wiring.connect(m, executor.coll_write, collections.write)
        wiring.connect(m, translator.coll, collections.translator_read)

        # Packets to the redistributors.
        wiring.connect(m, translator.lpi, forwarder.lpi)
        wiring.connect(m, executor.packet, forwarder.cmd)
        m.d.comb += executor.synced.eq(forwarder.synced)
        for rd in range(n):
            wiring.connect(m, forwarder.gic[rd], wiring.flipped(self.gic[rd]))
            wiring.connect(m, wiring.flipped(self.ack[rd]), forwarder.ack[rd])

        # Memory: AXI ID 0 the command ring, 1 the executor, 2 the translator.
        wiring.connect(m, cmdq.mem, memory.read[0])
        wiring.connect(m, executor.mem_read, memory.read[1])
        wiring.connect(m, translator.mem, memory.read[2])
        wiring.connect(m, executor.mem_write, memory.write[0])
        wiring.connect(m, memory.axi, wiring.flipped(self.axi))
        return m


def generate_verilog(params, path):
    """Write the Verilog of :class:`Its` for ``params`` to ``path`` (module ``its``).

    Port names are the component's member paths joined with ``__``:
    ``axil__awaddr``, ``axi__arvalid``, ``msi__payload``, ``gic__0__valid``, ...

    Returns
    -------
    Path
        Where it was written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    its = Its(params)
    path.write_text(verilog.convert(its, name="its"))
    return path
