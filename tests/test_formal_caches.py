"""The formal proofs of the caches and the forwarder (docs/formal.md): each proof passes
and its mutant fails.

The proofs are those of ``gic.hw.its.tcache_formal`` and ``gic.hw.its.forwarder_formal``
as ``its formal`` runs them, with the bounded ones at a smaller depth (still deeper
than every mutant's counterexample) to keep this file to a few minutes.
"""

import dataclasses

import pytest

from gic.hw.its import forwarder_formal, tcache_formal
from gic.sim.tools.formal import PROOF_MODULES, run_proof

TEST_DEPTH = {"forwarder_order": 6, "forwarder_sync": 6, "forwarder_stream": 6}
"""Depths of the bounded proofs here (``its formal`` runs them at their own)."""

PROOFS = {proof.name: proof for proof in tcache_formal.PROOFS + forwarder_formal.PROOFS}


def _proof(name):
    proof = PROOFS[name]
    if name in TEST_DEPTH:
        proof = dataclasses.replace(proof, depth=TEST_DEPTH[name])
    return proof


def test_runner_lists_the_modules():
    assert "gic.hw.its.tcache_formal" in PROOF_MODULES
    assert "gic.hw.its.forwarder_formal" in PROOF_MODULES


def test_every_proof_has_a_mutant():
    assert sorted(PROOFS) == sorted(["tcache_inval", "tcache_no_stale_fill", "dcache_inval",
                                     "forwarder_order", "forwarder_sync", "forwarder_stream"])
    for proof in PROOFS.values():
        assert proof.mutant is not None, proof.name
        assert proof.description, proof.name


@pytest.mark.parametrize("name", sorted(PROOFS))
def test_proof_passes(name, tmp_path):
    result = run_proof(_proof(name), tmp_path)
    assert result.asserts > 0
    assert result.status == "PASS", f"{name}: {result.status}, logs in {result.folder}"


@pytest.mark.parametrize("name", sorted(PROOFS))
def test_mutant_fails(name, tmp_path):
    result = run_proof(_proof(name), tmp_path, mutant=True)
    assert result.status == "FAIL", f"{name} mutant: {result.status}, logs in {result.folder}"


def test_cross_input_order_needs_lpi_idle(tmp_path):
    """A command packet taken while a translated packet waits in the lpi FIFO may leave
    first: the order property holds across the inputs only with ``lpi_idle``."""
    proof = dataclasses.replace(PROOFS["forwarder_order"], name="forwarder_order_any_cross",
                                factory=forwarder_formal.forwarder_order_any_cross,
                                depth=TEST_DEPTH["forwarder_order"])
    result = run_proof(proof, tmp_path)
    assert result.status == "FAIL", f"{result.status}, logs in {result.folder}"
