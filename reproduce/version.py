"""The model's source version: a hash of the model's Python files (the
machine, the kernel, the workload, the scenario runner and calibration) and
every parameter table.  Caches (calibration, sweep results) are keyed by it,
so changing the model invalidates them; editing the command line, the sweep
machinery or a notebook does not."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent
MODEL_BENCH = ("workload.py", "scenario.py", "calibrate.py")


@lru_cache(maxsize=1)
def model_version() -> str:
    """Hex digest (16 characters) of the model's source and parameters."""
    h = hashlib.sha256()
    files = (sorted((ROOT / "machine").glob("*.py")) + sorted((ROOT / "kernel").glob("*.py"))
             + [ROOT / "params.py", ROOT / "errors.py"]
             + [ROOT / "bench" / f for f in MODEL_BENCH]
             + sorted((ROOT.parent / "data" / "params").glob("*.toml")))
    for p in files:
        h.update(str(p.relative_to(ROOT.parent)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]
