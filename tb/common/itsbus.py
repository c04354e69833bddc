"""The :class:`~gic.sim.driver.bus.ItsBus` of the ITS in a cocotb testbench.

:class:`CocotbItsBus` lets :class:`gic.sim.driver.its.ItsDriver` (and any script written
against an ``ItsBus``) run unchanged on the Verilog in Icarus: register accesses go
through cocotbext-axi's ``AxiLiteMaster`` and every read is checked against the
reference model by the scoreboard; memory accesses go straight to the
:class:`~gic.sim.models.memory.Memory` the AXI4 slave model serves (and to the model's copy);
``idle`` lets clock cycles pass; ``msi`` sends on the MSI stream, or writes
GITS_TRANSLATER with the DeviceID on the ``translater_device_id`` sideband.
"""

from cocotb.triggers import ClockCycles, Lock, RisingEdge
from cocotbext.axi.constants import AxiResp

from gic.hw.its.layouts import MsiRequest
from gic.hw.its.regmap import REG, TRANSLATER
from gic.sim.driver.bus import ItsBus
from gic.sim.models.commands import pack

from .monitors import high
from .streams import PayloadTransaction

__all__ = ["CocotbItsBus", "RegisterAccessError"]


class RegisterAccessError(Exception):
    """A register access was answered SLVERR or DECERR."""


class CocotbItsBus(ItsBus):
    """An :class:`ItsBus` on the ``its`` Verilog top in a cocotb test.

    Parameters
    ----------
    tb : gic.tb.its.test_its.TB
        Owns the DUT, ``axil`` (AxiLiteMaster), ``msi_source``, ``memory``,
        ``model_memory`` and ``scoreboard``.
    translater : bool
        ``msi`` writes GITS_TRANSLATER instead of driving the MSI stream.
    settle : bool
        Before each register access, wait until the MSIs signalled so far have been
        decided (the reference model is untimed: after an MSI, the next register read
        must see its drop record and counters). Turn off while background traffic
        flows, or every access would wait for a gap in it.
    poll_cycles : int
        Clock cycles one :meth:`idle` lets pass.

    Members
    -------
    before_cwriter : list of callable
        Called (then forgotten) just before the next GITS_CWRITER write: a test makes the
        command it posts fail to fetch by injecting a memory error there.
    translater_msis : int
        MSIs written to GITS_TRANSLATER.
    """

    def __init__(self, tb, *, translater=False, settle=True, poll_cycles=8):
        if not isinstance(poll_cycles, int) or poll_cycles < 1:
            raise ValueError(f"poll_cycles must be a positive integer, not {poll_cycles!r}")
        self.tb = tb
        self.dut = tb.dut
        self.memory = tb.memory
        self.translater = translater
        self.settle = settle
        self.poll_cycles = poll_cycles
        self._sideband = Lock()
        self.before_cwriter = []
        self.translater_msis = 0

    def _settled(self):
        dut, tb = self.dut, self.tb
        return (tb.msi_source.idle() and not high(dut.msi__valid)
                and not high(dut.regs.translater__valid) and high(dut.translator.idle)
                and not self._sideband.locked())

    async def wait_settled(self):
        """Wait until every MSI signalled so far has left the translator."""
        edge = RisingEdge(self.dut.clk)
        while not self._settled():
            await edge

    async def read_reg(self, offset, size=8):
        if self.settle:
            await self.wait_settled()
        response = await self.tb.axil.read(offset, size)
        if response.resp != AxiResp.OKAY:
            raise RegisterAccessError(f"read of {offset:#x}: {response.resp.name}")
        value = int.from_bytes(response.data, "little")
        self.tb.scoreboard.check_read(offset, size, value)
        return value

    async def write_reg(self, offset, value, size=8):
        if self.settle:
            await self.wait_settled()
        if offset & ~7 == REG["GITS_CWRITER"]:
            actions, self.before_cwriter = self.before_cwriter, []
            for action in actions:
                action()
        response = await self.tb.axil.write(offset, value.to_bytes(size, "little"))
        if response.resp != AxiResp.OKAY:
            raise RegisterAccessError(f"write of {value:#x} to {offset:#x}: "
                                      f"{response.resp.name}")

    async def read_mem(self, addr, length):
        return self.memory.read(addr, length)

    async def write_mem(self, addr, data):
        self.memory.write(addr, data)
        self.tb.model_memory.write(addr, data)

    async def idle(self):
        await ClockCycles(self.dut.clk, self.poll_cycles)

    async def msi(self, device_id, event_id, *, translater=None):
        """Signal an MSI; ``translater`` overrides the bus's choice of path for this one.

        On the MSI stream this returns once the MSI is queued in the source (MSIs
        go back to back); through GITS_TRANSLATER once the write was answered.
        """
        if self.translater if translater is None else translater:
            async with self._sideband:
                # The sideband must hold from the write's address handshake to its answer.
                self.dut.translater_device_id.value = device_id
                response = await self.tb.axil.write(TRANSLATER, event_id.to_bytes(4, "little"))
            if response.resp != AxiResp.OKAY:
                raise RegisterAccessError(f"GITS_TRANSLATER write: {response.resp.name}")
            self.translater_msis += 1
            return
        await self.tb.msi_source.send(PayloadTransaction(
            payload=pack(MsiRequest, device_id=device_id, event_id=event_id)))
