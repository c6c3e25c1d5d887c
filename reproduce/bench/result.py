"""What a run measured (:class:`Result`), and :func:`build_result`, which
reads it off the kernel and the CPUs when a run ends.  Cycle counts are of
the 300 MHz clock, counted from the start of measurement."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvariantError
from ..kernel.checks import check_accounting
from ..kernel.kernel import Kernel
from ..machine.cpu import MODE_NAMES
from .scenario import Scenario

if TYPE_CHECKING:          # imported where used: a command line that runs no
    import pandas as pd    # scenario should not pay for importing pandas


@dataclass
class Result:
    """What a run measured.  ``cycles`` is the benchmark's completion time
    (paper workload) or the horizon (synthetic), counted from the start of
    measurement; ``modes`` is per CPU the cycles in user, kernel (holding a
    lock / in the UP kernel), spin and idle, which add up to ``cycles``.

    The tables (``by_entry``, ``extra["lock_by_cpu"]``) are DataFrames made
    from their rows (``entry_rows``, ``raw_extra``) at the first look, so
    that a run whose caller reads neither (``reproduce simulate --json``)
    does not import pandas."""

    scenario: Scenario
    cycles: int
    modes: list[list[int]]
    lock: dict[str, Any]
    locks: dict[str, dict[str, Any]]
    entry_rows: list[dict[str, Any]]
    counters: dict[str, int]
    memory: dict[str, int]
    kernel_profile: dict[str, int]
    events: int
    completed: bool
    calls: int = 0
    raw_extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def by_entry(self) -> pd.DataFrame:
        """lock_stat per lock and entry point, a row each."""
        import pandas as pd
        return pd.DataFrame(self.entry_rows)

    @cached_property
    def extra(self) -> dict[str, Any]:
        """What else was measured: ``lock_by_cpu`` (lock_stat per lock and
        CPU, a DataFrame), ``warmup`` (what the warm-up did) and, for a
        recording run, ``recording``."""
        import pandas as pd
        return {k: pd.DataFrame(v) if k == "lock_by_cpu" else v for k, v in self.raw_extra.items()}

    def shares(self) -> tuple[np.ndarray, np.ndarray]:
        """The per-CPU mode fractions of elapsed cycles (CPU x mode, in
        ``MODE_NAMES`` order) and their means over the CPUs, as pandas
        computes ``fractions()`` and its column means (the same numpy
        division, the same sums over each mode's contiguous column, bit for
        bit), without pandas: a sweep summarizes thousands of runs."""
        fr = np.array(self.modes, dtype=np.int64) / max(1, self.cycles)
        return fr, fr.T.copy().sum(axis=1, dtype=np.float64) / np.float64(len(self.modes))

    def fractions(self) -> pd.DataFrame:
        """Per-CPU mode fractions of elapsed cycles (rows: CPUs)."""
        import pandas as pd
        df = pd.DataFrame(self.shares()[0], columns=list(MODE_NAMES))
        df.index.name = "cpu"
        return df

    def table1(self) -> dict[str, float]:
        """The paper's Table 1 columns, averaged over CPUs: "user" is time
        neither holding nor spinning for the lock (idle included)."""
        f = self.shares()[1]
        return {"user": float(f[0] + f[3]), "kernel": float(f[1]), "spin": float(f[2])}

    def to_dict(self) -> dict[str, Any]:
        c = max(1, self.cycles)
        return {
            "scenario": self.scenario.to_dict(),
            "cycles": self.cycles,
            "completed": self.completed,
            "cpus": [{"cpu": i, **{m: self.modes[i][j] / c for j, m in enumerate(MODE_NAMES)}}
                     for i in range(len(self.modes))],
            "lock": self.lock,
            "locks": self.locks,
            "counters": self.counters,
            "memory": self.memory,
            "kernel_profile": self.kernel_profile,
            "calls": self.calls,
            "events": self.events,
        }


def build_result(s: Scenario, k: Kernel, snap, t0: int, end: int, completed: bool) -> Result:
    """What kernel *k* measured from cycle *t0* (the start of measurement)
    to cycle *end*, from ``k.modes()`` and ``k.stats()`` only: each CPU's
    cycles per mode less *snap* (its modes at *t0*), lock_stat per lock,
    per entry point and per CPU (holds and waits still open at *end*
    counted apart), counters and memory.  *completed*: the benchmark
    finished before the run's limit.  With ``s.debug`` the kernel's
    accounts are checked first."""
    if s.debug:
        check_accounting(k)
    modes = [[a - b for a, b in zip(now, sn)] for now, sn in zip(k.modes(end), snap)]
    elapsed = end - t0
    if s.debug:
        for i, m in enumerate(modes):
            if sum(m) != elapsed:
                raise InvariantError(f"CPU {i}: modes {m} do not add up to {elapsed}")
    st = k.stats(t0, end)
    locks = st["locks"]
    extra: dict[str, Any] = {"lock_by_cpu": st["by_cpu"], "warmup": st["warmup"]}
    if k.recorder is not None:
        extra["recording"] = k.recording()
    counters = st["counters"]
    calls = sum(lock["acquisitions"] for lock in locks.values()) if locks \
        else counters["entries"]
    return Result(s, elapsed, modes, _total_lockstat(locks), locks, st["by_entry"],
                  counters, st["memory"], st["kernel_profile"], st["events"], completed, calls,
                  extra)


def _total_lockstat(locks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """lock_stat summed over all locks (for one-lock strategies: the lock)."""
    out: dict[str, Any] = {}
    for st in locks.values():
        for key, v in st.items():
            if key.endswith("_min"):
                out[key] = min(out.get(key, v), v) if v else out.get(key, 0)
            elif key.endswith("_max"):
                out[key] = max(out.get(key, 0), v)
            elif not key.endswith("_avg"):
                out[key] = out.get(key, 0) + v
    out["waittime_avg"] = out["waittime_total"] / out["contentions"] if out.get("contentions") else 0.0
    out["holdtime_avg"] = out["holdtime_total"] / out["acquisitions"] if out.get("acquisitions") else 0.0
    if not locks:
        out = {k: 0 for k in ("acquisitions", "contentions", "waittime_total", "holdtime_total")}
    return out
