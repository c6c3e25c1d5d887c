"""The experiment registry: every evaluation by name, in one plain table.

``reproduce experiments list|run`` and ``reproduce summary`` read it.  A new
experiment is a function (in :mod:`~reproduce.experiments.paper`,
:mod:`~reproduce.experiments.beyond` or a module of its own) plus one row
here.  Nothing registers itself when it is imported: what is listed here is
what exists, in the order ``experiments list`` shows it.
"""
from __future__ import annotations

from .beyond import (l1_lock_validation, l2_lock_scaling, l3_transfers_vs_waiters, s1_scaling,
                     s2_kernel_fraction, s3_kernel_profile, s4_theory, s5_forwarding_vs_giant,
                     s6_spinlock_kind)
from .e8 import e8_why
from .experiment import Experiment
from .paper import (e1_lock_profile, e2_sensitivity, e2_speedup, e3_mp_on_up, e4_affinity,
                    e5_priority_timeslice, e6_memory, e7_call_interval, summary_table)

_TABLE = (
    # The paper's evaluations (docs/design.md, E1-E7).
    Experiment("E1", "Lock profile, UP and SMP (Table 1)", e1_lock_profile),
    Experiment("E2", "SMP speedup and the Amdahl bound; each mechanism's share", e2_speedup),
    Experiment("E2S", "Sensitivity of the SMP prediction to spinner slow-down and tick "
               "alignment", e2_sensitivity),
    Experiment("E3", "MP kernel on one CPU vs the UP kernel", e3_mp_on_up),
    Experiment("E4", "CPU affinity on and off", e4_affinity),
    Experiment("E5", "Benchmark priority and time-slice length", e5_priority_timeslice),
    Experiment("E6", "Memory of single- and multithreaded containers", e6_memory),
    Experiment("E7", "Speedup as the kernel-call interval varies", e7_call_interval),
    # Beyond the paper: its future work and related work.
    Experiment("S1", "Beyond the paper: speedup vs CPUs (1-32) for every lock design",
               s1_scaling),
    Experiment("S2", "Beyond the paper: speedup vs kernel fraction at fixed CPUs",
               s2_kernel_fraction),
    Experiment("S3", "Beyond the paper: where kernel time goes (profile for subsystem locks)",
               s3_kernel_profile),
    Experiment("S4", "Simulator vs theory: lock bound (constant) and M/M/1//N (exponential)",
               s4_theory),
    Experiment("S5", "Master-slave and application kernel vs the giant lock (the paper's "
               "claim)", s5_forwarding_vs_giant),
    Experiment("S6", "Test-and-set vs ticket spinlocks for every lock design", s6_spinlock_kind),
    Experiment("L1", "Giant lock vs analytic lock models: M/M/1//N (free hand-off), "
               "Boyd-Wickizer et al. (ticket)", l1_lock_validation),
    Experiment("L2", "Speedup vs CPUs (1-64) for every design x spinlock algorithm on both "
               "machine classes", l2_lock_scaling),
    Experiment("L3", "Line transfers per acquisition and hand-off latency vs waiters, per "
               "algorithm", l3_transfers_vs_waiters),
    # Why the paper measured 1.2 (docs/why-1.2.md): the heavy step of `make reproduce`.
    Experiment("E8", "Why 1.2: each cause and pair fitted to the speedup, the rest predicted",
               e8_why),
)

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in _TABLE}
assert len(EXPERIMENTS) == len(_TABLE), "an experiment name is listed twice"

# The paper-vs-model table that ``reproduce summary`` prints (it runs E1-E6).
__all__ = ["EXPERIMENTS", "Experiment", "summary_table"]
