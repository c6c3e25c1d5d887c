"""The model's source version: a hash of the model's Python code (the
machine, the kernel, ``model/`` (workloads, the scenario runner) and the
calibration fit) and
of every parameter table's values.  Caches (calibration, sweep results) are
keyed by it, so changing the model invalidates them; editing the command
line, the sweep machinery or a notebook does not.

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
# The fit's code decides the calibrated values, so it is part of the model.
FIT = ROOT / "harness" / "calibrate.py"


def model_files() -> list[Path]:
    """The files the model's results depend on."""
    return (sorted((ROOT / "machine").glob("*.py")) + sorted((ROOT / "kernel").glob("*.py"))
            + [ROOT / "params.py", ROOT / "errors.py"]
            + sorted((ROOT / "model").glob("*.py")) + [FIT]
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
    text = path.read_text(encoding="utf-8")
    return code_fingerprint(text) if path.suffix == ".py" else table_fingerprint(text)


@lru_cache(maxsize=1)
def model_version() -> str:
    """Hex digest (16 characters) of the model's code and parameter values."""
    h = hashlib.sha256()
    for p in model_files():
        h.update(str(p.relative_to(ROOT.parent)).encode())
        h.update(fingerprint(p).encode())
    return h.hexdigest()[:16]
