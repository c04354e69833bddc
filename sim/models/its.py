"""Untimed architectural reference model of the ITS: the oracle the RTL is checked against.

:class:`ItsModel` follows ``docs/behaviour.md`` (and through it the GICv3
architecture and Linux KVM), not any RTL. It owns the ITS registers, fetches
commands from the ring in a :class:`~gic.sim.models.memory.Memory`, walks the tables in the
same memory, and queues the GIC stream packets each redistributor would receive.
Every encoding comes from ``hw/its/layouts.py`` through
:func:`gic.sim.models.commands.pack` / :func:`gic.sim.models.commands.unpack`; register offsets come
from :data:`gic.hw.its.regmap.REG`.

Everything happens at once: a command retires as soon as it is fetched (a SYNC
needs no acknowledge), ``GITS_CTLR.Quiescent`` is 1 whenever the ITS is
disabled, and there are no caches (``GITS_STAT_TCACHE_*`` stay 0).

Cache parity (docs/behaviour.md, "Cache parity"): a parity error only makes a cache
look-up miss, so no translation depends on it and the model has nothing to do for
a GITS_PARITY_INJECT write but remember it (:attr:`ItsModel.parity_injections`).
Which look-up finds an injected error depends on what the RTL's caches hold, which
the model does not know: GITS_ERR_PARITY and GITS_STAT_PARITY_ERRORS read 0 until
a user that knows tells it (:meth:`ItsModel.parity_error`).
"""

import collections
from functools import partial
from typing import NamedTuple, Optional

from amaranth.lib import data

from gic.hw.its.layouts import (
    CBASER_PAGE, COMMAND_BYTES, ENTRY_BYTES, LPI_BASE, PAGE_BYTES,
    BaserType, CacheCtl, Cmd, CmdError, CollectionTableEntry, DeviceTableEntry, DropReason,
    CacheId, ErrCmdRecord, ErrMsiRecord, ErrParityRecord, GicOp, GicPacket, GitsBaser, GitsCbaser, GitsCreadr, GitsCtlr,
    GitsCwriter, IttEntry, Level1Entry, PageSize, ParityInject, QueryRequest, QueryResponse,
)
from gic.hw.its.params import ItsParams
from gic.hw.its.regmap import (
    BASER_COLLECTIONS, BASER_DEVICES, FRAME_BYTES, IIDR_VALUE, PIDR2_VALUE, REG,
    REGISTERS, STAT_COUNTERS, TRANSLATER,
)
from gic.sim.models.commands import ItsCommand, decode_command, field_width, pack, unpack
from gic.sim.models.memory import BusError, Memory
from gic.sim.models.regfile import RegisterFile

__all__ = ["ItsModel", "Packet", "Translation", "ExecutedCommand"]

_COUNTER_MODULUS = 1 << 32          # GITS_STAT_* are 32-bit counters
_PA_SHIFT = 12                      # CBASER/BASER PA and Level1Entry.addr: address bits [n:12]
_ITT_SHIFT = 8                      # MAPD ITT_addr and DTE.itt_addr hold address bits [51:8]
_BASER_TYPES = {BASER_DEVICES: BaserType.DEVICES, BASER_COLLECTIONS: BaserType.COLLECTIONS}


class Packet(NamedTuple):
    """One packet on the GIC stream to a redistributor (layout :class:`GicPacket`).

    Members
    -------
    op : GicOp
        What the redistributor does.
    lpi : int
        INTID of SET, CLEAR, INV and MOVLPI; 0 otherwise.
    target : int
        Destination redistributor of MOVLPI and MOVALL; 0 otherwise.
    """
    op: GicOp
    lpi: int = 0
    target: int = 0

    def to_bits(self):
        """The packet's :class:`GicPacket` encoding, an integer."""
        return pack(GicPacket, op=self.op, lpi=self.lpi, target=self.target)

    @classmethod
    def from_bits(cls, value):
        """The packet encoded by integer ``value`` (the inverse of :meth:`to_bits`)."""
        return cls(**unpack(GicPacket, value))


class Translation(NamedTuple):
    """The outcome of translating (DeviceID, EventID).

    Members
    -------
    status : DropReason
        ``OK``, or why the MSI is dropped.
    pintid : int
        The LPI (0 unless ``status`` is OK).
    target : int
        Redistributor number of the collection (0 unless ``status`` is OK).
    """
    status: DropReason
    pintid: int = 0
    target: int = 0


class ExecutedCommand(NamedTuple):
    """One command the ITS retired or tried.

    Members
    -------
    offset : int
        Byte offset of the command in the ring.
    command : ItsCommand or None
        The decoded command; None when fetching it failed (COMMAND_READ_ERROR).
    error : CmdError
        ``CmdError.NONE`` on success.
    """
    offset: int
    command: Optional[ItsCommand]
    error: CmdError


class _Table(NamedTuple):
    """Where a GITS_BASERn table is (only for a Valid BASER)."""
    base: int       # PA rounded down to the page size
    entries: int    # (Size + 1) * page / 8: DTEs, CTEs or level-1 entries
    page: int       # page size in bytes
    indirect: bool  # two-level device table


class _Event(NamedTuple):
    """The result of finding an event's ITE."""
    status: DropReason        # OK, DEVICE_OOR, UNMAPPED_DEVICE, EVENT_OOR or UNMAPPED_INTERRUPT
    address: int = 0          # ITE address (status OK)
    ite: Optional[dict] = None  # unpacked IttEntry (status OK)


class _CommandFailed(Exception):
    """A command check failed: the command has no effect and ``error`` is recorded."""

    def __init__(self, error):
        super().__init__(error.name)
        self.error = error


def _raw_fields(layout, value):
    """Every public field of ``layout`` in integer ``value``, as plain integers.

    Register writes carry whatever software wrote, including reserved values of
    enum fields (``Page_Size`` = 3, any ``Type``) that :func:`gic.sim.models.commands.unpack`
    rejects, so positions and widths are taken from the layout itself.
    """
    return {name: (value >> field.offset) & ((1 << field.width) - 1)
            for name, field in data.Layout.cast(layout) if not name.startswith("_")}


def _fit(layout, name, value):
    """``value`` truncated to the width of ``layout``'s field ``name`` (record registers)."""
    return value % (1 << field_width(layout, name))


class ItsModel(RegisterFile):
    """Architectural model of one ITS.

    Parameters
    ----------
    params : ItsParams
        The build parameters (error policy, ID widths, HCC, redistributors).
    memory : Memory
        Holds the command ring and the tables; the model reads and writes it.
    auto_execute : bool
        If True, writes to ``GITS_CTLR``, ``GITS_CBASER`` and ``GITS_CWRITER``
        (including Retry) run commands until the queue is empty or stalled.
        If False, commands run only through :meth:`step` / :meth:`run_commands`.

    Members
    -------
    packets : list of collections.deque of Packet
        Per redistributor, the packets sent to it, in order.
    executed : list of ExecutedCommand
        Every command retired or tried, in order.
    drops : list of (DropReason, int, int)
        ``(reason, device_id, event_id)`` of every dropped MSI.
    error_pulses : int
        Times the error interrupt output pulsed (command error, CWRITER_OOR, MSI drop).
    stats : dict of str to int
        The ``GITS_STAT_*`` counters by name (``gic.hw.its.regmap.STAT_COUNTERS``);
        the ``TCACHE_*`` ones stay 0 since the model has no cache.
    parity_injections : list of (CacheId, int, int)
        ``(cache, index, bit)`` of every GITS_PARITY_INJECT write.
    """

    def __init__(self, params: ItsParams, memory: Memory, *, auto_execute: bool = True):
        self.params = params
        self.memory = memory
        self.auto_execute = auto_execute

        self.packets = [collections.deque() for _ in range(params.num_redistributors)]
        self.executed = []
        self.drops = []
        self.error_pulses = 0
        self.stats = {name: 0 for name, _ in STAT_COUNTERS}

        self._enabled = False
        self._cbaser = 0
        self._cwriter = 0           # byte offsets in the ring
        self._creadr = 0
        self._stalled = False
        self._basers = {}
        for n in _BASER_TYPES:   # reset: Page_Size 64K, everything else 0
            self._write_baser(n, pack(GitsBaser, page_size=PageSize.SIZE_64K))
        self._collections = [None] * params.hcc   # on-chip collections: target RD or None
        self._err_cmd = 0
        self._err_msi = 0
        self._query_request = 0
        self._query_result = 0
        self._cache_disable = 0
        self._err_parity = 0
        self.parity_injections = []

        super().__init__(REGISTERS, {
            REG["GITS_CTLR"]: (self._read_ctlr, self._write_ctlr),
            REG["GITS_IIDR"]: (lambda: IIDR_VALUE, None),
            REG["GITS_TYPER"]: (lambda: params.typer, None),
            REG["GITS_CBASER"]: (lambda: self._cbaser, self._write_cbaser),
            REG["GITS_CWRITER"]: (self._read_cwriter, self._write_cwriter),
            REG["GITS_CREADR"]: (self._read_creadr, None),
            **{REG[f"GITS_BASER{n}"]: (partial(self._read_baser, n), partial(self._write_baser, n))
               for n in _BASER_TYPES},
            REG["GITS_ERR_CMD"]: (lambda: self._err_cmd, self._clear_err_cmd),
            REG["GITS_ERR_MSI"]: (lambda: self._err_msi, self._clear_err_msi),
            REG["GITS_QUERY"]: (lambda: self._query_request, self._write_query),
            REG["GITS_QUERY_RESULT"]: (lambda: self._query_result, None),
            REG["GITS_CACHE_CTL"]: (self._read_cache_ctl, self._write_cache_ctl),
            REG["GITS_ERR_PARITY"]: (lambda: self._err_parity, self._clear_err_parity),
            REG["GITS_PARITY_INJECT"]: (lambda: 0, self._write_parity_inject),
            **{REG[f"GITS_STAT_{name}"]: (partial(self.stats.get, name),
                                          partial(self._clear_stat, name))
               for name, _ in STAT_COUNTERS},
            REG["GITS_PIDR2"]: (lambda: PIDR2_VALUE, None),
        }, frame_bytes=FRAME_BYTES, frame_name="ITS")
        self._commands = {
            Cmd.MOVI: self._movi, Cmd.INT: self._int, Cmd.CLEAR: self._clear,
            Cmd.SYNC: self._sync, Cmd.MAPD: self._mapd, Cmd.MAPC: self._mapc,
            Cmd.MAPTI: self._mapti, Cmd.MAPI: self._mapi, Cmd.INV: self._inv,
            Cmd.INVALL: self._invall, Cmd.MOVALL: self._movall, Cmd.DISCARD: self._discard,
        }

    # -- state ------------------------------------------------------------------------------

    @property
    def enabled(self):
        """``GITS_CTLR.Enabled``."""
        return self._enabled

    @property
    def stalled(self):
        """``GITS_CREADR.Stalled``: the queue stopped on a command error (stall policy)."""
        return self._stalled

    @property
    def quiescent(self):
        """``GITS_CTLR.Quiescent``: disabled (nothing is ever in flight in the untimed model)."""
        return not self._enabled

    def collection(self, icid):
        """Target redistributor of collection ``icid`` if it is mapped, else None.

        Raises
        ------
        BusError
            If reading the collection table entry (ICID >= HCC) fails.
        """
        return self._collection_target(icid)

    def take_packets(self, rd):
        """The packets queued for redistributor ``rd``, in order; empties its queue."""
        taken = list(self.packets[rd])
        self.packets[rd].clear()
        return taken

    # -- register interface (reads and the 32/64-bit splitting: gic.sim.models.regfile) -----------------

    def write(self, offset: int, value: int, size: int = 8, *, device_id: int = 0) -> None:
        """Write ``size`` (4 or 8) bytes of ``value`` at byte ``offset`` of the ITS frame.

        As :meth:`gic.sim.models.regfile.RegisterFile.write`; a write to ``GITS_TRANSLATER`` is an
        MSI of ``device_id`` (the bus sideband).
        """
        super().write(offset, value, size, device_id=device_id)

    def _write_word(self, offset, value, device_id):
        if offset == TRANSLATER:
            self.msi(device_id, value)
        else:
            super()._write_word(offset, value)

    def _run_if_automatic(self):
        if self.auto_execute:
            self.run_commands()

    def _read_ctlr(self):
        return pack(GitsCtlr, enabled=self._enabled, quiescent=self.quiescent)

    def _write_ctlr(self, value):
        self._enabled = bool(unpack(GitsCtlr, value)["enabled"])
        self._run_if_automatic()

    def _write_cbaser(self, value):
        if self._enabled:
            return
        self._cbaser = pack(GitsCbaser, **unpack(GitsCbaser, value))
        # CWRITER follows CREADR back to 0 (as KVM) so the new ring starts empty.
        self._creadr = self._cwriter = 0
        self._stalled = False
        self._run_if_automatic()

    def _read_cwriter(self):
        return pack(GitsCwriter, offset=self._cwriter // COMMAND_BYTES)

    def _write_cwriter(self, value):
        fields = unpack(GitsCwriter, value)
        offset = fields["offset"] * COMMAND_BYTES
        if offset >= self._ring_bytes():
            self._record_command_error(CmdError.CWRITER_OOR, offset, 0)
            return
        self._cwriter = offset
        if fields["retry"]:
            self._stalled = False
        self._run_if_automatic()

    def _read_creadr(self):
        return pack(GitsCreadr, stalled=self._stalled, offset=self._creadr // COMMAND_BYTES)

    def _read_baser(self, n):
        return pack(GitsBaser, **self._basers[n], type=_BASER_TYPES[n], entry_size=ENTRY_BYTES - 1)

    def _write_baser(self, n, value):
        if self._enabled:
            return
        fields = _raw_fields(GitsBaser, value)
        for read_only in ("type", "entry_size"):
            del fields[read_only]
        # Page_Size 3 is reserved: it reads back as the supported 64K.
        fields["page_size"] = PageSize(min(fields["page_size"], PageSize.SIZE_64K.value))
        if n != BASER_DEVICES:
            fields["indirect"] = 0
        self._basers[n] = fields

    def _clear_err_cmd(self, value):
        self._err_cmd = 0

    def _clear_err_msi(self, value):
        self._err_msi = 0

    def _write_query(self, value):
        request = unpack(QueryRequest, value)
        self._query_request = value
        answer = self.query(request["device_id"], request["event_id"])
        self._query_result = pack(QueryResponse, done=1, status=answer.status,
                                  target=answer.target, pintid=answer.pintid)

    def _read_cache_ctl(self):
        return pack(CacheCtl, invalidate=0, disable=self._cache_disable)

    def _write_cache_ctl(self, value):
        self._cache_disable = unpack(CacheCtl, value)["disable"]

    def _clear_err_parity(self, value):
        self._err_parity = 0

    def _write_parity_inject(self, value):
        fields = unpack(ParityInject, value)
        self.parity_injections.append((CacheId(fields["cache"]), fields["index"], fields["bit"]))

    def parity_error(self, cache: CacheId, index: int) -> None:
        """A look-up found entry ``index`` of ``cache`` with a parity error: record it in
        GITS_ERR_PARITY, count it and pulse the error output (as the RTL does). The
        translation is not affected: the look-up missed and memory answered."""
        self._err_parity = self._first_record(self._err_parity, ErrParityRecord,
                                              cache=CacheId(cache), index=index)
        self._count("PARITY_ERRORS")
        self.error_pulses += 1

    def _clear_stat(self, name, value):
        self.stats[name] = 0

    def _count(self, name):
        self.stats[name] = (self.stats[name] + 1) % _COUNTER_MODULUS

    @staticmethod
    def _first_record(current, layout, **fields):
        """An error record register: the new record, or ``current`` with ``overflow`` set."""
        held = unpack(layout, current)
        if held["valid"]:
            return pack(layout, **{**held, "overflow": 1})
        return pack(layout, valid=1, **fields)

    def _record_command_error(self, error, offset, cmd):
        self._err_cmd = self._first_record(self._err_cmd, ErrCmdRecord,
                                           code=error.value, offset=offset, cmd=cmd)
        self._count("CMD_ERRORS")
        self.error_pulses += 1

    # -- MSIs -------------------------------------------------------------------------------

    def msi(self, device_id: int, event_id: int, *,
            translation: Translation | None = None) -> Translation:
        """An MSI on the MSI stream: translate it and send SET(pINTID), or drop it.

        A drop is appended to :attr:`drops`, counted, recorded in ``GITS_ERR_MSI``
        and pulses the error output. ``translation``, when given, is the outcome the MSI
        got when it was accepted (from :meth:`query`), for a user that applies it when an
        implementation decides it (docs/behaviour.md, "Ordering"); by default the MSI is
        translated now.
        """
        if translation is None:
            translation = self.query(device_id, event_id)
        if translation.status is DropReason.OK:
            self.packets[translation.target].append(Packet(GicOp.SET, translation.pintid))
            self._count("MSI_TRANSLATED")
            return translation
        self.drops.append((translation.status, device_id, event_id))
        self._count("MSI_DROPPED")
        self._count(f"DROP_{translation.status.name}")
        self._err_msi = self._first_record(
            self._err_msi, ErrMsiRecord, reason=translation.status,
            device_id=_fit(ErrMsiRecord, "device_id", device_id),
            event_id=_fit(ErrMsiRecord, "event_id", event_id))
        self.error_pulses += 1
        return translation

    def query(self, device_id: int, event_id: int) -> Translation:
        """What (``device_id``, ``event_id``) would become; sends, records and counts nothing."""
        if not self._enabled:
            return Translation(DropReason.DISABLED)
        try:
            return self._translate(device_id, event_id)[0]
        except BusError:
            return Translation(DropReason.MEMORY_ERROR)

    # -- table walks (a failing memory read raises BusError) --------------------------------

    def _read_entry(self, address):
        return self.memory.read_int(address, ENTRY_BYTES)

    def _write_entry(self, address, value):
        try:
            self.memory.write_int(address, value, ENTRY_BYTES)
        except BusError:
            raise _CommandFailed(CmdError.TABLE_WRITE_ERROR) from None

    def _table(self, n):
        """The table GITS_BASERn describes, or None when it is not Valid."""
        fields = self._basers[n]
        if not fields["valid"]:
            return None
        page = PAGE_BYTES[fields["page_size"]]
        return _Table(base=(fields["pa"] << _PA_SHIFT) & ~(page - 1),
                      entries=(fields["size"] + 1) * page // ENTRY_BYTES,
                      page=page, indirect=bool(fields["indirect"]))

    def _dte_address(self, device_id):
        """Address of the DTE of ``device_id``, or None when the DeviceID is not in range."""
        table = self._table(BASER_DEVICES)
        if table is None or device_id >= 1 << self.params.device_bits:
            return None
        if not table.indirect:
            return table.base + ENTRY_BYTES * device_id if device_id < table.entries else None
        index, slot = divmod(device_id, table.page // ENTRY_BYTES)
        if index >= table.entries:
            return None
        level1 = unpack(Level1Entry, self._read_entry(table.base + ENTRY_BYTES * index))
        if not level1["valid"]:
            return None
        return (level1["addr"] << _PA_SHIFT) + ENTRY_BYTES * slot

    def _device(self, device_id):
        """``(status, DTE fields)``: status OK, DEVICE_OOR or UNMAPPED_DEVICE (then no DTE)."""
        address = self._dte_address(device_id)
        if address is None:
            return DropReason.DEVICE_OOR, None
        dte = unpack(DeviceTableEntry, self._read_entry(address))
        if not dte["valid"]:
            return DropReason.UNMAPPED_DEVICE, None
        return DropReason.OK, dte

    @staticmethod
    def _ite_address(dte, event_id):
        """Address of the ITE of ``event_id`` in the device's ITT, or None when out of range."""
        if event_id >= 1 << (dte["size"] + 1):
            return None
        return (dte["itt_addr"] << _ITT_SHIFT) + ENTRY_BYTES * event_id

    def _event(self, device_id, event_id):
        """Find the ITE ("find the ITE" in docs/behaviour.md)."""
        status, dte = self._device(device_id)
        if dte is None:
            return _Event(status)
        address = self._ite_address(dte, event_id)
        if address is None:
            return _Event(DropReason.EVENT_OOR)
        ite = unpack(IttEntry, self._read_entry(address))
        if not ite["valid"]:
            return _Event(DropReason.UNMAPPED_INTERRUPT)
        return _Event(DropReason.OK, address, ite)

    def _translate(self, device_id, event_id):
        """``(Translation, _Event)`` of an enabled ITS, without side effects."""
        event = self._event(device_id, event_id)
        if event.status is not DropReason.OK:
            return Translation(event.status), event
        target = self._collection_target(event.ite["icid"])
        if target is None:
            return Translation(DropReason.UNMAPPED_COLLECTION), event
        return Translation(DropReason.OK, event.ite["intid"], target), event

    def _cte_address(self, icid):
        """Address of the CTE of ``icid`` (>= HCC), or None when it is not in the table."""
        table = self._table(BASER_COLLECTIONS)
        if table is None or icid >= table.entries:
            return None
        return table.base + ENTRY_BYTES * icid

    def _collection_exists(self, icid):
        """Whether MAPC (and MAPTI) may name ``icid``: on chip, or in the collection table."""
        return icid < self.params.num_collections and (
            icid < self.params.hcc or self._cte_address(icid) is not None)

    def _collection_target(self, icid):
        """Target redistributor of collection ``icid`` when it is mapped, else None."""
        if icid >= self.params.num_collections:
            return None
        if icid < self.params.hcc:
            return self._collections[icid]
        address = self._cte_address(icid)
        if address is None:
            return None
        cte = unpack(CollectionTableEntry, self._read_entry(address))
        # A CTE naming no redistributor is unmapped (as KVM's collection-table restore).
        if not cte["valid"] or cte["rdbase"] >= self.params.num_redistributors:
            return None
        return cte["rdbase"]

    # -- command queue ----------------------------------------------------------------------

    def _ring_bytes(self):
        return (unpack(GitsCbaser, self._cbaser)["size"] + 1) * CBASER_PAGE

    def _fetchable(self):
        return (self._enabled and unpack(GitsCbaser, self._cbaser)["valid"]
                and not self._stalled and self._creadr != self._cwriter)

    def step(self) -> Optional[ExecutedCommand]:
        """Execute the command at ``CREADR`` if one can be fetched; None otherwise.

        Commands are fetched while Enabled, ``CBASER.Valid``, not Stalled and
        ``CREADR`` != ``CWRITER``. On success the command's packets are queued;
        on an error nothing is sent or written, the error is recorded, and the
        policy decides whether ``CREADR`` advances (skip) or the queue stalls.
        """
        if not self._fetchable():
            return None
        offset = self._creadr
        ring_base = unpack(GitsCbaser, self._cbaser)["pa"] << _PA_SHIFT
        try:
            command = decode_command(self.memory.read(ring_base + offset, COMMAND_BYTES))
        except BusError:
            return self._retire(offset, None, CmdError.COMMAND_READ_ERROR)
        try:
            packets = self._execute(command)
        except _CommandFailed as failure:
            return self._retire(offset, command, failure.error)
        for rd, packet in packets:
            self.packets[rd].append(packet)
        return self._retire(offset, command, CmdError.NONE)

    def run_commands(self) -> list:
        """:meth:`step` until the queue is empty, stalled or disabled; the commands run."""
        done = []
        while (executed := self.step()) is not None:
            done.append(executed)
        return done

    def _execute(self, command):
        """Run ``command``; its packets as ``[(rd, Packet)]``, or raise _CommandFailed."""
        handler = self._commands.get(command.cmd)
        if handler is None:
            raise _CommandFailed(CmdError.UNSUPPORTED_COMMAND)
        try:
            return handler(command)
        except BusError:
            raise _CommandFailed(CmdError.TABLE_READ_ERROR) from None

    def _retire(self, offset, command, error):
        executed = ExecutedCommand(offset, command, error)
        self.executed.append(executed)
        self._count("CMD_EXECUTED")
        if error is not CmdError.NONE:
            number = (0 if command is None
                      else command.cmd.value if isinstance(command.cmd, Cmd) else command.cmd)
            self._record_command_error(error, offset, number)
            if self.params.error_policy == "stall":
                self._stalled = True
                return executed
        self._creadr = (offset + COMMAND_BYTES) % self._ring_bytes()
        return executed

    # -- commands: check (raise _CommandFailed), write at most one entry, return packets ----

    def _mapd(self, command):
        """MAPD: write the DTE (an all-zero one for V=0)."""
        address = self._dte_address(command.device_id)
        if address is None:
            raise _CommandFailed(CmdError.MAPD_DEVICE_OOR)
        if command.valid and command.size + 1 > self.params.event_bits:
            raise _CommandFailed(CmdError.MAPD_ITTSIZE_OOR)
        dte = (pack(DeviceTableEntry, valid=1, itt_addr=command.itt_addr, size=command.size)
               if command.valid else 0)
        self._write_entry(address, dte)
        return []

    def _mapc(self, command):
        """MAPC: map the collection on chip (ICID < HCC) or in its CTE (all zero for V=0)."""
        if not self._collection_exists(command.icid):
            raise _CommandFailed(CmdError.MAPC_COLLECTION_OOR)
        if command.valid and command.rdbase >= self.params.num_redistributors:
            raise _CommandFailed(CmdError.MAPC_PROCNUM_OOR)
        if command.icid < self.params.hcc:
            self._collections[command.icid] = command.rdbase if command.valid else None
        else:
            cte = (pack(CollectionTableEntry, valid=1, rdbase=command.rdbase, icid=command.icid)
                   if command.valid else 0)
            self._write_entry(self._cte_address(command.icid), cte)
        return []

    def _map_event(self, command, pintid):
        """MAPTI / MAPI: write a valid ITE (pINTID, ICID) over whatever was there."""
        _, dte = self._device(command.device_id)
        if dte is None:
            raise _CommandFailed(CmdError.MAPTI_UNMAPPED_DEVICE)
        address = self._ite_address(dte, command.event_id)
        if address is None:
            raise _CommandFailed(CmdError.MAPTI_ID_OOR)
        if not LPI_BASE <= pintid < 1 << self.params.id_bits:
            raise _CommandFailed(CmdError.MAPTI_PHYSICALID_OOR)
        if not self._collection_exists(command.icid):
            raise _CommandFailed(CmdError.MAPC_COLLECTION_OOR)
        self._write_entry(address, pack(IttEntry, valid=1, icid=command.icid, intid=pintid))
        return []

    def _mapti(self, command):
        """MAPTI: map the event to ``pintid`` and the collection."""
        return self._map_event(command, command.pintid)

    def _mapi(self, command):
        """MAPI: MAPTI with pINTID = EventID."""
        return self._map_event(command, command.event_id)

    def _movi(self, command):
        """MOVI: retarget the ITE; MOVLPI to the old RD when the RD changes."""
        event = self._event(command.device_id, command.event_id)
        if event.status is not DropReason.OK:
            raise _CommandFailed(CmdError.MOVI_UNMAPPED_INTERRUPT)
        new_target = self._collection_target(command.icid)
        if new_target is None:
            raise _CommandFailed(CmdError.MOVI_UNMAPPED_COLLECTION)
        old_target = self._collection_target(event.ite["icid"])
        self._write_entry(event.address, pack(IttEntry, **{**event.ite, "icid": command.icid}))
        if old_target is None or old_target == new_target:
            return []
        return [(old_target, Packet(GicOp.MOVLPI, event.ite["intid"], new_target))]

    def _mapped_event(self, command, error):
        """``(Translation, _Event)`` of a mapped event and collection, or raise ``error``."""
        translation, event = self._translate(command.device_id, command.event_id)
        if translation.status is not DropReason.OK:
            raise _CommandFailed(error)
        return translation, event

    def _int(self, command):
        """INT: SET the LPI, as if the MSI arrived."""
        translation, _ = self._mapped_event(command, CmdError.INT_UNMAPPED_INTERRUPT)
        return [(translation.target, Packet(GicOp.SET, translation.pintid))]

    def _clear(self, command):
        """CLEAR: clear the LPI's pending state."""
        translation, _ = self._mapped_event(command, CmdError.CLEAR_UNMAPPED_INTERRUPT)
        return [(translation.target, Packet(GicOp.CLEAR, translation.pintid))]

    def _inv(self, command):
        """INV: the RD reloads the LPI's configuration."""
        translation, _ = self._mapped_event(command, CmdError.INV_UNMAPPED_INTERRUPT)
        return [(translation.target, Packet(GicOp.INV, translation.pintid))]

    def _discard(self, command):
        """DISCARD: write an all-zero (invalid) ITE and CLEAR the LPI."""
        translation, event = self._mapped_event(command, CmdError.DISCARD_UNMAPPED_INTERRUPT)
        self._write_entry(event.address, 0)
        return [(translation.target, Packet(GicOp.CLEAR, translation.pintid))]

    def _invall(self, command):
        """INVALL: the collection's RD reloads every LPI's configuration."""
        target = self._collection_target(command.icid)
        if target is None:
            raise _CommandFailed(CmdError.INVALL_UNMAPPED_COLLECTION)
        return [(target, Packet(GicOp.INVALL))]

    def _movall(self, command):
        """MOVALL: RDbase1 moves its pending LPIs to RDbase2 (nothing when they are equal)."""
        if max(command.rdbase1, command.rdbase2) >= self.params.num_redistributors:
            raise _CommandFailed(CmdError.MOVALL_PROCNUM_OOR)
        if command.rdbase1 == command.rdbase2:
            return []
        return [(command.rdbase1, Packet(GicOp.MOVALL, target=command.rdbase2))]

    def _sync(self, command):
        """SYNC: a SYNC packet to RDbase (the untimed model needs no acknowledge)."""
        if command.rdbase >= self.params.num_redistributors:
            raise _CommandFailed(CmdError.SYNC_PROCNUM_OOR)
        return [(command.rdbase, Packet(GicOp.SYNC))]
