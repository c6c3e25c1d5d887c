"""make reproduce's runner: a notebook re-runs only when its inputs change."""
from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from reproduce.harness import run_notebooks as R


def _write(path, source, executed):
    nb = new_notebook()
    c = new_code_cell(source)
    c.execution_count = 1 if executed else None
    nb.cells.append(c)
    nbformat.write(nb, path)


def test_fingerprint_marks_a_notebook_up_to_date_until_a_cell_changes(tmp_path):
    p = tmp_path / "x.ipynb"
    _write(p, "1 + 1", executed=False)
    assert not R.up_to_date(p)                 # never executed
    _write(p, "1 + 1", executed=True)
    assert not R.up_to_date(p)                 # executed, but no fingerprint
    R.strip_volatile(p)                        # what run() does after papermill
    assert R.up_to_date(p)
    _write(p, "1 + 2", executed=True)
    nb = nbformat.read(p, as_version=4)
    nb.metadata["reproduce"] = {"fingerprint": "stale"}
    nbformat.write(nb, p)
    assert not R.up_to_date(p)


def test_strip_volatile_drops_papermill_timing(tmp_path):
    p = tmp_path / "y.ipynb"
    _write(p, "2", executed=True)
    nb = nbformat.read(p, as_version=4)
    nb.metadata["papermill"] = {"duration": 1.5}
    nb.cells[0].metadata["papermill"] = {"start_time": "now"}
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "now"}
    nbformat.write(nb, p)
    R.strip_volatile(p)
    nb = nbformat.read(p, as_version=4)
    assert "papermill" not in nb.metadata
    assert "papermill" not in nb.cells[0].metadata and "execution" not in nb.cells[0].metadata
