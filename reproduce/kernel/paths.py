"""The kernel paths: what the kernel does for each entry, as in xv6's
syscall.c and trap.c.

Each path is a function ``p_*(k, core, arg) -> cycles`` run by the entry
path (``Kernel._run_path``) while the CPU holds the lock that guards it.
Because nothing else can change kernel state meanwhile, a path does all its
work at once and returns the cycles that work costs beyond the trap and the
lock.  A path whose work goes on under another lock (the ready-queue part of
a tick, say) hands that part over with ``k.then``; under the giant lock the
part runs in the same critical section.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .percpu import Core
from .proc import BLOCKED, ZOMBIE, Thread
from . import sched

if TYPE_CHECKING:
    from .kernel import Kernel


def p_call(k: Kernel, core: Core, kcycles: int) -> int:
    """A system call of the benchmark or a system thread: *kcycles* of work."""
    return kcycles


def p_tick(k: Kernel, core: Core, _: Any) -> int:
    """The tick's low-level part (``timer``): time keeping, this CPU's
    timer list, time-slice accounting.  Wake-ups and preemption are a
    second, ready-queue part, entered only if there is work for it
    (need-resched: a peek at the ready queue, decided again there)."""
    core.ticks += 1
    due = k.timers[core.id].pop(core.ticks, None)
    t = core.thread
    if t is not None:
        t.slice_left -= 1
    if k.tick_walk:
        k.then(core, "timer", core.id, p_timer_walk, (k.tick_walk, due), relock=True)
    else:
        tick_resched(k, core, due)
    return k.cost.tick_cycles


def tick_resched(k: Kernel, core: Core, due: list | None) -> None:
    """The end of the tick's own work: go on to the ready-queue part if
    sleepers are due or the running thread should yield."""
    t = core.thread
    if due or need_resched(k, core, t):
        k.then(core, "readyq", core.id, p_tick_sched, due)
    elif t is not None and t.slice_left <= 0:
        t.slice_left = k.cost.timeslice_ticks


def p_timer_walk(k: Kernel, core: Core, arg: tuple) -> int:
    """One step of a timer walk that takes the lock per entry: check one
    timer, release, take the lock again for the next (``tick_walk_items``
    steps); on two CPUs whose ticks fire together the lock changes hands
    at every step."""
    left, due = arg
    if left > 1:
        k.then(core, "timer", core.id, p_timer_walk, (left - 1, due), relock=True)
    else:
        tick_resched(k, core, due)
    return k.cost.tick_walk_cycles


def need_resched(k: Kernel, core: Core, t: Thread | None) -> bool:
    """Is a thread queued for this CPU that should run instead of *t*?"""
    nxt = k.readyq.first_for(core.id)
    if nxt is None:
        return False
    return t is None or nxt.priority > t.priority or \
        (t.slice_left <= 0 and nxt.priority == t.priority)


def p_tick_sched(k: Kernel, core: Core, due: list | None) -> int:
    """The tick's ready-queue part: wake the due sleepers, preempt."""
    cycles = 0
    if due:
        for t in due:
            cycles += sched.wakeup(k, core, t)
    t = core.thread
    if t is None:
        return cycles + sched.schedule(k, core, requeue=False)
    nxt = k.readyq.first_for(core.id)
    if nxt is not None and (nxt.priority > t.priority or
                            (t.slice_left <= 0 and nxt.priority == t.priority)):
        k.counters["preemptions"] += 1
        cycles += sched.schedule(k, core, requeue=True)
    if t.slice_left <= 0:
        t.slice_left = k.cost.timeslice_ticks
    return cycles


def p_switch(k: Kernel, core: Core, prev: Thread | None) -> int:
    """Ready-queue part: take the next thread for this CPU."""
    return sched.schedule(k, core, requeue=False, prev=prev)


def p_enqueue(k: Kernel, core: Core, t: Thread) -> int:
    """Ready-queue part: put a new thread on its CPU's queue, kick it."""
    k.readyq.push(t)
    return sched.readyq_cost(k, core, t) + sched.kick(k, core, t)


def p_irq(k: Kernel, core: Core, cycles: int) -> int:
    """A device interrupt handler: runs whatever thread is current;
    priorities cannot defer it."""
    if core.thread is None and k.readyq.first_for(core.id) is not None:
        k.then(core, "readyq", core.id, p_switch, None)
    return cycles


def p_ipi(k: Kernel, core: Core, _: Any) -> int:
    """Acknowledge (``irq`` part); an idle CPU then picks a thread, a busy
    one (with ``ipi_preempt``) yields to a woken thread of higher priority."""
    if core.thread is None and k.readyq.first_for(core.id) is not None:
        k.then(core, "readyq", core.id, p_switch, None)
    elif k.ipi_preempt and core.thread is not None and need_resched(k, core, core.thread):
        k.then(core, "readyq", core.id, p_preempt, None)
    return k.cost.ipi_receive


def p_shootdown(k: Kernel, core: Core, _: Any) -> int:
    """A TLB-shootdown IPI: the sender's ``vm.protect`` has already dropped
    the entry (INVLPG on this CPU); the handler costs its entry, EOI, IRET."""
    k.counters["shootdowns"] += 1
    return k.cost.ipi_receive


def p_protect(k: Kernel, core: Core, act: tuple) -> int:
    """Change the write permission of a mapped page of the caller's
    container (mprotect).  Making it writable is lazy (section 3.3: other
    CPUs' stale read-only TLB entries cost them one ignored fault); making
    it read-only must shoot the entry down on every other CPU whose TLB may
    hold it, by IPI.  The sender does not wait for the IPIs' acknowledgement
    here (their handlers take the lock after this path releases it)."""
    _, va, writable = act
    t = core.thread
    assert t is not None         # a system call runs in a thread
    cycles = k.cost.pte_update
    if k.mm is None or t.process.container is None:
        return cycles
    # In full runs a page is made read-only only to track writes (a seal).
    r = k.mm.protect(t.process.container, va, writable, core.cpu, track=not writable)
    for cpu_id in r.shot:
        k.engine.after(0, k.devices.shootdown, k.cores[cpu_id])
    return cycles + len(r.shot) * k.cost.ipi_send


def p_preempt(k: Kernel, core: Core, _: Any) -> int:
    """Ready-queue part: the running thread yields to the one queued."""
    k.counters["preemptions"] += 1
    return sched.schedule(k, core, requeue=True)


def p_idle_poll(k: Kernel, core: Core, _: Any) -> int:
    """The idle loop's look at the ready queue (``idle_poll_gap``)."""
    if core.thread is None and k.readyq.first_for(core.id) is not None:
        k.then(core, "readyq", core.id, p_switch, None)
    return k.cost.idle_poll_cycles


def p_sleep(k: Kernel, core: Core, act: tuple) -> int:
    """Block the current thread until the first tick after now whose
    number is *phase* modulo *period*: threads that share a period and a
    phase wake on the same tick, on every CPU at once."""
    period: int = act[1]
    phase: int = act[2]
    t = core.thread
    assert t is not None         # a system call runs in a thread
    # The UP kernel's one timer list (``timer_list = "global"``) is walked
    # by CPU 0's tick; else each CPU's tick walks its own.
    home = k.cores[0] if k.global_timers else core
    now_tick = home.ticks
    wake = now_tick + 1 + (phase - now_tick - 1) % period
    t.state = BLOCKED
    k.timers[home.id].setdefault(wake, []).append(t)
    k.then(core, "readyq", core.id, p_switch, None)
    return k.cost.timer_insert


def p_spawn(k: Kernel, core: Core, act: tuple) -> int:
    """Create a process (a dynamic job, say) with a fresh container."""
    _, name, program, priority, kind = act
    cycles = k.cost.page_alloc          # process structure
    container = None
    if k.mm is not None:
        before = k.mem.in_use
        container = k.mm.container_create()
        cycles += (k.mem.in_use - before) * k.cost.page_alloc
    t = k.create_process(name, kind, program, priority, container, creator=core.id,
                         enqueue=False)
    k.counters["spawned"] += 1
    k.then(core, "readyq", t.cpu if t.cpu is not None else core.id, p_enqueue, t)
    return cycles


def p_thread(k: Kernel, core: Core, act: tuple) -> int:
    """Add a thread to the caller's process; the first one makes its
    container multithreaded (Figure 4b: a container page directory)."""
    _, name, program = act
    parent = core.thread
    assert parent is not None    # a system call runs in a thread
    p = parent.process
    cycles = k.cost.page_alloc
    if k.mm is not None and p.container is not None and p.live == 1:
        before = k.mem.in_use
        k.mm.make_multithreaded(p.container, core.cpu)
        cycles += (k.mem.in_use - before) * k.cost.pgdir_copy
    t = sched.new_thread(k, p, name, program, parent.priority, None, core.id, enqueue=False)
    k.then(core, "readyq", t.cpu if t.cpu is not None else core.id, p_enqueue, t)
    return cycles


def p_exit(k: Kernel, core: Core, _: Any) -> int:
    """The thread ends; the last one of a process frees its container."""
    t = core.thread
    assert t is not None         # a system call runs in a thread
    t.state = ZOMBIE
    t.finished_at = k.engine.now
    p = t.process
    p.live -= 1
    if k.affinity and t.cpu is not None:
        k.load[t.cpu] -= 1
    cycles = k.cost.page_alloc
    if p.live == 0 and p.container is not None and k.mm is not None:
        # Leave the dying address space before freeing its frames.
        if k.mm.switch(core.cpu, None).cr3_loaded:
            cycles += k.cost.cr3_load
        k.mm.container_destroy(p.container)
    if t in k.awaited:           # the run waits for it (Kernel.wait_for)
        k.awaited.discard(t)
        if not k.awaited:
            k.done_at = k.engine.now
            k.engine.stop()
    core.thread = None
    k.then(core, "readyq", core.id, p_switch, t)
    return cycles


def p_fault(k: Kernel, core: Core, faults: list) -> int:
    """Page faults the MMU raised (``vm`` has resolved them): their
    handler, the pages allocated, a page directory copied."""
    c = k.cost
    cycles = 0
    for f in faults:
        k.counters["page_faults"] += 1
        cycles += c.page_fault + f.pages_allocated * c.page_alloc
        if f.pgdir_copied:
            cycles += c.pgdir_copy
    return cycles
