"""E6: the memory cost of containers on the MP kernel (paper, sections 2.3, 3.3).

Two tables, both computed by running the kernel's memory code
(:class:`~reproduce.kernel.vm.MemoryManager`) on simulated frames:

``pages``: frames a container holds, by case.  No randomness.

* single-threaded, fresh (Figure 3a): stack page table + first stack page.
* single-threaded after one access outside the stack region (Figure 3c):
  + private page directory + page table + page.
* multithreaded, run by k = 1..N CPUs (Figures 4b, 4c): the container page
  directory, then one page directory per extra CPU.  The paper's claim is
  "one extra memory page per CPU which executes in the container".
* the same cases on the UP kernel (one CPU) for comparison.

``faults``: a scripted workload on the MP kernel with n = 1..N CPUs, driven
by ``numpy.random.Generator(PCG64(seed))``.  The scenario is ours (the paper
reports no counts); it is built to exercise every lazy mechanism of 3.3:

1. One multithreaded container, made multithreaded on CPU 0 (the owner), with
   ``threads_per_cpu`` threads per CPU, each pinned to its CPU (affinity,
   section 3.1).  Thread *t* has a 64 KiB stack at
   ``THREAD_STACKS + t * 64 KiB``, outside the stack region as in 3.3.
2. A shared heap of ``heap_areas`` 4 MiB areas, ``heap_pages`` pages each,
   and a shared table of ``table_pages`` pages that CPU 0 writes and then
   makes read-only before anyone else runs (so no IPI is needed then).
3. ``steps`` times: pick a CPU uniformly; with probability ``p_kernel`` it
   first runs a kernel thread (switch to its global page directory, a CR3
   load that flushes its TLB); then it runs one of its threads for a burst
   of ``burst`` accesses: with probability 0.4 to the thread's own stack
   (write), 0.4 to a uniform heap page (write with probability 0.3), 0.2 to
   a uniform table page (read, or with probability ``p_table_write`` a write,
   which first upgrades the page to writable through ``protect``: the
   shootdown IPIs this avoids are counted).  With probability ``p_freeze``
   per burst a writable table page is made read-only again (a downgrade,
   which must and does send IPIs: ``ipis_sent``).

Spurious PDE faults come from CPU 0 (the owner) faulting in a 4 MiB area its
peers' page directories were copied before; stale-TLB faults from a peer
writing a table page it cached read-only before the upgrade.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd

from ..errors import require
from ..kernel.image import MAX_CPUS, UHEAP_BASE
from ..kernel.vm import MemoryManager
from ..machine import CPU, MiB, PGSIZE, PhysicalMemory

AREA = 4 * MiB
THREAD_STACKS = UHEAP_BASE + 256 * MiB     # scenario's thread-stack area (above the heap)
THREAD_STACK = 64 * 1024
TABLE_BASE = UHEAP_BASE + 128 * MiB        # the shared read-mostly table


class MemoryResult(NamedTuple):
    """E6's two tables (see the module docstring)."""
    pages: pd.DataFrame
    faults: pd.DataFrame


def boot(ncpus: int, mp: bool = True, memory: int = 64 * MiB) -> tuple[MemoryManager, list[CPU]]:
    """A fresh machine: memory, a booted kernel memory side and its CPUs."""
    mem = PhysicalMemory(memory)
    mm = MemoryManager(mem, ncpus, mp)
    cpus = [CPU(i, mem) for i in range(ncpus)]
    for cpu in cpus:
        mm.boot_cpu(cpu)
    return mm, cpus


def _row(kernel: str, ncpus: int, case: str, k: int, mm: MemoryManager, c) -> dict:
    return {"kernel": kernel, "ncpus": ncpus, "case": case, "cpus_running": k,
            "pages": mm.container_pages(c), "pgdir_pages": c.pgdir_pages,
            "pgtab_pages": len(c.pgtabs), "data_pages": len(c.pages)}


def page_table(max_cpus: int = 4) -> pd.DataFrame:
    """Pages per container by case, on the UP kernel and the MP kernel with
    *max_cpus* CPUs (see the module docstring)."""
    require(isinstance(max_cpus, int) and 1 <= max_cpus <= MAX_CPUS,
            f"max_cpus={max_cpus!r}: must be an integer from 1 to {MAX_CPUS}")
    rows = []
    for kernel, n in (("up", 1), ("mp", max_cpus)):
        mm, cpus = boot(n, kernel == "mp")
        c = mm.container_create()
        rows.append(_row(kernel, n, "single-threaded (Fig 3a)", 1, mm, c))
        mm.switch(cpus[0], c)
        mm.access(cpus[0], c, UHEAP_BASE)
        rows.append(_row(kernel, n, "single-threaded, touched outside stack region (Fig 3c)",
                         1, mm, c))
        mm.switch(cpus[0], None)
        mm.container_destroy(c)
        c = mm.container_create()
        mm.switch(cpus[0], c)
        mm.make_multithreaded(c, cpus[0])
        for k in range(1, n + 1):
            mm.switch(cpus[k - 1], c)
            rows.append(_row(kernel, n, "multithreaded (Fig 4b/4c)", k, mm, c))
    df = pd.DataFrame(rows)
    base = df[df.case.str.startswith("multithreaded") & (df.cpus_running == 1)]
    first = dict(zip(base.kernel, base.pages))
    mt = df.case.str.startswith("multithreaded")
    df["extra_vs_1cpu"] = np.where(mt, df.pages - df.kernel.map(first), 0)
    return df


def run_scenario(ncpus: int, seed: int = 0, steps: int = 400, burst: int = 8,
                 threads_per_cpu: int = 2, heap_areas: int = 6, heap_pages: int = 16,
                 table_pages: int = 16, p_kernel: float = 0.2, p_table_write: float = 0.3,
                 p_freeze: float = 0.1) -> dict:
    """One run of the scripted workload (module docstring) on the MP kernel
    with *ncpus* CPUs; returns the counts as a flat dict."""
    require(isinstance(ncpus, int) and 1 <= ncpus <= MAX_CPUS,
            f"ncpus={ncpus!r}: must be an integer from 1 to {MAX_CPUS}")
    for name, v in (("steps", steps), ("burst", burst), ("threads_per_cpu", threads_per_cpu),
                    ("heap_areas", heap_areas), ("heap_pages", heap_pages),
                    ("table_pages", table_pages)):
        require(isinstance(v, int) and v >= 1, f"{name}={v!r}: must be a positive integer")
    require(heap_pages * PGSIZE <= AREA, f"heap_pages={heap_pages}: at most {AREA // PGSIZE}")
    require(table_pages * PGSIZE <= 128 * MiB, f"table_pages={table_pages}: too many")
    require(heap_areas * AREA <= 128 * MiB, f"heap_areas={heap_areas}: at most 32")
    require(threads_per_cpu * ncpus * THREAD_STACK <= 256 * MiB, "too many threads")
    for name, p in (("p_kernel", p_kernel), ("p_table_write", p_table_write),
                    ("p_freeze", p_freeze)):
        require(isinstance(p, (int, float)) and 0 <= p <= 1, f"{name}={p!r}: must be in [0, 1]")
    rng = np.random.Generator(np.random.PCG64(seed))
    mm, cpus = boot(ncpus)
    c = mm.container_create()
    owner = cpus[0]
    mm.switch(owner, c)
    mm.make_multithreaded(c, owner)
    # the shared table: written by the owner, then published read-only
    for p in range(table_pages):
        mm.access(owner, c, TABLE_BASE + p * PGSIZE)
        mm.protect(c, TABLE_BASE + p * PGSIZE, writable=False, cpu=owner)
    writable = np.zeros(table_pages, dtype=bool)
    stats0 = mm.stats()
    threads = [[cpu * threads_per_cpu + j for j in range(threads_per_cpu)]
               for cpu in range(ncpus)]
    accesses = 0
    kinds = {"page": 0, "pgtab": 0, "pgdir": 0, "spurious-pde": 0, "stale-tlb": 0}
    protects = {"ipis_avoided": 0, "ipis_sent": 0, "upgrades": 0, "downgrades": 0}
    for _ in range(steps):
        i = int(rng.integers(ncpus))
        cpu = cpus[i]
        if rng.random() < p_kernel:
            mm.switch(cpu, None)
        mm.switch(cpu, c)
        tid = threads[i][int(rng.integers(threads_per_cpu))]
        stack_top = THREAD_STACKS + (tid + 1) * THREAD_STACK
        for _ in range(burst):
            u = rng.random()
            if u < 0.4:
                va = stack_top - PGSIZE * (1 + int(rng.integers(4))) + 8
                write = True
            elif u < 0.8:
                va = (UHEAP_BASE + int(rng.integers(heap_areas)) * AREA
                      + int(rng.integers(heap_pages)) * PGSIZE)
                write = bool(rng.random() < 0.3)
            else:
                p = int(rng.integers(table_pages))
                va = TABLE_BASE + p * PGSIZE
                write = bool(rng.random() < p_table_write)
                if write and not writable[p]:
                    r = mm.protect(c, va, writable=True, cpu=cpu)
                    protects["ipis_avoided"] += r.ipis_avoided
                    protects["upgrades"] += 1
                    writable[p] = True
            for f in mm.access(cpu, c, va, write=write):
                kinds[f.kind] += 1
            accesses += 1
        if writable.any() and rng.random() < p_freeze:
            p = int(rng.choice(np.flatnonzero(writable)))
            r = mm.protect(c, TABLE_BASE + p * PGSIZE, writable=False, cpu=cpu)
            protects["ipis_sent"] += r.ipis_sent
            protects["downgrades"] += 1
            writable[p] = False
    s = mm.stats()
    assert s["ipis_avoided"] - stats0["ipis_avoided"] == protects["ipis_avoided"]
    return {"ncpus": ncpus, "seed": seed, "threads": ncpus * threads_per_cpu,
            "accesses": accesses,
            "faults_page": kinds["page"], "faults_pgtab": kinds["pgtab"],
            "faults_pgdir": kinds["pgdir"], "spurious_pde": kinds["spurious-pde"],
            "stale_tlb": kinds["stale-tlb"], "upgrades": protects["upgrades"],
            "ipis_avoided": protects["ipis_avoided"], "downgrades": protects["downgrades"],
            "ipis_sent": protects["ipis_sent"],
            "cr3_loads": s["cr3_loads"] - stats0["cr3_loads"],
            "container_pages": mm.container_pages(c), "pgdir_pages": c.pgdir_pages,
            "pgtab_pages": len(c.pgtabs), "data_pages": len(c.pages)}


def pages_and_faults(max_cpus: int = 4, seeds: Sequence[int] = (0,),
                     **scenario) -> MemoryResult:
    """Both tables of E6 (the experiment itself is
    :func:`reproduce.experiments.paper.e6_memory`): ``pages``
    (:func:`page_table`) and ``faults`` (one row of :func:`run_scenario` per
    CPU count 1..*max_cpus* and seed; keyword arguments go to
    :func:`run_scenario`)."""
    require(isinstance(max_cpus, int) and 1 <= max_cpus <= MAX_CPUS,
            f"max_cpus={max_cpus!r}: must be an integer from 1 to {MAX_CPUS}")
    seeds = [seeds] if isinstance(seeds, int) else list(seeds)
    require(seeds and all(isinstance(s, int) and s >= 0 for s in seeds),
            f"seeds={seeds!r}: must be non-negative integers")
    faults = pd.DataFrame([run_scenario(n, seed=s, **scenario)
                           for n in range(1, max_cpus + 1) for s in seeds])
    return MemoryResult(page_table(max_cpus), faults)
