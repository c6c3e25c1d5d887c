"""How fast the simulator is: ``make bench`` (``python -m reproduce.perf.speed``).

Times, on the synthetic giant-lock workload (``Scenario(workload="synthetic",
calibrated=False)``: one thread per CPU alternating exponential user and
kernel phases):

* our simulator on the ideal machine against the same model written directly
  in SimPy (:mod:`reproduce.reference.simpy_model`), in the same run and
  interleaved, so both see the same machine load.  On the ideal machine the
  two are the same model: with the same seed they measure the same cycles
  (checked and printed).  The headline is the ratio of simulated lock
  acquisitions per wall-clock second, ours / SimPy;
* the same model once more, written directly on our engine as plain
  callbacks (:mod:`reproduce.reference.engine_model`): the engine without the
  kernel model, which splits our cost into the engine's and the kernel
  model's;
* our simulator with the Pentium II costs (trap, cache-line transfers, spin
  slowdown, timer ticks), which does more work per acquisition;
* the full kernel model on the paper's workload (100 system threads, the
  benchmark, scheduler, timers, memory management) per acquisition, against
  the synthetic workload;
* scaling: wall time against simulated cycles (1x and 4x the horizon), and
  wall time per CPU at 2, 8 and 32 CPUs for the same load per CPU.

Each case is timed ``--reps`` times and the fastest run is kept (other jobs
on the machine only ever slow a run down).  Prints a table and writes
``data/results/speed.csv``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from ..params import DATA
from ..model.scenario import Scenario, simulate

OUT = DATA / "results" / "speed.csv"
USER_MEAN, KERNEL_MEAN = 6400.0, 3600.0       # Scenario defaults
# Load per CPU for the CPU-scaling runs: light enough that 32 CPUs do not
# saturate the giant lock, so every CPU keeps doing the same work.
SCALE_USER_MEAN, SCALE_KERNEL_MEAN = 500_000.0, 2_000.0


def synthetic(**kw: Any) -> Scenario:
    return Scenario(workload="synthetic", calibrated=False, **kw)


def time_ours(s: Scenario) -> dict[str, Any]:
    t = time.perf_counter()
    r = simulate(s)
    wall = time.perf_counter() - t
    kernel = sum(m[1] for m in r.modes)
    # The wall time covers the paper workload's warm-up too (the measured
    # part starts after it), so its acquisitions and cycles count here.
    warm = r.extra["warmup"]
    return {"wall_s": wall, "acquisitions": int(r.lock["acquisitions"]) + warm["acquisitions"],
            "events": r.events, "cycles": r.cycles + warm["cycles"],
            "lock_util": kernel / r.cycles, "modes": r.modes}


def time_reference(model: str, s: Scenario) -> dict[str, Any]:
    """Time reference model *model* (``simpy_model`` or ``engine_model``) on
    the synthetic scenario *s*."""
    import importlib
    run = importlib.import_module(f"reproduce.reference.{model}").run
    t = time.perf_counter()
    q = run(cpus=s.cpus, user_mean=s.user_mean, kernel_mean=s.kernel_mean,
            horizon=s.horizon, seed=s.seed, distribution=s.distribution)
    wall = time.perf_counter() - t
    return {"wall_s": wall, "acquisitions": q["acquisitions"], "events": q["events"],
            "cycles": q["cycles"], "lock_util": q["lock_utilization"], "modes": q["modes"]}


def time_simpy(s: Scenario) -> dict[str, Any]:
    return time_reference("simpy_model", s)


def time_engine_only(s: Scenario) -> dict[str, Any]:
    return time_reference("engine_model", s)


CASES = ("synthetic, ideal machine", "synthetic, Pentium II costs",
         "paper workload (uncalibrated)", "paper workload, longer run")


def cases(horizon: int) -> dict[str, Scenario]:
    """The cases timed for both builds, by name.  The paper workload twice:
    as the notebooks run it (60 M cycles of work per benchmark process, about
    89 M cycles simulated, with the set-up of 100 threads and their page
    tables), and with its work scaled so that it simulates about as many
    cycles as the synthetic runs (the cost per acquisition of a long run,
    where the set-up no longer counts)."""
    return dict(zip(CASES, (synthetic(ideal=True, horizon=horizon), synthetic(horizon=horizon),
                            Scenario(calibrated=False),
                            Scenario(calibrated=False,
                                     overrides={"work_cycles": horizon * 2 // 3}))))


def compiled_child(horizon: int, reps: int) -> dict[str, dict[str, Any]]:
    """In a process started with REPRODUCE_COMPILED=1: time :data:`CASES`,
    and SimPy on the first, interleaved with it (so the ratio of the two sees
    the same machine load)."""
    from . import fast
    if not fast.compiled():
        raise RuntimeError("the compiled build is not loaded")
    named = cases(horizon)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in (*CASES, "simpy")}
    for _ in range(reps):
        for name, s in named.items():
            runs[name].append(time_ours(s))
        runs["simpy"].append(time_simpy(named[CASES[0]]))
    return {name: best(r) for name, r in runs.items()}


def time_compiled(horizon: int, reps: int) -> dict[str, dict[str, Any]] | None:
    """:func:`compiled_child` in a subprocess on the compiled build of the
    current model version (``make fast``); None if there is none."""
    from . import fast
    if not (fast.build_path() / fast.MANIFEST).exists():
        return None
    code = ("import json; from reproduce.perf import speed; "
            f"print(json.dumps(speed.compiled_child({horizon}, {reps})))")
    env = dict(os.environ, REPRODUCE_COMPILED="1")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True)
    if done.returncode != 0:
        print(f"compiled build not timed: {done.stderr.strip().splitlines()[-1:]}",
              file=sys.stderr)
        return None
    return json.loads(done.stdout)


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return min(runs, key=lambda r: r["wall_s"])


def row(case: str, model: str, s: Scenario, r: dict[str, Any], reps: int) -> dict[str, Any]:
    wall = r["wall_s"]
    acq = r["acquisitions"]
    return {"case": case, "model": model, "workload": s.workload, "ideal": s.ideal,
            "cpus": s.cpus, "cycles": r["cycles"], "reps": reps, "wall_s": wall,
            "acquisitions": acq, "events": r["events"],
            "acq_per_s": acq / wall if wall else float("nan"),
            "events_per_s": r["events"] / wall if wall else float("nan"),
            "us_per_acq": 1e6 * wall / acq if acq else float("nan"),
            "us_per_cpu_mcycle": 1e6 * wall / (s.cpus * r["cycles"] / 1e6),
            "lock_util": r["lock_util"]}


def measure(horizon: int = 300_000_000, reps: int = 3,
            scale_horizon: int = 300_000_000) -> tuple[pd.DataFrame, dict[str, float]]:
    """Run every case; return the table (one row per case) and the ratios."""
    rows: list[dict[str, Any]] = []

    # 1. Ours (ideal) against SimPy, interleaved.
    named = cases(horizon)
    s_ideal, s_full, s_paper, s_long = (named[c] for c in CASES)
    ours, simpy_runs, bare_runs = [], [], []
    for _ in range(reps):
        ours.append(time_ours(s_ideal))
        simpy_runs.append(time_simpy(s_ideal))
        bare_runs.append(time_engine_only(s_ideal))
    o, q, e = best(ours), best(simpy_runs), best(bare_runs)
    rows.append(row("synthetic, ideal machine", "ours", s_ideal, o, reps))
    rows.append(row("synthetic, ideal machine", "simpy", s_ideal, q, reps))
    rows.append(row("synthetic, ideal machine", "engine only", s_ideal, e, reps))
    identical = o["modes"] == [m + [0] for m in q["modes"]] and e["modes"] == q["modes"]

    # 2. Ours with the Pentium II costs; 3. the paper's workload.
    f = best([time_ours(s_full) for _ in range(reps)])
    rows.append(row("synthetic, Pentium II costs", "ours", s_full, f, reps))
    p = best([time_ours(s_paper) for _ in range(reps)])
    rows.append(row("paper workload (uncalibrated)", "ours", s_paper, p, reps))
    pl = best([time_ours(s_long) for _ in range(reps)])
    rows.append(row(CASES[3], "ours", s_long, pl, reps))
    # The same three cases on the compiled build, if there is one.
    comp = time_compiled(horizon, reps)
    if comp is not None:
        for name in CASES:
            rows.append(row(name, "ours, compiled", named[name], comp[name], reps))
        rows.append(row(CASES[0], "simpy, beside compiled", s_ideal, comp["simpy"], reps))
        identical = identical and comp[CASES[0]]["modes"] == o["modes"]

    # 4. Wall time against simulated cycles.
    s_short = synthetic(horizon=horizon // 4)
    sh = best([time_ours(s_short) for _ in range(reps)])
    rows.append(row("synthetic, 1/4 horizon", "ours", s_short, sh, reps))

    # 5. Wall time per CPU at fixed load per CPU.
    per_cpu = {}
    for cpus in (2, 8, 32):
        s = synthetic(cpus=cpus, horizon=scale_horizon, user_mean=SCALE_USER_MEAN,
                      kernel_mean=SCALE_KERNEL_MEAN)
        r = best([time_ours(s) for _ in range(reps)])
        rows.append(row(f"synthetic, {cpus} CPUs, fixed load per CPU", "ours", s, r, reps))
        per_cpu[cpus] = rows[-1]["us_per_cpu_mcycle"]

    df = pd.DataFrame(rows)
    by = {(c, m): r for c, m, r in zip(df["case"], df["model"], rows)}
    ideal_o = by[("synthetic, ideal machine", "ours")]
    ideal_q = by[("synthetic, ideal machine", "simpy")]
    full = by[("synthetic, Pentium II costs", "ours")]
    paper = by[("paper workload (uncalibrated)", "ours")]
    short = by[("synthetic, 1/4 horizon", "ours")]
    ideal_e = by[("synthetic, ideal machine", "engine only")]
    ratios: dict[str, float] = {
        "ours_over_simpy_ideal": ideal_o["acq_per_s"] / ideal_q["acq_per_s"],
        "engine_only_over_simpy": ideal_e["acq_per_s"] / ideal_q["acq_per_s"],
        "kernel_model_cost_over_engine_only": ideal_o["us_per_acq"] / ideal_e["us_per_acq"],
        "ours_full_over_simpy": full["acq_per_s"] / ideal_q["acq_per_s"],
        "same_cycles_as_simpy": float(identical),
        "lock_util_ours": ideal_o["lock_util"],
        "lock_util_simpy": ideal_q["lock_util"],
        "paper_over_synthetic_per_acq": paper["us_per_acq"] / full["us_per_acq"],
        "paper_long_over_synthetic_per_acq":
            by[(CASES[3], "ours")]["us_per_acq"] / full["us_per_acq"],
        "wall_4x_over_1x_cycles": full["wall_s"] / short["wall_s"],
        "per_cpu_cost_8_over_2": per_cpu[8] / per_cpu[2],
        "per_cpu_cost_32_over_2": per_cpu[32] / per_cpu[2],
    }
    if comp is not None:
        ci, cf, cp, cl = (by[(c, "ours, compiled")] for c in CASES)
        cq = by[(CASES[0], "simpy, beside compiled")]
        ratios["compiled_over_simpy_ideal"] = ci["acq_per_s"] / cq["acq_per_s"]
        ratios["compiled_paper_over_synthetic_per_acq"] = cp["us_per_acq"] / cf["us_per_acq"]
        ratios["compiled_paper_long_over_synthetic_per_acq"] = \
            cl["us_per_acq"] / cf["us_per_acq"]
        ratios["compiled_speedup_ideal"] = ideal_o["us_per_acq"] / ci["us_per_acq"]
        ratios["compiled_speedup_paper"] = paper["us_per_acq"] / cp["us_per_acq"]
    return df, ratios


def report(df: pd.DataFrame, ratios: dict[str, float]) -> str:
    show = df[["case", "model", "cpus", "cycles", "wall_s", "acquisitions", "events",
               "acq_per_s", "events_per_s", "us_per_acq", "us_per_cpu_mcycle", "lock_util"]]
    fmt = {"wall_s": "{:.3f}".format, "acq_per_s": "{:,.0f}".format,
           "events_per_s": "{:,.0f}".format, "us_per_acq": "{:.2f}".format,
           "us_per_cpu_mcycle": "{:.1f}".format, "lock_util": "{:.4f}".format,
           "cycles": "{:,}".format}
    r = ratios
    lines = [
        f"python {platform.python_version()} on {platform.machine()}, "
        f"best of {int(df['reps'].iloc[0])} runs per case",
        "",
        show.to_string(index=False, formatters=fmt),
        "",
        f"ours / SimPy, acquisitions per wall-second (same model, ideal machine): "
        f"{r['ours_over_simpy_ideal']:.2f}x   (target >= 3x)",
        f"  same cycles per CPU and mode as SimPy (every version timed): "
        f"{'yes' if r['same_cycles_as_simpy'] else 'NO'}"
        f" (lock utilization {r['lock_util_ours']:.6f} vs {r['lock_util_simpy']:.6f})",
        f"  our engine alone (the same model as plain callbacks, no kernel model) / SimPy: "
        f"{r['engine_only_over_simpy']:.2f}x",
        f"  the kernel model's cost per acquisition over the engine alone: "
        f"{r['kernel_model_cost_over_engine_only']:.2f}x",
        f"ours with Pentium II costs / SimPy ideal: {r['ours_full_over_simpy']:.2f}x",
        f"paper workload / synthetic, wall time per acquisition: "
        f"{r['paper_over_synthetic_per_acq']:.2f}x   (target <= 2x); "
        f"longer run: {r['paper_long_over_synthetic_per_acq']:.2f}x",
        *compiled_lines(r),
        f"4x the simulated cycles costs {r['wall_4x_over_1x_cycles']:.2f}x the wall time"
        f"   (linear: 4)",
        f"wall time per CPU, 8 vs 2 CPUs: {r['per_cpu_cost_8_over_2']:.2f}x; "
        f"32 vs 2 CPUs: {r['per_cpu_cost_32_over_2']:.2f}x   (flat: 1)",
    ]
    return "\n".join(lines)


def compiled_lines(r: dict[str, float]) -> list[str]:
    if "compiled_over_simpy_ideal" not in r:
        return ["compiled build (make fast): not built, not timed"]
    return [
        f"compiled build (REPRODUCE_COMPILED=1) / SimPy timed beside it, ideal machine: "
        f"{r['compiled_over_simpy_ideal']:.2f}x   (target >= 3x)",
        f"  compiled against the Python sources: {r['compiled_speedup_ideal']:.2f}x faster "
        f"(synthetic), {r['compiled_speedup_paper']:.2f}x (paper workload)",
        f"compiled, paper workload / synthetic, wall time per acquisition: "
        f"{r['compiled_paper_over_synthetic_per_acq']:.2f}x   (target <= 2x); "
        f"longer run: {r['compiled_paper_long_over_synthetic_per_acq']:.2f}x",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reproduce.perf.speed",
                                 description="Time the simulator against SimPy.")
    ap.add_argument("--reps", type=int, default=3, help="runs per case, the fastest kept")
    ap.add_argument("--horizon", type=int, default=300_000_000,
                    help="simulated cycles of the synthetic runs")
    ap.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    ap.add_argument("--out", type=Path, default=OUT, help="CSV to write")
    a = ap.parse_args(argv)
    if a.reps < 1 or a.horizon < 4:
        ap.error("--reps must be >= 1 and --horizon >= 4")
    try:
        import simpy  # noqa: F401
    except ImportError:
        print("simpy is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    if a.quick:
        df, ratios = measure(horizon=20_000_000, reps=1, scale_horizon=5_000_000)
    else:
        df, ratios = measure(horizon=a.horizon, reps=a.reps)
    print(report(df, ratios))
    out = df.copy()
    for k, v in ratios.items():
        out[k] = v
    a.out.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(a.out, index=False)
    print(f"\nwrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
