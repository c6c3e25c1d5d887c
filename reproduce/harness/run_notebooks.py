"""``make reproduce`` and ``make check``: the notebooks, executed or verified.

``make reproduce`` (``python -m reproduce.harness.run_notebooks``) executes
every notebook with papermill, in name order, each with the defaults of its
``parameters`` cell (those reproduce the paper), on the kernel named
``reproduce`` that ``make`` registers inside ``.venv``.  Every notebook is
executed, whatever its stored fingerprint says: a reader who types ``make
reproduce`` must get results computed on their machine, not the ones that
came with the clone.

A notebook is executed into a temporary file beside it, cleaned of
papermill's timing metadata, stamped with its fingerprint and only then
renamed over the committed one; Ctrl-C or a failing cell leaves the
committed notebook as it was.  With nothing changed the run writes the same
bytes, so ``git status`` stays clean.

``make check`` (``--check``) executes nothing: it says for each notebook
whether its stored fingerprint (a hash of the package source, the parameter
and paper tables, and the notebook's own cells) matches the tree, i.e.
whether its outputs were made from this code, and exits 1 if one does not.

Both end with the headline: how many of the genuine predictions (rows of
:func:`~reproduce.harness.paper.summary_table` whose status is ``predicted``;
``calibrated``, ``fitted`` and ``by construction`` rows are not predictions)
land in the paper's range, and for each miss the notebook that discusses it.

Usage: ``python -m reproduce.harness.run_notebooks [NAME ...] [--check]
[--only-stale]`` (names match notebook file names by substring; default: all).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import papermill as pm

from ..params import DATA

ROOT = DATA.parent

NOTEBOOKS = ROOT / "notebooks"
SUMMARY_CSV = DATA / "results" / "summary.csv"
KERNEL = "reproduce"
GENUINE = "predicted"

# Which evaluation a summary row belongs to, by its quantity's wording; the
# notebook whose name carries that evaluation discusses its result.
EVALUATION_OF = (
    (r"^Table 1", "E1"),
    (r"speedup|Amdahl", "E2"),
    (r"MP kernel on 1 CPU", "E3"),
    (r"[Aa]ffinity", "E4"),
    (r"priority|time-slice|timeslice", "E5"),
    (r"[Pp]ages", "E6"),
)


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
    """Drop papermill's timestamps and durations from a notebook and stamp
    its fingerprint."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    nb = nbformat.read(path, as_version=4)
    nb.metadata["reproduce"] = {"fingerprint": fingerprint(path)}
    nbformat.write(nb, path)


def execute(path: Path, progress: bool = True, label: str | None = None) -> None:
    """Execute *path* into a temporary notebook beside it, then rename it
    over *path*.  Any failure or interruption removes the temporary and
    leaves *path* untouched.  The progress bar (cells) is named *label*,
    by default the notebook's name."""
    tmp = path.with_name(f".{path.stem}.running.json")    # not *.ipynb: never collected
    bar = {"desc": label or path.stem} if progress else False
    try:
        pm.execute_notebook(str(path), str(tmp), kernel_name=KERNEL, cwd=str(NOTEBOOKS),
                            progress_bar=bar)
        strip_volatile(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def select(names: list[str] | None = None) -> list[Path]:
    """The notebooks to run: all, or those whose file name contains one of
    *names*."""
    books = sorted(NOTEBOOKS.glob("[!.]*.ipynb"))
    if names:
        books = [b for b in books if any(n in b.name for n in names)]
        if not books:
            raise SystemExit(f"reproduce: error: no notebook matches {names!r}")
    return books


def run(names: list[str] | None = None, force: bool = True) -> list[Path]:
    """Execute the selected notebooks (all by default); with
    ``force=False`` only those whose fingerprint is stale."""
    books = select(names)
    todo = [b for b in books if force or not up_to_date(b)]
    if len(todo) < len(books):
        print(f"{len(books) - len(todo)} notebook(s) up to date, not re-run")
    for k, nb in enumerate(todo, 1):
        t0 = time.perf_counter()
        execute(nb, label=f"[{k}/{len(todo)}] {nb.stem}")
        print(f"[{k}/{len(todo)}] {nb.name}: executed in {time.perf_counter() - t0:.1f} s",
              flush=True)
    return books


def check(names: list[str] | None = None) -> list[Path]:
    """The selected notebooks whose outputs were not made from this tree
    (printed one per line)."""
    stale = []
    for nb in select(names):
        ok = up_to_date(nb)
        print(f"{'ok   ' if ok else 'STALE'} {nb.name}")
        if not ok:
            stale.append(nb)
    return stale


# ------------------------------------------------------------------ verdict
def _bounds(paper: str) -> tuple[float, float]:
    """``"20-23"`` -> (20, 23); ``"-0.05-0.05"`` and ``"-0.05 to 0.05"`` ->
    (-0.05, 0.05); ``"2"`` -> (2, 2)."""
    m = re.fullmatch(r"\s*(-?[0-9.eE+]+)(?:(?:-| to )(-?[0-9.eE+]+))?\s*", str(paper))
    if not m:
        raise ValueError(f"paper value {paper!r}: expected a number or LO-HI")
    lo = float(m.group(1))
    return lo, float(m.group(2)) if m.group(2) is not None else lo


def _num(x: float, unit: str, paper: bool) -> str:
    """The paper's numbers as printed there; the model's to 0.1 % or 3 digits."""
    if paper:
        return f"{x:g}"
    if unit == "%":
        return f"{x:.1f}"
    return f"{x:.3g}"


def span(lo: float, hi: float, unit: str, paper: bool = False) -> str:
    """A value or range with its unit: ``20-23 %``, ``-5 to 5 %``, ``1.2``."""
    if unit == "pages":
        suffix = " page" if lo == hi == 1 else " pages"
    else:
        suffix = {"%": " %", "ratio": ""}.get(unit, f" {unit}")
    a, b = _num(lo, unit, paper), _num(hi, unit, paper)
    if a == b:
        return f"{a}{suffix}"
    sep = " to " if lo < 0 or hi < 0 else "-"
    return f"{a}{sep}{b}{suffix}"


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The summary table as a reader wants it: fractions as %, the paper's
    value or range and the model's mean and range over seeds as text with
    units (``20-23 %``)."""
    rows = []
    for r in table.itertuples(index=False):
        scale, unit = (100.0, "%") if r.unit == "fraction" else (1.0, r.unit)
        paper = str(r.paper)
        if not paper.rstrip().endswith(("%", "page", "pages")):
            lo, hi = _bounds(paper)
            paper = span(lo * scale, hi * scale, unit, paper=True)
        rows.append({"quantity": r.quantity, "paper": paper,
                     "model": span(r.model * scale, r.model * scale, unit),
                     "model range (seeds)": span(r.model_min * scale, r.model_max * scale, unit),
                     "status": r.status, "verdict": r.verdict})
    return pd.DataFrame(rows)


def notebook_for(quantity: str) -> str:
    """The notebook of the evaluation *quantity* belongs to (relative path)."""
    for pattern, ev in EVALUATION_OF:
        if re.search(pattern, quantity):
            hits = sorted(NOTEBOOKS.glob(f"*-{ev}-*.ipynb"))
            if hits:
                return str(hits[0].relative_to(ROOT))
    hits = sorted(NOTEBOOKS.glob("*summary*.ipynb"))
    return str(hits[0].relative_to(ROOT)) if hits else "notebooks/"


def headline(table: pd.DataFrame) -> str:
    """One line per missed prediction, with the model's and the paper's
    numbers and the notebook of its evaluation, then, last, the verdict
    (:func:`~reproduce.harness.paper.headline`: ``N of M genuine
    predictions match ...``)."""
    from .paper import headline as verdict
    lines = []
    pred = table[table["status"] == GENUINE]
    for r in readable(pred).itertuples(index=False):
        if r.verdict != "match":
            lines.append(f"  miss: {r.quantity}: model {r.model} (seeds {r[3]}), "
                         f"paper {r.paper}; results in {notebook_for(r.quantity)}")
    lines.append("Verdict: " + verdict(table))
    return "\n".join(lines)


def summary(ran: list[Path]) -> pd.DataFrame:
    """The paper-vs-model table: as the summary notebook wrote it when that
    notebook ran (or is up to date), else computed."""
    wrote = [b for b in ran if "summary" in b.name]
    if SUMMARY_CSV.exists() and (wrote or any(up_to_date(b) for b in select(["summary"]))):
        return pd.read_csv(SUMMARY_CSV, dtype={"paper": str})
    from .experiments import summary_table
    return summary_table()


def report(table: pd.DataFrame) -> None:
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.max_colwidth", 60):
        print("\nPaper vs model (model: mean over seeds, and its range)")
        print(readable(table).to_string(index=False))
    print()
    print(headline(table))


def heavy_steps() -> None:
    """The experiments too heavy for a notebook, run before the notebooks
    that render their tables, and only when their tables are not of the
    current model: E8 (tens of variants, each calibrated and fitted; several
    minutes on two cores, seconds from the result cache)."""
    from . import e8
    if not e8.stale():
        print("E8 tables are of the current model: not rerun")
        return
    print("E8 (heavy step): fitting every cause and pair to the speedup ...", flush=True)
    t = time.perf_counter()
    e8.e8_why(seeds=e8.SEEDS, progress=False)
    print(f"E8 done in {time.perf_counter() - t:.0f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reproduce.harness.run_notebooks")
    ap.add_argument("names", nargs="*", help="run only notebooks whose name contains these")
    ap.add_argument("--check", action="store_true",
                    help="execute nothing: verify that each notebook's outputs were made "
                         "from this tree (exit 1 if not)")
    ap.add_argument("--only-stale", action="store_true",
                    help="execute only notebooks whose fingerprint is stale")
    ap.add_argument("--force", action="store_true", help="(default; kept for old scripts)")
    ap.add_argument("--no-summary", action="store_true")
    a = ap.parse_args(argv)
    if a.check:
        stale = check(a.names)
        if stale:
            print(f"\n{len(stale)} notebook(s) stale: `make reproduce` re-executes them")
        elif not a.no_summary:
            report(summary(select(a.names)))
        return 1 if stale else 0
    from ..bench.calibrate import ensure
    doc, fitted = ensure()
    if fitted:
        print(f"calibration refitted for model version {doc['model_version']}")
    heavy_steps()
    ran = run(a.names, force=not a.only_stale)
    if not a.no_summary:
        report(summary(ran))
    return 0


def _main() -> int:
    """``main`` with Ctrl-C as a one-line message and the shell's status."""
    try:
        return main()
    except KeyboardInterrupt:
        print("\ninterrupted: the notebook being executed keeps its committed contents",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(_main())
