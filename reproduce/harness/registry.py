"""The experiment registry: every evaluation by name.

An :class:`Experiment` is a named function of a few parameters (seeds, CPUs,
...) that returns tidy DataFrames; ``reproduce experiments run NAME -p k=v``
and the notebooks find it here.  The paper's evaluations register in
:mod:`~reproduce.harness.paper`, the beyond-the-paper ones in
:mod:`~reproduce.harness.beyond`; a new one is a function plus one
:func:`register` call.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import pandas as pd

from ..errors import ConfigError

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
            default = allowed[k]
            if isinstance(default, tuple) and not isinstance(v, tuple):
                params[k] = tuple(v) if isinstance(v, list) else (v,)
            elif isinstance(default, int) and not isinstance(v, int):
                raise ConfigError(f"{self.name} parameter {k}={v!r}: must be an integer")
        return self.fn(**params)



EXPERIMENTS: dict[str, Experiment] = {}


def register(name: str, title: str, fn: Callable[..., Any]) -> Experiment:
    """Add *fn* to the registry under *name* (a name may be registered once)."""
    if name in EXPERIMENTS and EXPERIMENTS[name].fn is not fn:
        raise ConfigError(f"experiment {name!r} is registered twice")
    e = EXPERIMENTS[name] = Experiment(name, title, fn)
    return e
