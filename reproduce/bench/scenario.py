"""A scenario: everything that decides a run, checked when it is made.

A :class:`Scenario` names the machine, the kernel build and lock strategy,
the workload, parameter overrides and the seed.  This module checks it (each
field against its schema entry, the combinations, and that the run is
bounded: :func:`check_budget`) and builds the cost and workload tables it
runs with (:func:`build_params`); it runs nothing.  :func:`reproduce.bench.run.simulate`
runs a scenario and returns a :class:`reproduce.bench.result.Result`.  Same
scenario, same result, bit for bit.
"""
from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Mapping

from ..errors import ConfigError
from ..schema import Spec, convert
from ..kernel.locking import POLICIES
from ..kernel.spinlock import LOCK_KINDS
from .. import params as P

KERNELS = ("up", "mp")
WORKLOADS = ("paper", "synthetic")
DISTRIBUTIONS = ("exponential", "constant")
SWITCHES = ("background", "readyq_bounce", "kernel_data_bounce")
# Cost tables of data/params/: the paper's machine and a modern many-core.
MACHINES = ("pentium2", "modern")
MAX_CPUS = 64
# Cost-table entries zeroed by the `ideal` machine (no entry/exit or coherence cost).
IDEAL_ZERO = ("trap", "locked_rmw", "line_transfer", "memory_access", "kernel_bus_rate",
              "context_switch",
              "cr3_load", "mp_entry_overhead", "timer_insert",
              "ipi_send", "ipi_receive", "page_fault", "page_alloc", "pgdir_copy",
              "cache_refill", "rdtsc", "page_walk")


# Upper bounds that keep every run finite: cycles simulated (an hour at
# 300 MHz), and engine events, in all and per simulated millisecond (a run
# of MAX_EVENTS takes a few minutes).
MAX_HORIZON = 1_000_000_000_000
MAX_EVENTS = 20_000_000
MAX_EVENTS_PER_MS = 20_000           # on the paper's two CPUs: per CPU, half of it
MAX_EVENTS_PER_CPU_MS = MAX_EVENTS_PER_MS // 2
# The background (timer, interrupts, system threads, jobs) may ask for at
# most this many times the CPUs' cycles.  Above 1 the benchmark starves and
# the run ends at its limit, not completed (the calibration's search passes
# there); far above, the backlog of interrupts held off grows with every
# cycle simulated, and such a run only measures the backlog.
MAX_BACKGROUND_LOAD = 4.0
# A paper run that has not finished after this many times its work is cut off.
RUN_LIMIT = 40


def _f(default: Any, spec: Spec | None, help: str, option: str | None = None) -> Any:
    """A Scenario field: its default, its schema entry and its option's help
    (the command line is generated from these)."""
    return field(default=default, metadata={"spec": spec, "help": help, "option": option})


@dataclass(frozen=True)
class Scenario:
    """One run.  Cycle counts are of the 300 MHz clock.

    ``workload="paper"`` runs the benchmark beside the system threads until
    the benchmark processes finish; ``"synthetic"`` runs one thread per CPU
    alternating ``user_mean`` and ``kernel_mean`` cycles until ``horizon``.
    ``machine`` names the cost table (``data/params/<machine>.toml``: the
    paper's ``pentium2`` or a ``modern`` many-core), ``spinlock`` the lock
    algorithm (``kernel.spinlock.LOCK_KINDS``).  ``overrides`` replaces
    entries of the cost and workload tables (see ``data/params``);
    ``calibrated`` applies the fitted values of
    :mod:`reproduce.bench.calibrate` first (on the paper's machine only:
    they were fitted there).  Every field is checked when the scenario is
    made (:func:`check`): a Scenario that exists can run.
    """

    cpus: int = _f(2, Spec(int, 1, MAX_CPUS), "number of CPUs (1 with --kernel up)")
    machine: str = _f("pentium2", Spec(str, choices=MACHINES),
                      "cost table data/params/MACHINE.toml: the paper's Pentium II or a "
                      "modern many-core")
    kernel: str = _f("mp", Spec(str, choices=KERNELS), "kernel build")
    lock: str = _f("giant", Spec(str, choices=lambda: tuple(POLICIES)),
                   "lock strategy of the MP build")
    spinlock: str = _f("tas", Spec(str, choices=lambda: tuple(LOCK_KINDS)),
                       "spinlock kind of the MP build")
    workload: str = _f("paper", Spec(str, choices=WORKLOADS),
                       "the paper's benchmark, or one synthetic thread per CPU")
    user_mean: float = _f(6400.0, Spec(float, 0, MAX_HORIZON, open_lo=True, unit="cycles"),
                          "synthetic: mean user phase in cycles")
    kernel_mean: float = _f(3600.0, Spec(float, 0, MAX_HORIZON, open_lo=True, unit="cycles"),
                            "synthetic: mean kernel phase in cycles")
    distribution: str = _f("exponential", Spec(str, choices=DISTRIBUTIONS),
                           "synthetic: phase length distribution")
    ideal: bool = _f(False, Spec(bool), "ideal machine: no entry/exit, coherence or timer cost",
                     "--ideal")
    affinity: bool = _f(True, Spec(bool), "threads never migrate", "--affinity/--no-affinity")
    horizon: int = _f(30_000_000, Spec(int, 1, MAX_HORIZON, unit="cycles"),
                      "synthetic: cycles to simulate")
    seed: int = _f(0, Spec(int, 0, 2**63 - 1), "random seed")
    background: bool = _f(True, Spec(bool), "no system threads beside the benchmark",
                          "--no-background")
    readyq_bounce: bool = _f(True, Spec(bool), "ready-queue cache line costs nothing",
                             "--no-readyq-bounce")
    kernel_data_bounce: bool = _f(True, Spec(bool), "shared kernel data lines cost nothing",
                                  "--no-kernel-data-bounce")
    calibrated: bool = _f(True, Spec(bool), "use the parameter files without the fitted values",
                          "--uncalibrated")
    overrides: tuple[tuple[str, Any], ...] = _f((), None, "parameter overrides")
    debug: bool = _f(False, Spec(bool), "check the kernel's invariants while running", "--debug")

    def __post_init__(self) -> None:
        if isinstance(self.overrides, Mapping):
            items = list(self.overrides.items())
        elif isinstance(self.overrides, (tuple, list)) and all(
                isinstance(p, (tuple, list)) and len(p) == 2 for p in self.overrides):
            items = [tuple(p) for p in self.overrides]
        else:
            raise ConfigError(f"overrides={self.overrides!r}: must be a dict of "
                              "parameter=value")
        object.__setattr__(self, "overrides", _check_overrides(items))
        check(self)

    def with_(self, **kw: Any) -> "Scenario":
        """A copy with fields changed; ``overrides`` given as a dict merge."""
        unknown = set(kw) - set(_field_names())
        if unknown:
            raise ConfigError(f"unknown Scenario field {sorted(unknown)[0]!r}: valid are "
                              f"{', '.join(_field_names())}")
        ov = kw.pop("overrides", None)
        if ov is not None:
            merged = dict(self.overrides)
            try:
                merged.update(dict(ov))
            except (TypeError, ValueError):
                raise ConfigError(f"overrides={ov!r}: must be a dict of parameter=value") \
                    from None
            kw["overrides"] = tuple(sorted(merged.items()))
        return replace(self, **kw)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["overrides"] = dict(self.overrides)
        return d

    def key(self) -> str:
        """A canonical JSON string naming the scenario (for caches).  Made
        once per scenario (it is immutable): a sweep asks for it several
        times per run (deduplication, the cache's file name, its entry)."""
        k = self.__dict__.get("_key")
        if k is None:
            k = json.dumps(self.to_dict(), sort_keys=True, default=str)
            object.__setattr__(self, "_key", k)
        return k


def _checked_init(init):
    """The dataclass's ``__init__``, with an unknown field a ConfigError
    naming the valid ones (Python's would be a TypeError)."""
    @functools.wraps(init)
    def __init__(self, *args: Any, **kw: Any) -> None:
        if args:
            raise ConfigError(f"Scenario{args!r}: give the fields by name, e.g. Scenario(cpus=4)")
        unknown = set(kw) - set(Scenario.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown Scenario field {sorted(unknown)[0]!r}: valid are "
                              f"{', '.join(Scenario.__dataclass_fields__)}")
        init(self, **kw)
    return __init__


Scenario.__init__ = _checked_init(Scenario.__init__)  # type: ignore[method-assign]


def _field_names() -> list[str]:
    return [f.name for f in fields(Scenario)]


def field_spec(name: str) -> Spec | None:
    """The schema entry of Scenario field *name* (None for overrides)."""
    f = Scenario.__dataclass_fields__.get(name)
    if f is None:
        raise ConfigError(f"unknown Scenario field {name!r}: valid are "
                          f"{', '.join(_field_names())}")
    return spec_of(f)


def spec_of(f) -> Spec | None:
    """A field's schema entry: its metadata's, or for a field declared
    without one, its default's kind (numbers from 0 to 10^9)."""
    if "spec" in f.metadata:
        return f.metadata["spec"]
    d = f.default
    if isinstance(d, bool):
        return Spec(bool)
    if isinstance(d, (int, float)):
        return Spec(type(d), 0, 1_000_000_000)
    if isinstance(d, str):
        return Spec(str)
    return None


# Parameters a Scenario field sets: an override of them would be ignored.
SET_BY_FIELD = {"cpus": "cpus (--cpus)", "affinity": "affinity (--affinity/--no-affinity)"}
# Fields that mean nothing for a build or a workload: a value other than the
# default there is a conflict, not something to ignore silently.
UP_IGNORES = ("lock", "spinlock")
PAPER_IGNORES = ("user_mean", "kernel_mean", "distribution", "horizon")
SYNTHETIC_IGNORES = ("background",)


def _check_overrides(items: list) -> tuple[tuple[str, Any], ...]:
    """The overrides, each converted to its parameter's kind and checked
    against its range, sorted by name."""
    costs, work = read_table("pentium2"), read_table("workload")
    out = {}
    for key, value in items:
        if not isinstance(key, str):
            raise ConfigError(f"overrides: key {key!r} must be a parameter name")
        if key in SET_BY_FIELD:
            raise ConfigError(f"overrides: parameter {key!r} is set by the Scenario field "
                              f"{SET_BY_FIELD[key]}, not by an override")
        table = costs if key in costs else work if key in work else None
        if table is None:
            raise ConfigError(f"unknown parameter(s) {key}: known are "
                              f"{', '.join(sorted((set(costs) | set(work)) - set(SET_BY_FIELD)))}")
        if key in out:
            raise ConfigError(f"overrides: parameter {key!r} given twice")
        out[key] = P.coerce(key, table[key], value)
    return tuple(sorted(out.items()))


def check(s: Scenario) -> None:
    """Check every field against its schema entry, then the combinations
    (a build or workload given an option it ignores is a conflict), then
    that the run is bounded (:func:`check_budget`); raise ConfigError naming
    the first bad one."""
    d = Scenario.__dataclass_fields__
    for name, f in d.items():
        spec = spec_of(f)
        if spec is None:
            continue
        v = getattr(s, name)
        if spec.kind is float and isinstance(v, int) and not isinstance(v, bool):
            object.__setattr__(s, name, float(v))     # 6400 names the same run as 6400.0
            v = float(v)
        ok = convert(name, spec, v)
        if type(ok) is not type(v) or ok != v:
            raise ConfigError(f"{name}={v!r}: must be {spec.allowed()}")
    if s.kernel == "up" and s.cpus != 1:
        raise ConfigError(f"kernel='up' with cpus={s.cpus}: the UP kernel runs on 1 CPU")
    for cond, names, what in ((s.kernel == "up", UP_IGNORES, "kernel='up' (no lock)"),
                              (s.workload == "paper", PAPER_IGNORES,
                               "workload='paper' (it runs until the benchmark finishes)"),
                              (s.workload == "synthetic", SYNTHETIC_IGNORES,
                               "workload='synthetic' (one thread per CPU, no system threads)")):
        if cond:
            for name in names:
                if getattr(s, name) != d[name].default:
                    raise ConfigError(f"{name}={getattr(s, name)!r} conflicts with {what}: "
                                      f"it would be ignored; leave {name} at its default "
                                      f"{d[name].default!r}")
    # The tables and the budget depend on these fields and the files only:
    # checked once per combination (a grid of seeds makes the same one).
    key = (s.overrides.__repr__(), s.cpus, s.affinity, s.ideal, s.workload, s.background,
           s.horizon, s.user_mean, s.kernel_mean, s.machine, _stamp(s.machine),
           _stamp("workload"))
    if key not in _BUDGET_OK:
        costs, work = _tables(s, {})
        check_params(costs, work)
        check_budget(s, costs, work)
        if len(_BUDGET_OK) > 4096:
            _BUDGET_OK.clear()
        _BUDGET_OK.add(key)


_BUDGET_OK: set[tuple] = set()


def _stamp(name: str) -> tuple[int, int] | None:
    hit = _TABLES.get(name)
    return hit[0] if hit is not None else None


_TABLES: dict[str, tuple[tuple[int, int], P.Params]] = {}


def read_table(name: str) -> P.Params:
    """``params.load(name)``, parsed once per process for as long as the
    file is unchanged (same modification time and size): a sweep simulates
    thousands of scenarios, and tables are read-only."""
    P.check_dir()                    # a stray file is an error even after the first read
    try:
        st = (P.PARAMS_DIR / f"{name}.toml").stat()
    except OSError:
        return P.load(name)          # which names the missing file
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _TABLES.get(name)
    if hit is None or hit[0] != stamp:
        hit = _TABLES[name] = (stamp, P.load(name))
    return hit[1]


def _tables(s: Scenario, fitted: Mapping[str, Any]) -> tuple[P.Params, P.Params]:
    """The cost and workload tables: files, then *fitted*, then the ideal
    machine, then the scenario's overrides and fields."""
    costs = read_table(s.machine)
    work = read_table("workload")
    ov = dict(fitted)
    if s.ideal:
        ov.update({k: 0 for k in IDEAL_ZERO})
        ov["timer_hz"] = 0
        ov["readyq_lines"] = 0
        ov["kernel_shared_lines"] = 0
    ov.update(dict(s.overrides))
    ov["affinity"] = s.affinity
    ov["cpus"] = s.cpus
    cost_ov = {k: v for k, v in ov.items() if k in costs}
    work_ov = {k: v for k, v in ov.items() if k in work}
    return costs.replace(**cost_ov), work.replace(**work_ov)


def build_params(s: Scenario) -> tuple[P.Params, P.Params]:
    """The cost and workload tables for *s*: files, then calibration, then
    the ideal machine, then the scenario's overrides."""
    fitted: dict[str, Any] = {}
    if s.calibrated and s.machine == "pentium2":
        from .calibration import calibration
        fitted = calibration()          # fitted on the paper's machine only
    costs, work = _tables(s, fitted)
    check_params(costs, work)
    check_budget(s, costs, work)
    return costs, work


# The ranges of the parameter tables' entries (kept with the tables).
RANGES = P.RANGES


def check_params(*tables: P.Params) -> None:
    """The combinations of entries a range cannot check: the timer leaves
    the CPUs time between ticks, periods are whole.  (Each entry's kind and
    range are checked when a table is read or overridden.)  Raises
    ConfigError naming the entries."""
    t: dict[str, Any] = {}
    for table in tables:
        t.update(table)
    hz, timer = t.get("clock_hz"), t.get("timer_hz")
    if hz and timer:
        period = hz // timer
        # The tick handler must leave most of each tick to the threads, or
        # the CPUs do nothing but take ticks (clock_hz=150 made a tick of 1
        # cycle; timer_hz=100000 one shorter than its handler).
        if period < 10 * max(1, t.get("tick_cycles", 0)):
            raise ConfigError(f"parameter timer_hz={timer} with clock_hz={hz}: a tick of "
                              f"{period} cycles leaves no time beside its handler "
                              f"(tick_cycles={t.get('tick_cycles')}); the tick must be at "
                              f"least 10 x tick_cycles: timer_hz <= "
                              f"{hz // (10 * max(1, t.get('tick_cycles', 0)))}")


def background_load(s: Scenario, c: Mapping[str, Any], w: Mapping[str, Any]) -> float:
    """The share of the CPUs' cycles the background asks for on average
    (timer handler, device interrupts, system threads and jobs): if it is
    near 1, the benchmark cannot finish.  An estimate from the means."""
    hz, timer, cpus = c["clock_hz"], w["timer_hz"], s.cpus
    if not timer:
        return 0.0
    load = w["tick_cycles"] * timer / hz            # each CPU takes every tick
    if s.workload != "paper" or not s.background:
        return load
    kcyc, ucyc = w["bg_kernel_cycles"], w["bg_user_cycles"]
    load += w["irq_hz"] * kcyc * w["irq_cycles_ratio"] / (hz * cpus)
    for rate, cycles in _background_rates(w):
        load += rate * cycles / (hz * cpus)
    return load


def _background_rates(w: Mapping[str, Any]) -> list[tuple[float, float]]:
    """(events per second, cycles each) of the system threads' calls and of
    the jobs (with their page faults)."""
    from .workload import ticks_of
    timer = w["timer_hz"]
    nactive = int(round(w["threads"] * w["active_fraction"]))
    periods = [ticks_of(ms, w) for ms in w["period_ms"]]
    wakeups = sum(timer / periods[i % len(periods)] for i in range(nactive))
    per_call = w["bg_kernel_cycles"] + w["bg_user_cycles"]
    job = 2 * per_call + (w["spawn_pages"] + 1) * (w["bg_user_cycles"] + 2000)
    return [(wakeups * w["calls_per_wakeup"], per_call), (w["spawn_hz"], job)]


def up_run_estimate(s: Scenario, c: Mapping[str, Any], w: Mapping[str, Any]) -> float:
    """Cycles the UP kernel would take for the benchmark beside the
    background as a rate in time, from the means: the benchmark's work over
    the share of one CPU the background leaves it."""
    load = background_load(s.with_(cpus=1, kernel="up"), c, w)
    return processes(s, w) * int(w["work_cycles"]) / max(0.05, 1.0 - load)


def event_rate(s: Scenario, c: Mapping[str, Any], w: Mapping[str, Any]) -> float:
    """Engine events per simulated millisecond, estimated from the means
    (each kernel entry and each user run is an event or two)."""
    hz, timer, cpus = c["clock_hz"], w["timer_hz"], s.cpus
    per_s = 2.0 * timer * cpus
    if s.workload == "synthetic":
        per_s += 2.0 * cpus * hz / (s.user_mean + s.kernel_mean)
    elif s.background and timer:
        per_s += 2.0 * w["irq_hz"]
        for rate, _ in _background_rates(w):
            per_s += 2.0 * rate * (1 + w["spawn_pages"])
        calls = int(w["call_every"])
        if calls:
            per_s += 2.0 * cpus * hz / (calls * int(w["iteration_cycles"]))
    return per_s / 1000.0


def run_cycles(s: Scenario, w: Mapping[str, Any]) -> int:
    """The most cycles the run can simulate: the horizon, or the paper
    run's limit."""
    if s.workload == "synthetic":
        return s.horizon
    return RUN_LIMIT * int(w["work_cycles"]) * processes(s, w)


def processes(s: Scenario, w: Mapping[str, Any]) -> int:
    """Benchmark processes: the ``processes`` parameter, or (0) one per CPU
    and at least two (the paper ran two, on UP and on two CPUs)."""
    return int(w["processes"]) or max(2, s.cpus)


def check_budget(s: Scenario, c: Mapping[str, Any], w: Mapping[str, Any]) -> None:
    """Refuse a run that cannot finish or would not fit: the background
    leaves the benchmark no time, too many cycles, or too many events (in
    all, or per simulated ms).  Raises ConfigError saying which and why."""
    load = background_load(s, c, w)
    if load > MAX_BACKGROUND_LOAD:
        raise ConfigError(f"the background (timer, interrupts, system threads, jobs) would "
                          f"take {100 * load:.0f} % of the CPUs, more than "
                          f"{100 * MAX_BACKGROUND_LOAD:.0f} %: the benchmark could never "
                          "finish; lower irq_hz, spawn_hz, threads, calls_per_wakeup or "
                          "bg_kernel_cycles, or raise cpus")
    cycles = run_cycles(s, w)
    if cycles > MAX_HORIZON:
        raise ConfigError(f"the run could last {cycles} cycles (work_cycles x processes x "
                          f"{RUN_LIMIT}), more than {MAX_HORIZON}: lower work_cycles")
    rate = event_rate(s, c, w)
    # Per CPU: 64 CPUs of a 2.4 GHz machine make many events per ms between
    # them, each CPU few; what is pathological is a CPU that does nothing
    # but take events.
    if rate / s.cpus > MAX_EVENTS_PER_CPU_MS:
        raise ConfigError(f"about {rate / s.cpus:.0f} events per simulated ms per CPU, more "
                          f"than {MAX_EVENTS_PER_CPU_MS}: phases or periods too short for a "
                          "run that finishes (raise user_mean/kernel_mean, lower the rates)")
    events = rate * 1000.0 * cycles / c["clock_hz"]
    if events > MAX_EVENTS:
        raise ConfigError(f"about {events:.3g} events to simulate, more than {MAX_EVENTS:.3g}: "
                          "a shorter horizon (or work_cycles), or longer phases")
