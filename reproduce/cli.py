"""The command line: ``python -m reproduce`` or the ``reproduce`` script.

::

    reproduce simulate [options] [--json]      one scenario
    reproduce experiments list                 the registered experiments
    reproduce experiments run NAME [-p k=v ...] [--json]
    reproduce calibrate [--check|--force]      fit the two calibrated parameters
    reproduce summary [--json]                 the paper-vs-model table
    reproduce sweep -g FIELD=V1,V2 [-s FIELD=V] [-p k=v] [--out FILE.csv|FILE.json]
                                               a grid of scenarios, one row each
    reproduce cache info|prune|clear [--cache-dir DIR]
                                               the sweep result cache

The command line is a contract other tools rely on: ``simulate --json``
prints exactly one JSON object (sorted keys, fixed indentation), the same
bytes for the same options and seed; ``sweep`` prints (or writes) the same
bytes for the same options, whether rows were computed (serially or in
parallel) or read from the cache.  A bad option or value exits with
status 2 and one line on stderr naming it and what is allowed; no traceback.
Every default comes from :class:`reproduce.model.scenario.Scenario`: an
option not given is not passed, so the CLI and the Python API agree.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from .errors import ConfigError

PROG = "reproduce"
EXPERIMENTS_MODULE = "reproduce.harness.experiments"


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _Version(argparse.Action):
    """``--version``: the package and model versions, looked up only when asked."""

    def __init__(self, option_strings: list[str], dest: str, **kw: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kw)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from .version import version_text
        print(version_text())
        parser.exit(0)


class _Usage(Exception):
    """A bad value found after parsing: one line, exit 2."""


# --------------------------------------------------------------------------
# value parsers

def parse_value(text: str) -> Any:
    """A ``-p`` value: int, then float, then bool (true/false), else the
    string itself (lists are written comma-separated and converted by the
    parameter table to the type of the default)."""
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        pass
    try:
        v = float(t)
    except ValueError:
        pass
    else:
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"value {text!r} must be a finite number")
        return v
    if t.lower() == "true":
        return True
    if t.lower() == "false":
        return False
    return t


def _key_value(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` as (key, value text); the value is checked by
    :func:`parse_value` here and converted where its type is known."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form KEY=VALUE "
                                         "(e.g. -p timer_hz=1000)")
    try:
        parse_value(value)
    except argparse.ArgumentTypeError as err:
        raise argparse.ArgumentTypeError(f"{key}: {err}") from None
    return key, value.strip()


def _field_value(text: str) -> tuple[str, str]:
    """``FIELD=VALUE`` of ``sweep -g/-s``: checked as :func:`_key_value`."""
    if not text.partition("=")[1] or not text.partition("=")[0].strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form FIELD=VALUE "
                                         "(e.g. -g cpus=2,4 or -s seed=1)")
    return _key_value(text)


def _int(text: str) -> int:
    """An integer; ``2e6`` and ``2_000_000`` are accepted too."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if math.isfinite(v) and v.is_integer():
        return int(v)
    raise argparse.ArgumentTypeError(f"{text!r} is not an integer")


def _number(text: str) -> float:
    """A finite number."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return v


# --------------------------------------------------------------------------
# the parser

# Parameters of data/params that a scenario field sets (an override is ignored).
_SET_BY_OPTION = {"cpus": "--cpus", "affinity": "--affinity/--no-affinity"}

# Scenario field -> the option that sets it (to name the option in errors).
_OPTION_OF = {
    "cpus": "--cpus", "kernel": "--kernel", "lock": "--lock", "spinlock": "--spinlock",
    "workload": "--workload", "user_mean": "--user-mean", "kernel_mean": "--kernel-mean",
    "distribution": "--distribution", "ideal": "--ideal", "affinity": "--affinity",
    "horizon": "--horizon", "seed": "--seed", "background": "--no-background",
    "readyq_bounce": "--no-readyq-bounce", "kernel_data_bounce": "--no-kernel-data-bounce",
    "spin_slowdown": "--no-spin-slowdown", "calibrated": "--uncalibrated", "debug": "--debug",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; choices are read from the model at call time."""
    from dataclasses import fields

    from .model.scenario import DISTRIBUTIONS, KERNELS, WORKLOADS, Scenario
    from .kernel.locking import POLICIES
    from .kernel.spinlock import LOCK_KINDS

    d = {f.name: f.default for f in fields(Scenario)}
    p = _Parser(prog=PROG, description="Giant-lock SMP port: the model's command line.")
    p.add_argument("--version", action=_Version, help="print the package and model versions")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    s = sub.add_parser("simulate", help="run one scenario",
                       description="Run one scenario; options not given take the "
                                   "defaults of reproduce.model.scenario.Scenario.")
    m = s.add_argument_group("machine and kernel")
    m.add_argument("--cpus", type=_int, metavar="N", help="number of CPUs, 1 to 32 "
                   f"(default {d['cpus']}; 1 with --kernel up)")
    m.add_argument("--kernel", choices=list(KERNELS), help=f"kernel build (default {d['kernel']})")
    m.add_argument("--lock", choices=list(POLICIES), metavar="NAME",
                   help=f"lock strategy of the MP build: {', '.join(POLICIES)} "
                   f"(default {d['lock']})")
    m.add_argument("--spinlock", choices=list(LOCK_KINDS), help=f"spinlock kind (default {d['spinlock']})")
    m.add_argument("--ideal", action="store_true", default=None,
                   help="ideal machine: no entry/exit, coherence or timer cost")
    m.add_argument("--affinity", action=argparse.BooleanOptionalAction, default=None,
                   help="threads never migrate "
                   f"(default {'on' if d['affinity'] else 'off'})")
    w = s.add_argument_group("workload")
    w.add_argument("--workload", choices=list(WORKLOADS),
                   help="the paper's benchmark, or one synthetic thread per CPU "
                   f"(default {d['workload']})")
    w.add_argument("--user-mean", type=_number, metavar="CYCLES",
                   help="synthetic: mean user phase in cycles "
                   f"(default {d['user_mean']:g})")
    w.add_argument("--kernel-mean", type=_number, metavar="CYCLES",
                   help="synthetic: mean kernel phase in "
                   f"cycles (default {d['kernel_mean']:g})")
    w.add_argument("--distribution", choices=list(DISTRIBUTIONS),
                   help="synthetic: phase length distribution "
                   f"(default {d['distribution']})")
    w.add_argument("--horizon", type=_int, metavar="CYCLES",
                   help="synthetic: cycles to simulate "
                   f"(default {d['horizon']})")
    w.add_argument("--seed", type=_int, metavar="S", help=f"random seed, >= 0 (default {d['seed']})")
    x = s.add_argument_group("mechanisms (each can be switched off)")
    x.add_argument("--no-background", dest="background", action="store_const", const=False,
                   default=None, help="no system threads beside the benchmark")
    x.add_argument("--no-readyq-bounce", dest="readyq_bounce", action="store_const",
                   const=False, default=None, help="ready-queue cache line costs nothing")
    x.add_argument("--no-kernel-data-bounce", dest="kernel_data_bounce",
                   action="store_const", const=False, default=None,
                   help="shared kernel data lines cost nothing")
    x.add_argument("--no-spin-slowdown", dest="spin_slowdown", action="store_const",
                   const=False, default=None, help="spinners do not slow the lock holder")
    o = s.add_argument_group("parameters and output")
    o.add_argument("--uncalibrated", dest="calibrated", action="store_const", const=False,
                   default=None, help="use the parameter files without the fitted values")
    o.add_argument("--debug", action="store_true", default=None,
                   help="check the kernel's invariants while running")
    o.add_argument("-p", "--param", action="append", type=_key_value, default=[],
                   metavar="KEY=VALUE", help="override a cost or workload parameter "
                   "(repeatable; see data/params/*.toml), e.g. -p timer_hz=1000")
    o.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_simulate)

    e = sub.add_parser("experiments", help="list or run the registered experiments")
    esub = e.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    esub.required = True
    el = esub.add_parser("list", help="list the experiments and their parameters")
    el.set_defaults(func=cmd_experiments_list)
    er = esub.add_parser("run", help="run one experiment")
    er.add_argument("name", metavar="NAME", help="experiment name (see 'experiments list')")
    er.add_argument("-p", "--param", action="append", type=_key_value, default=[],
                    metavar="KEY=VALUE", help="experiment parameter (repeatable)")
    er.add_argument("--json", action="store_true",
                    help="print the result as JSON records")
    er.set_defaults(func=cmd_experiments_run)

    cal = sub.add_parser("calibrate", help="fit the two calibrated parameters to the paper "
                         "and write data/results/calibration.json")
    cal.add_argument("--check", action="store_true",
                     help="only check that the committed fit is current (exit 2 if stale)")
    cal.add_argument("--force", action="store_true", help="refit even if the fit is current")
    cal.set_defaults(func=cmd_calibrate)

    su = sub.add_parser("summary", help="the paper-vs-model table")
    su.add_argument("--json", action="store_true", help="print the table as JSON records")
    su.set_defaults(func=cmd_summary)

    ints = ", ".join(n for n, v in d.items() if type(v) is int)
    sw = sub.add_parser(
        "sweep", help="run a grid of scenarios; one row each (CSV or JSON)",
        description="Run the cartesian product of the -g axes (first axis outermost) "
                    "through reproduce.harness.sweep.sweep, with the result cache, and print "
                    "the rows as CSV or write them to --out.  Fields not given take the "
                    "defaults of reproduce.model.scenario.Scenario; values are read like "
                    "-p values (integers, numbers, true/false, names).",
        epilog="example: reproduce sweep -s workload=synthetic -s calibrated=false "
               "-g lock=giant,fine -g cpus=2,8,32 -g seed=0:5 --out sweep.csv")
    sw.add_argument("-g", "--grid", dest="axes", action="append", type=_field_value,
                    default=[], metavar="FIELD=V1,V2,...",
                    help="one axis: a Scenario field and its values, comma-separated; "
                    f"A:B on an integer field ({ints}) is A, A+1, ..., B-1 (repeatable)")
    sw.add_argument("-s", "--set", dest="fixed", action="append", type=_field_value,
                    default=[], metavar="FIELD=VALUE",
                    help="a Scenario field fixed for every run (repeatable)")
    sw.add_argument("-p", "--param", action="append", type=_key_value, default=[],
                    metavar="KEY=VALUE", help="override a cost or workload parameter in "
                    "every run (repeatable; see data/params/*.toml)")
    sw.add_argument("--workers", type=_int, metavar="N",
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

    ca = sub.add_parser("cache", help="the sweep result cache: info, prune, clear")
    csub = ca.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    csub.required = True
    for name, text, func in (
            ("info", "directory, result files (of the current model version), size",
             cmd_cache_info),
            ("prune", "remove the files of other model versions and stale temporary files",
             cmd_cache_prune),
            ("clear", "remove every result file", cmd_cache_clear)):
        c = csub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        c.add_argument("--cache-dir", metavar="DIR",
                       help="cache directory (default: $REPRODUCE_CACHE_DIR or "
                       ".cache/results)")
        if name == "info":
            c.add_argument("--json", action="store_true", help="print one JSON object")
        c.set_defaults(func=func)
    return p


# --------------------------------------------------------------------------
# simulate

def scenario_from_args(args: argparse.Namespace):
    """The Scenario the options name; options not given are not passed."""
    from .model.scenario import Scenario

    kw: dict[str, Any] = {}
    for name in _OPTION_OF:
        v = getattr(args, name, None)
        if v is not None:
            kw[name] = v
    if kw.get("kernel") == "up" and "cpus" not in kw:
        kw["cpus"] = 1
    if args.param:
        kw["overrides"] = _overrides(args.param)
    try:
        return Scenario(**kw)
    except ConfigError as err:
        raise ConfigError(_name_option(str(err))) from None


def _overrides(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``-p`` pairs as Scenario overrides.  List-valued parameters get the
    text (``1,2,5``), which the parameter table converts element-wise."""
    from . import params as P

    lists = {k for name in ("pentium2", "workload") for k, v in P.load(name).items()
             if isinstance(v, list)}
    out: dict[str, Any] = {}
    for key, text in pairs:
        if key in _SET_BY_OPTION:
            raise _Usage(f"argument -p: parameter {key!r} is set by {_SET_BY_OPTION[key]}, "
                         "not by -p")
        out[key] = text if key in lists else parse_value(text)
    return out


def _name_option(message: str) -> str:
    """Prefix a Scenario message ``field=value: ...`` with its option."""
    field = message.partition("=")[0]
    opt = _OPTION_OF.get(field)
    return f"argument {opt}: {message}" if opt else message


def _clean(obj: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, non-finite floats to null."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            obj = obj.item()
        except (TypeError, ValueError):
            return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)


def dumps(obj: Any) -> str:
    """The CLI's one JSON format: sorted keys, two-space indentation."""
    return json.dumps(_clean(obj), sort_keys=True, indent=2, allow_nan=False)


def _clock_hz(s) -> int:
    from .model.scenario import build_params
    return int(build_params(s)[0]["clock_hz"])


def cmd_simulate(args: argparse.Namespace) -> int:
    from .model.scenario import simulate
    from .version import model_version

    s = scenario_from_args(args)
    r = simulate(s)
    hz = _clock_hz(s)
    ms = 1000.0 * r.cycles / hz if hz else None
    if args.json:
        d = r.to_dict()
        d["table1"] = r.table1()
        d["clock_hz"] = hz
        d["simulated_ms"] = ms
        d["model_version"] = model_version()
        print(dumps(d))
        return 0
    print(_human(s, r, hz, ms))
    return 0


def _pct(x: float) -> str:
    return f"{100.0 * x:6.2f}%"


def _human(s, r, hz: int, ms: float | None) -> str:
    lines = []
    build = s.kernel.upper() if s.kernel == "up" else f"MP ({s.lock}, {s.spinlock})"
    wl = s.workload if s.workload == "paper" else \
        f"synthetic ({s.distribution}, user {s.user_mean:g} / kernel {s.kernel_mean:g} cycles)"
    ov = ", ".join(f"{k}={v}" for k, v in s.overrides)
    lines.append(f"kernel {build} on {s.cpus} CPU(s); workload {wl}; seed {s.seed}"
                 + ("" if s.calibrated else "; uncalibrated") + (f"; {ov}" if ov else ""))
    fr = r.fractions()
    lines.append("")
    lines.append(f"{'cpu':>4} " + " ".join(f"{m:>8}" for m in fr.columns))
    for i in fr.index:
        lines.append(f"{i:>4} " + " ".join(f"{_pct(fr.loc[i, m]):>8}" for m in fr.columns))
    t1 = r.table1()
    lines.append("")
    lines.append("Table 1 row (mean over CPUs; user includes idle): "
                 f"user {_pct(t1['user']).strip()}  kernel {_pct(t1['kernel']).strip()}  "
                 f"spin {_pct(t1['spin']).strip()}")
    speed = f" = {ms:.3f} ms at {hz / 1e6:g} MHz" if ms is not None else ""
    done = "" if r.completed else "  (NOT completed: hit the run limit)"
    lines.append(f"cycles {r.cycles}{speed}; events {r.events}{done}")
    lk = r.lock
    if lk.get("acquisitions"):
        lines.append(
            f"lock: acquisitions {lk['acquisitions']}  contentions {lk['contentions']}  "
            f"wait total {lk['waittime_total']} avg {lk.get('waittime_avg', 0):.0f} "
            f"max {lk.get('waittime_max', 0)}  "
            f"hold total {lk['holdtime_total']} avg {lk.get('holdtime_avg', 0):.0f} "
            f"max {lk.get('holdtime_max', 0)}  "
            f"bounces con {lk.get('con_bounces', 0)} acq {lk.get('acq_bounces', 0)}")
    else:
        lines.append("lock: none taken")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# experiments and summary

def _experiments_module():
    try:
        return importlib.import_module(EXPERIMENTS_MODULE)
    except ModuleNotFoundError as err:
        if err.name == EXPERIMENTS_MODULE:
            raise _Usage(f"the experiments registry ({EXPERIMENTS_MODULE}) is not "
                         "available in this build") from None
        raise _Usage(f"cannot import {EXPERIMENTS_MODULE}: {err}") from None
    except ImportError as err:
        raise _Usage(f"cannot import {EXPERIMENTS_MODULE}: {err}") from None


def _registry() -> dict:
    mod = _experiments_module()
    reg = getattr(mod, "EXPERIMENTS", None)
    if reg is None:
        raise _Usage(f"{EXPERIMENTS_MODULE} has no EXPERIMENTS registry yet")
    return reg


def cmd_experiments_list(args: argparse.Namespace) -> int:
    reg = _registry()
    if not reg:
        print("no experiments registered")
        return 0
    for name in reg:
        exp = reg[name]
        print(f"{name}: {getattr(exp, 'title', '')}")
        params = dict(getattr(exp, "params", {}) or {})
        for k, v in params.items():
            print(f"    -p {k}={_show(v)}")
    return 0


def _show(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def _coerce_param(key: str, default: Any, value: Any) -> Any:
    """*value* (from :func:`parse_value`) in the type of the parameter's default."""
    from .params import coerce
    if default is None:
        return value
    if isinstance(default, (list, tuple)):
        items = value.split(",") if isinstance(value, str) else [value]
        items = [parse_value(x) if isinstance(x, str) else x for x in items]
        if default:
            items = [coerce(key, default[0], x) for x in items]
        return type(default)(items)
    if isinstance(default, (bool, int, float, str)):
        return coerce(key, default, value)
    return value


def cmd_experiments_run(args: argparse.Namespace) -> int:
    reg = _registry()
    if args.name not in reg:
        raise _Usage(f"argument NAME: unknown experiment {args.name!r}: valid are "
                     f"{', '.join(reg) or '(none registered)'}")
    exp = reg[args.name]
    defaults = dict(getattr(exp, "params", {}) or {})
    kw: dict[str, Any] = {}
    for key, value in args.param:
        if key not in defaults:
            raise _Usage(f"argument -p: unknown parameter {key!r} of experiment "
                         f"{args.name!r}: valid are {', '.join(defaults) or '(none)'}")
        kw[key] = _coerce_param(key, defaults[key], value if isinstance(
            defaults[key], (list, tuple)) else parse_value(value))
    out = exp.run(**kw)
    print(_render(out, args.json))
    return 0


def _render(out: Any, as_json: bool) -> str:
    import pandas as pd

    if isinstance(out, pd.DataFrame):
        return out.to_json(orient="records") if as_json else out.to_string()
    if isinstance(out, dict):
        if as_json:
            return dumps({str(k): _records(v) for k, v in out.items()})
        parts = []
        for k, v in out.items():
            parts.append(f"== {k} ==")
            parts.append(v.to_string() if hasattr(v, "to_string") else str(v))
            parts.append("")
        return "\n".join(parts).rstrip("\n")
    return dumps(_records(out)) if as_json else str(out)


def _records(v: Any) -> Any:
    import pandas as pd

    if isinstance(v, pd.DataFrame):
        return json.loads(v.to_json(orient="records"))
    if isinstance(v, pd.Series):
        return json.loads(v.to_json())
    return v


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit (or check) the calibration; the only command that writes it."""
    from .model.calibration import CALIBRATION, read_report
    if args.check:
        doc = read_report()
        print(f"{CALIBRATION.name}: current (model version {doc['model_version']})")
        return 0
    from .harness.calibrate import ensure, refit
    if args.force:
        doc, fitted = refit(), True
    else:
        doc, fitted = ensure()
    what = "fitted and written" if fitted else "already current, not refitted"
    print(f"{CALIBRATION.name}: {what} (model version {doc['model_version']}): "
          f"bg_kernel_cycles={doc['bg_kernel_cycles']}, "
          f"mp_entry_overhead={doc['mp_entry_overhead']}")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    mod = _experiments_module()
    fn = getattr(mod, "summary_table", None)
    if fn is None:
        raise _Usage(f"{EXPERIMENTS_MODULE} has no summary_table() yet")
    df = fn()
    print(df.to_json(orient="records") if args.json else df.to_string(index=False))
    return 0


# --------------------------------------------------------------------------
# sweep and cache

def _sweep_scalar(opt: str, field: str, kind: type, text: str) -> Any:
    """One value of a Scenario field: :func:`parse_value`, then an integral
    number for an int field as int and an int for a float field as float
    (as ``simulate``'s options give them), so ``2e6`` and ``2000000`` name
    the same scenario.  Anything else is left to the Scenario's check."""
    try:
        v = parse_value(text)
    except argparse.ArgumentTypeError as err:
        raise _Usage(f"argument {opt}: {field}: {err}") from None
    if kind is int and isinstance(v, float) and v.is_integer():
        return int(v)
    if kind is float and isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


def _sweep_axis(field: str, kind: type, text: str) -> list[Any]:
    """``-g FIELD=V1,V2,...``: the values, ``A:B`` on an int field as range(A, B)."""
    where = f"argument -g: {field}={text}"
    vals: list[Any] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise _Usage(f"{where}: empty value in the list (write V1,V2,...)")
        lo, colon, hi = item.partition(":")
        if not colon:
            vals.append(_sweep_scalar("-g", field, kind, item))
            continue
        if kind is not int:
            raise _Usage(f"{where}: A:B ranges are for integer fields only; "
                         f"{field} takes {kind.__name__} values, write them V1,V2,...")
        try:
            a, b = _int(lo.strip()), _int(hi.strip())
        except argparse.ArgumentTypeError:
            raise _Usage(f"{where}: {item!r} is not a range A:B of two integers") from None
        if a >= b:
            raise _Usage(f"{where}: {item!r} is empty (A:B means A, A+1, ..., B-1)")
        vals.extend(range(a, b))
    return vals


def _out_format(out: str | None) -> str | None:
    """``csv`` or ``json`` by --out's extension (None: stdout), checked
    before anything runs."""
    if out is None:
        return None
    path = Path(out).expanduser()
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("csv", "json"):
        raise _Usage(f"argument --out: {out!r}: the format is chosen by the extension, "
                     "which must be .csv or .json")
    if path.is_dir():
        raise _Usage(f"argument --out: {out!r} is a directory")
    if not path.parent.is_dir():
        raise _Usage(f"argument --out: {out!r}: directory {str(path.parent)!r} does not exist")
    return fmt


def _result_cache(cache_dir: str | None):
    """The ResultCache of --cache-dir (default directory if None)."""
    from .harness.cache import ResultCache
    try:
        return ResultCache(cache_dir)
    except ConfigError as err:
        raise ConfigError(f"argument --cache-dir: {err}" if cache_dir is not None
                          else str(err)) from None


def sweep_scenarios(args: argparse.Namespace) -> list:
    """The scenarios ``sweep``'s -g, -s and -p options name, in sweep order."""
    from dataclasses import fields

    from .model.scenario import Scenario
    from .harness.sweep import grid

    kinds = {f.name: type(f.default) for f in fields(Scenario) if f.name != "overrides"}
    fixed: dict[str, Any] = {}
    axes: dict[str, list[Any]] = {}
    option_of: dict[str, str] = {}
    for opt, pairs in (("-s", args.fixed), ("-g", args.axes)):
        for field, text in pairs:
            if field == "overrides":
                raise _Usage(f"argument {opt}: overrides are given with -p KEY=VALUE")
            if field not in kinds:
                raise _Usage(f"argument {opt}: unknown Scenario field {field!r} "
                             f"(in {field}={text}): valid are {', '.join(kinds)}")
            if field in option_of:
                raise _Usage(f"argument {opt}: field {field!r} is given more than once "
                             f"(by {option_of[field]} and {opt})")
            option_of[field] = opt
            if opt == "-s":
                fixed[field] = _sweep_scalar(opt, field, kinds[field], text)
            else:
                axes[field] = _sweep_axis(field, kinds[field], text)
    for key, _ in args.param:
        if key in _SET_BY_OPTION:
            raise _Usage(f"argument -p: parameter {key!r} is set by the Scenario field "
                         f"(-s {key}=... or -g {key}=...), not by -p")
    if args.param:
        fixed["overrides"] = _overrides(args.param)
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
        raise ConfigError(f"argument {opt}: {msg}" if opt else msg) from None


def sweep_text(df, fmt: str) -> str:
    """The rows as CSV (``csv``) or JSON records (``json``), in sweep order;
    floats are written with ``repr`` (exact, and the same bytes for the same
    rows)."""
    if fmt == "json":
        return dumps(df.to_dict(orient="records")) + "\n"
    return df.to_csv(index=False, lineterminator="\n")


def cmd_sweep(args: argparse.Namespace) -> int:
    from .harness.sweep import sweep

    fmt = _out_format(args.out)
    if args.workers is not None and args.workers < 1:
        raise _Usage(f"argument --workers: {args.workers}: must be at least 1")
    scenarios = sweep_scenarios(args)
    cache: Any = False if args.no_cache else (
        _result_cache(args.cache_dir) if args.cache_dir is not None else None)
    progress = args.progress if args.progress is not None else sys.stderr.isatty()
    client = _dask_client(args.scheduler) if args.scheduler is not None else None
    try:
        df = sweep(scenarios, progress=progress, workers=args.workers, cache=cache,
                   scheduler=client)
    finally:
        if client is not None:
            client.close()
    text = sweep_text(df, fmt or "csv")
    if args.out is None:
        sys.stdout.write(text)
    else:
        Path(args.out).expanduser().write_text(text, encoding="utf-8", newline="")
        print(f"{len(df)} rows written to {args.out}")
    return 0


def _dask_client(address: str):
    """A ``distributed.Client`` connected to *address*: a bad or unreachable
    address is a usage error found before anything runs."""
    from .harness.sweep import _import_distributed

    distributed = _import_distributed(address)
    try:
        return distributed.Client(address)
    except (OSError, ValueError, TimeoutError) as err:
        raise _Usage(f"argument --scheduler: cannot connect to {address!r}: "
                     f"{type(err).__name__}: {err}") from None


def cmd_cache_info(args: argparse.Namespace) -> int:
    info = _result_cache(args.cache_dir).info()
    if args.json:
        print(dumps(info))
        return 0
    where = info["root"] + ("" if info["exists"] else "  (does not exist)")
    print(f"directory      {where}")
    print(f"model version  {info['version']} (current)")
    print(f"result files   {info['files']}: {info['current']} of the current model version, "
          f"{info['other']} of others")
    print(f"size           {info['bytes']} bytes ({info['current_bytes']} of the current "
          "model version)")
    if info["temporary"]:
        print(f"temporary      {info['temporary']} (writes in progress or of killed runs)")
    return 0


def cmd_cache_prune(args: argparse.Namespace) -> int:
    cache = _result_cache(args.cache_dir)
    n = cache.prune()
    print(f"removed {n} file(s) of other model versions or stale from {cache.root}; "
          f"{len(cache)} of model version {cache.version} kept")
    return 0


def cmd_cache_clear(args: argparse.Namespace) -> int:
    cache = _result_cache(args.cache_dir)
    n = cache.clear()
    print(f"removed {n} file(s) from {cache.root}")
    return 0


# --------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0, or 2 for bad input)."""
    try:
        parser = build_parser()
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as ex:          # --help (0) or a bad option (2)
        return ex.code if isinstance(ex.code, int) else (0 if ex.code is None else 2)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, _Usage) as err:
        print(f"{PROG}: error: {_one_line(err)}", file=sys.stderr)
        _print_notes(err)
        return 2
    except KeyboardInterrupt as err:
        print(f"{PROG}: interrupted", file=sys.stderr)
        _print_notes(err)
        return 130
    except Exception as err:   # a value the model does not check, or a bug
        if getattr(args, "debug", None) or os.environ.get("REPRODUCE_TRACEBACK"):
            raise
        print(f"{PROG}: internal error: {type(err).__name__}: {_one_line(err)} "
              "(a parameter value the model does not check, or a bug; "
              "rerun with --debug or REPRODUCE_TRACEBACK=1 for the traceback)",
              file=sys.stderr)
        _print_notes(err)
        return 1


def _print_notes(err: BaseException) -> None:
    """What a sweep added to the error: the failing scenario, what was saved."""
    for note in getattr(err, "__notes__", ()):
        print(f"{PROG}: {_one_line(note)}", file=sys.stderr)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())
