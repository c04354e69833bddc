"""The TLM's forwarder and redistributors (sim/tlm/forwarder.py) alone, against cycles
worked out by hand from hw/its/forwarder.py's rules: a packet put into the lpi FIFO in
cycle c competes from c + 1 and reaches its redistributor the cycle after it goes in; the
FIFO holds LPI_FIFO_DEPTH packets and lets one out a cycle; on a tie with the executor's
packet the two take turns, the translator first."""

from gic.hw.its.forwarder import LPI_FIFO_DEPTH
from gic.hw.its.layouts import GicOp
from gic.sim.models.its import Packet
from gic.sim.tlm.forwarder import Forwarder, Redistributor
from gic.sim.tlm.kernel import Kernel

ACK = 3


def make(count=2):
    kernel = Kernel()
    rds = [Redistributor(kernel, rd, ack_delay=ACK) for rd in range(count)]
    return Forwarder(kernel, rds), rds


def SET(lpi):
    return Packet(GicOp.SET, lpi)


def test_a_packet_reaches_its_redistributor_two_cycles_after_it_is_put():
    forwarder, rds = make()
    assert forwarder.put(1, 10, SET(8192)) == 10
    assert rds[1].packets == [SET(8192)] and rds[1].cycles == [12]
    assert rds[0].packets == []
    assert forwarder.lpi_drained() == 12         # it left the FIFO in cycle 11


def test_the_lpi_fifo_lets_one_out_a_cycle_and_holds_its_depth():
    assert LPI_FIFO_DEPTH == 2
    forwarder, rds = make()
    # Three packets for RD 0 and one for RD 1 handed over in cycle 10: the FIFO's head
    # leaves in 11, 12, 13, 14 (one a cycle, whatever the redistributor); the third goes
    # in once the first left (12), the fourth once the second did (13).
    ins = [forwarder.put(rd, 10, SET(8192 + n)) for n, rd in enumerate((0, 0, 0, 1))]
    assert ins == [10, 10, 12, 13]
    assert rds[0].cycles == [12, 13, 14] and rds[1].cycles == [15]
    assert rds[0].take() == [SET(8192), SET(8193), SET(8194)]
    assert rds[0].packets == [] and rds[0].cycles == []
    assert forwarder.lpi_drained() == 15


def test_ties_with_the_executor_alternate_and_syncs_are_acknowledged():
    forwarder, rds = make()
    sync = forwarder.offer(0, 20, Packet(GicOp.SYNC, 0))
    forwarder.put(0, 19, SET(8200))              # competes in 20 too: the translator wins
    assert rds[0].cycles == [21]
    assert not forwarder.settle(sync, 20)        # lost cycle 20, offers again in 21
    assert forwarder.settle(sync, 21)
    assert (sync.accepted, sync.ack) == (21, 22 + ACK)
    inv = forwarder.offer(0, 30, Packet(GicOp.INV, 8300))
    forwarder.put(0, 29, SET(8201))              # the next tie: the executor's turn
    assert inv.accepted == 30 and forwarder.settle(inv, 30)
    assert rds[0].cycles == [21, 22, 31, 32]
    assert [packet.op for packet in rds[0].packets] == [GicOp.SET, GicOp.SYNC, GicOp.INV,
                                                        GicOp.SET]


def test_a_lone_executor_packet_goes_in_its_cycle():
    forwarder, rds = make()
    clear = forwarder.offer(1, 40, Packet(GicOp.CLEAR, 8192))
    forwarder.put(1, 45, SET(8192))
    assert clear.accepted == 40 and rds[1].cycles == [41, 47]
    other = forwarder.offer(0, 50, Packet(GicOp.INVALL, 0))
    assert other.accepted is None
    assert forwarder.settle(other, 50) and other.accepted == 50 and rds[0].cycles == [51]


def test_a_redistributor_keeps_packets_in_cycle_order():
    kernel = Kernel()
    rd = Redistributor(kernel, 0, ack_delay=5)
    assert rd.receive(9, "late") == 14
    assert rd.receive(4, "early") == 9
    rd.receive(6, "middle")
    assert rd.packets == ["early", "middle", "late"] and rd.cycles == [4, 6, 9]
