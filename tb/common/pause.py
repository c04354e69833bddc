"""Idle and backpressure generators, as cocotbext-axi's testbenches use them.

A generator yields one bool a clock cycle: True pauses the stream that cycle (a source
withholds ``valid``: an idle cycle; a sink drops ``ready``: backpressure). The
``*_inserter`` options of the tests are functions of a ``random.Random`` that make
such a generator, so every stream gets its own, reproducible from the test's seed.

cocotbext-axi runs one coroutine per paused stream; :class:`PauseDriver` runs them all
from one coroutine a cycle instead, which keeps Icarus fast with twenty streams.
"""

import itertools

import cocotb
from cocotb.triggers import RisingEdge

__all__ = ["cycle_pause", "random_pause", "heavy_pause", "INSERTERS", "PauseDriver"]


def cycle_pause(rng):
    """Paused three cycles in four (the pattern of cocotbext-axi's own tests)."""
    return itertools.cycle([1, 1, 1, 0])


def random_pause(rng, probability=0.3):
    """Paused with ``probability`` each cycle, independently."""
    while True:
        yield rng.random() < probability


def heavy_pause(rng):
    """Long random stalls: paused 70 % of cycles, in bursts."""
    while True:
        run = rng.randrange(1, 12)
        yield from itertools.repeat(rng.random() < 0.7, run)


INSERTERS = {"cycle": cycle_pause, "random": random_pause, "heavy": heavy_pause}
"""Inserters by name (command lines and test names use these)."""


class PauseDriver:
    """Sets the ``pause`` of many cocotbext-axi streams from their generators, once a cycle.

    Parameters
    ----------
    clock : cocotb handle
        The clock whose rising edges advance the generators.

    Members
    -------
    paused : dict of str to int
        Cycles each named stream was paused (for coverage: "backpressure seen").
    """

    def __init__(self, clock):
        self.clock = clock
        self._streams = []
        self.paused = {}
        self._task = None

    def add(self, name, stream, generator):
        """Pause ``stream`` (anything with a ``pause`` attribute) as ``generator`` says."""
        if generator is None:
            return
        self._streams.append((name, stream, iter(generator)))
        self.paused.setdefault(name, 0)
        if self._task is None:
            self._task = cocotb.start_soon(self._run())

    async def _run(self):
        edge = RisingEdge(self.clock)
        while True:
            for name, stream, generator in self._streams:
                value = bool(next(generator))
                stream.pause = value
                self.paused[name] += value
            await edge
