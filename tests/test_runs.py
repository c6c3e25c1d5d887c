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
