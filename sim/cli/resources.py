"""``its resources``: out-of-context ECP5 resources per block and parameter set, and Fmax."""

from pathlib import Path

from rich.table import Table

from gic.sim.cli.common import UsageError, output_dir
from gic.sim.tools.resources import BUILD_DIR, CELLS, RESOURCE_SETS, TARGET_MHZ, run_resources

__all__ = ["add_parser", "run"]


def add_parser(commands):
    resources = commands.add_parser(
        "resources", help="ECP5 resources per block, out of context, and Fmax",
        description="Synthesize the ITS and the Gic (ITS + N redistributors) for the ECP5 "
                    "with Yosys (synth_ecp5 -noflatten: figures per block), and place and "
                    "route each out of context with nextpnr-ecp5 on an LFE5U-85F at "
                    f"{TARGET_MHZ:g} MHz for its Fmax; print a table per set and write "
                    "build/resources/resources.json. About 3 to 6 minutes per set on one "
                    "core (--no-fmax: synthesis only, about 1 minute).")
    resources.add_argument("--set", dest="sets", action="append", choices=list(RESOURCE_SETS),
                           help=f"parameter set (repeatable; default all: "
                                f"{', '.join(RESOURCE_SETS)})")
    resources.add_argument("--no-fmax", action="store_true",
                           help="synthesis only, no place and route")
    resources.add_argument("--out", type=Path, default=BUILD_DIR,
                           help=f"output folder (default {BUILD_DIR})")
    resources.set_defaults(run=run, param=[])
    return resources


def run(args, params, console):
    out = output_dir(args.out)
    try:
        with console.status("synthesizing") as status:
            results = run_resources(args.sets, out=out, fmax=not args.no_fmax,
                                    echo=status.update)
    except RuntimeError as error:
        raise UsageError(str(error)) from None
    kinds = [kind for kind in CELLS if any(r.total.cells.get(kind) for r in results)]
    for result in results:
        overrides = RESOURCE_SETS[result.name][1]
        table = Table(title=f"{result.name}: {result.top} "
                            f"({', '.join(f'{k}={v}' for k, v in overrides.items()) or 'defaults'})"
                            + ("" if result.fmax_mhz is None else
                               f", Fmax {result.fmax_mhz:.1f} MHz out of context "
                               f"(target {result.target_mhz:g})"))
        table.add_column("block")
        for kind in kinds:
            table.add_column(CELLS[kind], justify="right")
        for block in result.blocks + [result.total]:
            if block is result.total:
                table.add_section()
            table.add_row(block.name, *(str(block.cells.get(kind, 0)) for kind in kinds))
        console.print(table)
        if result.flat_total is not None:
            console.print("  flattened (what nextpnr placed): " + ", ".join(
                f"{result.flat_total.cells.get(kind, 0)} {CELLS[kind].split()[0]}"
                for kind in kinds))
    console.print(f"wrote {out / 'resources.json'}")
    return 0
