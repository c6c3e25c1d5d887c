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
model costs, the runtime work it causes included.  It is an estimate: a
profile records who called whom, not whole call stacks.  What reaches no model function (the
interpreter's own loop, calls that recur through the runtime) is counted as
``python runtime, unattributed``.

docs/performance.md ("Round six") has the recipe that makes the profiles
(``speed --once CASE --cold`` under ``--toggle-collect=CPyDef_engine___Engine___run``:
the engine's runs of that one case, and nothing else) and the table this
prints.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

# Model modules (the file's name) by the part of the model they are.
GROUPS = {
    "engine": "engine (heap, dispatch)",
    "kernel": "kernel entry path", "profile": "kernel entry path", "percpu": "kernel entry path",
    "vm": "memory (vm, mmu, tlb, cpu, memory, container)",
    "mmu": "memory (vm, mmu, tlb, cpu, memory, container)",
    "tlb": "memory (vm, mmu, tlb, cpu, memory, container)",
    "cpu": "memory (vm, mmu, tlb, cpu, memory, container)",
    "memory": "memory (vm, mmu, tlb, cpu, memory, container)",
    "container": "memory (vm, mmu, tlb, cpu, memory, container)",
    "spinlock": "locks (spinlock, lock_stat, cache lines)",
    "locking": "locks (spinlock, lock_stat, cache lines)",
    "lockstat": "locks (spinlock, lock_stat, cache lines)",
    "cacheline": "locks (spinlock, lock_stat, cache lines)",
    "workload": "workload programs and their random draws",
    "draws": "workload programs and their random draws",
    "paths": "kernel paths and scheduler", "sched": "kernel paths and scheduler",
    "bus": "bus, devices, checks, processes", "devices": "bus, devices, checks, processes",
    "checks": "bus, devices, checks, processes", "proc": "bus, devices, checks, processes",
    "record": "bus, devices, checks, processes", "forward": "kernel entry path",
}
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


def module_of(fn: str) -> str | None:
    """The model module of compiled function *fn*, None for anything else."""
    for prefix in ("CPyDef_", "CPyPy_"):
        if fn.startswith(prefix):
            return fn[len(prefix):].split("___")[0].split("_____")[0]
    return None


def attribute(own: Counter[str], calls: dict[str, Counter[str]]) -> Counter[str]:
    """Instructions by model module (a runtime function's self cost handed
    to its callers as the module docstring says)."""
    shares: dict[str, dict[str, float]] = {}

    def share(fn: str, stack: frozenset[str]) -> dict[str, float]:
        mod = module_of(fn)
        if mod is not None:
            return {mod: 1.0}
        if fn in shares:
            return shares[fn]
        callers = {c: w for c, w in calls.get(fn, Counter()).items() if c != fn}
        # The interpreter calls the model only to start it (one call of
        # Engine.run, whose inclusive cost is the whole run): where a
        # function has model callers, they alone share its cost.
        model = {c: w for c, w in callers.items() if module_of(c) is not None}
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

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    by_module: Counter[str] = Counter()
    for fn, cost in own.items():
        for mod, part in share(fn, frozenset()).items():
            by_module[mod] += cost * part
    return by_module


def by_group(by_module: Counter[str]) -> Counter[str]:
    """Instructions by part of the model (``GROUPS``)."""
    out: Counter[str] = Counter()
    for mod, cost in by_module.items():
        out[GROUPS.get(mod, UNATTRIBUTED if mod == UNATTRIBUTED else mod)] += cost
    return out


def table(path: Path, per: int, vs: Path | None = None, vs_per: int = 1) -> str:
    """A Markdown table of instructions per unit (*per*: the run's
    acquisitions, say) by part of the model; with *vs*, a second profile
    beside it and the difference."""
    a = by_group(attribute(*parse(path)))
    b = by_group(attribute(*parse(vs))) if vs is not None else Counter()
    rows = sorted(set(a) | set(b), key=lambda g: -a[g] / per)
    head = f"| instructions per unit | {path.name} |"
    rule = "|---|---:|"
    if vs is not None:
        head += f" {vs.name} | difference |"
        rule += "---:|---:|"
    lines = [head, rule]
    for g in [*rows, "total"]:
        x = sum(a.values()) / per if g == "total" else a[g] / per
        line = f"| {g} | {x:,.0f} |"
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
    a = ap.parse_args(argv)
    for p in (a.profile, a.vs):
        if p is not None and not p.is_file():
            ap.error(f"{p}: no such file (a callgrind.out written by valgrind --tool=callgrind)")
    if a.per < 1 or a.vs_per < 1:
        ap.error(f"--per {a.per} / --vs-per {a.vs_per}: must be >= 1")
    print(table(a.profile, a.per, a.vs, a.vs_per))
    return 0


if __name__ == "__main__":
    sys.exit(main())
