"""What a run measured (:class:`Result`), and :func:`build_result`, which
reads it off the kernel and the CPUs when a run ends.  Cycle counts are of
the 300 MHz clock, counted from the start of measurement."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..kernel.kernel import Kernel
from ..machine.cpu import KERNEL, MODE_NAMES
from .scenario import Scenario

if TYPE_CHECKING:          # imported where used: a command line that runs no
    import pandas as pd    # scenario should not pay for importing pandas


@dataclass
class Result:
    """What a run measured.  ``cycles`` is the benchmark's completion time
    (paper workload) or the horizon (synthetic), counted from the start of
    measurement; ``modes`` is per CPU the cycles in user, kernel (holding a
    lock / in the UP kernel), spin and idle, which add up to ``cycles``."""

    scenario: Scenario
    cycles: int
    modes: list[list[int]]
    lock: dict[str, Any]
    locks: dict[str, dict[str, Any]]
    by_entry: pd.DataFrame
    counters: dict[str, int]
    memory: dict[str, int]
    kernel_profile: dict[str, int]
    events: int
    completed: bool
    calls: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def fractions(self) -> pd.DataFrame:
        """Per-CPU mode fractions of elapsed cycles (rows: CPUs)."""
        import pandas as pd
        df = pd.DataFrame(self.modes, columns=list(MODE_NAMES)) / max(1, self.cycles)
        df.index.name = "cpu"
        return df

    def table1(self) -> dict[str, float]:
        """The paper's Table 1 columns, averaged over CPUs: "user" is time
        neither holding nor spinning for the lock (idle included)."""
        f = self.fractions().mean()
        return {"user": float(f["user"] + f["idle"]), "kernel": float(f["kernel"]),
                "spin": float(f["spin"])}

    def to_dict(self) -> dict[str, Any]:
        fr = self.fractions()
        return {
            "scenario": self.scenario.to_dict(),
            "cycles": self.cycles,
            "completed": self.completed,
            "cpus": [{"cpu": i, **{m: float(fr.loc[i, m]) for m in MODE_NAMES}}
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
    to cycle *end*: each CPU's cycles per mode less *snap* (its account at
    *t0*), lock_stat per lock, per entry point and per CPU (holds and waits
    still open at *end* counted apart), counters and memory.  *completed*:
    the benchmark finished before the run's limit.  With ``s.debug`` the
    kernel's accounts are checked first."""
    import pandas as pd
    if s.debug:
        k.check_accounting()
    modes = [[a - b for a, b in zip(c.cpu.account(end), sn)] for c, sn in zip(k.cores, snap)]
    elapsed = end - t0
    if s.debug:
        for i, m in enumerate(modes):
            if sum(m) != elapsed:
                from ..kernel.kernel import InvariantError
                raise InvariantError(f"CPU {i}: modes {m} do not add up to {elapsed}")
    locks = {l.name: l.stat.as_dict() for l in k.policy.locks}
    for l in k.policy.locks:
        locks[l.name]["bounces"] = l.line.bounces
        locks[l.name]["transfers"] = l.transfers        # all its lines, spinners' included
        locks[l.name]["bus_transactions"] = l.transactions + l.spin_transfers
        locks[l.name]["bus_stall_cycles"] = l.stall_cycles
        locks[l.name]["idle_cycles"] = l.idle_cycles
        locks[l.name].update(_in_progress(k, l, t0, end))
    rows = []
    for l in k.policy.locks:
        for entry, st in sorted(l.by_entry.items()):
            rows.append({"lock": l.name, "entry": entry, **st.as_dict()})
    by_entry = pd.DataFrame(rows)
    cpu_rows = []
    for l in k.policy.locks:
        for cpu, st in sorted(l.by_cpu.items()):
            cpu_rows.append({"lock": l.name, "cpu": cpu, **st.as_dict()})
    extra = {"lock_by_cpu": pd.DataFrame(cpu_rows),
             "warmup": {"cycles": t0, **k.warmup}}
    total = _total_lockstat(locks)
    memory = {"frames_in_use": k.mem.in_use, "frames_peak": k.mem.peak}
    if k.mm is not None:
        memory.update({key: v for key, v in k.mm.stats().items() if isinstance(v, (int, float))})
    readyq_bounces = sum(lines.bounces for lines in k.readyq.lines)
    counters = dict(k.counters)
    counters["readyq_bounces"] = readyq_bounces
    for c in k.cores:
        counters[f"irqs_cpu{c.id}"] = c.irqs
    # The benchmark's own user-mode cycles (wall cycles in user mode: a loop
    # slowed by the bus takes more of them than its solo work).
    counters["bench_user_cycles"] = sum(t.user_cycles for t in k.threads
                                        if t.process.kind == "benchmark")
    calls = sum(st.acquisitions for l in k.policy.locks for st in [l.stat]) \
        if k.policy.locks else counters["entries"]
    return Result(s, elapsed, modes, total, locks, by_entry, counters, memory,
                  dict(sorted(k.kcycles.items())), k.engine.events, completed, calls, extra)


def _in_progress(k: Kernel, lock, t0: int, end: int) -> dict[str, int]:
    """The holds and waits of *lock* still open when the run ended: lock_stat
    counts an interval at its end, so without these a run whose last kernel
    path outlives it reports less hold and spin time than the CPUs' modes
    (one run showed 0 acquisitions while a CPU held the lock 99 % of the
    time).  Counted apart, in cycles after the measurement began (*t0*)."""
    out = {"holds_in_progress": 0, "holdtime_in_progress": 0,
           "waits_in_progress": 0, "waittime_in_progress": 0}
    for core in k.cores:
        if core.lock is not lock:
            continue
        off = core.cpu.tsc_offset
        holding = lock.holder == core.id and core.acq_tsc >= core.req_tsc \
            and core.cpu.mode == KERNEL
        if holding:
            out["holds_in_progress"] += 1
            out["holdtime_in_progress"] += end - max(t0, core.acq_tsc - off)
        elif core.id in lock.waiters or lock.holder == core.id:   # spinning, or in hand-off
            out["waits_in_progress"] += 1
            out["waittime_in_progress"] += end - max(t0, core.req_tsc - off)
    return out


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
