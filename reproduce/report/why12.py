"""The results part of ``docs/why-1.2.md``, written from E8's tables.

Every number of the model on that page comes from
``data/results/e8_hypotheses.csv`` and ``e8_discriminating.csv`` through
:func:`render`, and so does every statement that depends on them (which
variants reach the paper's speedup, which tie, which causes change nothing):
the text between the page's two markers is replaced whole.  The reasons
given beside a statement (why a cause changes nothing) are written here, and
each appears only while the numbers it explains say so.

``python -m reproduce.report.why12`` rewrites the page (``make docs``;
``make reproduce`` after E8 reruns), ``--check`` exits 1 if the committed
page differs, and ``tests/test_why12_page.py`` runs the check.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from ..files import atomic_write_text
from ..params import DATA

PAGE = DATA.parent / "docs" / "why-1.2.md"
RESULTS = DATA / "results"
BEGIN = ("<!-- results: written by `python -m reproduce.report.why12` from "
         "data/results/e8_*.csv; edit reproduce/report/why12.py, not this text -->")
END = "<!-- end of the written results -->"

# The predicted observables, as the text names them.
SHORT = {"SMP user": "SMP user", "SMP kernel": "SMP kernel", "SMP spin": "spin",
         "kernel work SMP / UP": "kernel work", "affinity gain": "affinity",
         "priority gain": "priority", "time-slice gain": "time slice"}
# A cause "changes almost nothing" if it moves the speedup by less than the
# paper's own rounding of it.
NOTHING = 0.05
LOCKSTEP = ("tick_walk", "false_sharing", "idle_poll", "ipi_wakeup", "pollers")


class Tables:
    """E8's two tables, read by hypothesis and observable."""

    def __init__(self, hyp: pd.DataFrame, disc: pd.DataFrame) -> None:
        self.hyp = hyp
        self.s = hyp[hyp["observable"] == "SMP speedup"].set_index("hypothesis")
        self.model = hyp.pivot(index="hypothesis", columns="observable", values="model")
        self.matched = hyp.pivot(index="hypothesis", columns="observable", values="matched")
        self.status = hyp.pivot(index="hypothesis", columns="observable", values="status")
        self.paper = hyp.drop_duplicates("observable").set_index("observable")["paper"]
        self.unit = hyp.drop_duplicates("observable").set_index("observable")["unit"]
        self.disc = disc.pivot(index="hypothesis", columns="observable", values="model")

    def sp(self, h: str) -> float:
        return float(self.s.loc[h, "model"])

    def val(self, h: str, obs: str) -> float:
        return float(self.model.loc[h, obs])

    def predicted(self, h: str) -> list[str]:
        return [o for o in SHORT if self.status.loc[h, o] == "predicted"]

    def hits(self, h: str) -> list[str]:
        return [o for o in self.predicted(h) if bool(self.matched.loc[h, o])]

    def misses(self, h: str) -> list[str]:
        return [o for o in self.predicted(h) if not bool(self.matched.loc[h, o])]

    def survivors(self) -> list[str]:
        s = self.s
        return [h for h in s.index if bool(s.loc[h, "reached"]) and bool(s.loc[h, "plausible"])]

    def value(self, h: str) -> float:
        return float(self.s.loc[h, "fitted_value"])


def _q(obs: str, x: float, t: Tables) -> str:
    """A model value in its observable's unit."""
    return f"{x:.1f} %" if t.unit[obs] == "%" else f"{x:.2f}"


def _paper(obs: str, t: Tables) -> str:
    """The paper's range of *obs* as the table states it; a ratio the
    paper's numbers imply (kernel work) to two decimals."""
    text = str(t.paper[obs])
    if t.unit[obs] == "ratio" and "-" in text.lstrip("-"):
        lo, hi = text.rsplit("-", 1)
        text = f"{float(lo):.2f}-{float(hi):.2f}"
    return f"{text}{' %' if t.unit[obs] == '%' else ''}"


def _names(obs: list[str]) -> str:
    return ", ".join(SHORT[o] for o in obs) or "none"


def _missed(h: str, t: Tables) -> str:
    return "; ".join(f"{o} ({_q(o, t.val(h, o), t)} against {_paper(o, t)})"
                     for o in t.misses(h))


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def intro(t: Tables, seeds: int) -> str:
    n = len(t.s)
    singles = sum(1 for h in t.s.index if h != "baseline" and " + " not in h)
    return (f"`reproduce experiments run E8` ({seeds} seeds, {n} variants: baseline, "
            f"{singles} causes, {n - 1 - singles} pairs; its cost is in "
            "[performance.md](performance.md)). `make reproduce` reruns it only when the model "
            "changed (`data/results/e8_model_version.txt`). Table: "
            "`data/results/e8_hypotheses.csv`; map and discriminating table: notebook "
            "`10-why-1.2`. Labels: the speedup is **fitted** (or, without a free parameter, "
            "predicted), UP kernel and MP-on-UP are **calibrated**, the other seven columns are "
            "**predicted**. The numbers below are of the model as committed (baseline speedup "
            f"{t.sp('baseline'):.2f}), written from the tables by `reproduce/report/why12.py`.")


def background(t: Tables) -> str:
    b, f, kw, spin = "baseline", "bg_fixed", "kernel work SMP / UP", "SMP spin"
    text = (f"**What the background is.** As fixed work per run (`bg_fixed`, no free "
            f"parameter) the background brings the predicted speedup from {t.sp(b):.2f} to "
            f"**{t.sp(f):.2f}**, makes the kernel work SMP / UP {t.val(f, kw):.2f} (paper "
            f"{_paper(kw, t)}; the rate in time gives {t.val(b, kw):.2f}) and the SMP spin "
            f"{t.val(f, spin):.1f} % (paper {_paper(spin, t)}; baseline "
            f"{t.val(b, spin):.1f} %). It matches {len(t.hits(f))} of the "
            f"{len(t.predicted(f))} predictions ({_names(t.hits(f))}) where the baseline "
            f"matches {len(t.hits(b))} ({_names(t.hits(b))}), with no parameter fitted. "
            f"It misses {_missed(f, t)}.")
    pg = "priority gain"
    if t.val(f, pg) > t.val(b, pg):
        text += (f" It makes the priority null worse: the fixed work runs at the system "
                 f"threads' priority, so a benchmark raised above them finishes before it "
                 f"(predicted gain {t.val(f, pg):.2f}, baseline {t.val(b, pg):.2f}; paper "
                 f"{_paper(pg, t)}).")
    m = "bg_mixed"
    text += f" The mixed form (`{m}`) fits its share to {t.value(m):.2f}"
    text += (", the end of its bracket: no mixture lowers the speedup further."
             if t.value(m) >= 1.0 - 1e-9 else f" (speedup {t.sp(m):.2f}).")
    return text


def bus(t: Tables, bus_max: float) -> str:
    surv = t.survivors()
    if not surv:
        return "**No variant reaches the paper's speedup with a plausible value.**"
    all_fsb = all("fsb" in h.split(" + ") for h in surv)
    head = ("**Only the front-side bus reaches 1.2.**" if all_fsb
            else "**What reaches 1.2.**")
    text = (f"{head} The {len(surv)} variants that reach the paper's speedup with a plausible "
            f"value {'all contain `fsb`' if all_fsb else 'are ' + _and([f'`{h}`' for h in surv])}.")
    top = max(len(t.hits(h)) for h in surv)
    best = [h for h in surv if len(t.hits(h)) == top]
    fills = [f"`{h}` ({t.value(h):.1f} L2 fills per 1000 cycles of the loop, a solo bus share "
             f"of {t.value(h) / bus_max:.2f})" for h in best]
    text += (f" The best of them, {_and(fills)}, match {top} of 7 predictions "
             f"({_names(t.hits(best[0]))})")
    if "fsb" in t.s.index:
        text += f" where `fsb` alone matches {len(t.hits('fsb'))}"
    text += ". " + " ".join(f"`{h}` misses {_missed(h, t)}." for h in best)
    every = max(len(t.hits(h)) for h in t.s.index)
    ties = [h for h in t.s.index if len(t.hits(h)) == every]
    if len(ties) > 1:
        text += (f" {len(ties)} variants match {every}, so no cause or pair stands out "
                 "clearly.")
    return text


def lockstep(t: Tables, active: int, lo_hi: dict[str, tuple[float, float, float | None]]) -> str:
    causes = [c for c in LOCKSTEP if c in t.s.index]
    reached = [c for c in causes if c in t.survivors()]
    head = ("**The lockstep causes put the CPUs in step but cannot reach 1.2 with a plausible "
            "value.**" if not reached else "**The lockstep causes.**")
    parts = []
    for c in causes:
        free = t.s.loc[c, "free_parameter"]
        s = f"`{c}` alone gives {t.sp(c):.2f}"
        if isinstance(free, str):
            v = t.value(c)
            lo, hi, most = lo_hi[c]
            s += f" at `{free}` = {v:g}"
            if v in (lo, hi):
                s += " (the end of its bracket)"
            if not bool(t.s.loc[c, "plausible"]) and most is not None:
                s += f", implausible (at most {most:g} accepted)"
        s += f", with an SMP spin of {t.val(c, 'SMP spin'):.1f} %"
        pair = f"bg_fixed + {c}"
        if pair in t.s.index:
            s += f"; with fixed work (`{pair}`) {t.sp(pair):.2f}"
            if isinstance(free, str):
                s += f" at {t.value(pair):g}"
            s += f", spin {t.val(pair, 'SMP spin'):.1f} %"
        parts.append(s + ".")
    text = head + " " + " ".join(parts)
    calm = [c for c in ("idle_poll", "ipi_wakeup")
            if c in t.s.index and abs(t.sp(c) - t.sp("baseline")) < NOTHING]
    if calm:
        text += (f" {_and([f'`{c}`' for c in calm])} {'change' if len(calm) > 1 else 'changes'} "
                 f"the speedup by less than {NOTHING}: with {active} active system threads "
                 "a CPU is hardly ever idle, and with the two CPUs' timers together a woken "
                 "thread's CPU takes its own tick at once.")
    if "pollers" in t.s.index and t.value("pollers") == lo_hi["pollers"][0]:
        text += (" `pollers` fits its lowest value: elastic user work at the benchmark's "
                 "priority shares the CPU the same way on one CPU and two, and so cannot lower "
                 "the speedup.")
    return text + (" A cause that needs an implausible value is a finding, not a failure: "
                   "these mechanisms would have to be far stronger than the kernel of the era "
                   "could make them.")


def calibrations(t: Tables) -> str:
    bad = [h for h in t.s.index if not bool(t.s.loc[h, "calibration_plausible"])]
    if not bad:
        return ("**Calibrated values.** Every variant's `bg_kernel_cycles` and "
                "`mp_entry_overhead` are within the plausible bounds.")
    text = ("**Calibrated values.** Every variant's `bg_kernel_cycles` and `mp_entry_overhead` "
            f"are within the plausible bounds except {len(bad)}: "
            f"{_and([f'`{h}`' for h in bad])}.")
    if all("priority_equal" in h.split(" + ") for h in bad):
        text += (" All are with `priority_equal`: round robin with the benchmark delays the "
                 "system threads, and the UP calibration needs several times the baseline's "
                 "cycles per call.")
    return text


def verdict(t: Tables) -> str:
    every = max(len(t.hits(h)) for h in t.s.index)
    ties = [h for h in t.s.index if len(t.hits(h)) == every]
    kw, f = "kernel work SMP / UP", "bg_fixed"
    text = ("**Verdict.** " + (
        f"No cause or pair reproduces the paper with one free parameter and clearly more "
        f"matches than the others: the best reach {every} of 7 predictions, and "
        f"{len(ties) - 1} others tie with them." if len(ties) > 1 else
        f"One variant matches most predictions: `{ties[0]}`, {every} of 7."))
    text += (" The model's default is left as it was (the background a rate in time, no E8 "
             "cause on), and the summary reports the misses, kernel work SMP / UP "
             f"({t.val('baseline', kw):.2f} against {_paper(kw, t)}) among them.")
    if {kw, "SMP spin"} <= set(t.hits(f)):
        text += (" The strongest single finding is that the rate-in-time background is the "
                 "model's largest error: as fixed work it conserves the kernel work and gives "
                 f"the paper's spin without a parameter, and what is left ({t.sp(f):.2f} "
                 "against 1.2, the priority null) needs either a memory-bound loop or a cause "
                 "not yet in E8.")
    return text


def _span(xs: list[float], fmt: str = "{:.2f}") -> str:
    lo, hi = min(xs), max(xs)
    return fmt.format(lo) if abs(hi - lo) < 0.005 else f"{fmt.format(lo)} to {fmt.format(hi)}"


def discriminating(t: Tables) -> str:
    d = t.disc
    names = list(d.index)
    surv = [h for h in t.survivors() if h in names]
    rest = [h for h in names if "fsb" not in h.split(" + ")]
    bu = "benchmark user cycles SMP / UP"
    lines = ["**Discriminating predictions** (`data/results/e8_discriminating.csv`), for a "
             "reader with the real machine:", ""]
    lines.append(f"* the benchmark's own user cycles SMP / UP: "
                 f"{_span([d.loc[h, bu] for h in surv])} under the variants that reach 1.2, "
                 f"{_span([d.loc[h, bu] for h in rest])} under every variant without `fsb` (read "
                 "the TSC around the loop);")
    share = "SMP 'user' %: benchmark"
    shown = [h for h in ("fsb + bg_fixed", "bg_fixed", "baseline") if h in names]
    idle_user = _span([d.loc[h, "SMP 'user' %: idle"] for h in shown], "{:.1f}")
    other_user = _span([d.loc[h, "SMP 'user' %: other user"] for h in shown], "{:.1f}")
    lines.append("* the paper's \"user\" column split: the benchmark's own share of each CPU is "
                 + ", ".join(f"{d.loc[h, share]:.0f} % under `{h}`" for h in shown)
                 + f"; under these three, idle {idle_user} % and other user work "
                 f"{other_user} % of each CPU;")
    kw = "kernel work SMP / UP"
    lines.append(f"* kernel work SMP / UP (kernel cycles of both CPUs over the UP run's): "
                 + ", ".join(f"{d.loc[h, kw]:.2f} under `{h}`" for h in shown)
                 + f" (the paper's own numbers give {_paper(kw, t)});")
    half, together = "speedup with timers half a tick apart", "speedup (timers together)"
    lines.append("* the two CPUs' timers half a tick apart: "
                 + ", ".join(f"`{h}` goes from {d.loc[h, together]:.2f} to {d.loc[h, half]:.2f}"
                             for h in ("fsb", "fsb + bg_fixed", "baseline") if h in names) + ";")
    idle = [max(d.loc[h, "CPU 0 idle %"], d.loc[h, "CPU 1 idle %"]) for h in names]
    most = dict(zip(names, idle))
    named = [h for h in ("placement", "irq_cpu0") if h in names]
    calm = [most[h] for h in names if h not in named and not any(
        n in h.split(" + ") for n in named)]
    irq = "CPU 0 share of device interrupts"
    lines.append("* per-CPU idle separate from user: "
                 + ", ".join(f"`{h}` idles a CPU {most[h]:.0f} %" for h in named)
                 + f", every variant without them at most {max(calm):.1f} %; per-CPU interrupt "
                 f"counts: {100 * d.loc['irq_cpu0', irq]:.0f} % on CPU 0 under `irq_cpu0`, "
                 f"{100 * d.loc['baseline', irq]:.0f} % under the baseline.")
    return "\n".join(lines)


def other(t: Tables) -> str:
    parts = []
    if "idle_tick" in t.s.index and abs(t.sp("idle_tick") - t.sp("baseline")) < NOTHING:
        parts.append(f"`idle_tick` changes the speedup by less than {NOTHING} (a CPU is almost "
                     "never idle, so how it wakes does not matter).")
    pe = [h for h in t.s.index if "priority_equal" in h.split(" + ") and h != "priority_equal"]
    if "priority_equal" in t.s.index:
        ts = "time-slice gain"
        parts.append("With the benchmark at the system threads' priority (`priority_equal`) "
                     "the UP row is hard to hold, and the variant predicts a time-slice gain "
                     f"of {t.val('priority_equal', ts):.2f} (its pairs "
                     f"{_span([t.val(h, ts) for h in pe])}; paper {_paper(ts, t)}).")
    return "Other findings: " + " ".join(parts) if parts else ""


def render_results(hyp: pd.DataFrame, disc: pd.DataFrame) -> str:
    """The page's results, from E8's two tables."""
    from ..bench.scenario import Scenario, build_params
    from ..experiments import e8
    t = Tables(hyp, disc)
    hs = e8.hypotheses()
    lo_hi = {n: (h.lo, h.hi, h.plausible_max) for n, h in hs.items()}
    _, w = build_params(Scenario(calibrated=False))
    active = int(round(w["threads"] * w["active_fraction"]))
    blocks = [intro(t, e8.SEEDS), background(t), bus(t, e8.bus_max()),
              lockstep(t, active, lo_hi), calibrations(t), verdict(t), discriminating(t),
              other(t)]
    return "\n\n".join(b for b in blocks if b) + "\n"


def render(page: str | None = None) -> str:
    """The page with its results part written from the committed tables."""
    text = PAGE.read_text(encoding="utf-8") if page is None else page
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{PAGE.name}: the markers of the written results are missing")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    body = render_results(pd.read_csv(RESULTS / "e8_hypotheses.csv"),
                          pd.read_csv(RESULTS / "e8_discriminating.csv"))
    return f"{head}{BEGIN}\n{body}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    rel = Path(PAGE).relative_to(DATA.parent)
    if "--check" in args:
        same = PAGE.read_text(encoding="utf-8") == text
        if not same:
            print(f"{rel} is out of date: run `python -m reproduce.report.why12`",
                  file=sys.stderr)
        return 0 if same else 1
    if PAGE.read_text(encoding="utf-8") != text:
        atomic_write_text(PAGE, text)
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
