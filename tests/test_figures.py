"""Figures a reader can use: Figures 2-4 legible at page width, the chart
conventions (integer CPU ticks) doing what they say."""
from __future__ import annotations

import io

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from reproduce.report import figures as F

DPI = 110            # what save_figure writes


@pytest.mark.parametrize("draw", [F.figure2, F.figure3, F.figure4])
def test_paper_figures_read_at_8_pt_when_shown_1000_px_wide(draw):
    fig = draw()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    width = Image.open(io.BytesIO(buf.getvalue())).size[0]
    assert F.text_pt_at(fig, width, dpi=DPI) >= 8.0, (width, F.smallest_text_pt(fig))
    assert fig._suptitle is not None and fig._suptitle.get_text().startswith("Figure")


def test_cpu_axis_ticks_are_the_counts_as_integers():
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([1, 2, 4, 8, 16, 32], [1, 2, 3, 4, 5, 6])
    F.cpu_axis(ax, [1, 2, 4, 8, 16, 32])
    FigureCanvasAgg(fig).draw()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["1", "2", "4", "8", "16", "32"]
    assert ax.get_xlabel() == "CPUs"


def test_design_colours_are_distinct_and_never_the_bounds_or_the_papers():
    pal = F.design_palette([f"d{k}" for k in range(8)])
    colours = list(pal.values())
    assert len(set(colours)) == 8
    reserved = {s["color"] for s in F.BOUND_STYLES.values()} | {F.PAPER_COLOR}
    assert not reserved & set(colours)


def test_log2_axis_ticks_every_power_of_two_the_values_span():
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([1, 32], [0.3, 20])
    F.log2_axis(ax, [0.3, 20])
    FigureCanvasAgg(fig).draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["0.25", "0.5", "1", "2", "4", "8", "16", "32"]
