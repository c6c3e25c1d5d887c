"""The kernel image: ELF-style sections, a linker, and the address-space layout.

Layout of the 4 GiB linear address space (paper, Figure 2, simplified; one
row per 4 MiB page-directory region unless said otherwise)::

    0x00000000-0x003FFFFF  unmapped: catches null pointers              PDX 0
    0x00400000-0x0FFFFFFF  code packages: every package (object code)   PDX 1-63
                           at its own unique range, user read-only,
                           mapped once in the global page directory and
                           shared by all containers (section 2.3)
    0x10000000-0x103FFFFF  container stack region: stack (top, grows    PDX 64
                           down), global variables and the start of the
                           heap.  Its PDE is the one the kernel replaces
                           per container (Figure 3a)
    0x10400000-0xBFFFFFFF  container private memory: heap, thread       PDX 65-767
                           stacks.  Touching it needs a private page
                           directory (Figure 3c)
    0xC0000000-...         kernel image .text .data .bss at physical    PDX 768-
                           address VA - KERNBASE, supervisor, global
    0xFF000000-0xFFBFFFFF  kernel stacks: 128 KiB per CPU below a       PDX 1020-1022
                           4 KiB unmapped guard page (section 3.2)
    0xFFC00000-0xFFC00FFF  .cpulocal: one page, mapped to a different   PDX 1023
                           frame on every CPU through a per-CPU page
                           table (section 3.2)

The CPU-local page has a 4 MiB region of its own so that its page table is
per CPU and nothing else has to be duplicated in it: the "CPU-local entry of
the page directory" (section 3.3) is exactly one PDE, ``CPULOCAL_PDX``.

The linker places declared symbols (name, size, alignment) in sections the way
``ld`` does: ``.text`` at KERNBASE, then ``.data`` and ``.bss`` each starting
on a page, and ``.cpulocal`` at its fixed page.  A ``.cpulocal`` larger than
one page is a link error (section 3.2: the 128 KiB kernel stack does not fit
and is reached through the CPU-local pointer ``kstack_top`` instead).  In the
uniprocessor build there is no ``.cpulocal``: a variable declared CPU-local is
an ordinary ``.data`` symbol, as a ``DEFINE_PER_CPU`` macro compiles to a
plain definition on UP.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Iterable, Mapping, Sequence

from ..errors import ConfigError, lookup, require
from ..machine.memory import PGSIZE
from ..machine.mmu import PDX, PGROUNDUP, PTSIZE

KiB: Final = 1024

# -- the address-space layout (see the module docstring) ---------------------
USER_BASE: Final = 0x00400000          # lowest user address: the first 4 MiB stay unmapped
CODE_BASE: Final = USER_BASE           # code packages
CODE_LIMIT: Final = 0x10000000
USTACK_BASE: Final = CODE_LIMIT        # the 4 MiB container stack region (one PDE)
USTACK_SIZE: Final = PTSIZE
USTACK_TOP: Final = USTACK_BASE + USTACK_SIZE
USTACK_PDX = PDX(USTACK_BASE)
UHEAP_BASE: Final = USTACK_TOP         # private container memory (needs a private pgdir)
KERNBASE: Final = 0xC0000000
UTOP: Final = KERNBASE                 # user space is [USER_BASE, UTOP)
KSTACK_BASE: Final = 0xFF000000        # per-CPU kernel stacks (64 x 132 KiB fit in 12 MiB)
KSTACK_LIMIT: Final = 0xFFC00000
KSTACKSIZE: Final = 128 * KiB          # section 3.2: "the kernel stack, which is 128KB per CPU"
KSTACK_GUARD: Final = PGSIZE           # unmapped page below each stack catches overflow
KSTACK_STRIDE: Final = KSTACK_GUARD + KSTACKSIZE
CPULOCAL_VA: Final = 0xFFC00000        # the fixed 4 KiB CPU-local page
CPULOCAL_SIZE: Final = PGSIZE
CPULOCAL_PDX = PDX(CPULOCAL_VA)
MAX_CPUS: Final = 64                   # 1 to 64 CPUs (the lock-scaling chapter goes to 64)
CODE_ALIGN: Final = 64 * KiB           # assumed: packages start on 64 KiB boundaries

assert MAX_CPUS * KSTACK_STRIDE <= KSTACK_LIMIT - KSTACK_BASE
assert PDX(KSTACK_LIMIT - 1) < CPULOCAL_PDX

SECTIONS = (".text", ".data", ".bss", ".cpulocal")
WRITABLE = {".text": False, ".data": True, ".bss": True, ".cpulocal": True}

# Variables every build declares CPU-local (section 3.2: the running thread,
# the current address space, the kernel stack, and the per-CPU global page
# directory reached through a pointer).
CPULOCAL_VARS: tuple[tuple[str, int], ...] = (
    ("current_thread", 4),      # pointer to the running thread
    ("current_container", 4),   # pointer to the current address space
    ("kstack_top", 4),          # top of this CPU's 128 KiB kernel stack (not in .cpulocal)
    ("global_pgdir", 4),        # physical address of this CPU's global page directory
    ("cpu_id", 4),
    ("ticks", 4),               # timer interrupts seen by this CPU
)

DEFAULT_TEXT_SIZE: Final = 384 * KiB   # assumed: the paper gives no kernel size; a 1990s microkernel-ish text

# Shared kernel data (assumed, for a realistic .data/.bss; the giant lock and
# ready-queue head get a 32-byte cache line each, like ____cacheline_aligned).
KERNEL_GLOBALS: tuple[tuple[str, int, str, int], ...] = (
    ("giant_lock", 4, ".data", 32),
    ("ready_queue", 32, ".bss", 32),
    ("thread_table", 16 * KiB, ".bss", 32),
    ("container_table", 8 * KiB, ".bss", 32),
    ("timer_list", 32, ".bss", 32),
)

# Code packages of the clusterware (names and sizes assumed; section 2.3 says
# only that each sits at a unique range and is always resident).
DEFAULT_CODE_PACKAGES: tuple[tuple[str, int], ...] = (
    ("runtime", 256 * KiB),
    ("database", 512 * KiB),
    ("replication", 128 * KiB),
    ("clustermgr", 128 * KiB),
    ("logging", 64 * KiB),
    ("benchmark", 32 * KiB),
)


@dataclass(frozen=True, slots=True)
class Symbol:
    """A linked symbol: *va* is its virtual address; *per_cpu* says it was
    declared CPU-local (on UP it still lives in ``.data``)."""
    name: str
    section: str
    va: int
    size: int
    align: int
    per_cpu: bool = False

    @property
    def end(self) -> int:
        return self.va + self.size


@dataclass(frozen=True, slots=True)
class Section:
    """A linked section: [va, va + size); *writable* is the page permission."""
    name: str
    va: int
    size: int
    writable: bool
    symbols: tuple[str, ...]

    @property
    def end(self) -> int:
        return self.va + self.size


@dataclass(frozen=True, slots=True)
class CodePackage:
    """An application code package at its unique range [va, va + size)."""
    name: str
    va: int
    size: int

    @property
    def end(self) -> int:
        return self.va + self.size


class KernelImage:
    """The output of :meth:`Linker.link`: sections and symbols by name."""

    def __init__(self, mp: bool, sections: Mapping[str, Section],
                 symbols: Mapping[str, Symbol]) -> None:
        self.mp = mp
        self.sections = MappingProxyType(dict(sections))
        self.symbols = MappingProxyType(dict(symbols))

    def symbol(self, name: str) -> Symbol:
        return lookup(self.symbols, name, "kernel symbol")

    def section(self, name: str) -> Section:
        try:
            return self.sections[name]
        except KeyError:
            raise ConfigError(f"no section {name!r} in the {'MP' if self.mp else 'UP'} "
                              f"image: have {', '.join(self.sections)}") from None

    @property
    def per_cpu_names(self) -> tuple[str, ...]:
        """Names declared CPU-local, in declaration order."""
        return tuple(s.name for s in self.symbols.values() if s.per_cpu)

    @property
    def phys_end(self) -> int:
        """Bytes of physical memory from address 0 the image occupies
        (``.text`` to the end of ``.bss``, page-rounded)."""
        end = max(s.end for s in self.sections.values() if s.name != ".cpulocal")
        return PGROUNDUP(end) - KERNBASE

    def __repr__(self) -> str:
        secs = ", ".join(f"{s.name}@{s.va:#x}+{s.size:#x}" for s in self.sections.values())
        return f"KernelImage({'MP' if self.mp else 'UP'}: {secs})"


def _align_up(a: int, align: int) -> int:
    return (a + align - 1) & ~(align - 1)


class Linker:
    """Collects declarations and places them, like ``ld`` with a linker script.

    ``declare(name, size, section, align)`` in any order; :meth:`link` lays
    out the sections.  On the UP build (*mp* false) ``.cpulocal`` declarations
    go to ``.data``."""

    def __init__(self, mp: bool = True) -> None:
        self.mp = bool(mp)
        self._decls: list[tuple[str, int, str, int, bool]] = []
        self._names: set[str] = set()

    def declare(self, name: str, size: int, section: str = ".data", align: int = 4) -> None:
        require(isinstance(name, str) and name.isidentifier(),
                f"symbol name {name!r}: must be an identifier")
        require(name not in self._names, f"symbol {name!r} declared twice")
        require(section in SECTIONS, f"section {section!r}: allowed are {', '.join(SECTIONS)}")
        require(isinstance(size, int) and not isinstance(size, bool) and size > 0,
                f"symbol {name!r} size={size!r}: must be a positive number of bytes")
        require(isinstance(align, int) and align > 0 and align & (align - 1) == 0
                and align <= PGSIZE,
                f"symbol {name!r} align={align!r}: must be a power of two <= {PGSIZE}")
        per_cpu = section == ".cpulocal"
        if per_cpu and not self.mp:
            section = ".data"          # UP: a CPU-local variable is an ordinary global
        self._names.add(name)
        self._decls.append((name, size, section, align, per_cpu))

    def link(self) -> KernelImage:
        """Place every section and symbol; raise ConfigError if ``.cpulocal``
        outgrows its page."""
        sections: dict[str, Section] = {}
        symbols: dict[str, Symbol] = {}
        va = KERNBASE
        for sec in SECTIONS:
            if sec == ".cpulocal" and not self.mp:
                continue
            start = CPULOCAL_VA if sec == ".cpulocal" else PGROUNDUP(va)
            a = start
            names = []
            for name, size, s, align, per_cpu in self._decls:
                if s != sec:
                    continue
                a = _align_up(a, align)
                symbols[name] = Symbol(name, sec, a, size, align, per_cpu)
                names.append(name)
                a += size
            size = a - start
            if sec == ".cpulocal":
                if size > CPULOCAL_SIZE:
                    raise ConfigError(
                        f"link error: section .cpulocal is {size} bytes, over the "
                        f"{CPULOCAL_SIZE}-byte limit of the CPU-local page at "
                        f"{CPULOCAL_VA:#x}; reach large per-CPU structures through a "
                        f"CPU-local pointer instead (paper, section 3.2)")
            else:
                va = a
                if va > KSTACK_BASE:
                    raise ConfigError(f"link error: kernel image ends at {va:#x}, past the "
                                      f"kernel stacks at {KSTACK_BASE:#x}")
            sections[sec] = Section(sec, start, size, WRITABLE[sec], tuple(names))
        return KernelImage(self.mp, sections, symbols)


def default_image(mp: bool = True, text_size: int = DEFAULT_TEXT_SIZE,
                  extra_cpulocal: Iterable[tuple[str, int]] = ()) -> KernelImage:
    """The kernel as built for the paper: text, shared globals, and the
    CPU-local variables of :data:`CPULOCAL_VARS` plus *extra_cpulocal*
    ``(name, size)`` pairs."""
    ld = Linker(mp)
    ld.declare("kernel_text", text_size, ".text", PGSIZE)
    for name, size, sec, align in KERNEL_GLOBALS:
        ld.declare(name, size, sec, align)
    for name, size in (*CPULOCAL_VARS, *tuple(extra_cpulocal)):
        ld.declare(name, size, ".cpulocal", 4)
    return ld.link()


def link_code_packages(packages: Sequence[tuple[str, int]]) -> tuple[CodePackage, ...]:
    """Place code packages at unique ranges from :data:`CODE_BASE`, each on a
    :data:`CODE_ALIGN` boundary; ConfigError if they do not fit below
    :data:`CODE_LIMIT` or a name repeats."""
    out = []
    seen = set()
    va = CODE_BASE
    for item in packages:
        require(isinstance(item, (tuple, list)) and len(item) == 2,
                f"code package {item!r}: must be a (name, size in bytes) pair")
        name, size = item
        require(isinstance(name, str) and bool(name) and name not in seen,
                f"code package name {name!r}: must be a unique non-empty string")
        require(isinstance(size, int) and not isinstance(size, bool) and size > 0,
                f"code package {name!r} size={size!r}: must be a positive number of bytes")
        seen.add(name)
        va = _align_up(va, CODE_ALIGN)
        end = va + PGROUNDUP(size)
        require(end <= CODE_LIMIT,
                f"code package {name!r} ends at {end:#x}: the code region ends at "
                f"{CODE_LIMIT:#x}")
        out.append(CodePackage(name, va, PGROUNDUP(size)))
        va = end
    return tuple(out)


def find_package(packages: Sequence[CodePackage], va: int) -> CodePackage | None:
    """The package whose range holds *va*, or None (packages sorted by va)."""
    starts = [p.va for p in packages]
    i = bisect_right(starts, va) - 1
    if i >= 0 and va < packages[i].end:
        return packages[i]
    return None


def region_of(va: int) -> str:
    """Name of the layout region that holds *va* (for figures and messages)."""
    if va < USER_BASE:
        return "null guard"
    if va < CODE_LIMIT:
        return "code packages"
    if va < USTACK_TOP:
        return "container stack region"
    if va < UTOP:
        return "container private memory"
    if va < KSTACK_BASE:
        return "kernel image"
    if va < KSTACK_LIMIT:
        return "kernel stacks"
    return "CPU-local page"
