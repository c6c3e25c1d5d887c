"""Sweeps: a grid of scenarios in, a tidy DataFrame out (one row a run).

Every notebook and experiment runs its simulations through :func:`sweep`.
Each row holds the scenario's fields and :func:`summarize` of its result.

:func:`sweep` looks every scenario up in the result cache
(:mod:`reproduce.bench.cache`) first and simulates only the ones missing,
each once (a scenario listed twice is run once), storing each row as soon as
it is finished: an interrupted sweep resumes where it stopped.  The missing
scenarios run

* in this process (``workers=1``, or fewer than :data:`MIN_PARALLEL` of them),
* on a pool of worker processes, one per core by default (``workers=None``),
* or on a Dask cluster (``scheduler=`` an address or a ``distributed.Client``).

:func:`grid` builds the scenarios of a sweep: the cartesian product of
values of Scenario fields, e.g. ``sweep(grid(lock=["giant", "fine"],
cpus=[2, 8], seed=range(5)))``.

Every row is computed from one snapshot of the model version and parameter
tables, taken when the sweep starts (or pinned by the experiment it belongs
to) and checked by each run wherever it runs
(:mod:`reproduce.bench.snapshot`): a table edited while the sweep runs
gives the rows of the tables as they were, or an error naming the file,
never a mix; the cache stores each row with the tables' digest.

Rows are the same whichever way they were computed: a run is deterministic,
rows are assembled in the order of the scenarios given, and every row goes
through JSON (the cache's format) before it is returned, so a row read from
the cache and one just computed are equal, value for value and type for type.
"""
from __future__ import annotations

import itertools
import json
import math
import signal
import multiprocessing
import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

if TYPE_CHECKING:                  # pandas and tqdm are imported in sweep():
    import pandas as pd            # the command line imports this module to
                                   # build a grid, and pandas costs 0.4 s

from ..errors import ConfigError
from . import snapshot as _snapshot
from .cache import ResultCache
from ..machine.cpu import MODE_NAMES
from .result import Result
from .run import simulate
from .scenario import Scenario

# Below this many scenarios to compute, a process pool costs more than it saves.
MIN_PARALLEL = 4
# The most scenarios one sweep may have: the grid is checked before it is
# built (seed=0:100000000 would take gigabytes before running anything).
MAX_GRID = 100_000


def grid(base: Scenario | None = None, **axes: Any) -> list[Scenario]:
    """The scenarios of a sweep: the cartesian product of *axes* applied to
    *base* (default ``Scenario()``) with :meth:`Scenario.with_`.

    Each keyword is a Scenario field mapped to its values: a list, tuple,
    range or other ordered iterable (a numpy array, a generator); a scalar
    (a string, a number, a bool, and for ``overrides`` a dict) is an axis of
    one value.  ``overrides`` takes dicts (or sequences of key-value pairs),
    each merged into the base's overrides.

    The order is deterministic: the first axis is the outermost loop, the
    last one varies fastest, and values keep the order given::

        grid(lock=["giant", "fine"], cpus=[2, 8])
        # giant/2, giant/8, fine/2, fine/8

    Raises :class:`~reproduce.errors.ConfigError` naming the field and the
    value for an unknown field, an empty axis, a value the Scenario rejects
    (see :func:`~reproduce.bench.scenario.check`) or an unknown or
    out-of-range override parameter; nothing is simulated.
    """
    if base is None:
        base = Scenario()
    elif not isinstance(base, Scenario):
        raise ConfigError(f"base={base!r}: must be a Scenario (or None for Scenario())")
    names = [f.name for f in fields(Scenario)]
    values: list[list[Any]] = []
    for name, axis in axes.items():
        if name not in names:
            raise ConfigError(f"unknown Scenario field {name!r} (given {axis!r}): "
                              f"valid fields are {', '.join(names)}")
        vals = _axis_values(name, axis)
        if not vals:
            raise ConfigError(f"{name}={axis!r}: empty axis; give at least one value")
        values.append(vals)
    size = math.prod(len(v) for v in values)
    if size > MAX_GRID:
        raise ConfigError(f"the grid has {size} scenarios, more than a sweep may have "
                          f"({MAX_GRID}): split it")
    out: list[Scenario] = []
    for combo in itertools.product(*values):
        kw = dict(zip(axes, combo))
        try:
            s = base.with_(**kw)
        except ConfigError as err:
            if "overrides" in kw and str(err).startswith(("unknown parameter", "parameter",
                                                           "overrides")):
                raise ConfigError(f"overrides={dict(kw['overrides'])!r}: {err}") from None
            raise
        out.append(s)
    return out


def _axis_values(name: str, axis: Any) -> list[Any]:
    """One axis as a list of values (a scalar is one value); at most
    MAX_GRID of them, counted before the list is made where the axis knows
    its length."""
    if isinstance(axis, (str, bytes, Mapping)) or not isinstance(axis, Iterable) \
            or (name == "overrides" and _is_pairs(axis)):
        vals = [axis]
    elif isinstance(axis, (set, frozenset)):
        raise ConfigError(f"{name}={axis!r}: a set has no order; give a list or a tuple")
    else:
        n = len(axis) if hasattr(axis, "__len__") else None
        if n is not None and n > MAX_GRID:
            raise ConfigError(f"{name}: {n} values, more than a sweep may have ({MAX_GRID})")
        vals = list(itertools.islice(axis, MAX_GRID + 1))
        if len(vals) > MAX_GRID:
            raise ConfigError(f"{name}: more values than a sweep may have ({MAX_GRID})")
    # numpy scalars (from an array axis) as Python ones, which Scenario checks
    return [v.item() if callable(getattr(v, "item", None))
            and not isinstance(v, (str, bytes, Mapping, tuple, list)) else v for v in vals]


def _is_pairs(axis: Any) -> bool:
    """``(("key", value), ...)``: one overrides value, not an axis of them."""
    return isinstance(axis, (tuple, list)) and bool(axis) and all(
        isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in axis)


def summarize(r: Result) -> dict[str, Any]:
    """One flat row of what a run measured: cycles, mean mode fractions
    (``user`` is the paper's column: user + idle), per-CPU fractions,
    lock_stat totals, counters and memory."""
    t1 = r.table1()
    fr, mean = r.shares()
    row: dict[str, Any] = {
        "cycles": r.cycles, "completed": r.completed, "events": r.events, "calls": r.calls,
        "user": t1["user"], "kernel": t1["kernel"], "spin": t1["spin"],
        "user_only": float(mean[MODE_NAMES.index("user")]),
        "idle": float(mean[MODE_NAMES.index("idle")]),
    }
    for i in range(fr.shape[0]):
        for j, m in enumerate(MODE_NAMES):
            row[f"cpu{i}_{m}"] = float(fr[i, j])
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


def normalize_row(row: dict[str, Any]) -> dict[str, Any]:
    """The row as the cache gives it back (JSON): plain ints, floats, bools,
    strings; numpy scalars become Python ones."""
    return json.loads(json.dumps(row, allow_nan=True, default=_json_default))


def _json_default(v: Any) -> Any:
    item = getattr(v, "item", None)          # numpy scalars
    if callable(item):
        return item()
    raise TypeError(f"row value {v!r} of type {type(v).__name__} is not JSON-serializable")


# Row invariants: fractions are shares of elapsed cycles.
FRACTION_TOL = 1e-9


def check_row(scenario: dict[str, Any], row: dict[str, Any]) -> str | None:
    """Why a row cannot be what *scenario* (its fields, as in
    :meth:`Scenario.to_dict`) measured, or None: the scenario's own columns
    match it; cycles and events are non-negative integers; every fraction is
    a finite number in [0, 1]; each CPU's four and the means add up to 1;
    the lock's hold and wait times fit in the CPUs' kernel and spin time."""
    want = scenario_row(Scenario(**{**scenario, "overrides": scenario.get("overrides", {})}))
    for k, v in want.items():
        if row.get(k) != v:
            return f"column {k}={row.get(k)!r}, but the scenario has {v!r}"
    for k in ("cycles", "events", "calls"):
        v = row.get(k)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            return f"{k}={v!r} is not a count"
    if not isinstance(row.get("completed"), bool):
        return f"completed={row.get('completed')!r} is not a boolean"
    ncpu = scenario["cpus"]
    fr = ["user", "kernel", "spin", "user_only", "idle"] + [
        f"cpu{i}_{m}" for i in range(ncpu) for m in ("user", "kernel", "spin", "idle")]
    for k in fr:
        v = row.get(k)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            return f"{k}={v!r} is not a fraction in [0, 1]"
    for i in range(ncpu):
        tot = sum(row[f"cpu{i}_{m}"] for m in ("user", "kernel", "spin", "idle"))
        if abs(tot - 1) > FRACTION_TOL * 10:
            return f"CPU {i}'s mode fractions add up to {tot!r}, not 1"
    if abs(row["user"] + row["kernel"] + row["spin"] - 1) > FRACTION_TOL * 10 * ncpu:
        return f"user + kernel + spin = {row['user'] + row['kernel'] + row['spin']!r}, not 1"
    # A hold that began before measurement started is counted whole when it
    # ends: allow one longest hold per CPU.
    t = row.get("lock_holdtime_total", 0) + row.get("lock_holdtime_in_progress", 0)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t < 0:
        return f"lock hold time {t!r} is not a number of cycles"
    slack = ncpu * (row.get("lock_holdtime_max", 0) + 1) + 1e-9 * ncpu * row["cycles"]
    if t > row["kernel"] * ncpu * row["cycles"] + slack:
        return f"lock hold time {t} exceeds the CPUs' kernel time"
    return None


def compute_row(s: Scenario) -> dict[str, Any]:
    """What a worker runs: :func:`run_one`, normalized (module-level, so
    process pools and Dask can pickle it by name)."""
    return normalize_row(run_one(s))


Runner = Callable[[Scenario], dict[str, Any]]


def sweep(scenarios: Iterable[Scenario], *, progress: bool = False,
          desc: str = "scenarios", workers: int | None = None,
          cache: bool | str | os.PathLike[str] | ResultCache | None = None,
          scheduler: Any = None, runner: Runner | None = None) -> pd.DataFrame:
    """Run every scenario; one row each, in the order given.

    *workers*: processes for the scenarios not in the cache (None: one per
    core; 1: in this process).  *cache*: None or True for the default
    directory (``$REPRODUCE_CACHE_DIR`` or ``.cache/results``), a directory,
    a :class:`ResultCache`, or False for none.  *scheduler*: a Dask scheduler
    address, ``distributed.Client`` or cluster to run them on instead (needs
    the ``dask`` extra).  *progress* shows a tqdm bar labelled *desc*.
    *runner* computes one row (default :func:`compute_row`); rows of another
    runner are not the model's, so they never go to the default cache (an
    explicit *cache* is used).  Cache entries that fail their checks are
    moved aside, recomputed and reported in one line on stderr.
    """
    import pandas as pd
    from tqdm import tqdm

    scenarios = list(scenarios)
    for i, s in enumerate(scenarios):
        if not isinstance(s, Scenario):
            raise ConfigError(f"scenarios[{i}]={s!r}: not a Scenario")
    if len(scenarios) > MAX_GRID:
        raise ConfigError(f"{len(scenarios)} scenarios, more than a sweep may have "
                          f"({MAX_GRID}): split it")
    nworkers = _check_workers(workers)
    if runner is not None and not callable(runner):
        raise ConfigError(f"runner={runner!r}: must be a function of a Scenario")
    store = _resolve_cache(cache, default_ok=runner is None)
    run = runner or compute_row
    if scheduler is not None:
        _check_scheduler(scheduler)
    # The model version and tables every row is computed from and stored
    # with: the pinned ones of an experiment, else the ones of now.
    snap = _snapshot.active() or _snapshot.take()
    if store is not None:
        store.tables = snap.digest

    # Each distinct scenario once, in order of first appearance.
    keys = [s.key() for s in scenarios]
    unique: dict[str, Scenario] = {}
    for k, s in zip(keys, scenarios):
        unique.setdefault(k, s)
    rows: dict[str, dict[str, Any]] = {}
    if store is not None:
        for k, s in unique.items():
            row = store.get(s)
            if row is not None:
                rows[k] = row
        _report_rejected(store)
    todo = [(k, s) for k, s in unique.items() if k not in rows]
    if store is not None and todo:
        store.check_writable()        # before the first run, not after it (a read-only
                                      # cache still serves a sweep it holds whole)

    saved, hits = [0], len(rows)
    bar = tqdm(total=len(unique), initial=len(rows), desc=desc, disable=not progress)
    try:
        if todo:
            if any(s.calibrated for _, s in todo):
                # A stale fit is an error here, before any worker starts.
                from .calibration import calibration
                calibration()
            _snapshot.verify(snap)    # a pinned snapshot may be older than the files

            def done(k: str, s: Scenario, row: dict[str, Any]) -> None:
                rows[k] = row
                if store is not None:
                    store.put(s, row)
                    saved[0] += 1
                bar.update(1)

            if scheduler is not None:
                _run_dask(todo, scheduler, done, run, snap)
            elif nworkers == 1 or len(todo) < MIN_PARALLEL:
                for k, s in todo:
                    try:
                        row = _snapshot.run_checked(run, s, snap)
                    except BaseException as e:
                        _note_failed(e, s)
                        raise
                    done(k, s, row)
            else:
                _run_pool(todo, min(nworkers, len(todo)), done, run, snap)
    except BaseException as e:
        finished = len(rows)
        computed = finished - hits
        if store is None:
            where = "not saved (cache=False)"
        elif saved[0] == computed:
            where = f"saved in {store.root}; the same sweep resumes from there"
        else:
            where = (f"only {saved[0]} of the {computed} computed now saved in {store.root} "
                     "(the cache could not be written)")
        e.add_note(f"sweep stopped with {finished} of {len(unique)} scenarios finished, "
                   f"{where}")
        raise
    finally:
        bar.close()
    return pd.DataFrame([rows[k] for k in keys])


def _report_rejected(store: ResultCache) -> None:
    """One line on stderr for the cache entries that failed their checks."""
    if store.rejected:
        name, why = store.rejected[0]
        print(f"reproduce: cache: {len(store.rejected)} bad entr"
              f"{'y' if len(store.rejected) == 1 else 'ies'} moved to {store.quarantine} "
              f"and recomputed (first: {name}: {why})", file=sys.stderr)
        store.rejected.clear()


def _note_failed(e: BaseException, s: Scenario) -> None:
    """Name the scenario an error came from (a note on the exception, which
    keeps its type)."""
    if not isinstance(e, KeyboardInterrupt):
        e.add_note(f"while simulating {s!r}")


def _check_workers(workers: Any) -> int:
    if workers is None:
        return _cores()
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 1024:
        raise ConfigError(f"workers={workers!r}: must be an integer from 1 to 1024, "
                          f"or None for one per core")
    return workers


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _resolve_cache(cache: Any, default_ok: bool = True) -> ResultCache | None:
    if cache is False:
        return None
    if isinstance(cache, ResultCache):
        if cache.check is None:
            cache.check = check_row
        return cache
    if cache is None or cache is True:
        return ResultCache(check=check_row) if default_ok else None
    if isinstance(cache, (str, os.PathLike)):
        return ResultCache(cache, check=check_row)
    raise ConfigError(f"cache={cache!r}: must be True/None (default directory), False "
                      f"(no cache), a directory or a ResultCache")


def mp_context() -> multiprocessing.context.BaseContext:
    """The start method of every process pool (the sweep's, E8's): fork
    where there is fork (Linux: workers start at once and share the
    parent's imports), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


PR_SET_PDEATHSIG = 1         # <linux/prctl.h>


def _worker_init(parent: int) -> None:
    """In each pool worker: die with the parent, and leave Ctrl-C to it.

    A worker whose parent is killed (kill -9, SIGTERM) would live on,
    reparented, holding its memory; on Linux the kernel sends it SIGKILL
    when the parent dies (prctl PR_SET_PDEATHSIG), elsewhere a watchdog
    thread notices the parent's pid change.  Ctrl-C goes to the whole
    process group: the parent handles it (one line) and stops the workers,
    which therefore ignore SIGINT instead of printing tracebacks."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:           # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        import threading
        import time

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)
        threading.Thread(target=watch, daemon=True, name="parent-watchdog").start()


def _run_pool(todo: list[tuple[str, Scenario]], nworkers: int, done,
              run: Runner = compute_row, snap: _snapshot.Snapshot | None = None) -> None:
    snap = snap or _snapshot.take()
    ex = ProcessPoolExecutor(max_workers=nworkers, mp_context=mp_context(),
                             initializer=_worker_init, initargs=(os.getpid(),))
    ok = False
    try:
        pending = {ex.submit(_snapshot.run_checked, run, s, snap): (k, s) for k, s in todo}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            # Store every finished row before raising any error among them.
            errors = []
            for fut in finished:
                k, s = pending.pop(fut)
                try:
                    row = fut.result()
                except BaseException as e:   # noqa: BLE001 - re-raised below
                    _note_failed(e, s)
                    errors.append(e)
                    continue
                done(k, s, row)
            if errors:
                raise errors[0]
        ok = True
    finally:
        if not ok:
            # On error or Ctrl-C: the running scenarios are not waited for.
            for p in list(getattr(ex, "_processes", {}).values()):
                if p.is_alive():
                    p.kill()
        ex.shutdown(wait=ok, cancel_futures=not ok)


def import_distributed(scheduler: Any) -> Any:
    """The ``distributed`` module, or a ConfigError naming *scheduler* and
    the extra to install (the command line checks this before a sweep)."""
    try:
        import distributed
    except ImportError:
        raise ConfigError(f"scheduler={scheduler!r}: running on Dask needs dask.distributed; "
                          f"install it with: pip install -e '.[dask]'") from None
    return distributed


def _check_scheduler(scheduler: Any) -> None:
    """An address (str), a ``distributed.Client`` or a cluster object."""
    if isinstance(scheduler, str) and scheduler:
        import_distributed(scheduler)
        return
    if isinstance(scheduler, str) or isinstance(scheduler, (bool, int, float)) \
            or not (hasattr(scheduler, "scheduler_address") or
                    isinstance(scheduler, import_distributed(scheduler).Client)):
        raise ConfigError(f"scheduler={scheduler!r}: must be a Dask scheduler address, "
                          f"a distributed.Client or a Dask cluster")


# Dask sends scenarios to its workers in batches: a task of its own per
# scenario costs the scheduler a few ms each, as much as a short simulation.
# About this many tasks per worker thread (for balance), at most BATCH_MAX
# scenarios each (so that rows reach the cache as they finish).
TASKS_PER_THREAD = 8
BATCH_MAX = 32


def batch_size(n: int, threads: int) -> int:
    """Scenarios per Dask task for *n* scenarios on *threads* worker threads."""
    return max(1, min(BATCH_MAX, -(-n // max(1, TASKS_PER_THREAD * threads))))


def run_batch(run: Runner, batch: list[Scenario],
              snap: _snapshot.Snapshot) -> tuple[list[dict[str, Any]], BaseException | None]:
    """The rows of *batch*, in order, each by ``snapshot.run_checked``; at
    the first error, the rows before it and the error (so that what was
    computed is kept).  Module-level: Dask sends it by name."""
    rows: list[dict[str, Any]] = []
    for s in batch:
        try:
            rows.append(_snapshot.run_checked(run, s, snap))
        except Exception as e:   # noqa: BLE001 - returned to the caller, who raises it
            return rows, e
    return rows, None


def _run_dask(todo: list[tuple[str, Scenario]], scheduler: Any, done,
              run: Runner = compute_row, snap: _snapshot.Snapshot | None = None) -> None:
    distributed = import_distributed(scheduler)
    snap = snap or _snapshot.take()
    own = not isinstance(scheduler, distributed.Client)
    # An address or a cluster: connect for this sweep only.
    client = distributed.Client(scheduler) if own else scheduler
    try:
        size = batch_size(len(todo), sum(client.nthreads().values()))
        futures = {}
        for i in range(0, len(todo), size):
            batch = todo[i:i + size]
            # Each worker checks its model version and tables against the
            # caller's snapshot (another checkout, or a table edited there).
            fut = client.submit(run_batch, run, [s for _, s in batch], snap, pure=False)
            futures[fut] = batch
        try:
            for fut in distributed.as_completed(list(futures)):
                batch = futures[fut]
                try:
                    rows, err = fut.result()
                except BaseException as e:
                    _note_failed(e, batch[0][1])
                    raise
                for (k, s), row in zip(batch, rows):
                    done(k, s, row)
                if err is not None:
                    _note_failed(err, batch[len(rows)][1])
                    raise err
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        if own:
            client.close()
