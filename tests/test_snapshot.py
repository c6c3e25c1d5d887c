"""A parameter table edited while a sweep runs: every row is computed from the
tables of the sweep's snapshot or the sweep fails naming the file, and a
cached row is never served for tables other than its own.

Every test works on a copy of data/params/ (never the committed files)."""
from __future__ import annotations

import json
import os
import re
import shutil

import pytest

import reproduce.params as P
import reproduce.version as version_mod
from reproduce.bench import snapshot
from reproduce.bench import sweep as sweep_mod
from reproduce.bench.cache import ENV_VAR, ResultCache
from reproduce.bench.snapshot import TablesChanged, pinned
from reproduce.bench.sweep import compute_row, sweep
from reproduce.bench import run as run_mod
from reproduce.bench import scenario as scenario_mod
from reproduce.bench.scenario import Scenario

TRAP = re.compile(r"^trap = \{ value = (\d+),", re.M)
CHANGED = r"pentium2\.toml changed while the sweep ran"


def small(seed: int = 0) -> Scenario:
    return Scenario(workload="synthetic", calibrated=False, seed=seed, horizon=500_000)


@pytest.fixture
def tables(tmp_path, monkeypatch):
    """A private copy of the parameter tables that the model reads instead
    of data/params/ (and no parsed table of the real ones in memory)."""
    d = tmp_path / "params"
    d.mkdir()
    for name in P.TABLES:
        (d / f"{name}.toml").write_bytes((P.PARAMS_DIR / f"{name}.toml").read_bytes())
    monkeypatch.setattr(P, "PARAMS_DIR", d)
    monkeypatch.setattr(scenario_mod, "_TABLES", {})
    monkeypatch.setattr(snapshot, "_SEEN", {})
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "default-cache"))
    return d


_BUMP = [0]


def set_trap(d, value: int) -> None:
    """Write pentium2.toml with ``trap = value``, with a modification time
    no earlier read can share (so the model notices the file changed)."""
    path = d / "pentium2.toml"
    path.write_text(TRAP.sub(f"trap = {{ value = {value},", path.read_text(), count=1))
    _BUMP[0] += 1
    ns = path.stat().st_mtime_ns + _BUMP[0] * 1_000_000_000
    os.utime(path, ns=(ns, ns))


def original_trap(d) -> int:
    return int(TRAP.search((d / "pentium2.toml").read_text()).group(1))


class EditsFirst:
    """A runner that edits pentium2.toml before its first run (and, with
    *revert*, puts the value back after it): an edit that lands while a
    sweep's scenario is being computed."""

    def __init__(self, d, revert: bool = False) -> None:
        self.d, self.revert, self.calls = d, revert, 0
        self.old = original_trap(d)

    def __call__(self, s: Scenario) -> dict:
        self.calls += 1
        if self.calls == 1:
            set_trap(self.d, self.old + 1000)
        row = compute_row(s)
        if self.calls == 1 and self.revert:
            set_trap(self.d, self.old)
        return row


def entries(root) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(root.glob("*.json"))]


def test_edit_during_a_run_would_cache_a_wrong_row_and_is_caught(tables, tmp_path, monkeypatch):
    s = small()
    good = sweep([s], workers=1, cache=False).iloc[0]
    old = original_trap(tables)

    # Without the check (a run computed with whatever the file holds when it
    # reads it, as before): the edited table's row is stored under the
    # snapshot's key and served once the file is back.
    with monkeypatch.context() as m:
        m.setattr(snapshot, "run_checked", lambda run, s, snap: run(s))
        sweep([s], workers=1, cache=tmp_path / "unchecked", runner=EditsFirst(tables))
    set_trap(tables, old)
    served = sweep([s], workers=1, cache=tmp_path / "unchecked").iloc[0]
    assert served["kernel"] != good["kernel"]          # a wrong row, served

    # With it: the run fails naming the file, and nothing is stored.
    with pytest.raises(TablesChanged, match=CHANGED) as err:
        sweep([s], workers=1, cache=tmp_path / "checked", runner=EditsFirst(tables))
    assert "\n" not in str(err.value)
    assert entries(tmp_path / "checked") == []
    set_trap(tables, old)
    again = sweep([s], workers=1, cache=tmp_path / "checked").iloc[0]
    assert again.equals(good)


def test_edit_put_back_during_a_run_gives_the_old_row(tables, tmp_path):
    s = small()
    good = sweep([s], workers=1, cache=False).iloc[0]
    runner = EditsFirst(tables, revert=True)
    row = sweep([s], workers=1, cache=tmp_path / "c", runner=runner).iloc[0]
    assert runner.calls == 2                 # the run that saw the edit was repeated
    assert row.equals(good)
    [entry] = entries(tmp_path / "c")
    assert entry["row"]["kernel"] == good["kernel"]


def test_pool_workers_check_the_snapshot(tables, tmp_path, monkeypatch):
    scs = [small(i) for i in range(sweep_mod.MIN_PARALLEL)]
    real = sweep_mod._run_pool

    def edit_then_pool(*a, **kw):            # after the parent's check, before any run
        set_trap(tables, original_trap(tables) + 1000)
        return real(*a, **kw)
    monkeypatch.setattr(sweep_mod, "_run_pool", edit_then_pool)
    with pytest.raises(TablesChanged, match=CHANGED):
        sweep(scs, workers=2, cache=tmp_path / "c")
    assert entries(tmp_path / "c") == []


def test_a_stale_model_version_never_serves_rows_of_other_tables(tables, tmp_path, monkeypatch):
    """The fault as it happened: a process whose model version was computed
    before a table was edited.  Rows are keyed by the tables' digest too."""
    monkeypatch.setattr(version_mod, "model_version", lambda: "computed-before-the-edit")
    calls = []
    monkeypatch.setattr(sweep_mod, "simulate", lambda s: calls.append(s) or
                        run_mod.simulate(s))
    s = small()
    first = sweep([s], workers=1, cache=tmp_path / "c").iloc[0]
    set_trap(tables, original_trap(tables) + 1000)
    second = sweep([s], workers=1, cache=tmp_path / "c").iloc[0]
    assert len(calls) == 2                   # not served: recomputed
    assert second["kernel"] != first["kernel"]
    assert len({e["tables"] for e in entries(tmp_path / "c")}) == 2


def test_a_pinned_snapshot_spans_sweeps(tables, tmp_path):
    """An experiment's sweeps share one snapshot: after an edit, its rows
    are the old ones (from the cache) or an error, never a mix."""
    root = tmp_path / "c"
    with pinned() as snap:
        a = sweep([small(0)], workers=1, cache=root).iloc[0]
        set_trap(tables, original_trap(tables) + 1000)
        assert sweep([small(0)], workers=1, cache=root).iloc[0].equals(a)    # cached
        with pytest.raises(TablesChanged, match=CHANGED):
            sweep([small(1)], workers=1, cache=root)
    assert snapshot.active() is None
    assert snapshot.take().digest != snap.digest


def test_pinned_as_a_decorator_takes_a_snapshot_per_call(tables):
    @pinned()
    def experiment():
        return snapshot.active()
    first = experiment()
    assert snapshot.active() is None
    set_trap(tables, original_trap(tables) + 1)
    assert first is not None and experiment().digest != first.digest


def test_the_registry_pins_each_experiment(tables):
    from reproduce.experiments.experiment import Experiment
    seen = []
    Experiment("X", "test", lambda: seen.append(snapshot.active())).run()
    assert seen[0] is not None and seen[0].digest == snapshot.take().digest
    assert snapshot.active() is None


def test_other_model_version_in_a_worker(tables, monkeypatch):
    snap = snapshot.take()
    monkeypatch.setattr(version_mod, "model_version", lambda: "another-checkout")
    with pytest.raises(TablesChanged, match=r"model version another-checkout here, but the "
                       rf"sweep started with {snap.version}"):
        snapshot.run_checked(compute_row, small(), snap)


def test_cache_entry_of_other_tables_is_not_served(tmp_path):
    s, row = small(), {"cycles": 1}
    a = ResultCache(tmp_path, "v", tables="a" * 16)
    b = ResultCache(tmp_path, "v", tables="b" * 16)
    path = a.put(s, row)
    assert a.get(s) == row
    assert b.get(s) is None and b.path(s) != path            # another key
    assert (len(a), len(b)) == (1, 0)
    assert b.info()["other"] == 1
    # The entry copied to the name of b's key is refused by its content.
    shutil.copy(path, b.path(s))
    assert b.get(s) is None
    assert b.rejected and "other parameter tables" in b.rejected[0][1]
    assert not b.path(s).exists()                          # moved to quarantine/
    assert b.prune() == 1 and a.get(s) is None


def test_default_tables_digest_is_the_snapshots(tables, tmp_path):
    assert ResultCache(tmp_path).tables == snapshot.take().digest
    set_trap(tables, original_trap(tables) + 1)
    assert ResultCache(tmp_path).tables == snapshot.take().digest
    assert snapshot.params_digest({"a": 1, "b": 2}) == snapshot.params_digest({"b": 2, "a": 1})


def test_dask_workers_check_the_snapshot(tables, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    real = sweep_mod._run_dask

    def edit_then_dask(*a, **kw):
        set_trap(tables, original_trap(tables) + 1000)
        return real(*a, **kw)
    monkeypatch.setattr(sweep_mod, "_run_dask", edit_then_dask)
    # Threads in this process: they read the private copy of the tables.
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with pytest.raises(TablesChanged, match=CHANGED):
            sweep([small(0)], scheduler=client, cache=tmp_path / "c")
    assert entries(tmp_path / "c") == []
