"""The package's architecture, checked on its imports: machine -> kernel ->
model -> harness/report -> cli, with reference/ and perf/ beside.  No import
runs back up a floor, and no module imports itself through a cycle.

Imports are read from the source (``ast``), including those inside
functions, so a lazy import cannot hide an upward dependency."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import reproduce

PKG = Path(reproduce.__file__).resolve().parent

# Rank of each room: a module may import rooms of lower or equal rank only,
# and never a room of equal rank other than its own (harness and report,
# reference and perf are siblings, not layers of each other), except where
# SIDEWAYS allows it.  The base modules (errors, params, version, files) are
# rank 0.
RANK = {"base": 0, "machine": 1, "kernel": 2, "bench": 3, "reference": 4,
        "harness": 5, "report": 5, "perf": 6, "cli": 7}
SIDEWAYS = {("reference", "bench"), ("harness", "reference"), ("report", "harness"), ("perf", "reference"),
            ("perf", "harness")}


def room(module: str) -> str:
    parts = module.split(".")
    if len(parts) < 2:
        return "base"          # the package's __init__
    name = parts[1]
    if name in RANK:
        return name
    if name in ("__main__",):
        return "cli"
    return "base"              # errors, params, version, files


def modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(PKG.parent).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        out[name] = p
    return out


def imports_of(name: str, path: Path) -> set[str]:
    """Modules of the package imported by *name* (absolute names)."""
    tree = ast.parse(path.read_text())
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("reproduce")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("reproduce"):
                continue
            found.add(mod)
            for a in node.names:        # "from . import x" imports a module x
                found.add(f"{mod}.{a.name}")
    mods = modules()
    return {m for m in found if m in mods and m != name}


def graph() -> dict[str, set[str]]:
    return {n: imports_of(n, p) for n, p in modules().items()}


def test_bench_room_replaces_model():
    assert not (PKG / "model").exists()
    for r in ("bench", "harness", "report", "reference", "perf"):
        assert (PKG / r / "__init__.py").exists(), r


def test_no_upward_import():
    bad = []
    for mod, deps in graph().items():
        src = room(mod)
        for d in deps:
            dst = room(d)
            if src == dst or dst == "base":
                continue
            if (src, dst) in SIDEWAYS:
                continue
            if RANK[dst] >= RANK[src] or (src == "base"):
                if mod == "reproduce" and d in ("reproduce.perf", "reproduce.perf.fast"):
                    continue       # the compiled build's finder, installed first
                bad.append(f"{mod} ({src}) imports {d} ({dst})")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycle():
    g = graph()
    WHITE, GREY, BLACK = 0, 1, 2
    color = {n: WHITE for n in g}
    cycles = []

    def visit(n: str, stack: list[str]) -> None:
        color[n] = GREY
        for d in sorted(g[n]):
            if color[d] == GREY:
                cycles.append(stack[stack.index(d):] + [d] if d in stack else [n, d])
            elif color[d] == WHITE:
                visit(d, stack + [d])
        color[n] = BLACK

    for n in sorted(g):
        if color[n] == WHITE:
            visit(n, [n])
    # The package __init__ is imported by every submodule implicitly; the
    # edges we read are explicit imports only, so any cycle here is real.
    assert not cycles, cycles


def test_checker_sees_a_planted_upward_import(tmp_path):
    """The layer test itself can fail: a kernel module importing the bench
    is reported."""
    fake = tmp_path / "reproduce" / "kernel"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("from ..bench import sweep\n")
    found = imports_of("reproduce.kernel.bad", fake / "bad.py")
    assert "reproduce.bench.sweep" in found
    assert RANK[room("reproduce.bench.sweep")] > RANK[room("reproduce.kernel.bad")]


def test_simulate_reads_calibration_without_writing(tmp_path):
    """A stale calibration is a clear error naming `reproduce calibrate`,
    and nothing is written."""
    import json
    from reproduce.bench import calibration as C
    from reproduce.errors import ConfigError
    stale = tmp_path / "calibration.json"
    doc = json.loads(C.CALIBRATION.read_text())
    doc["model_version"] = "not-this-one"
    stale.write_text(json.dumps(doc))
    before = stale.read_bytes()
    with pytest.raises(C.StaleCalibration, match="reproduce calibrate"):
        C.read_report(stale)
    assert stale.read_bytes() == before
    with pytest.raises(ConfigError, match="reproduce calibrate"):
        C.read_report(tmp_path / "missing.json")
    assert not (tmp_path / "missing.json").exists()
