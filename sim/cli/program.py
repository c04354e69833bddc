"""``its program``: load the board's bitstream with openFPGALoader."""

import shutil
import subprocess
import sys

from gic.hw.boards.build import BUILD_NAME, BUILD_ROOT, boards

__all__ = ["add_parser", "run"]


def add_parser(commands):
    program = commands.add_parser(
        "program", help="load the bitstream with openFPGALoader",
        description="Load build/BOARD/its_board.bit (from `its bitstream`) into the board's "
                    "FPGA with openFPGALoader (volatile: gone at power-off).")
    program.add_argument("--board", choices=sorted(boards()), required=True)
    program.set_defaults(run=run, param=[])
    return program


def run(args, params, console):
    bitstream = BUILD_ROOT / args.board / f"{BUILD_NAME}.bit"
    if not bitstream.exists():
        print(f"its program: {bitstream} does not exist; run `its bitstream --board "
              f"{args.board}` first", file=sys.stderr)
        return 2
    loader = shutil.which("openFPGALoader")
    if loader is None:
        print("its program: openFPGALoader is not on PATH; install it (Debian/Ubuntu: "
              "sudo apt-get install openfpgaloader; or see "
              "https://trabucayre.github.io/openFPGALoader/)", file=sys.stderr)
        return 2
    command = [loader, "-b", boards()[args.board].programmer_board, str(bitstream)]
    console.print(" ".join(command))
    return 0 if subprocess.run(command).returncode == 0 else 1
