"""Untimed reference model of the redistributors: the oracle hw/gicr/ is checked against.

:class:`RedistributorModel` is one redistributor as docs/redistributor.md
describes it: the GICR_* registers of :mod:`gic.hw.gicr.regmap`, the packets of
the GIC stream (:class:`gic.sim.models.its.Packet`), pending state for LPIs backed by
the pending table in a :class:`~gic.sim.models.memory.Memory`, each pending LPI's
configuration (enable, priority) read from the property table when it becomes
pending and re-read on INV / INVALL, and a CPU interface: the highest-priority
pending enabled LPI (lowest priority value, then lowest INTID) is signalled when
it is above the running priority; an acknowledge returns it (or 1023) and makes
its priority active; an end of interrupt drops the highest active priority.

:class:`GicModel` joins an :class:`~gic.sim.models.its.ItsModel` with one
RedistributorModel per processor number: after every command the ITS model
executes (and every MSI) it hands each redistributor its packets; MOVLPI and
MOVALL move pending state to the target redistributor. Registers are reached
through one address space, as :class:`gic.hw.gicr.gic.Gic` decodes its AXI4-Lite
port: the ITS frame at 0, redistributor ``n``'s frame at ``0x20000 * (1 + n)``.
:class:`gic.sim.driver.bus.ModelBus` drives a GicModel as it does an ItsModel, so the
Linux-style driver runs on it unchanged.

Everything happens at once: GICR_CTLR.RWP and GICR_SYNCR.Busy read 0, a SYNC is
acknowledged on arrival, and while EnableLPIs is 1 the pending table's contents
are the model's own business (software must not look: the architecture makes
them UNKNOWN). Clearing EnableLPIs writes every pending LPI into the table, so
the table is exact again after that.
"""

from functools import partial

from gic.hw.gicr.layouts import (
    MIN_LPI_ID_BITS, PENDBASER_ALIGN, PENDING_BITS_PER_DW, PROPBASER_ALIGN, SPECIAL_INTIDS,
    SPURIOUS_INTID, GicrCtlr, GicrLpir, GicrPendbaser, GicrPropbaser, GicrSyncr, GicrTyper,
    GicrWaker, LpiConfig, public_mask,
)
from gic.hw.gicr.regmap import FRAME_BYTES, IIDR_VALUE, PIDR2_VALUE, REG, REGISTERS
from gic.hw.its.layouts import LPI_BASE, GicOp
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import FRAME_BYTES as ITS_FRAME_BYTES
from gic.sim.models.commands import pack, unpack
from gic.sim.models.memory import BusError, Memory
from gic.sim.models.its import ItsModel, Packet
from gic.sim.models.regfile import RegisterFile

__all__ = ["RedistributorModel", "GicModel", "LpiState", "rd_frame"]

_DW_BYTES = 8
_PRIORITY_SHIFT = 2          # LpiConfig.priority holds priority bits [7:2]


def rd_frame(rd):
    """Base address of redistributor ``rd``'s frame in the Gic's register space."""
    return FRAME_BYTES * (1 + rd)


class LpiState:
    """The configuration a pending LPI was last seen with.

    Members
    -------
    enable : bool
        LpiConfig.enable.
    priority : int
        The priority, 0..255 with bits [1:0] zero (LpiConfig.priority << 2).
    """

    __slots__ = ("enable", "priority")

    def __init__(self, enable, priority):
        self.enable = bool(enable)
        self.priority = priority

    @classmethod
    def from_byte(cls, byte):
        """The state of an LpiConfig byte."""
        config = unpack(LpiConfig, byte)
        return cls(config["enable"], config["priority"] << _PRIORITY_SHIFT)

    def __eq__(self, other):
        return (isinstance(other, LpiState) and other.enable == self.enable
                and other.priority == self.priority)

    def __repr__(self):
        return f"LpiState(enable={self.enable}, priority={self.priority:#04x})"


class RedistributorModel(RegisterFile):
    """Architectural model of one redistributor's LPI part and its CPU interface.

    Parameters
    ----------
    params : ItsParams
        ``id_bits`` bounds the LPI INTIDs (with GICR_PROPBASER.IDbits).
    memory : Memory
        Holds the property and pending tables.
    processor_number : int
        GICR_TYPER.Processor_Number, the RDbase the ITS names this redistributor by.
    last : bool or None
        GICR_TYPER.Last; default: ``processor_number == params.num_redistributors - 1``.

    Members
    -------
    pending : dict of int to LpiState
        The pending LPIs and the configuration each was last read with.
    active : set of int
        Active priority levels (priority >> 2) of the CPU interface, as ICC_AP1R0.
    syncs : int
        SYNC packets acknowledged.
    """

    def __init__(self, params: ItsParams, memory: Memory, *, processor_number: int = 0,
                 last=None):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        if not isinstance(processor_number, int) or \
                not 0 <= processor_number < params.num_redistributors:
            raise ValueError(f"processor_number must be an integer in "
                             f"0..{params.num_redistributors - 1}, not {processor_number!r}")
        self.params = params
        self.memory = memory
        self.processor_number = processor_number
        self.last = (processor_number == params.num_redistributors - 1) if last is None \
            else bool(last)
        self.pending = {}
        self.active = set()
        self.syncs = 0
        self._enable_lpis = False
        self._processor_sleep = True
        self._propbaser = 0
        self._pendbaser = 0
        self._ptz = False
        super().__init__(REGISTERS, {
            REG["GICR_CTLR"]: (self._read_ctlr, self._write_ctlr),
            REG["GICR_IIDR"]: (lambda: IIDR_VALUE, None),
            REG["GICR_TYPER"]: (lambda: self.typer, None),
            REG["GICR_WAKER"]: (self._read_waker, self._write_waker),
            REG["GICR_SETLPIR"]: (lambda: 0, partial(self._write_lpir, self.set)),
            REG["GICR_CLRLPIR"]: (lambda: 0, partial(self._write_lpir, self.clear)),
            REG["GICR_PROPBASER"]: (lambda: self._propbaser, self._write_propbaser),
            REG["GICR_PENDBASER"]: (lambda: self._pendbaser, self._write_pendbaser),
            REG["GICR_INVLPIR"]: (lambda: 0, partial(self._write_lpir, self.inv)),
            REG["GICR_INVALLR"]: (lambda: 0, lambda value: self.invall()),
            REG["GICR_SYNCR"]: (lambda: pack(GicrSyncr, busy=0), None),
            REG["GICR_PIDR2"]: (lambda: PIDR2_VALUE, None),
        }, frame_bytes=FRAME_BYTES, frame_name="redistributor")

    # -- state --------------------------------------------------------------------------------

    @property
    def enable_lpis(self):
        """GICR_CTLR.EnableLPIs."""
        return self._enable_lpis

    @property
    def typer(self):
        """The GICR_TYPER value (a 64-bit integer)."""
        return pack(GicrTyper, plpis=1, direct_lpi=1, last=int(self.last),
                    processor_number=self.processor_number, affinity=self.processor_number)

    @property
    def lpi_limit(self):
        """One past the largest LPI INTID in range (8192 or less: no LPI is)."""
        id_bits = min(unpack(GicrPropbaser, self._propbaser)["id_bits"] + 1, self.params.id_bits)
        return 1 << id_bits if id_bits >= MIN_LPI_ID_BITS else 0

    def in_range(self, lpi):
        """Whether ``lpi`` is an LPI this redistributor handles now."""
        return LPI_BASE <= lpi < self.lpi_limit

    @property
    def _prop_base(self):
        return unpack(GicrPropbaser, self._propbaser)["pa"] * PROPBASER_ALIGN

    @property
    def _pend_base(self):
        return unpack(GicrPendbaser, self._pendbaser)["pa"] * PENDBASER_ALIGN

    def config(self, lpi):
        """``lpi``'s property table entry as an LpiState; a memory error reads as 0."""
        try:
            return LpiState.from_byte(self.memory.read_int(self._prop_base + lpi - LPI_BASE, 1))
        except BusError:
            return LpiState.from_byte(0)

    # -- LPI operations (GIC stream packets and the direct-injection registers) ---------------

    def set(self, lpi):
        """SET / GICR_SETLPIR: make ``lpi`` pending (reading its configuration if it was not)."""
        if self._enable_lpis and self.in_range(lpi) and lpi not in self.pending:
            self.pending[lpi] = self.config(lpi)

    def clear(self, lpi):
        """CLEAR / GICR_CLRLPIR: ``lpi`` is no longer pending."""
        self.pending.pop(lpi, None)

    def inv(self, lpi):
        """INV / GICR_INVLPIR: re-read ``lpi``'s configuration."""
        if lpi in self.pending:
            self.pending[lpi] = self.config(lpi)

    def invall(self):
        """INVALL / GICR_INVALLR: re-read the configuration of every LPI."""
        for lpi in self.pending:
            self.pending[lpi] = self.config(lpi)

    def move(self, lpi, target):
        """MOVLPI: ``lpi``'s pending state leaves for ``target``; the moves ``[(lpi, target)]``."""
        if target == self.processor_number or lpi not in self.pending:
            return []
        del self.pending[lpi]
        return [(lpi, target)]

    def move_all(self, target):
        """MOVALL: every pending LPI leaves for ``target``; the moves, in INTID order."""
        if target == self.processor_number:
            return []
        moves = [(lpi, target) for lpi in sorted(self.pending)]
        self.pending.clear()
        return moves

    def move_in(self, lpi):
        """Pending state of ``lpi`` arriving from another redistributor (as a SET)."""
        self.set(lpi)

    def packet(self, packet: Packet):
        """Apply one GIC stream packet; returns the moves ``[(lpi, target)]`` it causes."""
        op = GicOp(packet.op)
        if op is GicOp.SET:
            self.set(packet.lpi)
        elif op is GicOp.CLEAR:
            self.clear(packet.lpi)
        elif op is GicOp.INV:
            self.inv(packet.lpi)
        elif op is GicOp.INVALL:
            self.invall()
        elif op is GicOp.MOVLPI:
            return self.move(packet.lpi, packet.target)
        elif op is GicOp.MOVALL:
            return self.move_all(packet.target)
        elif op is GicOp.SYNC:
            self.syncs += 1
        return []

    # -- EnableLPIs ---------------------------------------------------------------------------

    def _table_doublewords(self):
        """Addresses of the pending table's doublewords holding in-range LPIs."""
        first = LPI_BASE // PENDING_BITS_PER_DW
        last = self.lpi_limit // PENDING_BITS_PER_DW
        return [self._pend_base + _DW_BYTES * index for index in range(first, last)]

    def _enable(self):
        """EnableLPIs 0 -> 1: unless PTZ, take every LPI pending in the table (and clear it)."""
        if self._ptz:
            return
        for address in self._table_doublewords():
            try:
                bits = self.memory.read_int(address, _DW_BYTES)
            except BusError:
                continue
            if not bits:
                continue
            base = (address - self._pend_base) // _DW_BYTES * PENDING_BITS_PER_DW
            for bit in range(PENDING_BITS_PER_DW):
                if bits >> bit & 1 and base + bit not in self.pending:
                    self.pending[base + bit] = self.config(base + bit)
            try:
                self.memory.write_int(address, 0, _DW_BYTES)
            except BusError:
                pass

    def _disable(self):
        """EnableLPIs 1 -> 0: write every pending LPI into the pending table, forget them."""
        for lpi in sorted(self.pending):
            address = self._pend_base + lpi // PENDING_BITS_PER_DW * _DW_BYTES
            try:
                bits = self.memory.read_int(address, _DW_BYTES)
                self.memory.write_int(address, bits | 1 << lpi % PENDING_BITS_PER_DW, _DW_BYTES)
            except BusError:
                pass
        self.pending.clear()

    # -- CPU interface ------------------------------------------------------------------------

    @property
    def running_priority(self):
        """The running priority (ICC_RPR): the highest active priority, or 0x100 when none."""
        return min(self.active) << _PRIORITY_SHIFT if self.active else 0x100

    def highest(self):
        """``(intid, priority)`` of the highest-priority pending enabled LPI, or None."""
        enabled = [(state.priority, lpi) for lpi, state in self.pending.items() if state.enable]
        if not enabled:
            return None
        priority, lpi = min(enabled)
        return lpi, priority

    @property
    def irq(self):
        """The interrupt line: an LPI can be acknowledged (it is above the running priority)."""
        best = self.highest()
        return best is not None and best[1] < self.running_priority

    def acknowledge(self):
        """An ICC_IAR1 read: the LPI signalled (no longer pending, its priority active) or 1023."""
        if not self.irq:
            return SPURIOUS_INTID
        lpi, priority = self.highest()
        del self.pending[lpi]
        self.active.add(priority >> _PRIORITY_SHIFT)
        return lpi

    def end_of_interrupt(self, intid):
        """An ICC_EOIR1 write: drop the highest active priority (special INTIDs: no effect)."""
        if intid not in SPECIAL_INTIDS and self.active:
            self.active.remove(min(self.active))

    # -- registers (access rules: gic.sim.models.regfile) ------------------------------------------------

    def _read_ctlr(self):
        return pack(GicrCtlr, enable_lpis=int(self._enable_lpis), ces=1, ir=1)

    def _write_ctlr(self, value):
        enable = bool(unpack(GicrCtlr, value)["enable_lpis"])
        if enable and not self._enable_lpis:
            self._enable_lpis = True
            self._enable()
        elif not enable and self._enable_lpis:
            self._enable_lpis = False
            self._disable()

    def _read_waker(self):
        return pack(GicrWaker, processor_sleep=int(self._processor_sleep),
                    children_asleep=int(self._processor_sleep))

    def _write_waker(self, value):
        self._processor_sleep = bool(unpack(GicrWaker, value)["processor_sleep"])

    def _write_propbaser(self, value):
        if not self._enable_lpis:
            self._propbaser = value & public_mask(GicrPropbaser)

    def _write_pendbaser(self, value):
        if not self._enable_lpis:
            self._ptz = bool(unpack(GicrPendbaser, value)["ptz"])
            self._pendbaser = value & public_mask(GicrPendbaser) & ~pack(GicrPendbaser, ptz=1)

    def _write_lpir(self, action, value):
        action(unpack(GicrLpir, value)["intid"])


class GicModel:
    """An ITS model and its redistributor models, joined by the GIC stream.

    Parameters
    ----------
    params : ItsParams
    memory : Memory
        Shared by the ITS (ring, tables) and the redistributors (property, pending tables).

    Members
    -------
    its : ItsModel
        Runs commands one at a time (``auto_execute=False``) so that the packets of each
        reach the redistributors before the next command runs.
    rds : list of RedistributorModel
        By processor number.
    moves : list of (int, int, int)
        Every ``(source, lpi, target)`` move of pending state, in order.
    """

    def __init__(self, params: ItsParams, memory: Memory):
        self.params = params
        self.memory = memory
        self.its = ItsModel(params, memory, auto_execute=False)
        self.rds = [RedistributorModel(params, memory, processor_number=n)
                    for n in range(params.num_redistributors)]
        self.moves = []

    def deliver(self):
        """Hand every packet the ITS model queued to its redistributor, in order."""
        for rd, redistributor in enumerate(self.rds):
            for packet in self.its.take_packets(rd):
                for lpi, target in redistributor.packet(packet):
                    self.moves.append((rd, lpi, target))
                    if target < len(self.rds):
                        self.rds[target].move_in(lpi)

    def run(self):
        """Execute the commands the ITS can fetch, delivering each one's packets."""
        self.deliver()
        while self.its.step() is not None:
            self.deliver()

    def _route(self, addr, size):
        if addr < ITS_FRAME_BYTES:
            return None, addr
        rd, offset = divmod(addr - ITS_FRAME_BYTES, FRAME_BYTES)
        if rd >= len(self.rds):
            raise ValueError(f"address {addr:#x} is beyond the last redistributor frame")
        return self.rds[rd], offset

    def read(self, addr: int, size: int = 8) -> int:
        """Read the register at ``addr`` (ITS frame at 0, redistributor n at rd_frame(n))."""
        target, offset = self._route(addr, size)
        return (self.its if target is None else target).read(offset, size)

    def write(self, addr: int, value: int, size: int = 8, *, device_id: int = 0) -> None:
        """Write the register at ``addr``; then run whatever the ITS can execute."""
        target, offset = self._route(addr, size)
        if target is None:
            self.its.write(offset, value, size, device_id=device_id)
        else:
            target.write(offset, value, size)
        self.run()

    def msi(self, device_id: int, event_id: int):
        """An MSI on the ITS's MSI stream; its SET reaches the redistributor at once."""
        translation = self.its.msi(device_id, event_id)
        self.deliver()
        return translation

    def acknowledge(self, rd: int) -> int:
        """An ICC_IAR1 read on CPU ``rd``."""
        return self.rds[rd].acknowledge()

    def end_of_interrupt(self, rd: int, intid: int) -> None:
        """An ICC_EOIR1 write on CPU ``rd``."""
        self.rds[rd].end_of_interrupt(intid)

    def irq(self, rd: int) -> bool:
        """CPU ``rd``'s interrupt line."""
        return self.rds[rd].irq
