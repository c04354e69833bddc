"""A Linux-style host driver for the ITS, over any :class:`gic.sim.driver.bus.ItsBus`.

It does what ``drivers/irqchip/irq-gic-v3-its.c`` does, in the same order:
read GITS_TYPER, disable the ITS and wait for Quiescent, probe every
GITS_BASERn by writing a value and reading it back (Page_Size 64K, then 16K,
then 4K; Indirect when the flat device table would not fit a page; whatever
shareability sticks), allocate and zero the tables and the command ring,
program GITS_CBASER and GITS_CWRITER, enable; then MAPC + INVALL + SYNC per
CPU. Commands go into the ring, GITS_CWRITER advances, and the driver polls
GITS_CREADR until the ITS consumed them (32-bit accesses, as Linux does).

Every register value and command is packed and unpacked through
``hw/its/layouts.py`` (via :func:`gic.sim.models.commands.pack` / ``unpack``).
"""

from collections import Counter
from dataclasses import dataclass

from gic.hw.its.layouts import (
    CBASER_PAGE, COMMAND_BYTES, ENTRY_BYTES, ITT_ALIGN, PAGE_BYTES,
    BaserType, Cmd, CmdError, DropReason,
    ErrCmdRecord, ErrMsiRecord, GitsBaser, GitsCbaser, GitsCreadr, GitsCtlr, GitsCwriter,
    GitsTyper, Level1Entry, QueryRequest, QueryResponse,
)
from gic.hw.its.regmap import NUM_BASERS, REG, STAT_COUNTERS, stat_offset
from gic.sim.models.commands import encode_command, pack, unpack

__all__ = ["ItsDriver", "ItsError", "ItsStalled", "ItsTimeout", "ItsProbeError",
           "ItsFeatures", "Table", "CommandErrorRecord", "MsiDropRecord", "QueryResult"]

BASER_PAGES_MAX = 256
"""GITS_BASERn.Size is 8 bits: a table has at most 256 pages."""
COLLECTION_TABLE_MAX = 65536
"""Bytes the driver gives the collection table at most (8192 ICIDs: more than enough CPUs)."""
SHAREABILITY_INNER = 1
"""Shareability field value for Inner Shareable, what Linux asks for."""
CACHE_RAWAWB = 7
"""InnerCache field value for Normal Write-back, read- and write-allocate (Linux's choice)."""
CACHE_NC = 1
"""InnerCache field value for Normal Non-cacheable, Linux's fallback when shareability reads 0."""
_PAGE_SIZE_CODE = {size: code for code, size in PAGE_BYTES.items()}


class ItsError(Exception):
    """Base of the driver's errors."""


class ItsProbeError(ItsError):
    """The ITS did not accept a configuration (a BASER or CBASER value did not stick)."""


class ItsTimeout(ItsError):
    """The ITS did not get where the driver waited for it within ``timeout_polls`` polls."""


class ItsStalled(ItsError):
    """The command queue stopped on a failing command (error policy ``stall``).

    Members
    -------
    code : CmdError or int
        The error code from GITS_ERR_CMD (an int if this driver does not know it).
    offset : int
        Ring byte offset of the failing command.
    cmd : int
        Its command number.
    """

    def __init__(self, code, offset, cmd):
        name = code.name if isinstance(code, CmdError) else f"{code:#08x}"
        super().__init__(f"command queue stalled at ring offset {offset:#x} on command "
                         f"{cmd:#04x}: {name}")
        self.code = code
        self.offset = offset
        self.cmd = cmd


@dataclass(frozen=True)
class ItsFeatures:
    """What GITS_TYPER says the ITS supports.

    Members
    -------
    device_bits, event_bits, collection_bits : int
        DeviceID, EventID and ICID widths.
    hcc : int
        Collections held on chip (ICIDs below it need no collection table).
    ite_bytes : int
        Bytes of one ITT entry.
    virtual : bool
        GICv4 virtual LPIs.
    """
    device_bits: int
    event_bits: int
    collection_bits: int
    hcc: int
    ite_bytes: int
    virtual: bool

    @classmethod
    def from_typer(cls, value):
        """Decode a GITS_TYPER value."""
        typer = unpack(GitsTyper, value)
        return cls(device_bits=typer["devbits"] + 1,
                   event_bits=typer["id_bits"] + 1,
                   # Without CIL the ICID is 16 bits wide (IHI 0069, GITS_TYPER.CIDbits).
                   collection_bits=typer["cid_bits"] + 1 if typer["cil"] else 16,
                   hcc=typer["hcc"],
                   ite_bytes=typer["itt_entry_size"] + 1,
                   virtual=bool(typer["virtual"]))


@dataclass(frozen=True)
class Table:
    """A table the driver allocated and programmed into GITS_BASERn.

    Members
    -------
    index : int
        n of GITS_BASERn.
    type : BaserType
    base : int
        Physical address (aligned to the page size).
    page_bytes : int
        The page size that stuck: 4096, 16384 or 65536.
    pages : int
        Pages allocated (GITS_BASERn.Size + 1).
    entry_bytes : int
        Bytes of one entry (GITS_BASERn.Entry_Size + 1).
    indirect : bool
        Two-level: ``base`` holds level-1 entries pointing at pages of entries.
    ids_wanted : int
        IDs (from 0) the driver sized the table for (it may have been capped).
    value : int
        The GITS_BASERn value read back after programming it.
    """
    index: int
    type: BaserType
    base: int
    page_bytes: int
    pages: int
    entry_bytes: int
    indirect: bool
    ids_wanted: int
    value: int

    @property
    def entries(self):
        """Entries of the table at ``base`` (level-1 entries when indirect)."""
        return self.pages * self.page_bytes // (ENTRY_BYTES if self.indirect else self.entry_bytes)

    @property
    def ids_per_level2_page(self):
        """IDs one level-2 page covers (two-level tables)."""
        return self.page_bytes // self.entry_bytes

    @property
    def ids(self):
        """IDs (from 0) the table covers: ``ids_wanted``, or fewer when it was capped."""
        capacity = self.entries * self.ids_per_level2_page if self.indirect else self.entries
        return min(self.ids_wanted, capacity)


@dataclass(frozen=True)
class CommandErrorRecord:
    """GITS_ERR_CMD, decoded.

    Members
    -------
    code : CmdError or int
    offset : int
        Ring byte offset of the failing command.
    cmd : int
        Its command number.
    overflow : bool
        Another error happened while this one was held.
    """
    code: object
    offset: int
    cmd: int
    overflow: bool


@dataclass(frozen=True)
class MsiDropRecord:
    """GITS_ERR_MSI, decoded.

    Members
    -------
    reason : DropReason
    device_id, event_id : int
        The dropped MSI (low bits, as the record holds them).
    overflow : bool
        Another MSI was dropped while this one was held.
    """
    reason: DropReason
    device_id: int
    event_id: int
    overflow: bool


@dataclass(frozen=True)
class QueryResult:
    """The answer of GITS_QUERY: what (DeviceID, EventID) would become.

    Members
    -------
    status : DropReason
        ``OK`` or why the MSI would be dropped.
    pintid : int
        The LPI (meaningful when ``status`` is OK).
    target : int
        The redistributor (meaningful when ``status`` is OK).
    """
    status: DropReason
    pintid: int
    target: int


def _round_up(value, granule):
    return -(-value // granule) * granule


def _does_not_stick(register, layout, written, readback):
    return ItsProbeError(f"{register} does not stick: wrote {pack(layout, **written):#018x}, "
                         f"read {pack(layout, **readback):#018x}")


def _command_error(code):
    try:
        return CmdError(code)
    except ValueError:
        return code


class ItsDriver:
    """Brings an ITS up and posts commands to it, the way Linux does.

    Parameters
    ----------
    bus : gic.sim.driver.bus.ItsBus
        How to reach the ITS and its memory.
    mem_base, mem_size : int
        The memory the driver may allocate tables, ITTs and the ring from.
    page_size : int
        Page size to ask for in GITS_BASERn first (65536, 16384 or 4096); the
        driver falls back to smaller ones the ITS supports.
    indirect : bool or None
        Two-level device table: True asks for it, False never, None when the
        flat table would be larger than one page. Falls back to flat when the
        ITS does not support it.
    collections : int or None
        ICIDs software wants (from 0). A collection table is allocated only
        when it exceeds GITS_TYPER.HCC; None asks for every ICID, up to
        :data:`COLLECTION_TABLE_MAX` bytes of table.
    ring_bytes : int
        Command ring size, a multiple of 4 KiB up to 1 MiB.
    timeout_polls : int
        Polls of a register before giving up with :class:`ItsTimeout`.

    Members
    -------
    features : ItsFeatures
        From GITS_TYPER, after :meth:`probe`.
    tables : dict of BaserType to Table
        The tables programmed by :meth:`probe`.
    ring_base : int
        Physical address of the command ring.
    posted : collections.Counter
        Commands posted, by :class:`Cmd` (or number).
    collections : dict of int to int
        ICID -> redistributor, as mapped by this driver.
    events : dict of (int, int) to (int, int)
        (DeviceID, EventID) -> (pINTID, ICID), as mapped by this driver.

    Raises
    ------
    ValueError
        For a parameter out of range.
    """

    def __init__(self, bus, *, mem_base=0x4000_0000, mem_size=16 << 20, page_size=65536,
                 indirect=None, collections=None, ring_bytes=65536, timeout_polls=10000):
        if page_size not in _PAGE_SIZE_CODE:
            raise ValueError(f"page_size must be 4096, 16384 or 65536, not {page_size!r}")
        if indirect not in (None, True, False):
            raise ValueError(f"indirect must be True, False or None, not {indirect!r}")
        if not isinstance(ring_bytes, int) or ring_bytes % CBASER_PAGE \
                or not CBASER_PAGE <= ring_bytes <= 256 * CBASER_PAGE:
            raise ValueError(f"ring_bytes must be a multiple of 4096 in 4096..1048576, "
                             f"not {ring_bytes!r}")
        if mem_base < 0 or mem_base % CBASER_PAGE:
            raise ValueError(f"mem_base must be a 4 KiB aligned address, not {mem_base!r}")
        if mem_size <= 0:
            raise ValueError(f"mem_size must be positive, not {mem_size!r}")
        if collections is not None and collections < 0:
            raise ValueError(f"collections must be None or >= 0, not {collections!r}")
        if not isinstance(timeout_polls, int) or timeout_polls < 1:
            raise ValueError(f"timeout_polls must be a positive integer, not {timeout_polls!r}")
        self.bus = bus
        self.mem_base = mem_base
        self.mem_size = mem_size
        self.page_size = page_size
        self.indirect = indirect
        self.wanted_collections = collections
        self.ring_bytes = ring_bytes
        self.timeout_polls = timeout_polls
        self.features = None
        self.tables = {}
        self.ring_base = None
        self.posted = Counter()
        self.collections = {}
        self.events = {}
        self._next_free = mem_base
        self._write = 0
        self._level2 = {}

    # -- memory -------------------------------------------------------------

    async def alloc(self, length, align):
        """Allocate ``length`` zeroed bytes aligned to ``align`` from the driver's memory.

        Raises
        ------
        ItsError
            When the memory given to the driver is exhausted.
        """
        addr = _round_up(self._next_free, align)
        end = self.mem_base + self.mem_size
        if addr + length > end:
            raise ItsError(f"driver memory exhausted: {length} bytes aligned to {align} do not "
                           f"fit in [{self.mem_base:#x}, {end:#x}); give the driver a larger "
                           f"mem_size")
        self._next_free = addr + length
        await self.bus.write_mem(addr, bytes(length))
        return addr

    # -- polling ------------------------------------------------------------

    async def _poll(self, sample, ready, what):
        value = None
        for _ in range(self.timeout_polls):
            value = await sample()
            if ready(value):
                return value
            await self.bus.idle()
        raise ItsTimeout(f"timed out after {self.timeout_polls} polls waiting for {what}")

    async def _creadr(self):
        creadr = unpack(GitsCreadr, await self.bus.read_reg(REG["GITS_CREADR"], 4))
        if creadr["stalled"]:
            record = await self.read_error()
            if record is None:
                raise ItsStalled(CmdError.NONE, creadr["offset"] * COMMAND_BYTES, 0)
            raise ItsStalled(record.code, record.offset, record.cmd)
        return creadr["offset"] * COMMAND_BYTES

    async def _ctlr(self):
        return unpack(GitsCtlr, await self.bus.read_reg(REG["GITS_CTLR"], 4))

    # -- probe --------------------------------------------------------------

    async def probe(self):
        """Read GITS_TYPER, disable, program the tables and the ring, enable.

        Returns
        -------
        ItsFeatures

        Raises
        ------
        ItsProbeError
            When a BASER or CBASER value does not stick.
        ItsTimeout
            When the ITS never reports Quiescent.
        ItsError
            When the tables do not fit in the driver's memory.
        """
        self.features = ItsFeatures.from_typer(await self.bus.read_reg(REG["GITS_TYPER"]))
        await self.bus.write_reg(REG["GITS_CTLR"], pack(GitsCtlr, enabled=0), 4)
        await self._poll(self._ctlr, lambda ctlr: ctlr["quiescent"], "GITS_CTLR.Quiescent")
        self.tables = {}
        for index in range(NUM_BASERS):
            table = await self._setup_baser(index)
            if table is not None:
                self.tables[table.type] = table
        await self._setup_ring()
        await self.bus.write_reg(REG["GITS_CTLR"], pack(GitsCtlr, enabled=1), 4)
        if not (await self._ctlr())["enabled"]:
            raise ItsProbeError("GITS_CTLR.Enabled does not stick")
        return self.features

    async def _write_baser(self, index, fields):
        offset = REG[f"GITS_BASER{index}"]
        await self.bus.write_reg(offset, pack(GitsBaser, **fields))
        return unpack(GitsBaser, await self.bus.read_reg(offset))

    async def _setup_baser(self, index):
        """Probe and program GITS_BASER``index``; None when it needs no table."""
        current = unpack(GitsBaser, await self.bus.read_reg(REG[f"GITS_BASER{index}"]))
        kind = current["type"]
        entry_bytes = current["entry_size"] + 1
        if kind == BaserType.DEVICES:
            ids = 1 << self.features.device_bits
        elif kind == BaserType.COLLECTIONS:
            ids = min(1 << self.features.collection_bits, COLLECTION_TABLE_MAX // entry_bytes)
            if self.wanted_collections is not None:
                ids = min(ids, self.wanted_collections)
            if ids <= self.features.hcc:
                return None
        else:
            return None         # unimplemented, or GICv4's vPE table (not used yet)
        # As its_setup_baser: Valid, RO fields preserved, Page_Size asked; fall back on read-back.
        fields = dict(current, valid=1)
        for page_bytes in (size for size in sorted(_PAGE_SIZE_CODE, reverse=True)
                           if size <= self.page_size):
            fields["page_size"] = _PAGE_SIZE_CODE[page_bytes]
            if (await self._write_baser(index, fields))["page_size"] == fields["page_size"]:
                break
        else:
            raise ItsProbeError(f"GITS_BASER{index} accepts none of the page sizes "
                                f"{self.page_size} bytes and below")
        indirect = False
        wants_indirect = ids * entry_bytes > page_bytes if self.indirect is None else self.indirect
        if kind == BaserType.DEVICES and wants_indirect:
            # its_parse_indirect_baser: write Indirect=1, keep it if it reads back.
            indirect = bool((await self._write_baser(index, dict(fields, indirect=1)))["indirect"])
        if indirect:
            table_bytes = -(-ids // (page_bytes // entry_bytes)) * ENTRY_BYTES
        else:
            table_bytes = ids * entry_bytes
        pages = min(BASER_PAGES_MAX, -(-table_bytes // page_bytes))
        base = await self.alloc(pages * page_bytes, page_bytes)
        fields.update(indirect=int(indirect), pa=base // CBASER_PAGE, size=pages - 1,
                      shareability=SHAREABILITY_INNER, inner_cache=CACHE_RAWAWB, outer_cache=0)
        readback = await self._write_baser(index, fields)
        if readback["shareability"] != fields["shareability"]:
            # Shareability did not stick: use what did, non-cacheable if non-shareable (as Linux).
            fields["shareability"] = readback["shareability"]
            if not readback["shareability"]:
                fields["inner_cache"] = CACHE_NC
            readback = await self._write_baser(index, fields)
        if readback != fields:
            raise _does_not_stick(f"GITS_BASER{index}", GitsBaser, fields, readback)
        return Table(index=index, type=kind, base=base, page_bytes=page_bytes, pages=pages,
                     entry_bytes=entry_bytes, indirect=indirect, ids_wanted=ids,
                     value=pack(GitsBaser, **readback))

    async def _setup_ring(self):
        self.ring_base = await self.alloc(self.ring_bytes, CBASER_PAGE)
        fields = {"valid": 1, "pa": self.ring_base // CBASER_PAGE,
                  "size": self.ring_bytes // CBASER_PAGE - 1,
                  "shareability": SHAREABILITY_INNER, "inner_cache": CACHE_RAWAWB}
        await self.bus.write_reg(REG["GITS_CBASER"], pack(GitsCbaser, **fields))
        readback = unpack(GitsCbaser, await self.bus.read_reg(REG["GITS_CBASER"]))
        if any(readback[name] != fields[name] for name in ("valid", "pa", "size")):
            raise _does_not_stick("GITS_CBASER", GitsCbaser, fields, readback)
        self._write = 0
        await self.bus.write_reg(REG["GITS_CWRITER"], pack(GitsCwriter, offset=0), 4)

    async def resync(self):
        """Take GITS_CWRITER as the next free ring slot again.

        For software that moved CWRITER behind the driver's back, or after a
        GITS_CBASER write (which resets CWRITER and CREADR to 0).
        """
        cwriter = unpack(GitsCwriter, await self.bus.read_reg(REG["GITS_CWRITER"], 4))
        self._write = cwriter["offset"] * COMMAND_BYTES

    async def init_cpus(self, count):
        """Map collection ``cpu`` to redistributor ``cpu`` for each CPU, as Linux does at boot.

        Posts MAPC, INVALL and SYNC per CPU (its_cpu_init_collections).
        """
        await self.send_batch([command for cpu in range(count) for command in (
            (Cmd.MAPC, {"icid": cpu, "rdbase": cpu, "valid": 1}),
            (Cmd.INVALL, {"icid": cpu}),
            (Cmd.SYNC, {"rdbase": cpu}),
        )])

    # -- command queue ------------------------------------------------------

    def _sync_target(self, cmd, fields):
        """The redistributor a SYNC after this command goes to, or None (its_build_*_cmd)."""
        if cmd == Cmd.MAPC:
            return fields.get("rdbase", 0)
        if cmd == Cmd.MOVALL:
            return fields.get("rdbase2", 0)
        if cmd in (Cmd.MAPTI, Cmd.MAPI, Cmd.MOVI, Cmd.INVALL):
            return self.collections.get(fields.get("icid", 0))
        if cmd in (Cmd.INT, Cmd.CLEAR, Cmd.INV, Cmd.DISCARD):
            mapping = self.events.get((fields.get("device_id", 0), fields.get("event_id", 0)))
            return None if mapping is None else self.collections.get(mapping[1])
        return None

    def _track(self, cmd, fields):
        """Keep the driver's view of collections and events in step with a posted command."""
        device_event = (fields.get("device_id", 0), fields.get("event_id", 0))
        if cmd == Cmd.MAPC:
            if fields.get("valid", 0):
                self.collections[fields.get("icid", 0)] = fields.get("rdbase", 0)
            else:
                self.collections.pop(fields.get("icid", 0), None)
        elif cmd == Cmd.MAPTI:
            self.events[device_event] = (fields.get("pintid", 0), fields.get("icid", 0))
        elif cmd == Cmd.MAPI:
            self.events[device_event] = (device_event[1], fields.get("icid", 0))
        elif cmd == Cmd.MOVI and device_event in self.events:
            self.events[device_event] = (self.events[device_event][0], fields.get("icid", 0))
        elif cmd == Cmd.DISCARD:
            self.events.pop(device_event, None)
        elif cmd == Cmd.MAPD:
            # A new or removed ITT forgets every event of the device.
            for key in [key for key in self.events if key[0] == device_event[0]]:
                del self.events[key]

    async def send(self, cmd, *, sync=False, **fields):
        """Post one command and wait until the ITS consumed it.

        Parameters
        ----------
        cmd : Cmd or int
            Command number; fields by name as :func:`gic.sim.models.commands.encode_command` takes them.
        sync : bool
            Follow it with a SYNC to the redistributor it affects, as Linux
            does after each mapping command.

        Raises
        ------
        ItsStalled
            The queue stalled on a failing command (stall policy).
        ItsTimeout
            CREADR did not reach the end of the posted commands.
        """
        await self.send_batch([(cmd, fields)], sync=sync)

    async def send_batch(self, commands, *, sync=False):
        """Post many commands with as few CWRITER advances as the ring allows, then wait.

        Parameters
        ----------
        commands : iterable of (Cmd or int, dict)
            Commands and their fields, in order.
        sync : bool
            A SYNC after each command that affects a redistributor.

        Raises
        ------
        ItsStalled, ItsTimeout
            As :meth:`send`.
        """
        raw = []
        for cmd, fields in commands:
            target = self._sync_target(cmd, fields) if sync else None
            self._track(cmd, fields)
            raw.append(encode_command(cmd, **fields))
            self.posted[cmd] += 1
            if target is not None:
                raw.append(encode_command(Cmd.SYNC, rdbase=target))
                self.posted[Cmd.SYNC] += 1
        await self._post(raw)

    def _free_slots(self, readr):
        # One slot stays empty so that CREADR == CWRITER means empty (as Linux).
        return ((readr - self._write) // COMMAND_BYTES - 1) % (self.ring_bytes // COMMAND_BYTES)

    async def _post(self, raw):
        done = 0
        while done < len(raw):
            readr = await self._poll(self._creadr, self._free_slots,
                                     f"space in the command queue (GITS_CWRITER {self._write:#x})")
            count = min(self._free_slots(readr), len(raw) - done)
            while count:
                part = min(count, (self.ring_bytes - self._write) // COMMAND_BYTES)
                await self.bus.write_mem(self.ring_base + self._write,
                                         b"".join(raw[done:done + part]))
                self._write = (self._write + part * COMMAND_BYTES) % self.ring_bytes
                done += part
                count -= part
            await self.bus.write_reg(REG["GITS_CWRITER"],
                                     pack(GitsCwriter, offset=self._write // COMMAND_BYTES), 4)
        await self._poll(self._creadr, lambda readr: readr == self._write,
                         f"GITS_CREADR to reach GITS_CWRITER {self._write:#x}; is the ITS "
                         f"enabled and executing commands?")

    async def resume(self, *, skip=True):
        """Restart a stalled queue with GITS_CWRITER.Retry and wait for it to drain.

        Parameters
        ----------
        skip : bool
            Replace the failing command by a SYNC to redistributor 0 first,
            so the retry goes past it; otherwise it is executed again.
        """
        creadr = unpack(GitsCreadr, await self.bus.read_reg(REG["GITS_CREADR"], 4))
        if skip:
            await self.bus.write_mem(self.ring_base + creadr["offset"] * COMMAND_BYTES,
                                     encode_command(Cmd.SYNC, rdbase=0))
        await self.clear_errors()
        await self.bus.write_reg(REG["GITS_CWRITER"], pack(
            GitsCwriter, retry=1, offset=self._write // COMMAND_BYTES), 4)
        await self._post([])

    # -- command helpers ----------------------------------------------------

    async def map_device(self, device_id, event_bits):
        """Allocate an ITT for ``2**event_bits`` events and MAPD the device to it.

        In a two-level device table the level-2 page holding the device's DTE
        is allocated and its level-1 entry written first (its_alloc_table_entry).

        Returns
        -------
        int
            The ITT's physical address.
        """
        if not 1 <= event_bits <= 32:
            raise ValueError(f"event_bits must be 1..32, not {event_bits!r}")
        table = self.tables.get(BaserType.DEVICES)
        if table is not None and table.indirect:
            await self._ensure_level2(table, device_id // table.ids_per_level2_page)
        itt = await self.alloc((1 << event_bits) * self.features.ite_bytes, ITT_ALIGN)
        await self.send(Cmd.MAPD, device_id=device_id, size=event_bits - 1,
                        itt_addr=itt // ITT_ALIGN, valid=1)
        return itt

    async def _ensure_level2(self, table, index):
        # An index beyond the level-1 table is left for the ITS to refuse (MAPD_DEVICE_OOR).
        if index >= table.entries or index in self._level2:
            return
        page = await self.alloc(table.page_bytes, table.page_bytes)
        await self.bus.write_mem(table.base + index * ENTRY_BYTES, pack(
            Level1Entry, valid=1, addr=page // CBASER_PAGE).to_bytes(ENTRY_BYTES, "little"))
        self._level2[index] = page

    async def unmap_device(self, device_id):
        """MAPD V=0: forget the device's ITT."""
        await self.send(Cmd.MAPD, device_id=device_id, valid=0)

    async def map_collection(self, icid, rd, valid=True, *, sync=True):
        """MAPC: map (or with ``valid=False`` unmap) collection ``icid`` to redistributor ``rd``."""
        await self.send(Cmd.MAPC, sync=sync, icid=icid, rdbase=rd, valid=int(valid))

    async def map_event(self, device_id, event_id, lpi, icid, *, sync=True):
        """MAPTI the event to LPI ``lpi`` in collection ``icid`` (MAPI when ``lpi == event_id``)."""
        if lpi == event_id:
            await self.send(Cmd.MAPI, sync=sync, device_id=device_id, event_id=event_id,
                            icid=icid)
        else:
            await self.send(Cmd.MAPTI, sync=sync, device_id=device_id, event_id=event_id,
                            pintid=lpi, icid=icid)

    async def move(self, device_id, event_id, icid, *, sync=True):
        """MOVI: retarget the event to collection ``icid``."""
        await self.send(Cmd.MOVI, sync=sync, device_id=device_id, event_id=event_id, icid=icid)

    async def move_all(self, rd1, rd2, *, sync=True):
        """MOVALL: move every pending LPI of redistributor ``rd1`` to ``rd2``."""
        await self.send(Cmd.MOVALL, sync=sync, rdbase1=rd1, rdbase2=rd2)

    async def discard(self, device_id, event_id, *, sync=True):
        """DISCARD: clear the event's pending state and remove its mapping."""
        await self.send(Cmd.DISCARD, sync=sync, device_id=device_id, event_id=event_id)

    async def inv(self, device_id, event_id, *, sync=True):
        """INV: the redistributor reloads the event's LPI configuration."""
        await self.send(Cmd.INV, sync=sync, device_id=device_id, event_id=event_id)

    async def invall(self, icid, *, sync=True):
        """INVALL: reload the configuration of every LPI on the collection's redistributor."""
        await self.send(Cmd.INVALL, sync=sync, icid=icid)

    async def int_(self, device_id, event_id, *, sync=True):
        """INT: make the event's LPI pending as if its MSI arrived."""
        await self.send(Cmd.INT, sync=sync, device_id=device_id, event_id=event_id)

    async def clear(self, device_id, event_id, *, sync=True):
        """CLEAR: clear the event's LPI pending state."""
        await self.send(Cmd.CLEAR, sync=sync, device_id=device_id, event_id=event_id)

    async def sync(self, rd):
        """SYNC: wait until every earlier effect on redistributor ``rd`` is visible there."""
        await self.send(Cmd.SYNC, rdbase=rd)

    # -- implementation-defined registers -----------------------------------

    async def read_error(self):
        """GITS_ERR_CMD decoded, or None when it holds no error."""
        record = unpack(ErrCmdRecord, await self.bus.read_reg(REG["GITS_ERR_CMD"]))
        if not record["valid"]:
            return None
        return CommandErrorRecord(code=_command_error(record["code"]), offset=record["offset"],
                                  cmd=record["cmd"], overflow=bool(record["overflow"]))

    async def read_msi_error(self):
        """GITS_ERR_MSI decoded, or None when no MSI was dropped since it was cleared."""
        record = unpack(ErrMsiRecord, await self.bus.read_reg(REG["GITS_ERR_MSI"]))
        if not record["valid"]:
            return None
        return MsiDropRecord(reason=record["reason"], device_id=record["device_id"],
                             event_id=record["event_id"], overflow=bool(record["overflow"]))

    async def clear_errors(self):
        """Clear GITS_ERR_CMD and GITS_ERR_MSI."""
        await self.bus.write_reg(REG["GITS_ERR_CMD"], 0)
        await self.bus.write_reg(REG["GITS_ERR_MSI"], 0)

    async def stats(self):
        """The GITS_STAT_* counters, by name (``gic.hw.its.regmap.STAT_COUNTERS``)."""
        return {name: await self.bus.read_reg(stat_offset(name), 4) for name, _ in STAT_COUNTERS}

    async def query(self, device_id, event_id):
        """Ask GITS_QUERY what (DeviceID, EventID) would become, raising nothing.

        Returns
        -------
        QueryResult
        """
        await self.bus.write_reg(REG["GITS_QUERY"],
                                 pack(QueryRequest, device_id=device_id, event_id=event_id))
        answer = await self._poll(
            self._query_result, lambda answer: answer["done"], "GITS_QUERY_RESULT.Done")
        return QueryResult(status=answer["status"], pintid=answer["pintid"],
                           target=answer["target"])

    async def _query_result(self):
        return unpack(QueryResponse, await self.bus.read_reg(REG["GITS_QUERY_RESULT"]))

