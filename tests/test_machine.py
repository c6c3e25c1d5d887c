"""The simulated machine against reference models and the IA-32 rules the
kernel relies on: paging, aliases, stale TLBs, cycle accounting, the event
engine, MESI cache lines, the frame allocator, and input checks."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from reproduce.errors import ConfigError
from reproduce.machine import (CPU, HIT, IDLE, KERNEL, MISS, SPIN, TLB, TRANSFER, USER,
                               CacheLine, Engine, MiB, OutOfMemory, PGSIZE, PhysicalMemory)
from reproduce.machine.mmu import (PTE_A, PTE_D, PTE_G, PTE_P, PTE_U, PTE_W, PTE_PWT,
                                   PTE_PCD, PTE_PS, PageFault, PTX, mappages, parse_flags,
                                   read_pde, walk, walkpgdir, write_pde)
from reproduce.params import load

PGSHIFT = 12


def fresh(size: int = 8 * MiB) -> tuple[PhysicalMemory, int]:
    """A small memory and one empty page directory in it."""
    mem = PhysicalMemory(size)
    return mem, mem.kalloc()


def unmap(mem: PhysicalMemory, pgdir: int, va: int) -> None:
    """Clear the PTE for *va* (the kernel never frees the page table)."""
    pte_pa = walkpgdir(mem, pgdir, va, False)
    if pte_pa is not None:
        mem.write32(pte_pa, 0)


# -- paging against a dict reference model ------------------------------------
# Few page-directory slots and few page-table slots, so operations collide.
PDXS = [0, 1, 0x3FF]
PTXS = [0, 1, 0x3FF]
vpns = st.builds(lambda d, t: (d << 10) | t, st.sampled_from(PDXS), st.sampled_from(PTXS))
perm_bits = st.sets(st.sampled_from([PTE_W, PTE_U, PTE_G, PTE_PWT, PTE_PCD])).map(sum)
ops = st.one_of(
    st.tuples(st.just("map"), vpns, st.integers(0, (8 * MiB >> PGSHIFT) - 1), perm_bits),
    st.tuples(st.just("unmap"), vpns),
    st.tuples(st.just("xlate"), vpns, st.integers(0, PGSIZE - 1), st.booleans(), st.booleans()),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(ops, max_size=40))
def test_paging_matches_reference(seq):
    mem, pgdir = fresh()
    ref: dict[int, tuple[int, int]] = {}   # vpn -> (pfn, PTE flags incl. A/D)
    tables: set[int] = set()               # PDXs that have a page table
    for op in seq:
        if op[0] == "map":
            _, vpn, pfn, perm = op
            mappages(mem, pgdir, vpn << PGSHIFT, PGSIZE, pfn << PGSHIFT, perm)
            ref[vpn] = (pfn, perm | PTE_P)
            tables.add(vpn >> 10)
        elif op[0] == "unmap":
            _, vpn = op
            unmap(mem, pgdir, vpn << PGSHIFT)
            ref.pop(vpn, None)
        else:
            _, vpn, off, write, user = op
            va = (vpn << PGSHIFT) | off
            if vpn not in ref:
                with pytest.raises(PageFault) as e:
                    walk(mem, pgdir, va, write, user)
                assert e.value.level == ("pte" if vpn >> 10 in tables else "pde")
                assert e.value.addr == va and not e.value.present
                continue
            pfn, flags = ref[vpn]
            # Supervisor ignores RW (CR0.WP=0); user needs US, and RW to write.
            if user and (not flags & PTE_U or (write and not flags & PTE_W)):
                with pytest.raises(PageFault) as e:
                    walk(mem, pgdir, va, write, user)
                assert e.value.level == "prot" and e.value.present
                continue
            pa, got = walk(mem, pgdir, va, write, user)
            assert pa == (pfn << PGSHIFT) | off
            assert got == flags               # flags as they were before this walk
            ref[vpn] = (pfn, flags | PTE_A | (PTE_D if write else 0))
    # Every mapping the model holds is still in the tables, flags and all.
    for vpn, (pfn, flags) in ref.items():
        pte = mem.read32(walkpgdir(mem, pgdir, vpn << PGSHIFT, False))
        assert pte == (pfn << PGSHIFT) | flags
    assert mem.in_use == 1 + len(tables)      # the directory plus one table per region


@pytest.mark.parametrize("user,write,ok", [(False, True, True), (True, False, True),
                                           (True, True, False)])
def test_4mib_page(user, write, ok):
    # A PS=1 PDE maps 4 MiB directly; user read-only (no RW): supervisor
    # writes pass (CR0.WP=0), user writes fault.
    mem, pgdir = fresh()
    write_pde(mem, pgdir, 0x00C00000, 0x00400000 | PTE_P | PTE_U | PTE_PS)
    va = 0x00C00000 + 0x123454
    if ok:
        pa, flags = walk(mem, pgdir, va, write, user)
        assert pa == 0x00400000 + 0x123454 and flags & PTE_PS
        assert read_pde(mem, pgdir, va) & PTE_A
    else:
        with pytest.raises(PageFault) as e:
            walk(mem, pgdir, va, write, user)
        assert e.value.level == "prot"
    with pytest.raises(ConfigError, match="4 MiB"):
        walkpgdir(mem, pgdir, va, True)       # no page table under a big page


# (PDE US, PTE US, PTE RW, user, write) -> allowed?  SDM 4.6 with CR0.WP=0:
# supervisor may do anything; user needs US at both levels, and RW (at both
# levels) to write.
PROT_CASES = [(pu, u, w, user, write,
               not user or (pu and u and (not write or w)))
              for pu in (0, 1) for u in (0, 1) for w in (0, 1)
              for user in (False, True) for write in (False, True)]


@pytest.mark.parametrize("pde_u,pte_u,pte_w,user,write,ok", PROT_CASES)
@pytest.mark.parametrize("via_tlb", [False, True])
def test_protection_matrix(pde_u, pte_u, pte_w, user, write, ok, via_tlb):
    mem, pgdir = fresh()
    frame = mem.kalloc()
    va = 0x00801000
    walkpgdir(mem, pgdir, va, True, pde_flags=PTE_P | PTE_W | (PTE_U if pde_u else 0))
    mappages(mem, pgdir, va, PGSIZE, frame, (PTE_U if pte_u else 0) | (PTE_W if pte_w else 0))
    cpu = CPU(0, mem)
    cpu.lcr3(pgdir)
    if via_tlb:
        cpu.translate(va)                     # supervisor read caches the entry
    if ok:
        assert cpu.translate(va + 4, write, user) == frame + 4
    else:
        with pytest.raises(PageFault) as e:
            cpu.translate(va + 4, write, user)
        assert e.value.level == "prot" and e.value.present
        assert e.value.err & 4 and bool(e.value.err & 2) == write
        assert va not in cpu.tlb


def test_mappages_range_spans_page_tables():
    mem, pgdir = fresh()
    va = 0x400000 - 2 * PGSIZE                # crosses a 4 MiB boundary
    mappages(mem, pgdir, va, 4 * PGSIZE, 0x200000, "RW")
    for i in range(4):
        pa, _ = walk(mem, pgdir, va + i * PGSIZE + 4)
        assert pa == 0x200000 + i * PGSIZE + 4
    assert mem.in_use == 3                    # directory + two page tables


# -- aliases: one frame, many virtual addresses --------------------------------
@settings(max_examples=50, deadline=None)
@given(va1=st.integers(0, 0x3FF).map(lambda v: v << 22 | 5 << 12),
       va2=st.integers(0, 0xFFFFF).map(lambda v: v << 12),
       off=st.integers(0, PGSIZE // 4 - 1).map(lambda w: 4 * w),
       a=st.integers(0, 2**32 - 1), b=st.integers(0, 2**32 - 1))
def test_alias_sees_same_bytes(va1, va2, off, a, b):
    mem, pd1 = fresh()
    pd2 = mem.kalloc()
    frame = mem.kalloc()
    mappages(mem, pd1, va1, PGSIZE, frame, PTE_W | PTE_U)
    mappages(mem, pd2, va2, PGSIZE, frame, PTE_W | PTE_U)
    va3 = va1 ^ (1 << 12)                     # a second alias in the same directory
    mappages(mem, pd1, va3, PGSIZE, frame, PTE_W)
    c0, c1 = CPU(0, mem), CPU(1, mem)
    c0.lcr3(pd1)
    c1.lcr3(pd2)
    c0.store(va1 + off, a, user=True)
    assert c1.load(va2 + off, user=True) == a
    assert mem.read32(frame + off) == a
    c1.store(va2 + off, b)
    assert c0.load(va3 + off) == b
    assert c0.load(va1 + off) == b            # the TLB caches translations, not data


# -- the TLB: stale entries, CR3 loads, global pages ---------------------------
def tlb_setup(flags: int = PTE_W):
    mem, pgdir = fresh()
    f1, f2 = mem.kalloc(), mem.kalloc()
    va = 0x08048000
    mappages(mem, pgdir, va, PGSIZE, f1, flags)
    cpu = CPU(0, mem)
    cpu.lcr3(pgdir)
    pte_pa = walkpgdir(mem, pgdir, va, False)
    return mem, pgdir, cpu, va, f1, f2, pte_pa


def test_stale_tlb_until_invlpg():
    mem, _, cpu, va, f1, f2, pte_pa = tlb_setup()
    assert cpu.translate(va) == f1
    mem.write32(pte_pa, f2 | PTE_P | PTE_W)   # another CPU remaps the page
    assert cpu.translate(va + 8) == f1 + 8    # stale: the TLB does not re-walk
    cpu.tlb.invlpg(va)
    assert cpu.translate(va + 8) == f2 + 8


def test_stale_tlb_until_cr3_reload():
    mem, pgdir, cpu, va, f1, f2, pte_pa = tlb_setup()
    cpu.translate(va)
    mem.write32(pte_pa, 0)                    # unmapped, but still cached
    assert cpu.translate(va) == f1
    cpu.lcr3(pgdir)                           # same directory: still a flush
    with pytest.raises(PageFault) as e:
        cpu.translate(va)
    assert e.value.level == "pte"


def test_global_entry_survives_cr3_but_not_flush_all():
    mem, pgdir, cpu, va, f1, f2, pte_pa = tlb_setup(PTE_W | PTE_G)
    cpu.translate(va)
    mem.write32(pte_pa, f2 | PTE_P | PTE_W | PTE_G)
    cpu.lcr3(pgdir)
    assert cpu.translate(va) == f1            # global: kept across CR3 loads
    cpu.tlb.flush_all()
    assert cpu.translate(va) == f2


def test_tlb_capacity_evicts_oldest():
    tlb = TLB(4)
    for i in range(5):
        tlb.fill(i << PGSHIFT, (100 + i) << PGSHIFT, PTE_P)
    assert len(tlb) == 4
    assert 0 not in tlb                       # the oldest went
    assert all((i << PGSHIFT) in tlb for i in range(1, 5))
    assert tlb.lookup(4 << PGSHIFT) == (104, PTE_P)


# Any sequence of fills, INVLPGs and flushes: the TLB holds what a plain
# insertion-ordered map holds (oldest evicted first, a flush keeping the
# global entries in their order), whatever it counts to skip flushes.
tlb_ops = st.lists(st.tuples(st.sampled_from(["fill", "invlpg", "flush", "flush_all"]),
                             st.integers(0, 7), st.sampled_from([PTE_P, PTE_P | PTE_G])),
                   max_size=60)


@given(tlb_ops)
def test_tlb_matches_an_ordered_map(ops):
    tlb, ref = TLB(4), {}
    for op, page, flags in ops:
        va = page << PGSHIFT
        if op == "fill":
            if page not in ref and len(ref) >= 4:
                del ref[next(iter(ref))]
            ref[page] = (50 + page, flags)
            tlb.fill(va, (50 + page) << PGSHIFT, flags)
        elif op == "invlpg":
            ref.pop(page, None)
            tlb.invlpg(va)
        elif op == "flush":
            ref = {k: v for k, v in ref.items() if v[1] & PTE_G}
            tlb.flush()
        else:
            ref = {}
            tlb.flush_all()
        assert [p for p in range(8) if (p << PGSHIFT) in tlb] == sorted(ref)
        assert [tlb.lookup(p << PGSHIFT) for p in ref] == list(ref.values())


def test_cpu_tlb_capacity_forces_rewalk():
    mem, pgdir = fresh()
    frame = mem.kalloc()
    mappages(mem, pgdir, 0, 3 * PGSIZE, frame, PTE_W)
    cpu = CPU(0, mem, tlb_entries=2)
    cpu.lcr3(pgdir)
    for i in range(3):
        cpu.translate(i * PGSIZE)
    assert cpu.walks == 3
    cpu.translate(2 * PGSIZE)                 # still cached
    assert cpu.walks == 3
    cpu.translate(0)                          # evicted by page 2
    assert cpu.walks == 4


def test_fault_drops_tlb_entry():
    # A supervisor access caches a kernel-only page; a user access through
    # that entry faults, and the entry goes, so the retry re-walks and sees
    # the PTE as it is now (here: upgraded to user by another CPU).
    mem, _, cpu, va, f1, _, pte_pa = tlb_setup(PTE_W)
    cpu.translate(va)
    assert va in cpu.tlb
    mem.write32(pte_pa, f1 | PTE_P | PTE_W | PTE_U)
    with pytest.raises(PageFault) as e:
        cpu.translate(va, write=True, user=True)
    assert e.value.level == "prot"
    assert va not in cpu.tlb
    assert cpu.translate(va, write=True, user=True) == f1


def test_write_after_read_sets_dirty_through_a_rewalk():
    """A TLB entry filled by a read is clean: the first write through it
    walks again to set D in the PTE (the dirty assist), later writes and
    reads do not."""
    mem, _, cpu, va, f1, _, pte_pa = tlb_setup()
    cpu.load(va)
    assert not mem.read32(pte_pa) & PTE_D and cpu.walks == 1
    cpu.store(va, 7)
    assert mem.read32(pte_pa) & PTE_D and cpu.walks == 2
    cpu.store(va + 4, 8)
    cpu.load(va)
    assert cpu.walks == 2 and mem.read32(f1) == 7


def test_dirty_assist_faults_if_the_pte_went_away():
    """The re-walk of a dirty assist sees the page tables as they are now: a
    PTE cleared by another CPU faults (and the stale entry is dropped)."""
    mem, _, cpu, va, _, _, pte_pa = tlb_setup()
    cpu.load(va)
    mem.write32(pte_pa, 0)
    assert cpu.load(va) == 0                  # reads still use the stale entry
    with pytest.raises(PageFault) as e:
        cpu.store(va, 1)
    assert e.value.level == "pte" and va not in cpu.tlb


def test_not_present_is_not_cached():
    mem, pgdir, cpu, va, f1, _, pte_pa = tlb_setup()
    mem.write32(pte_pa, 0)
    with pytest.raises(PageFault):
        cpu.translate(va)
    assert va not in cpu.tlb
    mem.write32(pte_pa, f1 | PTE_P)
    assert cpu.translate(va) == f1            # no stale "not present"


# -- cycle accounting -----------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([USER, KERNEL, SPIN, IDLE]),
                          st.integers(0, 10**9)), max_size=60),
       st.integers(0, 10**6))
def test_mode_cycles_add_up(switches, tail):
    cpu = CPU(0, PhysicalMemory(1 * MiB, reserved=0))
    ref = [0, 0, 0, 0]
    now, mode = 0, IDLE
    for new, dt in switches:
        now += dt
        ref[mode] += dt
        cpu.set_mode(new, now)
        mode = new
    assert sum(cpu.cycles) == now
    assert cpu.cycles == ref
    end = now + tail
    ref[mode] += tail
    assert cpu.account(end) == ref
    assert sum(cpu.account(end)) == end
    assert cpu.cycles == [r - (tail if i == mode else 0) for i, r in enumerate(ref)]


def test_rdtsc_offset():
    cpu = CPU(1, PhysicalMemory(1 * MiB, reserved=0), tsc_offset=-500)
    assert cpu.rdtsc(1000) == 500


# -- the event engine -------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 20), max_size=50))
def test_engine_time_then_schedule_order(times):
    eng, log = Engine(), []
    for i, t in enumerate(times):
        eng.at(t, log.append, (t, i))
    eng.run()
    assert log == sorted((t, i) for i, t in enumerate(times))
    assert eng.events == len(times)


def test_engine_same_time_from_callback_runs_after_queued():
    eng, log = Engine(), []

    def first(_):
        log.append("first")
        eng.after(0, log.append, "spawned")
    eng.at(5, first)
    eng.at(5, log.append, "second")
    eng.run()
    assert log == ["first", "second", "spawned"]


def test_engine_run_until():
    eng, log = Engine(), []
    for t in (10, 20, 30):
        eng.at(t, log.append, t)
    assert eng.run(until=20) == 20            # events at the bound run
    assert log == [10, 20] and eng.now == 20 and eng.pending() == 1
    assert eng.run(until=25) == 25            # nothing due: time still moves
    assert eng.now == 25 and log == [10, 20]
    assert eng.run(until=100) == 100          # heap drains: now is the bound
    assert log == [10, 20, 30] and eng.pending() == 0
    with pytest.raises(ConfigError, match="until=50"):
        eng.run(until=50)
    with pytest.raises(ValueError):
        eng.at(99, log.append)                # the past


def test_engine_stop():
    eng, log = Engine(), []
    eng.at(1, lambda _: (log.append(1), eng.stop()))
    eng.at(2, log.append, 2)
    assert eng.run() == 1 and log == [1]
    eng.run()
    assert log == [1, 2]


def _trace(seed: int) -> list[tuple[int, int]]:
    """A self-scheduling workload; its trace must depend on the seed only."""
    import random
    rng, eng, log = random.Random(seed), Engine(), []

    def tick(who):
        log.append((eng.now, who))
        if len(log) < 300:
            eng.after(rng.choice((0, 1, 3)), tick, rng.randrange(4))
    for w in range(4):
        eng.at(0, tick, w)
    eng.run()
    return log


def test_engine_refuses_the_past():
    e = Engine()
    e.at(10, lambda _: None)
    e.run()
    with pytest.raises(ValueError, match="before now"):
        e.at(9, lambda _: None)
    with pytest.raises(ValueError, match="-1 cycles"):
        e.after(-1, lambda _: None)
    assert e.pending() == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.booleans()), min_size=1, max_size=300))
def test_engine_cancel_skips_exactly_the_cancelled(plan):
    """Events scheduled at random times, some cancelled (enough to force
    compactions of the heap): the rest run in (time, scheduling) order, each
    once, and only they count as events."""
    e, ran, evs = Engine(), [], []
    for i, (t, _) in enumerate(plan):
        evs.append(e.at(t, ran.append, i))
    for ev, (_, cancel) in zip(evs, plan):
        if cancel:
            e.cancel(ev)
            e.cancel(ev)                      # twice: a no-op
    live = [i for i, (_, c) in enumerate(plan) if not c]
    assert e.pending() == len(live)
    e.run()
    assert ran == sorted(live, key=lambda i: (plan[i][0], i))
    assert e.events == len(live) and e.pending() == 0
    e.cancel(evs[0])                          # already run or cancelled: nothing
    assert e.pending() == 0


def test_engine_compacts_a_heap_of_void_events():
    e = Engine()
    keep = e.at(1_000, lambda _: None)
    for k in range(200):
        e.cancel(e.at(10 + k, lambda _: None))
    from reproduce.machine.engine import COMPACT_AT
    assert len(e._heap) <= 2 * COMPACT_AT + 2   # rebuilt without the void ones
    assert e.pending() == 1 and keep[0] is not None


def test_engine_deterministic():
    assert _trace(7) == _trace(7)
    assert _trace(7) != _trace(8)


# -- cache lines (MESI) ---------------------------------------------------------------
def test_cacheline_read_after_remote_write_transfers():
    line = CacheLine("lock")
    assert line.write(0) == MISS
    assert line.read(1) == TRANSFER
    assert line.bounces == 1
    assert line.read(0) == HIT and line.read(1) == HIT   # both Shared now
    assert line.bounces == 1
    assert line.write(0) == TRANSFER          # M -> S on the remote read: CPU 1 holds it
    assert line.bounces == 2


def test_cacheline_write_to_shared_transfers():
    line = CacheLine("readyq")
    assert line.read(0) == MISS
    assert line.read(1) == MISS               # nobody had it Modified
    assert line.write(0) == TRANSFER          # invalidates CPU 1's copy
    assert line.bounces == 1
    assert line.read(1) == TRANSFER
    assert line.bounces == 2


def test_cacheline_repeated_writes_hit():
    line = CacheLine("counter")
    assert line.write(1) == MISS
    assert [line.write(1) for _ in range(5)] == [HIT] * 5
    assert line.read(1) == HIT
    line2 = CacheLine("own")
    line2.read(0)
    assert line2.write(0) == HIT              # S -> M without another holder
    assert line2.bounces == 0 and line.bounces == 0


def test_cacheline_ping_pong_bounces_every_time():
    line = CacheLine("lock")
    results = [line.write(i % 2) for i in range(10)]
    assert results == [MISS] + [TRANSFER] * 9
    assert line.bounces == 9 and line.accesses == 10


# -- physical memory --------------------------------------------------------------------
def test_kalloc_kfree_counts_and_zeroing():
    mem = PhysicalMemory(1 * MiB, reserved=16 * PGSIZE)
    a = mem.kalloc()
    assert a == 16 * PGSIZE                   # first frame past the reserved ones
    b = mem.kalloc()
    assert mem.in_use == 2 and mem.peak == 2
    mem.write32(a + 40, 0xDEADBEEF)
    assert mem.read32(a + 40) == 0xDEADBEEF
    mem.kfree(a)
    assert mem.in_use == 1 and mem.peak == 2 and not mem.is_allocated(a)
    assert mem.kalloc() == a                  # reused ...
    assert mem.read32(a + 40) == 0            # ... and zeroed
    assert mem.is_allocated(b)
    with pytest.raises(ValueError):
        mem.kfree(mem.size - PGSIZE)          # never allocated
    nxt = b + PGSIZE                          # written before anyone allocated it
    mem.write32(nxt, 7)
    assert mem.kalloc() == nxt and mem.read32(nxt) == 0


def test_kalloc_lowest_free_first():
    mem = PhysicalMemory(1 * MiB, reserved=0)
    frames = [mem.kalloc() for _ in range(6)]
    for i in (4, 1, 3):
        mem.kfree(frames[i])
    assert [mem.kalloc() for _ in range(4)] == [frames[1], frames[3], frames[4], 6 * PGSIZE]


def test_out_of_memory():
    mem = PhysicalMemory(8 * PGSIZE, reserved=2 * PGSIZE)
    got = [mem.kalloc() for _ in range(6)]
    assert len(set(got)) == 6 and min(got) == 2 * PGSIZE
    with pytest.raises(OutOfMemory):
        mem.kalloc()
    mem.kfree(got[2])
    assert mem.kalloc() == got[2]


def test_word_truncation_and_alignment():
    mem = PhysicalMemory(1 * MiB, reserved=0)
    mem.write32(8, 2**32 + 5)
    assert mem.read32(8) == 5
    with pytest.raises(ConfigError, match="0x6"):
        mem.read32(6)
    with pytest.raises(ConfigError):
        mem.write32(mem.size, 1)


# -- bad input names the value ------------------------------------------------------------
def test_walkpgdir_misaligned_pgdir():
    mem, pgdir = fresh()
    with pytest.raises(ConfigError, match=str(pgdir + 4)):
        walkpgdir(mem, pgdir + 4, 0, True)
    with pytest.raises(ConfigError, match=str(pgdir + 1)):
        mappages(mem, pgdir + 1, 0, PGSIZE, 0x200000, "RW")


def test_mappages_misaligned_pa_and_bad_size():
    mem, pgdir = fresh()
    with pytest.raises(ConfigError, match="0x200010"):
        mappages(mem, pgdir, 0, PGSIZE, 0x200010, "RW")
    with pytest.raises(ConfigError, match="size=0"):
        mappages(mem, pgdir, 0, 0, 0x200000, "RW")


def test_unknown_flag_string():
    with pytest.raises(ConfigError, match="'XX'"):
        parse_flags("P|XX")
    with pytest.raises(ConfigError, match="4096"):
        parse_flags(0x1000)
    assert parse_flags("p | rw|US") == PTE_P | PTE_W | PTE_U
    mem, pgdir = fresh()
    with pytest.raises(ConfigError, match="'XX'"):
        mappages(mem, pgdir, 0, PGSIZE, 0x200000, "P|XX")


@pytest.mark.parametrize("size", [0, -4096, 4097])
def test_bad_memory_size(size):
    with pytest.raises(ConfigError, match=f"size={size}"):
        PhysicalMemory(size)


@pytest.mark.parametrize("entries", [0, -1])
def test_bad_tlb_entries(entries):
    with pytest.raises(ConfigError, match=f"entries={entries}"):
        TLB(entries)
    with pytest.raises(ConfigError, match=f"entries={entries}"):
        CPU(0, PhysicalMemory(1 * MiB, reserved=0), tlb_entries=entries)


def test_params_replace_checks():
    p = load("pentium2")
    assert p.replace(cpus=4).cpus == 4 and p.cpus == 2
    assert p.replace(cpus="8").cpus == 8
    with pytest.raises(ConfigError, match="'no_such_key'"):
        p.replace(no_such_key=1)
    with pytest.raises(ConfigError, match="'fast'"):
        p.replace(clock_hz="fast")
    with pytest.raises(ConfigError, match="2.5"):
        p.replace(cpus=2.5)
    with pytest.raises(ConfigError, match="'x'"):
        p.replace(kernel_bus_rate="x")
    with pytest.raises(ConfigError, match="'bogus'"):
        p["bogus"]


def test_page_table_index_helpers():
    assert PTX(0x00403000) == 3 and (0x00403000 >> 22) == 1


def test_engine_renumbers_keys_in_order(monkeypatch):
    """When the events' sequence numbers run out (SEQ_LIMIT, made small
    here) the pending events are numbered again: they still run in (time,
    scheduling) order, and cancelling through the events held still works."""
    import random
    import reproduce.machine.engine as eng
    monkeypatch.setattr(eng, "SEQ_LIMIT", 8)
    rnd = random.Random(3)
    e, ran, times, held, cancelled = Engine(), [], [], [], set()

    def schedule(t):
        held.append((len(times), e.at(t, step, len(times))))
        times.append(t)

    def step(i):
        ran.append(i)
        for _ in range(2 if e.pending() < 6 else rnd.randrange(2)):
            schedule(e.now + rnd.randrange(4))
        if held and rnd.random() < 0.3:
            j, ev = held.pop(rnd.randrange(len(held)))
            if j not in ran:
                cancelled.add(j)
            e.cancel(ev)

    for _ in range(4):
        schedule(0)
    e.run(until=300)
    assert len(ran) > 100 and e._seq < 8
    assert ran == sorted(ran, key=lambda i: (times[i], i))
    assert not cancelled & set(ran)
    assert set(ran) | cancelled | {j for j, t in enumerate(times) if t > 300} == set(range(len(times)))
