"""cocotbext-axi stream types for the ITS's amaranth.lib.stream ports.

Amaranth names a stream port's members ``<port>__payload``, ``<port>__valid`` and
``<port>__ready``; a cocotb-bus prefix ``"<port>_"`` with the default ``_`` separator
finds them (``StreamBus.from_prefix(dut, "gic__0_")``). Payloads are whole integers:
pack and unpack them with :func:`gic.sim.models.commands.pack` / :func:`~gic.sim.models.commands.unpack` and
the layouts of ``hw/its/layouts.py``.
"""

from cocotbext.axi.stream import define_stream

__all__ = ["PayloadBus", "PayloadTransaction", "PayloadSource", "PayloadSink",
           "PayloadMonitor"]

PayloadBus, PayloadTransaction, PayloadSource, PayloadSink, PayloadMonitor = define_stream(
    "Payload", signals=["payload", "valid", "ready"])
"""A valid/ready stream with one ``payload`` vector: source, sink and passive monitor."""
