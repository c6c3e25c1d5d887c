"""The reference versions of the synthetic giant-lock model that the speed
benchmark times (salabim, the plain-heap floor and its numba build) are the
SimPy model: with the same seed they must count the same cycles per CPU and
mode, the same acquisitions, contentions, hold and wait time.  A version
that timed a different model would make its ratio meaningless."""
from __future__ import annotations

import pytest

pytest.importorskip("simpy")
from reproduce.reference import floor_model, simpy_model  # noqa: E402

KEYS = ("modes", "acquisitions", "contentions", "waittime_total", "holdtime_total")
CASES = [dict(seed=0), dict(seed=2, cpus=4), dict(seed=4, cpus=8, user_mean=12_800.0),
         dict(seed=3, distribution="constant", kernel_mean=5000.0),
         dict(seed=1, cpus=32, user_mean=156_400.0), dict(seed=5, cpus=32)]
HORIZON = 4_000_000


@pytest.fixture(scope="module")
def simpy_runs() -> list[dict]:
    return [simpy_model.run(horizon=HORIZON, **kw) for kw in CASES]


def same(a: dict, b: dict) -> None:
    for k in KEYS:
        assert a[k] == b[k], k
    assert all(sum(m) == HORIZON for m in a["modes"])
    assert a["acquisitions"] > 0


@pytest.mark.parametrize("n", range(len(CASES)))
def test_floor_counts_the_simpy_cycles(simpy_runs, n):
    same(floor_model.run(horizon=HORIZON, **CASES[n]), simpy_runs[n])


@pytest.mark.parametrize("n", range(len(CASES)))
def test_salabim_counts_the_simpy_cycles(simpy_runs, n):
    pytest.importorskip("salabim")
    from reproduce.reference import salabim_model
    same(salabim_model.run(horizon=HORIZON, **CASES[n]), simpy_runs[n])


@pytest.mark.slow
def test_numba_floor_counts_the_simpy_cycles(simpy_runs):
    pytest.importorskip("numba")
    for kw, q in zip(CASES, simpy_runs):
        same(floor_model.run_numba(horizon=HORIZON, **kw), q)


def test_floor_draws_again_when_its_phases_run_out(monkeypatch):
    """The phase lists are drawn for the expected run; a run that needs more
    starts over with longer lists from the same streams, and gives what a
    run with enough phases from the start gives."""
    kw = dict(seed=6, cpus=2, horizon=HORIZON)
    want = floor_model.run(**kw)
    monkeypatch.setattr(floor_model, "_pairs_needed", lambda *a: 1)
    monkeypatch.setattr(floor_model, "BLOCK", 8)
    assert floor_model.run(**kw)["modes"] == want["modes"]


def test_phase_arrays_are_the_synthetic_loop_phases():
    import numpy as np
    from reproduce.bench.workload import synthetic_loop
    users, kernels = floor_model.phase_arrays(9, 3, 6400.0, 3600.0, "exponential", 5000)
    for i, rng in enumerate(simpy_model.synthetic_streams(9, 3)):
        loop = synthetic_loop(rng, 6400.0, 3600.0, "exponential")
        got = [next(loop)[1] for _ in range(2 * users.shape[1])]
        assert got[0::2] == users[i].tolist() and got[1::2] == kernels[i].tolist()
    assert users.dtype == kernels.dtype == np.int64
