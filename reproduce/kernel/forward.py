"""Master-slave and the application kernel (section 7): only the master CPU
runs kernel code.

A slave's kernel entry runs on the master CPU with the slave's state (its
thread, timer list, ready queue) while the slave waits (SPIN); the cycles are
the master's KERNEL.  Master-slave queues the request in shared memory (a
locked write to the queue's line, an IPI only if the master is not already in
the kernel); the application kernel sends an IPI each way.  The strategy is a
subclass of the kernel chosen once, when the kernel is made
(:func:`kernel_class`), so the giant-lock kernel's entry path has no branch
for it.
"""
from __future__ import annotations

from typing import Any

from ..machine.cacheline import CacheLine
from ..machine.cpu import IDLE, SPIN, USER
from ..machine.engine import Engine
from ..machine.memory import PhysicalMemory
from ..params import Params
from .kernel import Kernel
from .locking import LockPolicy
from .percpu import SECTION_FORWARDED, Core
from .vm import MemoryManager


class ForwardingKernel(Kernel):
    """A kernel whose slaves forward every entry to the master CPU."""

    def __init__(self, engine: Engine, mem: PhysicalMemory, ncpus: int, build: str,
                 policy: LockPolicy, costs: Params, sched: Params, rng: Any, *,
                 mm: MemoryManager | None = None, debug: bool = False,
                 switches: dict[str, bool] | None = None) -> None:
        super().__init__(engine, mem, ncpus, build, policy, costs, sched, rng, mm=mm,
                         debug=debug, switches=switches)
        self.master = self.policy.master
        self.fwd_queue: list[Core] = []
        self.fwd_line = CacheLine("fwdq")
        self.counters["forwards"] = 0

    def enter(self, core: Core, entry: str, subsys: str, path: Any, arg: Any) -> None:
        """The trap; on a slave, the path goes to the master instead."""
        if core.id == self.master:
            super().enter(core, entry, subsys, path, arg)
            return
        self.trap(core, entry, subsys, path, arg)
        self._forward(core)

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
            delay += c["locked_rmw"] + self.line_costs[self.fwd_line.write(core.id)]
            if self.cores[self.master].cpu.mode in (USER, IDLE):
                delay += c["ipi_send"]   # the master must be interrupted
        self.engine.at(now + delay, self._arrive, core)

    def _arrive(self, core: Core) -> None:
        """The request reaches the master: it interrupts the master's user
        thread (or halt), or waits until the master leaves the kernel."""
        master = self.cores[self.master]
        mode = master.cpu.mode
        core.fwd_irq = self.policy.forward_ipi or mode in (USER, IDLE)
        self.fwd_queue.append(core)
        if mode == USER:
            self.preempt_user(master)
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
            req.fwd_cost = self.line_costs[self.fwd_line.write(master.id)] + \
                (c["ipi_receive"] if req.fwd_irq else 0)
        self._run_path(req)

    def _hold_done(self, core: Core) -> None:
        """A forwarded path's end: the slave sees the reply (appkernel:
        takes the reply IPI; master-slave: re-reads its completion flag),
        the master goes on with its own work."""
        if core.runner is core:
            super()._hold_done(core)
            return
        self._end_hold(core)
        master = core.runner
        core.runner = core
        c = self.c
        delay = c["ipi_receive"] if self.policy.forward_ipi else c["line_transfer"]
        self.engine.at(self.engine.now + delay, self._leave, core)
        self._leave(master)

    def _leave(self, core: Core) -> None:
        """The master serves forwarded requests before it returns to user
        mode (after the interrupts held off)."""
        if (core.pending_ticks or core.pending_ipi or core.pending_irqs
                or core.pending_shootdowns):
            self._take_pending(core)
        elif self.fwd_queue and core.id == self.master:
            self._serve(core)
        else:
            self._return(core)


def kernel_class(policy: LockPolicy) -> type[Kernel]:
    """The kernel that runs *policy*: forwarding strategies need their own."""
    return ForwardingKernel if policy.forwarding else Kernel
