"""Functional coverage of the Gic testbench (cocotb-coverage), under the root ``gic``.

``gic.packet``
    Each GIC stream packet (GicOp) taken by a redistributor.
``gic.work``
    Each kind of register work a redistributor's sequencer took: GICR_SETLPIR, CLRLPIR,
    INVLPIR, INVALLR, EnableLPIs 0 -> 1 and 1 -> 0.
``gic.acknowledge``
    An acknowledge answered with an LPI, with 1023, and one taken while another LPI was
    active (preemption).
``gic.move``
    A move of pending state arriving at a redistributor with EnableLPIs = 1, and at one
    with EnableLPIs = 0 (lost).
``gic.pending``
    More LPIs pending on one redistributor than its LPI cache holds (some in memory);
    a disabled LPI pending.

:class:`GicCoverage` samples them from :class:`~gic.tb.gic.scoreboard.GicScoreboard`'s
events and writes the database as YAML (``its regress`` merges it with the ITS's).
"""

from cocotb_coverage.coverage import CoverPoint, coverage_db

from gic.hw.gicr.redistributor import RdOp
from gic.hw.its.layouts import GicOp

__all__ = ["GicCoverage"]

_WORK = [RdOp.SET, RdOp.CLEAR, RdOp.INV, RdOp.INVALL, RdOp.ENABLE, RdOp.DISABLE]


def _point(name, bins):
    return CoverPoint(name, xf=lambda value: value, bins=bins)


@_point("gic.packet", [op.name for op in GicOp])
def _sample_packet(value):
    pass


@_point("gic.work", [op.name for op in _WORK])
def _sample_work(value):
    pass


@_point("gic.acknowledge", ["lpi", "spurious", "preempting"])
def _sample_acknowledge(value):
    pass


@_point("gic.move", ["arrived", "lost"])
def _sample_move(value):
    pass


@_point("gic.pending", ["beyond_lpi_cache", "disabled"])
def _sample_pending(value):
    pass


class GicCoverage:
    """Samples the ``gic`` cover points from the scoreboard's events.

    Parameters
    ----------
    scoreboard : GicScoreboard
    lpi_cache : int
        LPI cache entries per redistributor (``gic.pending.beyond_lpi_cache``).
    """

    def __init__(self, scoreboard, *, lpi_cache):
        self.scoreboard = scoreboard
        self.lpi_cache = lpi_cache
        scoreboard.listeners.append(self._on_event)

    @staticmethod
    def export(path):
        """Write the coverage database of this simulator run as YAML."""
        coverage_db.export_to_yaml(str(path))

    def _on_event(self, kind, rd, *details):
        redistributor = self.scoreboard.model.rds[rd]
        if kind == "packet":
            _sample_packet(details[0].op.name)
        elif kind == "work":
            _sample_work(details[0].name)
        elif kind == "acknowledge":
            intid, preempting = details
            _sample_acknowledge("spurious" if intid is None else
                                "preempting" if preempting else "lpi")
        elif kind == "move":
            _sample_move("arrived" if redistributor.enable_lpis else "lost")
        if len(redistributor.pending) > self.lpi_cache:
            _sample_pending("beyond_lpi_cache")
        if any(not state.enable for state in redistributor.pending.values()):
            _sample_pending("disabled")
