"""A sweep past one process pool: ``python -m reproduce.perf.cluster``.

Runs one grid of synthetic scenarios (every lock design x 1 to 32 CPUs x
kernel fractions x seeds, short horizons: over a thousand scenarios) three
ways through :func:`reproduce.bench.sweep.sweep`, with the result cache
off so that every scenario is simulated:

* ``serial``: in this process (``workers=1``), the baseline;
* ``process pool``: the local pool of worker processes (``workers=N``);
* ``dask``: the Dask executor, on a ``distributed.LocalCluster`` of N worker
  processes with one thread each, driven through a ``distributed.Client``
  exactly as a real cluster's scheduler would be (``scheduler=client``).

The pool and Dask runs alternate for ``--reps`` rounds, so both see the same
load of a shared machine; throughput is scenarios per wall-clock second
(what a sweep's user waits for).  The cluster's start (scheduler, workers,
their first import of the package) is timed apart, as ``startup_s``: a real
cluster is started once and serves many sweeps.  Every way must give the
same rows, value for value (checked).  Writes
``data/results/cluster_throughput.csv``; docs/cluster.md says how to point
the same sweep at a real cluster.
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from ..params import DATA

OUT = DATA / "results" / "cluster_throughput.csv"
CPUS = (1, 2, 4, 8, 16, 32)
KERNEL_FRACTIONS = (0.1, 0.36, 0.64)   # kernel share of a CPU's time, without contention
PHASE_CYCLES = 10_000                  # mean user + kernel phase, as the Scenario default
HORIZON = 3_000_000                    # cycles per scenario (10 ms of the machine)
SEEDS = 10


def scenarios(seeds: int = SEEDS, horizon: int = HORIZON) -> list:
    """The grid: every lock design (read from the model) x :data:`CPUS` x
    :data:`KERNEL_FRACTIONS` x *seeds*, synthetic workload, uncalibrated."""
    from ..bench.sweep import grid
    from ..kernel.locking import POLICIES
    from ..bench.scenario import Scenario

    out = []
    for f in KERNEL_FRACTIONS:
        base = Scenario(workload="synthetic", calibrated=False, horizon=horizon,
                        user_mean=PHASE_CYCLES * (1 - f), kernel_mean=PHASE_CYCLES * f)
        out += grid(base, lock=list(POLICIES), cpus=list(CPUS), seed=range(seeds))
    return out


def timed_sweep(todo: list, client: Any = None, **kw: Any) -> tuple[float, float, Any]:
    """Wall seconds and CPU seconds of ``sweep(todo, cache=False, **kw)``,
    and its rows.  CPU time is this process's (with the scheduler of a
    LocalCluster, which runs here) plus the pool workers' (children reaped
    when the pool shuts down) or, given the Dask *client*, its workers'."""
    from ..bench.sweep import sweep
    c0, ch0, w0 = time.process_time(), _children_cpu(), _workers_cpu(client)
    t = time.perf_counter()
    df = sweep(todo, cache=False, **({"scheduler": client} if client is not None else {}), **kw)
    wall = time.perf_counter() - t
    cpu = (time.process_time() - c0) + (_children_cpu() - ch0) + (_workers_cpu(client) - w0)
    return wall, cpu, df


def _children_cpu() -> float:
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _workers_cpu(client: Any) -> float:
    """CPU seconds the Dask workers' processes have used so far (0 without one)."""
    if client is None:
        return 0.0
    return float(sum(client.run(time.process_time).values()))


def measure(workers: int = 2, reps: int = 2, seeds: int = SEEDS, horizon: int = HORIZON,
            serial: bool = True) -> list[dict[str, Any]]:
    """Time the grid serially (once), on the process pool and on Dask
    (*reps* alternating rounds each); one row per run."""
    import dask
    import distributed

    todo = scenarios(seeds, horizon)
    n = len(todo)
    rows: list[dict[str, Any]] = []

    def record(mode: str, nworkers: int, rep: int, wall: float, cpu: float,
               startup: float = 0.0) -> None:
        rows.append({"mode": mode, "workers": nworkers, "rep": rep, "scenarios": n,
                     "wall_s": wall, "scenarios_per_s": n / wall, "cpu_s": cpu,
                     "cpu_ms_per_scenario": 1e3 * cpu / n, "startup_s": startup,
                     "load_1min": os.getloadavg()[0]})
        print(f"{mode:>12}, {nworkers} worker(s), round {rep}: {n} scenarios in {wall:.1f} s, "
              f"{n / wall:.1f} per second, {1e3 * cpu / n:.1f} CPU ms each",
              file=sys.stderr, flush=True)

    # A few scenarios first, in this process: imports and first calls are
    # not the sweep's cost.
    timed_sweep(todo[:3], workers=1)
    reference = None
    if serial:
        wall, cpu, reference = timed_sweep(todo, workers=1)
        record("serial", 1, 1, wall, cpu)

    t = time.perf_counter()
    # Dask's statistical profiler samples each worker's stack every 10 ms: a
    # fifth of the CPU time on tasks this short (43.8 against 35.7 CPU
    # ms per scenario in one comparison); a cluster for sweeps wants it off too.
    dask.config.set({"distributed.worker.profile.enabled": False})
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    try:
        timed_sweep(todo[:2 * workers], client)   # the workers import the package
        startup = time.perf_counter() - t
        for rep in range(1, reps + 1):
            wall, cpu, pool_df = timed_sweep(todo, workers=workers)
            record("process pool", workers, rep, wall, cpu)
            wall, cpu, dask_df = timed_sweep(todo, client)
            record("dask", workers, rep, wall, cpu, startup)
            reference = pool_df if reference is None else reference
            if not (pool_df.equals(reference) and dask_df.equals(reference)):
                raise RuntimeError("the pool, Dask and serial sweeps gave different rows")
    finally:
        client.close()
        cluster.close()
    return rows


def throughput(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per mode: the median throughput over its rounds, and against serial
    and against the pool (ratios of this run)."""
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    med = {m: statistics.median(r["scenarios_per_s"] for r in rows if r["mode"] == m)
           for m in modes}
    out = []
    for m in modes:
        r0 = next(r for r in rows if r["mode"] == m)
        out.append({"mode": m, "workers": r0["workers"], "scenarios": r0["scenarios"],
                    "rounds": sum(r["mode"] == m for r in rows),
                    "scenarios_per_s": med[m],
                    "cpu_ms_per_scenario": statistics.median(
                        r["cpu_ms_per_scenario"] for r in rows if r["mode"] == m),
                    "vs_serial": med[m] / med["serial"] if "serial" in med else float("nan"),
                    "vs_pool": med[m] / med["process pool"],
                    "startup_s": r0["startup_s"]})
    return out


def report(rows: list[dict[str, Any]], seconds: float) -> str:
    lines = [f"python {platform.python_version()}, {os.cpu_count()} cores; "
             f"{rows[0]['scenarios']} scenarios, wall-clock throughput, median of rounds; "
             f"whole run {seconds:.0f} s", "",
             "| mode | workers | rounds | scenarios/s | vs serial | vs process pool | "
             "CPU ms per scenario | start-up (s) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in throughput(rows):
        lines.append(f"| {s['mode']} | {s['workers']} | {s['rounds']} | "
                     f"{s['scenarios_per_s']:.1f} | {s['vs_serial']:.2f}x | "
                     f"{s['vs_pool']:.2f}x | {s['cpu_ms_per_scenario']:.1f} | "
                     f"{s['startup_s']:.1f} |")
    loads = [r["load_1min"] for r in rows]
    lines += ["", f"machine load (1-minute average) during the rounds: "
              f"{min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores"]
    lines += ["", "same rows from every mode: yes (checked)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reproduce.perf.cluster",
                                 description="Sweep throughput: serial, the process pool "
                                             "and Dask on a LocalCluster.")
    ap.add_argument("--workers", type=int, default=2, help="pool and cluster workers (2)")
    ap.add_argument("--reps", type=int, default=2, help="alternating rounds (2)")
    ap.add_argument("--seeds", type=int, default=SEEDS, help=f"seeds per point ({SEEDS})")
    ap.add_argument("--horizon", type=int, default=HORIZON,
                    help=f"cycles per scenario ({HORIZON:,})")
    ap.add_argument("--no-serial", action="store_true", help="skip the serial baseline")
    ap.add_argument("--out", type=Path, default=OUT, help="CSV to write")
    a = ap.parse_args(argv)
    if a.workers < 1 or a.reps < 1 or a.seeds < 1 or a.horizon < 1:
        ap.error("--workers, --reps, --seeds and --horizon must be >= 1")
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("dask.distributed is not installed: pip install -e '.[dask]'", file=sys.stderr)
        return 2
    t = time.perf_counter()
    rows = measure(workers=a.workers, reps=a.reps, seeds=a.seeds, horizon=a.horizon,
                   serial=not a.no_serial)
    print(report(rows, time.perf_counter() - t))
    from ..files import atomic_write_rows
    atomic_write_rows(a.out, rows)
    print(f"\nwrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
