"""Sweeps: a grid of scenarios in, a tidy DataFrame out (one row a run).

Every notebook and experiment runs its simulations through :func:`sweep`.
Each row holds the scenario's fields and :func:`summarize` of its result.

:func:`sweep` looks every scenario up in the result cache
(:mod:`reproduce.harness.cache`) first and simulates only the ones missing,
each once (a scenario listed twice is run once), storing each row as soon as
it is finished: an interrupted sweep resumes where it stopped.  The missing
scenarios run

* in this process (``workers=1``, or fewer than :data:`MIN_PARALLEL` of them),
* on a pool of worker processes, one per core by default (``workers=None``),
* or on a Dask cluster (``scheduler=`` an address or a ``distributed.Client``).

:func:`grid` builds the scenarios of a sweep: the cartesian product of
values of Scenario fields, e.g. ``sweep(grid(lock=["giant", "fine"],
cpus=[2, 8], seed=range(5)))``.

Rows are the same whichever way they were computed: a run is deterministic,
rows are assembled in the order of the scenarios given, and every row goes
through JSON (the cache's format) before it is returned, so a row read from
the cache and one just computed are equal, value for value and type for type.
"""
from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:                  # pandas and tqdm are imported in sweep():
    import pandas as pd            # the command line imports this module to
                                   # build a grid, and pandas costs 0.4 s

from ..errors import ConfigError
from .cache import ResultCache
from ..model.scenario import Result, Scenario, build_params, simulate

# Below this many scenarios to compute, a process pool costs more than it saves.
MIN_PARALLEL = 4


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
    (see :func:`~reproduce.model.scenario.check`) or an unknown or
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
    out: list[Scenario] = []
    checked: set[str] = set()          # overrides already checked (values may be lists)
    for combo in itertools.product(*values):
        kw = dict(zip(axes, combo))
        try:
            s = base.with_(**kw)
        except (TypeError, ValueError) as err:
            if isinstance(err, ConfigError):
                raise
            # with_ could not merge an overrides value into a dict
            raise ConfigError(f"overrides={kw.get('overrides')!r}: must be a dict of "
                              f"parameter=value ({err})") from None
        if s.overrides and repr(s.overrides) not in checked:
            _check_overrides(s.overrides)
            checked.add(repr(s.overrides))
        out.append(s)
    return out


def _axis_values(name: str, axis: Any) -> list[Any]:
    """One axis as a list of values (a scalar is one value)."""
    if isinstance(axis, (str, bytes, Mapping)) or not isinstance(axis, Iterable) \
            or (name == "overrides" and _is_pairs(axis)):
        vals = [axis]
    elif isinstance(axis, (set, frozenset)):
        raise ConfigError(f"{name}={axis!r}: a set has no order; give a list or a tuple")
    else:
        vals = list(axis)
    # numpy scalars (from an array axis) as Python ones, which Scenario checks
    return [v.item() if callable(getattr(v, "item", None))
            and not isinstance(v, (str, bytes, Mapping, tuple, list)) else v for v in vals]


def _is_pairs(axis: Any) -> bool:
    """``(("key", value), ...)``: one overrides value, not an axis of them."""
    return isinstance(axis, (tuple, list)) and bool(axis) and all(
        isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in axis)


def _check_overrides(overrides: tuple[tuple[str, Any], ...]) -> None:
    """Unknown or out-of-range override parameters, found before any run (as
    :func:`~reproduce.model.scenario.build_params` would find them, without
    the calibration, which the overrides do not depend on)."""
    try:
        build_params(Scenario(calibrated=False, overrides=overrides))
    except ConfigError as err:
        raise ConfigError(f"overrides={dict(overrides)!r}: {err}") from None


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


def _normalize(row: dict[str, Any]) -> dict[str, Any]:
    """The row as the cache gives it back (JSON): plain ints, floats, bools,
    strings; numpy scalars become Python ones."""
    return json.loads(json.dumps(row, allow_nan=True, default=_json_default))


def _json_default(v: Any) -> Any:
    item = getattr(v, "item", None)          # numpy scalars
    if callable(item):
        return item()
    raise TypeError(f"row value {v!r} of type {type(v).__name__} is not JSON-serializable")


def compute_row(s: Scenario) -> dict[str, Any]:
    """What a worker runs: :func:`run_one`, normalized (module-level, so
    process pools and Dask can pickle it by name)."""
    return _normalize(run_one(s))


# The genuine functions, to tell whether a test has replaced them.
_GENUINE = (simulate, run_one)


def sweep(scenarios: Iterable[Scenario], *, progress: bool = False,
          desc: str = "scenarios", workers: int | None = None,
          cache: bool | str | os.PathLike[str] | ResultCache | None = None,
          scheduler: Any = None) -> pd.DataFrame:
    """Run every scenario; one row each, in the order given.

    *workers*: processes for the scenarios not in the cache (None: one per
    core; 1: in this process).  *cache*: None or True for the default
    directory (``$REPRODUCE_CACHE_DIR`` or ``.cache/results``), a directory,
    a :class:`ResultCache`, or False for none.  *scheduler*: a Dask scheduler
    address, ``distributed.Client`` or cluster to run them on instead (needs
    the ``dask`` extra).  *progress* shows a tqdm bar labelled *desc*.
    """
    import pandas as pd
    from tqdm import tqdm

    scenarios = list(scenarios)
    for i, s in enumerate(scenarios):
        if not isinstance(s, Scenario):
            raise ConfigError(f"scenarios[{i}]={s!r}: not a Scenario")
    nworkers = _check_workers(workers)
    store = _resolve_cache(cache)
    if scheduler is not None:
        _check_scheduler(scheduler)

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
    todo = [(k, s) for k, s in unique.items() if k not in rows]

    bar = tqdm(total=len(unique), initial=len(rows), desc=desc, disable=not progress)
    try:
        if todo:
            if any(s.calibrated for _, s in todo):
                # A stale fit is an error here, before any worker starts.
                from ..model.calibration import calibration
                calibration()

            def done(k: str, s: Scenario, row: dict[str, Any]) -> None:
                if store is not None:
                    store.put(s, row)
                rows[k] = row
                bar.update(1)

            if scheduler is not None:
                _run_dask(todo, scheduler, done)
            elif nworkers == 1 or len(todo) < MIN_PARALLEL:
                for k, s in todo:
                    try:
                        row = compute_row(s)
                    except BaseException as e:
                        _note_failed(e, s)
                        raise
                    done(k, s, row)
            else:
                _run_pool(todo, min(nworkers, len(todo)), done)
    except BaseException as e:
        where = f"saved in {store.root}; the same sweep resumes from there" if store is not None \
            else "not saved (cache=False)"
        e.add_note(f"sweep stopped with {len(rows)} of {len(unique)} scenarios finished, "
                   f"{where}")
        raise
    finally:
        bar.close()
    return pd.DataFrame([rows[k] for k in keys])


def _note_failed(e: BaseException, s: Scenario) -> None:
    """Name the scenario an error came from (a note on the exception, which
    keeps its type)."""
    if not isinstance(e, KeyboardInterrupt):
        e.add_note(f"while simulating {s!r}")


def _check_workers(workers: Any) -> int:
    if workers is None:
        return _cores()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers <= 0:
        raise ConfigError(f"workers={workers!r}: must be a positive integer, "
                          f"or None for one per core")
    return workers


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _resolve_cache(cache: Any) -> ResultCache | None:
    if cache is False:
        return None
    if isinstance(cache, ResultCache):
        return cache
    if cache is None or cache is True:
        if (simulate, run_one) != _GENUINE:
            # simulate/run_one replaced (a test's fake): keep its rows out of
            # the shared default cache.  An explicit cache= is still used.
            return None
        return ResultCache()
    if isinstance(cache, (str, os.PathLike)):
        return ResultCache(cache)
    raise ConfigError(f"cache={cache!r}: must be True/None (default directory), False "
                      f"(no cache), a directory or a ResultCache")


def _mp_context():
    """Fork where there is fork (Linux: workers start at once and share the
    parent's imports), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _run_pool(todo: list[tuple[str, Scenario]], nworkers: int, done) -> None:
    ex = ProcessPoolExecutor(max_workers=nworkers, mp_context=_mp_context())
    ok = False
    try:
        pending = {ex.submit(compute_row, s): (k, s) for k, s in todo}
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
        # On error or Ctrl-C: drop what has not started, do not wait for it.
        ex.shutdown(wait=ok, cancel_futures=not ok)


def _import_distributed(scheduler: Any):
    try:
        import distributed
    except ImportError:
        raise ConfigError(f"scheduler={scheduler!r}: running on Dask needs dask.distributed; "
                          f"install it with: pip install -e '.[dask]'") from None
    return distributed


def _check_scheduler(scheduler: Any) -> None:
    """An address (str), a ``distributed.Client`` or a cluster object."""
    if isinstance(scheduler, str) and scheduler:
        _import_distributed(scheduler)
        return
    if isinstance(scheduler, str) or isinstance(scheduler, (bool, int, float)) \
            or not (hasattr(scheduler, "scheduler_address") or
                    isinstance(scheduler, _import_distributed(scheduler).Client)):
        raise ConfigError(f"scheduler={scheduler!r}: must be a Dask scheduler address, "
                          f"a distributed.Client or a Dask cluster")


def _run_dask(todo: list[tuple[str, Scenario]], scheduler: Any, done) -> None:
    distributed = _import_distributed(scheduler)
    own = not isinstance(scheduler, distributed.Client)
    # An address or a cluster: connect for this sweep only.
    client = distributed.Client(scheduler) if own else scheduler
    try:
        futures = {}
        for k, s in todo:
            fut = client.submit(compute_row, s, pure=False)
            futures[fut] = (k, s)
        try:
            for fut in distributed.as_completed(list(futures)):
                k, s = futures[fut]
                try:
                    row = fut.result()
                except BaseException as e:
                    _note_failed(e, s)
                    raise
                done(k, s, row)
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        if own:
            client.close()
