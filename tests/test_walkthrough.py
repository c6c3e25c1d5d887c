"""The system-call walk-through's cycle arithmetic, step by step, from the
cost table (data/params/pentium2.toml) and the calibrated entry overhead:
a golden test of what notebook 00 shows.  Two CPUs each make calls; with
the second CPU starting late enough, no call waits, so every cycle between a
trap and its release is a charge the trace names (plus the instrumentation's
three TSC reads, charged with the acquire)."""
from __future__ import annotations

import pytest

from reproduce.bench.calibration import calibration
from reproduce.params import load
from reproduce.report.walkthrough import syscall_trace

KCYCLES = 3000


@pytest.fixture(scope="module")
def costs():
    return load("pentium2").replace(mp_entry_overhead=calibration()["mp_entry_overhead"])


def _calls(trace):
    """Per CPU, the steps of each call from its trap to its release."""
    out, open_ = [], {}
    for row in trace.to_dict("records"):
        cpu = row["cpu"]
        if row["step"] == "trap":
            open_[cpu] = [row]
        elif cpu in open_:
            open_[cpu].append(row)
            if row["step"] == "release":
                out.append(open_.pop(cpu))
    return out


def test_uncontended_calls_add_up_from_the_cost_table(costs):
    trace = syscall_trace(cpus=2, calls=2, kcycles=KCYCLES, offset=20_000)
    calls = _calls(trace)
    assert len(calls) == 6          # two calls and the exit, on each CPU
    tsc = 3 * costs["rdtsc"]
    for steps in calls:
        by = {s["step"]: s for s in steps}
        trap, release = steps[0]["cycle"], steps[-1]["cycle"]
        # each step costs what the cost table says
        assert by["trap entry+exit"]["cycles"] == costs["trap"]
        # the XCHG: a hit in its own cache, a miss to memory, or a line
        # taken from the other CPU's cache
        rmw = costs["locked_rmw"]
        if "another CPU" in by["acquire"]["detail"]:
            assert by["acquire"]["cycles"] == rmw + costs["line_transfer"]
        else:
            assert by["acquire"]["cycles"] in (rmw, rmw + costs["memory_access"])
        assert by["MP entry overhead"]["cycles"] == costs["mp_entry_overhead"]
        lines = int(by["shared kernel data"]["detail"].split()[0])
        assert by["shared kernel data"]["cycles"] in (0, lines * costs["memory_access"],
                                                      lines * costs["line_transfer"])
        path = by["kernel path"]
        assert path["cycles"] == (KCYCLES if path["detail"] == "p_call" else path["cycles"])
        # no waiting: the hold is the sum of the charges and the TSC reads,
        # and lock_stat's TSC difference says the same
        charged = sum(s["cycles"] for s in steps)
        assert release - trap == charged + tsc
        held = int(by["release"]["detail"].split("held ")[1].split()[0])
        assert held == release - trap
    # the first call ever finds the lock word in memory, the second CPU's
    # first call finds it in the first CPU's cache
    assert "line local" in _step(calls[0], "acquire")["detail"]
    assert "another CPU" in _step([c for c in calls if c[0]["cpu"] == 1][0],
                                  "acquire")["detail"]


def test_a_contended_call_waits_exactly_until_the_hand_off(costs):
    trace = syscall_trace(cpus=2, calls=1, kcycles=KCYCLES, offset=1000)
    calls = _calls(trace)
    c0 = next(c for c in calls if c[0]["cpu"] == 0)      # each CPU's first call
    c1 = next(c for c in calls if c[0]["cpu"] == 1)
    release0 = c0[-1]["cycle"]
    trap1 = c1[0]["cycle"]
    acquired1 = _step(c1, "acquire")["cycle"]
    assert trap1 < release0 < acquired1        # CPU 1 spun while CPU 0 held
    waited = int(_step(c1, "acquire")["detail"].rsplit("waited ", 1)[1])
    assert waited == acquired1 - trap1
    # the hand-off after the releasing store moves the line to the spinner:
    # at least one line transfer, at most a few
    handoff = acquired1 - release0
    assert costs["line_transfer"] <= handoff <= 4 * costs["line_transfer"]


def _step(steps, name):
    return next(s for s in steps if s["step"] == name)
