"""Reusable parts of the cocotb testbenches: bus models, the scoreboard, coverage, builds.

* :mod:`tb.common.build`: Verilog of an :class:`~hw.its.params.ItsParams` set, built once
  per parameter set with cocotb's runner, and a helper that runs cocotb tests on it.
* :mod:`tb.common.testbench`: :class:`~tb.common.testbench.BaseTB`, the clock, reset and bus
  models every top with an ITS has; the run's parameters and seed.
* :mod:`tb.common.pause`: idle and backpressure generators, driven from one coroutine.
* :mod:`tb.common.streams`: cocotbext-axi stream types for the ITS's valid/ready ports.
* :mod:`tb.common.axi_memory`: an AXI4 slave serving a :class:`sim.memory.Memory`.
* :mod:`tb.common.redistributor`: GIC-stream sinks that acknowledge SYNCs.
* :mod:`tb.common.scoreboard`: a scoreboard's shared machinery; monitors feeding
  :class:`sim.model.ItsModel`, the checker.
* :mod:`tb.common.itsbus`: :class:`~tb.common.itsbus.CocotbItsBus`, the driver's bus.
* :mod:`tb.common.monitors`: passive monitors that sleep while their strobe is low.
* :mod:`tb.common.gtkw`: a GTKWave save file from the design hierarchy.
"""
