"""GTKWave save files: groups of named, formatted traces that open on the whole run.

Reading a design: :func:`modules` reads the ports of every module of the Verilog that
Amaranth generated, :func:`instances` which instance of which module sits where, and
:func:`verilog_enums` the ``enum_value_*`` attributes Amaranth puts on enum-shaped wires, so
a save file can name each signal by its path in the dump (``its.regs.bus__w_stb``) and
show an enum by its member names.

Reading a dump: :func:`dump_vars` lists the variables of a VCD or an FST (an FST through
GTKWave's ``fst2vcd``) with their widths, :func:`dump_span` its first and last time stamps.

Writing: :class:`Signal` is one trace (a whole variable, or a bit field of one with
:meth:`Signal.field`), with an alias (the name shown), a radix (``"bin"``, ``"hex"``,
``"dec"``) and optionally a translate filter file (:func:`write_enum_filter`: value ->
member name, for an ``amaranth.lib.enum`` or an FSM). :func:`layout_traces` splits a struct
payload into one trace per field (offsets and widths from ``data.Layout.cast``), enum fields
by name, IDs in decimal. :func:`write_save_file` writes the groups, in order, each collapsed
or expanded, zoomed so that the window (default: the whole dump) fills the wave pane.
:func:`read_save_file` parses one back (what it shows and where it opens), for tests.
"""

import math
import re
import shutil
import subprocess
import struct
from pathlib import Path

from amaranth.lib import data, enum

__all__ = ["Signal", "modules", "instances", "ports", "verilog_enums", "dump_vars",
           "dump_span", "signals_in_fst", "layout_traces", "radix_for", "write_enum_filter",
           "write_save_file", "read_save_file", "SaveFile", "check_save_file"]

_MODULE = re.compile(r"^module (\\?\S+)\s*\(", re.MULTILINE)
_PORT = re.compile(r"^\s*(input|output)\s+(?:\[(\d+):(\d+)\]\s+)?(\\?\S+)\s*;", re.MULTILINE)
_INSTANCE = re.compile(r"^\s+(\\\S+)\s+(\w+)\s*\(", re.MULTILINE)
_ENUM_WIRE = re.compile(r"((?:^\s*\(\*[^\n]*\*\)\s*\n)+)\s*(?:input|output|wire|reg)\s+"
                        r"(?:\[(\d+):(\d+)\]\s+)?(\\?\S+)", re.MULTILINE)
_ENUM_VALUE = re.compile(r'enum_value_([01]+)\s*=\s*"([^"]*)"')

_FLAGS = {"bin": 0x28, "hex": 0x22, "dec": 0x24, "signed": 0x424}
_TRANSLATED = 0x2000
_GROUP = {True: ("@800200", "@1000200"), False: ("@c00200", "@1401200")}

# Field and port names whose values are numbers a person counts in (IDs, INTIDs, slots):
# shown in decimal, as the demo and the driver print them. The rest of a wide value
# (addresses, data, raw commands) stays hexadecimal.
_DECIMAL = re.compile(r"(^|[._ /])(device_id|event_id|intid|lpi|pintid|icid|id|rd|cpu|target|"
                      r"offset|priority|count|level|index|size|num\w*|collection|slot|"
                      r"creadr|cwriter|rpr|hppi\w*)($|[._ /\[])")


class Signal:
    """A trace of the save file.

    Parameters
    ----------
    path : str
        The variable's full name in the dump, without a bit range (``its.cmdq.cmd__valid``).
    width : int
        The variable's width.
    direction : str or None
        ``"input"``/``"output"`` for a port (informative).
    alias : str or None
        The name GTKWave shows (default: the path).
    radix : str or None
        ``"bin"``, ``"hex"`` or ``"dec"``; default binary for one bit, else :func:`radix_for`.
    bits : (int, int) or None
        ``(lsb, width)`` of the bit field shown, when not the whole variable.
    translate : Path or None
        A translate filter file (value in decimal -> name): the trace shows names.
    """

    def __init__(self, path, width, direction=None, *, alias=None, radix=None, bits=None,
                 translate=None):
        self.path = path
        self.width = width
        self.direction = direction
        self.alias = alias
        self.bits = bits
        self.translate = translate
        shown = width if bits is None else bits[1]
        self.radix = radix or ("bin" if shown == 1 else radix_for(alias or path))

    @property
    def name(self):
        """The variable as GTKWave names it: with ``[msb:0]`` when wider than one bit."""
        return self.path if self.width == 1 else f"{self.path}[{self.width - 1}:0]"

    def field(self, lsb, width, alias, *, radix=None, translate=None):
        """A trace of bits ``[lsb + width - 1:lsb]`` of this variable."""
        return Signal(self.path, self.width, self.direction, alias=alias, radix=radix,
                      bits=(lsb, width), translate=translate)

    def lines(self):
        """The save-file lines of the trace."""
        # A translate filter matches the value as shown: decimal, then the filter.
        flags = _FLAGS["dec"] | _TRANSLATED if self.translate else _FLAGS[self.radix]
        out = [f"@{flags:x}"]
        if self.translate:
            out.append(f"^1 {Path(self.translate).resolve()}")
        alias = self.alias or self.path
        if self.bits is None or self.bits == (0, self.width):
            out.append(f"+{{{alias}}} {self.name}")
        else:
            lsb, width = self.bits
            # (n) picks bit n counted from the MSB of the variable; GTKWave builds a vector.
            picks = [f"({self.width - 1 - bit}){self.name}"
                     for bit in range(lsb + width - 1, lsb - 1, -1)]
            out.append(("+" if width == 1 else "#") + f"{{{alias}}} " + " ".join(picks))
        if self.translate:
            out.append("^0")
        return out

    def __repr__(self):
        return f"Signal({self.name!r}, alias={self.alias!r})"


def radix_for(name):
    """``"dec"`` for IDs, INTIDs, ring offsets and counts (by name), else ``"hex"``."""
    return "dec" if _DECIMAL.search(name.lower().replace("__", ".")) else "hex"


# --- the design ----------------------------------------------------------------------------------

def modules(verilog):
    """``{module name: ([(name, width, "input" or "output")], body)}`` of every module."""
    text = Path(verilog).read_text()
    starts = [(match.start(), match[1]) for match in _MODULE.finditer(text)]
    result = {}
    for index, (start, name) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(text)
        body = text[start:end]
        found = []
        for match in _PORT.finditer(body):
            width = int(match[2]) - int(match[3]) + 1 if match[2] is not None else 1
            found.append((match[4].lstrip("\\"), width, match[1]))
        result[name.lstrip("\\")] = (found, body)
    return result


def instances(verilog, top):
    """``{instance path: module name}`` of the hierarchy under module ``top``."""
    found = modules(verilog)
    paths = {top: top}

    def walk(path, module):
        _, body = found[module]
        for match in _INSTANCE.finditer(body):
            child = match[1].lstrip("\\")
            if child in found:
                paths[f"{path}.{match[2]}"] = child
                walk(f"{path}.{match[2]}", child)
    walk(top, top)
    return paths


def ports(verilog, path, module, prefixes=None):
    """The :class:`Signal` of each port of the instance ``path`` of ``module`` whose name
    starts with one of ``prefixes`` (all ports when None)."""
    found = modules(verilog)
    return [Signal(f"{path}.{name}", width, direction)
            for name, width, direction in found[module][0]
            if prefixes is None or name.startswith(tuple(prefixes))]


def verilog_enums(verilog):
    """``{module: {wire: {value: member name}}}`` from the ``enum_value_*`` attributes
    Amaranth writes on enum-shaped wires and ports."""
    result = {}
    for module, (_, body) in modules(verilog).items():
        wires = {}
        for match in _ENUM_WIRE.finditer(body):
            members = {int(bits, 2): name for bits, name in _ENUM_VALUE.findall(match[1])}
            if members:
                wires[match[4].lstrip("\\")] = members
        result[module] = wires
    return result


def fsm_states(top):
    """``{instance path under top: {state signal: {value: state name}}}`` of every FSM of
    an Amaranth design (``"translator.walker": {"fsm_state": {0: "IDLE", ...}}``): what the
    simulator's VCD shows by name, for a Verilog simulator's dump that holds numbers."""
    from amaranth.hdl import Fragment

    found = {}

    def walk(fragment, path):
        states = {}
        for statements in fragment.statements.values():
            for statement in statements:
                for signal in statement._lhs_signals():
                    decoder = signal.decoder
                    if (signal.name.endswith("_state") and callable(decoder)
                            and not isinstance(decoder, type) and signal.name not in states):
                        names = {}
                        for value in range(1 << len(signal)):
                            try:
                                names[value] = decoder(value).split("/")[0]
                            except (KeyError, IndexError):
                                break
                        states[signal.name] = names
        if states:
            found[".".join(path)] = states
        for child, name, _ in fragment.subfragments:
            walk(child, path + [name if isinstance(name, str) else f"U${len(path)}"])
    walk(Fragment.get(top, None), [])
    return found


# --- the dump ------------------------------------------------------------------------------------

def _vcd_header(lines):
    """``({full name: width}, timescale)`` from VCD header lines."""
    names, scope, timescale, in_timescale = {}, [], None, False
    for line in lines:
        words = line.split()
        if not words:
            continue
        if in_timescale:
            timescale = " ".join(w for w in words if w != "$end") or timescale
            in_timescale = "$end" not in words
        elif words[0] == "$timescale":
            rest = [w for w in words[1:] if w != "$end"]
            timescale = " ".join(rest) or None
            in_timescale = "$end" not in words
        elif words[0] == "$scope":
            scope.append(words[2])
        elif words[0] == "$upscope":
            scope.pop()
        elif words[0] == "$var":
            name = words[4]
            if name.startswith("\\"):
                name = name[1:]
            names[".".join(scope + [name])] = int(words[2]) if words[1] != "string" else 0
        elif words[0] == "$enddefinitions":
            break
    return names, timescale


def _fst2vcd_header(fst):
    tool = shutil.which("fst2vcd")
    if tool is None:
        return None
    lines = []
    with subprocess.Popen([tool, "-f", str(fst)], stdout=subprocess.PIPE, text=True,
                          errors="replace") as process:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("$enddefinitions"):
                process.kill()
                break
    return lines


def dump_vars(dump):
    """``{full name: width}`` of the variables of a VCD or an FST (``scope.name``, escapes
    stripped; width 0 for a VCD string variable such as an enum Amaranth writes by name),
    or None for an FST when GTKWave's ``fst2vcd`` is not installed."""
    dump = Path(dump)
    if dump.suffix == ".fst":
        lines = _fst2vcd_header(dump)
        return None if lines is None else _vcd_header(lines)[0]
    with open(dump, errors="replace") as file:
        return _vcd_header(file)[0]


def signals_in_fst(fst):
    """The full names (``scope.name``) of the variables an FST holds, or None when GTKWave's
    ``fst2vcd`` is not installed."""
    found = dump_vars(fst)
    return None if found is None else set(found)


def dump_span(dump):
    """``(first, last)`` time stamp of a VCD or an FST, in the dump's time unit."""
    dump = Path(dump)
    if dump.suffix == ".fst":
        with open(dump, "rb") as file:
            head = file.read(25)
        if len(head) == 25 and head[0] == 0:            # FST_BL_HDR: start and end time
            return struct.unpack(">QQ", head[9:25])
        raise ValueError(f"{dump}: no FST header block (a wrapped or unfinished FST)")
    first = None
    with open(dump, "rb") as file:
        for line in file:
            if line.startswith(b"#"):
                first = int(line[1:])
                break
        size = file.seek(0, 2)
        file.seek(max(0, size - 65536))
        tail = file.read().splitlines()
    stamps = [int(line[1:]) for line in tail if line.startswith(b"#") and line[1:].isdigit()]
    if first is None or not stamps:
        raise ValueError(f"{dump}: no time stamps")
    return first, stamps[-1]


# --- layouts and enums ---------------------------------------------------------------------------

def write_enum_filter(path, members):
    """Write a GTKWave translate filter file: one ``value name`` line per member, the
    value in decimal (the trace is shown in decimal, then translated).

    ``members`` is an ``amaranth.lib.enum`` class or ``{value: name}``."""
    if isinstance(members, type) and issubclass(members, enum.Enum):
        members = {member.value: member.name for member in members}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{value} {name}\n" for value, name in sorted(members.items())))
    return path


def layout_traces(signal, layout, filters, *, prefix=None, views=None, skip=()):
    """One :class:`Signal` per field of ``signal`` (a variable holding ``layout``).

    Parameters
    ----------
    signal : Signal
        The whole variable.
    layout : layout-castable
        Its layout (``data.Layout.cast``): struct fields recurse, padding (``_x``) is
        left out; a union shows the member ``views`` names for its path (default: none).
    filters : Path
        Folder for the enum filter files (``<Enum>.txt``).
    prefix : str or None
        The aliases' prefix (default: the signal's alias).
    skip : iterable of str
        Field paths (``"packet.target"``) left out.
    """
    layout = data.Layout.cast(layout)
    if layout.size != signal.width:
        return [signal]
    views = views or {}
    prefix = prefix if prefix is not None else (signal.alias or signal.path)
    traces = []
    leaves = {}

    def count(layout):
        if isinstance(layout, data.UnionLayout):
            return
        for name, field in layout:
            leaves[name] = leaves.get(name, 0) + 1
            try:
                count(data.Layout.cast(field.shape))
            except TypeError:
                pass
    count(layout)

    def leaf(path, name):
        """The field's name, with its path (``packet/op``) only where names repeat; no
        ".": GTKWave shows an alias from its last "." on."""
        return name if leaves.get(name, 0) <= 1 else "/".join(path + [name])

    def walk(layout, offset, path):
        if isinstance(layout, data.UnionLayout):
            view = views.get(".".join(path))
            if view is None:
                return
            walk(data.Layout.cast(layout[view].shape), offset, path)
            return
        for name, field in layout:
            if name.startswith("_") or ".".join(path + [name]) in skip:
                continue
            shape, alias = field.shape, f"{prefix} {leaf(path, name)}"
            if isinstance(shape, type) and issubclass(shape, enum.Enum):
                translate = write_enum_filter(Path(filters) / f"{shape.__name__}.txt", shape)
                traces.append(signal.field(offset + field.offset, field.width, alias,
                                           translate=translate))
                continue
            try:
                inner = data.Layout.cast(shape)
            except TypeError:
                traces.append(signal.field(offset + field.offset, field.width, alias))
            else:
                walk(inner, offset + field.offset, path + [name])
    walk(layout, 0, [])
    return traces or [signal]


class Picker:
    """Makes the traces of variables a dump holds: ``pick(path, alias, layout=...)``.

    Parameters
    ----------
    found : dict
        :func:`dump_vars` of the dump: a variable it lacks gives no trace, so a save file
        names only what exists.
    filters : Path
        Folder for the translate filter files.
    fsms : dict or None
        ``{full variable name: {value: state name}}`` (:func:`fsm_states`): numeric state
        variables are shown by name (a VCD from Amaranth's simulator names them itself).
    """

    def __init__(self, found, filters, fsms=None):
        self.found = found
        self.filters = Path(filters)
        self.fsms = fsms or {}

    def __call__(self, path, alias=None, *, radix=None, layout=None, views=None, skip=(),
                 enums=None):
        """The traces of variable ``path`` (none when the dump lacks it): the whole
        variable, or with ``layout`` one per field (``enums``: ``{field path: Enum}`` for
        raw fields shown by name)."""
        width = self.found.get(path)
        if width is None:
            return []
        if width == 0:                              # a VCD string: Amaranth wrote names
            return [Signal(path, 1, alias=alias, radix="bin")]
        translate = None
        if path in self.fsms and self.fsms[path]:
            translate = write_enum_filter(
                self.filters / f"fsm_{path.replace('.', '_')}.txt", self.fsms[path])
        signal = Signal(path, width, alias=alias, radix=radix, translate=translate)
        if layout is None:
            return [signal]
        traces = layout_traces(signal, layout, self.filters, views=views, skip=skip)
        for trace in traces:
            field = (trace.alias or "")[len(alias or path) + 1:]
            if enums and field in enums and trace.bits is not None:
                trace.translate = write_enum_filter(
                    self.filters / f"{enums[field].__name__}.txt", enums[field])
        return traces


# --- the save file -------------------------------------------------------------------------------

SIZE = (1600, 960)
"""The window the save file asks for (pixels)."""
SIGNALS_WIDTH = 330
"""The width of the signal-name pane (pixels); the SST (hierarchy) pane starts closed."""


SST_WIDTH = 220
"""The width the hierarchy pane takes even closed (pixels)."""


def _wave_pixels(width, signals_width, sst_width):
    """The wave pane's width in a window ``width`` wide (borders and scroll bar off)."""
    return width - signals_width - sst_width - 40


def _zoom(span, wave_pixels):
    """GTKWave's zoom for ``span`` time units across ``wave_pixels`` (its Zoom Fit formula:
    ``-log2(span * 200 / pixels)``)."""
    return -math.log2(max(span, 1) * 200.0 / wave_pixels)


def write_save_file(path, dump, groups, *, comment="", window=None):
    """Write a GTKWave save file.

    Parameters
    ----------
    path : Path
        The ``.gtkw`` to write.
    dump : Path
        The FST (or VCD) it opens.
    groups : list of (str, list of Signal, bool)
        Name, traces and whether the group starts expanded.
    window : (int, int) or None
        The time window of the first view, in the dump's time unit; default the whole
        dump (:func:`dump_span`; 0..1 when the dump cannot be read yet).
    """
    if window is None:
        try:
            window = dump_span(dump)
        except (OSError, ValueError):
            window = (0, 1)
    start, end = window
    wave_pixels = _wave_pixels(SIZE[0], SIGNALS_WIDTH, SST_WIDTH)
    lines = [f"[*] {comment}" if comment else "[*] generated by tb/common/gtkw.py",
             f'[dumpfile] "{Path(dump).resolve()}"', f'[savefile] "{Path(path).resolve()}"',
             f"[timestart] {start}", f"[size] {SIZE[0]} {SIZE[1]}", f"[sst_width] {SST_WIDTH}",
             f"[signals_width] {SIGNALS_WIDTH}", "[sst_expanded] 0",
             f"*{_zoom(end - start, wave_pixels):.6f} -1"]
    for name, signals, expanded in groups:
        begin, finish = _GROUP[expanded]
        lines += [begin, f"-{name}"]
        for signal in signals:
            lines += signal.lines()
        lines += [finish, f"-{name}"]
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


class SaveFile:
    """What a save file shows: ``groups`` (names, in order), ``variables`` (each variable
    a trace reads, as ``(full name, width)``), ``aliases``, ``filters`` (translate filter
    files), and the first view's ``window`` ``(start, end)`` in the dump's time unit."""

    def __init__(self, groups, variables, aliases, filters, window, dumpfile):
        self.groups = groups
        self.variables = variables
        self.aliases = aliases
        self.filters = filters
        self.window = window
        self.dumpfile = dumpfile


_RANGE = re.compile(r"^(.*?)(?:\[(\d+):(\d+)\])?$")


def _variable(token):
    token = re.sub(r"^\(\d+\)", "", token)
    match = _RANGE.match(token)
    width = 1 if match[2] is None else int(match[2]) - int(match[3]) + 1
    return match[1].replace("\\", ""), width


def read_save_file(path):
    """Parse a save file written by :func:`write_save_file` (:class:`SaveFile`)."""
    groups, variables, aliases, filters = [], [], [], []
    start, zoom, size, dumpfile, depth = 0, 0.0, SIZE, None, 0
    signals_width, sst_width = SIGNALS_WIDTH, SST_WIDTH
    for line in Path(path).read_text().splitlines():
        if not line or line.startswith("[*]"):
            continue
        if line.startswith("[timestart]"):
            start = int(line.split()[1])
        elif line.startswith("[size]"):
            size = tuple(int(word) for word in line.split()[1:3])
        elif line.startswith("[signals_width]"):
            signals_width = int(line.split()[1])
        elif line.startswith("[sst_width]"):
            sst_width = int(line.split()[1])
        elif line.startswith("[dumpfile]"):
            dumpfile = line.split('"')[1]
        elif line.startswith("["):
            continue
        elif line.startswith("*"):
            zoom = float(line[1:].split()[0])
        elif line.startswith("@"):
            flags = int(line[1:], 16)
            if flags & 0x800000:
                depth += 1
                opening = True
            elif flags & 0x1000000:
                depth -= 1
                opening = False
            else:
                opening = None
        elif line.startswith("-"):
            if opening:
                groups.append(line[1:])
        elif line.startswith("^"):
            if not line.startswith("^0"):
                filters.append(line.split(None, 1)[1])
        elif line.startswith(("+", "#")):
            alias, rest = line[2:].split("}", 1)
            aliases.append(alias)
            variables += [_variable(token) for token in rest.split()]
        else:
            variables.append(_variable(line))
    wave_pixels = _wave_pixels(size[0], signals_width, sst_width)
    span = 2.0 ** (-zoom) * wave_pixels / 200.0
    return SaveFile(groups, sorted(set(variables)), aliases, filters,
                    (start, start + span), dumpfile)


def check_save_file(path, dump=None):
    """The problems of a save file against its dump: variables it names that the dump
    lacks (or with another width), missing filter files, a first view outside the dump or
    mostly empty. Returns a list of messages (empty: fine)."""
    save = read_save_file(path)
    dump = Path(dump or save.dumpfile)
    found = dump_vars(dump)
    problems = []
    if found is None:
        problems.append(f"cannot read {dump} (fst2vcd missing)")
        found = {}
    for name, width in save.variables:
        if name not in found:
            problems.append(f"{name}: not in {dump.name}")
        elif found[name] not in (width, 0):
            problems.append(f"{name}: {width} bits in the save file, {found[name]} in the dump")
    for name in save.filters:
        if not Path(name).exists():
            problems.append(f"translate filter {name} missing")
    first, last = dump_span(dump)
    start, end = save.window
    if not last > first:
        problems.append(f"{dump.name} spans no time ({first}..{last})")
    if not first <= start < last:
        problems.append(f"the view starts at {start}, outside the dump ({first}..{last})")
    shown = min(end, last) - max(start, first)
    if shown < 0.9 * (last - first) and shown < 0.9 * (end - start):
        problems.append(f"the view {start}..{end:.0f} shows {shown:.0f} of the dump's "
                        f"{first}..{last}")
    if end - start > 2 * (last - first):
        problems.append(f"the view {start}..{end:.0f} is mostly past the dump's end ({last})")
    return problems
