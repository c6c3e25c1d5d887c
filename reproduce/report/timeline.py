"""The CPUs of a recording in lockstep: a Gantt chart of a window of a run.

::

    from reproduce.report.timeline import timeline, timeline_pair
    ax = timeline(k.recording())                   # one kernel's CPUs
    fig = timeline_pair(rec_up, rec_smp)           # UP above SMP, same time axis

Each CPU is a row of bars coloured by mode: user, kernel (in the kernel; on
the MP build, holding the lock), spin (waiting for a lock), idle.  Above each
row, markers show the interrupts the CPU takes (timer tick, device interrupt,
IPI); arrows from one row to another show lock hand-offs (from the release
to the spinner's acquisition) and reschedule IPIs (from the send to the
arrival).  The x axis is the time in microseconds or milliseconds (whichever
reads better for the window), since boot or, with ``relative=True``, since
the window's start.  The recordings are those of ``Kernel.recording()``
(:mod:`reproduce.kernel.record`).
"""
from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch

MODE_COLORS = {"user": "#8fc98f", "kernel": "#e6550d", "spin": "#c51b8a", "idle": "#e0e0e0"}
MODE_LABELS = {"user": "user", "kernel": "kernel (holding the lock on MP)",
               "spin": "spin (waiting for the lock)", "idle": "idle (halted)"}
MARKERS = {"timer": ("v", "#3f3f3f", "timer tick"), "irq": ("^", "#2b6cb0", "device interrupt"),
           "ipi": ("*", "#6a3d9a", "IPI taken")}
HANDOFF_COLOR = "#111111"
IPI_COLOR = "#6a3d9a"
BAR = 0.56                      # bar height (rows are 1 apart)


UNITS = {"us": (1e6, "µs"), "ms": (1e3, "ms")}


def _unit(span_cycles: int, clock_hz: float, unit: str | None = None) -> tuple[float, str]:
    """Cycles per axis unit and the unit's name: *unit* ("us" or "ms"), or
    by default microseconds for windows under 2 ms, else milliseconds."""
    if unit is None:
        unit = "us" if span_cycles * 1e3 / clock_hz < 2.0 else "ms"
    if unit not in UNITS:
        raise ValueError(f"unit={unit!r}: allowed are {', '.join(UNITS)}")
    per_s, name = UNITS[unit]
    return clock_hz / per_s, name


def timeline(recording: dict[str, Any], ax: Axes | None = None, title: str | None = None,
             clock_hz: float | None = None, relative: bool = False,
             legend: bool = True, markers: bool = True, unit: str | None = None) -> Axes:
    """Draw *recording*'s CPUs as a Gantt chart on *ax* (a new figure if
    None); returns the axes.  *title* defaults to what ran (build, CPUs,
    lock); *clock_hz* to the recording's clock.  *relative*: time since the
    window's start rather than since boot.  *markers*: interrupts, IPIs and
    hand-offs.  *unit*: "us" or "ms" (default: by the window's length)."""
    rec = recording
    hz = float(clock_hz or rec["clock_hz"])
    start, end = rec["window"]
    ncpus = rec["cpus"]
    if ax is None:
        fig = Figure(figsize=(10, 0.9 + 0.75 * ncpus), layout="constrained")
        ax = fig.add_subplot()
    per, uname = _unit(end - start, hz, unit)
    origin = start if relative else 0

    def x(c: float) -> float:
        return (c - origin) / per

    for mode, color in MODE_COLORS.items():
        for cpu in range(ncpus):
            bars = [(x(s["start"]), (s["end"] - s["start"]) / per) for s in rec["segments"]
                    if s["cpu"] == cpu and s["mode"] == mode]
            if bars:
                ax.broken_barh(bars, (cpu - BAR / 2, BAR), facecolors=color,
                               edgecolor="none", label=f"_{mode} CPU {cpu}",
                               gid=f"cpu{cpu}:{mode}")
    if markers:
        for kind, (marker, color, label) in MARKERS.items():
            pts = [e for e in rec["entries"] if e["entry"] == kind]
            if pts:
                ax.plot([x(e["cycle"]) for e in pts], [e["cpu"] - BAR / 2 - 0.13 for e in pts],
                        linestyle="none", marker=marker, markersize=5, color=color,
                        clip_on=False, zorder=4)
        arrows = [(h["released"], h["from"], h["acquired"], h["to"], HANDOFF_COLOR)
                  for h in rec["handoffs"] if h["released"] >= start]
        arrows += [(p["cycle"], p["from"], p["arrives"], p["to"], IPI_COLOR)
                   for p in rec["ipis"] if p["arrives"] <= end]
        for c0, r0, c1, r1, color in arrows:
            # From the edge of the releasing row to the edge of the receiving one.
            y0 = r0 + (BAR / 2 if r1 > r0 else -BAR / 2)
            y1 = r1 - (BAR / 2 if r1 > r0 else -BAR / 2)
            ax.add_patch(FancyArrowPatch((x(c0), y0), (x(c1), y1), arrowstyle="-|>",
                                         mutation_scale=7, lw=0.7, color=color, zorder=5,
                                         shrinkA=0, shrinkB=0))
    ax.set_xlim(x(start), x(end))
    ax.set_ylim(ncpus - 0.5, -0.5 - 0.25)       # CPU 0 on top, room for the markers
    ax.set_yticks(range(ncpus), [f"CPU {i}" for i in range(ncpus)])
    ax.tick_params(axis="y", length=0)
    ax.set_xlabel(f"time since {'the window start' if relative else 'boot'} ({uname})")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if title is None:
        title = f"{rec['build'].upper()} kernel, {ncpus} CPU{'s' if ncpus > 1 else ''}"
        if rec["locks"]:
            title += f", {rec['policy']} lock ({rec['spinlock']})"
    ax.set_title(title, loc="left", fontsize=11)
    if legend:
        _legend(ax, [rec], markers)
    return ax


def legend_handles(recordings: list[dict[str, Any]], markers: bool = True) -> list[Any]:
    """The legend's entries: the four modes, then the markers and arrows
    that appear in any of *recordings*."""
    handles: list[Any] = [Patch(facecolor=MODE_COLORS[m], label=MODE_LABELS[m])
                          for m in MODE_COLORS]
    if not markers:
        return handles
    kinds = {e["entry"] for rec in recordings for e in rec["entries"]}
    for kind, (marker, color, label) in MARKERS.items():
        if kind in kinds:
            handles.append(Line2D([], [], linestyle="none", marker=marker, color=color,
                                  markersize=6, label=label))
    if any(h["released"] >= rec["window"][0] for rec in recordings for h in rec["handoffs"]):
        handles.append(Line2D([], [], color=HANDOFF_COLOR, lw=0.9, marker=">", markersize=4,
                              label="lock hand-off"))
    if any(rec["ipis"] for rec in recordings):
        handles.append(Line2D([], [], color=IPI_COLOR, lw=0.9, marker=">", markersize=4,
                              label="reschedule IPI sent"))
    return handles


def _legend(ax: Axes, recordings: list[dict[str, Any]], markers: bool) -> None:
    ax.legend(handles=legend_handles(recordings, markers), loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9, borderaxespad=0)


def timeline_pair(rec_up: dict[str, Any], rec_smp: dict[str, Any],
                  titles: tuple[str | None, str | None] = (None, None),
                  clock_hz: float | None = None, suptitle: str | None = None) -> Figure:
    """UP above SMP: two :func:`timeline` charts stacked on one time axis
    (time since each window's start, so windows of equal length line up).
    One legend, on the SMP chart, for both.  Returns the figure."""
    rows = [rec_up["cpus"], rec_smp["cpus"]]
    fig = Figure(figsize=(10, 1.6 + 0.75 * sum(rows)), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True, height_ratios=[r + 0.6 for r in rows])
    spans = [(r["window"][1] - r["window"][0]) for r in (rec_up, rec_smp)]
    hz = float(clock_hz or rec_smp["clock_hz"])
    unit = "us" if max(spans) * 1e3 / hz < 2.0 else "ms"
    timeline(rec_up, axes[0], title=titles[0], clock_hz=clock_hz, relative=True,
             legend=False, unit=unit)
    timeline(rec_smp, axes[1], title=titles[1], clock_hz=clock_hz, relative=True,
             legend=False, unit=unit)
    _legend(axes[1], [rec_up, rec_smp], True)
    axes[0].set_xlabel("")
    if suptitle:
        fig.suptitle(suptitle, x=0.01, ha="left", fontsize=12)
    # Each chart set its limits to its own window; shared, the longer one wins.
    per, _ = _unit(max(spans), hz, unit)
    axes[1].set_xlim(0, max(spans) / per)
    return fig
