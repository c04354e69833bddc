"""The redistributor's register block: the GICR_* registers of its RD_base frame."""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from ..bus.axi import RegisterBusSignature
from ..bus.mem import ADDR_BITS, MemAttributes, mem_attributes
from ..its.params import ItsParams
from .layouts import (
    MIN_LPI_ID_BITS, PENDBASER_ALIGN, PROPBASER_ALIGN,
    GicrCtlr, GicrPendbaser, GicrPropbaser, GicrSyncr, GicrWaker, public_mask,
)
from .tables import PENDING_DW_SHIFT
from .regmap import FRAME_BYTES, IIDR_VALUE, PIDR2_VALUE, REGISTERS

__all__ = ["GicrRegisters", "RdOp", "RegisterOp", "AXIL_ADDR_BITS", "settings_layout"]

AXIL_ADDR_BITS = (FRAME_BYTES - 1).bit_length()
"""The AXI4-Lite slave decodes one 128 KiB redistributor frame (RD_base + SGI_base)."""

_PROP_SHIFT = PROPBASER_ALIGN.bit_length() - 1                # GICR_PROPBASER.PA: bits [51:12]
_PEND_SHIFT = PENDBASER_ALIGN.bit_length() - 1                # GICR_PENDBASER.PA: bits [51:16]


class RdOp(enum.Enum, shape=4):
    """What the redistributor's sequencer does next. 0..6 are the GIC stream's :class:`GicOp`."""
    SET     = 0  #: make ``lpi`` pending (GIC stream, GICR_SETLPIR)
    CLEAR   = 1  #: clear ``lpi``'s pending state (GIC stream, GICR_CLRLPIR)
    INV     = 2  #: reload ``lpi``'s configuration (GIC stream, GICR_INVLPIR)
    INVALL  = 3  #: reload every pending LPI's configuration (GIC stream, GICR_INVALLR)
    MOVLPI  = 4  #: send ``lpi``'s pending state to ``target`` on ``move_out``
    MOVALL  = 5  #: send every pending LPI to ``target``
    SYNC    = 6  #: acknowledge on ``ack`` once the other redistributors' moves are in
    ENABLE  = 8  #: GICR_CTLR.EnableLPIs 0 -> 1: take the LPIs pending in the pending table
    DISABLE = 9  #: GICR_CTLR.EnableLPIs 1 -> 0: write the LPIs held on chip to the pending table


class RegisterOp(data.Struct):
    """Work a register write queues (GICR_SYNCR.Busy and GICR_CTLR.RWP read 1 until done)."""
    op:   RdOp
    lpi:  16
    wide: 1    # the INTID written has bits above 15 set: out of range


def settings_layout(params):
    """What the registers set for the rest of the redistributor (:class:`GicrRegisters`)."""
    return data.StructLayout({
        "enable_lpis": 1,           # GICR_CTLR.EnableLPIs
        "ptz":         1,           # GICR_PENDBASER.PTZ as last written
        "id_bits":     range(params.id_bits + 1),   # LPIs: 8192 .. 2**id_bits - 1
        "lpis_exist":  1,           # id_bits >= 14
        "prop_base":   ADDR_BITS,   # the property table
        "pend_base":   ADDR_BITS,   # the pending table
        "prop_attr":   MemAttributes,   # GICR_PROPBASER.InnerCache/OuterCache
        "pend_attr":   MemAttributes,   # GICR_PENDBASER.InnerCache/OuterCache
        # one past the last pending-table doubleword holding LPIs
        "scan_end":    max(1, params.id_bits - PENDING_DW_SHIFT + 1),
    })


class GicrRegisters(wiring.Component):
    """The GICR_* registers of :data:`gic.hw.gicr.regmap.REGISTERS` on a register bus (the
    target of an :class:`~gic.hw.bus.axi.Axi4LiteRegisterBridge`).

    A write of GICR_SETLPIR, CLRLPIR, INVLPIR, INVALLR or an EnableLPIs change of GICR_CTLR
    puts a :class:`RegisterOp` on ``work`` for the redistributor's queue.
    GICR_SYNCR.Busy and GICR_CTLR.RWP read ``work_pending``. GICR_PROPBASER and PENDBASER
    ignore writes while EnableLPIs = 1 or RWP = 1. Unknown offsets read as zero and ignore
    writes; write-only registers read as zero; ``bus.err`` is never set.

    Parameters
    ----------
    params : ItsParams
        ``id_bits`` bounds the LPI range.
    typer : int
        The GICR_TYPER value.

    Ports
    -----
    bus : In(RegisterBusSignature(addr_width=17, data_width=64))
        The redistributor frame's register bus.
    work : Out(stream.Signature(RegisterOp))
        The work a write asks for, in the cycle of ``bus.w_stb`` (``valid`` for that one
        cycle). The register bus cannot wait: ``ready`` is not looked at, the redistributor
        takes a write address only while its queue has room.
    work_pending : In(1)
        Work is queued or under way (Busy, RWP).
    settings : Out(settings_layout(params))
        EnableLPIs, PTZ, the LPI range, the table bases and the tables' memory attributes
        (the InnerCache/OuterCache fields, docs/axi-attributes.md): registers, with the LPI
        range, the bases and the attributes decoded from them without a register stage.

    Latency
    -------
    A write takes effect (and puts out its work) at the clock edge of ``bus.w_stb``; a
    read answers in the cycle after ``bus.r_stb`` (the register bus's rule).
    """

    def __init__(self, params, *, typer):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        self._params = params
        self._typer = typer
        super().__init__({
            "bus": In(RegisterBusSignature(addr_width=AXIL_ADDR_BITS, data_width=64)),
            "work": Out(stream.Signature(RegisterOp)),
            "work_pending": In(1),
            "settings": Out(settings_layout(params)),
        })

    def elaborate(self, platform):
        m = Module()
        p = self._params
        bus = self.bus

        enable_lpis = Signal()
        processor_sleep = Signal(init=1)
        propbaser = Signal(GicrPropbaser)
        pendbaser = Signal(GicrPendbaser)
        ptz = Signal()
        busy = Signal()                 # GICR_SYNCR.Busy, GICR_CTLR.RWP
        m.d.comb += busy.eq(self.work_pending)

        # The LPI range: 8192 .. 2**id_bits - 1, id_bits = min(IDbits + 1, params.id_bits).
        settings = self.settings
        id_bits = settings.id_bits
        with m.If(propbaser.id_bits >= p.id_bits - 1):
            m.d.comb += id_bits.eq(p.id_bits)
        with m.Else():
            m.d.comb += id_bits.eq(propbaser.id_bits + 1)
        m.d.comb += [
            settings.lpis_exist.eq(id_bits >= MIN_LPI_ID_BITS),
            settings.enable_lpis.eq(enable_lpis),
            settings.ptz.eq(ptz),
            settings.prop_base.eq(Cat(Const(0, _PROP_SHIFT), propbaser.pa)[:ADDR_BITS]),
            settings.pend_base.eq(Cat(Const(0, _PEND_SHIFT), pendbaser.pa)[:ADDR_BITS]),
            settings.prop_attr.eq(mem_attributes(propbaser)),
            settings.pend_attr.eq(mem_attributes(pendbaser)),
        ]
        with m.Switch(id_bits):
            for bits in range(MIN_LPI_ID_BITS, p.id_bits + 1):
                with m.Case(bits):
                    m.d.comb += settings.scan_end.eq(1 << (bits - PENDING_DW_SHIFT))

        ctlr = Signal(GicrCtlr)
        waker = Signal(GicrWaker)
        syncr = Signal(GicrSyncr)
        m.d.comb += [
            ctlr.enable_lpis.eq(enable_lpis),
            ctlr.ces.eq(1),
            ctlr.ir.eq(1),
            ctlr.rwp.eq(busy),
            waker.processor_sleep.eq(processor_sleep),
            waker.children_asleep.eq(processor_sleep),
            syncr.busy.eq(busy),
        ]
        values = {
            "GICR_CTLR": ctlr,
            "GICR_IIDR": Const(IIDR_VALUE, 32),
            "GICR_TYPER": Const(self._typer, 64),
            "GICR_WAKER": waker,
            "GICR_PROPBASER": propbaser,
            "GICR_PENDBASER": pendbaser,
            "GICR_SYNCR": syncr,
            "GICR_PIDR2": Const(PIDR2_VALUE, 32),
        }

        # Each 8-byte slot of the frame holds one 64-bit or two 32-bit registers.
        slots = {}
        for register in REGISTERS:
            slots.setdefault(register.offset & ~7, []).append((register, (register.offset & 4) * 8))
        read_value = Signal(64)
        write_mask = Signal(64)
        for lane in range(8):
            m.d.comb += write_mask[8 * lane:8 * lane + 8].eq(bus.w_strb[lane].replicate(8))
        merged = (read_value & ~write_mask) | (bus.w_data & write_mask)
        written = {}
        with m.Switch(bus.addr):
            for slot, registers in slots.items():
                with m.Case(slot):
                    for register, half in registers:
                        value = values.get(register.name)
                        if value is not None:
                            m.d.comb += read_value[half:half + register.width].eq(value)
                        strobe = Signal(name=f"write_{register.name.lower()}")
                        lanes = bus.w_strb[half // 8:(half + register.width) // 8]
                        m.d.comb += strobe.eq(bus.w_stb & lanes.any())
                        # A write-only register reads as zero: its value is the written
                        # bytes alone (no path from the read mux into the queue).
                        source = merged if value is not None else bus.w_data & write_mask
                        written[register.name] = (strobe, source[half:half + register.width])

        read_data = Signal(64)
        with m.If(bus.r_stb):
            m.d.sync += read_data.eq(read_value)
        m.d.comb += [bus.r_data.eq(read_data), bus.err.eq(0)]

        queued = self.work.payload

        def queue(op, lpi=0, wide=0):
            m.d.comb += [self.work.valid.eq(1), queued.op.eq(op), queued.lpi.eq(lpi),
                         queued.wide.eq(wide)]

        strobe, value = written["GICR_CTLR"]
        new_enable = GicrCtlr(value).enable_lpis
        with m.If(strobe & new_enable & ~enable_lpis):
            m.d.sync += enable_lpis.eq(1)
            queue(RdOp.ENABLE)
        with m.If(strobe & ~new_enable & enable_lpis):
            m.d.sync += enable_lpis.eq(0)
            queue(RdOp.DISABLE)

        strobe, value = written["GICR_WAKER"]
        with m.If(strobe):
            m.d.sync += processor_sleep.eq(GicrWaker(value).processor_sleep)

        for name, op in (("GICR_SETLPIR", RdOp.SET), ("GICR_CLRLPIR", RdOp.CLEAR),
                         ("GICR_INVLPIR", RdOp.INV)):
            strobe, value = written[name]
            with m.If(strobe):
                queue(op, value[:16], value[16:32].any())
        strobe, _ = written["GICR_INVALLR"]
        with m.If(strobe):
            queue(RdOp.INVALL)

        # The table bases are fixed while LPIs are on or an EnableLPIs change is under way.
        writable = ~enable_lpis & ~busy
        strobe, value = written["GICR_PROPBASER"]
        with m.If(strobe & writable):
            m.d.sync += propbaser.eq(value & public_mask(GicrPropbaser))
        strobe, value = written["GICR_PENDBASER"]
        with m.If(strobe & writable):
            m.d.sync += [pendbaser.eq(value & public_mask(GicrPendbaser) & ~_ptz_mask()),
                         ptz.eq(GicrPendbaser(value).ptz)]


        return m


def _ptz_mask():
    return GicrPendbaser.const({"ptz": 1}).as_value().value
