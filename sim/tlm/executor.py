"""The command executor (``its/executor.py``): one command at a time, step by step as
the shared :data:`~gic.hw.its.recipes.RECIPES` say (``hw/its/recipes.py``).

Models in cycles: the executor's states (DECODE, the table reads with their memory
timing, CHECK, the collection look-ups, holding the translator until it is idle, the
table write, the invalidation, the packets into the forwarder and the SYNC acknowledge,
retire) and GITS_CACHE_CTL.Invalidate. Does not model the command's architectural effect
itself: :meth:`gic.sim.models.its.ItsModel.step` executes it at the cycle the RTL changes
the tables (the TLM checks the error its steps predicted against the model's).
"""

from amaranth.lib import data

from gic.hw.its.geometry import ite_address_int, level2_entry_address_int
from gic.hw.its.layouts import (
    COMMAND_BYTES, COMMAND_LAYOUTS, ENTRY_BYTES, LPI_BASE, CmdError, CommandHeader, GicOp,
    InvalKind,
)
from gic.hw.its.recipes import INVALIDATION, RECIPES, PacketWhen, RdCheck, Write

from .common import EXECUTOR_CLIENT, _decoder
from .kernel import In, Module
from .tables import _DTE, _ITE, _LEVEL1, _cte_target
from .timing import Timing

__all__ = ["Executor"]

_HEADER = _decoder(CommandHeader, "cmd")


def _command_decoder(layout):
    names = [name for name, _ in data.Layout.cast(layout)
             if not name.startswith("_") and name != "cmd"]
    decode = _decoder(layout, *names)
    return lambda value: dict(zip(names, decode(value)))


_COMMAND_FIELDS = {cmd: _command_decoder(layout) for cmd, layout in COMMAND_LAYOUTS.items()}
_NUMBERS = {cmd.value: cmd for cmd in COMMAND_LAYOUTS}


def _decode_command(raw):
    """``(Cmd or None, fields)`` of a 32-byte command (as :func:`gic.sim.models.commands.decode_command`,
    without its cost: every command the executor runs is decoded twice otherwise)."""
    value = int.from_bytes(raw, "little")
    cmd = _NUMBERS.get(_HEADER(value)[0])
    return cmd, (_COMMAND_FIELDS[cmd](value) if cmd is not None else {})




class _Recipe:
    """A :class:`gic.hw.its.recipes.Recipe` constant as plain Python values."""

    def __init__(self, const):
        for name in ("device_oor", "dte_invalid", "ittsize_oor", "event_oor", "ite_invalid",
                     "pintid_oor", "collection_oor", "rd_check", "rd_oor", "cmd_collection",
                     "ite_collection_unmapped", "write", "packet_when", "packet_op",
                     "packet_rd"):
            setattr(self, name, getattr(const, name))
        self.pintid_is_event = bool(const.pintid_is_event)
        self.ite_collection = bool(const.ite_collection)


_RECIPES = {cmd: _Recipe(const) for cmd, const in RECIPES.items()}


class _Command:
    """The command being executed: its recipe and fields, and the DTE its steps read."""
    __slots__ = ("recipe", "fields", "device_id", "event_id", "icid", "itt_addr", "size")

    def __init__(self, recipe, fields):
        self.recipe = recipe
        self.fields = fields
        self.device_id = fields.get("device_id", 0)
        self.event_id = fields.get("event_id", 0)
        self.icid = fields.get("icid", 0)
        self.itt_addr = self.size = 0


class _Failed(Exception):
    """The command fails with ``code``; the FAIL state is in cycle ``cycle``."""

    def __init__(self, code, cycle):
        super().__init__(code.name)
        self.code = code
        self.cycle = cycle


class Executor(Module):
    """Runs the fetched commands one at a time (``its/executor.Executor``).

    Each command goes through the steps of its :data:`~gic.hw.its.recipes.RECIPES` row with
    the RTL's cycle counts: taken in cycle *c*; a table read offered the cycle after its
    state is entered, the next state the cycle after its data; before a write it raises
    ``hold`` and waits for the translator to be idle; then the write (or the on-chip
    collection), the invalidation, the packet, the SYNC acknowledge; it retires and takes
    the next command the cycle after. The command's architectural effect is
    :meth:`gic.sim.models.its.ItsModel.step`, called at the cycle the RTL writes (or sends, or
    retires); its error must be the one the steps predicted.

    Members
    -------
    retired : list of int
        The cycle each command retired.
    stepped : list of int
        The cycle the reference model executed each command (its effect on the tables), for
        checkers that replay MSIs and commands in the TLM's order.
    cmd : In
        From the command fetch.

    The costs are :class:`~gic.sim.tlm.timing.Timing`'s ``exec_*`` fields (the defaults
    when ``timing`` is None).
    """

    def __init__(self, kernel, its, *, timing=None, parent=None):
        super().__init__(kernel, "executor", parent)
        timing = timing or Timing()
        self._decode_cycles = timing.exec_decode_cycles
        self._step_cycles = timing.exec_step_cycles
        self._write_cycles = timing.exec_write_cycles
        self._collection_write_cycles = timing.exec_collection_write_cycles
        self._invalidate_cycles = timing.exec_invalidate_cycles
        self._retire_cycles = timing.exec_retire_cycles
        self.its = its
        self.params = its.params
        self.model = its.model
        self.cmd = In("cmd")
        self.retired = []
        self.stepped = []
        self.free = 0                   # first cycle it can take a command
        self.busy = False
        self._wake = None
        self._invalidate_from = None    # GITS_CACHE_CTL.Invalidate pending from this cycle
        self._invalidate_done = -1      # ... and then pending until this cycle
        self._retire_waiters = []

    def start(self):
        self.process(self._run())

    def notify(self):
        if self._wake is not None:
            wake, self._wake = self._wake, None
            wake.succeed()

    def request_invalidate(self, cycle):
        """GITS_CACHE_CTL.Invalidate was written; pending from ``cycle``."""
        if self._invalidate_from is None:
            self._invalidate_from = cycle
        self.notify()

    @property
    def invalidate_pending(self):
        """GITS_CACHE_CTL.Invalidate reads 1."""
        return self._invalidate_from is not None or self.kernel.now < self._invalidate_done

    def retired_event(self, count):
        """An event when ``count`` commands have retired in all."""
        event = self.kernel.event()
        self._retire_waiters.append((count, event))
        self._check_retired()
        return event

    def _check_retired(self):
        for request in list(self._retire_waiters):
            if len(self.retired) >= request[0]:
                self._retire_waiters.remove(request)
                request[1].succeed()

    def _run(self):
        kernel, fetch = self.kernel, self.its.cmdq
        while True:
            item = self.cmd.channel.peek() if len(self.cmd.channel) else None
            if item is not None and item.generation != fetch.generation:
                self.cmd.nb_get()
                continue
            if self._invalidate_from is not None and (
                    item is None or self._invalidate_from <= max(item.ready, self.free)):
                yield from self._invalidate_all(max(self.free, self._invalidate_from))
                continue
            if item is None:
                self._wake = kernel.event()
                yield kernel.any_of([self._wake, self.cmd.data_written()])
                continue
            self.cmd.nb_get()
            take = max(item.ready, self.free, kernel.now)
            fetch.took(item.sequence, take)
            self.busy = True
            retire = yield from self._command(item, take)
            yield kernel.at(retire)
            self.busy = False
            self.free = retire + self._retire_cycles
            self.retired.append(retire)
            self._check_retired()
            self.its.regs.command_retired(retire)

    def _invalidate_all(self, cycle):
        """GITS_CACHE_CTL.Invalidate: hold, wait for the translator, invalidate, release."""
        translator = self.its.translator
        self.busy = True
        yield self.kernel.at(cycle)
        translator.hold(cycle + 1)
        idle = yield translator.quiesce(cycle)
        translator.invalidate(idle + 1, InvalKind.ALL)
        translator.release(idle + 2)
        self._invalidate_from = None
        self._invalidate_done = idle + 2
        yield self.kernel.at(idle + 1)
        self.free = idle + 2
        self.busy = False

    # -- one command ---------------------------------------------------------------------

    def _read(self, cycle, addr):
        """A table read offered in ``cycle``: ``(data cycle, word or None)``."""
        yield self.kernel.at(cycle)
        result = yield self.its.memory.read(EXECUTOR_CLIENT, addr)
        return result.first, result.data[0]

    def _checked_read(self, cycle, addr, code, check):
        """Read the entry at ``addr`` (offered in ``cycle``); fail with TABLE_READ_ERROR or,
        when ``check(word)`` is false, with ``code``, in the cycle after the data."""
        arrival, word = yield from self._read(cycle, addr)
        if word is None:
            raise _Failed(CmdError.TABLE_READ_ERROR, arrival + self._step_cycles)
        if not check(word) and code is not CmdError.NONE:
            raise _Failed(code, arrival + self._step_cycles)
        return arrival, word

    def _collection(self, cycle, icid, code):
        """LOOKUP_*_COLLECTION in ``cycle``: ``(cycle it goes on, target or None)``."""
        tables, step = self.its.tables, self._step_cycles
        if not tables.collection_exists(icid):
            if code is not CmdError.NONE:
                raise _Failed(code, cycle + step)
            return cycle, None
        if icid < self.params.hcc:
            target = tables.on_chip(icid)
            if target is None and code is not CmdError.NONE:
                raise _Failed(code, cycle + step)
            return cycle, target
        arrival, word = yield from self._checked_read(
            cycle + step, tables.cte_address(icid), code,
            lambda word: _cte_target(self.params, word) is not None)
        return arrival, _cte_target(self.params, word)

    def _command(self, item, take):
        """Run the command taken in ``take``; returns its retire cycle (FAIL retires in the
        cycle it is entered)."""
        try:
            return (yield from self._steps(item, take))
        except _Failed as failure:
            yield self.kernel.at(failure.cycle)
            self._step(failure.code)
            return failure.cycle

    def _step(self, predicted):
        """The reference model executes the command; check its error against ``predicted``."""
        model = self.model
        executed = model.step()
        self.stepped.append(self.kernel.now)
        regs = self.its.regs
        if executed is None:
            self.its.mismatches.append(f"the model had no command to execute "
                                       f"(TLM predicted {predicted.name})")
            return None
        if executed.error is not predicted:
            self.its.mismatches.append(
                f"command at {executed.offset:#x} {executed.command}: model "
                f"{executed.error.name}, TLM predicted {predicted.name}")
        regs.command_stepped(executed.offset)
        return executed

    def _steps(self, item, take):
        """The command's states from DECODE (the cycle after ``take``); its retire cycle."""
        command = self._decode(item, take + self._decode_cycles)
        recipe = command.recipe
        state = take + self._decode_cycles
        if recipe.device_oor is not CmdError.NONE:
            state = yield from self._device(command, state)     # DEVICE .. WAIT_DTE
        self._check(command, state)                             # CHECK
        step, ite_icid = yield from self._ite(command, state)   # WAIT_ITE
        step, new_rd, old_rd = yield from self._collections(command, step, ite_icid)
        if recipe.write is not Write.NONE:
            step, failed = yield from self._write(command, step)
            if failed:
                return step
        else:
            # No table changes: the model executes it now, so that its packet is known
            # (and announced) as early as the RTL's cycle for it is.
            self._step(CmdError.NONE)
        retire = yield from self._packets(command, step, old_rd, new_rd)
        if recipe.write is not Write.NONE:
            self.its.translator.release(retire + 1)
        return retire

    def _decode(self, item, state):
        """The fetched command's :class:`_Command`; fails in DECODE (``state``)."""
        its = self.its
        if item.error:
            raise _Failed(CmdError.COMMAND_READ_ERROR, state)
        cmd, fields = _decode_command(its.memory.memory.read(
            its.cmdq.ring_base + item.slot * COMMAND_BYTES, COMMAND_BYTES))
        recipe = _RECIPES.get(cmd)
        if recipe is None:
            raise _Failed(CmdError.UNSUPPORTED_COMMAND, state)
        return _Command(recipe, fields)

    def _device(self, command, state):
        """DEVICE, WAIT_LEVEL1, WAIT_DTE from ``state``: the DTE's ``itt_addr`` and ``size``
        into ``command``; the cycle CHECK is in."""
        recipe, step = command.recipe, self._step_cycles
        entry = self.its.tables.device(command.device_id)
        if entry is None:
            raise _Failed(recipe.device_oor, state + step)
        addr = entry.addr
        if entry.level1:
            arrival, word = yield from self._checked_read(
                state + step, addr, recipe.device_oor, lambda word: _LEVEL1(word)[0])
            addr = level2_entry_address_int(_LEVEL1(word)[1], entry.slot)
            state = arrival
        if recipe.dte_invalid is not CmdError.NONE:
            arrival, word = yield from self._checked_read(
                state + step, addr, recipe.dte_invalid, lambda word: _DTE(word)[0])
            _, command.itt_addr, command.size = _DTE(word)
            state = arrival
        return state + step

    def _check(self, command, state):
        """CHECK in ``state``: the recipe's range checks, each failing in the cycle after."""
        p, recipe, fields = self.params, command.recipe, command.fields
        pintid = command.event_id if recipe.pintid_is_event else fields.get("pintid", 0)
        rdbase = fields.get("rdbase", 0)
        rd_bad = {
            RdCheck.NONE: False,
            RdCheck.RDBASE: rdbase >= p.num_redistributors,
            RdCheck.RDBASE_IF_VALID: fields.get("valid", 0) and rdbase >= p.num_redistributors,
            RdCheck.RDBASE_BOTH: max(fields.get("rdbase1", 0),
                                     fields.get("rdbase2", 0)) >= p.num_redistributors,
        }[recipe.rd_check]
        for failing, code in (
                (fields.get("valid", 0) and fields.get("size", 0) + 1 > p.event_bits,
                 recipe.ittsize_oor),
                (command.event_id >> (command.size + 1) != 0, recipe.event_oor),
                (not LPI_BASE <= pintid < 1 << p.id_bits, recipe.pintid_oor),
                (not self.its.tables.collection_exists(command.icid), recipe.collection_oor),
                (rd_bad, recipe.rd_oor)):
            if failing and code is not CmdError.NONE:
                raise _Failed(code, state + self._step_cycles)

    def _ite(self, command, state):
        """WAIT_ITE after CHECK in ``state``: ``(the cycle of the step that goes on, the
        ITE's ICID)``."""
        recipe = command.recipe
        if recipe.ite_invalid is CmdError.NONE:
            return state, 0
        arrival, word = yield from self._checked_read(
            state + self._step_cycles, ite_address_int(command.itt_addr, command.event_id),
            recipe.ite_invalid, lambda word: _ITE(word)[0])
        return arrival, _ITE(word)[1]

    def _collections(self, command, step, ite_icid):
        """LOOKUP_CMD_COLLECTION, LOOKUP_ITE_COLLECTION after ``step``: ``(cycle, the
        command's collection's target, the ITE's collection's target)``."""
        recipe = command.recipe
        new_rd = old_rd = None
        if recipe.cmd_collection is not CmdError.NONE:
            step, new_rd = yield from self._collection(step + self._step_cycles, command.icid,
                                                       recipe.cmd_collection)
        if recipe.ite_collection:
            step, old_rd = yield from self._collection(step + self._step_cycles, ite_icid,
                                                       recipe.ite_collection_unmapped)
        return step, new_rd, old_rd

    def _write(self, command, step):
        """WAIT_TRANSLATOR_IDLE .. WAIT_INVALIDATE after ``step``: the model changes the
        tables while the translator is held and idle. ``(the invalidation's cycle, False)``,
        or ``(the retire cycle, True)`` when the write fails."""
        its, recipe, translator = self.its, command.recipe, self.its.translator
        waiting = step + self._step_cycles
        yield self.kernel.at(waiting)
        translator.hold(waiting + 1)
        idle = yield translator.quiesce(waiting)
        yield self.kernel.at(idle)
        if recipe.write is Write.COLLECTION and command.icid < self.params.hcc:
            self._step(CmdError.NONE)
            # WAIT_COLLECTION_WRITE, then WAIT_INVALIDATE
            invalidate = idle + self._collection_write_cycles
        else:
            address = self._written_address(command)
            faulty = its.memory.memory.fault(address, ENTRY_BYTES) is not None
            self._step(CmdError.TABLE_WRITE_ERROR if faulty else CmdError.NONE)
            write = idle + self._write_cycles
            yield self.kernel.at(write)
            done = its.memory.write(write, address)
            if done.error:
                failed = done.done + self._step_cycles
                translator.release(failed + 1)
                return failed, True
            invalidate = done.done + self._invalidate_cycles
        translator.invalidate(invalidate, INVALIDATION[recipe.write], command.device_id,
                              command.event_id)
        return invalidate, False

    def _packets(self, command, step, old_rd, new_rd):
        """WAIT_PACKET, WAIT_SYNC_ACK after ``step``: the model's packets, each offered to
        the forwarder until it goes in; the retire cycle (a SYNC's acknowledge)."""
        its, fields = self.its, command.fields
        wanted = {
            PacketWhen.NEVER: False,
            PacketWhen.ALWAYS: True,
            PacketWhen.RD_CHANGES: old_rd is not None and old_rd != new_rd,
            PacketWhen.RDBASES_DIFFER: fields.get("rdbase1", 0) != fields.get("rdbase2", 0),
        }[command.recipe.packet_when]
        retire = step
        if wanted:
            offered = step + self._step_cycles
            offers = [its.forwarder.offer(rd, offered, packet)
                      for rd in range(self.params.num_redistributors)
                      for packet in self.model.take_packets(rd)]
            for offer in offers:
                while True:
                    yield self.kernel.end_of_cycle(cycle=offer.cycle)
                    if its.forwarder.settle(offer, self.kernel.now):
                        break
                retire = offer.ack if offer.packet.op is GicOp.SYNC else offer.accepted
        return retire

    def _written_address(self, command):
        tables, recipe = self.its.tables, command.recipe
        if recipe.write is Write.DTE:
            entry = tables.device(command.device_id)
            if entry.level1:
                word = tables.model.memory.read_int(entry.addr, ENTRY_BYTES)
                return level2_entry_address_int(_LEVEL1(word)[1], entry.slot)
            return entry.addr
        if recipe.write is Write.COLLECTION:
            return tables.cte_address(command.icid)
        return ite_address_int(command.itt_addr, command.event_id)
