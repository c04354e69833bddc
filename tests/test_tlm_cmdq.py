"""The TLM's command fetch (sim/tlm/cmdq.py) alone, on a reference model's registers and
a MemoryTarget, against cycles worked out by hand from hw/its/cmdq.py and the memory's
documented timing: a fetch is offered the cycle after it can be, at most one every two
cycles and FETCH_DEPTH ahead of the executor; its four doublewords arrive from
latency + 3 cycles after it, one a cycle behind the previous fetch's; the executor sees
the command two cycles after its last doubleword."""

from gic.hw.its.layouts import GitsCbaser, GitsCtlr, GitsCwriter
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import REG
from gic.sim.models.commands import pack
from gic.sim.models.its import ItsModel
from gic.sim.models.memory import Memory
from gic.sim.tlm.cmdq import FETCH_DEPTH, CommandFetch
from gic.sim.tlm.kernel import Fifo, Kernel
from gic.sim.tlm.memory import MemoryTarget

LATENCY = 4
RING = 0x10_0000


def make(commands, *, enabled=True):
    kernel, memory = Kernel(), Memory()
    model = ItsModel(ItsParams(), memory, auto_execute=False)
    model.write(REG["GITS_CBASER"], pack(GitsCbaser, valid=1, pa=RING >> 12, size=0))
    model.write(REG["GITS_CWRITER"], pack(GitsCwriter, offset=commands))
    model.write(REG["GITS_CTLR"], pack(GitsCtlr, enabled=int(enabled)), 4)
    target = MemoryTarget(kernel, memory, latency=LATENCY, read_clients=3)
    fetch = CommandFetch(kernel, model, target)
    fifo = Fifo(kernel, None, name="cmd")
    fetch.cmd.bind(fifo)
    fetch.start()
    return kernel, fetch, fifo


def drain(fifo):
    items = []
    while (item := fifo.nb_get()) is not None:
        items.append(item)
    return items


def expected_ready(count):
    """Fetch n offered in cycle 1 + 2n; its first doubleword L + 3 later, or the cycle after
    the previous fetch's last; ready two cycles after its last."""
    ready, last = [], -1
    for n in range(count):
        first = max(1 + 2 * n + LATENCY + 3, last + 1)
        last = first + 3
        ready.append(last + 2)
    return ready


def test_fetches_run_ahead_by_fetch_depth_and_wait_for_the_executor():
    assert FETCH_DEPTH == 4
    kernel, fetch, fifo = make(6)
    kernel.run(until=200)
    fetched = drain(fifo)
    assert [item.slot for item in fetched] == [0, 1, 2, 3]
    assert [item.ready for item in fetched] == expected_ready(4) == [13, 17, 21, 25]
    assert not any(item.error for item in fetched)
    fetch.took(0, 300)          # a fifth may be fetched once the executor took the first
    kernel.run(until=400)
    fifth, = drain(fifo)
    # Offered in 302 (the cycle after 301, the first it can), granted at once.
    assert (fifth.slot, fifth.sequence) == (4, 4)
    assert fifth.ready == 302 + LATENCY + 3 + 3 + 2


def test_fetching_stops_at_cwriter_and_needs_the_its_enabled():
    kernel, fetch, fifo = make(2)
    kernel.run(until=200)
    assert [item.slot for item in drain(fifo)] == [0, 1]
    assert not fetch.fetchable()
    kernel, fetch, fifo = make(2, enabled=False)
    kernel.run(until=200)
    assert drain(fifo) == [] and not fetch.fetchable()
    assert fetch.ring_base == RING and fetch.ring_slots == 4096 // 32


def test_a_flush_refetches_from_creadr():
    kernel, fetch, fifo = make(3)
    kernel.run(until=200)
    assert len(drain(fifo)) == 3
    generation = fetch.generation
    fetch.flush()               # CREADR is still 0: fetch the three again
    fetch.registers_changed(kernel.now + 1, reread=False)
    kernel.run(until=400)
    again = drain(fifo)
    assert [item.slot for item in again] == [0, 1, 2]
    assert all(item.generation == generation + 1 for item in again)
