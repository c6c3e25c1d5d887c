"""The scale-out demonstration (python -m reproduce.perf.cluster)."""
from __future__ import annotations

import csv

import pytest

from reproduce.perf import cluster


def test_grid_has_over_a_thousand_distinct_scenarios():
    todo = cluster.scenarios()
    assert len(todo) >= 1000
    assert len({s.key() for s in todo}) == len(todo)
    assert {s.cpus for s in todo} == set(cluster.CPUS) and max(cluster.CPUS) == 32
    fractions = {round(s.kernel_mean / (s.user_mean + s.kernel_mean), 6) for s in todo}
    assert fractions == set(cluster.KERNEL_FRACTIONS)


@pytest.mark.slow
def test_pool_and_dask_give_the_same_rows_and_a_csv(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(cluster, "CPUS", (1, 4))
    monkeypatch.setattr(cluster, "KERNEL_FRACTIONS", (0.36,))
    out = tmp_path / "cluster.csv"
    assert cluster.main(["--seeds", "1", "--reps", "1", "--horizon", "200000",
                         "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["mode"] for r in rows] == ["serial", "process pool", "dask"]
    assert all(float(r["scenarios_per_s"]) > 0 and float(r["cpu_s"]) > 0 for r in rows)
    assert float(rows[2]["startup_s"]) > 0
