"""The discrete-event engine.

Like SimPy's core, this is a small dispatcher over a heap.  Time is an integer
count of CPU cycles.  An event is the list ``[time, seq, fn, arg]``; ``seq``
is a global insertion counter, so events at the same cycle run in the order
they were scheduled and a run is fully deterministic.  Dispatching pops the
earliest event, advances ``now`` and calls ``fn(arg)``.

An event can be cancelled (:meth:`Engine.cancel`) by the recipe of the
``heapq`` documentation: it is marked void (``fn`` set to None) and left in
the heap, and dispatching skips it.  Without that, a superseded event would
sit in the heap until its time: a user run of the benchmark preempted by
every interrupt leaves one per preemption, tens of millions of cycles ahead,
and the heap would grow to hundreds of entries, each push and pop paying for
its depth.  When more than half of a large heap is void, it is rebuilt
without the void events; live events keep their (time, seq), so the order
of dispatch does not change.
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

# Rebuild the heap without void events when it has more than this many and
# they are more than half of it.
COMPACT_AT: Final = 16


class Engine:
    """A heap of timed callbacks; ``now`` is the current cycle."""

    __slots__ = ("now", "events", "_heap", "_seq", "_stopped", "_void")

    def __init__(self) -> None:
        self.now: int = 0
        self.events: int = 0          # callbacks dispatched so far (void ones not counted)
        self._heap: list[list[Any]] = []
        self._seq: int = 0
        self._stopped = False
        self._void = 0                # cancelled events still in the heap

    def at(self, time: int, fn: Callable[[Any], None], arg: Any = None) -> list[Any]:
        """Run ``fn(arg)`` at absolute cycle *time* (never in the past).
        Returns the event, for :meth:`cancel`."""
        if time < self.now:
            raise ValueError(f"event at cycle {time} is before now ({self.now})")
        ev = [time, self._seq, fn, arg]
        heappush(self._heap, ev)
        self._seq += 1
        return ev

    def after(self, delay: int, fn: Callable[[Any], None], arg: Any = None) -> list[Any]:
        """Run ``fn(arg)`` *delay* cycles (>= 0) from now.  Returns the event."""
        if delay < 0:
            raise ValueError(f"event {delay} cycles from now: the delay must be >= 0")
        ev = [self.now + delay, self._seq, fn, arg]
        heappush(self._heap, ev)
        self._seq += 1
        return ev

    def cancel(self, ev: list[Any]) -> None:
        """Void event *ev* if it has not run yet (else nothing happens)."""
        if ev[2] is None:
            return                    # already run or cancelled
        ev[2] = None
        ev[3] = None
        self._void += 1
        heap = self._heap
        if self._void > COMPACT_AT and 2 * self._void > len(heap):
            heap[:] = [e for e in heap if e[2] is not None]
            heapify(heap)
            self._void = 0

    def stop(self) -> None:
        """Make :meth:`run` return after the current callback."""
        self._stopped = True

    def pending(self) -> int:
        """Number of events still to run (cancelled ones not counted)."""
        return len(self._heap) - self._void

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
        while heap and not self._stopped:
            first: int = heap[0][0]
            if bounded and first > limit:
                self.now = limit
                break
            ev = heappop(heap)
            fn = ev[2]
            if fn is None:
                self._void -= 1
                continue
            ev[2] = None              # run: a later cancel() is a no-op
            self.now = first
            n += 1
            fn(ev[3])
        else:
            if bounded and not self._stopped and self.now < limit:
                self.now = limit
        self.events += n
        return self.now
