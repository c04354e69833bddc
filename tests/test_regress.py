"""``its regress`` at scale: what each run checked (counts), ``--shard``, ``--merge``,
``--long`` (gic.tb.regress, gic.tb.common.counts, gic.sim.cli.regress)."""

import json
import random
import sys
import time

import pytest
import yaml

from gic.sim.cli import main
from gic.tb import regress
from gic.tb.common.counts import format_counts, read_counts, sum_counts


class _Lines:
    """A console that is not a terminal: collects what is printed."""
    is_terminal = False

    def __init__(self):
        self.lines = []

    def print(self, text, **kwargs):
        self.lines.append(text)


# -- argument validation ----------------------------------------------------------------------

@pytest.mark.parametrize("text", ["3/2", "x", "0/2", "1/0", "1/", "/2", "-1/2", "1/2/3", ""])
def test_a_bad_shard_is_refused(text):
    with pytest.raises(ValueError, match="--shard"):
        regress.parse_shard(text)


def test_a_shard_is_parsed():
    assert regress.parse_shard("1/1") == (1, 1)
    assert regress.parse_shard("3/4") == (3, 4)
    assert regress.parse_shard(" 2 / 5 ") == (2, 5)


@pytest.mark.parametrize("argv, word", [
    (["--shard", "3/2"], "--shard"),
    (["--shard", "x"], "--shard"),
    (["--long", "0"], "--long"),
    (["--long", "x"], "--long"),
    (["--merge"], "--merge"),
    (["--merge", "{empty}"], "no results"),
    (["--merge", "{missing}"], "not a folder"),
    (["--merge", "{good}", "--seeds", "4"], "--seeds"),
    (["--merge", "{good}", "--shard", "1/2"], "--shard"),
    (["--merge", "{good}", "--long"], "--long"),
    (["--merge", "{bad_counts}"], "counts"),
])
def test_bad_arguments_give_one_line_and_status_2_before_anything_runs(
        tmp_path, capsys, monkeypatch, argv, word):
    """Nothing runs (pytest would be a subprocess) and no folder is emptied or written."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(regress.subprocess, "Popen", None)     # running anything would fail
    monkeypatch.setattr(regress.subprocess, "run", None)
    out = tmp_path / "build" / "regress"
    out.mkdir(parents=True)
    (out / "keep.txt").write_text("an earlier run")
    (tmp_path / "empty").mkdir()
    _write_folder(tmp_path / "good", {"a": 1, "b": 0}, dict(commands=1, msis=2, faults=0,
                                                              mismatches=0))
    (tmp_path / "bad_counts").mkdir()
    (tmp_path / "bad_counts" / "counts.json").write_text('{"commands": "many"}')
    argv = [part.format(empty=tmp_path / "empty", missing=tmp_path / "missing",
                        good=tmp_path / "good", bad_counts=tmp_path / "bad_counts")
            for part in argv]
    assert main(["regress", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and word in err, err
    assert (out / "keep.txt").read_text() == "an earlier run"
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "bad_counts", "build", "empty", "good"]
    assert not (tmp_path / "build" / "regress-merged").exists()


def test_run_regress_checks_shard_and_long_before_it_empties_its_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(regress.subprocess, "Popen", None)
    monkeypatch.setattr(regress.subprocess, "run", None)
    (tmp_path / "keep.txt").write_text("an earlier run")
    for options in (dict(shard="3/2"), dict(shard=(0, 2)), dict(shard="x"), dict(long=0),
                    dict(long=-5), dict(long="many")):
        with pytest.raises(ValueError):
            regress.run_regress(4, 2, out=tmp_path, **options)
    assert (tmp_path / "keep.txt").read_text() == "an earlier run"


def test_an_empty_shard_is_refused_before_the_folder_is_emptied(tmp_path, monkeypatch):
    monkeypatch.setattr(regress, "collect_tests", lambda files, options: ["a.py::t[1]",
                                                                          "a.py::t[2]"])
    monkeypatch.setattr(regress.subprocess, "Popen", None)
    (tmp_path / "keep.txt").write_text("an earlier run")
    with pytest.raises(ValueError, match="empty"):
        regress.run_regress(1, 1, out=tmp_path, shard=(3, 3))
    assert (tmp_path / "keep.txt").read_text() == "an earlier run"


# -- the shard partition ----------------------------------------------------------------------

def _ids(count):
    return [f"/somewhere/tb/{'its/test_its' if n % 3 else 'gic/test_gic'}.py::"
            f"test_{'random' if n % 2 else 'directed'}[case{n}-skip-seed{n % 7}]"
            for n in range(count)]


@pytest.mark.parametrize("count, shards", [(1, 1), (7, 3), (40, 4), (64, 5), (3, 3)])
def test_every_test_is_in_exactly_one_shard_and_the_shards_are_even(count, shards):
    tests = _ids(count)
    slices = [regress.shard_of(tests, (index, shards)) for index in range(1, shards + 1)]
    together = [test for part in slices for test in part]
    assert sorted(together) == sorted(tests)                # each exactly once
    assert max(map(len, slices)) - min(map(len, slices)) <= 1


def test_the_partition_is_stable():
    """The same tests give the same slices in any order and wherever the files are."""
    tests = _ids(50)
    first = [regress.shard_of(tests, (index, 4)) for index in range(1, 5)]
    shuffled = tests[:]
    random.Random(3).shuffle(shuffled)
    moved = [test.replace("/somewhere/", "/elsewhere/deeper/") for test in shuffled]
    assert [regress.shard_of(shuffled, (index, 4)) for index in range(1, 5)] == first
    again = [regress.shard_of(moved, (index, 4)) for index in range(1, 5)]
    assert [[test.split("::")[1] for test in part] for part in again] == \
        [[test.split("::")[1] for test in part] for part in first]


def test_the_real_test_list_splits_into_shards():
    """pytest's collection of the regression (random mixes, 3 seeds): each test in one of
    3 shards."""
    tests = regress.collect_tests(regress.TEST_FILES, ["--all-policies", "--seeds", "3",
                                                       "-k", "test_random"])
    assert len(tests) == len(set(tests)) == 9        # ITS skip + stall and the Gic, 3 seeds
    assert all(test.split("::")[0] in regress.TEST_FILES for test in tests)
    slices = [regress.shard_of(tests, (index, 3)) for index in (1, 2, 3)]
    assert sorted(sum(slices, [])) == sorted(tests)
    assert [len(part) for part in slices] == [3, 3, 3]


# -- merging output folders -------------------------------------------------------------------

def _database(hits):
    """A cocotb_coverage YAML database: cover point ``top.point`` with ``hits``."""
    covered = sum(1 for count in hits.values() if count >= 1)
    return {
        "top": {"cover_percentage": round(100 * covered / len(hits), 2), "coverage": covered,
                "size": len(hits), "type": "<class 'cocotb_coverage.coverage.CoverItem'>"},
        "top.point": {"at_least": 1, "bins:_hits": dict(hits),
                      "cover_percentage": round(100 * covered / len(hits), 2),
                      "coverage": covered, "size": len(hits),
                      "type": "<class 'cocotb_coverage.coverage.CoverPoint'>", "weight": 1},
    }


def _write_folder(folder, hits, counts, *, runs=False):
    """An output folder: merged coverage.yml and counts.json at the top, or (``runs``) one
    run's under runs/."""
    where = folder / "runs" / "skip" / "run_random_mix-1" if runs else folder
    where.mkdir(parents=True)
    (where / "coverage.yml").write_text(yaml.dump(_database(hits)))
    (where / "counts.json").write_text(json.dumps(counts))


def test_merging_two_folders_sums_the_counts_and_merges_the_coverage(tmp_path, capsys):
    _write_folder(tmp_path / "one", {"a": 1, "b": 0, "c": 0},
                  dict(commands=12_000, msis=60_000, faults=300, mismatches=0))
    _write_folder(tmp_path / "two", {"a": 2, "b": 5, "c": 0},
                  dict(commands=345, msis=7_890, faults=21, mismatches=1), runs=True)
    out = tmp_path / "merged"
    assert main(["regress", "--merge", str(tmp_path / "one"), str(tmp_path / "two"),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    line = "checked: 12,345 commands, 67,890 MSIs, 321 memory faults, 1 mismatches (2 runs)"
    assert line in printed
    assert printed[-1] == "coverage: 66.7% of 3 bins"
    summary = (out / "summary.txt").read_text().splitlines()
    assert line in summary and summary[-1] == "coverage: 66.7% of 3 bins"
    assert read_counts(out / "counts.json") == dict(commands=12_345, msis=67_890, faults=321,
                                                   mismatches=1)
    merged = yaml.safe_load((out / "coverage.yml").read_text())
    assert merged["top.point"]["bins:_hits"] == {"a": 3, "b": 5, "c": 0}
    assert merged["top"]["coverage"] == 2
    assert (out / "uncovered.txt").read_text() == "top.point: c\n"
    # The merged folder is itself a folder --merge takes.
    assert regress.merge_regress([out], out=tmp_path / "again", console=_Lines()) == 0
    assert read_counts(tmp_path / "again" / "counts.json")["msis"] == 67_890


def test_merging_reports_the_failed_tests_of_each_folder(tmp_path):
    _write_folder(tmp_path / "one", {"a": 1}, dict(commands=1, msis=1, faults=0,
                                                   mismatches=0))
    (tmp_path / "one" / "junit.xml").write_text(
        '<testsuites><testsuite><testcase name="test_random[x-skip-seed1]"/>'
        '<testcase name="test_random[x-stall-seed1]"><failure message="bad&#10;reproduce: '
        'pytest it"/></testcase></testsuite></testsuites>')
    console = _Lines()
    assert regress.merge_regress([tmp_path / "one"], out=tmp_path / "m", console=console) == 1
    assert console.lines[0] == "2 tests from 1 folders: 1 passed, 1 failed"
    assert console.lines[1] == "FAILED test_random[x-stall-seed1]\n  reproduce: pytest it"


def test_counts_are_summed_and_formatted(tmp_path):
    for name, value in (("a", 1), ("b", 2)):
        (tmp_path / f"{name}.json").write_text(json.dumps(dict(commands=value, msis=value * 10,
                                                                 faults=value, mismatches=0)))
    total = sum_counts([tmp_path / "a.json", tmp_path / "b.json"])
    assert total == dict(commands=3, msis=30, faults=3, mismatches=0)
    assert format_counts(dict(commands=12_345, msis=67_890, faults=321, mismatches=0)) == \
        "checked: 12,345 commands, 67,890 MSIs, 321 memory faults, 0 mismatches"


# -- one real run of the counting path --------------------------------------------------------

def test_a_tiny_long_shard_counts_what_it_checked(tmp_path):
    """``--long 300`` with seed 1 (the ITS's random mix on skip and stall: 150 commands
    each), shard 1/2: the skip run alone; its counts reach the summary."""
    console = _Lines()
    out = tmp_path / "regress"
    status = regress.run_regress([1], 1, out=out, long=300, shard=(1, 2), console=console)
    assert status == 0, (out / "pytest.log").read_text()[-3000:]
    assert "shard 1/2 (1 tests)" in console.lines[0] and "150 commands a run" in console.lines[0]
    runs = list((out / "runs").rglob("counts.json"))
    assert [path.parent.name for path in runs] == ["run_random_mix-1"]
    assert runs[0].parent.parent.name == "skip"
    counts = read_counts(out / "counts.json")
    assert counts["commands"] >= 150 and counts["msis"] > 0 and counts["mismatches"] == 0
    assert format_counts(counts) + " (1 runs)" in console.lines
    assert console.lines[-1].startswith("coverage: ")
    assert "long mix:" in (runs[0].parent / "sim.log").read_text()


# -- progress and argument checks of run_regress ----------------------------------------------

def test_regress_checks_its_arguments_before_it_empties_its_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("an earlier run")
    for seeds, jobs in ((0, 2), ([], 2), (4, 0), (4, -1)):
        with pytest.raises(ValueError):
            regress.run_regress(seeds, jobs, out=tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "an earlier run"


def test_regress_follows_the_tests_as_they_finish(tmp_path):
    """pytest-xdist's -v lines (as a stand-in pytest prints them) become a line each in
    tests.log and on a non-terminal console, with the running counts."""
    script = "\n".join([
        "print('created: 2/2 workers')", "print('2 workers [3 items]')",
        "print('[gw0] [ 33%] PASSED tb/its/test_its.py::test_directed[skip-run_discard] ')",
        "print('[gw1] [ 66%] FAILED tb/gic/test_gic.py::test_random[skip-3] ')",
        "print('[gw0] [100%] PASSED tb/its/test_its.py::test_random[stall-1] ')",
        "raise SystemExit(1)"])
    console = _Lines()
    status = regress._run_with_progress([sys.executable, "-c", script], None, tmp_path,
                                        console, time.monotonic())
    assert status == 1
    log = (tmp_path / "tests.log").read_text().splitlines()
    assert len(log) == 3 and log == console.lines
    assert "PASSED" in log[0] and "test_directed[skip-run_discard]" in log[0]
    assert "(1 done: 1 passed, 0 failed)" in log[0]
    assert "FAILED" in log[1] and "(2 done: 1 passed, 1 failed)" in log[1]
    assert "(3 done: 2 passed, 1 failed)" in log[2]
    assert "2 workers [3 items]" in (tmp_path / "pytest.log").read_text()
