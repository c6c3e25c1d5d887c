"""Faults and bad input: every failure class found by trying the package as a
hostile user would (docs/robustness.md lists them), each as a test.

Silent wrong results, lost files, unbounded runs and late or noisy errors:
each case must now end in a right result, an intact file, or one line on
stderr (exit 2) before any work."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from reproduce import cli, files
from reproduce import params as P
from reproduce.errors import ConfigError
from reproduce.bench import cache as cache_mod
from reproduce.bench import sweep as sweep_mod
from reproduce.bench.cache import ENV_VAR, QUARANTINE, ResultCache, row_hash
from reproduce.bench.sweep import grid, sweep
from reproduce.bench import workload as W
from reproduce.bench.run import simulate
from reproduce.bench.scenario import (MAX_HORIZON, Scenario, background_load, build_params,
                                      processes)

ROOT = Path(__file__).resolve().parent.parent
SYN = ["--workload", "synthetic", "--uncalibrated"]


@pytest.fixture(autouse=True)
def no_default_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "default-cache"))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, *needles: str, status: int = 2) -> None:
    assert code == status, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], (n, lines[0])


def small(seed: int = 0, **kw) -> Scenario:
    kw.setdefault("horizon", 2_000_000)
    return Scenario(workload="synthetic", calibrated=False, seed=seed, **kw)


# ------------------------------------------------------------ silent wrong results

@pytest.mark.parametrize("argv,needles", [
    (SYN + ["--user-mean", "1e308", "--horizon", "1000000"], ["--user-mean", "1e308"]),
    (SYN + ["--kernel-mean", "1e308", "--horizon", "1000000"], ["--kernel-mean"]),
    (SYN + ["--user-mean", "1e20", "--horizon", "1000000"], ["--user-mean", "1e20"]),
    (SYN + ["--user-mean", "inf"], ["--user-mean"]),
    (SYN + ["--user-mean", "nan"], ["--user-mean"]),
])
def test_huge_phase_means_are_refused(capsys, argv, needles):
    one_line_error(*run(capsys, "simulate", *argv)[::2], *needles)


def test_phase_draws_cannot_overflow():
    """At the bounds the draw clips: never a short or negative phase."""
    z = np.array([1e-300, 0.5, 1.0, 40.0])
    for mean in (1e308, 1e20, float(MAX_HORIZON)):
        got = W._phases(z, mean)
        assert all(1 <= p <= W.MAX_PHASE for p in got)
        assert got[1:] == sorted(got[1:])               # monotone in the draw
    assert W._phases(np.array([2.0]), 1e308) == [W.MAX_PHASE]
    assert W._cycles(1e308) == W.MAX_PHASE and W._cycles(0.2) == 1


def test_largest_allowed_mean_gives_an_all_user_run():
    """A first phase far longer than the run: ~100 % user, no spin."""
    r = simulate(Scenario(workload="synthetic", calibrated=False, user_mean=float(MAX_HORIZON),
                          horizon=1_000_000, debug=True))
    t1 = r.table1()
    assert t1["user"] > 0.99 and t1["spin"] == 0.0


def test_api_refuses_non_finite_and_wrong_types():
    for kw in ({"user_mean": float("inf"), "workload": "synthetic"},
               {"kernel_mean": float("nan"), "workload": "synthetic"},
               {"cpus": 2.0}, {"cpus": True}, {"debug": 1}, {"seed": -1},
               {"horizon": 10**13, "workload": "synthetic"}):
        with pytest.raises(ConfigError):
            Scenario(**kw)


@pytest.mark.parametrize("argv,needles", [
    (["-p", "clock_hz=1"], ["clock_hz"]),
    (["-p", "clock_hz=150"], ["clock_hz"]),
    (["-p", "cpus=4"], ["-p", "cpus", "--cpus"]),
    (["-p", "affinity=false"], ["-p", "affinity"]),
    (["--kernel", "up", "--lock", "fine"], ["--lock", "kernel='up'"]),
    (["--kernel", "up", "--spinlock", "ticket"], ["--spinlock"]),
    (["--workload", "paper", "--user-mean", "5"], ["--user-mean", "paper"]),
    (["--workload", "paper", "--horizon", "5000"], ["--horizon", "paper"]),
    (["--workload", "synthetic", "--no-background"], ["--no-background", "synthetic"]),
    (["-p", "wake_together=2"], ["wake_together", "true or false"]),
    (["-p", "irq_routing=nowhere"], ["irq_routing", "spread"]),
    (["-p", "period_ms=1,0"], ["period_ms"]),
])
def test_nonsense_is_refused(capsys, argv, needles):
    one_line_error(*run(capsys, "simulate", *argv)[::2], *needles)


@pytest.mark.parametrize("ov", [{"cpus": 4}, {"affinity": False}, {"nope": 1},
                                {"wake_together": 2}, {"timer_hz": "abc"}])
def test_api_overrides_refused(ov):
    with pytest.raises(ConfigError):
        Scenario(overrides=ov)


def test_empty_cache_dir_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.json").write_text("{}")
    for action in ("clear", "prune", "info"):
        one_line_error(*run(capsys, "cache", action, "--cache-dir", "")[::2], "--cache-dir")
    code, _, err = run(capsys, "sweep", "-s", "workload=synthetic", "--cache-dir", "")
    one_line_error(code, err, "--cache-dir")
    assert (tmp_path / "mine.json").read_text() == "{}"
    with pytest.raises(ConfigError):
        ResultCache("")


def test_stray_parameter_file_is_an_error(tmp_path):
    _copy_tables(tmp_path)
    P.check_dir(tmp_path)
    (tmp_path / "zz.toml").write_text('[x]\na = { value = 1, source = "s" }\n')
    with pytest.raises(ConfigError, match="zz.toml"):
        P.check_dir(tmp_path)
    from reproduce import version
    assert all(p.stem in P.TABLES for p in version.model_files() if p.suffix == ".toml")


def _copy_tables(d: Path) -> None:
    for t in P.TABLES:
        (d / f"{t}.toml").write_bytes((P.PARAMS_DIR / f"{t}.toml").read_bytes())


@pytest.mark.parametrize("edit,needles", [
    (lambda t: t + "\n[[broken", ["workload.toml", "TOML"]),
    (lambda t: t.replace("threads = { value = 100,", "threads = { value = -5,"),
     ["workload.toml", "threads=-5", "0 to 10000"]),
    (lambda t: t.replace("threads = { value = 100,", "threads = { value = 1e400,"),
     ["workload.toml"]),
    (lambda t: t.replace("wake_together = { value = true,", "wake_together = { value = 2,"),
     ["workload.toml", "wake_together", "true or false"]),
    (lambda t: t.replace('source = "paper, section 4: around 100 threads"', 'source = ""'),
     ["workload.toml", "threads", "source"]),
    (lambda t: t.replace("timer_hz = { value = 100,", "timer_hz = { value = 100, unit = 1,"),
     ["workload.toml", "timer_hz"]),
])
def test_malformed_parameter_file_names_file_and_key(tmp_path, edit, needles):
    _copy_tables(tmp_path)
    p = tmp_path / "workload.toml"
    p.write_text(edit(p.read_text()))
    with pytest.raises(ConfigError) as info:
        P.load("workload", tmp_path)
    for n in needles:
        assert n in str(info.value), (n, str(info.value))


@pytest.mark.parametrize("text,needle", [
    ("{not json", "not valid JSON"), ("[1, 2]", "JSON object"),
    ('{"bg_kernel_cycles": "abc", "mp_entry_overhead": 1}', "bg_kernel_cycles"),
    ('{"bg_kernel_cycles": 1, "mp_entry_overhead": -3}', "mp_entry_overhead"),
    ('{"bg_kernel_cycles": 1, "mp_entry_overhead": 1, "model_version": "x"}',
     "reproduce calibrate"),
])
def test_malformed_calibration_is_one_clear_error(tmp_path, text, needle):
    from reproduce.bench.calibration import read_report
    p = tmp_path / "calibration.json"
    p.write_text(text)
    with pytest.raises(ConfigError, match=needle) as info:
        read_report(p)
    assert "calibration.json" in str(info.value)


def test_lock_statistics_count_holds_in_progress():
    """One kernel phase longer than the run: lock_stat saw no release, but
    the hold in progress is reported, and agrees with the mode accounting."""
    r = simulate(Scenario(workload="synthetic", calibrated=False, kernel_mean=1e7,
                          user_mean=10.0, distribution="constant", horizon=1_000_000))
    kernel = sum(m[1] for m in r.modes)
    spin = sum(m[2] for m in r.modes)
    assert r.lock["acquisitions"] == 0 and kernel > 0.9 * 1_000_000
    assert r.lock["holds_in_progress"] == 1
    assert r.lock["holdtime_total"] + r.lock["holdtime_in_progress"] == kernel
    assert r.lock["waittime_total"] + r.lock["waittime_in_progress"] == spin


@pytest.mark.parametrize("cpus,lock", [(2, "giant"), (4, "giant"), (4, "fine"),
                                       (3, "subsystem")])
def test_lock_totals_agree_with_modes(cpus, lock):
    r = simulate(small(5, cpus=cpus, lock=lock, debug=True))
    kernel = sum(m[1] for m in r.modes)
    hold = r.lock["holdtime_total"] + r.lock["holdtime_in_progress"]
    assert hold <= kernel
    if lock == "giant":
        assert hold == kernel
        assert r.lock["waittime_total"] + r.lock["waittime_in_progress"] == \
            sum(m[2] for m in r.modes)


# ------------------------------------------------------------ the cache serves only what it verifies

def _entry(cache: ResultCache, s: Scenario) -> dict:
    return json.loads(cache.path(s).read_text())


def _rehash(doc: dict) -> dict:
    doc["sha256"] = row_hash(doc["row"])
    return doc


def _other_seed_row(doc, cache):
    other = small(1)
    sweep([other], workers=1, cache=cache)
    doc["row"] = _entry(cache, other)["row"]
    return _rehash(doc)


CORRUPTIONS = {
    "empty row": lambda d, c: {**d, "row": {}},
    "missing column": lambda d, c: {**d, "row": {k: v for k, v in d["row"].items()
                                                 if k != "spin"}},
    "another seed's row": _other_seed_row,
    "NaN": lambda d, c: {**d, "row": {**d["row"], "kernel": float("nan")}},
    "negative": lambda d, c: {**d, "row": {**d["row"], "spin": -0.5}},
    "text": lambda d, c: {**d, "row": {**d["row"], "cycles": "abc"}},
    "extra key": lambda d, c: {**d, "row": {**d["row"], "bonus": 1}},
    "sum 1.51, rehashed": lambda d, c: _rehash({**d, "row": {**d["row"],
                                                            "user": d["row"]["user"] + 0.51}}),
    "NaN, rehashed": lambda d, c: _rehash({**d, "row": {**d["row"], "kernel": float("nan")}}),
    "seed column, rehashed": lambda d, c: _rehash({**d, "row": {**d["row"], "seed": 7}}),
    "hold > kernel, rehashed": lambda d, c: _rehash({**d, "row": {
        **d["row"], "lock_holdtime_total": 10 * d["row"]["cycles"]}}),
    "other scenario": lambda d, c: {**d, "scenario": small(3).key()},
    "not JSON": None,
    "a folder": None,
    # entries are not flushed before their rename: what a crash of the
    # machine can leave (the name written, the data not, or zeroed blocks)
    "empty file after a crash": None,
    "zeroed blocks after a crash": None,
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_tampered_entry_is_moved_aside_recomputed_and_reported(tmp_path, capsys, name):
    root = tmp_path / "c"
    s = small(0)
    fresh = sweep([s], workers=1, cache=False)
    cache = ResultCache(root)
    sweep([s], workers=1, cache=cache)
    path = cache.path(s)
    if name == "not JSON":
        path.write_text('{"format": "reproduce-result/2", "row": {"a": ')
    elif name == "a folder":
        path.unlink()
        path.mkdir()
    elif name == "empty file after a crash":
        path.write_bytes(b"")
    elif name == "zeroed blocks after a crash":
        path.write_bytes(b"\0" * len(path.read_bytes()))
    else:
        path.write_text(json.dumps(CORRUPTIONS[name](_entry(cache, s), cache), allow_nan=True))
    capsys.readouterr()
    df = sweep([s], workers=1, cache=ResultCache(root))
    err = capsys.readouterr().err
    assert df.to_dict("records") == fresh.to_dict("records")      # the right row, recomputed
    assert err.count("\n") == 1 and "bad entr" in err and "recomputed" in err
    assert len(list((root / QUARANTINE).iterdir())) == 1           # kept as evidence
    assert ResultCache(root, check=sweep_mod.check_row).get(s) is not None   # rewritten, good


def test_cache_verify_command(tmp_path, capsys):
    root = tmp_path / "c"
    cache = ResultCache(root)
    sweep([small(0), small(1)], workers=1, cache=cache)
    code, out, _ = run(capsys, "cache", "verify", "--cache-dir", str(root))
    assert code == 0 and "2 good" in out
    doc = _entry(cache, small(1))
    doc["row"]["spin"] = 2.0
    cache.path(small(1)).write_text(json.dumps(_rehash(doc)))
    code, out, _ = run(capsys, "cache", "verify", "--cache-dir", str(root))
    assert code == 1 and "1 good" in out and "1 bad" in out and "spin=2.0" in out
    assert not cache.path(small(1)).exists()


def test_clear_and_prune_delete_only_what_the_cache_wrote(tmp_path, capsys):
    root = tmp_path / "c"
    root.mkdir()
    foreign = {"mine.json": "{}", "package.json": '{"name": "x"}', "settings.json": "[]",
               "a" * 64 + ".json": '{"not": "ours"}', "notes.txt": "keep"}
    for name, text in foreign.items():
        (root / name).write_text(text)
    cache = ResultCache(root)
    sweep([small(0)], workers=1, cache=cache)
    ResultCache(root, version="older").put(small(1), {"x": 1})
    code, out, _ = run(capsys, "cache", "prune", "--cache-dir", str(root))
    assert code == 0 and "removed 1 " in out
    code, out, _ = run(capsys, "cache", "clear", "--cache-dir", str(root))
    assert code == 0 and "removed 1 " in out
    assert sorted(p.name for p in root.iterdir()) == sorted(foreign)
    for name, text in foreign.items():
        assert (root / name).read_text() == text


# ------------------------------------------------------------ files written whole, or not at all

def test_out_is_atomic_on_a_full_disk(tmp_path, capsys, monkeypatch):
    out = tmp_path / "rows.csv"
    out.write_text("previous,output\n1,2\n")

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    code, _, err = run(capsys, "sweep", "-s", "workload=synthetic", "-s", "calibrated=false",
                       "-s", "horizon=2000000", "--no-cache", "--workers", "1",
                       "--out", str(out))
    one_line_error(code, err, "No space left", status=1)
    assert out.read_text() == "previous,output\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]


def test_unwritable_out_is_found_before_any_work(tmp_path, capsys, monkeypatch):
    import reproduce.cli.common as common

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(common.tempfile, "mkstemp", denied)
    monkeypatch.setattr(sweep_mod, "sweep", lambda *a, **k: pytest.fail("work started"))
    code, _, err = run(capsys, "sweep", "-s", "workload=synthetic", "--no-cache",
                       "--out", str(tmp_path / "rows.csv"))
    one_line_error(code, err, "--out", "Permission denied")


def test_unwritable_cache_is_found_before_any_work(tmp_path, capsys, monkeypatch):
    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(cache_mod.tempfile, "mkstemp", denied)
    monkeypatch.setattr(sweep_mod, "compute_row", lambda s: pytest.fail("work started"))
    code, _, err = run(capsys, "sweep", "-s", "workload=synthetic", "-s", "calibrated=false",
                       "--cache-dir", str(tmp_path / "c"))
    one_line_error(code, err, "--cache-dir", "not writable")


def test_full_cache_disk_mid_sweep_says_what_was_not_saved(tmp_path, capsys, monkeypatch):
    def full(self, s, row):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ResultCache, "put", full)
    code, _, err = run(capsys, "sweep", "-s", "workload=synthetic", "-s", "calibrated=false",
                       "-s", "horizon=2000000", "--workers", "1",
                       "--cache-dir", str(tmp_path / "c"))
    one_line_error(code, err, "No space left", "only 0 of the 1", status=1)
    assert "resumes" not in err


def test_interrupted_notebook_run_leaves_the_notebook_whole(tmp_path, monkeypatch):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from reproduce.cli import run_notebooks as R
    nb = new_notebook()
    c = new_code_cell("1 + 1")
    c.execution_count = 1
    c.outputs = [new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    nb.cells.append(c)
    path = tmp_path / "01-x.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()

    def interrupted(src, dst, **kw):
        half = nbformat.read(src, as_version=4)
        half.cells[0].outputs = []                # papermill clears outputs first
        nbformat.write(half, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(R.pm, "execute_notebook", interrupted)
    with pytest.raises(KeyboardInterrupt):
        R.execute(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


# ------------------------------------------------------------ bounded runs, refused before work

@pytest.mark.parametrize("argv,needles", [
    (["simulate", "--workload", "synthetic", "--horizon", "1e30"], ["--horizon"]),
    (["simulate", "-p", "work_cycles=1e12"], ["work_cycles"]),
    (["simulate", "-p", "timer_hz=100000"], ["timer_hz"]),
    (["simulate", "-p", "timer_hz=10000"], ["timer_hz", "tick_cycles"]),
    (["simulate", "-p", "irq_hz=1000000"], ["background"]),
    (["simulate", "-p", "spawn_hz=10000"], ["spawn_hz"]),
    (["simulate", "-p", "calls_per_wakeup=1e12"], ["calls_per_wakeup"]),
    (["simulate", "--workload", "synthetic", "--user-mean", "1", "--kernel-mean", "1",
      "--horizon", "1e11"], ["events"]),
    (["sweep", "-s", "workload=synthetic", "-s", "horizon=1e30"], ["-s", "horizon"]),
    (["sweep", "-s", "workload=synthetic", "-g", "seed=0:100000000"], ["-g", "more than"]),
    (["sweep", "-s", "workload=synthetic", "-g", "seed=0:1000", "-g", "cpus=1:32",
      "-g", "lock=giant,fine,subsystem,appkernel"], ["-g", "more than"]),
    (["experiments", "run", "E5", "-p", "timeslices=0"], ["timeslices"]),
    (["experiments", "run", "E7", "-p", "intervals=-1"], ["intervals"]),
    (["experiments", "run", "S1", "-p", "horizon=0"], ["horizon"]),
    (["experiments", "run", "S1", "-p", "seeds=1e9"], ["seeds"]),
])
def test_unbounded_or_late_checked_work_is_refused_at_once(capsys, tmp_path, monkeypatch,
                                                          argv, needles):
    monkeypatch.chdir(tmp_path)
    t0 = time.monotonic()
    code, out, err = run(capsys, *argv)
    one_line_error(code, err, *needles)
    assert time.monotonic() - t0 < 10
    assert list(tmp_path.iterdir()) == []


def test_grid_size_checked_before_it_is_built():
    t0 = time.monotonic()
    with pytest.raises(ConfigError, match="more than"):
        grid(Scenario(workload="synthetic"), seed=range(10**9))
    with pytest.raises(ConfigError, match="more than"):
        grid(Scenario(workload="synthetic"), seed=range(1000), cpus=range(1, 33),
             lock=["giant", "fine", "subsystem", "appkernel"])
    assert time.monotonic() - t0 < 5


# ------------------------------------------------------------ model semantics (timer_hz, processes)

def test_timer_hz_1000_gives_a_completed_sensible_run():
    s = Scenario(calibrated=False, overrides={"timer_hz": 1000, "work_cycles": 3_000_000})
    r = simulate(s)
    t1 = r.table1()
    assert r.completed
    assert 0.05 < t1["kernel"] < 0.6 and abs(sum(t1.values()) - 1) < 1e-9


def test_background_is_a_rate_in_time():
    """The system threads' and jobs' demand does not change with timer_hz;
    only the tick handler's share does."""
    def demand(hz):
        s = Scenario(calibrated=False, overrides={"timer_hz": hz})
        c, w = build_params(s)
        return background_load(s, c, w) - w["tick_cycles"] * hz / c["clock_hz"]
    assert demand(100) == pytest.approx(demand(1000), rel=1e-9)
    rates = {}
    for hz in (100, 1000):
        r = simulate(Scenario(calibrated=False, overrides={"timer_hz": hz,
                                                           "work_cycles": 30_000_000}))
        rates[hz] = r.counters["wakeups"] / r.cycles
    assert rates[1000] == pytest.approx(rates[100], rel=0.3)


def test_processes_follow_cpus_by_default():
    w = build_params(Scenario(calibrated=False))[1]
    assert [processes(Scenario(cpus=n, kernel="up" if n == 1 else "mp", calibrated=False), w)
            for n in (1, 2, 4, 8)] == [2, 2, 4, 8]
    ov = {"work_cycles": 3_000_000}
    busy = simulate(Scenario(cpus=4, calibrated=False, overrides=ov)).fractions()["idle"].mean()
    two = simulate(Scenario(cpus=4, calibrated=False, overrides={**ov, "processes": 2}))
    assert busy < two.fractions()["idle"].mean()


def test_processes_option(capsys):
    code, out, err = run(capsys, "simulate", "--uncalibrated", "--cpus", "4", "--processes",
                         "3", "-p", "work_cycles=2000000", "--json")
    assert code == 0, err
    assert json.loads(out)["scenario"]["overrides"] == {"processes": 3,
                                                        "work_cycles": 2000000}
    one_line_error(*run(capsys, "simulate", "--processes", "0.5")[::2], "--processes")


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("reproduce ") and out.strip() != "reproduce"


# ------------------------------------------------------------ processes that clean up

_SWEEP = """
import sys
from reproduce.bench.sweep import sweep
from reproduce.bench.scenario import Scenario
scen = [Scenario(workload="synthetic", calibrated=False, seed=i, horizon=3_000_000_000,
                 user_mean=64000.0, kernel_mean=36000.0) for i in range(8)]
sweep(scen, workers=2, cache=False)
"""


def _children(pid: int) -> list:
    import psutil
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _wait_for_workers(proc, n: int = 2, timeout: float = 30.0) -> list:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        kids = _children(proc.pid)
        if len(kids) >= n:
            time.sleep(0.5)            # let the initializer run
            return _children(proc.pid)
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the pool did not start")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_pool_workers_exit_when_the_parent_dies(tmp_path, sig):
    import psutil
    proc = subprocess.Popen([sys.executable, "-c", _SWEEP], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kids = _wait_for_workers(proc)
    os.kill(proc.pid, sig)
    proc.wait(timeout=10)
    gone, alive = psutil.wait_procs(kids, timeout=10)
    for p in alive:
        p.kill()
    assert not alive, f"orphaned workers: {[p.pid for p in alive]}"


def _default_sigint() -> None:
    """In the child before it starts Python: SIGINT as a terminal leaves it.
    A pytest-xdist worker ignores SIGINT, an ignored signal stays ignored
    across exec, and Python then installs no KeyboardInterrupt handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_prints_one_line(tmp_path):
    # 200 scenarios of about a second each: the sweep is still running when
    # the signal comes, however fast the model or slow the pool's start.
    env = {**os.environ, ENV_VAR: str(tmp_path / "c")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reproduce", "sweep", "-s", "workload=synthetic",
         "-s", "calibrated=false", "-s", "horizon=3000000000", "-s", "user_mean=64000",
         "-s", "kernel_mean=36000", "-g", "seed=0:200", "--workers", "2", "--no-cache"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=_default_sigint)
    kids = _wait_for_workers(proc)
    os.killpg(proc.pid, signal.SIGINT)             # as the terminal does: the whole group
    out, err = proc.communicate(timeout=30)
    import psutil
    _, alive = psutil.wait_procs(kids, timeout=10)
    assert proc.returncode == 130
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "interrupted" in err and out == ""
    assert not alive


def test_read_only_cache_still_serves_a_complete_sweep(tmp_path, capsys, monkeypatch):
    root = tmp_path / "c"
    sweep([small(0)], workers=1, cache=root)

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(cache_mod.tempfile, "mkstemp", denied)
    monkeypatch.setattr(sweep_mod, "compute_row", lambda s: pytest.fail("recomputed"))
    code, out, err = run(capsys, "sweep", "-s", "workload=synthetic", "-s", "calibrated=false",
                         "-s", "horizon=2000000", "--cache-dir", str(root))
    assert code == 0, err
    assert out.count("\n") == 2


@pytest.mark.parametrize("s", [
    Scenario(calibrated=False), Scenario(calibrated=False, cpus=8),
    Scenario(calibrated=False, overrides={"timer_hz": 1000}),
    # (a tenth of the benchmark's work: a rate per ms needs no long run)
    Scenario(calibrated=False, overrides={"irq_hz": 30000.0, "work_cycles": 6_000_000}),
    Scenario(calibrated=False, overrides={"call_every": 100, "work_cycles": 6_000_000}),
    Scenario(workload="synthetic", calibrated=False),
    Scenario(workload="synthetic", calibrated=False, cpus=16, lock="fine", user_mean=500.0,
             kernel_mean=500.0, horizon=3_000_000),
], ids=lambda s: f"{s.workload}-{s.cpus}-{dict(s.overrides)}")
def test_event_estimate_bounds_the_real_rate(s):
    """The budget's estimate of events per simulated ms is never far below
    what a run does (else a run could outgrow its bounds): it is an upper
    estimate, up to 2x low at worst."""
    from reproduce.bench.scenario import event_rate
    c, w = build_params(s)
    r = simulate(s)
    actual = r.events / (r.cycles / c["clock_hz"] * 1000)
    assert event_rate(s, c, w) >= 0.5 * actual
