"""Closed-form bounds and queueing theory for a giant lock: no simulation.

The model is checked against theory nobody on this project wrote:

* :func:`amdahl` -- the paper's 1.47: the kernel share is a serial part that
  overlaps *nothing*, not even user work on the other CPU.
* :func:`lock_bound` -- what the giant lock itself forbids: kernel work may
  not overlap kernel work, so N CPUs can at best keep the lock busy all the
  time, a throughput of 1/K kernel passes per cycle, i.e. speedup
  min(N, (U+K)/K).
* :func:`machine_repairman` -- the finite-source queue M/M/1//N: N CPUs each
  run user code for an exponential time (mean U cycles), then need the lock
  (the single "repairman") for an exponential time (mean K cycles); a CPU
  that finds the lock taken spins.  This is what *independent, random*
  kernel entries cost.
* :func:`constant_phases` -- the same loop with constant phases, whose
  steady state is a periodic schedule.
* :func:`ticket_markov` -- Boyd-Wickizer, Kaashoek, Morris and Zeldovich,
  "Non-scalable locks are dangerous" (Linux Symposium 2012), section 3: the
  same finite-source loop, but the lock's service time grows with the number
  of cores queued for it, because a ticket lock's hand-off is a chain of
  cache-line transfers, one per waiter.  With no such growth it is the
  M/M/1//N queue.

Times are in any one unit (cycles by convention); throughputs are kernel
passes per that unit; fractions are of each CPU's elapsed time.
"""
from __future__ import annotations

import math
from numbers import Real

import numpy as np

from ..errors import require


# -- input checks: every message names the value and what is allowed ---------
def _check_n(n: int) -> None:
    require(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1,
            f"n={n!r}: number of CPUs must be an integer >= 1")


def _check_mean(name: str, value: float) -> None:
    require(isinstance(value, Real) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0,
            f"{name}={value!r}: must be a positive finite mean time (cycles)")


def _check_fraction(name: str, value: float) -> None:
    require(isinstance(value, Real) and not isinstance(value, bool) and 0 < value <= 1,
            f"{name}={value!r}: must be a fraction in (0, 1]")


# -- bounds ----------------------------------------------------------------
def amdahl(serial_fraction: float, n: int) -> float:
    """Amdahl's speedup on *n* CPUs when *serial_fraction* of the one-CPU
    time cannot run in parallel with anything: 1 / (s + (1 - s)/n)."""
    _check_fraction("serial_fraction", serial_fraction)
    _check_n(n)
    s = float(serial_fraction)
    return 1.0 / (s + (1.0 - s) / n)


def lock_bound(kernel_fraction: float, n: int) -> float:
    """Upper bound on the speedup of *n* CPUs, each alternating user and
    kernel work, under one lock: the lock can be busy at most all the time,
    so throughput is at most one kernel pass per K, against one per U+K on
    one CPU: min(n, (U+K)/K) = min(n, 1/kernel_fraction)."""
    _check_fraction("kernel_fraction", kernel_fraction)
    _check_n(n)
    return min(float(n), 1.0 / float(kernel_fraction))


# -- M/M/1//N ----------------------------------------------------------------
def _repairman_probs(n: int, rho: float) -> np.ndarray:
    """Stationary p_k, k = 0..n, of the finite-source queue with load ratio
    rho = K/U: p_k proportional to n!/(n-k)! * rho^k.  Computed in log space
    because n!/(n-k)! overflows a float well before n = 200."""
    k = np.arange(n + 1)
    logw = (math.lgamma(n + 1) - np.array([math.lgamma(n - i + 1) for i in k])
            + k * math.log(rho))
    w = np.exp(logw - logw.max())      # largest term 1: no overflow, no 0/0
    return w / w.sum()


def machine_repairman(n: int, user_mean: float, kernel_mean: float) -> dict[str, float]:
    """The M/M/1//N queue: *n* CPUs, user phases Exp(mean *user_mean*),
    kernel phases Exp(mean *kernel_mean*) under one FIFO-or-not lock (the
    stationary means do not depend on the service order).

    Returns a dict with

    * ``utilization``: fraction of time the lock is held, 1 - p_0;
    * ``waiting``: mean number of CPUs spinning (queued, not in service);
    * ``in_system``: mean number holding or waiting for the lock;
    * ``throughput``: kernel passes completed per cycle, utilization / K;
    * ``wait_time``: mean spin per kernel entry (cycles), waiting/throughput;
    * ``user``, ``kernel``, ``spin``: per-CPU fractions of elapsed time
      (they sum to 1);
    * ``speedup``: throughput(n) / throughput(1), with throughput(1) =
      1/(U+K) since one CPU never waits.
    """
    _check_n(n)
    _check_mean("user_mean", user_mean)
    _check_mean("kernel_mean", kernel_mean)
    n, u, k = int(n), float(user_mean), float(kernel_mean)
    p = _repairman_probs(n, k / u)
    busy = np.arange(n + 1)
    # Sums over p_1.. rather than 1 - p_0 and L - util: with a light load
    # p_0 is within 1e-8 of 1 and the subtraction would lose the answer.
    util = float(p[1:].sum())
    in_system = float(np.dot(busy, p))
    waiting = float(np.dot(np.maximum(busy - 1, 0), p))   # all but the holder spin
    throughput = util / k
    return {
        "n": n,
        "utilization": util,
        "waiting": waiting,
        "in_system": in_system,
        "throughput": throughput,
        "wait_time": waiting / throughput,
        "user": (n - in_system) / n,
        "kernel": util / n,
        "spin": waiting / n,
        "speedup": throughput * (u + k),
    }


# -- constant phases -------------------------------------------------------------
def constant_phases(n: int, user: float, kernel: float) -> dict[str, float]:
    """Steady state of *n* CPUs each looping *user* cycles of user work then
    *kernel* cycles holding a FIFO lock, all phases constant.

    After a start-up transient the schedule is periodic.  If n*K <= U+K
    the kernel passes fit one after another inside one CPU's loop and nobody
    waits: period U+K.  Otherwise the lock is never free: it serves the n
    CPUs round-robin, so each CPU gets one pass per n*K cycles and spins
    n*K - (U+K) of them.  So the period is max(U+K, n*K) and the speedup
    n*(U+K)/period = min(n, (U+K)/K), exactly the lock bound.

    Returns ``period``, ``throughput`` (passes per cycle), ``utilization``,
    ``speedup`` and per-CPU fractions ``user``, ``kernel``, ``spin``.
    """
    _check_n(n)
    _check_mean("user", user)
    _check_mean("kernel", kernel)
    n, u, k = int(n), float(user), float(kernel)
    period = max(u + k, n * k)
    throughput = n / period
    return {
        "n": n,
        "period": period,
        "throughput": throughput,
        "utilization": throughput * k,
        "speedup": throughput * (u + k),
        "user": u / period,
        "kernel": k / period,
        "spin": (period - u - k) / period,
    }


# -- non-scalable locks ----------------------------------------------------------
def ticket_markov(n: int, think_mean: float, serial_mean: float,
                  per_waiter: float) -> dict[str, float]:
    """The Markov model of a non-scalable (ticket) lock of Boyd-Wickizer et
    al. (2012), section 3.  State k = 0..n is the number of cores waiting for
    or holding the lock.  A core outside the lock arrives after an
    exponential time of mean *think_mean* (a): from state k the arrival rate
    is (n - k)/a.  The lock serves one core at a time; in state k a service
    (the hand-off to a core and its serial section) takes 1/mu_k = s + c k
    on average, s = *serial_mean*, c = *per_waiter* the time each core in
    the queue adds to the hand-off.  The stationary distribution of this
    birth-death chain is

        P_k = P_0 prod_{i=0..k-1} ((n - i)/a) (s + c (i + 1)).

    Returns a dict with ``throughput`` (services per unit time, sum of
    P_k mu_k), ``speedup`` = throughput x (a + s + c) (one core alone
    passes once per a + 1/mu_1), ``utilization`` (1 - P_0), ``waiting``
    (mean cores queued behind the one in service), ``in_system`` and
    ``user``, the fraction of time a core spends outside the lock,
    (n - in_system)/n.  How a service splits into hand-off and serial
    section is not part of the model: with a serial section of mean K, a
    core spends throughput x K / n of its time in it and the rest in the
    lock's queue.  With c = 0 every value equals :func:`machine_repairman`'s."""
    _check_n(n)
    _check_mean("think_mean", think_mean)
    _check_mean("serial_mean", serial_mean)
    require(isinstance(per_waiter, Real) and not isinstance(per_waiter, bool)
            and math.isfinite(per_waiter) and per_waiter >= 0,
            f"per_waiter={per_waiter!r}: must be a finite time >= 0 (cycles)")
    n, a, s, c = int(n), float(think_mean), float(serial_mean), float(per_waiter)
    k = np.arange(n + 1)
    service = s + c * k                        # 1/mu_k (k >= 1)
    logw = np.zeros(n + 1)
    for i in range(1, n + 1):
        logw[i] = logw[i - 1] + math.log((n - i + 1) / a) + math.log(service[i])
    p = np.exp(logw - logw.max())      # largest term 1: no overflow
    p /= p.sum()
    busy = p[1:]
    throughput = float(np.sum(busy / service[1:]))
    in_system = float(np.dot(k, p))
    return {
        "n": n,
        "throughput": throughput,
        "speedup": throughput * (a + s + c),
        "utilization": float(busy.sum()),
        "waiting": float(np.dot(np.maximum(k - 1, 0), p)),
        "in_system": in_system,
        "user": (n - in_system) / n,
    }
