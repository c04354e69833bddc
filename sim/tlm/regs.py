"""The register block (``its/regs.py``): the GITS_* registers, as software reads and
writes them.

Models in cycles only the register strobe: an access happens in the current cycle and
takes effect at its end (seen by the other blocks from the next cycle); the AXI4-Lite
bridge's cycles are :class:`gic.sim.tlm.bus.TlmBus`'s. The registers' contents are the
reference model's (:class:`gic.sim.models.its.ItsModel`); on top of them this block
models what depends on the other blocks' timing: GITS_CTLR.Quiescent, GITS_CREADR moving
when the executor retires, GITS_QUERY_RESULT.Done, GITS_CACHE_CTL.Invalidate, and
GITS_TRANSLATER writes as MSIs.
"""

from gic.hw.its.layouts import COMMAND_BYTES, CacheCtl, GitsCreadr, GitsCtlr, QueryRequest
from gic.hw.its.regmap import REG, REGISTERS, TRANSLATER
from gic.sim.models.commands import pack, unpack

from .common import _encoder
from .kernel import Module

__all__ = ["RegisterBlock"]

_ENCODE_CREADR = _encoder(GitsCreadr)

_WIDTHS = {register.offset: register.width for register in REGISTERS}
_OVERRIDDEN = {REG[name] for name in ("GITS_CTLR", "GITS_CREADR", "GITS_QUERY_RESULT",
                                      "GITS_CACHE_CTL")}
_WORD = (1 << 32) - 1


class RegisterBlock(Module):
    """The GITS_* registers (``its/regs.Registers``), held by the reference model.

    An access happens at the current cycle and takes effect at its end (seen from the
    next cycle), as a register-bus strobe; :class:`gic.sim.tlm.bus.TlmBus` adds the AXI4-Lite
    bridge's cycles around it. On top of the model: ``GITS_CTLR.Quiescent`` waits for
    the blocks to be idle; ``GITS_CREADR`` moves when the executor retires;
    ``GITS_QUERY_RESULT.Done`` waits for the translator's answer;
    ``GITS_CACHE_CTL.Invalidate`` reads 1 until the executor invalidated;
    ``GITS_TRANSLATER`` writes are MSIs.
    """

    def __init__(self, kernel, its, *, parent=None):
        super().__init__(kernel, "regs", parent)
        self.its = its
        self.model = its.model
        self._creadr = self.model.read(REG["GITS_CREADR"])
        self._creadr_next = None        # (cycle, value): CREADR after the retiring command
        self._creadr_pending = self._creadr
        self._query_answer = None       # the event of the query in flight
        self._query_done = 0

    def read(self, offset, size=8):
        """Read ``size`` bytes at ``offset`` now (as :meth:`gic.sim.models.its.ItsModel.read`)."""
        if size == 8 and _WIDTHS.get(offset) == 64:
            return self._value(offset)
        value = 0
        for n in range(size // 4):
            word_offset = offset + 4 * n
            base = word_offset if word_offset in _WIDTHS else word_offset - 4
            if base in _OVERRIDDEN and word_offset - base < _WIDTHS[base] // 8:
                word = (self._value(base) >> (8 * (word_offset - base))) & _WORD
            else:
                word = self.model.read(word_offset, 4)
            value |= word << (32 * n)
        return value

    def _value(self, offset):
        """The whole register at ``offset``, as software reads it now."""
        now = self.kernel.now
        if offset == REG["GITS_CTLR"]:
            enabled = self.model.enabled
            return pack(GitsCtlr, enabled=enabled, quiescent=not enabled and self.its.idle())
        if offset == REG["GITS_CREADR"]:
            if self._creadr_next is not None and self._creadr_next[0] <= now:
                self._creadr = self._creadr_next[1]
                self._creadr_next = None
            return self._creadr
        if offset == REG["GITS_QUERY_RESULT"]:
            answer = self._query_answer
            if answer is not None and not (answer.triggered and self._query_done <= now):
                return 0
        if offset == REG["GITS_CACHE_CTL"]:
            return self.model.read(offset, 4) | pack(
                CacheCtl, invalidate=int(self.its.executor.invalidate_pending))
        return self.model.read(offset, _WIDTHS.get(offset, 32) // 8)

    def write(self, offset, value, size=8, *, device_id=0):
        """Write now; the change is seen from the next cycle."""
        its, model, now = self.its, self.model, self.kernel.now
        if offset == TRANSLATER:
            its.msi(device_id, value & _WORD, offer=now + 1)
            return
        was_enabled, was_stalled = model.enabled, model.stalled
        touched = {base for base in _WIDTHS
                   if base < offset + size and offset < base + _WIDTHS[base] // 8}
        if REG["GITS_CACHE_CTL"] in touched:
            cache_disable = unpack(CacheCtl, model.read(REG["GITS_CACHE_CTL"], 4))["disable"]
        model.write(offset, value, size, device_id=device_id)
        seen = now + 1
        if REG["GITS_CTLR"] in touched and model.enabled != was_enabled:
            its.translator.set_enabled(seen, model.enabled)
        if touched & {REG["GITS_BASER0"], REG["GITS_BASER1"]}:
            its.tables.refresh()
        if REG["GITS_CBASER"] in touched or was_stalled and not model.stalled:
            # A new ring starts at 0; a retry clears Stalled (CREADR stays on the command).
            self._creadr = model.read(REG["GITS_CREADR"])
            self._creadr_next = None
        if touched & {REG["GITS_CTLR"], REG["GITS_CBASER"], REG["GITS_CWRITER"]}:
            its.cmdq.registers_changed(seen, restart=REG["GITS_CBASER"] in touched and
                                       not model.enabled)
        if REG["GITS_CACHE_CTL"] in touched:
            written = unpack(CacheCtl, (value >> (8 * (REG["GITS_CACHE_CTL"] - offset))) & _WORD)
            if written["disable"] != cache_disable:
                its.translator.set_cache_disable(seen, written["disable"])
            if written["invalidate"]:
                its.executor.request_invalidate(seen)
        if REG["GITS_QUERY"] in touched:
            request = unpack(QueryRequest, model.read(REG["GITS_QUERY"]))
            self._query_answer = its.query(request["device_id"], request["event_id"],
                                           offer=seen)
            self._query_answer.callbacks.append(self._answered)

    def _answered(self, event):
        if event is self._query_answer:
            self._query_done = event.value[0] + 1

    def command_stepped(self, offset):
        """The model executed the command at ring byte ``offset``: CREADR moves past it (or
        stays, stalled) when the executor retires it."""
        stalled = self.model.stalled
        slot = offset // COMMAND_BYTES
        if not stalled:
            slot = (slot + 1) % self.its.cmdq.ring_slots
        self._creadr_pending = _ENCODE_CREADR(offset=slot, stalled=stalled)

    def command_retired(self, cycle):
        """The executor retired the command in ``cycle``: CREADR moves at its end."""
        self._creadr_next = (cycle + 1, self._creadr_pending)
        if self.model.stalled:
            self.its.cmdq.flush()
        self.its.cmdq.registers_changed(cycle + 1, reread=False)
