"""One driver-level scenario timed on Icarus (cocotb) and on Amaranth's simulator.

:func:`speed_scenario` runs over any :class:`gic.sim.driver.bus.ItsBus`: the Linux bring-up, four
devices of 16 events, an MSI storm (hits and misses) and a batch of INTs through the
ring. The cocotb test ``run_speed`` runs it on the Verilog in Icarus, with the whole
testbench (bus models, monitors, scoreboard); :func:`amaranth_speed` runs it on
:class:`gic.hw.its.top.Its` in Amaranth's simulator through :func:`gic.sim.rtlsim.bus.run_on_rtl`
(its own Python bus models). Both report clock cycles simulated per second of wall time.
"""

import random
import time

from gic.hw.its.layouts import LPI_BASE, Cmd
from gic.sim.driver.its import ItsDriver

__all__ = ["speed_scenario", "amaranth_speed", "MSIS", "INTS"]

MSIS = 800
INTS = 200
MEM_BASE = 0x4000_0000


async def speed_scenario(bus, *, msis=MSIS, ints=INTS, num_redistributors=3):
    """Bring up, map 4 x 16 events, ``msis`` MSIs, ``ints`` INTs in one batch."""
    rng = random.Random(1)
    driver = ItsDriver(bus, mem_base=MEM_BASE, mem_size=2 << 20, ring_bytes=4096)
    await driver.probe()
    await driver.init_cpus(num_redistributors)
    pairs = []
    for device_id in range(4):
        await driver.map_device(device_id, 4)
        for event_id in range(16):
            await driver.map_event(device_id, event_id, LPI_BASE + 16 * device_id + event_id,
                                   (device_id + event_id) % num_redistributors, sync=False)
            pairs.append((device_id, event_id))
    hot = pairs[:6]
    for _ in range(msis):
        await bus.msi(*rng.choice(hot if rng.random() < 0.7 else pairs))
    await driver.send_batch([(Cmd.INT, dict(device_id=0, event_id=n % 16))
                             for n in range(ints)])
    return await driver.stats()


def amaranth_speed(params):
    """Run :func:`speed_scenario` in Amaranth's simulator: ``(cycles, seconds)``, the time
    of elaborating and starting the simulation (a run of 10 idle cycles) taken off."""
    from gic.sim.rtlsim.bus import run_on_rtl

    async def idle(bus):
        for _ in range(10):
            await bus.idle()

    start = time.perf_counter()
    run_on_rtl(params, idle)
    overhead = time.perf_counter() - start
    start = time.perf_counter()
    _, cycles = run_on_rtl(params, lambda bus: speed_scenario(
        bus, num_redistributors=params.num_redistributors), max_cycles=2_000_000)
    return cycles, time.perf_counter() - start - overhead
