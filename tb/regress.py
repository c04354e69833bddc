"""What ``its regress`` and ``its waves`` run (their command lines: gic.sim.cli.regress, .waves).

``its regress --seeds 16 --jobs 2``
    Runs every directed cocotb test and the random mix with seeds 1..16, of the ITS
    (tb/its, on each parameter set: error policy skip and stall) and of the Gic (tb/gic:
    the ITS with its redistributors and CPUs), in parallel with pytest-xdist; merges
    the functional coverage of every run; prints what passed, what failed (with the
    command that runs it again), the coverage of each cover point, and ends with the
    line ``coverage: NN.N% of M bins``. Detail goes to ``build/regress/``:
    ``summary.txt``, ``coverage.yml`` (merged), ``uncovered.txt``, ``junit.xml``,
    ``pytest.log``, ``tests.log`` (a line per finished test) and each run's folder under
    ``runs/``.
``its waves --test run_ring_wrap [--policy stall] [--seed 3]``
    Runs one cocotb test with FST waves and writes a GTKWave save file beside them
    (register bus, command fetch, executor, translation path, caches, memory, query
    port, one group per redistributor), then prints the gtkwave command.
``python -m gic.tb.regress speed``
    Times one scenario on Icarus (cocotb) and on Amaranth's simulator.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["run_regress", "run_waves", "measure_speed", "check_jobs", "waves_tests", "main", "REGRESS_DIR"]

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


def check_jobs(jobs):
    """Raise ValueError unless ``jobs`` is a usable number of parallel simulations."""
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs!r}")
    return jobs


def run_regress(seeds, jobs, *, out=REGRESS_DIR, directed=True, console=None):
    """Run the cocotb regression and merge its coverage.

    Every argument is checked before ``out`` is emptied. On a terminal a progress bar shows
    the tests done, passed and failed and the time elapsed; elsewhere one line per finished
    test is printed. ``out/tests.log`` gets one line per finished test either way.

    Parameters
    ----------
    seeds : int or iterable of int
        A count N (seeds 1..N) or the seeds themselves, for the random tests.
    jobs : int
        pytest-xdist workers, at least 1.
    out : Path
        Where the runs, the merged coverage and the summary go (emptied first).
    directed : bool
        Run the directed tests too (their coverage is most of the bins).

    Returns
    -------
    int
        0 when every test passed, else pytest's exit status.

    Raises
    ------
    ValueError
        A bad ``seeds`` or ``jobs`` (nothing has been removed or run).
    """
    from cocotb_coverage.coverage import merge_coverage

    console = console or _Console()
    option, described = _seed_option(seeds)     # bad values fail before anything is removed
    check_jobs(jobs)
    out = Path(out)
    if out.exists():
        for path in sorted(out.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pytest", *TEST_FILES, "-v", "-p", "no:cacheprovider",
               "-n", str(jobs), f"--junitxml={out / 'junit.xml'}", "--all-policies", *option]
    if not directed:
        command += ["-k", "test_random"]
    _say(console, f"regress: {'directed tests and ' if directed else ''}the random mixes with "
                  f"{described}, the ITS on both error policies and the Gic, {jobs} workers; "
                  f"log {out / 'tests.log'}")
    started = time.monotonic()
    env = dict(os.environ, ITS_TB_OUT=str(out / "runs"))
    env.pop("SEED", None)
    status = _run_with_progress(command, env, out, console, started)
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


_ITEMS = re.compile(r"(\d+) workers? \[(\d+) items?\]")
_FINISHED = re.compile(r"\[gw\d+\] \[\s*\d+%\] (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+)")


def _run_with_progress(command, env, out, console, started):
    """Run pytest (``-v``, xdist), its output into ``out/pytest.log``; follow the tests as
    they finish: a progress bar on a terminal, else a line each; a line each in
    ``out/tests.log``. Returns pytest's exit status."""
    counts = {"passed": 0, "failed": 0}
    progress = task = None
    if getattr(console, "is_terminal", False):
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn)
        progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console, transient=True)
        task = progress.add_task("regress: starting", total=None)
        progress.start()
    try:
        with open(out / "pytest.log", "w") as log, open(out / "tests.log", "w") as tests, \
                subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, bufsize=1) as pytest:
            for line in pytest.stdout:
                log.write(line)
                items = _ITEMS.search(line)
                if items and progress is not None:
                    progress.update(task, total=int(items[2]))
                finished = _FINISHED.search(line)
                if finished is None:
                    continue
                outcome, name = finished[1], finished[2]
                counts["passed" if outcome in ("PASSED", "XPASS") else "failed"] += 1
                done = counts["passed"] + counts["failed"]
                record = (f"{time.monotonic() - started:7.1f} s  {outcome:<7} {name}  "
                          f"({done} done: {counts['passed']} passed, {counts['failed']} failed)")
                tests.write(record + "\n")
                tests.flush()
                if progress is None:
                    _say(console, record)
                else:
                    progress.update(task, completed=done,
                                    description=f"regress: {counts['passed']} passed, "
                                                f"{counts['failed']} failed")
        return pytest.returncode
    finally:
        if progress is not None:
            progress.stop()


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


def waves_tests():
    """The cocotb tests of the ITS testbench that ``its waves`` can run."""
    from gic.tb.its import test_its
    return test_its.DIRECTED + test_its.RANDOM + ["run_speed"]


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
    known = waves_tests()
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
    from gic.tb.common.gtkw import read_save_file
    signals = len(read_save_file(save).aliases)
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


def main(argv=None):
    """``python -m gic.tb.regress speed``: simulated cycles per second, Icarus against
    Amaranth's simulator (``its regress`` and ``its waves`` are the other entry points)."""
    parser = argparse.ArgumentParser(prog="python -m gic.tb.regress",
                                     description=main.__doc__.splitlines()[0])
    parser.add_argument("what", choices=["speed"])
    parser.parse_args(argv)
    measure_speed(_Console())
    return 0


if __name__ == "__main__":
    sys.exit(main())
