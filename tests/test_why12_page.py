"""docs/why-1.2.md's results are written from E8's tables, never typed."""
from __future__ import annotations

import pandas as pd

from reproduce.report import why12 as W


def _tables():
    return (pd.read_csv(W.RESULTS / "e8_hypotheses.csv"),
            pd.read_csv(W.RESULTS / "e8_discriminating.csv"))


def test_committed_page_is_the_written_one():
    # fails after E8's tables change: run `python -m reproduce.report.why12`
    assert W.PAGE.read_text(encoding="utf-8") == W.render()
    assert W.main(["--check"]) == 0


def test_every_number_follows_the_tables():
    hyp, disc = _tables()
    text = W.render_results(hyp, disc)
    base = hyp[(hyp["hypothesis"] == "baseline") & (hyp["observable"] == "SMP speedup")]
    assert f"baseline speedup {float(base['model'].iloc[0]):.2f}" in text
    # another bg_fixed speedup in the table gives another number on the page
    moved = hyp.copy()
    row = (moved["hypothesis"] == "bg_fixed") & (moved["observable"] == "SMP speedup")
    moved.loc[row, "model"] = 1.23456
    assert "**1.23**" in W.render_results(moved, disc)
    assert "**1.23**" not in text


def test_statements_follow_the_tables():
    hyp, disc = _tables()
    text = W.render_results(hyp, disc)
    speed = hyp[hyp["observable"] == "SMP speedup"].set_index("hypothesis")
    survivors = speed[speed["reached"] & speed["plausible"]].index
    only_fsb = all("fsb" in h.split(" + ") for h in survivors)
    assert ("Only the front-side bus reaches 1.2" in text) == only_fsb
    # a variant without the bus that reached 1.2 plausibly would end the claim
    moved = hyp.copy()
    rows = moved["hypothesis"] == "bg_fixed"
    moved.loc[rows, "reached"] = True
    moved.loc[rows, "plausible"] = True
    other = W.render_results(moved, disc)
    assert "Only the front-side bus reaches 1.2" not in other and "`bg_fixed`" in other


def test_the_page_has_its_markers_once():
    page = W.PAGE.read_text(encoding="utf-8")
    assert page.count(W.BEGIN) == 1 and page.count(W.END) == 1
    assert page.index(W.BEGIN) < page.index(W.END)
