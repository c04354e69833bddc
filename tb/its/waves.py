"""The GTKWave save file of an ITS: its blocks' streams, grouped by block, fields by name.

Groups, in order: Register bus (AXI4-Lite port, the register block's bus), Command fetch
(CWRITER/CREADR, the ring reads, the fetched command), Executor (its step, retire and
failures, packets, table reads and writes, invalidations), Translator and caches (MSIs in,
LPIs out, drops, the translation and device caches), Walker (its state, requests,
results, table reads), Memory AXI (the AXI4 master), Forwarder, one Redistributor N per
GIC stream (packets and SYNC acknowledges) and the Query port.

Every trace has a short alias (``cmdq cmd device_id``: block, port, field; no ``$N``); struct payloads are
split into their fields with the offsets of their Amaranth layouts
(``gic.hw.its.layouts``...), enum fields and FSM states are shown by name through
translate filter files written beside the save file (``gtkw/``), IDs and INTIDs in
decimal. :func:`its_groups` takes the dump's variables and the ITS's scope in it, so the
same groups serve the cocotb FST (scope ``its``) and the Amaranth VCD of ``its demo``
(scope ``bench.top.gic.its``).
"""

from pathlib import Path

from gic.hw.bus.mem import MemReadData, MemReadRequest, MemWriteRequest
from gic.hw.its import layouts as L
from gic.hw.its.cmdq import FetchedCommand
from gic.hw.its.collections import CollectionWrite
from gic.hw.its.executor import CommandFailure
from gic.hw.its.walker import WalkRequest, WalkResult
from gic.tb.common.gtkw import Picker, dump_vars, fsm_states, write_save_file

__all__ = ["its_groups", "its_fsms", "write_its_save_file"]

COMMAND_VIEW = {"command": "mapti"}
"""A fetched command is shown through the MAPTI layout: its fields (command number,
DeviceID, EventID, pINTID, ICID) sit where every command that has them keeps them."""
RAW_CMD = {"cmd": L.Cmd}
"""Fields holding a raw command number, shown by name."""


def its_fsms(params, scope):
    """``{full variable name: {value: state}}`` of the ITS's FSMs under ``scope``."""
    from gic.hw.its.top import Its
    return {f"{scope}.{path}.{name}" if path else f"{scope}.{name}": states
            for path, signals in fsm_states(Its(params)).items()
            for name, states in signals.items()}


def its_groups(pick, scope, num_redistributors, *, axil_scope=None, redistributors=True):
    """The groups of an ITS save file: ``[(name, [Signal], expanded)]``.

    ``pick`` is a :class:`gic.tb.common.gtkw.Picker` on the dump; ``scope`` the ITS's
    scope in it (``"its"``); ``axil_scope`` where the register port shown is (default the
    ITS's own); ``redistributors``: end with a ``Redistributor N`` group per GIC stream."""

    def at(block, *ports, label=None, within=scope):
        """Traces of ports of ``block`` (a path under the ITS, "" for its own ports); a port
        is a name or ``(name, options)``."""
        prefix = f"{within}.{block}" if block else within
        label = label if label is not None else block.rsplit(".", 1)[-1]
        traces = []
        for port in ports:
            name, options = port if isinstance(port, tuple) else (port, {})
            # GTKWave shows only what follows the last "." of a name: aliases use spaces.
            shown = name.replace("__payload", "").replace("__", "_")
            alias = f"{label} {shown}" if label else shown
            traces += pick(f"{prefix}.{name}", options.pop("alias", alias), **options)
        return traces

    def stream(name, layout=None, ready=True, **options):
        ports = [f"{name}__valid"] + ([f"{name}__ready"] if ready else [])
        if layout is not None:
            ports.append((f"{name}__payload", dict(layout=layout, **options)))
        return ports

    groups = [
        ("Register bus", at("", "axil__awvalid", "axil__awready", "axil__awaddr",
                            "axil__wvalid", "axil__wdata", "axil__bvalid", "axil__bresp",
                            "axil__arvalid", "axil__arready", "axil__araddr", "axil__rvalid",
                            "axil__rdata", "axil__rresp", label="",
                            within=axil_scope or scope) +
         at("bridge", "fsm_state") +
         at("regs", "bus__addr", "bus__w_stb", "bus__w_data", "bus__r_stb", "bus__r_data",
            "enabled", "error_irq"), True),
        ("Command fetch", at("cmdq", "enabled", "cwriter", "creadr", "idle", "stall",
                             *stream("mem__req", MemReadRequest),
                             *stream("mem__resp", MemReadData, ready=False),
                             *stream("cmd", FetchedCommand, ready=False, views=COMMAND_VIEW),
                             "retire", "retry"), True),
        ("Executor", at("executor", "step_state", "cmd__ready", "retire", "stall", "hold",
                        "synced", "idle",
                        *stream("failure", CommandFailure, ready=False, enums=RAW_CMD),
                        *stream("packet", L.RoutedPacket),
                        *stream("inval", L.InvalRequest, ready=False),
                        *stream("coll_write", CollectionWrite, ready=False),
                        *stream("mem_read__req", MemReadRequest),
                        *stream("mem_write__req", MemWriteRequest)), True),
        ("Translator and caches",
         at("translator", *stream("msi", L.MsiRequest), *stream("lpi", L.RoutedPacket),
            *stream("drop", L.DropReport, ready=False), "hold", "idle", "tcache_hit",
            "tcache_miss") +
         at("translator.tcache", "lookup__key", "lookup__hit", "lookup__value", "fill__valid",
            "inval__valid", label="tcache") +
         at("translator.dcache", "lookup__key", "lookup__hit", "fill__valid", "inval__valid",
            label="dcache"), True),
        ("Walker", at("translator.walker", "fsm_state",
                      *stream("request", WalkRequest, skip=("dte",)),
                      *stream("result", WalkResult, skip=("dte",)),
                      *stream("mem__req", MemReadRequest),
                      *stream("mem__resp", MemReadData), label="walker"), True),
        ("Memory AXI", at("", "axi__arvalid", "axi__arready", "axi__arid", "axi__araddr",
                          "axi__arlen", "axi__rvalid", "axi__rready", "axi__rid", "axi__rdata",
                          "axi__rlast", "axi__rresp", "axi__awvalid", "axi__awready",
                          "axi__awid", "axi__awaddr", "axi__wvalid", "axi__wready",
                          "axi__wdata", "axi__bvalid", "axi__bid", "axi__bresp",
                          label=""), False),
        ("Forwarder", at("forwarder", *stream("cmd", L.RoutedPacket, ready=False),
                         "lpi__ready", "synced", "lpi_idle", "idle"), False),
    ]
    for rd in range(num_redistributors if redistributors else 0):
        groups.append((f"Redistributor {rd}",
                       at("", *stream(f"gic__{rd}", L.GicPacket), *stream(f"ack__{rd}")), True))
    groups.append(("Query port", at("", *stream("query", L.QueryRequest),
                                    *stream("query_resp", L.QueryResponse)),
                   False))
    return [(name, traces, expanded) for name, traces, expanded in groups if traces]


def write_its_save_file(test_dir, verilog, num_redistributors, params=None):
    """Write ``its.gtkw`` (and its filter files in ``gtkw/``) beside ``its.fst`` in
    ``test_dir``, zoomed to the whole run; only signals the FST holds (when GTKWave's
    fst2vcd can tell; else every one the Verilog's ports name).

    Returns
    -------
    (Path, int)
        The save file, and how many traces it shows.
    """
    test_dir = Path(test_dir)
    dump = test_dir / "its.fst"
    found = dump_vars(dump) if dump.exists() else None
    if found is None:
        from gic.tb.common.gtkw import instances, modules
        hierarchy, ports = instances(verilog, "its"), modules(verilog)
        found = {f"{path}.{name}": width for path, module in hierarchy.items()
                 for name, width, _ in ports[module][0]}
    fsms = its_fsms(params, "its") if params is not None else {}
    pick = Picker(found, test_dir / "gtkw", fsms)
    groups = its_groups(pick, "its", num_redistributors)
    path = write_save_file(test_dir / "its.gtkw", dump, groups,
                           comment="ITS: register bus, command fetch, executor, translator, "
                                   "walker, memory, forwarder, redistributors")
    return path, sum(len(traces) for _, traces, _ in groups)
