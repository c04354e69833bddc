"""Register access of one register frame, shared by the reference models.

:class:`RegisterFile` implements the access rules that the ITS frame
(:class:`gic.sim.models.its.ItsModel`) and the redistributor frame
(:class:`gic.sim.models.gicr.RedistributorModel`) have in common: 4- and 8-byte
aligned accesses; an 8-byte access to a 64-bit register reaches it whole; any
other access is split into 32-bit words; a 64-bit register takes 32-bit accesses
to either half (a write sets the other half to what it reads); unknown offsets
read 0 and ignore writes, and so do read-only registers on a write.
"""

__all__ = ["RegisterFile"]

_WORD_MASK = (1 << 32) - 1


class RegisterFile:
    """The registers of one frame, reached by byte offset.

    Parameters
    ----------
    registers : iterable of gic.hw.its.regmap.Register
        The frame's register table (offsets and widths).
    handlers : dict of int to (callable, callable or None)
        By register offset, ``(read, write)``: ``read()`` returns the register's
        value, ``write(value)`` sets it (None: read-only). A register in
        ``registers`` without handlers reads 0 and ignores writes.
    frame_bytes : int
        The size of the frame; an access outside it is an error.
    frame_name : str
        How the frame is called in error messages.
    """

    def __init__(self, registers, handlers, *, frame_bytes, frame_name):
        self._widths = {register.offset: register.width for register in registers}
        self._handlers = handlers
        self._frame_bytes = frame_bytes
        self._frame_name = frame_name

    def read(self, offset: int, size: int = 8) -> int:
        """Read ``size`` (4 or 8) bytes at byte ``offset`` of the frame.

        Raises
        ------
        ValueError
            For a size other than 4 or 8, a misaligned offset, or one outside the frame.
        """
        self._check_access(offset, size)
        if size == 8 and self._widths.get(offset) == 64:
            return self._read_register(offset)
        return sum(self._read_word(offset + 4 * n) << (32 * n) for n in range(size // 4))

    def write(self, offset: int, value: int, size: int = 8, **sideband) -> None:
        """Write ``size`` (4 or 8) bytes of ``value`` at byte ``offset`` of the frame.

        ``sideband`` goes with every 32-bit word to :meth:`_write_word`.

        Raises
        ------
        ValueError
            For a size other than 4 or 8, a misaligned offset, one outside the frame,
            or a value that does not fit in ``size`` bytes.
        """
        self._check_access(offset, size)
        if not 0 <= value < 1 << (8 * size):
            raise ValueError(f"value {value:#x} does not fit in a {size}-byte write")
        if size == 8 and self._widths.get(offset) == 64:
            self._write_register(offset, value)
            return
        for n in range(size // 4):
            self._write_word(offset + 4 * n, (value >> (32 * n)) & _WORD_MASK, **sideband)

    def _check_access(self, offset, size):
        if size not in (4, 8):
            raise ValueError(f"access size must be 4 or 8 bytes, not {size!r}")
        if offset % size:
            raise ValueError(f"a {size}-byte access must be {size}-byte aligned, "
                             f"not at offset {offset:#x}")
        if not 0 <= offset <= self._frame_bytes - size:
            raise ValueError(f"offset {offset:#x} is outside the {self._frame_bytes // 1024} KiB "
                             f"{self._frame_name} frame")

    def _locate(self, offset):
        """``(register offset, bit position)`` of the 32-bit word at ``offset``, or None."""
        for base in (offset, offset - 4):
            width = self._widths.get(base)
            if width is not None and offset - base < width // 8:
                return base, 8 * (offset - base)
        return None

    def _read_register(self, offset):
        read, _ = self._handlers.get(offset, (lambda: 0, None))
        return read()

    def _write_register(self, offset, value):
        _, write = self._handlers.get(offset, (None, None))
        if write is not None:
            write(value)

    def _read_word(self, offset):
        located = self._locate(offset)
        if located is None:
            return 0
        base, shift = located
        return (self._read_register(base) >> shift) & _WORD_MASK

    def _write_word(self, offset, value):
        """Write the 32-bit word at ``offset``; a subclass taking a sideband overrides it."""
        located = self._locate(offset)
        if located is None:
            return
        base, shift = located
        other = self._read_register(base) & ~(_WORD_MASK << shift)
        self._write_register(base, other | (value << shift))
