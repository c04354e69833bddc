"""The GTKWave save file of an ITS test: the design's hierarchy, grouped by function.

Groups, in order: the register bus (AXI4-Lite port and the register block's bus), command
fetch, the executor, the translation path (MSI stream, translator, walker), the caches,
memory (AXI4), the query port, and one group per redistributor stream (packets and
acknowledges). Signals are the ports of those blocks, taken from the generated Verilog,
so the file follows the RTL as it changes.
"""

from pathlib import Path

from gic.tb.common.gtkw import instances, ports, signals_in_fst, write_save_file

__all__ = ["its_groups", "write_its_save_file"]


def its_groups(verilog, num_redistributors):
    """The groups of an ITS save file: ``[(name, [Signal], expanded)]``."""
    hierarchy = instances(verilog, "its")
    block = {path.split(".", 1)[1]: module for path, module in hierarchy.items() if "." in path}

    def of(path, prefixes=None):
        module = block.get(path)
        return [] if module is None else ports(verilog, f"its.{path}", module, prefixes)

    top = ports(verilog, "its", "its")

    def top_ports(*prefixes):
        return [signal for signal in top if signal.path.split(".", 1)[1].startswith(prefixes)]

    groups = [
        ("Register bus", top_ports("axil__", "translater_device_id", "error_irq") +
         of("regs", ["bus__", "enabled", "error_irq"]), True),
        ("Command fetch", of("cmdq", ["enabled", "cbaser", "cwriter", "creadr", "retire",
                                     "stall", "retry", "restart", "cmd__", "mem__", "idle"]),
         True),
        ("Executor", of("executor", ["cmd__", "retire", "failure__", "stall", "hold",
                                     "translator_idle", "packet__", "synced", "inval__",
                                     "mem_read__", "mem_write__", "idle"]), False),
        ("Translation path", top_ports("msi__") +
         of("translator", ["msi__", "query__", "lpi__", "drop__", "query_resp__", "hold",
                           "enabled", "idle", "tcache_", "mem__"]) +
         of("translator.walker", ["request__", "result__"]), True),
        ("Caches", of("translator.tcache", ["lookup__", "reserve", "fill__", "inval__"]) +
         of("translator.dcache", ["lookup__", "reserve", "fill__", "inval__"]), False),
        ("Memory (AXI4)", top_ports("axi__"), False),
        ("Query port", top_ports("query__", "query_resp__"), False),
    ]
    for rd in range(num_redistributors):
        groups.append((f"Redistributor {rd}", top_ports(f"gic__{rd}__", f"ack__{rd}__"), True))
    return groups


def write_its_save_file(test_dir, verilog, num_redistributors):
    """Write ``its.gtkw`` beside ``its.fst`` in ``test_dir``; keep only the signals the FST
    holds (when GTKWave's fst2vcd can tell).

    Returns
    -------
    (Path, int)
        The save file, and how many signals it shows.
    """
    test_dir = Path(test_dir)
    dump = test_dir / "its.fst"
    groups = its_groups(verilog, num_redistributors)
    present = signals_in_fst(dump) if dump.exists() else None
    if present is not None:
        groups = [(name, [s for s in signals if s.path in present], expanded)
                  for name, signals, expanded in groups]
    groups = [group for group in groups if group[1]]
    path = write_save_file(test_dir / "its.gtkw", dump, groups,
                           comment="ITS: register bus, command fetch, translation, caches, "
                                   "redistributors")
    return path, sum(len(signals) for _, signals, _ in groups)
