"""The transaction-level model of the ITS: a SystemC-style kernel on SimPy and the ITS's blocks.

* :mod:`gic.sim.tlm.kernel`: modules, processes, ``Fifo`` channels, time in clock cycles.
* :mod:`gic.sim.tlm.memory`: loosely-timed memory transactions (latency + one beat a cycle).
* :mod:`gic.sim.tlm.its`: :class:`~gic.sim.tlm.its.TlmIts`, the ITS block by block
  (``hw/its/top.py``), built from one module per RTL block:
  :mod:`~gic.sim.tlm.regs`, :mod:`~gic.sim.tlm.cmdq`, :mod:`~gic.sim.tlm.executor`,
  :mod:`~gic.sim.tlm.translator`, :mod:`~gic.sim.tlm.tcache`, :mod:`~gic.sim.tlm.walker`,
  :mod:`~gic.sim.tlm.forwarder` (with :mod:`~gic.sim.tlm.tables` and
  :mod:`~gic.sim.tlm.common`, shared).
* :mod:`gic.sim.tlm.timing`: :class:`~gic.sim.tlm.timing.Timing`, every latency and depth
  the blocks use (the RTL's by default; ``its calibrate`` measures them).
* :mod:`gic.sim.tlm.bus`: :class:`~gic.sim.tlm.bus.TlmBus`, the Linux-style driver's way in.

The TLM depends on the RTL only through what both share as architecture data:
:mod:`gic.hw.its.layouts` (encodings), :mod:`gic.hw.its.regmap`, :mod:`gic.hw.its.params`,
:mod:`gic.hw.its.geometry` (table addresses) and :mod:`gic.hw.its.recipes` (what each
command does). Its docstrings name each block's RTL counterpart by its path under ``hw/``
(``its/translator.py`` is the file of that name under ``hw/``); its timing is its own
(:mod:`gic.sim.tlm.timing`), checked against the RTL by ``tests/test_tlm_timing.py``.
"""
