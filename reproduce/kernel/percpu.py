"""Per-CPU kernel state: xv6's ``struct cpu``.

What a real kernel keeps for each CPU (here, in its ``.cpulocal`` page: the
current thread, the entry in progress, the lock it holds or waits for), plus
the simulator's bookkeeping for the event in flight on that CPU.
"""
from __future__ import annotations

from typing import Any, Callable, Final

from ..machine.cpu import CPU
from .proc import Thread
from .profile import ProfileClass
from .spinlock import Spinlock

# What started a critical section (``Core.section``): a trap from user mode
# or the halt pays the trap and the MP entry costs; a further part of a path
# (under another lock, see locking.py) pays only its lock; a forwarded path
# runs on the master and pays the forwarding instead of the trap.
SECTION_TRAP: Final = 0
SECTION_PART: Final = 1
SECTION_FORWARDED: Final = 2

# The profile class of a core that has not entered the kernel yet.
NO_CLASS: Final = ProfileClass("")


class Core:
    """One CPU's kernel state."""

    __slots__ = ("id", "cpu", "thread", "user_end", "pending_ticks", "pending_ipi",
                 "pending_irqs", "pending_shootdowns",
                 "ticks", "entry", "subsys", "key", "prof", "lock", "work_left", "seg_start", "factor",
                 "req_tsc", "acq_tsc", "bounced", "lock_cycles", "path", "arg", "kicked",
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
        self.pending_shootdowns = 0  # TLB-shootdown IPIs held off
        self.ticks = 0
        self.entry = ""
        self.subsys = ""
        self.key = ""                # "entry:subsystem": the profile and lock_stat class
        self.prof = NO_CLASS         # its profile class (counts the holds' cycles)
        self.lock: Spinlock | None = None
        self.work_left = 0.0         # cycles of the hold still to do at seg_start
        self.seg_start = 0
        self.factor = 1.0            # how much the bus stretches the hold now
        self.req_tsc = 0             # RDTSC at the lock request
        self.acq_tsc = 0             # RDTSC at the acquisition
        self.bounced = False         # the lock's line came from another CPU
        self.lock_cycles = 0         # the lock's operations charged to the path
        # The kernel path to run under the lock: path(kernel, core, arg) -> cycles.
        self.path: Callable[..., int] | None = None
        self.arg: Any = None
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
