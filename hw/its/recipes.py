"""The command recipes: what each ITS command does, as architecture data.

A :class:`Recipe` is one command's row: which tables it reads (the DTE, the ITE, the
collections), which check gives which error code (docs/behaviour.md's order), which
entry it writes (:class:`Write`), what the translation caches forget after it
(:data:`INVALIDATION`), and which packet it sends to which redistributor
(:class:`PacketWhen`, :class:`PacketRd`). :data:`RECIPES` holds the row of every
command the ITS runs; any other number is UNSUPPORTED_COMMAND.

The recipes are data, not a block: the RTL's executor (``hw/its/executor.py``) decodes
a command number into its row (``CommandDecoder``) and runs the steps it names; the
transaction-level model (``sim/tlm/executor.py``) runs the same steps with the RTL's
cycle counts. Neither depends on the other's internals.
"""

from amaranth.lib import data, enum

from .layouts import Cmd, CmdError, GicOp, InvalKind

__all__ = ["Write", "INVALIDATION", "PacketWhen", "PacketRd", "RdCheck", "Recipe", "RECIPES"]

E = CmdError


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
