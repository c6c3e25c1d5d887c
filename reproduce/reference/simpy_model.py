"""The synthetic giant-lock workload written directly in SimPy.

A reference for :mod:`reproduce.perf.speed` (how fast is our engine against
the usual Python tool) and for the tests (does our simulator, on the ideal
machine, measure what a textbook model of the same system measures).

The model: *cpus* SimPy processes, one per CPU, each alternating a user
phase and a kernel phase.  The kernel phase holds one ``simpy.Resource`` of
capacity 1 (the giant lock); a CPU whose request is not granted at once
spins until it is.  Phase lengths come from
:func:`reproduce.bench.workload.synthetic_loop` itself, the generator our
simulator's synthetic threads run, fed the same per-CPU random streams that
:func:`reproduce.bench.run.simulate` gives those threads: with the same
seed both models see the same phase lengths, and both pay the same for
drawing them (in blocks), so a timing compares the simulators.

Accounting follows ``machine.cpu``: every cycle of a CPU is user, kernel
(holding the lock) or spin, closed at each switch, and the interval open at
the horizon is counted up to the horizon; so the modes of each CPU add up to
*horizon*.  Acquisitions and hold time count finished holds (as lock_stat
does), wait time counts contended acquisitions.

There is no cost of entry or exit, cache-line transfer or hand-off: this is
the ideal machine, ``Scenario(ideal=True)``.  Requests are granted in FIFO
order (``simpy.Resource``), as a ticket lock does; with two CPUs there is at
most one waiter, so FIFO and test-and-set agree.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..bench.workload import synthetic_loop

USER, KERNEL, SPIN = 0, 1, 2


class Accounts:
    """What every reference model counts, kept the same way by each: per-CPU
    cycles by mode (user, kernel, spin), each interval closed at a switch and
    the open one at the horizon, and the lock's lock_stat totals."""

    __slots__ = ("modes", "mode", "since", "stat")

    def __init__(self, cpus: int) -> None:
        self.modes = [[0, 0, 0] for _ in range(cpus)]
        self.mode = [USER] * cpus
        self.since = [0] * cpus
        self.stat = {"acquisitions": 0, "contentions": 0, "holdtime_total": 0,
                     "waittime_total": 0}

    def switch(self, i: int, m: int, now: int) -> None:
        """CPU *i* enters mode *m* at cycle *now*."""
        self.modes[i][self.mode[i]] += now - self.since[i]
        self.mode[i] = m
        self.since[i] = now

    def granted(self, asked: int, got: int) -> None:
        """The lock asked for at *asked* was granted at *got* (cycles)."""
        if got > asked:
            self.stat["contentions"] += 1
            self.stat["waittime_total"] += got - asked

    def released(self, got: int, now: int) -> None:
        """A hold that began at *got* ended at *now*."""
        self.stat["acquisitions"] += 1
        self.stat["holdtime_total"] += now - got

    def result(self, horizon: int, events: int) -> dict[str, Any]:
        """Close every CPU's open interval at *horizon*; the run's summary."""
        for i, m in enumerate(self.mode):
            self.switch(i, m, horizon)
        return summary(self.modes, horizon, events, self.stat)


def synthetic_streams(seed: int, cpus: int) -> list[np.random.Generator]:
    """The per-CPU generators ``simulate`` gives the synthetic threads for
    *seed*: the scenario's SeedSequence spawns one child for the kernel, then
    ``cpus + 1`` children of which the first *cpus* drive the threads."""
    ss = np.random.SeedSequence(seed)
    ss.spawn(1)
    return [np.random.default_rng(s) for s in ss.spawn(cpus + 1)[:cpus]]


def run(cpus: int = 2, user_mean: float = 6400.0, kernel_mean: float = 3600.0,
        horizon: int = 30_000_000, seed: int = 0,
        distribution: str = "exponential") -> dict[str, Any]:
    """Simulate *horizon* cycles; return per-CPU mode cycles, lock figures
    and the number of SimPy events processed."""
    import simpy

    env = simpy.Environment()
    lock = simpy.Resource(env, capacity=1)
    acc = Accounts(cpus)
    switch = acc.switch

    def cpu(i: int, rng: np.random.Generator):
        # The phase lengths come from the very generator our simulator's
        # synthetic threads run (block draws; see the module docstring), so
        # the two models do the same random-number work and the comparison
        # times the engines, not numpy's per-call overhead.
        phases = synthetic_loop(rng, user_mean, kernel_mean, distribution)
        while True:
            yield env.timeout(next(phases)[1])
            asked = env.now
            with lock.request() as req:
                if not req.triggered:
                    switch(i, SPIN, asked)
                yield req
                got = env.now
                acc.granted(asked, got)
                switch(i, KERNEL, got)
                yield env.timeout(next(phases)[1])
                acc.released(got, env.now)
                switch(i, USER, env.now)

    for i, rng in enumerate(synthetic_streams(seed, cpus)):
        env.process(cpu(i, rng))
    env.run(until=horizon)
    return acc.result(horizon, _events(env))


def summary(modes: list[list[int]], horizon: int, events: int,
            stat: dict[str, int]) -> dict[str, Any]:
    """What a reference run returns: per-CPU mode cycles (user, kernel,
    spin), lock utilization and mean spin fraction, events and *stat*."""
    kernel = sum(m[KERNEL] for m in modes)
    return {
        "cycles": horizon,
        "modes": modes,
        "lock_utilization": kernel / horizon,
        "spin": sum(m[SPIN] for m in modes) / (len(modes) * horizon),
        "events": events,
        **stat,
    }


def _events(env) -> int:
    """Events SimPy scheduled (its event id counter); 0 if unavailable."""
    eid = getattr(env, "_eid", None)
    try:
        return int(next(eid)) if eid is not None else 0
    except TypeError:
        return 0
