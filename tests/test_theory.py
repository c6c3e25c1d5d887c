"""Closed-form theory (reproduce.reference.theory) against hand-derived values,
queueing identities, and a brute-force check of each formula's premise."""
from __future__ import annotations

import heapq
import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from reproduce.reference import theory
from reproduce.reference.theory import amdahl, constant_phases, lock_bound, machine_repairman
from reproduce.errors import ConfigError

means = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)
cpus = st.integers(min_value=1, max_value=64)


# -- Amdahl and the lock bound -------------------------------------------------
def test_amdahl_paper_value():
    # Paper, section 5: (36+64)/(36+64/2) ~ 1.47.
    assert amdahl(0.36, 2) == pytest.approx(100 / 68)
    assert round(amdahl(0.36, 2), 2) == 1.47


def test_amdahl_limits():
    assert amdahl(1.0, 8) == pytest.approx(1.0)
    assert amdahl(0.5, 1) == pytest.approx(1.0)
    assert amdahl(0.01, 10**6) == pytest.approx(100, rel=1e-3)


def test_lock_bound_paper_value():
    # The giant lock forbids only kernel/kernel overlap: 1/0.36 > 2, so 2.
    assert lock_bound(0.36, 2) == 2.0
    assert lock_bound(0.36, 8) == pytest.approx(1 / 0.36)
    assert lock_bound(1.0, 4) == 1.0


@given(s=st.floats(min_value=1e-6, max_value=1.0), n=cpus)
def test_amdahl_never_above_lock_bound(s, n):
    assert 1.0 <= amdahl(s, n) <= lock_bound(s, n) * (1 + 1e-12)


# -- M/M/1//N ------------------------------------------------------------------
def test_repairman_one_cpu_never_waits():
    r = machine_repairman(1, 64.0, 36.0)
    assert r["utilization"] == pytest.approx(36 / 100)
    assert r["waiting"] == pytest.approx(0.0, abs=1e-15)
    assert r["spin"] == pytest.approx(0.0, abs=1e-15)
    assert r["throughput"] == pytest.approx(1 / 100)
    assert r["speedup"] == pytest.approx(1.0)
    assert r["user"] == pytest.approx(0.64)
    assert r["kernel"] == pytest.approx(0.36)


def test_repairman_two_cpus_64_36_exact():
    # rho = K/U = 9/16; p_k ~ 1, 2 rho, 2 rho^2.  Spinning = p_2 (one waits
    # when both want the lock); per CPU that is p_2 / 2.
    rho = Fraction(36, 64)
    w = [Fraction(1), 2 * rho, 2 * rho ** 2]
    p = [x / sum(w) for x in w]
    spin = p[2] / 2
    assert spin == Fraction(81, 706)
    r = machine_repairman(2, 64, 36)
    assert r["spin"] == pytest.approx(float(spin), rel=1e-12)
    assert r["utilization"] == pytest.approx(float(1 - p[0]), rel=1e-12)
    # docs/design.md: "about 11 % per CPU"; exactly 81/706 = 11.47%.
    assert 0.114 < r["spin"] < 0.115
    # Far below the paper's 20-23%: independent kernel entries cannot explain it.
    assert r["spin"] < 0.20


@settings(max_examples=60, deadline=None)
@given(n=cpus, u=means, k=means)
def test_repairman_identities(n, u, k):
    r = machine_repairman(n, u, k)
    # Per-CPU fractions partition each CPU's time.
    assert r["user"] + r["kernel"] + r["spin"] == pytest.approx(1.0, rel=1e-9)
    assert min(r["user"], r["kernel"], r["spin"]) >= -1e-12
    # Utilization law: the lock is busy throughput*K of the time.
    assert r["utilization"] == pytest.approx(r["throughput"] * k, rel=1e-9)
    # Little's law on the closed loop: each of n CPUs cycles U + K + Wq.
    assert r["throughput"] * (u + k + r["wait_time"]) == pytest.approx(n, rel=1e-9)
    # Little on the think station: CPUs in user mode = throughput * U.
    assert n * r["user"] == pytest.approx(r["throughput"] * u, rel=1e-7, abs=1e-12)
    # Speedup is below both n and the lock bound (U+K)/K.
    assert r["speedup"] <= min(n, (u + k) / k) * (1 + 1e-9)
    assert r["speedup"] == pytest.approx(r["throughput"] * (u + k), rel=1e-12)


def test_repairman_large_n_is_stable_and_saturates():
    r = machine_repairman(64, 64, 36)
    assert all(math.isfinite(v) for v in r.values())
    assert r["utilization"] == pytest.approx(1.0, abs=1e-12)
    assert r["speedup"] == pytest.approx(100 / 36, rel=1e-9)
    # Tiny kernel share: 64 CPUs nearly scale.
    r = machine_repairman(64, 1e6, 1.0)
    assert r["speedup"] == pytest.approx(64, rel=1e-3)
    assert machine_repairman(1000, 64, 36)["speedup"] == pytest.approx(100 / 36)


def test_repairman_speedup_grows_with_n():
    s = [machine_repairman(n, 64, 36)["speedup"] for n in range(1, 17)]
    assert all(b > a for a, b in zip(s, s[1:]))


def _simulate_repairman(n, u, k, passes, seed):
    """Brute force: n CPUs, exponential phases, one FIFO lock; returns the
    per-CPU spin fraction."""
    rng = random.Random(seed)
    events = [(rng.expovariate(1 / u), i) for i in range(n)]   # lock requests
    heapq.heapify(events)
    free_at = spin = now = 0.0
    for _ in range(passes):
        now, i = heapq.heappop(events)
        start = max(now, free_at)
        spin += start - now
        free_at = start + rng.expovariate(1 / k)
        heapq.heappush(events, (free_at + rng.expovariate(1 / u), i))
    return spin / (n * now)


def test_repairman_matches_brute_force():
    got = _simulate_repairman(2, 64.0, 36.0, 200_000, seed=1)
    assert got == pytest.approx(machine_repairman(2, 64, 36)["spin"], rel=0.03)


# -- constant phases -----------------------------------------------------------
def test_constant_phases_values():
    r = constant_phases(2, 64, 36)        # 2*36 <= 100: nobody waits
    assert r["speedup"] == 2.0 and r["spin"] == 0.0
    r = constant_phases(4, 64, 36)        # saturated: period 4*36 = 144
    assert r["period"] == 144
    assert r["speedup"] == pytest.approx(100 / 36)
    assert r["spin"] == pytest.approx(44 / 144)
    assert r["utilization"] == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(n=cpus, u=means, k=means)
def test_constant_phases_bound(n, u, k):
    r = constant_phases(n, u, k)
    assert r["speedup"] == pytest.approx(min(n, (u + k) / k), rel=1e-12)
    assert r["user"] + r["kernel"] + r["spin"] == pytest.approx(1.0)
    assert r["utilization"] <= 1 + 1e-12
    # Constant phases never spin more than exponential ones at the same means.
    assert r["spin"] <= machine_repairman(n, u, k)["spin"] + 1e-9


def _simulate_constant(n, u, k, offsets, passes):
    """Brute force with FIFO lock and constant phases; spin fraction measured
    over the second half, after the start-up transient."""
    events = [(off + u, i) for i, off in enumerate(offsets)]
    heapq.heapify(events)
    free_at = 0.0
    spin = t0 = None
    for j in range(passes):
        now, i = heapq.heappop(events)
        if j == passes // 2:
            spin, t0 = 0.0, now
        start = max(now, free_at)
        if spin is not None:
            spin += start - now
        free_at = start + k
        heapq.heappush(events, (free_at + u, i))
    return spin / (n * (now - t0))


@pytest.mark.parametrize("n,u,k", [(2, 64, 36), (3, 64, 36), (4, 64, 36), (8, 10, 7)])
def test_constant_phases_matches_brute_force(n, u, k):
    rng = random.Random(n)
    offsets = [rng.uniform(0, u + k) for _ in range(n)]
    got = _simulate_constant(n, u, k, offsets, 4000)
    assert got == pytest.approx(constant_phases(n, u, k)["spin"], abs=0.01)


# -- bad input -----------------------------------------------------------------
@pytest.mark.parametrize("call,needle", [
    (lambda: amdahl(0.0, 2), "serial_fraction=0.0"),
    (lambda: amdahl(1.5, 2), "serial_fraction=1.5"),
    (lambda: amdahl(0.3, 0), "n=0"),
    (lambda: lock_bound(-0.1, 2), "kernel_fraction=-0.1"),
    (lambda: lock_bound(0.36, 2.5), "n=2.5"),
    (lambda: machine_repairman(0, 64, 36), "n=0"),
    (lambda: machine_repairman(-3, 64, 36), "n=-3"),
    (lambda: machine_repairman(2, 0, 36), "user_mean=0"),
    (lambda: machine_repairman(2, 64, -1.0), "kernel_mean=-1.0"),
    (lambda: machine_repairman(2, float("nan"), 36), "user_mean=nan"),
    (lambda: machine_repairman(True, 64, 36), "n=True"),
    (lambda: constant_phases(2, 64, 0), "kernel=0"),
    (lambda: constant_phases(0, 64, 36), "n=0"),
])
def test_bad_input_names_value(call, needle):
    with pytest.raises(ConfigError) as e:
        call()
    assert needle in str(e.value)


# --------------------------------------------- Boyd-Wickizer et al.'s lock model
@pytest.mark.parametrize("n", [1, 2, 8, 64])
def test_ticket_markov_without_handoff_cost_is_the_finite_source_queue(n):
    a = theory.ticket_markov(n, 6400.0, 3600.0, 0.0)
    b = theory.machine_repairman(n, 6400.0, 3600.0)
    for key in ("throughput", "speedup", "utilization", "waiting", "in_system", "user"):
        assert a[key] == pytest.approx(b[key], rel=1e-12)


def test_ticket_markov_collapses_as_handoff_grows_with_waiters():
    # Past saturation, more cores lengthen every hand-off: throughput falls.
    x = [theory.ticket_markov(n, 6400.0, 3500.0, 100.0)["throughput"] for n in (4, 8, 16, 32)]
    assert x[0] > x[1] > x[2] > x[3]
    # One core alone never waits: a pass per a + s + c.
    one = theory.ticket_markov(1, 6400.0, 3500.0, 100.0)
    assert one["speedup"] == pytest.approx(1.0)


def test_ticket_markov_bad_input():
    with pytest.raises(ConfigError, match="per_waiter=-1"):
        theory.ticket_markov(4, 6400.0, 3600.0, -1)
    with pytest.raises(ConfigError, match="n=0"):
        theory.ticket_markov(0, 6400.0, 3600.0, 1.0)
