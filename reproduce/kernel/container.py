"""Containers (address spaces) and what the memory code reports to its caller.

A container is the protection domain of section 2.3, separate from processes:
one container may hold several processes.  Its memory structure follows
Figure 4: the *initial page directory entry* (the PDE of the 4 MiB stack
region, pointing at the stack page table), a container page directory pointer
(None while the container runs in the global page directory), the owner CPU
of that directory, and per-CPU page directory pointers for the other CPUs that
run its threads.

:class:`Fault`, :class:`SwitchResult` and :class:`ProtectResult` say what the
kernel did, so the scheduler can charge cycles from the cost table without
knowing how the memory code works (a fault = ``page_fault`` plus
``page_alloc`` per page plus ``pgdir_copy`` if a directory was copied, plus
``cr3_load`` if CR3 was loaded).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Fault kinds, in the order the handler tests for them.
STALE_TLB: Final = "stale-tlb"        # the PTE already allows the access: stale TLB entry, ignored
SPURIOUS_PDE: Final = "spurious-pde"  # the container pgdir has the PDE: copied, nothing allocated
PGDIR: Final = "pgdir"                # a page directory was allocated and copied (Fig 3c / 4c)
PGTAB: Final = "pgtab"                # a page table and a page were allocated (private pgdir)
PAGE: Final = "page"                  # a page was added to an existing page table
WP_UPGRADE: Final = "wp-upgrade"      # a write to a write-tracked page: made writable again
FAULT_KINDS = (PAGE, PGTAB, PGDIR, SPURIOUS_PDE, STALE_TLB, WP_UPGRADE)


# The results made on every fault and protect call (Fault, ProtectResult)
# write their __init__ out (the dataclass gives equality and repr): a
# dataclass's generated one is Python code that the compiled build runs in
# the interpreter (about 4,600 instructions a call), a written one is
# compiled.  A frozen dataclass cannot have one (its fields cannot be
# assigned), so these two are not frozen; nothing writes to them after they
# are made.  Container is a plain class for the same reason.

@dataclass(slots=True)
class Fault:
    """One page fault handled by the kernel.

    *kind* is one of :data:`FAULT_KINDS`; *pages_allocated* counts every frame
    the handler took (page directory, page table, page); *pgdir_copied* says a
    4 KiB page directory was copied; *cr3_loaded* that the handler loaded CR3
    (it does when it moves the CPU onto a new page directory)."""
    kind: str
    va: int
    cpu: int
    pages_allocated: int
    pgdir_copied: bool
    cr3_loaded: bool

    def __init__(self, kind: str, va: int, cpu: int, pages_allocated: int = 0,
                 pgdir_copied: bool = False, cr3_loaded: bool = False) -> None:
        self.kind = kind
        self.va = va
        self.cpu = cpu
        self.pages_allocated = pages_allocated
        self.pgdir_copied = pgdir_copied
        self.cr3_loaded = cr3_loaded


@dataclass(frozen=True, slots=True)
class SwitchResult:
    """What :meth:`MemoryManager.switch` (or ``make_multithreaded``) did:
    *cr3_loaded* (a MOV to CR3, which flushes non-global TLB entries),
    *pgdir_allocated* (pages: a page directory copied for this CPU) and
    *pde_installed* (the stack PDE was written into the CPU's global pgdir)."""
    cr3_loaded: bool
    pgdir_allocated: int = 0
    pde_installed: bool = False


@dataclass(slots=True)
class ProtectResult:
    """What :meth:`MemoryManager.protect` did: *changed* the PTE; for an
    upgrade the TLB-shootdown IPIs an eager kernel would have sent and this
    one did not (*ipis_avoided*); for a downgrade, which is not safe lazily,
    the IPIs sent (*ipis_sent*), to the CPUs in *shot*."""
    changed: bool
    ipis_avoided: int
    ipis_sent: int
    shot: tuple[int, ...]

    def __init__(self, changed: bool, ipis_avoided: int = 0, ipis_sent: int = 0,
                 shot: tuple[int, ...] = ()) -> None:
        self.changed = changed
        self.ipis_avoided = ipis_avoided
        self.ipis_sent = ipis_sent
        self.shot = shot


# A switch happens on every context switch and has only these outcomes, and
# the results are immutable: each is made once here.  (A frozen dataclass's
# __init__ is generated Python code, which the compiled build calls through
# the interpreter: about 4,600 instructions, a tenth of a paper-workload
# context switch.)
SWITCHES: Final = tuple(SwitchResult(bool(loaded), allocated, bool(installed))
                        for loaded in (0, 1) for allocated in (0, 1) for installed in (0, 1))
UNCHANGED: Final = ProtectResult(False)


def switch_result(loaded: bool, allocated: int = 0, installed: bool = False) -> SwitchResult:
    """``SwitchResult(loaded, allocated, installed)``, one of ``SWITCHES``
    (*allocated*: 0 or 1 page directories)."""
    return SWITCHES[4 * loaded + 2 * allocated + installed]


class Container:
    """An address space, made by ``vm.container_create``: its stack page
    table and first page.  Compared by identity.  Frame lists hold physical
    addresses of frames the container owns (and frees on destroy)."""

    def __init__(self, id: int, stack_pgtab: int, stack_pde: int, pgtabs: list[int],
                 pages: list[int]) -> None:
        self.id = id
        self.stack_pgtab = stack_pgtab   # the stack page table (Figure 3a)
        self.stack_pde = stack_pde       # the initial page directory entry: stack_pgtab | flags
        self.pgdir: int | None = None    # container page directory (Figure 3c / 4b)
        self.owner: int | None = None    # CPU that owns pgdir (its CPU-local PDE is the owner's)
        self.cpu_pgdirs: dict[int, int] = {}   # Figure 4c, non-owner CPUs
        self.multithreaded = False
        self.pgtabs = pgtabs             # page tables it owns (stack first)
        self.pages = pages               # data pages it owns
        self.cpus_run: set[int] = set()  # CPUs that ever ran it
        self.alive = True
        self.spurious_pde = 0
        self.stale_tlb = 0
        self.ipis_avoided = 0
        self.tracked: set[int] = set()   # write-tracked pages (vas), see protect

    @property
    def pgdir_pages(self) -> int:
        """Page directories it owns: the container pgdir and per-CPU copies."""
        return (self.pgdir is not None) + len(self.cpu_pgdirs)

    @property
    def npages(self) -> int:
        """Every frame the container holds."""
        return self.pgdir_pages + len(self.pgtabs) + len(self.pages)

    def __repr__(self) -> str:
        where = "global pgdir" if self.pgdir is None else f"pgdir {self.pgdir:#x} owner CPU {self.owner}"
        return (f"Container({self.id}, {where}, {self.npages} pages"
                f"{', multithreaded' if self.multithreaded else ''}"
                f"{'' if self.alive else ', destroyed'})")
