"""The public API: a scenario in, a result out.

A :class:`Scenario` names everything that decides a run (the machine, the
kernel build and lock strategy, the workload, parameter overrides, the seed);
:func:`simulate` builds the machine and the kernel, runs the workload and
returns a :class:`Result` with per-CPU mode fractions, cycles, lock
statistics and memory counts.  Same scenario, same result, bit for bit.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..kernel.kernel import Kernel
from ..kernel.locking import POLICIES, make_policy
from ..kernel.spinlock import LOCK_KINDS
from ..machine.cpu import MODE_NAMES
from ..machine.engine import Engine
from ..machine.memory import PhysicalMemory
from .. import params as P
from . import workload as W

KERNELS = ("up", "mp")
WORKLOADS = ("paper", "synthetic")
DISTRIBUTIONS = ("exponential", "constant")
SWITCHES = ("background", "readyq_bounce", "kernel_data_bounce", "spin_slowdown")
# Cost-table entries zeroed by the `ideal` machine (no entry/exit or coherence cost).
IDEAL_ZERO = ("trap", "locked_rmw", "line_transfer", "memory_access", "context_switch",
              "cr3_load", "mp_entry_overhead", "spin_slowdown", "timer_insert",
              "ipi_send", "ipi_receive", "page_fault", "page_alloc", "pgdir_copy",
              "cache_refill", "rdtsc", "page_walk")


@dataclass(frozen=True)
class Scenario:
    """One run.  Cycle counts are of the 300 MHz clock.

    ``workload="paper"`` runs the benchmark beside the system threads until
    both benchmark processes finish; ``"synthetic"`` runs one thread per CPU
    alternating ``user_mean`` and ``kernel_mean`` cycles until ``horizon``.
    ``overrides`` replaces entries of the cost and workload tables (see
    ``data/params``); ``calibrated`` applies the fitted values of
    :mod:`reproduce.harness.calibrate` first.
    """

    cpus: int = 2
    kernel: str = "mp"
    lock: str = "giant"
    spinlock: str = "tas"
    workload: str = "paper"
    user_mean: float = 6400.0
    kernel_mean: float = 3600.0
    distribution: str = "exponential"
    ideal: bool = False
    affinity: bool = True
    horizon: int = 30_000_000
    seed: int = 0
    background: bool = True
    readyq_bounce: bool = True
    kernel_data_bounce: bool = True
    spin_slowdown: bool = True
    calibrated: bool = True
    overrides: tuple[tuple[str, Any], ...] = ()
    debug: bool = False

    def __post_init__(self) -> None:
        check(self)
        if isinstance(self.overrides, dict):
            object.__setattr__(self, "overrides", tuple(sorted(self.overrides.items())))

    def with_(self, **kw: Any) -> "Scenario":
        """A copy with fields changed; ``overrides`` given as a dict merge."""
        ov = kw.pop("overrides", None)
        if ov is not None:
            merged = dict(self.overrides)
            merged.update(dict(ov))
            kw["overrides"] = tuple(sorted(merged.items()))
        return replace(self, **kw)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["overrides"] = dict(self.overrides)
        return d

    def key(self) -> str:
        """A canonical JSON string naming the scenario (for caches)."""
        return json.dumps(self.to_dict(), sort_keys=True, default=str)


def _field_names() -> list[str]:
    return [f.name for f in fields(Scenario)]


def check(s: Scenario) -> None:
    """Check every field; raise ConfigError naming the first bad one."""
    def bad(name: str, allowed: str) -> ConfigError:
        return ConfigError(f"{name}={getattr(s, name)!r}: {allowed}")

    if not isinstance(s.cpus, int) or isinstance(s.cpus, bool) or not 1 <= s.cpus <= 32:
        raise bad("cpus", "must be an integer from 1 to 32")
    if s.kernel not in KERNELS:
        raise bad("kernel", f"allowed are {', '.join(KERNELS)}")
    if s.kernel == "up" and s.cpus != 1:
        raise ConfigError(f"kernel='up' with cpus={s.cpus}: the UP kernel runs on 1 CPU")
    if s.lock not in POLICIES:
        raise bad("lock", f"valid are {', '.join(POLICIES)}")
    if s.spinlock not in LOCK_KINDS:
        raise bad("spinlock", f"allowed are {', '.join(LOCK_KINDS)}")
    if s.workload not in WORKLOADS:
        raise bad("workload", f"allowed are {', '.join(WORKLOADS)}")
    if s.distribution not in DISTRIBUTIONS:
        raise bad("distribution", f"allowed are {', '.join(DISTRIBUTIONS)}")
    for name in ("user_mean", "kernel_mean"):
        v = getattr(s, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or v != v:
            raise bad(name, "must be a positive number of cycles")
    if not isinstance(s.horizon, int) or isinstance(s.horizon, bool) or s.horizon <= 0:
        raise bad("horizon", "must be a positive integer number of cycles")
    if not isinstance(s.seed, int) or isinstance(s.seed, bool) or s.seed < 0:
        raise bad("seed", "must be a non-negative integer")
    for name in ("ideal", "affinity", "background", "readyq_bounce", "kernel_data_bounce",
                 "spin_slowdown", "calibrated", "debug"):
        if not isinstance(getattr(s, name), bool):
            raise bad(name, "must be true or false")


@dataclass
class Result:
    """What a run measured.  ``cycles`` is the benchmark's completion time
    (paper workload) or the horizon (synthetic), counted from the start of
    measurement; ``modes`` is per CPU the cycles in user, kernel (holding a
    lock / in the UP kernel), spin and idle, which add up to ``cycles``."""

    scenario: Scenario
    cycles: int
    modes: list[list[int]]
    lock: dict[str, Any]
    locks: dict[str, dict[str, Any]]
    by_entry: pd.DataFrame
    counters: dict[str, int]
    memory: dict[str, int]
    kernel_profile: dict[str, int]
    events: int
    completed: bool
    calls: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def fractions(self) -> pd.DataFrame:
        """Per-CPU mode fractions of elapsed cycles (rows: CPUs)."""
        df = pd.DataFrame(self.modes, columns=list(MODE_NAMES)) / max(1, self.cycles)
        df.index.name = "cpu"
        return df

    def table1(self) -> dict[str, float]:
        """The paper's Table 1 columns, averaged over CPUs: "user" is time
        neither holding nor spinning for the lock (idle included)."""
        f = self.fractions().mean()
        return {"user": float(f["user"] + f["idle"]), "kernel": float(f["kernel"]),
                "spin": float(f["spin"])}

    def to_dict(self) -> dict[str, Any]:
        fr = self.fractions()
        return {
            "scenario": self.scenario.to_dict(),
            "cycles": self.cycles,
            "completed": self.completed,
            "cpus": [{"cpu": i, **{m: float(fr.loc[i, m]) for m in MODE_NAMES}}
                     for i in range(len(self.modes))],
            "lock": self.lock,
            "locks": self.locks,
            "counters": self.counters,
            "memory": self.memory,
            "kernel_profile": self.kernel_profile,
            "calls": self.calls,
            "events": self.events,
        }


_TABLES: dict[str, tuple[tuple[int, int], P.Params]] = {}


def _table(name: str) -> P.Params:
    """``params.load(name)``, parsed once per process for as long as the
    file is unchanged (same modification time and size): a sweep simulates
    thousands of scenarios, and tables are read-only."""
    try:
        st = (P.PARAMS_DIR / f"{name}.toml").stat()
    except OSError:
        return P.load(name)          # which names the missing file
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _TABLES.get(name)
    if hit is None or hit[0] != stamp:
        hit = _TABLES[name] = (stamp, P.load(name))
    return hit[1]


def build_params(s: Scenario) -> tuple[P.Params, P.Params]:
    """The cost and workload tables for *s*: files, then calibration, then
    the ideal machine, then the scenario's overrides."""
    costs = _table("pentium2")
    work = _table("workload")
    fitted: dict[str, Any] = {}
    if s.calibrated:
        from .calibration import calibration
        fitted = calibration()
    ov = dict(fitted)
    if s.ideal:
        ov.update({k: 0 for k in IDEAL_ZERO})
        ov["timer_hz"] = 0
        ov["readyq_lines"] = 0
        ov["kernel_shared_lines"] = 0
    ov.update(dict(s.overrides))
    ov["affinity"] = s.affinity
    cost_ov = {k: v for k, v in ov.items() if k in costs}
    work_ov = {k: v for k, v in ov.items() if k in work}
    unknown = set(ov) - set(cost_ov) - set(work_ov)
    if unknown:
        raise ConfigError(f"unknown parameter(s) {', '.join(sorted(unknown))}: known are "
                          f"{', '.join(sorted(set(costs) | set(work)))}")
    costs, work = costs.replace(**cost_ov), work.replace(**work_ov)
    check_params(costs, work)
    return costs, work


# Allowed ranges of parameter-table entries: (low, high), inclusive; None = open.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "clock_hz": (1, None), "cpus": (1, 32), "memory_bytes": (1 << 20, 1 << 32),
    "tlb_entries": (1, None), "spin_slowdown": (0, 10), "active_fraction": (0, 1),
    "spawn_heap_prob": (0, 1), "spawn_per_tick": (0, 100), "processes": (1, 64),
    "work_cycles": (1, None), "iteration_cycles": (1, None), "call_every": (0, None),
    "timer_hz": (0, 100_000), "timeslice_ticks": (1, None), "timer_phase_skew": (0, 1),
    "threads": (0, 10_000), "calls_per_wakeup": (1, None), "bg_kernel_cycles": (1, None),
    "bg_user_cycles": (1, None), "spawn_pages": (0, 1000), "readyq_lines": (0, 64),
    "kernel_shared_lines": (0, 1024), "irq_per_tick": (0, 10_000), "irq_cycles_ratio": (0, 100),
    "irq_burst": (1, 1000), "undeferrable_share": (-1, 0.95), "loop_bus_misses": (0, 1000),
    "kernel_bus_share": (0, 1), "user_bus_share": (0, 1), "fsb_hz": (1, None),
    "fsb_line_clocks": (1, None),
}
# Allowed words of the string parameters.
CHOICES: dict[str, tuple[str, ...]] = {
    "irq_routing": ("cpu0", "spread", "lowest"), "idle_wakeup": ("ipi", "tick"),
    "placement": ("idle", "same"),
}


def check_params(*tables: P.Params) -> None:
    """Every entry in range: numbers >= 0 unless RANGES says otherwise, and
    periods >= 1 tick.  Raises ConfigError naming the entry."""
    for t in tables:
        for key, v in t.items():
            if key in CHOICES and v not in CHOICES[key]:
                raise ConfigError(f"parameter {key}={v!r}: allowed are {', '.join(CHOICES[key])}")
            if isinstance(v, bool) or not isinstance(v, (int, float, list)):
                continue
            if isinstance(v, list):
                if key == "period_ticks" and (not v or any(
                        not isinstance(x, int) or x < 1 for x in v)):
                    raise ConfigError(f"period_ticks={v!r}: must be a non-empty list of "
                                      f"integers >= 1 (ticks)")
                continue
            lo, hi = RANGES.get(key, (0, None))
            if v != v or (lo is not None and v < lo) or (hi is not None and v > hi):
                span = f"from {lo}" + (f" to {hi}" if hi is not None else " up")
                raise ConfigError(f"parameter {key}={v!r}: allowed {span}")


def simulate(s: Scenario) -> Result:
    """Run scenario *s* and return what it measured."""
    costs, w = build_params(s)
    engine = Engine()
    mem = PhysicalMemory(costs["memory_bytes"])
    ss = np.random.SeedSequence(s.seed)
    rng = np.random.default_rng(ss.spawn(1)[0])
    policy = make_policy("none" if s.kernel == "up" else s.lock, s.spinlock, s.cpus) \
        if s.kernel == "mp" else _none_policy(s)
    mm = _memory_manager(mem, s)
    k = Kernel(engine, mem, s.cpus, s.kernel, policy, costs, w, rng, mm=mm, debug=s.debug,
               switches={"readyq_bounce": s.readyq_bounce,
                         "kernel_data_bounce": s.kernel_data_bounce,
                         "spin_slowdown": s.spin_slowdown})
    k.boot()
    if s.workload == "paper":
        return _run_paper(s, k, w, ss)
    return _run_synthetic(s, k, ss)


def _none_policy(s: Scenario):
    from ..kernel.locking import LockPolicy
    return LockPolicy(s.spinlock, s.cpus)


def _memory_manager(mem: PhysicalMemory, s: Scenario):
    try:
        from ..kernel.vm import MemoryManager
    except ImportError:          # pragma: no cover - during bring-up only
        return None
    return MemoryManager(mem, s.cpus, s.kernel == "mp")


WARMUP_TICKS = 3


def _run_paper(s: Scenario, k: Kernel, w, ss) -> Result:
    engine = k.engine
    if s.background:
        W.start_system(k, w, ss.spawn(1)[0], with_containers=k.mm is not None)
        if k.tick_period:
            ratio = w["irq_cycles_ratio"]
            if w["undeferrable_share"] >= 0:
                ratio = W.irq_ratio_for_share(w, w["undeferrable_share"])
            k.start_devices(w["irq_per_tick"] / k.tick_period,
                            w["bg_kernel_cycles"] * ratio, w["irq_routing"],
                            np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(11,))),
                            burst=w["irq_burst"], gap=int(w["irq_burst_gap"]),
                            alternate=bool(w["irq_burst_alternate"]))
    k.start()
    t0 = WARMUP_TICKS * k.tick_period if k.tick_period else 0
    engine.run(until=t0)
    snap = [c.cpu.account(t0) for c in k.cores]
    k.reset_stats()
    bench: set = set()
    state = {"end": None}

    def on_exit(t) -> None:
        if t in bench:
            bench.discard(t)
            if not bench:
                state["end"] = engine.now
                engine.stop()

    k.on_exit = on_exit
    for i in range(int(w["processes"])):
        prog = W.benchmark_loop(int(w["work_cycles"]), int(w["iteration_cycles"]),
                                int(w["call_every"]), int(w["call_cycles"]))
        container = k.mm.container_create() if k.mm is not None else None
        # placement "same": created on CPU 0 (where the shell that starts
        # them runs); matters only under affinity, which keeps them there.
        home = 0 if w["placement"] == "same" and k.affinity else None
        bench.add(k.create_process(f"bench{i}", "benchmark", prog, int(w["priority"]),
                                   container=container, cpu=home))
    k.admit()
    limit = t0 + 40 * int(w["work_cycles"]) * int(w["processes"])
    engine.run(until=limit)
    end = state["end"] if state["end"] is not None else engine.now
    return _result(s, k, snap, t0, end, completed=state["end"] is not None)


def _run_synthetic(s: Scenario, k: Kernel, ss) -> Result:
    seeds = ss.spawn(s.cpus + 1)
    for i in range(s.cpus):
        prog = W.synthetic_loop(np.random.default_rng(seeds[i]), s.user_mean, s.kernel_mean,
                                s.distribution)
        k.create_process(f"synthetic{i}", "benchmark", prog, cpu=i)
    k.start()
    k.engine.run(until=s.horizon)
    snap = [[0, 0, 0, 0] for _ in k.cores]
    return _result(s, k, snap, 0, s.horizon, completed=True)


def _result(s: Scenario, k: Kernel, snap, t0: int, end: int, completed: bool) -> Result:
    if s.debug:
        k.check_accounting()
    modes = [[a - b for a, b in zip(c.cpu.account(end), sn)] for c, sn in zip(k.cores, snap)]
    elapsed = end - t0
    if s.debug:
        for i, m in enumerate(modes):
            if sum(m) != elapsed:
                from ..kernel.kernel import InvariantError
                raise InvariantError(f"CPU {i}: modes {m} do not add up to {elapsed}")
    locks = {l.name: l.stat.as_dict() for l in k.policy.locks}
    for l in k.policy.locks:
        locks[l.name]["bounces"] = l.line.bounces
    rows = []
    for l in k.policy.locks:
        for entry, st in sorted(l.by_entry.items()):
            rows.append({"lock": l.name, "entry": entry, **st.as_dict()})
    by_entry = pd.DataFrame(rows)
    cpu_rows = []
    for l in k.policy.locks:
        for cpu, st in sorted(l.by_cpu.items()):
            cpu_rows.append({"lock": l.name, "cpu": cpu, **st.as_dict()})
    extra = {"lock_by_cpu": pd.DataFrame(cpu_rows),
             "warmup": {"cycles": t0, **k.warmup}}
    total = _total_lockstat(locks)
    memory = {"frames_in_use": k.mem.in_use, "frames_peak": k.mem.peak}
    if k.mm is not None:
        memory.update({key: v for key, v in k.mm.stats().items() if isinstance(v, (int, float))})
    readyq_bounces = sum(lines.bounces for lines in k.readyq.lines)
    counters = dict(k.counters)
    counters["readyq_bounces"] = readyq_bounces
    for c in k.cores:
        counters[f"irqs_cpu{c.id}"] = c.irqs
    # The benchmark's own user-mode cycles (wall cycles in user mode: a loop
    # slowed by the bus takes more of them than its solo work).
    counters["bench_user_cycles"] = sum(t.user_cycles for t in k.threads
                                        if t.process.kind == "benchmark")
    calls = sum(st.acquisitions for l in k.policy.locks for st in [l.stat]) \
        if k.policy.locks else counters["entries"]
    return Result(s, elapsed, modes, total, locks, by_entry, counters, memory,
                  dict(sorted(k.kcycles.items())), k.engine.events, completed, calls, extra)


def _total_lockstat(locks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """lock_stat summed over all locks (for one-lock strategies: the lock)."""
    out: dict[str, Any] = {}
    for st in locks.values():
        for key, v in st.items():
            if key.endswith("_min"):
                out[key] = min(out.get(key, v), v) if v else out.get(key, 0)
            elif key.endswith("_max"):
                out[key] = max(out.get(key, 0), v)
            elif not key.endswith("_avg"):
                out[key] = out.get(key, 0) + v
    out["waittime_avg"] = out["waittime_total"] / out["contentions"] if out.get("contentions") else 0.0
    out["holdtime_avg"] = out["holdtime_total"] / out["acquisitions"] if out.get("acquisitions") else 0.0
    if not locks:
        out = {k: 0 for k in ("acquisitions", "contentions", "waittime_total", "holdtime_total")}
    return out
