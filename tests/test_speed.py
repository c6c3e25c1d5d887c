"""The SimPy reference model against our simulator, and the speed benchmark."""
from __future__ import annotations

import json
import pandas as pd
import pytest

from reproduce.bench.run import simulate
from reproduce.bench.scenario import Scenario

simpy = pytest.importorskip("simpy")
from reproduce.reference import simpy_model  # noqa: E402  (needs simpy)
from reproduce.perf import speed  # noqa: E402


def ideal(**kw) -> Scenario:
    kw.setdefault("horizon", 10_000_000)
    return Scenario(workload="synthetic", calibrated=False, ideal=True, **kw)


def ours(s: Scenario) -> tuple[float, list[list[int]], int]:
    r = simulate(s)
    return sum(m[1] for m in r.modes) / r.cycles, r.modes, r.lock["acquisitions"]


def theirs(s: Scenario) -> dict:
    return simpy_model.run(cpus=s.cpus, user_mean=s.user_mean, kernel_mean=s.kernel_mean,
                           horizon=s.horizon, seed=s.seed, distribution=s.distribution)


@pytest.mark.parametrize("s", [ideal(seed=0), ideal(seed=1), ideal(seed=2, cpus=4, spinlock="ticket"),
                               ideal(seed=3, distribution="constant", kernel_mean=5000.0)])
def test_same_model_same_cycles(s):
    """Two CPUs (one waiter at most) or a FIFO lock: with the same seed, both
    simulators see the same phases and must count the same cycles."""
    util, modes, acq = ours(s)
    q = theirs(s)
    assert modes == [m + [0] for m in q["modes"]]           # no idle in the synthetic load
    assert util == q["lock_utilization"]
    assert acq == q["acquisitions"]


def test_lock_utilization_agrees_with_test_and_set():
    """Test-and-set hands the lock to a random spinner, SimPy's Resource in
    FIFO order: different runs, the same lock utilization."""
    s = ideal(seed=5, cpus=4, horizon=20_000_000, user_mean=12_800.0)
    util, _, _ = ours(s)
    q = theirs(s)
    assert util == pytest.approx(q["lock_utilization"], rel=0.02)
    assert 0.5 < util < 1.0


def test_simpy_modes_add_up():
    q = theirs(ideal(seed=7, cpus=3, horizon=3_000_000))
    assert all(sum(m) == 3_000_000 for m in q["modes"])
    assert q["events"] > q["acquisitions"] > 0


def test_speed_quick_writes_csv(tmp_path, capsys):
    out = tmp_path / "speed.csv"
    assert speed.main(["--quick", "--no-compiled", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "counted the same cycles per CPU and mode as SimPy in every sample: yes" in text
    assert "process CPU time per lock acquisition" in text
    df = pd.read_csv(out)
    assert {"ours", "simpy", "engine only", "floor"} <= set(df["model"])
    assert set(df["cpus"]) == set(speed.CPU_COUNTS)
    assert {"us_per_acq", "cpu_s_min", "cpu_s_median", "ours_speedup_vs_simpy_2cpu",
            "ours_speedup_vs_simpy_32cpu", "same_cycles"} <= set(df.columns)
    assert (df["cpu_s_min"] > 0).all() and (df["cpu_s_min"] <= df["cpu_s_median"]).all()
    assert df["same_cycles"].all() and df["repeatable"].all()
    # Every version of an ideal case did the same acquisitions.
    ideal = df[df["ideal"]]
    assert (ideal.groupby("cpus")["acquisitions"].nunique() == 1).all()


def test_speed_samples_are_interleaved():
    """One round runs every (case, version) once, ideal cases first; the
    workload cases are timed on the simulator only."""
    pairs = speed.plan(1000, compiled=True, references=[speed.SIMPY, speed.FLOOR])
    assert len(pairs) == len(set(pairs))
    assert pairs[:2] == [(speed.ideal_case(2), speed.COMPILED), (speed.ideal_case(2), speed.OURS)]
    assert {m for c, m in pairs if c in (speed.PII, speed.PAPER, speed.PAPER_LONG)} \
        == {speed.OURS, speed.COMPILED}
    assert {c for c, _ in pairs} == set(speed.scenarios(1000))


def test_warmup_is_counted_for_the_speed_benchmark():
    """The paper workload runs WARMUP_TICKS ticks before it measures; the
    benchmark divides wall time by every acquisition simulated, so the
    warm-up's must be recorded (and a synthetic run has none)."""
    from reproduce.bench.run import WARMUP_TICKS
    r = simulate(Scenario(calibrated=False))        # (a horizon would conflict: paper)
    warm = r.extra["warmup"]
    assert warm["cycles"] == WARMUP_TICKS * 3_000_000          # 100 Hz ticks of 300 MHz
    assert 0 < warm["acquisitions"] <= warm["entries"]
    syn = simulate(ideal(horizon=1_000_000)).extra["warmup"]
    assert syn == {"cycles": 0, "entries": 0, "acquisitions": 0}
    row = speed.time_ours(Scenario(calibrated=False))
    plain = simulate(Scenario(calibrated=False))
    assert row["acquisitions"] == plain.lock["acquisitions"] + plain.extra["warmup"]["acquisitions"]


@pytest.mark.parametrize("kw", [dict(seed=0), dict(seed=2, cpus=4), dict(seed=4, cpus=8, user_mean=12_800.0),
                                dict(seed=3, distribution="constant", kernel_mean=5000.0)])
def test_engine_only_model_is_the_simpy_model(kw):
    """The bare-engine version grants the lock in FIFO order like SimPy's
    Resource: the same phases must give the same cycles, acquisitions and
    wait time, at any number of CPUs."""
    from reproduce.reference import engine_model
    a = engine_model.run(horizon=5_000_000, **kw)
    b = simpy_model.run(horizon=5_000_000, **kw)
    for k in ("modes", "acquisitions", "contentions", "waittime_total", "holdtime_total"):
        assert a[k] == b[k], k
    assert all(sum(m) == 5_000_000 for m in a["modes"])


def test_compiled_build_is_skipped_with_a_reason_when_not_built(tmp_path, monkeypatch, capsys):
    """No build of the current model version: the benchmark says so and
    times the rest, rather than timing the Python sources under that name."""
    monkeypatch.setenv("REPRODUCE_COMPILED_DIR", str(tmp_path))
    assert speed.start_compiled(1000) is None
    assert "not built" in capsys.readouterr().err


def test_the_compiled_child_refuses_to_time_the_sources(tmp_path):
    """serve() in a process without the compiled build must not answer
    (its figures would be the Python build's under the compiled name)."""
    import io
    from reproduce.perf import fast
    if fast.compiled():
        pytest.skip("this test process runs the compiled build")
    with pytest.raises(RuntimeError, match="not loaded"):
        speed.serve(200_000, compiled=True, stdin=io.StringIO(""), stdout=io.StringIO())


def test_once_runs_a_case_and_names_the_cases_on_a_typo(capsys):
    """``--once``: what a profiler wraps; a case that does not exist is
    refused with the list of those that do."""
    assert speed.main(["--once", speed.PII, "--horizon", "200000", "--runs", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["runs"] == 2 and out["acquisitions"] > 0 and out["events"] > out["acquisitions"]
    assert speed.main(["--once", speed.PII, "--horizon", "200000", "--cold"]) == 0
    assert json.loads(capsys.readouterr().out) == out | {"runs": 1}    # the same run, unwarmed
    with pytest.raises(SystemExit):
        speed.main(["--once", "paper", "--runs", "1"])
    assert repr(speed.PAPER_LONG) in capsys.readouterr().err
    with pytest.raises(SystemExit):
        speed.main(["--cold"])                  # timing would ignore it: refused
    assert "--cold and --runs go with --once" in capsys.readouterr().err
