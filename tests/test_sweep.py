"""Sweeps: the result cache, resuming, local parallelism and Dask."""
from __future__ import annotations

import math
import re

import pandas as pd
import pytest

import reproduce.version as version_mod
from reproduce.bench import cache as cache_mod
from reproduce.bench import sweep as sweep_mod
from reproduce.bench.cache import ENV_VAR, ResultCache, cache_key
from reproduce.bench.scenario import Scenario
from reproduce.bench.sweep import run_one, sweep
from reproduce.errors import ConfigError

RESULT_FILE = re.compile(r"^[0-9a-f]{64}\.json$")


def small(seed: int = 0, **kw) -> Scenario:
    kw.setdefault("horizon", 2_000_000)
    return Scenario(workload="synthetic", calibrated=False, seed=seed, **kw)


SCENARIOS = [small(0), small(1, cpus=3), small(2, spinlock="ticket"), small(3, ideal=True),
             small(4, distribution="constant")]


@pytest.fixture(autouse=True)
def no_default_cache(tmp_path, monkeypatch):
    """Keep every test away from the repository's .cache/results."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "default-cache"))


@pytest.fixture(scope="module")
def serial() -> pd.DataFrame:
    return sweep(SCENARIOS, workers=1, cache=False)


class Counter:
    """Wraps simulate: counts calls, optionally raises on call number *fail_at*."""

    def __init__(self, real, fail_at: int | None = None, exc: type = KeyboardInterrupt):
        self.real, self.fail_at, self.exc, self.calls = real, fail_at, exc, 0

    def __call__(self, s):
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise self.exc("interrupted by the test")
        return self.real(s)


def count_calls(monkeypatch, **kw) -> Counter:
    c = Counter(sweep_mod.simulate, **kw)
    monkeypatch.setattr(sweep_mod, "simulate", c)
    return c


def result_files(root) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


# -- the serial API, unchanged ------------------------------------------------------------

def test_sweep_rows_in_order_one_per_scenario(serial):
    assert len(serial) == len(SCENARIOS)
    assert list(serial["seed"]) == [s.seed for s in SCENARIOS]
    assert list(serial["cpus"]) == [s.cpus for s in SCENARIOS]
    assert set(serial.columns) == set(run_one(SCENARIOS[1]))     # the 3-CPU run has most
    assert serial.iloc[1].to_dict() == run_one(SCENARIOS[1])


def test_sweep_positional_progress_call_still_works(tmp_path):
    df = sweep([small(0)], progress=False, desc="x", cache=tmp_path)
    assert len(df) == 1 and df["build"].iloc[0] == "mp"


def test_duplicates_simulated_once_rows_repeated(monkeypatch):
    c = count_calls(monkeypatch)
    df = sweep([small(0), small(1), small(0)], workers=1, cache=False)
    assert c.calls == 2
    assert list(df["seed"]) == [0, 1, 0]
    pd.testing.assert_series_equal(df.iloc[0], df.iloc[2], check_names=False)


# -- the cache ------------------------------------------------------------------------------

def test_second_sweep_is_all_cache_hits(tmp_path, monkeypatch, serial):
    root = tmp_path / "c"
    c = count_calls(monkeypatch)
    first = sweep(SCENARIOS, workers=1, cache=root)
    assert c.calls == len(SCENARIOS)
    assert len(result_files(root)) == len(SCENARIOS)
    second = sweep(SCENARIOS, workers=1, cache=root)
    assert c.calls == len(SCENARIOS)           # nothing simulated again
    pd.testing.assert_frame_equal(first, serial)
    pd.testing.assert_frame_equal(second, serial)


def test_default_cache_directory_from_env(tmp_path, monkeypatch):
    root = tmp_path / "from-env"
    monkeypatch.setenv(ENV_VAR, str(root))
    sweep([small(0)], workers=1)
    assert len(result_files(root)) == 1
    assert ResultCache().root == root


def test_cache_false_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "x"))
    sweep([small(0)], workers=1, cache=False)
    assert not (tmp_path / "x").exists()


def test_injected_runner_never_fills_default_cache(tmp_path, monkeypatch):
    root = tmp_path / "shared"
    monkeypatch.setenv(ENV_VAR, str(root))
    sweep([small(0)], workers=1, runner=sweep_mod.compute_row)
    assert result_files(root) == []


def test_model_change_invalidates(tmp_path, monkeypatch):
    root = tmp_path / "c"
    c = count_calls(monkeypatch)
    sweep(SCENARIOS[:2], workers=1, cache=root)
    assert c.calls == 2
    monkeypatch.setattr(version_mod, "model_version", lambda: "edited-model")
    sweep(SCENARIOS[:2], workers=1, cache=root)
    assert c.calls == 4                        # new version: new keys, recomputed
    sweep(SCENARIOS[:2], workers=1, cache=root)
    assert c.calls == 4
    assert len(result_files(root)) == 4        # old files are ignored, not overwritten


def test_key_depends_on_scenario_version_and_tables():
    s = small(0)
    assert cache_key(s.key(), "a") != cache_key(s.key(), "b")
    assert cache_key(s.key(), "a") != cache_key(small(1).key(), "a")
    assert cache_key(s.key(), "a", "t1") != cache_key(s.key(), "a", "t2")
    assert ResultCache("/nonexistent", "v", tables="t").path(s).name == \
        cache_key(s.key(), "v", "t") + ".json"


def test_rows_roundtrip_exactly(tmp_path):
    s = small(0)
    row = {"i": 3, "big": 2**62 + 1, "f": 0.1 + 0.2, "tiny": 5e-324, "third": 1 / 3,
           "b": True, "s": "a,b=1", "z": 0.0, "neg": -1.5e300, "nan": float("nan")}
    ResultCache(tmp_path, "v").put(s, row)
    back = ResultCache(tmp_path, "v").get(s)
    assert list(back) == list(row)
    for k, v in row.items():
        assert type(back[k]) is type(v), k
        assert back[k] == v or (math.isnan(v) and math.isnan(back[k])), k


def test_corrupt_or_foreign_file_is_a_miss(tmp_path):
    c = ResultCache(tmp_path, "v")
    s = small(0)
    c.path(s).parent.mkdir(parents=True, exist_ok=True)
    c.path(s).write_text('{"row": {"a": ')          # half a file
    assert c.get(s) is None
    c.path(s).write_text('{"scenario": "other", "model_version": "v", "row": {}}')
    assert c.get(s) is None


def test_atomic_write_leaves_no_temp_files(tmp_path):
    root = tmp_path / "c"
    sweep(SCENARIOS, workers=1, cache=root)
    names = result_files(root)
    assert len(names) == len(SCENARIOS)
    assert all(RESULT_FILE.match(n) for n in names), names


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    c = ResultCache(tmp_path, "v")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(cache_mod.os, "replace", boom)
    with pytest.raises(OSError):
        c.put(small(0), {"a": 1})
    assert result_files(tmp_path) == []


# -- interrupted and resumed --------------------------------------------------------------

@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_interrupted_sweep_resumes_without_recomputing(tmp_path, monkeypatch, serial, exc):
    root = tmp_path / "c"
    k = 3
    c = count_calls(monkeypatch, fail_at=k + 1, exc=exc)
    with pytest.raises(exc):
        sweep(SCENARIOS, workers=1, cache=root)
    assert c.calls == k + 1
    names = result_files(root)
    assert len(names) == k and all(RESULT_FILE.match(n) for n in names)

    c2 = count_calls(monkeypatch)              # wraps the failing one; it has passed fail_at
    df = sweep(SCENARIOS, workers=1, cache=root)
    assert c2.calls == len(SCENARIOS) - k      # only the unfinished ones
    pd.testing.assert_frame_equal(df, serial)


# -- local processes ------------------------------------------------------------------------

def test_parallel_equals_serial(monkeypatch, serial):
    used = []
    real = sweep_mod._run_pool
    monkeypatch.setattr(sweep_mod, "_run_pool", lambda *a: used.append(a[1]) or real(*a))
    df = sweep(SCENARIOS, workers=2, cache=False)
    assert used == [2]
    pd.testing.assert_frame_equal(df, serial)


def test_parallel_fills_cache_then_hits(tmp_path, monkeypatch, serial):
    root = tmp_path / "c"
    df = sweep(SCENARIOS, workers=2, cache=root)
    pd.testing.assert_frame_equal(df, serial)
    assert len(result_files(root)) == len(SCENARIOS)
    c = count_calls(monkeypatch)
    pd.testing.assert_frame_equal(sweep(SCENARIOS, workers=2, cache=root), serial)
    assert c.calls == 0


def test_small_sweeps_stay_in_process(monkeypatch):
    monkeypatch.setattr(sweep_mod, "_run_pool", lambda *a: pytest.fail("pool for 2 scenarios"))
    sweep(SCENARIOS[:2], workers=8, cache=False)


def test_default_workers_is_every_core():
    assert sweep_mod._check_workers(None) >= 1
    assert sweep_mod._check_workers(3) == 3


# -- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("workers", [0, -2, 1.5, True, "4"])
def test_bad_workers(workers):
    with pytest.raises(ConfigError, match=re.escape(f"workers={workers!r}")):
        sweep([small(0)], workers=workers, cache=False)


def test_non_scenario_item():
    with pytest.raises(ConfigError, match=r"scenarios\[1\]=\{'cpus': 2\}"):
        sweep([small(0), {"cpus": 2}], cache=False)


def test_bad_cache_and_scheduler():
    with pytest.raises(ConfigError, match="cache=42"):
        sweep([small(0)], cache=42)
    with pytest.raises(ConfigError, match="scheduler=42"):
        sweep([small(0)], cache=False, scheduler=42)


def test_missing_dask_is_a_config_error(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ConfigError, match=r"dask"):
        sweep([small(0)], cache=False, scheduler="tcp://127.0.0.1:1")


# -- Dask ---------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("processes", [False, True])
def test_dask_local_cluster_equals_serial(tmp_path, serial, processes):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=processes, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        if processes:
            df = sweep(SCENARIOS, scheduler=cluster.scheduler_address, cache=tmp_path / "c")
        else:
            with distributed.Client(cluster) as client:
                df = sweep(SCENARIOS, scheduler=client, cache=tmp_path / "c")
                assert client.status == "running"          # a given client stays open
    pd.testing.assert_frame_equal(df, serial)
    assert len(result_files(tmp_path / "c")) == len(SCENARIOS)


def _fails_on_seed_9(s):
    """A runner (module-level: the pool pickles it) that fails inside a worker."""
    if s.seed == 9:
        raise ConfigError("no_such_parameter")
    return sweep_mod.compute_row(s)


def test_failing_scenario_in_pool_keeps_finished_rows(tmp_path, monkeypatch, serial):
    root = tmp_path / "c"
    bad = small(9)
    with pytest.raises(ConfigError, match="no_such_parameter"):
        sweep(SCENARIOS + [bad], workers=2, cache=root, runner=_fails_on_seed_9)
    names = result_files(root)
    assert all(RESULT_FILE.match(n) for n in names)
    done = len(names)
    c = count_calls(monkeypatch)
    df = sweep(SCENARIOS, workers=1, cache=root)
    assert c.calls == len(SCENARIOS) - done
    pd.testing.assert_frame_equal(df, serial)


def test_failure_names_the_scenario_and_what_was_saved(tmp_path, monkeypatch):
    """A scenario that fails keeps its exception type, and the exception says
    which scenario it was and how many finished rows the cache holds."""
    count_calls(monkeypatch, fail_at=3, exc=ValueError)
    with pytest.raises(ValueError) as info:
        sweep(SCENARIOS, workers=1, cache=tmp_path / "c")
    notes = "\n".join(info.value.__notes__)
    assert f"while simulating {SCENARIOS[2]!r}" in notes
    assert f"2 of {len(SCENARIOS)} scenarios finished, saved in {tmp_path / 'c'}" in notes
    assert len(result_files(tmp_path / "c")) == 2


# -- Dask batches -------------------------------------------------------------------------

def test_dask_batches_cover_every_scenario_and_stay_small():
    for n in (1, 5, 64, 1080, 10_000):
        for threads in (1, 2, 16):
            b = sweep_mod.batch_size(n, threads)
            assert 1 <= b <= sweep_mod.BATCH_MAX
            tasks = -(-n // b)
            # enough tasks to balance the threads (at least half the target
            # number, every thread one at least), unless batches are capped
            target = min(n, sweep_mod.TASKS_PER_THREAD * threads)
            assert (tasks >= target / 2 and tasks >= min(n, threads)) or \
                b == sweep_mod.BATCH_MAX
            # and no larger than needed: one less would make too many tasks
            assert b == 1 or -(-n // (b - 1)) > sweep_mod.TASKS_PER_THREAD * threads


def test_a_batch_returns_the_rows_before_its_first_error():
    from reproduce.bench import snapshot
    snap = snapshot.take()
    batch = [small(1), small(9), small(2)]
    rows, err = sweep_mod.run_batch(_fails_on_seed_9, batch, snap)
    assert len(rows) == 1 and rows[0] == sweep_mod.compute_row(small(1))
    assert isinstance(err, ConfigError) and "no_such_parameter" in str(err)
    rows, err = sweep_mod.run_batch(_fails_on_seed_9, [small(1), small(2)], snap)
    assert err is None and len(rows) == 2


@pytest.mark.slow
def test_failing_scenario_on_dask_keeps_the_rows_of_its_batch(tmp_path):
    distributed = pytest.importorskip("distributed")
    root = tmp_path / "c"
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            with pytest.raises(ConfigError, match="no_such_parameter") as info:
                sweep([small(1), small(2), small(9), small(3)], scheduler=client, cache=root,
                      runner=_fails_on_seed_9)
    # one batch of four: the two rows before the failure are in the cache
    assert len(result_files(root)) == 2
    assert any("seed" in n or "9" in n for n in getattr(info.value, "__notes__", []))
