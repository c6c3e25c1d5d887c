"""Address spaces of the in-house kernel: global page directories, CPU-local
data, containers, and the page-fault handler (paper, sections 2.3, 3.2, 3.3).

Everything lives in simulated frames and is reached through the simulated MMU:
a CPU-local variable is read with ``cpu.load`` at its one virtual address, and
the answer depends on which page directory is in CR3.

Boot (``MemoryManager.__init__``) builds the global page directory: kernel
``.text`` (read-only) and ``.data``/``.bss`` supervisor and global, every
CPU's 128 KiB kernel stack, and the code packages user read-only and global
(they are identical in every address space, so their TLB entries may survive
CR3 loads).  The MP build then gives each CPU a frame for ``.cpulocal`` and a
page table mapping ``CPULOCAL_VA`` to it, and one global page directory per
CPU: a copy of the boot directory differing only in the CPU-local PDE.  All
other page tables are shared by the copies.

Containers follow Figures 3 and 4:

* ``container_create``: two pages, the stack page table and the first stack
  page; the container runs in the CPU's global page directory with the stack
  PDE replaced (``switch`` writes it and reloads CR3 to drop the previous
  container's stack-region TLB entries).
* A fault in the stack region adds a page to the stack page table.  The first
  fault outside it copies the CPU's global page directory into a private
  container page directory owned by that CPU (Figure 3c).
* ``make_multithreaded`` does the same copy eagerly (Figure 4b).
* When another CPU runs the container, ``switch`` copies the container page
  directory for that CPU and points its CPU-local PDE at that CPU's CPU-local
  page table (Figure 4c): one page per extra CPU, once.
* The fault handler writes a new PDE into the container page directory and
  into the faulting CPU's own directory.  A CPU whose directory misses a PDE
  the container directory has faults *spuriously*; the handler copies the PDE.
* Lazy TLB: pages are never unmapped from a running container, so a fault the
  page tables do not justify comes from a stale TLB entry and is ignored.
  :meth:`MemoryManager.protect` changes a present PTE; for a permission
  upgrade it counts the shootdown IPIs an eager kernel would have sent.

A container's page directories (container pgdir and per-CPU copies) always
agree on every user PDE that is present in both; the container pgdir holds
them all.

``container_destroy`` frees every frame the container owns (page
directories, page tables, pages).  A CPU that went idle still in the dying
container is first moved onto its global page directory, and a stack PDE left
installed in a global directory is cleared, so no directory or CR3 names a
freed frame.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Any, Final

from ..errors import ConfigError, require
from ..machine.cpu import CPU
from ..machine.memory import PGSIZE, PhysicalMemory
from ..machine.mmu import (PDX, PTE_ADDR, PTE_G, PTE_P, PTE_PS, PTE_U, PTE_W, PTX,
                           PageFault, copy_pgdir, read_pde, walkpgdir, write_pde)
from .container import (PAGE, PGDIR, PGTAB, SPURIOUS_PDE, STALE_TLB, WP_UPGRADE, Container,
                        UNCHANGED, Fault, ProtectResult, SwitchResult, switch_result)
from .image import (CODE_LIMIT, CPULOCAL_VA, DEFAULT_CODE_PACKAGES, KERNBASE,
                    KSTACK_BASE, KSTACK_GUARD, KSTACK_STRIDE, KSTACKSIZE, MAX_CPUS,
                    USER_BASE, USTACK_BASE, USTACK_PDX, USTACK_TOP, UTOP, CodePackage,
                    KernelImage, default_image, link_code_packages)

# Entry permissions.  PDEs of user regions allow everything and let the PTE
# decide (the effective right is the AND of both levels); kernel PDEs are
# supervisor-only so a user access stops at the directory.
PDE_USER: Final = PTE_P | PTE_W | PTE_U
PDE_CODE: Final = PTE_P | PTE_U            # code packages: never writable from user mode
PDE_KERN: Final = PTE_P | PTE_W
PTE_USER: Final = PTE_P | PTE_W | PTE_U    # container data pages
PTE_CODE: Final = PTE_P | PTE_U | PTE_G    # same in every address space: may stay in the TLB
PTE_KTEXT: Final = PTE_P | PTE_G
PTE_KDATA: Final = PTE_P | PTE_W | PTE_G
# The CPU-local page maps to the same frame in every directory a given CPU
# uses, so a global TLB entry for it is always right for that CPU.
PTE_CPULOCAL: Final = PTE_P | PTE_W | PTE_G
ACCESSED_DIRTY: Final = 0x060              # A | D: set by the MMU, ignored when comparing entries

MAX_FAULTS_PER_ACCESS: Final = 6           # adopt pgdir, spurious PDE, page, ... then success


class MemoryManager:
    """The kernel's memory side for *ncpus* CPUs sharing *mem*.

    *mp* selects the build: the MP kernel (CPU-local page, per-CPU global
    page directories) or the original UP kernel (one CPU, CPU-local variables
    in ``.data``).  *image* defaults to :func:`~reproduce.kernel.image.default_image`
    for the build; *code_packages* are ``(name, bytes)`` pairs."""

    def __init__(self, mem: PhysicalMemory, ncpus: int, mp: bool,
                 image: KernelImage | None = None,
                 code_packages=DEFAULT_CODE_PACKAGES) -> None:
        require(isinstance(mem, PhysicalMemory),
                f"mem={mem!r}: must be a reproduce.machine.PhysicalMemory")
        require(isinstance(ncpus, int) and not isinstance(ncpus, bool) and 1 <= ncpus <= MAX_CPUS,
                f"ncpus={ncpus!r}: must be an integer from 1 to {MAX_CPUS}")
        require(isinstance(mp, bool), f"mp={mp!r}: must be True (MP build) or False (UP build)")
        require(mp or ncpus == 1,
                f"ncpus={ncpus} with the UP build: the uniprocessor kernel runs on one CPU")
        if image is None:
            image = default_image(mp)
        require(isinstance(image, KernelImage) and image.mp == mp,
                f"image={image!r}: must be a KernelImage linked for the "
                f"{'MP' if mp else 'UP'} build")
        self.mem = mem
        self.ncpus = ncpus
        self.mp = mp
        self.image = image
        self.code: tuple[CodePackage, ...] = link_code_packages(code_packages)
        self._code_starts = [p.va for p in self.code]
        self._local_va = {name: image.symbols[name].va for name in image.per_cpu_names}

        # per-CPU state
        self.global_pgdirs: list[int] = []
        self.cpulocal_frames: list[int] = []     # MP: each CPU's .cpulocal frame
        self.cpulocal_pgtabs: list[int] = []     # MP: each CPU's CPU-local page table
        self._cpulocal_pde: list[int] = []
        self.kstack_frames: list[list[int]] = []
        self._cpus: list[CPU | None] = [None] * ncpus
        self._current: list[Container | None] = [None] * ncpus
        self._installed: list[Container | None] = [None] * ncpus   # stack PDE in global pgdir
        self._tlb_ctx: list[Container | None] = [None] * ncpus     # whose user entries the TLB may hold

        self.kernel_pgtabs: set[int] = set()     # kernel page tables, shared by every directory
        self.code_pgtabs: set[int] = set()       # code-package page tables, shared likewise
        self._pgtab_owner: dict[int, Container] = {}
        self.containers: dict[int, Container] = {}
        self._next_id = 1
        self.counters = {k: 0 for k in (
            "containers_created", "containers_destroyed", "pages_freed",
            "faults_page", "faults_pgtab", "faults_pgdir", "faults_wp", "spurious_pde", "stale_tlb",
            "ipis_avoided", "ipis_sent", "cr3_loads", "pde_installs", "lazy_cpus_moved",
            "container_pgdirs_copied", "cpu_pgdirs_copied")}
        before = mem.in_use
        self._boot_tables()
        self.boot_pages = mem.in_use - before

    # ------------------------------------------------------------------ boot
    def _boot_tables(self) -> None:
        mem = self.mem
        img = self.image
        phys_end = img.phys_end
        for pa in range(0, phys_end, PGSIZE):
            if pa >= mem.size or mem.is_allocated(pa):
                raise ConfigError(
                    f"kernel image needs physical memory [0, {phys_end:#x}) but frame "
                    f"{pa:#x} is {'missing' if pa >= mem.size else 'allocated'}: build "
                    f"PhysicalMemory with reserved >= {phys_end:#x}")
        boot = mem.kalloc()
        require(boot >= phys_end,
                f"the frame allocator handed out {boot:#x}, inside the kernel image "
                f"[0, {phys_end:#x}): build PhysicalMemory with reserved >= {phys_end:#x}")

        # Kernel image at physical VA - KERNBASE: text read-only, data writable.
        text = img.section(".text")
        for va in range(text.va, text.va + max(text.size, 1), PGSIZE):
            self._map_page(boot, va, va - KERNBASE, PTE_KTEXT, PDE_KERN, self.kernel_pgtabs)
        data_start = img.section(".data").va
        for va in range(data_start, KERNBASE + phys_end, PGSIZE):
            self._map_page(boot, va, va - KERNBASE, PTE_KDATA, PDE_KERN, self.kernel_pgtabs)

        # One 128 KiB kernel stack per CPU (section 3.2), below a guard page.
        for cpu in range(self.ncpus):
            frames = []
            bottom = KSTACK_BASE + cpu * KSTACK_STRIDE + KSTACK_GUARD
            for va in range(bottom, bottom + KSTACKSIZE, PGSIZE):
                pa = mem.kalloc()
                frames.append(pa)
                self._map_page(boot, va, pa, PTE_KDATA, PDE_KERN, self.kernel_pgtabs)
            self.kstack_frames.append(frames)

        # Code packages: resident at all times, mapped once for everybody.
        for pkg in self.code:
            for va in range(pkg.va, pkg.end, PGSIZE):
                self._map_page(boot, va, mem.kalloc(), PTE_CODE, PDE_CODE, self.code_pgtabs)

        if not self.mp:
            self.global_pgdirs.append(boot)
            return
        # MP: a CPU-local frame and page table per CPU, and per-CPU copies of
        # the global page directory that differ only in the CPU-local PDE.
        for cpu in range(self.ncpus):
            frame = mem.kalloc()
            pgtab = mem.kalloc()
            mem.write32(pgtab + 4 * PTX(CPULOCAL_VA), frame | PTE_CPULOCAL)
            pgdir = boot if cpu == 0 else copy_pgdir(mem, boot)
            pde = pgtab | PDE_KERN
            write_pde(mem, pgdir, CPULOCAL_VA, pde)
            self.cpulocal_frames.append(frame)
            self.cpulocal_pgtabs.append(pgtab)
            self._cpulocal_pde.append(pde)
            self.global_pgdirs.append(pgdir)

    def _map_page(self, pgdir: int, va: int, pa: int, perm: int, pde_flags: int,
                  tables: set[int]) -> None:
        """Map one page at boot; remember its page table in *tables*."""
        pte_pa = walkpgdir(self.mem, pgdir, va, True, pde_flags)
        assert pte_pa is not None            # alloc=True always finds or makes the table
        tables.add(pte_pa - 4 * PTX(va))
        self.mem.write32(pte_pa, pa | perm)

    def replace_cpu(self, old: CPU, new: CPU) -> None:
        """*new* takes booted CPU *old*'s place (a recording CPU, which
        carries over its state): shootdowns and lazy page directories
        must reach the CPU object that runs."""
        if self._cpus[old.id] is old:
            self._cpus[old.id] = new

    def boot_cpu(self, cpu: CPU) -> None:
        """Bring *cpu* up: load its global page directory and set its CPU-local
        ``cpu_id``, ``kstack_top`` and ``global_pgdir`` through the MMU."""
        self._check_cpu(cpu)
        require(self._cpus[cpu.id] is None, f"CPU {cpu.id} is already booted")
        self._cpus[cpu.id] = cpu
        cpu.tlb.flush_all()                  # reset: nothing cached from before
        self._lcr3(cpu, self.global_pgdirs[cpu.id])
        self.write_local(cpu, "cpu_id", cpu.id)
        self.write_local(cpu, "kstack_top", self.kstack_top(cpu.id))
        self.write_local(cpu, "global_pgdir", self.global_pgdirs[cpu.id])

    def kstack_top(self, cpu_id: int) -> int:
        """Virtual address just above CPU *cpu_id*'s kernel stack."""
        require(isinstance(cpu_id, int) and 0 <= cpu_id < self.ncpus,
                f"cpu id {cpu_id!r}: must be in [0, {self.ncpus})")
        return KSTACK_BASE + cpu_id * KSTACK_STRIDE + KSTACK_GUARD + KSTACKSIZE

    # ----------------------------------------------------------- CPU-local
    def cpulocal_va(self, name: str) -> int:
        """Virtual address of CPU-local variable *name* (in ``.cpulocal`` on
        MP, in ``.data`` on UP)."""
        va = self._local_va.get(name)
        if va is None:
            raise ConfigError(f"unknown CPU-local variable {name!r}: declared are "
                              f"{', '.join(self._local_va)}")
        return va

    def read_local(self, cpu: CPU, name: str) -> int:
        """Load the (first 32-bit word of) CPU-local *name* on *cpu*."""
        va = self.cpulocal_va(name)
        self._check_booted(cpu)
        return cpu.load(va)

    def write_local(self, cpu: CPU, name: str, value: int) -> None:
        """Store *value* into CPU-local *name* on *cpu*, through its MMU."""
        va = self.cpulocal_va(name)
        self._check_booted(cpu)
        if not isinstance(value, int):
            raise ConfigError(f"value {value!r} for {name}: must be an integer")
        cpu.store(va, value)

    # ----------------------------------------------------------- containers
    def container_create(self) -> Container:
        """A new single-threaded container: the stack page table and the first
        stack page (Figure 3a); it runs in the global page directory."""
        mem = self.mem
        pgtab = mem.kalloc()
        page = mem.kalloc()
        mem.write32(pgtab + 4 * PTX(USTACK_TOP - PGSIZE), page | PTE_USER)
        c = Container(self._next_id, stack_pgtab=pgtab, stack_pde=pgtab | PDE_USER,
                      pgtabs=[pgtab], pages=[page])
        self._next_id += 1
        self._pgtab_owner[pgtab] = c
        self.containers[c.id] = c
        self.counters["containers_created"] += 1
        return c

    def container_destroy(self, container: Container) -> int:
        """Free every frame of *container*; returns the pages freed.

        The caller destroys a container when its last thread has exited, so a
        CPU still in it is one that went idle there without switching (the
        idle loop keeps the last address space).  Such CPUs are first moved
        onto their global page directory (counted in ``lazy_cpus_moved``), so
        no CR3 ever names a freed frame; a later ``access`` on them for this
        container is a ConfigError."""
        c = self._check_container(container)
        for i, cur in enumerate(self._current):
            cpu = self._cpus[i]
            if cur is c and cpu is not None:         # current only on a booted CPU
                self.switch(cpu, None)
                self.counters["lazy_cpus_moved"] += 1
        for i in range(self.ncpus):
            if self._installed[i] is c:
                # Drop the stale stack PDE so no directory names freed frames;
                # the next switch installs a PDE and reloads CR3.
                write_pde(self.mem, self.global_pgdirs[i], USTACK_BASE, 0)
                self._installed[i] = None
            if self._tlb_ctx[i] is c:
                self._tlb_ctx[i] = None
        frames = [*c.cpu_pgdirs.values(), *([c.pgdir] if c.pgdir is not None else []),
                  *c.pgtabs, *c.pages]
        for pa in frames:
            self.mem.kfree(pa)
        for pa in c.pgtabs:
            self._pgtab_owner.pop(pa, None)
        c.cpu_pgdirs.clear()
        c.pgdir = None
        c.pgtabs.clear()
        c.pages.clear()
        c.alive = False
        del self.containers[c.id]
        self.counters["containers_destroyed"] += 1
        self.counters["pages_freed"] += len(frames)
        return len(frames)

    def container_pages(self, container: Container) -> int:
        """Frames *container* holds: page directories, page tables and pages."""
        require(isinstance(container, Container), f"{container!r}: not a Container")
        return container.npages

    def make_multithreaded(self, container: Container, cpu: CPU) -> SwitchResult:
        """The container gets its second thread on *cpu* (Figure 4b): allocate
        the container page directory, copied from *cpu*'s global one, with
        *cpu* as owner.  A no-op if it already has one (footnote 1: a
        single-threaded container may have got it by touching memory outside
        the stack region)."""
        c = self._check_container(container)
        self._check_booted(cpu)
        c.multithreaded = True
        if c.pgdir is not None:
            return switch_result(False, 0)
        pgdir = self._new_container_pgdir(c, cpu)
        loaded = False
        if self._current[cpu.id] is c:
            self._lcr3(cpu, pgdir)
            loaded = True
        return switch_result(loaded, 1)

    def _new_container_pgdir(self, c: Container, cpu: CPU) -> int:
        """Copy *cpu*'s global page directory into a container page directory
        owned by *cpu* (Figures 3c and 4b)."""
        pgdir = copy_pgdir(self.mem, self.global_pgdirs[cpu.id])
        # The global directory may hold another container's stack PDE, or none.
        write_pde(self.mem, pgdir, USTACK_BASE, c.stack_pde)
        if self.mp:
            # Already the owner's (the copy came from its global directory);
            # written anyway because this is the invariant Figure 4b states.
            write_pde(self.mem, pgdir, CPULOCAL_VA, self._cpulocal_pde[cpu.id])
        c.pgdir = pgdir
        c.owner = cpu.id
        self.counters["container_pgdirs_copied"] += 1
        return pgdir

    def _cpu_pgdir(self, c: Container, cpu_id: int) -> tuple[int, int]:
        """(page directory *cpu_id* uses for *c*, pages allocated): the
        container pgdir for its owner, else the CPU's own copy, made on first
        use (Figure 4c)."""
        owner_pgdir = c.pgdir
        assert owner_pgdir is not None       # called only for multithreaded layouts
        if c.owner == cpu_id:
            return owner_pgdir, 0
        pgdir = c.cpu_pgdirs.get(cpu_id)
        if pgdir is not None:
            return pgdir, 0
        pgdir = copy_pgdir(self.mem, owner_pgdir)
        write_pde(self.mem, pgdir, CPULOCAL_VA, self._cpulocal_pde[cpu_id])
        c.cpu_pgdirs[cpu_id] = pgdir
        self.counters["cpu_pgdirs_copied"] += 1
        return pgdir, 1

    # --------------------------------------------------------------- switch
    def switch(self, cpu: CPU, container: Container | None) -> SwitchResult:
        """Make *cpu* run in *container* (None: kernel threads and idle, which
        run in the CPU's global page directory)."""
        self._check_booted(cpu)
        i = cpu.id
        gp = self.global_pgdirs[i]
        if container is None:
            self._current[i] = None
            if cpu.cr3 != gp:
                self._lcr3(cpu, gp)
                self._tlb_ctx[i] = None
                return switch_result(True)
            return switch_result(False)      # lazy: the installed stack PDE stays
        c = self._check_container(container)
        self._current[i] = c
        self._tlb_ctx[i] = c
        c.cpus_run.add(i)
        if c.pgdir is None:
            installed = self._installed[i] is not c
            if installed:
                # Replace the one PDE (Figure 3a); the reload below drops the
                # previous container's stack-region TLB entries.
                write_pde(self.mem, gp, USTACK_BASE, c.stack_pde)
                self._installed[i] = c
                self.counters["pde_installs"] += 1
            if installed or cpu.cr3 != gp:
                self._lcr3(cpu, gp)
                return switch_result(True, 0, installed)
            return switch_result(False)
        pgdir, allocated = self._cpu_pgdir(c, i)
        if cpu.cr3 != pgdir:
            self._lcr3(cpu, pgdir)
            return switch_result(True, allocated)
        return switch_result(False, allocated)

    def _lcr3(self, cpu: CPU, pgdir: int) -> None:
        cpu.lcr3(pgdir)
        self.counters["cr3_loads"] += 1

    # --------------------------------------------------------------- access
    def access(self, cpu: CPU, container: Container, va: int, write: bool = True,
               user: bool = True) -> list[Fault]:
        """Access *va* on *cpu* running *container*, through the MMU; each page
        fault runs the kernel's handler and the access is retried.  Returns
        the faults handled (usually none)."""
        if container is None or self._current[cpu.id] is not container or cpu.mem is not self.mem:
            self._check_booted(cpu)
            self._check_container(container)
            raise ConfigError(f"CPU {cpu.id} is not running container {container.id}: "
                              f"call switch(cpu, container) first")
        if type(va) is not int or not USTACK_BASE <= va < UTOP:
            self._check_user_va(va, write)
        faults: list[Fault] = []
        for _ in range(MAX_FAULTS_PER_ACCESS):
            try:
                cpu.translate(va, write, user)
                return faults
            except PageFault as pf:
                faults.append(self._pgfault(cpu, container, pf, write, user))
        raise RuntimeError(f"access to {va:#x} on CPU {cpu.id} still faults after "
                           f"{faults}: the page-fault handler is broken")

    def _check_user_va(self, va: int, write: bool) -> None:
        """ConfigError unless *va* is user data, or a code-package byte read."""
        if not isinstance(va, int) or isinstance(va, bool) or not USER_BASE <= va < UTOP:
            raise ConfigError(f"va {va!r}: outside user space [{USER_BASE:#x}, {UTOP:#x})")
        if va < CODE_LIMIT:
            k = bisect_right(self._code_starts, va) - 1
            if k < 0 or va >= self.code[k].end:
                raise ConfigError(f"va {va:#x}: in the code region [{USER_BASE:#x}, "
                                  f"{CODE_LIMIT:#x}) but in no code package")
            if write:
                raise ConfigError(f"va {va:#x}: write to code package "
                                  f"{self.code[k].name!r}, which is read-only")

    def _allows(self, pgdir: int, va: int, write: bool, user: bool) -> bool:
        """Would the page tables under *pgdir* allow this access?  Reads them
        without touching A/D bits (the handler's software walk)."""
        mem = self.mem
        pde = mem.read32(pgdir + 4 * PDX(va))
        if not pde & PTE_P:
            return False
        if pde & PTE_PS:
            perm = pde
        else:
            pte = mem.read32(PTE_ADDR(pde) + 4 * PTX(va))
            if not pte & PTE_P:
                return False
            perm = pde & pte
        if user and not perm & PTE_U:
            return False
        if user and write and not perm & PTE_W:   # supervisor writes ignore RW (CR0.WP=0)
            return False
        return True

    def _pgfault(self, cpu: CPU, c: Container, pf: PageFault, write: bool,
                 user: bool) -> Fault:
        """The kernel's page-fault handler (entered with CR2 = pf.addr)."""
        mem = self.mem
        va = pf.addr
        cur = cpu.cr3
        i = cpu.id
        # 1. Lazy TLB: nothing is unmapped from a running container, so if the
        #    tables allow the access the fault came from a stale TLB entry
        #    (the CPU dropped it when it faulted): ignore it.
        if self._allows(cur, va, write, user):
            c.stale_tlb += 1
            self.counters["stale_tlb"] += 1
            return Fault(STALE_TLB, va, i)
        # 1b. A write to a page made read-only to track writes (a checkpoint's
        #     seal, ``protect(track=True)``): make it writable again, lazily.
        if pf.level == "prot" and write and va & ~(PGSIZE - 1) in c.tracked:
            self.protect(c, va, True, cpu)
            self.counters["faults_wp"] += 1
            return Fault(WP_UPGRADE, va, i)
        if pf.level == "prot":
            raise ConfigError(f"protection violation: {'write' if write else 'read'} of "
                              f"{va:#x} by container {c.id} on CPU {i} (the page is "
                              f"{'read-only' if write else 'not user-accessible'}); the "
                              f"kernel would kill the process")
        # 2. The page table exists (it is shared by every directory of the
        #    container): add a page.
        if pf.level == "pte":
            pte_pa = PTE_ADDR(mem.read32(cur + 4 * PDX(va))) + 4 * PTX(va)
            page = mem.kalloc()
            mem.write32(pte_pa, page | PTE_USER)
            c.pages.append(page)
            self.counters["faults_page"] += 1
            return Fault(PAGE, va, i, 1)
        # 3. No PDE.  A container still in the global directory touched memory
        #    outside its stack region: give it a private directory (Figure 3c).
        if c.pgdir is None:
            pgdir = self._new_container_pgdir(c, cpu)
            self._lcr3(cpu, pgdir)
            self._add_pgtab(c, pgdir, va)
            self.counters["faults_pgdir"] += 1
            return Fault(PGDIR, va, i, 3, True, True)
        # 3b. This CPU still runs the container in its global directory, but
        #     another CPU has since given the container a private one: move
        #     onto this CPU's directory for it (copied on first use).
        if cur == self.global_pgdirs[i]:
            pgdir, n = self._cpu_pgdir(c, i)
            self._lcr3(cpu, pgdir)
            self.counters["faults_pgdir"] += 1
            return Fault(PGDIR, va, i, n, n > 0, True)
        # 4. Spurious: the container directory has the PDE (its owner faulted
        #    it in, or another CPU did), this CPU's copy does not.  Copy it.
        pde = read_pde(mem, c.pgdir, va)
        if cur != c.pgdir and pde & PTE_P:
            write_pde(mem, cur, va, pde)
            c.spurious_pde += 1
            self.counters["spurious_pde"] += 1
            return Fault(SPURIOUS_PDE, va, i)
        # 5. A new 4 MiB area: page table and page, entered in the container
        #    directory and, if different, the faulting CPU's directory.
        pde = self._add_pgtab(c, c.pgdir, va)
        if cur != c.pgdir:
            write_pde(mem, cur, va, pde)
        self.counters["faults_pgtab"] += 1
        return Fault(PGTAB, va, i, 2)

    def _add_pgtab(self, c: Container, pgdir: int, va: int) -> int:
        """Allocate a page table and the page for *va*, enter the table in
        *pgdir*; return the new PDE."""
        mem = self.mem
        pgtab = mem.kalloc()
        page = mem.kalloc()
        mem.write32(pgtab + 4 * PTX(va), page | PTE_USER)
        pde = pgtab | PDE_USER
        write_pde(mem, pgdir, va, pde)
        c.pgtabs.append(pgtab)
        c.pages.append(page)
        self._pgtab_owner[pgtab] = c
        return pde

    # -------------------------------------------------------------- protect
    def protect(self, container: Container, va: int, writable: bool = True,
                cpu: CPU | None = None, track: bool = False) -> ProtectResult:
        """Set or clear the write permission of the mapped page at *va*, done
        by the kernel on *cpu* (whose own TLB entry it drops with INVLPG).
        With *track*, a page made read-only is write-tracked: its next write
        faults and the handler makes it writable again (dirty tracking for a
        checkpoint) instead of killing the process.

        An upgrade is lazy: other CPUs whose TLBs may hold the old read-only
        entry fault once and the handler ignores the fault; the IPIs an eager
        kernel would send them are counted in ``ipis_avoided``.  A downgrade
        is not safe lazily, so it shoots the entry down on those CPUs
        (``ipis_sent``)."""
        c = self._check_container(container)
        self._check_user_va(va, True)
        require(isinstance(writable, bool), f"writable={writable!r}: must be a bool")
        if cpu is not None:
            self._check_booted(cpu)
        pte_pa = self._container_pte(c, va)
        pte = self.mem.read32(pte_pa) if pte_pa is not None else 0
        if pte_pa is None or not pte & PTE_P:
            raise ConfigError(f"va {va:#x} is not mapped in container {c.id}: nothing to protect")
        page = va & ~(PGSIZE - 1)
        if writable or not track:
            c.tracked.discard(page)
        else:
            c.tracked.add(page)
        new = pte | PTE_W if writable else pte & ~PTE_W
        if new == pte:
            return UNCHANGED
        self.mem.write32(pte_pa, new)
        if cpu is not None:
            cpu.tlb.invlpg(va)
        others = [k for k in range(self.ncpus) if self._tlb_ctx[k] is c
                  and (cpu is None or k != cpu.id)]
        if writable:
            c.ipis_avoided += len(others)
            self.counters["ipis_avoided"] += len(others)
            return ProtectResult(True, ipis_avoided=len(others))
        for k in others:
            other = self._cpus[k]
            if other is not None:            # a TLB context exists only on a booted CPU
                other.tlb.invlpg(va)         # the shootdown IPI's handler
        self.counters["ipis_sent"] += len(others)
        return ProtectResult(True, ipis_sent=len(others), shot=tuple(others))

    def _container_pte(self, c: Container, va: int) -> int | None:
        """Physical address of *c*'s PTE for *va*, or None without a table.
        The container directory holds every PDE any of its directories has."""
        if PDX(va) == USTACK_PDX:
            return c.stack_pgtab + 4 * PTX(va)
        if c.pgdir is None:
            return None
        return walkpgdir(self.mem, c.pgdir, va, False)

    # ------------------------------------------------------------ inspection
    def pgdir_of(self, cpu_id: int, container: Container | None) -> int:
        """The page directory CPU *cpu_id* uses (or would use) for *container*,
        without allocating (None: the CPU's global one).  ConfigError if that
        CPU has no directory for it yet."""
        require(isinstance(cpu_id, int) and 0 <= cpu_id < self.ncpus,
                f"cpu id {cpu_id!r}: must be in [0, {self.ncpus})")
        if container is None or container.pgdir is None:
            return self.global_pgdirs[cpu_id]
        if container.owner == cpu_id:
            return container.pgdir
        pgdir = container.cpu_pgdirs.get(cpu_id)
        if pgdir is None:
            raise ConfigError(f"CPU {cpu_id} has not run container {container.id}")
        return pgdir

    def pgtab_owner(self, pgtab: int) -> str:
        """Who a page table belongs to: ``"kernel"`` or ``"code"`` (shared by
        every directory), ``"cpulocal:<cpu>"`` or ``"container:<id>"``."""
        if pgtab in self.kernel_pgtabs:
            return "kernel"
        if pgtab in self.code_pgtabs:
            return "code"
        if pgtab in self.cpulocal_pgtabs:
            return f"cpulocal:{self.cpulocal_pgtabs.index(pgtab)}"
        c = self._pgtab_owner.get(pgtab)
        if c is not None:
            return f"container:{c.id}"
        return "unknown"

    def current(self, cpu_id: int) -> Container | None:
        """The container CPU *cpu_id* runs in (None: kernel thread or idle)."""
        return self._current[cpu_id]

    def stats(self) -> dict:
        """Counters of the memory side: pages (boot, in use, held by live
        containers, freed), faults by kind, spurious PDE and stale-TLB faults,
        IPIs avoided and sent, CR3 loads, page directories copied (cumulative),
        and ``pages_per_container`` ({container id: pages}, the one non-scalar)."""
        per = {c.id: c.npages for c in self.containers.values()}
        out: dict[str, Any] = {"ncpus": self.ncpus, "mp": self.mp, "boot_pages": self.boot_pages,
               "pages_in_use": self.mem.in_use, "containers": len(self.containers),
               "container_pages": sum(per.values()),
               "max_container_pages": max(per.values(), default=0)}
        out.update(self.counters)
        out["pages_per_container"] = per
        return out

    # --------------------------------------------------------------- checks
    # These run on every context switch, so each message is formatted only
    # when its check fails.
    def _check_cpu(self, cpu: CPU) -> None:
        if not isinstance(cpu, CPU):
            raise ConfigError(f"cpu={cpu!r}: must be a reproduce.machine.CPU")
        if not 0 <= cpu.id < self.ncpus:
            raise ConfigError(f"CPU id {cpu.id}: this kernel has CPUs 0..{self.ncpus - 1}")
        if cpu.mem is not self.mem:
            raise ConfigError(f"CPU {cpu.id} is attached to another PhysicalMemory")

    def _check_booted(self, cpu: CPU) -> None:
        self._check_cpu(cpu)
        if self._cpus[cpu.id] is not cpu:
            raise ConfigError(f"CPU {cpu.id} is not booted: call boot_cpu(cpu) first")

    def _check_container(self, c: Container) -> Container:
        if not isinstance(c, Container):
            raise ConfigError(f"container={c!r}: must be a Container")
        if not (c.alive and self.containers.get(c.id) is c):
            raise ConfigError(f"container {c.id} is destroyed or belongs to another MemoryManager")
        return c
