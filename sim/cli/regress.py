"""``its regress``: the seeded cocotb regression with merged functional coverage."""

import argparse
import os

from gic.sim.cli.common import count

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
                    "The last line is 'coverage: NN.N% of M bins'.")
    regress.add_argument("--seeds", type=count(1), default=16,
                         help="random seeds 1..N (default 16)")
    regress.add_argument("--seed-list", type=_seed_list, default=None, metavar="S,S,...",
                         help="these random seeds instead")
    regress.add_argument("--jobs", type=count(1), default=os.cpu_count() or 1,
                         help="parallel simulations, at least 1 (default: the CPUs)")
    regress.add_argument("--random-only", action="store_true", help="skip the directed tests")
    regress.set_defaults(run=run, param=[])
    return regress


def run(args, params, console):
    from gic.tb.regress import run_regress
    return run_regress(args.seed_list or args.seeds, args.jobs, directed=not args.random_only,
                       console=console)
