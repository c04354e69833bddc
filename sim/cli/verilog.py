"""``its verilog``: write the ITS's Verilog and parameter variants, checked by Yosys."""

from pathlib import Path

from rich.table import Table

from gic.hw.its.params import ItsParams
from gic.sim.cli.common import UsageError, output_dir, params_options
from gic.sim.tools.verilog import VerilogLintError, export

__all__ = ["add_parser", "run"]


def add_parser(commands):
    verilog = commands.add_parser(
        "verilog", parents=[params_options()], help="write build/its.v and parameter variants",
        description="Write the ITS's Verilog (build/its.v) and variants (stall policy, small, "
                    "128/256-bit memory) through Amaranth's backend, and the plain-Verilog "
                    "wrappers its_axi.v and gic_axi.v (flat AXI/stream port names, "
                    "docs/integration.md); check each with Yosys for latches, loops and "
                    "driver conflicts.")
    verilog.add_argument("--out", type=Path, default=Path("build"),
                         help="output folder (default build)")
    verilog.set_defaults(run=run)
    return verilog


def run(args, params, console):
    out = output_dir(args.out)
    table = Table(title=f"Verilog in {out}/ (Amaranth backend, checked by Yosys)")
    for column in ("variant", "file", "overrides", "cells"):
        table.add_column(column)
    with console.status("converting") as status:
        try:
            results = export(out, base=params,
                             progress=lambda name: status.update(f"converting {name}"))
        except VerilogLintError as error:
            raise UsageError(str(error)) from None
    base = {name: getattr(params, name) for name in ItsParams.names()}
    for name, path, variant, cells in results:
        changed = ", ".join(f"{k}={v}" for k, v in vars(variant).items() if base[k] != v)
        table.add_row(name, str(path), changed or "-", str(cells))
    console.print(table)
    console.print("no latches, no combinational loops, no multiple or missing drivers")
    return 0
