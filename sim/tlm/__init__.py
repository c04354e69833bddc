"""The transaction-level model of the ITS: a SystemC-style kernel on SimPy and the ITS's blocks.

* :mod:`gic.sim.tlm.kernel`: modules, processes, ``Fifo`` channels, time in clock cycles.
* :mod:`gic.sim.tlm.memory`: loosely-timed memory transactions (latency + one beat a cycle).
* :mod:`gic.sim.tlm.its`: :class:`~gic.sim.tlm.its.TlmIts`, the ITS block by block.
* :mod:`gic.sim.tlm.bus`: :class:`~gic.sim.tlm.bus.TlmBus`, the Linux-style driver's way in.
"""
