"""A STAND-IN for the ITS, for tests of the board around it. It is not an ITS.

:class:`ItsStandIn` has the ports of ``gic.hw.its.top.Its`` so the board top, the bridge
and the host tools can be tested (and the FPGA tool flow tried) without the ITS. It
translates nothing: it holds scratch registers, turns each MSI straight into a SET
packet, reads one doubleword of memory on request, and answers SLVERR in one range.
The board reports it to the host (INFO ``stand_in = 1``) and lights LED 7.

Register map (offsets from the frame base):

=============  ====  ==================================================================
0x0000-0x0078  RW    16 scratch doublewords (byte strobes honoured)
0x0080         W     DMA_ADDR: read the doubleword at this address over AXI
0x0088         R     DMA_DATA: what the last DMA read returned
0x0090         R     DMA_STATUS: [0] done, [1] the read answered an error
0x8000-0xBFF8  -     SLVERR on every access; each pulses ``error_irq``
0xC000         R     MSIs received (MSI stream and TRANSLATER)
0xC008         R     the last MSI: DeviceID [63:32], EventID [31:0]
0x10040        W     GITS_TRANSLATER: an MSI with the ``translater_device_id`` sideband
=============  ====  ==================================================================

An MSI (DeviceID d, EventID e) becomes ``SET lpi=e`` on ``gic[d % n]``.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from gic.hw.bus.axi import Axi4LiteRegisterBridge, Axi4LiteSignature, Axi4MemoryMaster, Axi4Signature
from gic.hw.bus.mem import ADDR_BITS
from gic.hw.its.layouts import GicAck, GicOp, GicPacket, MsiRequest
from gic.hw.its.regmap import FRAME_BYTES, TRANSLATER

__all__ = ["ItsStandIn", "SCRATCH", "DMA_ADDR", "DMA_DATA", "DMA_STATUS", "SLVERR_BASE",
           "MSI_COUNT", "LAST_MSI"]

SCRATCH = 0x0000
DMA_ADDR = 0x0080
DMA_DATA = 0x0088
DMA_STATUS = 0x0090
SLVERR_BASE = 0x8000
MSI_COUNT = 0xC000
LAST_MSI = 0xC008


class ItsStandIn(wiring.Component):
    """Not an ITS: a component with the ITS's ports, for testing the board around it.

    Parameters
    ----------
    params : ItsParams

    Members
    -------
    As ``gic.hw.its.top.Its``: ``axil``, ``translater_device_id``, ``msi``, ``axi``, ``gic``,
    ``ack``, ``error_irq``.
    """

    stand_in = True

    def __init__(self, params):
        self._params = params
        n = params.num_redistributors
        super().__init__({
            "axil": In(Axi4LiteSignature(addr_width=FRAME_BYTES.bit_length() - 1, data_width=64)),
            "translater_device_id": In(32),
            "msi": In(stream.Signature(MsiRequest)),
            "axi": Out(Axi4Signature(addr_width=ADDR_BITS, data_width=params.mem_data_width)),
            "gic": Out(stream.Signature(GicPacket)).array(n),
            "ack": In(stream.Signature(GicAck)).array(n),
            "error_irq": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        n = self._params.num_redistributors
        m.submodules.regs = bridge = Axi4LiteRegisterBridge(
            addr_width=FRAME_BYTES.bit_length() - 1, data_width=64)
        m.submodules.dma = dma = Axi4MemoryMaster(read_clients=1, write_clients=0,
                                                  data_width=self._params.mem_data_width)
        wiring.connect(m, wiring.flipped(self.axil), bridge.axil)
        wiring.connect(m, dma.axi, wiring.flipped(self.axi))
        regs = bridge.regs

        scratch = [Signal(64, name=f"scratch{i}") for i in range(16)]
        dma_data = Signal(64)
        dma_done = Signal()
        dma_error = Signal()
        msi_count = Signal(64)
        last_msi = Signal(64)
        r_data = Signal(64)
        err = Signal()
        m.d.comb += [regs.r_data.eq(r_data), regs.err.eq(err)]

        # Register reads and writes answer in the cycle after the strobe.
        m.d.sync += [err.eq(0), self.error_irq.eq(0)]
        in_slverr = (regs.addr >= SLVERR_BASE) & (regs.addr < MSI_COUNT)
        with m.If((regs.r_stb | regs.w_stb) & in_slverr):
            m.d.sync += [err.eq(1), self.error_irq.eq(1)]
        with m.If(regs.r_stb):
            m.d.sync += r_data.eq(0)
            for index, register in enumerate(scratch):
                with m.If(regs.addr == SCRATCH + 8 * index):
                    m.d.sync += r_data.eq(register)
            with m.If(regs.addr == DMA_DATA):
                m.d.sync += r_data.eq(dma_data)
            with m.If(regs.addr == DMA_STATUS):
                m.d.sync += r_data.eq(dma_done | dma_error << 1)
            with m.If(regs.addr == MSI_COUNT):
                m.d.sync += r_data.eq(msi_count)
            with m.If(regs.addr == LAST_MSI):
                m.d.sync += r_data.eq(last_msi)
        with m.If(regs.w_stb):
            for index, register in enumerate(scratch):
                with m.If(regs.addr == SCRATCH + 8 * index):
                    for byte in range(8):
                        with m.If(regs.w_strb[byte]):
                            m.d.sync += register[8 * byte:8 * byte + 8].eq(
                                regs.w_data[8 * byte:8 * byte + 8])

        # DMA: one doubleword read through the ITS's own AXI master.
        dma_req = dma.read[0].req
        with m.If(regs.w_stb & (regs.addr == DMA_ADDR)):
            m.d.sync += [dma_req.valid.eq(1), dma_req.payload.addr.eq(regs.w_data),
                         dma_req.payload.count.eq(0), dma_done.eq(0)]
        with m.Elif(dma_req.ready):
            m.d.sync += dma_req.valid.eq(0)
        m.d.comb += dma.read[0].resp.ready.eq(1)
        with m.If(dma.read[0].resp.valid):
            m.d.sync += [dma_data.eq(dma.read[0].resp.payload.data), dma_done.eq(1),
                         dma_error.eq(dma.read[0].resp.payload.error)]

        # MSIs: from the stream, or a TRANSLATER write (which waits for nothing: dropped
        # when a stream MSI is being taken in the same cycle, as a stand-in may).
        translater = Signal()
        m.d.comb += translater.eq(regs.w_stb & (regs.addr == TRANSLATER & ~7)
                                  & regs.w_strb[0])
        device = Mux(translater, self.translater_device_id, self.msi.payload.device_id)
        event = Mux(translater, regs.w_data[:32], self.msi.payload.event_id)
        rd = device % n
        target_ready = Signal()
        for index in range(n):
            m.d.comb += self.ack[index].ready.eq(1)
            with m.If(rd == index):
                m.d.comb += target_ready.eq(self.gic[index].ready | ~self.gic[index].valid)
        m.d.comb += self.msi.ready.eq(target_ready & ~translater)
        for index in range(n):
            with m.If(self.gic[index].ready):
                m.d.sync += self.gic[index].valid.eq(0)
        with m.If(translater | (self.msi.valid & self.msi.ready)):
            m.d.sync += [msi_count.eq(msi_count + 1), last_msi.eq(event | device << 32)]
            for index in range(n):
                with m.If(rd == index):
                    m.d.sync += [self.gic[index].valid.eq(1),
                                 self.gic[index].payload.op.eq(GicOp.SET),
                                 self.gic[index].payload.lpi.eq(event)]
        return m
