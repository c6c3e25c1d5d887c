"""Where a compiled run's instructions go, by model module, from a profile
that valgrind's callgrind wrote: ``python -m reproduce.perf.callgrind``.

callgrind counts the instructions each machine-code function executes
itself (its *self* cost) and, for each call, what the callee executed in all
(the call's *inclusive* cost).  In the compiled build a model function is a C
function named after its module (``CPyDef_kernel___Kernel____run_path`` is
``Kernel._run_path`` of ``kernel/kernel.py``; ``CPyPy_`` is its wrapper for
calls from Python); what it asks of the Python runtime (a dictionary
look-up, an int boxed, a list freed) runs in the interpreter's own
functions.  So each runtime function's self cost is handed to its callers in
proportion to what their calls to it cost, and on up, until it reaches a
model function (a function called by model functions and by the
interpreter's own ones is shared among the model functions alone: the
interpreter calls into the model only to start a run, and that call's
inclusive cost is the whole run): the figures say what each module of the
model costs, the runtime work it causes included.  That sharing is an
estimate, as a profile records who called whom and not whole call stacks;
with ``valgrind --separate-callers=8`` it records each function's last
eight callers in its name, and the work is the first model function's of
that chain, exactly (the sharing is left for chains with none).  What
reaches no model function (the interpreter's own loop, calls that recur
through the runtime) is counted as ``python runtime, unattributed``.

docs/performance.md ("Round six") has the recipe that makes the profiles
(``speed --once CASE --cold`` under ``valgrind --tool=callgrind
--separate-callers=8 --toggle-collect=CPyDef_engine___Engine___run``: the
engine's runs of that one case, and nothing else) and the tables this
prints.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

# The parts of the model, and the modules (a file's name) each is made of.
PARTS = {
    "engine (heap, dispatch)": ("engine",),
    "kernel entry path": ("kernel", "profile", "percpu", "forward"),
    "memory (vm, mmu, tlb, cpu, memory, container)": ("vm", "mmu", "tlb", "cpu", "memory",
                                                      "container"),
    "locks (spinlock, lock_stat, cache lines)": ("spinlock", "locking", "lockstat", "cacheline"),
    "workload programs and their random draws": ("workload", "draws"),
    "kernel paths and scheduler": ("paths", "sched", "costs"),
    "bus, devices, checks, processes": ("bus", "devices", "checks", "proc", "record"),
}
GROUPS = {mod: part for part, mods in PARTS.items() for mod in mods}
UNATTRIBUTED = "python runtime, unattributed"

_NAME = re.compile(r"\((\d+)\)(?: (.*))?")


def parse(path: Path) -> tuple[Counter[str], dict[str, Counter[str]]]:
    """The self cost (instructions) of every function of callgrind profile
    *path*, and for every callee the inclusive cost of the calls each caller
    made to it."""
    names: dict[str, str] = {}

    def name(text: str) -> str:
        # Compressed names: "(7) foo" the first time, "(7)" after.
        m = _NAME.match(text)
        if m is None:
            return text
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), text)

    own: Counter[str] = Counter()
    calls: dict[str, Counter[str]] = defaultdict(Counter)
    fn = callee = ""
    in_call = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("fn="):
                fn, in_call = name(line[3:].strip()), False
            elif line.startswith("cfn="):
                callee = name(line[4:].strip())
            elif line.startswith("calls="):
                in_call = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                parts = line.split()
                if len(parts) < 2:
                    continue
                cost = int(parts[1])           # the first event: instructions (Ir)
                if in_call:
                    calls[callee][fn] += cost
                    in_call = False
                else:
                    own[fn] += cost
    return own, calls


def owner(fn: str) -> str | None:
    """The compiled model function that *fn*'s instructions are counted to:
    *fn* itself if it is one (``CPyPy_`` wrappers counted to their
    ``CPyDef_`` function), else None.  A name with its callers
    (``--separate-callers``: ``f'caller'caller's caller``, ``'2`` marking a
    recursion's depth) is counted to the first model function of that chain."""
    for part in fn.split("'"):
        if part.startswith("CPyDef_"):
            return part
        if part.startswith("CPyPy_"):
            return "CPyDef_" + part[len("CPyPy_"):]
    return None


def module_of(fn: str) -> str | None:
    """The model module (a file's name) of :func:`owner`, None for none."""
    o = owner(fn)
    return None if o is None else o[len("CPyDef_"):].split("___")[0]


def attribute(own: Counter[str], calls: dict[str, Counter[str]],
              key: Callable[[str], str | None] = module_of) -> Counter[str]:
    """Instructions by *key* (the model module, or :func:`owner` for each
    model function): a runtime function's self cost handed to its callers as
    the module docstring says."""
    shares: dict[str, dict[str, float]] = {}

    def share(fn: str, stack: frozenset[str]) -> dict[str, float]:
        mine = key(fn)
        if mine is not None:
            return {mine: 1.0}
        if fn in shares:
            return shares[fn]
        callers = {c: w for c, w in calls.get(fn, Counter()).items() if c != fn}
        # The interpreter calls the model only to start it (one call of
        # Engine.run, whose inclusive cost is the whole run): where a
        # function has model callers, they alone share its cost.
        model = {c: w for c, w in callers.items() if key(c) is not None}
        callers = model or callers
        total = sum(callers.values())
        if not total or fn in stack:
            return {UNATTRIBUTED: 1.0}
        out: Counter[str] = Counter()
        for caller, w in callers.items():
            for mod, part in share(caller, stack | {fn}).items():
                out[mod] += part * w / total
        shares[fn] = dict(out)
        return shares[fn]

    # Caller chains through the runtime can run deeper than Python's default
    # limit; the caller's own limit comes back.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        by_key: Counter[str] = Counter()
        for fn, cost in own.items():
            for k, part in share(fn, frozenset()).items():
                by_key[k] += cost * part
        return by_key
    finally:
        sys.setrecursionlimit(limit)


def by_group(by_module: Counter[str]) -> Counter[str]:
    """Instructions by part of the model (``GROUPS``)."""
    out: Counter[str] = Counter()
    for mod, cost in by_module.items():
        out[GROUPS.get(mod, mod)] += cost
    return out


def table(path: Path, per: int, vs: Path | None = None, vs_per: int = 1,
          functions: int = 0) -> str:
    """A Markdown table of instructions per unit (*per*: the run's
    acquisitions, say) by part of the model; with *vs*, a second profile
    beside it and the difference.  *functions* > 0: instead, the model
    functions whose work differs most (or costs most, without *vs*), so many."""
    if functions:
        a, b = attribute(*parse(path), key=owner), Counter()
        if vs is not None:
            b = attribute(*parse(vs), key=owner)
        rows = sorted(set(a) | set(b), key=lambda f: -(a[f] / per - b[f] / vs_per))[:functions]
        label = "instructions per unit, by model function"
    else:
        a = by_group(attribute(*parse(path)))
        b = by_group(attribute(*parse(vs))) if vs is not None else Counter()
        rows = sorted(set(a) | set(b), key=lambda g: -a[g] / per)
        rows.append("total")
        label = "instructions per unit"
    head = f"| {label} | {path.name} |"
    rule = "|---|---:|"
    if vs is not None:
        head += f" {vs.name} | difference |"
        rule += "---:|---:|"
    lines = [head, rule]
    for g in rows:
        x = sum(a.values()) / per if g == "total" else a[g] / per
        name = g[len("CPyDef_"):] if g.startswith("CPyDef_") else g
        line = f"| {name} | {x:,.0f} |"
        if vs is not None:
            y = sum(b.values()) / vs_per if g == "total" else b[g] / vs_per
            line += f" {y:,.0f} | {x - y:,.0f} |"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reproduce.perf.callgrind",
                                 description="Instructions of a callgrind profile of the "
                                             "compiled build, by part of the model.")
    ap.add_argument("profile", type=Path, help="callgrind.out file")
    ap.add_argument("--per", type=int, default=1,
                    help="divide by this (the run's acquisitions, say; default 1)")
    ap.add_argument("--vs", type=Path, help="a second profile, shown beside the first")
    ap.add_argument("--vs-per", type=int, default=1, help="--per of the second profile")
    ap.add_argument("--functions", type=int, default=0, metavar="N",
                    help="the N model functions whose work differs most (costs most, "
                         "without --vs), instead of the parts of the model")
    a = ap.parse_args(argv)
    for p in (a.profile, a.vs):
        if p is not None and not p.is_file():
            ap.error(f"{p}: no such file (a callgrind.out written by valgrind --tool=callgrind)")
    if a.per < 1 or a.vs_per < 1 or a.functions < 0:
        ap.error(f"--per {a.per} / --vs-per {a.vs_per} / --functions {a.functions}: --per and "
                 "--vs-per must be >= 1, --functions >= 0")
    print(table(a.profile, a.per, a.vs, a.vs_per, a.functions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
