"""The ITS as a transaction-level model (``hw/its/top.py``): the RTL's blocks and timing,
the reference model's state.

:class:`TlmIts` has the blocks of :class:`gic.hw.its.top.Its`, each a
:class:`~gic.sim.tlm.kernel.Module` in a module of its own that models its RTL counterpart's
timing in cycles:

* :class:`~gic.sim.tlm.regs.RegisterBlock` (:mod:`gic.sim.tlm.regs`, ``its/regs.py``):
  the GITS_* registers.
* :class:`~gic.sim.tlm.cmdq.CommandFetch` (:mod:`gic.sim.tlm.cmdq`, ``its/cmdq.py``):
  reads 32-byte commands from the ring.
* :class:`~gic.sim.tlm.executor.Executor` (:mod:`gic.sim.tlm.executor`,
  ``its/executor.py``): runs them step by step as the shared
  :data:`~gic.hw.its.recipes.RECIPES` say (table reads, hold the translator, write,
  invalidate, packet, SYNC acknowledge).
* :class:`~gic.sim.tlm.translator.Translator` (:mod:`gic.sim.tlm.translator`,
  ``its/translator.py``) with its :class:`~gic.sim.tlm.tcache.Cache` pair
  (:mod:`gic.sim.tlm.tcache`: device and translation caches, the same replacement policy
  as ``its/tcache.py``) and the :class:`~gic.sim.tlm.walker.Walker`
  (:mod:`gic.sim.tlm.walker`, ``its/walker.py``): MSIs in, SET packets or drops out,
  in decision order, hits under one miss.
* :class:`~gic.sim.tlm.forwarder.Forwarder` (:mod:`gic.sim.tlm.forwarder`,
  ``its/forwarder.py``) and one :class:`~gic.sim.tlm.forwarder.Redistributor` per
  processor, which takes a packet a cycle and acknowledges SYNCs.
* :class:`~gic.sim.tlm.memory.MemoryTarget`: the AXI memory, fixed latency, one beat a cycle.

:mod:`gic.sim.tlm.tables` says where the tables are (through :mod:`gic.hw.its.geometry`),
:mod:`gic.sim.tlm.common` holds what the blocks share. This module keeps the names it
exported before the blocks had modules of their own (:data:`__all__`).

Architectural state is the reference model's: :class:`gic.sim.models.its.ItsModel` holds the
registers, the error records, the counters and the on-chip collections, and executes
each command (:meth:`~gic.sim.models.its.ItsModel.step`) at the cycle the RTL would change the
tables, so commands agree with the reference model by construction. MSIs are the
TLM's own: they are answered from its caches or by its walker (dropped MSIs are
recorded through :meth:`~gic.sim.models.its.ItsModel.msi`, which must agree); every
disagreement (a translation, a command's predicted error) is kept in
:attr:`TlmIts.mismatches`.

Timing follows the RTL's docstrings and state machines, with every cost and depth a field
of :class:`~gic.sim.tlm.timing.Timing` (``TlmIts(..., timing=Timing())``, the RTL's
by default) (cycle *n* is the cycle of a
handshake): an MSI accepted in cycle *n* is looked up in *n* + 1, a hit leaves the
translator in *n* + 2 and reaches its redistributor in *n* + 3; a miss walks (one walk at
a time, each read offered in the cycle the previous one's data arrives) and leaves the
cycle after its last data; outcomes leave in decision order (docs/behaviour.md,
"Ordering"), the hits through an 8-entry queue, so hits do not wait for a miss.
Between blocks every effect is registered, so each block may compute ahead in local
time up to :meth:`Kernel.horizon <gic.sim.tlm.kernel.Kernel.horizon>` (temporal
decoupling): a storm of hits costs no kernel event per MSI.
"""

from gic.hw.its.params import ItsParams
from gic.sim.models.its import ItsModel

from .cmdq import FETCH_DEPTH, CommandFetch
from .executor import Executor
from .forwarder import Forwarder, Redistributor
from .kernel import Fifo, Kernel, Module
from .memory import MemoryTarget
from .regs import RegisterBlock
from .tables import _Tables
from .tcache import Cache
from .timing import Timing
from .translator import QUEUE_DEPTH, MsiOutcome, Translator, _Item

__all__ = ["TlmIts", "RegisterBlock", "CommandFetch", "Executor", "Translator", "Cache",
           "Forwarder", "Redistributor", "MsiOutcome", "Timing", "QUEUE_DEPTH", "FETCH_DEPTH"]


class TlmIts(Module):
    """The whole ITS, transaction level, with the same parameters as ``gic.hw.its.top.Its``.

    Parameters
    ----------
    params : ItsParams
    memory : gic.sim.models.memory.Memory
        Holds the command ring and the tables (shared with the driver).
    mem_latency : int
        The memory's latency ``L`` (as the testbenches' ``Axi4SlaveModel(latency=L)``).
    ack_delay : int
        Cycles a redistributor takes to acknowledge a SYNC (as
        ``GicStreamSink(ack_delay=...)``).
    kernel : Kernel or None
        The kernel to run in (a new one by default).
    timing : Timing
        Every latency and depth the blocks use (:mod:`gic.sim.tlm.timing`); the defaults
        are the RTL's (``its calibrate`` measures them).

    Members
    -------
    kernel : Kernel
    timing : Timing
    model : gic.sim.models.its.ItsModel
        The architectural state (registers, records, counters, collections).
    memory : MemoryTarget
    regs, cmdq, executor, translator, forwarder : the blocks
    redistributors : list of Redistributor
    mismatches : list of str
        Disagreements with the reference model (must stay empty).

    Raises
    ------
    TypeError
        If ``params`` is not an :class:`ItsParams`, or ``timing`` not a :class:`Timing`.
    ValueError
        If ``mem_latency`` or ``ack_delay`` is out of range.
    """

    def __init__(self, params, memory, *, mem_latency=4, ack_delay=3, kernel=None,
                 timing=None):
        if not isinstance(params, ItsParams):
            raise TypeError(f"params must be an ItsParams, not {params!r}")
        timing = Timing() if timing is None else timing
        if not isinstance(timing, Timing):
            raise TypeError(f"timing must be a Timing, not {timing!r}")
        if not isinstance(ack_delay, int) or ack_delay < 1:
            raise ValueError(f"ack_delay must be an integer >= 1, not {ack_delay!r}")
        kernel = kernel or Kernel()
        super().__init__(kernel, "its")
        self.params = params
        self.timing = timing
        self.mismatches = []
        self.model = ItsModel(params, memory, auto_execute=False)
        self.memory = MemoryTarget(kernel, memory, latency=mem_latency, read_clients=3,
                                   timing=timing, parent=self)
        self.tables = _Tables(params, self.model)
        self.redistributors = [Redistributor(kernel, rd, ack_delay=ack_delay, parent=self)
                               for rd in range(params.num_redistributors)]
        self.forwarder = Forwarder(kernel, self.redistributors, timing=timing, parent=self)
        self.translator = Translator(kernel, params, self.model, self.tables, self.memory,
                                     self.forwarder, self.mismatches, timing=timing,
                                     parent=self)
        self.cmdq = CommandFetch(kernel, self.model, self.memory, timing=timing, parent=self)
        self.executor = Executor(kernel, self, timing=timing, parent=self)
        self.regs = RegisterBlock(kernel, self, parent=self)
        self.translator.msi.bind(Fifo(kernel, None, name="its.msi"))
        commands = Fifo(kernel, None, name="its.cmd")
        self.cmdq.cmd.bind(commands)
        self.executor.cmd.bind(commands)
        for block in (self.translator, self.cmdq, self.executor):
            block.start()

    # -- stimulus -----------------------------------------------------------------------

    def msi(self, device_id, event_id, *, offer=None):
        """An MSI offered from cycle ``offer`` (now by default) on the MSI stream."""
        offer = self.kernel.now if offer is None else offer
        self.translator.msi.channel.nb_put(_Item(offer, device_id, event_id))

    def query(self, device_id, event_id, *, offer=None):
        """A query on the query port; an event whose value is ``(cycle, status, pintid,
        target)`` when answered."""
        offer = self.kernel.now if offer is None else offer
        answer = self.kernel.event()
        self.translator.msi.channel.nb_put(_Item(offer, device_id, event_id, answer))
        return answer

    # -- observation --------------------------------------------------------------------

    @property
    def packets(self):
        """Per redistributor, every packet it received, in order."""
        return [rd.packets for rd in self.redistributors]

    def idle(self):
        """Nothing fetched, executing or in flight (GITS_CTLR.Quiescent when disabled)."""
        now = self.kernel.now
        fetchable = self.cmdq.fetchable()
        return not (self.translator.busy(now) or self.executor.busy or
                    len(self.executor.cmd.channel) or fetchable or
                    self.executor.invalidate_pending)

    def stats(self):
        """The GITS_STAT_* counters, by name."""
        return dict(self.model.stats)
