"""What-if notebook runs never write over the committed results
(reproduce.report.tables.outputs)."""
from __future__ import annotations

import json

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from reproduce.errors import ConfigError
from reproduce.report import tables as T


@pytest.fixture
def book(tmp_path, monkeypatch):
    nb = new_notebook()
    nb.cells.append(new_code_cell('seeds = 5\ncpus = (1, 2, 4)\noutput_dir = ""',
                                  metadata={"tags": ["parameters"]}))
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "07-x.ipynb")
    monkeypatch.setattr(T, "NOTEBOOKS", tmp_path / "notebooks")
    monkeypatch.setattr(T, "RUNS", tmp_path / "runs")
    yield tmp_path
    T._where.update(figures=T.FIGURES, results=T.RESULTS)


def test_defaults_write_the_committed_results(book):
    assert T.default_parameters("07-x") == {"seeds": 5, "cpus": (1, 2, 4), "output_dir": ""}
    # papermill passes a list where the cell has a tuple: still the default
    assert T.outputs("07-x", {"seeds": 5, "cpus": [1, 2, 4], "output_dir": ""}) == T.ROOT
    assert T.output_paths() == {"figures": T.FIGURES, "results": T.RESULTS}


def test_a_changed_parameter_goes_to_its_own_run_directory(book):
    base = T.outputs("07-x", {"seeds": 10, "cpus": (1, 2, 4), "output_dir": ""})
    assert base == book / "runs" / "07-x_seeds=10"
    assert T.output_paths()["results"] == base / "results"
    T.save_table(pd.DataFrame({"a": [1]}), "t")
    assert (base / "results" / "t.csv").exists()
    assert json.loads((base / "parameters.json").read_text())["seeds"] == 10


def test_a_named_run_goes_to_runs_name_even_with_defaults(book):
    base = T.outputs("07-x", {"seeds": 5, "cpus": (1, 2, 4), "output_dir": "trial"})
    assert base == book / "runs" / "trial"
    assert T.output_paths()["figures"] == base / "figures"


def test_a_run_may_not_name_the_committed_directories(book):
    with pytest.raises(ConfigError, match="output_dir"):
        T.outputs("07-x", {"seeds": 9, "cpus": (1,), "output_dir": str(T.FIGURES)})


def test_every_notebook_has_an_output_dir_parameter_and_calls_outputs():
    for path in sorted(T.NOTEBOOKS.glob("[0-9]*.ipynb")):
        assert T.OUTPUT_DIR in T.default_parameters(path.stem), path.name
        code = "".join(c.source for c in nbformat.read(path, as_version=4).cells)
        number = path.stem.split("-")[0]
        assert f'outputs("{path.stem}", globals())' in code or \
            f'outputs("{number}", globals())' in code, path.name
        assert T.notebook_stem(number) == path.stem


def test_a_notebook_may_be_named_by_its_number(book):
    assert T.notebook_stem("07") == "07-x"
    assert T.outputs("07", {"seeds": 10, "cpus": (1, 2, 4), "output_dir": ""}) \
        == book / "runs" / "07-x_seeds=10"
    nbformat.write(new_notebook(), book / "notebooks" / "07-y.ipynb")
    with pytest.raises(ConfigError, match="2 named 07-"):
        T.notebook_stem("07")
    with pytest.raises(ConfigError, match="no notebooks/99.ipynb"):
        T.notebook_stem("99")
