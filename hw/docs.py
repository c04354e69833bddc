"""The descriptions of enumeration members and layout fields, read as data: the Members
section (numpydoc) of their docstrings, which is also what ``help()`` shows.

Used by the docs generation (:mod:`gic.sim.tools.docgen`), the Verilog wrappers' port
tables (:mod:`gic.hw.wrappers`) and the tools that explain a code to the user.
"""

import inspect

from amaranth.lib import data

__all__ = ["member_docs", "field_docs"]


def _section(doc, title="Members"):
    """``{name: description}`` of a numpydoc section of docstring ``doc``: a name at the
    section's indent, its description indented below it, up to the next section."""
    lines = inspect.cleandoc(doc or "").splitlines() + [""]
    heading = [index for index in range(len(lines) - 1)
               if lines[index].strip() and set(lines[index + 1].strip()) == {"-"}
               and len(lines[index + 1].strip()) == len(lines[index].strip())]
    entries, name = {}, None
    for start in heading:
        if lines[start].strip() != title:
            continue
        ends = [index for index in heading if index > start]
        for line in lines[start + 2:ends[0] if ends else len(lines)]:
            if line and not line.startswith(" "):
                name = line.split(":")[0].strip()
                entries[name] = []
            elif name is not None and line.strip():
                entries[name].append(line.strip())
    return {key: " ".join(value) for key, value in entries.items()}


def member_docs(enum_class):
    """The description of each member of ``enum_class``, by name: its docstring's Members
    section (``help(enum_class)`` shows the same)."""
    docs = _section(enum_class.__doc__)
    return {member.name: docs.get(member.name, "") for member in enum_class}


def field_docs(layout):
    """The description of each field of Struct ``layout``: the Members sections of the
    docstrings of it and the layouts it derives from."""
    docs = {}
    for klass in reversed(layout.__mro__):
        if issubclass(klass, (data.Struct, data.Union)) and \
                klass not in (data.Struct, data.Union):
            docs.update(_section(klass.__dict__.get("__doc__")))
    return docs
