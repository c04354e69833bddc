"""The ``its`` command line (sim/cli/: one module per verb), run in-process.

Expected numbers come from the documented demo set-up (every 10th MSI from a
misbehaving device; device d event e -> LPI 8192 + d*EVENTS + e on CPU
(d+e) mod CPUs, every 8th event MOVI'd to the next CPU halfway; LPI 8192 + i at
priority 0x20 + 8 * ((7i + i // 4) mod 24); the priority round takes, per CPU, the
first 6 events on it, and the CPU must take them lowest priority value first, then
lowest INTID), the encodings of docs/architecture.md and hw/its/regmap.py, not from the
command's own output.
"""

import enum
from dataclasses import fields
from pathlib import Path

import pytest

from gic.hw.its.layouts import Cmd, CmdError
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REGISTERS
from gic.sim.cli import main
from gic.sim.tools.docgen import encodings_md, registers_md

from demo_tables import priority, table_rows

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def expected_round(cpus, devices, events, moved):
    """Per CPU, the (INTID, priority) the priority round must show, in order."""
    rounds = {}
    for device in range(devices):
        for event in range(events):
            cpu = ((device + event) + (moved and event % 8 == 0)) % cpus
            if len(rounds.setdefault(cpu, [])) < 6:
                rounds[cpu].append(8192 + device * events + event)
    return {cpu: sorted(((lpi, priority(lpi)) for lpi in lpis), key=lambda x: (x[1], x[0]))
            for cpu, lpis in rounds.items()}


@pytest.mark.parametrize("target, msis, cpus, devices, events", [
    (["--model"], 1000, 4, 3, 64),
    (["--model"], 777, 2, 3, 64),
    (["--no-waves"], 300, 2, 2, 16),           # on the RTL, in Amaranth's simulator
])
def test_demo_takes_every_msi_but_the_strays(capsys, target, msis, cpus, devices, events):
    assert main(["demo", *target, "--msis", str(msis), "--seed", "5", "--devices", str(devices),
                 "--events", str(events), "--param", f"num_redistributors={cpus}"]) == 0
    out = capsys.readouterr().out
    strays = msis // 10                      # MSIs 9, 19, 29, ... come from bad devices
    # The storm: the CPUs took LPIs of the scripted set only, at most one per MSI translated.
    rows = table_rows(out, "LPIs taken per CPU during the storm")
    per_cpu = {int(row[0]): (int(row[1]), int(row[2])) for row in rows if row[0].isdigit()}
    total = next((int(row[1]), int(row[2])) for row in rows if row[0] == "total")
    assert sorted(per_cpu) == list(range(cpus))
    assert 0 < total[0] == sum(taken for taken, _ in per_cpu.values()) <= msis - strays
    assert total[1] <= devices * events and all(n > 0 for n, _ in per_cpu.values())
    drops = table_rows(out, "Dropped MSIs")
    assert next(int(row[1]) for row in drops if row[0] == "total") == strays
    assert {row[0] for row in drops} <= {"DEVICE_OOR", "UNMAPPED_DEVICE", "EVENT_OOR", "total"}
    commands = {row[0]: int(row[1]) for row in table_rows(out, "Commands executed")}
    # every event of every device mapped with MAPTI; every 8th event MOVI'd halfway.
    assert commands["MAPD"] == devices and commands["MAPTI"] == devices * events
    assert commands["MOVI"] == devices * (events // 8) and commands["MAPC"] == cpus
    assert commands["total"] == commands["GITS_STAT_CMD_EXECUTED"]
    assert f"translated {msis - strays}, dropped {strays}" in out
    # The priority round, per CPU in the order taken (on the RTL with the cycle of each).
    taken, cycles, cpu = {}, {}, None
    for row in table_rows(out, "Priority round"):
        cpu = int(row[0])
        taken.setdefault(cpu, []).append((int(row[2]), int(row[3], 16)))
        if target == ["--no-waves"]:
            cycles.setdefault(cpu, []).append(int(row[4]))
    assert taken == expected_round(cpus, devices, events, msis > 0)
    for times in cycles.values():
        assert 0 < times[0] and all(a < b for a, b in zip(times, times[1:]))


def test_demo_is_reproducible_from_its_seed(capsys):
    main(["demo", "--model", "--msis", "300", "--seed", "9"])
    first = capsys.readouterr().out
    main(["demo", "--model", "--msis", "300", "--seed", "9"])
    assert capsys.readouterr().out == first


@pytest.mark.parametrize("argv, answer", [
    (["--device", "2", "--event", "7"], f"LPI {8192 + 2 * 64 + 7} on redistributor {(2 + 7) % 4}"),
    (["--device", "3", "--event", "63", "--param", "num_redistributors=2"],
     f"LPI {8192 + 3 * 64 + 63} on redistributor {(3 + 63) % 2}"),
    (["--device", "1", "--event", "5", "--events", "10"],
     f"LPI {8192 + 1 * 10 + 5} on redistributor {(1 + 5) % 4}"),
    (["--device", "4", "--event", "0"], "dropped: UNMAPPED_DEVICE (the DTE is not valid)"),
    (["--device", "0", "--event", "64"], "dropped: EVENT_OOR"),
    (["--device", "0", "--event", "12", "--events", "10"], "dropped: UNMAPPED_INTERRUPT"),
    (["--device", "70000", "--event", "0"], "dropped: DEVICE_OOR"),
])
def test_query(capsys, argv, answer):
    assert main(["query", *argv]) == 0
    out = capsys.readouterr().out
    device, event = argv[1], argv[3]
    assert out.strip().startswith(f"DeviceID {device} EventID {event} -> {answer}")
    assert out.count("\n") == 1


@pytest.mark.parametrize("argv, words", [
    (["demo", "--devices", "-1"], "--devices"),
    (["demo", "--msis", "lots"], "--msis"),
    (["demo", "--param", "hcc=999"], "hcc"),
    (["demo", "--param", "tcache_entries=3"], "tcache_entries"),
    (["demo", "--param", "colour=blue"], "colour"),
    (["demo", "--param", "hcc"], "name=value"),
    (["demo", "--devices", "1000", "--events", "1000"], "LPIs"),
    (["query", "--device", "1"], "--event"),
    (["frobnicate"], "frobnicate"),
    ([], "command"),
    (["regress", "--seeds", "0"], "--seeds"),
    (["regress", "--jobs", "0"], "--jobs"),
    (["regress", "--seed-list", "x"], "--seed-list"),
    (["waves", "--policy", "lax"], "--policy"),
])
def test_bad_arguments_give_one_line_and_exit_2(capsys, argv, words):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and words in captured.err
    assert "Traceback" not in captured.err


def test_docs_are_generated_from_the_layouts(tmp_path, capsys):
    assert main(["docs", "--out", str(tmp_path)]) == 0
    registers = (tmp_path / "registers.md").read_text()
    encodings = (tmp_path / "encodings.md").read_text()
    for register in REGISTERS:
        assert f"| `{register.offset:#06x}` | {register.name} |" in registers
    # Field positions from the architecture (docs/architecture.md, sections 2 and 3).
    assert "| [62] | `indirect` |" in registers and "| [9:8] | `page_size` | PageSize |" in registers
    assert "| [19:5] | `offset` |" in registers and "| [31] | `quiescent` |" in registers
    assert "| DW2[51:8] | `itt_addr` |" in encodings and "| DW2[63] | `valid` |" in encodings
    assert "| DW3[50:16] | `rdbase2` |" in encodings and "| DW1[63:32] | `pintid` |" in encodings
    assert "| `0x010a04` | `MAPTI_UNMAPPED_DEVICE` |" in encodings
    for cmd in Cmd:
        assert f"| `{cmd.value:#04x}` | {cmd.name} |" in encodings
    for code in CmdError:
        assert f"`{code.name}`" in encodings


def test_committed_docs_are_current():
    from gic.sim.tools.docgen import ports_md
    for name, text in (("registers.md", registers_md()), ("encodings.md", encodings_md()),
                       ("ports.md", ports_md())):
        assert (DOCS / name).read_text() == text, f"docs/{name} is stale: run `make docs`"


def test_readme_lists_every_parameter_with_its_default():
    readme = (ROOT / "README.md").read_text()
    for field in fields(ItsParams):
        default = f"`{field.default}`" if isinstance(field.default, str) else field.default
        assert f"| `{field.name}` | {default} |" in readme, field.name


# ---------------------------------------------------------------------------------------------
# Robustness: unusable paths, bad values, help texts. Each bad input is one line, exit 2.

@pytest.mark.parametrize("argv, path", [
    (["docs", "--out", "/proc/x"], "/proc/x"),
    (["demo", "--vcd", "/proc/nope/x.vcd", "--msis", "1"], "/proc/nope/x.vcd"),
    (["verilog", "--out", "/proc/nope"], "/proc/nope"),
    (["bench", "--out", "/proc/nope", "--quick", "--tlm-only"], "/proc/nope"),
])
def test_unwritable_outputs_give_one_line_and_exit_2(capsys, argv, path):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert f"cannot write {path}" in captured.err and "Traceback" not in captured.err


def test_docs_into_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "taken").write_text("keep")
    assert main(["docs", "--out", str(tmp_path / "taken")]) == 2
    assert (tmp_path / "taken").read_text() == "keep"
    assert capsys.readouterr().err.count("\n") == 1


def _verb_parsers():
    import argparse
    from gic.sim.cli import parser
    actions = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return actions[0].choices


def test_every_verb_has_a_description():
    verbs = _verb_parsers()
    assert set(verbs) == {"demo", "query", "docs", "bitstream", "program", "host", "verilog",
                          "resources", "bench", "regress", "waves", "formal"}
    for name, sub in verbs.items():
        assert sub.description and len(sub.description) > 40, name


def test_regress_help_shows_a_literal_percent(capsys):
    assert main(["regress", "--help"]) == 0
    out = capsys.readouterr().out
    assert "NN.N% of M bins" in " ".join(out.split()) and "%%" not in out


def test_waves_help_lists_the_policies(capsys):
    assert main(["waves", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "{skip,stall}" in out


def test_waves_without_a_test_lists_the_tests(capsys):
    assert main(["waves"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--test" in err
    for name in ("run_linux_bring_up", "run_ring_wrap", "run_random_mix"):
        assert name in err


def test_make_waves_without_test_lists_the_tests():
    import subprocess
    done = subprocess.run(["make", "-s", "waves"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0
    assert "run_ring_wrap" in done.stderr and "Traceback" not in done.stderr


def test_descriptions_are_read_from_the_docstrings_as_data():
    from gic.hw.its.layouts import DropReason, GitsBaser, IntCmd, MapdCmd
    from gic.sim.tools.docgen import field_docs, member_docs
    assert member_docs(Cmd)["MAPD"] == "map (V=1) or unmap (V=0) a device's ITT"
    assert member_docs(DropReason)["DISABLED"] == "GITS_CTLR.Enabled was 0"
    assert all(member_docs(CmdError).values()) and all(member_docs(Cmd).values())
    assert field_docs(MapdCmd) == {"size": "EventID bits - 1",
                                   "itt_addr": "ITT physical address bits [51:8]"}
    assert field_docs(GitsBaser)["indirect"] == "two-level table (devices only)"
    assert field_docs(IntCmd) == {}       # its fields are all positions, no descriptions

    class Sectioned(enum.Enum):
        """One line.

        Members
        -------
        A
            the first,
            on two lines
        B : int
            the second

        Notes
        -----
        C
            not a member
        """
        A = 1
        B = 2
    assert member_docs(Sectioned) == {"A": "the first, on two lines", "B": "the second"}


def test_bench_writes_only_under_build_bench(tmp_path, monkeypatch, capsys):
    """`its bench` leaves the checkout as it was: its report, plots and summary go to the
    current folder's build/bench/, the report's images are beside it."""
    import re as regex
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--quick", "--tlm-only"]) == 0
    written = {path.relative_to(tmp_path).parts[:2] for path in tmp_path.rglob("*")
               if path.is_file()}
    assert written == {("build", "bench")}
    report = (tmp_path / "build" / "bench" / "performance.md").read_text()
    images = regex.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert images and all((tmp_path / "build" / "bench" / image).exists() for image in images)
    assert "build/bench/performance.md" in capsys.readouterr().out
