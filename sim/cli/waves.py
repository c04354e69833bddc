"""``its waves``: one cocotb test with FST waves and a GTKWave save file."""

from gic.hw.its.params import ERROR_POLICIES
from gic.sim.cli.common import UsageError, count

__all__ = ["add_parser", "run"]


def add_parser(commands):
    waves = commands.add_parser(
        "waves", help="one cocotb test with FST waves and a GTKWave save file",
        description="Run one cocotb test of the ITS testbench (tb/its) with waves into "
                    "build/waves/, write its GTKWave save file and print the gtkwave command. "
                    "Without --test, list the tests.")
    waves.add_argument("--test", help="cocotb test name, e.g. run_ring_wrap")
    waves.add_argument("--policy", default="skip", choices=ERROR_POLICIES,
                       help="parameter set: the ITS's error policy (default skip)")
    waves.add_argument("--seed", type=count(0), default=1, help="random seed (default 1)")
    waves.set_defaults(run=run, param=[])
    return waves


def run(args, params, console):
    from gic.tb.regress import run_waves, waves_tests
    if not args.test:
        raise UsageError(f"give --test NAME (make waves TEST=NAME); tests: "
                         f"{', '.join(waves_tests())}")
    return run_waves(args.test, policy=args.policy, seed=args.seed, console=console)
