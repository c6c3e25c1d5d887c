"""Section 3.3's lazy mechanisms in full runs of the paper's workload: the
replication process's table (``repl_*`` in data/params) makes the counts
that E6 and the summary report, and the shootdown IPIs it needs are taken
as kernel entries on the CPUs they reach."""
from __future__ import annotations

import pytest

from reproduce.errors import ConfigError
from reproduce.bench.run import simulate
from reproduce.bench.scenario import Scenario
from reproduce.bench.workload import table_va
from reproduce.experiments.paper import e6_lazy_tlb

LAZY = ("spurious_pde", "stale_tlb", "faults_wp", "ipis_avoided", "ipis_sent")


def counts(cpus, kernel="mp", seeds=range(3), **ov):
    """The lazy counters summed over *seeds*, and the shootdowns taken."""
    tot = dict.fromkeys(LAZY + ("shootdowns",), 0)
    for seed in seeds:
        r = simulate(Scenario(cpus=cpus, kernel=kernel, seed=seed, calibrated=False,
                              debug=True, overrides=ov))
        for key in LAZY:
            tot[key] += r.memory[key]
        tot["shootdowns"] += r.counters["shootdowns"]
    return tot


def test_two_cpus_avoid_ipis_and_send_them_for_seals():
    c = counts(2)
    assert c["faults_wp"] > 0
    assert c["ipis_avoided"] > 0 and c["ipis_sent"] > 0
    # Each IPI sent is taken on its CPU (one may still be on its way, or
    # have been sent before measurement began, at each run's ends).
    assert abs(c["shootdowns"] - c["ipis_sent"]) <= 3


def test_one_cpu_has_nothing_to_shoot_down():
    for kernel in ("up", "mp"):
        c = counts(1, kernel)
        assert c["faults_wp"] > 0                 # the table is written and sealed
        assert c["ipis_avoided"] == c["ipis_sent"] == c["shootdowns"] == 0
        assert c["stale_tlb"] == c["spurious_pde"] == 0


def test_without_the_table_nothing_is_lazy():
    c = counts(2, repl_table_pages=0)
    assert all(v == 0 for v in c.values()), c


def test_shootdowns_are_kernel_entries_of_their_own():
    r = simulate(Scenario(cpus=2, seed=0, calibrated=False))
    assert r.counters["shootdowns"] > 0
    assert r.kernel_profile.get("ipi:memory", 0) > 0
    r0 = simulate(Scenario(cpus=2, seed=0, calibrated=False,
                           overrides={"repl_table_pages": 0}))
    assert "ipi:memory" not in r0.kernel_profile


def test_table_pages_spread_over_areas():
    assert table_va(1, 4) - table_va(0, 4) == 4 << 20
    assert table_va(4, 4) - table_va(0, 4) == 4096
    with pytest.raises(ConfigError, match="repl_table_areas"):
        simulate(Scenario(cpus=2, seed=0, calibrated=False,
                          overrides={"repl_table_areas": 0}))


def test_e6_reports_the_full_runs():
    full = e6_lazy_tlb(seeds=2, cpus=(2,))
    assert set(full["build"]) == {"UP", "MP"}
    mp = full[full["build"] == "MP"]
    assert (mp["ipis_avoided"] >= 0).all() and mp["ipis_avoided"].sum() > 0
    assert (full[full["build"] == "UP"]["ipis_avoided"] == 0).all()
    # What the avoided IPIs would have cost: positive, and a small share.
    assert 0 < mp["eager_ipi_share"].mean() < 0.01
