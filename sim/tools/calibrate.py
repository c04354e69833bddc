"""``its bench --calibrate``: measure the RTL's timing and fit the TLM's :class:`Timing` to it.

The transaction-level model (:mod:`gic.sim.tlm`) does not read the RTL: every latency and
depth it uses is a field of :class:`gic.sim.tlm.timing.Timing`. This module measures the
RTL (:class:`gic.hw.its.top.Its` in Amaranth's simulator, behind the testbenches' memory
and redistributor models, as ``its bench`` runs it) on a few directed micro-workloads:

* ``hit``: MSIs answered by the translation cache (one alone, then three back to back);
* ``miss``: a DTE + ITE miss, a second miss right behind it, an ITE-only miss (the device
  cached), at two memory latencies;
* ``commands``: one command of each kind, each posted alone by its GITS_CWRITER write, and
  two in one post;
* ``registers``: register reads and writes through the AXI4-Lite bridge.

The depths (fetch depth, decision queue, lpi FIFO) are read from the RTL's blocks as
``hw/its/top.Its`` builds them. Each latency field is then fitted: starting from the
defaults, field after field (twice over), the value in a small range around the default
that makes the TLM's cycles (each MSI's latency, each command's latency, each register
access) closest to the RTL's. A field no candidate changes anything for is reported as
not identified by the workloads (``forward_cycles``, a bound the bus waits).

Results: :func:`calibrate` returns a :class:`Calibration`; ``its bench --calibrate``
writes ``build/bench/timing.json`` and prints the table (field, default, measured, match).
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from gic.hw.its.layouts import LPI_BASE, Cmd
from gic.hw.its.regmap import REG
from gic.sim.tlm.timing import Timing
from gic.sim.tools.bench import BENCH_PARAMS, BUILD_DIR, run_rtl, run_tlm
from gic.sim.tools.workloads import Msi, Post, Workload

__all__ = ["Calibration", "micro_workloads", "measure_rtl", "measure_tlm", "rtl_depths",
           "rtl_register_cycles", "fit", "calibrate", "write_json", "DEPTHS", "LATENCIES",
           "TIMING_JSON"]

TIMING_JSON = BUILD_DIR / "timing.json"
"""Where ``its bench --calibrate`` writes (under the current directory)."""
LATENCIES = (4, 16)
"""The memory latencies the misses and the commands are measured at."""
DEPTHS = ("fetch_depth", "queue_depth", "lpi_fifo_depth")
"""Fields read from the RTL's blocks rather than fitted."""
REGISTER_FIELDS = ("reg_read_cycles", "reg_write_cycles")
"""Fields measured directly as the cycles of a register access."""
_SPREAD = 3
"""Candidates around the default a fit tries (default - 3 .. default + 3, at the minimum)."""
_GAP = 160
"""Cycles between the measured commands' posts (each runs alone)."""


def _lpi(n):
    return LPI_BASE + 16 + n


def micro_workloads(params=BENCH_PARAMS, *, parts=("hit", "miss", "commands")):
    """The directed micro-workloads, by name (those of ``parts``)."""
    workloads = {}
    if "hit" in parts:
        workloads["hit"] = Workload(
            name="hit", description="one translation-cache hit, then three back to back",
            seed=0, devices=((0, 2),), mappings=((0, 0, _lpi(0), 0), (0, 1, _lpi(1), 1)),
            warmup=(Msi(0, 0, 0), Msi(0, 0, 1)),
            msis=(Msi(0, 0, 0), Msi(40, 0, 1), Msi(40, 0, 0), Msi(40, 0, 1)))
    if "miss" in parts:
        workloads["miss"] = Workload(
            name="miss", description="a DTE + ITE miss, a second miss behind it, an ITE-only "
                                     "miss",
            seed=0, devices=((1, 2), (2, 2)),
            mappings=((1, 0, _lpi(2), 0), (2, 0, _lpi(3), 1), (1, 1, _lpi(4), 2)),
            msis=(Msi(0, 1, 0), Msi(0, 2, 0), Msi(200, 1, 1)))
    if "commands" in parts:
        cpus = params.num_redistributors
        memory_icid = params.hcc + 1            # a collection in the collection table
        commands = [
            (Cmd.MAPD, dict(device_id=3, size=1, itt_addr=0x4070_0000 >> 8, valid=1)),
            (Cmd.MAPC, dict(icid=2, rdbase=cpus - 1, valid=1)),
            (Cmd.MAPC, dict(icid=memory_icid + 1, rdbase=1, valid=1)),
            (Cmd.MAPTI, dict(device_id=0, event_id=2, pintid=_lpi(5), icid=1)),
            (Cmd.MAPI, dict(device_id=0, event_id=3, icid=0)),     # pINTID 3: fails
            (Cmd.MOVI, dict(device_id=0, event_id=0, icid=cpus - 1)),
            (Cmd.INT, dict(device_id=0, event_id=1)),
            (Cmd.CLEAR, dict(device_id=0, event_id=1)),
            (Cmd.INV, dict(device_id=0, event_id=1)),
            (Cmd.INT, dict(device_id=0, event_id=4)),              # through the CTE
            (Cmd.DISCARD, dict(device_id=0, event_id=2)),
            (Cmd.INVALL, dict(icid=0)),
            (Cmd.MOVALL, dict(rdbase1=0, rdbase2=1)),
            (Cmd.SYNC, dict(rdbase=0)),
        ]
        posts = [Post(_GAP * n, (command,)) for n, command in enumerate(commands)]
        posts.append(Post(_GAP * len(commands), (
            (Cmd.INT, dict(device_id=0, event_id=1)), (Cmd.SYNC, dict(rdbase=1)))))
        workloads["commands"] = Workload(
            name="commands", description="one command of each kind, each posted alone",
            seed=0, devices=((0, 3),), collections=((memory_icid, 2),),
            mappings=((0, 0, _lpi(6), 0), (0, 1, _lpi(7), 1), (0, 4, _lpi(8), memory_icid)),
            posts=tuple(posts))
    return workloads


def _figures(results):
    """``{(workload, kind, index): cycles}`` of a run's phase results."""
    figures = {}
    for result in results:
        for index, cycles in enumerate(result.msi_latency):
            figures[(result.workload, "msi", index)] = cycles
        for index, cycles in enumerate(result.command_latency):
            figures[(result.workload, "command", index)] = cycles
    return figures


def measure_rtl(workloads, *, latencies=LATENCIES, params=BENCH_PARAMS):
    """The RTL's cycles on ``workloads`` (a list): ``{latency: {figure: cycles}}``."""
    return {latency: _figures(run_rtl(params, workloads, mem_latency=latency))
            for latency in latencies}


def measure_tlm(workloads, timing, *, latencies=LATENCIES, params=BENCH_PARAMS):
    """The TLM's cycles on ``workloads`` with ``timing``, as :func:`measure_rtl`."""
    return {latency: _figures(run_tlm(params, workloads, mem_latency=latency, timing=timing))
            for latency in latencies}


def rtl_depths(params=BENCH_PARAMS):
    """The depths of the RTL's blocks as ``hw/its/top.Its`` builds them (``CommandQueue()``,
    ``Translator(params)``: their constructors' defaults; the forwarder's constant), by
    Timing field."""
    import inspect

    from gic.hw.its.cmdq import CommandQueue
    from gic.hw.its.forwarder import LPI_FIFO_DEPTH
    from gic.hw.its.translator import Translator

    def default(cls, name):
        return inspect.signature(cls.__init__).parameters[name].default
    return {"fetch_depth": default(CommandQueue, "depth"),
            "queue_depth": default(Translator, "queue_depth"),
            "lpi_fifo_depth": LPI_FIFO_DEPTH}


def rtl_register_cycles(params=BENCH_PARAMS, *, accesses=4):
    """Cycles of one register read and one register write through the RTL's AXI4-Lite
    bridge (``AmaranthItsBus``): ``{"reg_read_cycles": n, "reg_write_cycles": m}``, from the
    cycles of scripts with and without ``accesses`` accesses of each kind."""
    from gic.sim.rtlsim.bus import run_on_rtl

    def script(reads, writes):
        async def run(bus):
            for _ in range(reads):
                await bus.read_reg(REG["GITS_TYPER"])
            for _ in range(writes):
                await bus.write_reg(REG["GITS_CWRITER"], 0)
        return run

    base = run_on_rtl(params, script(0, 0))[1]
    reads = run_on_rtl(params, script(accesses, 0))[1]
    writes = run_on_rtl(params, script(0, accesses))[1]
    return {"reg_read_cycles": (reads - base) // accesses,
            "reg_write_cycles": (writes - base) // accesses}


def _error(measured, predicted):
    """Total absolute difference in cycles between two :func:`measure_rtl` results (a
    figure missing on one side counts 1000)."""
    total = 0
    for latency, figures in measured.items():
        other = predicted.get(latency, {})
        for key, cycles in figures.items():
            total += abs(other[key] - cycles) if key in other else 1000
        total += 1000 * len(set(other) - set(figures))
    return total


def _candidates(name, current):
    low = max(Timing.minimum(name), Timing.default(name) - _SPREAD)
    values = sorted(range(low, Timing.default(name) + _SPREAD + 1),
                    key=lambda value: (abs(value - current), value))
    return values


@dataclass
class Calibration:
    """What :func:`calibrate` found.

    Members
    -------
    timing : Timing
        The fitted timing.
    measured : dict
        Per field, the value measured or fitted, or None if the workloads do not identify it.
    how : dict
        Per field: "depth" (read from the RTL), "access" (a register access's cycles),
        "fit" (fitted to the workloads' cycles) or "not identified".
    error : int
        The TLM's total difference in cycles from the RTL on the workloads, fitted timing.
    figures : int
        Figures (latencies) compared.
    """
    timing: Timing
    measured: dict
    how: dict
    error: int
    figures: int
    workloads: list = field(default_factory=list)

    def mismatches(self):
        """The fields whose measured value differs from the default: ``{name: (default,
        measured)}``."""
        return {name: (Timing.default(name), value) for name, value in self.measured.items()
                if value is not None and value != Timing.default(name)}

    def rows(self):
        """``(field, default, measured, match)`` rows, in field order."""
        rows = []
        for name in Timing.names():
            if name not in self.measured:
                continue
            value = self.measured[name]
            match = "-" if value is None else ("yes" if value == Timing.default(name) else "NO")
            rows.append((name, Timing.default(name), "-" if value is None else value, match))
        return rows


def fit(workloads, measured, *, start=None, fields=None, latencies=LATENCIES,
        params=BENCH_PARAMS, passes=2):
    """Fit ``fields`` (every latency field by default) of ``start`` (the defaults) so the
    TLM's cycles on ``workloads`` are closest to ``measured`` (:func:`measure_rtl`).

    Returns ``(timing, {field: value or None}, error)``: None for a field no candidate
    changes the error for.
    """
    timing = start or Timing()
    names = [name for name in (fields or Timing.names())
             if name not in DEPTHS and name not in REGISTER_FIELDS]
    cache = {}

    def error_of(candidate):
        key = tuple(sorted(candidate.as_dict().items()))
        if key not in cache:
            try:
                predicted = measure_tlm(workloads, candidate, latencies=latencies,
                                        params=params)
            except (AssertionError, ValueError, RuntimeError):
                predicted = {}          # a timing the model cannot run counts as far off
            cache[key] = _error(measured, predicted) if predicted else float("inf")
        return cache[key]

    identified = {name: False for name in names}
    best = error_of(timing)
    for _ in range(passes):
        for name in names:
            errors = {}
            for value in _candidates(name, getattr(timing, name)):
                try:
                    candidate = timing.replace(**{name: value})
                except ValueError:
                    continue
                errors[value] = error_of(candidate)
            if len(set(errors.values())) > 1:
                identified[name] = True
            value = min(errors, key=lambda value: (errors[value],
                                                   abs(value - getattr(timing, name))))
            timing = timing.replace(**{name: value})
            best = errors[value]
    values = {name: getattr(timing, name) if identified[name] else None for name in names}
    return timing, values, best


def calibrate(*, parts=("hit", "miss", "commands", "registers"), latencies=LATENCIES,
              params=BENCH_PARAMS, fields=None, on_step=None):
    """Measure the RTL on the micro-workloads of ``parts`` and fit the :class:`Timing`.

    ``fields`` limits the fit (all latency fields by default); ``on_step`` is called with a
    line of progress.
    """
    say = on_step or (lambda line: None)
    workloads = list(micro_workloads(params, parts=parts).values())
    measured, how = {}, {}
    say("reading the RTL's depths")
    for name, value in rtl_depths(params).items():
        measured[name], how[name] = value, "depth"
    start = Timing().replace(**{name: measured[name] for name in DEPTHS})
    if "registers" in parts:
        say("timing register accesses on the RTL")
        for name, value in rtl_register_cycles(params).items():
            measured[name], how[name] = value, "access"
        start = start.replace(**{name: measured[name] for name in REGISTER_FIELDS})
    timing, error, figures = start, 0, 0
    if workloads:
        say(f"running {', '.join(w.name for w in workloads)} on the RTL at memory latencies "
            f"{', '.join(map(str, latencies))}")
        rtl = measure_rtl(workloads, latencies=latencies, params=params)
        figures = sum(len(values) for values in rtl.values())
        say(f"fitting the TLM's timing to {figures} figures")
        timing, values, error = fit(workloads, rtl, start=start, fields=fields,
                                    latencies=latencies, params=params)
        for name, value in values.items():
            measured[name] = value
            how[name] = "fit" if value is not None else "not identified"
    return Calibration(timing, measured, how, error, figures, [w.name for w in workloads])


def write_json(calibration, path=TIMING_JSON):
    """Write ``calibration`` to ``path``: the fitted timing, and per field its default, the
    value measured and how."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "timing": calibration.timing.as_dict(),
        "fields": {name: {"default": Timing.default(name), "measured": value,
                          "how": calibration.how[name],
                          "match": value is None or value == Timing.default(name)}
                   for name, value in calibration.measured.items()},
        "workloads": calibration.workloads,
        "error_cycles": calibration.error,
        "figures": calibration.figures,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
