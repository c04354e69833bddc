"""The GTKWave save file of a Gic run in Amaranth's simulator (``its demo``'s waveform).

:func:`gic.sim.rtlsim.bus.run_on_gic` writes the VCD (every signal of the design) and
calls :func:`write_gic_save_file`, which replaces the save file Amaranth writes (groups
``interface``/``view``, ``$N`` names, zoomed to the first femtosecond) with one that opens
on the whole run and tells the story block by block: the ITS's groups of
:mod:`gic.tb.its.waves` (Register bus at the Gic's one AXI4-Lite port, Command fetch,
Executor, Translator and caches, Walker, Memory AXI, Forwarder), then per redistributor
its GIC stream from the ITS, its sequencer and table engine and its CPU interface, then
per CPU stand-in what it acknowledges and records. Enums and FSM states show by name
(Amaranth writes them as strings), struct payloads by field, INTIDs and IDs in decimal.
"""

from pathlib import Path

from gic.hw.gicr import layouts as R
from gic.hw.its import layouts as L
from gic.tb.common.gtkw import Picker, dump_vars, write_save_file
from gic.tb.its.waves import its_groups

__all__ = ["GIC_SCOPE", "gic_groups", "write_gic_save_file"]

GIC_SCOPE = "bench.top.gic"
"""Where :func:`gic.sim.rtlsim.bus.run_on_gic` puts the Gic in the VCD."""


def gic_groups(pick, num_redistributors, *, top="bench.top"):
    """The groups of a Gic save file: the ITS's, then ``Redistributor N``, then ``CPU N``."""
    gic = f"{top}.gic"
    groups = its_groups(pick, f"{gic}.its", num_redistributors, axil_scope=gic,
                        redistributors=False)

    def at(scope, label, *names, **options):
        traces = []
        for name in names:
            shown = name.replace("__payload", "").replace("__", "_")
            traces += pick(f"{scope}.{name}", f"{label} {shown}", **options)
        return traces

    for rd in range(num_redistributors):
        its, rdn = f"{gic}.its", f"{gic}.rd{rd}"
        label = f"rd{rd}"
        groups.append((f"Redistributor {rd}",
                       at(its, "its", f"gic__{rd}__valid", f"gic__{rd}__ready") +
                       at(its, "its", f"gic__{rd}__payload", layout=L.GicPacket) +
                       at(its, "its", f"ack__{rd}__valid") +
                       at(f"{rdn}.sequencer", label, "sequencer_state", "cur_op", "cur_lpi",
                          "moving", "move_out__valid") +
                       at(f"{rdn}.sequencer", label, "move_out__payload", layout=R.LpiMove) +
                       at(f"{rdn}.tables", label, "tables_state", "request__valid",
                          "done__valid") +
                       at(f"{rdn}.sequencer", label, "cpu__irq", "cpu__rpr",
                          "cpu__iar__valid", "cpu__iar__payload", "cpu__eoir__valid",
                          "cpu__eoir__payload"), True))
    for cpu in range(num_redistributors):
        scope, label = f"{top}.cpu{cpu}", f"cpu{cpu}"
        groups.append((f"CPU {cpu}",
                       at(scope, label, "fsm_state", "mask", "cpu__irq", "cpu__rpr",
                          "cpu__iar_req__valid", "cpu__iar__valid", "cpu__iar__payload",
                          "cpu__eoir__valid", "cpu__eoir__payload", "record__valid") +
                       at(scope, label, "record__payload", layout=R.TakenInterrupt), True))
    return [(name, traces, expanded) for name, traces, expanded in groups if traces]


def write_gic_save_file(vcd, num_redistributors, *, save=None):
    """Write the save file of a Gic VCD (default: beside it, ``.gtkw``; its filter files in
    ``<name>_gtkw/``), zoomed to the whole run. Returns ``(path, traces shown)``."""
    vcd = Path(vcd)
    save = Path(save) if save is not None else vcd.with_suffix(".gtkw")
    pick = Picker(dump_vars(vcd), save.with_name(f"{save.stem}_gtkw"))
    groups = gic_groups(pick, num_redistributors)
    write_save_file(save, vcd, groups,
                    comment="Gic: register bus, ITS blocks, redistributors, CPUs")
    return save, sum(len(traces) for _, traces, _ in groups)
