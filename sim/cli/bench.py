"""``its bench``: correlate the TLM with the RTL, time both, explore the design space."""

from dataclasses import replace
from pathlib import Path

from rich.table import Table

from gic.sim.cli.common import count, output_dir, params_options
from gic.sim.tools.bench import BENCH_PARAMS, BUILD_DIR, run_bench

__all__ = ["add_parser", "run"]


def add_parser(commands):
    bench = commands.add_parser(
        "bench", parents=[params_options()], help="performance: TLM against RTL, design space",
        description="Run the workloads of sim/tools/workloads.py on the RTL (Amaranth "
                    "simulator) and on the transaction-level model, compare cycles and "
                    "latencies, time both, sweep cache size, memory latency and table layout "
                    "on the TLM; write the machine-local report OUT/performance.md, "
                    "OUT/summary.json and OUT/*.png (OUT: build/bench). --param overrides the "
                    "bench's parameters (gic.sim.tools.bench.BENCH_PARAMS).")
    bench.add_argument("--latency", action="append", type=count(1), metavar="L",
                       help="memory latency of a correlation run (repeatable; default 4 and 16)")
    bench.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    bench.add_argument("--tlm-only", action="store_true", help="do not run the RTL")
    bench.add_argument("--out", type=Path, default=BUILD_DIR,
                       help=f"output folder (default {BUILD_DIR})")
    bench.set_defaults(run=run)
    return bench


def run(args, params, console):
    out = output_dir(args.out)
    report = out / "performance.md"
    summary = run_bench(latencies=tuple(args.latency or (4, 16)), rtl=not args.tlm_only,
                        quick=args.quick, out=out, docs=report,
                        params=replace(BENCH_PARAMS, **dict(args.param)), console=console)
    table = Table(title=f"ITS performance ({out / 'summary.json'})")
    for column in ("figure", "value"):
        table.add_column(column)
    table.add_row("MSIs a cycle on hits", f"{summary['hit_msi_per_cycle']}")
    table.add_row("hit latency", f"{summary['hit_latency_cycles']} cycles")
    table.add_row("DTE + ITE miss latency", ", ".join(
        f"{cycles} (L={latency})" for latency, cycles in summary["miss_latency_cycles"].items()))
    if not args.tlm_only:
        table.add_row("TLM worst error", f"{summary['tlm_max_error_pct']} %")
        table.add_row("TLM speed-up", f"{summary['tlm_speedup']}x")
    console.print(table)
    console.print(f"wrote {report}")
    return 0
