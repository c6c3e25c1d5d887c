"""Running a scenario: :func:`simulate` builds the machine and the kernel,
starts the workload (the paper's benchmark beside the system threads, or one
synthetic thread per CPU), runs the engine and returns what was measured
(:class:`~reproduce.bench.result.Result`).  Cycle counts are of the 300 MHz
clock."""
from __future__ import annotations

import gc

import numpy as np

from ..errors import ConfigError
from ..kernel.forward import kernel_class
from ..kernel.kernel import Kernel
from ..kernel import sched
from ..kernel.locking import make_policy
from ..machine.engine import Engine
from ..machine.memory import PhysicalMemory
from . import workload as W
from .result import Result, build_result
from .scenario import Scenario, build_params, processes, run_cycles, up_run_estimate


def simulate(s: Scenario, record: tuple[int, int] | None = None) -> Result:
    """Run scenario *s* and return what it measured.  *record*: a window
    (from, to) of cycles counted from the start of measurement (the paper
    workload measures after ``WARMUP_TICKS`` ticks) whose every CPU mode,
    kernel entry, lock hand-off and IPI is recorded in
    ``Result.extra["recording"]`` (``kernel/record.py``: the timeline and
    the Chrome trace are drawn from it); results are the same with or
    without it."""
    if record is not None:
        ok = isinstance(record, (tuple, list)) and len(record) == 2 and all(
            isinstance(x, int) and not isinstance(x, bool) for x in record)
        if not ok or not 0 <= record[0] < record[1]:
            raise ConfigError(f"record={record!r}: must be (from, to) cycles with "
                              "0 <= from < to")
    # The garbage collector waits while the model runs: a run's objects
    # (threads, page frames, events) live as long as it does, and the
    # collector would only walk them again and again; the run's own cycles
    # (the kernel and its CPUs refer to each other) are collected after it.
    # No result depends on when the collector runs.  (E8's fits: 11 % less
    # CPU; a run's memory stays flat, its net allocations being small.)
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _simulate(s, record)
    finally:
        if collecting:
            gc.enable()


def _simulate(s: Scenario, record: tuple[int, int] | None) -> Result:
    """:func:`simulate` once its arguments are checked."""
    costs, w = build_params(s)
    engine = Engine()
    mem = PhysicalMemory(costs["memory_bytes"])
    ss = np.random.SeedSequence(s.seed)
    rng = np.random.default_rng(ss.spawn(1)[0])
    policy = make_policy("none" if s.kernel == "up" else s.lock, s.spinlock, s.cpus) \
        if s.kernel == "mp" else _none_policy(s)
    mm = _memory_manager(mem, s)
    k = kernel_class(policy)(engine, mem, s.cpus, s.kernel, policy, costs, w, rng, mm=mm,
                             debug=s.debug, switches={"readyq_bounce": s.readyq_bounce,
                                                      "kernel_data_bounce": s.kernel_data_bounce})
    k.boot()
    if record is not None:
        t0 = measure_from(s, k)
        k.record(t0 + record[0], t0 + record[1])
    if s.workload == "paper":
        return run_paper(s, k, w, ss)
    return run_synthetic(s, k, ss)


def measure_from(s: Scenario, k: Kernel) -> int:
    """The cycle at which measurement starts: after ``WARMUP_TICKS`` ticks
    on the paper workload, at once on the synthetic one."""
    if s.workload == "paper" and k.tick_period:
        return WARMUP_TICKS * k.tick_period
    return 0


def _none_policy(s: Scenario):
    from ..kernel.locking import LockPolicy
    return LockPolicy(s.spinlock, s.cpus)


def _memory_manager(mem: PhysicalMemory, s: Scenario):
    try:
        from ..kernel.vm import MemoryManager
    except ImportError:          # pragma: no cover - during bring-up only
        return None
    return MemoryManager(mem, s.cpus, s.kernel == "mp")


# Timer ticks run before measurement starts (the system threads get going).
WARMUP_TICKS = 3


def run_paper(s: Scenario, k: Kernel, w, ss: np.random.SeedSequence) -> Result:
    """The paper's benchmark: the system threads, jobs and device interrupts
    (``background``) start, ``WARMUP_TICKS`` ticks pass, then the benchmark
    processes run until they all exit (or the run's limit,
    :func:`~reproduce.bench.scenario.run_cycles`, is reached: then the
    result is not ``completed``).  *w* is the workload table."""
    engine = k.engine
    if s.background:
        W.start_system(k, w, ss.spawn(1)[0], with_containers=k.mm is not None)
        if k.tick_period:
            ratio = w["irq_cycles_ratio"]
            if w["undeferrable_share"] >= 0:
                ratio = W.irq_ratio_for_share(w, w["undeferrable_share"])
            k.devices.start(w["irq_hz"] / k.c["clock_hz"],
                            w["bg_kernel_cycles"] * ratio, w["irq_routing"],
                            np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(11,))),
                            burst=w["irq_burst"], gap=int(w["irq_burst_gap"]),
                            alternate=bool(w["irq_burst_alternate"]))
    k.start()
    t0 = measure_from(s, k)
    engine.run(until=t0)
    snap = k.modes(t0)
    k.reset_stats()
    bench = []
    for i in range(processes(s, w)):
        prog = W.benchmark_loop(int(w["work_cycles"]), int(w["iteration_cycles"]),
                                int(w["call_every"]), int(w["call_cycles"]))
        container = k.mm.container_create() if k.mm is not None else None
        # placement "same": created on CPU 0 (where the shell that starts
        # them runs); matters only under affinity, which keeps them there.
        home = 0 if w["placement"] == "same" and k.affinity else None
        bench.append(k.create_process(f"bench{i}", "benchmark", prog, int(w["priority"]),
                                      container=container, cpu=home))
    if s.background and w["bg_fixed_share"]:
        # The background's fixed work (E8's bg_fixed): started with the benchmark.
        W.start_fixed_work(k, w, np.random.SeedSequence(s.seed, spawn_key=(13,)),
                           up_run_estimate(s, k.c, w), with_containers=k.mm is not None)
    k.wait_for(bench)
    sched.admit(k)
    limit = t0 + run_cycles(s, w)
    engine.run(until=limit)
    end = k.done_at if k.done_at is not None else engine.now
    return build_result(s, k, snap, t0, end, completed=k.done_at is not None)


def run_synthetic(s: Scenario, k: Kernel, ss: np.random.SeedSequence) -> Result:
    """One synthetic thread per CPU, alternating user and kernel phases,
    for ``s.horizon`` cycles, measured from cycle 0."""
    seeds = ss.spawn(s.cpus + 1)
    for i in range(s.cpus):
        prog = W.synthetic_loop(np.random.default_rng(seeds[i]), s.user_mean, s.kernel_mean,
                                s.distribution)
        k.create_process(f"synthetic{i}", "benchmark", prog, cpu=i)
    k.start()
    k.engine.run(until=s.horizon)
    snap = [[0, 0, 0, 0] for _ in k.cores]
    return build_result(s, k, snap, 0, s.horizon, completed=True)
