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
    ``runs/``. Each run writes what it checked (``counts.json`` beside its
    ``coverage.yml``: commands, MSIs, injected memory faults, mismatches); the summary
    sums them (``counts.json``) and prints ``checked: N commands, N MSIs, N memory faults,
    N mismatches``.
``its regress --long [COMMANDS]``
    The ITS's random mix only, on both error policies and every seed, long: together
    at least COMMANDS (default 100,000) commands, rings with illegal commands mixed in,
    MSIs to random devices, memory errors and latency spikes
    (:data:`gic.tb.common.counts.LONG_VARIABLE`).
``its regress --shard I/N``
    Only the I-th of N slices of the test list (the sorted test IDs, one in N from the
    I-th): N machines with I = 1..N run each test once.
``its regress --merge DIR [DIR ...]``
    Merges the coverage and the counts of several output folders (of shards) into one
    summary (``build/regress-merged/`` by default).
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

__all__ = ["run_regress", "merge_regress", "run_waves", "measure_speed", "check_jobs",
           "parse_shard", "shard_of", "collect_tests", "waves_tests", "main", "REGRESS_DIR",
           "MERGE_DIR", "LONG_COMMANDS"]

REGRESS_DIR = Path("build") / "regress"
"""Where the regression writes, under the current directory."""
MERGE_DIR = Path("build") / "regress-merged"
"""Where ``its regress --merge`` writes, under the current directory."""
LONG_COMMANDS = 100_000
"""Commands ``its regress --long`` runs at least, over all its runs."""
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


def parse_shard(text):
    """``"I/N"`` as ``(I, N)``, 1 <= I <= N.

    Raises
    ------
    ValueError
        Anything else (``3/2``, ``x``, ``0/2``).
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if match is None:
        raise ValueError(f"--shard {text!r}: give I/N, the I-th of N slices (1 <= I <= N)")
    index, count = int(match[1]), int(match[2])
    if not 1 <= index <= count:
        raise ValueError(f"--shard {text}: I must be from 1 to N={count}, not {index}")
    return index, count


def _shard_key(test_id):
    # The file's name and the test, wherever the package or the work tree is.
    path, sep, rest = test_id.partition("::")
    return f"{Path(path).name}{sep}{rest}"


def shard_of(test_ids, shard):
    """The tests of ``shard`` ``(I, N)``: of the test IDs sorted (by file name and test),
    the I-th, the (I+N)-th, ... The same IDs give the same slices anywhere; every test is
    in exactly one of the N slices, and they differ in size by at most one."""
    index, count = shard
    ordered = sorted(set(test_ids), key=_shard_key)
    return [test_id for position, test_id in enumerate(ordered)
            if position % count == index - 1]


def collect_tests(files, options):
    """The test IDs pytest collects from ``files`` with ``options`` (``--seeds``, ``-k``),
    as ``<file>::<test>[<id>]`` with the files as given."""
    done = subprocess.run([sys.executable, "-m", "pytest", *files, "--collect-only", "-q",
                           "-p", "no:cacheprovider", "-p", "no:xdist", *options],
                          capture_output=True, text=True)
    by_name = {Path(file).name: file for file in files}
    tests = []
    for line in done.stdout.splitlines():
        path, sep, rest = line.strip().partition("::")
        if sep and Path(path).name in by_name:
            tests.append(f"{by_name[Path(path).name]}::{rest}")
    if done.returncode != 0 or not tests:
        raise ValueError(f"pytest collected no tests (status {done.returncode}):\n"
                           f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return tests


def _check_long(commands):
    if commands is None or commands is False:
        return 0
    if commands is True:
        return LONG_COMMANDS
    if not isinstance(commands, int) or commands < 1:
        raise ValueError(f"--long must be at least 1 command, not {commands!r}")
    return commands


def run_regress(seeds, jobs, *, out=REGRESS_DIR, directed=True, console=None, shard=None,
                long=None):
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
    shard : (int, int) or str, or None
        Only the I-th of N slices of the test list (:func:`shard_of`; ``"I/N"`` too).
    long : int, True or None
        The ITS's random mix only, long: this many commands (True: :data:`LONG_COMMANDS`)
        over every run together (each run its share, :data:`~gic.tb.common.counts.
        LONG_VARIABLE`); the share is of the whole test list, so the shards of a long run
        together run them all.

    Returns
    -------
    int
        0 when every test passed, else pytest's exit status.

    Raises
    ------
    ValueError
        A bad ``seeds``, ``jobs``, ``shard`` or ``long``, or a shard without tests
        (nothing has been removed or run).
    """
    from gic.tb.common.counts import LONG_VARIABLE

    console = console or _Console()
    option, described = _seed_option(seeds)     # bad values fail before anything is removed
    check_jobs(jobs)
    if isinstance(shard, str):
        shard = parse_shard(shard)
    elif shard is not None:
        parse_shard(f"{shard[0]}/{shard[1]}")
    long = _check_long(long)
    files = TEST_FILES[:1] if long else TEST_FILES
    options = ["--all-policies", *option] + ([] if directed and not long else
                                             ["-k", "test_random"])
    selected, share = list(files), 0
    if shard is not None or long:
        tests = collect_tests(files, options)
        if long:
            share = -(-long // len(tests))
        if shard is not None:
            selected = shard_of(tests, shard)
            if not selected:
                raise ValueError(f"--shard {shard[0]}/{shard[1]}: that slice of the "
                                 f"{len(tests)} tests is empty")
    out = Path(out)
    if out.exists():
        for path in sorted(out.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pytest", *selected, "-v", "-p", "no:cacheprovider",
               "-n", str(jobs), f"--junitxml={out / 'junit.xml'}", *options]
    what = (f"the ITS's random mix with {described} on both error policies, long: "
            f"{share:,} commands a run" if long else
            f"{'directed tests and ' if directed else ''}the random mixes with "
            f"{described}, the ITS on both error policies and the Gic")
    where = "" if shard is None else f", shard {shard[0]}/{shard[1]} ({len(selected)} tests)"
    _say(console, f"regress: {what}{where}, {jobs} workers; log {out / 'tests.log'}")
    started = time.monotonic()
    env = dict(os.environ, ITS_TB_OUT=str(out / "runs"))
    env.pop("SEED", None)
    env.pop(LONG_VARIABLE, None)
    if long:
        env[LONG_VARIABLE] = str(share)
    status = _run_with_progress(command, env, out, console, started)
    elapsed = time.monotonic() - started
    results = _results(out / "junit.xml")
    lines = [f"{len(results)} tests in {elapsed:.0f} s: "
             f"{sum(ok for _, ok, _ in results)} passed, "
             f"{sum(not ok for _, ok, _ in results)} failed"]
    for name, ok, reproduce in results:
        if not ok:
            lines.append(f"FAILED {name}" + (f"\n  reproduce: {reproduce}" if reproduce else ""))
    if status not in (0, 1):
        lines.append(f"pytest ended with status {status}: see {out / 'pytest.log'}")
    _summarize(out, lines, _found(out / "runs", "coverage.yml"),
               _found(out / "runs", "counts.json"), console)
    return status


def _found(folder, name):
    return sorted(str(path) for path in Path(folder).rglob(name))


def _summarize(out, lines, coverage_files, counts_files, console):
    """Merge the coverage files and sum the counts files into ``out`` (``coverage.yml``,
    ``uncovered.txt``, ``counts.json``, ``summary.txt``); print the summary: ``lines``,
    the coverage per cover point, the ``checked:`` and the ``coverage:`` lines."""
    from cocotb_coverage.coverage import merge_coverage
    from gic.tb.common.counts import format_counts, sum_counts

    coverage_lines, covered, size = [], 0, 0
    merged = out / "coverage.yml"
    if coverage_files:
        merge_coverage(lambda message: None, str(merged), *coverage_files)
        coverage_lines, covered, size, uncovered = _coverage_summary(merged)
        (out / "uncovered.txt").write_text("\n".join(uncovered) + "\n")
        coverage_lines.append(f"({len(uncovered)} bins uncovered: {out / 'uncovered.txt'}; "
                              f"{len(coverage_files)} runs merged into {merged})")
    counts = sum_counts(counts_files)
    (out / "counts.json").write_text(json.dumps(counts) + "\n")
    percent = 100.0 * covered / size if size else 0.0
    summary = lines + coverage_lines + [
        f"{format_counts(counts)} ({len(counts_files)} runs)",
        f"coverage: {percent:.1f}% of {size} bins"]
    (out / "summary.txt").write_text("\n".join(summary) + "\n")
    for line in summary:
        _say(console, line)


def _results_of(folder):
    """The coverage files and counts files of an output folder of :func:`run_regress`
    (its merged ``coverage.yml`` and summed ``counts.json``, else its runs')."""
    folder = Path(folder)
    found = []
    for name in ("coverage.yml", "counts.json"):
        found.append([str(folder / name)] if (folder / name).is_file() else
                     _found(folder / "runs", name))
    return found


def merge_regress(folders, *, out=MERGE_DIR, console=None):
    """Merge the coverage and the counts of several output folders of :func:`run_regress`
    (of shards, of machines) into ``out``: ``coverage.yml``, ``uncovered.txt``,
    ``counts.json``, ``summary.txt``; print the summary as :func:`run_regress` does.

    Every folder is checked before anything is written.

    Returns
    -------
    int
        0 when every test of the folders' ``junit.xml`` passed, else 1.

    Raises
    ------
    ValueError
        No folder, or a folder with neither coverage nor counts.
    """
    from gic.tb.common.counts import read_counts

    console = console or _Console()
    folders = [Path(folder) for folder in folders]
    if not folders:
        raise ValueError("--merge: give at least one output folder")
    coverage_files, counts_files, results = [], [], []
    for folder in folders:
        if not folder.is_dir():
            raise ValueError(f"--merge: {folder} is not a folder")
        coverage, counts = _results_of(folder)
        if not coverage and not counts:
            raise ValueError(f"--merge: {folder} holds no results (no coverage.yml nor "
                             f"counts.json, nor runs/ with them)")
        for path in counts:
            read_counts(path)           # a bad file fails before anything is written
        coverage_files += coverage
        counts_files += counts
        results += _results(folder / "junit.xml")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    failed = sum(not ok for _, ok, _ in results)
    lines = [f"{len(results)} tests from {len(folders)} folders: "
             f"{len(results) - failed} passed, {failed} failed"]
    lines += [f"FAILED {name}" + (f"\n  reproduce: {reproduce}" if reproduce else "")
              for name, ok, reproduce in results if not ok]
    _summarize(out, lines, coverage_files, counts_files, console)
    return 1 if failed else 0


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
