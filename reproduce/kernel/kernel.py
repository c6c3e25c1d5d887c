"""The in-house kernel on the simulated SMP: trap entry and exit, the lock,
the scheduler, timers and wake-ups, as an event-driven state machine per CPU.

A CPU is always in one of four modes (``machine.cpu``).  Each kernel entry
(system call, timer interrupt, device interrupt, reschedule IPI, page fault)
follows the same course, as in the MP build of section 3.1:

1. ``_enter``, the trap: the CPU leaves user mode (or its halt);
2. ``_acquire``: the lock the strategy names (the giant lock in the paper's
   build; none in the UP build), taken by running its algorithm's code.  If
   it is held the CPU spins (mode SPIN) until a release hands it over;
3. ``_run_path``: the kernel path runs holding the lock (mode KERNEL).
   Because nothing else can change kernel state while the path holds the
   lock that guards it, the path does all its work at the moment it
   acquires the lock and returns the cycles that work costs: its own cycles,
   the trap, the lock's operations, the cache lines it writes (ready queue,
   other shared kernel data), the context switch;
4. ``_hold_done`` and ``_release``: the lock's release code hands it to the
   next owner;
5. ``_leave``: the CPU takes interrupts held off meanwhile, then returns to
   user mode in whatever thread the path left current (or halts, IDLE).

These functions appear in this order in the file.

Strategies finer than the giant lock may split a path into parts that run
under different locks, one after the other (``_then``); the master-slave and
application-kernel strategies run a slave's path on the master CPU while the
slave waits (``_forward``, ``_serve``).

Interrupts are disabled in the kernel: a tick or IPI that arrives while the
CPU is in the kernel or spinning is taken right after release.

What a lock costs is what its algorithm's code does on its cache lines
(``spinlock.py``), priced by the cost table: the acquiring operations, the
hand-off from the releasing store to the next owner's acquiring operation,
and, on a shared bus (``shared_bus``), the holder's cache misses waiting
behind the spinners' transfers (``_bus_factor``, ``_burst_stall``).  Nothing
stretches the holder by an assumed factor per spinner.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Final, Iterator

from ..errors import ConfigError, InvariantError
from ..machine.cacheline import HIT, MISS, TRANSFER, CacheLine
from ..machine.cpu import CPU, IDLE, KERNEL, SPIN, USER
from ..machine.engine import Engine
from ..machine.fsb import MU_MAX, Bus, line_cycles, solo_share
from ..machine.memory import PhysicalMemory
from ..params import Params
from .locking import LockPolicy
from .profile import ProfileKeys
from .spinlock import Ops, Spinlock
from .vm import MemoryManager
from .proc import (BLOCKED, CALL, EXIT, RUN, RUNNING, SLEEP, SPAWN, THREAD, TOUCH,
                   ZOMBIE, Process, Thread)
from .sched import ReadyQueue

BUILDS = ("up", "mp")
# Delivery of device interrupts (workload table, irq_routing): fixed to the
# boot CPU (8259 through virtual wire, or I/O APIC fixed mode), rotating over
# the CPUs, or lowest priority with the task priority raised in the kernel
# (the I/O APIC picks a CPU that is not in the kernel, if any).
IRQ_ROUTINGS = ("cpu0", "spread", "lowest")
# How a halted CPU learns of new work: a reschedule IPI, or its next tick.
IDLE_WAKEUPS = ("ipi", "tick")

# What started a critical section (``Core.section``): a trap from user mode
# or the halt pays the trap and the MP entry costs; a further part of a path
# (under another lock, see locking.py) pays only its lock; a forwarded path
# runs on the master and pays the forwarding instead of the trap.
SECTION_TRAP: Final = 0
SECTION_PART: Final = 1
SECTION_FORWARDED: Final = 2


def _exponentials(rng, block: int = 256) -> Iterator[float]:
    """Standard exponentials from *rng*, drawn *block* at a time.  Times a
    mean they are, bit for bit, what one ``rng.exponential(mean)`` per draw
    gives (numpy scales a standard exponential), at a fraction of the cost."""
    while True:
        yield from rng.standard_exponential(block).tolist()


class Core:
    """Per-CPU kernel state (what a real kernel keeps in its CPU-local page,
    plus the simulator's bookkeeping for the event in flight)."""

    __slots__ = ("id", "cpu", "thread", "user_end", "pending_ticks", "pending_ipi",
                 "pending_irqs",
                 "ticks", "entry", "subsys", "key", "lock", "work_left", "seg_start", "factor",
                 "req_tsc", "acq_tsc", "bounced", "lock_cycles", "hold", "kicked",
                 "next", "section", "part", "covers", "runner", "fwd_cost", "fwd_irq", "event",
                 "irqs", "bus_mu", "bus_stretch", "bus_work", "bus_seg")

    def __init__(self, cpu: CPU) -> None:
        self.id = cpu.id
        self.cpu = cpu
        self.thread: Thread | None = None
        # The scheduled user_done/hold_done, cancelled when it is superseded
        # (a preempted user run, a release re-timed by new spinners).
        self.event: list[Any] | None = None
        self.user_end = 0
        self.pending_ticks = 0
        self.pending_ipi = False
        self.pending_irqs: list[int] = []   # handler cycles of device interrupts held off
        self.ticks = 0
        self.entry = ""
        self.subsys = ""
        self.key = ""                # "entry:subsystem": the profile and lock_stat class
        self.lock: Spinlock | None = None
        self.work_left = 0.0
        self.seg_start = 0
        self.factor = 1.0
        self.req_tsc = 0
        self.acq_tsc = 0
        self.bounced = False
        self.lock_cycles = 0         # the lock's operations charged to the path
        self.hold: tuple[Callable[..., int], Any] | None = None
        self.kicked = False          # a reschedule IPI is on its way
        # A path in several parts under different locks (see locking.py):
        self.next: tuple | None = None   # the part still to run: (subsys, cpu, fn, arg)
        self.section = SECTION_TRAP  # what started the critical section running
        self.part: tuple[str, int] = ("", 0)   # subsystem and data CPU of the section
        self.covers: list[tuple] = []   # (entry, part, cpu) of the section running (debug)
        # Forwarding (master-slave, appkernel): the core whose CPU runs this
        # core's kernel path; itself except while the master serves it.
        self.runner: Core = self
        self.fwd_cost = 0
        self.fwd_irq = False
        self.irqs = 0                # device interrupts delivered here
        # A user run slowed by the other CPUs' bus traffic (machine.fsb):
        # its solo bus share (0: not slowed), stretch, work left at bus_seg.
        self.bus_mu = 0.0
        self.bus_stretch = 1.0
        self.bus_work = 0.0
        self.bus_seg = 0


class Kernel:
    """The kernel: *build* ``up`` (no lock, no CPU-local section) or ``mp``
    (the lock strategy *policy*, CPU-local data); *costs* is the cost table
    (``data/params/pentium2.toml``), *sched* the scheduler part of the
    workload table.  *switches* turn two of the paper's reasons for the low
    speedup off: ``readyq_bounce``, ``kernel_data_bounce``.  Set ``trace``
    before ``start()``."""

    def __init__(self, engine: Engine, mem: PhysicalMemory, ncpus: int, build: str,
                 policy: LockPolicy, costs: Params, sched: Params, rng, *,
                 mm: MemoryManager | None = None, debug: bool = False,
                 switches: dict[str, bool] | None = None) -> None:
        if build not in BUILDS:
            raise ConfigError(f"kernel build {build!r}: allowed are {', '.join(BUILDS)}")
        if not isinstance(ncpus, int) or ncpus < 1:
            raise ConfigError(f"cpus={ncpus!r}: must be an integer >= 1")
        if build == "up" and ncpus != 1:
            raise ConfigError(f"the UP kernel runs on 1 CPU, not cpus={ncpus}")
        self.engine = engine
        self.mem = mem
        self.build = build
        self.policy = policy
        # Plain dicts: the hot path looks costs up on every kernel entry.
        self.c = dict(costs)
        self.s = dict(sched)
        self.rng = rng
        self.mm = mm
        self.debug = debug
        sw = {"readyq_bounce": True, "kernel_data_bounce": True}
        if switches:
            for k in switches:
                if k not in sw:
                    raise ConfigError(f"unknown mechanism switch {k!r}: known are {', '.join(sw)}")
            sw.update(switches)
        self.switches = sw
        # The switches as attributes: the hot path reads them on every entry.
        self._kdata_bounce: bool = sw["kernel_data_bounce"]
        self._readyq_bounce: bool = sw["readyq_bounce"]
        # Costs read on every entry, bound once; a cache-line access costs
        # by its outcome, so a tuple indexed by HIT, MISS, TRANSFER.
        self._trap: int = costs["trap"]
        self._locked_rmw: int = costs["locked_rmw"]
        self._mp_overhead: int = costs["mp_entry_overhead"]
        self._transfer: int = costs["line_transfer"]
        self._memory: int = costs["memory_access"]
        self._shared_bus: bool = bool(costs["shared_bus"])
        self._bus_rate: float = float(costs["kernel_bus_rate"])
        self._bus_depth: int = int(costs["bus_queue_depth"])
        # Whether spinners can stretch a holder at all: not without a shared
        # bus, nor when its transactions or a line transfer cost nothing.
        self._bus_stretches = self._shared_bus and self._bus_rate > 0 and self._transfer > 0
        for lock in policy.locks:
            lock.configure(self._transfer, costs["backoff_base"], costs["backoff_cap"])
        self._line_costs: tuple[int, ...] = tuple({HIT: 0, MISS: costs["memory_access"],
                                  TRANSFER: costs["line_transfer"]}[r] for r in range(3))
        self.cores = [Core(CPU(i, mem, costs["tlb_entries"], i * costs["tsc_skew"]))
                      for i in range(ncpus)]
        self.readyq = ReadyQueue(ncpus, sched["readyq_lines"], policy.per_cpu_readyq)
        self.kdata = CacheLine("kdata", sched["kernel_shared_lines"])
        self.timers: list[dict[int, list[Thread]]] = [dict() for _ in range(ncpus)]
        self.tick_period = (costs["clock_hz"] // sched["timer_hz"]) if sched["timer_hz"] else 0
        self.threads: list[Thread] = []
        self.processes: list[Process] = []
        self.load = [0] * ncpus      # threads homed per CPU (placement)
        self.on_exit: Callable[[Thread], None] | None = None
        self.counters = {"entries": 0, "context_switches": 0, "migrations": 0, "ipis": 0,
                         "wakeups": 0, "spawned": 0, "page_faults": 0, "preemptions": 0}
        self.kcycles: dict[str, int] = {}   # kernel cycles by "entry:subsystem"
        self.affinity = bool(sched["affinity"])
        self.trace: list[dict[str, Any]] | None = None   # set to [] to record steps
        self.warmup = {"entries": 0, "acquisitions": 0}  # counted before reset_stats
        self._pid = 0
        self._tid = 0
        # Bind hot callbacks once.
        self._keys = ProfileKeys()
        self._p_call_cb = self._p_call
        self._user_done_cb = self._user_done
        self._hold_done_cb = self._hold_done
        self._run_path_cb = self._run_path
        # Forwarding strategies: the master's request queue (see _forward).
        self._fwd = bool(getattr(policy, "forwarding", False))
        self._master = getattr(policy, "master", 0)
        self._mp: bool = build == "mp" and getattr(policy, "mp_overhead", True)
        self.fwd_queue: list[Core] = []
        self.fwd_line = CacheLine("fwdq")
        self._fwd_arrive_cb = self._fwd_arrive
        self._fwd_resume_cb = self._fwd_resume
        if self._fwd:
            self.counters["forwards"] = 0
        # The paper's lock instrumentation reads the TSC at request, acquire
        # and release (section 4); each RDTSC costs its cycles in the hold.
        self._tsc_reads: int = 3 * costs["rdtsc"]
        self._page_walk: int = costs["page_walk"]
        self._idle_tick = sched["idle_wakeup"] == "tick"
        if sched["idle_wakeup"] not in IDLE_WAKEUPS:
            raise ConfigError(f"idle_wakeup={sched['idle_wakeup']!r}: allowed are "
                              f"{', '.join(IDLE_WAKEUPS)}")
        # The shared front-side bus (machine.fsb): on with more than one CPU
        # and a benchmark loop that misses in L2.
        line = line_cycles(costs["clock_hz"], costs["fsb_hz"], costs["fsb_line_clocks"])
        self._loop_mu = solo_share(sched["loop_bus_misses"], line)
        self._kernel_mu = min(MU_MAX, float(costs["kernel_bus_share"]))
        self._user_mu = min(MU_MAX, float(costs["user_bus_share"]))
        self._fsb = ncpus > 1 and self._loop_mu > 0
        self.bus = Bus()
        self._dev: tuple = ()
        self._dev_next = 0
        self._dev_burst = 0.0
        self._dev_gap = 0
        self._dev_alternate = True
        self._dev_rng: Any = None

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
                self.engine.at(self.tick_period + skew % self.tick_period, self._tick, core)

    def start(self) -> None:
        """Every CPU picks its first thread (boot work is not measured)."""
        for core in self.cores:
            self._pick(core)
            if core.thread is not None:
                self._switch_mm(core, core.thread)
                self._resume(core)

    # -------------------------------------------------------- processes
    def create_process(self, name: str, kind: str, program, priority: int = 0,
                       container: Any = None, cpu: int | None = None,
                       creator: int | None = None, enqueue: bool = True) -> Thread:
        """A process with one thread running *program*; returns the thread.
        Under affinity the thread's home is *cpu* if given, else an idle CPU,
        else the least loaded (section 3.1).  ``enqueue=False``: the caller
        puts the thread on the ready queue itself."""
        self._pid += 1
        p = Process(self._pid, name, kind, container)
        self.processes.append(p)
        return self._add_thread(p, name, program, priority, cpu, creator, enqueue)

    def _add_thread(self, p: Process, name: str, program, priority: int,
                    cpu: int | None, creator: int | None, enqueue: bool = True) -> Thread:
        self._tid += 1
        t = Thread(self._tid, name, p, program, priority)
        t.slice_left = self.s["timeslice_ticks"]
        if self.affinity:
            t.cpu = cpu if cpu is not None else self._place(creator)
            self.load[t.cpu] += 1
        elif cpu is not None:
            t.cpu = cpu
        p.threads.append(t)
        p.live += 1
        self.threads.append(t)
        if enqueue:
            self.readyq.push(t)
        return t

    def _place(self, creator: int | None) -> int:
        """Where a new thread lives under affinity: an idle CPU (nothing
        running, nothing queued for it) if there is one, else the least
        loaded; ties go to the lowest id."""
        idle = [c.id for c in self.cores
                if c.thread is None and self.readyq.first_for(c.id) is None]
        pool = idle or range(len(self.cores))
        return min(pool, key=lambda i: (self.load[i], i))

    def admit(self) -> None:
        """Wake halted CPUs that have work queued (after threads were created
        from outside a kernel path, e.g. by the benchmark harness)."""
        if self._idle_tick:
            return                   # halted CPUs find it at their next tick
        for core in self.cores:
            if core.thread is None and core.cpu.mode == IDLE and not core.kicked \
                    and self.readyq.first_for(core.id) is not None:
                core.kicked = True
                self.engine.after(0, self._ipi, core)

    def reset_stats(self) -> None:
        """Start measuring now: clear lock statistics, counters and profiles
        (the modes are measured from a snapshot, see ``model.scenario``).
        What the warm-up did is kept in ``warmup``: its kernel entries and
        lock acquisitions (a benchmark of the simulator's own speed counts
        them)."""
        self.warmup = {"entries": self.counters["entries"],
                       "acquisitions": sum(lock.stat.acquisitions for lock in self.policy.locks)}
        for lock in self.policy.locks:
            lock.reset_stats()
        for lines in self.readyq.lines:
            lines.bounces = 0
        for k in self.counters:
            self.counters[k] = 0
        for core in self.cores:
            core.irqs = 0
        self.kcycles = {}

    # ----------------------------------------------------------- user mode
    def _resume(self, core: Core) -> None:
        """Continue the current thread's program until it enters the kernel
        or starts a user run."""
        t = core.thread
        assert t is not None         # called only with a thread to run
        while True:
            act = self._next_action(t)
            op = act[0]
            if op == RUN:
                cycles = act[1] + t.refill
                t.refill = 0
                if cycles <= 0:
                    continue
                now = self.engine.now
                core.cpu.set_mode(USER, now)
                if self._fsb:
                    self._bus_run(core, t, cycles, now)
                    return
                core.user_end = now + cycles
                core.event = self.engine.at(core.user_end, self._user_done_cb, core)
                return
            if op == TOUCH:
                faults = self._touch(core, t, act[1])
                if not faults:
                    continue
                self._enter(core, "pagefault", "memory", self._p_fault, faults)
                return
            if op == CALL:
                self._enter(core, "syscall", act[2], self._p_call_cb, act[1])
            elif op == SLEEP:
                self._enter(core, "syscall", "timer", self._p_sleep, act)
            elif op == SPAWN:
                self._enter(core, "syscall", "proc", self._p_spawn, act)
            elif op == THREAD:
                self._enter(core, "syscall", "proc", self._p_thread, act)
            elif op == EXIT:
                self._enter(core, "syscall", "proc", self._p_exit, None)
            else:
                raise ConfigError(f"thread {t.name}: unknown action {act!r}")
            return

    def _next_action(self, t: Thread) -> tuple:
        """The thread's next action: the one put back (``pending``, e.g. the
        rest of a preempted user run), else its program's next, EXIT when
        the program ends."""
        act = t.pending
        if act is not None:
            t.pending = None
            return act
        try:
            return next(t.program)
        except StopIteration:
            return (EXIT,)

    def _user_done(self, core: Core) -> None:
        t = core.thread
        assert t is not None         # a user run belongs to a thread
        t.user_cycles += self.engine.now - core.cpu.since
        core.bus_mu = 0.0
        self._resume(core)

    # ------------------------------------------------- the front-side bus
    def _bus_share(self, core: Core) -> float:
        """The share of the bus *core*'s CPU uses in its present mode: the
        loop's or other user code's, the kernel's; none spinning in its own
        cache or halted."""
        mode = core.cpu.mode
        if mode == USER:
            t = core.thread
            return self._loop_mu if t is not None and t.process.kind == "benchmark" \
                else self._user_mu
        return self._kernel_mu if mode == KERNEL else 0.0

    def _bus_stretch_of(self, core: Core) -> float:
        other = 0.0
        for o in self.cores:
            if o is not core:
                other += self._bus_share(o)
        return self.bus.stretch(core.bus_mu, min(MU_MAX, other))

    def _bus_run(self, core: Core, t: Thread, cycles: int, now: int) -> None:
        """Start a user run of *cycles* solo cycles; a benchmark loop's run
        is stretched by the bus traffic of the other CPUs, re-timed each
        time one of them changes mode (``_bus_update``)."""
        core.bus_mu = self._loop_mu if t.process.kind == "benchmark" else 0.0
        st = 1.0
        if core.bus_mu:
            core.bus_work = float(cycles)
            core.bus_seg = now
            st = core.bus_stretch = self._bus_stretch_of(core)
        core.user_end = now + math.ceil(cycles * st)
        core.event = self.engine.at(core.user_end, self._user_done_cb, core)
        self._bus_update(now)

    def _bus_update(self, now: int) -> None:
        """A CPU changed mode: re-time every stretched user run whose
        stretch changed."""
        for core in self.cores:
            if not core.bus_mu or core.cpu.mode != USER:
                continue
            new = self._bus_stretch_of(core)
            if new == core.bus_stretch:
                continue
            core.bus_work -= (now - core.bus_seg) / core.bus_stretch
            core.bus_seg = now
            core.bus_stretch = new
            if core.event is not None:
                self.engine.cancel(core.event)
            core.user_end = now + max(0, math.ceil(core.bus_work * new))
            core.event = self.engine.at(core.user_end, self._user_done_cb, core)

    def _touch(self, core: Core, t: Thread, va: int) -> list:
        """A user write to *va*; returns the page faults the MMU raised (the
        handler of ``vm`` has already resolved them)."""
        if self.mm is None or t.process.container is None:
            return []
        walks = core.cpu.walks
        faults = self.mm.access(core.cpu, t.process.container, va, True, True)
        # Each TLB miss walks the page tables: user time of the thread.
        t.refill += (core.cpu.walks - walks) * self._page_walk
        return faults

    # ---------------------------------------------------------- interrupts
    def _interrupt(self, core: Core, entry: str, subsys: str, path: Callable[..., int],
                   arg: Any) -> bool:
        """Deliver an interrupt: from user mode or the halt it enters the
        kernel at once; in the kernel (or spinning) interrupts are off and
        the caller keeps it pending (returns False)."""
        mode = core.cpu.mode
        if mode == USER:
            self._preempt_user(core)
        elif mode != IDLE:
            return False
        self._enter(core, entry, subsys, path, arg)
        return True

    def _tick(self, core: Core) -> None:
        self.engine.after(self.tick_period, self._tick, core)
        if not self._interrupt(core, "timer", "timer", self._p_tick, None):
            core.pending_ticks += 1

    def start_devices(self, rate: float, mean_cycles: float, routing: str, rng,
                      burst: float = 1.0, gap: int = 0, alternate: bool = True) -> None:
        """Device interrupts (the cluster's Ethernet: replication traffic,
        heartbeats): *rate* per cycle on average, each handler costing
        exponential cycles of mean *mean_cycles*, delivered as *routing*
        says (``IRQ_ROUTINGS``).  With *burst* > 1 they come in bursts (a
        replication message is several back-to-back frames): bursts are a
        Poisson stream, each of a geometric number of interrupts of mean
        *burst*, *gap* cycles apart; with *alternate* each interrupt of a
        burst is routed on its own, else the whole burst goes where its first
        one went.  Their own random stream keeps them independent of
        everything else."""
        if routing not in IRQ_ROUTINGS:
            raise ConfigError(f"irq_routing={routing!r}: allowed are {', '.join(IRQ_ROUTINGS)}")
        if rate <= 0 or mean_cycles <= 0:
            return
        self._dev_burst = float(burst) if burst > 1 else 0.0
        self._dev_gap = int(gap)
        self._dev_alternate = bool(alternate)
        self._dev_rng = rng
        # Bursts keep the mean interrupt rate: bursts come *burst* times rarer.
        gap_mean = (1.0 / rate) * (self._dev_burst or 1.0)
        self._dev = (gap_mean, float(mean_cycles), routing, _exponentials(rng))
        self._dev_next = 0
        self._device_arm()

    def _device_arm(self) -> None:
        gap, _, _, z = self._dev
        self.engine.after(max(1, int(next(z) * gap)), self._device)

    def _irq_target(self) -> Core:
        """The CPU the interrupt controller delivers the next interrupt to."""
        routing = self._dev[2]
        if routing == "cpu0":
            return self.cores[0]
        n = len(self.cores)
        if routing == "lowest":
            for i in range(n):
                core = self.cores[(self._dev_next + i) % n]
                if core.cpu.mode in (USER, IDLE):
                    self._dev_next += i + 1
                    return core
        core = self.cores[self._dev_next % n]
        self._dev_next += 1
        return core

    def _device(self, _: Any) -> None:
        if self._dev_burst:
            self._device_burst()
            return
        cycles = max(1, int(next(self._dev[3]) * self._dev[1]))
        core = self._irq_target()
        self._device_arm()
        self._deliver_irq(core, cycles)

    def _device_burst(self) -> None:
        """A burst starts: its interrupts now and every ``gap`` cycles."""
        n = int(self._dev_rng.geometric(1.0 / self._dev_burst))
        z, mean = self._dev[3], self._dev[1]
        first = self._irq_target()
        for i in range(n):
            cycles = max(1, int(next(z) * mean))
            target = None if self._dev_alternate and i else first
            self.engine.after(i * self._dev_gap, self._device_one, (target, cycles))
        self._device_arm()

    def _device_one(self, arg: tuple) -> None:
        target, cycles = arg
        self._deliver_irq(target if target is not None else self._irq_target(), cycles)

    def _deliver_irq(self, core: Core, cycles: int) -> None:
        core.irqs += 1
        if not self._interrupt(core, "irq", "io", self._p_irq, cycles):
            core.pending_irqs.append(cycles)

    def _ipi(self, core: Core) -> None:
        core.kicked = False
        if not self._interrupt(core, "ipi", "sched", self._p_ipi, None):
            core.pending_ipi = True

    def _preempt_user(self, core: Core) -> None:
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
    # A system call (or any entry) reads in this order: the trap (_enter), the
    # lock (_acquire, spinning until a release hands it over), the path under
    # the lock (_run_path), the release (_hold_done, _release) and the return
    # to user mode (_leave).  Tracing and debug checks go through one hook,
    # _watch.
    def _enter(self, core: Core, entry: str, subsys: str, path: Callable[..., int],
               arg: Any) -> None:
        """1. The trap: the CPU enters the kernel for *path*; then it takes
        the lock the strategy names (on a forwarding strategy's slave: it
        hands the path to the master instead)."""
        core.entry = entry
        core.subsys = subsys
        core.key = self._keys[entry, subsys]
        core.hold = (path, arg)
        core.section = SECTION_TRAP
        self.counters["entries"] += 1
        if self._fwd and core.id != self._master:
            self._forward(core)
            return
        # An IPI's first part is its CPU-local acknowledgement.
        self._acquire(core, "irq" if entry == "ipi" else subsys, core.id)

    def _acquire(self, core: Core, part: str, pcpu: int) -> None:
        """2. Take the lock of part *part* (touching per-CPU data of CPU
        *pcpu*) of the path in ``core.hold``: run the algorithm's acquire
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
        self._count_spinning(lock)
        ops = lock.arrive(core.id)
        lock.transactions += ops.transactions
        if self.trace is not None:
            self._watch(core, "trap", f"{core.entry}:{core.subsys}, lock {lock.name} "
                        f"{'free' if held_by is None else 'held by CPU %d' % held_by}")
        if lock.holder == core.id:
            core.bounced = ops.transfers > 0
            core.lock_cycles = self._lock_cycles(ops)
            self._run_path(core)
            return
        core.cpu.set_mode(SPIN, now)
        if self._fsb:
            self._bus_update(now)      # the spinner's bus share changed
        # The spinner's first pass went over the bus while the holder works.
        self._interfere(lock, self._bus_cycles(ops))

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
            self._bus_update(now)
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
        kcost = 0
        if section != SECTION_PART:
            if self._mp:
                cycles += self._mp_overhead
            if self._kdata_bounce:
                kdata = self.kdata
                if kdata.lines:
                    kcost = self._line_costs[kdata.write(runner.id)] * kdata.lines
                    cycles += kcost
        watching = self.trace is not None or self.debug
        if watching:
            self._watch_entry(core, waited, kcost)
        assert core.hold is not None  # set by _enter, _continue or _serve
        path, arg = core.hold
        pc = path(core, arg)
        core.covers = [(core.entry, core.part[0], core.part[1])]
        # Further parts under the same lock run in the same section.
        nxt = core.next
        while nxt is not None and self.policy.lock_at(core.entry, nxt[0], nxt[1]) is lock:
            core.next = None
            core.covers.append((core.entry, nxt[0], nxt[1]))
            pc += nxt[2](core, nxt[3])
            nxt = core.next
        if watching:
            self._watch(core, "kernel path", path.__name__.lstrip("_"), pc)
        cycles += pc
        core.work_left = float(cycles)
        core.seg_start = now
        factor = core.factor = self._bus_factor(lock)
        core.event = self.engine.at(now + math.ceil(core.work_left * factor),
                                    self._hold_done_cb, core)

    def _hold_done(self, core: Core) -> None:
        """4. The path's work is done: release the lock, then go on with
        the path's next part, the forwarded path's reply, or the return."""
        now = self.engine.now
        lock = core.lock
        runner = core.runner
        cpu = runner.cpu
        key = core.key
        kcycles = self.kcycles
        kcycles[key] = kcycles.get(key, 0) + (now - cpu.since)
        core.covers = []
        if lock is not None:
            held = now + cpu.tsc_offset - core.acq_tsc     # RDTSC
            lock.row(key, core.id).hold(held, core.bounced)
            lock.stall_cycles += self._segment_stall(core, now)
            if self.trace is not None:
                self._watch(core, "release", f"{lock.kind} release of {lock.name}, held "
                            f"{held} cycles by the TSC, {len(lock.waiters)} waiting")
            self._release(core, lock)
        if runner is not core:
            self._fwd_done(core)
        elif core.next is not None:
            self._continue(core)
        else:
            self._leave(core)

    def _release(self, core: Core, lock: Spinlock) -> None:
        """Run the algorithm's release: the next owner starts its path when
        the operations from the releasing store to its acquiring one are
        done (hand-off); what the others do after that occupies the bus
        while it works (shared bus: it stalls)."""
        now = self.engine.now
        self._count_spinning(lock)
        nxt, ops, idle = lock.release(core.id, self.rng, now)
        lock.transactions += ops.transactions
        if nxt is None:
            return
        other = self.cores[nxt]
        other.bounced = ops.transfers > 0
        stall = self._burst_stall(ops.other_transfers * self._transfer +
                                  ops.other_misses * self._memory)
        lock.stall_cycles += stall
        other.lock_cycles = stall
        self.engine.at(now + idle + self._lock_cycles(ops), self._run_path_cb, other)

    def _then(self, core: Core, part: str, pcpu: int, fn: Callable[..., int],
              arg: Any) -> None:
        """Called by a path: its work continues with part *part* (per-CPU
        data of CPU *pcpu*), ``fn(core, arg)``, under that part's lock: in
        the same critical section if the strategy gives it the same lock,
        else in a new one after this one's lock is released."""
        core.next = (part, pcpu, fn, arg)

    def _continue(self, core: Core) -> None:
        """Start the further part of a path under its own lock (no trap:
        the CPU is still in the kernel).  Its profile key is
        ``entry:part``."""
        assert core.next is not None  # _hold_done checked
        part, pcpu, fn, arg = core.next
        core.next = None
        core.subsys = part
        core.key = self._keys[core.entry, part]
        core.hold = (fn, arg)
        core.section = SECTION_PART
        self._acquire(core, part, pcpu)

    def _leave(self, core: Core) -> None:
        """5. Leave the kernel: take interrupts that came in, then return to
        user mode in the current thread or halt."""
        if core.pending_ticks:
            core.pending_ticks -= 1
            self._enter(core, "timer", "timer", self._p_tick, None)
            return
        if core.pending_ipi:
            core.pending_ipi = False
            self._enter(core, "ipi", "sched", self._p_ipi, None)
            return
        if core.pending_irqs:
            self._enter(core, "irq", "io", self._p_irq, core.pending_irqs.pop(0))
            return
        if self.fwd_queue and core.id == self._master:
            self._serve(core)        # forwarded requests before user mode
            return
        if core.thread is None:
            if self.readyq.first_for(core.id) is not None:
                # Work arrived while we were in the kernel: the idle loop
                # looks at the ready queue before it halts.
                self._enter(core, "ipi", "sched", self._p_ipi, None)
                return
            core.cpu.set_mode(IDLE, self.engine.now)
            if self._fsb:
                self._bus_update(self.engine.now)
            return
        self._resume(core)

    # ------------------------------------------------- the lock's cache lines
    def _lock_cycles(self, ops: Ops) -> int:
        """Cycles of a lock's operations at the cost table's prices."""
        return ops.cycles(self._transfer, self._memory, self._locked_rmw)

    def _count_spinning(self, lock: Spinlock) -> None:
        """Count the transfers of spinners stealing the lock's line from
        each other (test-and-set with two or more) up to now: one line's
        transfers are served one after another, one per ``line_transfer``."""
        now = self.engine.now
        if self._transfer and lock.spinning_requests():
            lock.spin_transfers += (now - lock.spin_since) // self._transfer
        lock.spin_since = now

    def _bus_factor(self, lock: Spinlock | None) -> float:
        """How much the spinners' outstanding requests stretch the holder on
        a shared bus: each of the holder's bus transactions (``kernel_bus_rate``
        per cycle of its work) waits in the bus's in-order queue behind up to
        ``bus_queue_depth`` of them, a line transfer each.  1 on a machine
        without a shared bus, and for every lock whose waiters spin in their
        own caches."""
        if lock is None or not self._bus_stretches:
            return 1.0
        ahead = min(lock.spinning_requests(), self._bus_depth)
        return 1.0 + self._bus_rate * ahead * self._transfer

    def _bus_cycles(self, ops: Ops) -> int:
        """Bus time of all the transactions in *ops* (cycles)."""
        return (ops.transfers + ops.other_transfers) * self._transfer + \
            (ops.misses + ops.other_misses) * self._memory

    def _burst_stall(self, busy: int) -> int:
        """Cycles a lock holder loses to a burst of transactions other CPUs
        put on a shared bus at once (re-reads after a release or an
        arrival), keeping it busy for *busy* cycles: the holder's first bus
        transaction, after Exp(``kernel_bus_rate``) cycles of work, waits
        for what is left of the burst: E[(B - X)+] = B - (1 - e^(-rB))/r."""
        if not self._shared_bus or busy <= 0 or self._bus_rate <= 0:
            return 0
        b = float(busy)
        r = self._bus_rate
        return int(round(b - (1.0 - math.exp(-r * b)) / r))

    def _segment_stall(self, core: Core, now: int) -> int:
        """Cycles of the holder's current segment lost to the bus factor."""
        if core.factor == 1.0:
            return 0
        return int(round((now - core.seg_start) * (1.0 - 1.0 / core.factor)))

    def _interfere(self, lock: Spinlock, busy: int) -> None:
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
        stall = self._burst_stall(busy)
        new = self._bus_factor(lock)
        if stall == 0 and new == core.factor:
            return
        now = self.engine.now
        lock.stall_cycles += self._segment_stall(core, now) + stall
        core.work_left -= (now - core.seg_start) / core.factor
        core.work_left += stall / new
        core.seg_start = now
        core.factor = new
        if core.event is not None:
            self.engine.cancel(core.event)
        core.event = self.engine.at(now + max(0, math.ceil(core.work_left * new)),
                                    self._hold_done_cb, core)

    # ---------------------------------------------------- tracing and checks
    def _watch_entry(self, core: Core, waited: int, kcost: int) -> None:
        """The steps of an entry up to its path, for the trace (each with
        the cycles it cost: *kcost* is the shared kernel data's)."""
        c = self.c
        section = core.section
        lock = core.lock
        if section == SECTION_TRAP:
            self._watch(core, "trap entry+exit", "INT/IRET and entry stub", c["trap"])
        if lock is not None:
            self._watch(core, "acquire", f"{lock.kind} on {lock.line.name}: "
                        f"{'line transfer from another CPU' if core.bounced else 'line local'}, "
                        f"waited {waited}", core.lock_cycles)
        if section != SECTION_PART and (self._mp or section == SECTION_FORWARDED):
            if self._mp:
                self._watch(core, "MP entry overhead", "calibrated", c["mp_entry_overhead"])
            if self.mm is not None and core.thread is not None and self.build == "mp" \
                    and (self.debug or self._mp):
                self._check_cpulocal(core)
        if self._kdata_bounce and section != SECTION_PART:
            self._watch(core, "shared kernel data", f"{self.kdata.lines} lines written",
                        kcost)

    def _watch(self, core: Core, step: str, detail: str, cycles: int = 0) -> None:
        """The one hook of tracing and debug checks: record the step when
        tracing; in debug runs check, as the path starts, that its lock's
        algorithm is consistent and that no part running elsewhere must
        exclude it."""
        if self.trace is not None:
            self.trace.append({"cycle": self.engine.now, "cpu": core.id, "step": step,
                               "detail": detail, "cycles": cycles})
        if self.debug and step == "kernel path" and self.build == "mp":
            if core.lock is not None:
                core.lock.check()
            self._check_exclusion(core)

    # ------------------------------------------------------------ forwarding
    # Master-slave and the application kernel: a slave's kernel entry runs on
    # the master CPU with the slave's state (its thread, timer list, ready
    # queue) while the slave waits (SPIN); the cycles are the master's KERNEL.
    def _forward(self, core: Core) -> None:
        """A slave trapped: it queues its request for the master (appkernel:
        sends an IPI) and spins until the reply."""
        now = self.engine.now
        c = self.c
        core.cpu.set_mode(SPIN, now)
        self.counters["forwards"] += 1
        delay = c["trap"]
        if self.policy.forward_ipi:
            delay += c["ipi_send"]
        else:
            delay += c["locked_rmw"] + self._line_cost(self.fwd_line.write(core.id))
            if self.cores[self._master].cpu.mode in (USER, IDLE):
                delay += c["ipi_send"]   # the master must be interrupted
        self.engine.at(now + delay, self._fwd_arrive_cb, core)

    def _fwd_arrive(self, core: Core) -> None:
        """The request reaches the master: it interrupts the master's user
        thread (or halt), or waits until the master leaves the kernel."""
        master = self.cores[self._master]
        mode = master.cpu.mode
        core.fwd_irq = self.policy.forward_ipi or mode in (USER, IDLE)
        self.fwd_queue.append(core)
        if mode == USER:
            self._preempt_user(master)
            self._serve(master)
        elif mode == IDLE:
            self._serve(master)

    def _serve(self, master: Core) -> None:
        """The master runs the oldest forwarded path."""
        req = self.fwd_queue.pop(0)
        c = self.c
        req.runner = master
        req.section = SECTION_FORWARDED
        req.lock = None
        req.part = (req.subsys, req.id)
        if self.policy.forward_ipi:
            req.fwd_cost = c["ipi_receive"] + c["ipi_send"]   # request in, reply out
        else:
            req.fwd_cost = self._line_cost(self.fwd_line.write(master.id)) + \
                (c["ipi_receive"] if req.fwd_irq else 0)
        self._run_path(req)

    def _fwd_done(self, req: Core) -> None:
        """The master finished a forwarded path: the slave sees the reply
        (appkernel: takes the reply IPI; master-slave: re-reads its
        completion flag), the master goes on with its own work."""
        master = req.runner
        req.runner = req
        c = self.c
        delay = c["ipi_receive"] if self.policy.forward_ipi else c["line_transfer"]
        self.engine.at(self.engine.now + delay, self._fwd_resume_cb, req)
        self._leave(master)

    def _fwd_resume(self, req: Core) -> None:
        self._leave(req)

    def _line_cost(self, r: int) -> int:
        """Cycles of a cache-line access that came out *r* (HIT, MISS, TRANSFER)."""
        return self._line_costs[r]

    # ---------------------------------------------------------- kernel paths
    # Each returns the cycles it costs beyond the trap and the lock.
    def _p_call(self, core: Core, kcycles: int) -> int:
        return kcycles

    def _p_tick(self, core: Core, _: Any) -> int:
        """The tick's low-level part (``timer``): time keeping, this CPU's
        timer list, time-slice accounting.  Wake-ups and preemption are a
        second, ready-queue part, entered only if there is work for it
        (need-resched: a peek at the ready queue, decided again there)."""
        core.ticks += 1
        due = self.timers[core.id].pop(core.ticks, None)
        t = core.thread
        if t is not None:
            t.slice_left -= 1
        if due or self._need_resched(core, t):
            self._then(core, "readyq", core.id, self._p_tick_sched, due)
        elif t is not None and t.slice_left <= 0:
            t.slice_left = self.s["timeslice_ticks"]
        return self.s["tick_cycles"]

    def _need_resched(self, core: Core, t: Thread | None) -> bool:
        nxt = self.readyq.first_for(core.id)
        if nxt is None:
            return False
        return t is None or nxt.priority > t.priority or \
            (t.slice_left <= 0 and nxt.priority == t.priority)

    def _p_tick_sched(self, core: Core, due: list | None) -> int:
        """The tick's ready-queue part: wake the due sleepers, preempt."""
        cycles = 0
        if due:
            for t in due:
                cycles += self._wakeup(core, t)
        t = core.thread
        if t is None:
            return cycles + self._schedule(core, requeue=False)
        nxt = self.readyq.first_for(core.id)
        if nxt is not None and (nxt.priority > t.priority or
                                (t.slice_left <= 0 and nxt.priority == t.priority)):
            self.counters["preemptions"] += 1
            cycles += self._schedule(core, requeue=True)
        if t.slice_left <= 0:
            t.slice_left = self.s["timeslice_ticks"]
        return cycles

    def _p_switch(self, core: Core, prev: Thread | None) -> int:
        """Ready-queue part: take the next thread for this CPU."""
        return self._schedule(core, requeue=False, prev=prev)

    def _p_enqueue(self, core: Core, t: Thread) -> int:
        """Ready-queue part: put a new thread on its CPU's queue, kick it."""
        self.readyq.push(t)
        return self._readyq_cost(core, t) + self._kick(core, t)

    def _p_irq(self, core: Core, cycles: int) -> int:
        """A device interrupt handler: runs whatever thread is current;
        priorities cannot defer it."""
        if core.thread is None and self.readyq.first_for(core.id) is not None:
            self._then(core, "readyq", core.id, self._p_switch, None)
        return cycles

    def _p_ipi(self, core: Core, _: Any) -> int:
        """Acknowledge (``irq`` part); an idle CPU then picks a thread."""
        if core.thread is None and self.readyq.first_for(core.id) is not None:
            self._then(core, "readyq", core.id, self._p_switch, None)
        return self.c["ipi_receive"]

    def _p_sleep(self, core: Core, act: tuple) -> int:
        """Block the current thread until the first tick after now whose
        number is *phase* modulo *period*: threads that share a period and a
        phase wake on the same tick, on every CPU at once."""
        _, period, phase = act
        t = core.thread
        assert t is not None         # a system call runs in a thread
        now_tick = core.ticks
        wake = now_tick + 1 + (phase - now_tick - 1) % period
        t.state = BLOCKED
        self.timers[core.id].setdefault(wake, []).append(t)
        self._then(core, "readyq", core.id, self._p_switch, None)
        return self.c["timer_insert"]

    def _p_spawn(self, core: Core, act: tuple) -> int:
        _, name, program, priority, kind = act
        cycles = self.c["page_alloc"]          # process structure
        container = None
        if self.mm is not None:
            before = self.mem.in_use
            container = self.mm.container_create()
            cycles += (self.mem.in_use - before) * self.c["page_alloc"]
        t = self.create_process(name, kind, program, priority, container, creator=core.id,
                                enqueue=False)
        self.counters["spawned"] += 1
        self._then(core, "readyq", t.cpu if t.cpu is not None else core.id,
                   self._p_enqueue, t)
        return cycles

    def _p_thread(self, core: Core, act: tuple) -> int:
        _, name, program = act
        parent = core.thread
        assert parent is not None    # a system call runs in a thread
        p = parent.process
        cycles = self.c["page_alloc"]
        if self.mm is not None and p.container is not None and p.live == 1:
            before = self.mem.in_use
            self.mm.make_multithreaded(p.container, core.cpu)
            cycles += (self.mem.in_use - before) * self.c["pgdir_copy"]
        t = self._add_thread(p, name, program, parent.priority, None, core.id,
                             enqueue=False)
        self._then(core, "readyq", t.cpu if t.cpu is not None else core.id,
                   self._p_enqueue, t)
        return cycles

    def _p_exit(self, core: Core, _: Any) -> int:
        t = core.thread
        assert t is not None         # a system call runs in a thread
        t.state = ZOMBIE
        t.finished_at = self.engine.now
        p = t.process
        p.live -= 1
        if self.affinity and t.cpu is not None:
            self.load[t.cpu] -= 1
        cycles = self.c["page_alloc"]
        if p.live == 0 and p.container is not None and self.mm is not None:
            # Leave the dying address space before freeing its frames.
            if self.mm.switch(core.cpu, None).cr3_loaded:
                cycles += self.c["cr3_load"]
            self.mm.container_destroy(p.container)
        if self.on_exit is not None:
            self.on_exit(t)
        core.thread = None
        self._then(core, "readyq", core.id, self._p_switch, t)
        return cycles

    def _p_fault(self, core: Core, faults: list) -> int:
        c = self.c
        cycles = 0
        for f in faults:
            self.counters["page_faults"] += 1
            cycles += c["page_fault"] + f.pages_allocated * c["page_alloc"]
            if f.pgdir_copied:
                cycles += c["pgdir_copy"]
        return cycles

    # ----------------------------------------------------------- scheduler
    def _readyq_cost(self, core: Core, t: Thread) -> int:
        if not self._readyq_bounce:
            return 0
        lines = self.readyq.lines_for(t.cpu if t.cpu is not None else core.id)
        if not lines.lines:
            return 0
        return self._line_costs[lines.write(core.runner.id)] * lines.lines

    def _wakeup(self, core: Core, t: Thread) -> int:
        self.counters["wakeups"] += 1
        self.readyq.push(t)
        return self._readyq_cost(core, t) + self._kick(core, t)

    def _kick(self, core: Core, t: Thread) -> int:
        """If the thread's CPU (or, without affinity, some CPU) is halted,
        send it a reschedule IPI."""
        if t.cpu is not None:
            targets = [self.cores[t.cpu]]
        else:
            targets = self.cores
        for other in targets:
            if other is core:
                if core.thread is None:
                    return 0         # this CPU will pick it when it leaves
                continue
            if other.thread is None and other.cpu.mode == IDLE and not other.kicked:
                if self._idle_tick:
                    return 0         # it finds the work at its next tick
                other.kicked = True
                self.counters["ipis"] += 1
                self.engine.after(self.c["ipi_send"], self._ipi, other)
                return self.c["ipi_send"]
            if other.kicked:
                return 0
        return 0

    def _pick(self, core: Core) -> None:
        t = self.readyq.pop_for(core.id)
        core.thread = t
        if t is not None:
            t.state = RUNNING

    def _schedule(self, core: Core, requeue: bool, prev: Thread | None = None) -> int:
        """Put the current thread back (if *requeue*) and take the next one
        for this CPU from the ready queue."""
        prev = prev or core.thread
        cycles = 0
        if requeue and core.thread is not None:
            self.readyq.push(core.thread)
            cycles += self._readyq_cost(core, core.thread)
        nxt = self.readyq.first_for(core.id)
        if nxt is None:
            core.thread = None
            return cycles
        self.readyq.pop_for(core.id)
        cycles += self._readyq_cost(core, nxt)
        nxt.state = RUNNING
        core.thread = nxt
        if nxt is not prev:
            self.counters["context_switches"] += 1
            cycles += self.c["context_switch"] + self._switch_mm(core, nxt)
        if nxt.last_cpu is not None and nxt.last_cpu != core.id:
            nxt.migrations += 1
            self.counters["migrations"] += 1
            nxt.refill += self.c["cache_refill"]
        nxt.last_cpu = core.id
        return cycles

    def _switch_mm(self, core: Core, t: Thread) -> int:
        """Switch the CPU to *t*'s address space; write the CPU-local
        ``current_thread``."""
        if self.mm is None:
            return 0
        cycles = 0
        r = self.mm.switch(core.cpu, t.process.container)
        if r.cr3_loaded:
            cycles += self.c["cr3_load"]
        cycles += r.pgdir_allocated * self.c["pgdir_copy"]
        self.mm.write_local(core.cpu, "current_thread", t.tid)
        return cycles

    # ------------------------------------------------------------ checking
    def _check_exclusion(self, core: Core) -> None:
        """Every part of the section *core* starts against every part of
        every section running elsewhere: none may be one the strategy's
        ``exclusive`` forbids to overlap.  Forwarding strategies: kernel
        work only on the master."""
        if self._fwd and core.runner.id != self._master:
            raise InvariantError(f"cycle {self.engine.now}: kernel path {core.covers} runs on "
                                 f"CPU {core.runner.id}, not on the master")
        for other in self.cores:
            if other is core or not other.covers:
                continue
            for mine in core.covers:
                for theirs in other.covers:
                    if self.policy.exclusive(mine, theirs):
                        raise InvariantError(
                            f"cycle {self.engine.now}: CPU {core.runner.id} entered {mine} "
                            f"while CPU {other.runner.id} runs {theirs} under the same lock")

    def _check_cpulocal(self, core: Core) -> None:
        cpu = core.cpu
        mm = self.mm
        assert mm is not None and core.thread is not None   # checked by the caller
        if self.trace is not None:
            va = mm.cpulocal_va("current_thread")
            hit = va in cpu.tlb
            pa = cpu.translate(va)
            self._watch(core, "CPU-local read", f"current_thread at va {va:#010x} -> pa "
                        f"{pa:#010x} (TLB {'hit' if hit else 'miss, page walk'}; "
                        f"its cost is part of the path's cycles)")
        got = mm.read_local(cpu, "current_thread")
        want = core.thread.tid
        if got != want:
            raise InvariantError(f"CPU {core.id}: CPU-local current_thread={got}, "
                                 f"running thread {want}")

    def check_accounting(self) -> None:
        """Each CPU's mode cycles add up to the elapsed cycles exactly."""
        now = self.engine.now
        for core in self.cores:
            total = sum(core.cpu.account(now))
            if total != now:
                raise InvariantError(f"CPU {core.id}: modes add up to {total}, elapsed {now}")
