"""Translation tables in a shared Memory, with the reference model set up identically.

Used by the walker and translator tests: :class:`TableSet` writes device tables
(flat or two-level), ITTs and collection-table entries straight into a
:class:`gic.sim.models.memory.Memory` (as software allocates them), programs
``GITS_BASER0/1`` of an :class:`gic.sim.models.its.ItsModel` on the same memory, enables
it and maps on-chip collections with MAPC commands through its command ring.
The model is then the oracle: ``tables.model.query(device_id, event_id)``.
"""

from gic.hw.its.layouts import (CBASER_PAGE, COMMAND_BYTES, ENTRY_BYTES, PAGE_BYTES, Cmd, CmdError,
                            CollectionTableEntry, DeviceTableEntry, GitsBaser, GitsCbaser,
                            GitsCtlr, GitsCwriter, IttEntry, Level1Entry, PageSize)
from gic.hw.its.regmap import REG
from gic.sim.models.commands import encode_command, pack
from gic.sim.models.memory import Memory
from gic.sim.models.its import ItsModel

__all__ = ["TableSet"]

RING_BASE = 0x0001_0000
DEVICE_TABLE_BASE = 0x0100_0000
COLLECTION_TABLE_BASE = 0x0200_0000
ITT_BASE = 0x0300_0000
LEVEL2_BASE = 0x0800_0000


class TableSet:
    """Tables for ``params`` in ``memory``, and an enabled :class:`ItsModel` that uses them.

    Parameters
    ----------
    params : ItsParams
    memory : Memory or None
        A new Memory when None.
    page_size : PageSize
        Page_Size of both BASERs.
    indirect : bool
        Two-level device table.
    device_pages, collection_pages : int
        BASER Size + 1 of the device and collection tables.
    device_valid, collection_valid : bool
        BASER Valid bits.
    pa_low_bits : int
        Added to both BASERs' PA below the page size (the ITS must ignore it).

    Members
    -------
    model : ItsModel
    memory : Memory
    baser_dev, baser_coll : int
        GITS_BASER0/1 as the model reads them back (what the RTL registers hold).
    page : int
        The page size in bytes.
    """

    def __init__(self, params, memory=None, *, page_size=PageSize.SIZE_4K, indirect=False,
                 device_pages=1, collection_pages=1, device_valid=True, collection_valid=True,
                 pa_low_bits=0):
        self.params = params
        self.memory = memory if memory is not None else Memory()
        self.page = PAGE_BYTES[page_size]
        self.indirect = indirect
        self.model = ItsModel(params, self.memory)
        self._next_itt = ITT_BASE
        self._next_level2 = LEVEL2_BASE
        self._level2 = {}
        self._itts = {}
        self._cwriter = 0

        for name, base, pages, valid, two_level in (
                ("GITS_BASER0", DEVICE_TABLE_BASE, device_pages, device_valid, indirect),
                ("GITS_BASER1", COLLECTION_TABLE_BASE, collection_pages, collection_valid, False)):
            self.model.write(REG[name], pack(GitsBaser, valid=valid, indirect=two_level,
                                             page_size=page_size,
                                             pa=(base | pa_low_bits) >> 12,
                                             size=pages - 1))
        self.model.write(REG["GITS_CBASER"], pack(GitsCbaser, valid=1, pa=RING_BASE >> 12))
        self.model.write(REG["GITS_CTLR"], pack(GitsCtlr, enabled=1))
        self.baser_dev = self.model.read(REG["GITS_BASER0"])
        self.baser_coll = self.model.read(REG["GITS_BASER1"])

    # -- device table ----------------------------------------------------------------------

    def dte_address(self, device_id):
        """Where the DTE of ``device_id`` is; allocates its level-2 page (two-level)."""
        if not self.indirect:
            return DEVICE_TABLE_BASE + ENTRY_BYTES * device_id
        index, slot = divmod(device_id, self.page // ENTRY_BYTES)
        if index not in self._level2:
            self._level2[index] = self._next_level2
            self._next_level2 += self.page
            self.set_level1(index, valid=True)
        return self._level2[index] + ENTRY_BYTES * slot

    def set_level1(self, index, *, valid):
        """Write level-1 entry ``index`` (pointing at its level-2 page when allocated)."""
        address = self._level2.get(index, self._next_level2)
        self.memory.write_int(DEVICE_TABLE_BASE + ENTRY_BYTES * index,
                              pack(Level1Entry, valid=valid, addr=address >> 12))

    def map_device(self, device_id, size, *, valid=True, itt=None):
        """Write a DTE: an ITT of ``2**(size+1)`` events (allocated unless ``itt`` is given)."""
        if itt is None:
            itt = self._next_itt
            self._next_itt += max(256, ENTRY_BYTES << (size + 1))
        self._itts[device_id] = (itt, size)
        self.memory.write_int(self.dte_address(device_id),
                              pack(DeviceTableEntry, valid=valid, itt_addr=itt >> 8, size=size))
        return itt

    def ite_address(self, device_id, event_id):
        itt, _ = self._itts[device_id]
        return itt + ENTRY_BYTES * event_id

    def map_event(self, device_id, event_id, pintid, icid, *, valid=True):
        """Write the ITE of (``device_id``, ``event_id``) in the device's ITT."""
        self.memory.write_int(self.ite_address(device_id, event_id),
                              pack(IttEntry, valid=valid, intid=pintid, icid=icid))

    # -- collections -----------------------------------------------------------------------

    def cte_address(self, icid):
        return COLLECTION_TABLE_BASE + ENTRY_BYTES * icid

    def map_collection(self, icid, rd, *, valid=True):
        """Map a collection: MAPC through the model's ring for an on-chip one, else a CTE."""
        if icid < self.params.hcc:
            self.command(Cmd.MAPC, icid=icid, rdbase=rd, valid=int(valid))
        else:
            self.memory.write_int(self.cte_address(icid),
                                  pack(CollectionTableEntry, valid=valid, rdbase=rd, icid=icid))

    def on_chip_collections(self):
        """``[(icid, mapped, rd)]`` of the on-chip collections, as the model holds them."""
        targets = [self.model.collection(icid) for icid in range(self.params.hcc)]
        return [(icid, target is not None, target or 0) for icid, target in enumerate(targets)]

    def command(self, cmd, **fields):
        """Post one command to the model's ring and check that it retired without error."""
        self.memory.write(RING_BASE + self._cwriter, encode_command(cmd, **fields))
        self._cwriter = (self._cwriter + COMMAND_BYTES) % CBASER_PAGE
        self.model.write(REG["GITS_CWRITER"],
                         pack(GitsCwriter, offset=self._cwriter // COMMAND_BYTES))
        assert self.model.executed[-1].error is CmdError.NONE, self.model.executed[-1]
