"""The synthetic giant-lock workload written in salabim.

The second general-purpose simulation library :mod:`reproduce.perf.speed`
times beside SimPy (:mod:`reproduce.reference.simpy_model`): the same model
in the idiom of salabim, a process-interaction library with its own
resources and queues.  One :class:`salabim.Component` per CPU alternates a
user phase and a kernel phase; the kernel phase holds one
:class:`salabim.Resource` of capacity 1 (the giant lock), requested in FIFO
order as SimPy's ``Resource`` and a ticket lock grant it.  Phase lengths come
from :func:`reproduce.bench.workload.synthetic_loop` on the per-CPU streams
the simulator gives its synthetic threads, and the accounting is the SimPy
model's (user, kernel, spin, each interval closed at a switch and the open
one at the horizon), so with the same seed the two count the same cycles
(``tests/test_reference_models.py``).

salabim keeps time as a float; every phase is a whole number of cycles far
below 2**53, so the sums are exact and are returned as integers.
"""
from __future__ import annotations

from typing import Any

from ..bench.workload import synthetic_loop
from .simpy_model import KERNEL, SPIN, USER, Accounts, synthetic_streams


def run(cpus: int = 2, user_mean: float = 6400.0, kernel_mean: float = 3600.0,
        horizon: int = 30_000_000, seed: int = 0,
        distribution: str = "exponential") -> dict[str, Any]:
    """Simulate *horizon* cycles; return what :func:`simpy_model.run` returns
    (``events`` is 0: salabim does not count the events it processes)."""
    import salabim as sim

    # Generator processes (as SimPy's), no trace, no animation; salabim's
    # own random streams are not used (the phases come from ours).
    env = sim.Environment(trace=False, yieldless=False, random_seed="*",
                          set_numpy_random_seed=False)
    lock = sim.Resource("giant lock", capacity=1, monitor=False, env=env)
    acc = Accounts(cpus)
    switch = acc.switch

    class CPU(sim.Component):
        def setup(self, i: int, rng) -> None:
            self.i = i
            self.phases = synthetic_loop(rng, user_mean, kernel_mean, distribution)

        def process(self):
            i, phases = self.i, self.phases
            while True:
                yield self.hold(next(phases)[1])
                asked = int(env.now())
                switch(i, SPIN, asked)           # zero cycles if granted at once
                yield self.request(lock)
                got = int(env.now())
                acc.granted(asked, got)
                switch(i, KERNEL, got)
                yield self.hold(next(phases)[1])
                now = int(env.now())
                acc.released(got, now)
                switch(i, USER, now)
                self.release(lock)

    for i, rng in enumerate(synthetic_streams(seed, cpus)):
        CPU(i=i, rng=rng, env=env)
    env.run(till=horizon)
    return acc.result(horizon, 0)
