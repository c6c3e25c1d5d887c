"""The experiments: what the notebooks and ``reproduce experiments`` run.

* :mod:`~reproduce.experiments.paper`: the paper's evaluations E1 to E7 and
  the paper-vs-model summary;
* :mod:`~reproduce.experiments.beyond`: beyond the paper, S1 to S6 and L1 to L3;
* :mod:`~reproduce.experiments.e8`: why the paper measured 1.2 (E8);
* :mod:`~reproduce.experiments.registry`: every one of them by name;
  :mod:`~reproduce.experiments.experiment`: what an experiment is.

A notebook writes ``from reproduce import experiments as E`` and calls
``E.e2_speedup(...)``: the functions below are the experiments of
:mod:`paper` and :mod:`beyond` and the paper's tables they are compared with.
Importing this package runs nothing and registers nothing.
"""
from __future__ import annotations

from .beyond import (DESIGNS, LOCK_DESIGNS, SCALING_CPUS, l1_lock_validation, l2_lock_scaling,
                     l3_transfers_vs_waiters, s1_scaling, s2_kernel_fraction, s3_kernel_profile,
                     s4_theory, s5_forwarding_vs_giant, s6_spinlock_kind)
from .observables import kernel_work_ratio, paper_kernel_work_ratio, user_split
from .paper import (SEEDS, STATUSES, e1_irq_routing, e1_lock_profile, e2_sensitivity,
                    e2_speedup, e3_mp_on_up, e4_affinity, e5_priority_timeslice, e6_cpulocal,
                    e6_lazy_tlb, e6_memory, e7_call_interval, paper_claims, paper_range, paper_table1, summary_table,
                    table1_comparison)

__all__ = ["DESIGNS", "LOCK_DESIGNS", "SCALING_CPUS", "SEEDS", "STATUSES",
           "e1_irq_routing", "e1_lock_profile", "e2_sensitivity", "e2_speedup", "e3_mp_on_up",
           "e4_affinity", "e5_priority_timeslice", "e6_cpulocal", "e6_lazy_tlb", "e6_memory",
           "e7_call_interval",
           "l1_lock_validation", "l2_lock_scaling", "l3_transfers_vs_waiters",
           "kernel_work_ratio", "paper_kernel_work_ratio", "user_split",
           "paper_claims", "paper_range", "paper_table1", "s1_scaling", "s2_kernel_fraction",
           "s3_kernel_profile", "s4_theory", "s5_forwarding_vs_giant", "s6_spinlock_kind",
           "summary_table", "table1_comparison"]
