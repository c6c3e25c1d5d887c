"""The workloads: the paper's benchmark, the clusterware's system threads,
and a synthetic lock workload for checking the simulator against theory.

Every thread draws its random numbers from its own stream (a child of the
scenario's seed), so what one thread does never depends on the order in
which the simulator happens to run the others.

**Benchmark** (paper, section 4): *processes* user-mode loops of
``work_cycles`` each; every ``call_every`` iterations of ``iteration_cycles``
the loop makes a kernel call of ``call_cycles`` (``call_every = 0``: never,
the case the paper reports).

**System threads** (section 4: "around 100 threads were started in the
system (although not all were active)").  Of ``threads``, a share
``active_fraction`` is active: each sleeps until a tick (its period taken in
turn from ``period_ms``, in whole ticks: the system is the same in every run), then makes a geometric number of kernel calls (mean
``calls_per_wakeup``), each after an exponential user run (``bg_user_cycles``)
and each costing exponential kernel work (mean ``bg_kernel_cycles``, the one
number fitted to Table 1's UP row).  With ``wake_together`` a thread's sleep
ends on ticks that are multiples of its period, so threads of one period wake
on the same tick on every CPU: the correlation section 5 hints at.  The rest
block forever.  One active thread is the cluster manager: every
``manager_period_ms`` it creates dynamic processes (database jobs), on average
``spawn_hz`` a second, that
touch ``spawn_pages`` stack pages (page faults), make two calls and exit.
The database replication process is multithreaded (four threads in one
container), which exercises section 3.3 on the MP build: its threads share a
replicated table (``repl_table_pages`` pages over ``repl_table_areas`` 4 MiB
areas) that they read, write and now and then seal (read-only, writes
tracked), so full runs see the spurious PDE faults, the stale-TLB faults,
the shootdown IPIs the lazy TLB avoids and those a seal must send
(:func:`replicated_table`).
"""
from __future__ import annotations

from itertools import count
from typing import Any, Final, Iterator

import numpy as np

from ..kernel.draws import BLOCK, GEOMETRIC_SEARCH, Exponentials, Stream
from ..kernel.image import UHEAP_BASE, USTACK_TOP
from ..machine.memory import PGSIZE
from ..kernel.proc import CALL, EXIT, PROTECT, RUN, SLEEP, SPAWN, THREAD, TOUCH

FOREVER: Final = 1 << 40                 # a period no run reaches: "blocks forever"
SUBSYS_CYCLE = ("db", "io", "ipc", "db", "memory", "ipc")


def benchmark_loop(work: int, iteration: int, call_every: int, call_cycles: int) -> Iterator:
    """One benchmark process: *work* user cycles, a kernel call every
    *call_every* iterations of *iteration* cycles (0: no calls)."""
    if call_every <= 0:
        yield (RUN, work)
        return
    segment = call_every * iteration
    left = work
    while left > 0:
        run = min(segment, left)
        yield (RUN, run)
        left -= run
        if left > 0:
            yield (CALL, call_cycles, "ipc")


def _exp(rng: np.random.Generator, mean: float) -> int:
    return max(1, int(rng.exponential(mean)))


def system_thread(rng: np.random.Generator, period: int, phase: int, w) -> Iterator:
    """An active system thread: sleep to a tick, then a burst of calls.
    With ``bg_fixed_share`` f > 0 it skips a wake-up with probability f:
    that share of the background is done as fixed work instead
    (:func:`startup_thread`)."""
    subsys = SUBSYS_CYCLE[int(rng.integers(len(SUBSYS_CYCLE)))]
    p = 1.0 / max(1.0, w["calls_per_wakeup"])
    # Looked up once, as floats: a float times a float is a native multiply
    # in the compiled build and int() of it a native conversion (an int
    # mean times a float is the same double: it converts exactly).
    user: float = float(w["bg_user_cycles"])
    kernel: float = float(w["bg_kernel_cycles"])
    skip = float(w["bg_fixed_share"])
    # The burst's length and its 2n phase lengths are standard exponentials
    # (numpy's geometric below GEOMETRIC_SEARCH inverts one), scaled: the
    # same numbers as geometric(p) and 2n calls of _exp (exponential(mean)
    # is mean times a standard exponential).  They are drawn a block ahead
    # (a numpy call per few dozen wake-ups, not two per wake-up) unless
    # something else draws from rng in between.
    invert = 0 < p < GEOMETRIC_SEARCH
    z = Exponentials(rng, BLOCK if invert and not skip else 1)
    while True:
        yield (SLEEP, period, phase)
        if skip and rng.random() < skip:
            continue
        n = z.geometric(p) if invert else int(rng.geometric(p))
        for _ in range(n):
            yield (RUN, max(1, int(z.next() * user)))
            yield (CALL, max(1, int(z.next() * kernel)), subsys)


def poller_thread(quantum: int) -> Iterator:
    """A system thread that polls in user mode (a replication or heartbeat
    receiver spinning on a shared-memory queue): runs whenever it is
    scheduled, taking whatever share time slicing gives it."""
    while True:
        yield (RUN, quantum)


def idle_thread() -> Iterator:
    """A system thread that is started but never active."""
    yield (SLEEP, FOREVER, FOREVER - 1)


def dynamic_process(rng: np.random.Generator, w) -> Iterator:
    """A short database job: touch stack pages (and sometimes heap beyond the
    4 MiB stack region, which costs a private page directory), two calls,
    exit."""
    user, kernel = w["bg_user_cycles"], w["bg_kernel_cycles"]
    for page in range(1, int(w["spawn_pages"]) + 1):
        yield (TOUCH, USTACK_TOP - (page + 1) * PGSIZE, True)
        yield (RUN, _exp(rng, user))
    if rng.random() < w["spawn_heap_prob"]:
        yield (TOUCH, UHEAP_BASE, True)
    for _ in range(2):
        yield (CALL, _exp(rng, kernel), "db")
        yield (RUN, _exp(rng, user))
    yield (EXIT,)


def startup_thread(rng: np.random.Generator, calls: int, w) -> Iterator:
    """One of the threads started during the benchmark's run (section 4:
    'around 100 threads were started'): *calls* kernel calls, each after
    an exponential user run, then exit.  Work that must be done whatever
    the run's length, not a rate in time."""
    user, kernel = w["bg_user_cycles"], w["bg_kernel_cycles"]
    subsys = SUBSYS_CYCLE[int(rng.integers(len(SUBSYS_CYCLE)))]
    for _ in range(calls):
        yield (RUN, _exp(rng, user))
        yield (CALL, _exp(rng, kernel), subsys)
    yield (EXIT,)


def fixed_calls(w, up_ticks: float) -> int:
    """Calls of the fixed background: ``bg_fixed_share`` of the calls the
    system threads and jobs make, as a rate in time, over *up_ticks* timer
    ticks (the UP run's length, estimated from the means)."""
    share = float(w["bg_fixed_share"])
    if not share or not w["timer_hz"]:
        return 0
    return int(round(share * thread_calls_per_tick(w) * up_ticks))


def start_fixed_work(kernel, w, seed_seq: np.random.SeedSequence, up_cycles: float,
                     with_containers: bool) -> list:
    """Start the fixed background beside the benchmark: ``threads`` start-up
    threads sharing :func:`fixed_calls` calls, at the system threads'
    priority.  Returns the threads."""
    total = fixed_calls(w, up_cycles / kernel.tick_period) if kernel.tick_period else 0
    n = int(w["threads"])
    if not total or not n:
        return []
    seeds = seed_seq.spawn(n)
    mm = kernel.mm if with_containers else None
    out = []
    for i in range(n):
        calls = total // n + (1 if i < total % n else 0)
        if not calls:
            continue
        prog = startup_thread(np.random.default_rng(seeds[i]), calls, w)
        out.append(kernel.create_process(f"start{i}", "startup", prog,
                                         priority=int(w["system_priority"]),
                                         container=mm.container_create() if mm else None))
    return out


def ticks_of(ms: float, w) -> int:
    """*ms* milliseconds in whole timer ticks (at least one): the background
    is a rate in time, the same whatever ``timer_hz`` is."""
    return max(1, round(ms * w["timer_hz"] / 1000))


def cluster_manager(rng: np.random.Generator, w, child_seeds: Iterator) -> Iterator:
    """Every ``manager_period_ms``: create a Poisson number of dynamic
    processes, ``spawn_hz`` per second on average."""
    n = 0
    every = ticks_of(w["manager_period_ms"], w)
    rate = w["spawn_hz"] * every / w["timer_hz"] if w["timer_hz"] else 0.0
    rate *= 1.0 - float(w["bg_fixed_share"])     # the rest is fixed work
    kernel = w["bg_kernel_cycles"]
    while True:
        yield (SLEEP, every, 0)
        for _ in range(int(rng.poisson(rate))):
            n += 1
            child = np.random.default_rng(next(child_seeds))
            yield (SPAWN, f"job{n}", dynamic_process(child, w), 0, "dynamic")
        yield (CALL, _exp(rng, kernel), "proc")


# The replicated table lives in the replication container's heap, its pages
# spread over ``repl_table_areas`` 4 MiB areas (one page directory entry each).
REPL_TABLE: Final = UHEAP_BASE
AREA: Final = 1024 * PGSIZE


def table_va(page: int, areas: int) -> int:
    """Virtual address of page *page* of the replicated table: pages go to
    the *areas* areas in turn, so the table's areas are faulted in one by
    one as the run touches them."""
    return REPL_TABLE + (page % areas) * AREA + (page // areas) * PGSIZE


def replicated_table(acts: Iterator, rng: Stream, w) -> Iterator:
    """A replication thread's work on the replicated table, woven into its
    own program *acts* (a :func:`system_thread`): each user run works on a
    uniform table page, read before the run and, with probability
    ``repl_write_prob``, written after it.  After each wake-up, with
    probability ``repl_seal_prob``, the thread seals a page it has seen (a
    checkpoint, PROTECT read-only with writes tracked: a downgrade, which
    needs a TLB-shootdown IPI to every other CPU whose TLB may hold the
    page).  The next write to a sealed page faults and the kernel makes it
    writable again: an upgrade, which the MP kernel does lazily, so a CPU
    that read the page while it was sealed keeps a stale read-only TLB entry
    and faults once when it writes (section 3.3).  *rng* is a stream of the
    thread's own, so its runs and calls are those of the thread without the
    table: a :class:`~reproduce.kernel.draws.Stream`, numpy's numbers
    without a numpy call per draw (``integers`` alone cost about 10,000
    instructions, a third of an acquisition of this workload)."""
    pages, areas = int(w["repl_table_pages"]), int(w["repl_table_areas"])
    write_p, seal_p = float(w["repl_write_prob"]), float(w["repl_seal_prob"])
    seen: list[int] = []             # pages this thread has touched (so mapped)
    for act in acts:
        op: int = act[0]
        if op != RUN:
            yield act
            if op == SLEEP and seen and rng.random() < seal_p:
                yield (PROTECT, seen[rng.integers(len(seen))], False)
            continue
        va = table_va(rng.integers(pages), areas)
        yield (TOUCH, va, False)
        seen.append(va)
        yield act
        if rng.random() < write_p:
            yield (TOUCH, va, True)


def replication_thread(rng: np.random.Generator, w, period: int, phase: int,
                       table: np.random.SeedSequence) -> Iterator:
    """One thread of the replication process: an active system thread that
    also works on the replicated table (``repl_table_pages`` > 0)."""
    acts = system_thread(rng, period, phase, w)
    if int(w["repl_table_pages"]) <= 0:
        return acts
    return replicated_table(acts, Stream(np.random.default_rng(table)), w)


def replication_process(rng: np.random.Generator, w, period: int, phase: int,
                        streams: list, tables: list) -> Iterator:
    """The multithreaded replication process: start three helper threads,
    then act as an active system thread itself; all four share the
    replicated table (*tables*: each thread's seed for its accesses)."""
    for i, s in enumerate(streams):
        prog = replication_thread(np.random.default_rng(s), w, period, phase, tables[i + 1])
        yield (THREAD, f"repl.{i + 1}", prog)
    yield from replication_thread(rng, w, period, phase, tables[0])


# The longest phase a draw gives, in cycles: far beyond any run (the
# horizon is bounded far below it) and far inside int64, so scaling a draw
# can neither overflow nor wrap to a short or negative phase.
MAX_PHASE: Final = 1 << 52


def _cycles(x: float) -> int:
    """A phase length: at least 1 cycle, at most MAX_PHASE."""
    return int(min(max(1.0, round(x)), MAX_PHASE))


def _phases(z: np.ndarray, mean: float) -> list[int]:
    """Standard exponentials *z* scaled by *mean*, as whole cycles in
    [1, MAX_PHASE] (clipped before the conversion to integers)."""
    with np.errstate(over="ignore"):             # an infinite product is clipped too
        return np.clip(np.floor(z * mean), 1, MAX_PHASE).astype(np.int64).tolist()


def synthetic_loop(rng: np.random.Generator, user_mean: float, kernel_mean: float,
                   distribution: str, block: int = 4096) -> Iterator:
    """Alternate a user phase and a kernel phase forever.  Exponential phases
    are drawn *block* standard exponentials at a time and scaled, which gives
    exactly the numbers of one ``rng.exponential(mean)`` call per phase, at a
    fraction of the cost."""
    if distribution == "constant":
        u, k = _cycles(user_mean), _cycles(kernel_mean)
        while True:
            yield (RUN, u)
            yield (CALL, k, "sched")
    while True:
        z = rng.standard_exponential(2 * block)
        users = _phases(z[0::2], user_mean)
        kernels = _phases(z[1::2], kernel_mean)
        for u, k in zip(users, kernels):
            yield (RUN, u)
            yield (CALL, k, "sched")


def thread_calls_per_tick(w) -> float:
    """Mean kernel calls per tick the system threads make (as
    :func:`start_system` creates them): each active thread
    ``calls_per_wakeup`` per period, the cluster manager one per wake-up
    plus two per job it spawns (``spawn_hz`` a second)."""
    nthreads = int(w["threads"])
    nactive = int(round(nthreads * w["active_fraction"]))
    periods = [ticks_of(ms, w) for ms in w["period_ms"]]
    if nactive < 2 or not w["timer_hz"]:
        return 0.0
    calls = 1.0 / ticks_of(w["manager_period_ms"], w)    # the cluster manager's call
    calls += 2.0 * w["spawn_hz"] / w["timer_hz"]         # and two per job
    calls += 4 * w["calls_per_wakeup"] / periods[0]      # replication, four threads
    for i in range(5, nactive):
        calls += w["calls_per_wakeup"] / periods[i % len(periods)]
    return calls


def irq_ratio_for_share(w, share: float) -> float:
    """``irq_cycles_ratio`` that puts *share* of the background kernel work
    (mean, per tick) into interrupt handlers: handlers cost share/(1-share)
    of the threads' call work, spread over the ``irq_hz`` interrupts."""
    if not 0.0 <= share < 1.0:
        raise ValueError(f"undeferrable_share={share!r}: must be in [0, 1)")
    if w["irq_hz"] <= 0 or not w["timer_hz"]:
        return 0.0
    irq_per_tick = w["irq_hz"] / w["timer_hz"]
    return share / (1.0 - share) * thread_calls_per_tick(w) / irq_per_tick


def _job_seeds(entropy: Any) -> Iterator[np.random.SeedSequence]:
    """The seeds of the dynamic processes, one per job, without end: their
    own streams, so the jobs spawned do not shift anybody else's draws."""
    for i in count():
        yield np.random.SeedSequence(entropy, spawn_key=(7, i))


def start_system(kernel, w, seed_seq: np.random.SeedSequence, with_containers: bool) -> None:
    """Create the clusterware's system threads at boot."""
    rng = np.random.default_rng(seed_seq.spawn(1)[0])
    nthreads = int(w["threads"])
    nactive = int(round(nthreads * w["active_fraction"]))
    periods = [ticks_of(ms, w) for ms in w["period_ms"]]
    # One seed per thread that draws (the active ones, created first); idle
    # threads draw nothing.  spawn(n) gives the same first children for any n.
    seeds = iter(seed_seq.spawn(nactive + 4))
    job_seeds = _job_seeds(seed_seq.entropy)
    mm = kernel.mm if with_containers else None

    def container():
        return mm.container_create() if mm is not None else None

    prio = int(w["system_priority"])
    made = 0
    if nactive >= 2:
        kernel.create_process("cluster-manager", "static-unique",
                              cluster_manager(np.random.default_rng(next(seeds)), w, job_seeds),
                              priority=prio, container=container())
        period = periods[0]
        phase = 0 if w["wake_together"] else int(rng.integers(period))
        helpers = [next(seeds) for _ in range(3)]
        # The table accesses' own streams: the threads' calls stay the same.
        tables = [np.random.SeedSequence(seed_seq.entropy, spawn_key=(8, i)) for i in range(4)]
        kernel.create_process("replication", "static-replicated",
                              replication_process(np.random.default_rng(next(seeds)), w,
                                                  period, phase, helpers, tables),
                              priority=prio, container=container())
        made = 2 + 3
    for i in range(int(w["poll_threads"])):
        kernel.create_process(f"poll{i}", "static-unique", poller_thread(int(w["poll_quantum"])),
                              priority=int(w["poll_priority"]), container=container())
    for i in range(made, nthreads):
        if i < nactive:
            period = periods[i % len(periods)]
            phase = 0 if w["wake_together"] else int(rng.integers(period))
            prog = system_thread(np.random.default_rng(next(seeds)), period, phase, w)
        else:
            prog = idle_thread()
        kind = "static-replicated" if i % 2 else "static-unique"
        kernel.create_process(f"sys{i}", kind, prog, priority=prio, container=container())
