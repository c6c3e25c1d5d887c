"""Lock statistics as Linux's ``/proc/lock_stat`` keeps them, and the
report of one lock after a run.

The kernel's lock instrumentation reads the time-stamp counter at request,
acquire and release (section 4 of the paper); each lock keeps a row per
entry point and per CPU in the columns of Linux ``lock_stat``: contentions,
wait time min/max/total/avg, acquisitions, hold time min/max/total/avg,
con-bounces and acq-bounces.  Times are cycles.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from ..machine.cpu import KERNEL

if TYPE_CHECKING:
    from .percpu import Core
    from .spinlock import Spinlock


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


def lock_report(lock: Spinlock, cores: list[Core], t0: int, end: int) -> dict[str, Any]:
    """*lock*'s lock_stat row with its traffic (line bounces, transfers of
    all its lines, bus transactions, cycles the holder stalled on the bus,
    idle hand-off cycles) and the holds and waits still open at *end*."""
    d = lock.stat.as_dict()
    d["bounces"] = lock.line.bounces
    d["transfers"] = lock.transfers        # all its lines, spinners' included
    d["bus_transactions"] = lock.transactions + lock.spin_transfers
    d["bus_stall_cycles"] = lock.stall_cycles
    d["idle_cycles"] = lock.idle_cycles
    d.update(in_progress(lock, cores, t0, end))
    return d


def in_progress(lock: Spinlock, cores: list[Core], t0: int, end: int) -> dict[str, int]:
    """The holds and waits of *lock* still open when the run ended: lock_stat
    counts an interval at its end, so without these a run whose last kernel
    path outlives it reports less hold and spin time than the CPUs' modes
    (one run showed 0 acquisitions while a CPU held the lock 99 % of the
    time).  Counted apart, in cycles after the measurement began (*t0*)."""
    out = {"holds_in_progress": 0, "holdtime_in_progress": 0,
           "waits_in_progress": 0, "waittime_in_progress": 0}
    for core in cores:
        if core.lock is not lock:
            continue
        off = core.cpu.tsc_offset
        holding = lock.holder == core.id and core.acq_tsc >= core.req_tsc \
            and core.cpu.mode == KERNEL
        if holding:
            out["holds_in_progress"] += 1
            out["holdtime_in_progress"] += end - max(t0, core.acq_tsc - off)
        elif core.id in lock.waiters or lock.holder == core.id:   # spinning, or in hand-off
            out["waits_in_progress"] += 1
            out["waittime_in_progress"] += end - max(t0, core.req_tsc - off)
    return out
