"""Formal properties beside the blocks: helpers, and the description of one proof.

A block's proofs live in its own module, as a module-level ``PROOFS`` list of
:class:`Proof` (``gic.sim.tools.formal.PROOF_MODULES`` lists the modules that have one).
A proof's ``factory`` returns a :class:`FormalTop`: the block under test inside a
wrapper that adds the properties with Amaranth's ``Assert`` / ``Assume`` / ``Cover``
(:mod:`amaranth.hdl`). The block's input ports are left undriven and become the top
level's free inputs (anything, every cycle, unless an ``Assume`` says otherwise); the
reset is assumed low, so the search starts from the registers' initial values.

Amaranth 0.5 has no ``Past``: a property about the previous cycle keeps a registered copy
(:func:`past`). docs/formal.md says what is proven and how to add a proof.
"""

from dataclasses import dataclass
from typing import Callable, Optional

from amaranth.hdl import (Assert, Assume, Cat, Elaboratable, Module, ResetSignal, Signal,
                          Value)
from amaranth.lib import wiring

__all__ = ["Proof", "FormalTop", "past", "assume_stable", "assert_stable",
           "assume_stream_input", "assert_stream_output", "Counter", "ModelQueue",
           "input_ports"]


@dataclass(frozen=True)
class Proof:
    """One formal proof of a block.

    ``name``: unique, the folder under build/formal/. ``block``: what is under test (the
    class and its small parameters). ``factory``: builds the :class:`FormalTop`; its
    docstring says what is proven and whether k-induction closes. ``mode``: ``"prove"``
    (k-induction: holds in every reachable state) or ``"bmc"`` (holds for the first
    ``depth`` cycles from reset). ``mutant``: builds a deliberately broken variant
    (same properties) that the proof must reject (tests/test_formal.py).
    """
    name: str
    block: str
    factory: Callable[[], "FormalTop"]
    mode: str = "prove"
    depth: int = 10
    mutant: Optional[Callable[[], "FormalTop"]] = None

    def __post_init__(self):
        if self.mode not in ("prove", "bmc"):
            raise ValueError(f"mode must be 'prove' or 'bmc', not {self.mode!r}")
        if not isinstance(self.depth, int) or self.depth < 1:
            raise ValueError(f"depth must be a positive integer, not {self.depth!r}")

    @property
    def description(self):
        """The first paragraph of the factory's docstring, on one line."""
        doc = (self.factory.__doc__ or "").strip().split("\n\n")[0]
        return " ".join(doc.split())


class FormalTop(Elaboratable):
    """The top level of a proof: ``build(m)`` adds the block under test and its properties
    to ``m``; ``inputs`` are the signals left free (the block's input ports, by default
    those of ``dut``, plus any the properties add with :meth:`free`)."""

    def __init__(self, build, *, dut=None):
        self._build = build
        self.inputs = []
        if dut is not None:
            self.inputs += input_ports(dut)

    def free(self, shape, name):
        """A new free input (any value every cycle, unless assumed otherwise)."""
        signal = Signal(shape, name=name)
        self.inputs.append(signal)
        return signal

    def elaborate(self, platform):
        m = Module()
        m.d.comb += Assume(~ResetSignal(), "no reset: the search starts from the initial values")
        self._build(m)
        return m


def input_ports(component):
    """The signals of ``component``'s ``In`` members (what drives the block from outside)."""
    return [Value.cast(value) for _path, member, value in component.signature.flatten(component)
            if member.flow == wiring.In]


def past(m, value, *, name=None, init=0):
    """A register holding ``value`` as it was in the previous cycle (``init`` in the first)."""
    value = Value.cast(value)
    register = Signal(len(value), name=name, init=init)
    m.d.sync += register.eq(value)
    return register


def _stable(m, check, valid, ready, payload, name):
    payload = Value.cast(Cat(payload) if isinstance(payload, (list, tuple)) else payload)
    waiting = past(m, valid & ~ready, name=f"{name}_waiting")
    held = past(m, payload, name=f"{name}_held")
    m.d.comb += check(~waiting | (valid & (payload == held)),
                      f"{name}: valid stays high, payload stable until ready")


def assume_stable(m, valid, ready, payload, *, name):
    """Assume the handshake rule on an input channel: once ``valid`` is high without
    ``ready``, it stays high next cycle with the same ``payload`` (a value or a list)."""
    _stable(m, Assume, valid, ready, payload, name)


def assert_stable(m, valid, ready, payload, *, name):
    """Assert the handshake rule on an output channel (see :func:`assume_stable`)."""
    _stable(m, Assert, valid, ready, payload, name)


def assume_stream_input(m, stream, *, name="in"):
    """An :mod:`amaranth.lib.stream` input: valid stays high and payload stable until ready."""
    assume_stable(m, stream.valid, stream.ready, stream.payload, name=name)


def assert_stream_output(m, stream, *, name="out"):
    """An :mod:`amaranth.lib.stream` output: valid stays high and payload stable until ready."""
    assert_stable(m, stream.valid, stream.ready, stream.payload, name=name)


class Counter:
    """Up/down event counter for a property: ``value`` counts ``up`` events minus ``down``
    events (both sampled every cycle), of ``shape`` (default 4 bits; may be signed)."""

    def __init__(self, m, *, up, down=0, shape=4, name):
        self.value = Signal(shape, name=name)
        m.d.sync += self.value.eq(self.value + up - down)


class ModelQueue:
    """A reference queue for properties: ``depth`` entries of ``width`` bits, shifted on
    ``pop`` (the oldest is ``head``), appended on ``push``; ``count`` entries held. The
    properties must keep ``push`` off when full and ``pop`` off when empty."""

    def __init__(self, m, *, width, depth, push, data, pop, name):
        self.depth = depth
        self.count = Signal(range(depth + 1), name=f"{name}_count")
        self.entries = [Signal(width, name=f"{name}_entry{i}") for i in range(depth)]
        self.head = self.entries[0]
        m.d.sync += self.count.eq(self.count + push - pop)
        with m.If(pop):
            m.d.sync += [self.entries[i].eq(self.entries[i + 1]) for i in range(depth - 1)]
        with m.If(push):
            with m.Switch(self.count - pop):
                for i in range(depth):
                    with m.Case(i):
                        m.d.sync += self.entries[i].eq(data)
