"""A small SystemC-style simulation kernel on SimPy, with time counted in clock cycles.

SystemC's pieces, in Python:

* :class:`Kernel` (``sc_simcontext``): the event queue, ``now`` in cycles of one
  :class:`Clock`, processes (SimPy generators, or ``async`` coroutines written against
  :class:`gic.sim.driver.bus.ItsBus` through :meth:`Kernel.spawn`).
* :class:`Module` (``sc_module``): a named block with child modules, ports and processes.
* :class:`Fifo` (``sc_fifo``): a bounded first-in first-out channel; blocking
  :meth:`~Fifo.put` / :meth:`~Fifo.get` return events to ``yield``, ``nb_put`` /
  ``nb_get`` never block. :class:`In` / :class:`Out` are the ports bound to it
  (``sc_fifo_in`` / ``sc_fifo_out``).

Temporal decoupling (TLM-2.0 loosely timed): a process may compute the cycle at which
something happens without waiting for it, as long as no other process can change the
outcome before then. :meth:`Kernel.horizon` is the earliest cycle at which another
process acts next: every decision for a cycle up to it is safe, because every effect
between the ITS's blocks is registered (seen one cycle after it is made).

Usage::

    kernel = Kernel()
    fifo = Fifo(kernel, capacity=2)

    def producer():
        for n in range(4):
            yield fifo.put(n)
            yield kernel.timeout(3)

    def consumer():
        while True:
            item = yield fifo.get()
            print(kernel.now, item)

    kernel.process(producer())
    kernel.process(consumer())
    kernel.run()
"""

import collections
import math

import simpy

__all__ = ["Clock", "Kernel", "Module", "Fifo", "In", "Out", "Wait"]

_END_OF_CYCLE = simpy.events.NORMAL + 1
"""Event priority after every ordinary event of the same cycle."""


class Clock:
    """The clock the kernel counts time in.

    Parameters
    ----------
    frequency : float
        Hertz, > 0; only used to convert cycles to seconds.

    Raises
    ------
    ValueError
        If ``frequency`` is not positive.
    """

    def __init__(self, frequency=100e6):
        if not frequency > 0:
            raise ValueError(f"frequency must be positive, not {frequency!r}")
        self.frequency = frequency

    def seconds(self, cycles):
        """The duration of ``cycles`` cycles, in seconds."""
        return cycles / self.frequency


class Wait:
    """An awaitable that suspends an ``async`` coroutine run by :meth:`Kernel.spawn` until
    a kernel event; ``await Wait(event)`` gives the event's value."""

    def __init__(self, event):
        self.event = event

    def __await__(self):
        return (yield self.event)


class Kernel:
    """The simulation kernel: an event queue whose time is an integer count of clock cycles.

    Parameters
    ----------
    clock : Clock or None
        The clock (default 100 MHz).

    Members
    -------
    env : simpy.Environment
        The SimPy environment underneath.
    clock : Clock
    """

    def __init__(self, clock=None):
        self.env = simpy.Environment()
        self.clock = clock or Clock()

    @property
    def now(self):
        """The current cycle."""
        return int(self.env.now)

    def timeout(self, cycles, value=None):
        """An event ``cycles`` (>= 0) cycles from now."""
        return self.env.timeout(cycles, value)

    def at(self, cycle, value=None):
        """An event at ``cycle`` (now, if ``cycle`` is in the past)."""
        return self.env.timeout(max(0, cycle - self.env.now), value)

    def event(self):
        """A new event, triggered with ``event.succeed(value)``."""
        return self.env.event()

    def end_of_cycle(self, callback=None, cycle=None):
        """An event in cycle ``cycle`` (now by default) once every process that acts in
        that cycle has run (SystemC's update phase), calling ``callback()`` then: arbiters
        decide there between the requests of one cycle."""
        event = simpy.Event(self.env)
        if callback is not None:
            event.callbacks.append(lambda _: callback())
        event._ok, event._value = True, None   # triggered: processed at its scheduled time
        delay = 0 if cycle is None else max(0, cycle - self.env.now)
        self.env.schedule(event, _END_OF_CYCLE, delay)
        return event

    def any_of(self, events):
        """An event that happens when the first of ``events`` does."""
        return self.env.any_of(events)

    def horizon(self):
        """The earliest cycle at which any process is scheduled to act next (inf if none)."""
        return self.env.peek()

    def process(self, generator):
        """Start ``generator`` (yielding events) as a process now; returns the process event."""
        return self.env.process(generator)

    def spawn(self, coroutine):
        """Start an ``async`` coroutine as a process (an :class:`gic.sim.driver.bus.ItsBus` user such as
        :class:`gic.sim.driver.its.ItsDriver`); it waits on kernel events through :class:`Wait`.
        Returns the process event; its value is the coroutine's result."""
        def run():
            value, error = None, None
            while True:
                try:
                    event = coroutine.throw(error) if error else coroutine.send(value)
                except StopIteration as stop:
                    return stop.value
                try:
                    value, error = (yield event), None
                except Exception as failure:  # the event failed: raise it in the coroutine
                    value, error = None, failure
        return self.env.process(run())

    def run(self, until=None):
        """Run until no event is left, or until cycle ``until``, or until event ``until``
        happened (then return its value)."""
        return self.env.run(until=until)


class Fifo:
    """A first-in first-out channel of at most ``capacity`` items (``sc_fifo``).

    Parameters
    ----------
    kernel : Kernel
    capacity : int or None
        Items it holds, >= 1; None for no limit.
    name : str

    Raises
    ------
    ValueError
        If ``capacity`` is not None or a positive integer.
    """

    def __init__(self, kernel, capacity=1, name="fifo"):
        if capacity is not None and (not isinstance(capacity, int) or capacity < 1):
            raise ValueError(f"capacity must be None or a positive integer, not {capacity!r}")
        self.kernel = kernel
        self.capacity = math.inf if capacity is None else capacity
        self.name = name
        self._items = collections.deque()
        self._getters = collections.deque()
        self._putters = collections.deque()   # (event, item) waiting for room
        self._written = None

    def __len__(self):
        return len(self._items)

    def num_available(self):
        """Items that a ``get`` would take without waiting."""
        return len(self._items)

    def num_free(self):
        """Items that a ``put`` would store without waiting."""
        return self.capacity - len(self._items)

    def peek(self):
        """The oldest item, left in place (IndexError when empty)."""
        return self._items[0]

    def nb_put(self, item):
        """Store ``item`` if there is room; whether it was stored."""
        if self._getters:
            self._getters.popleft().succeed(item)
        elif len(self._items) < self.capacity:
            self._items.append(item)
        else:
            return False
        self._notify_written()
        return True

    def put(self, item):
        """An event that happens once ``item`` is stored (at once if there is room)."""
        event = self.kernel.event()
        if self.nb_put(item):
            event.succeed()
        else:
            self._putters.append((event, item))
        return event

    def nb_get(self, default=None):
        """The oldest item, removed; ``default`` when empty."""
        if not self._items:
            return default
        item = self._items.popleft()
        self._admit_putter()
        return item

    def get(self):
        """An event whose value is the oldest item, removed (at once if there is one)."""
        event = self.kernel.event()
        if self._items:
            event.succeed(self.nb_get())
        else:
            self._getters.append(event)
        return event

    def data_written(self):
        """An event that happens at the next store (``sc_fifo::data_written_event``)."""
        if self._written is None:
            self._written = self.kernel.event()
        return self._written

    def _notify_written(self):
        if self._written is not None:
            written, self._written = self._written, None
            written.succeed()

    def _admit_putter(self):
        if self._putters and len(self._items) < self.capacity:
            event, item = self._putters.popleft()
            self._items.append(item)
            self._notify_written()
            event.succeed()


class _Port:
    def __init__(self, name=None):
        self.name = name
        self.channel = None

    def bind(self, channel):
        """Connect the port to ``channel`` (a :class:`Fifo`)."""
        if self.channel is not None:
            raise ValueError(f"port {self.name} is already bound to {self.channel.name}")
        self.channel = channel
        return self

    def _bound(self):
        if self.channel is None:
            raise RuntimeError(f"port {self.name} is not bound to a channel")
        return self.channel


class In(_Port):
    """A port that reads a :class:`Fifo` (``sc_fifo_in``)."""

    def get(self):
        return self._bound().get()

    def nb_get(self, default=None):
        return self._bound().nb_get(default)

    def num_available(self):
        return self._bound().num_available()

    def data_written(self):
        return self._bound().data_written()


class Out(_Port):
    """A port that writes a :class:`Fifo` (``sc_fifo_out``)."""

    def put(self, item):
        return self._bound().put(item)

    def nb_put(self, item):
        return self._bound().nb_put(item)

    def num_free(self):
        return self._bound().num_free()


class Module:
    """A named block of the model (``sc_module``): ports, child modules, processes.

    Subclasses declare ports as attributes (``self.cmd = In("cmd")``), create children
    with ``parent=self`` and start their processes with :meth:`process` in ``__init__``.

    Parameters
    ----------
    kernel : Kernel
    name : str
    parent : Module or None

    Members
    -------
    kernel : Kernel
    name : str
        The hierarchical name (``its.translator``).
    children : list of Module
    """

    def __init__(self, kernel, name, parent=None):
        self.kernel = kernel
        self.name = name if parent is None else f"{parent.name}.{name}"
        self.children = []
        if parent is not None:
            parent.children.append(self)

    def process(self, generator):
        """Start ``generator`` as one of this module's processes."""
        return self.kernel.process(generator)

    def ports(self):
        """This module's ports, by attribute name."""
        return {name: value for name, value in vars(self).items() if isinstance(value, _Port)}

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"
