"""Beyond the paper (S1-S6): section 7's future work and related work.

Finer locks, a separate interrupt lock, subsystem locks, master-slave and
the application-kernel approach as lock strategies of the MP kernel
(:mod:`reproduce.kernel.locking`), 1 to 32 CPUs, test-and-set against ticket
spinlocks, and the simulator against theory.  Each is a ``Scenario(lock=NAME)``
run through :func:`~reproduce.bench.sweep.sweep`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..kernel.locking import POLICIES as _POLICIES
from ..kernel.spinlock import LOCK_KINDS
from ..bench.scenario import MAX_CPUS, Scenario
from ..reference import theory
from ..bench import runs as _runs
from .paper import SEEDS, _seeds


DESIGNS: tuple[str, ...] = tuple(_POLICIES)
LOCK_DESIGNS: tuple[str, ...] = tuple(d for d in DESIGNS if not _POLICIES[d].forwarding)
SCALING_CPUS = (1, 2, 4, 8, 16, 32)


def _check_designs(designs: tuple) -> list[str]:
    designs = [designs] if isinstance(designs, str) else list(designs)
    if not designs:
        raise ConfigError("designs=(): name at least one lock strategy")
    for d in designs:
        if d not in _POLICIES:
            raise ConfigError(f"design {d!r}: valid are {', '.join(_POLICIES)}")
    return designs


def _check_cpu_list(cpus: tuple) -> list[int]:
    cpus = [cpus] if isinstance(cpus, int) else list(cpus)
    if not cpus:
        raise ConfigError("cpus=(): name at least one CPU count")
    for n in cpus:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_CPUS:
            raise ConfigError(f"cpus: {n!r} is not an integer from 1 to {MAX_CPUS}")
    return [int(n) for n in cpus]


def _check_choice(name: str, value: str, allowed: tuple) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r}: allowed are {', '.join(allowed)}")


def _synthetic_user_cycles(row) -> float:
    """User-mode cycles all CPUs completed in a synthetic run (each loop
    iteration is one user phase: this is its throughput)."""
    return float(row["user_only"]) * int(row["cpus"]) * int(row["cycles"])


# --------------------------------------------------------------------- S1
def s1_scaling(cpus: tuple = SCALING_CPUS, designs: tuple = DESIGNS, seeds: int = 2,
               workload: str = "both", spinlock: str = "tas",
               work_cycles: int = 15_000_000, horizon: int = 10_000_000,
               calibrated: bool = True, progress: bool = False) -> pd.DataFrame:
    """Speedup against the number of CPUs for every design.

    ``workload="paper"``: the paper's node (its ~100 system threads, device
    interrupts, dynamic processes: the same *rate* of system work whatever
    the CPU count) running N benchmark processes of *work_cycles* each on N
    CPUs (``processes=N``, so every CPU has one).  Speedup is the paper's
    own definition generalised: the UP kernel's time for the same job (N
    processes, same system, one CPU) over the design's time on N CPUs,
    seed by seed; at N=2 it is E2's speedup.  Because the model's system
    work is a rate, not a fixed amount, more CPUs also dilute it, so this
    speedup can exceed N: ``capacity_bound`` = (N - b)/(1 - b) is what a
    perfect machine would reach, b being the UP run's share of time not
    spent on the benchmark.  ``amdahl_bound`` and ``lock_bound`` are the
    paper's bounds from the UP run's kernel share k (1/(k + (1-k)/N) and
    min(N, 1/k)); they assume the kernel work is a fixed amount and are
    shown for comparison with E2.

    ``workload="synthetic"``: one thread per CPU alternating exponential
    user (6400) and kernel (3600) phases, all kernel work in one subsystem
    (``sched``), for *horizon* cycles.  Speedup is throughput: the user-mode
    cycles all CPUs completed over those of the UP kernel on one CPU in the
    same horizon.  Bounds from the nominal kernel share k = K/(U+K) = 0.36:
    ``amdahl_bound`` and ``lock_bound`` = min(N, (U+K)/K).  Since all its
    kernel work is one subsystem, ``subsystem`` and ``fine`` cannot split it:
    this is the single-contended-resource case.  The bounds take the
    serialized work per kernel call to be K, as on one CPU; master-slave
    can slightly exceed ``lock_bound`` because it moves the trap and the
    shared-data cache misses out of the serialized part (the trap runs on
    the slave, the kernel's data never leaves the master's cache), while
    the UP reference pays them inside its kernel time.

    ``workload="both"`` runs both.  Returns one row per (workload, design,
    cpus, seed): ``workload, design, spinlock, cpus, seed, speedup, cycles,
    ref_cycles`` (the UP reference's), ``completed`` (False: the benchmark
    did not finish before the simulator's time limit, so its true time is
    longer and its true speedup at most the one shown), ``user, kernel,
    spin, idle`` (mean fractions per CPU; ``user`` excludes idle here),
    ``kernel_share, amdahl_bound, lock_bound,
    capacity_bound`` (synthetic: capacity_bound = N).

    With the default ``spinlock="tas"`` the giant lock collapses on the
    Pentium II's shared bus (below one CPU's speed from 8 CPUs on the
    synthetic workload, by 32 on the paper's): two or more test-and-set spinners steal
    the lock's line from each other without pause, and the holder's cache
    misses queue behind those transfers (``Result.locks[...]
    ["bus_stall_cycles"]``); the other algorithms are compared in L1 and
    notebook 11.
    """
    ns = _check_cpu_list(cpus)
    ds = _check_designs(designs)
    ss = _seeds(seeds)
    _check_choice("workload", workload, ("paper", "synthetic", "both"))
    _check_choice("spinlock", spinlock, LOCK_KINDS)
    if isinstance(work_cycles, bool) or not isinstance(work_cycles, int) or work_cycles < 1:
        raise ConfigError(f"work_cycles={work_cycles!r}: must be a positive integer")
    kinds = ["paper", "synthetic"] if workload == "both" else [workload]
    out = []
    for wl in kinds:
        if wl == "paper":
            def ov(n: int) -> dict:
                return {"processes": n, "work_cycles": int(work_cycles)}
            refs = {(n, s): Scenario(cpus=1, kernel="up", seed=s, calibrated=calibrated,
                                     overrides=ov(n)) for n in ns for s in ss}
            runs = {(d, n, s): Scenario(cpus=n, lock=d, spinlock=spinlock, seed=s,
                                        calibrated=calibrated, overrides=ov(n))
                    for d in ds for n in ns for s in ss}
        else:
            base = dict(workload="synthetic", horizon=int(horizon), calibrated=False)
            refs = {(n, s): Scenario(cpus=1, kernel="up", seed=s, **base)
                    for n in ns for s in ss}
            runs = {(d, n, s): Scenario(cpus=n, lock=d, spinlock=spinlock, seed=s, **base)
                    for d in ds for n in ns for s in ss}
        res = _runs.run({**{("ref", *k): v for k, v in refs.items()}, **runs},
                        progress=progress, desc=f"S1 {wl}")
        for (d, n, s) in runs:
            r = res[(d, n, s)]
            ref = res[("ref", n, s)]
            if wl == "paper":
                speedup = float(ref["cycles"]) / float(r["cycles"])
                k = float(ref["kernel"])
                b = 1.0 - n * int(work_cycles) / float(ref["cycles"])
                capacity = (n - b) / (1.0 - b)
            else:
                speedup = _synthetic_user_cycles(r) / _synthetic_user_cycles(ref)
                k = 3600.0 / (6400.0 + 3600.0)
                capacity = float(n)
            out.append({"workload": wl, "design": d, "spinlock": spinlock, "cpus": n,
                        "seed": s, "speedup": speedup, "cycles": int(r["cycles"]),
                        "ref_cycles": int(ref["cycles"]), "completed": bool(r["completed"]),
                        "user": float(r["user_only"]), "kernel": float(r["kernel"]),
                        "spin": float(r["spin"]), "idle": float(r["idle"]),
                        "kernel_share": k, "amdahl_bound": theory.amdahl(k, n),
                        "lock_bound": theory.lock_bound(k, n), "capacity_bound": capacity})
    return pd.DataFrame(out)


# --------------------------------------------------------------------- S2
def s2_kernel_fraction(cpus: int = 8, fractions: tuple = (0.02, 0.05, 0.1, 0.2, 0.36, 0.5, 0.8),
                       designs: tuple = DESIGNS, seeds: int = 2, phase_cycles: int = 10_000,
                       spinlock: str = "tas", horizon: int = 10_000_000,
                       progress: bool = False) -> pd.DataFrame:
    """Speedup against the kernel fraction k = K/(U+K) at a fixed number of
    CPUs, synthetic workload (one thread per CPU, exponential phases with
    U + K = *phase_cycles*).  Speedup as in S1 (user-mode throughput over the
    UP kernel's on one CPU with the same phases).  Returns one row per
    (design, kernel_fraction, seed): ``design, spinlock, cpus,
    kernel_fraction, seed, speedup, user, kernel, spin, amdahl_bound,
    lock_bound``."""
    n = _check_cpu_list(cpus)[0] if isinstance(cpus, (int, np.integer)) else None
    if n is None:
        raise ConfigError(f"cpus={cpus!r}: one integer from 1 to {MAX_CPUS}")
    ds = _check_designs(designs)
    ss = _seeds(seeds)
    _check_choice("spinlock", spinlock, LOCK_KINDS)
    fr = [fractions] if isinstance(fractions, (int, float)) else list(fractions)
    for f in fr:
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f < 1:
            raise ConfigError(f"fractions: {f!r} is not a kernel fraction in (0, 1)")

    def phases(f: float) -> dict:
        return {"user_mean": float(phase_cycles) * (1 - f), "kernel_mean": float(phase_cycles) * f}

    base = dict(workload="synthetic", horizon=int(horizon), calibrated=False)
    refs = [(f, s) for f in fr for s in ss]
    runs = [(d, f, s) for d in ds for f in fr for s in ss]
    res = _runs.run({**{("ref", f, s): Scenario(cpus=1, kernel="up", seed=s, **phases(f), **base)
                        for f, s in refs},
                     **{(d, f, s): Scenario(cpus=n, lock=d, spinlock=spinlock, seed=s,
                                            **phases(f), **base) for d, f, s in runs}},
                    progress=progress, desc="S2")
    ref_rows = {(f, s): res[("ref", f, s)] for f, s in refs}
    out = []
    for (d, f, s) in runs:
        r = res[(d, f, s)]
        out.append({"design": d, "spinlock": spinlock, "cpus": n, "kernel_fraction": f,
                    "seed": s,
                    "speedup": _synthetic_user_cycles(r) / _synthetic_user_cycles(ref_rows[(f, s)]),
                    "user": float(r["user_only"]), "kernel": float(r["kernel"]),
                    "spin": float(r["spin"]), "amdahl_bound": theory.amdahl(f, n),
                    "lock_bound": theory.lock_bound(f, n)})
    return pd.DataFrame(out)


# --------------------------------------------------------------------- S3
def s3_kernel_profile(seeds: int = 2, cpus: int = 2, lock: str = "subsystem",
                      calibrated: bool = True, progress: bool = False) -> pd.DataFrame:
    """Where kernel time goes (``Result.kernel_profile``), on the UP kernel
    and on the MP kernel with strategy *lock* on *cpus* CPUs, paper
    workload.  This is the profile the subsystem split was decided from.
    Under a strategy that splits paths into parts (``subsystem``, ``fine``,
    ``giant+irq``) the ready-queue parts of ticks, sleeps, spawns and exits
    appear as their own rows (subsystem ``readyq``); on the UP kernel and
    under ``giant`` they are inside their entry's row.

    Returns one row per (build, seed, entry:subsystem): ``build`` ("UP" or
    "MP <lock>"), ``seed, key, entry, subsystem, cycles, share`` (of that
    run's kernel cycles) and ``lock_subsystem`` (the subsystem lock it
    falls under with one lock per subsystem: ``readyq`` -> ``sched``,
    ``irq`` -> none)."""
    ss = _seeds(seeds)
    if lock not in _POLICIES:
        raise ConfigError(f"lock={lock!r}: valid are {', '.join(_POLICIES)}")
    from ..bench.run import simulate
    rows = []
    runs = [("UP", Scenario(cpus=1, kernel="up", seed=s, calibrated=calibrated)) for s in ss] + \
        [(f"MP {lock}", Scenario(cpus=cpus, lock=lock, seed=s, calibrated=calibrated))
         for s in ss]
    for build, sc in runs:
        prof = simulate(sc).kernel_profile
        total = sum(prof.values()) or 1
        for key, cyc in prof.items():
            entry, sub = key.split(":", 1)
            rows.append({"build": build, "seed": sc.seed, "key": key, "entry": entry,
                         "subsystem": sub, "cycles": int(cyc), "share": cyc / total,
                         "lock_subsystem": {"readyq": "sched", "irq": "none"}.get(sub, sub)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------- S4
def s4_theory(cpus: tuple = (2, 4, 8), fractions: tuple = (0.1, 0.36, 0.5),
              spinlocks: tuple = ("tas", "ticket"), phase_cycles: int = 10_000,
              horizon: int = 200_000_000, seed: int = 0,
              progress: bool = False) -> pd.DataFrame:
    """The simulator against theory on the *ideal* machine (no trap, lock,
    coherence or tick costs), giant lock, synthetic workload, kernel share
    k = K/(U+K) with U + K = *phase_cycles*:

    * constant phases: speedup = kernel passes per cycle x (U+K) against
      ``theory.constant_phases`` (= the lock bound min(N, (U+K)/K));
    * exponential phases: lock utilization, mean number spinning, per-CPU
      user/kernel/spin fractions and the speedup against
      ``theory.machine_repairman`` (M/M/1//N).  Test-and-set hands the lock
      to a random spinner and ticket in FIFO order; M/M/1//N's means do not
      depend on the order, and on the ideal machine a hand-off costs no
      cycles (line_transfer = 0), so both must match.

    Returns one row per (distribution, spinlock, cpus, kernel_fraction,
    metric): ``model, theory, abs_err`` (and ``rel_err``).  Statistical
    error of the exponential case shrinks as 1/sqrt(horizon): at 2e8 cycles
    its standard deviation is about 0.002 for the utilization."""
    ns = _check_cpu_list(cpus)
    kinds = [spinlocks] if isinstance(spinlocks, str) else list(spinlocks)
    for kind in kinds:
        _check_choice("spinlock", kind, LOCK_KINDS)
    fr = [fractions] if isinstance(fractions, (int, float)) else list(fractions)
    for f in fr:
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f < 1:
            raise ConfigError(f"fractions: {f!r} is not a kernel fraction in (0, 1)")
    grid = [(dist, kind, n, f) for dist in ("constant", "exponential") for kind in kinds
            for n in ns for f in fr]
    scen = [Scenario(ideal=True, workload="synthetic", distribution=dist, cpus=n,
                     spinlock=kind, user_mean=float(phase_cycles) * (1 - f),
                     kernel_mean=float(phase_cycles) * f, horizon=int(horizon), seed=seed,
                     calibrated=False) for dist, kind, n, f in grid]
    res = _runs.run(dict(zip(grid, scen)), progress=progress, desc="S4")
    rows = []
    for (dist, kind, n, f), r in res.items():
        u, k = float(phase_cycles) * (1 - f), float(phase_cycles) * f
        h = int(r["cycles"])
        model = {"speedup": float(r["lock_acquisitions"]) / h * (u + k),
                 "utilization": float(r["kernel"]) * n,
                 "waiting": float(r["spin"]) * n,
                 "user": float(r["user_only"]), "kernel": float(r["kernel"]),
                 "spin": float(r["spin"])}
        th = theory.constant_phases(n, u, k) if dist == "constant" else \
            theory.machine_repairman(n, u, k)
        th = dict(th)
        th.setdefault("waiting", th["spin"] * n)
        for metric, v in model.items():
            t = float(th[metric])
            rows.append({"distribution": dist, "spinlock": kind, "cpus": n,
                         "kernel_fraction": f, "metric": metric, "model": v, "theory": t,
                         "abs_err": abs(v - t), "rel_err": abs(v - t) / abs(t) if t else 0.0})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------- S5
def s5_forwarding_vs_giant(cpus: tuple = (2, 4, 8, 16, 32), seeds: int = 2,
                           work_cycles: int = 15_000_000, horizon: int = 10_000_000,
                           calibrated: bool = True, progress: bool = False) -> pd.DataFrame:
    """The paper's claim (section 7): "Neither the master-slave approach nor
    the application kernel approach provide any additional performance
    benefit over our giant lock."  Speedups (as in S1, both workloads) of
    ``master-slave`` and ``appkernel`` beside the giant lock with
    test-and-set (the paper's) and with ticket spinlocks.

    Returns one row per (workload, cpus): the mean speedups ``giant_tas,
    giant_ticket, master_slave, appkernel``, ``gain_vs_giant`` = best of
    master-slave/appkernel over giant (tas) - 1, ``gain_vs_best_giant`` =
    the same over the better of the two giant locks, ``verdict`` (against
    the paper's test-and-set giant lock) and ``verdict_vs_best_giant``:
    "confirmed" when neither forwarding design beats that giant lock by
    more than 1%, else "refuted".

    What decides the verdict (run the function, or notebook 08, for the
    current numbers): at 2 CPUs every kernel entry of the second CPU pays
    the forwarding and waits, and the master's own user work is preempted;
    with more CPUs the giant lock's fate depends on its spinlock algorithm
    (test-and-set spinners steal its line from each other on the shared
    bus; see notebook 11), while a slave waits on its own completion flag
    and the master keeps the kernel's data in its own cache and runs the
    traps outside the serialized part."""
    ns = _check_cpu_list(cpus)
    parts = []
    for design, kind, col in (("giant", "tas", "giant_tas"), ("giant", "ticket", "giant_ticket"),
                              ("master-slave", "tas", "master_slave"),
                              ("appkernel", "tas", "appkernel")):
        df = s1_scaling(cpus=tuple(ns), designs=(design,), seeds=seeds, workload="both",
                        spinlock=kind, work_cycles=work_cycles, horizon=horizon,
                        calibrated=calibrated, progress=progress)
        parts.append(df.groupby(["workload", "cpus"])["speedup"].mean().rename(col))
    out = pd.concat(parts, axis=1).reset_index()
    fwd = out[["master_slave", "appkernel"]].max(axis=1)
    out["gain_vs_giant"] = fwd / out["giant_tas"] - 1.0
    out["gain_vs_best_giant"] = fwd / out[["giant_tas", "giant_ticket"]].max(axis=1) - 1.0
    out["verdict"] = np.where(out["gain_vs_giant"] > 0.01, "refuted", "confirmed")
    out["verdict_vs_best_giant"] = np.where(out["gain_vs_best_giant"] > 0.01, "refuted",
                                            "confirmed")
    return out


# --------------------------------------------------------------------- S6
def s6_spinlock_kind(cpus: tuple = (2, 8, 32), designs: tuple = LOCK_DESIGNS, seeds: int = 2,
                     work_cycles: int = 15_000_000, calibrated: bool = True,
                     progress: bool = False) -> pd.DataFrame:
    """Test-and-set against ticket spinlocks for every strategy that uses
    spinlocks, paper workload (speedup as in S1).  Returns one row per
    (design, cpus, seed): ``design, cpus, seed, tas, ticket`` (speedups),
    ``ticket_gain`` = ticket/tas - 1, ``tas_completed, ticket_completed``."""
    frames = {kind: s1_scaling(cpus=cpus, designs=designs, seeds=seeds, workload="paper",
                               spinlock=kind, work_cycles=work_cycles, calibrated=calibrated,
                               progress=progress) for kind in ("tas", "ticket")}
    keys = ["design", "cpus", "seed"]
    a = frames["tas"].set_index(keys)
    b = frames["ticket"].set_index(keys)
    out = pd.DataFrame({"tas": a["speedup"], "ticket": b["speedup"]})
    out["ticket_gain"] = out["ticket"] / out["tas"] - 1.0
    out["tas_completed"] = a["completed"]
    out["ticket_completed"] = b["completed"]
    return out.reset_index()




# ------------------------------------------------------------- L1 to L3: locks
VALIDATION_CPUS = (2, 4, 8, 16, 32)
LOCK_CPUS = (1, 2, 4, 8, 16, 32, 64)
WARMUP_ROUNDS = 16


def l1_lock_validation(cpus: tuple = VALIDATION_CPUS, user_mean: float = 6400.0,
                       kernel_mean: float = 3600.0, miss_cycles: int = 200,
                       horizon: int = 400_000_000, seed: int = 0,
                       progress: bool = False) -> pd.DataFrame:
    """The giant lock on the synthetic workload (exponential phases, ideal
    machine: no trap, tick or coherence cost) against two analytic models,
    ticket spinlock:

    * ``free`` hand-off (every lock operation costs nothing) against the
      finite-source queue M/M/1//N (``theory.machine_repairman``);
    * ``waiter-dependent`` hand-off: a read of a line another cache shares
      costs *miss_cycles* (``memory_access``), everything else nothing.  The
      ticket lock's release then makes its w waiters re-read one after
      another and the next ticket's owner is at a uniform place among them:
      a hand-off of (j - 1) x miss_cycles, j ~ U{1..w}, mean
      miss_cycles (w - 1)/2.  That is Boyd-Wickizer et al.'s service time
      s + c k (k cores holding or waiting after the release, the new owner
      included) with c = miss_cycles/2 and s = K - c
      (``theory.ticket_markov``), a mapping read off the lock's code, not
      fitted.

    Returns one row per (handoff, cpus, metric): ``metric`` is
    ``throughput`` (lock passes per cycle) or ``spin`` (per-CPU fraction of
    time waiting for or receiving the lock); ``analytic``, ``simulated``,
    ``abs_err``, ``rel_err`` (of the analytic value) and ``within_2pct``.
    Statistical error: about 1/sqrt(passes), ~ 0.3% at the default horizon.
    """
    ns = _check_cpu_list(cpus)
    if isinstance(miss_cycles, bool) or not isinstance(miss_cycles, int) or miss_cycles < 1:
        raise ConfigError(f"miss_cycles={miss_cycles!r}: must be a positive integer (cycles)")
    for name, v in (("user_mean", user_mean), ("kernel_mean", kernel_mean)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise ConfigError(f"{name}={v!r}: must be a positive number of cycles")
    c = miss_cycles / 2.0
    if not kernel_mean > c:
        raise ConfigError(f"kernel_mean={kernel_mean!r}: must exceed miss_cycles/2 = {c}")
    cases = (("free", {}), ("waiter-dependent", {"memory_access": int(miss_cycles)}))
    grid = [(h, ov, n) for h, ov in cases for n in ns]
    scen = [Scenario(ideal=True, workload="synthetic", cpus=n, spinlock="ticket",
                     user_mean=float(user_mean), kernel_mean=float(kernel_mean),
                     horizon=int(horizon), seed=seed, calibrated=False, overrides=ov)
            for h, ov, n in grid]
    res = _runs.run({(h, n): sc for (h, _, n), sc in zip(grid, scen)}, progress=progress,
                    desc="L1")
    u, k = float(user_mean), float(kernel_mean)
    rows = []
    for (h, n), r in res.items():
        if h == "free":
            th = theory.machine_repairman(n, u, k)
            spin_th, model = th["spin"], "M/M/1//N"
        else:
            th = theory.ticket_markov(n, u, k - c, c)
            spin_th = 1.0 - th["user"] - th["throughput"] * k / n
            model = "Boyd-Wickizer et al. 2012"
        sim = {"throughput": float(r["lock_acquisitions"]) / float(r["cycles"]),
               "spin": float(r["spin"])}
        for metric, an in (("throughput", th["throughput"]), ("spin", spin_th)):
            err = abs(sim[metric] - an)
            rows.append({"handoff": h, "analytic_model": model, "cpus": n, "metric": metric,
                         "analytic": an, "simulated": sim[metric], "abs_err": err,
                         "rel_err": err / abs(an), "within_2pct": bool(err <= 0.02 * abs(an))})
    return pd.DataFrame(rows)


def l2_lock_scaling(cpus: tuple = LOCK_CPUS, designs: tuple = DESIGNS,
                    spinlocks: tuple = LOCK_KINDS, machines: tuple = ("pentium2", "modern"),
                    horizon: int = 5_000_000, seed: int = 0,
                    progress: bool = False) -> pd.DataFrame:
    """Speedup against CPUs for every design x spinlock algorithm on each
    machine class, synthetic workload (one thread per CPU, exponential
    phases of 6400 user and 3600 kernel cycles; speedup as in S1: user-mode
    throughput over the UP kernel's on one CPU of the same machine).  The
    forwarding designs take no spinlock and appear once (``spinlock``
    "none").  Besides the speedup each row has what the lock's code did per
    acquisition: ``transfers`` (line transfers, all its lines, spinners'
    stealing included), ``bus_transactions`` (transfers and memory reads),
    ``stall`` (cycles the holder lost to the others' bus traffic),
    ``wait`` (mean cycles from request to running, hand-off included),
    ``hold`` (mean cycles held, stall included) and the per-CPU ``spin``
    fraction."""
    ns = _check_cpu_list(cpus)
    ds = _check_designs(designs)
    kinds = [spinlocks] if isinstance(spinlocks, str) else list(spinlocks)
    for kind in kinds:
        _check_choice("spinlock", kind, LOCK_KINDS)
    ms = [machines] if isinstance(machines, str) else list(machines)
    for m in ms:
        _check_choice("machine", m, ("pentium2", "modern"))
    base = dict(workload="synthetic", horizon=int(horizon), seed=seed, calibrated=False)
    keys = []
    for m in ms:
        for d in ds:
            for kind in (["none"] if _POLICIES[d].forwarding else kinds):
                keys += [(m, d, kind, n) for n in ns]
    keyed = {("ref", m): Scenario(cpus=1, kernel="up", machine=m, **base) for m in ms}
    keyed.update({(m, d, kind, n): Scenario(cpus=n, lock=d,
                                            spinlock="tas" if kind == "none" else kind,
                                            machine=m, **base) for m, d, kind, n in keys})
    res = _runs.run(keyed, progress=progress, desc="L2")
    ref = {m: _synthetic_user_cycles(res[("ref", m)]) for m in ms}
    rows = []
    for (m, d, kind, n) in keys:
        r = res[(m, d, kind, n)]
        acq = max(1, int(r["lock_acquisitions"]))
        rows.append({"machine": m, "design": d, "spinlock": kind, "cpus": n,
                     "speedup": _synthetic_user_cycles(r) / ref[m],
                     "lock_bound": theory.lock_bound(3600.0 / 10000.0, n),
                     "acquisitions": int(r["lock_acquisitions"]),
                     "transfers": float(r["lock_transfers"]) / acq,
                     "bus_transactions": float(r["lock_bus_transactions"]) / acq,
                     "stall": float(r["lock_bus_stall_cycles"]) / acq,
                     "wait": float(r["lock_waittime_total"]) / acq,
                     "hold": float(r["lock_holdtime_total"]) / acq,
                     "user": float(r["user_only"]), "kernel": float(r["kernel"]),
                     "spin": float(r["spin"])})
    return pd.DataFrame(rows)


def l3_transfers_vs_waiters(waiters: tuple = (0, 1, 2, 4, 8, 16, 32, 63),
                            spinlocks: tuple = LOCK_KINDS, machine: str = "pentium2",
                            hold: int = 3600, draws: int = 50, seed: int = 0,
                            progress: bool = False) -> pd.DataFrame:
    """What the literature measures of a lock: line transfers per
    acquisition and hand-off latency against the number of waiters, from
    the algorithms' code alone (no kernel, no workload).  With *w* CPUs
    waiting behind a holder that holds for *hold* cycles, one acquisition is
    the holder's release and the hand-off to the next owner, plus a new
    arrival that keeps *w* waiting, plus (test-and-set with two or more
    spinners) the spinners stealing the line from each other during the
    hold, one transfer per ``line_transfer`` cycles.  Measured after
    ``WARMUP_ROUNDS`` such acquisitions (back-off windows grow) and averaged
    over *draws* orders of the bus.  Returns one row per (spinlock, waiters):
    ``transfers``, ``bus_transactions`` (transfers and memory reads),
    ``handoff_transactions`` (on the path from the releasing store to the
    next owner's acquire) and ``handoff_cycles`` (that path at the cost
    table's prices)."""
    from .. import params as P
    from ..kernel.spinlock import new_spinlock
    _check_choice("machine", machine, ("pentium2", "modern"))
    kinds = [spinlocks] if isinstance(spinlocks, str) else list(spinlocks)
    for kind in kinds:
        _check_choice("spinlock", kind, LOCK_KINDS)
    ws = [waiters] if isinstance(waiters, int) else list(waiters)
    for w in ws:
        if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w < MAX_CPUS:
            raise ConfigError(f"waiters: {w!r} is not an integer from 0 to {MAX_CPUS - 1}")
    costs = P.load(machine)
    t, m, rmw = costs["line_transfer"], costs["memory_access"], costs["locked_rmw"]
    rng = np.random.default_rng(seed)
    rows = []
    for kind in kinds:
        for w in ws:
            tot = bus = path = cyc = 0.0
            for _ in range(int(draws)):
                lock = new_spinlock("l", kind)
                lock.configure(t, costs["backoff_base"], costs["backoff_cap"])
                for cpu in range(w + 1):          # CPU 0 holds, 1..w wait
                    lock.arrive(cpu)
                now = 0
                for _ in range(WARMUP_ROUNDS):    # back-off windows settle
                    now += hold
                    owner = lock.holder
                    assert owner is not None
                    lock.release(owner, rng, now)
                    lock.arrive(owner)
                before = lock.transfers
                steal = hold // t if lock.spinning_requests() else 0
                owner = lock.holder
                assert owner is not None
                nxt, ops, idle = lock.release(owner, rng, now + hold)
                arr = lock.arrive(owner)          # back in the queue: w waiting again
                tot += lock.transfers - before + steal
                bus += ops.transactions + arr.transactions + steal
                path += ops.transfers + ops.misses
                cyc += idle + ops.cycles(t, m, rmw)
            d = float(draws)
            rows.append({"machine": machine, "spinlock": kind, "waiters": w,
                         "transfers": tot / d, "bus_transactions": bus / d,
                         "handoff_transactions": path / d, "handoff_cycles": cyc / d})
    return pd.DataFrame(rows)
