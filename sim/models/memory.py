"""A sparse, byte-addressed, little-endian memory shared by every model and testbench.

It answers the reference model, the driver, the Amaranth and cocotb AXI
memory models and the TLM. Address ranges can be marked to fail with an AXI
error response (``SLVERR`` or ``DECERR``) to test error handling.
"""

__all__ = ["Memory", "BusError"]

_PAGE = 4096


class BusError(Exception):
    """An access touched a range marked as failing.

    Members
    -------
    addr : int
        The failing access's first byte address.
    resp : str
        ``"SLVERR"`` or ``"DECERR"``, the AXI response the bus would give.
    """

    def __init__(self, addr, resp):
        super().__init__(f"{resp} at {addr:#x}")
        self.addr = addr
        self.resp = resp


class Memory:
    """Sparse memory of ``size`` bytes (default 2**48); unwritten bytes read as zero.

    Parameters
    ----------
    size : int
        Bytes of address space; an access beyond it raises :class:`BusError` DECERR.
    """

    def __init__(self, size=1 << 48):
        self.size = size
        self._pages = {}
        self._faults = []
        self.reads = 0
        self.writes = 0

    def inject_error(self, addr, length, resp="SLVERR"):
        """Make every access overlapping ``[addr, addr+length)`` fail with ``resp``."""
        if resp not in ("SLVERR", "DECERR"):
            raise ValueError(f"resp must be SLVERR or DECERR, not {resp!r}")
        self._faults.append((addr, addr + length, resp))

    def clear_errors(self):
        """Remove every injected error."""
        self._faults.clear()

    def fault(self, addr, length):
        """The AXI error an access to ``[addr, addr+length)`` gets, or None."""
        if addr < 0 or addr + length > self.size:
            return "DECERR"
        for start, end, resp in self._faults:
            if addr < end and start < addr + length:
                return resp
        return None

    def _check(self, addr, length):
        resp = self.fault(addr, length)
        if resp is not None:
            raise BusError(addr, resp)

    def read(self, addr, length):
        """``length`` bytes from ``addr``. Raises :class:`BusError` on an injected error."""
        self._check(addr, length)
        self.reads += 1
        out = bytearray()
        while length:
            page, offset = divmod(addr, _PAGE)
            chunk = min(length, _PAGE - offset)
            data = self._pages.get(page)
            out += data[offset:offset + chunk] if data is not None else bytes(chunk)
            addr += chunk
            length -= chunk
        return bytes(out)

    def write(self, addr, data):
        """Write ``data`` at ``addr``. Raises :class:`BusError` on an injected error."""
        self._check(addr, len(data))
        self.writes += 1
        data = bytes(data)
        while data:
            page, offset = divmod(addr, _PAGE)
            chunk = min(len(data), _PAGE - offset)
            buf = self._pages.setdefault(page, bytearray(_PAGE))
            buf[offset:offset + chunk] = data[:chunk]
            addr += chunk
            data = data[chunk:]

    def read_int(self, addr, length=8):
        """A little-endian unsigned integer of ``length`` bytes."""
        return int.from_bytes(self.read(addr, length), "little")

    def write_int(self, addr, value, length=8):
        """Write ``value`` as a little-endian unsigned integer of ``length`` bytes."""
        self.write(addr, value.to_bytes(length, "little"))

    def fill(self, addr, length, byte=0):
        """Set ``length`` bytes from ``addr`` to ``byte`` (zeroing a table)."""
        self.write(addr, bytes([byte]) * length)
