"""The GIC demo's scenario pieces, shared by ``its demo`` (model and RTL) and ``its host``.

A target is an :class:`gic.sim.driver.bus.ItsBus` on a whole GIC (the ITS frame at 0, the
redistributors' frames after it) whose CPUs are stand-ins that take every LPI
signalled unless masked (:class:`gic.hw.gicr.cpu.CpuStandIn` on the RTL and the
board, :class:`GicModelBus` on the reference model). Such a bus has two more
coroutines:

* ``mask_cpus(mask)``: bit ``n`` set: CPU ``n`` takes no interrupt.
* ``take_interrupts()``: the :class:`Taken` records of the interrupts the CPUs
  took since the last call, in the order taken.

The scenario: every scripted LPI gets a priority (:func:`scripted_priority`) and
is enabled in the property table; each redistributor is woken and its LPIs
enabled (:func:`bring_up_redistributors`); then :func:`priority_round` masks
every CPU, signals a few MSIs per CPU with different priorities (highest INTID
first, so arrival order is not the answer), makes sure they are all pending
(GITS_STAT counters, then a SYNC per redistributor), unmasks the CPUs and
collects what they take: per CPU, highest priority first (lowest value), then
lowest INTID.
"""

from gic.hw.gicr.layouts import MIN_LPI_ID_BITS, LpiConfig
from gic.hw.its.layouts import LPI_BASE
from gic.sim.driver.bus import ModelBus, Taken
from gic.sim.models.commands import pack
from gic.sim.driver.gicr import RedistributorDriver, pending_table_bytes, property_table_bytes

__all__ = ["Taken", "GicModelBus", "scripted_priority", "lpi_id_bits", "bring_up_redistributors",
           "pick_events", "wait_taken", "priority_round", "PRIORITY_ROUND_EVENTS"]

PRIORITY_ROUND_EVENTS = 6
"""MSIs per CPU in a priority round."""


def scripted_priority(lpi):
    """The priority the scripted set-up gives LPI ``lpi``: with ``i = lpi - 8192``,
    ``0x20 + 8 * ((7 * i + i // 4) % 24)``.

    Neighbouring LPIs get different priorities (0x20..0xD8, steps of 8), and every 24th
    LPI shares one, so ties (broken by the lower INTID) happen too.
    """
    index = lpi - LPI_BASE
    return 0x20 + 8 * ((7 * index + index // 4) % 24)


def lpi_id_bits(largest_lpi, params):
    """INTID bits the redistributors are set up with: the fewest that hold ``largest_lpi``
    (at least 14), at most ``params.id_bits``. Fewer bits make the pending-table scans short."""
    return min(params.id_bits, max(MIN_LPI_ID_BITS, largest_lpi.bit_length()))


async def bring_up_redistributors(bus, *, cpus, prop_base, pend_bases, id_bits, lpis):
    """Property table (``lpis`` enabled at :func:`scripted_priority`, every other LPI
    disabled), zeroed pending tables, then each redistributor woken and EnableLPIs set.

    Returns
    -------
    list of RedistributorDriver
    """
    table = bytearray(property_table_bytes(id_bits))
    for lpi in lpis:
        table[lpi - LPI_BASE] = pack(LpiConfig, enable=1, priority=scripted_priority(lpi) >> 2)
    await bus.write_mem(prop_base, bytes(table))
    gicrs = []
    for rd in range(cpus):
        await bus.write_mem(pend_bases[rd], bytes(pending_table_bytes(id_bits)))
        gicr = RedistributorDriver(bus, rd)
        await gicr.wake()
        await gicr.enable_lpis(prop_base=prop_base, pend_base=pend_bases[rd], id_bits=id_bits,
                               ptz=True)
        gicrs.append(gicr)
    return gicrs


def pick_events(driver, cpus, per_cpu=PRIORITY_ROUND_EVENTS):
    """The events of a priority round: per CPU, the first ``per_cpu`` mapped events, in
    (DeviceID, EventID) order, whose collection is on that CPU now (after any MOVI).

    Returns
    -------
    list of (device_id, event_id, cpu, lpi)
    """
    picks = []
    count = [0] * cpus
    for (device_id, event_id), (lpi, icid) in sorted(driver.events.items()):
        cpu = driver.collections.get(icid)
        if cpu is not None and cpu < cpus and count[cpu] < per_cpu:
            count[cpu] += 1
            picks.append((device_id, event_id, cpu, lpi))
    return picks


async def wait_taken(bus, count, *, polls=10000):
    """Collect :class:`Taken` records until ``count`` have come (or ``polls`` polls found
    nothing new); returns them, in the order taken."""
    taken = []
    idle = 0
    while len(taken) < count and idle < polls:
        new = await bus.take_interrupts()
        taken += new
        idle = 0 if new else idle + 1
        if len(taken) < count:
            await bus.idle()
    return taken


async def priority_round(bus, driver, picks, *, cpus, translater=None):
    """Mask every CPU, signal the MSIs of ``picks``, make sure they are pending, unmask, and
    collect what the CPUs take.

    Parameters
    ----------
    picks : list of (device_id, event_id, cpu, lpi)
        The events to signal, each mapped to ``lpi`` on CPU ``cpu`` (one MSI each). They are
        signalled in decreasing LPI order.
    translater : async function (device_id, event_id) or None
        Signals every other MSI instead of ``bus.msi`` (the board's GITS_TRANSLATER write).

    Returns
    -------
    list of list of Taken
        Per CPU, in the order taken.
    """
    await bus.take_interrupts()                   # whatever was taken before
    await bus.mask_cpus((1 << cpus) - 1)
    before = await driver.stats()
    for index, (device_id, event_id, _, _) in enumerate(sorted(picks, key=lambda p: -p[3])):
        if translater is not None and index % 2:
            await translater(device_id, event_id)
        else:
            await bus.msi(device_id, event_id)
    for _ in range(driver.timeout_polls):         # every MSI translated ...
        stats = await driver.stats()
        if stats["MSI_TRANSLATED"] + stats["MSI_DROPPED"] - before["MSI_TRANSLATED"] \
                - before["MSI_DROPPED"] >= len(picks):
            break
        await bus.idle()
    for rd in sorted({cpu for _, _, cpu, _ in picks}):
        await driver.sync(rd)                     # ... and its SET handled by its redistributor
    await bus.mask_cpus(0)
    per_cpu = [[] for _ in range(cpus)]
    for record in await wait_taken(bus, len({lpi for _, _, _, lpi in picks})):
        per_cpu[record.cpu].append(record)
    return per_cpu


class GicModelBus(ModelBus):
    """A :class:`ModelBus` on a :class:`gic.sim.models.gicr.GicModel` whose CPUs are stand-ins.

    After every register write and MSI, each unmasked CPU takes (acknowledges, records,
    ends) every interrupt its redistributor signals, as :class:`gic.hw.gicr.cpu.CpuStandIn`
    does on the RTL; the records wait for :meth:`take_interrupts`.

    Parameters
    ----------
    model : gic.sim.models.gicr.GicModel
    """

    def __init__(self, model, memory=None):
        super().__init__(model, memory)
        self.mask = 0
        self._taken = []

    @classmethod
    def create(cls, params, memory=None):
        from gic.sim.models.gicr import GicModel
        from gic.sim.models.memory import Memory
        memory = Memory() if memory is None else memory
        return cls(GicModel(params, memory), memory)

    def _take(self):
        model = self.model
        for cpu, redistributor in enumerate(model.rds):
            while not self.mask >> cpu & 1 and model.irq(cpu):
                _, priority = redistributor.highest()
                intid = model.acknowledge(cpu)
                self._taken.append(Taken(cpu, intid, priority))
                model.end_of_interrupt(cpu, intid)

    async def write_reg(self, offset, value, size=8):
        await super().write_reg(offset, value, size)
        self._take()

    async def msi(self, device_id, event_id):
        await super().msi(device_id, event_id)
        self._take()

    async def mask_cpus(self, mask):
        self.mask = mask
        self._take()

    async def take_interrupts(self):
        taken, self._taken = self._taken, []
        return taken
