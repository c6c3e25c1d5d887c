"""``make reproduce``: execute every notebook in place with papermill, then
print the paper-vs-model table.

Notebooks run in name order, each with the defaults of its ``parameters``
cell (those reproduce the paper), on the kernel named ``reproduce`` that
``make`` registers inside ``.venv``.  Papermill's timing metadata is removed
afterwards, so re-running with nothing changed writes the same bytes.

A notebook whose inputs have not changed since it was last executed is not
run again: its fingerprint (the package's source, the parameter and paper
tables, and the notebook's own cells) is stored in its metadata, so a repeat
of ``make reproduce`` with nothing changed only prints the summary.  ``--force``
runs everything.

Usage: ``python -m reproduce.harness.run_notebooks [NAME ...] [--force]`` (names
match notebook file names by substring; default: all).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import nbformat
import papermill as pm
from tqdm import tqdm

from ..params import DATA

ROOT = DATA.parent

NOTEBOOKS = ROOT / "notebooks"
KERNEL = "reproduce"


def fingerprint(path: Path) -> str:
    """Hash of everything a notebook's outputs depend on: the package source,
    ``data/params`` and ``data/paper``, and the notebook's cell sources."""
    h = hashlib.sha256()
    files = sorted((ROOT / "reproduce").rglob("*.py")) + \
        sorted((ROOT / "data" / "params").glob("*")) + sorted((ROOT / "data" / "paper").glob("*"))
    for f in files:
        h.update(str(f.relative_to(ROOT)).encode())
        h.update(f.read_bytes())
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        h.update(cell.cell_type.encode())
        h.update(cell.source.encode())
    return h.hexdigest()[:16]


def up_to_date(path: Path) -> bool:
    """Executed before, with the same fingerprint, and all cells have run."""
    nb = nbformat.read(path, as_version=4)
    stored = nb.metadata.get("reproduce", {}).get("fingerprint")
    ran = all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")
    return ran and stored == fingerprint(path)


def strip_volatile(path: Path) -> None:
    """Drop papermill's timestamps and durations from a notebook."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    nb = nbformat.read(path, as_version=4)
    nb.metadata["reproduce"] = {"fingerprint": fingerprint(path)}
    nbformat.write(nb, path)


def run(names: list[str] | None = None, force: bool = False) -> list[Path]:
    books = sorted(NOTEBOOKS.glob("*.ipynb"))
    if names:
        books = [b for b in books if any(n in b.name for n in names)]
        if not books:
            raise SystemExit(f"reproduce: error: no notebook matches {names!r}")
    todo = [b for b in books if force or not up_to_date(b)]
    if len(todo) < len(books):
        print(f"{len(books) - len(todo)} notebook(s) up to date, not re-run "
              f"(--force runs them)")
    for nb in tqdm(todo, desc="notebooks", unit="nb"):
        execute(nb)
    return books


def execute(nb: Path) -> None:
    """Execute *nb* into a temporary notebook beside it, then rename it over
    *nb*: Ctrl-C or a failing cell leaves the committed notebook whole, never
    one with its outputs removed or a KeyboardInterrupt in them."""
    tmp = nb.with_name(f".{nb.stem}.running.json")     # not *.ipynb: never collected
    try:
        pm.execute_notebook(str(nb), str(tmp), kernel_name=KERNEL, cwd=str(NOTEBOOKS),
                            progress_bar=False)
        strip_volatile(tmp)
        os.replace(tmp, nb)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reproduce.harness.run_notebooks")
    ap.add_argument("names", nargs="*", help="run only notebooks whose name contains these")
    ap.add_argument("--no-summary", action="store_true")
    ap.add_argument("--force", action="store_true", help="re-run notebooks that are up to date")
    a = ap.parse_args(argv)
    from .calibrate import ensure
    doc, fitted = ensure()
    if fitted:
        print(f"calibration refitted for model version {doc['model_version']}")
    try:
        run(a.names, a.force)
    except KeyboardInterrupt:
        print("reproduce: interrupted; the notebooks not yet finished are unchanged",
              file=sys.stderr)
        return 130
    if not a.no_summary:
        from .experiments import headline, summary_table
        import pandas as pd
        table = summary_table()
        print("\nVerdict: " + headline(table))
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print("\nPaper vs model (model: mean and range over seeds)")
            print(table.drop(columns=["note"]).round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
