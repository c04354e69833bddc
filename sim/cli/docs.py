"""``its docs``: write docs/registers.md, docs/encodings.md and docs/ports.md from the register
map, the layouts and the Verilog wrappers (``make docs`` writes them into docs/)."""

from pathlib import Path

from gic.sim.cli.common import output_dir
from gic.sim.tools.docgen import encodings_md, ports_md, registers_md

__all__ = ["add_parser", "run", "DEFAULT_DIR"]

DEFAULT_DIR = Path("build") / "docs"


def add_parser(commands):
    docs = commands.add_parser(
        "docs", help="write registers.md, encodings.md and ports.md from the code",
        description="Generate the register map (registers.md) and the encodings of commands, "
                    "codes, memory-table entries and streams (encodings.md) from "
                    "hw/its/regmap.py and hw/its/layouts.py, and the ports of the Verilog "
                    "wrappers its_axi and gic_axi (ports.md) from hw/wrappers.py. `make docs` writes them into "
                    "docs/, where a test checks that they are current.")
    docs.add_argument("--out", type=Path, default=DEFAULT_DIR,
                      help=f"output folder (default {DEFAULT_DIR})")
    docs.set_defaults(run=run, param=[])
    return docs


def run(args, params, console):
    out = output_dir(args.out)
    for name, text in (("registers.md", registers_md()), ("encodings.md", encodings_md()),
                       ("ports.md", ports_md())):
        path = out / name
        path.write_text(text)
        console.print(f"wrote {path}")
    return 0
