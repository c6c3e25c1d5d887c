"""The paper's Figures 2, 3 and 4, drawn from the live model's page tables.

Each ``figureN_data()`` builds a fresh machine, drives the kernel's memory
code (:class:`~reproduce.kernel.vm.MemoryManager`) through the situation the
figure shows, and reads the page directories back out of simulated frames
with ``present_pdes``/``present_ptes``: one row per present PDE, saying what
the entry points to and how many pages that page table maps.  ``figureN()``
draws that table; nothing in a drawing is typed in.

* Figure 2: the address space of the in-house kernel, i.e. CPU 0's global
  page directory on a 2-CPU MP kernel with one container installed.
* Figure 3 (UP kernel, section 2.3): (a) a new container in the global page
  directory, (b) after its stack, globals and heap grew inside the 4 MiB
  stack region, (c) after it touched memory outside: a private directory.
* Figure 4 (MP kernel, section 3.3): (a) a single-threaded container in CPU
  0's global (CPU-local) directory, (b) multithreaded: container directory
  owned by CPU 0, (c) CPU 1 runs a thread: its own copy, differing only in
  the CPU-local entry.
"""
from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator, ScalarFormatter

from ..kernel.image import (CPULOCAL_PDX, UHEAP_BASE, USTACK_BASE, USTACK_PDX, USTACK_TOP,
                            region_of)
from ..kernel.vm import MemoryManager
from ..machine import CPU, MiB, PGSIZE
from ..machine.mmu import PTE_ADDR, PTE_G, PTE_U, PTE_W, present_pdes, present_ptes

AREA = 4 * MiB
MASK_AD = ~0x060 & 0xFFFFFFFF
COLUMNS = ["pgdir", "pgdir_pa", "pdx", "va", "region", "pde_user", "pde_writable",
           "pgtab_pa", "pgtab_owner", "ptes_present", "ptes_user", "ptes_writable",
           "ptes_global"]
OWNER_COLORS = {"kernel": "#bdbdbd", "code": "#9ecae1", "container": "#a1d99b",
                "cpulocal:0": "#fdae6b", "cpulocal:1": "#fa9fb5", "cpulocal:2": "#bcbddc",
                "cpulocal:3": "#fdd0a2"}


# ------------------------------------------------------------------- data
def _machine(ncpus: int, mp: bool) -> tuple[MemoryManager, list[CPU]]:
    from ..bench.memory_workload import boot
    return boot(ncpus, mp, 32 * MiB)


def pgdir_entries(mm: MemoryManager, pgdir: int, label: str) -> pd.DataFrame:
    """One row per present PDE of page directory *pgdir* (read from the
    frames): the region it maps, its permissions, the page table it names,
    who owns that table and what its present PTEs allow."""
    rows = []
    for pdx, pde in present_pdes(mm.mem, pgdir).items():
        pgtab = PTE_ADDR(pde)
        ptes = present_ptes(mm.mem, pgtab).values()
        rows.append({
            "pgdir": label, "pgdir_pa": pgdir, "pdx": pdx, "va": pdx * AREA,
            "region": region_of(pdx * AREA), "pde_user": bool(pde & PTE_U),
            "pde_writable": bool(pde & PTE_W), "pgtab_pa": pgtab,
            "pgtab_owner": mm.pgtab_owner(pgtab), "ptes_present": len(ptes),
            "ptes_user": sum(bool(p & PTE_U) for p in ptes),
            "ptes_writable": sum(bool(p & PTE_W) for p in ptes),
            "ptes_global": sum(bool(p & PTE_G) for p in ptes)})
    return pd.DataFrame(rows, columns=COLUMNS)


def figure2_data(ncpus: int = 2) -> pd.DataFrame:
    """CPU 0's global page directory on an MP kernel with *ncpus* CPUs and
    one container installed; ``same_on_all_cpus`` says whether every CPU's
    global directory holds the same entry."""
    mm, cpus = _machine(ncpus, True)
    c = mm.container_create()
    mm.switch(cpus[0], c)
    df = pgdir_entries(mm, mm.global_pgdirs[0], "global pgdir CPU 0")
    same = []
    for pdx in df.pdx:
        vals = {mm.mem.read32(g + 4 * pdx) & MASK_AD for g in mm.global_pgdirs}
        same.append(len(vals) == 1)
    df["same_on_all_cpus"] = same
    return df


def _stage(mm: MemoryManager, stage: str, pgdirs: list[tuple[int, str]], c) -> pd.DataFrame:
    out = []
    for pgdir, label in pgdirs:
        df = pgdir_entries(mm, pgdir, label)
        df.insert(0, "stage", stage)
        df["container_pages"] = mm.container_pages(c)
        out.append(df)
    return pd.concat(out, ignore_index=True)


def figure3_data() -> pd.DataFrame:
    """Figure 3 on the UP kernel: stages a, b, c (module docstring)."""
    mm, (cpu,) = _machine(1, False)
    c = mm.container_create()
    mm.switch(cpu, c)
    frames = [_stage(mm, "a", [(cpu.cr3, "global pgdir")], c)]
    # (b) the stack grows by two pages, globals and heap take three at the bottom
    for va in (USTACK_TOP - 2 * PGSIZE, USTACK_TOP - 3 * PGSIZE,
               USTACK_BASE, USTACK_BASE + PGSIZE, USTACK_BASE + 2 * PGSIZE):
        mm.access(cpu, c, va)
    frames.append(_stage(mm, "b", [(cpu.cr3, "global pgdir")], c))
    # (c) the heap grows past the 4 MiB region
    mm.access(cpu, c, UHEAP_BASE)
    frames.append(_stage(mm, "c", [(cpu.cr3, "container pgdir")], c))
    return pd.concat(frames, ignore_index=True)


def figure4_data() -> pd.DataFrame:
    """Figure 4 on a 2-CPU MP kernel: stages a, b, c (module docstring)."""
    mm, (c0, c1) = _machine(2, True)
    c = mm.container_create()
    mm.switch(c0, c)
    frames = [_stage(mm, "a", [(c0.cr3, "global pgdir CPU 0")], c)]
    mm.make_multithreaded(c, c0)
    mm.access(c0, c, UHEAP_BASE + 8 * AREA - 8)       # the new thread's stack
    frames.append(_stage(mm, "b", [(c.pgdir, "container pgdir (owner CPU 0)")], c))
    mm.switch(c1, c)
    frames.append(_stage(mm, "c", [(c.pgdir, "container pgdir (owner CPU 0)"),
                                   (c1.cr3, "CPU 1 pgdir")], c))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- drawing
def _owner_kind(owner: str) -> str:
    return owner.split(":")[0] if owner.startswith("container") else owner


def _rows_of(df: pd.DataFrame) -> list[tuple[str, object, str]]:
    """(label, target key, owner) per drawn PDE row: shared kernel and code
    entries collapse into one row."""
    shared = df[df.pgtab_owner.isin(["kernel", "code"])]
    rows = []
    if len(shared):
        rows.append((f"kernel + code: {len(shared)} PDEs", "shared", "kernel"))
    for r in df[~df.pgtab_owner.isin(["kernel", "code"])].itertuples():
        what = {USTACK_PDX: "stack region", CPULOCAL_PDX: "CPU-local"}.get(r.pdx, "private 4 MiB")
        rows.append((f"PDX {r.pdx}: {what}", r.pgtab_pa, r.pgtab_owner))
    return rows


PGDIR_W = 3.4          # drawing units: page-directory column width
TABLE_X, TABLE_W = 5.6, 4.6
# Legible at page width: shown 1000 px wide (10 in at 100 px per inch), a
# figure FIG_WIDTH in wide keeps its text at least TEXT_PT; tests check it.
FIG_WIDTH = 9.5        # inches
TEXT_PT = 8.5
TITLE_PT = 10.5
UNIT_IN = 0.34         # inches per drawing unit (one page-directory row) in Figures 3, 4
STAGE_TITLE = 1.2      # drawing units above a stage for its caption


def _draw_stage(ax, df: pd.DataFrame, title: str, height: float) -> None:
    """Page directories of one stage (left) and the page tables they name
    (right), with an arrow per entry; *height* fixes the vertical scale so
    panels line up."""
    ax.set_axis_off()
    ax.text(-0.2, 1.0 + 0.55 * STAGE_TITLE, title, fontsize=TEXT_PT + 0.5, va="center")
    y = 0.0
    arrows = []
    for label, sub in df.groupby("pgdir", sort=False):
        top = y
        ax.text(0.0, y + 0.15, f"{label} @{int(sub.pgdir_pa.iloc[0]):#x}", fontsize=TEXT_PT,
                va="bottom")
        for text, key, owner in _rows_of(sub):
            y -= 1.0
            ax.add_patch(Rectangle((0, y), PGDIR_W, 1.0, facecolor=OWNER_COLORS.get(
                _owner_kind(owner), "#ffffff"), edgecolor="black", lw=0.6))
            ax.text(0.1, y + 0.5, text, fontsize=TEXT_PT, va="center")
            arrows.append((y + 0.5, key))
        ax.add_patch(Rectangle((0, y), PGDIR_W, top - y, fill=False, edgecolor="black", lw=1.4))
        y -= 1.4
    targets: dict[object, tuple[str, str]] = {}
    for r in df.itertuples():
        if r.pgtab_owner in ("kernel", "code"):
            n = df[df.pgtab_owner.isin(["kernel", "code"])].drop_duplicates("pgtab_pa")
            targets["shared"] = (f"kernel & code page tables ({len(n)}):\n"
                                 f"{int(n.ptes_present.sum())} pages, shared", "kernel")
        else:
            targets[r.pgtab_pa] = (f"{r.pgtab_owner} page table\n@{r.pgtab_pa:#x}: "
                                   f"{r.ptes_present} page(s)", r.pgtab_owner)
    step = -y / max(len(targets), 1)
    ty = {}
    for k, (key, (text, owner)) in enumerate(targets.items()):
        yy = -step * (k + 0.5)
        ty[key] = yy
        ax.add_patch(Rectangle((TABLE_X, yy - 0.45), TABLE_W, 0.9, facecolor=OWNER_COLORS.get(
            _owner_kind(owner), "#ffffff"), edgecolor="black", lw=0.6))
        ax.text(TABLE_X + 0.1, yy, text, fontsize=TEXT_PT, va="center")
    for yy, key in arrows:
        ax.add_patch(FancyArrowPatch((PGDIR_W, yy), (TABLE_X, ty[key]), arrowstyle="->",
                                     mutation_scale=8, lw=0.7))
    ax.set_xlim(-0.2, TABLE_X + TABLE_W + 0.2)
    ax.set_ylim(-height - 0.3, 1.0 + STAGE_TITLE)


def _stage_height(df: pd.DataFrame) -> float:
    return sum(len(_rows_of(sub)) + 1.4 for _, sub in df.groupby("pgdir", sort=False))


def figure2(df: pd.DataFrame | None = None) -> Figure:
    """Figure 2: the regions of the global page directory, high addresses on
    top; dashed boxes are ranges the global directory does not map."""
    df = figure2_data() if df is None else df
    regions = df.groupby("region", sort=False).agg(
        first=("va", "min"), last=("va", "max"), pdes=("pdx", "size"),
        pages=("ptes_present", "sum"), user=("pde_user", "all"),
        global_=("ptes_global", "sum"), same=("same_on_all_cpus", "all"),
        owner=("pgtab_owner", "first")).sort_values("first")
    boxes = []          # (start, end, name, detail, owner or None for a gap)
    at = 0
    for r in regions.itertuples():
        if r.first > at:
            boxes.append((at, r.first, "", f"{region_of(at)}: not mapped here", None))
        detail = (f"{r.pdes} PDE(s), {r.pages} page(s), "
                  f"{'user' if r.user else 'supervisor'}{', global' if r.global_ else ''}"
                  f"{'' if r.same else ', differs per CPU'}")
        boxes.append((r.first, r.last + AREA, r.Index, detail, r.owner))
        at = r.last + AREA
    if at < 1 << 32:
        boxes.append((at, 1 << 32, "", f"{region_of(at)}: not mapped here", None))
    fig = Figure(figsize=(FIG_WIDTH, 0.36 * len(boxes) + 0.9))
    ax = fig.add_axes((0, 0, 1, 0.92))
    ax.set_axis_off()
    fig.suptitle("Figure 2: address space of the in-house kernel (CPU 0's global page "
                 "directory, MP kernel)", fontsize=TITLE_PT)
    for k, (start, end, name, detail, owner) in enumerate(boxes):
        gap = owner is None
        ax.text(2.75, k + 0.45, f"{start:#010x}-{end - 1:#010x}", fontsize=TEXT_PT,
                va="center", ha="right", family="monospace")
        ax.add_patch(Rectangle((2.85, k), 3.9, 0.9, edgecolor="black", lw=0.6,
                               facecolor="white" if gap else OWNER_COLORS.get(
                                   _owner_kind(owner), "#ffffff"),
                               linestyle="--" if gap else "-"))
        ax.text(2.95, k + 0.45, detail if gap else name, fontsize=TEXT_PT, va="center",
                color="0.35" if gap else "black")
        if not gap:
            ax.text(6.9, k + 0.45, detail, fontsize=TEXT_PT, va="center")
    ax.text(0.0, -0.55, "virtual addresses, high on top; dashed: not mapped by this directory",
            fontsize=TEXT_PT, color="0.35", va="center")
    ax.set_xlim(0, 12.2)
    ax.set_ylim(-0.9, len(boxes) + 0.1)
    return fig


def _staged(df: pd.DataFrame, title: str, captions: dict[str, str]) -> Figure:
    """The stages one above the other at page width (one column reads at
    8 pt where three side by side would not)."""
    stages = list(dict.fromkeys(df.stage))
    heights = [_stage_height(df[df.stage == s]) + 1.3 + STAGE_TITLE for s in stages]
    tall = UNIT_IN * sum(heights) + 0.5
    fig = Figure(figsize=(FIG_WIDTH, tall))
    fig.suptitle(title, fontsize=TITLE_PT, y=1 - 0.12 / tall, va="top")
    grid = fig.add_gridspec(len(stages), 1, height_ratios=heights, left=0.01, right=0.99,
                            top=1 - 0.5 / tall, bottom=0.0, hspace=0.0)
    for k, stage in enumerate(stages):
        sub = df[df.stage == stage]
        ax = fig.add_subplot(grid[k])
        _draw_stage(ax, sub, f"({stage}) {captions[stage]}; "
                             f"container: {int(sub.container_pages.iloc[0])} pages",
                    heights[k] - 1.3 - STAGE_TITLE)
    return fig


def figure3(df: pd.DataFrame | None = None) -> Figure:
    """Figure 3: container address spaces on the UP kernel."""
    df = figure3_data() if df is None else df
    return _staged(df, "Figure 3: container address spaces (UP kernel)",
                   {"a": "new container, global pgdir",
                    "b": "grown inside the stack region",
                    "c": "touched outside: private pgdir"})


def figure4(df: pd.DataFrame | None = None) -> Figure:
    """Figure 4: a multithreaded container on the 2-CPU MP kernel."""
    df = figure4_data() if df is None else df
    return _staged(df, "Figure 4: multithreaded containers (MP kernel)",
                   {"a": "single-threaded, CPU 0 global pgdir",
                    "b": "multithreaded, owner CPU 0",
                    "c": "CPU 1 runs a thread"})


# -------------------------------------------------------- plot conventions
# One look for every chart of the notebooks: bounds in black and grey line
# styles, designs in distinct colours none of which is black or grey, the
# paper's values in crimson, legends beside the axes (never on the data).
PAPER_COLOR = "crimson"
PAPER_MARK = {"color": PAPER_COLOR, "marker": "*", "s": 160, "zorder": 6,
              "edgecolor": "black", "linewidth": 0.5}
PAPER_BAND = {"color": PAPER_COLOR, "alpha": 0.12, "lw": 0}
BOUND_STYLES = {
    "amdahl": {"color": "black", "ls": ":", "lw": 1.6},
    "lock": {"color": "0.45", "ls": "-.", "lw": 1.6},
    "capacity": {"color": "black", "ls": "--", "lw": 1.2},
}
# tab10 without its grey and brown (bounds are black and grey) nor red
# (the paper's colour).
DESIGN_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#e377c2", "#17becf",
                 "#bcbd22", "#8c564b"]


def design_palette(designs) -> dict[str, str]:
    """A distinct colour per design, in the order given."""
    return {d: DESIGN_COLORS[k % len(DESIGN_COLORS)] for k, d in enumerate(designs)}


def cpu_axis(ax, cpus, axis: str = "x", log: bool = True, label: str = "CPUs") -> None:
    """An axis of CPU counts: log base 2 when *log*, ticked at exactly the
    counts run (1, 2, 4 ... 32), labelled as integers rather than 2^k."""
    ticks = sorted({int(c) for c in cpus})
    a = ax.xaxis if axis == "x" else ax.yaxis
    if log:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log", base=2)
    a.set_major_locator(FixedLocator(ticks))
    fmt = ScalarFormatter()
    fmt.set_scientific(False)
    a.set_major_formatter(fmt)
    a.set_minor_locator(NullLocator())
    (ax.set_xlabel if axis == "x" else ax.set_ylabel)(label)


def log2_axis(ax, values, axis: str = "y", label: str | None = None) -> None:
    """A log base 2 axis ticked at every power of two the *values* span
    (0.25, 0.5, 1, 2 ...), labelled as plain numbers."""
    v = [float(x) for x in values if float(x) > 0]
    lo, hi = math.floor(math.log2(min(v))), math.ceil(math.log2(max(v)))
    a = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log", base=2)
    a.set_major_locator(FixedLocator([2.0 ** k for k in range(lo, hi + 1)]))
    a.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    a.set_minor_locator(NullLocator())
    if label is not None:
        (ax.set_xlabel if axis == "x" else ax.set_ylabel)(label)


def legend_outside(ax, **kw) -> None:
    """The legend to the right of the axes, where it covers no data."""
    kw.setdefault("fontsize", 9)
    kw.setdefault("frameon", False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kw)


def smallest_text_pt(fig: Figure) -> float:
    """The smallest font size (points) of any visible, non-empty text in
    *fig*: titles, labels, tick labels, legends, annotations."""
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip()]
    return min(sizes) if sizes else float("inf")


def text_pt_at(fig: Figure, width_px: int, shown_px: int = 1000, dpi: float = 110) -> float:
    """The smallest text of *fig*, in points, when its image *width_px*
    wide (saved at *dpi*) is shown *shown_px* wide at 100 pixels per inch
    (a page-width figure on screen)."""
    return smallest_text_pt(fig) * (shown_px / width_px) * (dpi / 100)
