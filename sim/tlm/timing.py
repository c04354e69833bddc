"""The TLM's timing description: every latency and depth its blocks use, in one place.

The blocks of :mod:`gic.sim.tlm` count cycles the way the RTL does (``hw/its/*``), but they
do not read the RTL: each cost and each queue depth is a field of :class:`Timing`, given to
:class:`gic.sim.tlm.its.TlmIts` (``TlmIts(params, memory, timing=Timing())``) and handed to
its blocks. The defaults are the RTL's of today; :mod:`gic.sim.tools.calibrate`
(``its calibrate``) measures the RTL on directed micro-workloads and fits every field from
the cycles it measured, so a change to the RTL's timing shows up as a field whose default
no longer matches (``tests/test_tlm_timing.py``).

All costs are whole clock cycles. "Cycle *n*" is the cycle of a handshake, as in the RTL's
docstrings; a cost of 1 is the one register between two steps.

Usage::

    from gic.sim.tlm.timing import Timing

    slow_walker = Timing(walk_step_cycles=2)
    its = TlmIts(params, memory, mem_latency=8, timing=slow_walker)
"""

import dataclasses
import json
from dataclasses import dataclass, field, fields

__all__ = ["Timing", "FIELDS"]


def _cycles(default, doc, *, minimum=1, source):
    return field(default=default, metadata={"doc": doc, "minimum": minimum,
                                             "source": source})


@dataclass(frozen=True)
class Timing:
    """Latencies (cycles) and depths (entries) of the TLM's blocks.

    Every field is an integer at or above its minimum (``Timing.minimum(name)``); each
    field's docstring says what it is and where its default comes from
    (:data:`FIELDS`, ``docs/tlm.md``).

    Raises
    ------
    TypeError
        If a field is not an integer (booleans and floats are refused).
    ValueError
        If a field is below its minimum, or a register strobe is not before the access's
        end.
    """

    # -- the memory (gic.sim.tlm.memory) --------------------------------------------------
    mem_read_cycles: int = _cycles(
        3, "Cycles a read granted at once spends in the AXI master besides the slave's "
        "latency: its first doubleword arrives mem_latency + this after the read is "
        "offered (its client's slot and the AR register before the slave, the R beat FIFO "
        "after it).",
        source="bus/axi.Axi4MemoryMaster; measured by a DTE+ITE miss at two latencies")
    mem_write_cycles: int = _cycles(
        1, "Cycles a write's response takes besides the slave's latency, from its "
        "acceptance (the AW/W register).",
        source="bus/axi.Axi4MemoryMaster; measured by a MAPD's write")

    # -- the command fetch (gic.sim.tlm.cmdq) ---------------------------------------------
    fetch_depth: int = _cycles(
        4, "Commands the command queue fetches ahead of the executor.",
        source="its/cmdq.CommandQueue(depth=4), as hw/its/top.Its builds it")
    fetch_offer_cycles: int = _cycles(
        1, "Cycles from the fetch engine being able to fetch (enabled, CWRITER ahead, a free "
        "slot) to its read being offered.",
        source="its/cmdq.CommandQueue's registered read request; measured by a command")
    fetch_fifo_cycles: int = _cycles(
        2, "Cycles from a command's last doubleword to the executor seeing it.",
        source="its/cmdq's SyncFIFOBuffered: one cycle into its memory, one into its "
        "output register; measured by a command")

    # -- the translator (gic.sim.tlm.translator) and the walker (gic.sim.tlm.walker) -------
    lookup_cycles: int = _cycles(
        1, "Cycles from an MSI's acceptance to its cache look-up.",
        source="its/translator.Translator's registered input stage; measured by a hit")
    decide_cycles: int = _cycles(
        1, "Cycles from a look-up that advances (a hit, or a drop decided at look-up) to "
        "its outcome leaving the translator.",
        source="its/translator.Translator's decision queue; measured by a hit")
    queue_depth: int = _cycles(
        8, "Entries of the translator's decision queue (hits under one miss).",
        source="its/translator.Translator(queue_depth=8), as hw/its/top.Its builds it")
    walk_start_cycles: int = _cycles(
        1, "Cycles from a walk's start (its miss advancing) to its first read being offered.",
        source="its/walker.Walker's CHECK state; measured by a DTE+ITE miss")
    walk_step_cycles: int = _cycles(
        0, "Cycles between a walk read's data and the next read being offered (0: in the "
        "same cycle).",
        minimum=0, source="its/walker.Walker's WAIT_* states; measured by a DTE+ITE miss")
    walk_decide_cycles: int = _cycles(
        1, "Cycles from a walk's last data to its outcome being decided.",
        source="its/walker.Walker's result register; measured by a DTE+ITE miss")
    walker_free_cycles: int = _cycles(
        2, "Cycles from a walk's outcome leaving to its cache fills being seen by look-ups "
        "and the walker taking the next request.",
        source="its/translator.Translator's fill registers; measured by two misses in a "
        "row")

    # -- the forwarder (gic.sim.tlm.forwarder) --------------------------------------------
    lpi_fifo_depth: int = _cycles(
        2, "Entries of the forwarder's lpi FIFO (the translator's packets, before the "
        "redistributors' FIFOs).",
        source="its/forwarder.LPI_FIFO_DEPTH")

    # -- the executor (gic.sim.tlm.executor) ----------------------------------------------
    exec_decode_cycles: int = _cycles(
        1, "Cycles from the executor taking a command to its DECODE state.",
        source="its/executor.Executor's IDLE -> DECODE; measured by every command")
    exec_step_cycles: int = _cycles(
        1, "Cycles from one executor state to the next (a table read is offered this many "
        "cycles after its state is entered, the state after its data this many cycles "
        "after the data; a failing check goes to FAIL this many cycles after).",
        source="its/executor.Executor's state machine; measured by every command")
    exec_write_cycles: int = _cycles(
        1, "Cycles from the translator being idle (held) to the executor's table write "
        "being offered.",
        source="its/executor.Executor's WAIT_TRANSLATOR_IDLE -> WAIT_WRITE; measured by "
        "MAPD, MAPTI, MOVI, DISCARD")
    exec_collection_write_cycles: int = _cycles(
        2, "Cycles from the translator being idle to the invalidation when MAPC writes an "
        "on-chip collection.",
        source="its/executor.Executor's WAIT_COLLECTION_WRITE, WAIT_INVALIDATE; measured "
        "by a MAPC of an on-chip collection")
    exec_invalidate_cycles: int = _cycles(
        1, "Cycles from a table write's response to the caches' invalidation.",
        source="its/executor.Executor's WAIT_WRITE -> WAIT_INVALIDATE; measured by MAPD")
    exec_retire_cycles: int = _cycles(
        1, "Cycles from a command's retirement to the executor taking the next one.",
        source="its/executor.Executor's RETIRE -> IDLE; measured by two commands in a "
        "row")

    # -- the register bridge (gic.sim.tlm.bus) --------------------------------------------
    reg_read_strobe: int = _cycles(
        1, "Cycles from a register read's AR handshake to the register being sampled.",
        source="bus/axi.Axi4LiteRegisterBridge; measured by a register read")
    reg_read_cycles: int = _cycles(
        4, "Cycles a register read takes in all, from its AR handshake to after its R "
        "handshake.",
        source="bus/axi.Axi4LiteRegisterBridge; measured by a register read")
    reg_write_strobe: int = _cycles(
        2, "Cycles from a register write's AW/W handshake to the end of the cycle it takes "
        "effect in.",
        source="bus/axi.Axi4LiteRegisterBridge; measured by a command (the GITS_CWRITER "
        "write that posts it)")
    reg_write_cycles: int = _cycles(
        5, "Cycles a register write takes in all, from its AW/W handshake to after its B "
        "handshake.",
        source="bus/axi.Axi4LiteRegisterBridge; measured by a register write")
    forward_cycles: int = _cycles(
        4, "Cycles the bus waits, after the MSIs signalled so far have left the translator, "
        "before it takes the packets a redistributor received (forwarder arbitration and "
        "FIFOs, redistributors ready).",
        source="its/forwarder.Forwarder: lpi FIFO, arbitration, redistributor FIFO; an "
        "upper bound, not calibrated")

    def __post_init__(self):
        for item in fields(self):
            value = getattr(self, item.name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"Timing.{item.name} must be an integer number of "
                                f"{_unit(item.name)}, not {value!r}")
            if value < item.metadata["minimum"]:
                raise ValueError(f"Timing.{item.name} must be at least "
                                 f"{item.metadata['minimum']}, not {value!r}")
        for strobe, whole in (("reg_read_strobe", "reg_read_cycles"),
                              ("reg_write_strobe", "reg_write_cycles")):
            if getattr(self, strobe) >= getattr(self, whole):
                raise ValueError(f"Timing.{strobe} ({getattr(self, strobe)}) must be below "
                                 f"Timing.{whole} ({getattr(self, whole)})")

    # -- description ----------------------------------------------------------------------

    @staticmethod
    def names():
        """The fields' names, in order."""
        return [item.name for item in fields(Timing)]

    @staticmethod
    def doc(name):
        """What field ``name`` is."""
        return _field(name).metadata["doc"]

    @staticmethod
    def source(name):
        """Where field ``name``'s default comes from (and what measures it)."""
        return _field(name).metadata["source"]

    @staticmethod
    def minimum(name):
        """The smallest value field ``name`` accepts."""
        return _field(name).metadata["minimum"]

    @staticmethod
    def default(name):
        """Field ``name``'s default."""
        return _field(name).default

    def replace(self, **changes):
        """A copy with ``changes`` (validated)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """A Timing from ``{field: value}`` (unknown names refused)."""
        unknown = set(values) - set(cls.names())
        if unknown:
            raise ValueError(f"unknown Timing fields: {', '.join(sorted(unknown))}")
        return cls(**values)

    @classmethod
    def load(cls, path):
        """A Timing from a ``timing.json`` written by the calibration (its ``timing``)."""
        with open(path) as file:
            document = json.load(file)
        return cls.from_dict(document.get("timing", document))


def _field(name):
    for item in fields(Timing):
        if item.name == name:
            return item
    raise KeyError(f"Timing has no field {name!r}")


def _unit(name):
    return "entries" if name.endswith("_depth") else "cycles"


FIELDS = Timing.names()
"""Every field of :class:`Timing`, in order."""

# Each field's docstring, for Sphinx-style readers and help(): the metadata's "doc".
Timing.__doc__ += "\n    Fields\n    ------\n" + "".join(
    f"    {item.name} : int = {item.default}\n        {item.metadata['doc']} Default: "
    f"{item.metadata['source']}.\n" for item in fields(Timing))
