"""The discrete-event engine.

Like SimPy's core, this is a small dispatcher over a heap.  Time is an integer
count of CPU cycles.  An event is the list ``[fn, arg]``; dispatching takes
the earliest event, advances ``now`` and calls ``fn(arg)``.  Events at the
same cycle run in the order they were scheduled, so a run is fully
deterministic.

The order is kept by one integer per event, its key: ``time << SEQ_BITS |
seq``, where ``seq`` counts the events scheduled.  The heap holds only keys
(``_events`` maps a key to its event): ``heapq`` compares two ints directly,
where it compared two lists element by element through Python's generic
comparison, and at 32 CPUs that comparison was most of the engine's work.
When ``seq`` reaches ``2**SEQ_BITS`` the pending events are numbered again
from 0 in their order (``_renumber``), so no key is ever reused and the order
never changes; below ``2**(62 - SEQ_BITS)`` cycles a key is a machine word in
the compiled build.

The earliest event is often the one just scheduled (a lock hand-off a few
cycles ahead, the hold that follows it): it waits in ``_front``, outside the
heap, and is dispatched without a heap push or pop.  Every event in the heap
is later than ``_front``.

An event can be cancelled (:meth:`Engine.cancel`) by the recipe of the
``heapq`` documentation: it is marked void (``fn`` set to None) and left
where it is, and dispatching skips it.  Without that, a superseded event would
sit in the heap until its time: a user run of the benchmark preempted by
every interrupt leaves one per preemption, tens of millions of cycles ahead,
and the heap would grow to hundreds of entries, each push and pop paying for
its depth.  When more than half of a large heap is void, it is rebuilt
without the void events; live events keep their keys, so the order of
dispatch does not change.
"""
from __future__ import annotations

import heapq
from typing import Any, Callable, Final

from ..errors import require

# Final: the compiled build keeps these in C variables instead of looking
# the names up in the module's dictionary at every event.
heappush: Final = heapq.heappush
heappop: Final = heapq.heappop
heapify: Final = heapq.heapify

# A key is time << SEQ_BITS | seq (see above).
SEQ_BITS: Final = 28
SEQ_LIMIT: Final = 1 << SEQ_BITS
NO_KEY: Final = -1            # _front is empty (keys are >= 0)
# The empty _front: an event that never runs (fn None).
NO_EVENT: Final[list[Any]] = [None, None]

# Rebuild the heap without void events when it has more than this many and
# they are more than half of it.
COMPACT_AT: Final = 16


class Engine:
    """A heap of timed callbacks; ``now`` is the current cycle."""

    __slots__ = ("now", "events", "_heap", "_events", "_seq", "_stopped", "_void",
                 "_front", "_front_key")

    def __init__(self) -> None:
        self.now: int = 0
        self.events: int = 0          # callbacks dispatched so far (void ones not counted)
        self._heap: list[int] = []    # keys of the events after _front
        self._events: dict[int, list[Any]] = {}   # key -> event, for the keys in _heap
        self._seq: int = 0
        self._stopped = False
        self._void = 0                # cancelled events still in the heap
        self._front: list[Any] = NO_EVENT         # the earliest event, if kept here
        self._front_key: int = NO_KEY

    def at(self, time: int, fn: Callable[[Any], None], arg: Any = None) -> list[Any]:
        """Run ``fn(arg)`` at absolute cycle *time* (never in the past).
        Returns the event, for :meth:`cancel`.  The event waits in _front if
        it is the earliest, else in the heap (a front it displaces goes to
        the heap, as the earliest there)."""
        if time < self.now:
            raise ValueError(f"event at cycle {time} is before now ({self.now})")
        seq = self._seq
        if seq == SEQ_LIMIT:
            seq = self._renumber()
        self._seq = seq + 1
        key = (time << SEQ_BITS) | seq
        ev = [fn, arg]
        front = self._front_key
        if front < 0:                 # no front: the earliest of all goes there
            heap = self._heap
            if not heap or key < heap[0]:
                self._front = ev
                self._front_key = key
                return ev
        elif key < front:
            if self._front[0] is not None:   # a cancelled front is dropped
                self._events[front] = self._front
                heappush(self._heap, front)
            self._front = ev
            self._front_key = key
            return ev
        self._events[key] = ev
        heappush(self._heap, key)
        return ev

    def after(self, delay: int, fn: Callable[[Any], None], arg: Any = None) -> list[Any]:
        """Run ``fn(arg)`` *delay* cycles (>= 0) from now.  Returns the event."""
        if delay < 0:
            raise ValueError(f"event {delay} cycles from now: the delay must be >= 0")
        return self.at(self.now + delay, fn, arg)

    def _renumber(self) -> int:
        """Number the pending events 0, 1, ... again, in their order (their
        times unchanged; cancelled ones are dropped); returns the next
        number."""
        events = self._events
        old = [(k, events[k]) for k in sorted(self._heap) if events[k][0] is not None]
        if self._front_key >= 0:
            old.insert(0, (self._front_key, self._front))
        keys = [(k >> SEQ_BITS << SEQ_BITS) | i for i, (k, _) in enumerate(old)]
        first = 0
        if self._front_key >= 0:
            self._front_key = keys[0]
            first = 1
        self._events = {keys[i]: old[i][1] for i in range(first, len(old))}
        self._heap[:] = keys[first:]   # sorted: a heap already
        self._void = 0
        return len(old)

    def cancel(self, ev: list[Any]) -> None:
        """Void event *ev* if it has not run yet (else nothing happens)."""
        if ev[0] is None:
            return                    # already run or cancelled
        ev[0] = None
        ev[1] = None
        if ev is self._front:
            return                    # dropped when dispatched or displaced
        self._void += 1
        heap = self._heap
        if self._void > COMPACT_AT and 2 * self._void > len(heap):
            events = self._events
            heap[:] = [k for k in heap if events[k][0] is not None]
            heapify(heap)
            self._events = {k: events[k] for k in heap}
            self._void = 0

    def stop(self) -> None:
        """Make :meth:`run` return after the current callback."""
        self._stopped = True

    def pending(self) -> int:
        """Number of events still to run (cancelled ones not counted)."""
        front = 0 if self._front[0] is None else 1
        return len(self._heap) - self._void + front

    def run(self, until: int | None = None) -> int:
        """Dispatch events in time order until none is left, :meth:`stop`
        is called, or the next event lies beyond cycle *until* (then ``now``
        is set to *until*).  Returns ``now``."""
        if until is not None:
            require(isinstance(until, int) and until >= self.now,
                    f"until={until!r}: must be an integer cycle >= now ({self.now})")
        bounded = until is not None
        limit: int = until if until is not None else 0
        heap = self._heap
        self._stopped = False
        n = 0
        while not self._stopped:
            key = self._front_key
            if key >= 0:
                first = key >> SEQ_BITS
                if bounded and first > limit:
                    self.now = limit
                    break
                ev = self._front
                self._front = NO_EVENT
                self._front_key = NO_KEY
            elif heap:
                key = heap[0]
                first = key >> SEQ_BITS
                if bounded and first > limit:
                    self.now = limit
                    break
                heappop(heap)
                ev = self._events.pop(key)
                if ev[0] is None:
                    self._void -= 1
                    continue
            else:
                if bounded and self.now < limit:
                    self.now = limit
                break
            fn = ev[0]
            if fn is None:
                continue              # a cancelled front
            ev[0] = None              # run: a later cancel() is a no-op
            self.now = first
            n += 1
            fn(ev[1])
        self.events += n
        return self.now
