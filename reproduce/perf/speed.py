"""How fast the simulator is: ``make speed`` (``python -m reproduce.perf.speed``).

One run times every version of one model, the synthetic giant-lock workload
on the ideal machine (one thread per CPU alternating exponential user and
kernel phases; the kernel phase holds the one lock, granted in FIFO order):

* ``ours, compiled``: the simulator, :func:`reproduce.bench.run.simulate`, on
  the compiled build (mypyc, :mod:`reproduce.perf.fast`), the default;
* ``ours``: the same from the Python sources (``REPRODUCE_COMPILED=0``);
* ``simpy``: the model written in SimPy 4 (:mod:`reproduce.reference.simpy_model`);
* ``salabim``: written in salabim (:mod:`reproduce.reference.salabim_model`);
* ``engine only``: written as plain callbacks on our event engine
  (:mod:`reproduce.reference.engine_model`), without the kernel model;
* ``floor``: one plain ``heapq`` loop, no classes (:mod:`reproduce.reference.floor_model`),
  the least pure Python can do for this model;
* ``floor, numba``: the same loop compiled by numba, if it is installed.

Each build of the simulator runs in a child process of its own (the build is
chosen when a process imports the package), which this one drives sample by
sample; the references run in the Python sources' child, so the engine and
the workload's generator they use are Python too.  All versions see the same
phases from the same seed and count the same cycles per CPU and mode, to the
cycle (checked in every sample, and by ``tests/test_speed.py`` and
``tests/test_reference_models.py``).  They run at 2, 8 and 32 CPUs with the
same offered lock load (the 2-CPU default, 6400 and 3600 cycles, spread over
more CPUs: user phases of ``5000 * cpus - 3600`` cycles), so each CPU count
does about as many acquisitions.

Beside them, the simulator (both builds) on the Pentium II costs and on the
paper's workload, for the paper workload's cost per acquisition against the
synthetic one's; and whole processes: ``reproduce simulate`` of the 2-CPU
synthetic giant lock over ``WHOLE_HORIZON`` cycles against a Python script
running the SimPy version of the same model (wall time, start-up included).

**Timing.**  Each sample is the *process CPU time* of one run
(``time.process_time``, in the process that runs it): time other jobs on a
shared machine take is not counted, as wall time would count it.  The
samples are interleaved (round after round, every case and version once per
round), so a change of the machine's speed during the run affects every
version alike, and the figure kept is the minimum over rounds (a sample can
only be slowed down, by cache and memory traffic of other jobs).  Ratios
are taken within one run; absolute figures drift from run to run.  One
untimed round at a short horizon goes first (imports, numba's compilation).

Prints a table and writes ``data/results/speed.csv``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any, Callable

from ..params import DATA
from ..bench.run import simulate
from ..bench.scenario import Scenario

OUT = DATA / "results" / "speed.csv"
CPU_COUNTS = (2, 8, 32)
KERNEL_MEAN = 3600.0                      # the Scenario default
HORIZON = 150_000_000                     # cycles per run (1/2 s of the 300 MHz machine)
REPS = 5
WARMUP_HORIZON = 2_000_000
WHOLE_HORIZON = 10_000_000_000            # cycles of the whole-process runs (33 s simulated)
WHOLE_REPS = 3

# The versions of the model, in the order of the table.
OURS, COMPILED = "ours", "ours, compiled"
SIMPY, SALABIM, ENGINE, FLOOR, NUMBA = "simpy", "salabim", "engine only", "floor", "floor, numba"
REFERENCES = {SIMPY: ("simpy_model", "run"), SALABIM: ("salabim_model", "run"),
              ENGINE: ("engine_model", "run"), FLOOR: ("floor_model", "run"),
              NUMBA: ("floor_model", "run_numba")}
MODEL_TEXT = {OURS: "this package, Python sources (REPRODUCE_COMPILED=0)",
              COMPILED: "this package, compiled build (mypyc; the default)",
              SIMPY: "SimPy", SALABIM: "salabim",
              ENGINE: "this package's bare engine (plain callbacks, no kernel model)",
              FLOOR: "one plain heapq loop, no classes (the pure-Python floor)",
              NUMBA: "the same loop under numba"}

# The workload cases, timed on both builds of the simulator only.
PII, PAPER, PAPER_LONG = ("synthetic, Pentium II costs", "paper workload (uncalibrated)",
                          "paper workload, longer run")


def ideal_case(cpus: int) -> str:
    return f"synthetic, ideal machine, {cpus} CPUs"


def scenarios(horizon: int) -> dict[str, Scenario]:
    """Every case by name.  The ideal cases use the ticket lock (FIFO, as the
    references grant the lock; with 2 CPUs every kind is FIFO).  The paper
    workload twice: as the notebooks run it (about 89 M cycles, with the
    set-up of 100 threads and their page tables), and with its work scaled to
    about as many cycles as the synthetic runs (the cost per acquisition of
    a long run, where the set-up no longer counts)."""
    out = {ideal_case(n): Scenario(
        workload="synthetic", calibrated=False, ideal=True, cpus=n, spinlock="ticket",
        user_mean=5000.0 * n - KERNEL_MEAN, kernel_mean=KERNEL_MEAN, horizon=horizon)
        for n in CPU_COUNTS}
    out[PII] = Scenario(workload="synthetic", calibrated=False, horizon=horizon)
    out[PAPER] = Scenario(calibrated=False)
    out[PAPER_LONG] = Scenario(calibrated=False, overrides={"work_cycles": horizon * 2 // 3})
    return out


# --------------------------------------------------------------------------
# one sample

def time_ours(s: Scenario) -> dict[str, Any]:
    """One run of the simulator: CPU and
    wall seconds, acquisitions, events, cycles and per-CPU modes (user,
    kernel, spin, idle)."""
    c, w = time.process_time(), time.perf_counter()
    r = simulate(s)
    cpu, wall = time.process_time() - c, time.perf_counter() - w
    # The paper workload's measurement starts after a warm-up, which the
    # run's time covers: its acquisitions and cycles count here too.
    warm = r.extra["warmup"]
    return {"cpu_s": cpu, "wall_s": wall,
            "acquisitions": int(r.lock["acquisitions"]) + warm["acquisitions"],
            "events": r.events, "cycles": r.cycles + warm["cycles"],
            "lock_util": sum(m[1] for m in r.modes) / r.cycles,
            "modes": [m[:3] for m in r.modes], "idle": sum(m[3] for m in r.modes)}


def time_reference(model: str, s: Scenario) -> dict[str, Any]:
    """One run of reference version *model* (a key of :data:`REFERENCES`)
    on the synthetic scenario *s*."""
    import importlib
    module, name = REFERENCES[model]
    run = getattr(importlib.import_module(f"reproduce.reference.{module}"), name)
    c, w = time.process_time(), time.perf_counter()
    q = run(cpus=s.cpus, user_mean=s.user_mean, kernel_mean=s.kernel_mean,
            horizon=s.horizon, seed=s.seed, distribution=s.distribution)
    cpu, wall = time.process_time() - c, time.perf_counter() - w
    return {"cpu_s": cpu, "wall_s": wall, "acquisitions": q["acquisitions"],
            "events": q["events"], "cycles": q["cycles"], "lock_util": q["lock_utilization"],
            "modes": q["modes"], "idle": 0}


# --------------------------------------------------------------------------
# the builds, each in a child process driven one sample at a time

def serve(horizon: int, compiled: bool = True, stdin: IO[str] = sys.stdin,
          stdout: IO[str] = sys.stdout) -> None:
    """A child's loop: read ``model<TAB>case[<TAB>warm]`` per line, time it
    (:func:`time_ours` for ``ours`` and ``ours, compiled``, else
    :func:`time_reference`; ``warm``: untimed, at the warm-up horizon) and
    answer one JSON line.  Refuses to start unless the build it was asked to
    time (*compiled* or not) is the one this process runs."""
    from . import loader
    named = scenarios(horizon)
    warm = scenarios(WARMUP_HORIZON)
    simulate(warm[PII])
    if loader.compiled() != compiled:
        raise RuntimeError("the compiled build is not loaded" if compiled
                           else "this process runs the compiled build, not the sources")
    print("ready", file=stdout, flush=True)
    for line in stdin:
        model, case, *flag = line.rstrip("\n").split("\t")
        s = (warm if flag else named)[case]
        r = time_ours(s) if model in (OURS, COMPILED) else time_reference(model, s)
        print(json.dumps(r), file=stdout, flush=True)


class Child:
    """A child process timing one build (``REPRODUCE_COMPILED`` 1 or 0 in
    its environment); the sources' child also runs the references."""

    def __init__(self, horizon: int, compiled: bool) -> None:
        env = dict(os.environ, REPRODUCE_COMPILED="1" if compiled else "0")
        code = f"from reproduce.perf import speed; speed.serve({horizon}, {compiled})"
        self.proc = subprocess.Popen([sys.executable, "-c", code], env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(self._failure())

    def time(self, model: str, case: str, warm: bool = False) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{model}\t{case}{chr(9) + 'warm' if warm else ''}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(self._failure())
        return json.loads(line)

    def _failure(self) -> str:
        self.proc.kill()
        err = self.proc.communicate()[1].strip().splitlines()
        return err[-1] if err else "the child process exited"

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait()


def start_compiled(horizon: int) -> Child | None:
    """The child timing the compiled build of the current model version, or
    None (with the reason on stderr) if there is no build or it fails to load."""
    from . import loader
    if not (loader.build_path() / loader.MANIFEST).exists():
        print("compiled build not timed: not built (make fast)", file=sys.stderr)
        return None
    try:
        return Child(horizon, compiled=True)
    except RuntimeError as err:
        print(f"compiled build not timed: {err}", file=sys.stderr)
        return None


# --------------------------------------------------------------------------
# whole processes: the command line against a SimPy script

def whole_commands(horizon: int) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The two processes timed end to end, with their environments:
    ``reproduce simulate --json`` of the 2-CPU ideal synthetic giant lock
    (ticket lock: FIFO, as SimPy grants it) on the default build, and a
    Python script running the SimPy version of the same model (on the
    Python sources: the workload generator it shares with us must not run
    compiled)."""
    ours = [sys.executable, "-m", "reproduce", "simulate", "--json", "--workload", "synthetic",
            "--cpus", "2", "--ideal", "--spinlock", "ticket", "--uncalibrated",
            "--horizon", str(horizon)]
    script = ("import json; from reproduce.reference.simpy_model import run; "
              f"q = run(cpus=2, user_mean=6400.0, kernel_mean=3600.0, horizon={horizon}, seed=0); "
              "print(json.dumps({'acquisitions': q['acquisitions']}))")
    base = {k: v for k, v in os.environ.items() if k != "REPRODUCE_COMPILED"}
    return {COMPILED: (ours, base),
            SIMPY: ([sys.executable, "-c", script], dict(base, REPRODUCE_COMPILED="0"))}


def whole_process(horizon: int = WHOLE_HORIZON, reps: int = WHOLE_REPS) -> dict[str, Any]:
    """Wall seconds of each whole process (min and median of *reps*
    interleaved runs), the acquisitions each counted (the same), and
    SimPy's minimum over ours."""
    cmds = whole_commands(horizon)
    walls: dict[str, list[float]] = {m: [] for m in cmds}
    acq: dict[str, int] = {}
    for _ in range(reps):
        for model, (cmd, env) in cmds.items():
            t = time.perf_counter()
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            walls[model].append(time.perf_counter() - t)
            if done.returncode != 0:
                raise RuntimeError(f"{model}: {done.stderr.strip().splitlines()[-1:]}")
            out = json.loads(done.stdout)
            acq[model] = int(out["lock"]["acquisitions"] if "lock" in out
                             else out["acquisitions"])
    return {"horizon": horizon, "reps": reps,
            "wall_min": {m: min(w) for m, w in walls.items()},
            "wall_median": {m: statistics.median(w) for m, w in walls.items()},
            "acquisitions": acq,
            "speedup": min(walls[SIMPY]) / min(walls[COMPILED])}


# --------------------------------------------------------------------------
# the run

def available_references() -> list[str]:
    """The reference versions whose library is installed (SimPy is required)."""
    import importlib.util
    out = [SIMPY]
    if importlib.util.find_spec("salabim") is not None:
        out.append(SALABIM)
    out += [ENGINE, FLOOR]
    if importlib.util.find_spec("numba") is not None:
        out.append(NUMBA)
    return out


def plan(horizon: int, compiled: bool, references: list[str]) -> list[tuple[str, str]]:
    """(case, version) pairs of one round, in the order they run."""
    pairs = []
    for n in CPU_COUNTS:
        case = ideal_case(n)
        if compiled:
            pairs.append((case, COMPILED))
        pairs.append((case, OURS))
        pairs += [(case, m) for m in references]
    for case in (PII, PAPER, PAPER_LONG):
        if compiled:
            pairs.append((case, COMPILED))
        pairs.append((case, OURS))
    return pairs


def measure(horizon: int = HORIZON, reps: int = REPS, compiled: bool = True,
            log: Callable[[str], None] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time every (case, version) *reps* times, interleaved; return one row
    per pair and the ratios (see :func:`ratios`)."""
    named = scenarios(horizon)
    sources = Child(horizon, compiled=False)
    child = start_compiled(horizon) if compiled else None
    refs = available_references()
    pairs = plan(horizon, child is not None, refs)
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {p: [] for p in pairs}

    def run(case: str, model: str, warm: bool = False) -> dict[str, Any]:
        if model == COMPILED:
            assert child is not None
            return child.time(model, case, warm)
        return sources.time(model, case, warm)

    try:
        for case, model in pairs:      # untimed: imports, first calls, numba's compilation
            run(case, model, warm=True)
        for rep in range(reps):
            for case, model in pairs:
                samples[(case, model)].append(run(case, model))
            if log:
                log(f"round {rep + 1} of {reps} done")
    finally:
        sources.close()
        if child is not None:
            child.close()
    rows = [row(case, model, named[case], samples[(case, model)]) for case, model in pairs]
    return rows, ratios(rows, horizon)


def row(case: str, model: str, s: Scenario, runs: list[dict[str, Any]]) -> dict[str, Any]:
    cpu = [r["cpu_s"] for r in runs]
    first = runs[0]
    same = all(r["modes"] == first["modes"] and r["acquisitions"] == first["acquisitions"]
               for r in runs)
    acq = first["acquisitions"]
    best = min(cpu)
    return {"case": case, "model": model, "workload": s.workload, "ideal": s.ideal,
            "cpus": s.cpus, "user_mean": s.user_mean, "kernel_mean": s.kernel_mean,
            "cycles": first["cycles"], "reps": len(runs),
            "cpu_s_min": best, "cpu_s_median": statistics.median(cpu),
            "wall_s_min": min(r["wall_s"] for r in runs),
            "acquisitions": acq, "events": first["events"],
            "us_per_acq": 1e6 * best / acq if acq else float("nan"),
            "us_per_acq_median": 1e6 * statistics.median(cpu) / acq if acq else float("nan"),
            "acq_per_cpu_s": acq / best if best else float("nan"),
            "lock_util": first["lock_util"], "repeatable": same,
            "modes": json.dumps(first["modes"])}


def ratios(rows: list[dict[str, Any]], horizon: int) -> dict[str, Any]:
    """The headline figures, all ratios of figures of this run:
    ``<model>_speedup_vs_simpy_<n>cpu`` (SimPy's CPU time per acquisition
    over the version's), ``same_cycles`` (every version of every ideal case
    counted SimPy's cycles per CPU and mode, in every sample), and the paper
    workload's CPU time per acquisition over the synthetic one's."""
    by = {(r["case"], r["model"]): r for r in rows}
    out: dict[str, Any] = {}
    same = True
    for n in CPU_COUNTS:
        case = ideal_case(n)
        q = by[(case, SIMPY)]
        for (c, m), r in by.items():
            if c != case:
                continue
            out[f"{key(m)}_speedup_vs_simpy_{n}cpu"] = q["us_per_acq"] / r["us_per_acq"]
            same = same and r["repeatable"] and r["modes"] == q["modes"] \
                and r["acquisitions"] == q["acquisitions"]
    out["same_cycles"] = same
    for m in (OURS, COMPILED):
        if (PII, m) in by:
            base = by[(PII, m)]["us_per_acq"]
            out[f"{key(m)}_paper_over_synthetic_per_acq"] = by[(PAPER, m)]["us_per_acq"] / base
            out[f"{key(m)}_paper_long_over_synthetic_per_acq"] = \
                by[(PAPER_LONG, m)]["us_per_acq"] / base
    return out


def key(model: str) -> str:
    return model.replace(", ", "_").replace(" ", "_")


# --------------------------------------------------------------------------
# output

def report(rows: list[dict[str, Any]], rat: dict[str, Any], horizon: int, reps: int,
           seconds: float, whole: dict[str, Any] | None = None) -> str:
    by = {(r["case"], r["model"]): r for r in rows}
    models = [m for m in (COMPILED, OURS, SIMPY, SALABIM, ENGINE, FLOOR, NUMBA)
              if (ideal_case(2), m) in by]
    head = "| model | " + " | ".join(f"µs/acq, {n} CPUs" for n in CPU_COUNTS) + " | " \
        + " | ".join(f"vs SimPy, {n} CPUs" for n in CPU_COUNTS) + " |"
    lines = [
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
        f"process CPU time per lock acquisition, minimum of {reps} interleaved samples; "
        f"synthetic giant-lock model, ideal machine, {horizon:,} cycles per run, the same "
        f"offered lock load at every CPU count; whole run {seconds:.0f} s",
        "",
        head,
        "|---|" + "---:|" * (2 * len(CPU_COUNTS)),
    ]
    for m in models:
        cells = [f"{by[(ideal_case(n), m)]['us_per_acq']:.2f}" for n in CPU_COUNTS]
        cells += [f"{rat[f'{key(m)}_speedup_vs_simpy_{n}cpu']:.2f}x" for n in CPU_COUNTS]
        lines.append(f"| {MODEL_TEXT[m]} | " + " | ".join(cells) + " |")
    acq = [by[(ideal_case(n), SIMPY)]["acquisitions"] for n in CPU_COUNTS]
    lines += [
        "",
        f"acquisitions per run at {', '.join(map(str, CPU_COUNTS))} CPUs: "
        f"{', '.join(f'{a:,}' for a in acq)}; every version counted the same cycles per CPU "
        f"and mode as SimPy in every sample: {'yes' if rat['same_cycles'] else 'NO'}",
        "(vs SimPy: SimPy's CPU time per acquisition over the version's; > 1 is faster)",
        "",
    ]
    for m in (COMPILED, OURS):
        if f"{key(m)}_paper_over_synthetic_per_acq" in rat:
            lines.append(
                f"{MODEL_TEXT[m]}: paper workload / synthetic (Pentium II costs), CPU time per "
                f"acquisition: {rat[f'{key(m)}_paper_over_synthetic_per_acq']:.2f}x as the "
                f"notebooks run it, {rat[f'{key(m)}_paper_long_over_synthetic_per_acq']:.2f}x "
                "on a run as long as the synthetic one")
    if whole is not None:
        cmds = whole_commands(whole["horizon"])
        w, a = whole["wall_min"], whole["acquisitions"]
        lines += [
            "",
            f"whole processes, wall seconds (min and median of {whole['reps']} interleaved "
            f"runs), the 2-CPU ideal synthetic giant lock over {whole['horizon']:,} cycles:",
            f"  {w[COMPILED]:.2f} s (median {whole['wall_median'][COMPILED]:.2f}): "
            + " ".join(["reproduce", *cmds[COMPILED][0][3:]]),
            f"  {w[SIMPY]:.2f} s (median {whole['wall_median'][SIMPY]:.2f}): a SimPy script, "
            f"REPRODUCE_COMPILED=0 python -c \"{cmds[SIMPY][0][2]}\"",
            f"  SimPy / ours: {whole['speedup']:.2f}x; acquisitions {a[COMPILED]:,} and "
            f"{a[SIMPY]:,} ({'the same' if a[COMPILED] == a[SIMPY] else 'NOT the same'})",
        ]
    lines += ["", "all rows (CPU seconds: min and median of the samples):", ""]
    cols = ("case", "model", "cpus", "acquisitions", "events", "cpu_s_min", "cpu_s_median",
            "us_per_acq", "us_per_acq_median", "lock_util")
    table = [cols] + [tuple(fmt(r[c]) for c in cols) for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(cols))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(t, widths)) for t in table]
    return "\n".join(lines)


def fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if v < 10 else f"{v:,.1f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def write_csv(rows: list[dict[str, Any]], rat: dict[str, Any], out: Path) -> None:
    """One row per (case, version), the run's ratios repeated on every row."""
    from ..files import atomic_write_rows
    ratios = {k: (repr(v) if isinstance(v, float) else v) for k, v in rat.items()}
    atomic_write_rows(out, [{**r, **ratios} for r in rows])


def once(s: Scenario, runs: int, warm: bool = True) -> dict[str, int]:
    """A warm-up (both workloads at the warm-up horizon, as the benchmark's
    untimed first round does), then *runs* runs of *s*, for a profiler that
    counts instructions: the difference between *runs* 1 and 0 is one run.
    Returns the last run's acquisitions and events, its warm-up included
    (as the benchmark counts them).  *warm* False: no warm-up."""
    if warm:
        first = scenarios(WARMUP_HORIZON)
        time_ours(first[PII])    # (its reading of the result imports what that needs)
        time_ours(first[PAPER])
    out = {"runs": runs, "acquisitions": 0, "events": 0}
    for _ in range(runs):
        r = time_ours(s)
        out.update(acquisitions=r["acquisitions"], events=r["events"])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reproduce.perf.speed",
                                 description="Time the simulator (both builds) against SimPy, "
                                             "salabim, its bare engine and the pure-Python "
                                             "floor.")
    ap.add_argument("--reps", type=int, default=REPS,
                    help=f"interleaved rounds; the minimum is kept (default {REPS})")
    ap.add_argument("--horizon", type=int, default=HORIZON,
                    help=f"simulated cycles per synthetic run (default {HORIZON:,})")
    ap.add_argument("--no-compiled", action="store_true",
                    help="do not time the compiled build even if it is built")
    ap.add_argument("--no-whole", action="store_true",
                    help="do not time the whole processes (reproduce simulate against a SimPy "
                         "script)")
    ap.add_argument("--quick", action="store_true",
                    help="short runs, 2 rounds, whole processes of 1/100 the cycles once "
                         "(a smoke test)")
    ap.add_argument("--out", type=Path, default=OUT, help="CSV to write")
    ap.add_argument("--once", metavar="CASE",
                    help="time nothing: run the warm-up, then case CASE (a row name of the "
                         "simulator's table) --runs times, and print its acquisitions; for "
                         "counting instructions under a profiler (docs/performance.md)")
    ap.add_argument("--cold", action="store_true",
                    help="with --once: no warm-up (for a profile of the engine's runs alone, "
                         "which the warm-up's runs would join)")
    ap.add_argument("--runs", type=int, default=None,
                    help="with --once: runs of the case after the warm-up (0: the warm-up "
                         "alone, the baseline to subtract; default 1)")
    a = ap.parse_args(argv)
    if a.reps < 1 or a.horizon < 4:
        ap.error("--reps must be >= 1 and --horizon >= 4")
    if a.once is None and (a.cold or a.runs is not None):
        ap.error("--cold and --runs go with --once CASE")
    if a.once is not None:
        a.runs = 1 if a.runs is None else a.runs
        named = scenarios(a.horizon)
        if a.once not in named:
            ap.error(f"--once {a.once!r}: the cases are {', '.join(map(repr, named))}")
        if a.runs < 0:
            ap.error(f"--runs {a.runs}: must be >= 0")
        print(json.dumps(once(named[a.once], a.runs, warm=not a.cold)))
        return 0
    try:
        import simpy  # noqa: F401
    except ImportError:
        print("simpy is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    horizon, reps = (20_000_000, 2) if a.quick else (a.horizon, a.reps)
    t = time.perf_counter()
    rows, rat = measure(horizon=horizon, reps=reps, compiled=not a.no_compiled,
                        log=lambda m: print(m, file=sys.stderr, flush=True))
    whole = None
    if not (a.no_whole or a.no_compiled):
        whole = whole_process(WHOLE_HORIZON // 100, 1) if a.quick else whole_process()
        rat["whole_process_speedup_vs_simpy"] = whole["speedup"]
    print(report(rows, rat, horizon, reps, time.perf_counter() - t, whole))
    write_csv(rows, rat, a.out)
    print(f"\nwrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
