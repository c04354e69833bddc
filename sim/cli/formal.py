"""``its formal``: the formal proofs of the blocks (SymbiYosys, k-induction or bounded)."""

from pathlib import Path

from gic.sim.cli.common import UsageError, count, output_dir
from gic.sim.tools.formal import BUILD_DIR, all_proofs, run_proofs

__all__ = ["add_parser", "run"]


def add_parser(commands):
    formal = commands.add_parser(
        "formal", help="formal proofs of the FIFOs and the AXI bridges (SymbiYosys)",
        description="Prove the properties written beside the blocks (gic.hw.formal: "
                    "FIFO order and level, stream and AXI handshake rules, the AXI4 "
                    "master's bursts and completions, the AXI4-Lite slave's responses) "
                    "with SymbiYosys and Boolector, by k-induction or bounded model "
                    "checking; print one line per proof (block, asserted properties, "
                    "depth, mode, result, seconds) and exit 1 if any fails. Each proof "
                    "writes build/formal/<name>/ (.il, .sby, sby's logs and "
                    "counterexample traces). docs/formal.md.")
    formal.add_argument("--proof", dest="proofs", action="append", metavar="NAME",
                        help="run this proof only (repeatable; default all: "
                             + ", ".join(proof.name for proof in all_proofs()) + ")")
    formal.add_argument("--jobs", type=count(1), default=1,
                        help="proofs run at the same time (default 1)")
    formal.add_argument("--out", type=Path, default=BUILD_DIR,
                        help=f"output folder (default {BUILD_DIR})")
    formal.set_defaults(run=run, param=[])
    return formal


def run(args, params, console):
    out = output_dir(args.out)
    known = {proof.name for proof in all_proofs()}
    unknown = [name for name in args.proofs or () if name not in known]
    if unknown:
        raise UsageError(f"unknown proof {', '.join(unknown)} (known: {', '.join(sorted(known))})")

    proofs = all_proofs()
    name_width = max(len(proof.name) for proof in proofs)
    block_width = max(len(proof.block) for proof in proofs)

    def echo(result):
        verdict = "PASS" if result.passed else result.status
        style = "green" if result.passed else "bold red"
        console.print(f"{result.name:<{name_width}}  {result.block:<{block_width}}  "
                      f"{result.asserts:>3} asserts  "
                      f"depth {result.depth:>2} {result.mode:<5} [{style}]{verdict:<7}[/] "
                      f"{result.seconds:6.1f} s"
                      + ("" if result.passed else f"  ({result.folder}/sby.log)"))

    try:
        results = run_proofs(args.proofs, out=out, jobs=args.jobs, done=echo)
    except RuntimeError as error:
        raise UsageError(str(error)) from None
    failed = [result.name for result in results if not result.passed]
    total = sum(result.seconds for result in results)
    console.print(f"{len(results) - len(failed)} of {len(results)} proofs passed "
                  f"({total:.0f} s of proving)"
                  + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
