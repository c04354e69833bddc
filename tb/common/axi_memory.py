"""An AXI4 slave serving a :class:`gic.sim.models.memory.Memory`, for cocotb testbenches.

cocotbext-axi's ``AxiRam``/``AxiSlave`` take a custom target (``read``/``write``
coroutines), but serve one burst at a time with no latency and answer every failure
with ``SLVERR``. This model keeps cocotbext-axi's channel models (so its idle and
backpressure generators apply to each channel) and adds what the ITS needs tested:
a configurable latency, several bursts in flight, answers of different IDs out of
order, and ``SLVERR``/``DECERR`` from the ranges marked with
:meth:`gic.sim.models.memory.Memory.inject_error`.

Because the memory is a :class:`~gic.sim.models.memory.Memory`, the driver's tables, the DUT
and the reference model see the same bytes.
"""

import random

import cocotb
from cocotb.triggers import Event, RisingEdge
from cocotbext.axi.axi_channels import (
    AxiARSink, AxiAWSink, AxiBSource, AxiBTransaction, AxiRSource, AxiRTransaction, AxiWSink,
)
from cocotbext.axi.constants import AxiResp

from gic.sim.models.memory import BusError, Memory
from gic.sim.rtlsim.harness import burst_beat_ranges

from .monitors import cycle_now

__all__ = ["AxiMemory", "WriteFaultMemory"]

_RESP = {None: AxiResp.OKAY, "SLVERR": AxiResp.SLVERR, "DECERR": AxiResp.DECERR}
_RANK = {AxiResp.OKAY: 0, AxiResp.SLVERR: 1, AxiResp.DECERR: 2}


class WriteFaultMemory(Memory):
    """A :class:`~gic.sim.models.memory.Memory` whose ranges can also fail for writes only.

    :meth:`~gic.sim.models.memory.Memory.inject_error` fails reads and writes alike, so a command
    that reads an entry and writes it back (MOVI, DISCARD) would fail on the read; a
    write-only error reaches its write (TABLE_WRITE_ERROR).
    """

    def __init__(self, size=1 << 48):
        super().__init__(size)
        self._write_faults = []

    def inject_write_error(self, addr, length, resp="SLVERR"):
        """Make every write overlapping ``[addr, addr+length)`` fail with ``resp``."""
        if resp not in ("SLVERR", "DECERR"):
            raise ValueError(f"resp must be SLVERR or DECERR, not {resp!r}")
        self._write_faults.append((addr, addr + length, resp))

    def clear_errors(self):
        super().clear_errors()
        self._write_faults.clear()

    def write_fault(self, addr, length):
        """The AXI error a write to ``[addr, addr+length)`` gets, or None."""
        for start, end, resp in self._write_faults:
            if addr < end and start < addr + length:
                return resp
        return self.fault(addr, length)

    def write(self, addr, data):
        resp = self.write_fault(addr, len(data))
        if resp is not None:
            raise BusError(addr, resp)
        super().write(addr, data)


def _strobed(value, strobes):
    """The integer of a ``wdata`` LogicArray, bytes not strobed taken as 0.

    Raises
    ------
    AssertionError
        If a strobed byte holds X or Z: the DUT writes undefined data.
    """
    bits = str(value)
    result = 0
    for lane in range(len(bits) // 8):
        byte = bits[len(bits) - 8 * (lane + 1):len(bits) - 8 * lane]
        if strobes >> lane & 1:
            assert set(byte) <= {"0", "1"}, f"W: strobed byte {lane} is {byte} (wdata {bits})"
            result |= int(byte, 2) << 8 * lane
    return result


class AxiMemory:
    """AXI4 slave memory with latency and error injection.

    Reads act on the memory when their address is taken, writes when their last beat
    arrives; a read burst's beats (or a write's response) are offered ``latency`` cycles
    later at the earliest. A beat touching a failing range answers that range's
    response (DECERR outranks SLVERR) with zero data; a failing write beat changes
    nothing. The ITS must never cross a 4 KiB boundary in a burst nor use WRAP bursts:
    either raises ``AssertionError`` in the simulation.

    Parameters
    ----------
    bus : cocotbext.axi.AxiBus
        The DUT's AXI4 master port (``AxiBus.from_prefix(dut, "axi_")``).
    clock, reset : cocotb handles
    memory : gic.sim.models.memory.Memory
    latency : int
        Cycles from an address (read) or last data beat (write) to the first answer, >= 1.
    max_outstanding : int
        Bursts in flight per direction before the address channel stops taking more.
    reorder : bool
        Answer bursts of different IDs in random order (bursts of one ID stay in order).
    rng : random.Random

    Members
    -------
    ar, aw, w : cocotbext-axi sinks; r, b : sources
        The channels (give them pause generators for backpressure and idle cycles).
    reads, writes : int
        Bursts served.
    errors : collections of (str, int, AxiResp)
        ``("read" or "write", AXI ID, response)`` of every failing burst.
    """

    def __init__(self, bus, clock, reset, memory, *, latency=4, max_outstanding=8,
                 reorder=False, rng=None):
        if not isinstance(latency, int) or latency < 1:
            raise ValueError(f"latency must be an integer >= 1, not {latency!r}")
        self.memory = memory
        self.clock = clock
        self.latency = latency
        self.max_outstanding = max_outstanding
        self.reorder = reorder
        self.rng = rng or random.Random(0)
        self.ar = AxiARSink(bus.read.ar, clock, reset)
        self.r = AxiRSource(bus.read.r, clock, reset)
        self.aw = AxiAWSink(bus.write.aw, clock, reset)
        self.w = AxiWSink(bus.write.w, clock, reset)
        self.b = AxiBSource(bus.write.b, clock, reset)
        for channel in (self.ar, self.aw, self.r, self.b):
            channel.queue_occupancy_limit = 2
        self.w.queue_occupancy_limit = 4
        self.byte_lanes = len(bus.read.r.rdata) // 8
        self.reads = self.writes = 0
        self.errors = []
        self._reads = []        # [due cycle, id, [AxiRTransaction]]
        self._writes = []       # [due cycle, id, (id, AxiResp)]
        self._read_event = Event()
        self._write_event = Event()
        for coroutine in (self._take_reads(), self._answer(self._reads, self._read_event, self._send_read),
                          self._take_writes(),
                          self._answer(self._writes, self._write_event, self._send_write)):
            cocotb.start_soon(coroutine)

    async def _take_reads(self):
        while True:
            while len(self._reads) >= self.max_outstanding:
                await RisingEdge(self.clock)
            ar = await self.ar.recv()
            arid, length = int(ar.arid), int(ar.arlen)
            beats, worst = [], AxiResp.OKAY
            for index, (start, end) in enumerate(burst_beat_ranges(
                    int(ar.araddr), length, int(ar.arsize), int(ar.arburst), self.byte_lanes,
                    "AR")):
                resp = _RESP[self.memory.fault(start, end - start)]
                data = 0 if resp != AxiResp.OKAY else \
                    self.memory.read_int(start, end - start) << 8 * (start % self.byte_lanes)
                beats.append(AxiRTransaction(rid=arid, rdata=data, rresp=resp,
                                             rlast=index == length))
                worst = max(worst, resp, key=_RANK.get)
            if worst != AxiResp.OKAY:
                self.errors.append(("read", arid, worst))
            self.reads += 1
            self._reads.append([cycle_now(self.clock) + self.latency, arid, beats])
            self._read_event.set()

    async def _take_writes(self):
        while True:
            while len(self._writes) >= self.max_outstanding:
                await RisingEdge(self.clock)
            aw = await self.aw.recv()
            awid = int(aw.awid)
            worst = AxiResp.OKAY
            ranges = burst_beat_ranges(int(aw.awaddr), int(aw.awlen), int(aw.awsize),
                                       int(aw.awburst), self.byte_lanes, "AW")
            for index, (start, _) in enumerate(ranges):
                w = await self.w.recv()
                assert int(w.wlast) == (index == len(ranges) - 1), \
                    f"W: WLAST={int(w.wlast)} on beat {index + 1} of {len(ranges)}"
                strobes = int(w.wstrb)
                worst = max(worst, self._write_beat(start, _strobed(w.wdata, strobes), strobes),
                            key=_RANK.get)
            if worst != AxiResp.OKAY:
                self.errors.append(("write", awid, worst))
            self.writes += 1
            self._writes.append([cycle_now(self.clock) + self.latency, awid, (awid, worst)])
            self._write_event.set()

    def _write_beat(self, start, data, strb):
        base = start & ~(self.byte_lanes - 1)
        runs, run = [], None
        for lane in range(self.byte_lanes):
            if strb >> lane & 1:
                run = [lane, lane + 1] if run is None else [run[0], lane + 1]
            elif run is not None:
                runs.append(run)
                run = None
        if run is not None:
            runs.append(run)
        fault = getattr(self.memory, "write_fault", self.memory.fault)
        resps = [_RESP[fault(base + lo, hi - lo)] for lo, hi in runs]
        worst = max(resps, key=_RANK.get, default=AxiResp.OKAY)
        if worst == AxiResp.OKAY:
            for lo, hi in runs:
                self.memory.write_int(base + lo, (data >> 8 * lo) & ((1 << 8 * (hi - lo)) - 1),
                                      hi - lo)
        return worst

    def _pick(self, pending, now):
        """Index of the next burst to answer (due, and first of its ID), or None."""
        seen, ready = set(), []
        for index, (due, ident, _) in enumerate(pending):
            if ident in seen:
                continue
            seen.add(ident)
            if due <= now:
                ready.append(index)
            if not self.reorder:
                break
        return self.rng.choice(ready) if ready else None

    async def _answer(self, pending, event, send):
        edge = RisingEdge(self.clock)
        while True:
            if not pending:
                event.clear()
                await event.wait()
            index = self._pick(pending, cycle_now(self.clock))
            if index is None:
                await edge
                continue
            _, _, answer = pending.pop(index)
            await send(answer)

    async def _send_read(self, beats):
        for beat in beats:
            await self.r.send(beat)

    async def _send_write(self, answer):
        bid, resp = answer
        await self.b.send(AxiBTransaction(bid=bid, bresp=resp))
