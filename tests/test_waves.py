"""The GTKWave save files open on something: every signal they name is in their dump, with
its width; their translate filter files exist; the first view lies on the dump's time
span, spans more than nothing and shows most of the run; groups are named after blocks.

The demo part runs ``its demo`` on the RTL with a few MSIs (about half a minute); the
cocotb part one short ITS test with waves (needs Icarus and GTKWave's ``fst2vcd``).
"""

import shutil

from amaranth.lib import enum

from gic.sim.cli import main
from gic.tb.common.gtkw import (Signal, check_save_file, dump_span, read_save_file,
                                write_enum_filter, write_save_file)


def test_save_file_round_trip(tmp_path):
    """A field trace picks its bits by MSB position; the window read back is the one written."""
    vcd = tmp_path / "t.vcd"
    vcd.write_text("$timescale 1 ns $end\n$scope module top $end\n"
                   "$var wire 8 ! bus $end\n$var wire 1 \" clk $end\n$upscope $end\n"
                   "$enddefinitions $end\n#0\nb0 !\n0\"\n#100\nb101 !\n1\"\n#2000\n0\"\n")

    class Colour(enum.Enum, shape=2):
        RED = 0
        BLUE = 2

    filt = write_enum_filter(tmp_path / "Colour.txt", Colour)
    assert filt.read_text() == "0 RED\n2 BLUE\n"
    bus = Signal("top.bus", 8, alias="bus")
    traces = [Signal("top.clk", 1, alias="clk"), bus.field(4, 4, "bus high"),
              bus.field(0, 2, "bus colour", translate=filt)]
    save = write_save_file(tmp_path / "t.gtkw", vcd, [("Things", traces, True)])
    text = save.read_text()
    assert "#{bus high} (0)top.bus[7:0] (1)top.bus[7:0] (2)top.bus[7:0] (3)top.bus[7:0]" in text
    assert "#{bus colour} (6)top.bus[7:0] (7)top.bus[7:0]" in text
    assert "@2024" in text and f"^1 {filt}" in text
    parsed = read_save_file(save)
    assert parsed.groups == ["Things"]
    assert parsed.aliases == ["clk", "bus high", "bus colour"]
    assert dump_span(vcd) == (0, 2000)
    start, end = parsed.window
    assert start == 0 and 2000 <= end < 2300
    assert check_save_file(save) == []


def _check(save, groups):
    problems = check_save_file(save)
    assert problems == [], "\n".join(problems)
    parsed = read_save_file(save)
    for group in groups:
        assert group in parsed.groups, f"{save}: no group {group!r} in {parsed.groups}"
    assert not any("$" in alias for alias in parsed.aliases)
    assert not any(name.startswith(("interface", "view")) for name in parsed.groups)
    return parsed


def test_demo_save_file(tmp_path):
    """``its demo``'s VCD and save file: the ITS's blocks, every redistributor, every CPU."""
    vcd = tmp_path / "demo.vcd"
    assert main(["demo", "--msis", "20", "--devices", "2", "--events", "4",
                 "--vcd", str(vcd)]) == 0
    parsed = _check(vcd.with_suffix(".gtkw"),
                    ["Register bus", "Command fetch", "Executor", "Translator and caches",
                     "Walker", "Memory AXI", "Forwarder"] +
                    [f"Redistributor {n}" for n in range(4)] + [f"CPU {n}" for n in range(4)])
    assert "executor step_state" in parsed.aliases
    assert "cmdq cmd device_id" in parsed.aliases         # the payload split by field
    assert "cpu0 record intid" in parsed.aliases
    assert parsed.filters                                  # enum fields of payloads by name


def test_cocotb_save_file(tmp_path):
    """One short cocotb test with waves: the ITS's save file against its FST (Icarus and
    GTKWave's fst2vcd come with `make setup`)."""
    assert shutil.which("iverilog") and shutil.which("fst2vcd"), \
        "needs Icarus Verilog and GTKWave's fst2vcd: make setup installs them"
    from gic.tb.its.test_its import run_cocotb
    folder = run_cocotb("skip", "run_discard", 1, waves=True, test_dir=tmp_path / "run")
    parsed = _check(folder / "its.gtkw",
                    ["Register bus", "Command fetch", "Executor", "Translator and caches",
                     "Walker", "Memory AXI", "Forwarder", "Redistributor 0"])
    assert "executor step_state" in parsed.aliases
    assert any(name.endswith("fsm_its_executor_step_state.txt") for name in parsed.filters)
