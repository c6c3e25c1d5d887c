"""The model's source version: a hash of the model's Python code (the
machine, the kernel, and of ``bench/`` the modules a result depends on: the
workloads, the scenario, the runner, the result, the calibration and its
fit) and of every parameter table's values.  Caches (calibration, sweep
results) are keyed by it, so changing the model invalidates them; editing
the command line, the sweep machinery (``bench/`` sweep, runs, cache,
snapshot), an experiment or a notebook does not.

What is hashed is what can change a result: the code as the parser sees it
(``ast.dump``: no comments, no docstrings, no layout) and each table's
values (not the ``source`` notes beside them).  Rewording a docstring or a
parameter's source therefore keeps every cached result and the fitted
calibration; changing a line of code or a value does not."""
from __future__ import annotations

import ast
import hashlib
import json
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from .params import PARAMS_DIR, TABLES

ROOT = Path(__file__).resolve().parent
# The modules of bench/ that decide what a run gives: the workloads, the
# scenario and its tables, the runner, the result it assembles, and the
# calibration (its reader, and the fit, whose code decides the calibrated
# values).  Not the sweep, the runs by key, the result cache or the
# snapshot: they only run scenarios and store what they give.
BENCH_MODEL = ("workload.py", "memory_workload.py", "scenario.py", "run.py", "result.py",
               "calibration.py", "calibrate.py")


def model_files() -> list[Path]:
    """The files the model's results depend on."""
    return (sorted((ROOT / "machine").glob("*.py")) + sorted((ROOT / "kernel").glob("*.py"))
            + [ROOT / "params.py", ROOT / "errors.py"]
            + [ROOT / "bench" / name for name in BENCH_MODEL]
            + [PARAMS_DIR / f"{t}.toml" for t in TABLES])


def code_fingerprint(source: str) -> str:
    """The code of a Python module without comments, docstrings or layout:
    ``ast.dump`` of its tree with every docstring removed."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def _values(doc: Any) -> Any:
    """A parameter table with each ``{value, source}`` entry reduced to its value."""
    if isinstance(doc, dict):
        if "value" in doc and set(doc) <= {"value", "source"}:
            return doc["value"]
        return {k: _values(v) for k, v in doc.items()}
    return doc


def table_fingerprint(text: str) -> str:
    """The values of a parameter table (TOML), in canonical JSON."""
    return json.dumps(_values(tomllib.loads(text)), sort_keys=True, default=str)


def fingerprint(path: Path) -> str:
    return _fingerprint_text(path.name, path.read_text(encoding="utf-8"))


# Parsing every model file takes about 0.2 s, most of what a quick command
# line call (``reproduce cache info``) would cost.  The version is a function
# of the files' bytes, so it is remembered under a hash of those bytes: the
# memo can only ever answer for exactly the files it was computed from.
MEMO = ROOT.parent / ".cache" / "model_version.json"


@lru_cache(maxsize=1)
def model_version() -> str:
    """Hex digest (16 characters) of the model's code and parameter values."""
    files = [(str(p.relative_to(ROOT.parent)), p.read_bytes()) for p in model_files()]
    raw = hashlib.sha256()
    for name, data in files:
        raw.update(name.encode() + b"\0" + data + b"\0")
    memo = _read_memo()
    if memo.get(raw.hexdigest()):
        return str(memo[raw.hexdigest()])
    h = hashlib.sha256()
    for name, data in files:
        h.update(name.encode())
        h.update(_fingerprint_text(name, data.decode("utf-8")).encode())
    version = h.hexdigest()[:16]
    _write_memo({raw.hexdigest(): version})
    return version


def version_text() -> str:
    """``reproduce 0.1.0, model <model_version()>``: what a worker of a
    distributed sweep must match."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        package = version("reproduce")
    except PackageNotFoundError:       # run from a source tree, not installed
        package = "(not installed)"
    return f"reproduce {package}, model {model_version()}"


def _fingerprint_text(name: str, text: str) -> str:
    return code_fingerprint(text) if name.endswith(".py") else table_fingerprint(text)


def _read_memo() -> dict[str, Any]:
    try:
        memo = json.loads(MEMO.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def _write_memo(memo: dict[str, str]) -> None:
    """Best effort (a read-only checkout just parses every time); atomic, so a
    concurrent reader sees the old memo or the new one."""
    import os
    import tempfile
    try:
        MEMO.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=MEMO.parent, prefix=".model_version.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(memo, f)
        os.replace(tmp, MEMO)
    except OSError:
        pass
