"""The discrete-event engine.

Like SimPy's core, this is a small dispatcher over a heap.  Time is an integer
count of CPU cycles.  An event is the tuple ``(time, seq, fn, arg)``; ``seq``
is a global insertion counter, so events at the same cycle run in the order
they were scheduled and a run is fully deterministic.  Dispatching pops the
earliest tuple, advances ``now`` and calls ``fn(arg)``.  There is no event
object and no cancellation: a callback that may have been superseded carries a
token in ``arg`` and checks it (see ``kernel.cpu``), which keeps the hot path
to one ``heappush`` and one ``heappop`` per event.
"""
from __future__ import annotations

from heapq import heappop, heappush
from typing import Any, Callable

from ..errors import require


class Engine:
    """A heap of timed callbacks; ``now`` is the current cycle."""

    __slots__ = ("now", "events", "_heap", "_seq", "_stopped")

    def __init__(self) -> None:
        self.now: int = 0
        self.events: int = 0          # callbacks dispatched so far
        self._heap: list[tuple[int, int, Callable[[Any], None], Any]] = []
        self._seq: int = 0
        self._stopped = False

    def at(self, time: int, fn: Callable[[Any], None], arg: Any = None) -> None:
        """Run ``fn(arg)`` at absolute cycle *time* (never in the past)."""
        if time < self.now:
            raise ValueError(f"event at cycle {time} is before now ({self.now})")
        heappush(self._heap, (time, self._seq, fn, arg))
        self._seq += 1

    def after(self, delay: int, fn: Callable[[Any], None], arg: Any = None) -> None:
        """Run ``fn(arg)`` *delay* cycles (>= 0) from now."""
        if delay < 0:
            raise ValueError(f"event {delay} cycles from now: the delay must be >= 0")
        heappush(self._heap, (self.now + delay, self._seq, fn, arg))
        self._seq += 1

    def stop(self) -> None:
        """Make :meth:`run` return after the current callback."""
        self._stopped = True

    def pending(self) -> int:
        """Number of events still queued."""
        return len(self._heap)

    def run(self, until: int | None = None) -> int:
        """Dispatch events in time order until the heap is empty, :meth:`stop`
        is called, or the next event lies beyond cycle *until* (then ``now``
        is set to *until*).  Returns ``now``."""
        if until is not None:
            require(isinstance(until, int) and until >= self.now,
                    f"until={until!r}: must be an integer cycle >= now ({self.now})")
        heap = self._heap
        self._stopped = False
        n = 0
        while heap and not self._stopped:
            if until is not None and heap[0][0] > until:
                self.now = until
                break
            time, _, fn, arg = heappop(heap)
            self.now = time
            n += 1
            fn(arg)
        else:
            if until is not None and not self._stopped and self.now < until:
                self.now = until
        self.events += n
        return self.now
