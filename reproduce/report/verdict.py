"""The verdict: the paper-vs-model summary as a reader reads it, and its headline.

The summary table (:func:`reproduce.experiments.paper.summary_table`, one row
per number of the paper) labels each row ``calibrated``, ``fitted``,
``predicted`` or ``by construction``.  Only ``predicted`` rows test the
model: :func:`headline` counts how many of them land in the paper's range
and names the misses.  ``make reproduce``, ``make check``, ``reproduce
summary`` and the summary notebook all print this one line.
"""
from __future__ import annotations

import re

import pandas as pd

from ..experiments.paper import NO_PAPER_NUMBER, NOT_STATED
from ..params import DATA

ROOT = DATA.parent
NOTEBOOKS = ROOT / "notebooks"
# The status of the rows that are genuine predictions (the others were
# fitted to the paper, or cannot come out otherwise).
GENUINE = "predicted"
# Where the misses are discussed.
WHY_NOTEBOOK = "notebooks/10-why-1.2.ipynb"

# Which evaluation a summary row belongs to, by its quantity's wording; the
# notebook whose name carries that evaluation discusses its result.
EVALUATION_OF = (
    (r"^Table 1", "E1"),
    (r"speedup|Amdahl|[Kk]ernel work|benchmark's own share", "E2"),
    (r"MP kernel on 1 CPU", "E3"),
    (r"[Aa]ffinity", "E4"),
    (r"priority|time-slice|timeslice", "E5"),
    (r"[Pp]ages|TLB", "E6"),
)


def headline(summary: pd.DataFrame, misses: bool = False) -> str:
    """``Verdict: N of M genuine predictions match the paper (...)``: how
    many ``predicted`` rows of *summary* fall in the paper's range, with the
    missed ones named.  Calibrated and by-construction rows are not
    counted.  With *misses*, one line before it per missed prediction: the
    model's number and range over seeds, the paper's, and the notebook of
    its evaluation."""
    judged = summary["verdict"] != NO_PAPER_NUMBER
    pred = summary[(summary["status"] == GENUINE) & judged]
    hit = pred[pred["verdict"] == "match"]
    missed = pred[pred["verdict"] != "match"]
    unjudged = int((~judged).sum())
    line = (f"Verdict: {len(hit)} of {len(pred)} genuine predictions match the paper "
            f"({(summary['status'] != GENUINE).sum()} more rows are calibrated or true by "
            f"construction" + (f"; {unjudged} report what the paper does not count"
                               if unjudged else "") + ")")
    if len(missed):
        line += "; missed: " + "; ".join(missed["quantity"]) + f" (why: {WHY_NOTEBOOK})"
    if not misses:
        return line
    lines = [f"  miss: {r.quantity}: model {r.model} (seeds {r[3]}), paper {r.paper}; "
             f"results in {notebook_for(r.quantity)}"
             for r in readable(pred).itertuples(index=False) if r.verdict != "match"]
    return "\n".join(lines + [line])


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The summary table as a reader wants it: fractions as %, the paper's
    value or range and the model's mean and range over seeds as text with
    units (``20-23 %``)."""
    rows = []
    for r in table.itertuples(index=False):
        scale, unit = (100.0, "%") if r.unit == "fraction" else (1.0, r.unit)
        paper = str(r.paper)
        if paper != NOT_STATED and not paper.rstrip().endswith(("%", "page", "pages")):
            lo, hi = _bounds(paper)
            paper = span(lo * scale, hi * scale, unit, paper=True)
        rows.append({"quantity": r.quantity, "paper": paper,
                     "model": span(r.model * scale, r.model * scale, unit),
                     "model range (seeds)": span(r.model_min * scale, r.model_max * scale, unit),
                     "status": r.status, "verdict": r.verdict})
    return pd.DataFrame(rows)


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


def notebook_for(quantity: str) -> str:
    """The notebook of the evaluation *quantity* belongs to (relative path)."""
    for pattern, ev in EVALUATION_OF:
        if re.search(pattern, quantity):
            hits = sorted(NOTEBOOKS.glob(f"*-{ev}-*.ipynb"))
            if hits:
                return str(hits[0].relative_to(ROOT))
    hits = sorted(NOTEBOOKS.glob("*summary*.ipynb"))
    return str(hits[0].relative_to(ROOT)) if hits else "notebooks/"


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
