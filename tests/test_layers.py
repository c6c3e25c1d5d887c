"""The package's architecture, checked on its imports: machine <- kernel <-
bench <- experiments <- report <- cli, with reference/ beside bench/ and
perf/ beside report/.  No import runs back up a floor, no module imports
itself through a cycle, and no private name (``_x``) is imported across a
package line.  Each public function name is defined in one module only.

Imports are read from the source (``ast``), including those inside
functions, so a lazy import cannot hide an upward dependency."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import reproduce

PKG = Path(reproduce.__file__).resolve().parent

# Rank of each room: a module may import rooms of lower rank only, never a
# room of equal rank other than its own (bench and reference, report and
# perf are siblings, not layers of each other), except where SIDEWAYS allows
# it.  The base modules (errors, params, schema, version, files) are rank 0.
RANK = {"base": 0, "machine": 1, "kernel": 2, "bench": 3, "reference": 3,
        "experiments": 4, "report": 5, "perf": 5, "cli": 6}
# (importer, imported) between rooms of equal rank, each with its reason.
SIDEWAYS = {
    # The reference models run the bench's own synthetic workload generator
    # (bench.workload.synthetic_loop), so that they and the simulator see the
    # same phases from the same seeds; the bench never imports them.
    ("reference", "bench"),
}


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


def type_only(tree: ast.AST) -> set[ast.AST]:
    """The import statements under ``if TYPE_CHECKING:``."""
    out: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            out |= {n for stmt in node.body for n in ast.walk(stmt)}
    return out


def absolute(node: ast.ImportFrom, pkg: str) -> str:
    """The module a ``from ... import`` in package *pkg* names, absolutely."""
    if not node.level:
        return node.module or ""
    base = pkg.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str, path: Path, runtime: bool = False) -> set[str]:
    """Modules of the package imported by *name* (absolute names); with
    *runtime*, without the imports made only for the type checker."""
    tree = ast.parse(path.read_text())
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    skip = type_only(tree) if runtime else set()
    for node in ast.walk(tree):
        if node in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("reproduce")}
        elif isinstance(node, ast.ImportFrom):
            mod = absolute(node, pkg)
            if not mod.startswith("reproduce"):
                continue
            found.add(mod)
            for a in node.names:        # "from . import x" imports a module x
                found.add(f"{mod}.{a.name}")
    mods = modules()
    return {m for m in found if m in mods and m != name}


def graph(runtime: bool = False) -> dict[str, set[str]]:
    return {n: imports_of(n, p, runtime) for n, p in modules().items()}


def test_one_house():
    """The test bench is reproduce/bench/; model/ and harness/ are gone."""
    assert (PKG / "bench").is_dir()
    for gone in ("model", "harness"):
        assert not (PKG / gone).exists(), gone
    for r in RANK:
        if r != "base":
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
                if mod == "reproduce" and d in ("reproduce.perf", "reproduce.perf.loader"):
                    continue       # the compiled build's finder, installed first
                bad.append(f"{mod} ({src}) imports {d} ({dst})")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycle():
    """No cycle of imports that run.  A kernel path names the Kernel it
    runs on in its type hints only (``if TYPE_CHECKING:``): that import is
    never executed, so it makes no cycle (it does count as an arrow for the
    upward-import test)."""
    g = graph(runtime=True)
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


def package_of(name: str, path: Path) -> str:
    """The package a module belongs to (a package's __init__ is its own)."""
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def private_imports(name: str, path: Path) -> list[str]:
    """Private names (``_x``, not dunders) that module *name* takes from a
    module of another package: ``from ..bench.scenario import _table``, or
    ``scenario._table`` on a module imported from another package."""
    mods = modules()
    tree = ast.parse(path.read_text())
    here = package_of(name, path)
    bound: dict[str, str] = {}          # local name -> module of the package
    bad = []

    def private(n: str) -> bool:
        return n.startswith("_") and not (n.startswith("__") and n.endswith("__"))

    def other_package(mod: str) -> bool:
        p = mods.get(mod)
        return (package_of(mod, p) if p is not None else mod.rsplit(".", 1)[0]) != here

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("reproduce") and a.asname:
                    bound[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom):
            mod = absolute(node, here)
            if not mod.startswith("reproduce"):
                continue
            for a in node.names:
                sub = f"{mod}.{a.name}"
                if sub in mods:                 # "from .. import bench": a module
                    bound[a.asname or a.name] = sub
                    if private(a.name) and other_package(sub):
                        bad.append(f"{name} imports module {sub}")
                elif private(a.name) and other_package(mod):
                    bad.append(f"{name} imports {a.name} from {mod}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in bound and private(node.attr) \
                and other_package(bound[node.value.id]):
            bad.append(f"{name} uses {bound[node.value.id]}.{node.attr}")
    return bad


def test_no_private_name_crosses_a_package_line():
    """What one package uses of another has a public name: a leading
    underscore means "this package's own business"."""
    bad = [b for n, p in modules().items() for b in private_imports(n, p)]
    assert not bad, "\n".join(sorted(bad))


# Names several modules define on purpose, as one interface (the modules
# are interchangeable, or each is one of a kind): name -> the modules.
SHARED = {
    # Each `python -m` entry point.
    "main": {"reproduce.cli", "reproduce.cli.run_notebooks", "reproduce.perf.callgrind",
             "reproduce.perf.cluster", "reproduce.perf.fast", "reproduce.perf.speed", "reproduce.report.assumptions",
             "reproduce.experiments.e8_compare", "reproduce.report.why12"},
    # Each generated page (docs/assumptions.md, docs/why-1.2.md) is rendered
    # and checked alike.
    "render": {"reproduce.report.assumptions", "reproduce.report.why12"},
    # Each subcommand module of the command line adds its parser.
    "add_parser": {"reproduce.cli.cache", "reproduce.cli.calibrate", "reproduce.cli.simulate",
                   "reproduce.cli.sweep"},
    # The reference models are called alike so they can be swapped and
    # compared; runs.run runs the bench's scenarios by key (always called
    # as runs.run).
    "run": {"reproduce.reference.engine_model", "reproduce.reference.floor_model",
            "reproduce.reference.salabim_model", "reproduce.reference.simpy_model",
            "reproduce.bench.runs"},
    # The two measurements of perf/ (speed, cluster throughput) have one shape.
    "scenarios": {"reproduce.perf.cluster", "reproduce.perf.speed"},
    "measure": {"reproduce.perf.cluster", "reproduce.perf.speed"},
    "report": {"reproduce.perf.cluster", "reproduce.perf.speed"},
}


def public_functions() -> dict[str, set[str]]:
    """Each public module-level function name -> the modules defining it."""
    out: dict[str, set[str]] = {}
    for name, path in modules().items():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and not node.name.startswith("_"):
                out.setdefault(node.name, set()).add(name)
    return out


def test_each_public_function_name_is_defined_once():
    """One function per name across the package (there were two headline()
    and two e6_memory() doing different things), except the interfaces of
    SHARED."""
    bad = [f"{fn}: {', '.join(sorted(mods))}" for fn, mods in public_functions().items()
           if len(mods) > 1 and not mods <= SHARED.get(fn, set())]
    assert not bad, "\n".join(sorted(bad))
    defs = public_functions()
    assert defs["headline"] == {"reproduce.report.verdict"}
    assert defs["e6_memory"] == {"reproduce.experiments.paper"}


# xv6-sized files: no module over MAX_LINES, and the kernel's entry path,
# which a reader follows top to bottom, in at most KERNEL_LINES.
MAX_LINES = 700
KERNEL_LINES = 600


def test_modules_are_short():
    long = [f"{n}: {len(p.read_text().splitlines())} lines" for n, p in modules().items()
            if len(p.read_text().splitlines()) > MAX_LINES]
    assert not long, "\n".join(long)
    kernel = modules()["reproduce.kernel.kernel"]
    assert len(kernel.read_text().splitlines()) <= KERNEL_LINES


def test_one_kernel_path():
    """The fused second copy of the entry path is gone, word and all."""
    hits = [str(p) for p in PKG.rglob("*.py") if re.search(r"\bfused\b", p.read_text(), re.I)]
    assert not hits, hits


def test_checker_sees_a_planted_private_import(tmp_path):
    fake = tmp_path / "reproduce" / "experiments"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("from ..bench.scenario import _table, Scenario\n"
                                 "from ..bench import sweep\nx = sweep._normalize\n")
    bad = private_imports("reproduce.experiments.bad", fake / "bad.py")
    assert bad == ["reproduce.experiments.bad imports _table from reproduce.bench.scenario",
                   "reproduce.experiments.bad uses reproduce.bench.sweep._normalize"]


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
