"""What every verb of the ``its`` command shares: the usage error, argument types, the
common options, and checks that an output path can be written before any work starts."""

import argparse
from pathlib import Path

from gic.hw.its.params import ItsParams

__all__ = ["UsageError", "Parser", "count", "kib_power_of_two", "param", "its_options",
           "params_options", "output_dir", "output_file"]


class UsageError(Exception):
    """A bad command line or an unusable path: reported as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are a :class:`UsageError` (one line, exit 2)."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


def count(minimum):
    """An argument type: an integer (decimal or 0x...) of at least ``minimum``."""
    def parse(text):
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value
    return parse


def kib_power_of_two(maximum):
    """An argument type: a power of two from 4 to ``maximum`` (KiB)."""
    def parse(text):
        value = count(1)(text)
        if value & (value - 1) or not 4 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be a power of two from 4 to {maximum}, "
                                             f"not {value}")
        return value
    return parse


def param(text):
    """An argument type: ``NAME=VALUE`` of an :class:`ItsParams` parameter."""
    name, equals, value = text.partition("=")
    if not equals:
        raise argparse.ArgumentTypeError(f"{text!r} is not name=value")
    if name not in ItsParams.names():
        raise argparse.ArgumentTypeError(
            f"unknown ItsParams parameter {name!r}; parameters: {', '.join(ItsParams.names())}")
    try:
        return name, int(value, 0)
    except ValueError:
        return name, value


def params_options():
    """A parent parser with ``--param NAME=VALUE``."""
    parent = Parser(add_help=False)
    parent.add_argument("--param", action="append", type=param, default=[], metavar="NAME=VALUE",
                        help=f"override an ItsParams parameter ({', '.join(ItsParams.names())})")
    return parent


def its_options():
    """A parent parser with ``--param`` and the scripted set-up's ``--devices``, ``--events``."""
    parent = params_options()
    parent.add_argument("--devices", type=count(1), default=4, help="devices to map (default 4)")
    parent.add_argument("--events", type=count(1), default=64,
                        help="events per device (default 64)")
    return parent


def _unusable(path, error):
    reason = error.strerror or str(error)
    return UsageError(f"cannot write {path}: {reason}")


def output_dir(path):
    """Create folder ``path`` (and its parents) and check a file can be written in it.

    Raises
    ------
    UsageError
        When it cannot: the message names the path and the reason.
    """
    path = Path(path)
    probe = path / ".its-write-check"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise _unusable(path, error) from None
    return path


def output_file(path):
    """Check that file ``path`` can be written (creating its folder) before work starts.

    Raises
    ------
    UsageError
        When it cannot: the message names the path and the reason.
    """
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder")
    try:
        output_dir(path.parent)
    except UsageError as error:
        raise UsageError(f"cannot write {path}: {str(error).rsplit(': ', 1)[-1]}") from None
    return path
