"""Build constraints of the ECPIX-5 85F, read by hw/boards/build.py (`its bitstream`)."""

from amaranth.build import Attrs, Pins, Resource

CLOCKS_MHZ = {"sync": 100.0}
"""Timing target per clock domain: the PLL makes this clock, nextpnr must meet it."""

RESOURCES = [
    # The ITS's error interrupt on PMOD 0 pin 1, for a scope or logic analyser.
    Resource("its_error_irq", 0, Pins("1", dir="o", conn=("pmod", 0)),
             Attrs(IO_TYPE="LVCMOS33")),
]
"""Pins amaranth-boards' platform does not define."""

PREFERENCES = ""
"""Extra LPF lines, appended as they are."""

SEED = 2
"""nextpnr's placement seed for this board (`its bitstream --seed` overrides it).
With seed 1, router1 had not routed the board after 15 minutes (10,851 arcs left and
going round); with seed 2 it routes in 95 s (docs/fpga.md)."""
