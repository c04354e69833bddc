"""``its host``: bring up the GIC on the board over its UART and show the LPIs its CPUs take."""

import asyncio
import sys

from rich.table import Table

from gic.hw.boards.top import LED_NAMES
from gic.sim.cli.common import UsageError, count, params_options
from gic.sim.cli.show import show_priority_round, show_probe
from gic.sim.driver.bridge import (BridgeClient, BridgeError, BridgeTimeout, SerialTransport,
                                   simulate)
from gic.sim.tools.board import board_demo, describe_memory

__all__ = ["add_parser", "run"]


def add_parser(commands):
    host = commands.add_parser(
        "host", parents=[params_options()], help="drive the GIC on the board over its UART",
        description="Bring up the ITS and the redistributors on the board with the Linux-style "
                    "drivers through the UART bridge (docs/host-protocol.md), map DEVICES x "
                    "EVENTS events, send one MSI each and two strays and show the LPIs the "
                    "CPUs took; then mask the CPUs, send MSIs of different priorities, unmask, "
                    "and show each CPU taking them in priority order.")
    host.add_argument("--port", help="serial port of the board, e.g. /dev/ttyUSB0")
    host.add_argument("--sim", action="store_true",
                      help="no board: simulate the board top with the ITS in-process (slow)")
    host.add_argument("--baud", type=count(1), default=115200,
                      help="baud rate the bitstream was built with (default 115200)")
    host.add_argument("--timeout", type=float, default=1.0,
                      help="seconds to wait for each answer (default 1)")
    host.add_argument("--devices", type=count(1), default=2, help="devices to map (default 2)")
    host.add_argument("--events", type=count(1), default=8,
                      help="events per device (default 8)")
    host.add_argument("--info", action="store_true", help="only show what the board is")
    host.set_defaults(run=run)
    return host


def run(args, params, console):
    if args.sim:
        from gic.hw.boards.top import ItsBoardTop
        top = ItsBoardTop(params=params, clk_freq=100e6, host_link="stream")

        async def scenario(transport):
            return await _session(BridgeClient(transport), args, console)
        try:
            return simulate(top, scenario)
        except BridgeError as error:
            print(f"its host: the simulated board: {error}", file=sys.stderr)
            return 2
    if args.port is None:
        raise UsageError("give --port (the board's serial port) or --sim")
    try:
        transport = SerialTransport(args.port, args.baud)
    except BridgeError as error:
        print(f"its host: {error}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_session(BridgeClient(transport, timeout=args.timeout), args,
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


async def _session(client, args, console):
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
    show_probe(console, result.driver)
    _show_first_round(console, result)
    show_priority_round(console, result.rounds, result.picks)
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


def _show_first_round(console, result):
    table = Table(title="First round: LPIs taken per CPU (one MSI per event, CPUs unmasked)")
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
