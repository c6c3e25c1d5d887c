"""Where notebooks put what they produce: figures in ``figures/`` (PNG and
SVG, byte-stable), tables in ``data/results/`` (CSV).  Files are written
atomically, so an interrupted ``make reproduce`` leaves no half file."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

if TYPE_CHECKING:
    import pandas as pd

from ..files import atomic_write
from ..params import DATA

ROOT = DATA.parent
FIGURES = ROOT / "figures"
RESULTS = DATA / "results"

# Byte-stable SVG: fixed id salt, no date.
matplotlib.rcParams["svg.hashsalt"] = "reproduce"


def save_figure(fig, name: str) -> list[Path]:
    """Write *fig* as ``figures/<name>.png`` and ``.svg``."""
    out = []
    for ext, meta in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
        out.append(atomic_write(FIGURES / f"{name}.{ext}",
                           lambda tmp, ext=ext, meta=meta: fig.savefig(
                               tmp, format=ext, metadata=meta, bbox_inches="tight", dpi=110)))
    return out


def save_table(df: pd.DataFrame, name: str) -> Path:
    """Write *df* as ``data/results/<name>.csv``."""
    return atomic_write(RESULTS / f"{name}.csv",
                   lambda tmp: df.to_csv(tmp, index=False, float_format="%.6g"))
