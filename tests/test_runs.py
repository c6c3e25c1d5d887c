"""Experiments find their runs by joining on scenario columns
(reproduce.bench.runs), so the order of a sweep's rows cannot shift a
result onto the wrong scenario."""
from __future__ import annotations

import pandas as pd
import pytest

from reproduce.errors import InvariantError
from reproduce.bench import runs
from reproduce.bench.sweep import sweep
from reproduce.bench.scenario import Scenario


def _keyed():
    base = dict(workload="synthetic", horizon=200_000, calibrated=False)
    return {(n, s): Scenario(cpus=n, seed=s, **base) for n in (1, 2) for s in (0, 1)}


def test_join_ignores_row_order():
    keyed = _keyed()
    df = sweep(list(keyed.values()), cache=False, workers=1)
    straight = runs.join(df, keyed)
    shuffled = runs.join(df.iloc[::-1].reset_index(drop=True), keyed)
    for k, s in keyed.items():
        assert int(straight[k]["cpus"]) == s.cpus and int(straight[k]["seed"]) == s.seed
        assert straight[k]["cycles"] == shuffled[k]["cycles"]
        assert straight[k]["spin"] == shuffled[k]["spin"]
    # different scenarios really give different rows (the join is not trivial)
    assert straight[(2, 0)]["spin"] != straight[(2, 1)]["spin"]


def test_join_refuses_a_missing_row():
    keyed = _keyed()
    df = sweep(list(keyed.values()), cache=False, workers=1)
    with pytest.raises(InvariantError, match="no row"):
        runs.join(df[df["seed"] == 0], keyed)


def test_join_needs_scenario_columns():
    keyed = _keyed()
    with pytest.raises(InvariantError, match="scenario column"):
        runs.join(pd.DataFrame({"cycles": [1]}), keyed)


def test_simulate_pauses_the_collector_and_restores_it(monkeypatch):
    # no collection runs inside a simulation (a run's objects live as long
    # as it does), and the collector's state is the caller's afterwards, an
    # error included
    import gc

    from reproduce.bench.run import simulate
    from reproduce.bench.scenario import Scenario
    seen = []

    def watch(phase, info):
        if phase == "start":
            seen.append(info["generation"])

    s = Scenario(workload="synthetic", cpus=2, calibrated=False, horizon=2_000_000)
    gc.callbacks.append(watch)
    try:
        assert gc.isenabled()
        gc.set_threshold(1)                 # a collection at every allocation, if allowed
        try:
            simulate(s)
        finally:
            gc.set_threshold(700, 10, 10)
        assert seen == [] and gc.isenabled()
        gc.disable()
        simulate(s)
        assert not gc.isenabled()
        gc.enable()
        import reproduce.bench.run as run_mod

        def broken(_):
            assert not gc.isenabled()       # paused by then
            raise RuntimeError("inside the run")
        monkeypatch.setattr(run_mod, "build_params", broken)
        with pytest.raises(RuntimeError, match="inside the run"):
            simulate(s)
        assert gc.isenabled()
    finally:
        gc.callbacks.remove(watch)
        gc.enable()
