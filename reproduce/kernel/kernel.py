"""The in-house kernel on the simulated SMP: boot, the one entry path, and
what a run measured.

A CPU is always in one of four modes (``machine.cpu``).  Each kernel entry
(system call, timer interrupt, device interrupt, reschedule IPI, page fault)
follows the same course, as in the MP build of section 3.1, and the
functions below appear in its order:

1. ``enter``, the trap: the CPU leaves user mode (or its halt);
2. ``_acquire``: the lock the strategy names (the giant lock in the paper's
   build; none in the UP build), taken by running its algorithm's code.  If
   it is held the CPU spins (mode SPIN) until a release hands it over;
3. ``_run_path``: the kernel path (``paths.py``) runs holding the lock (mode
   KERNEL).  Because nothing else can change kernel state while the path
   holds the lock that guards it, the path does all its work at the moment
   it acquires the lock and returns the cycles that work costs: its own
   cycles, the trap, the lock's operations, the cache lines it writes (ready
   queue, other shared kernel data), the context switch;
4. ``_hold_done`` and ``_release``: the lock's release code hands it to the
   next owner;
5. ``_leave``: the CPU takes interrupts held off meanwhile, then returns to
   user mode in whatever thread the path left current (or halts, IDLE).

Strategies finer than the giant lock may split a path into parts that run
under different locks, one after the other (``then``); the master-slave and
application-kernel strategies are a subclass (``forward.py``).  Interrupts
are disabled in the kernel: a tick or IPI that arrives while the CPU is in
the kernel or spinning is taken right after release.  How bus traffic
stretches a holder is ``bus.py``; the scheduler is ``sched.py``; interrupt
sources are ``devices.py``; the trace and debug checks hook in through
``watch`` (``checks.py``).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Generator, Iterable

from ..errors import ConfigError
from ..machine.cacheline import HIT, MISS, TRANSFER, CacheLine
from ..machine.cpu import CPU, IDLE, KERNEL, SPIN, USER
from ..machine.engine import Engine
from ..machine.memory import PhysicalMemory
from ..params import Params
from . import sched
from .bus import Traffic
from .checks import Watcher, watcher_for
from .costs import PathCosts
from .devices import Devices
from .draws import Draws
from .locking import LockPolicy
from .lockstat import lock_report
from .paths import (p_call, p_exit, p_fault, p_idle_poll, p_ipi, p_irq, p_protect,
                    p_shootdown, p_sleep, p_spawn, p_thread, p_tick)
from .percpu import SECTION_FORWARDED, SECTION_PART, SECTION_TRAP, Core
from .profile import ProfileKeys
from .proc import CALL, EXIT, PROTECT, RUN, SLEEP, SPAWN, THREAD, TOUCH, Process, Thread
from .record import Recorder
from .sched import ReadyQueue
from .spinlock import Ops, Spinlock
from .vm import MemoryManager

BUILDS = ("up", "mp")
# How a halted CPU learns of new work: a reschedule IPI, or its next tick.
IDLE_WAKEUPS = ("ipi", "tick")


class Kernel:
    """The kernel: *build* ``up`` (no lock, no CPU-local section) or ``mp``
    (the lock strategy *policy*, CPU-local data); *costs* is the cost table
    (``data/params/pentium2.toml``), *sched* the scheduler part of the
    workload table.  *switches* turn two of the paper's reasons for the low
    speedup off: ``readyq_bounce``, ``kernel_data_bounce``.  Set ``trace``
    to a list before ``start()`` to record every step of every entry."""

    def __init__(self, engine: Engine, mem: PhysicalMemory, ncpus: int, build: str,
                 policy: LockPolicy, costs: Params, sched: Params, rng: Any, *,
                 mm: MemoryManager | None = None, debug: bool = False,
                 switches: dict[str, bool] | None = None) -> None:
        if build not in BUILDS:
            raise ConfigError(f"kernel build {build!r}: allowed are {', '.join(BUILDS)}")
        if not isinstance(ncpus, int) or ncpus < 1:
            raise ConfigError(f"cpus={ncpus!r}: must be an integer >= 1")
        if build == "up" and ncpus != 1:
            raise ConfigError(f"the UP kernel runs on 1 CPU, not cpus={ncpus}")
        if sched["idle_wakeup"] not in IDLE_WAKEUPS:
            raise ConfigError(f"idle_wakeup={sched['idle_wakeup']!r}: allowed are "
                              f"{', '.join(IDLE_WAKEUPS)}")
        self.engine = engine
        self.mem = mem
        self.build = build
        self.policy = policy
        # The tables by name; the costs the paths charge, typed (costs.py).
        self.c, self.s, self.cost = dict(costs), dict(sched), PathCosts(costs, sched)
        self.rng = rng
        self.draws = Draws(rng)      # the lock code's draws, as numpy gives them
        self._ops = Ops()            # the lock code's counters, read at once after each call
        self.mm = mm
        self.debug = debug
        sw = {"readyq_bounce": True, "kernel_data_bounce": True}
        for key in switches or {}:
            if key not in sw:
                raise ConfigError(f"unknown mechanism switch {key!r}: known are {', '.join(sw)}")
        sw.update(switches or {})
        self.switches = sw
        self.kdata_bounce: bool = sw["kernel_data_bounce"]
        self.readyq_bounce: bool = sw["readyq_bounce"]
        # Costs read on every entry, bound once; a cache-line access costs
        # by its outcome, so a tuple indexed by HIT, MISS, TRANSFER.
        self._trap: int = costs["trap"]
        # CPU-local data as a vector indexed by CPU id (section 3.2's rejected
        # alternative) costs its extra instructions on every access.
        vector = build == "mp" and costs["cpulocal"] == "vector"
        per = costs["vector_access_cycles"] if vector else 0
        self.entry_overhead: int = costs["mp_entry_overhead"] + per * costs["cpulocal_per_entry"]
        self.switch_cycles: int = costs["context_switch"] + per * costs["cpulocal_per_switch"]
        # The paper's lock instrumentation reads the TSC at request, acquire
        # and release (section 4); each RDTSC costs its cycles in the hold.
        self._tsc_reads: int = 3 * costs["rdtsc"]
        self._page_walk: int = costs["page_walk"]
        self.line_costs: tuple[int, ...] = tuple(
            {HIT: 0, MISS: costs["memory_access"], TRANSFER: costs["line_transfer"]}[r]
            for r in range(3))
        self.mp: bool = build == "mp" and policy.mp_overhead
        self.idle_tick: bool = sched["idle_wakeup"] == "tick"
        # E8's kernel mechanisms (each off by default; see data/params).
        self.tick_walk: int = sched["tick_walk_items"]
        self.idle_poll_gap: int = sched["idle_poll_gap"]
        self.global_timers: bool = sched["timer_list"] == "global"
        self.ipi_preempt: bool = bool(sched["ipi_preempt"])
        self._line_writes: int = costs["lock_line_writes"] * costs["line_transfer"]
        self.affinity = bool(sched["affinity"])
        for lock in policy.locks:
            lock.configure(costs["line_transfer"], costs["backoff_base"], costs["backoff_cap"])
        self.cores = [Core(CPU(i, mem, costs["tlb_entries"], i * costs["tsc_skew"]))
                      for i in range(ncpus)]
        self.readyq = ReadyQueue(ncpus, sched["readyq_lines"], policy.per_cpu_readyq)
        self.kdata = CacheLine("kdata", sched["kernel_shared_lines"])
        self.timers: list[dict[int, list[Thread]]] = [dict() for _ in range(ncpus)]
        self.tick_period = (costs["clock_hz"] // sched["timer_hz"]) if sched["timer_hz"] else 0
        self.threads: list[Thread] = []
        self.processes: list[Process] = []
        self.load = [0] * ncpus      # threads homed per CPU (placement)
        self.counters = {"context_switches": 0, "migrations": 0, "ipis": 0,
                         "wakeups": 0, "spawned": 0, "page_faults": 0, "preemptions": 0,
                         "shootdowns": 0}
        self.entries = 0             # kernel entries: stats() reports it first among counters
        self.trace: list[dict[str, Any]] | None = None   # set to [] to record steps
        self.warmup = {"entries": 0, "acquisitions": 0}  # counted before reset_stats
        self.awaited: set[Thread] = set()     # see wait_for
        self.done_at: int | None = None
        self._mm0: dict[str, int] = {}       # vm's counters at reset_stats
        self._pid = 0
        self.tid = 0                 # the last thread id given (sched.new_thread)
        self._keys = ProfileKeys()
        # Bound once: the engine calls these on every user run and hold.
        self._user_done_cb = self._user_done
        self._hold_done_cb = self._hold_done
        self._run_path_cb = self._run_path
        self._idle_poll_cb = self._idle_poll
        self.traffic = Traffic(engine, self.cores, costs, sched, self._user_done_cb,
                               self._hold_done_cb)
        self._fsb = self.traffic.fsb
        self.devices = Devices(self)
        self.recorder: Recorder | None = None     # see record()
        self.started = False
        self.watch: Watcher = watcher_for(self)

    # ------------------------------------------------------------------ boot
    def boot(self) -> None:
        """Bring up every CPU (load its page directory, write its CPU-local
        variables) and start its timer."""
        for core in self.cores:
            if self.mm is not None:
                self.mm.boot_cpu(core.cpu)
            core.cpu.set_mode(IDLE, 0)
            if self.tick_period:
                skew = int(self.s["timer_phase_skew"] * self.tick_period) * core.id
                self.engine.at(self.tick_period + skew % self.tick_period, self.devices.tick,
                               core)

    def start(self) -> None:
        """Every CPU picks its first thread (boot work is not measured).
        The trace, debug checks and recording are chosen here, once."""
        self.started = True
        self.watch = watcher_for(self)
        for core in self.cores:
            sched.pick(self, core)
            if core.thread is not None:
                sched.switch_mm(self, core, core.thread)
                self._resume(core)

    def record(self, t_from: int, t_to: int) -> None:
        """Record the cycles [*t_from*, *t_to*) (``record.py``), before
        ``start()``; a kernel not asked records nothing and runs as before."""
        if self.started or self.recorder is not None:
            raise ConfigError("record(t_from, t_to): once per kernel, before start()")
        self.recorder = Recorder(self, t_from, t_to)

    def recording(self) -> dict[str, Any]:
        """What ``record()`` asked for, up to now: plain Python (see
        ``record.py`` for the keys)."""
        if self.recorder is None:
            raise ConfigError("recording(): this kernel records nothing; call "
                              "record(t_from, t_to) before start()")
        return self.recorder.result()

    # -------------------------------------------------------- processes
    def create_process(self, name: str, kind: str, program: Generator, priority: int = 0,
                       container: Any = None, cpu: int | None = None,
                       creator: int | None = None, enqueue: bool = True) -> Thread:
        """A process with one thread running *program*; returns the thread.
        Under affinity the thread's home is *cpu* if given, else an idle CPU,
        else the least loaded (section 3.1).  ``enqueue=False``: the caller
        puts the thread on the ready queue itself."""
        self._pid += 1
        p = Process(self._pid, name, kind, container)
        self.processes.append(p)
        return sched.new_thread(self, p, name, program, priority, cpu, creator, enqueue)

    def wait_for(self, threads: Iterable[Thread]) -> None:
        """Stop the engine when every one of *threads* has exited, and note
        the cycle in ``done_at`` (the shell's wait for the benchmark)."""
        self.awaited = set(threads)
        self.done_at = None

    # ----------------------------------------------------------- user mode
    def _resume(self, core: Core) -> None:
        """Continue the current thread's program until it enters the kernel
        or starts a user run."""
        t = core.thread
        assert t is not None         # called only with a thread to run
        while True:
            act = self._next_action(t)
            op: int = act[0]
            if op == RUN:
                cycles: int = act[1] + t.refill
                t.refill = 0
                if cycles <= 0:
                    continue
                now = self.engine.now
                core.cpu.set_mode(USER, now)
                if self._fsb:
                    self.traffic.run(core, t, cycles, now)
                    return
                core.user_end = now + cycles
                core.event = self.engine.at(core.user_end, self._user_done_cb, core)
                return
            if op == TOUCH:
                faults = self._touch(core, t, act[1], act[2])
                if not faults:
                    continue
                self.enter(core, "pagefault", "memory", p_fault, faults)
                return
            if op == CALL:
                self.enter(core, "syscall", act[2], p_call, act[1])
            elif op == SLEEP:
                self.enter(core, "syscall", "timer", p_sleep, act)
            elif op == SPAWN:
                self.enter(core, "syscall", "proc", p_spawn, act)
            elif op == THREAD:
                self.enter(core, "syscall", "proc", p_thread, act)
            elif op == PROTECT:
                self.enter(core, "syscall", "memory", p_protect, act)
            elif op == EXIT:
                self.enter(core, "syscall", "proc", p_exit, None)
            else:
                raise ConfigError(f"thread {t.name}: unknown action {act!r}")
            return

    def _next_action(self, t: Thread) -> tuple:
        """The thread's next action: the one put back (``pending``, e.g. the
        rest of a preempted user run), else its program's next (by a loop:
        compiled, next() is a builtin looked up by name), EXIT at its end."""
        act = t.pending
        if act is not None:
            t.pending = None
            return act
        for act in t.program:
            return act
        return (EXIT,)

    def _user_done(self, core: Core) -> None:
        t = core.thread
        assert t is not None         # a user run belongs to a thread
        t.user_cycles += self.engine.now - core.cpu.since
        core.bus_mu = 0.0
        self._resume(core)

    def _touch(self, core: Core, t: Thread, va: int, write: bool) -> list:
        """A user read or *write* of *va*; returns the page faults the MMU
        raised (the handler of ``vm`` has already resolved them)."""
        if self.mm is None or t.process.container is None:
            return []
        walks = core.cpu.walks
        faults = self.mm.access(core.cpu, t.process.container, va, write, True)
        # Each TLB miss walks the page tables: user time of the thread.
        t.refill += (core.cpu.walks - walks) * self._page_walk
        return faults

    def interrupt(self, core: Core, entry: str, subsys: str, path: Callable[..., int],
                  arg: Any) -> bool:
        """Deliver an interrupt: from user mode or the halt it enters the
        kernel at once; in the kernel (or spinning) interrupts are off and
        the caller keeps it pending (returns False)."""
        mode = core.cpu.mode
        if mode == USER:
            self.preempt_user(core)
        elif mode != IDLE:
            return False
        elif self.idle_poll_gap and core.event is not None:
            self.engine.cancel(core.event)     # the idle loop's next look
        self.enter(core, entry, subsys, path, arg)
        return True

    def preempt_user(self, core: Core) -> None:
        """Stop the user run in progress; the rest of it is put back."""
        now = self.engine.now
        t = core.thread
        assert t is not None         # user mode runs a thread
        t.user_cycles += now - core.cpu.since
        if core.bus_mu:
            left = core.bus_work - (now - core.bus_seg) / core.bus_stretch
            t.pending = (RUN, max(0, math.ceil(left)))
            core.bus_mu = 0.0
        else:
            t.pending = (RUN, core.user_end - now)
        if core.event is not None:   # the user run's end, maybe far ahead
            self.engine.cancel(core.event)

    # ------------------------------------------- one kernel entry, top to bottom
    def enter(self, core: Core, entry: str, subsys: str, path: Callable[..., int],
              arg: Any) -> None:
        """1. The trap: the CPU enters the kernel for *path*; then it takes
        the lock the strategy names (an IPI's first part is its CPU-local
        acknowledgement)."""
        self.trap(core, entry, subsys, path, arg)
        self._acquire(core, "irq" if entry == "ipi" else subsys, core.id)

    def trap(self, core: Core, entry: str, subsys: str, path: Callable[..., int],
             arg: Any) -> None:
        """Record the entry: what it is, its profile class, its path."""
        core.entry = entry
        core.subsys = subsys
        prof = core.prof = self._keys.key(entry, subsys)
        core.key = prof.name
        core.path, core.arg = path, arg
        core.section = SECTION_TRAP
        self.entries += 1

    def _acquire(self, core: Core, part: str, pcpu: int) -> None:
        """2. Take the lock of part *part* (touching per-CPU data of CPU
        *pcpu*) of the path in ``core.path``: run the algorithm's acquire
        code on its cache lines; if that did not get the lock, spin until a
        release hands it over (``_release``)."""
        core.part = (part, pcpu)
        lock = self.policy.lock_at(core.entry, part, pcpu)
        core.lock = lock
        if lock is None:
            core.lock_cycles = 0
            self._run_path(core)
            return
        now = self.engine.now
        core.req_tsc = now + core.cpu.tsc_offset        # RDTSC
        held_by = lock.holder
        traffic = self.traffic
        traffic.count_spinning(lock)
        ops = lock.arrive(core.id, self._ops)
        lock.transactions += ops.transactions
        self.watch.trap(core, lock, held_by)
        if lock.holder == core.id:
            core.bounced = ops.transfers > 0
            core.lock_cycles = traffic.lock_cycles(ops)
            self._run_path(core)
            return
        core.cpu.set_mode(SPIN, now)
        if self._fsb:
            traffic.update(now)      # the spinner's bus share changed
        # The spinner's first pass went over the bus while the holder works.
        traffic.interfere(lock, traffic.busy(ops))

    def _run_path(self, core: Core) -> None:
        """3. The CPU owns its lock: run the path and schedule the release.
        A trap pays the trap and the MP entry costs, a further part of a
        path (SECTION_PART) only its lock, a forwarded path
        (SECTION_FORWARDED) runs on the master's CPU (``runner``) and pays
        the forwarding instead of a trap."""
        now = self.engine.now
        runner = core.runner
        cpu = runner.cpu
        cpu.set_mode(KERNEL, now)
        if self._fsb:
            self.traffic.update(now)
        section = core.section
        lock = core.lock
        cycles = self._trap if section == SECTION_TRAP else \
            core.fwd_cost if section == SECTION_FORWARDED else 0
        waited = 0
        if lock is not None:
            acq = core.acq_tsc = now + cpu.tsc_offset      # RDTSC
            waited = acq - core.req_tsc
            cycles += core.lock_cycles + self._tsc_reads     # lock_stat's three TSC reads
            if waited > 0:
                lock.row(core.key, core.id).wait(waited, core.bounced)
            if self._line_writes and lock.waiters and lock.kind != "mcs":
                # Hot data in the lock word's line: every write takes the
                # line back from the CPUs spinning on it (false sharing).
                cycles += self._line_writes
                lock.stall_cycles += self._line_writes
        kcost = 0
        if section != SECTION_PART:
            if self.mp:
                cycles += self.entry_overhead
            if self.kdata_bounce:
                kdata = self.kdata
                if kdata.lines:
                    kcost = self.line_costs[kdata.write(runner.id)] * kdata.lines
                    cycles += kcost
        watch = self.watch
        watch.entry(core, waited, kcost)
        path = core.path
        assert path is not None       # set by the trap or _continue
        pc = path(self, core, core.arg)
        # Further parts under the same lock run in the same section.
        nxt = core.next
        while nxt is not None and not nxt[4] and \
                self.policy.lock_at(core.entry, nxt[0], nxt[1]) is lock:
            core.next = None
            watch.part(core, nxt)
            pc += nxt[2](self, core, nxt[3])
            nxt = core.next
        watch.path(core, path, pc)
        cycles += pc
        core.work_left = float(cycles)
        core.seg_start = now
        factor = core.factor = self.traffic.factor(lock)
        core.event = self.engine.at(now + math.ceil(core.work_left * factor),
                                    self._hold_done_cb, core)

    def _hold_done(self, core: Core) -> None:
        """4. The path's work is done: release the lock, then go on with
        the path's next part or return."""
        self._end_hold(core)
        if core.next is not None:
            self._continue(core)
        else:
            self._leave(core)

    def _end_hold(self, core: Core) -> None:
        """Count the hold in the kernel profile and lock_stat, release."""
        now = self.engine.now
        lock = core.lock
        cpu = core.runner.cpu
        core.prof.add(now - cpu.since)
        self.watch.done(core)
        if lock is not None:
            held = now + cpu.tsc_offset - core.acq_tsc     # RDTSC
            lock.row(core.key, core.id).hold(held, core.bounced)
            lock.stall_cycles += self.traffic.segment_stall(core, now)
            self._release(core, lock)

    def _release(self, core: Core, lock: Spinlock) -> None:
        """Run the algorithm's release: the next owner starts its path when
        the operations from the releasing store to its acquiring one are
        done (hand-off); what the others do after that occupies the bus
        while it works (shared bus: it stalls)."""
        now = self.engine.now
        traffic = self.traffic
        traffic.count_spinning(lock)
        nxt, ops, idle = lock.release(core.id, self.draws, now, self._ops)
        lock.transactions += ops.transactions
        if nxt is None:
            return
        other = self.cores[nxt]
        other.bounced = ops.transfers > 0
        stall = traffic.burst_stall(traffic.others_busy(ops))
        lock.stall_cycles += stall
        other.lock_cycles = stall
        self.engine.at(now + idle + traffic.lock_cycles(ops), self._run_path_cb, other)

    def then(self, core: Core, part: str, pcpu: int, fn: Callable[..., int],
             arg: Any, relock: bool = False) -> None:
        """Called by a path: its work continues with part *part* (per-CPU
        data of CPU *pcpu*), ``fn(kernel, core, arg)``, under that part's
        lock: in the same critical section if the strategy gives it the same
        lock (unless *relock*: release and take it again), else in a new
        one after this one's lock is released."""
        core.next = (part, pcpu, fn, arg, relock)

    def _continue(self, core: Core) -> None:
        """Start the further part of a path under its own lock (no trap:
        the CPU is still in the kernel).  Its profile key is
        ``entry:part``."""
        assert core.next is not None  # _hold_done checked
        part, pcpu, fn, arg, _ = core.next
        core.next = None
        core.subsys = part
        prof = core.prof = self._keys.key(core.entry, part)
        core.key = prof.name
        core.path, core.arg = fn, arg
        core.section = SECTION_PART
        self._acquire(core, part, pcpu)

    def _leave(self, core: Core) -> None:
        """5. Leave the kernel: take interrupts that came in, then return to
        user mode in the current thread or halt."""
        if core.pending_ticks or core.pending_ipi or core.pending_irqs or core.pending_shootdowns:
            self._take_pending(core)
        else:
            self._return(core)

    def _take_pending(self, core: Core) -> None:
        """Enter again for an interrupt held off while in the kernel."""
        if core.pending_ticks:
            core.pending_ticks -= 1
            self.enter(core, "timer", "timer", p_tick, None)
        elif core.pending_ipi:
            core.pending_ipi = False
            self.enter(core, "ipi", "sched", p_ipi, None)
        elif core.pending_shootdowns:
            core.pending_shootdowns -= 1
            self.enter(core, "ipi", "memory", p_shootdown, None)
        else:
            self.enter(core, "irq", "io", p_irq, core.pending_irqs.pop(0))

    def _return(self, core: Core) -> None:
        """Return to user mode, or halt if there is no thread to run."""
        if core.thread is None:
            if self.readyq.first_for(core.id) is not None:
                # Work arrived while we were in the kernel: the idle loop
                # looks at the ready queue before it halts.
                self.enter(core, "ipi", "sched", p_ipi, None)
                return
            core.cpu.set_mode(IDLE, self.engine.now)
            if self._fsb:
                self.traffic.update(self.engine.now)
            if self.idle_poll_gap:
                core.event = self.engine.after(self.idle_poll_gap, self._idle_poll_cb, core)
            return
        self._resume(core)

    def _idle_poll(self, core: Core) -> None:
        """The idle loop looks at the ready queue under the lock."""
        if core.cpu.mode == IDLE and core.thread is None:
            self.enter(core, "idle", "sched", p_idle_poll, None)

    # ------------------------------------------------------ what was measured
    def reset_stats(self) -> None:
        """Start measuring now: clear lock statistics, counters and profiles
        (the modes are measured from a snapshot, ``modes()``).  What the
        warm-up did is kept in ``warmup``: its kernel entries and lock
        acquisitions (a benchmark of the simulator's own speed counts
        them)."""
        self.warmup = {"entries": self.entries,
                       "acquisitions": sum(lock.stat.acquisitions for lock in self.policy.locks)}
        for lock in self.policy.locks:
            lock.reset_stats()
        for lines in self.readyq.lines:
            lines.bounces = 0
        for k in self.counters:
            self.counters[k] = 0
        self.entries = 0
        for core in self.cores:
            core.irqs = 0
        self._keys.reset()
        self._mm0 = dict(self.mm.counters) if self.mm is not None else {}

    def modes(self, now: int) -> list[list[int]]:
        """Per CPU, the cycles up to *now* in user, kernel, spin, idle."""
        return [core.cpu.account(now) for core in self.cores]

    def stats(self, t0: int, end: int) -> dict[str, Any]:
        """What the run measured since ``reset_stats`` (at cycle *t0*), up
        to cycle *end*: per lock its lock_stat row, traffic and the holds
        and waits still open (``locks``), lock_stat by entry point and by
        CPU (rows), the counters, memory (frames and pages at *end*; faults,
        IPIs and the other events of ``vm`` since *t0*), the kernel profile
        (cycles by "entry:subsystem"), the warm-up's work and the events
        dispatched."""
        locks = {lock.name: lock_report(lock, self.cores, t0, end)
                 for lock in self.policy.locks}
        by_entry = [{"lock": lock.name, "entry": entry, **st.as_dict()}
                    for lock in self.policy.locks for entry, st in sorted(lock.by_entry.items())]
        by_cpu = [{"lock": lock.name, "cpu": cpu, **st.as_dict()}
                  for lock in self.policy.locks for cpu, st in sorted(lock.by_cpu.items())]
        memory = {"frames_in_use": self.mem.in_use, "frames_peak": self.mem.peak}
        if self.mm is not None:
            memory.update({key: v - self._mm0.get(key, 0) if key in self.mm.counters else v
                           for key, v in self.mm.stats().items() if isinstance(v, (int, float))})
        counters = {"entries": self.entries, **self.counters}
        counters["readyq_bounces"] = sum(lines.bounces for lines in self.readyq.lines)
        for core in self.cores:
            counters[f"irqs_cpu{core.id}"] = core.irqs
        # The benchmark's own user-mode cycles (wall cycles in user mode: a loop
        # slowed by the bus takes more of them than its solo work).
        counters["bench_user_cycles"] = sum(t.user_cycles for t in self.threads
                                            if t.process.kind == "benchmark")
        return {"locks": locks, "by_entry": by_entry, "by_cpu": by_cpu, "counters": counters,
                "memory": memory, "kernel_profile": self._keys.profile(),
                "warmup": {"cycles": t0, **self.warmup}, "events": self.engine.events}
