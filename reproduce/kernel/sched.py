"""The ready queue.

The in-house kernel has one ready queue shared by all CPUs (section 5 names
its cache line as a reason for the low speedup); Linux 2.6 has one per CPU
(section 7).  Both are this class: ``per_cpu=False`` keeps one set of cache
lines that every enqueue and dequeue writes, ``per_cpu=True`` gives each CPU
its own lines (a set is one ``CacheLine`` of *nlines* lines: they are always
written together).  Threads are ordered by priority (higher first), then by
arrival.  Under affinity a CPU takes only threads whose home is that CPU.
"""
from __future__ import annotations

from ..machine.cacheline import CacheLine
from .proc import READY, Thread


class ReadyQueue:
    """Runnable threads; *nlines* cache lines are written per operation."""

    def __init__(self, ncpus: int, nlines: int, per_cpu: bool = False) -> None:
        self.per_cpu = per_cpu
        self._q: list[Thread] = []
        self._seq = 0
        groups = ncpus if per_cpu else 1
        self.lines = [CacheLine(f"readyq{g}", nlines) for g in range(groups)]

    def lines_for(self, cpu: int | None) -> CacheLine:
        """The cache lines an operation on *cpu*'s queue writes."""
        if not self.per_cpu:
            return self.lines[0]
        return self.lines[cpu or 0]

    def push(self, t: Thread) -> None:
        t.state = READY
        t.seq = self._seq
        self._seq += 1
        q = self._q
        i = len(q)
        while i > 0 and q[i - 1].priority < t.priority:
            i -= 1
        q.insert(i, t)

    def first_for(self, cpu: int) -> Thread | None:
        """The thread *cpu* would run next, without taking it."""
        for t in self._q:
            if t.cpu is None or t.cpu == cpu:
                return t
        return None

    def pop_for(self, cpu: int) -> Thread | None:
        t = self.first_for(cpu)
        if t is not None:
            self._q.remove(t)
        return t

    def __len__(self) -> int:
        return len(self._q)

    def __contains__(self, t: Thread) -> bool:
        return t in self._q
