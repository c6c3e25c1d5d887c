"""A recording (``Kernel.record``, :mod:`reproduce.kernel.record`) as a
Chrome trace-event file, the JSON that Perfetto (https://ui.perfetto.dev)
and ``chrome://tracing`` open.

::

    from reproduce.report.trace import write_chrome_trace
    write_chrome_trace(k.recording(), "smp.json")     # then open it in Perfetto

What the file holds (process 1 is the simulated machine; times are
microseconds since boot, from cycles at ``clock_hz``, rounded to 0.1 ns):

* one track per CPU (tid = CPU number, named "CPU 0", "CPU 1", ... by "M"
  metadata events) of "X" complete events, one per segment of the CPU's
  time, named by its mode: ``user``, ``kernel`` (in the kernel; on the MP
  build, holding the lock), ``spin`` (waiting for a lock) and ``idle``.
  They tile the window.  Their args give the exact cycles (``start_cycle``,
  ``end_cycle``) and, for kernel and spin, the entry (``syscall:ipc``...);
* per lock a counter track ("C" events) ``lock <name>``: ``held_by_cpu<i>``
  is 1 while CPU *i* holds it, ``spinning`` counts the CPUs spinning on it
  (drawn stacked by chrome://tracing: its height is the CPUs busy with the
  lock);
* flow arrows ("s"/"f", category ``handoff``) from the CPU that released a
  lock to the spinning CPU it handed it to, and (category ``ipi``) from the
  CPU that sent a reschedule IPI to the CPU it reaches;
* instant events ("i", thread scope) for the interrupts a CPU takes (timer
  tick, device interrupt, IPI), and for each IPI sent.

The output is deterministic: events in a fixed order, keys sorted, times
rounded.  :func:`check_chrome_trace` reads a trace back and checks that the
tracks tile the window and that no lock is held twice at once.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InvariantError

PID = 1
DECIMALS = 4                    # microseconds to 0.1 ns: a cycle is 3.3 ns at 300 MHz
# Colours chrome://tracing knows by name (Perfetto picks its own by name).
CNAME = {"user": "thread_state_running", "kernel": "thread_state_iowait",
         "spin": "terrible", "idle": "thread_state_sleeping"}
INTERRUPTS = {"timer": "timer tick", "irq": "device interrupt", "ipi": "IPI taken"}


def _us(cycles: int, clock_hz: float) -> float:
    return round(cycles * 1e6 / clock_hz, DECIMALS)


def chrome_trace(recording: dict[str, Any], clock_hz: float | None = None) -> dict[str, Any]:
    """The trace-event document of *recording* (``{"traceEvents": [...],
    ...}``); *clock_hz* defaults to the recording's own clock."""
    rec = recording
    hz = float(clock_hz or rec["clock_hz"])
    start, end = rec["window"]

    def us(c: int) -> float:
        return _us(c, hz)

    what = f"{rec['build'].upper()} kernel, {rec['cpus']} CPU" + ("s" if rec["cpus"] > 1 else "")
    if rec["locks"]:
        what += f", {rec['policy']} lock ({rec['spinlock']})"
    meta: list[dict[str, Any]] = [
        {"ph": "M", "pid": PID, "name": "process_name", "args": {"name": what}},
        {"ph": "M", "pid": PID, "name": "process_sort_index", "args": {"sort_index": 0}}]
    for i in range(rec["cpus"]):
        meta.append({"ph": "M", "pid": PID, "tid": i, "name": "thread_name",
                     "args": {"name": f"CPU {i}"}})
        meta.append({"ph": "M", "pid": PID, "tid": i, "name": "thread_sort_index",
                     "args": {"sort_index": i}})
    events: list[dict[str, Any]] = []
    for s in rec["segments"]:
        ts = us(s["start"])
        args: dict[str, Any] = {"start_cycle": s["start"], "end_cycle": s["end"],
                                "cycles": s["end"] - s["start"]}
        if s["entry"] is not None:
            args["entry"] = s["entry"]
        events.append({"ph": "X", "pid": PID, "tid": s["cpu"], "name": s["mode"],
                       "cat": "mode", "ts": ts, "dur": round(us(s["end"]) - ts, DECIMALS),
                       "cname": CNAME[s["mode"]], "args": args})
    # The locks: one state per cycle (the last of several at the same cycle).
    last: dict[tuple[str, int], dict[str, Any]] = {}
    for st in rec["lock_states"]:
        last[(st["lock"], st["cycle"])] = st
    for (name, cycle), st in last.items():
        args = {f"held_by_cpu{i}": int(st["holder"] == i) for i in range(rec["cpus"])}
        args["spinning"] = st["spinning"]
        events.append({"ph": "C", "pid": PID, "name": f"lock {name}", "ts": us(cycle),
                       "args": args})
    flow = 0
    for h in rec["handoffs"]:
        if h["released"] <= start:
            continue             # released before the window: no slice to start from
        flow += 1
        common = {"pid": PID, "cat": "handoff", "name": f"{h['lock']} hand-off", "id": flow}
        # The arrow leaves the releaser's last cycle of the hold (an "s"
        # binds to the slice around it) and enters the new holder's first.
        events.append({"ph": "s", "tid": h["from"], "ts": us(h["released"] - 1),
                       "args": {"released_cycle": h["released"]}, **common})
        events.append({"ph": "f", "bp": "e", "tid": h["to"], "ts": us(h["acquired"]),
                       "args": {"acquired_cycle": h["acquired"],
                                "handoff_cycles": h["acquired"] - h["released"]}, **common})
    for e in rec["entries"]:
        if e["entry"] in INTERRUPTS:
            events.append({"ph": "i", "s": "t", "pid": PID, "tid": e["cpu"],
                           "name": INTERRUPTS[e["entry"]], "cat": "interrupt",
                           "ts": us(e["cycle"]),
                           "args": {"cycle": e["cycle"], "entry": f"{e['entry']}:{e['subsys']}"}})
    for p in rec["ipis"]:
        events.append({"ph": "i", "s": "t", "pid": PID, "tid": p["from"],
                       "name": f"IPI sent to CPU {p['to']}", "cat": "ipi", "ts": us(p["cycle"]),
                       "args": {"cycle": p["cycle"], "to": p["to"]}})
        if p["arrives"] < end:
            flow += 1
            common = {"pid": PID, "cat": "ipi", "name": "reschedule IPI", "id": flow}
            events.append({"ph": "s", "tid": p["from"], "ts": us(p["cycle"]), **common})
            events.append({"ph": "f", "bp": "e", "tid": p["to"], "ts": us(p["arrives"]),
                           **common})
    order = {"X": 0, "C": 1, "i": 2, "s": 3, "f": 4}
    events.sort(key=lambda e: (e["ts"], order[e["ph"]], e.get("tid", -1), e.get("id", 0),
                               e["name"]))
    return {"traceEvents": meta + events, "displayTimeUnit": "ns",
            "otherData": {"generator": "reproduce.report.trace", "clock_hz": hz,
                          "window_cycles": [start, end], "complete": rec["complete"],
                          "build": rec["build"], "policy": rec["policy"],
                          "spinlock": rec["spinlock"], "cpus": rec["cpus"],
                          "locks": list(rec["locks"])}}


def trace_json(doc: dict[str, Any]) -> str:
    """The trace as JSON text: keys sorted, one event per line."""
    events = ",\n".join(json.dumps(e, sort_keys=True) for e in doc["traceEvents"])
    rest = {k: v for k, v in doc.items() if k != "traceEvents"}
    head = json.dumps(rest, sort_keys=True)[1:-1]
    return "{" + head + ',\n"traceEvents": [\n' + events + "\n]}\n"


def write_chrome_trace(recording: dict[str, Any], path: str | Path,
                       clock_hz: float | None = None) -> Path:
    """Write *recording* as a Chrome trace-event JSON file at *path*;
    returns the path."""
    path = Path(path)
    path.write_text(trace_json(chrome_trace(recording, clock_hz)))
    return path


def check_chrome_trace(doc: dict[str, Any]) -> dict[int, dict[str, int]]:
    """Check a trace written by :func:`chrome_trace` (as read back from
    JSON): on every CPU track the "X" segments tile the window (no gap, no
    overlap, by their cycles; their times agree with the cycles), no lock's
    counter ever says two CPUs hold it, and every flow that starts ends.
    Raises InvariantError; returns per CPU the cycles per mode."""
    other = doc["otherData"]
    start, end = other["window_cycles"]
    hz = other["clock_hz"]
    tol = 10 ** -DECIMALS
    out: dict[int, dict[str, int]] = {}
    events = doc["traceEvents"]
    for cpu in range(other["cpus"]):
        segs = sorted((e for e in events if e["ph"] == "X" and e["tid"] == cpu),
                      key=lambda e: e["args"]["start_cycle"])
        sums = {"user": 0, "kernel": 0, "spin": 0, "idle": 0}
        at = start
        for e in segs:
            a, b = e["args"]["start_cycle"], e["args"]["end_cycle"]
            if a != at:
                raise InvariantError(f"CPU {cpu}: {'gap' if a > at else 'overlap'} at cycle "
                                     f"{at}: the next segment starts at {a}")
            if b <= a:
                raise InvariantError(f"CPU {cpu}: empty or reversed segment [{a}, {b})")
            if abs(e["ts"] - a * 1e6 / hz) > tol or \
                    abs(e["ts"] + e["dur"] - b * 1e6 / hz) > 2 * tol:
                raise InvariantError(f"CPU {cpu}: segment [{a}, {b}) has ts {e['ts']}, "
                                     f"dur {e['dur']}")
            sums[e["name"]] += b - a
            at = b
        if at != end:
            raise InvariantError(f"CPU {cpu}: the segments end at cycle {at}, the window "
                                 f"at {end}")
        out[cpu] = sums
    for e in events:
        if e["ph"] == "C":
            held = [k for k, v in e["args"].items() if k.startswith("held_by_cpu") and v]
            if len(held) > 1:
                raise InvariantError(f"{e['name']} at {e['ts']} us: held by {held}")
    starts = {(e["cat"], e["id"]) for e in events if e["ph"] == "s"}
    ends = {(e["cat"], e["id"]) for e in events if e["ph"] == "f"}
    if starts != ends:
        raise InvariantError(f"flows without both ends: {sorted(starts ^ ends)}")
    return out
