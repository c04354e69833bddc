"""What the demo and `its host` print, read back for the tests: rich tables, and the
priority the scripted set-up gives each LPI (as sim/tools/gicdemo.py documents it)."""


def table_rows(text, title):
    """The body rows (lists of cell strings) of the rich table titled ``title``."""
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if title in line)
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("└"):
            return rows
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        if line.startswith("│") and cells[0]:       # not a wrapped continuation line
            rows.append(cells)
    raise AssertionError(f"table {title!r} has no end")


def priority(lpi):
    """The demo's priority of LPI ``lpi``, as documented in sim/tools/gicdemo.py."""
    index = lpi - 8192
    return 0x20 + 8 * ((7 * index + index // 4) % 24)
