"""The command executor: runs the ITS commands the fetch engine hands it, one at a time.

Every command is described by a :class:`~gic.hw.its.recipes.Recipe`, a row of constants
in :data:`~gic.hw.its.recipes.RECIPES` (``hw/its/recipes.py``, shared with the
transaction-level model): which look-ups it makes, which check gives which error code,
what it writes, whether it invalidates the translation caches and which
packet it sends. The executor's state machine runs the steps below, in this
order, skipping the ones a command's recipe leaves out. The order is the order
in which docs/behaviour.md checks errors, so the first failing check gives the
code, and no later memory access is made.

1. ``DEVICE``: DeviceID in range (flat, or two-level through its level-1
   entry, ``WAIT_LEVEL1``); read the DTE (``WAIT_DTE``), DTE valid.
2. ``CHECK``: the checks on command fields and the DTE: ITT size (MAPD),
   EventID in the ITT, pINTID an LPI, ICID exists, RDbase a redistributor.
3. ``WAIT_ITE``: read the ITE, ITE valid.
4. ``LOOKUP_CMD_COLLECTION`` / ``WAIT_CMD_CTE``: the collection the command
   names is mapped (on chip, or its CTE).
5. ``LOOKUP_ITE_COLLECTION`` / ``WAIT_ITE_CTE``: the collection of the ITE.
6. ``WAIT_TRANSLATOR_IDLE`` .. ``WAIT_INVALIDATE``: change the mapping with
   the translator held and idle: write the entry (``WAIT_WRITE``), then
   invalidate the caches (MAPD: the device, MAPTI/MAPI/MOVI/DISCARD: the
   event, MAPC: everything), so no MSI accepted after the command retires
   sees a stale mapping.
7. ``WAIT_PACKET``: send the command's packet to the forwarder, still holding
   the translator, so the packet is ordered after every MSI accepted before.
8. ``WAIT_SYNC_ACK``: a SYNC retires only after its redistributor acknowledged.

A GICv4 command (docs/gicv4.md) is a new row of :data:`~gic.hw.its.recipes.RECIPES` plus, where it
needs one, a new step (the vPE table behind GITS_BASER2) in the same chain.
"""

from types import SimpleNamespace

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..bus.mem import ADDR_BITS, MemReadSignature, MemWriteSignature, mem_attributes
from .cmdq import FetchedCommand
from .collections import CollectionWrite, RD_BITS
from .layouts import (
    COMMAND_BYTES, LPI_BASE,
    CmdError, CollectionTableEntry, Command, DeviceTableEntry, GicOp, GitsBaser,
    IttEntry, InvalKind, InvalRequest, Level1Entry, RoutedPacket,
)
from .geometry import (collection_exists, device_in_range, flat_entry_address, ite_address,
                       level1_entry_address, level2_entry_address, table_geometry)
from .params import ItsParams
from .recipes import INVALIDATION, RECIPES, PacketRd, PacketWhen, RdCheck, Recipe, Write

__all__ = ["CommandFailure", "Write", "PacketWhen", "PacketRd", "RdCheck", "Recipe", "RECIPES",
           "CommandDecoder", "FieldChecks", "EntryEncoder", "Executor"]

E = CmdError
_FULL_ADDR_BITS = 64
"""Width the executor computes table addresses in, to see those beyond the bus."""


class CommandFailure(data.Struct):
    """A failed command, for GITS_ERR_CMD and the error counters."""
    code:   CmdError
    offset: 20   # ring byte offset of the command
    cmd:    8    # its command number (0 when it could not be fetched)


class CommandDecoder(wiring.Component):
    """The :class:`Recipe` of a command number (combinational).

    Members
    -------
    cmd : In(8)
        The command number, DW0[7:0].
    recipe : Out(Recipe)
        Its row of :data:`RECIPES` (all zero for an unsupported number).
    supported : Out(1)
        ``cmd`` has a row in :data:`RECIPES`; otherwise the command is UNSUPPORTED_COMMAND.
    """

    cmd: In(8)
    recipe: Out(Recipe)
    supported: Out(1)

    def elaborate(self, platform):
        m = Module()
        with m.Switch(self.cmd):
            for number, constant in RECIPES.items():
                with m.Case(number):
                    m.d.comb += [self.recipe.eq(constant), self.supported.eq(1)]
        return m


class FieldChecks(wiring.Component):
    """The executor's CHECK step (combinational): the first failing check on the command's
    fields and its DTE, in the order of docs/behaviour.md.

    In order: MAPD V=1 with Size + 1 above ``event_bits`` (``recipe.ittsize_oor``); the
    EventID at or above ``2**(dte_size + 1)`` (``recipe.event_oor``); ``pintid`` not an
    LPI below ``2**id_bits`` (``recipe.pintid_oor``); the command's collection does not
    exist (``recipe.collection_oor``); an RDbase of ``recipe.rd_check`` not below
    ``num_redistributors`` (``recipe.rd_oor``). A check whose code in the recipe is NONE
    is left out.

    Parameters
    ----------
    params : ItsParams
        ``event_bits``, ``id_bits`` and ``num_redistributors``.

    Members
    -------
    command : In(Command)
    recipe : In(Recipe)
    pintid : In(32)
        The pINTID the command maps (MAPI: its EventID).
    dte_size : In(5)
        The DTE's Size (EventID bits - 1).
    collection_exists : In(1)
        The ICID of the command names a collection.
    code : Out(CmdError)
        The code of the first failing check, or NONE.
    """

    def __init__(self, params):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        self._params = params
        super().__init__({
            "command": In(Command),
            "recipe": In(Recipe),
            "pintid": In(32),
            "dte_size": In(5),
            "collection_exists": In(1),
            "code": Out(CmdError),
        })

    def elaborate(self, platform):
        m = Module()
        p = self._params
        command, recipe, pintid = self.command, self.recipe, self.pintid
        rdbase = command.sync.rdbase

        def is_redistributor(value):
            return value < p.num_redistributors

        rd_bad = Signal()
        with m.Switch(recipe.rd_check):
            with m.Case(RdCheck.RDBASE):
                m.d.comb += rd_bad.eq(~is_redistributor(rdbase))
            with m.Case(RdCheck.RDBASE_IF_VALID):
                m.d.comb += rd_bad.eq(command.mapc.valid & ~is_redistributor(rdbase))
            with m.Case(RdCheck.RDBASE_BOTH):
                m.d.comb += rd_bad.eq(~is_redistributor(command.movall.rdbase1) |
                                      ~is_redistributor(command.movall.rdbase2))
        checks = [
            (command.mapd.valid & (command.mapd.size + 1 > p.event_bits), recipe.ittsize_oor),
            ((command.int.event_id >> (self.dte_size + 1)) != 0, recipe.event_oor),
            ((pintid < LPI_BASE) | (pintid >= (1 << p.id_bits)), recipe.pintid_oor),
            (~self.collection_exists, recipe.collection_oor),
            (rd_bad, recipe.rd_oor),
        ]
        for index, (condition, code) in enumerate(checks):
            with (m.If if index == 0 else m.Elif)(condition & (code != E.NONE)):
                m.d.comb += self.code.eq(code)
        return m


class EntryEncoder(wiring.Component):
    """The table-write engine's data path (combinational): the entry a command writes, and
    where.

    ======================  ========================  =============================================
    ``write``               ``addr``                  ``data``
    ======================  ========================  =============================================
    DTE (MAPD)              ``dte_addr``              V=1: [63] 1, [48:5] ITT_addr, [4:0] Size; V=0: 0
    ITE_MAP (MAPTI, MAPI)   ``ite_addr``              [0] 1, [31:16] ICID, [47:32] ``pintid``
    ITE_MOVE (MOVI)         ``ite_addr``              ``ite`` with [31:16] the command's ICID
    ITE_DISCARD (DISCARD)   ``ite_addr``              0
    COLLECTION (MAPC)       ``cte_addr``              V=1: [63] 1, [51:16] RDbase, [15:0] ICID; V=0: 0
    NONE                    0                         0
    ======================  ========================  =============================================

    Members
    -------
    write : In(Write)
    command : In(Command)
    pintid : In(32)
        The pINTID of a MAPTI / MAPI.
    ite : In(IttEntry)
        The ITE read (MOVI).
    dte_addr, ite_addr, cte_addr : In(64)
        The addresses of the command's DTE, ITE and CTE.
    addr : Out(64)
    data : Out(64)
    """

    write: In(Write)
    command: In(Command)
    pintid: In(32)
    ite: In(IttEntry)
    dte_addr: In(64)
    ite_addr: In(64)
    cte_addr: In(64)
    addr: Out(64)
    data: Out(64)

    def elaborate(self, platform):
        m = Module()
        command = self.command
        icid = command.mapti.icid
        with m.Switch(self.write):
            with m.Case(Write.DTE):
                mapped_dte = Signal(DeviceTableEntry)
                m.d.comb += [
                    mapped_dte.valid.eq(1),
                    mapped_dte.itt_addr.eq(command.mapd.itt_addr),
                    mapped_dte.size.eq(command.mapd.size),
                    self.addr.eq(self.dte_addr),
                    self.data.eq(Mux(command.mapd.valid, mapped_dte.as_value(), 0)),
                ]
            with m.Case(Write.ITE_MAP):
                mapped_ite = Signal(IttEntry)
                m.d.comb += [
                    mapped_ite.valid.eq(1),
                    mapped_ite.icid.eq(icid),
                    mapped_ite.intid.eq(self.pintid),
                    self.addr.eq(self.ite_addr),
                    self.data.eq(mapped_ite),
                ]
            with m.Case(Write.ITE_MOVE):
                moved_ite = Signal(IttEntry)
                m.d.comb += [moved_ite.eq(self.ite), moved_ite.icid.eq(icid),
                             self.addr.eq(self.ite_addr), self.data.eq(moved_ite)]
            with m.Case(Write.ITE_DISCARD):
                m.d.comb += self.addr.eq(self.ite_addr)
            with m.Case(Write.COLLECTION):
                mapped_cte = Signal(CollectionTableEntry)
                m.d.comb += [
                    mapped_cte.valid.eq(1),
                    mapped_cte.rdbase.eq(command.sync.rdbase),
                    mapped_cte.icid.eq(icid),
                    self.addr.eq(self.cte_addr),
                    self.data.eq(Mux(command.mapc.valid, mapped_cte.as_value(), 0)),
                ]
        return m


class Executor(wiring.Component):
    """Executes the commands of the command queue, as docs/behaviour.md specifies.

    One command at a time: it takes the command, makes the look-ups and
    checks of its :class:`Recipe` (one single-doubleword memory read each),
    writes at most one table entry, sends at most one packet, and retires it.
    A failing command sends nothing and writes nothing: it reports a
    :class:`CommandFailure`, and retires with ``stall`` under the stall policy.

    Before a write that changes a mapping, it raises ``hold`` and waits for
    ``translator_idle``; it keeps ``hold`` until the cache invalidation and the
    packet are sent. A GITS_CACHE_CTL.Invalidate request (``cache_inval``) is
    served between commands the same way, with an ``InvalKind.ALL``.

    Latency, from the cycle a command is taken (counted as 1) to the cycle it
    retires, with a memory that answers ``L`` cycles after it accepts a request
    and an idle translator: MOVALL 2, INVALL of an on-chip collection 3, SYNC 4
    plus the redistributor's acknowledge, MAPC 5 (5 + L for a collection in
    memory), MAPD 6 + L, MAPTI 7 + 2L, INT / CLEAR / INV 6 + 2L (7 + 3L for a
    collection in memory); a failing command retires as soon as its check
    fails. A busy translator delays the mapping commands until it is idle.

    Parameters
    ----------
    params : ItsParams

    Members
    -------
    cmd : In(stream.Signature(FetchedCommand))
        The next command; taken when the executor starts it.
    retire : Out(1)
        Pulse: the command taken last is finished.
    stall : Out(1)
        With ``retire``: it failed and the error policy is stall (CREADR stays).
    failure : Out(stream.Signature(CommandFailure, always_ready=True))
        One transfer per failing command, with ``retire``.
    mem_read : Out(MemReadSignature())
        Reads of the level-1, DTE, ITE and CTE entries (one doubleword each).
    mem_write : Out(MemWriteSignature())
        Writes of the DTE, ITE and CTE entries.
    coll_write : Out(stream.Signature(CollectionWrite))
        MAPC of an on-chip collection.
    packet : Out(stream.Signature(RoutedPacket))
        To the forwarder.
    synced : In(1)
        Pulse from the forwarder: the redistributor acknowledged the SYNC.
    inval : Out(stream.Signature(InvalRequest))
        To the translator's caches.
    hold : Out(1)
        The translator accepts no new MSI or query.
    translator_idle : In(1)
        The translator has nothing in flight.
    baser_dev, baser_coll : In(GitsBaser)
        GITS_BASER0 (device table) and GITS_BASER1 (collection table).
    cache_inval : In(1)
        GITS_CACHE_CTL.Invalidate is pending.
    cache_inval_done : Out(1)
        Pulse: the caches were invalidated.
    idle : Out(1)
        No command or invalidation in progress.
    """

    def __init__(self, params):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        self._params = params
        super().__init__({
            "cmd": In(stream.Signature(FetchedCommand)),
            "retire": Out(1),
            "stall": Out(1),
            "failure": Out(stream.Signature(CommandFailure, always_ready=True)),
            "mem_read": Out(MemReadSignature()),
            "mem_write": Out(MemWriteSignature()),
            "coll_write": Out(stream.Signature(CollectionWrite)),
            "packet": Out(stream.Signature(RoutedPacket)),
            "synced": In(1),
            "inval": Out(stream.Signature(InvalRequest)),
            "hold": Out(1),
            "translator_idle": In(1),
            "baser_dev": In(GitsBaser),
            "baser_coll": In(GitsBaser),
            "cache_inval": In(1),
            "cache_inval_done": Out(1),
            "idle": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        s = self._elaborate_state(m)
        self._elaborate_lookups(m, s)
        self._elaborate_memory(m, s)
        self._elaborate_decisions(m, s)
        steps = _Steps(self, m, s)
        with m.FSM(name="step"):
            self._elaborate_check_states(m, s, steps)
            self._elaborate_update_states(m, s, steps)
        return m

    def _elaborate_state(self, m):
        """The command being executed and what its look-ups found (registers)."""
        s = SimpleNamespace()
        s.command = Signal(Command)
        s.offset = Signal(len(self.cmd.payload.offset))
        s.recipe = Signal(Recipe)
        s.flushing = Signal()          # serving GITS_CACHE_CTL.Invalidate, not a command
        s.fail_code = Signal(CmdError)
        s.fail_cmd = Signal(8)

        s.dte = Signal(DeviceTableEntry)
        s.dte_addr = Signal(_FULL_ADDR_BITS)
        s.ite = Signal(IttEntry)
        s.ite_addr = Signal(_FULL_ADDR_BITS)
        s.new_mapped = Signal()        # the collection the command names
        s.new_rd = Signal(RD_BITS)
        s.old_mapped = Signal()        # the ITE's collection
        s.old_rd = Signal(RD_BITS)

        s.device_id = s.command.header.device_id
        s.event_id = s.command.int.event_id
        s.icid = s.command.mapti.icid
        s.rdbase = s.command.sync.rdbase
        s.pintid = Mux(s.recipe.pintid_is_event, s.event_id, s.command.mapti.pintid)
        return s

    def _elaborate_lookups(self, m, s):
        """Where the entries are, the read data seen as each entry, the on-chip collections."""
        p = self._params
        # Device table: flat (Size + 1 pages of DTEs) or two-level (Size + 1 pages of level-1
        # entries, each pointing at a page of DTEs).
        dev = table_geometry(m, self.baser_dev, s.device_id, name="dev")
        s.dev_in_range = Signal()
        m.d.comb += s.dev_in_range.eq(device_in_range(p, self.baser_dev, s.device_id, dev))
        s.level1_addr = level1_entry_address(dev.base, dev.page)
        s.flat_dte_addr = flat_entry_address(dev.base, s.device_id)
        s.read_data = self.mem_read.resp.payload.data
        s.level1 = Signal(Level1Entry)
        s.read_dte = Signal(DeviceTableEntry)
        s.read_ite = Signal(IttEntry)
        s.cte = Signal(CollectionTableEntry)
        m.d.comb += [s.level1.eq(s.read_data), s.read_dte.eq(s.read_data),
                     s.read_ite.eq(s.read_data), s.cte.eq(s.read_data)]
        s.level2_dte_addr = level2_entry_address(s.level1.addr, dev.slot)
        s.ite_addr_now = ite_address(s.dte.itt_addr, s.event_id)

        # Collections: on chip below hcc, else CTEs in the collection table (indexed by ICID).
        def collection(icid_value, name):
            """``(exists, cte_addr)`` of collection ``icid_value``."""
            coll = table_geometry(m, self.baser_coll, icid_value, name=name)
            return (collection_exists(p, self.baser_coll, icid_value, coll),
                    flat_entry_address(coll.base, icid_value))
        s.cmd_collection_exists, s.cmd_cte_addr = collection(s.icid, "cmd_coll")
        s.ite_collection_exists, s.ite_cte_addr = collection(s.ite.icid, "ite_coll")

        # The on-chip collections, as the executor (their only writer, through ``coll_write``)
        # wrote them: a copy kept here, so each look-up reads a table beside the state machine
        # through an ICID fixed per step (no ICID multiplexer in front of a read port, no round
        # trip through the collection table). A write is seen from the next cycle, as there.
        shadow_mapped = [Signal(name=f"coll_mapped{n}") for n in range(p.hcc)]
        shadow_rd = [Signal(p.rd_bits, name=f"coll_rd{n}") for n in range(p.hcc)]
        with m.If(self.coll_write.valid & self.coll_write.ready):
            with m.Switch(self.coll_write.payload.icid):
                for n in range(p.hcc):
                    with m.Case(n):
                        m.d.sync += [shadow_mapped[n].eq(self.coll_write.payload.valid),
                                     shadow_rd[n].eq(self.coll_write.payload.rd)]

        def on_chip(icid_value, name):
            """``(on chip, mapped, rd)`` of collection ``icid_value`` in the copy."""
            mapped = Signal(name=f"{name}_coll_mapped")
            rd = Signal(RD_BITS, name=f"{name}_coll_rd")
            with m.Switch(icid_value):
                for n in range(p.hcc):
                    with m.Case(n):
                        m.d.comb += [mapped.eq(shadow_mapped[n]), rd.eq(shadow_rd[n])]
            return icid_value < p.hcc, mapped, rd
        s.cmd_on_chip = on_chip(s.icid, "cmd")
        s.ite_on_chip = on_chip(s.ite.icid, "ite")
        s.cte_mapped = s.cte.valid & (s.cte.rdbase < p.num_redistributors)

    def _elaborate_memory(self, m, s):
        """One single-doubleword read or write at a time.

        An address beyond the bus's ADDR_BITS is one the bus would answer DECERR for: the
        read is still made (at the wrapped address) and its answer taken as an error; such
        a write is not made at all.
        """
        s.read_beyond = Signal()
        m.d.comb += [self.mem_read.resp.ready.eq(1), self.mem_write.resp.ready.eq(1)]
        with m.If(self.mem_read.req.ready):
            m.d.sync += self.mem_read.req.valid.eq(0)
        with m.If(self.mem_write.req.ready):
            m.d.sync += self.mem_write.req.valid.eq(0)
        s.read_error = (self.mem_read.resp.payload.error | s.read_beyond, E.TABLE_READ_ERROR)

        m.submodules.entry_encoder = encoder = EntryEncoder()
        m.d.comb += [
            encoder.write.eq(s.recipe.write),
            encoder.command.eq(s.command),
            encoder.pintid.eq(s.pintid),
            encoder.ite.eq(s.ite),
            encoder.dte_addr.eq(s.dte_addr),
            encoder.ite_addr.eq(s.ite_addr),
            encoder.cte_addr.eq(s.cmd_cte_addr),
        ]
        s.write_addr = encoder.addr
        # The collection table's attributes for a CTE, the device table's for a DTE and an
        # ITE (the ITT has no register of its own: docs/axi-attributes.md).
        m.d.comb += [self.mem_write.req.payload.addr.eq(s.write_addr[:ADDR_BITS]),
                     self.mem_write.req.payload.data.eq(encoder.data),
                     self.mem_write.req.payload.attr.eq(
                         Mux(s.recipe.write == Write.COLLECTION, mem_attributes(self.baser_coll),
                             mem_attributes(self.baser_dev)))]

    def _elaborate_decisions(self, m, s):
        """The decoder, the field checks, the packet, the invalidation and the error report."""
        p = self._params
        m.submodules.decoder = decoder = CommandDecoder()
        m.d.comb += decoder.cmd.eq(self.cmd.payload.command.header.cmd)
        s.incoming_recipe = decoder.recipe
        s.incoming_supported = decoder.supported

        m.submodules.field_checks = checks = FieldChecks(p)
        m.d.comb += [
            checks.command.eq(s.command),
            checks.recipe.eq(s.recipe),
            checks.pintid.eq(s.pintid),
            checks.dte_size.eq(s.dte.size),
            checks.collection_exists.eq(s.cmd_collection_exists),
        ]
        s.check_code = checks.code

        # -- the packet ----------------------------------------------------------------------
        recipe, command = s.recipe, s.command
        packet = self.packet.payload
        s.packet_wanted = Signal()
        with m.Switch(recipe.packet_rd):
            for source, value in ((PacketRd.ITE_COLLECTION, s.old_rd),
                                  (PacketRd.CMD_COLLECTION, s.new_rd),
                                  (PacketRd.RDBASE, s.rdbase)):
                with m.Case(source):
                    m.d.comb += packet.rd.eq(value)
        m.d.comb += packet.packet.op.eq(recipe.packet_op)
        with m.Switch(recipe.packet_op):
            with m.Case(GicOp.SET, GicOp.CLEAR, GicOp.INV):
                m.d.comb += packet.packet.lpi.eq(s.ite.intid)
            with m.Case(GicOp.MOVLPI):
                m.d.comb += [packet.packet.lpi.eq(s.ite.intid),
                             packet.packet.target.eq(s.new_rd)]
            with m.Case(GicOp.MOVALL):
                m.d.comb += packet.packet.target.eq(command.movall.rdbase2)
        with m.Switch(recipe.packet_when):
            with m.Case(PacketWhen.ALWAYS):
                m.d.comb += s.packet_wanted.eq(1)
            with m.Case(PacketWhen.RD_CHANGES):
                m.d.comb += s.packet_wanted.eq(s.old_mapped & (s.old_rd != s.new_rd))
            with m.Case(PacketWhen.RDBASES_DIFFER):
                m.d.comb += s.packet_wanted.eq(command.movall.rdbase1 != command.movall.rdbase2)

        # -- the on-chip collection write and the invalidation -------------------------------
        m.d.comb += [
            self.coll_write.payload.icid.eq(s.icid),
            self.coll_write.payload.valid.eq(command.mapc.valid),
            self.coll_write.payload.rd.eq(s.rdbase),
            self.inval.payload.device_id.eq(s.device_id),
            self.inval.payload.event_id.eq(s.event_id),
        ]
        with m.If(s.flushing):
            m.d.comb += self.inval.payload.kind.eq(InvalKind.ALL)
        with m.Else():
            with m.Switch(recipe.write):
                for write, kind in INVALIDATION.items():
                    with m.Case(write):
                        m.d.comb += self.inval.payload.kind.eq(kind)

        # -- the error report ----------------------------------------------------------------
        m.d.comb += [
            self.failure.payload.code.eq(s.fail_code),
            self.failure.payload.offset.eq(s.offset * COMMAND_BYTES),
            self.failure.payload.cmd.eq(s.fail_cmd),
            self.stall.eq(self.failure.valid & (p.error_policy == "stall")),
        ]

    def _elaborate_check_states(self, m, s, steps):
        """WAIT_COMMAND .. WAIT_ITE_CTE: take the command, look up and check."""
        recipe = s.recipe
        with m.State("WAIT_COMMAND"):
            m.d.comb += self.idle.eq(~self.cache_inval)
            with m.If(self.cache_inval):
                m.d.sync += [s.flushing.eq(1), recipe.eq(0), self.hold.eq(1)]
                m.next = "WAIT_TRANSLATOR_IDLE"
            with m.Else():
                m.d.comb += self.cmd.ready.eq(1)
            with m.If(self.cmd.valid & self.cmd.ready):
                fetched = self.cmd.payload
                m.d.sync += [
                    s.command.eq(fetched.command),
                    s.offset.eq(fetched.offset),
                    recipe.eq(s.incoming_recipe),
                    s.fail_cmd.eq(Mux(fetched.error, 0, fetched.command.header.cmd)),
                ]
                with m.If(fetched.error):
                    steps.fail(E.COMMAND_READ_ERROR)
                with m.Elif(~s.incoming_supported):
                    steps.fail(E.UNSUPPORTED_COMMAND)
                with m.Elif(s.incoming_recipe.device_oor != E.NONE):
                    m.next = "DEVICE"
                with m.Else():
                    m.next = "CHECK"

        with m.State("DEVICE"):
            def in_range():
                with m.If(self.baser_dev.indirect):
                    steps.start_read(s.level1_addr)
                    m.next = "WAIT_LEVEL1"
                with m.Else():
                    steps.read_dte_at(s.flat_dte_addr)
            steps.checked([(~s.dev_in_range, recipe.device_oor)], in_range)

        with m.State("WAIT_LEVEL1"):
            with m.If(self.mem_read.resp.valid):
                steps.checked([s.read_error, (~s.level1.valid, recipe.device_oor)],
                              lambda: steps.read_dte_at(s.level2_dte_addr))

        with m.State("WAIT_DTE"):
            with m.If(self.mem_read.resp.valid):
                m.d.sync += s.dte.eq(s.read_data)
                steps.checked([s.read_error, (~s.read_dte.valid, recipe.dte_invalid)],
                              steps.goto("CHECK"))

        with m.State("CHECK"):
            steps.checked([(Const(1), s.check_code)], steps.after_checks)

        with m.State("WAIT_ITE"):
            with m.If(self.mem_read.resp.valid):
                m.d.sync += s.ite.eq(s.read_data)
                steps.checked([s.read_error, (~s.read_ite.valid, recipe.ite_invalid)],
                              lambda: steps.go_after(None))

        steps.collection_lookup("LOOKUP_CMD_COLLECTION", "WAIT_CMD_CTE", s.cmd_on_chip,
                                s.cmd_collection_exists, s.cmd_cte_addr, s.new_mapped,
                                s.new_rd, recipe.cmd_collection)
        steps.collection_lookup("LOOKUP_ITE_COLLECTION", "WAIT_ITE_CTE", s.ite_on_chip,
                                s.ite_collection_exists, s.ite_cte_addr, s.old_mapped,
                                s.old_rd, recipe.ite_collection_unmapped)

    def _elaborate_update_states(self, m, s, steps):
        """WAIT_TRANSLATOR_IDLE .. FAIL: write, invalidate, send the packet, retire."""
        p = self._params
        recipe = s.recipe
        with m.State("WAIT_TRANSLATOR_IDLE"):
            m.d.sync += self.hold.eq(1)
            with m.If(self.hold & self.translator_idle):
                with m.If(recipe.write == Write.NONE):
                    m.next = "WAIT_INVALIDATE"
                with m.Elif((recipe.write == Write.COLLECTION) & (s.icid < p.hcc)):
                    m.next = "WAIT_COLLECTION_WRITE"
                with m.Elif(s.write_addr[ADDR_BITS:].any()):
                    steps.fail(E.TABLE_WRITE_ERROR)
                with m.Else():
                    m.d.sync += self.mem_write.req.valid.eq(1)
                    m.next = "WAIT_WRITE"

        with m.State("WAIT_COLLECTION_WRITE"):
            m.d.comb += self.coll_write.valid.eq(1)
            with m.If(self.coll_write.ready):
                m.next = "WAIT_INVALIDATE"

        with m.State("WAIT_WRITE"):
            with m.If(self.mem_write.resp.valid):
                steps.checked([(self.mem_write.resp.payload.error, E.TABLE_WRITE_ERROR)],
                              steps.goto("WAIT_INVALIDATE"))

        with m.State("WAIT_INVALIDATE"):
            m.d.comb += self.inval.valid.eq(1)
            with m.If(self.inval.ready):
                with m.If(s.flushing):
                    m.d.comb += self.cache_inval_done.eq(1)
                    m.d.sync += [s.flushing.eq(0), self.hold.eq(0)]
                    m.next = "WAIT_COMMAND"
                with m.Else():
                    steps.go_after("WAIT_TRANSLATOR_IDLE")

        with m.State("WAIT_PACKET"):
            m.d.comb += self.packet.valid.eq(1)
            with m.If(self.packet.ready):
                with m.If(recipe.packet_op == GicOp.SYNC):
                    m.next = "WAIT_SYNC_ACK"
                with m.Else():
                    steps.retire()

        with m.State("WAIT_SYNC_ACK"):
            with m.If(self.synced):
                steps.retire()

        with m.State("FAIL"):
            m.d.comb += self.failure.valid.eq(1)
            steps.retire()


class _Steps:
    """The executor's moves between steps, used inside its state machine: fail, retire, go
    to the next step the recipe asks for, start a read, look up a collection."""

    def __init__(self, executor, m, s):
        self.e, self.m, self.s = executor, m, s
        recipe = s.recipe
        # After the ITE, each step goes to the first later step its recipe asks for.
        self.steps_after_ite = [
            ("LOOKUP_CMD_COLLECTION", recipe.cmd_collection != E.NONE),
            ("LOOKUP_ITE_COLLECTION", recipe.ite_collection),
            ("WAIT_TRANSLATOR_IDLE", recipe.write != Write.NONE),
            ("WAIT_PACKET", s.packet_wanted),
        ]

    def start_read(self, addr, table=None):
        """Read the entry at ``addr`` of the table ``table`` describes (a GITS_BASERn view;
        the device table's, which also covers level-1 entries and the ITTs, when None)."""
        mem_read = self.e.mem_read
        table = self.e.baser_dev if table is None else table
        self.m.d.sync += [mem_read.req.valid.eq(1),
                          mem_read.req.payload.addr.eq(addr[:ADDR_BITS]),
                          mem_read.req.payload.count.eq(0),
                          mem_read.req.payload.attr.eq(mem_attributes(table)),
                          self.s.read_beyond.eq(addr[ADDR_BITS:].any())]

    def fail(self, code):
        self.m.d.sync += self.s.fail_code.eq(code)
        self.m.next = "FAIL"

    def checked(self, chain, then):
        """Fail with the code of the first ``(condition, code)`` of ``chain`` whose
        condition holds (a code of NONE leaves that check out); otherwise ``then()``."""
        m = self.m
        for index, (condition, code) in enumerate(chain):
            with (m.If if index == 0 else m.Elif)(condition & (code != E.NONE)):
                self.fail(code)
        with m.Else():
            then()

    def retire(self):
        self.m.d.comb += self.e.retire.eq(1)
        self.m.d.sync += self.e.hold.eq(0)
        self.m.next = "WAIT_COMMAND"

    def goto(self, state):
        def go():
            self.m.next = state
        return go

    def go_after(self, step):
        """Go to the first step after ``step`` (None: after the ITE) the recipe wants."""
        m = self.m
        names = [name for name, _ in self.steps_after_ite]
        later = self.steps_after_ite[names.index(step) + 1:] if step else self.steps_after_ite
        for index, (name, wanted) in enumerate(later):
            with (m.If if index == 0 else m.Elif)(wanted):
                m.next = name
        with m.Else():
            self.retire()

    def read_dte_at(self, addr):
        """The DTE is at ``addr``: read it when the recipe checks it, else go on to CHECK."""
        m, s = self.m, self.s
        m.d.sync += s.dte_addr.eq(addr)
        with m.If(s.recipe.dte_invalid != E.NONE):
            self.start_read(addr)
            m.next = "WAIT_DTE"
        with m.Else():
            m.next = "CHECK"

    def after_checks(self):
        """From CHECK: read the ITE when the recipe checks it, else go on."""
        m, s = self.m, self.s
        m.d.sync += s.ite_addr.eq(s.ite_addr_now)
        with m.If(s.recipe.ite_invalid != E.NONE):
            self.start_read(s.ite_addr_now)
            m.next = "WAIT_ITE"
        with m.Else():
            self.go_after(None)

    def collection_lookup(self, state, wait_state, lookup, exists, cte_addr, mapped, rd, code):
        """Steps ``state`` and ``wait_state``: is the collection mapped, to which RD (on
        chip at once, from ``lookup``, or from its CTE)? Fail with ``code`` when it is not."""
        m, s = self.m, self.s
        then = lambda: self.go_after(state)
        is_on_chip, on_chip_mapped, on_chip_rd = lookup
        with m.State(state):
            with m.If(~exists):
                m.d.sync += mapped.eq(0)
                self.checked([(Const(1), code)], then)
            with m.Elif(is_on_chip):
                m.d.sync += [mapped.eq(on_chip_mapped), rd.eq(on_chip_rd)]
                self.checked([(~on_chip_mapped, code)], then)
            with m.Else():
                self.start_read(cte_addr, self.e.baser_coll)
                m.next = wait_state
        with m.State(wait_state):
            with m.If(self.e.mem_read.resp.valid):
                m.d.sync += [mapped.eq(s.cte_mapped), rd.eq(s.cte.rdbase)]
                self.checked([s.read_error, (~s.cte_mapped, code)], then)
