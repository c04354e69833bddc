"""The command executor: runs the ITS commands the fetch engine hands it, one at a time.

Every command is described by a :class:`Recipe`, a row of constants in
:data:`RECIPES`: which look-ups it makes, which check gives which error code,
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

A GICv4 command (docs/gicv4.md) is a new row of :data:`RECIPES` plus, where it
needs one, a new step (the vPE table behind GITS_BASER2) in the same chain.
"""

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from ..bus.mem import ADDR_BITS, MemReadSignature, MemWriteSignature
from .cmdq import FetchedCommand
from .collections import CollectionWrite, RD_BITS
from .layouts import (
    COMMAND_BYTES, LPI_BASE,
    Cmd, CmdError, CollectionTableEntry, Command, DeviceTableEntry, GicOp, GitsBaser,
    IttEntry, InvalKind, InvalRequest, Level1Entry, RoutedPacket,
)
from .geometry import (collection_exists, device_in_range, flat_entry_address, ite_address,
                       level1_entry_address, level2_entry_address, table_geometry)
from .params import ItsParams

__all__ = ["CommandFailure", "Write", "PacketWhen", "PacketRd", "RdCheck", "Recipe", "RECIPES",
           "Executor"]

E = CmdError
_FULL_ADDR_BITS = 64
"""Width the executor computes table addresses in, to see those beyond the bus."""


class CommandFailure(data.Struct):
    """A failed command, for GITS_ERR_CMD and the error counters."""
    code:   CmdError
    offset: 20   # ring byte offset of the command
    cmd:    8    # its command number (0 when it could not be fetched)


class Write(enum.Enum, shape=3):
    """The one table entry a command writes."""
    NONE        = 0  #: no write
    DTE         = 1  #: MAPD: the DTE (all zero for V=0)
    ITE_MAP     = 2  #: MAPTI, MAPI: a valid ITE (pINTID, ICID)
    ITE_MOVE    = 3  #: MOVI: the ITE with the new ICID
    ITE_DISCARD = 4  #: DISCARD: an all-zero ITE
    COLLECTION  = 5  #: MAPC: the on-chip collection, or the CTE (all zero for V=0)


INVALIDATION = {
    Write.DTE: InvalKind.DEVICE,
    Write.ITE_MAP: InvalKind.EVENT,
    Write.ITE_MOVE: InvalKind.EVENT,
    Write.ITE_DISCARD: InvalKind.EVENT,
    Write.COLLECTION: InvalKind.ALL,
}
"""What the translation caches forget after each kind of write."""


class PacketWhen(enum.Enum, shape=2):
    """Whether a command that passed its checks sends its packet."""
    NEVER          = 0  #: no packet
    ALWAYS         = 1  #: always
    RD_CHANGES     = 2  #: MOVI: the old collection is mapped and its RD differs from the new one
    RDBASES_DIFFER = 3  #: MOVALL: RDbase1 differs from RDbase2


class PacketRd(enum.Enum, shape=2):
    """Which redistributor the packet goes to."""
    ITE_COLLECTION = 0  #: the RD of the ITE's collection (INT, CLEAR, INV, DISCARD, MOVI's old one)
    CMD_COLLECTION = 1  #: the RD of the collection the command names (INVALL)
    RDBASE         = 2  #: DW2[50:16] of the command (SYNC, MOVALL's RDbase1)


class RdCheck(enum.Enum, shape=2):
    """Which RDbase fields must name a redistributor."""
    NONE             = 0  #: none
    RDBASE           = 1  #: DW2[50:16] (SYNC)
    RDBASE_IF_VALID  = 2  #: DW2[50:16] when DW2[63] V = 1 (MAPC)
    RDBASE_BOTH      = 3  #: DW2[50:16] and DW3[50:16] (MOVALL)


class Recipe(data.Struct):
    """How the executor runs one command. An error code of NONE leaves its check out."""
    device_oor:        CmdError     # DeviceID not in range (looks up the device)
    dte_invalid:       CmdError     # DTE not valid (reads the DTE)
    ittsize_oor:       CmdError     # MAPD V=1 with Size+1 > event_bits
    event_oor:         CmdError     # EventID beyond the DTE's ITT size
    ite_invalid:       CmdError     # ITE not valid (reads the ITE)
    pintid_oor:        CmdError     # pINTID not an LPI of id_bits
    pintid_is_event:   1            # MAPI: pINTID = EventID
    collection_oor:    CmdError     # the command's ICID does not exist
    rd_check:          RdCheck
    rd_oor:            CmdError     # RDbase not a redistributor
    cmd_collection:    CmdError     # the command's collection is not mapped (looks it up)
    ite_collection:    1            # look up the ITE's collection
    ite_collection_unmapped: CmdError  # the ITE's collection is not mapped
    write:             Write
    packet_when:       PacketWhen
    packet_op:         GicOp
    packet_rd:         PacketRd


def _recipe(**fields):
    return Recipe.const(fields)


def _mapped_event(code, op, **fields):
    """INT, CLEAR, INV, DISCARD: find the ITE and its mapped collection, or fail with ``code``."""
    return _recipe(device_oor=code, dte_invalid=code, event_oor=code, ite_invalid=code,
                   ite_collection=1, ite_collection_unmapped=code,
                   packet_when=PacketWhen.ALWAYS, packet_op=op,
                   packet_rd=PacketRd.ITE_COLLECTION, **fields)


def _map_event(**fields):
    """MAPTI, MAPI."""
    code = E.MAPTI_UNMAPPED_DEVICE
    return _recipe(device_oor=code, dte_invalid=code, event_oor=E.MAPTI_ID_OOR,
                   pintid_oor=E.MAPTI_PHYSICALID_OOR, collection_oor=E.MAPC_COLLECTION_OOR,
                   write=Write.ITE_MAP, **fields)


RECIPES = {
    Cmd.MAPD: _recipe(device_oor=E.MAPD_DEVICE_OOR, ittsize_oor=E.MAPD_ITTSIZE_OOR,
                      write=Write.DTE),
    Cmd.MAPC: _recipe(collection_oor=E.MAPC_COLLECTION_OOR, rd_check=RdCheck.RDBASE_IF_VALID,
                      rd_oor=E.MAPC_PROCNUM_OOR, write=Write.COLLECTION),
    Cmd.MAPTI: _map_event(),
    Cmd.MAPI: _map_event(pintid_is_event=1),
    Cmd.MOVI: _recipe(device_oor=E.MOVI_UNMAPPED_INTERRUPT, dte_invalid=E.MOVI_UNMAPPED_INTERRUPT,
                      event_oor=E.MOVI_UNMAPPED_INTERRUPT, ite_invalid=E.MOVI_UNMAPPED_INTERRUPT,
                      cmd_collection=E.MOVI_UNMAPPED_COLLECTION, ite_collection=1,
                      write=Write.ITE_MOVE, packet_when=PacketWhen.RD_CHANGES,
                      packet_op=GicOp.MOVLPI, packet_rd=PacketRd.ITE_COLLECTION),
    Cmd.INT: _mapped_event(E.INT_UNMAPPED_INTERRUPT, GicOp.SET),
    Cmd.CLEAR: _mapped_event(E.CLEAR_UNMAPPED_INTERRUPT, GicOp.CLEAR),
    Cmd.INV: _mapped_event(E.INV_UNMAPPED_INTERRUPT, GicOp.INV),
    Cmd.DISCARD: _mapped_event(E.DISCARD_UNMAPPED_INTERRUPT, GicOp.CLEAR,
                               write=Write.ITE_DISCARD),
    Cmd.INVALL: _recipe(cmd_collection=E.INVALL_UNMAPPED_COLLECTION,
                        packet_when=PacketWhen.ALWAYS, packet_op=GicOp.INVALL,
                        packet_rd=PacketRd.CMD_COLLECTION),
    Cmd.MOVALL: _recipe(rd_check=RdCheck.RDBASE_BOTH, rd_oor=E.MOVALL_PROCNUM_OOR,
                        packet_when=PacketWhen.RDBASES_DIFFER, packet_op=GicOp.MOVALL,
                        packet_rd=PacketRd.RDBASE),
    Cmd.SYNC: _recipe(rd_check=RdCheck.RDBASE, rd_oor=E.SYNC_PROCNUM_OOR,
                      packet_when=PacketWhen.ALWAYS, packet_op=GicOp.SYNC,
                      packet_rd=PacketRd.RDBASE),
}
"""The recipe of each command the executor runs; any other number is UNSUPPORTED_COMMAND."""


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
        p = self._params

        # -- the command being executed, and what its look-ups found ------------------------
        command = Signal(Command)
        offset = Signal(len(self.cmd.payload.offset))
        recipe = Signal(Recipe)
        flushing = Signal()            # serving GITS_CACHE_CTL.Invalidate, not a command
        fail_code = Signal(CmdError)
        fail_cmd = Signal(8)

        dte = Signal(DeviceTableEntry)
        dte_addr = Signal(_FULL_ADDR_BITS)
        ite = Signal(IttEntry)
        ite_addr = Signal(_FULL_ADDR_BITS)
        new_mapped = Signal()          # the collection the command names
        new_rd = Signal(RD_BITS)
        old_mapped = Signal()          # the ITE's collection
        old_rd = Signal(RD_BITS)

        device_id = command.header.device_id
        event_id = command.int.event_id
        icid = command.mapti.icid
        rdbase = command.sync.rdbase
        pintid = Mux(recipe.pintid_is_event, event_id, command.mapti.pintid)

        def is_redistributor(value):
            return value < p.num_redistributors

        # -- where the entries are -----------------------------------------------------------
        # Device table: flat (Size + 1 pages of DTEs) or two-level (Size + 1 pages of level-1
        # entries, each pointing at a page of DTEs).
        dev = table_geometry(m, self.baser_dev, device_id, name="dev")
        dev_in_range = Signal()
        m.d.comb += dev_in_range.eq(device_in_range(p, self.baser_dev, device_id, dev))
        level1_addr = level1_entry_address(dev.base, dev.page)
        flat_dte_addr = flat_entry_address(dev.base, device_id)
        read_data = self.mem_read.resp.payload.data
        level1 = Signal(Level1Entry)
        read_dte = Signal(DeviceTableEntry)
        read_ite = Signal(IttEntry)
        cte = Signal(CollectionTableEntry)
        m.d.comb += [level1.eq(read_data), read_dte.eq(read_data), read_ite.eq(read_data),
                     cte.eq(read_data)]
        level2_dte_addr = level2_entry_address(level1.addr, dev.slot)
        ite_addr_now = ite_address(dte.itt_addr, event_id)

        # Collections: on chip below hcc, else CTEs in the collection table (indexed by ICID).
        def collection(icid_value, name):
            """``(exists, cte_addr)`` of collection ``icid_value``."""
            coll = table_geometry(m, self.baser_coll, icid_value, name=name)
            return (collection_exists(p, self.baser_coll, icid_value, coll),
                    flat_entry_address(coll.base, icid_value))
        cmd_collection_exists, cmd_cte_addr = collection(icid, "cmd_coll")
        ite_collection_exists, ite_cte_addr = collection(ite.icid, "ite_coll")

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
        cmd_on_chip = on_chip(icid, "cmd")
        ite_on_chip = on_chip(ite.icid, "ite")
        cte_mapped = cte.valid & is_redistributor(cte.rdbase)

        # -- memory: one single-doubleword read or write at a time --------------------------
        # An address beyond the bus's ADDR_BITS is one the bus would answer DECERR for: the
        # read is still made (at the wrapped address) and its answer taken as an error; such
        # a write is not made at all.
        read_beyond = Signal()
        m.d.comb += [self.mem_read.resp.ready.eq(1), self.mem_write.resp.ready.eq(1)]
        with m.If(self.mem_read.req.ready):
            m.d.sync += self.mem_read.req.valid.eq(0)
        with m.If(self.mem_write.req.ready):
            m.d.sync += self.mem_write.req.valid.eq(0)

        def start_read(addr):
            m.d.sync += [self.mem_read.req.valid.eq(1),
                         self.mem_read.req.payload.addr.eq(addr[:ADDR_BITS]),
                         self.mem_read.req.payload.count.eq(0),
                         read_beyond.eq(addr[ADDR_BITS:].any())]

        read_error = (self.mem_read.resp.payload.error | read_beyond, E.TABLE_READ_ERROR)

        write_addr = Signal(_FULL_ADDR_BITS)
        write_data = Signal(64)
        m.d.comb += [self.mem_write.req.payload.addr.eq(write_addr[:ADDR_BITS]),
                     self.mem_write.req.payload.data.eq(write_data)]

        # -- failing, retiring, and the chain of steps ---------------------------------------
        def fail(code):
            m.d.sync += fail_code.eq(code)
            m.next = "FAIL"

        def checked(chain, then):
            """Fail with the code of the first ``(condition, code)`` of ``chain`` whose
            condition holds (a code of NONE leaves that check out); otherwise ``then()``."""
            for index, (condition, code) in enumerate(chain):
                with (m.If if index == 0 else m.Elif)(condition & (code != E.NONE)):
                    fail(code)
            with m.Else():
                then()

        def retire():
            m.d.comb += self.retire.eq(1)
            m.d.sync += self.hold.eq(0)
            m.next = "WAIT_COMMAND"

        def goto(state):
            def go():
                m.next = state
            return go

        # After the ITE, each step goes to the first later step its recipe asks for.
        packet_wanted = Signal()
        steps_after_ite = [
            ("LOOKUP_CMD_COLLECTION", recipe.cmd_collection != E.NONE),
            ("LOOKUP_ITE_COLLECTION", recipe.ite_collection),
            ("WAIT_TRANSLATOR_IDLE", recipe.write != Write.NONE),
            ("WAIT_PACKET", packet_wanted),
        ]

        def go_after(step):
            """Go to the first step after ``step`` (None: after the ITE) the recipe wants."""
            names = [name for name, _ in steps_after_ite]
            later = steps_after_ite[names.index(step) + 1:] if step else steps_after_ite
            for index, (name, wanted) in enumerate(later):
                with (m.If if index == 0 else m.Elif)(wanted):
                    m.next = name
            with m.Else():
                retire()

        def read_dte_at(addr):
            """The DTE is at ``addr``: read it when the recipe checks it, else go on to CHECK."""
            m.d.sync += dte_addr.eq(addr)
            with m.If(recipe.dte_invalid != E.NONE):
                start_read(addr)
                m.next = "WAIT_DTE"
            with m.Else():
                m.next = "CHECK"

        def after_checks():
            """From CHECK: read the ITE when the recipe checks it, else go on."""
            m.d.sync += ite_addr.eq(ite_addr_now)
            with m.If(recipe.ite_invalid != E.NONE):
                start_read(ite_addr_now)
                m.next = "WAIT_ITE"
            with m.Else():
                go_after(None)

        def collection_lookup(state, wait_state, lookup, exists, cte_addr, mapped, rd, code):
            """Steps ``state`` and ``wait_state``: is the collection mapped, to which RD (on
            chip at once, from ``lookup``, or from its CTE)? Fail with ``code`` when it is not."""
            then = lambda: go_after(state)
            is_on_chip, on_chip_mapped, on_chip_rd = lookup
            with m.State(state):
                with m.If(~exists):
                    m.d.sync += mapped.eq(0)
                    checked([(Const(1), code)], then)
                with m.Elif(is_on_chip):
                    m.d.sync += [mapped.eq(on_chip_mapped), rd.eq(on_chip_rd)]
                    checked([(~on_chip_mapped, code)], then)
                with m.Else():
                    start_read(cte_addr)
                    m.next = wait_state
            with m.State(wait_state):
                with m.If(self.mem_read.resp.valid):
                    m.d.sync += [mapped.eq(cte_mapped), rd.eq(cte.rdbase)]
                    checked([read_error, (~cte_mapped, code)], then)

        # -- decoding: the recipe of the incoming command ------------------------------------
        incoming_recipe = Signal(Recipe)
        incoming_supported = Signal()
        with m.Switch(self.cmd.payload.command.header.cmd):
            for number, constant in RECIPES.items():
                with m.Case(number):
                    m.d.comb += [incoming_recipe.eq(constant), incoming_supported.eq(1)]

        # -- the checks on command fields (CHECK) --------------------------------------------
        rd_bad = Signal()
        with m.Switch(recipe.rd_check):
            with m.Case(RdCheck.RDBASE):
                m.d.comb += rd_bad.eq(~is_redistributor(rdbase))
            with m.Case(RdCheck.RDBASE_IF_VALID):
                m.d.comb += rd_bad.eq(command.mapc.valid & ~is_redistributor(rdbase))
            with m.Case(RdCheck.RDBASE_BOTH):
                m.d.comb += rd_bad.eq(~is_redistributor(command.movall.rdbase1) |
                                      ~is_redistributor(command.movall.rdbase2))
        field_checks = [
            (command.mapd.valid & (command.mapd.size + 1 > p.event_bits), recipe.ittsize_oor),
            ((event_id >> (dte.size + 1)) != 0, recipe.event_oor),
            ((pintid < LPI_BASE) | (pintid >= (1 << p.id_bits)), recipe.pintid_oor),
            (~cmd_collection_exists, recipe.collection_oor),
            (rd_bad, recipe.rd_oor),
        ]

        # -- the packet ----------------------------------------------------------------------
        packet = self.packet.payload
        with m.Switch(recipe.packet_rd):
            for source, value in ((PacketRd.ITE_COLLECTION, old_rd),
                                  (PacketRd.CMD_COLLECTION, new_rd), (PacketRd.RDBASE, rdbase)):
                with m.Case(source):
                    m.d.comb += packet.rd.eq(value)
        m.d.comb += packet.packet.op.eq(recipe.packet_op)
        with m.Switch(recipe.packet_op):
            with m.Case(GicOp.SET, GicOp.CLEAR, GicOp.INV):
                m.d.comb += packet.packet.lpi.eq(ite.intid)
            with m.Case(GicOp.MOVLPI):
                m.d.comb += [packet.packet.lpi.eq(ite.intid), packet.packet.target.eq(new_rd)]
            with m.Case(GicOp.MOVALL):
                m.d.comb += packet.packet.target.eq(command.movall.rdbase2)
        with m.Switch(recipe.packet_when):
            with m.Case(PacketWhen.ALWAYS):
                m.d.comb += packet_wanted.eq(1)
            with m.Case(PacketWhen.RD_CHANGES):
                m.d.comb += packet_wanted.eq(old_mapped & (old_rd != new_rd))
            with m.Case(PacketWhen.RDBASES_DIFFER):
                m.d.comb += packet_wanted.eq(command.movall.rdbase1 != command.movall.rdbase2)

        # -- the write and the invalidation --------------------------------------------------
        with m.Switch(recipe.write):
            with m.Case(Write.DTE):
                mapped_dte = Signal(DeviceTableEntry)
                m.d.comb += [
                    mapped_dte.valid.eq(1),
                    mapped_dte.itt_addr.eq(command.mapd.itt_addr),
                    mapped_dte.size.eq(command.mapd.size),
                    write_addr.eq(dte_addr),
                    write_data.eq(Mux(command.mapd.valid, mapped_dte.as_value(), 0)),
                ]
            with m.Case(Write.ITE_MAP):
                mapped_ite = Signal(IttEntry)
                m.d.comb += [
                    mapped_ite.valid.eq(1),
                    mapped_ite.icid.eq(icid),
                    mapped_ite.intid.eq(pintid),
                    write_addr.eq(ite_addr),
                    write_data.eq(mapped_ite),
                ]
            with m.Case(Write.ITE_MOVE):
                moved_ite = Signal(IttEntry)
                m.d.comb += [moved_ite.eq(ite), moved_ite.icid.eq(icid),
                             write_addr.eq(ite_addr), write_data.eq(moved_ite)]
            with m.Case(Write.ITE_DISCARD):
                m.d.comb += write_addr.eq(ite_addr)
            with m.Case(Write.COLLECTION):
                mapped_cte = Signal(CollectionTableEntry)
                m.d.comb += [
                    mapped_cte.valid.eq(1),
                    mapped_cte.rdbase.eq(rdbase),
                    mapped_cte.icid.eq(icid),
                    write_addr.eq(cmd_cte_addr),
                    write_data.eq(Mux(command.mapc.valid, mapped_cte.as_value(), 0)),
                ]
        m.d.comb += [
            self.coll_write.payload.icid.eq(icid),
            self.coll_write.payload.valid.eq(command.mapc.valid),
            self.coll_write.payload.rd.eq(rdbase),
            self.inval.payload.device_id.eq(device_id),
            self.inval.payload.event_id.eq(event_id),
        ]
        with m.If(flushing):
            m.d.comb += self.inval.payload.kind.eq(InvalKind.ALL)
        with m.Else():
            with m.Switch(recipe.write):
                for write, kind in INVALIDATION.items():
                    with m.Case(write):
                        m.d.comb += self.inval.payload.kind.eq(kind)

        # -- the error report ----------------------------------------------------------------
        m.d.comb += [
            self.failure.payload.code.eq(fail_code),
            self.failure.payload.offset.eq(offset * COMMAND_BYTES),
            self.failure.payload.cmd.eq(fail_cmd),
            self.stall.eq(self.failure.valid & (p.error_policy == "stall")),
        ]

        # -- the state machine ---------------------------------------------------------------
        with m.FSM(name="step"):
            with m.State("WAIT_COMMAND"):
                m.d.comb += self.idle.eq(~self.cache_inval)
                with m.If(self.cache_inval):
                    m.d.sync += [flushing.eq(1), recipe.eq(0), self.hold.eq(1)]
                    m.next = "WAIT_TRANSLATOR_IDLE"
                with m.Else():
                    m.d.comb += self.cmd.ready.eq(1)
                with m.If(self.cmd.valid & self.cmd.ready):
                    fetched = self.cmd.payload
                    m.d.sync += [
                        command.eq(fetched.command),
                        offset.eq(fetched.offset),
                        recipe.eq(incoming_recipe),
                        fail_cmd.eq(Mux(fetched.error, 0, fetched.command.header.cmd)),
                    ]
                    with m.If(fetched.error):
                        fail(E.COMMAND_READ_ERROR)
                    with m.Elif(~incoming_supported):
                        fail(E.UNSUPPORTED_COMMAND)
                    with m.Elif(incoming_recipe.device_oor != E.NONE):
                        m.next = "DEVICE"
                    with m.Else():
                        m.next = "CHECK"

            with m.State("DEVICE"):
                def in_range():
                    with m.If(self.baser_dev.indirect):
                        start_read(level1_addr)
                        m.next = "WAIT_LEVEL1"
                    with m.Else():
                        read_dte_at(flat_dte_addr)
                checked([(~dev_in_range, recipe.device_oor)], in_range)

            with m.State("WAIT_LEVEL1"):
                with m.If(self.mem_read.resp.valid):
                    checked([read_error, (~level1.valid, recipe.device_oor)],
                            lambda: read_dte_at(level2_dte_addr))

            with m.State("WAIT_DTE"):
                with m.If(self.mem_read.resp.valid):
                    m.d.sync += dte.eq(read_data)
                    checked([read_error, (~read_dte.valid, recipe.dte_invalid)], goto("CHECK"))

            with m.State("CHECK"):
                checked(field_checks, after_checks)

            with m.State("WAIT_ITE"):
                with m.If(self.mem_read.resp.valid):
                    m.d.sync += ite.eq(read_data)
                    checked([read_error, (~read_ite.valid, recipe.ite_invalid)],
                            lambda: go_after(None))

            collection_lookup("LOOKUP_CMD_COLLECTION", "WAIT_CMD_CTE", cmd_on_chip,
                              cmd_collection_exists, cmd_cte_addr, new_mapped, new_rd,
                              recipe.cmd_collection)
            collection_lookup("LOOKUP_ITE_COLLECTION", "WAIT_ITE_CTE", ite_on_chip,
                              ite_collection_exists, ite_cte_addr, old_mapped, old_rd,
                              recipe.ite_collection_unmapped)

            with m.State("WAIT_TRANSLATOR_IDLE"):
                m.d.sync += self.hold.eq(1)
                with m.If(self.hold & self.translator_idle):
                    with m.If(recipe.write == Write.NONE):
                        m.next = "WAIT_INVALIDATE"
                    with m.Elif((recipe.write == Write.COLLECTION) & (icid < p.hcc)):
                        m.next = "WAIT_COLLECTION_WRITE"
                    with m.Elif(write_addr[ADDR_BITS:].any()):
                        fail(E.TABLE_WRITE_ERROR)
                    with m.Else():
                        m.d.sync += self.mem_write.req.valid.eq(1)
                        m.next = "WAIT_WRITE"

            with m.State("WAIT_COLLECTION_WRITE"):
                m.d.comb += self.coll_write.valid.eq(1)
                with m.If(self.coll_write.ready):
                    m.next = "WAIT_INVALIDATE"

            with m.State("WAIT_WRITE"):
                with m.If(self.mem_write.resp.valid):
                    checked([(self.mem_write.resp.payload.error, E.TABLE_WRITE_ERROR)],
                            goto("WAIT_INVALIDATE"))

            with m.State("WAIT_INVALIDATE"):
                m.d.comb += self.inval.valid.eq(1)
                with m.If(self.inval.ready):
                    with m.If(flushing):
                        m.d.comb += self.cache_inval_done.eq(1)
                        m.d.sync += [flushing.eq(0), self.hold.eq(0)]
                        m.next = "WAIT_COMMAND"
                    with m.Else():
                        go_after("WAIT_TRANSLATOR_IDLE")

            with m.State("WAIT_PACKET"):
                m.d.comb += self.packet.valid.eq(1)
                with m.If(self.packet.ready):
                    with m.If(recipe.packet_op == GicOp.SYNC):
                        m.next = "WAIT_SYNC_ACK"
                    with m.Else():
                        retire()

            with m.State("WAIT_SYNC_ACK"):
                with m.If(self.synced):
                    retire()

            with m.State("FAIL"):
                m.d.comb += self.failure.valid.eq(1)
                retire()

        return m
