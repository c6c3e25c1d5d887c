"""Runs named by what they are, not by where they sit in a table.

An experiment names each scenario it needs by a key of its own (a seed, a
variant, a design and a CPU count...), runs them all in one
:func:`~reproduce.bench.sweep.sweep`, and gets each key's row back by
*joining on the scenario columns* of the sweep's table: the row for a key is
the one whose scenario fields equal that scenario's.  Nothing depends on the
order of rows, and a row that answers another scenario cannot be taken for
this one (a missing or ambiguous match is an error, not a silent shift).
"""
from __future__ import annotations

import json
from typing import Any, Hashable, Mapping, TypeVar

import pandas as pd

from ..errors import InvariantError
from .scenario import Scenario
from .sweep import normalize_row, scenario_row, sweep

K = TypeVar("K", bound=Hashable)


def scenario_key(fields: Mapping[str, Any]) -> str:
    """Canonical text of a row's scenario columns (JSON-normalized, so a
    row read back from the cache matches a freshly computed one)."""
    return json.dumps(normalize_row(dict(fields)), sort_keys=True)


def join(df: pd.DataFrame, keyed: Mapping[K, Scenario]) -> dict[K, pd.Series]:
    """Each key's row of *df*, matched on the scenario columns."""
    if not keyed:
        return {}
    cols = list(scenario_row(next(iter(keyed.values()))))
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InvariantError(f"sweep table lacks scenario column(s) {', '.join(missing)}")
    index: dict[str, pd.Series] = {}
    for _, row in df.iterrows():
        index.setdefault(scenario_key({c: row[c] for c in cols}), row)
    out = {}
    for k, s in keyed.items():
        row = index.get(scenario_key(scenario_row(s)))
        if row is None:
            raise InvariantError(f"no row of the sweep answers scenario {k!r}: {s.key()}")
        out[k] = row
    return out


def run(keyed: Mapping[K, Scenario], *, progress: bool = False,
        desc: str = "scenarios") -> dict[K, pd.Series]:
    """Run every scenario of *keyed* (one sweep, through the result cache)
    and return each key's row."""
    df = sweep(list(keyed.values()), progress=progress, desc=desc)
    return join(df, keyed)
