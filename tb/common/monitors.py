"""Passive monitors on clocked signals, sleeping while their strobe is low.

A monitor samples at rising clock edges, where a signal's value is the one it held in
the clock cycle that just ended (registers update after the edge's callbacks), as
cocotbext-axi's stream monitors do. To keep Icarus fast it does not wake every cycle:
while its strobe (a ``valid`` or a pulse) is low it waits for the strobe to rise.
Cycles are numbered by the clock edge that ends them: :func:`cycle_now` at that edge.
"""

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge

from .build import CLOCK_PERIOD_NS

__all__ = ["cycle_now", "high", "watch"]


def cycle_now(clock=None):
    """The number of the clock edge at the current simulation time (edges at k * period)."""
    return round(get_sim_time("ns") / CLOCK_PERIOD_NS)


def high(signal):
    """The 1-bit ``signal`` is 1 (X and Z read as 0)."""
    try:
        return bool(signal.value)
    except ValueError:
        return False


def watch(clock, strobe, handler, *, when=None):
    """Start a monitor: ``handler(cycle)`` at each clock edge that ends a cycle in which
    ``strobe`` was high (and ``when()``, sampled at the same edge, is true).

    Parameters
    ----------
    clock, strobe : cocotb handles
        ``strobe`` is 1 bit: a ``valid``, or a one-cycle pulse.
    handler : callable of int
        Reads whatever else it needs from the DUT (the values of the same cycle).
    when : callable or None
        A further condition, such as ``ready`` for a handshake.

    Returns
    -------
    cocotb.task.Task
    """
    async def run():
        edge = RisingEdge(clock)
        rise = RisingEdge(strobe)
        while True:
            await edge
            if high(strobe):
                if when is None or when():
                    handler(cycle_now())
            else:
                await rise
    return cocotb.start_soon(run())
