"""The scheduler: the ready queue, and taking the next thread.

The in-house kernel has one ready queue shared by all CPUs (section 5 names
its cache line as a reason for the low speedup); Linux 2.6 has one per CPU
(section 7).  Both are this class: ``per_cpu=False`` keeps one set of cache
lines that every enqueue and dequeue writes, ``per_cpu=True`` gives each CPU
its own lines (a set is one ``CacheLine`` of *nlines* lines: they are always
written together).  Threads are ordered by priority (higher first), then by
arrival.  Under affinity a CPU takes only threads whose home is that CPU.

The functions after the class are the scheduler's part of the kernel paths
(``paths.py``): each returns the cycles it costs, and runs under the lock
that guards the ready queue.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Generator

from ..machine.cacheline import CacheLine
from ..machine.cpu import IDLE
from .percpu import Core
from .proc import READY, RUNNING, Process, Thread

if TYPE_CHECKING:
    from .kernel import Kernel


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


def new_thread(k: Kernel, p: Process, name: str, program: Generator, priority: int,
               cpu: int | None, creator: int | None, enqueue: bool = True) -> Thread:
    """A new thread of process *p*.  Under affinity its home is *cpu* if
    given, else an idle CPU, else the least loaded (section 3.1:
    ``place``); ``enqueue=False``: the caller queues it."""
    k.tid += 1
    t = Thread(k.tid, name, p, program, priority)
    t.slice_left = k.cost.timeslice_ticks
    if k.affinity:
        t.cpu = cpu if cpu is not None else place(k, creator)
        k.load[t.cpu] += 1
    elif cpu is not None:
        t.cpu = cpu
    p.threads.append(t)
    p.live += 1
    k.threads.append(t)
    if enqueue:
        k.readyq.push(t)
    return t


def place(k: Kernel, creator: int | None) -> int:
    """Where a new thread lives under affinity: an idle CPU (nothing
    running, nothing queued for it) if there is one, else the least
    loaded; ties go to the lowest id."""
    idle = [c.id for c in k.cores
            if c.thread is None and k.readyq.first_for(c.id) is None]
    pool = idle or range(len(k.cores))
    return min(pool, key=lambda i: (k.load[i], i))


def readyq_cost(k: Kernel, core: Core, t: Thread) -> int:
    """Cycles of writing the ready-queue lines of *t*'s CPU (a transfer if
    another CPU wrote them last)."""
    if not k.readyq_bounce:
        return 0
    lines = k.readyq.lines_for(t.cpu if t.cpu is not None else core.id)
    if not lines.lines:
        return 0
    return k.line_costs[lines.write(core.runner.id)] * lines.lines


def wakeup(k: Kernel, core: Core, t: Thread) -> int:
    """Make a sleeping thread runnable."""
    k.counters["wakeups"] += 1
    k.readyq.push(t)
    return readyq_cost(k, core, t) + kick(k, core, t)


def kick(k: Kernel, core: Core, t: Thread) -> int:
    """If the thread's CPU (or, without affinity, some CPU) is halted,
    send it a reschedule IPI."""
    if t.cpu is not None:
        targets = [k.cores[t.cpu]]
    else:
        targets = k.cores
    for other in targets:
        if other is core:
            if core.thread is None:
                return 0         # this CPU will pick it when it leaves
            continue
        if other.thread is None and other.cpu.mode == IDLE and not other.kicked:
            if k.idle_tick:
                return 0         # it finds the work at its next tick
            other.kicked = True
            k.counters["ipis"] += 1
            k.engine.after(k.cost.ipi_send, k.devices.ipi, other)
            return k.cost.ipi_send
        if other.kicked:
            return 0
        if k.ipi_preempt and other.thread is not None and t.priority > other.thread.priority:
            # Preempt the lower-priority thread there now, not at its next
            # tick: the IPI leaves while this CPU still holds the lock.
            other.kicked = True
            k.counters["ipis"] += 1
            k.engine.after(k.cost.ipi_send, k.devices.ipi, other)
            return k.cost.ipi_send
    return 0


def pick(k: Kernel, core: Core) -> None:
    """Take the first thread for this CPU (at boot: no cost counted)."""
    t = k.readyq.pop_for(core.id)
    core.thread = t
    if t is not None:
        t.state = RUNNING


def schedule(k: Kernel, core: Core, requeue: bool, prev: Thread | None = None) -> int:
    """Put the current thread back (if *requeue*) and take the next one
    for this CPU from the ready queue."""
    prev = prev or core.thread
    cycles = 0
    if requeue and core.thread is not None:
        k.readyq.push(core.thread)
        cycles += readyq_cost(k, core, core.thread)
    nxt = k.readyq.first_for(core.id)
    if nxt is None:
        core.thread = None
        return cycles
    k.readyq.pop_for(core.id)
    cycles += readyq_cost(k, core, nxt)
    nxt.state = RUNNING
    core.thread = nxt
    if nxt is not prev:
        k.counters["context_switches"] += 1
        cycles += k.switch_cycles + switch_mm(k, core, nxt)
    if nxt.last_cpu is not None and nxt.last_cpu != core.id:
        nxt.migrations += 1
        k.counters["migrations"] += 1
        nxt.refill += k.cost.cache_refill
    nxt.last_cpu = core.id
    return cycles


def switch_mm(k: Kernel, core: Core, t: Thread) -> int:
    """Switch the CPU to *t*'s address space; write the CPU-local
    ``current_thread``."""
    if k.mm is None:
        return 0
    cycles = 0
    r = k.mm.switch(core.cpu, t.process.container)
    if r.cr3_loaded:
        cycles += k.cost.cr3_load
    cycles += r.pgdir_allocated * k.cost.pgdir_copy
    k.mm.write_local(core.cpu, "current_thread", t.tid)
    return cycles


def admit(k: Kernel) -> None:
    """Wake halted CPUs that have work queued (after threads were created
    from outside a kernel path, e.g. by the run that starts the benchmark)."""
    if k.idle_tick:
        return                   # halted CPUs find it at their next tick
    for core in k.cores:
        if core.thread is None and core.cpu.mode == IDLE and not core.kicked \
                and k.readyq.first_for(core.id) is not None:
            core.kicked = True
            k.engine.after(0, k.devices.ipi, core)
