"""docs/assumptions.md is generated from data/params/ and kept in step."""
from __future__ import annotations

import tomllib

from reproduce.params import PARAMS_DIR
from reproduce.report import assumptions as A


def test_committed_page_is_the_generated_one():
    # fails after a change to data/params/: run `python -m reproduce.report.assumptions`
    assert A.PAGE.read_text(encoding="utf-8") == A.render()
    assert A.main(["--check"]) == 0


def test_every_parameter_appears_in_its_file_and_section_with_its_kind():
    text = A.render()
    n = 0
    for path in sorted(PARAMS_DIR.glob("*.toml")):
        # the page's part for this file: from its heading to the next file's
        part = text.split(f"## `data/params/{path.name}`")[1].split("\n## ")[0]
        for section, key, value, source in A._entries(tomllib.loads(path.read_text())):
            n += 1
            table = part.split(f"### [{section}]")[1].split("\n### ")[0]
            rows = [line for line in table.splitlines() if line.startswith(f"| `{key}` |")]
            assert len(rows) == 1, (path.name, section, key)
            assert f"| {A.kind(source)} |" in rows[0]
    assert text.count("\n| `") == n


def test_kind_reads_the_source_note():
    assert A.kind("assumed: why") == "assumed"
    assert A.kind("calibrated: fitted to 2%") == "calibrated"
    assert A.kind("paper, section 4") == "sourced"
