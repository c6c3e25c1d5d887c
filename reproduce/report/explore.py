"""Explore the model: one set of control values in, Table 1, the speedup
against its bounds and a timeline out (notebook ``12-explore``).

::

    from reproduce.report.explore import explore_run, explore_figure
    ex = explore_run(cpus=4, spinlock="mcs")
    print(ex.summary)          # one line: speedup, bounds, the paper's marks
    ex.table1                  # UP and N-CPU rows beside the paper's (%)
    fig = explore_figure(ex)   # Table 1, speedup against the bounds, timeline

The controls (:class:`Controls`, checked by :func:`explore_controls`):

* ``cpus`` (1-64), ``lock`` (a lock design of ``kernel.locking.POLICIES``),
  ``spinlock`` (``kernel.spinlock.LOCK_KINDS``), ``machine`` (the cost
  table: the paper's ``pentium2`` or a ``modern`` many-core), ``workload``
  (``paper``: the benchmark beside the system threads; ``synthetic``: one
  thread per CPU alternating user and kernel phases);
* ``kernel_share``, the UP kernel's share of time (a fraction).  On the
  paper workload it is the calibration's target: the system threads' mean
  kernel work (``bg_kernel_cycles``) is fitted so that the UP kernel spends
  that share in the kernel (the stored calibration when it is the paper's
  share on the paper's machine, else refitted here, on the run's seeds).  On
  the synthetic workload it splits the phases: kernel_mean = share x
  (user_mean + kernel_mean) of the Scenario defaults.  ``None``: the paper's
  UP row (``data/paper/table1.csv``);
* ``causes``: at most two of E8's candidate causes of the 1.2 speedup
  (``experiments.e8.hypotheses``), each as E8 fitted it
  (``data/results/e8_hypotheses.csv``: its free parameter and the two
  calibrations redone for it); paper workload only.

Speedup follows S1 (``experiments.beyond.s1_scaling``): on the paper
workload the UP kernel's time for the same job (``max(2, N)`` benchmark
processes) over the N-CPU time; on the synthetic one the user-mode cycles
all CPUs completed over those of the UP kernel on one CPU.  Amdahl's bound
and the lock's bound come from the model's own UP row.  Paper numbers are
read from ``data/paper/`` and only put beside the model's.  Cycles are of
the machine's clock; times in the timeline are milliseconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..bench.calibrate import Point, fit_up_share, sem, up_scenarios
from ..bench.calibration import calibration
from ..bench.result import Result
from ..bench.run import simulate
from ..bench.scenario import MACHINES, MAX_CPUS, WORKLOADS, Scenario, build_params, read_table
from ..errors import ConfigError
from ..experiments import e8
from ..experiments.paper import paper_claims, paper_table1
from ..kernel.locking import POLICIES
from ..kernel.spinlock import LOCK_KINDS
from ..reference import theory
from . import figures as F
from .timeline import timeline

# The kernel shares the controls accept (fractions of the UP run's time):
# below 5 % the lock hardly matters, above 75 % the benchmark starves and
# the paper workload's fit stops converging.
SHARE_RANGE = (0.05, 0.75)
MAX_CAUSES = 2
SEEDS_RANGE = (1, 10)
TIMELINE_MS_RANGE = (0.5, 200.0)
TIMELINE_ROWS = 8            # CPUs drawn in the timeline (the first ones)
BOUND_CPUS = (1, 2, 4, 8, 16, 32, 64)   # where the bounds are drawn


@dataclass(frozen=True)
class Controls:
    """The values of the explorer's controls, checked (see the module's
    docstring).  ``kernel_share`` is a fraction of the UP run's time,
    ``timeline_ms`` milliseconds of simulated time."""

    cpus: int = 2
    lock: str = "giant"
    spinlock: str = "tas"
    machine: str = "pentium2"
    workload: str = "paper"
    kernel_share: float | None = None
    causes: tuple[str, ...] = ()
    seeds: int = 3
    timeline_ms: float = 20.0


def paper_up_kernel_share() -> float:
    """The UP kernel's share of time in the paper's Table 1 (a fraction),
    read from ``data/paper/table1.csv``."""
    up = paper_table1().set_index("kernel").loc["UP"]
    return float(up["kernel_lo"]) / 100.0


def explore_choices() -> dict[str, Any]:
    """What each control allows: ``cpus`` and ``kernel_share`` (lo, hi),
    the names of ``lock``, ``spinlock``, ``machine``, ``workload``, and
    ``causes`` as {name: label} in E8's order; ``kernel_share_default`` is
    the paper's UP share."""
    return {"cpus": (1, MAX_CPUS), "lock": tuple(POLICIES), "spinlock": tuple(LOCK_KINDS),
            "machine": tuple(MACHINES), "workload": tuple(WORKLOADS),
            "kernel_share": SHARE_RANGE, "kernel_share_default": paper_up_kernel_share(),
            "causes": {n: h.label for n, h in e8.hypotheses().items()},
            "seeds": SEEDS_RANGE, "timeline_ms": TIMELINE_MS_RANGE}


def _one_of(name: str, value: Any, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{name}={value!r}: must be one of {', '.join(allowed)}")
    return value


def _number(name: str, value: Any, lo: float, hi: float, kind: type, unit: str) -> Any:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and kind is int:
        ok = float(value) == int(value)
    if not ok or not lo <= float(value) <= hi:
        what = "an integer" if kind is int else "a number"
        raise ConfigError(f"{name}={value!r}: must be {what} from {lo:g} to {hi:g}{unit}")
    return kind(value)


def explore_controls(**values: Any) -> Controls:
    """The :class:`Controls` of *values* (any subset of its fields), each
    checked; a bad one is a ConfigError naming it and what is allowed."""
    names = [f.name for f in fields(Controls)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"unknown control {unknown[0]!r}: known are {', '.join(names)}")
    c = {**{f.name: f.default for f in fields(Controls)}, **values}
    ch = explore_choices()
    out: dict[str, Any] = {
        "cpus": _number("cpus", c["cpus"], *ch["cpus"], int, " CPUs"),
        "seeds": _number("seeds", c["seeds"], *ch["seeds"], int, " seeds"),
        "timeline_ms": _number("timeline_ms", c["timeline_ms"], *ch["timeline_ms"], float,
                               " ms"),
    }
    for name in ("lock", "spinlock", "machine", "workload"):
        out[name] = _one_of(name, c[name], ch[name])
    share = c["kernel_share"]
    out["kernel_share"] = None if share is None else _number(
        "kernel_share", share, *ch["kernel_share"], float, " (a fraction of the UP run's time)")
    causes = c["causes"]
    if isinstance(causes, str):
        causes = (causes,) if causes else ()
    if not isinstance(causes, (tuple, list)):
        raise ConfigError(f"causes={causes!r}: must be a list of E8 causes")
    for x in causes:
        _one_of("causes", x, ch["causes"])
    if len(set(causes)) > MAX_CAUSES:
        raise ConfigError(f"causes={list(causes)!r}: at most {MAX_CAUSES} at once "
                          "(E8 fitted each cause alone and in pairs)")
    if causes and out["workload"] != "paper":
        raise ConfigError(f"causes={list(causes)!r} need workload='paper': E8's causes are "
                          "mechanisms of the paper's node (system threads, interrupts)")
    order = list(ch["causes"])
    out["causes"] = tuple(sorted(set(causes), key=order.index))
    if out["causes"]:
        _cause_overrides(out["causes"])          # a pair E8 did not run is an error here
    return Controls(**out)


# ----------------------------------------------------------------- scenarios
@lru_cache(maxsize=None)
def _e8_rows() -> pd.DataFrame:
    return pd.read_csv(e8.RESULTS / "e8_hypotheses.csv").drop_duplicates("hypothesis") \
        .set_index("hypothesis", drop=False)


def _cause_overrides(causes: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, int]]:
    """The overrides of an E8 variant as fitted, and its calibration
    (``bg_kernel_cycles``, ``mp_entry_overhead``)."""
    name = " + ".join(causes) if causes else "baseline"
    rows = _e8_rows()
    if name not in rows.index:
        pairs = [h for h in rows.index if " + " in h and causes[0] in h.split(" + ")]
        raise ConfigError(f"causes={list(causes)!r}: E8 did not run this pair (the two set "
                          f"the same parameter); {causes[0]!r} pairs with "
                          f"{', '.join(p.replace(causes[0], '').strip(' +') for p in pairs)}")
    ov = dict(e8.variant_scenario(rows.loc[name]).overrides)
    fitted = {k: int(ov.pop(k)) for k in ("bg_kernel_cycles", "mp_entry_overhead")}
    return ov, fitted


def _nominal_mean_sum() -> float:
    d = {f.name: f.default for f in fields(Scenario)}
    return float(d["user_mean"]) + float(d["kernel_mean"])


def _up_share(base: dict[str, Any], bg: float, seeds: int) -> Point:
    """The UP kernel's share of time at ``bg_kernel_cycles`` *bg* on
    *base*'s scenarios: mean and standard error over *seeds*."""
    fields_ = {k: v for k, v in base.items() if k != "calibrated"}
    shares = [_run(s).table1()["kernel"] for s in up_scenarios(int(bg), range(seeds), fields_)]
    return Point(bg, float(np.mean(shares)), sem(shares))


def _with_bg(base: dict[str, Any], bg: int) -> dict[str, Any]:
    out = dict(base)
    out["overrides"] = {**base.get("overrides", {}), "bg_kernel_cycles": int(bg)}
    return out


def _fit_bg(base: dict[str, Any], start: int, target: float, seeds: int) -> tuple[int, float]:
    """``bg_kernel_cycles`` giving the UP kernel *target* share of its time
    on *base*'s machine, by the calibration's own fit
    (:func:`~reproduce.bench.calibrate.fit_up_share`: within half a standard
    error over *seeds*); returns it and the share reached."""
    root = fit_up_share(lambda bg: _up_share(base, bg, seeds), target, start)
    return int(root.best.x), root.best.mean


def _base(c: Controls) -> tuple[dict[str, Any], list[str]]:
    """The Scenario fields every run shares (workload, machine, overrides),
    and notes on how they were chosen."""
    notes: list[str] = []
    target = paper_up_kernel_share() if c.kernel_share is None else c.kernel_share
    if c.workload == "synthetic":
        total = _nominal_mean_sum()
        return {"workload": "synthetic", "machine": c.machine, "calibrated": False,
                "user_mean": total * (1 - target), "kernel_mean": total * target}, \
            [f"synthetic phases: user {total * (1 - target):.0f}, kernel "
             f"{total * target:.0f} cycles (exponential)"]
    if c.causes:
        ov, fitted = _cause_overrides(c.causes)
        notes.append("E8 variant as fitted: " + (", ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(ov.items()))
            or "no parameter"))
    else:
        ov, fitted = {}, dict(calibration())
    if c.machine != "pentium2":
        fitted["mp_entry_overhead"] = int(read_table(c.machine)["mp_entry_overhead"])
    base = {"machine": c.machine, "calibrated": False,
            "overrides": {**ov, "mp_entry_overhead": fitted["mp_entry_overhead"]}}
    if c.machine == "pentium2" and abs(target - paper_up_kernel_share()) < 1e-12:
        bg = fitted["bg_kernel_cycles"]
        notes.append(f"bg_kernel_cycles={bg} (calibrated to the paper's UP row"
                     f"{', for this variant by E8' if c.causes else ''})")
    else:
        bg, reached = _fit_bg(base, fitted["bg_kernel_cycles"], target, c.seeds)
        notes.append(f"bg_kernel_cycles={bg} fitted here to a UP kernel share of "
                     f"{100 * target:.0f} % (reached {100 * reached:.1f} %)")
    return _with_bg(base, bg), notes


_RUNS: dict[Scenario, Result] = {}


def _run(s: Scenario) -> Result:
    """``simulate(s)``, remembered for the session (the UP reference is
    the same while only the CPUs, the lock or the spinlock change)."""
    r = _RUNS.get(s)
    if r is None:
        if len(_RUNS) > 512:
            _RUNS.clear()
        r = _RUNS[s] = simulate(s)
    return r


def _user_cycles(r: Result) -> float:
    return float(sum(m[0] for m in r.modes))


# ------------------------------------------------------------------ results
@dataclass
class Exploration:
    """What one set of controls gave: ``table1`` (rows UP and MP, columns
    user/kernel/spin in % of each CPU's time, model mean over seeds and
    CPUs, beside the paper's), ``speedup`` (per seed), ``bounds`` (Amdahl
    and the lock's on ``cpus`` CPUs, from the model's UP kernel share
    ``up_kernel``), the ``recording`` of seed 0's MP run, ``notes`` on the
    calibration, and ``summary``: one line that says it all."""

    controls: Controls
    table1: pd.DataFrame
    speedup: list[float]
    completed: bool
    up_kernel: float
    bounds: dict[str, float]
    recording: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        c = self.controls
        s = np.array(self.speedup)
        design = c.lock if POLICIES[c.lock].forwarding else f"{c.lock} lock ({c.spinlock})"
        paper = paper_claims()
        text = (f"{c.cpus} CPU{'s' if c.cpus > 1 else ''}, {design}, {c.machine}, "
                f"{c.workload} workload{', E8: ' + ' + '.join(c.causes) if c.causes else ''}: "
                f"speedup {'at most ' if not self.completed else ''}{s.mean():.2f} "
                f"(seeds {s.min():.2f}-{s.max():.2f}); Amdahl bound "
                f"{self.bounds['amdahl']:.2f}, lock bound {self.bounds['lock']:.2f} "
                f"(model UP kernel share {100 * self.up_kernel:.1f} %); paper, 2 CPUs: "
                f"{paper.loc['smp_speedup', 'value']:g} measured, "
                f"{paper.loc['amdahl_bound', 'value']:g} Amdahl")
        return text


def _table1(up: list[Result], mp: list[Result], cpus: int) -> pd.DataFrame:
    paper = paper_table1().set_index("kernel")
    rows = []
    for label, build, runs in (("UP kernel, 1 CPU", "UP", up),
                               (f"MP kernel, {cpus} CPU{'s' if cpus > 1 else ''}", "SMP", mp)):
        t = [r.table1() for r in runs]
        row: dict[str, Any] = {"run": label}
        for col in ("user", "kernel", "spin"):
            row[f"{col} %"] = 100 * float(np.mean([x[col] for x in t]))
        for col in ("user", "kernel", "spin"):
            lo, hi = paper.loc[build, f"{col}_lo"], paper.loc[build, f"{col}_hi"]
            row[f"paper {col} %"] = f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"
        rows.append(row)
    return pd.DataFrame(rows).set_index("run")


def explore_run(controls: Controls | None = None, **values: Any) -> Exploration:
    """Run the model for *controls* (or the control *values*, checked by
    :func:`explore_controls`): the UP reference and the MP kernel on
    ``cpus`` CPUs, on ``seeds`` seeds, seed 0's MP run recorded for
    ``timeline_ms`` ms from the start of measurement.  Same controls, same
    result."""
    c = controls if controls is not None else explore_controls(**values)
    if controls is not None and values:
        raise ConfigError("give either controls or control values, not both")
    base, notes = _base(c)
    forwarding = POLICIES[c.lock].forwarding
    spin = "tas" if forwarding else c.spinlock
    if forwarding and c.spinlock != "tas":
        notes.append(f"{c.lock} takes no spinlock: spinlock={c.spinlock!r} has no effect")
    up_base = base
    if c.workload == "paper" and c.cpus > 2:
        # S1's job: one benchmark process per CPU, the UP kernel running as many.
        up_base = {**base, "overrides": {**base["overrides"], "processes": c.cpus}}
    ups = [_run(Scenario(cpus=1, kernel="up", seed=s, **up_base)) for s in range(c.seeds)]
    costs, _ = build_params(Scenario(cpus=1, kernel="up", seed=0, **up_base))
    hz = float(costs["clock_hz"])
    window = (0, max(1, int(round(c.timeline_ms * hz / 1000.0))))
    mps: list[Result] = []
    recording: dict[str, Any] = {}
    for s in range(c.seeds):
        sc = Scenario(cpus=c.cpus, kernel="mp", lock=c.lock, spinlock=spin, seed=s, **base)
        if s == 0:
            r = simulate(sc, record=window)
            recording = r.extra["recording"]
        else:
            r = _run(sc)
        mps.append(r)
    if c.workload == "paper":
        speedup = [u.cycles / m.cycles for u, m in zip(ups, mps)]
    else:
        speedup = [_user_cycles(m) / _user_cycles(u) for u, m in zip(ups, mps)]
    k_up = float(np.mean([u.table1()["kernel"] for u in ups]))
    bounds = {"amdahl": theory.amdahl(k_up, c.cpus), "lock": theory.lock_bound(k_up, c.cpus)}
    return Exploration(c, _table1(ups, mps, c.cpus), speedup,
                       all(m.completed for m in mps) and all(u.completed for u in ups),
                       k_up, bounds, recording, notes)


# ------------------------------------------------------------------ drawing
def _first_cpus(rec: Mapping[str, Any], n: int) -> dict[str, Any]:
    """*rec* cut to its first *n* CPUs (the timeline's rows)."""
    if rec["cpus"] <= n:
        return dict(rec)
    out = dict(rec)
    out["cpus"] = n
    out["segments"] = [s for s in rec["segments"] if s["cpu"] < n]
    out["entries"] = [e for e in rec["entries"] if e["cpu"] < n]
    out["handoffs"] = [h for h in rec["handoffs"] if h["from"] < n and h["to"] < n]
    out["ipis"] = [p for p in rec["ipis"] if p["from"] < n and p["to"] < n]
    return out


def _draw_table1(ax, ex: Exploration) -> None:
    paper = paper_table1().set_index("kernel")
    cols = ("user", "kernel", "spin")
    x = np.arange(len(cols))
    width = 0.36
    for k, (label, build) in enumerate(zip(ex.table1.index, ("UP", "SMP"))):
        vals = [ex.table1.loc[label, f"{c} %"] for c in cols]
        off = (k - 0.5) * width
        bars = ax.bar(x + off, vals, width * 0.92, color=F.DESIGN_COLORS[k], label=label)
        ax.bar_label(bars, fmt="%.0f", fontsize=9, padding=1)
        for i, c in enumerate(cols):
            lo, hi = paper.loc[build, f"{c}_lo"], paper.loc[build, f"{c}_hi"]
            # the paper's value or range, a single value drawn a point tall to be seen
            ax.fill_between([x[i] + off - width / 2, x[i] + off + width / 2],
                            lo - 0.5, hi + 0.5, color=F.PAPER_COLOR, alpha=0.45, lw=0,
                            label="paper, Table 1 (UP, 2-CPU SMP)" if k == i == 0 else None)
    ax.set_xticks(x, ["user\n(incl. idle)", "kernel\n(lock held)", "spin"])
    ax.set_ylim(0, 105)
    ax.set_xlabel("Table 1 column")
    ax.set_ylabel("% of each CPU's time")
    ax.set_title("Table 1: model (bars) and paper (red)", loc="left", fontsize=11)
    ax.legend(fontsize=9, frameon=False, loc="upper right")


def _draw_speedup(ax, ex: Exploration) -> None:
    c = ex.controls
    ns = sorted(set(BOUND_CPUS) | {c.cpus})
    ax.plot(ns, [theory.amdahl(ex.up_kernel, n) for n in ns],
            label="Amdahl bound (model's UP row)", **F.BOUND_STYLES["amdahl"])
    ax.plot(ns, [theory.lock_bound(ex.up_kernel, n) for n in ns],
            label="lock bound min(N, 1/k)", **F.BOUND_STYLES["lock"])
    ax.plot(ns, ns, label="linear", **F.BOUND_STYLES["capacity"])
    s = np.array(ex.speedup)
    ax.errorbar([c.cpus], [s.mean()], yerr=[[s.mean() - s.min()], [s.max() - s.mean()]],
                fmt="o", color=F.DESIGN_COLORS[1], ms=9, capsize=4, zorder=5,
                label=f"model, {c.cpus} CPU{'s' if c.cpus > 1 else ''} (seed range)")
    claims = paper_claims()
    ax.scatter([2], [claims.loc["smp_speedup", "value"]], label="paper: measured (2 CPUs)",
               **F.PAPER_MARK)
    ax.scatter([2], [claims.loc["amdahl_bound", "value"]], marker="_", s=300, lw=2.5,
               color=F.PAPER_COLOR, zorder=6, label="paper: its Amdahl bound")
    F.cpu_axis(ax, ns)
    # up to the bounds and the model, not to the linear line's 64
    top = 1.25 * max(4.0, float(s.max()), theory.lock_bound(ex.up_kernel, max(ns)))
    F.log2_axis(ax, [0.5, top], label="speedup over the UP kernel")
    ax.set_ylim(0.7, top)
    ax.set_title("Speedup against the bounds", loc="left", fontsize=11)
    F.legend_outside(ax)


def explore_figure(ex: Exploration) -> Figure:
    """Table 1 and the speedup against the bounds above, the timeline of
    seed 0's MP run (its first CPUs) below; titled by the controls."""
    c = ex.controls
    rec = _first_cpus(ex.recording, TIMELINE_ROWS)
    fig = Figure(figsize=(10.5, 5.2 + 0.5 * rec["cpus"]), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[4.2, 1.0 + 0.5 * rec["cpus"]])
    a1, a2 = top.subplots(1, 2, width_ratios=[1.0, 1.15])
    _draw_table1(a1, ex)
    _draw_speedup(a2, ex)
    ax = bottom.subplots()
    shown = "" if rec["cpus"] == ex.recording["cpus"] else \
        f" (CPUs 0-{rec['cpus'] - 1} of {ex.recording['cpus']})"
    timeline(rec, ax=ax, relative=True, unit="ms",
             title=f"The first {c.timeline_ms:g} ms of measurement, seed 0{shown}")
    design = c.lock if POLICIES[c.lock].forwarding else f"{c.lock} lock, {c.spinlock}"
    fig.suptitle(f"Explore: {c.cpus} CPU{'s' if c.cpus > 1 else ''}, {design}, {c.machine}, "
                 f"{c.workload} workload"
                 + (f", E8: {' + '.join(c.causes)}" if c.causes else ""),
                 x=0.01, ha="left", fontsize=13)
    return fig
