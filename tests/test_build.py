"""hw/boards/build.py and hw/boards/ecp5.py without running the tools (that takes minutes).

PLL dividers are checked against what Project Trellis's ``ecppll`` prints for the same
frequencies; the report parser against the shape of nextpnr-ecp5's ``--report`` JSON.
"""

import gc
import json

import pytest

from gic.hw.boards import build as board_build
from gic.hw.boards.build import BuildReport, boards, load_constraints, memory_report, parse_report
from gic.hw.boards.ecp5 import pll_config
from gic.sim.cli import main


@pytest.mark.parametrize("f_in, f_out, dividers", [
    # (CLKI_DIV, CLKFB_DIV, CLKOP_DIV) as `ecppll -i F_IN -o F_OUT` gives them.
    (25e6, 100e6, (1, 4, 6)),
    (25e6, 62.5e6, (2, 5, 10)),
    (25e6, 75e6, (1, 3, 8)),
    (25e6, 50e6, (1, 2, 12)),
    (25e6, 90e6, (5, 18, 7)),
    (100e6, 75e6, (4, 3, 8)),
])
def test_pll_dividers_match_ecppll(f_in, f_out, dividers):
    config = pll_config(f_in, f_out)
    assert (config.clki_div, config.clkfb_div, config.clkop_div) == dividers
    assert config.f_out == pytest.approx(f_out)
    assert 400e6 <= config.f_vco <= 800e6


def test_pll_out_of_reach():
    with pytest.raises(ValueError, match="no closer"):
        pll_config(25e6, 1e3)


def test_every_board_has_constraints_the_build_reads():
    for name in boards():
        constraints = load_constraints(name)
        assert constraints["CLOCKS_MHZ"]["sync"] > 0
        platform = boards()[name].platform()
        platform.add_resources(constraints["RESOURCES"])
        assert ("uart", 0) in platform.resources


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
@pytest.mark.parametrize("board", sorted(boards()))
@pytest.mark.parametrize("given", [None, 7])
def test_build_runs_nextpnr_with_the_board_seed(monkeypatch, tmp_path, board, given):
    """nextpnr gets the static placer and the board's SEED (or the seed given), and the
    flow stops there (the platform's build is replaced)."""
    from gic.hw.its.params import ItsParams
    from its_stand_in import ItsStandIn
    seen = {}

    class Stop(Exception):
        pass

    def fake_build(self, design, **kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(boards()[board].platform, "build", fake_build)
    monkeypatch.setattr(board_build, "tool_environment", lambda: {})
    with pytest.raises(Stop):
        board_build.build(board, params=ItsParams(), its=ItsStandIn, build_dir=tmp_path,
                          seed=given)
    seed = load_constraints(board)["SEED"] if given is None else given
    options = seen["nextpnr_opts"].split()
    assert options[options.index("--seed") + 1] == str(seed)
    assert options[options.index("--placer") + 1] == "static"
    gc.collect()        # the design never elaborated: its warning is expected here


def test_missing_constraints(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_constraints("ulx3s-85f", folder=tmp_path)


REPORT = {
    "utilization": {
        "TRELLIS_COMB": {"used": 12000, "available": 83640},
        "TRELLIS_FF": {"used": 6000, "available": 83640},
        "DP16KD": {"used": 40, "available": 208},
        "MULT18X18D": {"used": 0, "available": 156},
        "EHXPLLL": {"used": 1, "available": 4},
    },
    "fmax": {"$glbnet$pll.clk_out": {"achieved": 87.5, "constraint": 100.0}},
}


def test_report_parsing_and_timing():
    report = parse_report(REPORT, board="ulx3s-85f", device="LFE5U-85F-6BG381",
                          clock_nets={"sync": "pll.clk_out"}, target_mhz={"sync": 100.0})
    assert report.resources["lut4"] == (12000, 83640) and report.resources["bram"] == (40, 208)
    assert report.fmax_mhz == {"sync": 87.5} and report.failing == ["sync"]
    lines = report.lines()
    assert "fmax sync: 87.50 MHz (target 100 MHz)" in lines
    assert any(line.split()[:1] == ["LUT4s"] and "14.3 %" in line for line in lines)
    data = report.to_json()
    assert data["lut4"] == 12000 and data["ff"] == 6000 and data["bram"] == 40
    assert data["fmax_mhz"] == {"sync": 87.5} and data["device"] == "LFE5U-85F-6BG381"
    with pytest.raises(ValueError, match="no clock"):
        parse_report(REPORT, board="b", device="d", clock_nets={"sync": "other"},
                     target_mhz={"sync": 100.0})


@pytest.mark.parametrize("fmax, status", [(87.5, 1), (120.0, 0)])
def test_its_bitstream_exit_status(monkeypatch, capsys, fmax, status):
    def fake_build(board, **kwargs):
        return BuildReport(board=board, device="LFE5U-85F-6BG381",
                           resources={"lut4": (1, 2), "ff": (1, 2), "bram": (1, 2),
                                      "dsp": (0, 2)},
                           fmax_mhz={"sync": fmax}, target_mhz={"sync": 100.0}, seconds=3)
    monkeypatch.setattr(board_build, "build", fake_build)
    assert main(["bitstream", "--board", "ulx3s-85f"]) == status
    captured = capsys.readouterr()
    assert f"fmax sync: {fmax:.2f} MHz (target 100 MHz)" in captured.out
    if status:
        assert captured.err == ("its bitstream: timing not met: sync 87.50 MHz < 100 MHz; a "
                                "bitstream that works on the board: make bitstream "
                                "BOARD=ulx3s-85f MHZ=85\n")
    else:
        assert captured.err == ""


def test_its_program_without_openfpgaloader(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "build" / "ulx3s-85f").mkdir(parents=True)
    (tmp_path / "build" / "ulx3s-85f" / "its_board.bit").write_bytes(b"\xff")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["program", "--board", "ulx3s-85f"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "openFPGALoader is not on PATH" in err


def test_report_json_shape_is_stable():
    data = json.loads(json.dumps(parse_report(
        REPORT, board="b", device="d", clock_nets={"sync": "clk_out"},
        target_mhz={"sync": 80.0}).to_json()))
    assert {"fmax_mhz", "lut4", "ff", "bram", "dsp", "device", "timing_met"} <= set(data)
    assert data["timing_met"] is True


@pytest.mark.parametrize("board", sorted(boards()))
def test_board_design_elaborates_with_its_pins(tmp_path, board):
    """The platform flow's files, without running the tools (stand-in ITS: fast)."""
    from gic.hw.boards.ecp5 import Ecp5Board
    from gic.hw.its.params import ItsParams
    from its_stand_in import ItsStandIn
    spec = boards()[board]
    constraints = load_constraints(board)
    platform = spec.platform()
    platform.add_resources(constraints["RESOURCES"])
    design = Ecp5Board(clk_freq=100e6, leds=spec.leds, params=ItsParams(), its=ItsStandIn)
    plan = platform.prepare(design, name="its_board")
    lpf = plan.files["its_board.lpf"]
    uart = platform.resources["uart", 0]
    for pin in (uart.ios[0].ios[0].names[0], uart.ios[1].ios[0].names[0]):
        assert f'SITE "{pin}"' in lpf
    assert 'FREQUENCY NET "pll.clk_out" 100000000' in lpf
    assert "its_error_irq" in lpf
    assert design.top.divisor == 868 and design.pll.f_out == 100e6
    # The default block RAM (docs/host-protocol.md): a 64 KiB main window and an 8 KiB
    # pending window 64 KiB apart for each of redistributors 1..3: 88 KiB, 44 DP16KD
    # (2 KiB each) instead of the 128 a dense 256 KiB took.
    assert memory_report(design.top) == {
        "mem_bytes": 88 * 1024, "mem_base": 0x4000_0000,
        "mem_windows": [[0, 65536], [0x10000, 8192], [0x20000, 8192], [0x30000, 8192]]}


def test_board_memory_options_reach_the_board(tmp_path):
    """`--mem-kib` is the main window, `--pending-kib` each pending window; a main window
    that reaches a redistributor's pending-table place takes it in (no window for it)."""
    from gic.hw.boards.ecp5 import Ecp5Board
    from gic.hw.its.params import ItsParams
    from its_stand_in import ItsStandIn
    spec = boards()["ulx3s-85f"]
    platform = spec.platform()
    platform.add_resources(load_constraints("ulx3s-85f")["RESOURCES"])
    design = Ecp5Board(clk_freq=100e6, leds=spec.leds, params=ItsParams(), its=ItsStandIn,
                       mem_bytes=128 * 1024, pending_window=16 * 1024)
    platform.prepare(design, name="its_board")
    assert memory_report(design.top)["mem_windows"] == \
        [[0, 0x20000], [0x20000, 16384], [0x30000, 16384]]
    assert design.top.ram.size == 160 * 1024


def test_its_bitstream_memory_options(monkeypatch, capsys):
    seen = {}

    def fake_build(board, **kwargs):
        seen.update(kwargs)
        return BuildReport(board=board, device="d", resources={}, fmax_mhz={"sync": 100.0},
                           target_mhz={"sync": 100.0})
    monkeypatch.setattr(board_build, "build", fake_build)
    assert main(["bitstream", "--board", "ulx3s-85f"]) == 0
    assert (seen["mem_bytes"], seen["pending_window"]) == (None, None)   # the board's defaults
    assert main(["bitstream", "--board", "ulx3s-85f", "--mem-kib", "128",
                 "--pending-kib", "16"]) == 0
    assert (seen["mem_bytes"], seen["pending_window"]) == (128 * 1024, 16 * 1024)


def test_progress_says_each_phase_once_in_order(tmp_path):
    """The phases are read from the logs as the flow writes them: each is said once, in
    the flow's order; one that never shows is passed over once a later one does."""
    import time
    said = []
    rpt = tmp_path / f"{board_build.BUILD_NAME}.rpt"
    tim = tmp_path / f"{board_build.BUILD_NAME}.tim"

    def phases():
        return [line.split("s  ", 1)[1] for line in said]

    with board_build._Progress(tmp_path, time.monotonic(), said.append, poll_seconds=0.01):
        time.sleep(0.05)
        assert phases() == []
        rpt.write_text("2. Executing SYNTH_LATTICE pass.\n")
        time.sleep(0.2)
        assert phases() == ["yosys: synthesis"]
        rpt.write_text("2. Executing SYNTH_LATTICE pass.\n2.46. Executing ABC9 pass.\n")
        time.sleep(0.2)
        assert phases() == ["yosys: synthesis", "yosys: technology mapping (ABC9)"]
        # No "Static placer" line: placing (refinement) follows packing directly.
        tim.write_text("Info: Packing IOs..\nInfo: Running simulated annealing placer\n")
        time.sleep(0.2)
    assert phases() == ["yosys: synthesis", "yosys: technology mapping (ABC9)",
                        "nextpnr: packing", "nextpnr: placing (refinement)"]


@pytest.mark.parametrize("argv, words", [
    (["--pending-kib", "3"], "--pending-kib: must be a power of two from 4 to 64, not 3"),
    (["--pending-kib", "128"], "--pending-kib: must be a power of two from 4 to 64, not 128"),
    (["--mem-kib", "96"], "--mem-kib: must be a power of two from 4 to 16384, not 96"),
    (["--mem-kib", "2"], "--mem-kib: must be a power of two from 4 to 16384, not 2"),
])
def test_its_bitstream_memory_option_errors(monkeypatch, capsys, argv, words):
    monkeypatch.setattr(board_build, "build", lambda *args, **kwargs: pytest.fail("built"))
    assert main(["bitstream", "--board", "ulx3s-85f", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err


def test_build_checks_the_memory_before_touching_the_build_folder(tmp_path):
    from gic.hw.its.params import ItsParams
    with pytest.raises(ValueError, match="pending_window must be a power of two"):
        board_build.build("ulx3s-85f", params=ItsParams(), pending_window=3072,
                          build_dir=tmp_path / "build")
    assert not (tmp_path / "build").exists()
