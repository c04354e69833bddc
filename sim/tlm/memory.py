"""Loosely-timed memory transactions: the memory behind the ITS's AXI4 master.

A transaction is one function call (TLM-2.0 ``b_transport``) that does the access on
the shared :class:`gic.sim.models.memory.Memory` at once and returns the cycles at which it
completes, as annotated times; the caller waits for them (or not). The timing is the
testbenches. (``gic.sim.rtlsim.harness.Axi4SlaveModel`` behind
``bus/axi.Axi4MemoryMaster``):

* a read offered in cycle *t* is accepted into its client's slot in *t* (a client
  offers again only after its read was granted) and competes for the address channel
  from *t* + 1: one read (AR) is granted a cycle, round robin among the slots from the
  client after the last one granted (``bus/axi._round_robin``), the others wait; a
  write (AW + W) is accepted in the first cycle >= *t* its channel is free, one a cycle;
* the first doubleword of a read arrives ``latency + 3`` cycles after its acceptance
  when it is granted at once (one cycle in the slot, one in the master's AR register,
  ``latency`` in the slave, one in its R beat FIFO), a write's response
  ``latency + 1`` cycles after its acceptance (the 3 and the 1 are
  :class:`~gic.sim.tlm.timing.Timing`'s ``mem_read_cycles`` and ``mem_write_cycles``);
* the read data channel carries ``bandwidth`` doublewords a cycle (the master hands its
  clients one doubleword a cycle), in acceptance order across all clients: a command
  fetch of four doublewords keeps it busy four cycles, and a table read behind it waits.
"""

from typing import NamedTuple

from .kernel import Module
from .timing import Timing

__all__ = ["MemoryTarget", "ReadResult", "WriteResult", "READ_REGISTERS", "ADDR_BITS"]

_DOUBLEWORD = 8
READ_REGISTERS = Timing.default("mem_read_cycles")
"""Cycles a read granted at once spends in the AXI master besides the slave's latency
(``bus/axi.Axi4MemoryMaster``: its client's slot and the AR register before the
slave, the R beat FIFO after it): :attr:`Timing.mem_read_cycles
<gic.sim.tlm.timing.Timing>`'s default."""
ADDR_BITS = 48
"""Address bits of the ITS's memory bus: a table address needing more is answered DECERR
(as ``bus/mem.ADDR_BITS``, which ``tests/test_tlm_timing.py`` checks)."""


class ReadResult(NamedTuple):
    """A read's outcome.

    Members
    -------
    accepted : int
        The cycle the request was accepted (into its client's slot).
    first, last : int
        Cycles at which its first and last doublewords arrive.
    data : list of (int or None)
        The doublewords; None for one answered with an error (SLVERR/DECERR).
    """
    accepted: int
    first: int
    last: int
    data: list

    @property
    def error(self):
        """Whether any doubleword was answered with an error."""
        return any(word is None for word in self.data)


class WriteResult(NamedTuple):
    """A write's outcome: accepted and completed cycles, and whether it failed."""
    accepted: int
    done: int
    error: bool


class MemoryTarget(Module):
    """Memory with a fixed latency and a bandwidth limit, shared by every requester.

    A read is requested in the cycle it is offered (the requester waits until then) and
    answered by an event; a write is a plain call.

    Parameters
    ----------
    kernel : gic.sim.tlm.kernel.Kernel
    memory : gic.sim.models.memory.Memory
        The bytes; faults marked with ``Memory.inject_error`` answer with errors.
    latency : int
        The slave's latency ``L`` in cycles, >= 1 (as ``Axi4SlaveModel(latency=L)``).
    bandwidth : int
        Read doublewords delivered a cycle, >= 1.
    read_clients : int
        Read requesters, numbered from 0 (their AXI IDs), >= 1.
    timing : Timing or None
        ``mem_read_cycles`` and ``mem_write_cycles`` (the defaults when None).
    name : str
    parent : Module or None

    Members
    -------
    reads, writes, read_doublewords : int
        Transactions served.
    busy_cycles : int
        Cycles the read data channel carried data.

    Raises
    ------
    ValueError
        If ``latency`` or ``bandwidth`` is out of range.
    """

    def __init__(self, kernel, memory, *, latency=4, bandwidth=1, read_clients=1,
                 timing=None, name="memory", parent=None):
        if not isinstance(latency, int) or latency < 1:
            raise ValueError(f"latency must be an integer >= 1, not {latency!r}")
        if not isinstance(bandwidth, int) or bandwidth < 1:
            raise ValueError(f"bandwidth must be an integer >= 1, not {bandwidth!r}")
        if not isinstance(read_clients, int) or read_clients < 1:
            raise ValueError(f"read_clients must be an integer >= 1, not {read_clients!r}")
        super().__init__(kernel, name, parent)
        self.memory = memory
        self.latency = latency
        self.bandwidth = bandwidth
        timing = timing or Timing()
        self._read_cycles = timing.mem_read_cycles
        self._write_cycles = timing.mem_write_cycles
        self.reads = self.writes = self.read_doublewords = self.busy_cycles = 0
        self._read_address_free = 0    # first cycle the AR channel can accept
        self._read_data_free = 0       # first cycle the R channel is free
        self._write_address_free = 0
        self._write_response_free = 0
        self.read_clients = read_clients
        self._last_granted = read_clients - 1
        self._requests = {}             # client -> (addr, count, event, accepted) in its slot
        self._arbitration = None        # the cycle an arbitration is scheduled for

    def read(self, client, addr, count=1):
        """Offer a read of ``count`` doublewords at ``addr`` from ``client`` now.

        Returns
        -------
        event
            Its value is the :class:`ReadResult`.
        """
        if client in self._requests:
            raise RuntimeError(f"read client {client} already has a request waiting")
        event = self.kernel.event()
        now = self.kernel.now
        self._requests[client] = (addr, count, event, now)
        # Into the client's slot now; it competes from the next cycle.
        self._arbitrate_in(max(now + 1, self._read_address_free))
        return event

    def _arbitrate_in(self, cycle):
        if self._arbitration is None or cycle < self._arbitration:
            self._arbitration = cycle
            self.kernel.end_of_cycle(lambda: self._arbitrate(cycle), cycle)

    def _arbitrate(self, cycle):
        if self._arbitration != cycle:
            return                      # superseded by an earlier arbitration
        self._arbitration = None
        if self._read_address_free > cycle:
            self._arbitrate_in(self._read_address_free)
            return
        requests = self._requests
        for offset in range(1, self.read_clients + 1):
            client = (self._last_granted + offset) % self.read_clients
            if client in requests and requests[client][3] < cycle:
                break
        else:
            if requests:
                self._arbitrate_in(cycle + 1)
            return
        addr, count, event, accepted = requests.pop(client)
        self._last_granted = client
        event.succeed(self._transfer(cycle, addr, count, accepted))
        if requests:
            self._arbitrate_in(cycle + 1)

    def _transfer(self, granted, addr, count, accepted):
        """The read accepted into its slot in cycle ``accepted`` and granted in cycle
        ``granted``: its data and when it arrives."""
        self._read_address_free = granted + 1
        first = max(granted + self._read_cycles - 1 + self.latency, self._read_data_free)
        occupied = -(-count // self.bandwidth)
        last = first + occupied - 1
        self._read_data_free = last + 1
        self.reads += 1
        self.read_doublewords += count
        self.busy_cycles += occupied
        data = []
        for index in range(count):
            word_addr = addr + _DOUBLEWORD * index
            if self.memory.fault(word_addr, _DOUBLEWORD) is not None:
                data.append(None)
            else:
                data.append(self.memory.read_int(word_addr, _DOUBLEWORD))
        return ReadResult(accepted, first, last, data)

    def write(self, cycle, addr, value=None):
        """Write the doubleword ``value`` at ``addr``, offered in ``cycle``.

        With ``value`` None the bytes were already stored by the functional model
        (:meth:`gic.sim.models.its.ItsModel.step`): the write is only timed and checked for a fault.

        Returns
        -------
        WriteResult
        """
        accepted = max(cycle, self._write_address_free)
        self._write_address_free = accepted + 1
        done = max(accepted + self._write_cycles + self.latency, self._write_response_free)
        self._write_response_free = done + 1
        self.writes += 1
        error = self.memory.fault(addr, _DOUBLEWORD) is not None
        if not error and value is not None:
            self.memory.write_int(addr, value, _DOUBLEWORD)
        return WriteResult(accepted, done, error)
