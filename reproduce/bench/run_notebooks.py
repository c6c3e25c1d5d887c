"""``make reproduce``: execute every notebook in place with papermill, then
print the paper-vs-model table.

Notebooks run in name order, each with the defaults of its ``parameters``
cell (those reproduce the paper), on the kernel named ``reproduce`` that
``make`` registers inside ``.venv``.  Papermill's timing metadata is removed
afterwards, so re-running with nothing changed writes the same bytes.

Usage: ``python -m reproduce.bench.run_notebooks [NAME ...]`` (names match
notebook file names by substring; default: all).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import papermill as pm
from tqdm import tqdm

from .report import ROOT

NOTEBOOKS = ROOT / "notebooks"
KERNEL = "reproduce"


def strip_volatile(path: Path) -> None:
    """Drop papermill's timestamps and durations from a notebook."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


def run(names: list[str] | None = None) -> list[Path]:
    books = sorted(NOTEBOOKS.glob("*.ipynb"))
    if names:
        books = [b for b in books if any(n in b.name for n in names)]
        if not books:
            raise SystemExit(f"reproduce: error: no notebook matches {names!r}")
    for nb in tqdm(books, desc="notebooks", unit="nb"):
        pm.execute_notebook(str(nb), str(nb), kernel_name=KERNEL, cwd=str(NOTEBOOKS),
                            progress_bar=False)
        strip_volatile(nb)
    return books


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reproduce.bench.run_notebooks")
    ap.add_argument("names", nargs="*", help="run only notebooks whose name contains these")
    ap.add_argument("--no-summary", action="store_true")
    a = ap.parse_args(argv)
    run(a.names)
    if not a.no_summary:
        from .experiments import summary_table
        import pandas as pd
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print("\nPaper vs model (model: mean and range over seeds)")
            print(summary_table().round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
