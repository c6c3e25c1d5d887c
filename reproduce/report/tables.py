"""Where notebooks put what they produce.

A notebook run with the defaults of its ``parameters`` cell writes the
committed results: figures in ``figures/`` (PNG and SVG, byte-stable),
tables in ``data/results/`` (CSV).  A run with any other value (papermill's
``-p seeds 10``, an edited cell in JupyterLab), or with ``output_dir`` set,
is a what-if run: it writes to ``runs/<name>/figures`` and
``runs/<name>/results`` (``runs/`` is not under version control), so it can
never overwrite what the paper comparison was made from.  The first cell
after ``parameters`` calls :func:`outputs` to decide.

Files are written atomically, so an interrupted ``make reproduce`` leaves no
half file.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import matplotlib

if TYPE_CHECKING:
    import pandas as pd

from ..errors import ConfigError
from ..files import atomic_write, atomic_write_text
from ..params import DATA

ROOT = DATA.parent
FIGURES = ROOT / "figures"
RESULTS = DATA / "results"
RUNS = ROOT / "runs"
NOTEBOOKS = ROOT / "notebooks"
OUTPUT_DIR = "output_dir"        # the parameter every notebook has

# Byte-stable SVG: fixed id salt, no date.
matplotlib.rcParams["svg.hashsalt"] = "reproduce"

# Where save_figure and save_table write now (outputs() changes it).
_where = {"figures": FIGURES, "results": RESULTS}


def notebook_stem(notebook: str) -> str:
    """The file name (without ``.ipynb``) of *notebook*, given whole or by
    its number: ``"10"`` is the one notebook named ``10-*.ipynb``."""
    if (NOTEBOOKS / f"{notebook}.ipynb").exists():
        return notebook
    hits = sorted(p.stem for p in NOTEBOOKS.glob(f"{notebook}-*.ipynb"))
    if len(hits) != 1:
        raise ConfigError(f"notebook {notebook!r}: no notebooks/{notebook}.ipynb"
                          + (f" and {len(hits)} named {notebook}-*.ipynb" if hits else ""))
    return hits[0]


def default_parameters(notebook: str) -> dict[str, Any]:
    """The values assigned in the cell tagged ``parameters`` of
    ``notebooks/<notebook>.ipynb`` (see :func:`notebook_stem`), as committed."""
    path = NOTEBOOKS / f"{notebook_stem(notebook)}.ipynb"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for cell in doc["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            src = "".join(cell["source"])
            out = {}
            for node in ast.parse(src).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                        and isinstance(node.targets[0], ast.Name):
                    out[node.targets[0].id] = ast.literal_eval(node.value)
            return out
    raise ConfigError(f"notebook {notebook!r} has no cell tagged 'parameters'")


def _same(a: Any, b: Any) -> bool:
    """Parameter equality that takes papermill's list for the cell's tuple."""
    norm = (lambda v: list(v) if isinstance(v, (tuple, list)) else v)
    return norm(a) == norm(b)


def _label(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v)


def outputs(notebook: str, values: Mapping[str, Any]) -> Path:
    """Choose where this run of *notebook* writes, from its parameter
    *values* (the notebook passes ``globals()``), and return that directory.

    All parameters at their committed defaults and ``output_dir`` empty:
    the canonical ``figures/`` and ``data/results/`` (returns the repository
    root).  Otherwise ``runs/<output_dir>/``, or, with ``output_dir`` empty,
    ``runs/<notebook>_<name>=<value>.../`` naming the parameters that
    differ; its ``parameters.json`` records all of them.  *notebook* may be
    given by its number (:func:`notebook_stem`)."""
    notebook = notebook_stem(notebook)
    defaults = default_parameters(notebook)
    given = {k: values[k] for k in defaults if k in values}
    changed = {k: v for k, v in given.items()
               if k != OUTPUT_DIR and not _same(v, defaults[k])}
    name = str(given.get(OUTPUT_DIR) or "")
    if not name and not changed:
        _where.update(figures=FIGURES, results=RESULTS)
        return ROOT
    if not name:
        name = notebook + "".join(f"_{k}={_label(v)}" for k, v in sorted(changed.items()))
    base = Path(name) if ("/" in name or Path(name).is_absolute()) else RUNS / name
    if base.resolve() in (ROOT.resolve(), FIGURES.resolve(), RESULTS.resolve()):
        raise ConfigError(f"output_dir={name!r}: a what-if run may not write over the "
                          "committed results; give a name (it goes under runs/)")
    _where.update(figures=base / "figures", results=base / "results")
    atomic_write_text(base / "parameters.json",
                      json.dumps({"notebook": notebook, **{k: _plain(v) for k, v in
                                                           given.items()}},
                                 indent=1, sort_keys=True) + "\n")
    shown = base.relative_to(ROOT) if base.is_relative_to(ROOT) else base
    print(f"what-if run ({', '.join(f'{k}={v!r}' for k, v in changed.items()) or 'output_dir'}):"
          f" figures and tables go to {shown}/")
    return base


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def output_paths() -> dict[str, Path]:
    """Where figures and tables are written now."""
    return dict(_where)


def save_figure(fig, name: str) -> list[Path]:
    """Write *fig* as ``<figures>/<name>.png`` and ``.svg``."""
    out = []
    for ext, meta in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
        out.append(atomic_write(_where["figures"] / f"{name}.{ext}",
                                lambda tmp, ext=ext, meta=meta: fig.savefig(
                                    tmp, format=ext, metadata=meta, bbox_inches="tight",
                                    dpi=110)))
    return out


def save_table(df: pd.DataFrame, name: str) -> Path:
    """Write *df* as ``<results>/<name>.csv``."""
    return atomic_write(_where["results"] / f"{name}.csv",
                        lambda tmp: df.to_csv(tmp, index=False, float_format="%.6g"))
