"""``reproduce experiments list|run`` and ``reproduce summary``: the
experiments of the registry (:mod:`reproduce.experiments.registry`).
Parameters given with ``-p`` are converted and checked by the experiments'
schema (:func:`reproduce.experiments.experiment.convert_param`) before
anything runs."""
from __future__ import annotations

import argparse
import importlib
import json
from typing import Any

from ..errors import ConfigError
from .common import Usage, dumps, key_value

# Imported when a command needs it: the experiments import pandas, which a
# quick command (``reproduce --help``) should not pay for.
EXPERIMENTS_MODULE = "reproduce.experiments.registry"


def add_parsers(sub, parser_class) -> None:
    e = sub.add_parser("experiments", help="list or run the registered experiments")
    esub = e.add_subparsers(dest="action", metavar="ACTION", parser_class=parser_class)
    esub.required = True
    el = esub.add_parser("list", help="list the experiments and their parameters")
    el.set_defaults(func=cmd_list)
    er = esub.add_parser("run", help="run one experiment")
    er.add_argument("name", metavar="NAME", help="experiment name (see 'experiments list')")
    er.add_argument("-p", "--param", action="append", type=key_value, default=[],
                    metavar="KEY=VALUE", help="experiment parameter (repeatable)")
    er.add_argument("--json", action="store_true", help="print the result as JSON records")
    er.set_defaults(func=cmd_run)

    su = sub.add_parser("summary", help="the paper-vs-model table")
    su.add_argument("--json", action="store_true", help="print the table as JSON records")
    su.set_defaults(func=cmd_summary)


def _module():
    try:
        return importlib.import_module(EXPERIMENTS_MODULE)
    except ModuleNotFoundError as err:
        if err.name == EXPERIMENTS_MODULE:
            raise Usage(f"the experiments registry ({EXPERIMENTS_MODULE}) is not "
                        "available in this build") from None
        raise Usage(f"cannot import {EXPERIMENTS_MODULE}: {err}") from None
    except ImportError as err:
        raise Usage(f"cannot import {EXPERIMENTS_MODULE}: {err}") from None


def registry() -> dict:
    reg = getattr(_module(), "EXPERIMENTS", None)
    if reg is None:
        raise Usage(f"{EXPERIMENTS_MODULE} has no EXPERIMENTS registry yet")
    return reg


def cmd_list(args: argparse.Namespace) -> int:
    reg = registry()
    if not reg:
        print("no experiments registered")
        return 0
    for name in reg:
        exp = reg[name]
        print(f"{name}: {getattr(exp, 'title', '')}")
        for k, v in dict(getattr(exp, "params", {}) or {}).items():
            print(f"    -p {k}={_show(v)}")
    return 0


def _show(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def cmd_run(args: argparse.Namespace) -> int:
    reg = registry()
    if args.name not in reg:
        raise Usage(f"argument NAME: unknown experiment {args.name!r}: valid are "
                    f"{', '.join(reg) or '(none registered)'}")
    from ..experiments.experiment import convert_param
    exp = reg[args.name]
    defaults = dict(getattr(exp, "params", {}) or {})
    kw: dict[str, Any] = {}
    for key, value in args.param:
        if key not in defaults:
            raise Usage(f"argument -p: unknown parameter {key!r} of experiment "
                        f"{args.name!r}: valid are {', '.join(defaults) or '(none)'}")
        if key in kw:
            raise Usage(f"argument -p: parameter {key!r} given twice")
        # Converted and checked by the registry's schema before anything runs.
        try:
            kw[key] = convert_param(args.name, key, defaults[key], value)
        except ConfigError as err:
            raise Usage(f"argument -p: {err}") from None
    out = exp.run(**kw)
    print(render_result(out, args.json))
    return 0


def render_result(out: Any, as_json: bool) -> str:
    """An experiment's table(s) as text, or as JSON records with *as_json*."""
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


def cmd_summary(args: argparse.Namespace) -> int:
    mod = _module()
    fn = getattr(mod, "summary_table", None)
    if fn is None:
        raise Usage(f"{EXPERIMENTS_MODULE} has no summary_table() yet")
    df = fn()
    if args.json:
        print(df.to_json(orient="records"))
        return 0
    from ..report.verdict import headline
    print(headline(df))      # the genuine predictions, counted first
    print(df.drop(columns=["note"], errors="ignore").to_string(index=False))
    return 0
