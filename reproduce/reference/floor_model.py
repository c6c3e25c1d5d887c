"""The synthetic giant-lock workload as one plain loop over a heap: the
pure-Python floor.

The least a Python program can do per lock acquisition for this model, which
:mod:`reproduce.perf.speed` times beside the simulator and the libraries: no
classes, no callbacks, no generators; one function whose state is local
lists, one ``heapq`` of ``(cycle, seq, cpu)`` and a ``deque`` of spinners.
Each CPU has at most one pending event, and what it is follows from the
CPU's mode: the end of a user phase (ask for the lock) or the end of a
kernel phase (release it).  A spinning CPU has none; the release hands it
the lock in FIFO order, as SimPy's ``Resource`` and a ticket lock do.

The phases are the numbers :func:`reproduce.bench.workload.synthetic_loop`
gives, on the same per-CPU streams, drawn the same way (blocks of
standard exponentials, scaled and truncated) but into two plain lists per
CPU before the loop starts; so with the same seed this model counts the
same cycles as the SimPy one (``tests/test_reference_models.py``).  The lists
are drawn long enough for the horizon (a run that would run out draws again,
longer, from the start: the same streams give the same prefix).

:func:`run_numba` is the same loop compiled by numba, when it is installed:
what the model costs without an interpreter.
"""
from __future__ import annotations

from collections import deque
from heapq import heappop, heappush
from typing import Any

import numpy as np

from .simpy_model import KERNEL, SPIN, USER, summary, synthetic_streams

BLOCK = 4096                      # synthetic_loop's block of phase pairs


def phase_arrays(seed: int, cpus: int, user_mean: float, kernel_mean: float,
                 distribution: str, pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """The first *pairs* (rounded up to whole blocks) user and kernel phase
    lengths that ``synthetic_loop`` yields on each CPU's stream, in cycles:
    two int64 arrays of shape (cpus, pairs)."""
    n = -(-pairs // BLOCK) * BLOCK
    if distribution == "constant":
        u, k = max(1, int(round(user_mean))), max(1, int(round(kernel_mean)))
        return np.full((cpus, n), u, np.int64), np.full((cpus, n), k, np.int64)
    users = np.empty((cpus, n), np.int64)
    kernels = np.empty((cpus, n), np.int64)
    for i, rng in enumerate(synthetic_streams(seed, cpus)):
        z = np.concatenate([rng.standard_exponential(2 * BLOCK) for _ in range(n // BLOCK)])
        users[i] = np.maximum(1, (z[0::2] * user_mean).astype(np.int64))
        kernels[i] = np.maximum(1, (z[1::2] * kernel_mean).astype(np.int64))
    return users, kernels


def _pairs_needed(horizon: int, user_mean: float, kernel_mean: float) -> int:
    """Phase pairs a CPU almost surely does not exceed in *horizon* cycles
    (the mean plus a margin; a run that needs more draws again)."""
    return int(1.25 * horizon / max(1.0, user_mean + kernel_mean)) + 16


class _OutOfPhases(Exception):
    pass


def run(cpus: int = 2, user_mean: float = 6400.0, kernel_mean: float = 3600.0,
        horizon: int = 30_000_000, seed: int = 0,
        distribution: str = "exponential") -> dict[str, Any]:
    """Simulate *horizon* cycles; return what :func:`simpy_model.run` returns."""
    pairs = _pairs_needed(horizon, user_mean, kernel_mean)
    while True:
        users, kernels = phase_arrays(seed, cpus, user_mean, kernel_mean, distribution, pairs)
        try:
            return _loop(cpus, horizon, users.tolist(), kernels.tolist())
        except _OutOfPhases:
            pairs *= 2


def _loop(cpus: int, horizon: int, users: list[list[int]],
          kernels: list[list[int]]) -> dict[str, Any]:
    limit = len(users[0])
    nxt = [0] * cpus                  # index of each CPU's next phase pair
    modes = [[0, 0, 0] for _ in range(cpus)]
    mode = [USER] * cpus
    since = [0] * cpus
    asked = [0] * cpus
    waiting: deque[int] = deque()
    holder = -1
    acquisitions = contentions = holdtime = waittime = events = 0
    heap: list[tuple[int, int, int]] = []
    seq = 0
    for i in range(cpus):
        heappush(heap, (users[i][0], seq, i))
        seq += 1
    while heap and heap[0][0] <= horizon:
        now, _, i = heappop(heap)
        events += 1
        if mode[i] == KERNEL:
            # End of the kernel phase: release, start the next user phase,
            # hand the lock to the first spinner.
            acquisitions += 1
            holdtime += now - since[i]
            modes[i][KERNEL] += now - since[i]
            mode[i] = USER
            since[i] = now
            n = nxt[i] = nxt[i] + 1
            if n >= limit:
                raise _OutOfPhases
            heappush(heap, (now + users[i][n], seq, i))
            seq += 1
            holder = -1
            if not waiting:
                continue
            i = waiting.popleft()
        else:
            # End of the user phase: ask for the lock.
            asked[i] = now
            if holder >= 0:
                modes[i][mode[i]] += now - since[i]
                mode[i] = SPIN
                since[i] = now
                waiting.append(i)
                continue
        # Grant: CPU i holds the lock from now on.
        holder = i
        if now > asked[i]:
            contentions += 1
            waittime += now - asked[i]
        modes[i][mode[i]] += now - since[i]
        mode[i] = KERNEL
        since[i] = now
        heappush(heap, (now + kernels[i][nxt[i]], seq, i))
        seq += 1
    for i in range(cpus):
        modes[i][mode[i]] += horizon - since[i]
    return summary(modes, horizon, events,
                   {"acquisitions": acquisitions, "contentions": contentions,
                    "holdtime_total": holdtime, "waittime_total": waittime})


# --------------------------------------------------------------------------
# the same loop under numba (optional)

_NUMBA_LOOP = None


def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _numba_loop():
    """The loop compiled by numba (once per process; the first call of the
    compiled function also pays for compiling, so time a second call)."""
    global _NUMBA_LOOP
    if _NUMBA_LOOP is not None:
        return _NUMBA_LOOP
    import numba

    @numba.njit(cache=False)
    def loop(horizon, users, kernels):  # pragma: no cover  (compiled)
        cpus, limit = users.shape
        nxt = np.zeros(cpus, np.int64)
        modes = np.zeros((cpus, 3), np.int64)
        mode = np.zeros(cpus, np.int64)
        since = np.zeros(cpus, np.int64)
        asked = np.zeros(cpus, np.int64)
        waiting = np.zeros(cpus, np.int64)         # FIFO ring of spinners
        head = count = 0
        holder = -1
        stat = np.zeros(5, np.int64)    # acquisitions, contentions, hold, wait, events
        # Pending events: at most one per CPU; the earliest (cycle, seq)
        # found by a scan, which for <= 32 CPUs beats a heap.
        at = np.full(cpus, -1, np.int64)
        seqs = np.zeros(cpus, np.int64)
        seq = 0
        for i in range(cpus):
            at[i] = users[i, 0]
            seqs[i] = seq
            seq += 1
        while True:
            i = -1
            for j in range(cpus):
                if at[j] >= 0 and (i < 0 or at[j] < at[i] or (at[j] == at[i] and seqs[j] < seqs[i])):
                    i = j
            if i < 0 or at[i] > horizon:
                break
            now = at[i]
            at[i] = -1
            stat[4] += 1
            grant = True
            if mode[i] == 1:
                stat[0] += 1
                stat[2] += now - since[i]
                modes[i, 1] += now - since[i]
                mode[i] = 0
                since[i] = now
                nxt[i] += 1
                if nxt[i] >= limit:
                    return modes, stat, False
                at[i] = now + users[i, nxt[i]]
                seqs[i] = seq
                seq += 1
                holder = -1
                if count == 0:
                    grant = False
                else:
                    i = waiting[head]
                    head = (head + 1) % cpus
                    count -= 1
            else:
                asked[i] = now
                if holder >= 0:
                    modes[i, mode[i]] += now - since[i]
                    mode[i] = 2
                    since[i] = now
                    waiting[(head + count) % cpus] = i
                    count += 1
                    grant = False
            if grant:
                holder = i
                if now > asked[i]:
                    stat[1] += 1
                    stat[3] += now - asked[i]
                modes[i, mode[i]] += now - since[i]
                mode[i] = 1
                since[i] = now
                at[i] = now + kernels[i, nxt[i]]
                seqs[i] = seq
                seq += 1
        for i in range(cpus):
            modes[i, mode[i]] += horizon - since[i]
        return modes, stat, True

    _NUMBA_LOOP = loop
    return loop


def run_numba(cpus: int = 2, user_mean: float = 6400.0, kernel_mean: float = 3600.0,
              horizon: int = 30_000_000, seed: int = 0,
              distribution: str = "exponential") -> dict[str, Any]:
    """:func:`run` with the loop compiled by numba (ImportError without it)."""
    loop = _numba_loop()
    pairs = _pairs_needed(horizon, user_mean, kernel_mean)
    while True:
        users, kernels = phase_arrays(seed, cpus, user_mean, kernel_mean, distribution, pairs)
        modes, stat, done = loop(horizon, users, kernels)
        if done:
            break
        pairs *= 2
    return summary(modes.tolist(), horizon, int(stat[4]),
                   {"acquisitions": int(stat[0]), "contentions": int(stat[1]),
                    "holdtime_total": int(stat[2]), "waittime_total": int(stat[3])})
