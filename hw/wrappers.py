"""Plain-Verilog wrappers: ``its_axi`` (the ITS) and ``gic_axi`` (the ITS with its
redistributors), with the flat, conventional port names that Verilog users, vendor IP
packagers and cocotbext-axi's ``from_prefix`` expect.

Amaranth names a component's ports after its members (``axil__awaddr``,
``msi__payload[63:0]``, ``gic__0__payload[26:0]``); a wrapper here gives every member a
port of its own instead, and splits every struct payload into one port per field:

* the clock is ``aclk``; the reset ``aresetn``, active low, synchronous to ``aclk``;
* an AXI4-Lite slave ``s_axil_*``, an AXI4 master ``m_axi_*`` (AMBA names);
* a stream is ``<prefix>_valid``, ``<prefix>_ready`` and one ``<prefix>_<field>`` per
  payload field (``s_msi_device_id``, ``m_gic0_op``, ``m_gic0_lpi``, ...);
* everything else keeps its name (``error_irq``, ``translater_device_id``).

:func:`generate` writes ``its_axi.v`` and ``gic_axi.v``; :meth:`FlatWrapper.port_table`
lists the ports (name, direction, width, what) for docs/integration.md.
"""

from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import ClockDomain, Elaboratable, Module, Signal, Value
from amaranth.lib import data, enum, wiring

from gic.hw.docs import field_docs

__all__ = ["FlatWrapper", "Port", "its_axi", "gic_axi", "generate", "WRAPPERS"]


class Port:
    """One port of a wrapper.

    Members
    -------
    name : str
    direction : str
        ``"input"`` or ``"output"``.
    width : int
    what : str
        What it carries (the field's description, the enumeration it encodes).
    group : str
        The interface it belongs to (``s_axil``, ``m_gic0``, ``clock and reset``...).
    native : str
        The wrapped component's port and bits it is (``gic__0__payload[18:3]``).
    inner : Value or None
        That part of the wrapped component's port (None for the clock and reset).
    """

    def __init__(self, signal, direction, what, group, native="", inner=None):
        self.signal, self.direction, self.what, self.group = signal, direction, what, group
        self.native, self.inner = native, inner

    @property
    def name(self):
        return self.signal.name

    @property
    def width(self):
        return len(self.signal)


def _shape_note(shape):
    if isinstance(shape, type) and issubclass(shape, enum.Enum):
        return f"{shape.__name__}: " + ", ".join(f"{m.value} {m.name}" for m in shape)
    return ""


class FlatWrapper(Elaboratable):
    """Wrap component ``inner`` so that every port is a flat, conventionally named signal.

    Parameters
    ----------
    inner : wiring.Component
        Clocked by the ``sync`` domain.
    name : str
        The Verilog module name.
    prefixes : dict
        Top-level member name -> port name prefix. A member that is an array gets its index
        appended (``gic`` -> ``m_gic`` gives ``m_gic0_...``). Members not listed keep their
        own name as prefix.
    groups : dict
        Top-level member name -> what the interface is (for :meth:`port_table`).
    """

    def __init__(self, inner, *, name, prefixes, groups=None):
        if not isinstance(inner, wiring.Component):
            raise TypeError(f"inner must be a wiring.Component, not {inner!r}")
        self.inner = inner
        self.name = name
        self.aclk = Signal(name="aclk")
        self.aresetn = Signal(name="aresetn")
        self.ports = [Port(self.aclk, "input", "clock: every port is synchronous to it",
                           "clock and reset", "clk"),
                      Port(self.aresetn, "input", "reset, active low, synchronous to aclk",
                           "clock and reset", "rst (active high)")]
        self._links = []
        groups = groups or {}
        for path, member, value in inner.signature.flatten(inner):
            top = path[0]
            stem = prefixes.get(top, top)
            index = [str(part) for part in path[1:] if isinstance(part, int)]
            rest = [part for part in path[1:] if isinstance(part, str) and part != "payload"]
            base = stem + "".join(index)
            direction = "input" if member.flow is wiring.In else "output"
            group = f"{base} ({groups[top]})" if top in groups else base
            self._add(base, rest, value, direction, group, "__".join(map(str, path)))

    def _add(self, base, rest, value, direction, group, native):
        shape = value.shape() if hasattr(value, "shape") else Value.cast(value).shape()
        raw = Value.cast(value)
        if isinstance(shape, data.StructLayout) or (isinstance(shape, type) and
                                                    issubclass(shape, data.Struct)):
            docs = field_docs(shape) if isinstance(shape, type) else {}
            for field_name, field in data.Layout.cast(shape):
                if field_name.startswith("_"):
                    continue
                high, low = field.offset + field.width - 1, field.offset
                self._port("_".join([base, *rest, field_name]), direction,
                           raw[field.offset:field.offset + field.width],
                           "; ".join(filter(None, [docs.get(field_name, ""),
                                                   _shape_note(field.shape)])), group,
                           f"{native}[{high}:{low}]" if high > low else f"{native}[{low}]")
            return
        if len(raw) == 0:
            return
        self._port("_".join([base, *rest]), direction, raw, _shape_note(shape), group, native)

    def _port(self, name, direction, inner, what, group, native):
        signal = Signal(len(inner), name=name)
        self.ports.append(Port(signal, direction, what, group, native, inner))
        self._links.append((signal, direction, inner))

    def port_table(self):
        """``[Port]``: clock and reset first, then every member's ports in signature order."""
        return list(self.ports)

    def reset_values(self):
        """``{output port name: value}`` right after reset (every input low), from a
        simulation of the wrapped component: what a port shows before the first clock
        edge that follows the release of reset."""
        from amaranth.sim import Simulator
        self._MustUse__silence = True       # used for its tables, not converted
        values = {}

        async def sample(ctx):
            for port in self.ports:
                if port.direction == "output":
                    values[port.name] = ctx.get(port.inner)
        simulator = Simulator(self.inner)
        simulator.add_clock(1e-8)
        simulator.add_testbench(sample)
        simulator.run()
        return values

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = sync = ClockDomain("sync")
        m.d.comb += [sync.clk.eq(self.aclk), sync.rst.eq(~self.aresetn)]
        m.submodules.inner = self.inner
        for signal, direction, inner in self._links:
            m.d.comb += inner.eq(signal) if direction == "input" else signal.eq(inner)
        return m

    def verilog(self):
        """The wrapper's Verilog text (module :attr:`name`)."""
        return verilog.convert(self, name=self.name, ports=[port.signal for port in self.ports])


def its_axi(params):
    """The ITS (:class:`gic.hw.its.top.Its`) as module ``its_axi``."""
    from gic.hw.its.top import Its
    return FlatWrapper(Its(params), name="its_axi", prefixes={
        "axil": "s_axil", "msi": "s_msi", "query": "s_query", "query_resp": "m_query_resp",
        "axi": "m_axi", "gic": "m_gic", "ack": "s_ack"}, groups={
        "axil": "AXI4-Lite slave: the ITS register frame",
        "translater_device_id": "DeviceID sideband of GITS_TRANSLATER writes on s_axil",
        "msi": "stream: MSIs", "query": "stream: translation queries",
        "query_resp": "stream: query answers", "axi": "AXI4 master: memory",
        "gic": "stream: packets to redistributor N", "ack": "stream: SYNC acks of N",
        "error_irq": "interrupt"})


def gic_axi(params, *, lpi_cache=16):
    """The ITS with ``params.num_redistributors`` redistributors
    (:class:`gic.hw.gicr.gic.Gic`) as module ``gic_axi``."""
    from gic.hw.gicr.gic import Gic
    return FlatWrapper(Gic(params, lpi_cache=lpi_cache), name="gic_axi", prefixes={
        "axil": "s_axil", "msi": "s_msi", "query": "s_query", "query_resp": "m_query_resp",
        "axi": "m_axi", "cpu": "cpu"}, groups={
        "axil": "AXI4-Lite slave: the ITS frame, then one frame per redistributor",
        "translater_device_id": "DeviceID sideband of GITS_TRANSLATER writes on s_axil",
        "msi": "stream: MSIs", "query": "stream: translation queries",
        "query_resp": "stream: query answers", "axi": "AXI4 master: memory",
        "cpu": "CPU interface N", "error_irq": "interrupt"})


WRAPPERS = {"its_axi": its_axi, "gic_axi": gic_axi}
"""Module name -> factory taking an ItsParams."""


def generate(params, out_dir):
    """Write ``its_axi.v`` and ``gic_axi.v`` for ``params`` into ``out_dir``; returns
    ``{module name: path}``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, factory in WRAPPERS.items():
        path = out_dir / f"{name}.v"
        path.write_text(factory(params).verilog())
        written[name] = path
    return written
