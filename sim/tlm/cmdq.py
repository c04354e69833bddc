"""The command queue's fetch (``its/cmdq.py``): 32-byte commands read from the ring in
memory, from GITS_CREADR up to GITS_CWRITER, ahead of the executor.

Models in cycles: when a fetch is offered (the cycle after it can be, at most one every
two cycles, at most :data:`FETCH_DEPTH` ahead), the memory's answer (through
:class:`~gic.sim.tlm.memory.MemoryTarget`) and the FIFO's two cycles to the executor;
flushes on a stall or a GITS_CBASER write. The fetched bytes are not carried: the
executor reads the command from the ring's memory when it takes it (a fetch error is).
"""

from typing import NamedTuple

from gic.hw.its.layouts import CBASER_PAGE, COMMAND_BYTES, GitsCbaser, GitsCreadr, GitsCwriter
from gic.hw.its.regmap import REG

from .common import FETCH_CLIENT, _decoder
from .kernel import Module, Out
from .timing import Timing

__all__ = ["CommandFetch", "FETCH_DEPTH"]

FETCH_DEPTH = Timing.default("fetch_depth")
"""Commands the command queue fetches ahead by default (``CommandQueue(depth=4)``):
:class:`Timing.fetch_depth <gic.sim.tlm.timing.Timing>`."""

_CBASER = _decoder(GitsCbaser, "valid", "pa", "size")
_CWRITER = _decoder(GitsCwriter, "offset")
_CREADR = _decoder(GitsCreadr, "offset", "stalled")


class _Fetched(NamedTuple):
    """A command fetched from the ring (``its/cmdq.FetchedCommand``)."""
    sequence: int
    generation: int
    slot: int
    ready: int      # first cycle the executor can take it
    error: bool


class CommandFetch(Module):
    """Fetches commands from CREADR up to CWRITER (``its/cmdq.CommandQueue``).

    While enabled, ``CBASER.Valid``, not stalled and behind CWRITER: one four-doubleword
    read a command, offered the cycle after it can fetch, at most one every two cycles and
    at most :data:`FETCH_DEPTH` commands fetched ahead of the executor; a command reaches
    the executor two cycles after its last doubleword. A stall or a GITS_CBASER write
    throws the prefetched commands away.

    The depth and the costs are :class:`~gic.sim.tlm.timing.Timing`'s (``fetch_depth``,
    ``fetch_offer_cycles``, ``fetch_fifo_cycles``), the defaults when ``timing`` is None.

    Members
    -------
    cmd : Out
        To the executor.
    """

    def __init__(self, kernel, model, memory, *, timing=None, parent=None):
        super().__init__(kernel, "cmdq", parent)
        timing = timing or Timing()
        self._depth = timing.fetch_depth
        self._offer = timing.fetch_offer_cycles
        self._fifo = timing.fetch_fifo_cycles
        self.model = model
        self.memory = memory
        self.cmd = Out("cmd")
        self.generation = 0
        self.taken = {}                 # sequence -> cycle the executor took it
        self._took = None
        self._changed = None
        self._visible_from = 0          # register changes seen from this cycle
        self._next_fetch = 0            # first cycle a new fetch may be decided
        self._slot = 0                  # next slot to fetch
        self._sequence = 0
        self.ring_base = self.ring_slots = self._cwriter = 0
        self._ring_valid = False
        self._read_registers()

    def start(self):
        self.process(self._run())

    def _read_registers(self):
        valid, pa, size = _CBASER(self.model.read(REG["GITS_CBASER"]))
        self._ring_valid = bool(valid)
        self.ring_base = pa * CBASER_PAGE
        self.ring_slots = (size + 1) * (CBASER_PAGE // COMMAND_BYTES)
        self._cwriter, = _CWRITER(self.model.read(REG["GITS_CWRITER"]))

    def registers_changed(self, cycle, *, restart=False, reread=True):
        """CTLR, CBASER, CWRITER (``reread``) or a stall changed in ``cycle`` - 1 (seen from
        ``cycle``)."""
        if reread:
            self._read_registers()
        self._visible_from = max(self._visible_from, cycle)
        if restart:
            self.flush()
        if self._changed is not None:
            changed, self._changed = self._changed, None
            changed.succeed()

    def flush(self):
        """Throw away every prefetched command and fetch again from CREADR."""
        self.generation += 1
        self._slot = _CREADR(self.model.read(REG["GITS_CREADR"]))[0]
        while self.cmd.channel.nb_get() is not None:
            pass
        self.taken = {}
        self._sequence = 0

    def took(self, sequence, cycle):
        """The executor took command ``sequence`` in ``cycle``."""
        self.taken[sequence] = cycle
        if self._took is not None:
            took, self._took = self._took, None
            took.succeed()

    def fetchable(self):
        """Whether there is a command to fetch (enabled, ring valid, not stalled, behind
        CWRITER)."""
        model = self.model
        return (model.enabled and self._ring_valid and not model.stalled and
                self._slot != self._cwriter)

    def _run(self):
        kernel = self.kernel
        while True:
            if not self.fetchable():
                self._changed = kernel.event()
                yield self._changed
                continue
            cycle = max(self._visible_from, self._next_fetch, kernel.now)
            if self._sequence >= self._depth:
                earlier = self._sequence - self._depth
                if earlier not in self.taken:
                    self._took = kernel.event()
                    yield self._took
                    continue
                cycle = max(cycle, self.taken[earlier] + 1)
            generation = self.generation
            yield kernel.at(cycle + self._offer)
            if generation != self.generation or not self.fetchable():
                continue
            result = yield self.memory.read(FETCH_CLIENT,
                                            self.ring_base + self._slot * COMMAND_BYTES,
                                            COMMAND_BYTES // 8)
            self._next_fetch = result.accepted + 1
            if generation != self.generation:
                continue                # flushed while in flight: the answer is dropped
            self.cmd.nb_put(_Fetched(self._sequence, generation, self._slot,
                                     result.last + self._fifo, result.error))
            self._sequence += 1
            self._slot = (self._slot + 1) % self.ring_slots
