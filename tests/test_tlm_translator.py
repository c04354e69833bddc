"""The TLM's translator (sim/tlm/translator.py) alone, with a real forwarder and stand-ins
for the reference model: hits from a pre-filled translation cache and MSIs while the ITS
is disabled, against hw/its/translator.py's documented timing (one MSI accepted a cycle,
a hit's or a DISABLED drop's outcome leaving two cycles after its acceptance, in order).
Misses and walks are exercised with the RTL itself in tests/test_tlm.py."""

from types import SimpleNamespace

from gic.hw.its.layouts import DropReason, GicOp
from gic.hw.its.params import ItsParams
from gic.sim.models.its import Packet
from gic.sim.tlm.forwarder import Forwarder, Redistributor
from gic.sim.tlm.kernel import Fifo, Kernel
from gic.sim.tlm.translator import MsiOutcome, Translator, _Item

PARAMS = ItsParams(device_bits=8, event_bits=8, id_bits=14, collection_bits=8, hcc=2,
                   num_redistributors=2, tcache_entries=8, dcache_entries=2)


class Model:
    """The reference model's part the translator uses: counters, and drops to record."""

    def __init__(self, answer=None):
        self.stats = {"TCACHE_HIT": 0, "TCACHE_MISS": 0, "MSI_TRANSLATED": 0}
        self.dropped = []
        self.answer = answer

    def msi(self, device_id, event_id):
        self.dropped.append((device_id, event_id))
        return SimpleNamespace(status=self.answer or DropReason.DISABLED)


def make(model, *, enabled):
    kernel = Kernel()
    rds = [Redistributor(kernel, rd, ack_delay=3) for rd in range(PARAMS.num_redistributors)]
    forwarder = Forwarder(kernel, rds)
    mismatches = []
    translator = Translator(kernel, PARAMS, model, None, None, forwarder, mismatches)
    translator.msi.bind(Fifo(kernel, None, name="msi"))
    translator.set_enabled(0, enabled)
    translator.start()
    return kernel, translator, rds, mismatches


def offer(translator, msis, cycle):
    for device_id, event_id in msis:
        translator.msi.channel.nb_put(_Item(cycle, device_id, event_id))


def test_hits_are_accepted_one_a_cycle_and_leave_two_cycles_later():
    model = Model()
    kernel, translator, rds, mismatches = make(model, enabled=True)
    translations = {(0, 1): (8193, 1), (0, 2): (8194, 0), (3, 7): (9000, 1)}
    for key, value in translations.items():
        translator.tcache.reserved = True
        translator.tcache.fill(key, value)
    msis = [(0, 1), (3, 7), (0, 2), (0, 1), (3, 7)]
    offer(translator, msis, 10)
    kernel.run(until=100)
    assert translator.outcomes == [MsiOutcome(10, 10 + n, 12 + n, DropReason.OK, True)
                                   for n in range(len(msis))]
    assert translator.walks == 0 and not mismatches and model.dropped == []
    assert model.stats == {"TCACHE_HIT": 5, "TCACHE_MISS": 0, "MSI_TRANSLATED": 5}
    for rd in range(2):
        want = [Packet(GicOp.SET, translations[key][0]) for key in msis
                if translations[key][1] == rd]
        assert rds[rd].packets == want
    # Each SET goes into the lpi FIFO as it leaves and into its redistributor's FIFO the
    # cycle after; the redistributor has it the cycle after that.
    assert sorted(rds[0].cycles + rds[1].cycles) == [14 + n for n in range(len(msis))]
    assert not translator.busy(kernel.now)


def test_msis_while_disabled_are_dropped_in_order_and_recorded():
    model = Model()
    kernel, translator, rds, mismatches = make(model, enabled=False)
    offer(translator, [(1, 1), (2, 2)], 5)
    offer(translator, [(3, 3)], 20)
    kernel.run(until=100)
    assert translator.outcomes == [
        MsiOutcome(5, 5, 7, DropReason.DISABLED, False),
        MsiOutcome(5, 6, 8, DropReason.DISABLED, False),
        MsiOutcome(20, 20, 22, DropReason.DISABLED, False)]
    assert model.dropped == [(1, 1), (2, 2), (3, 3)] and not mismatches
    assert model.stats == {"TCACHE_HIT": 0, "TCACHE_MISS": 0, "MSI_TRANSLATED": 0}
    assert rds[0].packets == rds[1].packets == []


def test_a_drop_the_reference_model_disagrees_with_is_a_mismatch():
    model = Model(answer=DropReason.UNMAPPED_DEVICE)
    kernel, translator, rds, mismatches = make(model, enabled=False)
    offer(translator, [(4, 0)], 0)
    kernel.run(until=50)
    assert mismatches == ["MSI (4, 0): TLM DISABLED, model UNMAPPED_DEVICE"]


def test_a_hold_delays_acceptance_until_its_release():
    model = Model()
    kernel, translator, rds, mismatches = make(model, enabled=False)
    translator.hold(3)
    offer(translator, [(1, 0), (1, 1)], 5)

    def executor():
        yield kernel.at(30)
        translator.release(40)
    kernel.process(executor())
    kernel.run(until=100)
    assert [outcome.accept for outcome in translator.outcomes] == [40, 41]
    assert [outcome.out for outcome in translator.outcomes] == [42, 43]
