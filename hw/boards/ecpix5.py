"""The ITS on a LambdaConcept ECPIX-5 with an ECP5 LFE5UM5G-85F.

The 100 MHz oscillator feeds the PLL that makes the ITS clock (target in
``constraints/ecpix5-85f.py``); the host talks through the FT2232's second channel,
the platform's ``uart`` 0 (rx R26, tx R24); the four RGB LEDs carry
:data:`gic.hw.boards.top.LED_NAMES` as red, green, blue of LED 0, then of LED 1, and on.
"""

from amaranth_boards.ecpix5 import ECPIX585Platform

from .build import BoardSpec

__all__ = ["BOARD", "rgb_leds"]


def rgb_leds(platform):
    """The twelve colour channels of the four RGB LEDs, as 1-bit output ports."""
    channels = []
    for index in range(4):
        led = platform.request("rgb_led", index, dir="-")
        channels += [led.r, led.g, led.b]
    return channels


BOARD = BoardSpec(name="ecpix5-85f", platform=ECPIX585Platform,
                  description="LambdaConcept ECPIX-5, LFE5UM5G-85F", programmer_board="ecpix5",
                  leds=rgb_leds)
