"""The TLM's timing (gic.sim.tlm.timing.Timing): its validation, and its defaults against
what the RTL measures (gic.sim.tools.calibrate, a cheap part: a hit and DTE + ITE misses at
two memory latencies, and the RTL's depths). A change to the RTL's timing fails here, in
the test named for the field."""

import pytest

from gic.sim.tlm.its import TlmIts
from gic.sim.tlm.timing import FIELDS, Timing
from gic.sim.models.memory import Memory
from gic.sim.tools import calibrate
from gic.sim.tools.bench import BENCH_PARAMS

CHEAP_FIELDS = ("mem_read_cycles", "lookup_cycles", "decide_cycles", "walk_start_cycles",
                "walk_step_cycles", "walk_decide_cycles", "walker_free_cycles")
"""The fields the hit and miss micro-workloads identify."""


# -- validation ------------------------------------------------------------------------------

def test_defaults_are_documented():
    timing = Timing()
    for name in FIELDS:
        assert isinstance(getattr(timing, name), int)
        assert Timing.doc(name) and Timing.source(name), name
        assert f"{name} : int" in Timing.__doc__


@pytest.mark.parametrize("name", FIELDS)
def test_negative_values_are_refused(name):
    with pytest.raises(ValueError, match=f"Timing.{name} must be at least"):
        Timing(**{name: -1})


@pytest.mark.parametrize("value", [1.5, "2", True, None])
def test_non_integers_are_refused(value):
    with pytest.raises(TypeError, match="Timing.lookup_cycles must be an integer"):
        Timing(lookup_cycles=value)


def test_zero_is_refused_where_a_register_is_needed():
    with pytest.raises(ValueError, match="Timing.lpi_fifo_depth must be at least 1, not 0"):
        Timing(lpi_fifo_depth=0)
    assert Timing(walk_step_cycles=0).walk_step_cycles == 0


def test_strobe_before_the_end_of_the_access():
    with pytest.raises(ValueError, match="reg_write_strobe .5. must be below"):
        Timing(reg_write_strobe=5)


def test_unknown_fields_and_round_trip(tmp_path):
    with pytest.raises(ValueError, match="unknown Timing fields: nope"):
        Timing.from_dict({"nope": 1})
    timing = Timing(walk_step_cycles=2)
    assert Timing.from_dict(timing.as_dict()) == timing
    path = tmp_path / "timing.json"
    path.write_text('{"timing": {"queue_depth": 4}}')
    assert Timing.load(path) == Timing(queue_depth=4)


def test_tlm_takes_a_timing():
    memory = Memory()
    with pytest.raises(TypeError, match="timing must be a Timing"):
        TlmIts(BENCH_PARAMS, memory, timing={"lookup_cycles": 1})
    its = TlmIts(BENCH_PARAMS, memory, timing=Timing(lpi_fifo_depth=4))
    assert its.timing.lpi_fifo_depth == 4 and its.forwarder._lpi_depth == 4


def test_a_slower_walk_costs_what_it_says():
    """Each Timing field reaches the block it times: two reads a miss, one step each."""
    workloads = list(calibrate.micro_workloads(parts=("miss",)).values())
    base = calibrate.measure_tlm(workloads, Timing(), latencies=(4,))[4]
    slow = calibrate.measure_tlm(workloads, Timing(walk_step_cycles=3), latencies=(4,))[4]
    assert slow[("miss", "msi", 0)] == base[("miss", "msi", 0)] + 3   # DTE -> ITE
    assert slow[("miss", "msi", 2)] == base[("miss", "msi", 2)]       # ITE only


# -- the defaults against the RTL ---------------------------------------------------------------

def test_depths_are_the_rtls():
    from gic.hw.bus.mem import ADDR_BITS
    from gic.sim.tlm.memory import ADDR_BITS as TLM_ADDR_BITS
    assert TLM_ADDR_BITS == ADDR_BITS
    for name, value in calibrate.rtl_depths().items():
        assert Timing.default(name) == value, f"Timing.{name}: default {Timing.default(name)}, " \
                                              f"RTL {value}"


@pytest.fixture(scope="module")
def cheap_calibration():
    return calibrate.calibrate(parts=("hit", "miss"), fields=CHEAP_FIELDS)


@pytest.mark.parametrize("name", CHEAP_FIELDS)
def test_default_is_what_the_rtl_measures(cheap_calibration, name):
    measured = cheap_calibration.measured[name]
    assert measured is not None, f"Timing.{name} is not identified by the hit and miss runs"
    assert measured == Timing.default(name), \
        f"Timing.{name}: default {Timing.default(name)}, the RTL measures {measured}"


def test_fitted_timing_reproduces_the_rtl(cheap_calibration):
    assert cheap_calibration.figures >= 14
    assert cheap_calibration.error == 0
    assert cheap_calibration.mismatches() == {}


def test_write_json(cheap_calibration, tmp_path):
    import json
    path = calibrate.write_json(cheap_calibration, tmp_path / "bench" / "timing.json")
    document = json.loads(path.read_text())
    assert Timing.from_dict(document["timing"]) == cheap_calibration.timing
    assert document["fields"]["lookup_cycles"] == {"default": 1, "measured": 1, "how": "fit",
                                                   "match": True}
