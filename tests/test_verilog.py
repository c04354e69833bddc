"""`its verilog`: the ITS converts to Verilog, and the Yosys check catches latches and loops."""

import pytest

from gic.sim.cli import main
from gic.sim.tools.verilog import VerilogLintError, export, lint

LATCH = """
module its(input en, input d, output reg q);
  always @* if (en) q = d;
endmodule
"""

LOOP = """
module its(input a, output y);
  wire b;
  assign b = y ^ a;
  assign y = b;
endmodule
"""


def test_small_variant_converts_and_passes_lint(tmp_path):
    [(name, path, params, cells)] = export(tmp_path, variants={"small": {"device_bits": 8,
                                                                         "hcc": 0}})
    text = path.read_text()
    assert name == "small" and path.name == "its-small.v"
    assert "module its(" in text
    for port in ("axil__awaddr", "axi__arvalid", "msi__payload", "gic__0__valid",
                 "ack__3__ready", "error_irq"):
        assert port in text
    assert cells > 1000


@pytest.mark.parametrize("source,what", [(LATCH, "latch"), (LOOP, "loop")])
def test_lint_rejects(tmp_path, source, what):
    path = tmp_path / f"{what}.v"
    path.write_text(source)
    with pytest.raises(VerilogLintError, match=f"{what}.v"):
        lint(path)


def test_cli_bad_param_is_one_line(capsys):
    assert main(["verilog", "--param", "hcc=300"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hcc must be an integer" in err and "Traceback" not in err
