"""The summary's labels (reproduce.experiments.paper) and its one-line verdict
(reproduce.report.verdict)."""
from __future__ import annotations

import pandas as pd

from reproduce.experiments import paper
from reproduce.report.verdict import headline


def test_paper_range_reads_like_the_paper():
    assert paper.paper_range(20, 23, "%") == "20-23 %"
    assert paper.paper_range(-0.05, 0.05, "fraction") == "-5 to 5 %"
    assert paper.paper_range(0.02, 0.02, "fraction") == "2 %"
    assert paper.paper_range(1.2, 1.2, "ratio") == "1.2"


def _table(rows):
    return pd.DataFrame(rows, columns=["quantity", "status", "verdict"])


def test_headline_counts_only_genuine_predictions():
    t = _table([("a", "calibrated", "match"), ("b", "by construction", "match"),
                ("c", "predicted", "match"), ("d", "predicted", "miss"),
                ("e", "predicted", "miss")])
    line = headline(t)
    assert line.startswith("Verdict: 1 of 3 genuine predictions match")
    assert "2 more rows" in line
    assert "missed: d; e" in line
    # a calibrated miss is not a prediction: it does not enter the count
    t2 = _table([("a", "calibrated", "miss"), ("c", "predicted", "match")])
    assert headline(t2).startswith("Verdict: 1 of 1 genuine")
    assert "missed" not in headline(t2)


def test_by_construction_rows_have_reasons():
    # every by-construction label comes with a reason a reader can check
    for quantity, why in paper.BY_CONSTRUCTION.items():
        assert quantity and len(why) > 20
    assert "UP build" in paper.BY_CONSTRUCTION["Table 1 UP spin"]
    assert set(paper.STATUSES) == {"calibrated", "fitted", "predicted", "by construction"}
