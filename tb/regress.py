"""``its regress`` and ``its waves``: the cocotb regression and one test with waves.

``its regress --seeds 16 --jobs 2``
    Runs every directed cocotb test and the random mix with seeds 1..16, of the ITS
    (tb/its, on each parameter set: error policy skip and stall) and of the Gic (tb/gic:
    the ITS with its redistributors and CPUs), in parallel with pytest-xdist; merges
    the functional coverage of every run; prints what passed, what failed (with the
    command that runs it again), the coverage of each cover point, and ends with the
    line ``coverage: NN.N% of M bins``. Detail goes to ``build/regress/``:
    ``summary.txt``, ``coverage.yml`` (merged), ``uncovered.txt``, ``junit.xml``,
    ``pytest.log`` and each run's folder under ``runs/``.
``its waves --test run_ring_wrap [--policy stall] [--seed 3]``
    Runs one cocotb test with FST waves and writes a GTKWave save file beside them
    (register bus, command fetch, executor, translation path, caches, memory, query
    port, one group per redistributor), then prints the gtkwave command.
``python -m gic.tb.regress speed``
    Times one scenario on Icarus (cocotb) and on Amaranth's simulator.

Also ``python -m gic.tb.regress regress|waves|speed ...`` without the ``its`` command.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["run_regress", "run_waves", "measure_speed", "add_commands", "main",
           "REGRESS_DIR"]

REGRESS_DIR = Path("build") / "regress"
"""Where the regression writes, under the current directory."""
TEST_FILES = tuple(str(Path(__file__).resolve().parent / name)
                   for name in ("its/test_its.py", "gic/test_gic.py"))
"""The cocotb testbenches the regression runs (wherever the package is installed)."""


class _Console:
    """``print`` with the ``print`` method of a rich Console."""

    def print(self, *args, **kwargs):
        print(*args)


def _say(console, text):
    # Test IDs hold brackets: no rich markup.
    console.print(text, markup=False, highlight=False)


def _seed_option(seeds):
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds must be at least 1, not {seeds}")
        return ["--seeds", str(seeds)], f"seeds 1..{seeds}"
    seeds = sorted(set(seeds))
    if not seeds:
        raise ValueError("give at least one seed")
    return ["--seed-list", ",".join(map(str, seeds))], f"seeds {', '.join(map(str, seeds))}"


def run_regress(seeds, jobs, *, out=REGRESS_DIR, directed=True, console=None):
    """Run the cocotb regression and merge its coverage.

    Parameters
    ----------
    seeds : int or iterable of int
        A count N (seeds 1..N) or the seeds themselves, for the random tests.
    jobs : int
        pytest-xdist workers.
    out : Path
        Where the runs, the merged coverage and the summary go (emptied first).
    directed : bool
        Run the directed tests too (their coverage is most of the bins).

    Returns
    -------
    int
        0 when every test passed, else pytest's exit status.
    """
    from cocotb_coverage.coverage import merge_coverage

    console = console or _Console()
    option, described = _seed_option(seeds)     # a bad value fails before anything is removed
    out = Path(out)
    if out.exists():
        for path in sorted(out.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pytest", *TEST_FILES, "-q", "-p", "no:cacheprovider",
               "-n", str(jobs), f"--junitxml={out / 'junit.xml'}", "--all-policies", *option]
    if not directed:
        command += ["-k", "test_random"]
    _say(console, f"regress: {'directed tests and ' if directed else ''}the random mixes with "
                  f"{described}, the ITS on both error policies and the Gic, {jobs} workers")
    started = time.monotonic()
    env = dict(os.environ, ITS_TB_OUT=str(out / "runs"))
    env.pop("SEED", None)
    with open(out / "pytest.log", "w") as log:
        status = subprocess.run(command, env=env, stdout=log,
                                stderr=subprocess.STDOUT).returncode
    elapsed = time.monotonic() - started
    results = _results(out / "junit.xml")
    files = sorted(str(path) for path in (out / "runs").rglob("coverage.yml"))
    lines = [f"{len(results)} tests in {elapsed:.0f} s: "
             f"{sum(ok for _, ok, _ in results)} passed, "
             f"{sum(not ok for _, ok, _ in results)} failed"]
    for name, ok, reproduce in results:
        if not ok:
            lines.append(f"FAILED {name}" + (f"\n  reproduce: {reproduce}" if reproduce else ""))
    if status not in (0, 1):
        lines.append(f"pytest ended with status {status}: see {out / 'pytest.log'}")
    coverage_lines, covered, size = [], 0, 0
    if files:
        merge_coverage(lambda message: None, str(out / "coverage.yml"), *files)
        coverage_lines, covered, size, uncovered = _coverage_summary(out / "coverage.yml")
        (out / "uncovered.txt").write_text("\n".join(uncovered) + "\n")
        coverage_lines.append(f"({len(uncovered)} bins uncovered: {out / 'uncovered.txt'}; "
                              f"{len(files)} runs merged into {out / 'coverage.yml'})")
    percent = 100.0 * covered / size if size else 0.0
    summary = lines + coverage_lines + [f"coverage: {percent:.1f}% of {size} bins"]
    (out / "summary.txt").write_text("\n".join(summary) + "\n")
    for line in summary:
        _say(console, line)
    return status


def _results(junit):
    """``[(test id, passed, reproduce command or None)]`` from pytest's JUnit XML."""
    from xml.etree import ElementTree
    if not Path(junit).exists():
        return []
    results = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        reproduce = None
        if failure is not None:
            match = re.search(r"reproduce: (.*)", (failure.get("message") or "") +
                              (failure.text or ""))
            reproduce = match[1].strip() if match else None
        results.append((case.get("name"), failure is None and case.find("skipped") is None,
                        reproduce))
    return results


def _coverage_summary(path):
    """Per cover point ``covered/size``, totals, and the uncovered bins, from merged YAML."""
    import yaml
    database = yaml.safe_load(Path(path).read_text())
    lines, uncovered, covered, size = ["coverage by cover point:"], [], 0, 0
    for name in sorted(database):
        entry = database[name]
        if "bins:_hits" not in entry:
            continue
        bins = entry["bins:_hits"]
        hit = sum(1 for count in bins.values() if count >= entry.get("at_least", 1))
        covered += hit
        size += len(bins)
        lines.append(f"  {name:<24} {hit:>3}/{len(bins):<3} {100.0 * hit / len(bins):5.1f}%")
        uncovered += [f"{name}: {bin_}" for bin_, count in bins.items()
                      if count < entry.get("at_least", 1)]
    return lines, covered, size, uncovered


def run_waves(test, *, policy="skip", seed=1, console=None):
    """Run cocotb test ``test`` (a name, or a parametrized name such as
    ``run_ring_wrap/idle_inserter=None/backpressure_inserter=None``) with FST waves and
    write the GTKWave save file beside them.

    Returns
    -------
    int
        0 when the test passed (the waves are written either way).
    """
    from gic.tb.its import test_its

    console = console or _Console()
    base = test.split("/", 1)[0]
    known = test_its.DIRECTED + test_its.RANDOM + ["run_speed"]
    if base not in known:
        raise ValueError(f"unknown test {test!r}; tests: {', '.join(known)}")
    if policy not in test_its.PARAM_SETS:
        raise ValueError(f"unknown policy {policy!r}; policies: "
                         f"{', '.join(test_its.PARAM_SETS)}")
    test_dir = REGRESS_DIR.parent / "waves" / f"{test.replace('/', '_').replace('=', '-')}" \
        f"-{policy}-{seed}"
    status = 0
    try:
        test_its.run_cocotb(policy, test, seed, waves=True, test_dir=test_dir)
    except AssertionError as failure:
        _say(console, str(failure))
        status = 1
    fst, save = test_dir / "its.fst", test_dir / "its.gtkw"
    signals = sum(1 for line in save.read_text().splitlines() if line.startswith("its."))
    _say(console, f"waves: {fst} ({fst.stat().st_size // 1024} KiB), "
                  f"save file {save} ({signals} signals)")
    _say(console, f"gtkwave {fst} {save}")
    return status


def measure_speed(console=None):
    """Simulated cycles per second of :func:`gic.tb.its.speed.speed_scenario` on Icarus (the
    whole cocotb testbench) and on Amaranth's simulator. Returns the figures."""
    from gic.tb.its import test_its
    from gic.tb.its.speed import amaranth_speed

    console = console or _Console()
    test_dir = REGRESS_DIR.parent / "speed"
    params = test_its.PARAM_SETS["skip"]
    test_its.run_cocotb("skip", "run_speed", 1, test_dir=test_dir)
    icarus = json.loads((test_dir / "speed.json").read_text())
    cycles, seconds = amaranth_speed(params)
    figures = {"icarus": (icarus["cycles"], icarus["seconds"]), "amaranth": (cycles, seconds)}
    for name, (count, wall) in figures.items():
        _say(console, f"{name:>9}: {count} cycles in {wall:.1f} s = {count / wall:,.0f} "
                      f"cycles/s")
    return figures


def _regress(args, params, console):
    return run_regress(args.seed_list or args.seeds, args.jobs, directed=not args.random_only,
                       console=console)


def _waves(args, params, console):
    return run_waves(args.test, policy=args.policy, seed=args.seed, console=console)


def _speed(args, params, console):
    measure_speed(console)
    return 0


def _seed_list(text):
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of seeds")


def add_commands(commands):
    """Add ``regress`` and ``waves`` to the sub-command parsers of the ``its`` command."""
    regress = commands.add_parser(
        "regress", help="the seeded cocotb regression with merged functional coverage",
        description="Run the directed cocotb tests and the random mix over seeds on both "
                    "error policies in parallel, merge the functional coverage; detail in "
                    "build/regress/. The last line is 'coverage: NN.N%% of M bins'.")
    regress.add_argument("--seeds", type=int, default=16, help="random seeds 1..N (default 16)")
    regress.add_argument("--seed-list", type=_seed_list, default=None, metavar="S,S,...",
                         help="these random seeds instead")
    regress.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                         help="parallel simulations (default: the CPUs)")
    regress.add_argument("--random-only", action="store_true", help="skip the directed tests")
    regress.set_defaults(run=_regress, param=[])
    waves = commands.add_parser(
        "waves", help="one cocotb test with FST waves and a GTKWave save file",
        description="Run one cocotb test with waves into build/waves/, write its GTKWave save "
                    "file and print the gtkwave command.")
    waves.add_argument("--test", required=True,
                       help="cocotb test name, e.g. run_ring_wrap (see tb/its/test_its.py)")
    waves.add_argument("--policy", default="skip", help="parameter set: skip or stall")
    waves.add_argument("--seed", type=int, default=1)
    waves.set_defaults(run=_waves, param=[])
    return regress, waves


def main(argv=None):
    """``python -m gic.tb.regress regress|waves|speed``."""
    parser = argparse.ArgumentParser(prog="python -m gic.tb.regress")
    commands = parser.add_subparsers(dest="command", required=True)
    add_commands(commands)
    commands.add_parser("speed", help="cycles per second, Icarus vs Amaranth").set_defaults(
        run=_speed, param=[])
    args = parser.parse_args(argv)
    try:
        return args.run(args, None, _Console())
    except ValueError as error:
        print(f"its: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
