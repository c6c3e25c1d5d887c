"""IA-32 two-level paging (Intel SDM vol. 3, ch. 4, 32-bit paging).

A linear address splits into a 10-bit page-directory index (PDX), a 10-bit
page-table index (PTX) and a 12-bit offset.  CR3 holds the physical address of
a page directory of 1024 PDEs; a present PDE names a page table of 1024 PTEs;
a present PTE names a 4 KiB frame.  Tables live in simulated physical frames
(:class:`~reproduce.machine.memory.PhysicalMemory`), and :func:`walk` reads them
exactly as the hardware does, setting the accessed and dirty bits.  Names
follow xv6 (``PDX``, ``PTX``, ``PTE_P``, ``walkpgdir``, ``mappages``).
"""
from __future__ import annotations

from typing import Final

from .memory import PGSIZE, PhysicalMemory
from ..errors import ConfigError

# Page directory / page table entry flags (SDM table 4-5/4-6).
PTE_P: Final = 0x001     # present
PTE_W: Final = 0x002     # read/write (RW)
PTE_U: Final = 0x004     # user/supervisor (US)
PTE_PWT: Final = 0x008   # write-through
PTE_PCD: Final = 0x010   # cache disable
PTE_A: Final = 0x020     # accessed
PTE_D: Final = 0x040     # dirty (PTE only)
PTE_PS: Final = 0x080    # page size: 4 MiB page (PDE only, with CR4.PSE)
PTE_G: Final = 0x100     # global: survives a CR3 load (with CR4.PGE)
PTE_FLAGS: Final = 0xFFF
FLAG_NAMES = {"P": PTE_P, "RW": PTE_W, "W": PTE_W, "US": PTE_U, "U": PTE_U,
              "PWT": PTE_PWT, "PCD": PTE_PCD, "A": PTE_A, "D": PTE_D,
              "PS": PTE_PS, "G": PTE_G}
VALID_FLAGS: Final = PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_PS | PTE_G

NPDENTRIES: Final = 1024
NPTENTRIES: Final = 1024
PTSIZE: Final = PGSIZE * NPTENTRIES      # bytes mapped by one PDE: 4 MiB
PDXSHIFT: Final = 22
PTXSHIFT: Final = 12

# Page-fault error code bits (SDM 4.7), pushed by the CPU.
FEC_PR: Final = 0x1      # 0: not-present page; 1: protection violation
FEC_WR: Final = 0x2      # the access was a write
FEC_U: Final = 0x4       # the access came from user mode


def PDX(va: int) -> int:
    """Page-directory index of linear address *va*."""
    return (va >> PDXSHIFT) & 0x3FF


def PTX(va: int) -> int:
    """Page-table index of linear address *va*."""
    return (va >> PTXSHIFT) & 0x3FF


def PGOFF(va: int) -> int:
    return va & (PGSIZE - 1)


def PGADDR(pdx: int, ptx: int, off: int = 0) -> int:
    """Linear address from its three parts."""
    return (pdx << PDXSHIFT) | (ptx << PTXSHIFT) | off


def PTE_ADDR(pte: int) -> int:
    """Physical frame address held in a PDE or PTE."""
    return pte & ~PTE_FLAGS & 0xFFFFFFFF


def PGROUNDDOWN(a: int) -> int:
    return a & ~(PGSIZE - 1)


def PGROUNDUP(a: int) -> int:
    return (a + PGSIZE - 1) & ~(PGSIZE - 1)


def parse_flags(flags: int | str) -> int:
    """Flags as an int, or a string like ``"P|RW|US"``; unknown names or bits
    raise :class:`ConfigError` naming them."""
    if isinstance(flags, str):
        value = 0
        for name in filter(None, (p.strip().upper() for p in flags.split("|"))):
            if name not in FLAG_NAMES:
                raise ConfigError(f"unknown page flag {name!r}: allowed are "
                                  f"{', '.join(sorted(set(FLAG_NAMES)))}")
            value |= FLAG_NAMES[name]
        return value
    if not isinstance(flags, int) or flags & ~VALID_FLAGS:
        raise ConfigError(f"page flags {flags!r}: allowed bits are {VALID_FLAGS:#x} "
                          f"(P, RW, US, PWT, PCD, A, D, PS, G)")
    return flags


class PageFault(Exception):
    """The #PF exception: *addr* is what the CPU puts in CR2, *err* the error
    code, *level* ``"pde"`` or ``"pte"`` for a not-present fault (the level of
    the walk at which P was clear) or ``"prot"`` for a protection fault."""

    def __init__(self, addr: int, err: int, level: str) -> None:
        # The message is written only if the fault is shown: the kernel
        # raises and handles thousands in a run, and formatting each cost
        # more than the rest of raising it.
        super().__init__(addr, err, level)
        self.addr = addr
        self.err = err
        self.level = level

    def __str__(self) -> str:
        return f"page fault at {self.addr:#010x} err={self.err:#x} ({self.level})"

    @property
    def present(self) -> bool:
        return bool(self.err & FEC_PR)


def _check_table(mem: PhysicalMemory, pa: int, what: str) -> None:
    if not isinstance(pa, int) or pa & (PGSIZE - 1) or not 0 <= pa < mem.size:
        raise ConfigError(f"{what} {pa!r}: must be a page-aligned physical address "
                          f"below {mem.size:#x}")



def walkpgdir(mem: PhysicalMemory, pgdir: int, va: int, alloc: bool,
              pde_flags: int = PTE_P | PTE_W | PTE_U) -> int | None:
    """Physical address of the PTE for *va* in page directory *pgdir*.
    With *alloc*, a missing page table is allocated (one frame) and installed
    with *pde_flags*; without it, a missing table returns None."""
    _check_table(mem, pgdir, "page directory")
    pde_pa = pgdir + 4 * PDX(va)
    pde = mem.read32(pde_pa)
    if pde & PTE_P:
        if pde & PTE_PS:
            raise ConfigError(f"va {va:#x} is mapped by a 4 MiB page: no page table")
        pgtab = PTE_ADDR(pde)
    else:
        if not alloc:
            return None
        pgtab = mem.kalloc()
        mem.write32(pde_pa, pgtab | parse_flags(pde_flags) | PTE_P)
    return pgtab + 4 * PTX(va)


def mappages(mem: PhysicalMemory, pgdir: int, va: int, size: int, pa: int,
             perm: int) -> None:
    """Map [va, va+size) to [pa, pa+size) with PTE flags *perm* | P, allocating
    page tables as needed (xv6 ``mappages``)."""
    perm = parse_flags(perm)
    if size <= 0:
        raise ConfigError(f"mappages size={size!r}: must be positive bytes")
    if pa & (PGSIZE - 1):
        raise ConfigError(f"mappages pa={pa:#x}: must be page-aligned")
    a = PGROUNDDOWN(va)
    last = PGROUNDDOWN(va + size - 1)
    while True:
        pte_pa = walkpgdir(mem, pgdir, a, True)
        assert pte_pa is not None            # alloc=True always finds or makes the table
        mem.write32(pte_pa, pa | perm | PTE_P)
        if a == last:
            break
        a += PGSIZE
        pa += PGSIZE


def walk(mem: PhysicalMemory, cr3: int, va: int, write: bool = False,
         user: bool = False) -> tuple[int, int]:
    """Translate *va* from CR3 as the MMU does: return (physical address,
    effective PTE flags) or raise :class:`PageFault`.  Sets A on both levels
    and D on the PTE for a write.  Supervisor writes ignore RW (CR0.WP=0, as
    on a 1990s kernel); user accesses need US at both levels."""
    err = (FEC_WR if write else 0) | (FEC_U if user else 0)
    pde_pa = cr3 + 4 * PDX(va)
    pde = mem.read32(pde_pa)
    if not pde & PTE_P:
        raise PageFault(va, err, "pde")
    if pde & PTE_PS:                       # 4 MiB page
        flags = pde & PTE_FLAGS
        if user and (not flags & PTE_U or (write and not flags & PTE_W)):
            raise PageFault(va, err | FEC_PR, "prot")
        mem.write32(pde_pa, pde | PTE_A | (PTE_D if write else 0))
        return (pde & 0xFFC00000) | (va & (PTSIZE - 1)), flags
    pte_pa = PTE_ADDR(pde) + 4 * PTX(va)
    pte = mem.read32(pte_pa)
    if not pte & PTE_P:
        raise PageFault(va, err, "pte")
    flags = pte & pde & (PTE_U | PTE_W) | (pte & ~(PTE_U | PTE_W) & PTE_FLAGS)
    if user and (not flags & PTE_U or (write and not flags & PTE_W)):
        raise PageFault(va, err | FEC_PR, "prot")
    if not pde & PTE_A:
        mem.write32(pde_pa, pde | PTE_A)
    new = pte | PTE_A | (PTE_D if write else 0)
    if new != pte:
        mem.write32(pte_pa, new)
    return PTE_ADDR(pte) | PGOFF(va), flags


def copy_pgdir(mem: PhysicalMemory, src: int) -> int:
    """Allocate a page directory that is a copy of *src* (same page tables)."""
    _check_table(mem, src, "page directory")
    dst = mem.kalloc()
    mem.copy_frame(dst, src)
    return dst


def read_pde(mem: PhysicalMemory, pgdir: int, va: int) -> int:
    """The PDE that maps *va* in *pgdir*."""
    _check_table(mem, pgdir, "page directory")
    return mem.read32(pgdir + 4 * PDX(va))


def write_pde(mem: PhysicalMemory, pgdir: int, va: int, pde: int) -> None:
    """Store *pde* as the entry that maps *va* in *pgdir*."""
    _check_table(mem, pgdir, "page directory")
    mem.write32(pgdir + 4 * PDX(va), pde)


def present_pdes(mem: PhysicalMemory, pgdir: int) -> dict[int, int]:
    """{PDX: PDE} for every present entry of *pgdir* (for drawing Figures 2-4)."""
    _check_table(mem, pgdir, "page directory")
    out = {}
    for i in range(NPDENTRIES):
        pde = mem.read32(pgdir + 4 * i)
        if pde & PTE_P:
            out[i] = pde
    return out


def present_ptes(mem: PhysicalMemory, pgtab: int) -> dict[int, int]:
    """{PTX: PTE} for every present entry of page table *pgtab*."""
    _check_table(mem, pgtab, "page table")
    out = {}
    for i in range(NPTENTRIES):
        pte = mem.read32(pgtab + 4 * i)
        if pte & PTE_P:
            out[i] = pte
    return out
