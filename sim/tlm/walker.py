"""The table walker (``its/walker.py``): one translation's reads of the device table
(flat or two-level), the ITT and the collection table.

Models in cycles: the walk's reads in the RTL's order, each offered in the cycle the
previous one's data arrives (the first the cycle after the walk starts), at the memory's
timing (:class:`~gic.sim.tlm.memory.MemoryTarget`); the result is decided the cycle after
the last data (the cycle after the start when no read is needed). The costs are
:class:`~gic.sim.tlm.timing.Timing`'s ``walk_start_cycles``, ``walk_step_cycles`` and
``walk_decide_cycles``. Addresses are those of
:mod:`gic.hw.its.geometry`'s integer forms. Not modelled: the request and result
handshakes (the translator starts a walk and takes its result, :mod:`gic.sim.tlm.translator`,
which also decides when the walker is free again and fills the caches).
"""

from gic.hw.its.geometry import ite_address_int, level2_entry_address_int
from gic.hw.its.layouts import DropReason

from .common import TRANSLATOR_CLIENT
from .kernel import Module
from .memory import ADDR_BITS
from .tables import _DTE, _ITE, _LEVEL1, _cte_target
from .timing import Timing

__all__ = ["Walker"]

_DEFAULT = Timing()


class _Walk:
    """One walk: its start, the cycles known so far, its result and events."""
    __slots__ = ("start", "bound", "cycle", "result", "done", "left", "decision",
                 "fill_device", "fill_translation", "dte_read", "dte", "reads")

    def __init__(self, start, kernel, decision, timing=None):
        timing = timing or _DEFAULT
        self.start = start
        self.cycle = start + timing.walk_start_cycles   # the cycle the next read is offered in
        self.bound = self.cycle + timing.walk_decide_cycles  # earliest cycle of the result
        self.result = None          # (status, pintid, rd, result cycle = decision cycle)
        self.done = kernel.event()  # the result is known
        self.left = kernel.event()  # its outcome left the translator
        self.decision = decision
        self.fill_device = self.fill_translation = False
        self.dte_read = False
        self.dte = None
        self.reads = 0


class _Drop(Exception):
    """The walk ends with ``status`` (not OK)."""

    def __init__(self, status):
        super().__init__(status.name)
        self.status = status


class Walker(Module):
    """Walks the tables for one (DeviceID, EventID) at a time (``its/walker.Walker``).

    Parameters
    ----------
    kernel : Kernel
    params : ItsParams
    tables : gic.sim.tlm.tables._Tables
        Where the tables are.
    memory : MemoryTarget
        Read as the translator's client.
    timing : Timing or None
        ``walk_step_cycles`` and ``walk_decide_cycles`` (the walk's start is the
        translator's, :class:`_Walk`); the defaults when None.
    """

    def __init__(self, kernel, params, tables, memory, *, timing=None, parent=None):
        super().__init__(kernel, "walker", parent)
        self.params = params
        self.tables = tables
        self.memory = memory
        timing = timing or Timing()
        self._step = timing.walk_step_cycles
        self._decide = timing.walk_decide_cycles

    def run(self, walk, device_id, event_id, dte):
        """Walk (a process part) from ``walk.start``; the CHECK state offers the first read
        in the cycle after. ``dte`` is the device cache's ``(itt_addr, size)`` or None.
        Sets ``walk.result`` to ``(status, pintid, rd, decision cycle)``, and ``walk.dte``
        to a DTE it read."""
        try:
            if dte is None:
                dte = yield from self._device_entry(walk, device_id)
            pintid, rd = yield from self._translation(walk, event_id, dte)
            status = DropReason.OK
        except _Drop as drop:
            status, pintid, rd = drop.status, 0, 0
        walk.result = (status, pintid, rd, walk.cycle + self._decide)

    def _read(self, walk, addr):
        """The entry at ``addr``, read in ``walk.cycle``, which moves to its data's cycle."""
        if addr >> ADDR_BITS:
            raise _Drop(DropReason.MEMORY_ERROR)    # beyond the bus: it would answer DECERR
        if walk.reads:
            walk.cycle += self._step    # a read after another: the step from its data
        walk.reads += 1
        yield self.kernel.at(walk.cycle)
        result = yield self.memory.read(TRANSLATOR_CLIENT, addr)
        walk.cycle = result.first
        walk.bound = walk.cycle + self._decide
        word = result.data[0]
        if word is None:
            raise _Drop(DropReason.MEMORY_ERROR)
        return word

    def _device_entry(self, walk, device_id):
        """The device's valid DTE, ``(itt_addr, size)``: through its level-1 entry in a
        two-level table."""
        entry = self.tables.device(device_id)
        if entry is None:
            raise _Drop(DropReason.DEVICE_OOR)
        addr = entry.addr
        if entry.level1:
            valid, page = _LEVEL1((yield from self._read(walk, addr)))
            if not valid:
                raise _Drop(DropReason.DEVICE_OOR)
            addr = level2_entry_address_int(page, entry.slot)
        valid, itt_addr, size = _DTE((yield from self._read(walk, addr)))
        if not valid:
            raise _Drop(DropReason.UNMAPPED_DEVICE)
        walk.dte_read = True
        walk.dte = (itt_addr, size)
        return walk.dte

    def _translation(self, walk, event_id, dte):
        """``(pintid, rd)`` of ``event_id`` in the ITT of ``dte``."""
        itt_addr, size = dte
        if event_id >> (size + 1):
            raise _Drop(DropReason.EVENT_OOR)
        valid, icid, pintid = _ITE((yield from self._read(walk,
                                                          ite_address_int(itt_addr, event_id))))
        if not valid:
            raise _Drop(DropReason.UNMAPPED_INTERRUPT)
        target = yield from self._target(walk, icid)
        if target is None:
            raise _Drop(DropReason.UNMAPPED_COLLECTION)
        return pintid, target

    def _target(self, walk, icid):
        """The redistributor of collection ``icid``: on chip, or its CTE; None if unmapped."""
        tables = self.tables
        if icid < self.params.hcc:
            return tables.on_chip(icid)
        if not tables.collection_exists(icid):
            return None
        return _cte_target(self.params, (yield from self._read(walk, tables.cte_address(icid))))
