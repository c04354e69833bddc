"""The transaction-level model of the ITS: a SystemC-style kernel on SimPy and the ITS's blocks.

* :mod:`sim.tlm.kernel`: modules, processes, ``Fifo`` channels, time in clock cycles.
* :mod:`sim.tlm.memory`: loosely-timed memory transactions (latency + one beat a cycle).
* :mod:`sim.tlm.its`: :class:`~sim.tlm.its.TlmIts`, the ITS block by block.
* :mod:`sim.tlm.bus`: :class:`~sim.tlm.bus.TlmBus`, the Linux-style driver's way in.
"""
