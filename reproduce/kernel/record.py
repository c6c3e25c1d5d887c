"""Recording a window of a run: what each CPU did, cycle by cycle, and what
the locks did (issue 22: see the CPUs in lockstep).

Only a run that asks records anything::

    k = Kernel(...)                      # or kernel_class(policy)(...)
    k.record(t_from, t_to)               # before k.start(); before or after k.boot()
    k.boot(); ...; k.start(); k.engine.run(until=...)
    rec = k.recording()                  # plain Python: dicts, lists, ints, strings

A plain run is untouched: its CPUs are :class:`~reproduce.machine.cpu.CPU`
and its watcher the one ``watcher_for`` picks.  ``Kernel.record`` swaps each
CPU for a :class:`~reproduce.machine.cpu.RecordingCPU` (same state, its mode
changes noted in the window) and, at ``start()``, puts a :class:`Recorder`
in front of the watcher the run would have had (which still does its work:
a debug or traced run stays one).  Recording adds no event to the engine, so
a recording run is the same run, cycle for cycle, as a plain one.

What ``k.recording()`` returns (cycles are engine cycles since boot; a list
is sorted by cycle, then CPU; the window is half-open, [start, end))::

    {"window": [start, end],      # end = min(t_to, the cycle the run reached)
     "requested": [t_from, t_to], "complete": end == t_to,
     "clock_hz": 300000000, "cpus": 2, "build": "mp", "policy": "giant",
     "spinlock": "tas", "locks": ["giant"], "mode_names": ["user", ...],
     "segments": [{"cpu", "start", "end", "mode", "entry"}],
         # per CPU they tile the window: no gap, no overlap.  mode is one of
         # user/kernel/spin/idle; entry ("syscall:ipc", ...) names the kernel
         # entry a kernel or spin segment belongs to (None if unknown).  Each
         # kernel section (each hold) is its own segment; user and idle
         # stretches are merged.
     "modes": [{"user", "kernel", "spin", "idle"}],   # per CPU, cycles in the
         # window by the CPU's own counters (CPU.account at the window's ends)
     "entries": [{"cycle", "cpu", "entry", "subsys", "thread", "ran_on"}],
         # each kernel entry (trap): syscall/timer/irq/ipi/pagefault; an
         # interrupt held off in the kernel is listed when it is taken.
         # ran_on: the CPU that runs the path (the master, when forwarded;
         # a forwarded entry is listed when the master starts it)
     "acquisitions": [{"cycle", "cpu", "lock", "waited"}],   # waited: cycles spun
     "handoffs": [{"lock", "from", "to", "released", "acquired", "spin_start"}],
         # an acquisition by a CPU that was spinning, from the CPU whose
         # release handed the lock over (released may precede the window)
     "holds": [{"lock", "cpu", "start", "end"}],   # clipped to the window
     "lock_states": [{"cycle", "lock", "holder", "spinning"}],
         # each change of who holds a lock (None: nobody) and how many CPUs
         # spin on it; the first, at the window's start, is the state then
     "ipis": [{"cycle", "from", "to", "arrives"}]}   # reschedule IPIs sent
         # by kernel paths (arrives: cycle + ipi_send)

A lock is "held" from the acquisition (the path starts) to the release; in
between a release and the next owner's acquisition (the hand-off: the lock
word's cache line moving) nobody holds it.  A forwarding strategy's slave
waits for the master in mode spin without spinning on a lock.
:func:`check_recording` checks a recording against these rules.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..errors import ConfigError, InvariantError
from ..machine.cpu import KERNEL, MODE_NAMES, SPIN, RecordingCPU
from .checks import Watcher
from .percpu import SECTION_FORWARDED, SECTION_PART, SECTION_TRAP, Core
from .spinlock import Spinlock

if TYPE_CHECKING:
    from .kernel import Kernel


class Recorder(Watcher):
    """The recording of kernel *k* in the window [*t_from*, *t_to*): the
    watcher in front of *k*'s own (:meth:`wrap`), and the CPUs it swapped
    for recording ones."""

    def __init__(self, k: Kernel, t_from: int, t_to: int) -> None:
        if not (isinstance(t_from, int) and isinstance(t_to, int)) or t_from < 0 \
                or t_to <= t_from:
            raise ConfigError(f"record({t_from!r}, {t_to!r}): the window must be cycles "
                              f"0 <= t_from < t_to")
        if t_from < k.engine.now:
            raise ConfigError(f"record({t_from}, {t_to}): the window starts before now "
                              f"(cycle {k.engine.now})")
        self.k = k
        self.t_from = t_from
        self.t_to = t_to
        self.inner: Watcher = Watcher()
        self.cpus: list[RecordingCPU] = []
        for core in k.cores:
            old = core.cpu
            new = RecordingCPU(old, t_from, t_to)
            core.cpu = new
            # A booted CPU is also known to the memory manager (TLB
            # shootdowns, lazy page directories): it must see the new one.
            if k.mm is not None:
                k.mm.replace_cpu(old, new)
            self.cpus.append(new)
        # Lock state, kept for the whole run (a window may start mid-hold).
        self.holder: dict[str, int] = {}
        self.acquired: dict[str, int] = {}
        self.last_release: dict[str, tuple[int, int]] = {}    # lock -> (cpu, cycle)
        self.spinning: dict[str, dict[int, int]] = {}         # lock -> cpu -> since
        self.opened: set[str] = set()
        # What the window saw.
        self.labels: dict[tuple[int, int], str] = {}          # (cpu, cycle) -> entry
        self.pre_labels: dict[int, tuple[int, str]] = {}      # cpu -> last before window
        self.entries: list[tuple[int, int, str, str, str | None, int]] = []
        self.acquisitions: list[tuple[int, int, str, int]] = []
        self.handoffs: list[tuple[str, int, int, int, int, int]] = []
        self.holds: list[tuple[str, int, int, int]] = []
        self.states: list[tuple[int, str, int, int]] = []     # holder -1: nobody
        self.ipis: list[tuple[int, int, int, int]] = []
        self._ipis = 0
        self._kicked: list[bool] = []

    def wrap(self, inner: Watcher) -> Watcher:
        """Put the recording in front of *inner* (the run's own watcher)."""
        self.inner = inner
        return self

    # ------------------------------------------------------------ the hooks
    def trap(self, core: Core, lock: Spinlock, held_by: int | None) -> None:
        now = self.k.engine.now
        if core.section == SECTION_TRAP:
            self._entry(core, now)
        if lock.holder != core.id:           # it spins until a hand-off
            name = lock.name
            self._open(name, now)
            self.spinning.setdefault(name, {})[core.id] = now
            self._label(core.id, now, core.key)
            self._state(name, now)
        self.inner.trap(core, lock, held_by)

    def entry(self, core: Core, waited: int, kcost: int) -> None:
        k = self.k
        now = k.engine.now
        lock = core.lock
        runner = core.runner.id
        if lock is None and core.section != SECTION_PART:
            self._entry(core, now)           # no lock to request: the trap is now
        self._label(runner, now, core.key if runner == core.id
                    else f"{core.key} (CPU {core.id})")
        if lock is not None:
            self._acquire(lock.name, core.id, now)
        self._ipis = k.counters["ipis"]
        self._kicked = [c.kicked for c in k.cores]
        self.inner.entry(core, waited, kcost)

    def part(self, core: Core, nxt: tuple) -> None:
        self.inner.part(core, nxt)

    def path(self, core: Core, path: Callable[..., int], cycles: int) -> None:
        k = self.k
        now = k.engine.now
        if k.counters["ipis"] != self._ipis and self.t_from <= now < self.t_to:
            for c in k.cores:
                if c.kicked and not self._kicked[c.id]:
                    self.ipis.append((now, core.runner.id, c.id, now + k.c["ipi_send"]))
        self.inner.path(core, path, cycles)

    def done(self, core: Core) -> None:
        lock = core.lock
        if lock is not None:
            self._release(lock.name, core.id, self.k.engine.now)
        self.inner.done(core)

    # ------------------------------------------------------------ bookkeeping
    def _entry(self, core: Core, now: int) -> None:
        if self.t_from <= now < self.t_to:
            t = core.thread
            self.entries.append((now, core.id, core.entry, core.subsys,
                                 t.name if t is not None else None,
                                 core.runner.id if core.section == SECTION_FORWARDED
                                 else core.id))

    def _label(self, cpu: int, now: int, label: str) -> None:
        if now < self.t_from:
            self.pre_labels[cpu] = (now, label)
        elif now < self.t_to:
            self.labels[(cpu, now)] = label

    def _open(self, name: str, now: int) -> None:
        """Before a lock's first change at or after the window's start: its
        state at the start."""
        if now >= self.t_from and name not in self.opened:
            self.opened.add(name)
            self.states.append((self.t_from, name, self.holder.get(name, -1),
                                len(self.spinning.get(name, {}))))

    def _state(self, name: str, now: int) -> None:
        if self.t_from <= now < self.t_to:
            self.states.append((now, name, self.holder.get(name, -1),
                                len(self.spinning.get(name, {}))))

    def _acquire(self, name: str, cpu: int, now: int) -> None:
        self._open(name, now)
        spinners = self.spinning.get(name, {})
        since = spinners.pop(cpu, -1)
        if self.t_from <= now < self.t_to:
            self.acquisitions.append((now, cpu, name, now - since if since >= 0 else 0))
            last = self.last_release.get(name)
            if since >= 0 and last is not None:
                self.handoffs.append((name, last[0], cpu, last[1], now, since))
        self.holder[name] = cpu
        self.acquired[name] = now
        self._state(name, now)

    def _release(self, name: str, cpu: int, now: int) -> None:
        self._open(name, now)
        start = self.acquired.pop(name, now)
        self.holder.pop(name, None)
        if now > self.t_from and start < self.t_to:
            self.holds.append((name, cpu, max(start, self.t_from), min(now, self.t_to)))
        self.last_release[name] = (cpu, now)
        self._state(name, now)

    # ------------------------------------------------------------ the result
    def result(self) -> dict[str, Any]:
        """The recording as plain Python (see the module docstring)."""
        k = self.k
        start = self.t_from
        end = min(self.t_to, k.engine.now)
        names = [lock.name for lock in k.policy.locks]
        segments: list[dict[str, Any]] = []
        modes: list[dict[str, int]] = []
        states = list(self.states)
        holds = list(self.holds)
        if end > start:
            for cpu in self.cpus:
                segments += self._segments(cpu, start, end)
                a, b = cpu.account_at(start), cpu.account_at(end)
                modes.append({MODE_NAMES[m]: b[m] - a[m] for m in range(4)})
            for name in names:
                if name not in self.opened:
                    states.append((start, name, self.holder.get(name, -1),
                                   len(self.spinning.get(name, {}))))
                if name in self.acquired and self.acquired[name] < end:
                    holds.append((name, self.holder[name], max(self.acquired[name], start), end))
        return {
            "window": [start, max(start, end)],
            "requested": [self.t_from, self.t_to],
            "complete": end >= self.t_to,
            "clock_hz": int(k.c["clock_hz"]),
            "cpus": len(k.cores),
            "build": k.build,
            "policy": k.policy.name,
            "spinlock": k.policy.kind,
            "locks": names,
            "mode_names": list(MODE_NAMES),
            "segments": segments,
            "modes": modes,
            "entries": [{"cycle": c, "cpu": cpu, "entry": e, "subsys": s, "thread": t,
                         "ran_on": r} for c, cpu, e, s, t, r in sorted(
                             self.entries, key=lambda x: (x[0], x[1]))],
            "acquisitions": [{"cycle": c, "cpu": cpu, "lock": n, "waited": w}
                             for c, cpu, n, w in self.acquisitions],
            "handoffs": [{"lock": n, "from": f, "to": t, "released": r, "acquired": a,
                          "spin_start": s} for n, f, t, r, a, s in self.handoffs],
            "holds": [{"lock": n, "cpu": cpu, "start": s, "end": e}
                      for n, cpu, s, e in sorted(holds, key=lambda x: (x[2], x[1]))],
            "lock_states": [{"cycle": c, "lock": n, "holder": h if h >= 0 else None,
                             "spinning": sp} for c, n, h, sp in
                            sorted(states, key=lambda x: x[0])],
            "ipis": [{"cycle": c, "from": f, "to": t, "arrives": a}
                     for c, f, t, a in self.ipis],
        }

    def _segments(self, cpu: RecordingCPU, start: int, end: int) -> list[dict[str, Any]]:
        """*cpu*'s segments tiling [start, end): one per kernel or spin
        section, user and idle stretches merged."""
        out: list[dict[str, Any]] = []
        pre = self.pre_labels.get(cpu.id)
        label = pre[1] if pre is not None and pre[0] == cpu.first_at else None
        changes = [(t, m) for t, m in cpu.log if t < end] + [(end, -1)]
        mode, since = cpu.first, start
        for t, m in changes:
            if t > since:
                if out and mode not in (KERNEL, SPIN) and out[-1]["mode"] == MODE_NAMES[mode] \
                        and out[-1]["end"] == since:
                    out[-1]["end"] = t
                else:
                    out.append({"cpu": cpu.id, "start": since, "end": t,
                                "mode": MODE_NAMES[mode],
                                "entry": label if mode in (KERNEL, SPIN) else None})
                since = t
            if m >= 0:
                mode = m
                label = self.labels.get((cpu.id, t))
        return out


def check_recording(rec: dict[str, Any]) -> None:
    """Raise InvariantError unless *rec* is consistent: each CPU's segments
    tile the window, their cycles per mode are the CPU's own counts, no lock
    is held by two CPUs at once, and no hand-off precedes its release."""
    start, end = rec["window"]
    for i in range(rec["cpus"]):
        segs = [s for s in rec["segments"] if s["cpu"] == i]
        at = start
        sums = dict.fromkeys(rec["mode_names"], 0)
        for s in segs:
            if s["start"] != at or s["end"] <= s["start"]:
                raise InvariantError(f"CPU {i}: segment {s} does not follow cycle {at}")
            sums[s["mode"]] += s["end"] - s["start"]
            at = s["end"]
        if at != end:
            raise InvariantError(f"CPU {i}: segments end at cycle {at}, the window at {end}")
        if rec["modes"] and sums != rec["modes"][i]:
            raise InvariantError(f"CPU {i}: segments add up to {sums}, its counters say "
                                 f"{rec['modes'][i]}")
    for name in rec["locks"]:
        holds = sorted((h for h in rec["holds"] if h["lock"] == name),
                       key=lambda h: h["start"])
        for a, b in zip(holds, holds[1:]):
            if b["start"] < a["end"]:
                raise InvariantError(f"lock {name}: CPU {b['cpu']} acquired at cycle "
                                     f"{b['start']} while CPU {a['cpu']} held it until "
                                     f"{a['end']}")
    for h in rec["handoffs"]:
        if h["released"] > h["acquired"]:
            raise InvariantError(f"hand-off {h}: acquired before the release")

