"""``its bench``: correlate the TLM with the RTL, time both, explore the design space;
``its bench --calibrate``: measure the RTL's timing and fit the TLM's to it."""

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
    bench.add_argument("--calibrate", action="store_true",
                       help="instead: measure the RTL on directed micro-workloads (a hit, "
                            "misses at two memory latencies, each command, register "
                            "accesses), fit the TLM's Timing to it, write OUT/timing.json "
                            "and print field, default, measured, match")
    bench.add_argument("--out", type=Path, default=BUILD_DIR,
                       help=f"output folder (default {BUILD_DIR})")
    bench.set_defaults(run=run)
    return bench


def run(args, params, console):
    out = output_dir(args.out)
    if args.calibrate:
        return _calibrate(args, out, replace(BENCH_PARAMS, **dict(args.param)), console)
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


def _calibrate(args, out, params, console):
    from gic.sim.tools.calibrate import LATENCIES, calibrate, write_json
    latencies = tuple(args.latency or LATENCIES)
    calibration = calibrate(params=params, latencies=latencies,
                            on_step=lambda line: console.print(f"[dim]{line}[/dim]"))
    path = write_json(calibration, out / "timing.json")
    table = Table(title=f"TLM timing against the RTL ({path})")
    for column in ("field", "default", "measured", "match", "how"):
        table.add_column(column)
    for name, default, measured, match in calibration.rows():
        table.add_row(name, str(default), str(measured), match, calibration.how[name])
    console.print(table)
    console.print(f"TLM - RTL on {calibration.figures} figures with the fitted timing: "
                  f"{calibration.error} cycles in all")
    mismatches = calibration.mismatches()
    if mismatches:
        console.print("[red]defaults that differ from the RTL: " + ", ".join(
            f"{name} {default} -> {value}" for name, (default, value) in mismatches.items())
            + "[/red]")
    console.print(f"wrote {path}")
    return 1 if mismatches else 0
