"""Spinlocks and their instrumentation.

A lock is one word in one cache line.  ``tas`` spins with a locked exchange
(XCHG) in a loop: every try is a bus-locked read-modify-write that pulls the
line away from everyone else, which is what makes spinners slow the holder
(the bus is busy) and makes the hand-off a race among spinners.  ``ticket``
takes a number and spins reading ``now_serving``: waiters are served in FIFO
order, spinning stays in the local cache, but every release invalidates the
line in all waiters' caches and they re-read it one after another.

Instrumentation follows section 4 of the paper: acquire and release read the
CPU's time-stamp counter, so wait and hold times are differences of two reads
on the *same* CPU and TSC skew between CPUs cancels.  Statistics are kept in
the columns of Linux ``lock_stat`` (Documentation/locking/lockstat.rst), per
lock, per kernel entry point ("class" in lock_stat's words) and per CPU.  As
Linux does (``lock_stats()`` sums the per-CPU ``cpu_lock_stats``), an
acquisition is counted once, in the row of its entry point and CPU, and the
coarser rows are sums of those, formed when read.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import ConfigError
from ..machine.cacheline import CacheLine

LOCK_KINDS = ("tas", "ticket")


@dataclass(slots=True)
class LockStat:
    """One row of ``/proc/lock_stat``; times in cycles."""

    con_bounces: int = 0      # contended acquisitions whose line came from another CPU
    contentions: int = 0      # acquisitions that had to wait
    waittime_min: int = 0
    waittime_max: int = 0
    waittime_total: int = 0
    acq_bounces: int = 0      # acquisitions whose line came from another CPU
    acquisitions: int = 0
    holdtime_min: int = 0
    holdtime_max: int = 0
    holdtime_total: int = 0

    def wait(self, cycles: int, bounced: bool) -> None:
        if self.contentions == 0 or cycles < self.waittime_min:
            self.waittime_min = cycles
        if cycles > self.waittime_max:
            self.waittime_max = cycles
        self.contentions += 1
        self.waittime_total += cycles
        if bounced:
            self.con_bounces += 1

    def hold(self, cycles: int, bounced: bool) -> None:
        if self.acquisitions == 0 or cycles < self.holdtime_min:
            self.holdtime_min = cycles
        if cycles > self.holdtime_max:
            self.holdtime_max = cycles
        self.acquisitions += 1
        self.holdtime_total += cycles
        if bounced:
            self.acq_bounces += 1

    @classmethod
    def total(cls, rows) -> "LockStat":
        """The row that counts everything *rows* count: sums, and the least
        minimum and greatest maximum among rows that recorded any."""
        out = cls()
        for s in rows:
            if s.contentions:
                if out.contentions == 0 or s.waittime_min < out.waittime_min:
                    out.waittime_min = s.waittime_min
                out.waittime_max = max(out.waittime_max, s.waittime_max)
                out.contentions += s.contentions
                out.waittime_total += s.waittime_total
                out.con_bounces += s.con_bounces
            if s.acquisitions:
                if out.acquisitions == 0 or s.holdtime_min < out.holdtime_min:
                    out.holdtime_min = s.holdtime_min
                out.holdtime_max = max(out.holdtime_max, s.holdtime_max)
                out.acquisitions += s.acquisitions
                out.holdtime_total += s.holdtime_total
                out.acq_bounces += s.acq_bounces
        return out

    def as_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["waittime_avg"] = self.waittime_total / self.contentions if self.contentions else 0.0
        d["holdtime_avg"] = self.holdtime_total / self.acquisitions if self.acquisitions else 0.0
        return d


@dataclass(eq=False)
class Spinlock:
    """A spinlock named *name* of kind ``tas`` or ``ticket``.

    ``holder`` is the CPU id that owns it (set already during a hand-off, so
    nobody else can grab it in transit); ``waiters`` are CPU ids spinning, in
    arrival order.  ``rows`` is its lock_stat, one row per (entry point,
    CPU), created at the first acquisition recorded in it."""

    name: str
    kind: str = "tas"
    line: CacheLine = field(init=False)
    holder: int | None = None
    waiters: list[int] = field(default_factory=list)
    rows: dict[tuple[str, int], LockStat] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in LOCK_KINDS:
            raise ConfigError(f"spinlock kind {self.kind!r}: allowed are {', '.join(LOCK_KINDS)}")
        self.line = CacheLine(f"lock:{self.name}")

    def row(self, entry: str, cpu: int) -> LockStat:
        """The row an acquisition by CPU *cpu* through *entry* counts in."""
        s = self.rows.get((entry, cpu))
        if s is None:
            s = self.rows[(entry, cpu)] = LockStat()
        return s

    @property
    def stat(self) -> LockStat:
        """The lock's row: all its acquisitions."""
        return LockStat.total(self.rows.values())

    @property
    def by_entry(self) -> dict[str, LockStat]:
        """A row per kernel entry point (lock_stat's classes)."""
        return self._group(0)

    @property
    def by_cpu(self) -> dict[int, LockStat]:
        """A row per CPU: what the paper's instrumentation, measuring "one
        CPU at a time", reports."""
        return self._group(1)

    def _group(self, i: int) -> dict:
        groups: dict = {}
        for key, s in self.rows.items():
            groups.setdefault(key[i], []).append(s)
        return {k: LockStat.total(g) for k, g in groups.items()}

    def reset_stats(self) -> None:
        """Start counting afresh: no rows, no bounces of the lock word."""
        self.rows = {}
        self.line.bounces = 0

    def next_waiter(self, rng) -> int | None:
        """Who gets the lock at release: for a ticket lock the oldest ticket;
        for test-and-set whichever spinner's XCHG reaches the bus first, which
        nothing orders, so a seeded draw."""
        if not self.waiters:
            return None
        if self.kind == "ticket" or len(self.waiters) == 1:
            return self.waiters.pop(0)
        return self.waiters.pop(int(rng.integers(len(self.waiters))))

    def handoff_transfers(self, waiting: int) -> int:
        """Cache-line transfers between release and the next owner running:
        test-and-set: the releaser's store, then the winner's XCHG (2).  Ticket:
        the store invalidates all *waiting* copies and they re-read in bus
        order; the next owner is on average in the middle."""
        if self.kind == "tas":
            return 2
        return 1 + (waiting + 1) // 2
