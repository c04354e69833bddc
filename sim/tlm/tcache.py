"""The device and translation caches (``its/tcache.py``) as a plain-Python cache.

Models the RTL cache's contents and replacement exactly (fill, reservation, round-robin
eviction, invalidation by kind), not its timing: no cycles are counted here. The
translator (:mod:`gic.sim.tlm.translator`) decides in which cycle a look-up, fill or
invalidation happens (fills and invalidations are seen by look-ups from the next cycle).
"""

from gic.hw.its.layouts import InvalKind

__all__ = ["Cache"]


class Cache:
    """A fully associative cache with the replacement policy of ``its/tcache.Cache``.

    A fill of a key already present overwrites it; otherwise it takes the lowest-numbered
    empty entry; when none is empty it evicts the entry under a round-robin pointer, which
    then moves on by one (FIFO without invalidations). A fill is kept only if it was
    reserved when its walk started and no invalidation happened since.

    Parameters
    ----------
    entries : int
        Number of entries.
    event : bool
        Keys are ``(device_id, event_id)`` (translation cache); else ``device_id``.

    Members
    -------
    hits, misses, fills, evictions : int
    """

    def __init__(self, entries, *, event):
        self.entries = entries
        self.event = event
        self._keys = [None] * entries
        self._values = [None] * entries
        self._index = {}
        self._victim = 0
        self.reserved = False
        self.hits = self.misses = self.fills = self.evictions = 0

    def lookup(self, key):
        """The value cached for ``key``, or None."""
        slot = self._index.get(key)
        return None if slot is None else self._values[slot]

    def fill(self, key, value):
        """Cache ``key`` -> ``value`` if reserved (consumes the reservation)."""
        if not self.reserved:
            return
        self.reserved = False
        slot = self._index.get(key)
        if slot is None:
            if len(self._index) < self.entries:
                slot = self._keys.index(None)
            else:
                slot = self._victim
                del self._index[self._keys[slot]]
                self._victim = (self._victim + 1) % self.entries
                self.evictions += 1
            self._keys[slot] = key
            self._index[key] = slot
        self._values[slot] = value
        self.fills += 1

    def invalidate(self, kind, device_id, event_id):
        """Apply an :class:`InvalRequest`; any invalidation revokes the reservation."""
        self.reserved = False
        if kind is InvalKind.ALL:
            doomed = list(self._index)
        elif kind is InvalKind.DEVICE:
            doomed = [key for key in self._index
                      if (key[0] if self.event else key) == device_id]
        elif self.event:
            doomed = [key for key in self._index if key == (device_id, event_id)]
        else:
            doomed = []     # the device cache ignores EVENT
        for key in doomed:
            slot = self._index.pop(key)
            self._keys[slot] = None
            self._values[slot] = None

    def __len__(self):
        return len(self._index)
