"""The command line (reproduce.cli): a contract other tools rely on."""
from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from reproduce import cli
from reproduce.kernel.locking import POLICIES, Giant

ROOT = Path(__file__).resolve().parent.parent
SYN = ["simulate", "--workload", "synthetic", "--horizon", "2000000", "--uncalibrated"]
PAPER = ["simulate", "-p", "work_cycles=3000000", "--uncalibrated"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def check_usage_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], (n, lines[0])


# ------------------------------------------------------------------ simulate

@pytest.mark.parametrize("argv", [SYN, PAPER, PAPER + ["--kernel", "up"],
                                  SYN + ["--spinlock", "ticket", "--cpus", "4",
                                         "--distribution", "constant"]])
def test_json_fields_and_fractions(capsys, argv):
    d = run_json(capsys, *argv)
    assert isinstance(d["cycles"], int) and d["cycles"] > 0
    assert isinstance(d["events"], int) and d["events"] > 0
    for key in ("acquisitions", "contentions", "waittime_total", "holdtime_total"):
        assert key in d["lock"]
    ncpus = d["scenario"]["cpus"]
    assert [c["cpu"] for c in d["cpus"]] == list(range(ncpus))
    for c in d["cpus"]:
        assert set(c) >= {"cpu", "user", "kernel", "spin", "idle"}
        assert abs(c["user"] + c["kernel"] + c["spin"] + c["idle"] - 1.0) < 1e-9
    assert set(d["table1"]) == {"user", "kernel", "spin"}
    assert d["simulated_ms"] == pytest.approx(1000.0 * d["cycles"] / d["clock_hz"])


def test_kernel_up_defaults_to_one_cpu(capsys):
    d = run_json(capsys, *PAPER, "--kernel", "up")
    assert d["scenario"]["cpus"] == 1 and d["scenario"]["kernel"] == "up"
    assert len(d["cpus"]) == 1 and d["lock"]["acquisitions"] == 0


def test_options_reach_the_scenario(capsys):
    d = run_json(capsys, *SYN, "--cpus", "3", "--user-mean", "5000", "--kernel-mean", "2e3",
                 "--seed", "7", "--no-affinity", "--ideal",
                 "--no-readyq-bounce", "--no-kernel-data-bounce", "--machine", "modern",
                 "--spinlock", "mcs", "--debug", "-p", "timer_hz=1000", "-p", "trap=200")
    s = d["scenario"]
    assert (s["cpus"], s["user_mean"], s["kernel_mean"], s["seed"]) == (3, 5000.0, 2000.0, 7)
    assert s["affinity"] is False and s["ideal"] is True and s["calibrated"] is False
    assert not (s["readyq_bounce"] or s["kernel_data_bounce"])
    assert s["machine"] == "modern" and s["spinlock"] == "mcs"
    assert s["debug"] is True and s["horizon"] == 2_000_000
    assert s["overrides"] == {"timer_hz": 1000, "trap": 200}


def test_defaults_come_from_scenario(capsys):
    from reproduce.bench.scenario import Scenario
    d = run_json(capsys, *SYN)
    expect = Scenario(workload="synthetic", horizon=2_000_000, calibrated=False).to_dict()
    assert d["scenario"] == expect


def test_same_seed_same_bytes_in_process(capsys):
    a = run(capsys, *PAPER, "--seed", "3", "--json")
    b = run(capsys, *PAPER, "--seed", "3", "--json")
    assert a[0] == 0 and a == b


def test_same_seed_same_bytes_subprocess():
    argv = [sys.executable, "-m", "reproduce", *SYN, "--seed", "5", "--json"]
    outs = [subprocess.run(argv, cwd=ROOT, capture_output=True, check=True).stdout
            for _ in range(2)]
    assert outs[0] == outs[1]
    assert isinstance(json.loads(outs[0]), dict)      # exactly one JSON object


def test_different_seeds_differ(capsys):
    a = run_json(capsys, *SYN, "--seed", "1")
    b = run_json(capsys, *SYN, "--seed", "2")
    assert a["cpus"] != b["cpus"] or a["lock"] != b["lock"]


def test_human_table(capsys):
    code, out, err = run(capsys, *PAPER)
    assert code == 0, err
    for needle in ("cpu", "user", "kernel", "spin", "idle", "Table 1", "cycles", "ms at",
                   "acquisitions", "contentions"):
        assert needle in out


def test_lock_choices_read_from_policies_at_runtime(capsys, monkeypatch):
    monkeypatch.setitem(POLICIES, "giant2", Giant)
    d = run_json(capsys, *SYN, "--lock", "giant2")
    assert d["scenario"]["lock"] == "giant2"


def test_unknown_lock_lists_valid_names(capsys):
    code, out, err = run(capsys, *SYN, "--lock", "nosuchlock")
    check_usage_error(code, err, "--lock", "nosuchlock", *POLICIES)
    assert out == ""


@pytest.mark.parametrize("extra,needles", [
    (["--cpus", "abc"], ["--cpus", "abc"]),
    (["--cpus", "0"], ["--cpus", "1 to 64"]),
    (["--cpus", "65"], ["--cpus", "65"]),
    (["--machine", "vax"], ["--machine", "vax", "pentium2", "modern"]),
    (["--horizon", "-5"], ["--horizon", "-5"]),
    (["--seed", "-1"], ["--seed", "-1"]),
    (["--seed", "1.5"], ["--seed", "1.5"]),
    (["--user-mean", "inf"], ["--user-mean", "inf"]),
    (["--user-mean", "-3"], ["--user-mean"]),
    (["--kernel-mean", "nan"], ["--kernel-mean", "nan"]),
    (["--kernel", "smp"], ["--kernel", "smp", "up", "mp"]),
    (["--spinlock", "clh"], ["--spinlock", "clh", "tas", "ttas", "ttas_backoff", "ticket",
                             "mcs", "qspinlock"]),
    (["--workload", "tpc"], ["--workload", "tpc"]),
    (["--distribution", "normal"], ["--distribution", "normal"]),
    (["--bogus-option"], ["--bogus-option"]),
    (["-p", "timer_hz"], ["timer_hz", "KEY=VALUE"]),
    (["-p", "timer_hz=abc"], ["timer_hz", "abc"]),
    (["-p", "trap=nan"], ["trap", "nan"]),
    (["-p", "tick_cycles=1.5"], ["tick_cycles", "1.5"]),
    (["-p", "period_ms=1.5"], ["period_ms", "1.5"]),
    (["-p", "cpus=4"], ["cpus", "--cpus"]),
    (["-p", "affinity=false"], ["affinity", "--affinity"]),
])
def test_bad_values_exit_2_one_line(capsys, extra, needles):
    code, out, err = run(capsys, *SYN, *extra)
    check_usage_error(code, err, *needles)
    assert out == ""


def test_unknown_param_named(capsys):
    code, out, err = run(capsys, *SYN, "-p", "nosuchparam=1")
    check_usage_error(code, err, "nosuchparam", "timer_hz")


def test_kernel_up_with_two_cpus(capsys):
    code, out, err = run(capsys, *PAPER, "--kernel", "up", "--cpus", "2")
    check_usage_error(code, err, "up", "cpus=2")


def test_bad_value_subprocess_has_no_traceback():
    r = subprocess.run([sys.executable, "-m", "reproduce", *SYN, "--cpus", "0"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == ""
    assert "Traceback" not in r.stderr and r.stderr.startswith("reproduce: error: ")
    assert len(r.stderr.strip().splitlines()) == 1


def test_list_parameter_override(capsys):
    d = run_json(capsys, *PAPER, "-p", "period_ms=1,2")
    assert d["scenario"]["overrides"] == {"period_ms": [1, 2], "work_cycles": 3000000}


def test_parse_value():
    assert cli.parse_value("1000") == 1000 and isinstance(cli.parse_value("1000"), int)
    assert cli.parse_value("0.5") == 0.5
    assert cli.parse_value("1e3") == 1000.0
    assert cli.parse_value("true") is True and cli.parse_value("False") is False
    assert cli.parse_value("1,2,5") == "1,2,5"


def test_help_exits_0(capsys):
    code, out, _ = run(capsys, "simulate", "--help")
    assert code == 0 and "--lock" in out


def test_no_command_exits_2(capsys):
    code, _, err = run(capsys)
    check_usage_error(code, err, "COMMAND")


# ------------------------------------------------------ experiments, summary

def _fake_registry(calls: list) -> types.ModuleType:
    def tables(seeds=3, cpus=2, intervals=(1, 10), label="x"):
        calls.append({"seeds": seeds, "cpus": cpus, "intervals": intervals, "label": label})
        return pd.DataFrame({"seeds": [seeds], "cpus": [cpus],
                             "n_intervals": [len(intervals)], "label": [label]})

    def two():
        return {"a": pd.DataFrame({"x": [1, 2]}), "b": pd.DataFrame({"y": [0.5]})}

    def exp(name, title, fn, params):
        return types.SimpleNamespace(name=name, title=title, params=params,
                                     run=lambda **kw: fn(**kw))

    mod = types.ModuleType(cli.EXPERIMENTS_MODULE)
    mod.EXPERIMENTS = {
        "T1": exp("T1", "A table", tables,
                  {"seeds": 3, "cpus": 2, "intervals": (1, 10), "label": "x"}),
        "T2": exp("T2", "Two tables", two, {}),
    }
    mod.summary_table = lambda: pd.DataFrame({"quantity": ["speedup"], "paper": [1.2],
                                              "model": [1.25], "status": ["predicted"],
                                              "verdict": ["miss"]})
    return mod


@pytest.fixture
def fake(monkeypatch):
    calls: list = []
    monkeypatch.setitem(sys.modules, cli.EXPERIMENTS_MODULE, _fake_registry(calls))
    return calls


def test_experiments_list(capsys, fake):
    code, out, err = run(capsys, "experiments", "list")
    assert code == 0, err
    assert "T1: A table" in out and "T2: Two tables" in out
    assert "seeds=3" in out and "intervals=1,10" in out


def test_experiments_run_table_and_params(capsys, fake):
    code, out, err = run(capsys, "experiments", "run", "T1", "-p", "seeds=2",
                         "-p", "intervals=1,5,10", "-p", "label=hello")
    assert code == 0, err
    assert fake == [{"seeds": 2, "cpus": 2, "intervals": (1, 5, 10), "label": "hello"}]
    assert "hello" in out and "n_intervals" in out


def test_experiments_run_json(capsys, fake):
    code, out, err = run(capsys, "experiments", "run", "T1", "--json")
    assert code == 0, err
    assert json.loads(out) == [{"seeds": 3, "cpus": 2, "n_intervals": 2, "label": "x"}]
    code, out, err = run(capsys, "experiments", "run", "T2", "--json")
    assert code == 0, err
    assert json.loads(out) == {"a": [{"x": 1}, {"x": 2}], "b": [{"y": 0.5}]}
    code, out, err = run(capsys, "experiments", "run", "T2")
    assert code == 0 and "== a ==" in out and "== b ==" in out


def test_experiments_unknown_name_and_param(capsys, fake):
    code, _, err = run(capsys, "experiments", "run", "T9")
    check_usage_error(code, err, "T9", "T1", "T2")
    code, _, err = run(capsys, "experiments", "run", "T1", "-p", "nosuch=1")
    check_usage_error(code, err, "nosuch", "seeds", "cpus", "intervals", "label")
    code, _, err = run(capsys, "experiments", "run", "T1", "-p", "seeds=abc")
    check_usage_error(code, err, "seeds", "abc")
    assert fake == []


def test_experiments_missing_registry(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, cli.EXPERIMENTS_MODULE, None)
    code, _, err = run(capsys, "experiments", "list")
    check_usage_error(code, err, cli.EXPERIMENTS_MODULE, "not available")
    code, _, err = run(capsys, "summary")
    check_usage_error(code, err, cli.EXPERIMENTS_MODULE)


def test_summary(capsys, fake):
    code, out, err = run(capsys, "summary")
    assert code == 0, err
    # the headline (reproduce.report.verdict) first: the genuine predictions, counted
    assert out.startswith("Verdict: 0 of 1 genuine predictions match the paper (0 more rows "
                          "are calibrated or true by construction); missed: speedup")
    assert "speedup" in out and "1.25" in out
    code, out, err = run(capsys, "summary", "--json")
    assert json.loads(out) == [{"quantity": "speedup", "paper": 1.2, "model": 1.25,
                                "status": "predicted", "verdict": "miss"}]


def test_real_registry_lists_if_present(capsys):
    """With the real registry (when it exists), list shows every experiment."""
    try:
        from reproduce.experiments.registry import EXPERIMENTS
    except ImportError:
        pytest.skip("no experiments registry yet")
    code, out, err = run(capsys, "experiments", "list")
    assert code == 0, err
    for name in EXPERIMENTS:
        assert f"{name}:" in out


def test_trace_writes_a_chrome_trace_that_tiles_the_window(capsys, tmp_path):
    """`reproduce simulate --trace FILE.json`: the file loads back, every
    CPU's segments tile the window with no gap or overlap, the lock is never
    held by two CPUs at once, and the modes in it are the run's own."""
    from reproduce.report.trace import check_chrome_trace
    out = tmp_path / "run.json"
    assert cli.main(["simulate", "--cpus", "2", "--trace", str(out),
                     "--trace-window", "0:20", "--json"]) == 0
    doc = json.loads(out.read_text())
    per_cpu = check_chrome_trace(doc)
    assert sorted(per_cpu) == [0, 1]
    window = doc["otherData"]["window_cycles"]
    for modes in per_cpu.values():
        assert sum(modes.values()) == window[1] - window[0]
    assert any(e["ph"] == "s" for e in doc["traceEvents"])      # lock hand-offs drawn
    # The run itself is the same as without the trace.
    traced = json.loads(capsys.readouterr().out)
    assert cli.main(["simulate", "--cpus", "2", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert traced["cycles"] == plain["cycles"] and traced["cpus"] == plain["cpus"]


@pytest.mark.parametrize("window", ["5", "a:b", "30:10", "-1:5"])
def test_trace_window_must_be_from_to(capsys, tmp_path, window):
    code = cli.main(["simulate", "--trace", str(tmp_path / "t.json"), "--trace-window", window])
    assert code == 2
    err = capsys.readouterr().err
    assert "--trace-window" in err and "Traceback" not in err
    assert not (tmp_path / "t.json").exists()
