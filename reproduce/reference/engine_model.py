"""The synthetic giant-lock workload written directly on our event engine.

The third version of the model that :mod:`reproduce.perf.speed` times,
beside the full simulator (:func:`reproduce.bench.run.simulate`) and
SimPy (:mod:`reproduce.reference.simpy_model`): the same CPUs, phases, lock and
accounting as the SimPy version, but as plain callbacks on
:class:`reproduce.machine.engine.Engine`, with none of the kernel model
(no trap/lock/path/release state machine, no lock_stat rows, no cache
lines, no TSC reads, no scheduler).  It separates what the engine costs
from what the kernel model costs: ours against SimPy is engine plus kernel
model against SimPy's engine plus a minimal model.

One CPU's cycle: a user phase, then a request for the lock (FIFO, as
``simpy.Resource`` and a ticket lock grant it); granted at once, or when the
holder releases it; then a kernel phase holding it.  Phase lengths come from
:func:`reproduce.bench.workload.synthetic_loop` on the per-CPU streams the
simulator gives its synthetic threads, so all three versions see the same
phases and, on the ideal machine, count the same cycles.
"""
from __future__ import annotations

from collections import deque
from typing import Any

from ..machine.engine import Engine
from .simpy_model import KERNEL, SPIN, USER, Accounts, synthetic_streams
from ..bench.workload import synthetic_loop


def run(cpus: int = 2, user_mean: float = 6400.0, kernel_mean: float = 3600.0,
        horizon: int = 30_000_000, seed: int = 0,
        distribution: str = "exponential") -> dict[str, Any]:
    """Simulate *horizon* cycles; return what :func:`simpy_model.run` returns."""
    engine = Engine()
    at = engine.at
    acc = Accounts(cpus)
    switch, since = acc.switch, acc.since
    asked = [0] * cpus
    phases = [synthetic_loop(rng, user_mean, kernel_mean, distribution)
              for rng in synthetic_streams(seed, cpus)]
    waiting: deque[int] = deque()
    holder: list[int | None] = [None]

    def grant(i: int, now: int) -> None:
        """CPU *i* owns the lock from *now*: its kernel phase starts."""
        holder[0] = i
        acc.granted(asked[i], now)
        switch(i, KERNEL, now)
        at(now + next(phases[i])[1], release, i)

    def request(i: int) -> None:
        """CPU *i*'s user phase ended: take the lock or spin for it."""
        now = engine.now
        asked[i] = now
        if holder[0] is None:
            grant(i, now)
        else:
            switch(i, SPIN, now)
            waiting.append(i)

    def release(i: int) -> None:
        """CPU *i*'s kernel phase ended: hand the lock on, start a user phase."""
        now = engine.now
        acc.released(since[i], now)
        switch(i, USER, now)
        at(now + next(phases[i])[1], request, i)
        holder[0] = None
        if waiting:
            grant(waiting.popleft(), now)

    for i in range(cpus):
        at(next(phases[i])[1], request, i)
    engine.run(until=horizon)
    return acc.result(horizon, engine.events)
