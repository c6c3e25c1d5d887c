"""Interrupt sources: each CPU's local APIC timer, the cluster's Ethernet
(device interrupts through the I/O APIC), reschedule and TLB-shootdown IPIs.

A source delivers an interrupt to a CPU through ``Kernel.interrupt``: from
user mode or the halt the CPU enters the kernel at once; in the kernel (or
spinning) interrupts are off, and the interrupt waits on the CPU until it
leaves (``Core.pending_*``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..machine.cpu import IDLE, USER
from .draws import Exponentials
from .paths import p_ipi, p_irq, p_shootdown, p_tick
from .percpu import Core

if TYPE_CHECKING:
    from .kernel import Kernel

# Delivery of device interrupts (workload table, irq_routing): fixed to the
# boot CPU (8259 through virtual wire, or I/O APIC fixed mode), rotating over
# the CPUs, or lowest priority with the task priority raised in the kernel
# (the I/O APIC picks a CPU that is not in the kernel, if any).
IRQ_ROUTINGS = ("cpu0", "spread", "lowest")



class Devices:
    """The interrupt sources of kernel *k*."""

    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.engine = k.engine
        self.cores = k.cores
        self.tick_period = k.tick_period
        # Device interrupts (start): mean gap, mean handler cycles, routing.
        self._gap_mean = 0.0
        self._mean_cycles = 0.0
        self._routing = ""
        # Standard exponentials, drawn a block at a time: times a mean they are,
        # bit for bit, one ``rng.exponential(mean)`` per draw.  (A burst's
        # length is drawn from the same generator, after the block.)
        self._z: Exponentials | None = None
        self._next = 0               # round-robin position of spread/lowest routing
        self._burst = 0.0
        self._gap = 0
        self._alternate = True
        self._rng: Any = None
        # Bound once: the engine calls these on every tick and interrupt.
        self._tick_cb = self.tick
        self._device_cb = self._device

    # ----------------------------------------------------------- the timer
    def tick(self, core: Core) -> None:
        """The local APIC timer fires on *core*'s CPU; it re-arms itself."""
        self.engine.after(self.tick_period, self._tick_cb, core)
        if not self.k.interrupt(core, "timer", "timer", p_tick, None):
            core.pending_ticks += 1

    # ------------------------------------------------------ reschedule IPI
    def ipi(self, core: Core) -> None:
        core.kicked = False
        if not self.k.interrupt(core, "ipi", "sched", p_ipi, None):
            core.pending_ipi = True

    # ------------------------------------------------- TLB-shootdown IPI
    def shootdown(self, core: Core) -> None:
        """A TLB-shootdown IPI reaches *core*: another CPU made a page of a
        container whose entries this CPU's TLB may hold read-only (``vm.protect``)."""
        if not self.k.interrupt(core, "ipi", "memory", p_shootdown, None):
            core.pending_shootdowns += 1

    # --------------------------------------------------- device interrupts
    def start(self, rate: float, mean_cycles: float, routing: str, rng: Any,
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
        self._burst = float(burst) if burst > 1 else 0.0
        self._gap = int(gap)
        self._alternate = bool(alternate)
        self._rng = rng
        # Bursts keep the mean interrupt rate: bursts come *burst* times rarer.
        self._gap_mean = (1.0 / rate) * (self._burst or 1.0)
        self._mean_cycles = float(mean_cycles)
        self._routing = routing
        self._z = Exponentials(rng)
        self._next = 0
        self._arm()

    def _exp(self) -> float:
        """The next standard exponential of the devices' stream."""
        z = self._z
        assert z is not None         # set by start(), before the first interrupt
        return z.next()

    def _arm(self) -> None:
        self.engine.after(max(1, int(self._exp() * self._gap_mean)), self._device_cb)

    def target(self) -> Core:
        """The CPU the interrupt controller delivers the next interrupt to."""
        routing = self._routing
        if routing == "cpu0":
            return self.cores[0]
        n = len(self.cores)
        if routing == "lowest":
            for i in range(n):
                core = self.cores[(self._next + i) % n]
                if core.cpu.mode in (USER, IDLE):
                    self._next += i + 1
                    return core
        core = self.cores[self._next % n]
        self._next += 1
        return core

    def _device(self, _: Any) -> None:
        if self._burst:
            self._start_burst()
            return
        cycles = max(1, int(self._exp() * self._mean_cycles))
        core = self.target()
        self._arm()
        self.deliver(core, cycles)

    def _start_burst(self) -> None:
        """A burst starts: its interrupts now and every ``gap`` cycles."""
        n = int(self._rng.geometric(1.0 / self._burst))
        mean = self._mean_cycles
        first = self.target()
        for i in range(n):
            cycles = max(1, int(self._exp() * mean))
            target = None if self._alternate and i else first
            self.engine.after(i * self._gap, self._one, (target, cycles))
        self._arm()

    def _one(self, arg: tuple) -> None:
        target, cycles = arg
        self.deliver(target if target is not None else self.target(), cycles)

    def deliver(self, core: Core, cycles: int) -> None:
        """A device interrupt whose handler costs *cycles* reaches *core*."""
        core.irqs += 1
        if not self.k.interrupt(core, "irq", "io", p_irq, cycles):
            core.pending_irqs.append(cycles)
