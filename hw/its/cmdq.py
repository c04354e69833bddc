"""The command queue: fetches commands from the ring in memory for the executor."""

from amaranth.hdl import Module, Mux, ResetInserter, Signal, unsigned
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..bus.mem import MemReadSignature, mem_attributes
from .layouts import CBASER_PAGE, COMMAND_BYTES, Command, GitsCbaser, GitsCreadr

__all__ = ["FetchedCommand", "CommandQueue"]

SLOT_BITS = 15
"""Bits of a ring slot number (GITS_CREADR/CWRITER.Offset, [19:5])."""
SLOTS_PER_PAGE = CBASER_PAGE // COMMAND_BYTES


class FetchedCommand(data.Struct):
    """A command as the fetch engine hands it to the executor."""
    offset:  SLOT_BITS  # ring slot of the command (GITS_CREADR.Offset units)
    error:   1          # the bus answered SLVERR/DECERR for one of its doublewords
    command: Command


class CommandQueue(wiring.Component):
    """Fetches the 32-byte commands between GITS_CREADR and GITS_CWRITER.

    While ``enabled`` and ``cbaser.valid`` and not stalled, the queue reads
    the commands from ``CREADR`` up to ``CWRITER`` (wrapping at the end of
    the ring, ``(cbaser.size + 1) * 4 KiB``), one four-doubleword read per
    command, and keeps up to ``depth`` of them fetched or in flight ahead of
    the executor. ``CREADR`` advances when the executor retires a command.

    A retirement with ``stall`` set (stall policy) keeps ``CREADR`` on the
    failing command, sets ``Stalled`` and throws away every prefetched
    command; a ``retry`` pulse clears ``Stalled`` and the queue fetches the
    command at ``CREADR`` again. A ``restart`` pulse (a GITS_CBASER write)
    sets ``CREADR`` to 0, clears ``Stalled`` and throws away the prefetched
    commands. Responses to reads issued before a flush are drained and
    dropped before new reads start, so no stale command is delivered.

    Commands already fetched when ``enabled`` falls are still delivered
    (and ``idle`` stays low until they are), so software polling
    ``GITS_CTLR.Quiescent`` sees them complete.

    Latency: with an idle queue, a command reaches the executor ``L + 6``
    cycles after ``CWRITER`` moves past it, for a memory that answers the
    first doubleword ``L`` cycles after the request and one a cycle after.

    Parameters
    ----------
    depth : int
        Commands fetched ahead (queued plus in flight), a power of two, at least 2.

    Members
    -------
    enabled : In(1)
        GITS_CTLR.Enabled.
    cbaser : In(GitsCbaser)
        GITS_CBASER.
    cwriter : In(15)
        GITS_CWRITER.Offset.
    restart : In(1)
        Pulse: GITS_CBASER was written.
    retry : In(1)
        Pulse: GITS_CWRITER was written with Retry = 1.
    creadr : Out(GitsCreadr)
        GITS_CREADR.
    mem : Out(MemReadSignature())
        Reads of the ring.
    cmd : Out(stream.Signature(FetchedCommand))
        Commands in ring order.
    retire : In(1)
        Pulse: the executor finished the command at ``CREADR``.
    stall : In(1)
        With ``retire``: the command failed under the stall policy.
    idle : Out(1)
        Nothing is fetched, in flight or waiting for the executor.
    """

    enabled: In(1)
    cbaser: In(GitsCbaser)
    cwriter: In(SLOT_BITS)
    restart: In(1)
    retry: In(1)
    creadr: Out(GitsCreadr)
    mem: Out(MemReadSignature())
    cmd: Out(stream.Signature(FetchedCommand))
    retire: In(1)
    stall: In(1)
    idle: Out(1)

    def __init__(self, *, depth=4):
        if not isinstance(depth, int) or depth < 2 or depth & (depth - 1):
            raise ValueError(f"depth must be a power of two of at least 2, not {depth!r}")
        self._depth = depth
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        depth = self._depth

        flush = Signal()
        queue = fifo.SyncFIFOBuffered(width=data.Layout.cast(FetchedCommand).size, depth=depth)
        m.submodules.queue = ResetInserter(flush)(queue)
        m.d.comb += [
            self.cmd.valid.eq(queue.r_rdy),
            self.cmd.payload.eq(queue.r_data),
            queue.r_en.eq(self.cmd.ready),
        ]

        creadr = Signal(SLOT_BITS)
        stalled = Signal()
        m.d.comb += [self.creadr.offset.eq(creadr), self.creadr.stalled.eq(stalled)]

        ring_slots = Signal(SLOT_BITS + 1)
        m.d.comb += ring_slots.eq((self.cbaser.size + 1) * SLOTS_PER_PAGE)

        def wrap_next(slot):
            return Mux(slot + 1 == ring_slots, 0, slot + 1)[:SLOT_BITS]

        fetch_slot = Signal(SLOT_BITS)   # next slot to request
        resp_slot = Signal(SLOT_BITS)    # slot of the next command to come back
        inflight = Signal(range(depth + 1))
        draining = Signal()              # dropping answers to reads made before a flush

        # The ring is at CBASER.PA; each command is one read of four doublewords.
        ring_base = Signal(unsigned(len(self.mem.req.payload.addr)))
        m.d.comb += ring_base.eq(self.cbaser.pa * CBASER_PAGE)
        in_use = inflight + queue.level + self.mem.req.valid
        can_fetch = (self.enabled & self.cbaser.valid & ~stalled & ~draining & ~flush &
                     (fetch_slot != self.cwriter) & (in_use < depth))
        with m.If(self.mem.req.valid & self.mem.req.ready):
            m.d.sync += self.mem.req.valid.eq(0)
        with m.Elif(~self.mem.req.valid & can_fetch):
            m.d.sync += [
                self.mem.req.valid.eq(1),
                self.mem.req.payload.addr.eq(ring_base + fetch_slot * COMMAND_BYTES),
                self.mem.req.payload.count.eq(COMMAND_BYTES // 8 - 1),
                self.mem.req.payload.attr.eq(mem_attributes(self.cbaser)),
                fetch_slot.eq(wrap_next(fetch_slot)),
            ]

        # Collect the four doublewords of each command.
        beat = Signal(2)
        words = Signal(data.ArrayLayout(64, 4))
        error = Signal()
        resp = self.mem.resp
        m.d.comb += resp.ready.eq(1)
        last = resp.valid & resp.payload.last
        issued = self.mem.req.valid & self.mem.req.ready
        m.d.sync += inflight.eq(inflight + issued - last)
        with m.If(resp.valid):
            m.d.sync += [words[beat].eq(resp.payload.data), beat.eq(beat + 1),
                         error.eq(error | resp.payload.error)]
        with m.If(last):
            m.d.sync += [beat.eq(0), error.eq(0)]
            with m.If(~draining):
                m.d.sync += resp_slot.eq(wrap_next(resp_slot))

        fetched = Signal(FetchedCommand)
        m.d.comb += [
            fetched.offset.eq(resp_slot),
            fetched.error.eq(error | resp.payload.error),
            fetched.command.raw.eq(words.as_value()),
            fetched.command.raw[192:].eq(resp.payload.data),
            queue.w_data.eq(fetched),
            queue.w_en.eq(last & ~draining & ~flush),
        ]

        with m.If(draining & (inflight == 0) & ~self.mem.req.valid):
            m.d.sync += draining.eq(0)

        # Retirement, stall, retry and restart. A flush points both the fetch and
        # the response slots at the command that will execute next.
        with m.If(self.retire & ~self.stall):
            m.d.sync += creadr.eq(wrap_next(creadr))
        restart_slot = Signal(SLOT_BITS)
        m.d.comb += restart_slot.eq(creadr)
        with m.If(self.restart):
            m.d.comb += [flush.eq(1), restart_slot.eq(0)]
            m.d.sync += [creadr.eq(0), stalled.eq(0)]
        with m.Elif(self.retire & self.stall):
            m.d.comb += flush.eq(1)
            m.d.sync += stalled.eq(1)
        with m.Elif(self.retry):
            m.d.sync += stalled.eq(0)
        with m.If(flush):
            m.d.sync += [fetch_slot.eq(restart_slot), resp_slot.eq(restart_slot), draining.eq(1)]

        m.d.comb += self.idle.eq(~self.mem.req.valid & (inflight == 0) & (queue.level == 0) &
                                 ~draining)
        return m
