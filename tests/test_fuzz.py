"""Fuzzing: random valid scenarios run with every invariant checked, and
random malformed input refused in one line before any work.

``make fuzz`` runs a few hundred examples of each (``FUZZ_EXAMPLES``); the
ordinary test run a few dozen."""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reproduce import cli
from reproduce.errors import ConfigError
from reproduce.kernel.locking import POLICIES
from reproduce.kernel.spinlock import LOCK_KINDS
from reproduce.bench.run import simulate
from reproduce.bench.scenario import DISTRIBUTIONS, Scenario

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
# The same examples on every run (a failure reproduces), unless FUZZ_RANDOM=1.
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                derandomize=os.environ.get("FUZZ_RANDOM") != "1",
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

# Parameter overrides drawn within their ranges (short runs: small work).
OVERRIDES = st.fixed_dictionaries({}, optional={
    "timer_hz": st.sampled_from([0, 50, 100, 250, 1000]),
    "trap": st.integers(0, 2000), "line_transfer": st.integers(0, 1000),
    "kernel_bus_rate": st.floats(0, 0.05), "timeslice_ticks": st.integers(1, 20),
    "readyq_lines": st.integers(0, 8), "kernel_shared_lines": st.integers(0, 16),
    "timer_phase_skew": st.floats(0, 1), "irq_hz": st.floats(0, 6000),
    "irq_routing": st.sampled_from(["cpu0", "spread"]), "spawn_hz": st.floats(0, 100),
    "threads": st.integers(0, 150), "active_fraction": st.floats(0, 1),
    "calls_per_wakeup": st.floats(1, 8), "wake_together": st.booleans(),
    "call_every": st.sampled_from([0, 10, 100, 1000]), "processes": st.integers(0, 4),
    "tsc_skew": st.integers(0, 10_000),
})


@st.composite
def scenarios(draw) -> Scenario:
    kernel = draw(st.sampled_from(["up", "mp"]))
    cpus = 1 if kernel == "up" else draw(st.integers(1, 12))
    kw: dict = {"kernel": kernel, "cpus": cpus, "seed": draw(st.integers(0, 2**32)),
                "calibrated": False, "debug": True,
                "affinity": draw(st.booleans()), "ideal": draw(st.booleans())}
    kw["machine"] = draw(st.sampled_from(["pentium2", "modern"]))
    for name in ("readyq_bounce", "kernel_data_bounce"):
        kw[name] = draw(st.booleans())
    if kernel == "mp":
        kw["lock"] = draw(st.sampled_from(list(POLICIES)))
        kw["spinlock"] = draw(st.sampled_from(list(LOCK_KINDS)))
    ov = draw(OVERRIDES)
    if draw(st.booleans()):
        kw["workload"] = "synthetic"
        kw["distribution"] = draw(st.sampled_from(list(DISTRIBUTIONS)))
        kw["user_mean"] = draw(st.floats(50, 50_000))
        kw["kernel_mean"] = draw(st.floats(50, 50_000))
        kw["horizon"] = draw(st.integers(10_000, 1_000_000))
        ov = {k: v for k, v in ov.items() if k not in ("processes", "call_every")}
    else:
        kw["background"] = draw(st.booleans())
        ov["work_cycles"] = draw(st.integers(100_000, 1_000_000))
    kw["overrides"] = ov
    try:
        return Scenario(**kw)
    except ConfigError:
        assume(False)        # a combination the budget refuses: not a valid scenario
        raise


@FUZZ
@given(scenarios())
def test_random_valid_scenarios_keep_every_invariant(s):
    """Short runs with debug on (the kernel's own invariants checked while
    running), then the result's: modes add up per CPU, fractions in [0, 1],
    lock hold time within kernel time."""
    r = simulate(s)
    assert r.cycles >= 0
    for m in r.modes:
        assert sum(m) == r.cycles and min(m) >= 0
    fr = r.fractions()
    assert ((fr >= 0) & (fr <= 1)).all().all()
    t1 = r.table1()
    assert math.isclose(sum(t1.values()), 1.0, abs_tol=1e-9) or r.cycles == 0
    kernel = sum(m[1] for m in r.modes)
    hold = r.lock["holdtime_total"] + r.lock.get("holdtime_in_progress", 0)
    if s.workload == "synthetic" and s.lock not in ("master-slave", "appkernel"):
        assert hold <= kernel
    assert json.loads(s.key()) == s.to_dict()
    assert Scenario(**{**s.to_dict(), "overrides": dict(s.overrides)}) == s


# ------------------------------------------------------------------ malformed input

BAD_TEXT = st.sampled_from(["", " ", "nan", "inf", "-inf", "-1", "0", "1e400", "1e308",
                            "1e30", "abc", "0x10", "1.5", "2", "true", "None", "[]",
                            "1,", ",", "é", "9" * 40, "-0", "1_0", "++1"])
# Each of these is refused whatever else is on the command line.
SURELY_BAD = st.sampled_from([
    ["--cpus", "0"], ["--cpus", "65"], ["--horizon", "1e30"], ["--user-mean", "1e308"],
    ["--seed", "-1"], ["-p", "clock_hz=1"], ["-p", "cpus=4"], ["-p", "nope=1"],
    ["-p", "timer_hz=100000"], ["-p", "wake_together=2"], ["-p", "calls_per_wakeup=1e12"],
    ["--kernel", "up", "--lock", "fine"], ["--lock", "no-such-lock"],
])
SIM_OPTIONS = ["--cpus", "--kernel", "--lock", "--spinlock", "--workload", "--user-mean",
               "--kernel-mean", "--distribution", "--horizon", "--seed", "--processes"]
PARAMS = ["timer_hz", "clock_hz", "trap", "irq_hz", "period_ms", "wake_together",
          "irq_routing", "threads", "work_cycles", "spawn_hz", "tsc_skew"]


@st.composite
def malformed_simulate(draw) -> list[str]:
    argv = ["simulate"]
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            argv += [draw(st.sampled_from(SIM_OPTIONS)), draw(BAD_TEXT)]
        else:
            argv += ["-p", f"{draw(st.sampled_from(PARAMS))}={draw(BAD_TEXT)}"]
    pos = draw(st.integers(1, len(argv)))
    bad = draw(SURELY_BAD)
    return argv[:pos] + bad + argv[pos:]


SWEEP_SURELY_BAD = st.sampled_from([
    ["-g", "cpus=0,2"], ["-g", "seed=0:100000000"], ["-s", "horizon=1e30"],
    ["-p", "clock_hz=1"], ["-g", "lock=giant,x"], ["-s", "debug=2"], ["--workers", "0"],
    ["-p", "trap=1e400"], ["-g", "seed=5:5"], ["-g", "user_mean=1,inf"], ["-p", "cpus=2"],
    ["-s", "overrides=x"], ["-g", "nofield=1"], ["--cache-dir", ""],
])


@st.composite
def malformed_sweep(draw, out: Path) -> list[str]:
    argv = ["sweep", "-s", "workload=synthetic", "-s", "calibrated=false", "--out", str(out)]
    for _ in range(draw(st.integers(0, 3))):
        field = draw(st.sampled_from(["cpus", "seed", "horizon", "user_mean", "lock", "debug"]))
        opt = draw(st.sampled_from(["-g", "-s"]))
        argv += [opt, f"{field}={draw(BAD_TEXT)}"] if opt == "-s" else \
            [opt, f"{field}={draw(BAD_TEXT)},{draw(BAD_TEXT)}"]
    pos = draw(st.integers(1, len(argv)))
    if argv[pos - 1] in ("-g", "-s", "--out"):
        pos -= 1
    return argv[:pos] + draw(SWEEP_SURELY_BAD) + argv[pos:]


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def _refused(code: int, out: str, err: str) -> None:
    assert code == 2, (code, err)
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert out == ""


@FUZZ
@given(argv=malformed_simulate())
def test_malformed_simulate_arguments_exit_2_in_one_line(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _refused(*_run(argv))
    assert list(tmp_path.iterdir()) == []          # nothing written


@FUZZ
@given(data=st.data())
def test_malformed_sweep_arguments_exit_2_and_write_nothing(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REPRODUCE_CACHE_DIR", str(tmp_path / "cache"))
    argv = data.draw(malformed_sweep(tmp_path / "rows.csv"))
    _refused(*_run(argv))
    assert list(tmp_path.iterdir()) == []


ANY_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                      st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                      st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5),
                                                                         st.integers(),
                                                                         max_size=2))
FIELDS = list(Scenario.__dataclass_fields__) + ["nonsense", "cpu"]


@FUZZ
@given(kw=st.dictionaries(st.sampled_from(FIELDS), ANY_VALUE, max_size=4))
def test_api_values_give_a_scenario_or_a_config_error(kw):
    """Never TypeError, ValueError or a crash deep inside: either a Scenario
    that passes its own checks, or ConfigError."""
    try:
        s = Scenario(**kw)
    except ConfigError:
        return
    assert json.loads(s.key()) == s.to_dict()
    for name, v in kw.items():
        if name != "overrides":
            assert getattr(s, name) == v


@FUZZ
@given(ov=st.dictionaries(st.sampled_from(PARAMS + ["cpus", "affinity", "x"]), ANY_VALUE,
                          max_size=3))
def test_api_overrides_give_a_scenario_or_a_config_error(ov):
    try:
        s = Scenario(workload="synthetic", calibrated=False, overrides=ov)
    except ConfigError:
        return
    assert set(dict(s.overrides)) == set(ov)
    for v in dict(s.overrides).values():
        assert not (isinstance(v, float) and not math.isfinite(v))
