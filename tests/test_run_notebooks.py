"""make reproduce's runner: a notebook re-runs only when its inputs change."""
from __future__ import annotations

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_notebook

from reproduce.cli import run_notebooks as R
from reproduce.report import verdict as V


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


def test_strip_volatile_drops_widget_state_and_views_but_keeps_their_text(tmp_path):
    # a displayed widget carries a random model id, new at every execution
    p = tmp_path / "v.ipynb"
    _write(p, "panel", executed=True)
    nb = nbformat.read(p, as_version=4)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"a1": {}}}}
    nb.cells[0].outputs = [nbformat.v4.new_output(
        "display_data", data={R.WIDGET_VIEW: {"model_id": "a1", "version_major": 2},
                              "text/plain": "VBox(children=(IntSlider(value=2),))"})]
    nbformat.write(nb, p)
    R.strip_volatile(p)
    nb = nbformat.read(p, as_version=4)
    assert "widgets" not in nb.metadata
    assert nb.cells[0].outputs[0]["data"] == {"text/plain": "VBox(children=(IntSlider(value=2),))"}


def test_an_interrupted_run_leaves_the_committed_notebook_whole(tmp_path, monkeypatch):
    # papermill is interrupted (Ctrl-C) after writing part of its output: the
    # committed notebook keeps its bytes and no temporary is left behind
    import papermill

    p = tmp_path / "z.ipynb"
    _write(p, "3", executed=True)
    before = p.read_bytes()

    def interrupted(src, dst, **kw):
        open(dst, "w").write("{half a notebook")
        raise KeyboardInterrupt

    monkeypatch.setattr(papermill, "execute_notebook", interrupted)
    try:
        R.execute(p, progress=False)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the interrupt was swallowed")
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["z.ipynb"]


def test_a_finished_run_replaces_the_notebook_and_stamps_it(tmp_path, monkeypatch):
    import papermill

    p = tmp_path / "w.ipynb"
    _write(p, "4", executed=False)

    def ran(src, dst, **kw):
        nb = nbformat.read(src, as_version=4)
        nb.cells[0].execution_count = 1
        nb.metadata["papermill"] = {"duration": 2.0}
        nbformat.write(nb, dst)

    monkeypatch.setattr(papermill, "execute_notebook", ran)
    R.execute(p, progress=False)
    assert R.up_to_date(p)
    assert "papermill" not in nbformat.read(p, as_version=4).metadata
    assert [f.name for f in tmp_path.iterdir()] == ["w.ipynb"]


def test_runs_execute_every_notebook_unless_told_only_stale(tmp_path, monkeypatch):
    for name in ("01-a.ipynb", "02-b.ipynb"):
        _write(tmp_path / name, "1", executed=True)
    R.strip_volatile(tmp_path / "01-a.ipynb")           # up to date
    monkeypatch.setattr(R, "NOTEBOOKS", tmp_path)
    done = []
    monkeypatch.setattr(R, "execute", lambda p, progress=True, label=None: done.append(p.name))
    R.execute_selected()
    assert done == ["01-a.ipynb", "02-b.ipynb"]
    done.clear()
    R.execute_selected(force=False)
    assert done == ["02-b.ipynb"]
    assert [p.name for p in R.stale_notebooks()] == ["02-b.ipynb"]


def test_ranges_and_units_read_like_the_paper():
    assert V.span(20, 23, "%", paper=True) == "20-23 %"
    assert V.span(-5, 5, "%", paper=True) == "-5 to 5 %"
    assert V.span(14.1524, 14.1524, "%") == "14.2 %"
    assert V.span(2.0706, 2.0706, "ratio") == "2.07"
    assert V.span(1, 1, "pages") == "1 page"
    assert V._bounds("-0.05-0.05") == (-0.05, 0.05)
    assert V._bounds("-0.05 to 0.05") == (-0.05, 0.05)
    assert V._bounds("20-23") == (20.0, 23.0)


def _summary(rows):
    cols = ["quantity", "unit", "paper", "model", "model_min", "model_max", "status", "verdict"]
    return pd.DataFrame(rows, columns=cols)


def test_headline_counts_genuine_predictions_and_points_each_miss_to_its_notebook():
    t = _summary([
        ("Table 1 UP kernel", "%", "36 %", 36.0, 35.0, 37.0, "calibrated", "match"),
        ("Table 1 SMP spin", "%", "20-23 %", 14.2, 12.7, 15.0, "predicted", "miss"),
        ("SMP speedup over UP", "ratio", "1.2", 2.07, 2.04, 2.11, "predicted", "miss"),
        ("Affinity gain", "%", "-5 to 5 %", 2.1, 0.7, 3.7, "predicted", "match"),
        ("Pages of a new single-threaded container", "pages", "2", 2, 2, 2,
         "by construction", "match"),
    ])
    text = V.headline(t, misses=True)
    *misses, last = text.splitlines()
    assert "1 of 3 genuine predictions match" in last and last.startswith("Verdict: ")
    assert len(misses) == 2
    assert "Table 1 SMP spin: model 14.2 %" in misses[0] and "20-23 %" in misses[0]
    assert "01-E1" in misses[0]
    assert "SMP speedup over UP: model 2.07" in misses[1] and "02-E2" in misses[1]


def test_notebooks_run_beside_the_heavy_steps_and_its_readers_after_them(tmp_path, monkeypatch):
    # jobs=2: the notebooks run in worker processes while E8 computes here;
    # the two that render E8's tables start only once it has finished
    names = ["01-a.ipynb", "02-b.ipynb", *R.AFTER_HEAVY]
    for name in names:
        _write(tmp_path / name, "1", executed=True)
    monkeypatch.setattr(R, "NOTEBOOKS", tmp_path)
    log = tmp_path / "log"

    def fake(path, progress=True, label=None):      # runs in a forked worker
        with open(log, "a") as f:
            f.write(f"{path.name}\n")

    monkeypatch.setattr(R, "execute", fake)

    def heavy():
        with open(log, "a") as f:
            f.write("E8 done\n")

    R.execute_selected(jobs=2, during=heavy)
    lines = log.read_text().split()
    assert sorted(lines) == sorted(names + ["E8", "done"])
    e8 = lines.index("done")
    assert all(lines.index(n) > e8 for n in R.AFTER_HEAVY)


def test_a_failing_notebook_is_raised_after_the_others_finish(tmp_path, monkeypatch):
    for name in ("01-a.ipynb", "02-bad.ipynb", "03-c.ipynb"):
        _write(tmp_path / name, "1", executed=True)
    monkeypatch.setattr(R, "NOTEBOOKS", tmp_path)

    def fake(path, progress=True, label=None):
        if "bad" in path.name:
            raise RuntimeError("cell 3 failed")
        (path.parent / (path.stem + ".ran")).write_text("ok")

    monkeypatch.setattr(R, "execute", fake)
    try:
        R.execute_selected(jobs=2)
    except RuntimeError as e:
        assert "cell 3 failed" in str(e)
    else:
        raise AssertionError("the failure was not raised")
    assert sorted(p.name for p in tmp_path.glob("*.ran")) == ["01-a.ran", "03-c.ran"]


def test_every_notebook_that_reads_e8s_tables_runs_after_the_heavy_steps():
    # a notebook that imports E8 or the explorer (which reads E8's fitted
    # causes) must not run while E8 rewrites its tables
    import json
    for nb in sorted(R.NOTEBOOKS.glob("[!.]*.ipynb")):
        code = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"]
                         if c["cell_type"] == "code")
        reads = "e8" in code or "report.explore" in code or "report import explore" in code
        assert reads == (nb.name in R.AFTER_HEAVY), nb.name


def test_jobs_must_be_a_whole_number_of_at_least_one(capsys):
    import pytest
    for bad in ("0", "-1", "two"):
        with pytest.raises(SystemExit):
            R.main(["--check", "--jobs", bad])
        assert "--jobs" in capsys.readouterr().err
