"""Functional coverage of the ITS testbench (cocotb-coverage).

Every bin is a string. The cover points, under the root ``its``:

``its.command.outcome``
    Command x outcome: each command with ``OK`` and each error docs/behaviour.md
    lets it give (a memory error on a table it reads or writes included); fetch
    errors, unsupported numbers and CWRITER_OOR.
``its.command.policy``
    Each error code under each error policy.
``its.msi.outcome`` / ``its.query.outcome``
    Each DropReason of an MSI, of a query-port answer.
``its.cache.tcache`` / ``its.cache.dcache``
    Hit, miss, evict, each invalidation kind (the device cache ignores EVENT).
``its.table.format``
    Device table flat or two-level per page size; collection table in memory or not.
``its.axi.error``
    SLVERR/DECERR on the reads of each AXI client and on the executor's writes.
``its.stream.paused`` / ``its.stream.stalled``
    The testbench paused each stream at least once (idle or backpressure); the ITS held
    off the MSI stream and the register bus.
``its.scenario``
    Situations the directed tests are for: ring wrap, stall then retry, MOVLPI and
    MOVALL packets, MSIs through GITS_TRANSLATER, the caches bypassed.

:class:`CoverageCollector` samples them from the scoreboard's events and from probes
on the caches, and :func:`export` writes the database as YAML.
"""

import json
import os

from cocotb_coverage.coverage import CoverPoint, coverage_db

from gic.hw.its.layouts import (
    CMD_GICV4, BaserType, Cmd, CmdError, DropReason, GicOp, InvalKind, InvalRequest,
)
from gic.hw.its.walker import WalkRequest
from gic.sim.models.commands import unpack

from gic.tb.common.build import PARAMS_VARIABLE
from gic.tb.common.monitors import high, watch

__all__ = ["COMMAND_OUTCOMES", "STREAMS", "CoverageCollector", "export", "summary"]

E = CmdError
_READ, _WRITE = E.TABLE_READ_ERROR, E.TABLE_WRITE_ERROR
COMMAND_OUTCOMES = {
    Cmd.MAPD: [E.MAPD_DEVICE_OOR, E.MAPD_ITTSIZE_OOR, _READ, _WRITE],
    Cmd.MAPC: [E.MAPC_COLLECTION_OOR, E.MAPC_PROCNUM_OOR, _WRITE],
    Cmd.MAPTI: [E.MAPTI_UNMAPPED_DEVICE, E.MAPTI_ID_OOR, E.MAPTI_PHYSICALID_OOR,
                E.MAPC_COLLECTION_OOR, _READ, _WRITE],
    Cmd.MAPI: [E.MAPTI_UNMAPPED_DEVICE, E.MAPTI_ID_OOR, E.MAPTI_PHYSICALID_OOR,
               E.MAPC_COLLECTION_OOR, _READ, _WRITE],
    Cmd.MOVI: [E.MOVI_UNMAPPED_INTERRUPT, E.MOVI_UNMAPPED_COLLECTION, _READ, _WRITE],
    Cmd.INT: [E.INT_UNMAPPED_INTERRUPT, _READ],
    Cmd.CLEAR: [E.CLEAR_UNMAPPED_INTERRUPT, _READ],
    Cmd.INV: [E.INV_UNMAPPED_INTERRUPT, _READ],
    Cmd.DISCARD: [E.DISCARD_UNMAPPED_INTERRUPT, _READ, _WRITE],
    Cmd.INVALL: [E.INVALL_UNMAPPED_COLLECTION, _READ],
    Cmd.MOVALL: [E.MOVALL_PROCNUM_OOR],
    Cmd.SYNC: [E.SYNC_PROCNUM_OOR],
}
"""The errors each command can give besides OK (docs/behaviour.md)."""

_COMMAND_BINS = ([f"{cmd.name}/OK" for cmd in COMMAND_OUTCOMES] +
                 [f"{cmd.name}/{error.name}" for cmd, errors in COMMAND_OUTCOMES.items()
                  for error in errors] +
                 ["GICV4/UNSUPPORTED_COMMAND", "UNKNOWN/UNSUPPORTED_COMMAND",
                  "FETCH/COMMAND_READ_ERROR", "CWRITER/CWRITER_OOR"])
_POLICY_BINS = [f"{policy}/{error.name}" for policy in ("skip", "stall")
                for error in CmdError if error is not E.NONE]
_DROP_BINS = [reason.name for reason in DropReason]
_CACHE_EVENTS = ["hit", "miss", "evict",
                 *(f"invalidate_{kind.name.lower()}" for kind in InvalKind)]
# No "stale fill dropped" bin: the executor invalidates only with the translator held and
# idle, so no walk is in flight then; the caches' reservation rule is unreachable here.
_DCACHE_EVENTS = [event for event in _CACHE_EVENTS if event != "invalidate_event"]
_TABLE_BINS = [f"devices/{form}/{size}" for form in ("flat", "two_level")
               for size in ("4K", "16K", "64K")] + ["collections/on_chip_only",
                                                   "collections/in_memory"]
_AXI_BINS = [f"{direction}/{client}/{resp}" for direction, client in (
    ("read", "command_fetch"), ("read", "executor"), ("read", "translator"),
    ("write", "executor")) for resp in ("SLVERR", "DECERR")]
AXI_CLIENTS = {0: "command_fetch", 1: "executor", 2: "translator"}
"""AXI ID -> client of the ITS's memory master (hw/its/top.py)."""
STREAMS = (["axil_aw", "axil_w", "axil_b", "axil_ar", "axil_r",
            "axi_ar", "axi_r", "axi_aw", "axi_w", "axi_b", "msi", "query", "query_resp"])
"""Streams the testbench pauses, besides ``gic<rd>`` and ``ack<rd>`` per redistributor."""
_SCENARIOS = ["ring_wrap", "stall_then_retry", "movlpi_packet", "movall_packet",
              "translater_msi", "cache_disabled"]


def _point(name, bins):
    return CoverPoint(name, xf=lambda value: value, bins=bins)


@_point("its.command.outcome", _COMMAND_BINS)
def _sample_command(value):
    pass


@_point("its.command.policy", _POLICY_BINS)
def _sample_policy(value):
    pass


@_point("its.msi.outcome", _DROP_BINS)
def _sample_msi(value):
    pass


@_point("its.query.outcome", _DROP_BINS)
def _sample_query(value):
    pass


@_point("its.cache.tcache", _CACHE_EVENTS)
def _sample_tcache(value):
    pass


@_point("its.cache.dcache", _DCACHE_EVENTS)
def _sample_dcache(value):
    pass


@_point("its.table.format", _TABLE_BINS)
def _sample_table(value):
    pass


@_point("its.axi.error", _AXI_BINS)
def _sample_axi(value):
    pass


def _stream_bins():
    """Every stream the testbench pauses, with the GIC streams of this run's parameters."""
    redistributors = json.loads(os.environ.get(PARAMS_VARIABLE, "{}")).get("num_redistributors", 1)
    return STREAMS + [f"{kind}{rd}" for kind in ("gic", "ack") for rd in range(redistributors)]


_STREAM_BINS = _stream_bins()


@_point("its.stream.paused", _STREAM_BINS)
def _sample_paused(value):
    pass


@_point("its.stream.stalled", ["msi_held_by_its", "axil_aw_held_by_its"])
def _sample_stalled(value):
    pass


@_point("its.scenario", _SCENARIOS)
def _sample_scenario(value):
    pass


def _command_bin(executed):
    if executed.command is None:
        return "FETCH"
    if isinstance(executed.command.cmd, Cmd):
        return "GICV4" if executed.command.cmd in CMD_GICV4 else executed.command.cmd.name
    return "GICV4" if executed.command.cmd in {c.value for c in CMD_GICV4} else "UNKNOWN"


class CoverageCollector:
    """Samples the cover points for one test.

    Parameters
    ----------
    tb : gic.tb.its.test_its.TB
        Its scoreboard's events, its pause driver and its memory model are sampled.
    """

    def __init__(self, tb):
        self.tb = tb
        self.policy = tb.params.error_policy
        self._last_offset = None
        self._stalled_at = None
        tb.scoreboard.listeners.append(self._on_event)

    def start(self):
        """Start the probes on the caches and the stall monitors (after reset)."""
        dut, clock = self.tb.dut, self.tb.dut.clk
        translator = dut.translator
        for name, cache, sample in (("tcache", translator.tcache, _sample_tcache),
                                    ("dcache", translator.dcache, _sample_dcache)):
            watch(clock, cache.inval__valid,
                  lambda cycle, cache=cache, sample=sample: sample(
                      f"invalidate_{unpack(InvalRequest, int(cache.inval__payload.value))['kind'].name.lower()}"))
            watch(clock, cache.fill__valid,
                  lambda cycle, cache=cache, sample=sample: self._fill(cache, sample))
        watch(clock, dut.tcache_hit, lambda cycle: _sample_tcache("hit"))
        watch(clock, dut.tcache_miss, lambda cycle: _sample_tcache("miss"))
        walker = translator.walker
        watch(clock, walker.request__valid, lambda cycle: _sample_dcache(
            "hit" if unpack(WalkRequest, int(walker.request__payload.value))["dte_cached"]
            else "miss"), when=lambda: high(walker.request__ready))
        watch(clock, dut.msi__valid, lambda cycle: _sample_stalled("msi_held_by_its"),
              when=lambda: not high(dut.msi__ready))
        watch(clock, dut.axil__awvalid, lambda cycle: _sample_stalled("axil_aw_held_by_its"),
              when=lambda: not high(dut.axil__awready))
        watch(clock, translator.cache_disable, lambda cycle: _sample_scenario("cache_disabled"))

    @staticmethod
    def _fill(cache, sample):
        if high(cache.reserved) and not high(cache.inval__valid) and high(cache.evict):
            sample("evict")

    def _on_event(self, kind, *details):
        if kind == "command":
            executed, = details
            self._command(executed)
        elif kind == "msi":
            _sample_msi(details[2].status.name)
        elif kind == "query":
            _sample_query(details[0].status.name)
        elif kind == "cwriter_oor":
            _sample_command("CWRITER/CWRITER_OOR")
            _sample_policy(f"{self.policy}/CWRITER_OOR")

    def _command(self, executed):
        error = executed.error
        _sample_command(f"{_command_bin(executed)}/{'OK' if error is E.NONE else error.name}")
        if error is not E.NONE:
            _sample_policy(f"{self.policy}/{error.name}")
            if self.policy == "stall":
                self._stalled_at = executed.offset
        elif self._stalled_at == executed.offset:
            _sample_scenario("stall_then_retry")
            self._stalled_at = None
        if self._last_offset is not None and executed.offset < self._last_offset:
            _sample_scenario("ring_wrap")
        self._last_offset = executed.offset

    def finish(self):
        """Sample what is known at the end of a test: tables, AXI errors, pauses, packets."""
        tb = self.tb
        for direction, ident, resp in tb.axi_memory.errors:
            client = AXI_CLIENTS.get(ident, "executor") if direction == "read" else "executor"
            _sample_axi(f"{direction}/{client}/{resp.name}")
        for name, cycles in tb.pauses.paused.items():
            if cycles:
                _sample_paused(name)
        for rd_packets in tb.received:
            for packet in rd_packets:
                if packet.op == GicOp.MOVLPI:
                    _sample_scenario("movlpi_packet")
                elif packet.op == GicOp.MOVALL:
                    _sample_scenario("movall_packet")
        if tb.bus.translater_msis:
            _sample_scenario("translater_msi")

    def table_format(self, driver):
        """Sample the tables ``driver`` programmed."""
        devices = driver.tables.get(BaserType.DEVICES)
        if devices is not None:
            _sample_table(f"devices/{'two_level' if devices.indirect else 'flat'}/"
                          f"{devices.page_bytes // 1024}K")
        _sample_table("collections/in_memory" if BaserType.COLLECTIONS in driver.tables
                      else "collections/on_chip_only")


def export(path):
    """Write the coverage database (every test of this simulator run so far) as YAML."""
    coverage_db.export_to_yaml(str(path))


def summary(database):
    """``(covered, size)`` of the root ``its`` of an exported (or merged) YAML database."""
    root = database["its"]
    return root["coverage"], root["size"]
