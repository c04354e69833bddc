"""Comparing redistributor packet streams across decision orders.

The reference model decides every MSI when it is accepted; the RTL and the TLM in
decision order (docs/behaviour.md, "Ordering": a hit may overtake an earlier miss).
So per redistributor, the command packets must come in the model's order and, between
two of them, the same SETs of MSIs in any order.
"""

import collections

from gic.sim.driver.bus import ModelBus

__all__ = ["MsiMarkingBus", "compare_packets"]


class MsiMarkingBus(ModelBus):
    """A :class:`ModelBus` that notes which of each redistributor's packets an MSI sent.

    Members
    -------
    msi_packets : list of set of int
        Per redistributor, the indices (in all its packets) of the MSIs' SETs.
    """

    def __init__(self, model, memory=None):
        super().__init__(model, memory)
        self.msi_packets = [set() for _ in model.packets]
        self._sent = [0] * len(model.packets)

    async def msi(self, device_id, event_id):
        before = [len(queue) for queue in self.model.packets]
        await super().msi(device_id, event_id)
        for rd, queue in enumerate(self.model.packets):
            self.msi_packets[rd].update(range(self._sent[rd] + before[rd],
                                              self._sent[rd] + len(queue)))

    async def take_packets(self, rd):
        packets = await super().take_packets(rd)
        self._sent[rd] += len(packets)
        return packets


def segments(packets, msi_indices):
    """``packets`` as [(Counter of the MSIs' SETs, the command packet after them or None)]."""
    result, sets = [], collections.Counter()
    for index, packet in enumerate(packets):
        if index in msi_indices:
            sets[packet] += 1
        else:
            result.append((sets, packet))
            sets = collections.Counter()
    result.append((sets, None))
    return result


def compare_packets(rd, want, msi_indices, got):
    """``got`` has ``want``'s command packets in order and, between two of them, the same
    MSI SETs in any order."""
    position = 0
    for index, (sets, command) in enumerate(segments(want, msi_indices)):
        count = sum(sets.values())
        between = collections.Counter(got[position:position + count])
        assert between == sets, (f"redistributor {rd}, MSI SETs before command packet {index} "
                                 f"(from packet {position}): RTL {sorted(between.items())}, "
                                 f"model {sorted(sets.items())}")
        position += count
        if command is not None:
            assert position < len(got) and got[position] == command, \
                f"redistributor {rd}, packet {position}: RTL " \
                f"{got[position] if position < len(got) else 'nothing'}, model {command}"
            position += 1
    assert position == len(got), f"redistributor {rd}: {len(got) - position} packets too many"
