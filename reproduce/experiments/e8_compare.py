"""Compare two E8 tables (``e8_hypotheses.csv``): is a refit the same answer?

Joins the tables on (hypothesis, observable) and checks, row by row, that the
model's mean moved by no more than the row's tolerance:

    tolerance = max(TOL[unit], 2 * sqrt(2) * model_sem)

``TOL[unit]`` is the table's own match tolerance (the paper's rounding: 0.5
percentage points, 0.05 for a ratio, 0.002 for a fraction); ``model_sem`` is
the standard error of the mean over the seeds in the newer table, so 2 sqrt(2)
of them is two standard errors of the difference of two such means.  Two fits
that stop at calibrations a few cycles apart run different event sequences,
which move every observable by about its seed spread, not by the fit's
tolerance: the tolerance says "within the seeds' own spread, or within the
paper's rounding".

    python -m reproduce.experiments.e8_compare OLD.csv NEW.csv
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from .e8 import TOL

KEY = ["hypothesis", "observable"]


def compare(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """One row per (hypothesis, observable) of both tables: the two means,
    their difference, the tolerance and whether it holds; also whether the
    fitted value, the match verdict and the count of predictions matched
    are the same.  A row in one table only is an error."""
    a, b = set(map(tuple, old[KEY].to_numpy())), set(map(tuple, new[KEY].to_numpy()))
    if a != b:
        raise ValueError(f"the tables differ in rows: {sorted(a ^ b)[:5]}")
    m = old.merge(new, on=KEY, suffixes=("_old", "_new"), validate="one_to_one")
    sem = m["model_sem_new"] if "model_sem_new" in m else m["model_sem"]
    unit_tol = m["unit_new"].map(TOL).astype(float)
    tol = np.maximum(unit_tol, 2 * np.sqrt(2) * sem.fillna(0.0))
    diff = (m["model_new"] - m["model_old"]).abs()
    return pd.DataFrame({
        "hypothesis": m["hypothesis"], "observable": m["observable"],
        "unit": m["unit_new"], "old": m["model_old"], "new": m["model_new"],
        "diff": diff, "tolerance": tol, "within": diff <= tol + 1e-12,
        "diff_in_sem": diff / sem.replace(0.0, np.nan),
        "fitted_old": m["fitted_value_old"], "fitted_new": m["fitted_value_new"],
        "matched_same": m["matched_old"] == m["matched_new"],
        "score_same": m["predictions_matched_old"] == m["predictions_matched_new"],
    })


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    c = compare(pd.read_csv(args[0]), pd.read_csv(args[1]))
    worst = c.loc[(c["diff"] / c["tolerance"]).idxmax()]
    print(f"{len(c)} rows, {int(c['within'].sum())} within tolerance; "
          f"largest diff/tolerance {worst['diff'] / worst['tolerance']:.3f} "
          f"({worst['hypothesis']}, {worst['observable']}: {worst['old']:.6g} -> "
          f"{worst['new']:.6g}, tolerance {worst['tolerance']:.3g})")
    for unit, g in c.groupby("unit"):
        print(f"  {unit}: max |diff| {g['diff'].max():.4g}, max in standard errors "
              f"{g['diff_in_sem'].max():.2f}")
    print(f"  match verdicts changed: {int((~c['matched_same']).sum())} of {len(c)} rows; "
          f"predictions-matched count changed for "
          f"{c.loc[~c['score_same'], 'hypothesis'].nunique()} of "
          f"{c['hypothesis'].nunique()} hypotheses")
    bad = c[~c["within"]]
    for _, r in bad.iterrows():
        print(f"  OUTSIDE: {r['hypothesis']}, {r['observable']}: {r['old']:.6g} -> "
              f"{r['new']:.6g} (|diff| {r['diff']:.3g} > {r['tolerance']:.3g})")
    return 0 if bad.empty else 1


if __name__ == "__main__":
    raise SystemExit(main())
