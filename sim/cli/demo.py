"""``its demo``: bring an ITS up with the driver, map devices, fire an MSI storm, report."""

import asyncio
import random
import sys
from pathlib import Path

from rich.progress import Progress
from rich.table import Table

from gic.hw.its import layouts as L
from gic.sim.cli.common import count, its_options, output_file
from gic.sim.cli.show import show_priority_round, show_probe
from gic.sim.tools.docgen import member_docs
from gic.sim.tools.gicdemo import (GicModelBus, bring_up_redistributors, lpi_id_bits,
                                   pick_events, priority_round)
from gic.sim.tools.scripted import bring_up, check_fits, scripted_collection, scripted_lpi, strays

__all__ = ["add_parser", "run", "STRAY_EVERY", "MOVE_EVERY", "PROP_BASE", "PEND_BASE"]

STRAY_EVERY = 10
"""In the demo, every 10th MSI comes from a misbehaving device and is dropped."""
MOVE_EVERY = 8
"""Halfway through the storm the demo MOVIs every 8th event of each device to the next CPU."""
PROP_BASE = 0x1000_0000
"""The demo's LPI property table (its ITS tables and ring are at 0x4000_0000 on)."""
PEND_BASE = 0x1100_0000
"""The demo's pending tables: redistributor n's at PEND_BASE + 0x10000 * n."""
DEFAULT_VCD = Path("build") / "demo" / "its_demo.vcd"


def add_parser(commands):
    demo = commands.add_parser(
        "demo", parents=[its_options()], help="bring an ITS up and fire an MSI storm at it",
        description=f"Bring an ITS up with the driver, map every event of every device to an "
                    f"LPI on one CPU's collection, fire an MSI storm (every {STRAY_EVERY}th "
                    f"MSI from a misbehaving device, to be dropped), MOVI every "
                    f"{MOVE_EVERY}th event to the next CPU halfway, and report.")
    demo.add_argument("--model", action="store_true",
                      help="run on the reference model instead of the RTL")
    demo.add_argument("--mem-latency", type=count(1), default=4,
                      help="RTL: memory latency in cycles (default 4)")
    demo.add_argument("--vcd", type=Path, default=DEFAULT_VCD,
                      help=f"RTL: waveform file (default {DEFAULT_VCD}, with a .gtkw)")
    demo.add_argument("--no-waves", action="store_true", help="RTL: write no waveform")
    demo.add_argument("--seed", type=int, default=1, help="random seed of the storm (default 1)")
    demo.add_argument("--msis", type=count(0), default=2000, help="MSIs to fire (default 2000)")
    demo.set_defaults(run=run)
    return demo


def run(args, params, console):
    check_fits(params, args.devices, args.events)

    async def script(bus):
        return await _script(args, params, console, bus)
    if args.model:
        console.print("[bold]target[/bold]: the reference models (sim/models/its.py, "
                      "sim/models/gicr.py): ITS, redistributors, CPU stand-ins")
        return asyncio.run(script(GicModelBus.create(params)))
    from gic.sim.rtlsim.bus import run_on_gic
    vcd = None if args.no_waves else output_file(args.vcd)
    console.print(f"[bold]target[/bold]: the GIC RTL (hw/gicr/gic.py: ITS + "
                  f"{params.num_redistributors} redistributors, a CPU stand-in on each) in "
                  f"Amaranth's simulator, memory latency {args.mem_latency} cycles"
                  + ("" if vcd is None else f", waveform {vcd}"))
    status, cycles = run_on_gic(params, script, mem_latency=args.mem_latency, vcd=vcd)
    console.print(f"{cycles} clock cycles simulated"
                  + ("" if vcd is None else f"; waves: {vcd} (open with gtkwave "
                     f"{vcd.with_suffix('.gtkw')})"))
    return status


async def _script(args, params, console, bus):
    cpus = params.num_redistributors
    with console.status(f"bringing the GIC up: {cpus} redistributors (property table, "
                        f"EnableLPIs), the ITS with {args.devices} devices x {args.events} "
                        f"events (MAPD, MAPTI + SYNC each)"):
        lpis = [scripted_lpi(d, e, args.events) for d in range(args.devices)
                for e in range(args.events)]
        id_bits = lpi_id_bits(max(lpis), params)
        await bring_up_redistributors(
            bus, cpus=cpus, prop_base=PROP_BASE, id_bits=id_bits, lpis=lpis,
            pend_bases=[PEND_BASE + 0x10000 * rd for rd in range(cpus)])
        bus, driver = await bring_up(params, args.devices, args.events, bus)
    show_probe(console, driver)
    console.print(f"  redistributors: {cpus}, LPIs 8192..{(1 << id_bits) - 1}, priorities "
                  f"from the property table at {PROP_BASE:#x}")
    moved = await _storm(args, params, console, bus, driver)
    stats = await driver.stats()
    _show_storm(console, await bus.take_interrupts(), cpus)
    _show_drops(console, stats, await driver.read_error())
    console.print(f"{args.msis} MSIs fired, {moved} events moved with MOVI halfway; "
                  f"translated {stats['MSI_TRANSLATED']}, dropped {stats['MSI_DROPPED']}")

    picks = pick_events(driver, cpus)
    with console.status(f"priority round: CPUs masked, {len(picks)} MSIs, CPUs unmasked"):
        per_cpu = await priority_round(bus, driver, picks, cpus=cpus)
    wrong = show_priority_round(console, per_cpu, picks)
    _show_commands(console, driver.posted, await driver.stats())
    if wrong:
        print(f"its demo: {wrong} CPUs did not take their LPIs in priority order",
              file=sys.stderr)
        return 1
    console.print(f"every CPU took its LPIs of the priority round in priority order "
                  f"(lowest priority value first, then lowest INTID): {len(picks)} LPIs")
    return 0


async def _storm(args, params, console, bus, driver):
    """Fire the MSI storm, MOVI some events halfway; returns how many were moved."""
    rng = random.Random(args.seed)
    mapped = [(d, e) for d in range(args.devices) for e in range(args.events)]
    misbehaving = strays(params, args.devices, args.events)
    await bus.take_interrupts()
    moved = 0
    with Progress(console=console) as progress:
        storm = progress.add_task(f"MSI storm (seed {args.seed}), the CPUs taking LPIs",
                                  total=args.msis)
        for index in range(args.msis):
            if index == args.msis // 2:
                moved = await _move_some(driver, args.devices, args.events,
                                         params.num_redistributors)
            if index % STRAY_EVERY == STRAY_EVERY - 1:
                await bus.msi(*misbehaving[index // STRAY_EVERY % len(misbehaving)])
            else:
                await bus.msi(*rng.choice(mapped))
            progress.advance(storm)
    return moved


async def _move_some(driver, devices, events, cpus):
    """MOVI every MOVE_EVERY-th event of each device to the next CPU's collection."""
    moved = 0
    for device_id in range(devices):
        for event_id in range(0, events, MOVE_EVERY):
            icid = (scripted_collection(device_id, event_id, cpus) + 1) % cpus
            await driver.move(device_id, event_id, icid)
            moved += 1
    return moved


def _show_storm(console, taken, cpus):
    table = Table(title="LPIs taken per CPU during the storm",
                  caption="an LPI signalled again before it was taken is taken once")
    for column in ("CPU", "taken", "distinct LPIs"):
        table.add_column(column, justify="right")
    for cpu in range(cpus):
        mine = [record.intid for record in taken if record.cpu == cpu]
        table.add_row(str(cpu), str(len(mine)), str(len(set(mine))))
    table.add_section()
    table.add_row("total", str(len(taken)), str(len({record.intid for record in taken})))
    console.print(table)


def _show_drops(console, stats, command_error):
    reasons = {reason: stats[f"DROP_{reason.name}"] for reason in L.DropReason
               if reason is not L.DropReason.OK and stats[f"DROP_{reason.name}"]}
    table = Table(title="Dropped MSIs (GITS_STAT_DROP_*)")
    table.add_column("reason")
    table.add_column("count", justify="right")
    table.add_column("why")
    explain = member_docs(L.DropReason)
    for reason, number in sorted(reasons.items(), key=lambda item: item[0].value):
        table.add_row(reason.name, str(number), explain[reason.name])
    table.add_section()
    table.add_row("total", str(sum(reasons.values())), f"GITS_STAT_MSI_DROPPED = "
                  f"{stats['MSI_DROPPED']}")
    console.print(table)
    console.print(f"command errors: {stats['CMD_ERRORS']}"
                  + ("" if command_error is None else
                     f", first {getattr(command_error.code, 'name', command_error.code)} at "
                     f"ring offset {command_error.offset:#x}"))


def _show_commands(console, posted, stats):
    table = Table(title="Commands executed")
    table.add_column("command")
    table.add_column("count", justify="right")
    for cmd, number in sorted(posted.items(), key=lambda item: item[0].value):
        table.add_row(cmd.name, str(number))
    table.add_section()
    table.add_row("total", str(sum(posted.values())))
    table.add_row("GITS_STAT_CMD_EXECUTED", str(stats["CMD_EXECUTED"]))
    console.print(table)
