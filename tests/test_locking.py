"""Lock strategies beyond the paper (reproduce.kernel.locking): every one runs
with the debug checks on (mutual exclusion against its own ``exclusive()``
at every acquisition, CPU-local data, modes adding up), and the checks can
fail."""
from __future__ import annotations

import json

import pytest

from reproduce import cli
from reproduce.bench.run import simulate
from reproduce.bench.scenario import Scenario
from reproduce.errors import ConfigError
from reproduce.kernel import locking
from reproduce.errors import InvariantError
from reproduce.kernel.spinlock import new_spinlock

DESIGNS = list(locking.POLICIES)
LOCK_DESIGNS = [d for d in DESIGNS if not locking.POLICIES[d].forwarding]
FORWARDING = [d for d in DESIGNS if locking.POLICIES[d].forwarding]
SHORT = {"work_cycles": 3_000_000}


def paper(cpus: int = 2, **kw) -> Scenario:
    ov = dict(SHORT, processes=cpus)
    ov.update(kw.pop("overrides", {}))
    kw.setdefault("calibrated", False)
    return Scenario(cpus=cpus, debug=True, overrides=ov, **kw)


def synthetic(cpus: int = 2, **kw) -> Scenario:
    kw.setdefault("horizon", 2_000_000)
    return Scenario(cpus=cpus, workload="synthetic", calibrated=False, debug=True, **kw)


def test_every_design_is_a_selectable_strategy():
    assert set(DESIGNS) == {"giant", "giant+irq", "subsystem", "fine", "master-slave",
                            "appkernel"}
    for d in DESIGNS:
        assert Scenario(lock=d).lock == d
    with pytest.raises(ConfigError, match="valid are"):
        Scenario(lock="big-kernel-lock")


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("cpus", [2, 4])
def test_paper_workload_keeps_invariants(design, cpus):
    # debug=True: exclusion checked at every acquisition, modes checked at the end.
    r = simulate(paper(cpus, lock=design))
    assert r.completed
    assert all(sum(m) == r.cycles for m in r.modes)


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("cpus", [2, 4])
def test_synthetic_workload_keeps_invariants(design, cpus):
    r = simulate(synthetic(cpus, lock=design))
    assert all(sum(m) == 2_000_000 for m in r.modes)
    assert r.counters["entries"] > 100


@pytest.mark.parametrize("design", LOCK_DESIGNS)
def test_ticket_spinlocks_work_with_every_lock_design(design):
    r = simulate(paper(4, lock=design, spinlock="ticket"))
    assert r.completed
    assert r.locks and all(s["acquisitions"] >= 0 for s in r.locks.values())
    assert r.lock["acquisitions"] > 0


# ------------------------------------------------------------- checks can fail
class SplitGiant(locking.Giant):
    """Claims the giant lock's semantics (exclusive() is always True) but
    gives the db subsystem a lock of its own."""

    name = "split-giant"

    def __init__(self, kind="tas", ncpus=1):
        super().__init__(kind, ncpus)
        self.db = new_spinlock("db", kind)
        self.locks = [self.giant, self.db]

    def lock_at(self, entry, subsys, cpu):
        return self.db if subsys == "db" else self.giant


class IrqClaimingGiant(locking.GiantIrq):
    """The irq lock split, but claiming the giant lock's UP semantics."""

    name = "irq-claims-giant"

    def exclusive(self, a, b):
        return True


class UnlockedSerial(locking.LockPolicy):
    """No lock at all, while claiming that the kernel is serialized."""

    name = "unlocked"

    def exclusive(self, a, b):
        return True


@pytest.mark.parametrize("broken", [SplitGiant, IrqClaimingGiant, UnlockedSerial])
def test_exclusion_check_catches_locks_that_do_not_enforce_the_claim(monkeypatch, broken):
    monkeypatch.setitem(locking.POLICIES, broken.name, broken)
    with pytest.raises(InvariantError, match="under the same lock"):
        simulate(paper(2, lock=broken.name, overrides={"work_cycles": 6_000_000}))


def test_the_giant_lock_never_splits_a_path():
    r = simulate(paper(2))
    assert not [k for k in r.kernel_profile if k.endswith((":readyq", ":irq"))]
    # One critical section per entry (a few in flight at the window's ends).
    assert abs(r.lock["acquisitions"] - r.counters["entries"]) <= 2


# ---------------------------------------------------------------- giant+irq
def test_giant_irq_takes_the_irq_lock_for_the_low_level_tick_only():
    r = simulate(paper(2, lock="giant+irq"))
    irq = r.by_entry[r.by_entry["lock"] == "irq"]
    giant = r.by_entry[r.by_entry["lock"] == "giant"]
    assert set(irq["entry"]) <= {"timer:timer", "ipi:sched", "ipi:memory"}
    assert "timer:timer" in set(irq["entry"])
    assert "timer:timer" not in set(giant["entry"])
    # Wake-ups and preemption of the tick run under the giant lock.
    assert "timer:readyq" in set(giant["entry"])
    assert r.locks["irq"]["acquisitions"] > 0


# ---------------------------------------------------------- subsystem and fine
@pytest.mark.parametrize("design", ["subsystem", "fine"])
def test_subsystem_locks_are_all_used(design):
    r = simulate(paper(2, lock=design))
    for name in ("db", "ipc", "io", "memory", "proc"):
        assert r.locks[name]["acquisitions"] > 0, name
    assert any(k.endswith(":readyq") for k in r.kernel_profile)


def test_fine_has_per_cpu_run_queue_and_timer_locks():
    r = simulate(paper(4, lock="fine"))
    for i in range(4):
        assert r.locks[f"rq{i}"]["acquisitions"] > 0
        assert r.locks[f"timer{i}"]["acquisitions"] > 0
    assert "timer" not in r.locks


def test_fine_ready_queues_stop_bouncing_under_affinity():
    # No dynamic processes: nothing is ever queued on another CPU's queue
    # after boot.  The per-CPU queues' lines then never move during the run
    # (the counter includes the boot), while the shared queue's keep moving.
    def bounces(lock, work):
        return simulate(paper(4, lock=lock, overrides={"spawn_hz": 0,
                                                       "work_cycles": work})
                        ).counters["readyq_bounces"]

    assert bounces("fine", 3_000_000) == bounces("fine", 9_000_000)
    assert bounces("giant", 9_000_000) > bounces("giant", 3_000_000) + 50


# ---------------------------------------------------------- forwarding designs
@pytest.mark.parametrize("design", FORWARDING)
@pytest.mark.parametrize("wl", ["paper", "synthetic"])
def test_slaves_never_run_kernel_code(design, wl):
    r = simulate(paper(4, lock=design) if wl == "paper" else synthetic(4, lock=design))
    assert r.modes[0][1] > 0                      # the master works for everyone
    for m in r.modes[1:]:
        assert m[1] == 0                          # no KERNEL cycles on a slave
        assert m[2] > 0                           # they wait for the master
    assert r.counters["forwards"] > 0
    assert r.lock["acquisitions"] == 0 and not r.locks


def test_appkernel_pays_no_mp_overhead_master_slave_does():
    def cycles(design, overhead):
        return simulate(paper(2, lock=design, overrides={"mp_entry_overhead": overhead})).cycles

    assert cycles("appkernel", 0) == cycles("appkernel", 5000)
    assert cycles("master-slave", 5000) > cycles("master-slave", 0)


def test_appkernel_on_one_cpu_is_the_up_kernel_timing():
    up = simulate(paper(1, kernel="up"))
    app = simulate(paper(1, lock="appkernel"))
    assert app.counters["forwards"] == 0
    assert app.cycles == up.cycles


def test_forwarding_costs_an_ipi_each_way_for_the_appkernel():
    base = simulate(synthetic(2, lock="appkernel")).counters["entries"]
    dear = simulate(synthetic(2, lock="appkernel",
                              overrides={"ipi_send": 3000})).counters["entries"]
    assert dear < base                           # slower forwarding: fewer calls


def test_cli_simulates_every_design(capsys):
    for d in DESIGNS:
        code = cli.main(["simulate", "--lock", d, "--workload", "synthetic", "--horizon",
                         "1000000", "--uncalibrated", "--json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert json.loads(out)["scenario"]["lock"] == d
