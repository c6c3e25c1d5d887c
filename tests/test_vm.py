"""The kernel's memory side against the paper's claims (sections 2.3, 3.2,
3.3): CPU-local data through per-CPU mappings, per-CPU global page
directories, two-page containers, private and per-CPU page directories,
spurious PDE faults, lazy TLB, and input checks."""
from __future__ import annotations

import pytest

from reproduce.bench.memory_workload import boot
from hypothesis import given, settings, strategies as st

from reproduce.errors import ConfigError
from reproduce.kernel.container import Container, Fault
from reproduce.kernel.image import (CODE_BASE, CPULOCAL_PDX, CPULOCAL_VA, KERNBASE,
                                    UHEAP_BASE, USTACK_BASE, USTACK_PDX, USTACK_TOP,
                                    default_image)
from reproduce.kernel.vm import MemoryManager
from reproduce.machine import CPU, MiB, PhysicalMemory
from reproduce.machine.memory import PGSIZE
from reproduce.machine.mmu import PDX, PTE_ADDR, PTE_P, PTE_W, read_pde

MASK_AD = ~0x060 & 0xFFFFFFFF          # ignore the accessed/dirty bits the MMU sets
AREA = 4 * MiB


def machine(ncpus: int = 2, mp: bool = True) -> tuple[MemoryManager, list[CPU]]:
    return boot(ncpus, mp, 32 * MiB)


def pgdir_words(mm: MemoryManager, pgdir: int) -> list[int]:
    return [mm.mem.read32(pgdir + 4 * i) & MASK_AD for i in range(1024)]


def shared_container() -> tuple[MemoryManager, list[CPU], Container]:
    """Two CPUs running one multithreaded container (made so on CPU 0, its
    owner; CPU 1 runs it in its own copy of the page directory)."""
    mm, cpus = machine(2)
    c = mm.container_create()
    mm.switch(cpus[0], c)
    mm.make_multithreaded(c, cpus[0])
    mm.switch(cpus[1], c)
    return mm, cpus, c


def frame_of(mm: MemoryManager, cpu: CPU, va: int) -> int:
    """Physical frame of *va* by a fresh walk from *cpu*'s CR3 (no TLB)."""
    cpu.tlb.flush_all()
    return cpu.translate(va) & ~(PGSIZE - 1)


# ------------------------------------------------------------ CPU-local data
def test_two_cpus_keep_separate_current_thread_at_one_va():
    mm, (c0, c1) = machine(2)
    va = mm.cpulocal_va("current_thread")
    assert va == default_image(True).symbol("current_thread").va
    assert CPULOCAL_VA <= va < CPULOCAL_VA + PGSIZE
    mm.write_local(c0, "current_thread", 0xAAAA)
    mm.write_local(c1, "current_thread", 0xBBBB)
    assert mm.read_local(c0, "current_thread") == 0xAAAA
    assert mm.read_local(c1, "current_thread") == 0xBBBB
    # same virtual address, different physical frames: each CPU's own
    f0, f1 = frame_of(mm, c0, va), frame_of(mm, c1, va)
    assert f0 != f1
    assert (f0, f1) == (mm.cpulocal_frames[0], mm.cpulocal_frames[1])
    assert mm.mem.read32(f0 + (va - CPULOCAL_VA)) == 0xAAAA
    assert mm.mem.read32(f1 + (va - CPULOCAL_VA)) == 0xBBBB


def test_boot_sets_cpu_id_kstack_top_and_global_pgdir():
    mm, cpus = machine(3)
    for cpu in cpus:
        assert cpu.cr3 == mm.global_pgdirs[cpu.id]
        assert mm.read_local(cpu, "cpu_id") == cpu.id
        assert mm.read_local(cpu, "global_pgdir") == mm.global_pgdirs[cpu.id]
        top = mm.read_local(cpu, "kstack_top")
        assert top == mm.kstack_top(cpu.id)
        # the whole 128 KiB below the top is mapped to this CPU's 32 frames
        assert len(mm.kstack_frames[cpu.id]) == 32
        assert cpu.translate(top - 4) & ~0xFFF == mm.kstack_frames[cpu.id][-1]
        assert cpu.translate(top - 128 * 1024) & ~0xFFF == mm.kstack_frames[cpu.id][0]
    tops = [mm.kstack_top(i) for i in range(3)]
    assert len(set(tops)) == 3


def test_per_cpu_global_pgdirs_differ_only_in_the_cpulocal_pde():
    mm, cpus = machine(3)
    words = [pgdir_words(mm, p) for p in mm.global_pgdirs]
    assert len(set(mm.global_pgdirs)) == 3
    for w in words[1:]:
        diff = [i for i in range(1024) if w[i] != words[0][i]]
        assert diff == [CPULOCAL_PDX]
    for i, w in enumerate(words):
        assert PTE_ADDR(w[CPULOCAL_PDX]) == mm.cpulocal_pgtabs[i]


def test_up_build_keeps_cpulocal_variables_in_data():
    mm, (cpu,) = machine(1, mp=False)
    va = mm.cpulocal_va("current_thread")
    assert KERNBASE <= va < KERNBASE + mm.image.phys_end
    mm.write_local(cpu, "current_thread", 7)
    assert mm.read_local(cpu, "current_thread") == 7
    assert mm.mem.read32(va - KERNBASE) == 7        # the .data frame itself
    assert mm.global_pgdirs == [cpu.cr3] and mm.cpulocal_frames == []
    assert not read_pde(mm.mem, cpu.cr3, CPULOCAL_VA) & PTE_P
    with pytest.raises(ConfigError, match="UP build"):
        MemoryManager(PhysicalMemory(32 * MiB), 2, False)


# -------------------------------------------------------------- containers
def test_single_threaded_container_costs_exactly_two_pages():
    mm, (c0, c1) = machine(2)
    before = mm.mem.in_use
    g_before = pgdir_words(mm, mm.global_pgdirs[0])
    c = mm.container_create()
    assert mm.mem.in_use - before == 2
    assert mm.container_pages(c) == 2 and c.pgdir is None
    r = mm.switch(c0, c)
    assert r.cr3_loaded and r.pde_installed and r.pgdir_allocated == 0
    assert mm.mem.in_use - before == 2
    # it runs in the global page directory with only the stack PDE replaced
    assert c0.cr3 == mm.global_pgdirs[0]
    g_after = pgdir_words(mm, mm.global_pgdirs[0])
    assert [i for i in range(1024) if g_after[i] != g_before[i]] == [USTACK_PDX]
    assert PTE_ADDR(g_after[USTACK_PDX]) == c.stack_pgtab
    # the first stack page is there: no fault, nothing allocated
    assert mm.access(c0, c, USTACK_TOP - 4) == []
    assert mm.container_pages(c) == 2


def test_stack_region_faults_add_pages_only():
    mm, (c0, _) = machine(2)
    c = mm.container_create()
    mm.switch(c0, c)
    faults = mm.access(c0, c, USTACK_BASE + 5 * PGSIZE)    # globals / heap start
    assert faults == [Fault("page", USTACK_BASE + 5 * PGSIZE, 0, 1)]
    faults = mm.access(c0, c, USTACK_TOP - 2 * PGSIZE)     # the stack grows (Fig 3b)
    assert [f.kind for f in faults] == ["page"]
    assert mm.container_pages(c) == 4 and c.pgdir is None
    assert mm.access(c0, c, USTACK_BASE + 5 * PGSIZE + 8) == []


def test_global_pgdir_containers_see_their_own_stack():
    mm, (c0, _) = machine(2)
    a, b = mm.container_create(), mm.container_create()
    va = USTACK_TOP - 8
    mm.switch(c0, a)
    c0.store(va, 111, user=True)
    mm.switch(c0, b)                     # replaces the PDE: old TLB entries must go
    assert c0.load(va, user=True) == 0
    c0.store(va, 222, user=True)
    mm.switch(c0, None)
    mm.switch(c0, a)
    assert c0.load(va, user=True) == 111
    mm.switch(c0, b)
    assert c0.load(va, user=True) == 222


def test_touching_outside_the_stack_region_copies_the_global_pgdir():
    mm, (c0, c1) = machine(2)
    c = mm.container_create()
    mm.switch(c0, c)
    g = pgdir_words(mm, mm.global_pgdirs[0])
    before = mm.mem.in_use
    va = UHEAP_BASE + 3 * AREA + 0x123
    faults = mm.access(c0, c, va)
    assert len(faults) == 1
    f = faults[0]
    assert (f.kind, f.pages_allocated, f.pgdir_copied, f.cr3_loaded) == ("pgdir", 3, True, True)
    assert mm.mem.in_use - before == 3 and mm.container_pages(c) == 5
    assert c.pgdir is not None and c.owner == 0 and c0.cr3 == c.pgdir
    p = pgdir_words(mm, c.pgdir)
    assert [i for i in range(1024) if p[i] != g[i]] == [PDX(va)]
    assert p[CPULOCAL_PDX] == g[CPULOCAL_PDX]      # the owner's CPU-local page table
    assert mm.read_local(c0, "cpu_id") == 0
    # the global directory did not get the private PDE
    assert not read_pde(mm.mem, mm.global_pgdirs[0], va) & PTE_P
    # more pages in that area: one page each
    assert [f.kind for f in mm.access(c0, c, va + PGSIZE)] == ["page"]
    assert [f.kind for f in mm.access(c0, c, va + AREA)] == ["pgtab"]


def test_multithreaded_container_costs_one_pgdir_per_extra_cpu():
    mm, cpus = machine(3)
    c = mm.container_create()
    mm.switch(cpus[0], c)
    r = mm.make_multithreaded(c, cpus[0])
    assert r.pgdir_allocated == 1 and r.cr3_loaded
    assert c.owner == 0 and cpus[0].cr3 == c.pgdir
    assert mm.container_pages(c) == 3           # + the container page directory
    assert mm.make_multithreaded(c, cpus[0]).pgdir_allocated == 0
    for k, cpu in enumerate(cpus[1:], start=1):
        before = mm.mem.in_use
        r = mm.switch(cpu, c)
        assert r.pgdir_allocated == 1 and r.cr3_loaded
        assert mm.mem.in_use - before == 1
        assert mm.container_pages(c) == 3 + k
    # running again, on any CPU, in any order, costs nothing more
    before = mm.mem.in_use
    for cpu in [*cpus, *reversed(cpus)]:
        mm.switch(cpu, None)
        assert mm.switch(cpu, c).pgdir_allocated == 0
    assert mm.mem.in_use == before and mm.container_pages(c) == 5
    assert set(c.cpu_pgdirs) == {1, 2}
    # each directory maps the CPU-local page of the CPU that uses it
    words = {0: pgdir_words(mm, c.pgdir)}
    for cpu in cpus:
        assert cpu.cr3 == mm.pgdir_of(cpu.id, c)
        cpu.tlb.flush_all()
        assert mm.read_local(cpu, "cpu_id") == cpu.id
        words[cpu.id] = pgdir_words(mm, cpu.cr3)
        assert PTE_ADDR(words[cpu.id][CPULOCAL_PDX]) == mm.cpulocal_pgtabs[cpu.id]
    # and they differ in nothing else (Figure 4c)
    for i in (1, 2):
        assert [j for j in range(1024) if words[i][j] != words[0][j]] == [CPULOCAL_PDX]


def test_nonowner_fault_updates_container_pgdir_and_its_own():
    mm, (c0, c1), c = shared_container()
    va = UHEAP_BASE + 7 * AREA
    faults = mm.access(c1, c, va)
    assert [(f.kind, f.pages_allocated) for f in faults] == [("pgtab", 2)]
    pde = read_pde(mm.mem, c.pgdir, va)
    assert pde & PTE_P and read_pde(mm.mem, c1.cr3, va) & MASK_AD == pde & MASK_AD
    # the owner runs in the container directory: no fault at all
    assert mm.access(c0, c, va, write=False) == []
    assert frame_of(mm, c0, va) == frame_of(mm, c1, va)


def test_spurious_pde_fault_is_resolved_by_copying_and_allocates_nothing():
    mm, (c0, c1) = machine(2)
    c = mm.container_create()
    mm.switch(c0, c)
    mm.make_multithreaded(c, c0)
    mm.switch(c1, c)                        # CPU 1's directory is copied now
    va = UHEAP_BASE + 2 * AREA + 0x40
    # the owner faults a new 4 MiB area in: only the container pgdir gets it
    assert [f.kind for f in mm.access(c0, c, va)] == ["pgtab"]
    assert not read_pde(mm.mem, c1.cr3, va) & PTE_P
    before = mm.mem.in_use
    faults = mm.access(c1, c, va)
    assert [(f.kind, f.pages_allocated, f.pgdir_copied) for f in faults] == \
        [("spurious-pde", 0, False)]
    assert mm.mem.in_use == before
    assert read_pde(mm.mem, c1.cr3, va) & MASK_AD == read_pde(mm.mem, c.pgdir, va) & MASK_AD
    assert frame_of(mm, c0, va) == frame_of(mm, c1, va)
    assert mm.stats()["spurious_pde"] == 1 and c.spurious_pde == 1
    # a new 4 KiB page in that area faults normally: page tables are shared
    assert [f.kind for f in mm.access(c0, c, va + PGSIZE)] == ["page"]
    assert mm.access(c1, c, va + PGSIZE) == []


def test_stale_tlb_fault_is_ignored_and_counted():
    mm, (c0, c1), c = shared_container()
    va = UHEAP_BASE + 0x10
    mm.access(c0, c, va)                            # mapped writable
    r = mm.protect(c, va, writable=False, cpu=c0)   # downgrade: must shoot down
    assert r.changed and r.ipis_sent == 1
    assert mm.access(c1, c, va, write=False) in ([], [Fault("spurious-pde", va, 1)])
    assert va in c1.tlb                             # CPU 1 caches the read-only PTE
    r = mm.protect(c, va, writable=True, cpu=c0)    # upgrade on CPU 0, no IPI
    assert r.changed and r.ipis_avoided == 1 and r.ipis_sent == 0
    assert c1.tlb.lookup(va)[1] & PTE_W == 0        # still stale on CPU 1
    before = mm.mem.in_use
    faults = mm.access(c1, c, va, write=True)
    assert faults == [Fault("stale-tlb", va, 1)]
    assert mm.mem.in_use == before
    assert c1.tlb.lookup(va)[1] & PTE_W             # refilled from the page table
    s = mm.stats()
    assert (s["stale_tlb"], s["ipis_avoided"], s["ipis_sent"]) == (1, 1, 1)
    assert c.stale_tlb == 1 and c.ipis_avoided == 1
    # no change, no count
    assert not mm.protect(c, va, writable=True, cpu=c0).changed
    assert mm.stats()["ipis_avoided"] == 1


def test_ipis_avoided_counts_other_cpus_in_the_container():
    mm, cpus = machine(4)
    c = mm.container_create()
    mm.switch(cpus[0], c)
    mm.make_multithreaded(c, cpus[0])
    for cpu in cpus[1:3]:
        mm.switch(cpu, c)                    # CPU 3 never runs it
    va = USTACK_TOP - 4
    mm.protect(c, va, writable=False, cpu=cpus[0])
    r = mm.protect(c, va, writable=True, cpu=cpus[0])
    assert r.ipis_avoided == 2
    mm.switch(cpus[2], None)                 # left: its TLB was flushed by the CR3 load
    mm.protect(c, va, writable=False, cpu=cpus[0])
    assert mm.protect(c, va, writable=True, cpu=cpus[0]).ipis_avoided == 1


def test_write_to_read_only_page_is_a_violation():
    mm, (c0, _) = machine(2)
    c = mm.container_create()
    mm.switch(c0, c)
    va = USTACK_TOP - 4
    mm.protect(c, va, writable=False, cpu=c0)
    with pytest.raises(ConfigError, match="protection violation"):
        mm.access(c0, c, va, write=True)
    assert mm.access(c0, c, va, write=False) == []
    assert mm.access(c0, c, va, write=True, user=False) == []   # supervisor, WP=0


def test_second_cpu_in_global_pgdir_moves_when_container_goes_private():
    mm, (c0, c1) = machine(2)
    c = mm.container_create()                # one container, two processes
    mm.switch(c0, c)
    mm.switch(c1, c)
    va = UHEAP_BASE + 0x1000
    assert [f.kind for f in mm.access(c0, c, va)] == ["pgdir"]
    faults = mm.access(c1, c, va)
    # copied from the container pgdir, which already has the PDE: no spurious fault
    assert [(f.kind, f.pages_allocated) for f in faults] == [("pgdir", 1)]
    assert c1.cr3 == c.cpu_pgdirs[1] and mm.read_local(c1, "cpu_id") == 1
    assert frame_of(mm, c0, va) == frame_of(mm, c1, va)


def test_code_packages_are_shared_and_read_only():
    mm, (c0, c1) = machine(2)
    a, b = mm.container_create(), mm.container_create()
    pkg = mm.code[1]
    mm.switch(c0, a)
    mm.switch(c1, b)
    assert mm.access(c0, a, pkg.va + 100, write=False) == []
    assert mm.access(c1, b, pkg.va + 100, write=False) == []
    assert frame_of(mm, c0, pkg.va) == frame_of(mm, c1, pkg.va)
    with pytest.raises(ConfigError, match="read-only"):
        mm.access(c0, a, pkg.va, write=True)
    with pytest.raises(ConfigError, match="no code package"):
        mm.access(c0, a, mm.code[-1].end + 0x10000, write=False)


def test_destroy_frees_every_page_and_clears_the_global_pde():
    mm, (c0, c1) = machine(2)
    base = mm.mem.in_use
    c = mm.container_create()
    mm.switch(c0, c)
    mm.make_multithreaded(c, c0)
    mm.switch(c1, c)
    for va in (USTACK_BASE, UHEAP_BASE, UHEAP_BASE + 5 * AREA):
        mm.access(c0, c, va)
        mm.access(c1, c, va)
    held = mm.container_pages(c)
    assert mm.mem.in_use - base == held
    mm.switch(c0, None)                      # CPU 1 went idle in the container
    assert mm.container_destroy(c) == held
    assert mm.current(1) is None and c1.cr3 == mm.global_pgdirs[1]
    assert mm.stats()["lazy_cpus_moved"] == 1
    assert mm.mem.in_use == base and mm.container_pages(c) == 0
    assert mm.stats()["pages_freed"] == held
    with pytest.raises(ConfigError, match="destroyed"):
        mm.switch(c0, c)


def test_reused_frames_do_not_leak_through_the_tlb():
    mm, (c0, _) = machine(2)
    a = mm.container_create()
    mm.switch(c0, a)
    c0.store(USTACK_TOP - 8, 99, user=True)  # cached in CPU 0's TLB
    mm.switch(c0, None)                      # no CR3 load: lazy
    mm.container_destroy(a)
    b = mm.container_create()                # likely the same frames, zeroed
    mm.switch(c0, b)
    assert c0.load(USTACK_TOP - 8, user=True) == 0
    assert frame_of(mm, c0, USTACK_TOP - 8) == b.pages[0]


# ------------------------------------------------------------ input checks
@pytest.mark.parametrize("ncpus", [0, -1, 65, 1.5, True])
def test_bad_ncpus(ncpus):
    with pytest.raises(ConfigError, match="ncpus"):
        MemoryManager(PhysicalMemory(32 * MiB), ncpus, True)


def test_bad_inputs():
    mm, (c0, c1) = machine(2)
    c = mm.container_create()
    with pytest.raises(ConfigError, match="unknown CPU-local variable 'nope'"):
        mm.read_local(c0, "nope")
    with pytest.raises(ConfigError, match="switch"):
        mm.access(c0, c, USTACK_BASE)
    with pytest.raises(ConfigError, match="must be a Container"):
        mm.access(c0, None, USTACK_BASE)
    assert mm.stats()["pages_per_container"] == {c.id: 2}
    mm.switch(c0, c)
    for va in (0, KERNBASE, CPULOCAL_VA, 0x1000, -4, "x"):
        with pytest.raises(ConfigError, match="outside user space"):
            mm.access(c0, c, va)
    with pytest.raises(ConfigError, match="not mapped"):
        mm.protect(c, UHEAP_BASE)
    with pytest.raises(ConfigError, match="not booted"):
        mm.switch(CPU(1, mm.mem), c)
    with pytest.raises(ConfigError, match="already booted"):
        mm.boot_cpu(c0)
    with pytest.raises(ConfigError, match="CPUs 0..1"):
        mm.boot_cpu(CPU(2, mm.mem))
    with pytest.raises(ConfigError, match="another PhysicalMemory"):
        mm.boot_cpu(CPU(1, PhysicalMemory(32 * MiB)))
    with pytest.raises(ConfigError, match="linked for the MP build"):
        MemoryManager(mm.mem, 1, True, image=default_image(False))
    with pytest.raises(ConfigError, match="reserved"):
        MemoryManager(PhysicalMemory(32 * MiB, reserved=0), 1, True)


# ------------------------------------------------------------- properties
VAS = st.builds(lambda area, page, off: (USTACK_BASE if area < 0 else UHEAP_BASE + area * AREA)
                + page * PGSIZE + off,
                st.integers(-1, 5), st.integers(0, 3), st.sampled_from([0, 4, 0xFFC]))
OPS = st.lists(st.tuples(st.integers(0, 3), VAS, st.booleans(), st.integers(0, 9)),
               min_size=1, max_size=40)


@settings(max_examples=100, deadline=None)
@given(ncpus=st.integers(2, 4), owner=st.integers(0, 3), ops=OPS)
def test_random_accesses_never_lose_a_mapping(ncpus, owner, ops):
    mm, cpus = machine(ncpus)
    base = mm.mem.in_use
    owner %= ncpus
    c = mm.container_create()
    mm.switch(cpus[owner], c)
    mm.make_multithreaded(c, cpus[owner])
    touched: dict[int, int] = {}
    for cpu_i, va, write, other in ops:
        cpu = cpus[cpu_i % ncpus]
        if other == 0:                       # a kernel thread runs in between
            mm.switch(cpu, None)
        if mm.current(cpu.id) is not c:
            mm.switch(cpu, c)
        mm.access(cpu, c, va, write=write)
        frame = cpu.translate(va, write, True) & ~(PGSIZE - 1)
        assert touched.setdefault(va & ~(PGSIZE - 1), frame) == frame
    # afterwards every CPU maps every touched page to the same frame, and
    # catching up allocates nothing (only spurious PDE faults)
    for cpu in cpus:
        mm.switch(cpu, c)                    # may copy a directory for a new CPU
    held = mm.container_pages(c)
    for cpu in cpus:
        for page, frame in touched.items():
            faults = mm.access(cpu, c, page, write=False)
            assert all(f.kind == "spurious-pde" and f.pages_allocated == 0 for f in faults)
            assert frame_of(mm, cpu, page) == frame
    assert mm.container_pages(c) == held
    # one container pgdir plus at most one per other CPU; nothing leaked
    assert c.pgdir_pages == 1 + len(c.cpu_pgdirs) <= ncpus
    assert set(c.cpu_pgdirs) == set(range(ncpus)) - {owner}
    distinct_areas = {PDX(p) for p in touched} - {USTACK_PDX}
    assert len(c.pgtabs) == 1 + len(distinct_areas)
    assert len(c.pages) == len(set(touched) | {USTACK_TOP - PGSIZE})
    assert mm.mem.in_use - base == c.npages
    # all directories of the container agree on every user PDE they share
    cw = pgdir_words(mm, c.pgdir)
    for pgdir in c.cpu_pgdirs.values():
        w = pgdir_words(mm, pgdir)
        for i in range(PDX(KERNBASE)):
            if w[i] & PTE_P:
                assert w[i] == cw[i]


# ------------------------------------------- figures from the page tables
def test_pgdir_entries_reads_the_live_tables():
    from reproduce.report.figures import pgdir_entries
    from reproduce.machine.mmu import present_pdes
    mm, (c0, c1) = machine(2)
    c = mm.container_create()
    mm.switch(c0, c)
    mm.access(c0, c, USTACK_BASE)
    df = pgdir_entries(mm, c0.cr3, "g")
    assert list(df.pdx) == sorted(present_pdes(mm.mem, c0.cr3))
    row = df.set_index("pdx")
    assert row.loc[USTACK_PDX, "pgtab_pa"] == c.stack_pgtab
    assert row.loc[USTACK_PDX, "pgtab_owner"] == f"container:{c.id}"
    assert row.loc[USTACK_PDX, "ptes_present"] == 2 == len(c.pages)
    assert row.loc[CPULOCAL_PDX, "pgtab_owner"] == "cpulocal:0"
    assert row.loc[PDX(KERNBASE), "ptes_present"] == mm.image.phys_end // PGSIZE
    assert row.loc[PDX(CODE_BASE), "ptes_present"] == sum(p.size for p in mm.code) // PGSIZE
    assert not row.loc[PDX(KERNBASE), "pde_user"] and row.loc[PDX(CODE_BASE), "pde_user"]


def test_figure2_data():
    from reproduce.report.figures import figure2_data
    df = figure2_data(ncpus=2)
    assert set(df.region) == {"code packages", "container stack region", "kernel image",
                              "kernel stacks", "CPU-local page"}
    # only the CPU-local entry and the per-CPU installed stack PDE differ
    assert set(df[~df.same_on_all_cpus].pdx) == {CPULOCAL_PDX, USTACK_PDX}
    assert df.set_index("region").loc["kernel stacks", "ptes_present"] == 2 * 32


def test_figure3_data_follows_the_container():
    from reproduce.report.figures import figure3_data
    df = figure3_data()
    pages = df.groupby("stage").container_pages.first()
    assert list(pages) == [2, 7, 10]
    pgdirs = df.groupby("stage").pgdir_pa.first()
    assert pgdirs["a"] == pgdirs["b"] != pgdirs["c"]
    stack = df[df.pdx == USTACK_PDX].set_index("stage").ptes_present
    assert list(stack) == [1, 6, 6]
    c = df[df.stage == "c"]
    assert list(c[c.region == "container private memory"].ptes_present) == [1]
    # the private directory is the global one plus one PDE (Figure 3c)
    b = df[df.stage == "b"].set_index("pdx").pgtab_pa
    cc = c.set_index("pdx").pgtab_pa
    assert set(cc.index) - set(b.index) == {PDX(UHEAP_BASE)}
    assert (cc[b.index] == b).all()


def test_figure4_data_per_cpu_pgdir_differs_only_in_cpulocal_entry():
    from reproduce.report.figures import figure4_data
    df = figure4_data()
    assert list(df.groupby("stage").container_pages.first()) == [2, 5, 6]
    assert list(df[df.stage == "a"].pgdir.unique()) == ["global pgdir CPU 0"]
    c = df[df.stage == "c"]
    own = c[c.pgdir.str.startswith("container")].set_index("pdx")
    cpu1 = c[c.pgdir == "CPU 1 pgdir"].set_index("pdx")
    assert list(own.index) == list(cpu1.index)
    differ = own.index[own.pgtab_pa != cpu1.pgtab_pa]
    assert list(differ) == [CPULOCAL_PDX]
    assert own.loc[CPULOCAL_PDX, "pgtab_owner"] == "cpulocal:0"
    assert cpu1.loc[CPULOCAL_PDX, "pgtab_owner"] == "cpulocal:1"


def test_figures_draw_deterministically():
    import io
    from reproduce.report.figures import figure2, figure3, figure4
    for fn, naxes in ((figure2, 1), (figure3, 3), (figure4, 3)):
        out = []
        for _ in range(2):
            fig = fn()
            assert len(fig.axes) == naxes
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=40)
            out.append(buf.getvalue())
        assert out[0] == out[1]


# --------------------------------------------------------------------- E6
def test_e6_pages_one_extra_page_per_cpu():
    from reproduce.bench.memory_workload import page_table
    df = page_table(3)
    mp = df[df.kernel == "mp"]
    single = mp[mp.case.str.startswith("single-threaded (")]
    assert list(single.pages) == [2]
    assert list(mp[mp.case.str.contains("outside")].pages) == [5]
    mt = mp[mp.case.str.startswith("multithreaded")]
    assert list(mt.cpus_running) == [1, 2, 3]
    assert list(mt.pages) == [3, 4, 5] and list(mt.extra_vs_1cpu) == [0, 1, 2]
    assert list(mt.pgdir_pages) == [1, 2, 3]
    up = df[df.kernel == "up"]
    assert list(up.pages) == [2, 5, 3]


def test_e6_scenario_is_deterministic_and_counts_lazy_events():
    import pandas as pd
    from reproduce.bench.memory_workload import pages_and_faults as e6_memory, run_scenario
    a = e6_memory(3, seeds=(1,), steps=120)
    b = e6_memory(3, seeds=(1,), steps=120)
    pd.testing.assert_frame_equal(a.faults, b.faults)
    f = a.faults.set_index("ncpus")
    assert list(f.pgdir_pages) == [1, 2, 3]
    assert f.loc[1, "ipis_avoided"] == 0 and f.loc[1, "spurious_pde"] == 0
    assert f.loc[1, "stale_tlb"] == 0
    assert (f.loc[[2, 3], "ipis_avoided"] > 0).all()
    # every upgrade avoids one IPI per other CPU running the container here
    assert (f.ipis_avoided == f.upgrades * (f.index - 1)).all()
    assert f.loc[3, "spurious_pde"] > 0
    totals = [run_scenario(3, seed=s, steps=200)["stale_tlb"] for s in range(4)]
    assert sum(totals) > 0
    with pytest.raises(ConfigError, match="p_kernel"):
        run_scenario(2, p_kernel=1.5)
    with pytest.raises(ConfigError, match="max_cpus"):
        e6_memory(0)


def test_write_to_a_tracked_page_makes_it_writable_again_lazily():
    # A checkpoint seals a page (read-only, writes tracked); CPU 1 reads it
    # while sealed; CPU 0's write faults and the handler upgrades the page
    # without an IPI; CPU 1's write then takes one ignored stale-TLB fault.
    mm, (c0, c1), c = shared_container()
    va = UHEAP_BASE + 0x2010
    mm.access(c0, c, va)
    r = mm.protect(c, va, writable=False, cpu=c0, track=True)
    assert r.changed and r.ipis_sent == 1 and r.shot == (1,)
    mm.access(c1, c, va, write=False)
    assert mm.access(c0, c, va, write=True) == [Fault("wp-upgrade", va, 0)]
    assert mm.stats()["ipis_avoided"] == 1 and mm.stats()["faults_wp"] == 1
    assert va & ~(PGSIZE - 1) not in c.tracked
    assert mm.access(c1, c, va, write=True) == [Fault("stale-tlb", va, 1)]
    # Untracked again: a later seal without tracking is a violation on write.
    mm.protect(c, va, writable=False, cpu=c0)
    with pytest.raises(ConfigError, match="protection violation"):
        mm.access(c0, c, va, write=True)
