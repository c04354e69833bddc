"""What the TLM's ITS blocks share: integer codecs of the RTL's layouts, the memory's read
clients.

Not a block: plain helpers, no timing. The names with a leading underscore are private to
the package (imported by its modules, not by its users).
"""

from amaranth.lib import data

__all__ = []

FETCH_CLIENT, EXECUTOR_CLIENT, TRANSLATOR_CLIENT = range(3)
"""Read clients of the memory (their AXI IDs in ``gic.hw.its.top.Its``)."""


def _decoder(layout, *names):
    """A function from an integer encoding of ``layout`` to the tuple of fields ``names``."""
    layout = data.Layout.cast(layout)
    fields = [(layout[name].offset, (1 << layout[name].width) - 1) for name in names]

    def decode(value):
        return tuple((value >> offset) & mask for offset, mask in fields)
    return decode


def _encoder(layout):
    """A function from field values (keywords) to the integer encoding of ``layout``."""
    layout = data.Layout.cast(layout)
    fields = {name: (field.offset, (1 << field.width) - 1) for name, field in layout}

    def encode(**values):
        value = 0
        for name, field_value in values.items():
            offset, mask = fields[name]
            value |= (int(field_value) & mask) << offset
        return value
    return encode
