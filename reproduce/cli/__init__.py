"""The command line: ``python -m reproduce`` or the ``reproduce`` script.

::

    reproduce simulate [options] [--json]      one scenario
    reproduce experiments list                 the registered experiments
    reproduce experiments run NAME [-p k=v ...] [--json]
    reproduce calibrate [--check|--force]      fit the two calibrated parameters
    reproduce summary [--json]                 the paper-vs-model table
    reproduce sweep -g FIELD=V1,V2 [-s FIELD=V] [-p k=v] [--out FILE.csv|FILE.json]
                                               a grid of scenarios, one row each
    reproduce cache info|verify|prune|clear [--cache-dir DIR]
                                               the sweep result cache
    reproduce --version

A module per subcommand; this one assembles the parser and runs it.

The command line is a contract other tools rely on: ``simulate --json``
prints exactly one JSON object (sorted keys, fixed indentation), the same
bytes for the same options and seed; ``sweep`` prints (or writes) the same
bytes for the same options, whether rows were computed (serially or in
parallel) or read from the cache.  Every value is converted and checked by
the one schema (:mod:`reproduce.schema`) before any work: a bad option or
value exits with status 2 and one line on stderr naming it and what is
allowed; no traceback, no file written.  Ctrl-C prints one line (exit 130).
Every default comes from :class:`reproduce.bench.scenario.Scenario`: an
option not given is not passed, so the CLI and the Python API agree.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Sequence

from ..errors import ConfigError
from . import cache, calibrate, experiments, simulate, sweep
from .common import PROG, Parser, Usage, dumps, one_line, parse_value
from .experiments import EXPERIMENTS_MODULE
from .sweep import sweep_scenarios

__all__ = ["main", "build_parser", "parse_value", "dumps", "sweep_scenarios",
           "EXPERIMENTS_MODULE", "PROG"]


class _Version(argparse.Action):
    """``--version``: the package and model versions, looked up only when
    asked (the model version hashes the model's files)."""

    def __init__(self, option_strings: list[str], dest: str, **kw: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kw)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from ..version import version_text
        print(version_text())
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; choices are read from the model at call time."""
    p = Parser(prog=PROG, description="Giant-lock SMP port: the model's command line.")
    p.add_argument("--version", action=_Version, help="print the package and model versions")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    simulate.add_parser(sub)
    experiments.add_parsers(sub, Parser)
    calibrate.add_parser(sub)
    sweep.add_parser(sub)
    cache.add_parser(sub, Parser)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0, 2 for bad input,
    1 for a file that cannot be written or a failure, 130 for Ctrl-C)."""
    try:
        parser = build_parser()
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as ex:          # --help (0) or a bad option (2)
        return ex.code if isinstance(ex.code, int) else (0 if ex.code is None else 2)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    try:
        return int(args.func(args) or 0)
    except (ConfigError, Usage) as err:
        print(f"{PROG}: error: {one_line(err)}", file=sys.stderr)
        _print_notes(err)
        return 2
    except KeyboardInterrupt as err:
        print(f"{PROG}: interrupted{_notes_inline(err)}", file=sys.stderr)
        return 130
    except BrokenPipeError:           # `reproduce ... | head`: the reader left
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())    # no second error at exit
        except (OSError, ValueError):
            pass
        return 141
    except OSError as err:            # a full disk, a read-only directory
        print(f"{PROG}: error: {one_line(err)}{_notes_inline(err)}", file=sys.stderr)
        return 1
    except Exception as err:   # a value the model does not check, or a bug
        if getattr(args, "debug", None) or os.environ.get("REPRODUCE_TRACEBACK"):
            raise
        print(f"{PROG}: internal error: {type(err).__name__}: {one_line(err)} "
              "(a value the model does not check, or a bug; "
              "rerun with --debug or REPRODUCE_TRACEBACK=1 for the traceback)",
              file=sys.stderr)
        _print_notes(err)
        return 1


def _print_notes(err: BaseException) -> None:
    """What a sweep added to the error: the failing scenario, what was saved."""
    for note in getattr(err, "__notes__", ()):
        print(f"{PROG}: {one_line(note)}", file=sys.stderr)


def _notes_inline(err: BaseException) -> str:
    notes = getattr(err, "__notes__", ())
    return ("; " + "; ".join(one_line(n) for n in notes)) if notes else ""
