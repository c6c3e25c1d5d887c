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
lock and per kernel entry point ("class" in lock_stat's words).
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
    arrival order."""

    name: str
    kind: str = "tas"
    line: CacheLine = field(init=False)
    holder: int | None = None
    waiters: list[int] = field(default_factory=list)
    stat: LockStat = field(default_factory=LockStat)
    by_entry: dict[str, LockStat] = field(default_factory=dict)
    by_cpu: dict[int, LockStat] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in LOCK_KINDS:
            raise ConfigError(f"spinlock kind {self.kind!r}: allowed are {', '.join(LOCK_KINDS)}")
        self.line = CacheLine(f"lock:{self.name}")

    def cpu_stat(self, cpu: int) -> LockStat:
        """The statistics of one CPU's acquisitions: what the paper's
        instrumentation, measuring "one CPU at a time", reports."""
        s = self.by_cpu.get(cpu)
        if s is None:
            s = self.by_cpu[cpu] = LockStat()
        return s

    def entry_stat(self, entry: str) -> LockStat:
        s = self.by_entry.get(entry)
        if s is None:
            s = self.by_entry[entry] = LockStat()
        return s

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
