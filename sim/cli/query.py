"""``its query``: what a (DeviceID, EventID) becomes after the scripted set-up."""

import asyncio

from gic.hw.its import layouts as L
from gic.sim.cli.common import count, its_options
from gic.sim.tools.docgen import member_docs
from gic.sim.tools.scripted import bring_up

__all__ = ["add_parser", "run"]


def add_parser(commands):
    query = commands.add_parser(
        "query", parents=[its_options()], help="what a (DeviceID, EventID) becomes",
        description="Bring an ITS up as the demo does (device d, event e -> LPI "
                    "8192 + d*EVENTS + e on collection (d+e) mod CPUs, collection c on CPU c) "
                    "on the reference model and ask GITS_QUERY about one MSI.")
    query.add_argument("--device", type=count(0), required=True, help="DeviceID")
    query.add_argument("--event", type=count(0), required=True, help="EventID")
    query.set_defaults(run=run)
    return query


def run(args, params, console):
    return asyncio.run(_query(args, params, console))


async def _query(args, params, console):
    _, driver = await bring_up(params, args.devices, args.events)
    answer = await driver.query(args.device, args.event)
    prefix = f"DeviceID {args.device} EventID {args.event} ->"
    if answer.status is L.DropReason.OK:
        console.print(f"{prefix} LPI {answer.pintid} on redistributor {answer.target}")
    else:
        console.print(f"{prefix} dropped: {answer.status.name} "
                      f"({member_docs(L.DropReason)[answer.status.name]})")
    return 0
