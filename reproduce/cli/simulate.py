"""``reproduce simulate``: one scenario.  Its options are generated from the
fields of :class:`~reproduce.bench.scenario.Scenario` (their schema entry,
help and option name), so the command line and the Python API take the same
values, checked by the same code; an option not given is not passed."""
from __future__ import annotations

import argparse
from pathlib import Path
from dataclasses import fields
from typing import Any

from ..errors import ConfigError
from .common import Usage, dumps, key_value

# Parameters of data/params with an option of their own (not a Scenario field).
PARAM_OPTIONS = {"processes": ("--processes", "N", "benchmark processes (default: one per "
                               "CPU, at least two; see data/params/workload.toml)")}


def option_of(f) -> str:
    """The option of Scenario field *f* (its first name when it has two)."""
    opt = f.metadata.get("option")
    if opt is None and f.default is True:
        opt = "--no-" + f.name.replace("_", "-")
    return (opt or "--" + f.name.replace("_", "-")).split("/")[0]


def add_parser(sub) -> None:
    from ..bench.scenario import Scenario, spec_of

    s = sub.add_parser("simulate", help="run one scenario",
                       description="Run one scenario; options not given take the "
                                   "defaults of reproduce.bench.scenario.Scenario.")
    for f in fields(Scenario):
        spec, help_ = spec_of(f), f.metadata.get("help", f.name.replace("_", " "))
        if spec is None:
            continue
        opt = f.metadata.get("option")
        if spec.kind is bool:
            if opt and "/" in opt:
                s.add_argument(opt.split("/")[0], dest=f.name, default=None,
                               action=argparse.BooleanOptionalAction,
                               help=f"{help_} (default {'on' if f.default else 'off'})")
            else:
                flag = opt or ("--no-" if f.default else "--") + f.name.replace("_", "-")
                s.add_argument(flag, dest=f.name,
                               action="store_const", const=not f.default, default=None,
                               help=help_)
            continue
        kw: dict[str, Any] = {"dest": f.name, "default": None,
                              "help": f"{help_}: {spec.allowed()} (default {f.default})"}
        if spec.choices is not None:
            kw["choices"] = list(spec.names())
            kw["help"] = f"{help_} (default {f.default})"
        else:
            kw["metavar"] = spec.unit.upper() or ("N" if spec.kind is int else "X")
        s.add_argument(option_of(f), **kw)
    for key, (opt, metavar, text) in PARAM_OPTIONS.items():
        s.add_argument(opt, dest=f"param_{key}", metavar=metavar, default=None, help=text)
    s.add_argument("-p", "--param", action="append", type=key_value, default=[],
                   metavar="KEY=VALUE", help="override a cost or workload parameter "
                   "(repeatable; see data/params/*.toml), e.g. -p timer_hz=1000")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--trace", metavar="FILE.json", default=None,
                   help="write a window of the run (--trace-window) as a Chrome trace-event "
                   "file for Perfetto or chrome://tracing: one track per CPU, the lock as a "
                   "counter, arrows for lock hand-offs and IPIs (docs/timeline.md)")
    s.add_argument("--trace-window", metavar="FROM:TO", default="0:30",
                   help="the window traced, in ms of simulated time from the start of "
                   "measurement (default 0:30, three 10 ms ticks)")
    s.set_defaults(func=cmd_simulate)


def trace_window(text: str, hz: int) -> tuple[int, int]:
    """``FROM:TO`` in ms as cycles at *hz*; a clear error otherwise."""
    try:
        a, b = (float(x) for x in text.split(":"))
    except ValueError:
        raise Usage(f"argument --trace-window: {text!r}: must be FROM:TO in ms, "
                    "e.g. 0:30") from None
    if not 0 <= a < b or b > 10_000:
        raise Usage(f"argument --trace-window: {text!r}: need 0 <= FROM < TO <= 10000 ms")
    return int(a * hz / 1000), int(b * hz / 1000)


def field_value(f, text: Any, opt: str) -> Any:
    """An option's value through the field's schema entry (the one coercion)."""
    from ..bench.scenario import spec_of
    from ..schema import convert
    try:
        return convert(f.name, spec_of(f), text)
    except ConfigError as err:
        raise Usage(f"argument {opt}: {err}") from None


def overrides(pairs: list[tuple[str, str]], extra: dict[str, str] | None = None) -> dict[str, Any]:
    """``-p`` pairs (and parameter options) as Scenario overrides: the text
    is converted by the parameter's schema entry when the Scenario is made."""
    out: dict[str, Any] = {}
    for key, text in list(pairs) + list((extra or {}).items()):
        if key in out:
            raise Usage(f"argument -p: parameter {key!r} given twice")
        out[key] = text
    return out


def scenario_from_args(args: argparse.Namespace):
    """The Scenario the options name; options not given are not passed.
    With ``--kernel up`` and no ``--cpus``, one CPU."""
    from ..bench.scenario import Scenario, spec_of

    kw: dict[str, Any] = {}
    opts = {}
    for f in fields(Scenario):
        if spec_of(f) is None:
            continue
        v = getattr(args, f.name, None)
        if v is not None:
            opts[f.name] = option_of(f)
            kw[f.name] = field_value(f, v, opts[f.name])
    if kw.get("kernel") == "up" and "cpus" not in kw:
        kw["cpus"] = 1
    extra = {k: getattr(args, f"param_{k}") for k in PARAM_OPTIONS
             if getattr(args, f"param_{k}", None) is not None}
    ov = overrides(args.param, extra)
    if ov:
        kw["overrides"] = ov
    try:
        return Scenario(**kw)
    except ConfigError as err:
        msg = str(err)
        name = msg.partition("=")[0]
        opt = opts.get(name)
        if opt is None and msg.startswith("parameter "):
            opt = PARAM_OPTIONS.get(name[len("parameter "):], ("-p",))[0]
        elif opt is None and msg.startswith(("overrides", "unknown parameter")):
            opt = "-p"
        raise Usage(f"argument {opt}: {msg}" if opt else msg) from None


def cmd_simulate(args: argparse.Namespace) -> int:
    from ..bench.run import simulate
    from ..bench.scenario import build_params
    from ..version import model_version

    s = scenario_from_args(args)
    hz = int(build_params(s)[0]["clock_hz"])
    window = trace_window(args.trace_window, hz) if args.trace else None
    if args.trace and not Path(args.trace).expanduser().resolve().parent.is_dir():
        raise Usage(f"argument --trace: the folder of {args.trace!r} does not exist")
    r = simulate(s, record=window)
    ms = 1000.0 * r.cycles / hz
    if args.trace:
        from ..report.trace import write_chrome_trace
        write_chrome_trace(r.extra["recording"], Path(args.trace).expanduser(), hz)
    if args.json:
        d = r.to_dict()
        d["table1"] = r.table1()
        d["clock_hz"] = hz
        d["simulated_ms"] = ms
        d["model_version"] = model_version()
        print(dumps(d))
        return 0
    print(human(s, r, hz, ms))
    return 0


def _pct(x: float) -> str:
    return f"{100.0 * x:6.2f}%"


def human(s, r, hz: int, ms: float) -> str:
    """The result for a reader: per-CPU modes, the Table 1 row, the lock."""
    lines = []
    build = s.kernel.upper() if s.kernel == "up" else f"MP ({s.lock}, {s.spinlock})"
    wl = s.workload if s.workload == "paper" else \
        f"synthetic ({s.distribution}, user {s.user_mean:g} / kernel {s.kernel_mean:g} cycles)"
    ov = ", ".join(f"{k}={v}" for k, v in s.overrides)
    lines.append(f"kernel {build} on {s.cpus} CPU(s); workload {wl}; seed {s.seed}"
                 + ("" if s.calibrated else "; uncalibrated") + (f"; {ov}" if ov else ""))
    fr = r.fractions()
    lines.append("")
    lines.append(f"{'cpu':>4} " + " ".join(f"{m:>8}" for m in fr.columns))
    for i in fr.index:
        lines.append(f"{i:>4} " + " ".join(f"{_pct(fr.loc[i, m]):>8}" for m in fr.columns))
    t1 = r.table1()
    lines.append("")
    lines.append("Table 1 row (mean over CPUs; user includes idle): "
                 f"user {_pct(t1['user']).strip()}  kernel {_pct(t1['kernel']).strip()}  "
                 f"spin {_pct(t1['spin']).strip()}")
    done = "" if r.completed else "  (NOT completed: hit the run limit)"
    lines.append(f"cycles {r.cycles} = {ms:.3f} ms at {hz / 1e6:g} MHz; events {r.events}{done}")
    lk = r.lock
    if lk.get("acquisitions"):
        lines.append(
            f"lock: acquisitions {lk['acquisitions']}  contentions {lk['contentions']}  "
            f"wait total {lk['waittime_total']} avg {lk.get('waittime_avg', 0):.0f} "
            f"max {lk.get('waittime_max', 0)}  "
            f"hold total {lk['holdtime_total']} avg {lk.get('holdtime_avg', 0):.0f} "
            f"max {lk.get('holdtime_max', 0)}  "
            f"bounces con {lk.get('con_bounces', 0)} acq {lk.get('acq_bounces', 0)}")
    else:
        lines.append("lock: none taken")
    if lk.get("holds_in_progress") or lk.get("waits_in_progress"):
        lines.append(f"lock at the end of the run: {lk['holds_in_progress']} hold(s) in "
                     f"progress ({lk['holdtime_in_progress']} cycles), "
                     f"{lk['waits_in_progress']} wait(s) ({lk['waittime_in_progress']} cycles)")
    return "\n".join(lines)
