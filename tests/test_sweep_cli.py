"""Sweeps from Python (grid) and the shell (reproduce sweep, reproduce cache)."""
from __future__ import annotations

import io
import itertools
import json
import os
import time

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reproduce import cli

from test_cli import check_usage_error, run  # the CLI's test helpers
from reproduce.bench.cache import ENV_VAR, STALE_TMP_SECONDS, TMP_PREFIX, ResultCache
from reproduce.bench.scenario import Scenario
from reproduce.bench.sweep import grid, sweep
from reproduce.errors import ConfigError
from reproduce.version import model_version

# Short synthetic runs (milliseconds each), never the calibrated paper workload.
FIXED = ["-s", "workload=synthetic", "-s", "calibrated=false", "-s", "horizon=2000000"]
AXES = ["-g", "cpus=2,3", "-g", "seed=0:3"]
BASE = Scenario(workload="synthetic", calibrated=False, horizon=2_000_000)


@pytest.fixture(autouse=True)
def no_default_cache(tmp_path, monkeypatch):
    """Keep every test away from the repository's .cache/results."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "default-cache"))


def parse(*argv: str) -> list[Scenario]:
    """The scenarios `reproduce sweep ARGV` would run (nothing is run)."""
    return cli.sweep_scenarios(cli.build_parser().parse_args(["sweep", *argv]))


# ------------------------------------------------------------------------ grid

def test_grid_order_and_size():
    g = grid(BASE, lock=["giant", "fine"], cpus=(2, 8, 32), seed=range(5))
    assert len(g) == 2 * 3 * 5
    expect = list(itertools.product(["giant", "fine"], [2, 8, 32], range(5)))
    assert [(s.lock, s.cpus, s.seed) for s in g] == expect       # first axis outermost
    assert all(s.workload == "synthetic" and s.horizon == 2_000_000 for s in g)
    assert grid(BASE, lock=["giant", "fine"], cpus=(2, 8, 32), seed=range(5)) == g


@settings(max_examples=30, deadline=None)
@given(cpus=st.lists(st.integers(1, 32), min_size=1, max_size=4),
       seeds=st.lists(st.integers(0, 10**6), min_size=1, max_size=4))
def test_grid_is_nested_loops(cpus, seeds):
    g = grid(cpus=cpus, seed=seeds)
    assert [(s.cpus, s.seed) for s in g] == [(c, s) for c in cpus for s in seeds]
    # the CLI's -g gives the same scenarios in the same order
    argv = ["-g", "cpus=" + ",".join(map(str, cpus)), "-g", "seed=" + ",".join(map(str, seeds))]
    assert parse(*argv) == g


def test_grid_scalar_is_one_value_axis_and_default_base():
    g = grid(cpus=4, lock="fine", ideal=True)
    assert g == [Scenario(cpus=4, lock="fine", ideal=True)]
    assert grid() == [Scenario()]


@pytest.mark.parametrize("axes,needles", [
    ({"cpu": [2, 4]}, ["'cpu'", "[2, 4]", "cpus", "seed", "overrides"]),
    ({"seed": []}, ["seed=[]", "empty"]),
    ({"seed": range(0)}, ["seed=range(0, 0)", "empty"]),
    ({"cpus": [2, 0]}, ["cpus=0", "1 to 64"]),
    ({"lock": ["giant", "nolock"]}, ["lock='nolock'", "giant", "fine"]),
    ({"horizon": [1.5]}, ["horizon=1.5", "integer"]),
    ({"lock": {"giant", "fine"}}, ["lock=", "order"]),
    ({"overrides": [{"nosuchparam": 1}]}, ["nosuchparam", "timer_hz"]),
    ({"overrides": [{"trap": -5}]}, ["trap=-5"]),
])
def test_grid_errors_name_field_and_value(axes, needles):
    with pytest.raises(ConfigError) as ex:
        grid(BASE, **axes)
    for n in needles:
        assert n in str(ex.value), (n, str(ex.value))


def test_grid_overrides_axis_merges_into_base():
    base = BASE.with_(overrides={"trap": 100})
    g = grid(base, overrides=[{"timer_hz": 100}, {"timer_hz": 1000, "trap": 5}], seed=[0, 1])
    assert [dict(s.overrides) for s in g] == [
        {"trap": 100, "timer_hz": 100}, {"trap": 100, "timer_hz": 100},
        {"trap": 5, "timer_hz": 1000}, {"trap": 5, "timer_hz": 1000}]
    assert [s.seed for s in g] == [0, 1, 0, 1]
    assert grid(base, overrides={"timer_hz": 100}) == [base.with_(overrides={"timer_hz": 100})]
    lists = grid(BASE, overrides=[{"period_ms": [1, 2]}, {"period_ms": [3]}], seed=[0, 1])
    assert [dict(s.overrides)["period_ms"] for s in lists] == [[1, 2], [1, 2], [3], [3]]


# ------------------------------------------------------------- sweep: parsing

def test_cli_values_parsed_like_simulate():
    g = parse(*FIXED, "-g", "user_mean=5000,6400.5", "-g", "seed=0:2,7", "-p", "trap=200")
    assert [(s.user_mean, s.seed) for s in g] == [(5000.0, 0), (5000.0, 1), (5000.0, 7),
                                                  (6400.5, 0), (6400.5, 1), (6400.5, 7)]
    assert all(type(s.user_mean) is float and type(s.horizon) is int for s in g)
    assert all(s.overrides == (("trap", 200),) for s in g)
    assert parse("-s", "horizon=2e6", "-s", "workload=synthetic") == \
        [Scenario(horizon=2_000_000, workload="synthetic")]
    assert parse("-s", "kernel=up") == [Scenario(kernel="up", cpus=1)]
    assert parse("-g", "ideal=true,false") == [Scenario(ideal=True), Scenario(ideal=False)]


# ------------------------------------------------------------ sweep: running

def expected_rows() -> pd.DataFrame:
    return sweep(grid(BASE, cpus=[2, 3], seed=range(3)), workers=1, cache=False)


def test_cli_sweep_csv_equals_python_sweep(tmp_path, capsys):
    out, cache = tmp_path / "sweep.csv", tmp_path / "cache"
    code, stdout, err = run(capsys, "sweep", *FIXED, *AXES, "--workers", "2",
                            "--cache-dir", str(cache), "--out", str(out))
    assert code == 0, err
    assert "6 rows" in stdout
    expect = expected_rows()
    text = out.read_text()
    assert text == expect.to_csv(index=False, lineterminator="\n")
    back = pd.read_csv(io.StringIO(text))
    assert list(back["cpus"]) == [2, 2, 2, 3, 3, 3] and list(back["seed"]) == [0, 1, 2] * 2
    assert list(back["cycles"]) == list(expect["cycles"])
    assert list(back["kernel"]) == list(expect["kernel"])          # floats exact
    assert back["kernel"].nunique() == 6                              # runs really differ
    assert len(list(cache.glob("*.json"))) == 6                       # every row cached


def test_cli_sweep_same_bytes_cold_warm_serial_stdout(tmp_path, capsys):
    cache = str(tmp_path / "cache")
    outs = []
    for i, extra in enumerate([["--cache-dir", cache, "--workers", "2"],     # computed
                               ["--cache-dir", cache],                       # from the cache
                               ["--no-cache", "--workers", "1"]]):           # serial, no cache
        out = tmp_path / f"run{i}.csv"
        code, _, err = run(capsys, "sweep", *FIXED, *AXES, *extra, "--out", str(out))
        assert code == 0, err
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]
    code, stdout, err = run(capsys, "sweep", *FIXED, *AXES, "--cache-dir", cache)
    assert code == 0, err
    assert stdout.encode() == outs[0]                                 # CSV on stdout


def test_cli_sweep_json(tmp_path, capsys):
    paths = [tmp_path / "a.json", tmp_path / "b.JSON"]
    for p in paths:
        code, _, err = run(capsys, "sweep", *FIXED, *AXES, "--out", str(p),
                           "--cache-dir", str(tmp_path / "cache"))
        assert code == 0, err
    assert paths[0].read_bytes() == paths[1].read_bytes()
    records = json.loads(paths[0].read_text())
    expect = expected_rows()
    assert [(r["cpus"], r["seed"]) for r in records] == [(2, 0), (2, 1), (2, 2),
                                                          (3, 0), (3, 1), (3, 2)]
    assert [r["kernel"] for r in records] == list(expect["kernel"])
    assert records[0]["cpu2_user"] is None and records[3]["cpu2_user"] is not None


@pytest.mark.parametrize("argv,needles", [
    (["-g", "cpus"], ["cpus", "FIELD=VALUE"]),
    (["-g", "cpu=2,4"], ["-g", "'cpu'", "cpus", "seed"]),
    (["-g", "cpus=2,0"], ["-g", "cpus=0", "1 to 64"]),
    (["-g", "cpus=2,,4"], ["-g", "cpus=2,,4", "empty"]),
    (["-g", "seed=5:5"], ["-g", "5:5", "empty"]),
    (["-g", "seed=a:3"], ["-g", "a:3", "A:B"]),
    (["-g", "lock=giant:fine"], ["-g", "lock", "integer"]),
    (["-g", "lock=giant,nolock"], ["-g", "nolock", "giant", "fine"]),
    (["-g", "seed=1.5"], ["-g", "seed=1.5"]),
    (["-g", "user_mean=1,inf"], ["user_mean", "inf"]),
    (["-g", "cpus=2", "-s", "cpus=4"], ["cpus", "more than once"]),
    (["-s", "overrides=x"], ["-s", "overrides", "-p"]),
    (["-p", "nosuchparam=1"], ["-p", "nosuchparam", "timer_hz"]),
    (["-p", "cpus=4"], ["-p", "cpus", "-s cpus"]),
    (["--out", "rows.txt"], ["--out", "rows.txt", ".csv", ".json"]),
    (["--out", "rows"], ["--out", "'rows'", ".csv", ".json"]),
    (["--out", "/nonexistent-dir/rows.csv"], ["--out", "/nonexistent-dir"]),
    (["--workers", "0"], ["--workers", "0"]),
    (["--no-cache", "--cache-dir", "x"], ["--cache-dir", "--no-cache"]),
    (["--scheduler", "no-port-here"], ["--scheduler", "no-port-here"]),
])
def test_cli_sweep_bad_input_exit_2_one_line(tmp_path, capsys, monkeypatch, argv, needles):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "sweep", *FIXED, *argv)
    check_usage_error(code, err, *needles)
    assert out == ""
    assert list(tmp_path.iterdir()) == []           # nothing ran: no cache, no output


def test_cli_sweep_cache_dir_not_a_directory(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    code, out, err = run(capsys, "sweep", *FIXED, "--cache-dir", str(f))
    check_usage_error(code, err, "--cache-dir", str(f), "not a directory")


# ---------------------------------------------------------------------- cache

def make_cache(root) -> tuple[ResultCache, object, object, object, object]:
    """One result of the current model version, one of another, a stale and
    a fresh temporary file."""
    cache = ResultCache(root)
    assert cache.version == model_version()
    current = cache.put(BASE, {"cycles": 1})
    other = ResultCache(root, version="0" * 16).put(BASE.with_(seed=1), {"cycles": 2})
    stale = root / f"{TMP_PREFIX}killed.part"
    stale.write_text("{")
    old = time.time() - 2 * STALE_TMP_SECONDS
    os.utime(stale, (old, old))
    fresh = root / f"{TMP_PREFIX}writing.part"
    fresh.write_text("{")
    return cache, current, other, stale, fresh


def test_cache_info(tmp_path, capsys):
    cache, current, other, _, _ = make_cache(tmp_path / "c")
    info = cache.info()
    size = current.stat().st_size + other.stat().st_size
    assert (info["files"], info["current"], info["other"]) == (2, 1, 1)
    assert info["bytes"] == size and info["current_bytes"] == current.stat().st_size
    assert info["temporary"] == 2 and info["version"] == model_version()
    code, out, err = run(capsys, "cache", "info", "--cache-dir", str(tmp_path / "c"))
    assert code == 0, err
    assert str(tmp_path / "c") in out and model_version() in out
    assert "2: 1 of the current model version, 1 of others" in out
    assert f"{size} bytes" in out
    code, out, err = run(capsys, "cache", "info", "--cache-dir", str(tmp_path / "c"), "--json")
    assert code == 0, err
    assert json.loads(out) == json.loads(cli.dumps(info))


def test_cache_prune_removes_exactly_other_versions_and_stale_temps(tmp_path, capsys):
    cache, current, other, stale, fresh = make_cache(tmp_path / "c")
    code, out, err = run(capsys, "cache", "prune", "--cache-dir", str(tmp_path / "c"))
    assert code == 0, err
    assert "removed 2 file(s)" in out
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == sorted([current.name,
                                                                        fresh.name])
    assert cache.get(BASE) == {"cycles": 1}
    assert cache.prune() == 0                                     # nothing left to prune


def test_cache_clear_removes_every_result(tmp_path, capsys):
    cache, current, other, stale, fresh = make_cache(tmp_path / "c")
    code, out, err = run(capsys, "cache", "clear", "--cache-dir", str(tmp_path / "c"))
    assert code == 0, err
    assert "removed 3 file(s)" in out                              # 2 results, 1 stale temp
    assert [p.name for p in (tmp_path / "c").iterdir()] == [fresh.name]
    assert len(cache) == 0 and cache.info()["files"] == 0


def test_cache_default_dir_is_env_var(tmp_path, capsys):
    root = tmp_path / "default-cache"
    code, out, err = run(capsys, "cache", "info")
    assert code == 0, err
    assert str(root) in out and "does not exist" in out and "0: 0 of the current" in out
    ResultCache().put(BASE, {"cycles": 1})
    code, out, err = run(capsys, "cache", "info")
    assert "does not exist" not in out and "1: 1 of the current" in out


def test_cache_needs_an_action(capsys):
    code, _, err = run(capsys, "cache")
    check_usage_error(code, err, "ACTION")
    code, _, err = run(capsys, "cache", "info", "--cache-dir", __file__)
    check_usage_error(code, err, "--cache-dir", "not a directory")


def test_cli_sweep_failure_says_which_scenario_and_what_was_saved(capsys, tmp_path, monkeypatch):
    """A run that breaks midway (here: a bug injected into simulate) exits 1
    and names the scenario and the finished rows kept in the cache."""
    import reproduce.bench.sweep as sweep_mod
    real, calls = sweep_mod.simulate, []

    def flaky(s):
        calls.append(s)
        if len(calls) == 2:
            raise RuntimeError("injected")
        return real(s)

    monkeypatch.setattr(sweep_mod, "simulate", flaky)
    code, _, err = run(capsys, "sweep", *FIXED, "-g", "seed=0:3", "--workers", "1",
                       "--cache-dir", str(tmp_path / "c"))
    assert code == 1
    assert "RuntimeError: injected" in err
    assert f"while simulating {calls[1]!r}" in err
    assert f"sweep stopped with 1 of 3 scenarios finished, saved in {tmp_path / 'c'}" in err
