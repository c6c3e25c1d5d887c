"""The kernel's trace and its debug invariants, chosen once per run.

The entry path calls four hooks of ``Kernel.watch``: ``trap`` (the lock was
requested), ``entry`` (the lock is held, the path is about to run), ``path``
(the path ran) and ``done`` (the hold ends, before the release).  A plain run
has a :class:`Watcher`, whose hooks do nothing; a traced or debug run has a
:class:`Checker`, which records every step with the cycles it cost (the
system-call walk-through) and, in debug runs, checks as each path starts that
its lock's algorithm is consistent, that no part running on another CPU must
exclude it, and that the CPU-local page holds this CPU's current thread.  A
recording run (``Kernel.record``) puts a ``Recorder`` (``record.py``) in
front of either.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..errors import InvariantError
from .percpu import SECTION_FORWARDED, SECTION_PART, SECTION_TRAP, Core
from .spinlock import Spinlock

if TYPE_CHECKING:
    from .kernel import Kernel


class Watcher:
    """Hooks of the entry path that do nothing (a plain run)."""

    def trap(self, core: Core, lock: Spinlock, held_by: int | None) -> None:
        pass

    def entry(self, core: Core, waited: int, kcost: int) -> None:
        pass

    def part(self, core: Core, nxt: tuple) -> None:
        pass

    def path(self, core: Core, path: Callable[..., int], cycles: int) -> None:
        pass

    def done(self, core: Core) -> None:
        pass


class Checker(Watcher):
    """The trace (``k.trace`` a list) and the debug checks (``k.debug``)."""

    def __init__(self, k: Kernel) -> None:
        self.k = k

    def record(self, core: Core, step: str, detail: str, cycles: int = 0) -> None:
        """One step of the trace: the cycle, the CPU, what, the cycles it cost."""
        trace = self.k.trace
        if trace is not None:
            trace.append({"cycle": self.k.engine.now, "cpu": core.id, "step": step,
                          "detail": detail, "cycles": cycles})

    def trap(self, core: Core, lock: Spinlock, held_by: int | None) -> None:
        self.record(core, "trap", f"{core.entry}:{core.subsys}, lock {lock.name} "
                    f"{'free' if held_by is None else 'held by CPU %d' % held_by}")

    def entry(self, core: Core, waited: int, kcost: int) -> None:
        """The steps of an entry up to its path (each with the cycles it
        cost: *kcost* is the shared kernel data's)."""
        k = self.k
        core.covers = [(core.entry, core.part[0], core.part[1])]
        section = core.section
        lock = core.lock
        if section == SECTION_TRAP:
            self.record(core, "trap entry+exit", "INT/IRET and entry stub", k.c["trap"])
        if lock is not None:
            self.record(core, "acquire", f"{lock.kind} on {lock.line.name}: "
                        f"{'line transfer from another CPU' if core.bounced else 'line local'}, "
                        f"waited {waited}", core.lock_cycles)
        if section != SECTION_PART and (k.mp or section == SECTION_FORWARDED):
            if k.mp:
                self.record(core, "MP entry overhead", "calibrated" if k.c["cpulocal"] == "page"
                            else "calibrated, + CPU-local vector indexing", k.entry_overhead)
            if k.mm is not None and core.thread is not None and k.build == "mp" \
                    and (k.debug or k.mp):
                self.check_cpulocal(core)
        if k.kdata_bounce and section != SECTION_PART:
            self.record(core, "shared kernel data", f"{k.kdata.lines} lines written", kcost)

    def part(self, core: Core, nxt: tuple) -> None:
        core.covers.append((core.entry, nxt[0], nxt[1]))

    def path(self, core: Core, path: Callable[..., int], cycles: int) -> None:
        self.record(core, "kernel path", path.__name__.lstrip("_"), cycles)
        k = self.k
        if k.debug and k.build == "mp":
            if core.lock is not None:
                core.lock.check()
            self.check_exclusion(core)

    def done(self, core: Core) -> None:
        core.covers = []
        lock = core.lock
        if lock is not None:
            held = self.k.engine.now + core.runner.cpu.tsc_offset - core.acq_tsc
            self.record(core, "release", f"{lock.kind} release of {lock.name}, held "
                        f"{held} cycles by the TSC, {len(lock.waiters)} waiting")

    def check_exclusion(self, core: Core) -> None:
        """Every part of the section *core* starts against every part of
        every section running elsewhere: none may be one the strategy's
        ``exclusive`` forbids to overlap.  Forwarding strategies: kernel
        work only on the master."""
        k = self.k
        policy = k.policy
        if policy.forwarding and core.runner.id != policy.master:
            raise InvariantError(f"cycle {k.engine.now}: kernel path {core.covers} runs on "
                                 f"CPU {core.runner.id}, not on the master")
        for other in k.cores:
            if other is core or not other.covers:
                continue
            for mine in core.covers:
                for theirs in other.covers:
                    if policy.exclusive(mine, theirs):
                        raise InvariantError(
                            f"cycle {k.engine.now}: CPU {core.runner.id} entered {mine} "
                            f"while CPU {other.runner.id} runs {theirs} under the same lock")

    def check_cpulocal(self, core: Core) -> None:
        """The CPU-local ``current_thread``, read through this CPU's MMU, is
        the thread this CPU runs (each CPU maps the page to its own frame)."""
        cpu = core.cpu
        mm = self.k.mm
        assert mm is not None and core.thread is not None   # checked by the caller
        if self.k.trace is not None:
            va = mm.cpulocal_va("current_thread")
            hit = va in cpu.tlb
            pa = cpu.translate(va)
            self.record(core, "CPU-local read", f"current_thread at va {va:#010x} -> pa "
                        f"{pa:#010x} (TLB {'hit' if hit else 'miss, page walk'}; "
                        f"its cost is part of the path's cycles)")
        got = mm.read_local(cpu, "current_thread")
        want = core.thread.tid
        if got != want:
            raise InvariantError(f"CPU {core.id}: CPU-local current_thread={got}, "
                                 f"running thread {want}")


def check_accounting(k: Kernel) -> None:
    """Each CPU's mode cycles add up to the elapsed cycles exactly."""
    now = k.engine.now
    for core in k.cores:
        total = sum(core.cpu.account(now))
        if total != now:
            raise InvariantError(f"CPU {core.id}: modes add up to {total}, elapsed {now}")


def watcher_for(k: Kernel) -> Watcher:
    """A Checker for a traced or debug run, else the Watcher that does
    nothing; in a recording run (``Kernel.record``) the recorder in front of
    it."""
    w = Checker(k) if k.debug or k.trace is not None else Watcher()
    rec = k.recorder
    return rec.wrap(w) if rec is not None else w


