"""The forwarder (``its/forwarder.py``) and the redistributors at the far end of its
GIC streams.

Models in cycles: the lpi FIFO (its depth, its head competing from the cycle after a packet
goes in), one packet a cycle into each redistributor's FIFO, the tie-break between the
translator's and the executor's packets, and each redistributor's SYNC acknowledge delay.
The redistributors are always ready (``gic.sim.rtlsim.gicsink.GicStreamSink``); the
stream's handshake signals and the FIFOs' contents beyond the cycles they take are not
modelled.
"""

import bisect
import collections

from .kernel import Module
from .timing import Timing

__all__ = ["Forwarder", "Redistributor"]


class Redistributor(Module):
    """The far end of one GIC stream: always ready, acknowledges each SYNC ``ack_delay``
    cycles after taking it (as ``gic.sim.rtlsim.gicsink.GicStreamSink``).

    Members
    -------
    packets : list of Packet
        Received, in order.
    cycles : list of int
        The cycle each was received.
    """

    def __init__(self, kernel, rd, *, ack_delay, parent=None):
        super().__init__(kernel, f"rd{rd}", parent)
        self.rd = rd
        self.ack_delay = ack_delay
        self.packets = []
        self.cycles = []

    def take(self):
        """The packets received since the last call, in order; forgets them."""
        taken = self.packets
        self.packets, self.cycles = [], []
        return taken

    def receive(self, cycle, packet):
        """Take ``packet`` in ``cycle``; returns the cycle its SYNC acknowledge arrives.

        Blocks computing ahead may deliver out of cycle order: packets are kept in the
        order of their cycles (one a cycle)."""
        cycles = self.cycles
        if not cycles or cycles[-1] < cycle:
            cycles.append(cycle)
            self.packets.append(packet)
        else:
            index = bisect.bisect_right(cycles, cycle)
            cycles.insert(index, cycle)
            self.packets.insert(index, packet)
        return cycle + self.ack_delay


class _CommandPacket:
    """The executor's packet offered to the forwarder from ``cycle`` on (one at a time)."""
    __slots__ = ("rd", "cycle", "packet", "accepted", "ack")

    def __init__(self, rd, cycle, packet):
        self.rd = rd
        self.cycle = cycle          # the next cycle it competes in
        self.packet = packet
        self.accepted = None
        self.ack = None


class Forwarder(Module):
    """Routes packets of the translator and the executor to the redistributors.

    Each redistributor's FIFO takes one packet a cycle, which leaves the next cycle (the
    redistributors are always ready). The translator's packets first go into the lpi FIFO
    (:class:`Timing.lpi_fifo_depth <gic.sim.tlm.timing.Timing>` entries, :meth:`put`), whose head competes
    from the cycle after. When the translator and the executor offer a packet
    for the same redistributor in the same cycle, they take turns (one tie-breaker for
    all redistributors, as ``its/forwarder.Forwarder``); the loser offers again the
    next cycle. The executor announces its packet (:meth:`offer`) as soon as it knows the
    cycle, before the translator decides that cycle's packets; it learns the cycle its
    packet went in with :meth:`settle` once that cycle is over.
    """

    def __init__(self, kernel, redistributors, *, timing=None, parent=None):
        super().__init__(kernel, "forwarder", parent)
        self._lpi_depth = (timing or Timing()).lpi_fifo_depth
        self.redistributors = redistributors
        self._taken = [collections.deque() for _ in redistributors]  # recent accept cycles
        self._latest = [-1] * len(redistributors)
        self._commands = [None] * len(redistributors)
        self._command_first = False     # who wins the next tie
        self._lpi_taken = collections.deque(maxlen=self._lpi_depth)   # of the lpi FIFO

    def put(self, rd, cycle, packet):
        """The translator hands ``packet`` for ``rd`` over from ``cycle`` on; the cycle it
        goes into the lpi FIFO (once the packet lpi_fifo_depth before it left the FIFO)."""
        taken = self._lpi_taken
        if len(taken) == self._lpi_depth:
            cycle = max(cycle, taken[0] + 1)
        # Its head competes from the next cycle, once the packet before it left.
        competes = max(cycle + 1, taken[-1] + 1) if taken else cycle + 1
        taken.append(self._accept(rd, competes, packet))
        return cycle

    def lpi_drained(self):
        """The first cycle from which the lpi FIFO holds none of the packets put so far."""
        return self._lpi_taken[-1] + 1 if self._lpi_taken else 0

    def _accept(self, rd, cycle, packet):
        """The head of the lpi FIFO offers ``packet`` for ``rd`` from ``cycle``; its accept
        cycle."""
        command = self._commands[rd]
        if command is not None:
            if command.cycle < cycle:   # it was alone in its cycle
                self._accept_command(command)
            elif command.cycle == cycle:
                command_wins = self._command_first
                self._command_first = not command_wins
                if command_wins:
                    self._accept_command(command)
                    cycle += 1
                else:
                    command.cycle = cycle + 1
        return self._claim(rd, cycle, packet)[0]

    def offer(self, rd, cycle, packet):
        """The executor offers ``packet`` for ``rd`` from ``cycle`` on; a handle whose
        ``accepted`` (and ``ack`` for a SYNC) :meth:`settle` fills in."""
        command = _CommandPacket(rd, cycle, packet)
        self._commands[rd] = command
        return command

    def settle(self, command, cycle):
        """Every translator packet of ``cycle`` is known: if ``command`` is still waiting
        and may go in ``cycle``, it does. Whether it is accepted now."""
        if command.accepted is None and command.cycle <= cycle:
            self._accept_command(command)
        return command.accepted is not None

    def _accept_command(self, command):
        command.accepted, command.ack = self._claim(command.rd, command.cycle, command.packet)
        self._commands[command.rd] = None

    def _claim(self, rd, cycle, packet):
        """Put ``packet`` into ``rd``'s FIFO in the first free cycle from ``cycle``."""
        taken = self._taken[rd]
        accepted = cycle
        if cycle <= self._latest[rd]:
            while accepted in taken:
                accepted += 1
        taken.append(accepted)
        if len(taken) > 64:
            taken.popleft()
        if accepted > self._latest[rd]:
            self._latest[rd] = accepted
        ack = self.redistributors[rd].receive(accepted + 1, packet)
        return accepted, ack
