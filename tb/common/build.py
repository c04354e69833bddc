"""Verilog builds for the cocotb testbenches, one folder per parameter set, and test runs.

A block's Verilog is generated from Amaranth and compiled by Icarus once per parameter
set into ``build/tb/<block>/<set>/`` (always with the FST dump module, so any test can
dump waves without a rebuild); every test of that set then runs on the same
``sim.vvp`` in its own folder ``build/tb/<block>/<set>/<test>/``. A lock file makes
concurrent pytest-xdist workers build each set once; a stamp of the RTL sources and the
parameters skips generation and compilation when nothing changed.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import re
from dataclasses import asdict
from pathlib import Path
from xml.etree import ElementTree

from cocotb_tools.runner import get_runner

__all__ = ["BUILD_ROOT", "TIMESCALE", "CLOCK_PERIOD_NS", "PARAMS_VARIABLE",
           "SEED_VARIABLE", "build", "run", "run_testcase", "run_folder", "reproduce_command",
           "failing_tests",
           "failure_excerpt", "icarus_time_zero"]

BUILD_ROOT = Path.cwd() / "build" / "tb"
"""Verilog, simulator builds and runs: ``build/tb/`` under the directory the tests start in."""
HW_SOURCES = Path(__file__).resolve().parents[2] / "hw"
"""The RTL the builds depend on (gic.hw, in the source tree or installed)."""
TIMESCALE = ("1ns", "1ps")
"""Icarus needs a timescale for the FST dump and cocotb's clock."""
CLOCK_PERIOD_NS = 10
"""The testbench clock: 100 MHz."""
SIMULATOR = "icarus"
PARAMS_VARIABLE = "TB_PARAMS"
"""The environment variable that hands a run's ItsParams (JSON) to the testbench."""
SEED_VARIABLE = "TB_SEED"
"""The environment variable that hands a run's seed to the testbench."""


_DUMP_TRIGGER = re.compile(r"^\s*reg (\\\$auto\$verilog_backend\S*) += 0;$", re.MULTILINE)
_SINGLE_STATEMENT = re.compile(r"^(\s*)always @\*\n(\s*)(?!begin\b)([^\n]*;)$", re.MULTILINE)
_KICK = "\\tb$time_zero"


def icarus_time_zero(text):
    r"""Make every ``always @*`` block of Yosys's Verilog run once at time zero in Icarus.

    Yosys gives each module a ``reg \$auto$verilog_backend...dump_module$N = 0`` that
    its multi-statement ``always @*`` blocks read, so that the declaration's initial
    value triggers them at time zero. Icarus initialises such a reg before its
    processes start, and never runs a single-statement block whose right-hand side
    is constant (``always @* x[62:52] = 11'h000;``): those bits stay X, where
    Amaranth's simulator has them at their value. So each module gets a reg that
    changes at 1 time step (``initial #1``), read by its Yosys trigger and by every
    single-statement ``always @*`` block, which then all run once.
    """
    modules = text.split("\nmodule ")
    for index, module in enumerate(modules):
        if "always @*" not in module:
            continue
        trigger = _DUMP_TRIGGER.search(module)
        kick = f"initial #1 {_KICK} = 1;"
        if trigger is not None:
            name = trigger[1]
            module = module.replace(trigger[0], f"{trigger[0]}\n  reg {_KICK} = 0;\n  {kick}\n"
                                    f"  always @* {name} = {_KICK} ;", 1)
        else:
            header_end = module.index(";") + 1
            module = f"{module[:header_end]}\n  reg {_KICK} = 0;\n  {kick}{module[header_end:]}"
        modules[index] = _SINGLE_STATEMENT.sub(
            lambda match: (f"{match[1]}always @* begin\n{match[2]}if ({_KICK} ) begin end\n"
                           f"{match[2]}{match[3]}\n{match[1]}end"), module)
    return "\nmodule ".join(modules)


@contextlib.contextmanager
def _locked(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _digest(toplevel, settings):
    digest = hashlib.sha256(f"{toplevel} {settings!r}".encode())
    for path in [Path(__file__), *sorted(HW_SOURCES.rglob("*.py"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build(block, name, toplevel, generate, settings):
    """Generate and compile ``block``'s Verilog for one parameter set, once.

    Parameters
    ----------
    block : str
        The testbench folder (``"its"``).
    name : str
        The parameter set's name: its build folder.
    toplevel : str
        Verilog module name.
    generate : callable of Path
        Writes the Verilog file it is given (then passed through :func:`icarus_time_zero`).
    settings : object
        What the build depends on besides the RTL sources (its repr is stamped).

    Returns
    -------
    Path
        The build folder (``sim.vvp``, ``<toplevel>.v``).
    """
    build_dir = BUILD_ROOT / block / name
    with _locked(BUILD_ROOT / block / f"{name}.lock"):
        source = build_dir / f"{toplevel}.v"
        stamp = build_dir / "stamp"
        digest = _digest(toplevel, settings)
        if not (source.exists() and stamp.exists() and stamp.read_text() == digest
                and (build_dir / "sim.vvp").exists()):
            build_dir.mkdir(parents=True, exist_ok=True)
            generate(source)
            source.write_text(icarus_time_zero(source.read_text()))
            runner = get_runner(SIMULATOR)
            runner.build(sources=[source], hdl_toplevel=toplevel, build_dir=build_dir,
                         waves=True, timescale=TIMESCALE, always=True,
                         log_file=build_dir / "build.log")
            stamp.write_text(digest)
    return build_dir


def run(build_dir, toplevel, module, *, test_dir, seed, test_filter=None, waves=False,
        extra_env=None):
    """Run the cocotb tests of ``module`` (those ``test_filter`` matches) on a build.

    The simulator's output goes to ``test_dir/sim.log``; waves to ``test_dir/<toplevel>.fst``
    when ``waves`` (or the environment's ``WAVES=1``) asks for them.

    Returns
    -------
    list of str
        The names of the tests that failed (all of them when the simulator crashed).
    """
    test_dir = Path(test_dir).resolve()     # the simulator runs in test_dir: absolute paths
    test_dir.mkdir(parents=True, exist_ok=True)
    waves = waves or os.environ.get("WAVES", "0") not in ("", "0")
    results = test_dir / "results.xml"
    runner = get_runner(SIMULATOR)
    # Out of pytest's sight, the runner returns instead of exiting on a failure.
    pytest_test = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        runner.test(test_module=module, hdl_toplevel=toplevel, hdl_toplevel_lang="verilog",
                    build_dir=build_dir, test_dir=test_dir, test_filter=test_filter, seed=seed,
                    waves=waves, timescale=TIMESCALE, log_file=test_dir / "sim.log",
                    plusargs=[f"+dumpfile_path={test_dir / (toplevel + '.fst')}"],
                    extra_env=dict(extra_env or {}), results_xml=str(results))
    except SystemExit:
        pass                            # the simulator failed: the results say which tests
    finally:
        if pytest_test is not None:
            os.environ["PYTEST_CURRENT_TEST"] = pytest_test
    return failing_tests(results)


def run_testcase(build_dir, toplevel, module, testcase, *, params, seed, test_dir, where,
                 reproduce, waves=False, save_file=None):
    """Run cocotb test ``testcase`` of ``module`` (all its parametrized forms) on a build,
    handing the testbench ``params`` and ``seed`` (:data:`PARAMS_VARIABLE`,
    :data:`SEED_VARIABLE`).

    Parameters
    ----------
    where : str
        What ran, for the failure message (``"the skip build"``).
    reproduce : str
        The command that runs the test again, for the failure message.
    waves : bool
        Dump waves (also with the environment's ``WAVES=1``).
    save_file : callable of Path, or None
        Writes a GTKWave save file into the test's folder, after a run with waves.

    Returns
    -------
    Path
        The test's folder.

    Raises
    ------
    AssertionError
        Naming the failing tests, the log, the first mismatches and the command that
        runs them again.
    """
    test_dir = Path(test_dir)
    waves = waves or os.environ.get("WAVES", "0") not in ("", "0")
    failed = run(build_dir, toplevel, module, test_dir=test_dir, seed=seed, waves=waves,
                 test_filter=rf"^{re.escape(module)}\.{re.escape(testcase)}(/.*)?$",
                 extra_env={PARAMS_VARIABLE: json.dumps(asdict(params)),
                            SEED_VARIABLE: str(seed)})
    if waves and save_file is not None:
        save_file(test_dir)
    if failed:
        raise AssertionError(
            f"{len(failed)} cocotb test(s) failed on {where} with seed {seed}: "
            f"{', '.join(failed)}\n{failure_excerpt(test_dir / 'sim.log')}\n"
            f"log: {test_dir / 'sim.log'}\n"
            f"reproduce: {reproduce}")
    return test_dir


def run_folder(block, name, testcase, seed, *, out_folder):
    """Where a test runs: ``build/tb/<block>/<name>/<testcase>-<seed>/``, or, when the
    environment's ``ITS_TB_OUT`` names a folder (``its regress``), ``<out_folder>/<name>/
    <testcase>-<seed>/`` in it (``out_folder`` ``""``: straight in it)."""
    root = os.environ.get("ITS_TB_OUT")
    base = BUILD_ROOT / block if root is None else Path(root) / out_folder
    return base / name / f"{testcase}-{seed}"


def reproduce_command(test_file, testcase, name, seed, *, random, all_policies=False):
    """The command that runs one test (``random``: of ``test_random``, else of
    ``test_directed``) on parameter set ``name`` with one seed again (``all_policies``:
    with ``--all-policies``, which a test outside the default set needs)."""
    kind = "test_random" if random else "test_directed"
    return (f".venv/bin/pytest '{test_file}::{kind}[{testcase}-{name}-seed{seed}]' "
            f"--seed {seed}" + (" --all-policies" if all_policies else ""))


def failing_tests(results):
    """Names of the failed tests in a cocotb results file (``["<no results>"]`` if none)."""
    if not Path(results).exists():
        return ["<the simulator ended without results>"]
    failed = []
    for case in ElementTree.parse(results).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(case.get("name"))
    return failed


def failure_excerpt(log, lines=40):
    """The lines of a simulator log that say what failed (mismatches, assertions)."""
    if not Path(log).exists():
        return "(no log)"
    text = Path(log).read_text(errors="replace").splitlines()
    keep = [line for line in text if any(word in line for word in (
        "MISMATCH", "Error", "assert", "failed", "FAIL", "scoreboard:", "SEED="))]
    return "\n".join(keep[:lines])
