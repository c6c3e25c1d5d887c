"""The model's source version: a hash of every Python file of the package and
every parameter table.  Caches (calibration, sweep results) are keyed by it,
so changing the model invalidates them."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def model_version() -> str:
    """Hex digest (16 characters) of the model's source and parameters."""
    h = hashlib.sha256()
    files = sorted(ROOT.rglob("*.py")) + sorted((ROOT.parent / "data" / "params").glob("*.toml"))
    for p in files:
        h.update(str(p.relative_to(ROOT.parent)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]
