"""The fitted calibration, read-only.

Two model parameters are fitted to the paper (see
:mod:`reproduce.bench.calibrate`, which does the fit and writes
``data/results/calibration.json``).  A simulation only *reads* the fit: it
never runs one and never writes a file.  The fit is valid only for the model
version it was made with (a hash of the model's code and parameter values,
:mod:`reproduce.version`); a fit for another version is a clear error that
names the one command that refits, never a silent refit.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..params import DATA
from ..version import model_version

CALIBRATION = DATA / "results" / "calibration.json"
FITTED = ("bg_kernel_cycles", "mp_entry_overhead")
REFIT = "reproduce calibrate"


class StaleCalibration(ConfigError):
    """The committed fit was made for another model version (or is missing)."""


def read_report(path: Path = CALIBRATION) -> dict[str, Any]:
    """The calibration document at *path*, checked: it parses, names the
    fitted values as positive integers, and was made for this model version.
    Raises :class:`StaleCalibration` (or ConfigError for a malformed file)."""
    version = model_version()
    if not path.exists():
        raise StaleCalibration(f"{path.name} not found: run `{REFIT}` to fit the model "
                               f"(version {version}) to the paper")
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path.name} is not valid JSON ({e}): run `{REFIT}`") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path.name} must hold a JSON object: run `{REFIT}`")
    for key in FITTED:
        v = doc.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"{path.name}: {key}={v!r} must be a non-negative integer "
                              f"(cycles): run `{REFIT}`")
    if doc.get("model_version") != version:
        raise StaleCalibration(
            f"{path.name} was fitted for model version {doc.get('model_version')!r}, the "
            f"model is now {version} (a model file or data/params changed): run `{REFIT}` "
            f"to refit, or pass calibrated=False")
    return doc


_CACHE: dict[str, dict[str, Any]] = {}


def calibration_report() -> dict[str, Any]:
    """The checked calibration document for the current model version
    (read once per process and model version)."""
    version = model_version()
    doc = _CACHE.get(version)
    if doc is None:
        doc = _CACHE[version] = read_report()
    return doc


def forget() -> None:
    """Drop the documents read so far: the next :func:`calibration_report`
    reads the file again (the fit calls this after writing it)."""
    _CACHE.clear()


def calibration() -> dict[str, int]:
    """The fitted values, as overrides for the parameter tables (cycles)."""
    doc = calibration_report()
    return {k: int(doc[k]) for k in FITTED}
