"""``reproduce cache info|verify|prune|clear``: the sweep result cache.
Only files the cache wrote are ever read or removed."""
from __future__ import annotations

import argparse

from .common import dumps
from .sweep import result_cache


def add_parser(sub, parser_class) -> None:
    ca = sub.add_parser("cache", help="the sweep result cache: info, verify, prune, clear")
    csub = ca.add_subparsers(dest="action", metavar="ACTION", parser_class=parser_class)
    csub.required = True
    for name, text, func in (
            ("info", "directory, result files (of the current model version), size", cmd_info),
            ("verify", "check every entry (hash, scenario, row invariants); move bad ones "
             "aside", cmd_verify),
            ("prune", "remove the entries of other model versions and stale temporary files",
             cmd_prune),
            ("clear", "remove every entry the cache wrote (nothing else)", cmd_clear)):
        c = csub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        c.add_argument("--cache-dir", metavar="DIR",
                       help="cache directory (default: $REPRODUCE_CACHE_DIR or "
                       ".cache/results)")
        if name in ("info", "verify"):
            c.add_argument("--json", action="store_true", help="print one JSON object")
        c.set_defaults(func=func)


def cmd_info(args: argparse.Namespace) -> int:
    info = result_cache(args.cache_dir).info()
    if args.json:
        print(dumps(info))
        return 0
    where = info["root"] + ("" if info["exists"] else "  (does not exist)")
    print(f"directory      {where}")
    print(f"model version  {info['version']} (current)")
    print(f"tables         {info['tables']} (digest of the current parameter values)")
    print(f"result files   {info['files']}: {info['current']} of the current model version, "
          f"{info['other']} of others")
    print(f"size           {info['bytes']} bytes ({info['current_bytes']} of the current "
          "model version)")
    if info["temporary"]:
        print(f"temporary      {info['temporary']} (writes in progress or of killed runs)")
    if info["foreign"]:
        print(f"other files    {info['foreign']} (not written by the cache; never touched)")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    cache = result_cache(args.cache_dir)
    rep = cache.verify()
    if args.json:
        print(dumps(rep))
    else:
        print(f"{rep['checked']} entries checked in {cache.root}: {rep['good']} good, "
              f"{rep['other_version']} of other model versions, {len(rep['bad'])} bad"
              + (f" (moved to {cache.quarantine})" if rep["bad"] else ""))
        for name, why in rep["bad"]:
            print(f"  {name}: {why}")
    return 1 if rep["bad"] else 0


def cmd_prune(args: argparse.Namespace) -> int:
    cache = result_cache(args.cache_dir)
    n = cache.prune()
    print(f"removed {n} file(s) of other model versions or stale from {cache.root}; "
          f"{len(cache)} of model version {cache.version} kept")
    return 0


def cmd_clear(args: argparse.Namespace) -> int:
    cache = result_cache(args.cache_dir)
    n = cache.clear()
    print(f"removed {n} file(s) from {cache.root}")
    return 0
