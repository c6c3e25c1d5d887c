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


# ---------------------------------------------------------------- notebooks
def _notebook_code():
    import nbformat
    from reproduce.params import DATA
    for path in sorted((DATA.parent / "notebooks").glob("[0-9]*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                yield path.name, cell.source


def test_every_saved_chart_has_a_title_and_labelled_axes():
    for name, src in _notebook_code():
        if "save_figure(" not in src or "figures.figure" in src:
            continue            # Figures 2-4 are titled by reproduce.report.figures (tested above)
        if "explore_figure(" in src:
            continue            # titled and labelled by reproduce.report.explore (tests/test_explore.py)
        if "timeline(" in src or "timeline_pair(" in src:
            # reproduce.report.timeline labels its time axis and names each CPU's
            # row itself (tests/test_trace.py); the cell must still give a title.
            assert "set_title(" in src or "suptitle(" in src or "title=" in src, name
            continue
        assert "set_title(" in src or "suptitle(" in src, f"{name}: a chart without a title"
        assert ("set_xlabel(" in src or "cpu_axis(" in src) and \
            ("set_ylabel(" in src or "log2_axis(" in src), f"{name}: a chart with an unlabelled axis"


# The paper's headline numbers (36 and 64 alone are too common: CPU counts).
PAPER_NUMBERS = {"1.2", "1.47", "0.36", "0.64"}
PAPER_RANGES = ("20-23", "55-59", "20-22")


def test_no_notebook_types_a_paper_number():
    # the paper's numbers are read from data/paper/, never typed in a code cell
    import io
    import tokenize
    for name, src in _notebook_code():
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type == tokenize.NUMBER:
                assert tok.string not in PAPER_NUMBERS, f"{name}: {tok.line.strip()}"
            if tok.type == tokenize.STRING:
                assert not any(r in tok.string for r in PAPER_RANGES), f"{name}: {tok.line.strip()}"
