"""Host-side command and table-entry codecs built on hw/its/layouts.py.

``encode_command(Cmd.MAPD, device_id=1, size=4, itt_addr=0x1000, valid=1)`` gives
the 32 bytes software writes into the ring; ``decode_command`` gives them back.
Table entries and register values pack and unpack the same way through
``pack``/``unpack``; nothing here shifts bits by hand.
"""

from dataclasses import dataclass, field

from amaranth.lib import data

from gic.hw.its.layouts import COMMAND_LAYOUTS, COMMAND_BYTES, Cmd, CommandHeader

__all__ = ["ItsCommand", "encode_command", "decode_command", "command_fields", "pack", "unpack",
           "field_width"]


def _public_fields(layout):
    return [(name, f) for name, f in data.Layout.cast(layout) if not name.startswith("_")]


def field_width(layout, name):
    """Width in bits of field ``name`` of ``layout``."""
    return data.Layout.cast(layout)[name].width


def pack(layout, **values):
    """The integer encoding of ``layout`` with the given field values (others zero).

    Raises
    ------
    ValueError
        If a field is unknown or a value does not fit its field.
    """
    known = dict(_public_fields(layout))
    for name, value in values.items():
        if name not in known:
            raise ValueError(f"{layout.__name__} has no field {name!r}; "
                             f"fields: {', '.join(known)}")
        if isinstance(value, int) and not 0 <= value < (1 << known[name].width):
            raise ValueError(f"{layout.__name__}.{name} = {value:#x} does not fit "
                             f"in {known[name].width} bits")
    return layout.const(values).as_value().value


def unpack(layout, value):
    """A dict of the public fields of ``layout`` decoded from integer ``value``."""
    view = data.Layout.cast(layout).from_bits(value)
    return {name: view[name] for name, _ in _public_fields(layout)}


def command_fields(cmd):
    """Names of the fields of command ``cmd`` other than ``cmd`` itself."""
    return [name for name, _ in _public_fields(COMMAND_LAYOUTS[cmd]) if name != "cmd"]


@dataclass(frozen=True)
class ItsCommand:
    """A decoded command: its number and its named fields.

    ``cmd`` is a :class:`Cmd` for the twelve GICv3 commands, otherwise the raw
    number (GICv4 or unknown), in which case ``fields`` holds only ``device_id``.
    """
    cmd: object
    fields: dict = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(f"{self.name} has no field {name!r}") from None

    @property
    def name(self):
        return self.cmd.name if isinstance(self.cmd, Cmd) else f"CMD_{self.cmd:#04x}"

    def __str__(self):
        args = ", ".join(f"{k}={v:#x}" for k, v in self.fields.items())
        return f"{self.name}({args})"


def encode_command(cmd, **fields):
    """Encode one command to 32 little-endian bytes.

    Parameters
    ----------
    cmd : Cmd or int
        Command number. A GICv3 command takes its fields by name (see
        :func:`command_fields`); any other number is encoded with only
        ``device_id``, so tests can post GICv4 or unknown commands.

    Raises
    ------
    ValueError
        For an unknown field or a value too wide for its field.
    """
    if isinstance(cmd, Cmd) and cmd in COMMAND_LAYOUTS:
        value = pack(COMMAND_LAYOUTS[cmd], cmd=cmd, **fields)
    else:
        number = cmd.value if isinstance(cmd, Cmd) else cmd
        value = pack(CommandHeader, cmd=number, **fields)
    return value.to_bytes(COMMAND_BYTES, "little")


def decode_command(raw):
    """Decode 32 bytes (or a 256-bit integer) into an :class:`ItsCommand`."""
    value = int.from_bytes(raw, "little") if isinstance(raw, (bytes, bytearray)) else raw
    number = unpack(CommandHeader, value)["cmd"]
    try:
        cmd = Cmd(number)
    except ValueError:
        cmd = None
    if cmd in COMMAND_LAYOUTS:
        values = unpack(COMMAND_LAYOUTS[cmd], value)
        del values["cmd"]
        return ItsCommand(cmd, values)
    return ItsCommand(number, {"device_id": unpack(CommandHeader, value)["device_id"]})
