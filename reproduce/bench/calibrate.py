"""Calibration: the only place where model parameters are fitted to the paper.

docs/design.md (the honesty protocol) allows two fits and no others:

* ``bg_kernel_cycles`` (mean kernel work of a system thread's call) is fitted
  so that the UP kernel spends the paper's 36% of its time in the kernel
  (Table 1, UP row), averaged over the calibration seeds;
* ``mp_entry_overhead`` (extra cycles per kernel entry in the MP build) is
  fitted so that the MP kernel on one CPU is the paper's 2% slower than the
  UP kernel (section 5).

Both targets are read from ``data/paper/``; everything measured on two CPUs
is a prediction.  Both functions are monotone in their parameter, so each fit
is a bracketing root finder (:func:`find_root`: model steps until the target
is bracketed, then regula falsi, Illinois) on common random numbers, the same
seeds at every trial value, stopping within half a standard error over the
seeds of the target (:data:`TOL_SEM`).  The fit is deterministic; its result is written to
``data/results/calibration.json`` under the model's source version, only
when asked (``reproduce calibrate``, ``make reproduce``): a changed model
makes :func:`~reproduce.bench.calibration.calibration` raise until then.
"""
from __future__ import annotations

import json
from pathlib import Path
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import ConfigError
from ..files import atomic_write_text
from .calibration import CALIBRATION, forget, read_report
from .scenario import Scenario
from ..params import DATA
from ..version import model_version

SEEDS = (0, 1, 2, 3, 4)


def paper_targets() -> dict[str, float]:
    """The two numbers we fit to, from data/paper/."""
    import pandas as pd
    t1 = pd.read_csv(DATA / "paper" / "table1.csv")
    up = t1[t1["kernel"] == "UP"].iloc[0]
    claims = pd.read_csv(DATA / "paper" / "claims.csv").set_index("id")
    return {"up_kernel": float(up["kernel_lo"]) / 100.0,
            "mp_on_up_slowdown": float(claims.loc["mp_on_up_slowdown", "value"])}


def _variant(cpus: int, kernel: str, seed: int, base: dict[str, Any] | None,
             ov: dict[str, Any]) -> Scenario:
    """A scenario of the fit: *base* (Scenario fields, its ``overrides``
    merged under *ov*) on *cpus* CPUs with the *kernel* build, uncalibrated."""
    kw = dict(base or {})
    merged = dict(kw.pop("overrides", {}) or {})
    merged.update(ov)
    return Scenario(cpus=cpus, kernel=kernel, seed=seed, calibrated=False,
                    overrides=merged, **kw)


def up_scenarios(bg_kernel_cycles: int, seeds=SEEDS,
                 base: dict[str, Any] | None = None) -> list[Scenario]:
    """The UP-kernel runs whose kernel share is fitted to Table 1's UP row."""
    return [_variant(1, "up", s, base, {"bg_kernel_cycles": int(bg_kernel_cycles)})
            for s in seeds]


def mp1_scenarios(bg_kernel_cycles: int, overhead: int, seeds=SEEDS,
                  base: dict[str, Any] | None = None) -> list[Scenario]:
    """The MP-kernel runs on one CPU whose slowdown is fitted to 2%."""
    return [_variant(1, "mp", s, base, {"bg_kernel_cycles": int(bg_kernel_cycles),
                                        "mp_entry_overhead": int(overhead)}) for s in seeds]


def share_step(bg_kernel_cycles: float, share: float, target: float,
               prev: tuple[float, float] | None = None) -> int:
    """Next guess of ``bg_kernel_cycles`` for a UP kernel share *target*,
    from *share* measured at *bg_kernel_cycles*.  The system threads' work
    comes per tick, so the share is about proportional to their mean call
    cost: scale by target/share; with a previous point *prev* =
    (bg, share), a secant through both.  The steps that bracket the target
    for :func:`find_root`."""
    if not 0.0 < share <= 1.0:
        raise RuntimeError(f"UP kernel share {share!r} at bg_kernel_cycles="
                           f"{bg_kernel_cycles}: cannot step from it")
    x = bg_kernel_cycles * target / share
    # A saturated kernel (share ~ 1: the benchmark starves) says only "less".
    if prev is not None and max(share, prev[1]) < 0.99 and prev[1] != share \
            and prev[0] != bg_kernel_cycles:
        slope = (share - prev[1]) / (bg_kernel_cycles - prev[0])
        if slope > 0:
            x = bg_kernel_cycles + (target - share) / slope
    return max(1, int(round(x)))


def overhead_step(overhead: float, slowdown: float, target: float, entries: float,
                  up_cycles: float, prev: tuple[float, float] | None = None) -> int:
    """Next guess of ``mp_entry_overhead`` for an MP-on-UP slowdown *target*:
    every kernel entry pays it once, so the slowdown moves by about
    *entries* / *up_cycles* per cycle of overhead; with a previous point
    *prev* = (overhead, slowdown), a secant through both."""
    slope = entries / up_cycles if up_cycles > 0 and entries > 0 else 0.0
    if prev is not None and prev[0] != overhead and prev[1] != slowdown:
        s = (slowdown - prev[1]) / (overhead - prev[0])
        if s > 0:
            slope = s
    if slope <= 0:
        return int(round(overhead))
    return max(0, int(round(overhead + (target - slowdown) / slope)))


# The fits stop when the measured mean is within this fraction of its own
# standard error over the seeds (at the point measured) of the target: a fit
# finer than the seeds can tell apart buys nothing, a coarser one would add
# an error of the fit's own to the seeds' spread.
TOL_SEM = 0.5


def sem(values) -> float:
    """Standard error of the mean over the seeds (0 for a single value)."""
    v = np.asarray(values, dtype=float)
    return float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0


@dataclass
class Point:
    """One evaluation of a fit: the parameter *x*, the mean over the seeds
    of the fitted observable, its standard error and what else the caller
    keeps (the runs)."""

    x: float
    mean: float
    sem: float
    data: Any = None

    def tol(self) -> float:
        """The stopping tolerance at this point, in the observable's units."""
        return TOL_SEM * self.sem


@dataclass
class Root:
    """A fit's answer: the point kept, every point evaluated (in order),
    and whether the target was met within the point's tolerance
    (``converged``) or only bracketed as closely as the parameter's grid
    allows, or neither (``bracketed`` False: the target is outside every
    value tried)."""

    best: Point
    points: list[Point]
    converged: bool
    bracketed: bool


def find_root(f: Callable[[float], Point], target: float, starts: Sequence[float], *,
              step: Callable[[Point, Point | None], float] | None = None,
              lo: float = -math.inf, hi: float = math.inf,
              rnd: Callable[[float], float] = lambda x: float(int(round(x))),
              max_evals: int = 16) -> Root:
    """The parameter at which *f*'s mean meets *target*, for a monotone *f*
    evaluated on common random numbers (the same seeds at every value).

    *f(x)* returns a :class:`Point`.  The points *starts* are evaluated
    first; then, until the target is bracketed (two points on either side),
    *step* proposes the next point from the last one and the one before (a
    model of the function: a proportional or secant step), kept within
    [*lo*, *hi*]; once bracketed, regula falsi with the Illinois
    modification (the end kept twice has its distance to the target halved,
    so the bracket shrinks from both sides) narrows it.  Every proposed
    value goes through *rnd* (the parameter's grid: whole cycles for the
    calibrated costs).  It stops at the first point whose mean is within
    ``TOL_SEM`` standard errors of the target (:meth:`Point.tol`), when the
    bracket holds no grid value inside it, or after *max_evals* points; the
    point kept is then the one closest to the target.

    Regula falsi rather than :func:`scipy.optimize.brentq`: the parameters
    are integers (the function is a staircase between grid values, which
    brentq's interpolation and tolerance in x do not know about), and the
    stopping rule is in the observable's units, set by the seeds' spread at
    the point just measured, which brentq cannot take."""
    pts: list[Point] = []

    def done(p: Point) -> bool:
        return abs(p.mean - target) <= p.tol()

    def result(converged: bool) -> Root:
        best = min(pts, key=lambda p: abs(p.mean - target))
        if converged:
            best = pts[-1]
        return Root(best, pts, converged, _bracket(pts, target) is not None)

    for x in starts:
        x = rnd(min(hi, max(lo, x)))
        if any(p.x == x for p in pts):
            continue
        pts.append(f(x))
        if done(pts[-1]):
            return result(True)
    # Search for a bracket with the model's steps.
    while _bracket(pts, target) is None and step is not None and len(pts) < max_evals:
        x = rnd(min(hi, max(lo, step(pts[-1], pts[-2] if len(pts) > 1 else None))))
        if any(p.x == x for p in pts):
            break                                   # the model proposes nothing new
        pts.append(f(x))
        if done(pts[-1]):
            return result(True)
    br = _bracket(pts, target)
    if br is None:
        return result(False)
    a, b = br
    ga, gb = a.mean - target, b.mean - target
    while len(pts) < max_evals:
        x = rnd(b.x - gb * (b.x - a.x) / (gb - ga))
        inside = (min(a.x, b.x) < x < max(a.x, b.x))
        if not inside:
            # On the grid the step fell on an end: one grid step inwards.
            x = rnd(0.5 * (a.x + b.x))
            inside = (min(a.x, b.x) < x < max(a.x, b.x))
            if not inside:
                break                               # no grid value left in the bracket
        p = f(x)
        pts.append(p)
        if done(p):
            return result(True)
        gp = p.mean - target
        if gp * gb > 0:
            ga /= 2                                 # Illinois: *a* kept twice
        else:
            a, ga = b, gb
        b, gb = p, gp
    return result(False)


def _bracket(pts: list[Point], target: float) -> tuple[Point, Point] | None:
    """The closest pair of evaluated points on either side of *target*
    (the one evaluated last second), or None."""
    below = [p for p in pts if p.mean < target]
    above = [p for p in pts if p.mean > target]
    if not below or not above:
        return None
    # The tightest bracket in x among the pairs (the function is monotone).
    pairs = [(a, b) for a in below for b in above]
    a, b = min(pairs, key=lambda ab: abs(ab[0].x - ab[1].x))
    return (a, b) if pts.index(a) < pts.index(b) else (b, a)


Runner = Callable[[list[Scenario]], Any]


def _simulate_rows(scs: list[Scenario]) -> "pd.DataFrame":
    """The measured rows of *scs*, simulated here, one after another, with
    no result cache (a refit is made from nothing)."""
    from .sweep import sweep
    return sweep(scs, workers=1, cache=False)


def fit_up_share(up_at: Callable[[float], Point], target: float, start: float) -> Root:
    """``bg_kernel_cycles`` giving the UP kernel the share *target* of its
    time: :func:`find_root` from *start*, bracketing with :func:`share_step`;
    *up_at(bg)* measures the share (a :class:`Point` over the seeds).  The
    calibration's first fit, and the explorer's for another share."""
    def share_next(p: Point, prev: Point | None) -> float:
        return share_step(p.x, p.mean, target, None if prev is None else (prev.x, prev.mean))

    return find_root(up_at, target, [start], step=share_next, lo=1, hi=10**7)


def fit_calibration(run: Runner = _simulate_rows, seeds=SEEDS,
                    base: dict[str, Any] | None = None,
                    start: tuple[int, int] = (8000, 0)) -> dict[str, Any]:
    """Both fits for the scenarios *base* (Scenario fields and overrides;
    None: the paper's), on common random numbers (*seeds* at every trial
    value), from the point *start* = (``bg_kernel_cycles``,
    ``mp_entry_overhead``).  *run* gives the rows of a list of scenarios
    (columns ``kernel``, ``cycles``, ``entries``).

    The UP kernel share is fitted first with :func:`share_step` to bracket
    it, the MP-on-UP slowdown then against the UP runs at the value kept
    (which are not run again) with :func:`overhead_step`; each stops within
    ``TOL_SEM`` standard errors over the seeds.  Returns the values, what
    they achieve, the tolerances used, the UP and MP runs at the values
    kept, and how many scenarios each fit asked for."""
    t = paper_targets()
    asked = {"up": 0, "mp_on_up": 0}

    def up_at(bg: float) -> Point:
        scs = up_scenarios(int(bg), seeds, base)
        asked["up"] += len(scs)
        rows = run(scs)
        return Point(bg, float(rows["kernel"].mean()), sem(rows["kernel"]), rows)

    up = fit_up_share(up_at, t["up_kernel"], start[0])
    bg = int(up.best.x)
    up_rows = up.best.data
    up_cycles = up_rows["cycles"].to_numpy()

    def mp_at(ovh: float) -> Point:
        scs = mp1_scenarios(bg, int(ovh), seeds, base)
        asked["mp_on_up"] += len(scs)
        rows = run(scs)
        ratio = rows["cycles"].to_numpy() / up_cycles - 1.0
        return Point(ovh, float(ratio.mean()), sem(ratio), rows)

    def overhead_next(p: Point, prev: Point | None) -> float:
        return overhead_step(p.x, p.mean, t["mp_on_up_slowdown"],
                             float(p.data["entries"].mean()), float(up_cycles.mean()),
                             None if prev is None else (prev.x, prev.mean))

    mp = find_root(mp_at, t["mp_on_up_slowdown"], [start[1]], step=overhead_next,
                   lo=0, hi=10**6)
    return {"bg_kernel_cycles": bg, "mp_entry_overhead": int(mp.best.x),
            "achieved_up_kernel": up.best.mean,
            "achieved_mp_on_up_slowdown": mp.best.mean,
            "sem": {"up_kernel": up.best.sem, "mp_on_up_slowdown": mp.best.sem},
            "tolerance": {"up_kernel": up.best.tol(), "mp_on_up_slowdown": mp.best.tol()},
            "converged": {"up_kernel": up.converged, "mp_on_up_slowdown": mp.converged},
            "evaluations": {"up_kernel": len(up.points), "mp_on_up_slowdown": len(mp.points)},
            "scenarios": dict(asked), "up": up_rows, "mp": mp.best.data,
            "targets": t, "seeds": list(seeds)}


def fit() -> dict[str, Any]:
    """Run both fits; return the fitted values, what they achieve, the
    stopping tolerances (``TOL_SEM`` standard errors over the seeds, in
    the observable's units) and how many simulations each fit made."""
    r = fit_calibration()
    out = {k: v for k, v in r.items() if k not in ("up", "mp", "scenarios")}
    out["simulations"] = r["scenarios"]
    out["method"] = (f"regula falsi (Illinois) on common random numbers, started by "
                     f"model steps from bg_kernel_cycles=8000, mp_entry_overhead=0; stops "
                     f"within {TOL_SEM:g} standard errors over the seeds")
    return out


def refit(path: Path = CALIBRATION) -> dict[str, Any]:
    """Fit the current model version and write *path* (atomically); returns
    the document.  This is the only writer of ``calibration.json``."""
    doc = {"model_version": model_version(), **fit()}
    atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")
    forget()
    return doc


def ensure(path: Path = CALIBRATION) -> tuple[dict[str, Any], bool]:
    """The fit for the current model version, refitting only if the one at
    *path* is stale or missing.  Returns ``(document, refitted)``.  Called
    explicitly by the notebook runner (``make reproduce``) and ``reproduce calibrate``,
    never by :func:`~reproduce.bench.run.simulate`."""
    try:
        return read_report(path), False
    except ConfigError:
        return refit(path), True
