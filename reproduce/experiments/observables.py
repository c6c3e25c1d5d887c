"""Observables computed from whole runs, the model's and the paper's alike.

**Kernel work SMP / UP.**  The kernel cycles of the whole run, on all CPUs,
over the UP run's.  From the paper's numbers: two CPUs at 20-22 % kernel over
1/1.2 of the UP time, against UP's 36 % of it: about 0.97, kernel work is
conserved.  A model whose background is a rate in time does half of it on
two CPUs (its run is half as long), which is also how it beats the lock's own
bound of 2.  The ratio is of absolute cycles: a ratio of kernel *shares*
(per-cycle rates) would hide exactly that.

**What "user" holds.**  The paper's "User-mode" column is every cycle
neither holding nor spinning for the lock: the benchmark's own progress,
idle time, and other user work (system threads' user code).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd


def kernel_cycles(kernel_share: float | np.ndarray, cycles: float | np.ndarray,
                  cpus: int | np.ndarray) -> np.ndarray:
    """Kernel cycles of a whole run on all CPUs: the mean kernel share per
    CPU times the run's cycles times the CPUs."""
    return np.asarray(kernel_share, dtype=float) * np.asarray(cycles, dtype=float) \
        * np.asarray(cpus, dtype=float)


def kernel_work_ratio(up: pd.DataFrame, smp: pd.DataFrame) -> np.ndarray:
    """Per seed, the SMP run's kernel cycles (all CPUs) over the UP run's,
    from sweep rows (``kernel``: mean share per CPU, ``cycles``, ``cpus``),
    paired in order."""
    return kernel_cycles(smp["kernel"], smp["cycles"], smp["cpus"]) / \
        kernel_cycles(up["kernel"], up["cycles"], up["cpus"])


def paper_kernel_work_ratio(table1: pd.DataFrame, claims: pd.DataFrame) -> tuple[float, float]:
    """The paper's kernel work SMP / UP as a range (lo, hi): 2 CPUs x SMP
    kernel share / speedup / UP kernel share, the ends of each range taken
    to give the widest interval."""
    t = table1.set_index("kernel")
    sp = claims.loc["smp_speedup"]
    lo = 2 * t.loc["SMP", "kernel_lo"] / (float(sp["hi"]) * t.loc["UP", "kernel_hi"])
    hi = 2 * t.loc["SMP", "kernel_hi"] / (float(sp["lo"]) * t.loc["UP", "kernel_lo"])
    return float(lo), float(hi)


def user_split(rows: pd.DataFrame | Mapping) -> dict[str, np.ndarray]:
    """The paper's "user" column of sweep rows, split per CPU (shares of the
    run): the benchmark's own user cycles, idle, and other user work."""
    cycles = np.asarray(rows["cycles"], dtype=float) * np.asarray(rows["cpus"], dtype=float)
    bench = np.asarray(rows["bench_user_cycles"], dtype=float) / cycles
    idle = np.asarray(rows["idle"], dtype=float)
    other = np.asarray(rows["user_only"], dtype=float) - bench
    return {"benchmark": bench, "idle": idle, "other user": other}
