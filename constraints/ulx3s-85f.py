"""Build constraints of the ULX3S 85F, read by hw/boards/build.py (`its bitstream`)."""

from amaranth.build import Attrs, Pins, Resource

CLOCKS_MHZ = {"sync": 100.0}
"""Timing target per clock domain: the PLL makes this clock, nextpnr must meet it."""

RESOURCES = [
    # The ITS's error interrupt on GPIO header pin GP0, for a scope or logic analyser.
    Resource("its_error_irq", 0, Pins("0+", dir="o", conn=("gpio", 0)),
             Attrs(IO_TYPE="LVCMOS33", DRIVE="4")),
]
"""Pins amaranth-boards' platform does not define."""

PREFERENCES = ""
"""Extra LPF lines, appended as they are."""

SEED = 1
"""nextpnr's placement seed for this board (`its bitstream --seed` overrides it)."""
