"""``reproduce sweep``: a grid of scenarios, one row each, as CSV or JSON.
Values of ``-g``/``-s`` go through the Scenario fields' schema; the grid's
size is checked before it is built, and ``--out`` before anything runs."""
from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from typing import Any

from ..errors import ConfigError
from .common import Usage, check_out, dumps, key_value, write_out


def field_assignment(text: str) -> tuple[str, str]:
    """``FIELD=VALUE`` of ``sweep -g/-s``."""
    if not text.partition("=")[1] or not text.partition("=")[0].strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form FIELD=VALUE "
                                         "(e.g. -g cpus=2,4 or -s seed=1)")
    return key_value(text)


def add_parser(sub) -> None:
    from ..bench.scenario import Scenario

    ints = ", ".join(f.name for f in fields(Scenario) if type(f.default) is int)
    sw = sub.add_parser(
        "sweep", help="run a grid of scenarios; one row each (CSV or JSON)",
        description="Run the cartesian product of the -g axes (first axis outermost) "
                    "through reproduce.bench.sweep.sweep, with the result cache, and print "
                    "the rows as CSV or write them to --out.  Fields not given take the "
                    "defaults of reproduce.bench.scenario.Scenario; values are read like "
                    "the simulate options (integers, numbers, true/false, names).",
        epilog="example: reproduce sweep -s workload=synthetic -s calibrated=false "
               "-g lock=giant,fine -g cpus=2,8,32 -g seed=0:5 --out sweep.csv")
    sw.add_argument("-g", "--grid", dest="axes", action="append", type=field_assignment,
                    default=[], metavar="FIELD=V1,V2,...",
                    help="one axis: a Scenario field and its values, comma-separated; "
                    f"A:B on an integer field ({ints}) is A, A+1, ..., B-1 (repeatable)")
    sw.add_argument("-s", "--set", dest="fixed", action="append", type=field_assignment,
                    default=[], metavar="FIELD=VALUE",
                    help="a Scenario field fixed for every run (repeatable)")
    sw.add_argument("-p", "--param", action="append", type=key_value, default=[],
                    metavar="KEY=VALUE", help="override a cost or workload parameter in "
                    "every run (repeatable; see data/params/*.toml)")
    sw.add_argument("--workers", metavar="N",
                    help="worker processes for the runs not in the cache "
                    "(default: one per core; 1: in this process)")
    cg = sw.add_mutually_exclusive_group()
    cg.add_argument("--no-cache", action="store_true",
                    help="neither read nor write the result cache")
    cg.add_argument("--cache-dir", metavar="DIR",
                    help="result cache directory (default: $REPRODUCE_CACHE_DIR or "
                    ".cache/results)")
    sw.add_argument("--scheduler", metavar="ADDRESS",
                    help="run on this Dask scheduler instead (needs the dask extra)")
    sw.add_argument("--out", metavar="FILE",
                    help="write FILE.csv or FILE.json (default: CSV on stdout)")
    sw.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="progress bar on stderr (default: when stderr is a terminal)")
    sw.set_defaults(func=cmd_sweep)


def _axis(field: str, spec, text: str) -> list[Any]:
    """``-g FIELD=V1,V2,...``: the values, ``A:B`` on an int field as
    range(A, B); the count is checked before the list is made."""
    from ..bench.sweep import MAX_GRID
    from ..schema import Spec, convert

    where = f"argument -g: {field}={text}"
    vals: list[Any] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise Usage(f"{where}: empty value in the list (write V1,V2,...)")
        lo, colon, hi = item.partition(":")
        if not colon:
            vals.append(_value("-g", field, spec, item))
            continue
        if spec is None or spec.kind is not int:
            raise Usage(f"{where}: A:B ranges are for integer fields only; write the "
                        "values V1,V2,...")
        try:
            a, b = (convert("A:B", Spec(int), x.strip()) for x in (lo, hi))
        except ConfigError:
            raise Usage(f"{where}: {item!r} is not a range A:B of two integers") from None
        if a >= b:
            raise Usage(f"{where}: {item!r} is empty (A:B means A, A+1, ..., B-1)")
        if len(vals) + (b - a) > MAX_GRID:
            raise Usage(f"{where}: {b - a} values, more than a sweep may have ({MAX_GRID})")
        vals.extend(_value("-g", field, spec, v) for v in range(a, b))
    return vals


def _value(opt: str, field: str, spec, text: Any) -> Any:
    from ..schema import convert
    try:
        return convert(field, spec, text)
    except ConfigError as err:
        raise Usage(f"argument {opt}: {err}") from None


def sweep_scenarios(args: argparse.Namespace) -> list:
    """The scenarios ``sweep``'s -g, -s and -p options name, in sweep order."""
    from ..bench.sweep import MAX_GRID, grid
    from ..bench.scenario import Scenario, field_spec

    names = [f.name for f in fields(Scenario) if f.name != "overrides"]
    fixed: dict[str, Any] = {}
    axes: dict[str, list[Any]] = {}
    option_of: dict[str, str] = {}
    for opt, pairs in (("-s", args.fixed), ("-g", args.axes)):
        for field, text in pairs:
            if field == "overrides":
                raise Usage(f"argument {opt}: overrides are given with -p KEY=VALUE")
            if field not in names:
                raise Usage(f"argument {opt}: unknown Scenario field {field!r} "
                            f"(in {field}={text}): valid are {', '.join(names)}")
            if field in option_of:
                raise Usage(f"argument {opt}: field {field!r} is given more than once "
                            f"(by {option_of[field]} and {opt})")
            option_of[field] = opt
            if opt == "-s":
                fixed[field] = _value(opt, field, field_spec(field), text)
            else:
                axes[field] = _axis(field, field_spec(field), text)
    size = 1
    for vals in axes.values():
        size *= len(vals)
    if size > MAX_GRID:
        raise Usage(f"argument -g: the grid has {size} scenarios, more than a sweep may "
                    f"have ({MAX_GRID})")
    for key, _ in args.param:
        if key in ("cpus", "affinity"):
            raise Usage(f"argument -p: parameter {key!r} is set by the Scenario field "
                        f"(-s {key}=... or -g {key}=...), not by -p")
    if args.param:
        ov: dict[str, Any] = {}
        for key, text in args.param:
            if key in ov:
                raise Usage(f"argument -p: parameter {key!r} given twice")
            ov[key] = text
        fixed["overrides"] = ov
    # As in simulate: the UP kernel on one CPU unless told otherwise.
    kernels = axes.get("kernel", [fixed.get("kernel")])
    if "cpus" not in option_of and kernels and all(k == "up" for k in kernels):
        fixed["cpus"] = 1
    try:
        return grid(Scenario(), **fixed, **axes)
    except ConfigError as err:
        msg = str(err)
        field = msg.partition("=")[0]
        opt = option_of.get(field) or ("-p" if "parameter" in msg else None)
        raise Usage(f"argument {opt}: {msg}" if opt else msg) from None


def sweep_text(df, fmt: str) -> str:
    """The rows as CSV (``csv``) or JSON records (``json``), in sweep order;
    floats are written with ``repr`` (exact, and the same bytes for the same
    rows)."""
    if fmt == "json":
        return dumps(df.to_dict(orient="records")) + "\n"
    return df.to_csv(index=False, lineterminator="\n")


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..bench.sweep import sweep
    from ..schema import Spec, convert

    fmt = check_out(args.out)
    workers = None
    if args.workers is not None:
        try:
            workers = convert("workers", Spec(int, 1, 1024), args.workers)
        except ConfigError as err:
            raise Usage(f"argument --workers: {err}") from None
    scenarios = sweep_scenarios(args)
    client = _dask_client(args.scheduler) if args.scheduler is not None else None
    progress = args.progress if args.progress is not None else sys.stderr.isatty()
    try:
        cache: Any = False if args.no_cache else result_cache(args.cache_dir)
        df = sweep(scenarios, progress=progress, workers=workers, cache=cache,
                   scheduler=client)
    finally:
        if client is not None:
            client.close()
    text = sweep_text(df, fmt or "csv")
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_out(args.out, text)
        print(f"{len(df)} rows written to {args.out}")
    return 0


def result_cache(cache_dir: str | None, write: bool = False):
    """The ResultCache of --cache-dir (default directory if None); with
    *write*, checked writable before anything runs."""
    from ..bench.cache import ResultCache
    from ..bench.sweep import check_row
    if cache_dir is not None and not cache_dir.strip():
        raise Usage("argument --cache-dir: '' is not a directory name (use --no-cache for "
                    "no cache)")
    try:
        cache = ResultCache(cache_dir, check=check_row)
        if write:
            cache.check_writable()
    except ConfigError as err:
        raise Usage(f"argument --cache-dir: {err}" if cache_dir is not None
                    else str(err)) from None
    return cache


def _dask_client(address: str):
    """A ``distributed.Client`` connected to *address*: a bad or unreachable
    address is a usage error found before anything runs."""
    from ..bench.sweep import import_distributed

    distributed = import_distributed(address)
    try:
        return distributed.Client(address)
    except (OSError, ValueError, TimeoutError) as err:
        raise Usage(f"argument --scheduler: cannot connect to {address!r}: "
                    f"{type(err).__name__}: {err}") from None
