"""How bus traffic stretches work: the benchmark loop's L2 misses against
the other CPUs' traffic on the shared front-side bus (``machine.fsb``), and a
lock holder's cache misses waiting behind the spinners' transfers.

Nothing here stretches a holder by an assumed factor per spinner: what a lock
costs is what its algorithm's code does on its cache lines
(``spinlock.py``), priced by the cost table: the acquiring operations, the
hand-off from the releasing store to the next owner's acquiring operation,
and, on a shared bus (``shared_bus``), the holder's misses queued behind the
spinners' requests (``factor``) and behind a burst of re-reads
(``burst_stall``).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from ..machine.cpu import KERNEL, USER
from ..machine.engine import Engine
from ..machine.fsb import MU_MAX, Bus, line_cycles, solo_share
from .percpu import Core
from .proc import Thread
from .spinlock import Ops, Spinlock


class Traffic:
    """The bus as the kernel's CPUs share it.  *user_done* and *hold_done*
    are the kernel's handlers of the end of a user run and of a hold, which
    a change of stretch re-times."""

    def __init__(self, engine: Engine, cores: list[Core], costs: Mapping[str, Any],
                 sched: Mapping[str, Any], user_done: Callable[[Core], None],
                 hold_done: Callable[[Core], None]) -> None:
        self.engine = engine
        self.cores = cores
        self._user_done = user_done
        self._hold_done = hold_done
        self._locked_rmw: int = costs["locked_rmw"]
        self._transfer: int = costs["line_transfer"]
        self._memory: int = costs["memory_access"]
        self._shared_bus: bool = bool(costs["shared_bus"])
        self._rate: float = float(costs["kernel_bus_rate"])
        self._depth: int = int(costs["bus_queue_depth"])
        # Whether spinners can stretch a holder at all: not without a shared
        # bus, nor when its transactions or a line transfer cost nothing.
        self._stretches = self._shared_bus and self._rate > 0 and self._transfer > 0
        # The front-side bus of the user loop: on with more than one CPU and a
        # benchmark loop that misses in L2.
        line = line_cycles(costs["clock_hz"], costs["fsb_hz"], costs["fsb_line_clocks"])
        self.loop_mu = solo_share(sched["loop_bus_misses"], line)
        self._kernel_mu = min(MU_MAX, float(costs["kernel_bus_share"]))
        self._user_mu = min(MU_MAX, float(costs["user_bus_share"]))
        self.fsb = len(cores) > 1 and self.loop_mu > 0
        self.bus = Bus()

    # ------------------------------------------------- the user loop's bus
    def share(self, core: Core) -> float:
        """The share of the bus *core*'s CPU uses in its present mode: the
        loop's or other user code's, the kernel's; none spinning in its own
        cache or halted."""
        mode = core.cpu.mode
        if mode == USER:
            t = core.thread
            return self.loop_mu if t is not None and t.process.kind == "benchmark" \
                else self._user_mu
        return self._kernel_mu if mode == KERNEL else 0.0

    def stretch_of(self, core: Core) -> float:
        """How much the other CPUs' traffic slows *core*'s user run."""
        other = 0.0
        for o in self.cores:
            if o is not core:
                other += self.share(o)
        return self.bus.stretch(core.bus_mu, min(MU_MAX, other))

    def run(self, core: Core, t: Thread, cycles: int, now: int) -> None:
        """Start a user run of *cycles* solo cycles; a benchmark loop's run
        is stretched by the bus traffic of the other CPUs, re-timed each
        time one of them changes mode (``update``)."""
        core.bus_mu = self.loop_mu if t.process.kind == "benchmark" else 0.0
        st = 1.0
        if core.bus_mu:
            core.bus_work = float(cycles)
            core.bus_seg = now
            st = core.bus_stretch = self.stretch_of(core)
        core.user_end = now + math.ceil(cycles * st)
        core.event = self.engine.at(core.user_end, self._user_done, core)
        self.update(now)

    def update(self, now: int) -> None:
        """A CPU changed mode: re-time every stretched user run whose
        stretch changed."""
        for core in self.cores:
            if not core.bus_mu or core.cpu.mode != USER:
                continue
            new = self.stretch_of(core)
            if new == core.bus_stretch:
                continue
            core.bus_work -= (now - core.bus_seg) / core.bus_stretch
            core.bus_seg = now
            core.bus_stretch = new
            if core.event is not None:
                self.engine.cancel(core.event)
            core.user_end = now + max(0, math.ceil(core.bus_work * new))
            core.event = self.engine.at(core.user_end, self._user_done, core)

    # ---------------------------------------------- the lock's cache lines
    def lock_cycles(self, ops: Ops) -> int:
        """Cycles of a lock's operations at the cost table's prices."""
        return ops.cycles(self._transfer, self._memory, self._locked_rmw)

    def count_spinning(self, lock: Spinlock) -> None:
        """Count the transfers of spinners stealing the lock's line from
        each other (test-and-set with two or more) up to now: one line's
        transfers are served one after another, one per ``line_transfer``."""
        now = self.engine.now
        if self._transfer and lock.spinning_requests():
            lock.spin_transfers += (now - lock.spin_since) // self._transfer
        lock.spin_since = now

    def factor(self, lock: Spinlock | None) -> float:
        """How much the spinners' outstanding requests stretch the holder on
        a shared bus: each of the holder's bus transactions (``kernel_bus_rate``
        per cycle of its work) waits in the bus's in-order queue behind up to
        ``bus_queue_depth`` of them, a line transfer each.  1 on a machine
        without a shared bus, and for every lock whose waiters spin in their
        own caches."""
        if lock is None or not self._stretches:
            return 1.0
        ahead = min(lock.spinning_requests(), self._depth)
        return 1.0 + self._rate * ahead * self._transfer

    def busy(self, ops: Ops) -> int:
        """Bus time of all the transactions in *ops* (cycles)."""
        return (ops.transfers + ops.other_transfers) * self._transfer + \
            (ops.misses + ops.other_misses) * self._memory

    def others_busy(self, ops: Ops) -> int:
        """Bus time of the other CPUs' transactions in *ops* (cycles)."""
        return ops.other_transfers * self._transfer + ops.other_misses * self._memory

    def burst_stall(self, busy: int) -> int:
        """Cycles a lock holder loses to a burst of transactions other CPUs
        put on a shared bus at once (re-reads after a release or an
        arrival), keeping it busy for *busy* cycles: the holder's first bus
        transaction, after Exp(``kernel_bus_rate``) cycles of work, waits
        for what is left of the burst: E[(B - X)+] = B - (1 - e^(-rB))/r."""
        if not self._shared_bus or busy <= 0 or self._rate <= 0:
            return 0
        b = float(busy)
        r = self._rate
        return int(round(b - (1.0 - math.exp(-r * b)) / r))

    def segment_stall(self, core: Core, now: int) -> int:
        """Cycles of the holder's current segment lost to the bus factor."""
        if core.factor == 1.0:
            return 0
        return int(round((now - core.seg_start) * (1.0 - 1.0 / core.factor)))

    def interfere(self, lock: Spinlock, busy: int) -> None:
        """A CPU started spinning on *lock*: its first pass kept the bus
        busy for *busy* cycles and the number of outstanding spinning
        requests may have changed.  On a shared bus the holder's remaining
        work is re-timed; elsewhere nothing changes."""
        h = lock.holder
        if h is None or not self._shared_bus:
            return
        core = self.cores[h]
        if core.cpu.mode != KERNEL or core.lock is not lock:
            return                   # lock in transit to a spinner
        stall = self.burst_stall(busy)
        new = self.factor(lock)
        if stall == 0 and new == core.factor:
            return
        now = self.engine.now
        lock.stall_cycles += self.segment_stall(core, now) + stall
        core.work_left -= (now - core.seg_start) / core.factor
        core.work_left += stall / new
        core.seg_start = now
        core.factor = new
        if core.event is not None:
            self.engine.cancel(core.event)
        core.event = self.engine.at(now + max(0, math.ceil(core.work_left * new)),
                                    self._hold_done, core)
