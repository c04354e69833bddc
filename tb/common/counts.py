"""What a cocotb run checked, for ``its regress``'s summary, and the long-run knob.

Each testbench's ``finish`` calls :func:`record_counts` with what its scoreboard and its
memory saw (commands retired and compared with the reference model, MSIs taken, memory
bursts answered with an injected SLVERR/DECERR, mismatches); the totals of every test of
the simulator run so far are written to ``counts.json`` in the test's folder, beside its
``coverage.yml``. ``its regress`` sums those files over every run (:func:`sum_counts`).

``its regress --long`` hands the random mix a number of commands to run
(:data:`LONG_VARIABLE`, read with :func:`long_of_run`), as the run's seed is handed
over: the random mix then keeps going until that many commands retired.
"""

import json
import os
from pathlib import Path

__all__ = ["COUNTS", "COUNTS_FILE", "LONG_VARIABLE", "record_counts", "read_counts",
           "sum_counts", "format_counts", "long_of_run"]

COUNTS = ("commands", "msis", "faults", "mismatches")
"""The figures of a counts file."""
COUNTS_FILE = "counts.json"
LONG_VARIABLE = "TB_LONG"
"""The environment variable that asks the random mix for at least this many commands."""

_totals = dict.fromkeys(COUNTS, 0)


def record_counts(*, commands, msis, faults, mismatches, path=COUNTS_FILE):
    """Add one test's figures to this simulator run's and write the run's totals to
    ``path`` (in the test's folder: the simulator's working directory)."""
    for name, value in zip(COUNTS, (commands, msis, faults, mismatches)):
        _totals[name] += int(value)
    Path(path).write_text(json.dumps(_totals) + "\n")


def read_counts(path):
    """The figures of one counts file (missing ones 0).

    Raises
    ------
    ValueError
        The file is not a JSON object of non-negative integers.
    """
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not a counts file ({error})") from None
    if not isinstance(data, dict) or not all(
            isinstance(data.get(name, 0), int) and data.get(name, 0) >= 0 for name in COUNTS):
        raise ValueError(f"{path}: not a counts file (an object of {', '.join(COUNTS)})")
    return {name: data.get(name, 0) for name in COUNTS}


def sum_counts(paths):
    """The figures of several counts files, summed."""
    total = dict.fromkeys(COUNTS, 0)
    for path in paths:
        for name, value in read_counts(path).items():
            total[name] += value
    return total


def format_counts(counts):
    """``checked: 12,345 commands, 67,890 MSIs, 321 memory faults, 0 mismatches``."""
    return (f"checked: {counts['commands']:,} commands, {counts['msis']:,} MSIs, "
            f"{counts['faults']:,} memory faults, {counts['mismatches']:,} mismatches")


def long_of_run():
    """The commands the random mix must run (``its regress --long``), or 0: its usual
    length."""
    return int(os.environ.get(LONG_VARIABLE, "0") or 0)
