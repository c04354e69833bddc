"""Seeded workloads shared by the RTL and TLM benchmarks (``its bench``) and the TLM tests.

A :class:`Workload` is data: what to map during set-up (devices, events, collections),
MSIs to send before the measurement (``warmup``), then the measured phase: MSIs, each
offered from a cycle on (it waits while the ITS is not ready, so offers at cycle 0 are
back to back), and command batches posted at given cycles (written to the ring, then
one ``GITS_CWRITER`` write). Cycles count from the start of the measured phase. The
same seed gives the same workload, so the RTL and the TLM see the same traffic.

The generators (one per traffic pattern, :data:`WORKLOADS`):

* :func:`hit_storm`: back-to-back MSIs to a few events that stay in the translation cache.
* :func:`cold_misses`: every MSI to a new event, devices in random order: each walks.
* :func:`round_robin`: NIC / NVMe queues: devices x queue vectors visited in turn.
* :func:`zipf`: events drawn from a Zipf law, some collections in memory.
* :func:`remaps`: traffic while MOVI and MAPTI change the mappings under it.
* :func:`command_stream`: batches of MAPTI, INT and SYNC commands.

Each takes the :class:`~gic.hw.its.params.ItsParams` (to stay inside its ID widths), a
``seed`` and a ``scale`` (how many MSIs or commands: short for the RTL, long for the
TLM's design-space study).
"""

import math
import random
from dataclasses import dataclass

from gic.hw.its.layouts import LPI_BASE, Cmd

__all__ = ["Msi", "Post", "Workload", "WORKLOADS", "hit_storm", "cold_misses", "round_robin",
           "zipf", "remaps", "command_stream", "make"]


@dataclass(frozen=True)
class Msi:
    """An MSI offered from ``cycle`` on (``cycle`` 0: at the start of the phase)."""
    cycle: int
    device_id: int
    event_id: int


@dataclass(frozen=True)
class Post:
    """Commands written to the ring and posted by one GITS_CWRITER write at ``cycle``.

    ``commands`` holds ``(Cmd, fields)`` pairs as :func:`gic.sim.models.commands.encode_command`
    takes them.
    """
    cycle: int
    commands: tuple


@dataclass(frozen=True)
class Workload:
    """A benchmark scenario.

    Members
    -------
    name : str
    description : str
    seed : int
    devices : tuple of (int, int)
        ``(device_id, event_bits)``: MAPD with an ITT of ``2**event_bits`` events.
    collections : tuple of (int, int)
        ``(icid, rd)`` mapped with MAPC after the per-CPU collections ``c -> c``.
    mappings : tuple of (int, int, int, int)
        ``(device_id, event_id, pintid, icid)`` mapped with MAPTI during set-up.
    warmup : tuple of Msi
        Sent (and drained) before the measurement; their cycles are ignored.
    msis : tuple of Msi
        The measured MSIs, in offer order (cycles non-decreasing).
    posts : tuple of Post
        The measured command batches, in cycle order.
    """
    name: str
    description: str
    seed: int
    devices: tuple
    collections: tuple = ()
    mappings: tuple = ()
    warmup: tuple = ()
    msis: tuple = ()
    posts: tuple = ()

    @property
    def commands(self):
        """Number of measured commands."""
        return sum(len(post.commands) for post in self.posts)

    def lpi_of(self, device_id, event_id):
        """The LPI the set-up maps (device_id, event_id) to, or None."""
        for device, event, pintid, _ in self.mappings:
            if (device, event) == (device_id, event_id):
                return pintid
        return None


def _lpis(params):
    """Every LPI of ``params``, in order."""
    return range(LPI_BASE, 1 << params.id_bits)


def _bits(count):
    return max(1, (count - 1).bit_length())


def _arrivals(rng, count, mean_gap):
    """``count`` arrival cycles, geometric gaps of mean ``mean_gap`` (0: all at cycle 0)."""
    cycles, cycle = [], 0
    for _ in range(count):
        cycles.append(cycle)
        if mean_gap:
            # A geometric gap of mean mean_gap: a Bernoulli trial per cycle.
            cycle += 1 + int(math.log(1.0 - rng.random()) / math.log(1.0 - 1.0 / mean_gap)) \
                if mean_gap > 1 else 1
    return cycles


def _map(params, pairs, rng, icids):
    """MAPTI rows for ``pairs`` (device, event): distinct LPIs, ICIDs from ``icids``."""
    lpis = list(_lpis(params))
    chosen = rng.sample(lpis, len(pairs))
    return tuple((device, event, lpi, rng.choice(icids))
                 for (device, event), lpi in zip(pairs, chosen))


def _check_fits(params, name, devices, events):
    if devices > 1 << params.device_bits or events > 1 << params.event_bits:
        raise ValueError(f"workload {name} needs {devices} devices of {events} events; "
                         f"device_bits={params.device_bits}, event_bits={params.event_bits} "
                         f"are too small")


def _shuffled_pairs(params, name, rng, devices, count):
    """At least ``count`` ``(device, event)`` pairs, spread evenly over ``devices`` devices, in
    random order; and the events a device needs."""
    per_device = -(-count // devices)
    _check_fits(params, name, devices, per_device)
    pairs = [(device, event) for device in range(devices) for event in range(per_device)]
    rng.shuffle(pairs)
    return pairs, per_device


def hit_storm(params, *, seed=1, scale=600):
    """``scale`` back-to-back MSIs to a few events, every one a translation-cache hit."""
    rng = random.Random(seed)
    events = max(1, min(8, params.tcache_entries))
    _check_fits(params, "hit_storm", 1, events)
    pairs = [(0, event) for event in range(events)]
    return Workload(
        name="hit_storm",
        description=f"{scale} back-to-back MSIs to {events} events kept in the translation cache",
        seed=seed, devices=((0, _bits(events)),),
        mappings=_map(params, pairs, rng, range(params.num_redistributors)),
        warmup=tuple(Msi(0, d, e) for d, e in pairs),
        msis=tuple(Msi(0, *rng.choice(pairs)) for _ in range(scale)))


def cold_misses(params, *, seed=2, scale=150):
    """``scale`` back-to-back MSIs, each to an event never seen before; 6 devices in random
    order, so the device cache misses too when it holds fewer."""
    rng = random.Random(seed)
    devices = 6
    pairs, per_device = _shuffled_pairs(params, "cold_misses", rng, devices, scale)
    pairs = pairs[:scale]
    return Workload(
        name="cold_misses",
        description=f"{scale} back-to-back MSIs, each to a new event of one of {devices} "
                    f"devices: every one walks the tables",
        seed=seed, devices=tuple((device, _bits(per_device)) for device in range(devices)),
        mappings=_map(params, pairs, rng, range(params.num_redistributors)),
        msis=tuple(Msi(0, d, e) for d, e in pairs))


def round_robin(params, *, seed=3, scale=400, devices=4, queues=6, gap=3):
    """NIC / NVMe completion queues: ``devices`` x ``queues`` vectors fire in turn, one MSI
    every ``gap`` cycles. With more vectors than translation-cache entries, FIFO
    replacement evicts each vector just before it comes back."""
    rng = random.Random(seed)
    _check_fits(params, "round_robin", devices, queues)
    pairs = [(device, queue) for queue in range(queues) for device in range(devices)]
    msis = tuple(Msi(gap * n, *pairs[n % len(pairs)]) for n in range(scale))
    return Workload(
        name="round_robin",
        description=f"{devices} devices x {queues} queue vectors in round robin, one MSI "
                    f"every {gap} cycles",
        seed=seed, devices=tuple((device, _bits(queues)) for device in range(devices)),
        mappings=_map(params, pairs, rng, range(params.num_redistributors)),
        warmup=tuple(Msi(0, d, e) for d, e in pairs),
        msis=msis)


def zipf(params, *, seed=4, scale=500, pairs_count=64, exponent=1.1, mean_gap=2):
    """Events drawn from a Zipf law (exponent ``exponent``) over ``pairs_count`` events of 4
    devices, arrivals of mean gap ``mean_gap``; a quarter of the events use collections
    held in memory (a miss then reads the CTE too)."""
    rng = random.Random(seed)
    devices = 4
    pairs, per_device = _shuffled_pairs(params, "zipf", rng, devices, pairs_count)
    weights = [1.0 / (rank + 1) ** exponent for rank in range(len(pairs))]
    on_chip = list(range(min(params.hcc, params.num_redistributors)))
    in_memory = [params.hcc + rd for rd in range(params.num_redistributors)
                 if params.hcc + rd < params.num_collections]
    collections = tuple((icid, icid - params.hcc) for icid in in_memory)
    mappings = []
    lpis = rng.sample(list(_lpis(params)), len(pairs))
    for index, ((device, event), lpi) in enumerate(zip(pairs, lpis)):
        icids = in_memory if in_memory and index % 4 == 3 else on_chip or in_memory
        mappings.append((device, event, lpi, rng.choice(icids)))
    cycles = _arrivals(rng, scale, mean_gap)
    drawn = rng.choices(pairs, weights, k=scale)
    return Workload(
        name="zipf",
        description=f"Zipf({exponent}) over {len(pairs)} events of {devices} devices, mean gap "
                    f"{mean_gap} cycles, a quarter of them on collections in memory",
        seed=seed, devices=tuple((device, _bits(per_device)) for device in range(devices)),
        collections=collections, mappings=tuple(mappings),
        msis=tuple(Msi(cycle, d, e) for cycle, (d, e) in zip(cycles, drawn)))


def remaps(params, *, seed=5, scale=400, mean_gap=3, every=120):
    """Traffic on 16 events of 2 devices (mean gap ``mean_gap``) while, every ``every``
    cycles, a MOVI moves one event to another collection and a MAPTI maps another to a new
    LPI, both followed by a SYNC, as Linux does when it changes an affinity."""
    rng = random.Random(seed)
    devices, per_device = 2, 8
    _check_fits(params, "remaps", devices, per_device)
    pairs = [(device, event) for device in range(devices) for event in range(per_device)]
    cpus = params.num_redistributors
    mappings = _map(params, pairs, rng, range(cpus))
    spare = [lpi for lpi in _lpis(params) if lpi not in {m[2] for m in mappings}]
    cycles = _arrivals(rng, scale, mean_gap)
    msis = tuple(Msi(cycle, *rng.choice(pairs)) for cycle in cycles)
    posts = []
    for when in range(every // 2, cycles[-1] if cycles else 0, every):
        moved, remapped = rng.sample(pairs, 2)
        new_rd = rng.randrange(cpus)
        posts.append(Post(when, (
            (Cmd.MOVI, dict(device_id=moved[0], event_id=moved[1], icid=new_rd)),
            (Cmd.SYNC, dict(rdbase=new_rd)),
            (Cmd.MAPTI, dict(device_id=remapped[0], event_id=remapped[1],
                             pintid=spare.pop(rng.randrange(len(spare))), icid=new_rd)),
            (Cmd.SYNC, dict(rdbase=new_rd)),
        )))
    return Workload(
        name="remaps",
        description=f"MSIs on {len(pairs)} events (mean gap {mean_gap}) while MOVI + MAPTI "
                    f"(each with a SYNC) remap events every {every} cycles",
        seed=seed, devices=tuple((device, _bits(per_device)) for device in range(devices)),
        mappings=mappings, warmup=tuple(Msi(0, d, e) for d, e in pairs),
        msis=msis, posts=tuple(posts))


def command_stream(params, *, seed=6, scale=48, batch=16, every=60):
    """``scale`` MAPTIs then ``scale`` INTs, with a SYNC after every 8 commands, posted in
    batches of ``batch`` commands every ``every`` cycles."""
    rng = random.Random(seed)
    _check_fits(params, "command_stream", 1, scale)
    cpus = params.num_redistributors
    lpis = rng.sample(list(_lpis(params)), scale)
    commands = []
    icids = [rng.randrange(cpus) for _ in range(scale)]
    for event in range(scale):
        commands.append((Cmd.MAPTI, dict(device_id=0, event_id=event, pintid=lpis[event],
                                         icid=icids[event])))
    for event in rng.sample(range(scale), scale):
        commands.append((Cmd.INT, dict(device_id=0, event_id=event)))
    with_syncs = []
    for index, command in enumerate(commands):
        with_syncs.append(command)
        if index % 8 == 7:
            with_syncs.append((Cmd.SYNC, dict(rdbase=rng.randrange(cpus))))
    posts = tuple(Post(every * n, tuple(with_syncs[start:start + batch]))
                  for n, start in enumerate(range(0, len(with_syncs), batch)))
    return Workload(
        name="command_stream",
        description=f"{scale} MAPTI then {scale} INT, a SYNC every 8, posted {batch} at a time "
                    f"every {every} cycles",
        seed=seed, devices=((0, _bits(scale)),), posts=posts)


WORKLOADS = {
    "hit_storm": hit_storm,
    "cold_misses": cold_misses,
    "round_robin": round_robin,
    "zipf": zipf,
    "remaps": remaps,
    "command_stream": command_stream,
}
"""Every workload generator, by name."""


def make(name, params, *, seed=None, scale=None, **options):
    """The workload ``name`` for ``params``, with its default seed and scale unless given.

    Raises
    ------
    ValueError
        For an unknown name, or a workload that does not fit ``params``.
    """
    if name not in WORKLOADS:
        raise ValueError(f"unknown workload {name!r}; workloads: {', '.join(WORKLOADS)}")
    if seed is not None:
        options["seed"] = seed
    if scale is not None:
        options["scale"] = scale
    return WORKLOADS[name](params, **options)
