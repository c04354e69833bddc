"""Reusable parts of the cocotb testbenches: bus models, the scoreboard, coverage, builds.

* :mod:`gic.tb.common.build`: Verilog of an :class:`~gic.hw.its.params.ItsParams` set, built once
  per parameter set with cocotb's runner, and a helper that runs cocotb tests on it.
* :mod:`gic.tb.common.testbench`: :class:`~gic.tb.common.testbench.BaseTB`, the clock, reset and bus
  models every top with an ITS has; the run's parameters and seed.
* :mod:`gic.tb.common.pause`: idle and backpressure generators, driven from one coroutine.
* :mod:`gic.tb.common.streams`: cocotbext-axi stream types for the ITS's valid/ready ports.
* :mod:`gic.tb.common.axi_memory`: an AXI4 slave serving a :class:`gic.sim.models.memory.Memory`.
* :mod:`gic.tb.common.redistributor`: GIC-stream sinks that acknowledge SYNCs.
* :mod:`gic.tb.common.scoreboard`: a scoreboard's shared machinery; monitors feeding
  :class:`gic.sim.models.its.ItsModel`, the checker.
* :mod:`gic.tb.common.itsbus`: :class:`~gic.tb.common.itsbus.CocotbItsBus`, the driver's bus.
* :mod:`gic.tb.common.monitors`: passive monitors that sleep while their strobe is low.
* :mod:`gic.tb.common.gtkw`: a GTKWave save file from the design hierarchy.
"""
