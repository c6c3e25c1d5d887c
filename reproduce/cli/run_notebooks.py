"""``make reproduce`` and ``make check``: the notebooks, executed or verified.

``make reproduce`` (``python -m reproduce.cli.run_notebooks``) executes
every notebook with papermill, each with the defaults of its ``parameters``
cell (those reproduce the paper), on the kernel named ``reproduce`` that
``make`` registers inside ``.venv``.  Notebooks are independent of one
another, so they run one per core at once (``--jobs``), each in a process
of its own, while the heavy steps (E8, when its tables are not of the
current model) compute in this one; the notebooks that render the heavy
steps' tables (:data:`AFTER_HEAVY`) run after them.  Each writes the same
bytes whatever ran beside it.  Every notebook is
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

Both end with the headline (:func:`reproduce.report.verdict.headline`): how
many of the genuine predictions (rows of
:func:`~reproduce.experiments.paper.summary_table` whose status is
``predicted``; ``calibrated``, ``fitted`` and ``by construction`` rows are not
predictions) land in the paper's range, and for each miss the notebook that
discusses it.

Usage: ``python -m reproduce.cli.run_notebooks [NAME ...] [--check]
[--only-stale]`` (names match notebook file names by substring; default: all).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Callable

import nbformat
import pandas as pd
import papermill as pm

from ..params import DATA
from ..report.verdict import headline, readable

ROOT = DATA.parent

NOTEBOOKS = ROOT / "notebooks"
SUMMARY_CSV = DATA / "results" / "summary.csv"
KERNEL = "reproduce"


def notebook_fingerprint(path: Path) -> str:
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
    return ran and stored == notebook_fingerprint(path)


# The output of a displayed widget that names its model: a random id, new at
# every execution, of a model that lives only as long as the kernel.
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def strip_volatile(path: Path) -> None:
    """Drop papermill's timestamps and durations from a notebook, and the
    widgets' state and views (random model ids; the text of each widget's
    display stays), and stamp its fingerprint."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            out.get("data", {}).pop(WIDGET_VIEW, None)
    nbformat.write(nb, path)
    nb = nbformat.read(path, as_version=4)
    nb.metadata["reproduce"] = {"fingerprint": notebook_fingerprint(path)}
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


# The notebooks that render a heavy step's tables (E8's CSVs: notebook 10
# draws them, the explorer takes E8's fitted causes from them): they run
# after the heavy steps; every other notebook runs while E8 computes.
AFTER_HEAVY = ("10-why-1.2.ipynb", "12-explore.ipynb")


def _timed(path: Path) -> float:
    """Execute *path* (no progress bar: several run at once); the wall
    seconds it took.  Module-level, so a process pool can call it."""
    t0 = time.perf_counter()
    execute(path, progress=False)
    return time.perf_counter() - t0


def _run_batch(books: list[Path], jobs: int, start: int, total: int,
               during: Callable[[], None] | None = None) -> None:
    """Execute *books*, *jobs* at a time, each in a process of its own,
    calling *during* (the heavy steps) meanwhile in this process; one line
    as each finishes.  A failure in one notebook lets the others finish
    (each keeps its committed contents until it has run whole), then is
    raised.  With one job and nothing to do meanwhile: one after another,
    here, with a progress bar of cells."""
    if jobs == 1 and during is None:
        for k, nb in enumerate(books, start):
            t0 = time.perf_counter()
            execute(nb, label=f"[{k}/{total}] {nb.stem}")
            print(f"[{k}/{total}] {nb.name}: executed in {time.perf_counter() - t0:.1f} s",
                  flush=True)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from ..bench.sweep import mp_context
    failed: list[BaseException] = []
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(books) or 1)),
                             mp_context=mp_context()) as ex:
        futs = {ex.submit(_timed, nb): nb for nb in books}
        try:
            if during is not None:
                during()
        except BaseException as e:       # the notebooks already running finish first
            failed.append(e)
        for k, f in enumerate(as_completed(futs), start):
            nb = futs[f]
            try:
                print(f"[{k}/{total}] {nb.name}: executed in {f.result():.1f} s", flush=True)
            except BaseException as e:
                print(f"[{k}/{total}] {nb.name}: FAILED ({type(e).__name__}); "
                      "its committed contents are kept", flush=True)
                failed.append(e)
    if failed:
        raise failed[0]


def execute_selected(names: list[str] | None = None, force: bool = True,
                     jobs: int = 1, during: Callable[[], None] | None = None) -> list[Path]:
    """Execute the selected notebooks (all by default); with
    ``force=False`` only those whose fingerprint is stale.  *jobs*
    notebooks at a time; *during* (the heavy steps) is called while the
    notebooks that do not render its tables run (:data:`AFTER_HEAVY` run
    after it)."""
    books = select(names)
    todo = [b for b in books if force or not up_to_date(b)]
    if len(todo) < len(books):
        print(f"{len(books) - len(todo)} notebook(s) up to date, not re-run")
    first = [b for b in todo if b.name not in AFTER_HEAVY]
    after = [b for b in todo if b.name in AFTER_HEAVY]
    _run_batch(first, jobs, 1, len(todo), during)
    _run_batch(after, jobs, len(first) + 1, len(todo))
    return books


def stale_notebooks(names: list[str] | None = None) -> list[Path]:
    """The selected notebooks whose outputs were not made from this tree
    (printed one per line)."""
    stale = []
    for nb in select(names):
        ok = up_to_date(nb)
        print(f"{'ok   ' if ok else 'STALE'} {nb.name}")
        if not ok:
            stale.append(nb)
    return stale


def summary_for(ran: list[Path]) -> pd.DataFrame:
    """The paper-vs-model table: as the summary notebook wrote it when that
    notebook ran (or is up to date), else computed."""
    wrote = [b for b in ran if "summary" in b.name]
    if SUMMARY_CSV.exists() and (wrote or any(up_to_date(b) for b in select(["summary"]))):
        return pd.read_csv(SUMMARY_CSV, dtype={"paper": str})
    from ..experiments.paper import summary_table
    return summary_table()


def print_report(table: pd.DataFrame) -> None:
    """The paper-vs-model table as a reader reads it, then the headline with
    one line per missed prediction."""
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.max_colwidth", 60):
        print("\nPaper vs model (model: mean over seeds, and its range)")
        print(readable(table).to_string(index=False))
    print()
    print(headline(table, misses=True))


def heavy_steps() -> None:
    """The experiments too heavy for a notebook, run before the notebooks
    that render their tables, and only when their tables are not of the
    current model: E8 (tens of variants, each calibrated and fitted; several
    minutes on two cores, seconds from the result cache)."""
    from ..experiments import e8
    if not e8.stale():
        print("E8 tables are of the current model: not rerun")
        return
    print("E8 (heavy step): fitting every cause and pair to the speedup ...", flush=True)
    t = time.perf_counter()
    e8.e8_why(seeds=e8.SEEDS, progress=False)
    print(f"E8 done in {time.perf_counter() - t:.0f} s")
    # docs/why-1.2.md's results are written from E8's tables.
    from ..report import why12
    why12.main([])


def _jobs(text: str) -> int:
    """``--jobs``: a whole number >= 1, else argparse's one-line error."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a whole number >= 1")
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reproduce.cli.run_notebooks")
    ap.add_argument("names", nargs="*", help="run only notebooks whose name contains these")
    ap.add_argument("--check", action="store_true",
                    help="execute nothing: verify that each notebook's outputs were made "
                         "from this tree (exit 1 if not)")
    ap.add_argument("--only-stale", action="store_true",
                    help="execute only notebooks whose fingerprint is stale")
    ap.add_argument("--force", action="store_true", help="(default; kept for old scripts)")
    ap.add_argument("--no-summary", action="store_true")
    ap.add_argument("--jobs", type=_jobs, default=os.cpu_count() or 1, metavar="N",
                    help="notebooks executed at once, beside the heavy steps (default: one "
                         "per core; 1: one after another, with a progress bar of cells)")
    a = ap.parse_args(argv)
    if a.check:
        stale = stale_notebooks(a.names)
        if stale:
            print(f"\n{len(stale)} notebook(s) stale: `make reproduce` re-executes them")
        elif not a.no_summary:
            print_report(summary_for(select(a.names)))
        return 1 if stale else 0
    from ..bench.calibrate import ensure
    doc, fitted = ensure()
    if fitted:
        print(f"calibration refitted for model version {doc['model_version']}")
    ran = execute_selected(a.names, force=not a.only_stale, jobs=a.jobs, during=heavy_steps)
    if not a.no_summary:
        print_report(summary_for(ran))
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
