"""Shared helpers for tests on Amaranth's simulator.

Everything here is testbench-side Python; nothing is synthesized.

* :func:`stream_put`, :func:`stream_get`, :func:`stream_put_many`,
  :func:`stream_get_many`: drive or drain an :mod:`amaranth.lib.stream` port
  from a testbench (``sim.add_testbench``).
* :class:`MemPortModel`: memory behind the ITS's internal memory ports
  (:mod:`gic.hw.bus.mem`), run as a process.
* :class:`Axi4LiteMasterModel`: register reads and writes over AXI4-Lite, from
  a testbench.
* :class:`Axi4SlaveModel`: memory behind an AXI4 master port, run as a process.
* :func:`run_sim`: build a simulator with a ``sync`` clock, add testbenches and
  processes, run, optionally dump a VCD into ``build/sim/``.

Models serve a :class:`gic.sim.models.memory.Memory`, so the test, the reference model and
the DUT see the same bytes; ranges marked with ``Memory.inject_error`` answer
with an error.

A typical test::

    from gic.sim.rtlsim.harness import MemPortModel, run_sim, stream_get, stream_put

    def test_walk():
        memory = Memory()
        memory.write_int(0x1000, 0x1234)
        dut = Walker(params=ItsParams())
        model = MemPortModel(memory, read=dut.mem_read, latency=8)

        async def testbench(ctx):
            await stream_put(ctx, dut.request, {"device_id": 3})
            result = await stream_get(ctx, dut.result)
            assert result.valid

        run_sim(dut, testbench, processes=[model.run])
        assert model.reads == 1
"""

import random
from pathlib import Path

from amaranth.hdl import ClockDomain, Module, Value
from amaranth.sim import Simulator

from gic.hw.bus.axi import AxiBurst, AxiResp

__all__ = ["burst_beat_ranges", "stream_put", "stream_get", "stream_put_many", "stream_get_many",
           "MemPortModel", "AxiResponseError", "Axi4LiteMasterModel", "Axi4SlaveModel",
           "run_sim", "BUILD_DIR"]

BUILD_DIR = Path("build") / "sim"
"""Where :func:`run_sim` writes waveforms given by a bare name."""


# --- streams -----------------------------------------------------------------------------------

async def stream_put(ctx, stream, payload):
    """Send one ``payload`` on ``stream`` (a DUT ``In(stream.Signature(...))``).

    Drives ``valid`` and ``payload``, returns after the clock edge at which ``ready`` was
    high (the transfer happened), with ``valid`` low again. ``payload`` is anything
    ``ctx.set`` takes for the payload's shape: an int, or a dict for a ``data.Struct``.
    """
    ctx.set(stream.payload, payload)
    ctx.set(stream.valid, 1)
    await ctx.tick().until(stream.ready)
    ctx.set(stream.valid, 0)


async def stream_get(ctx, stream):
    """Receive one payload from ``stream`` (a DUT ``Out(stream.Signature(...))``).

    Raises ``ready``, returns the payload sampled at the clock edge at which ``valid`` was
    high (a ``data.Const`` for a struct payload: read fields as attributes), with
    ``ready`` low again.
    """
    ctx.set(stream.ready, 1)
    payload, = await ctx.tick().sample(stream.payload).until(stream.valid)
    ctx.set(stream.ready, 0)
    return payload


async def stream_put_many(ctx, stream, payloads, *, idle=0.0, rng=None):
    """Send every payload of ``payloads`` in order, back to back.

    With ``idle`` > 0, each cycle withholds ``valid`` with that probability (``rng``: a
    ``random.Random``, seeded by the caller, so that the test is reproducible).
    """
    rng = rng or random.Random(0)
    for payload in payloads:
        while idle and rng.random() < idle:
            ctx.set(stream.valid, 0)
            await ctx.tick()
        ctx.set(stream.payload, payload)
        ctx.set(stream.valid, 1)
        await ctx.tick().until(stream.ready)
    ctx.set(stream.valid, 0)


async def stream_get_many(ctx, stream, count, *, backpressure=0.0, rng=None):
    """Receive ``count`` payloads from ``stream``, in order, as a list.

    ``ready`` stays high (one transfer a cycle) unless ``backpressure`` > 0: then each cycle
    drops ``ready`` with that probability (``rng``: a seeded ``random.Random``).
    """
    rng = rng or random.Random(0)
    payloads = []
    while len(payloads) < count:
        ready = not (backpressure and rng.random() < backpressure)
        ctx.set(stream.ready, ready)
        _, _, valid, payload = await ctx.tick().sample(stream.valid, stream.payload)
        if ready and valid:
            payloads.append(payload)
    ctx.set(stream.ready, 0)
    return payloads


# --- the ITS's internal memory port -------------------------------------------------------------

class _Responder:
    """One response queue of a model: requests accepted in order, answered ``latency`` cycles
    later, one item a cycle, with optional random backpressure and idle cycles."""

    def __init__(self, *, latency, max_outstanding, backpressure, idle, rng):
        self.latency = latency
        self.max_outstanding = max_outstanding
        self.backpressure = backpressure
        self.idle = idle
        self.rng = rng
        self.pending = []   # [due cycle, [response items]] in acceptance order
        self.req_ready = False
        self.resp_valid = False

    def accept(self, cycle, items):
        self.pending.append([cycle + self.latency - 1, list(items)])

    def consumed(self):
        due, items = self.pending[0]
        items.pop(0)
        if not items:
            self.pending.pop(0)

    def next_outputs(self, cycle, resp_taken):
        """Decide ``req.ready`` and the response (or None) for the next cycle."""
        if resp_taken:
            self.consumed()
        self.req_ready = (len(self.pending) < self.max_outstanding and
                          not (self.backpressure and self.rng.random() < self.backpressure))
        if self.resp_valid and not resp_taken:
            return self.pending[0][1][0]            # a stream may not withdraw valid
        if self.pending and self.pending[0][0] <= cycle and \
                not (self.idle and self.rng.random() < self.idle):
            self.resp_valid = True
            return self.pending[0][1][0]
        self.resp_valid = False
        return None


class MemPortModel:
    """Memory behind the ITS's internal memory ports (:class:`gic.hw.bus.mem.MemReadSignature`,
    :class:`gic.hw.bus.mem.MemWriteSignature`), as a simulator process.

    Usage: pass the DUT's ``Out(MemReadSignature())`` and/or ``Out(MemWriteSignature())``
    ports and add :meth:`run` as a process (it runs in the background: the simulation ends
    when the testbenches do)::

        model = MemPortModel(memory, read=dut.mem_read, write=dut.mem_write, latency=8)
        run_sim(dut, testbench, processes=[model.run])
        # or: sim.add_process(model.run)

    Timing: a request accepted at a clock edge is answered ``latency`` edges later at the
    earliest (``latency=1``: the first doubleword can be taken at the very next edge); a
    read's doublewords then follow one a cycle (unless ``idle``), several requests are in
    flight and answered in order. Reads and writes act on ``memory`` when the request is
    accepted, so the model is sequentially consistent in acceptance order.

    A doubleword whose 8 bytes ``memory.fault`` reports (an injected SLVERR/DECERR, or beyond
    the memory's size) comes back as ``data=0, error=1``; a faulting write changes nothing
    and completes with ``error=1``.

    Parameters
    ----------
    memory : gic.sim.models.memory.Memory
        The bytes served.
    read, write : interface or None
        The DUT's read and write ports (at least one).
    latency : int
        Cycles from a request to its first response, >= 1.
    max_outstanding : int
        Requests accepted but not fully answered, per port, >= 1.
    backpressure : float
        Probability that ``req.ready`` is low in a cycle.
    idle : float
        Probability that no response is offered in a cycle.
    seed : int
        Seed of the random backpressure and idle cycles.
    domain : str
        Clock domain.

    Members
    -------
    reads, writes : int
        Requests served.
    read_doublewords : int
        Doublewords returned by reads.
    """

    def __init__(self, memory, *, read=None, write=None, latency=4, max_outstanding=4,
                 backpressure=0.0, idle=0.0, seed=0, domain="sync"):
        if read is None and write is None:
            raise ValueError("MemPortModel needs a read port, a write port or both")
        if not isinstance(latency, int) or latency < 1:
            raise ValueError(f"latency must be an integer >= 1, not {latency!r}")
        if not isinstance(max_outstanding, int) or max_outstanding < 1:
            raise ValueError(f"max_outstanding must be an integer >= 1, not {max_outstanding!r}")
        self.memory = memory
        self.read = read
        self.write = write
        self.domain = domain
        rng = random.Random(seed)
        self._read_q = _Responder(latency=latency, max_outstanding=max_outstanding,
                                  backpressure=backpressure, idle=idle, rng=rng)
        self._write_q = _Responder(latency=latency, max_outstanding=max_outstanding,
                                   backpressure=backpressure, idle=idle, rng=rng)
        self.reads = 0
        self.writes = 0
        self.read_doublewords = 0

    def _read_doublewords(self, addr, count):
        for index in range(count + 1):
            dw_addr = addr + 8 * index
            error = self.memory.fault(dw_addr, 8) is not None
            data = 0 if error else self.memory.read_int(dw_addr, 8)
            yield {"data": data, "last": index == count, "error": error}

    def _write_doubleword(self, addr, data):
        if self.memory.fault(addr, 8) is not None:
            return {"error": 1}
        self.memory.write_int(addr, data, 8)
        return {"error": 0}

    async def run(self, ctx):
        """The process: add it with ``sim.add_process(model.run)``."""
        ports = [(port, queue) for port, queue in ((self.read, self._read_q),
                                                   (self.write, self._write_q))
                 if port is not None]
        sampled = []
        for port, _ in ports:
            sampled += [port.req.valid, port.req.payload, port.resp.ready]
        for port, queue in ports:
            queue.next_outputs(0, False)
            ctx.set(port.req.ready, queue.req_ready)
        cycle = 0
        async for _, _, *values in ctx.tick(self.domain).sample(*sampled):
            cycle += 1
            for (port, queue), (req_valid, req, resp_ready) in zip(ports, zip(*[iter(values)] * 3)):
                resp_taken = queue.resp_valid and resp_ready
                if req_valid and queue.req_ready:
                    if queue is self._read_q:
                        self.reads += 1
                        self.read_doublewords += req.count + 1
                        queue.accept(cycle, self._read_doublewords(req.addr, req.count))
                    else:
                        self.writes += 1
                        queue.accept(cycle, [self._write_doubleword(req.addr, req.data)])
                response = queue.next_outputs(cycle, resp_taken)
                ctx.set(port.req.ready, queue.req_ready)
                ctx.set(port.resp.valid, response is not None)
                if response is not None:
                    ctx.set(port.resp.payload, response)


# --- AXI4-Lite master ---------------------------------------------------------------------------

class AxiResponseError(Exception):
    """An AXI transaction ended with SLVERR or DECERR.

    Members
    -------
    addr : int
        The transaction's address.
    resp : AxiResp
        The response.
    """

    def __init__(self, addr, resp):
        super().__init__(f"{resp.name} at {addr:#x}")
        self.addr = addr
        self.resp = resp


def _resp(value):
    return value if isinstance(value, AxiResp) else AxiResp(value)


async def _wait(ctx, condition, *sampled, timeout, what):
    """Tick until ``condition`` is sampled high; return the ``sampled`` values of that edge."""
    for _ in range(timeout):
        _, _, *values, done = await ctx.tick().sample(*sampled, condition)
        if done:
            return values
    raise TimeoutError(f"no {what} within {timeout} cycles")


class Axi4LiteMasterModel:
    """Register reads and writes over an AXI4-Lite slave port, from a testbench.

    Usage::

        axil = Axi4LiteMasterModel(dut.axil)

        async def testbench(ctx):
            await axil.write(ctx, 0x0088, 0x20)             # 64-bit write
            await axil.write(ctx, 0x008C, 0, size=4)        # upper half only (wstrb 0xF0)
            value = await axil.read(ctx, 0x0090, size=4)    # lower half of GITS_CREADR

    One transaction at a time; each call returns after its response.

    Parameters
    ----------
    bus : interface
        The DUT's ``In(Axi4LiteSignature(...))`` port.
    timeout : int
        Cycles to wait for any handshake before raising ``TimeoutError``.
    """

    def __init__(self, bus, *, timeout=1000):
        self.bus = bus
        self.timeout = timeout
        self.data_bytes = len(bus.rdata) // 8

    def _lane(self, addr, size):
        if size not in (1, 2, 4, 8) or size > self.data_bytes:
            raise ValueError(f"size must be 1, 2, 4 or 8 bytes and at most {self.data_bytes}, "
                             f"not {size!r}")
        if addr % size:
            raise ValueError(f"address {addr:#x} is not aligned to the access size {size}")
        return addr % self.data_bytes

    async def read(self, ctx, addr, size=8):
        """Read ``size`` bytes at ``addr``; raise :class:`AxiResponseError` on SLVERR/DECERR."""
        bus = self.bus
        lane = self._lane(addr, size)
        ctx.set(bus.araddr, addr)
        ctx.set(bus.arprot, 0)
        ctx.set(bus.arvalid, 1)
        await _wait(ctx, bus.arready, timeout=self.timeout, what="arready")
        ctx.set(bus.arvalid, 0)
        ctx.set(bus.rready, 1)
        rdata, rresp = await _wait(ctx, bus.rvalid, bus.rdata, Value.cast(bus.rresp),
                                   timeout=self.timeout, what="rvalid")
        ctx.set(bus.rready, 0)
        if _resp(rresp) in (AxiResp.SLVERR, AxiResp.DECERR):
            raise AxiResponseError(addr, _resp(rresp))
        return (rdata >> (8 * lane)) & ((1 << (8 * size)) - 1)

    async def write(self, ctx, addr, value, size=8, strb=None, order="together", gap=0):
        """Write ``value`` (``size`` bytes) at ``addr``; raise :class:`AxiResponseError` on
        SLVERR/DECERR.

        ``strb`` replaces the byte strobes of the whole bus word (default: the ``size`` bytes
        at ``addr``). ``order`` is ``"together"`` (AW and W offered in the same cycle),
        ``"aw_first"`` or ``"w_first"`` (the other channel offered ``gap`` cycles after the
        first one's handshake).
        """
        bus = self.bus
        lane = self._lane(addr, size)
        if strb is None:
            strb = ((1 << size) - 1) << lane
        aw = [(bus.awaddr, addr), (bus.awprot, 0)], bus.awvalid, bus.awready
        w = [(bus.wdata, (value & ((1 << (8 * size)) - 1)) << (8 * lane)), (bus.wstrb, strb)], \
            bus.wvalid, bus.wready
        if order == "together":
            groups = [[aw, w]]
        elif order == "aw_first":
            groups = [[aw], [w]]
        elif order == "w_first":
            groups = [[w], [aw]]
        else:
            raise ValueError(f"order must be together, aw_first or w_first, not {order!r}")
        for index, group in enumerate(groups):
            if index and gap:
                await ctx.tick().repeat(gap)
            await self._handshake(ctx, group)
        ctx.set(bus.bready, 1)
        bresp, = await _wait(ctx, bus.bvalid, Value.cast(bus.bresp),
                             timeout=self.timeout, what="bvalid")
        ctx.set(bus.bready, 0)
        if _resp(bresp) in (AxiResp.SLVERR, AxiResp.DECERR):
            raise AxiResponseError(addr, _resp(bresp))

    async def _handshake(self, ctx, channels):
        """Offer every channel of ``channels`` at once; return when each had its handshake."""
        waiting = list(channels)
        for fields, valid, _ in waiting:
            for signal, value in fields:
                ctx.set(signal, value)
            ctx.set(valid, 1)
        for _ in range(self.timeout):
            _, _, *readies = await ctx.tick().sample(*(ready for _, _, ready in waiting))
            still = []
            for channel, ready in zip(waiting, readies):
                if ready:
                    ctx.set(channel[1], 0)
                else:
                    still.append(channel)
            waiting = still
            if not waiting:
                return
        raise TimeoutError(f"no handshake within {self.timeout} cycles")


# --- AXI4 slave memory --------------------------------------------------------------------------

_ERROR_ORDER = {None: 0, "SLVERR": 1, "DECERR": 2}


def burst_beat_ranges(addr, length, size, burst, data_bytes, what):
    """The ``[start, end)`` byte range of each beat of an AXI4 burst (AxLEN ``length``,
    AxSIZE ``size``, AxBURST ``burst``) on a ``data_bytes``-wide bus.

    Shared by the Amaranth and the cocotb AXI4 slave models; an unsupported burst,
    a beat wider than the bus or an INCR burst across 4 KiB fails an assertion
    naming ``what`` (the channel).
    """
    burst = AxiBurst(int(burst))
    assert burst in (AxiBurst.FIXED, AxiBurst.INCR), f"{what}: {burst.name} burst unsupported"
    nbytes = 1 << size
    assert nbytes <= data_bytes, f"{what}: size {nbytes} bytes wider than the bus"
    aligned = addr & ~(nbytes - 1)
    ranges = [(addr, aligned + nbytes)]
    for index in range(1, length + 1):
        start = aligned if burst == AxiBurst.FIXED else aligned + index * nbytes
        ranges.append((start, start + nbytes))
    if burst == AxiBurst.INCR:
        assert addr >> 12 == (ranges[-1][1] - 1) >> 12, \
            f"{what}: burst at {addr:#x} of {length + 1} beats crosses a 4 KiB boundary"
    return ranges


class Axi4SlaveModel:
    """Memory behind an AXI4 master port (:class:`gic.hw.bus.axi.Axi4Signature`), as a simulator
    process.

    Usage::

        axi = Axi4SlaveModel(memory, dut.axi, latency=10, reorder=True, seed=seed)
        run_sim(dut, testbench, processes=[axi.run])

    Serves FIXED and INCR bursts of any ``AxSIZE`` up to the bus width (first beat may be
    unaligned), several reads and writes outstanding. Reads act on ``memory`` when the
    address is accepted, writes when their last data beat arrives. A beat touching a range
    ``memory.fault`` reports answers that error (DECERR outranks SLVERR) with zero data; a
    faulting write beat changes nothing. Checks the master's side of the protocol: a burst
    crossing a 4 KiB boundary, a WRAP burst, an oversized ``AxSIZE`` or a misplaced ``WLAST``
    raises ``AssertionError`` out of the simulation.

    Parameters
    ----------
    memory : gic.sim.models.memory.Memory
        The bytes served.
    bus : interface
        The DUT's ``Out(Axi4Signature(...))`` port.
    latency : int
        Cycles from an address (read) or last data beat (write) to the first response, >= 1.
    max_outstanding : int
        Read bursts, and write bursts, accepted but not answered, >= 1.
    backpressure : float
        Probability that ``arready``/``awready``/``wready`` are low in a cycle.
    idle : float
        Probability that no ``R``/``B`` response is offered in a cycle.
    reorder : bool
        Answer bursts of different IDs out of order, and interleave their read beats (as AXI
        allows); bursts of one ID stay in order.
    seed : int
        Seed of the random choices.
    domain : str
        Clock domain.

    Members
    -------
    reads, writes : int
        Bursts served.
    read_beats, write_beats : int
        Beats served.
    max_reads_in_flight : int
        The most read bursts accepted and not fully answered at once.
    """

    def __init__(self, memory, bus, *, latency=4, max_outstanding=8, backpressure=0.0,
                 idle=0.0, reorder=False, seed=0, domain="sync"):
        if not isinstance(latency, int) or latency < 1:
            raise ValueError(f"latency must be an integer >= 1, not {latency!r}")
        if not isinstance(max_outstanding, int) or max_outstanding < 1:
            raise ValueError(f"max_outstanding must be an integer >= 1, not {max_outstanding!r}")
        self.memory = memory
        self.bus = bus
        self.latency = latency
        self.max_outstanding = max_outstanding
        self.backpressure = backpressure
        self.idle = idle
        self.reorder = reorder
        self.rng = random.Random(seed)
        self.domain = domain
        self.data_bytes = len(bus.rdata) // 8
        self.reads = self.writes = self.read_beats = self.write_beats = 0
        self.max_reads_in_flight = 0
        self._reads = []       # [due, id, [beats]] per accepted read burst
        self._aws = []         # [id, [beat byte ranges]] write bursts waiting for data
        self._w_beats = []     # (data, strb, last) beats not yet matched to a burst
        self._bs = []          # [due, id, resp] write responses
        self._r_current = None
        self._b_current = None

    def _busy(self):
        return self.backpressure and self.rng.random() < self.backpressure

    def _read_beat(self, start, end, last):
        fault = self.memory.fault(start, end - start)
        data = 0 if fault else self.memory.read_int(start, end - start) << (8 * (start % self.data_bytes))
        return {"data": data, "resp": AxiResp[fault] if fault else AxiResp.OKAY, "last": last}

    def _write_burst(self, ranges, beats):
        worst = None
        for (start, _), (data, strb, _) in zip(ranges, beats):
            base = start & ~(self.data_bytes - 1)
            runs, run = [], None
            for lane in range(self.data_bytes):
                if strb >> lane & 1:
                    if run is None:
                        run = [lane, lane]
                    run[1] = lane + 1
                elif run is not None:
                    runs.append(run)
                    run = None
            if run is not None:
                runs.append(run)
            faults = [self.memory.fault(base + lo, hi - lo) for lo, hi in runs]
            fault = max(faults, key=_ERROR_ORDER.get, default=None)
            if fault is None:
                for lo, hi in runs:
                    chunk = (data >> (8 * lo)) & ((1 << (8 * (hi - lo))) - 1)
                    self.memory.write_int(base + lo, chunk, hi - lo)
            worst = max(worst, fault, key=_ERROR_ORDER.get)
        return AxiResp[worst] if worst else AxiResp.OKAY

    def _pick(self, queue, cycle):
        """Index of the next response to offer from ``queue`` ([due, id, ...] entries), or None."""
        if self.idle and self.rng.random() < self.idle:
            return None
        seen, ready = set(), []
        for index, entry in enumerate(queue):
            if entry[1] in seen:
                continue
            seen.add(entry[1])
            if entry[0] <= cycle:
                ready.append(index)
            if not self.reorder:
                break
        return self.rng.choice(ready) if ready else None

    async def run(self, ctx):
        """The process: add it with ``sim.add_process(model.run)``."""
        bus = self.bus
        sampled = [bus.arvalid, bus.arid, bus.araddr, bus.arlen, bus.arsize, Value.cast(bus.arburst),
                   bus.rready,
                   bus.awvalid, bus.awid, bus.awaddr, bus.awlen, bus.awsize, Value.cast(bus.awburst),
                   bus.wvalid, bus.wdata, bus.wstrb, bus.wlast, bus.bready]
        arready = awready = wready = False
        rvalid = bvalid = False
        cycle = 0
        async for _, _, *values in ctx.tick(self.domain).sample(*sampled):
            cycle += 1
            (arvalid, arid, araddr, arlen, arsize, arburst, rready,
             awvalid, awid, awaddr, awlen, awsize, awburst,
             wvalid, wdata, wstrb, wlast, bready) = values

            if arvalid and arready:
                ranges = burst_beat_ranges(araddr, arlen, arsize, arburst, self.data_bytes, "AR")
                beats = [self._read_beat(start, end, index == arlen)
                         for index, (start, end) in enumerate(ranges)]
                self._reads.append([cycle + self.latency - 1, arid, beats])
                self.reads += 1
                self.max_reads_in_flight = max(self.max_reads_in_flight, len(self._reads))
            if rvalid and rready:
                entry = self._reads[self._r_current]
                entry[2].pop(0)
                self.read_beats += 1
                if not entry[2]:
                    self._reads.pop(self._r_current)
                self._r_current = None
                rvalid = False

            if awvalid and awready:
                self._aws.append([awid, burst_beat_ranges(awaddr, awlen, awsize, awburst,
                                                      self.data_bytes, "AW"), []])
            if wvalid and wready:
                self._w_beats.append((wdata, wstrb, wlast))
                self.write_beats += 1
            while self._aws and self._w_beats:
                awid_, ranges, beats = self._aws[0]
                beat = self._w_beats.pop(0)
                beats.append(beat)
                assert beat[2] == (len(beats) == len(ranges)), \
                    f"W: WLAST={beat[2]} on beat {len(beats)} of a {len(ranges)}-beat burst"
                if len(beats) == len(ranges):
                    self._aws.pop(0)
                    self._bs.append([cycle + self.latency - 1, awid_, self._write_burst(ranges, beats)])
                    self.writes += 1
            if bvalid and bready:
                self._bs.pop(self._b_current)
                self._b_current = None
                bvalid = False

            arready = len(self._reads) < self.max_outstanding and not self._busy()
            awready = len(self._aws) + len(self._bs) < self.max_outstanding and not self._busy()
            wready = len(self._w_beats) < 16 and not self._busy()
            ctx.set(bus.arready, arready)
            ctx.set(bus.awready, awready)
            ctx.set(bus.wready, wready)

            if not rvalid:
                self._r_current = self._pick(self._reads, cycle)
                rvalid = self._r_current is not None
                if rvalid:
                    entry = self._reads[self._r_current]
                    beat = entry[2][0]
                    ctx.set(bus.rid, entry[1])
                    ctx.set(bus.rdata, beat["data"])
                    ctx.set(bus.rresp, beat["resp"])
                    ctx.set(bus.rlast, beat["last"])
            ctx.set(bus.rvalid, rvalid)

            if not bvalid:
                self._b_current = self._pick(self._bs, cycle)
                bvalid = self._b_current is not None
                if bvalid:
                    _, bid, bresp = self._bs[self._b_current]
                    ctx.set(bus.bid, bid)
                    ctx.set(bus.bresp, bresp)
            ctx.set(bus.bvalid, bvalid)


# --- running ------------------------------------------------------------------------------------

def run_sim(dut, *testbenches, processes=(), vcd=None, clocks=None, max_cycles=200_000,
            traces=()):
    """Simulate ``dut`` until every testbench returns.

    Parameters
    ----------
    dut : Elaboratable
        The design.
    *testbenches : async function of ``ctx``
        Added with ``sim.add_testbench`` (critical: the run ends when they all return).
    processes : iterable of async functions of ``ctx``
        Added with ``sim.add_process`` (background models such as ``MemPortModel(...).run``).
    vcd : str or Path or None
        Write a waveform: a bare name (``"bridge_read"``) goes to ``build/sim/<name>.vcd``
        (with a ``.gtkw`` save file beside it); a path with a directory is used as given.
    clocks : dict or None
        Clock period in seconds per domain; default ``{"sync": 10e-9}`` (100 MHz).
    max_cycles : int or None
        Raise ``TimeoutError`` if the testbenches still run after this many cycles of the
        first domain (a hung handshake fails instead of running forever).
    traces : iterable of signals or interfaces
        What the GTKWave save file beside the waveform shows.

    Returns
    -------
    Simulator
        The finished simulator.
    """
    clocks = clocks or {"sync": 10e-9}
    sim = Simulator(dut)
    try:
        for domain, period in clocks.items():
            sim.add_clock(period, domain=domain)
    except NameError:
        # A purely combinational DUT has no clock domain of its own: give it the testbench's.
        top = Module()
        top.submodules.dut = dut
        for domain in clocks:
            top.domains += ClockDomain(domain)
        sim = Simulator(top)
        for domain, period in clocks.items():
            sim.add_clock(period, domain=domain)
    for testbench in testbenches:
        sim.add_testbench(testbench)
    for process in processes:
        sim.add_process(process)
    if max_cycles is not None:
        first_domain = next(iter(clocks))

        async def watchdog(ctx):
            for _ in range(max_cycles):
                await ctx.tick(first_domain)
            raise TimeoutError(f"simulation still running after {max_cycles} cycles")
        sim.add_testbench(watchdog, background=True)
    if vcd is None:
        sim.run()
        return sim
    path = Path(vcd)
    if path.parent == Path("."):
        path = BUILD_DIR / path.with_suffix(".vcd").name
    path.parent.mkdir(parents=True, exist_ok=True)
    with sim.write_vcd(str(path), str(path.with_suffix(".gtkw")), traces=list(traces)):
        sim.run()
    return sim
