"""The fits of the calibration and of E8: the bracketing root finder, its
stopping rule set by the seeds' spread, and no refit where the inputs are
unchanged."""
from __future__ import annotations

import math

import numpy as np
import pytest

from reproduce.bench import calibrate as C
from reproduce.bench.scenario import Scenario
from reproduce.bench.sweep import compute_row, sweep
from reproduce.experiments import e8


def _point(fn, sem=1e-3):
    calls = []

    def f(x):
        calls.append(x)
        return C.Point(x, fn(x), sem)
    return f, calls


def test_find_root_meets_a_monotone_function_within_its_tolerance():
    f, calls = _point(math.exp)
    r = C.find_root(f, 5.0, [0.0, 4.0], rnd=lambda x: round(x, 6))
    assert r.converged and r.bracketed
    assert abs(r.best.mean - 5.0) <= C.TOL_SEM * 1e-3
    assert abs(r.best.x - math.log(5.0)) < 1e-3
    assert len(calls) <= 12     # Illinois; plain regula falsi needs ~35, bisection ~15
    assert len(set(calls)) == len(calls)    # no value evaluated twice


def test_find_root_decreasing_and_integer_grid():
    # Decreasing, on whole numbers: the target 1/37.5 lies between 37 and 38,
    # where no grid value is left; the closer end is kept.
    f, calls = _point(lambda x: 1.0 / x, sem=1e-9)
    r = C.find_root(f, 1 / 37.5, [1.0, 100.0])
    assert r.bracketed and not r.converged
    assert r.best.x in (37.0, 38.0)
    assert abs(r.best.mean - 1 / 37.5) == min(abs(1 / 37 - 1 / 37.5), abs(1 / 38 - 1 / 37.5))
    assert all(float(x).is_integer() for x in calls)


def test_find_root_steps_to_a_bracket_then_stops_at_the_seed_tolerance():
    # One start and a proportional step (as share_step): the tolerance is
    # half the standard error, so a coarse one stops sooner.
    fine, n_fine = _point(lambda x: 0.3 * math.sqrt(x), sem=1e-4)
    coarse, n_coarse = _point(lambda x: 0.3 * math.sqrt(x), sem=0.05)
    step = (lambda p, prev: p.x * (1.2 / p.mean) ** 2)
    r1 = C.find_root(fine, 1.2, [1.0], step=step, rnd=lambda x: round(x, 6))
    r2 = C.find_root(coarse, 1.2, [1.0], step=step, rnd=lambda x: round(x, 6))
    assert r1.converged and abs(r1.best.mean - 1.2) <= 0.5e-4
    assert r2.converged and abs(r2.best.mean - 1.2) <= 0.025
    assert len(n_coarse) <= len(n_fine)


def test_find_root_not_bracketed_keeps_the_closer_end():
    f, _ = _point(lambda x: x, sem=0.0)
    r = C.find_root(f, 10.0, [0.0, 4.0])
    assert not r.bracketed and not r.converged and r.best.x == 4.0


@pytest.fixture
def counted(monkeypatch):
    """Count the scenarios actually simulated (not served by a cache)."""
    n = {"sims": 0}

    def run(s):
        n["sims"] += 1
        return compute_row(s)
    return n, run


def test_second_fit_with_unchanged_inputs_runs_nothing(tmp_path, counted):
    n, run = counted
    rows = lambda scs: sweep(scs, workers=1, cache=tmp_path, runner=run)  # noqa: E731
    seeds = (0, 1)
    a = C.fit_calibration(rows, seeds)
    first = n["sims"]
    assert first > 0
    assert abs(a["achieved_up_kernel"] - 0.36) <= a["tolerance"]["up_kernel"] \
        or not a["converged"]["up_kernel"]
    b = C.fit_calibration(rows, seeds)
    assert n["sims"] == first                      # the same scenarios: nothing run
    assert (a["bg_kernel_cycles"], a["mp_entry_overhead"]) == \
        (b["bg_kernel_cycles"], b["mp_entry_overhead"])
    # E8: a variant whose overrides were all found inert takes the default's
    # fit without a run; one that acts on one CPU refits.
    ref = a
    fit = e8._Fit({"placement": "same"}, list(seeds), ref,
                  frozenset({(("placement", "same"),)}), cache=tmp_path, names=("placement",))
    cal = fit.calibrate(fit.base(None, None))
    assert cal["reused"] and fit.runs == 0
    assert cal["bg_kernel_cycles"] == ref["bg_kernel_cycles"]
    # placement means nothing on one CPU (e8.ONE_CPU): reused with no probe
    fit1 = e8._Fit({"placement": "same"}, list(seeds), ref, frozenset(), cache=tmp_path,
                   names=("placement",))
    assert fit1.calibrate(fit1.base(None, None))["reused"] and fit1.runs == 0
    fit2 = e8._Fit({"bg_fixed_share": 1.0}, list(seeds), ref, frozenset(), cache=tmp_path,
                   names=("bg_fixed",))
    cal2 = fit2.calibrate(fit2.base(None, None))
    assert not cal2["reused"] and fit2.runs > 0


def test_probe_finds_what_acts_on_one_cpu(tmp_path):
    seeds = [0, 1]
    ref = C.fit_calibration(lambda scs: sweep(scs, workers=1, cache=tmp_path), seeds)
    units = [(("placement", "same"),), (("undeferrable_share", 0.9),),
             (("idle_poll_cycles", 400),), (("idle_poll_cycles", 400), ("idle_poll_gap", 2000))]
    inert = e8.probe_inert(ref, units, seeds, workers=1, cache=tmp_path)
    # Both benchmark processes on CPU 0 is what one CPU does anyway; moving
    # the background's work into interrupts changes the UP run; what a look
    # of the idle loop costs matters only when the idle loop looks.
    assert inert == frozenset({units[0], units[2]})


def test_sem_is_the_standard_error_of_the_mean():
    v = np.array([1.0, 2.0, 3.0, 4.0])
    assert C.sem(v) == pytest.approx(v.std(ddof=1) / 2)
    assert C.sem([5.0]) == 0.0


# Each parameter of e8.ONE_CPU at a value other than its default, all at
# once: the runs the calibrations make (UP kernel and MP kernel on one CPU)
# must be the same bit for bit beside every cause's own settings, or the
# calibrations E8 shares between variants would not be theirs.
ONE_CPU_VALUES = ({"irq_routing": "cpu0", "irq_burst_alternate": True, "placement": "same",
                   "timer_list": "global", "ipi_preempt": True, "lock_line_writes": 16,
                   "loop_bus_misses": 37.0, "timer_phase_skew": 0.5},
                  {"irq_routing": "lowest", "irq_burst_alternate": False,
                   "loop_bus_misses": 5.0})


def _cause_settings():
    out = [{}]
    for h in e8.hypotheses().values():
        ov = dict(h.overrides)
        if h.free:
            ov[h.free] = h.prior
        out.append(ov)
    return out


@pytest.mark.parametrize("kernel", ["up", "mp"])
def test_one_cpu_parameters_leave_one_cpu_runs_unchanged_beside_every_cause(kernel):
    assert set(ONE_CPU_VALUES[0]) == e8.ONE_CPU           # every one of them tested
    short = {"bg_kernel_cycles": 12052, "mp_entry_overhead": 228, "work_cycles": 6_000_000}
    for cause in _cause_settings():
        base = {**cause, **short}
        want = _measured_row(Scenario(cpus=1, kernel=kernel, calibrated=False, overrides=base))
        for values in ONE_CPU_VALUES:
            ov = {**base, **{k: v for k, v in values.items() if k not in cause}}
            got = _measured_row(Scenario(cpus=1, kernel=kernel, calibrated=False, overrides=ov))
            assert got == want, (kernel, cause, values)


def test_one_cpu_items_are_left_out_of_the_calibration_units():
    hs = e8.hypotheses()
    units = e8._probe_units([("irq_cpu0",), ("undeferrable",), ("placement",)], hs)
    # irq_cpu0's routing means nothing on one CPU: its units are undeferrable's
    assert units == e8._probe_units([("undeferrable",)], hs)
    assert all(k not in e8.ONE_CPU for u in units for k, _ in u)


def _measured_row(s):
    row = compute_row(s)
    return e8._measured(row)


def test_changed_items_leave_out_only_the_tables_own_values():
    from reproduce.bench.scenario import build_params
    costs, work = build_params(Scenario(calibrated=False))
    same = {"bg_fixed_share": work["bg_fixed_share"], "poll_threads": work["poll_threads"]}
    other = {"bg_fixed_share": 0.5, "poll_threads": work["poll_threads"] + 2}
    assert e8.changed_items(same) == {}
    assert e8.changed_items(other) == other
    assert e8.changed_items({**same, "priority": 2}) == {"priority": 2}
    # the same tables, so the same run, bit for bit
    short = {"work_cycles": 6_000_000}
    a = compute_row(Scenario(cpus=2, calibrated=False, overrides={**short, **same}))
    b = compute_row(Scenario(cpus=2, calibrated=False, overrides={**short, **e8.changed_items(same)}))
    assert e8._measured(a) == e8._measured(b)
