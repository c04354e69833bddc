"""What every cocotb testbench of a top with an ITS sets up: :class:`BaseTB`.

The ``its`` top (tb/its) and the ``gic`` top (tb/gic) share their register port, their
AXI4 master, the MSI stream and the ITS behind them. :class:`BaseTB` owns the clock, the
reset and those bus models, the memory the DUT's AXI4 slave serves and the reference
model's copy, the pause generators of those streams, the end-of-test comparison of
the ITS's memory and the run's parameters and seed; each testbench's ``TB`` adds its
own parts (redistributor models or CPUs, scoreboard, coverage) around it.
"""

import json
import logging
import os
import random
import warnings

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster

from gic.hw.its.params import ItsParams
from gic.sim.driver.its import ItsDriver

from .axi_memory import AxiMemory, WriteFaultMemory
from .build import CLOCK_PERIOD_NS, PARAMS_VARIABLE, SEED_VARIABLE
from .monitors import high
from .pause import PauseDriver
from .streams import PayloadBus, PayloadSource

__all__ = ["BaseTB", "MEM_BASE", "MEM_SIZE", "TIMEOUT_US", "params_of_run", "seed_of_run"]

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotbext\..*")
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"cocotb_bus\..*")

MEM_BASE = 0x4000_0000
"""The ITS driver's memory (tables, ring): compared with the model's at the end."""
MEM_SIZE = 2 << 20
TIMEOUT_US = 20_000
"""No test runs longer than 20 ms of simulated time (2 million cycles)."""


def params_of_run():
    """The ItsParams of this simulator run (from the pytest entry, via ``TB_PARAMS``)."""
    return ItsParams(**json.loads(os.environ[PARAMS_VARIABLE]))


def seed_of_run():
    """The seed of this run (``--seed`` / ``SEED``), which the runner passes to cocotb."""
    return int(os.environ.get(SEED_VARIABLE, "1"))


class BaseTB:
    """Clock, reset and the bus models of a top with an ITS; a testbench's ``TB`` adds
    its own parts, then calls :meth:`_pause_streams` and makes ``bus``.

    Parameters
    ----------
    dut : cocotb handle
        The top level: its ``clk``, ``rst``, ``axil_*``, ``axi_*``, ``msi_*``, ``query_*``
        and ``translater_device_id`` ports.
    name : str
        The top level's name (``"its"``, ``"gic"``): its bus models' loggers are quietened.
    seed : int or None
        Seeds every random choice of the testbench (pauses, delays, reordering); default:
        cocotb's seed of the test, derived from the run's seed and the test's name.
    latency : int
        Memory latency in cycles.
    reorder : bool
        Memory answers different AXI IDs out of order.

    Members
    -------
    params : ItsParams
    seed : int
        The run's seed (``--seed`` / ``SEED``), or the one given.
    rng : random.Random
    log : logging.Logger
    memory, model_memory : WriteFaultMemory
        What the DUT's memory serves; the reference model's copy.
    axil : AxiLiteMaster
    axi_memory : AxiMemory
    msi_source : PayloadSource
    pauses : PauseDriver
        Made by :meth:`_pause_streams`.

    A ``TB`` also has ``scoreboard`` (started by :meth:`reset`, checking the reads of
    ``bus``), ``bus`` (a :class:`~gic.tb.common.itsbus.CocotbItsBus`) and its :meth:`_busy`.
    """

    idle_cycles = 30
    """Quiet cycles :meth:`wait_idle` waits for by default."""

    def __init__(self, dut, *, name, seed=None, latency=4, reorder=False):
        self.dut = dut
        self.params = params_of_run()
        self.seed = seed_of_run() if seed is None else seed
        # cocotb derives each test's seed from the run's seed and the test's name.
        self.rng = random.Random(cocotb.RANDOM_SEED if seed is None else seed)
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        for noisy in (f"cocotb.{name}", f"cocotb.{name}.axil_", f"cocotb.{name}.axi_"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        self.log.info("SEED=%d (this test's: %d), parameters %s", self.seed,
                      cocotb.RANDOM_SEED, self.params)
        self.memory = WriteFaultMemory()
        self.model_memory = WriteFaultMemory()
        cocotb.start_soon(Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns").start())
        dut.rst.value = 1
        for signal in ("msi__valid", "msi__payload", "query__valid", "query__payload",
                       "translater_device_id"):
            getattr(dut, signal).value = 0
        clock, reset = dut.clk, dut.rst
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "axil_"), clock, reset)
        self.axi_memory = AxiMemory(AxiBus.from_prefix(dut, "axi_"), clock, reset, self.memory,
                                    latency=latency, reorder=reorder,
                                    rng=random.Random(self.rng.random()))
        self.msi_source = PayloadSource(PayloadBus.from_prefix(dut, "msi_"), clock, reset)
        self.msi_source.queue_occupancy_limit = 4

    def _pause_streams(self, idle_inserter, backpressure_inserter, *, idle=(), backpressure=()):
        """Give each stream a pause generator (``gic.tb.common.pause``).

        Parameters
        ----------
        idle_inserter, backpressure_inserter : callable of random.Random, or None
            Make the generators of the streams the testbench drives (idle cycles) and of
            those it takes (backpressure).
        idle, backpressure : dict of str to stream
            The ``TB``'s own streams of each kind, paused after the shared ones.
        """
        write, read = self.axil.write_if, self.axil.read_if
        memory = self.axi_memory
        idle = {"axil_aw": write.aw_channel, "axil_w": write.w_channel,
                "axil_ar": read.ar_channel, "axi_r": memory.r, "axi_b": memory.b,
                "msi": self.msi_source, **dict(idle)}
        backpressure = {"axil_b": write.b_channel, "axil_r": read.r_channel,
                        "axi_ar": memory.ar, "axi_aw": memory.aw, "axi_w": memory.w,
                        **dict(backpressure)}
        self.pauses = PauseDriver(self.dut.clk)
        for inserter, streams in ((idle_inserter, idle), (backpressure_inserter, backpressure)):
            if inserter is not None:
                for name, stream in streams.items():
                    self.pauses.add(name, stream, inserter(random.Random(self.rng.random())))

    # -- set-up and tear-down -----------------------------------------------------------------

    async def reset(self):
        """Reset the DUT; start the scoreboard's monitors."""
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)
        self.scoreboard.start()

    def its_driver(self, **driver_options):
        """An :class:`ItsDriver` on ``bus`` with its memory at ``MEM_BASE`` and a 4 KiB
        command queue, unless ``driver_options`` say otherwise."""
        options = dict(mem_base=MEM_BASE, mem_size=MEM_SIZE, ring_bytes=4096)
        options.update(driver_options)
        return ItsDriver(self.bus, **options)

    def _busy(self):
        """The DUT or a bus model has work (the ``TB``'s own): :meth:`wait_idle` waits."""
        raise NotImplementedError

    def _its_busy(self):
        """The MSI source or the ITS (translator, executor, forwarder) has work."""
        dut = self.dut
        return (not self.msi_source.idle() or not high(dut.translator.idle)
                or not high(dut.executor.idle) or not high(dut.forwarder.idle))

    async def wait_idle(self, cycles=None):
        """Wait until the ``TB``'s :meth:`_busy` has been false for ``cycles`` cycles in a
        row (default :attr:`idle_cycles`)."""
        cycles = self.idle_cycles if cycles is None else cycles
        quiet = 0
        edge = RisingEdge(self.dut.clk)
        while quiet < cycles:
            await edge
            quiet = 0 if self._busy() else quiet + 1

    def check_memory(self):
        """The ITS's memory (``MEM_BASE``, ``MEM_SIZE``) must equal the model's.

        Raises
        ------
        AssertionError
            Naming the first doubleword that differs, with both sides.
        """
        ours = self.memory.read(MEM_BASE, MEM_SIZE)
        model = self.model_memory.read(MEM_BASE, MEM_SIZE)
        if ours != model:
            index = next(i for i, (a, b) in enumerate(zip(ours, model)) if a != b)
            raise AssertionError(f"ITS memory differs from the model's from "
                                 f"{MEM_BASE + index:#x}: RTL "
                                 f"{ours[index & ~7:(index & ~7) + 8].hex()}, model "
                                 f"{model[index & ~7:(index & ~7) + 8].hex()}")

    # -- helpers ------------------------------------------------------------------------------

    def inject_error(self, addr, length, resp="SLVERR"):
        """Make memory accesses to ``[addr, addr+length)`` fail, for the DUT and the model."""
        for memory in (self.memory, self.model_memory):
            memory.inject_error(addr, length, resp)

    def inject_write_error(self, addr, length, resp="SLVERR"):
        """Make memory writes to ``[addr, addr+length)`` fail, for the DUT and the model."""
        for memory in (self.memory, self.model_memory):
            memory.inject_write_error(addr, length, resp)

    def clear_errors(self):
        """Remove every injected memory error."""
        for memory in (self.memory, self.model_memory):
            memory.clear_errors()
