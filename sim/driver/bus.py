"""The register and memory access interface every driver target implements.

:class:`gic.sim.driver.its.ItsDriver` talks to an ITS only through an :class:`ItsBus`,
so the same driver brings up the reference model, the Amaranth simulation, a
cocotb testbench and the FPGA board over its UART bridge (Glasgow's shape: the
gateware, an async host-side interface, a CLI on top). A target implements the
six coroutines; :class:`ModelBus` is the one for the reference models.
"""

import abc
from dataclasses import dataclass

from gic.hw.its.regmap import TRANSLATER

__all__ = ["ItsBus", "ModelBus", "Taken"]


@dataclass(frozen=True)
class Taken:
    """An interrupt a CPU took.

    Members
    -------
    cpu : int
    intid : int
    priority : int
        0..255 (multiples of 4), lower is higher.
    cycle : int or None
        Clock cycle it was acknowledged at (None on the untimed model or the board).
    """
    cpu: int
    intid: int
    priority: int
    cycle: object = None


class ItsBus(abc.ABC):
    """Access to one ITS frame, the memory it uses, and the devices that signal MSIs.

    Register offsets are from ITS_base (``gic.hw.its.regmap.REG``); sizes are in
    bytes, 4 or 8, and 64-bit registers take 4-byte accesses to either half.
    """

    @abc.abstractmethod
    async def read_reg(self, offset, size=8):
        """Read the ``size``-byte register at ``offset``; returns an integer."""

    @abc.abstractmethod
    async def write_reg(self, offset, value, size=8):
        """Write ``value`` to the ``size``-byte register at ``offset``."""

    @abc.abstractmethod
    async def read_mem(self, addr, length):
        """Read ``length`` bytes of the memory the ITS uses, from physical ``addr``."""

    @abc.abstractmethod
    async def write_mem(self, addr, data):
        """Write the bytes ``data`` to the memory the ITS uses, at physical ``addr``."""

    @abc.abstractmethod
    async def idle(self):
        """Let time pass between two polls (clock ticks in a simulation, nothing on the model)."""

    @abc.abstractmethod
    async def msi(self, device_id, event_id):
        """Signal an MSI: device ``device_id`` writes ``event_id`` to GITS_TRANSLATER."""

    async def take_packets(self, rd):
        """The GIC stream packets redistributor ``rd`` received since the last call.

        Only targets that can watch the GIC streams (the ITS model, the simulated ITS
        with stand-in redistributors) provide it; on a whole GIC (:mod:`gic.sim.tools.gicdemo`)
        the CPUs' ``take_interrupts`` shows what was delivered instead.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot see the redistributors")


class ModelBus(ItsBus):
    """The bus of an untimed reference model.

    Every access takes effect at once; with ``auto_execute`` a CWRITER write
    runs the commands before it returns, so polls never wait.

    Parameters
    ----------
    model : gic.sim.models.its.ItsModel or gic.sim.models.gicr.GicModel
        The ITS to drive, or an ITS with its redistributors (offsets then reach
        every frame, and each packet reaches its redistributor at once, so there
        are none to take).
    memory : gic.sim.models.memory.Memory, optional
        The memory the model walks; ``model.memory`` when omitted.

    Members
    -------
    model : gic.sim.models.its.ItsModel or gic.sim.models.gicr.GicModel
    memory : gic.sim.models.memory.Memory
    """

    def __init__(self, model, memory=None):
        self.model = model
        self.memory = model.memory if memory is None else memory

    @classmethod
    def create(cls, params, memory=None):
        """A bus on a fresh :class:`gic.sim.models.its.ItsModel` built from ``params``.

        Parameters
        ----------
        params : gic.hw.its.params.ItsParams
        memory : gic.sim.models.memory.Memory, optional
            Shared memory; a new sparse one when omitted.
        """
        from gic.sim.models.memory import Memory
        from gic.sim.models.its import ItsModel
        memory = Memory() if memory is None else memory
        return cls(ItsModel(params, memory, auto_execute=True), memory)

    async def read_reg(self, offset, size=8):
        return self.model.read(offset, size)

    async def write_reg(self, offset, value, size=8):
        self.model.write(offset, value, size)

    async def read_mem(self, addr, length):
        return self.memory.read(addr, length)

    async def write_mem(self, addr, data):
        self.memory.write(addr, data)

    async def idle(self):
        pass

    async def msi(self, device_id, event_id):
        self.model.write(TRANSLATER, event_id, 4, device_id=device_id)

    async def take_packets(self, rd):
        """The GIC stream packets redistributor ``rd`` received since the last call."""
        return self.model.take_packets(rd)
