"""Every experiment, under one name for notebooks and the command line.

The paper's evaluations are in :mod:`~reproduce.harness.paper`, the
beyond-the-paper ones in :mod:`~reproduce.harness.beyond`, the registry in
:mod:`~reproduce.harness.registry`; this module re-exports all three, so a
notebook writes ``from reproduce.harness import experiments as E`` and
``E.e2_speedup(...)``, ``E.s1_scaling(...)``, ``E.EXPERIMENTS``.
"""
from __future__ import annotations

from .beyond import *  # noqa: F401,F403
from .beyond import DESIGNS, LOCK_DESIGNS, SCALING_CPUS  # noqa: F401
from .paper import *  # noqa: F401,F403
from .paper import (SEEDS, STATUSES, headline, paper_claims, paper_range,  # noqa: F401
                    paper_table1, summary_table, table1_comparison)
from . import e8  # noqa: F401  (registers E8)
from .registry import EXPERIMENTS, Experiment, register  # noqa: F401
