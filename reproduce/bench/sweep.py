"""Sweeps: a grid of scenarios in, a tidy DataFrame out (one row a run).

Every notebook and experiment runs its simulations through :func:`sweep`.
Each row holds the scenario's fields and :func:`summarize` of its result.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any, Iterable

import pandas as pd
from tqdm.auto import tqdm

from .scenario import Result, Scenario, simulate


def summarize(r: Result) -> dict[str, Any]:
    """One flat row of what a run measured: cycles, mean mode fractions
    (``user`` is the paper's column: user + idle), per-CPU fractions,
    lock_stat totals, counters and memory."""
    fr = r.fractions()
    t1 = r.table1()
    row: dict[str, Any] = {
        "cycles": r.cycles, "completed": r.completed, "events": r.events, "calls": r.calls,
        "user": t1["user"], "kernel": t1["kernel"], "spin": t1["spin"],
        "user_only": float(fr["user"].mean()), "idle": float(fr["idle"].mean()),
    }
    for i in fr.index:
        for m in fr.columns:
            row[f"cpu{i}_{m}"] = float(fr.loc[i, m])
    for k, v in r.lock.items():
        row[f"lock_{k}"] = v
    for k, v in r.counters.items():
        row[k] = v
    for k, v in r.memory.items():
        row[f"mem_{k}"] = v
    return row


def scenario_row(s: Scenario) -> dict[str, Any]:
    """The scenario's fields as columns (the build is called ``build``)."""
    d = {f.name: getattr(s, f.name) for f in fields(Scenario) if f.name != "overrides"}
    d["overrides"] = ",".join(f"{k}={v}" for k, v in s.overrides)
    d["build"] = d.pop("kernel")     # "kernel" is the measured column
    return d


def run_one(s: Scenario) -> dict[str, Any]:
    """Simulate *s*; return its scenario fields and summary as one row."""
    return {**scenario_row(s), **summarize(simulate(s))}


def sweep(scenarios: Iterable[Scenario], *, progress: bool = False,
          desc: str = "scenarios") -> pd.DataFrame:
    """Run every scenario; one row each, in the order given."""
    scenarios = list(scenarios)
    rows = [run_one(s) for s in tqdm(scenarios, desc=desc, disable=not progress)]
    return pd.DataFrame(rows)
