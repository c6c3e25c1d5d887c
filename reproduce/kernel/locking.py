"""Locking strategies: which lock a kernel path takes.

Every kernel entry has an entry point (``syscall``, ``timer``, ``ipi``,
``pagefault``) and a subsystem (``sched``, ``memory``, ``proc``, ``db``,
``ipc``, ``io``, ``timer``).  A strategy maps the pair to the spinlock the path
holds, or to None for the UP build, which has no lock at all.  The MP build
of the paper is ``giant``: one lock for everything (section 3.1).

Beyond the paper (section 7), every design below is a selectable strategy
(``Scenario(lock=NAME)``, ``reproduce simulate --lock NAME``):

``giant``         one lock for the whole kernel (the paper's MP build).
``giant+irq``     a separate ``irq`` lock for low-level interrupt handling: the
                  timer tick's time keeping, timer list and slice accounting,
                  and the acknowledgement of an IPI.  Anything that touches the
                  ready queue (wake-ups, preemption, picking a thread) is a
                  second part of the same entry under the giant lock, entered
                  only when the low-level part found something to do.
``subsystem``     one lock per subsystem (sched, timer, memory, proc, db,
                  ipc, io); the ready queue belongs to ``sched``.
``fine``          ``subsystem`` plus Linux-2.6-style per-CPU data with
                  per-CPU locks: one ready queue per CPU (its own cache
                  lines, its own lock ``rqN``) and one timer list per CPU
                  (lock ``timerN``).
``master-slave``  only CPU 0 (the master) runs kernel code; the others
                  forward every kernel entry to it and wait.  No kernel lock.
``appkernel``     the application-kernel approach ([11] in the paper): the
                  unmodified UP kernel on CPU 0 (no MP entry overhead, no
                  lock); the other CPUs forward kernel entries by IPI, one
                  IPI each way.

**How a kernel path maps to locks.**  A path is one or more *parts*, each
tagged with the subsystem whose data it touches (see ``kernel.py``): e.g. the
timer tick is ``timer`` (time keeping, timer list) then ``readyq`` (wake-ups,
preemption); a sleep is ``timer`` then ``readyq``; a spawn is ``proc`` then
``readyq``; an IPI is ``irq`` (acknowledge, CPU-local) then ``readyq``.  The
kernel asks :meth:`LockPolicy.lock_at` for each part's lock and runs
consecutive parts under one lock as one critical section.  A part that needs
a different lock starts a new critical section *after* the previous lock is
released: no path ever holds two locks, so there is no lock order to get
wrong and no deadlock.  (The alternative, taking ``sched`` while still holding
the subsystem lock, lengthens the subsystem lock's hold time by the ready-queue
work; we chose the chain of short sections, which is what kernels do when they
defer wake-ups until after the subsystem lock is dropped.)  For ``giant`` all
parts map to the one lock, so every path is one section exactly as in the
paper's build.

:meth:`LockPolicy.exclusive` is the *specification* of each strategy (which
two parts must never run at once), written independently of ``lock_at``; in
debug runs the kernel checks at every acquisition that the locks really
enforce it.
"""
from __future__ import annotations

from typing import ClassVar, Final

from ..errors import ConfigError, lookup
from .spinlock import LOCK_KINDS, Spinlock, new_spinlock

SUBSYSTEMS = ("sched", "timer", "memory", "proc", "db", "ipc", "io")
# Parts of paths that are finer than a subsystem: the ready-queue operations
# (part of ``sched``) and the CPU-local low-level part of an interrupt
# (acknowledge, EOI: no shared data).  Policies that do not tell them apart
# see them as the subsystem in CANONICAL.
READYQ: Final = "readyq"
IRQ: Final = "irq"
CANONICAL = {READYQ: "sched", IRQ: "sched"}


class LockPolicy:
    """Base: no lock (the UP kernel).

    Class attributes a strategy may set: ``per_cpu_readyq`` (one ready queue,
    with its own cache lines, per CPU), ``forwarding`` (kernel paths run on
    CPU ``master`` only; other CPUs forward their entries and wait),
    ``forward_ipi`` (a forward costs an IPI each way instead of a queue
    write), ``mp_overhead`` (the MP build's per-entry overhead is charged)."""

    # Class-level (ClassVar): read from the classes themselves too (e.g. by
    # the experiments), which must work in the compiled build as well.
    name: ClassVar[str] = "none"
    per_cpu_readyq: ClassVar[bool] = False
    forwarding: ClassVar[bool] = False
    forward_ipi: ClassVar[bool] = False
    master: ClassVar[int] = 0
    mp_overhead: ClassVar[bool] = True

    def __init__(self, kind: str = "tas", ncpus: int = 1) -> None:
        if kind not in LOCK_KINDS:
            raise ConfigError(f"spinlock kind {kind!r}: allowed are {', '.join(LOCK_KINDS)}")
        self.kind = kind
        self.ncpus = ncpus
        self.locks: list[Spinlock] = []

    def lock_for(self, entry: str, subsys: str) -> Spinlock | None:
        """The lock a path of *subsys* entered through *entry* holds."""
        return None

    def lock_at(self, entry: str, subsys: str, cpu: int) -> Spinlock | None:
        """The lock of one part of a path: *subsys* may be a finer part
        (``readyq``, ``irq``) and *cpu* is the CPU whose per-CPU data the
        part touches.  By default: :meth:`lock_for` of the canonical
        subsystem."""
        # CANONICAL spelt out: no dictionary look-up on every kernel entry.
        return self.lock_for(entry, "sched" if subsys == READYQ or subsys == IRQ else subsys)

    def exclusive(self, a: tuple, b: tuple) -> bool:
        """Whether two parts (entry, subsystem[, cpu]) must never run at
        once.  Default: they map to the same lock."""
        la = self.lock_at(a[0], a[1], a[2] if len(a) > 2 else 0)
        lb = self.lock_at(b[0], b[1], b[2] if len(b) > 2 else 0)
        return la is not None and la is lb


class Giant(LockPolicy):
    """One lock for the whole kernel, taken on every entry (section 3.1)."""

    name = "giant"

    def __init__(self, kind: str = "tas", ncpus: int = 1) -> None:
        super().__init__(kind, ncpus)
        self.giant = new_spinlock("giant", kind)
        self.locks = [self.giant]

    def lock_for(self, entry: str, subsys: str) -> Spinlock | None:
        return self.giant

    def lock_at(self, entry: str, subsys: str, cpu: int) -> Spinlock | None:
        return self.giant

    def exclusive(self, a: tuple, b: tuple) -> bool:
        """UP semantics: no two CPUs are ever in the kernel at once."""
        return True


class GiantIrq(Giant):
    """The giant lock plus an ``irq`` lock for low-level interrupt handling
    (the paper's first planned step, section 7, "to get lower interrupt
    latency").  Under ``irq``: the timer tick's low-level part (``timer``
    entry, ``timer`` part: time keeping, the CPU's timer list, time-slice
    accounting) and an IPI's acknowledgement (``ipi`` entry, ``irq`` part).
    Their ready-queue parts (wake-ups of due sleepers, preemption, picking a
    thread on an idle CPU) run afterwards under the giant lock, and only if
    the low-level part found work for them (a need-resched flag: it peeks
    at the ready queue without the lock, and the giant-lock part decides
    again under the lock).  Everything else, device interrupts included
    (their handlers do in-kernel replication work, not low-level handling),
    takes the giant lock.  Sleeping inserts into the sleeper's own CPU's
    timer list under the giant lock while only that CPU's tick pops it, so
    the two never touch the same list at once."""

    name = "giant+irq"
    IRQ_ENTRIES: ClassVar[tuple[str, ...]] = ("timer", "ipi")
    IRQ_PARTS: ClassVar[tuple[str, ...]] = ("timer", IRQ)

    def __init__(self, kind: str = "tas", ncpus: int = 1) -> None:
        super().__init__(kind, ncpus)
        self.irq = new_spinlock("irq", kind)
        self.locks = [self.giant, self.irq]

    def _low(self, entry: str, subsys: str) -> bool:
        return entry in self.IRQ_ENTRIES and subsys in self.IRQ_PARTS

    def lock_for(self, entry: str, subsys: str) -> Spinlock | None:
        return self.irq if self._low(entry, subsys) else self.giant

    def lock_at(self, entry: str, subsys: str, cpu: int) -> Spinlock | None:
        return self.irq if self._low(entry, subsys) else self.giant

    def exclusive(self, a: tuple, b: tuple) -> bool:
        """The kernel proper keeps UP semantics; low-level interrupt parts
        exclude each other, not the kernel proper."""
        return self._low(a[0], a[1]) == self._low(b[0], b[1])


class Subsystem(LockPolicy):
    """One lock per subsystem.  The split follows the model's own kernel
    profile (``Result.kernel_profile``, experiment S3): on the paper's
    workload the UP kernel's time is spread over io (device interrupts and
    io calls, about 40%), db and ipc (about 20% each), memory (about 13%),
    and timer, proc and the ready queue (a few % together).  No subsystem
    holds most of it, so a lock each lets the big ones overlap; the largest
    share bounds what the split can buy.  Splitting further (per-CPU data)
    is ``fine``.  The ready queue is ``sched`` data; an IPI's
    acknowledgement (``irq`` part) touches only CPU-local state and takes
    no lock."""

    name = "subsystem"

    def __init__(self, kind: str = "tas", ncpus: int = 1) -> None:
        super().__init__(kind, ncpus)
        self.by = {s: new_spinlock(s, kind) for s in SUBSYSTEMS}
        self.locks = list(self.by.values())

    def _lock(self, subsys: str) -> Spinlock:
        return lookup(self.by, subsys, "subsystem", (*SUBSYSTEMS, READYQ, IRQ))

    def lock_for(self, entry: str, subsys: str) -> Spinlock | None:
        return self.lock_at(entry, subsys, 0)

    def lock_at(self, entry: str, subsys: str, cpu: int) -> Spinlock | None:
        if subsys == IRQ:
            return None
        return self._lock("sched" if subsys == READYQ else subsys)

    def exclusive(self, a: tuple, b: tuple) -> bool:
        """Parts of the same subsystem exclude each other; CPU-local
        interrupt acknowledgement excludes nothing."""
        sa, sb = CANONICAL.get(a[1], a[1]), CANONICAL.get(b[1], b[1])
        return a[1] != IRQ and b[1] != IRQ and sa == sb


class Fine(Subsystem):
    """Fine-grained locking in the style of Linux 2.6: the subsystem locks,
    except that per-CPU data has per-CPU locks: one ready queue per CPU with
    its own cache lines (``ReadyQueue(per_cpu=True)``) and lock ``rqN``, and
    one timer list per CPU with lock ``timerN``.  A ready-queue part locks
    the queue of the CPU it puts a thread on or takes one from (a spawn on
    CPU 0 that places the child on CPU 1 locks ``rq1``).  A system call in
    subsystem ``sched`` (global scheduler state) takes the global ``sched``
    lock, which does not guard the per-CPU queues.  Without affinity a
    thread with no home goes to the queue of the CPU that queues it; the
    model still lets any CPU take it (an approximation of work stealing)."""

    name = "fine"
    per_cpu_readyq = True
    PER_CPU: ClassVar[tuple[str, ...]] = (READYQ, "timer")

    def __init__(self, kind: str = "tas", ncpus: int = 1) -> None:
        super().__init__(kind, ncpus)
        del self.by["timer"]
        self.rq = [new_spinlock(f"rq{i}", kind) for i in range(ncpus)]
        self.tm = [new_spinlock(f"timer{i}", kind) for i in range(ncpus)]
        self.locks = list(self.by.values()) + self.rq + self.tm

    def lock_at(self, entry: str, subsys: str, cpu: int) -> Spinlock | None:
        if subsys == READYQ:
            return self.rq[cpu]
        if subsys == "timer":
            return self.tm[cpu]
        if subsys == IRQ:
            return None
        return self._lock(subsys)

    def exclusive(self, a: tuple, b: tuple) -> bool:
        """Same subsystem; for per-CPU data also the same CPU."""
        if a[1] == IRQ or b[1] == IRQ or a[1] != b[1]:
            return False
        if a[1] in self.PER_CPU:
            return (a[2] if len(a) > 2 else 0) == (b[2] if len(b) > 2 else 0)
        return True


class MasterSlave(LockPolicy):
    """Only the master CPU (CPU 0) runs kernel code (Vahalia, chapter 9).  A
    slave that traps (system call, page fault, tick, IPI) queues the request
    for the master (a locked write to the request queue's cache line; an
    IPI only if the master is not already in the kernel, which polls the
    queue before it leaves) and waits, counted as SPIN.  The master runs the
    path with the slave's state (its current thread, its timer list, its
    ready queue) and its cycles are KERNEL on the master, preempting the
    master's own user thread.  The kernel is the MP build (CPU-local data,
    the per-entry overhead) but needs no lock: only one CPU runs it."""

    name = "master-slave"
    forwarding = True

    def lock_for(self, entry: str, subsys: str) -> Spinlock | None:
        return None

    def exclusive(self, a: tuple, b: tuple) -> bool:
        """All kernel work is serialized on the master."""
        return True


class AppKernel(MasterSlave):
    """The application-kernel approach ([11] in the paper): the unmodified
    UP kernel runs on CPU 0 (no MP entry overhead, no lock), a loadable
    module runs applications on the other CPUs and forwards their kernel
    entries to CPU 0, each forward costing an IPI each way (``ipi_send`` and
    ``ipi_receive`` on both sides)."""

    name = "appkernel"
    forward_ipi = True
    mp_overhead = False


POLICIES: dict[str, type[LockPolicy]] = {
    "giant": Giant, "giant+irq": GiantIrq, "subsystem": Subsystem, "fine": Fine,
    "master-slave": MasterSlave, "appkernel": AppKernel}


def make_policy(name: str, kind: str = "tas", ncpus: int = 1) -> LockPolicy:
    """The strategy called *name*; an unknown name is a ConfigError listing
    the valid ones."""
    if name not in POLICIES:
        raise ConfigError(f"unknown lock strategy {name!r}: valid are {', '.join(POLICIES)}")
    return POLICIES[name](kind, ncpus)
