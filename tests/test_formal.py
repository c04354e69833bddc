"""The formal proofs of the FIFO and the AXI bridges (docs/formal.md): each proof's mutant,
a deliberately broken block, must be rejected (FAIL), and a few of the real proofs pass.
The whole `make formal` runs in CI; these keep the infrastructure and the properties honest
(a property that cannot fail proves nothing). About a minute on one core."""

import pytest

from gic.hw.bus import axi, fifo
from gic.hw.formal import Proof
from gic.sim.tools.formal import PROOF_MODULES, all_proofs, run_proof, write_proof

PROOFS = fifo.PROOFS + axi.PROOFS


def test_every_proof_has_a_mutant_and_says_how_it_is_proven():
    assert {"gic.hw.bus.fifo", "gic.hw.bus.axi"} <= set(PROOF_MODULES)
    names = [proof.name for proof in all_proofs()]
    assert len(names) == len(set(names))
    for proof in PROOFS:
        assert proof.mutant is not None, proof.name
        doc = proof.description
        if proof.mode == "prove":
            assert "k-induction closes" in doc, proof.name
        else:
            assert "Bounded" in doc, proof.name


def test_write_proof_counts_the_asserts(tmp_path):
    folder, name, asserts = write_proof(fifo.PROOFS[0], tmp_path)
    assert name == "fifo_control" and asserts == 4
    sby = (folder / "fifo_control.sby").read_text()
    assert "mode prove" in sby and "depth 6" in sby and "read_rtlil fifo_control.il" in sby
    assert (folder / "fifo_control.il").read_text().count('\\FLAVOR "assume"') >= 1


def test_a_proof_needs_a_known_mode():
    with pytest.raises(ValueError, match="mode"):
        Proof("x", "x", lambda: None, mode="cover")


@pytest.mark.parametrize("proof", PROOFS, ids=lambda proof: proof.name)
def test_the_mutant_is_rejected(proof, tmp_path):
    result = run_proof(proof, tmp_path, mutant=True, timeout=300)
    assert result.status == "FAIL", (result, (result.folder / "sby.log").read_text()[-2000:])


@pytest.mark.parametrize("name", ["fifo_control", "fifo_order", "axi_master_writes",
                                  "axil_bridge_handshakes"])
def test_the_proof_passes(name, tmp_path):
    proof = next(proof for proof in PROOFS if proof.name == name)
    result = run_proof(proof, tmp_path, timeout=300)
    assert result.passed, (result, (result.folder / "sby.log").read_text()[-2000:])
    assert result.asserts > 0
