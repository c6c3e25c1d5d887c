"""The explorer (reproduce.report.explore, notebook 12): its controls are
checked at the boundary, it runs the scenarios the paper's notebooks run,
its bounds are the theory's, an E8 cause is the variant E8 fitted, and its
figure is titled, labelled and legible."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from reproduce.bench.run import simulate
from reproduce.bench.scenario import Scenario
from reproduce.errors import ConfigError
from reproduce.experiments import e8
from reproduce.experiments.paper import paper_claims
from reproduce.reference import theory
from reproduce.report import explore as X
from reproduce.report import figures as F


@pytest.mark.parametrize("values, words", [
    ({"cpus": 0}, ["cpus=0", "1 to 64"]),
    ({"cpus": 65}, ["cpus=65", "1 to 64"]),
    ({"cpus": 2.5}, ["cpus=2.5", "integer"]),
    ({"cpus": True}, ["cpus=True"]),
    ({"lock": "huge"}, ["lock='huge'", "giant"]),
    ({"spinlock": "x"}, ["spinlock='x'", "mcs"]),
    ({"machine": "vax"}, ["machine='vax'", "pentium2"]),
    ({"kernel_share": 0.9}, ["kernel_share=0.9", "0.05 to 0.75"]),
    ({"causes": ["nope"]}, ["causes='nope'", "fsb"]),
    ({"causes": ["fsb", "bg_fixed", "placement"]}, ["at most 2"]),
    ({"causes": ["irq_cpu0", "irq_lowest"]}, ["did not run this pair", "pairs with"]),
    ({"causes": ["fsb"], "workload": "synthetic"}, ["workload='paper'"]),
    ({"speed": 3}, ["unknown control 'speed'", "cpus"]),
])
def test_a_bad_control_value_is_named_with_what_is_allowed(values, words):
    with pytest.raises(ConfigError) as e:
        X.explore_controls(**values)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_the_default_run_is_the_papers_scenarios_and_the_same_every_time():
    ex = X.explore_run(seeds=2)
    again = X.explore_run(seeds=2)
    assert ex.summary == again.summary
    pd.testing.assert_frame_equal(ex.table1, again.table1)
    # the speedup of E1/E2's calibrated scenarios, seed by seed
    for s in range(2):
        up = simulate(Scenario(cpus=1, kernel="up", seed=s))
        mp = simulate(Scenario(cpus=2, kernel="mp", seed=s))
        assert ex.speedup[s] == up.cycles / mp.cycles
    # the UP row is the calibrated one: the paper's share, read from data/paper
    assert abs(ex.table1.iloc[0]["kernel %"] / 100 - X.paper_up_kernel_share()) < 0.01
    assert ex.bounds == {"amdahl": theory.amdahl(ex.up_kernel, 2),
                         "lock": theory.lock_bound(ex.up_kernel, 2)}
    claims = paper_claims()
    assert f"{claims.loc['smp_speedup', 'value']:g} measured" in ex.summary
    assert ex.table1.iloc[1]["paper spin %"] != ""          # the paper's range beside it
    assert ex.recording["cpus"] == 2 and ex.recording["segments"]


def test_a_kernel_share_is_reached_by_refitting_the_system_threads_work():
    ex = X.explore_run(kernel_share=0.2, seeds=2)
    assert abs(ex.up_kernel - 0.2) <= 0.005     # half a percentage point
    assert any("fitted here" in n for n in ex.notes)
    syn = X.explore_run(workload="synthetic", kernel_share=0.5, cpus=4, seeds=1)
    assert "user 5000, kernel 5000" in syn.notes[0]


def test_an_e8_cause_is_the_variant_e8_fitted():
    ex = X.explore_run(causes=["fsb"], seeds=e8.SEEDS)
    rows = pd.read_csv(e8.RESULTS / "e8_hypotheses.csv")
    row = rows[(rows["hypothesis"] == "fsb") & (rows["observable"] == "SMP speedup")].iloc[0]
    assert np.mean(ex.speedup) == pytest.approx(float(row["model"]), rel=1e-5)     # the table keeps 6 digits


def test_the_figure_is_titled_labelled_and_legible_at_page_width():
    ex = X.explore_run(workload="synthetic", cpus=12, seeds=1, timeline_ms=2)
    fig = X.explore_figure(ex)
    assert fig._suptitle.get_text().startswith("Explore: 12 CPUs")
    axes = fig.get_axes()
    for ax in axes:
        assert ax.get_title(loc="left") and ax.get_xlabel()
    assert axes[0].get_ylabel() and axes[1].get_ylabel()
    assert len(axes[2].get_yticks()) == X.TIMELINE_ROWS          # the first 8 CPUs
    assert "CPUs 0-7 of 12" in axes[2].get_title(loc="left")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    width = Image.open(io.BytesIO(buf.getvalue())).size[0]
    assert F.text_pt_at(fig, width, dpi=110) >= 8.0
