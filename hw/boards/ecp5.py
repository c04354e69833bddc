"""What every ECP5 board wrapper shares: the PLL that makes the ITS clock, and the wrapper.

:func:`pll_config` picks the EHXPLLL dividers as Project Trellis's ``ecppll`` does;
:class:`Ecp5Pll` instantiates it; :class:`Ecp5Board` puts :class:`ItsBoardTop` on a
board of ``amaranth-boards``: the PLL from the board's oscillator, a reset held until
the PLL locks, the UART pins, the LEDs and the error-interrupt pin.
"""

from dataclasses import dataclass

from amaranth.hdl import ClockDomain, ClockSignal, Elaboratable, Instance, Module
from amaranth.lib import io, wiring
from amaranth.lib.cdc import ResetSynchronizer
from amaranth.lib.wiring import In, Out

from .top import ItsBoardTop

__all__ = ["PllConfig", "pll_config", "Ecp5Pll", "Ecp5Board"]

PFD_MHZ = (3.125, 400.0)
"""Phase detector input range of the ECP5 PLL (FPGA-TN-02200)."""
VCO_MHZ = (400.0, 800.0)
"""VCO range of the ECP5 PLL."""
VCO_MIDDLE_MHZ = 600.0
"""Between settings giving the same output, ``ecppll`` keeps the VCO nearest this."""


@dataclass(frozen=True)
class PllConfig:
    """EHXPLLL dividers: ``f_out = f_in / clki_div * clkfb_div``, VCO = ``f_out * clkop_div``.

    Members
    -------
    clki_div, clkfb_div, clkop_div : int
    clkop_cphase : int
        Coarse phase of CLKOP in VCO cycles: half of ``clkop_div`` (a 0 degree output,
        as ``ecppll`` writes it).
    f_in, f_out, f_vco : float
        Hz.
    """
    clki_div: int
    clkfb_div: int
    clkop_div: int
    clkop_cphase: int
    f_in: float
    f_out: float
    f_vco: float


def pll_config(f_in, f_out):
    """The EHXPLLL dividers closest to ``f_out`` from ``f_in`` (Hz).

    The same search as Project Trellis's ``ecppll``: every reference divider whose phase
    detector frequency is in range, every feedback and output divider whose VCO is in range;
    among equally close outputs, the VCO nearest 600 MHz.

    Raises
    ------
    ValueError
        When no divider gives a VCO in range, or the result is more than 1 % off.
    """
    best = None
    fin = f_in / 1e6
    for clki_div in range(1, 129):
        pfd = fin / clki_div
        if not PFD_MHZ[0] <= pfd <= PFD_MHZ[1]:
            continue
        for clkfb_div in range(1, 81):
            for clkop_div in range(1, 129):
                vco = pfd * clkfb_div * clkop_div
                if not VCO_MHZ[0] <= vco <= VCO_MHZ[1]:
                    continue
                out = vco / clkop_div
                # Closest output first; on a tie, the VCO nearest its 600 MHz middle.
                rank = (abs(out - f_out / 1e6), abs(vco - VCO_MIDDLE_MHZ))
                if best is None or rank < best[0]:
                    best = (rank, out, clki_div, clkfb_div, clkop_div, vco)
    if best is None:
        raise ValueError(f"no ECP5 PLL setting makes {f_out / 1e6:g} MHz from {fin:g} MHz")
    _, out, clki_div, clkfb_div, clkop_div, vco = best
    if abs(out * 1e6 - f_out) > 0.01 * f_out:
        raise ValueError(f"the ECP5 PLL gets no closer to {f_out / 1e6:g} MHz than "
                         f"{out:g} MHz from {fin:g} MHz")
    return PllConfig(clki_div=clki_div, clkfb_div=clkfb_div, clkop_div=clkop_div,
                     clkop_cphase=clkop_div // 2, f_in=f_in, f_out=out * 1e6, f_vco=vco * 1e6)


class Ecp5Pll(wiring.Component):
    """One ECP5 EHXPLLL: ``clk_out`` at ``config.f_out`` from ``clk_in``, fed back from CLKOP.

    Parameters
    ----------
    config : PllConfig

    Members
    -------
    clk_in : In(1)
        The reference (an oscillator pin).
    clk_out : Out(1)
        The output clock.
    locked : Out(1)
        Asynchronous: the PLL is locked.
    """

    clk_in: In(1)
    clk_out: Out(1)
    locked: Out(1)

    def __init__(self, config):
        self.config = config
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        config = self.config
        m.submodules.pll = Instance(
            "EHXPLLL",
            a_FREQUENCY_PIN_CLKI=f"{config.f_in / 1e6:g}",
            a_FREQUENCY_PIN_CLKOP=f"{config.f_out / 1e6:g}",
            a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
            a_MFG_GMCREF_SEL="2",
            p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
            p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB",
            p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD",
            p_CLKI_DIV=config.clki_div, p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=config.clkop_div,
            p_CLKOP_CPHASE=config.clkop_cphase, p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP",
            p_CLKFB_DIV=config.clkfb_div,
            i_RST=0, i_STDBY=0, i_CLKI=self.clk_in, o_CLKOP=self.clk_out, i_CLKFB=self.clk_out,
            i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1,
            i_PLLWAKESYNC=0, i_ENCLKOP=0, o_LOCK=self.locked,
        )
        return m


class Ecp5Board(Elaboratable):
    """:class:`ItsBoardTop` on an ECP5 board of amaranth-boards.

    The ``sync`` domain runs from the PLL at ``clk_freq``; it stays in reset until the PLL
    locks (and while the board's reset button, if it has one, is pressed). The UART is the
    platform's ``uart`` 0; the LEDs go to the platform's ``led`` resources in order (a board
    with RGB LEDs maps them as ``leds`` does); the ITS's error interrupt goes to the
    ``its_error_irq`` resource when the board's constraints add one.

    Parameters
    ----------
    clk_freq : float
        The ITS clock in Hz (the PLL's output; the build checks timing against it).
    leds : callable or None
        ``leds(platform)`` -> list of 1-bit output ports (``platform.request(..., dir="-")``);
        default: every ``led`` resource.
    **kwargs
        For :class:`ItsBoardTop` (``params``, ``mem_bytes``, ``baud``, ``its``, ...).

    Members
    -------
    top : ItsBoardTop
    pll : PllConfig
    """

    def __init__(self, *, clk_freq, leds=None, **kwargs):
        self.requested_freq = clk_freq
        self._leds = leds
        self._kwargs = kwargs
        self.pll = None
        self.top = None

    def elaborate(self, platform):
        m = Module()
        clk_in = platform.request(platform.default_clk, dir="-")
        f_in = platform.resources[platform.default_clk, 0].clock.frequency
        self.pll = pll_config(f_in, self.requested_freq)
        self.top = ItsBoardTop(clk_freq=self.pll.f_out, host_link="uart", **self._kwargs)

        m.submodules.clk_in = clk_buffer = io.Buffer("i", clk_in)
        m.submodules.pll = pll = Ecp5Pll(self.pll)
        m.d.comb += pll.clk_in.eq(clk_buffer.i)
        m.domains.sync = ClockDomain("sync")
        m.d.comb += ClockSignal("sync").eq(pll.clk_out)
        reset = ~pll.locked
        if platform.default_rst is not None:
            m.submodules.rst = rst = io.Buffer("i", platform.request(platform.default_rst, 0,
                                                                     dir="-"))
            reset = reset | rst.i
        m.submodules.reset_sync = ResetSynchronizer(reset, domain="sync")
        platform.add_clock_constraint(pll.clk_out, self.pll.f_out)

        m.submodules.top = top = self.top
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx = uart_rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = uart_tx = io.Buffer("o", uart.tx)
        m.d.comb += [top.uart_rx.eq(uart_rx.i), uart_tx.o.eq(top.uart_tx)]
        leds = self._leds(platform) if self._leds else _all_leds(platform)
        for index, (port, value) in enumerate(zip(leds, top.leds)):
            m.submodules[f"led{index}"] = led = io.Buffer("o", port)
            m.d.comb += led.o.eq(value)
        if ("its_error_irq", 0) in platform.resources:
            m.submodules.error_irq = pin = io.Buffer("o", platform.request("its_error_irq", 0,
                                                                           dir="-"))
            m.d.comb += pin.o.eq(top.error_irq)
        return m


def _all_leds(platform):
    leds = []
    while ("led", len(leds)) in platform.resources:
        leds.append(platform.request("led", len(leds), dir="-"))
    return leds
