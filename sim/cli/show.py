"""Tables the ``demo`` and ``host`` verbs both print."""

from rich.table import Table

from gic.sim.tools.gicdemo import scripted_priority

__all__ = ["show_probe", "show_priority_round"]


def show_probe(console, driver):
    """What the driver found when it probed the ITS: ID widths, tables, the command ring."""
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


def show_priority_round(console, per_cpu, picks):
    """Print what each CPU took in the priority round; returns how many CPUs took their LPIs
    in another order (or another set) than priority order."""
    timed = any(record.cycle is not None for records in per_cpu for record in records)
    table = Table(title="Priority round: LPIs taken per CPU, in order",
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
