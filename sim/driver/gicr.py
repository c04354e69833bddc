"""A Linux-style host driver for one redistributor's LPI part, over any :class:`gic.sim.driver.bus.ItsBus`.

It does what ``drivers/irqchip/irq-gic-v3.c`` and ``irq-gic-v3-its.c`` do for a
CPU's redistributor: wake it (GICR_WAKER.ProcessorSleep = 0, wait for
ChildrenAsleep = 0), program GICR_PROPBASER and GICR_PENDBASER, then set
GICR_CTLR.EnableLPIs (its_cpu_init_lpis). It also drives the direct-injection
registers (GICR_SETLPIR, CLRLPIR, INVLPIR, INVALLR) and waits on GICR_SYNCR.Busy
as Linux's ``wait_for_syncr`` does. Register offsets are the redistributor's
frame in the Gic's register space (:func:`gic.sim.models.gicr.rd_frame`); every value
is packed through :mod:`gic.hw.gicr.layouts`.
"""

from gic.hw.gicr.layouts import (
    PENDBASER_ALIGN, PROPBASER_ALIGN, GicrCtlr, GicrLpir, GicrPendbaser, GicrPropbaser,
    GicrSyncr, GicrWaker,
)
from gic.hw.gicr.regmap import FRAME_BYTES, REG
from gic.hw.its.layouts import LPI_BASE
from gic.sim.models.commands import pack, unpack

__all__ = ["RedistributorDriver", "RedistributorTimeout", "property_table_bytes",
           "pending_table_bytes"]


class RedistributorTimeout(Exception):
    """The redistributor did not get where the driver waited for it."""


def property_table_bytes(id_bits):
    """Bytes of an LPI property table for ``id_bits`` INTID bits (one byte per LPI)."""
    return (1 << id_bits) - LPI_BASE


def pending_table_bytes(id_bits):
    """Bytes of an LPI pending table for ``id_bits`` INTID bits (one bit per INTID)."""
    return (1 << id_bits) // 8


class RedistributorDriver:
    """Brings redistributor ``rd`` up and injects LPIs into it directly.

    Parameters
    ----------
    bus : gic.sim.driver.bus.ItsBus
        Register access to the Gic's register space and its memory.
    rd : int
        Processor number; the frame is at ``0x20000 * (1 + rd)``.
    timeout_polls : int
        Polls before :class:`RedistributorTimeout`.
    """

    def __init__(self, bus, rd, *, timeout_polls=10000):
        if not isinstance(rd, int) or rd < 0:
            raise ValueError(f"rd must be a processor number (an integer >= 0), not {rd!r}")
        self.bus = bus
        self.rd = rd
        self.frame = FRAME_BYTES * (1 + rd)
        self.timeout_polls = timeout_polls

    async def read(self, name, size=8):
        """Read register ``name`` (``size`` bytes)."""
        return await self.bus.read_reg(self.frame + REG[name], size)

    async def write(self, name, value, size=8):
        """Write register ``name`` (``size`` bytes)."""
        await self.bus.write_reg(self.frame + REG[name], value, size)

    async def _poll(self, name, layout, field, value, what):
        for _ in range(self.timeout_polls):
            if unpack(layout, await self.read(name, 4))[field] == value:
                return
            await self.bus.idle()
        raise RedistributorTimeout(f"redistributor {self.rd}: {what}")

    async def wake(self):
        """Clear GICR_WAKER.ProcessorSleep and wait for ChildrenAsleep to clear."""
        await self.write("GICR_WAKER", pack(GicrWaker, processor_sleep=0), 4)
        await self._poll("GICR_WAKER", GicrWaker, "children_asleep", 0,
                         "GICR_WAKER.ChildrenAsleep stays 1")

    async def enable_lpis(self, *, prop_base, pend_base, id_bits, ptz=False):
        """Program the property and pending tables and set EnableLPIs, then wait for RWP = 0.

        Parameters
        ----------
        prop_base : int
            Property table address (4 KiB aligned), ``property_table_bytes(id_bits)`` long.
        pend_base : int
            Pending table address (64 KiB aligned), ``pending_table_bytes(id_bits)`` long.
        id_bits : int
            INTID bits (GICR_PROPBASER.IDbits + 1).
        ptz : bool
            Tell the redistributor the pending table is all zero (no scan).
        """
        if prop_base % PROPBASER_ALIGN:
            raise ValueError(f"prop_base must be 4 KiB aligned, not {prop_base:#x}")
        if pend_base % PENDBASER_ALIGN:
            raise ValueError(f"pend_base must be 64 KiB aligned, not {pend_base:#x}")
        await self.write("GICR_PROPBASER", pack(GicrPropbaser, id_bits=id_bits - 1,
                                                pa=prop_base // PROPBASER_ALIGN))
        await self.write("GICR_PENDBASER", pack(GicrPendbaser, pa=pend_base // PENDBASER_ALIGN,
                                                ptz=int(ptz)))
        await self.write("GICR_CTLR", pack(GicrCtlr, enable_lpis=1), 4)
        await self.wait_rwp()

    async def disable_lpis(self):
        """Clear EnableLPIs and wait until the pending state is in the pending table."""
        await self.write("GICR_CTLR", pack(GicrCtlr, enable_lpis=0), 4)
        await self.wait_rwp()

    async def wait_rwp(self):
        """Wait for GICR_CTLR.RWP = 0."""
        await self._poll("GICR_CTLR", GicrCtlr, "rwp", 0, "GICR_CTLR.RWP stays 1")

    async def wait_syncr(self):
        """Wait for GICR_SYNCR.Busy = 0 (Linux's wait_for_syncr)."""
        await self._poll("GICR_SYNCR", GicrSyncr, "busy", 0, "GICR_SYNCR.Busy stays 1")

    async def set_lpi(self, intid, *, sync=True):
        """GICR_SETLPIR: make ``intid`` pending."""
        await self.write("GICR_SETLPIR", pack(GicrLpir, intid=intid))
        if sync:
            await self.wait_syncr()

    async def clear_lpi(self, intid, *, sync=True):
        """GICR_CLRLPIR: clear ``intid``'s pending state."""
        await self.write("GICR_CLRLPIR", pack(GicrLpir, intid=intid))
        if sync:
            await self.wait_syncr()

    async def inv_lpi(self, intid, *, sync=True):
        """GICR_INVLPIR: reload ``intid``'s configuration."""
        await self.write("GICR_INVLPIR", pack(GicrLpir, intid=intid))
        if sync:
            await self.wait_syncr()

    async def inv_all(self, *, sync=True):
        """GICR_INVALLR: reload every LPI's configuration."""
        await self.write("GICR_INVALLR", 0)
        if sync:
            await self.wait_syncr()
