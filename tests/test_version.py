"""The model version: code and parameter values count, comments and notes do not."""
from __future__ import annotations

import reproduce.version as V

MODULE = '''"""Module doc."""
import math


def stretch(x):
    """Stretch *x*."""
    # why: the bus is busy
    return math.ceil(x * 1.15)


class Lock:
    """A lock."""

    def take(self):
        """Only a docstring."""
'''

TABLE = '''[costs]
trap = { value = 100, source = "measured" }
line_transfer = { value = 50, source = "assumed" }
'''


def test_docstrings_comments_and_layout_do_not_count():
    edited = (MODULE.replace('"""Stretch *x*."""', '"""Stretch *x*, in cycles."""')
              .replace("# why: the bus is busy", "# the bus is busy with locked cycles")
              .replace("return math.ceil(x * 1.15)", "return math.ceil(\n        x * 1.15)"))
    assert edited != MODULE
    assert V.code_fingerprint(edited) == V.code_fingerprint(MODULE)


def test_code_counts():
    for edited in (MODULE.replace("1.15", "1.2"), MODULE.replace("ceil", "floor"),
                   MODULE.replace('"""Only a docstring."""', "return 1")):
        assert V.code_fingerprint(edited) != V.code_fingerprint(MODULE)


def test_parameter_values_count_their_sources_do_not():
    assert V.table_fingerprint(TABLE.replace('"measured"', '"measured, Intel manual"')) \
        == V.table_fingerprint(TABLE)
    assert V.table_fingerprint(TABLE.replace("value = 100", "value = 101")) \
        != V.table_fingerprint(TABLE)


def test_model_version_follows_the_files(tmp_path, monkeypatch):
    py, toml = tmp_path / "m.py", tmp_path / "t.toml"
    py.write_text(MODULE)
    toml.write_text(TABLE)
    monkeypatch.setattr(V, "ROOT", tmp_path / "pkg")
    monkeypatch.setattr(V, "model_files", lambda: [py, toml])
    monkeypatch.setattr(V, "MEMO", tmp_path / "memo.json")

    def version() -> str:
        V.model_version.cache_clear()
        return V.model_version()

    try:
        v0 = version()
        py.write_text(MODULE.replace('"""Module doc."""', '"""Reworded."""'))
        assert version() == v0
        toml.write_text(TABLE.replace("value = 50", "value = 60"))
        assert version() != v0
    finally:
        V.model_version.cache_clear()


def test_every_model_file_exists_and_parses():
    files = V.model_files()
    assert any(p.name == "kernel.py" for p in files) and any(p.suffix == ".toml" for p in files)
    assert all(V.fingerprint(p) for p in files)


def test_memo_answers_only_for_the_same_bytes(tmp_path, monkeypatch):
    """The memo of the version is keyed by the files' bytes: a memo hit gives
    what parsing gives, and an edit that changes the code is never answered
    from the memo of the old bytes."""
    py = tmp_path / "m.py"
    py.write_text(MODULE)
    monkeypatch.setattr(V, "ROOT", tmp_path / "pkg")
    monkeypatch.setattr(V, "model_files", lambda: [py])
    monkeypatch.setattr(V, "MEMO", tmp_path / "memo.json")
    try:
        V.model_version.cache_clear()
        parsed = V.model_version()
        assert V.MEMO.exists()
        V.model_version.cache_clear()
        assert V.model_version() == parsed                       # from the memo
        V.MEMO.write_text("not json")
        V.model_version.cache_clear()
        assert V.model_version() == parsed                       # unreadable memo: parsed
        py.write_text(MODULE + "\nX = 1\n")
        V.model_version.cache_clear()
        assert V.model_version() != parsed
    finally:
        V.model_version.cache_clear()


def test_the_bench_counts_only_its_model_modules():
    """Of bench/, the modules a result depends on are the model; the
    sweep, the runs by key, the result cache and the snapshot only run
    scenarios and store what they give, so editing them keeps the version."""
    bench = {p.name for p in V.model_files() if p.parent.name == "bench"}
    assert bench == {"workload.py", "memory_workload.py", "scenario.py", "run.py", "result.py",
                     "calibration.py", "calibrate.py"}
    assert all((V.ROOT / "bench" / name).exists() for name in bench)
    rooms = {p.parent.name for p in V.model_files() if p.suffix == ".py"}
    assert rooms == {"machine", "kernel", "bench", "reproduce"}
