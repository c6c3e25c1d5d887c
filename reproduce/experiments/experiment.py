"""An experiment: a named evaluation, and the schema of its parameters.

An :class:`Experiment` is a named function of a few parameters (seeds, CPUs,
...) that returns tidy DataFrames; ``reproduce experiments run NAME -p k=v``
and the notebooks find it by name in :data:`reproduce.experiments.registry.EXPERIMENTS`.
Each parameter is converted and checked (:func:`convert_param`) before
anything runs.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import pandas as pd

from ..errors import ConfigError
from ..kernel.locking import POLICIES
from ..kernel.spinlock import LOCK_KINDS
from ..bench.scenario import Scenario
from ..schema import Spec, convert


@dataclass(frozen=True)
class Experiment:
    """A named evaluation: ``run(**params)`` returns its table(s)."""

    name: str
    title: str
    fn: Callable[..., Any]

    @property
    def params(self) -> dict[str, Any]:
        sig = inspect.signature(self.fn)
        return {k: p.default for k, p in sig.parameters.items() if k != "progress"}

    def run(self, **params: Any) -> pd.DataFrame | dict[str, pd.DataFrame]:
        allowed = self.params
        for k in params:
            if k not in allowed:
                raise ConfigError(f"experiment {self.name} has no parameter {k!r}: valid are "
                                  f"{', '.join(allowed) or '(none)'}")
        for k, v in list(params.items()):
            params[k] = convert_param(self.name, k, allowed[k], v)
        # All the sweeps of one experiment compute with one snapshot of the
        # model and its tables: an edit while it runs is an error, never a
        # table of mixed rows.
        from ..bench.snapshot import pinned
        with pinned():
            return self.fn(**params)


# Experiment parameters that are neither Scenario fields nor table entries
# (those take their schema entry from there): each with its range.
PARAM_SPECS: dict[str, Spec] = {
    "seeds": Spec(int, 1, 100), "seed": Spec(int, 0, 2**63 - 1), "max_cpus": Spec(int, 1, 32),
    "timeslices": Spec(int, 1, 1000, unit="ticks"), "priority": Spec(int, -100, 100),
    "intervals": Spec(int, 0, 1_000_000_000, unit="iterations between calls"),
    "designs": Spec(str, choices=lambda: tuple(POLICIES)),
    "spinlocks": Spec(str, choices=lambda: tuple(LOCK_KINDS)),
    "workload": Spec(str, choices=("paper", "synthetic", "both")),
    "fractions": Spec(float, 0, 1, open_lo=True), "phase_cycles": Spec(int, 1, 1_000_000_000),
    "kernel_bus_rate": Spec(float, 0, 1), "cpus": Spec(int, 1, 64),
    "machines": Spec(str, choices=("pentium2", "modern")),
    "machine": Spec(str, choices=("pentium2", "modern")),
}


def param_spec(key: str, default: Any) -> Spec:
    """The schema entry of experiment parameter *key* (default *default*):
    PARAM_SPECS, else the Scenario field, else the parameter table's entry;
    a tuple default makes it a list."""
    from ..bench.scenario import field_spec, read_table
    from .. import params as P
    items = isinstance(default, (tuple, list))
    sample = (default[0] if default else None) if items else default
    spec = PARAM_SPECS.get(key)
    if spec is None and key in Scenario.__dataclass_fields__ and key != "overrides":
        spec = field_spec(key)
    if spec is None:
        for t in ("pentium2", "workload"):
            if key in read_table(t):
                spec = P.spec(key, read_table(t)[key])
    if spec is None:
        kind = type(sample) if isinstance(sample, (bool, int, float, str)) else str
        spec = Spec(kind, *(P.DEFAULT_RANGE if kind in (int, float) else (None, None)))
    return replace(spec, items=items)


def convert_param(name: str, key: str, default: Any, value: Any) -> Any:
    """Experiment *name*'s parameter *key* as its schema says (a tuple for a
    list parameter), or a ConfigError naming it before anything runs."""
    v = convert(f"{name} parameter {key}", param_spec(key, default), value)
    return tuple(v) if isinstance(default, (tuple, list)) else v
