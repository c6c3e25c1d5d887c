"""The kernel timing model: mutual exclusion, cycle accounting, lock_stat,
CPU-local data, scheduling and the paper's mechanisms."""
from __future__ import annotations

import pytest

from reproduce.bench.run import simulate
from reproduce.bench.scenario import Scenario
from reproduce.report.walkthrough import syscall_trace
from reproduce.errors import ConfigError
from reproduce.kernel import locking
from reproduce.errors import InvariantError
from reproduce.kernel.spinlock import new_spinlock

SHORT = {"work_cycles": 6_000_000}


def paper(**kw):
    kw.setdefault("calibrated", False)
    ov = dict(SHORT)
    ov.update(kw.pop("overrides", {}))
    return Scenario(debug=True, overrides=ov, **kw)


@pytest.mark.parametrize("cpus", [1, 2, 4])
@pytest.mark.parametrize("spinlock", ["tas", "ticket"])
def test_giant_lock_run_keeps_invariants(cpus, spinlock):
    # debug=True checks mutual exclusion at every acquisition, CPU-local
    # current_thread at every MP entry, and that modes add up at the end.
    r = simulate(paper(cpus=cpus, spinlock=spinlock, overrides={"processes": cpus}))
    assert r.completed
    for m in r.modes:
        assert sum(m) == r.cycles
    assert r.lock["acquisitions"] > 100


def test_modes_add_up_to_elapsed_per_cpu_for_synthetic():
    r = simulate(Scenario(workload="synthetic", cpus=3, horizon=3_000_000, calibrated=False,
                          debug=True))
    assert all(sum(m) == 3_000_000 for m in r.modes)
    fr = r.fractions()
    assert (fr.sum(axis=1) - 1.0).abs().max() < 1e-12


class BrokenGiant(locking.LockPolicy):
    """Claims giant-lock exclusion but hands out one lock per subsystem."""

    name = "broken"

    def __init__(self, kind="tas", ncpus=1):
        super().__init__(kind, ncpus)
        self.by = {s: new_spinlock(s, kind) for s in locking.SUBSYSTEMS}
        self.locks = list(self.by.values())

    def lock_for(self, entry, subsys):
        return self.by[subsys]

    def exclusive(self, a, b):
        return True


def test_exclusion_check_catches_a_lock_that_does_not_exclude(monkeypatch):
    monkeypatch.setitem(locking.POLICIES, "broken", BrokenGiant)
    with pytest.raises(InvariantError, match="under the same lock"):
        simulate(paper(cpus=2, lock="broken"))


def test_lock_stat_agrees_with_mode_accounting():
    r = simulate(paper(cpus=2, seed=3))
    kernel = sum(m[1] for m in r.modes)
    spin = sum(m[2] for m in r.modes)
    # Holds and waits in flight at the start or end of measurement are the
    # only difference: at most a couple of the longest ones.
    assert abs(r.lock["holdtime_total"] - kernel) <= 2 * r.lock["holdtime_max"]
    assert abs(r.lock["waittime_total"] - spin) <= 2 * r.lock["waittime_max"]
    assert r.lock["contentions"] <= r.lock["acquisitions"]
    assert r.lock["con_bounces"] <= r.lock["contentions"]
    assert 0 < r.lock["holdtime_min"] <= r.lock["holdtime_avg"] <= r.lock["holdtime_max"]


def test_up_kernel_has_no_lock_and_never_spins():
    r = simulate(paper(cpus=1, kernel="up"))
    assert r.lock["acquisitions"] == 0
    assert all(m[2] == 0 for m in r.modes)
    assert r.counters["readyq_bounces"] == 0


def test_mp_kernel_on_one_cpu_takes_the_lock_without_contention():
    r = simulate(paper(cpus=1, kernel="mp"))
    assert r.lock["acquisitions"] > 0 and r.lock["contentions"] == 0


def test_same_seed_same_result_other_seed_differs():
    a = simulate(paper(seed=5)).to_dict()
    b = simulate(paper(seed=5)).to_dict()
    c = simulate(paper(seed=6)).to_dict()
    assert a == b
    assert a != c


def test_smp_spins_and_bounces_the_ready_queue_line():
    r = simulate(paper(cpus=2))
    assert r.table1()["spin"] > 0.01
    assert r.counters["readyq_bounces"] > 0
    off = simulate(paper(cpus=2, readyq_bounce=False))
    assert off.cycles != r.cycles


def _stall_share(**kw):
    r = simulate(Scenario(workload="synthetic", horizon=2_000_000, calibrated=False, **kw))
    return r.lock["bus_stall_cycles"] / r.lock["holdtime_total"]


def test_spinners_slow_the_holder_only_where_they_miss_their_caches_on_a_shared_bus():
    # One test-and-set spinner spins in its own cache: the holder loses
    # (almost) nothing; several steal the line from each other and the
    # holder's misses queue behind them on the Pentium II's bus.
    assert _stall_share(cpus=2, spinlock="tas") < 0.01
    assert _stall_share(cpus=8, spinlock="tas") > 0.2
    # MCS waiters spin on their own lines: little traffic, little stall.
    assert _stall_share(cpus=8, spinlock="mcs") < 0.05
    # Without a shared bus other lines' misses do not wait for the lock's.
    assert _stall_share(cpus=8, spinlock="tas", machine="modern") == 0


def test_affinity_means_no_migrations():
    on = simulate(paper(cpus=2))
    off = simulate(paper(cpus=2, affinity=False))
    assert on.counters["migrations"] == 0
    assert off.counters["migrations"] > 0


def test_without_background_the_benchmark_scales_to_two_cpus():
    up = simulate(paper(cpus=1, kernel="up", background=False))
    smp = simulate(paper(cpus=2, background=False))
    assert up.cycles / smp.cycles == pytest.approx(2.0, rel=0.02)


def test_calls_interval_raises_kernel_share():
    none = simulate(paper(cpus=1, kernel="up"))
    many = simulate(paper(cpus=1, kernel="up", overrides={"call_every": 1}))
    assert many.table1()["kernel"] > none.table1()["kernel"] + 0.2


def test_bad_scenarios_are_clear_errors():
    with pytest.raises(ConfigError, match="cpus=0"):
        Scenario(cpus=0)
    with pytest.raises(ConfigError, match="UP kernel runs on 1 CPU"):
        Scenario(cpus=2, kernel="up")
    with pytest.raises(ConfigError, match="lock='nolock'"):
        Scenario(lock="nolock")
    with pytest.raises(ConfigError, match="nosuch"):
        simulate(Scenario(calibrated=False, overrides={"nosuch": 1}))
    with pytest.raises(ConfigError, match="timer_hz"):
        simulate(Scenario(calibrated=False, overrides={"timer_hz": "fast"}))


def test_walkthrough_shows_a_spinning_cpu_and_private_cpulocal_frames():
    t = syscall_trace(cpus=2, calls=1)
    assert {"trap", "acquire", "CPU-local read", "kernel path", "release"} <= set(t["step"])
    reads = t[t["step"] == "CPU-local read"]
    frames = {d.split("-> pa ")[1].split()[0] for d in reads["detail"]}
    vas = {d.split("va ")[1].split()[0] for d in reads["detail"]}
    assert len(vas) == 1 and len(frames) == 2      # same VA, a frame per CPU
    assert t["detail"].str.contains("held by CPU").any()
    assert t["detail"].str.contains("line transfer").any()


def test_lock_stat_one_cpu_at_a_time_matches_that_cpus_modes():
    # The paper measured one CPU at a time: each CPU's own TSC differences
    # must give that CPU's kernel and spin time.
    r = simulate(paper(cpus=2, seed=1))
    per = r.extra["lock_by_cpu"].set_index("cpu")
    for cpu, m in enumerate(r.modes):
        assert abs(per.loc[cpu, "holdtime_total"] - m[1]) <= 2 * per.loc[cpu, "holdtime_max"]
        assert abs(per.loc[cpu, "waittime_total"] - m[2]) <= 2 * per.loc[cpu, "waittime_max"]
    assert per["acquisitions"].sum() == r.lock["acquisitions"]
