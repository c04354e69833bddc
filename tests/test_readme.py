"""The README's examples run and print what the README says they print."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _snippets():
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def _run(code, tmp_path):
    script = tmp_path / "snippet.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_driver_example(tmp_path):
    driver, = [code for code in _snippets() if "ModelBus.create" in code]
    # device 0x10 event 3 -> LPI 8200 on collection 2, collection c on redistributor c
    assert _run(driver, tmp_path).split("\n")[:2] == ["SET 8200", "8200 2"]


def test_the_tlm_quick_start(tmp_path):
    tlm, = [code for code in _snippets() if "TlmIts" in code]
    out = _run(tlm, tmp_path).splitlines()
    readme = (ROOT / "README.md").read_text()
    printed = re.search(r"It prints `([^`]+)`", readme)[1]
    assert out[0] == printed
    assert out[0].startswith("100 x SET LPI 8200 on redistributor 2 in ")
    assert out[1] == "mismatches against the reference model: []"
