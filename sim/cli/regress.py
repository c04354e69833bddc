"""``its regress``: the seeded cocotb regression with merged functional coverage."""

import argparse
import os

from gic.sim.cli.common import UsageError, count

__all__ = ["add_parser", "run"]


def _seed_list(text):
    try:
        seeds = [int(part, 0) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of seeds")
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give seeds of at least 0")
    return seeds


def add_parser(commands):
    regress = commands.add_parser(
        "regress", help="the seeded cocotb regression with merged functional coverage",
        description="Run the directed cocotb tests and the random mix over seeds on both "
                    "error policies in parallel, merge the functional coverage; a progress "
                    "bar (tests done, passed, failed, time) on a terminal, a line per "
                    "finished test in build/regress/tests.log, detail in build/regress/. "
                    "The summary ends with 'checked: N commands, N MSIs, N memory faults, "
                    "N mismatches' (summed over every run) and 'coverage: NN.N% of M bins'. "
                    "--long: the ITS's random mix only, at least 100,000 commands over its "
                    "32 runs (measured: about 100 s of simulator CPU a run, so about 30 "
                    "minutes with --jobs 2 on 2 free cores, 2 hours on 2 cores shared with "
                    "other work; see tb/README.md); --shard I/N splits it (or any "
                    "regression) over machines, --shard I/8 being 4 runs, and --merge joins "
                    "their output folders.")
    regress.add_argument("--seeds", type=count(1), default=None,
                         help="random seeds 1..N (default 16)")
    regress.add_argument("--seed-list", type=_seed_list, default=None, metavar="S,S,...",
                         help="these random seeds instead")
    regress.add_argument("--jobs", type=count(1), default=os.cpu_count() or 1,
                         help="parallel simulations, at least 1 (default: the CPUs)")
    regress.add_argument("--random-only", action="store_true", help="skip the directed tests")
    regress.add_argument("--long", type=count(1), nargs="?", const=100_000, default=None,
                         metavar="COMMANDS",
                         help="the ITS's random mix only (every seed, both policies), long: "
                              "at least COMMANDS commands over all its runs (default "
                              "100,000), rings with illegal commands mixed in, MSIs to random "
                              "devices, AXI SLVERR/DECERR and latency spikes; about 30 min "
                              "with --jobs 2 on 2 free cores (about 4 min a shard with "
                              "--shard I/8)")
    regress.add_argument("--shard", default=None, metavar="I/N",
                         help="run only the I-th of N slices of the test list (sorted test "
                              "IDs, every N-th): one slice per machine")
    regress.add_argument("--out", default=None, metavar="DIR",
                         help="output folder (default build/regress, emptied first; with "
                              "--merge build/regress-merged)")
    regress.add_argument("--merge", nargs="+", default=None, metavar="DIR",
                         help="run nothing: merge the coverage and the counts of these "
                              "output folders into one summary")
    regress.set_defaults(run=run, param=[])
    return regress


def run(args, params, console):
    from gic.tb.regress import MERGE_DIR, REGRESS_DIR, merge_regress, parse_shard, run_regress
    if args.merge is not None:
        given = [name for name, value in (("--seeds", args.seeds), ("--seed-list", args.seed_list),
                                          ("--random-only", args.random_only),
                                          ("--long", args.long), ("--shard", args.shard))
                 if value not in (None, False)]
        if given:
            raise UsageError(f"--merge runs nothing: it takes no {', '.join(given)}")
        return merge_regress(args.merge, out=args.out or MERGE_DIR, console=console)
    shard = None if args.shard is None else parse_shard(args.shard)
    return run_regress(args.seed_list or args.seeds or 16, args.jobs,
                       directed=not args.random_only, console=console, shard=shard,
                       long=args.long, out=args.out or REGRESS_DIR)
