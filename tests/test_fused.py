"""The kernel's fused path (one critical section per entry: the giant lock, the
UP kernel) gives the general path's results to the bit, for every spinlock
algorithm, on both machines and both workloads, and is taken exactly where it
applies."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from reproduce.kernel.kernel import Kernel
from reproduce.kernel.locking import POLICIES
from reproduce.kernel.spinlock import LOCK_KINDS
from reproduce.model.scenario import Scenario, simulate


def everything(s: Scenario, fused: bool) -> tuple[str, str]:
    """All a run reports (the result, per-CPU modes, lock_stat by entry
    point and by CPU, events) as one JSON text, and the path it took."""
    r = simulate(s, fused=fused)
    d = r.to_dict()
    d.pop("model_version", None)
    d["modes"] = r.modes
    d["by_entry"] = r.by_entry.to_dict(orient="list")
    d["lock_by_cpu"] = r.extra["lock_by_cpu"].to_dict(orient="list")
    d["warmup"] = r.extra["warmup"]
    return json.dumps(d, sort_keys=True, default=str), r.extra["path"]


def same_both_ways(s: Scenario) -> None:
    fused, path = everything(s, True)
    general, gpath = everything(s, False)
    assert (path, gpath) == ("fused", "general")
    assert fused == general


SYNTHETIC = [Scenario(workload="synthetic", calibrated=False, cpus=c, ideal=i, spinlock=k,
                      horizon=1_500_000)
             for k in LOCK_KINDS for c, i in ((2, True), (3, False), (8, True), (8, False))]
PAPER = [Scenario(calibrated=False, spinlock=k, cpus=c, machine=m)
         for k in LOCK_KINDS for c, m in ((2, "pentium2"), (4, "modern"))]
# The paths the E8 causes take (bus-bound loop, interrupt bursts, placement,
# halted CPUs woken by ticks) and the UP kernel (no lock at all).
VARIANTS = [Scenario(calibrated=False, kernel="up", cpus=1),
            Scenario(calibrated=False, kernel="up", cpus=1, overrides={"loop_bus_misses": 20.0}),
            Scenario(calibrated=False, overrides={"loop_bus_misses": 30.0}),
            Scenario(calibrated=False, overrides={"idle_wakeup": "tick"}),
            Scenario(calibrated=False, overrides={"placement": "same"}),
            Scenario(calibrated=False, overrides={"irq_burst": 4.0, "irq_burst_alternate": True}),
            Scenario(calibrated=False, affinity=False, overrides={"irq_routing": "cpu0"}),
            Scenario(calibrated=False, spinlock="ttas_backoff", cpus=4, seed=7,
                     overrides={"irq_routing": "lowest", "call_every": 100,
                                "work_cycles": 20_000_000}),
            Scenario(calibrated=False, readyq_bounce=False, kernel_data_bounce=False, seed=3)]


@pytest.mark.parametrize("s", SYNTHETIC, ids=lambda s: f"{s.spinlock}-{s.cpus}-{s.ideal}")
def test_synthetic_same_on_both_paths(s):
    same_both_ways(s)


@pytest.mark.parametrize("s", PAPER, ids=lambda s: f"{s.spinlock}-{s.cpus}-{s.machine}")
def test_paper_workload_same_on_both_paths(s):
    same_both_ways(s)


@pytest.mark.parametrize("s", VARIANTS, ids=range(len(VARIANTS)))
def test_variants_same_on_both_paths(s):
    same_both_ways(s)


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(LOCK_KINDS), cpus=st.integers(1, 6), ideal=st.booleans(),
       user=st.floats(200, 20_000), kernel=st.floats(200, 20_000),
       dist=st.sampled_from(["exponential", "constant"]), seed=st.integers(0, 2**32))
def test_random_synthetic_same_on_both_paths(kind, cpus, ideal, user, kernel, dist, seed):
    same_both_ways(Scenario(workload="synthetic", calibrated=False, cpus=cpus, ideal=ideal,
                            spinlock=kind, user_mean=user, kernel_mean=kernel,
                            distribution=dist, seed=seed, horizon=400_000))


@pytest.mark.parametrize("lock", sorted(POLICIES))
def test_fused_path_only_where_one_lock_covers_every_entry(lock):
    r = simulate(Scenario(workload="synthetic", calibrated=False, lock=lock, horizon=200_000))
    assert r.extra["path"] == ("fused" if lock == "giant" else "general")


def test_debug_and_trace_take_the_general_path():
    s = Scenario(workload="synthetic", calibrated=False, horizon=200_000)
    assert simulate(s.with_(debug=True)).extra["path"] == "general"
    assert simulate(s.with_(kernel="up", cpus=1)).extra["path"] == "fused"
    for trace in (None, []):
        k = tiny_kernel()
        k.trace = trace
        k.start()
        assert k.fused is (trace is None)


def tiny_kernel() -> Kernel:
    import numpy as np
    from reproduce.kernel.locking import make_policy
    from reproduce.machine.engine import Engine
    from reproduce.machine.memory import PhysicalMemory
    from reproduce.params import load
    costs, sched = load("pentium2"), load("workload")
    mem = PhysicalMemory(costs["memory_bytes"])
    k = Kernel(Engine(), mem, 2, "mp", make_policy("giant", "tas", 2), costs, sched,
               np.random.default_rng(0))
    k.boot()
    return k


def test_a_fused_path_that_differs_is_caught(monkeypatch):
    """The comparison sees a slip confined to the fused path: one TSC read
    too many in every hold."""
    s = Scenario(workload="synthetic", calibrated=False, horizon=300_000)
    original = Kernel._fused_run_path

    def slipped(self, core):
        core.lock_cycles += 1
        original(self, core)
    monkeypatch.setattr(Kernel, "_fused_run_path", slipped)
    with pytest.raises(AssertionError):
        same_both_ways(s)
