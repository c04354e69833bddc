"""The board demo of ``its host``: where the tables go in the board's memory, and the
bring-up, MSIs and priority round run through the UART bridge.

The bridge itself (transports, :class:`gic.sim.driver.bridge.BridgeClient`,
:class:`gic.sim.driver.bridge.BoardItsBus`) is host software in :mod:`gic.sim.driver.bridge`;
this module is the scenario on top of it, as :mod:`gic.sim.tools.gicdemo` is for
``its demo``.
"""

from collections import Counter
from dataclasses import dataclass

from gic.hw.boards.bridge import PENDING_STRIDE, memory_windows
from gic.hw.gicr.layouts import PROPBASER_ALIGN
from gic.hw.its.params import ItsParams
from gic.sim.driver.bridge import BoardItsBus, BridgeError, ErrorRecords
from gic.sim.driver.gicr import pending_table_bytes, property_table_bytes
from gic.sim.driver.its import ItsDriver
from gic.sim.tools.gicdemo import (PRIORITY_ROUND_EVENTS, bring_up_redistributors, lpi_id_bits,
                                   pick_events, priority_round, scripted_priority, wait_taken)
from gic.sim.tools.scripted import scripted_collection, scripted_lpi

__all__ = ["DemoResult", "BoardMemory", "ITS_BYTES_MIN", "board_windows", "describe_memory",
           "board_memory", "board_demo"]


@dataclass(frozen=True)
class BoardMemory:
    """Where the board demo puts the tables in the board's memory.

    Members
    -------
    prop_base : int
        The LPI property table (4 KiB aligned).
    pend_bases : list of int
        Each redistributor's pending table (64 KiB aligned, as GICR_PENDBASER needs).
    its_base, its_bytes : int
        What is left for the ITS driver's ring and tables.
    """
    prop_base: int
    pend_bases: list
    its_base: int
    its_bytes: int


ITS_BYTES_MIN = 32 * 1024
"""Memory the ITS driver needs at least for the board demo (ring, device table, ITTs)."""


def _kib(size):
    return f"{size / 1024:g} KiB"


def board_windows(info):
    """The windows of the board's memory (its INFO): ``(first byte, bytes)``, by address."""
    return [(info["mem_base"] + offset, size)
            for offset, size in memory_windows(mem_bytes=info["mem_bytes"],
                                               pending_window=info["pending_window"],
                                               redistributors=info["num_redistributors"])]


def describe_memory(info):
    """The board's memory (its INFO) in a few words."""
    windows = board_windows(info)
    text = f"{_kib(sum(size for _, size in windows))} of memory at {info['mem_base']:#x}"
    if len(windows) > 1:
        text += (f" ({_kib(info['mem_bytes'])}, then {len(windows) - 1} pending windows of "
                 f"{_kib(info['pending_window'])}, {_kib(PENDING_STRIDE)} apart)")
    return text


def _main_window_layout(main_bytes, cpus, pend_bytes, prop_bytes):
    """``(prop offset, ITS offset, ITS bytes)`` in a main window of ``main_bytes``, or None.

    The pending tables whose place (``n * PENDING_STRIDE``) is in the window are there; the
    property table goes in the first 4 KiB aligned gap after pending table 0 that holds it;
    the ITS gets the largest gap left (the first of equal ones).
    """
    def align(value):
        return -(-value // PROPBASER_ALIGN) * PROPBASER_ALIGN

    tables = [(n * PENDING_STRIDE, n * PENDING_STRIDE + pend_bytes) for n in range(cpus)
              if n * PENDING_STRIDE < main_bytes]
    if tables[-1][1] > main_bytes:
        return None
    gaps = [[align(end), start] for (_, end), (start, _) in
            zip(tables, tables[1:] + [(main_bytes, None)])]
    prop_gap = next((gap for gap in gaps if gap[1] - gap[0] >= prop_bytes), None)
    if prop_gap is None:
        return None
    prop = prop_gap[0]
    prop_gap[0] = align(prop + prop_bytes)
    its, end = max(gaps, key=lambda gap: (gap[1] - gap[0], -gap[0]))
    return (prop, its, end - its) if end - its >= ITS_BYTES_MIN else None


def board_memory(info, id_bits):
    """The :class:`BoardMemory` of a board (its INFO) for LPIs of ``id_bits`` INTID bits.

    Redistributor ``n``'s pending table at ``mem_base + n * 64 KiB``: pending table 0 in
    the main window, the others in their pending windows (or in the main window, when it
    reaches that far); the property table after pending table 0 (4 KiB aligned), the ITS
    driver's ring and tables after it, in the rest of the main window
    (``docs/host-protocol.md``).

    Raises
    ------
    BridgeError
        When the board's memory cannot hold them; the message names the bitstream option
        that makes it fit.
    """
    base, main, window = info["mem_base"], info["mem_bytes"], info["pending_window"]
    cpus = info["num_redistributors"]
    pend, prop = pending_table_bytes(id_bits), property_table_bytes(id_bits)
    if base % PENDING_STRIDE:
        raise BridgeError(f"the board's memory starts at {base:#x}, not on a 64 KiB boundary: "
                          f"it can hold no pending table (GICR_PENDBASER)")
    if pend > PENDING_STRIDE:
        raise BridgeError(f"LPIs of {id_bits} INTID bits need {_kib(pend)} pending tables, "
                          f"more than the {_kib(PENDING_STRIDE)} between two redistributors' "
                          f"pending tables: use fewer LPIs")
    if any(n * PENDING_STRIDE >= main for n in range(1, cpus)) and pend > window:
        need = max(4096, 1 << (pend - 1).bit_length())
        raise BridgeError(f"the board's {_kib(window)} pending windows cannot hold the "
                          f"{_kib(pend)} pending tables of LPIs of {id_bits} INTID bits: build "
                          f"the bitstream with --pending-kib {need // 1024}")
    layout = _main_window_layout(main, cpus, pend, prop)
    if layout is None:
        need = next((size for size in (main << shift for shift in range(1, 13))
                     if size <= 1 << 24 and _main_window_layout(size, cpus, pend, prop)), None)
        fix = ("use fewer LPIs" if need is None else
               f"build the bitstream with --mem-kib {need // 1024}")
        raise BridgeError(f"the board's {_kib(main)} main memory window cannot hold pending "
                          f"table 0 ({_kib(pend)}), the property table ({_kib(prop)}) and "
                          f"{_kib(ITS_BYTES_MIN)} for the ITS's ring and tables: {fix}")
    prop_offset, its_offset, its_bytes = layout
    return BoardMemory(base + prop_offset, [base + n * PENDING_STRIDE for n in range(cpus)],
                       base + its_offset, its_bytes)


@dataclass
class DemoResult:
    """What the board demo did and saw.

    Members
    -------
    info : dict
        The board's INFO.
    driver : gic.sim.driver.its.ItsDriver
        After bring-up and mapping.
    memory : BoardMemory
    expected : dict
        (cpu, lpi) -> how many times each CPU should have taken each LPI in the first round.
    taken : list of Taken
        What the CPUs took in the first round (one MSI per event, CPUs unmasked).
    strays : list of (int, int)
        MSIs sent that the ITS must drop.
    drop : gic.sim.driver.its.MsiDropRecord or None
        GITS_ERR_MSI after the first round.
    picks : list of (device_id, event_id, cpu, lpi)
        The MSIs of the priority round.
    rounds : list of list of Taken
        Per CPU, what it took in the priority round, in order.
    stats : dict
        GITS_STAT_* counters.
    errors : ErrorRecords
    """
    info: dict
    driver: object
    memory: BoardMemory
    expected: dict
    taken: list
    strays: list
    drop: object
    picks: list
    rounds: list
    stats: dict
    errors: ErrorRecords

    @property
    def mismatches(self):
        """(cpu, lpi, expected count, taken count) where they differ in the first round."""
        got = Counter((record.cpu, record.intid) for record in self.taken)
        keys = sorted(set(got) | set(self.expected))
        return [(cpu, lpi, self.expected.get((cpu, lpi), 0), got[cpu, lpi]) for cpu, lpi in keys
                if self.expected.get((cpu, lpi), 0) != got[cpu, lpi]]

    @property
    def out_of_order(self):
        """The CPUs that did not take the priority round's LPIs in priority order (highest
        priority, i.e. lowest value, first; then lowest INTID)."""
        return [cpu for cpu, records in enumerate(self.rounds)
                if [(r.priority, r.intid) for r in records] !=
                sorted((scripted_priority(lpi), lpi) for _, _, c, lpi in self.picks if c == cpu)]


async def board_demo(client, *, devices=2, events=8, echo=lambda line: None):
    """Bring up the board's GIC with the Linux-style drivers, map, fire MSIs, see them taken.

    The redistributors get a property table (LPI ``l`` enabled at
    :func:`gic.sim.tools.gicdemo.scripted_priority`), pending tables and EnableLPIs. Device ``d``
    event ``e`` becomes LPI ``8192 + d * events + e`` on collection ``(d + e) mod CPUs``
    (as ``its demo``). First round, CPUs unmasked: every event gets one MSI (every other
    one written to GITS_TRANSLATER with the DeviceID sideband, the others on the MSI
    stream), plus one from an unmapped device and one beyond a device's EventIDs, which
    the ITS must drop; each CPU must take each of its LPIs once. Priority round
    (:func:`gic.sim.tools.gicdemo.priority_round`): CPUs masked, a few MSIs per CPU, unmasked: each
    CPU must take them in priority order.

    Raises
    ------
    BridgeError
        The board does not answer, carries a stand-in instead of the ITS, or has too
        little memory.
    gic.sim.driver.its.ItsError, gic.sim.driver.gicr.RedistributorTimeout
        The drivers could not bring the GIC up.
    """

    info = await client.info()
    if info["stand_in"]:
        raise BridgeError("the board carries a stand-in, not the ITS (a tool-flow trial "
                          "bitstream): build and load the ITS with `its bitstream` and "
                          "`its program`")
    cpus = info["num_redistributors"]
    lpis = [scripted_lpi(d, e, events) for d in range(devices) for e in range(events)]
    id_bits = lpi_id_bits(max(lpis), ItsParams())
    memory = board_memory(info, id_bits)
    bus = BoardItsBus(client)
    await bus.mask_cpus(0)
    echo(f"{cpus} redistributors: property table at {memory.prop_base:#x}, pending tables at "
         + ", ".join(f"{base:#x}" for base in memory.pend_bases) + ", EnableLPIs")
    await bring_up_redistributors(bus, cpus=cpus, prop_base=memory.prop_base,
                                  pend_bases=memory.pend_bases, id_bits=id_bits, lpis=lpis)
    driver = ItsDriver(bus, mem_base=memory.its_base, mem_size=memory.its_bytes,
                       page_size=4096, ring_bytes=4096, collections=cpus)
    echo(f"probing the ITS ({memory.its_bytes // 1024} KiB of board memory at "
         f"{memory.its_base:#x} for its ring and tables)")
    await driver.probe()
    await driver.init_cpus(cpus)
    event_bits = max(1, (events - 1).bit_length())
    echo(f"mapping {devices} devices x {events} events")
    for device_id in range(devices):
        await driver.map_device(device_id, event_bits)
        for event_id in range(events):
            await driver.map_event(device_id, event_id, scripted_lpi(device_id, event_id, events),
                                   scripted_collection(device_id, event_id, cpus))
    await driver.clear_errors()
    await bus.take_interrupts()
    expected = {}
    echo(f"sending {devices * events} MSIs (every other one as a GITS_TRANSLATER write) "
         f"and 2 strays, CPUs unmasked")
    for device_id in range(devices):
        for event_id in range(events):
            if (device_id + event_id) % 2:
                await client.translate(device_id, event_id)
            else:
                await bus.msi(device_id, event_id)
            key = (scripted_collection(device_id, event_id, cpus),
                   scripted_lpi(device_id, event_id, events))
            expected[key] = expected.get(key, 0) + 1
    strays = [(devices, 0), (0, 1 << event_bits)]
    for device_id, event_id in strays:
        await bus.msi(device_id, event_id)
    drop = await driver.read_msi_error()
    taken = await wait_taken(bus, sum(expected.values()), polls=20)
    picks = pick_events(driver, cpus, PRIORITY_ROUND_EVENTS)
    echo(f"priority round: CPUs masked, {len(picks)} MSIs (highest INTID first), CPUs unmasked")
    rounds = await priority_round(bus, driver, picks, cpus=cpus, translater=client.translate)
    stats = await driver.stats()
    return DemoResult(info=info, driver=driver, memory=memory, expected=expected, taken=taken,
                      strays=strays, drop=drop, picks=picks, rounds=rounds, stats=stats,
                      errors=await client.errors())
