"""The ITS on a Radiona ULX3S with an ECP5 LFE5U-85F.

The 25 MHz oscillator feeds the PLL that makes the ITS clock (target in
``constraints/ulx3s-85f.py``); the host talks through the FTDI USB UART the
platform defines (``uart`` 0: rx M1, tx L4); the eight LEDs show
:data:`gic.hw.boards.top.LED_NAMES` in order.
"""

from amaranth_boards.ulx3s import ULX3S_85F_Platform

from .build import BoardSpec

__all__ = ["BOARD"]

BOARD = BoardSpec(name="ulx3s-85f", platform=ULX3S_85F_Platform,
                  description="Radiona ULX3S, LFE5U-85F", programmer_board="ulx3s")
