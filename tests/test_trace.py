"""Seeing the CPUs in lockstep (issue 22): the recording of a window of a
run (``Kernel.record``), its Chrome trace and its timeline figure.

The kernels here run the paper's workload (benchmark, system threads,
device interrupts, as ``reproduce simulate`` runs it) on the calibrated
machine, built as the walk-through builds its kernel.  A recording must
describe the run exactly (segments that tile the window and add up to the
CPUs' own counters, one holder at a time) and must not change it."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from reproduce.errors import ConfigError, InvariantError
from reproduce.kernel.forward import kernel_class
from reproduce.kernel import sched
from reproduce.kernel.locking import POLICIES, LockPolicy, make_policy
from reproduce.kernel.proc import RUN, SPAWN
from reproduce.kernel.record import check_recording
from reproduce.kernel.vm import MemoryManager
from reproduce.machine.cpu import MODE_NAMES, CPU, RecordingCPU
from reproduce.machine.engine import Engine
from reproduce.machine.memory import PhysicalMemory
from reproduce.params import load
from reproduce.perf import fast
from reproduce.report import trace as T
from reproduce.report.timeline import timeline, timeline_pair
from reproduce.version import ROOT

WINDOW = (2_000_000, 3_500_000)      # cycles after the warm-up: 5 ms, a tick, interrupts


def tables(**work):
    """The cost and workload tables with the calibrated values."""
    from reproduce.bench.calibration import calibration
    cal = calibration()
    costs, w = load("pentium2"), load("workload")
    costs = costs.replace(**{k: v for k, v in cal.items() if k in costs})
    w = w.replace(**{k: v for k, v in cal.items() if k in w}, **work)
    return costs, w


def paper_kernel(cpus=2, lock="giant", kind="tas", seed=0, window=WINDOW, debug=False,
                 record_before_boot=False, **work):
    """A kernel running the paper's workload, as ``reproduce simulate`` runs
    it: booted, the system threads and device interrupts started, warmed up
    for three ticks, then the benchmark created.  *window* (cycles after the
    warm-up; None: no recording) is recorded.  Returns (kernel, warm-up end)."""
    from reproduce.bench import workload as W
    costs, w = tables(**work)
    build = "mp" if cpus > 1 or lock != "none" else "up"
    engine = Engine()
    mem = PhysicalMemory(costs["memory_bytes"])
    ss = np.random.SeedSequence(seed)
    rng = np.random.default_rng(ss.spawn(1)[0])
    policy = make_policy(lock, kind, cpus) if build == "mp" else LockPolicy(kind, cpus)
    mm = MemoryManager(mem, cpus, build == "mp")
    k = kernel_class(policy)(engine, mem, cpus, build, policy, costs, w, rng, mm=mm,
                             debug=debug)
    t0 = 3 * k.tick_period
    if window is not None and record_before_boot:
        k.record(t0 + window[0], t0 + window[1])
    k.boot()
    if window is not None and not record_before_boot:
        k.record(t0 + window[0], t0 + window[1])
    W.start_system(k, w, ss.spawn(1)[0], with_containers=True)
    ratio = w["irq_cycles_ratio"]
    if w["undeferrable_share"] >= 0:
        ratio = W.irq_ratio_for_share(w, w["undeferrable_share"])
    k.devices.start(w["irq_hz"] / k.c["clock_hz"], w["bg_kernel_cycles"] * ratio,
                    w["irq_routing"],
                    np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(11,))),
                    burst=w["irq_burst"], gap=int(w["irq_burst_gap"]),
                    alternate=bool(w["irq_burst_alternate"]))
    k.start()
    engine.run(until=t0)
    k.reset_stats()
    bench = []
    for i in range(int(w["processes"]) or max(2, cpus)):
        prog = W.benchmark_loop(int(w["work_cycles"]), int(w["iteration_cycles"]),
                                int(w["call_every"]), int(w["call_cycles"]))
        home = 0 if w["placement"] == "same" and k.affinity else None
        bench.append(k.create_process(f"bench{i}", "benchmark", prog, int(w["priority"]),
                                      container=mm.container_create(), cpu=home))
    k.wait_for(bench)
    sched.admit(k)
    return k, t0


def run_window(k, t0, window=WINDOW):
    """Run through the window; returns each CPU's mode cycles in it, from
    ``CPU.account`` at the window's ends."""
    a, b = t0 + window[0], t0 + window[1]
    k.engine.run(until=a)
    before = k.modes(a)
    k.engine.run(until=b)
    assert k.done_at is None and k.engine.now == b
    after = k.modes(b)
    return [{m: y - x for m, x, y in zip(MODE_NAMES, xs, ys)} for xs, ys in zip(before, after)]


def finish(k):
    k.engine.run(until=k.engine.now + 100 * int(k.s["work_cycles"]))
    return k.done_at if k.done_at is not None else k.engine.now


@pytest.fixture(scope="module")
def smp():
    """The 2-CPU giant-lock kernel with its window recorded: (kernel,
    recording, mode cycles in the window by the CPUs' counters)."""
    k, t0 = paper_kernel()
    modes = run_window(k, t0)
    return k, k.recording(), modes


# ---------------------------------------------------------------- recording
def test_segments_tile_the_window_and_add_up_to_the_cpu_counters(smp):
    k, rec, modes = smp
    check_recording(rec)
    start, end = rec["window"]
    assert rec["complete"] and end - start == WINDOW[1] - WINDOW[0]
    assert rec["modes"] == modes
    for cpu in range(2):
        segs = [s for s in rec["segments"] if s["cpu"] == cpu]
        assert segs[0]["start"] == start and segs[-1]["end"] == end
        assert all(a["end"] == b["start"] for a, b in zip(segs, segs[1:]))
        sums = dict.fromkeys(MODE_NAMES, 0)
        for s in segs:
            sums[s["mode"]] += s["end"] - s["start"]
        assert sums == modes[cpu]
    # the window shows what the paper is about: both CPUs in the kernel's
    # lock, taking turns, one spinning while the other holds it
    assert all(m["spin"] > 0 and m["kernel"] > 0 and m["user"] > 0 for m in modes)
    assert len(rec["handoffs"]) >= 10
    kinds = {e["entry"] for e in rec["entries"]}
    assert {"timer", "irq", "syscall"} <= kinds


def test_the_lock_has_one_holder_and_holding_is_the_kernel_mode(smp):
    k, rec, modes = smp
    holds = sorted(rec["holds"], key=lambda h: h["start"])
    assert all(a["end"] <= b["start"] for a, b in zip(holds, holds[1:]))
    # A CPU spins or holds; during a hand-off (the lock word's line on its
    # way to the next owner) nobody holds it and both CPUs may spin.
    for st in rec["lock_states"]:
        assert st["holder"] in (None, 0, 1)
        assert st["spinning"] + (st["holder"] is not None) <= 2
    # On the giant-lock build a CPU is in the kernel exactly while it holds
    # the lock: its kernel segments are its holds.
    for cpu in range(2):
        kern = [(s["start"], s["end"]) for s in rec["segments"]
                if s["cpu"] == cpu and s["mode"] == "kernel"]
        assert kern == [(h["start"], h["end"]) for h in holds if h["cpu"] == cpu]
    # Each hand-off: the new holder spun until the acquisition, then holds;
    # the old one held until the release.
    segs = {(s["cpu"], s["end"]): s for s in rec["segments"]}
    starts = {(s["cpu"], s["start"]): s for s in rec["segments"]}
    for h in rec["handoffs"]:
        assert h["from"] != h["to"] and h["released"] < h["acquired"]
        assert h["acquired"] - h["released"] >= k.c["line_transfer"]
        assert segs[(h["to"], h["acquired"])]["mode"] == "spin"
        assert starts[(h["to"], h["acquired"])]["mode"] == "kernel"
        if h["released"] > rec["window"][0]:
            assert segs[(h["from"], h["released"])]["mode"] == "kernel"
    # every acquisition that waited is a hand-off, and the counters agree
    waited = [a for a in rec["acquisitions"] if a["waited"] > 0]
    assert len(waited) == len(rec["handoffs"])


def test_kernel_segments_name_their_entry(smp):
    _, rec, _ = smp
    kern = [s for s in rec["segments"] if s["mode"] in ("kernel", "spin")]
    assert all(s["entry"] for s in kern)
    assert {s["entry"].split(":")[0] for s in kern} >= {"timer", "irq", "syscall"}
    assert all(s["entry"] is None for s in rec["segments"] if s["mode"] in ("user", "idle"))


def test_recording_does_not_change_the_run():
    """Same seed, with and without recording (and recording set up before
    or after boot): the same run, cycle for cycle."""
    plain, t0 = paper_kernel(window=None)
    runs = [paper_kernel(), paper_kernel(record_before_boot=True)]
    end = finish(plain)
    assert plain.done_at is not None
    for k, _ in runs:
        assert isinstance(k.cores[0].cpu, RecordingCPU)
        assert finish(k) == end
        assert k.modes(end) == plain.modes(end)
        assert k.stats(t0, end) == plain.stats(t0, end)
        assert k.engine.events == plain.engine.events
    assert runs[0][0].recording() == runs[1][0].recording()
    assert type(plain.cores[0].cpu) is CPU and type(plain.watch).__name__ == "Watcher"


def test_a_debug_trace_is_the_same_with_recording():
    """The recorder sits in front of the debug checker and its step trace:
    both still do their work, unchanged."""
    traces = []
    for window in (None, (0, 300_000)):
        k, _ = small_kernel(debug=True, window=window)
        k.trace = []
        k.start()
        k.engine.run()
        traces.append(k.trace)
    assert traces[0] and traces[0] == traces[1]


@pytest.mark.parametrize("lock", sorted(POLICIES))
def test_every_strategy_records_consistently(lock):
    kind = "ticket" if lock in ("fine", "subsystem") else "tas"
    k, t0 = paper_kernel(lock=lock, kind=kind, window=(0, 600_000))
    modes = run_window(k, t0, (0, 600_000))
    rec = k.recording()
    check_recording(rec)
    assert rec["modes"] == modes and rec["locks"] == [x.name for x in k.policy.locks]
    doc = json.loads(T.trace_json(T.chrome_trace(rec)))
    assert T.check_chrome_trace(doc) == {i: modes[i] for i in range(2)}
    if k.policy.forwarding:          # every kernel path runs on the master
        assert rec["entries"] and all(e["ran_on"] == k.policy.master for e in rec["entries"])
        assert all(s["cpu"] == k.policy.master for s in rec["segments"]
                   if s["mode"] == "kernel")
    plain, _ = paper_kernel(lock=lock, kind=kind, window=None)
    assert finish(plain) == finish(k) and plain.modes(plain.engine.now) == k.modes(k.engine.now)


def test_up_kernel_records_without_a_lock():
    k, t0 = paper_kernel(cpus=1, lock="none")
    modes = run_window(k, t0)
    rec = k.recording()
    check_recording(rec)
    assert rec["build"] == "up" and rec["locks"] == [] and rec["modes"] == modes
    assert not rec["holds"] and not rec["handoffs"] and not rec["lock_states"]
    assert modes[0]["spin"] == 0 and modes[0]["kernel"] > 0
    assert {e["entry"] for e in rec["entries"]} >= {"timer", "irq", "syscall"}
    doc = T.chrome_trace(rec)
    assert not [e for e in doc["traceEvents"] if e["ph"] in ("C", "s", "f")]


# ------------------------------------------------------------------- IPIs
def _child():
    yield (RUN, 5000)


def _parent():
    yield (RUN, 1000)
    yield (SPAWN, "child", _child(), 0, "dynamic")
    yield (RUN, 2000)


def small_kernel(debug=False, window=(0, 300_000)):
    """Two CPUs, no timer: a thread on CPU 0 spawns a child, which goes to
    the halted CPU 1 with a reschedule IPI.  Not started."""
    costs, w = tables(timer_hz=0)
    mem = PhysicalMemory(costs["memory_bytes"])
    mm = MemoryManager(mem, 2, True)
    policy = make_policy("giant", "tas", 2)
    k = kernel_class(policy)(Engine(), mem, 2, "mp", policy, costs, w, np.random.default_rng(0),
                             mm=mm, debug=debug)
    if window is not None:
        k.record(*window)
    k.boot()
    k.create_process("parent", "benchmark", _parent(), container=mm.container_create(), cpu=0)
    return k, costs


def test_ipis_are_recorded_from_sender_to_receiver(tmp_path):
    k, costs = small_kernel()
    k.start()
    k.engine.run()
    rec = k.recording()
    check_recording(rec)
    assert k.counters["ipis"] == 1
    (ipi,) = rec["ipis"]
    assert (ipi["from"], ipi["to"]) == (0, 1)
    assert ipi["arrives"] == ipi["cycle"] + costs["ipi_send"]
    # CPU 1 was halted: it takes the IPI when it arrives
    taken = [e for e in rec["entries"] if e["entry"] == "ipi" and e["cpu"] == 1]
    assert taken and taken[0]["cycle"] == ipi["arrives"]
    idle = [s for s in rec["segments"] if s["cpu"] == 1 and s["mode"] == "idle"]
    assert idle[0]["end"] == ipi["arrives"]
    # the send is part of CPU 0's kernel section (the spawn)
    assert any(s["cpu"] == 0 and s["mode"] == "kernel" and s["start"] <= ipi["cycle"] < s["end"]
               for s in rec["segments"])
    doc = json.loads(T.write_chrome_trace(rec, tmp_path / "ipi.json").read_text())
    T.check_chrome_trace(doc)
    ev = doc["traceEvents"]
    assert [e["tid"] for e in ev if e["ph"] == "i" and e["cat"] == "ipi"] == [0]
    assert [e["tid"] for e in ev if e["ph"] == "i" and e["name"] == "IPI taken"] == [1]
    flows = sorted((e["ph"], e["tid"]) for e in ev if e.get("cat") == "ipi" and e["ph"] in "sf")
    assert flows == [("f", 1), ("s", 0)]


# ------------------------------------------------------------ the Chrome trace
def test_chrome_trace_round_trips_and_tiles(smp, tmp_path):
    k, rec, modes = smp
    path = T.write_chrome_trace(rec, tmp_path / "smp.json")
    doc = json.loads(path.read_text())
    assert T.check_chrome_trace(doc) == {0: modes[0], 1: modes[1]}
    ev = doc["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in ev if e["ph"] == "M"
             and e["name"] == "thread_name"}
    assert names == {0: "CPU 0", 1: "CPU 1"}
    xs = [e for e in ev if e["ph"] == "X"]
    assert len(xs) == len(rec["segments"]) and {e["pid"] for e in xs} == {1}
    assert {e["name"] for e in xs} == {"user", "kernel", "spin"}
    # microseconds from cycles at 300 MHz: the window is 5000 us long
    hz = rec["clock_hz"]
    assert hz == k.c["clock_hz"] == 300_000_000
    for cpu in range(2):
        mine = [e for e in xs if e["tid"] == cpu]
        span = sum(e["dur"] for e in mine)
        assert span == pytest.approx((WINDOW[1] - WINDOW[0]) * 1e6 / hz, abs=1e-3)
        assert mine[0]["ts"] == pytest.approx(rec["window"][0] * 1e6 / hz)
        for mode in ("user", "kernel", "spin"):
            us = sum(e["dur"] for e in mine if e["name"] == mode)
            assert us == pytest.approx(modes[cpu][mode] * 1e6 / hz, abs=len(mine) * 1e-4)
    # the lock's counter: never two holders, and it follows the recording
    cs = [e for e in ev if e["ph"] == "C"]
    assert cs and all(e["name"] == "lock giant" for e in cs)
    assert all(e["args"]["held_by_cpu0"] + e["args"]["held_by_cpu1"] <= 1 for e in cs)
    assert max(e["args"]["spinning"] for e in cs) in (1, 2)
    assert all(e["args"]["held_by_cpu0"] + e["args"]["held_by_cpu1"] + e["args"]["spinning"]
               <= 2 for e in cs)
    # hand-offs as flows: releasing CPU -> new holder, paired by id
    s = {e["id"]: e for e in ev if e["ph"] == "s" and e["cat"] == "handoff"}
    f = {e["id"]: e for e in ev if e["ph"] == "f" and e["cat"] == "handoff"}
    assert s and s.keys() == f.keys()
    assert all(s[i]["tid"] != f[i]["tid"] and s[i]["ts"] < f[i]["ts"] for i in s)
    assert all(f[i]["bp"] == "e" for i in f)
    assert {e["name"] for e in ev if e["ph"] == "i"} >= {"timer tick", "device interrupt"}


def test_chrome_trace_is_deterministic(smp, tmp_path):
    _, rec, _ = smp
    a = T.write_chrome_trace(rec, tmp_path / "a.json").read_bytes()
    b = T.write_chrome_trace(json.loads(json.dumps(rec)), tmp_path / "b.json").read_bytes()
    assert a == b
    doc = json.loads(a)
    for e in doc["traceEvents"]:
        assert list(e) == sorted(e)
        for key in ("ts", "dur"):
            if key in e:
                assert round(e[key], T.DECIMALS) == e[key]
    ts = [e["ts"] for e in doc["traceEvents"] if e["ph"] != "M"]
    assert ts == sorted(ts)


def _doc(rec):
    return json.loads(T.trace_json(T.chrome_trace(rec)))


def test_the_checker_catches_a_dropped_segment(smp):
    _, rec, _ = smp
    doc = _doc(rec)
    T.check_chrome_trace(doc)
    xs = [i for i, e in enumerate(doc["traceEvents"]) if e["ph"] == "X" and e["tid"] == 1]
    for victim in (xs[0], xs[len(xs) // 2], xs[-1]):
        bad = _doc(rec)
        del bad["traceEvents"][victim]
        with pytest.raises(InvariantError, match="gap|end at"):
            T.check_chrome_trace(bad)
    # and in the recording itself
    bad_rec = json.loads(json.dumps(rec))
    bad_rec["segments"].pop(len(bad_rec["segments"]) // 2)
    with pytest.raises(InvariantError):
        check_recording(bad_rec)


def test_the_checker_catches_overlaps_double_holders_and_lost_flows(smp):
    _, rec, _ = smp
    bad = _doc(rec)
    x = next(e for e in bad["traceEvents"] if e["ph"] == "X" and e["tid"] == 0
             and e["args"]["start_cycle"] > rec["window"][0])
    x["args"]["start_cycle"] -= 1
    with pytest.raises(InvariantError, match="overlap"):
        T.check_chrome_trace(bad)
    bad = _doc(rec)
    c = next(e for e in bad["traceEvents"] if e["ph"] == "C")
    c["args"]["held_by_cpu0"] = c["args"]["held_by_cpu1"] = 1
    with pytest.raises(InvariantError, match="held by"):
        T.check_chrome_trace(bad)
    bad = _doc(rec)
    bad["traceEvents"].remove(next(e for e in bad["traceEvents"] if e["ph"] == "f"))
    with pytest.raises(InvariantError, match="flows"):
        T.check_chrome_trace(bad)
    bad_rec = json.loads(json.dumps(rec))
    h = bad_rec["holds"]
    h[1]["start"] = h[0]["end"] - 1
    with pytest.raises(InvariantError, match="while CPU"):
        check_recording(bad_rec)


def test_record_is_asked_for_once_before_start():
    k, _ = small_kernel(window=None)
    with pytest.raises(ConfigError, match="records nothing"):
        k.recording()
    for window in ((10, 10), (-1, 5), (5, 2)):
        with pytest.raises(ConfigError, match="window"):
            k.record(*window)
    k.record(0, 1000)
    with pytest.raises(ConfigError, match="once per kernel"):
        k.record(0, 1000)
    k2, _ = small_kernel(window=None)
    k2.start()
    with pytest.raises(ConfigError, match="before start"):
        k2.record(0, 1000)


def test_recording_cpu_takes_over_every_slot_of_the_cpu():
    mem = PhysicalMemory(1 << 22)
    cpu = CPU(1, mem, 16, tsc_offset=7)
    cpu.set_mode(2, 40)
    cpu.cr3, cpu.walks = 0x5000, 3
    rc = RecordingCPU(cpu, 50, 100)
    # (the compiled build's classes list their attributes in __mypyc_attrs__)
    for slot in getattr(CPU, "__slots__", None) or CPU.__mypyc_attrs__:
        assert getattr(rc, slot) is getattr(cpu, slot) or getattr(rc, slot) == getattr(cpu, slot)
    assert rc.tlb is cpu.tlb and rc.cycles is cpu.cycles
    rc.set_mode(0, 60)
    rc.set_mode(1, 120)
    assert rc.log == [(60, 0)] and rc.first == 2 and rc.first_at == 40
    # idle (the boot mode) until 40, spin until 60, user until 120
    assert rc.account_at(50) == [0, 0, 10, 40] and rc.account_at(100) == [40, 0, 20, 40]
    assert rc.account(130) == [60, 10, 20, 40]


# --------------------------------------------------------------- the figure
def test_timeline_draws_one_bar_set_per_cpu(smp):
    _, rec, modes = smp
    ax = timeline(rec)
    fig = ax.figure
    FigureCanvasAgg(fig)
    bars = {c.get_gid(): c for c in ax.collections if c.get_gid()}
    assert ax.get_xlabel() == "time since boot (ms)"      # a 5 ms window: in ms
    per_ms = rec["clock_hz"] / 1e3
    assert {g.split(":")[0] for g in bars} == {"cpu0", "cpu1"}
    for cpu in range(2):
        for mode in MODE_NAMES:
            gid = f"cpu{cpu}:{mode}"
            assert (gid in bars) == (modes[cpu][mode] > 0)
            if gid in bars:   # the bars of a mode add up to its time
                width = sum(p.get_extents().width for p in bars[gid].get_paths())
                assert width == pytest.approx(modes[cpu][mode] / per_ms, rel=1e-9)
    assert ax.get_xlim() == pytest.approx((rec["window"][0] / per_ms, rec["window"][1] / per_ms))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["CPU 0", "CPU 1"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:4] == ["user", "kernel (holding the lock on MP)",
                          "spin (waiting for the lock)", "idle (halted)"]
    assert "lock hand-off" in legend and "timer tick" in legend
    assert ax.get_title(loc="left").startswith("MP kernel, 2 CPUs, giant lock")
    _legible(fig)


def test_timeline_pair_stacks_up_above_smp(smp):
    _, rec_smp, _ = smp
    k, t0 = paper_kernel(cpus=1, lock="none")
    run_window(k, t0)
    fig = timeline_pair(k.recording(), rec_smp, suptitle="UP and SMP, the same 5 ms")
    top, bottom = fig.axes
    assert [t.get_text() for t in top.get_yticklabels()] == ["CPU 0"]
    assert [t.get_text() for t in bottom.get_yticklabels()] == ["CPU 0", "CPU 1"]
    assert top.get_xlim() == bottom.get_xlim() == pytest.approx((0, 5.0))
    assert bottom.get_xlabel() == "time since the window start (ms)"
    assert top.get_legend() is None and bottom.get_legend() is not None
    _legible(fig)


def _legible(fig):
    """Text of at least 8 pt when the figure is shown 1000 px wide (the
    convention of the paper's figures, tests/test_figures.py)."""
    from reproduce.report.figures import text_pt_at
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    width = Image.open(io.BytesIO(buf.getvalue())).size[0]
    assert text_pt_at(fig, width, dpi=110) >= 8.0


# ------------------------------------------------------------ compiled build
COMPILED_RUN = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
import reproduce.perf.fast as fast
from test_trace import paper_kernel, run_window
k, t0 = paper_kernel()
run_window(k, t0)
print(json.dumps({"compiled": fast.compiled(), "rec": k.recording()}, sort_keys=True))
'''


@pytest.mark.slow
@pytest.mark.skipif(fast.compiler_problem() is not None, reason="no working C compiler")
def test_compiled_build_records_the_same():
    """mypyc compiles the recording CPU and the recorder with the kernel:
    the recording is the same there."""
    pytest.importorskip("mypyc")
    builds = fast.build().parent       # the current build (make venv's), made if missing
    out = {}
    for compiled in (True, False):
        env = dict(os.environ, REPRODUCE_COMPILED="1" if compiled else "0",
                   REPRODUCE_COMPILED_DIR=str(builds), PYTHONWARNINGS="error::UserWarning")
        done = subprocess.run([sys.executable, "-c", COMPILED_RUN, os.path.dirname(__file__)],
                              env=env, capture_output=True, text=True, cwd=ROOT.parent,
                              timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        out[compiled] = json.loads(done.stdout)
    assert out[True]["compiled"] is True and out[False]["compiled"] is False
    assert out[True]["rec"] == out[False]["rec"]
