"""The build parameters of one ITS, shared by the RTL, the models and the tools."""

from dataclasses import dataclass, fields

from amaranth.lib import data

from .layouts import GitsTyper, IttEntry

__all__ = ["ItsParams", "ERROR_POLICIES"]

ERROR_POLICIES = ("skip", "stall")


def _check_range(name, value, low, high, why=""):
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in {low}..{high}{why}, not {value!r}")


def _check_power_of_two(name, value, low, high):
    _check_range(name, value, low, high)
    if value & (value - 1):
        raise ValueError(f"{name} must be a power of two in {low}..{high}, not {value!r}")


@dataclass(frozen=True)
class ItsParams:
    """Parameters of one ITS build.

    Parameters
    ----------
    device_bits : int
        DeviceID bits (GITS_TYPER.Devbits + 1), 1..20.
    event_bits : int
        EventID bits (GITS_TYPER.ID_bits + 1): the largest ITT a MAPD may ask for, 1..20.
    id_bits : int
        LPI INTID bits (as GICD_TYPER.IDbits + 1), 14..16: pINTIDs are 8192..2**id_bits-1.
    collection_bits : int
        ICID bits (GITS_TYPER.CIDbits + 1), 1..16.
    hcc : int
        Collections held on chip (GITS_TYPER.HCC), 0..255 and at most 2**collection_bits;
        ICIDs at or above it live in the memory collection table.
    num_redistributors : int
        Redistributors on the GIC stream (processor numbers 0..n-1), 1..64.
    tcache_entries : int
        Translation-cache entries ((DeviceID, EventID) -> pINTID, ICID), a power of two 1..256.
    dcache_entries : int
        Device-cache entries (DeviceID -> ITT base, size), a power of two 1..64.
    error_policy : str
        ``"skip"``: record a command error and go on; ``"stall"``: set CREADR.Stalled and stop.
    mem_data_width : int
        Data width of the AXI4 master to memory in bits: 64, 128 or 256.
    """

    device_bits: int = 16
    event_bits: int = 16
    id_bits: int = 16
    collection_bits: int = 16
    hcc: int = 4
    num_redistributors: int = 4
    tcache_entries: int = 16
    dcache_entries: int = 4
    error_policy: str = "skip"
    mem_data_width: int = 64

    def __post_init__(self):
        _check_range("device_bits", self.device_bits, 1, 20)
        _check_range("event_bits", self.event_bits, 1, 20)
        _check_range("id_bits", self.id_bits, 14, 16,
                     " (LPIs start at INTID 8192; the 8-byte ITE holds 16-bit INTIDs)")
        _check_range("collection_bits", self.collection_bits, 1, 16)
        _check_range("hcc", self.hcc, 0, min(255, 1 << self.collection_bits),
                     " (GITS_TYPER.HCC is 8 bits and at most 2**collection_bits)")
        _check_range("num_redistributors", self.num_redistributors, 1, 64)
        _check_power_of_two("tcache_entries", self.tcache_entries, 1, 256)
        _check_power_of_two("dcache_entries", self.dcache_entries, 1, 64)
        if self.error_policy not in ERROR_POLICIES:
            raise ValueError(f"error_policy must be one of {', '.join(ERROR_POLICIES)}, "
                             f"not {self.error_policy!r}")
        if self.mem_data_width not in (64, 128, 256):
            raise ValueError(f"mem_data_width must be 64, 128 or 256, not {self.mem_data_width!r}")

    @classmethod
    def names(cls):
        """The parameter names, in declaration order."""
        return [f.name for f in fields(cls)]

    @property
    def num_collections(self):
        """ICIDs that exist: 0 .. 2**collection_bits - 1."""
        return 1 << self.collection_bits

    @property
    def rd_bits(self):
        """Bits needed for a redistributor number."""
        return max(1, (self.num_redistributors - 1).bit_length())

    @property
    def typer(self):
        """The GITS_TYPER value these parameters imply (a 64-bit integer)."""
        return GitsTyper.const({
            "physical": 1,
            "virtual": 0,
            "itt_entry_size": data.Layout.cast(IttEntry).size // 8 - 1,
            "id_bits": self.event_bits - 1,
            "devbits": self.device_bits - 1,
            "seis": 0,
            "pta": 0,
            "hcc": self.hcc,
            "cid_bits": self.collection_bits - 1,
            "cil": 1,
        }).as_value().value
