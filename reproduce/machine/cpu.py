"""A Pentium II CPU as the kernel sees it: CR3, a TLB, a time-stamp counter,
and an account of where its cycles went.

Every cycle of a CPU is in exactly one mode: USER (user code, including the
idle-free part of the paper's "User-mode" column), KERNEL (in the kernel; on
the MP build that means holding the lock), SPIN (waiting for a lock) or IDLE
(halted with nothing to run).  :meth:`CPU.set_mode` closes the running interval
at each switch, so the four counters always add up to the elapsed cycles.
"""
from __future__ import annotations

from typing import Final

from .memory import PGSHIFT, PhysicalMemory
from .mmu import FEC_PR, FEC_U, FEC_WR, PTE_D, PTE_U, PTE_W, PageFault, walk
from .tlb import TLB

# Final: the compiled build inlines them (see reproduce.perf.fast).
USER: Final = 0
KERNEL: Final = 1
SPIN: Final = 2
IDLE: Final = 3
MODE_NAMES = ("user", "kernel", "spin", "idle")


class CPU:
    """CPU *id* attached to physical memory *mem*."""

    __slots__ = ("id", "mem", "cr3", "tlb", "tsc_offset", "mode", "since",
                 "cycles", "walks")

    def __init__(self, id: int, mem: PhysicalMemory, tlb_entries: int = 64,
                 tsc_offset: int = 0) -> None:
        self.id = id
        self.mem = mem
        self.cr3 = 0
        self.tlb = TLB(tlb_entries)
        self.tsc_offset = tsc_offset     # TSCs of different CPUs need not agree
        self.mode = IDLE
        self.since = 0                   # cycle at which the current mode began
        self.cycles: list[int] = [0, 0, 0, 0]   # cycles spent per mode, closed intervals
        self.walks = 0                   # page walks done (TLB misses)

    # -- time ---------------------------------------------------------------
    def rdtsc(self, now: int) -> int:
        """The time-stamp counter at engine time *now* (cycles)."""
        return now + self.tsc_offset

    def set_mode(self, mode: int, now: int) -> None:
        """Switch to *mode* at cycle *now*, charging the interval just ended."""
        cycles = self.cycles
        cycles[self.mode] = cycles[self.mode] + (now - self.since)
        self.mode = mode
        self.since = now

    def account(self, now: int) -> list[int]:
        """Cycles per mode up to *now*, the open interval included."""
        out = list(self.cycles)
        out[self.mode] += now - self.since
        return out

    # -- the MMU ------------------------------------------------------------
    def lcr3(self, pgdir: int) -> None:
        """Load CR3: switch page directory and flush non-global TLB entries."""
        self.cr3 = pgdir
        self.tlb.flush()

    def translate(self, va: int, write: bool = False, user: bool = False) -> int:
        """Physical address for *va*: the TLB if it has the page (stale or
        not), else a page walk from CR3 that fills it.  Raises PageFault; as
        on the hardware, a fault drops the TLB entry for the faulting page.

        The TLB entry remembers whether the page is dirty (PTE_D).  The
        first write through an entry that is not (filled by a read) walks
        the tables again to set D in the PTE, as the processor's dirty
        assist does (Intel SDM vol. 3, 4.8), and refills the entry."""
        e = self.tlb.lookup(va)
        if e is not None:
            pfn, flags = e
            if user and (not flags & PTE_U or (write and not flags & PTE_W)):
                self.tlb.invlpg(va)
                raise PageFault(va, FEC_PR | (FEC_WR if write else 0) | FEC_U, "prot")
            if not write or flags & PTE_D:
                return (pfn << PGSHIFT) | (va & 0xFFF)
        self.walks += 1
        try:
            pa, flags = walk(self.mem, self.cr3, va, write, user)
        except PageFault:
            self.tlb.invlpg(va)
            raise
        self.tlb.fill(va, pa, flags | (PTE_D if write else 0))
        return pa

    def load(self, va: int, user: bool = False) -> int:
        """Read the 32-bit word at virtual address *va*."""
        return self.mem.read32(self.translate(va, False, user))

    def store(self, va: int, value: int, user: bool = False) -> None:
        """Write the 32-bit *value* at virtual address *va*."""
        self.mem.write32(self.translate(va, True, user), value)


class RecordingCPU(CPU):
    """A CPU that also notes its mode changes in the window [*t_from*,
    *t_to*) of cycles (``Kernel.record``).  It takes over *cpu*'s state (its
    TLB and counters are the same objects).  A plain run never makes one, so
    the ``set_mode`` of :class:`CPU` stays the only one it calls.

    ``first``/``first_at``: the mode at *t_from* as far as known and the
    cycle it began; ``log``: (cycle, mode) of each change in the window;
    ``at_from``/``at_to``: :meth:`account` at the window's ends, taken when
    a change first crosses them."""

    __slots__ = ("t_from", "t_to", "first", "first_at", "log", "at_from", "at_to")

    def __init__(self, cpu: CPU, t_from: int, t_to: int) -> None:
        super().__init__(cpu.id, cpu.mem, 1, cpu.tsc_offset)
        self.cr3 = cpu.cr3
        self.tlb = cpu.tlb
        self.mode = cpu.mode
        self.since = cpu.since
        self.cycles = cpu.cycles
        self.walks = cpu.walks
        self.t_from = t_from
        self.t_to = t_to
        self.first = cpu.mode
        self.first_at = cpu.since
        self.log: list[tuple[int, int]] = []
        self.at_from: list[int] | None = None
        self.at_to: list[int] | None = None

    def set_mode(self, mode: int, now: int) -> None:
        if now >= self.t_from and self.at_from is None:
            self.at_from = self.account(self.t_from)
        if now >= self.t_to and self.at_to is None:
            self.at_to = self.account(self.t_to)
        super().set_mode(mode, now)
        if now < self.t_from:
            self.first = mode
            self.first_at = now
        elif now < self.t_to:
            self.log.append((now, mode))

    def account_at(self, t: int) -> list[int]:
        """Cycles per mode up to cycle *t* in the window (its ends, or any
        cycle up to now when no change has crossed it yet)."""
        if t == self.t_from and self.at_from is not None:
            return list(self.at_from)
        if t == self.t_to and self.at_to is not None:
            return list(self.at_to)
        return self.account(t)
