"""ItsParams validation: every parameter's message, with the value it refused."""

import dataclasses

import pytest

from gic.hw.its.params import ItsParams


@pytest.mark.parametrize("name,value,message", [
    ("device_bits", 0, r"device_bits must be an integer in 1\.\.20, not 0"),
    ("device_bits", 21, r"device_bits must be an integer in 1\.\.20, not 21"),
    ("device_bits", "8", r"device_bits must be an integer in 1\.\.20, not '8'"),
    ("event_bits", 0, r"event_bits must be an integer in 1\.\.20, not 0"),
    ("id_bits", 13, r"id_bits must be an integer in 14\.\.16 \(LPIs start at INTID 8192"),
    ("id_bits", 17, r"id_bits must be an integer in 14\.\.16"),
    ("collection_bits", 0, r"collection_bits must be an integer in 1\.\.16, not 0"),
    ("hcc", 256, r"hcc must be an integer in 0\.\.255"),
    ("hcc", -1, r"hcc must be an integer in 0\.\.255"),
    ("num_redistributors", 0, r"num_redistributors must be an integer in 1\.\.64, not 0"),
    ("num_redistributors", 65, r"num_redistributors must be an integer in 1\.\.64, not 65"),
    ("tcache_entries", 0, r"tcache_entries must be an integer in 1\.\.256, not 0"),
    ("tcache_entries", 12, r"tcache_entries must be a power of two in 1\.\.256, not 12"),
    ("dcache_entries", 3, r"dcache_entries must be a power of two in 1\.\.64, not 3"),
    ("error_policy", "ignore", r"error_policy must be one of skip, stall, not 'ignore'"),
    ("mem_data_width", 32, r"mem_data_width must be 64, 128 or 256, not 32"),
    ("device_bits", True, r"device_bits must be an integer"),
])
def test_bad_parameter_message(name, value, message):
    with pytest.raises(ValueError, match=message):
        ItsParams(**{name: value})


def test_hcc_bounded_by_collection_bits():
    with pytest.raises(ValueError, match=r"hcc must be an integer in 0\.\.4 .*collection_bits"):
        ItsParams(collection_bits=2, hcc=5)
    assert ItsParams(collection_bits=2, hcc=4).hcc == 4


def test_defaults_valid_and_frozen():
    p = ItsParams()
    assert (p.device_bits, p.event_bits, p.id_bits, p.error_policy) == (16, 16, 16, "skip")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.hcc = 3


def test_derived_values():
    p = ItsParams(num_redistributors=5, collection_bits=10)
    assert p.rd_bits == 3
    assert p.num_collections == 1024
    assert ItsParams(num_redistributors=1).rd_bits == 1
    assert ItsParams.names()[:3] == ["device_bits", "event_bits", "id_bits"]
