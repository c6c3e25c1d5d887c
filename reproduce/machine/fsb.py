"""The shared front-side bus of a two-way Pentium II: how much a user loop
slows down when the other CPU uses the bus too.

Both CPUs of the paper's machine sit on one 66 MHz, 64-bit P6 bus; every L2
miss of either CPU is a bus transaction (a 32-byte line: request phase plus
four 8-byte data transfers), and the bus carries one data transfer at a time.
A CPU alternates compute (no bus) and a line fill (on the bus); if the other
CPU holds the bus it waits.  That is a finite-source queue with two sources
and one server (M/M/1//2, here with sources of different intensity), the same
queue the lock forms in :mod:`reproduce.reference.theory`.

A source is described by its *solo bus share* mu: the fraction of its time
it occupies the bus when it runs alone (mu = b / (c + b) for mean compute
c and transaction time b, both in core cycles).  :func:`stretch` gives how
much longer a source takes with the other one beside it.  The slow-down
follows from the bus bandwidth: it is 1 when either share is 0, and it never
exceeds 1 + mu_other <= 2 (two loops that each saturate the bus alone each
get half of it), so a slow-down beyond 2 is impossible on this bus whatever
the loop does.
"""
from __future__ import annotations

from typing import Final

import numpy as np

from ..errors import ConfigError

# Shares are kept below 1: a source that never computes has no solo rate.
MU_MAX: Final = 0.999


def line_cycles(clock_hz: float, fsb_hz: float, line_clocks: float) -> float:
    """Core cycles the bus is busy with one line fill (*line_clocks* bus
    clocks at *fsb_hz*, seen from a core at *clock_hz*)."""
    if fsb_hz <= 0 or clock_hz <= 0 or line_clocks <= 0:
        raise ConfigError(f"fsb_hz={fsb_hz!r}, clock_hz={clock_hz!r}, line_clocks="
                          f"{line_clocks!r}: must be positive")
    return line_clocks * clock_hz / fsb_hz


def solo_share(misses_per_kcycle: float, line: float) -> float:
    """Bus share of a loop that makes *misses_per_kcycle* line fills per
    1000 core cycles of its solo run, each *line* core cycles on the bus."""
    if misses_per_kcycle < 0:
        raise ConfigError(f"misses per kcycle={misses_per_kcycle!r}: must be >= 0")
    return min(MU_MAX, misses_per_kcycle * line / 1000.0)


def max_misses(line: float) -> float:
    """Line fills per 1000 cycles that saturate the bus alone (share 1): the
    most any loop can make; a fit needing more is physically impossible."""
    return 1000.0 / line


def _throughput(mu_a: float, mu_b: float) -> float:
    """Transactions per unit of bus time completed by source A (unit
    transaction time) beside source B, FCFS bus.  States: 0 both compute,
    1 A on the bus, 2 B on the bus, 3 A on the bus and B waiting, 4 B on the
    bus and A waiting."""
    la = mu_a / (1.0 - mu_a)          # 1/c_a with b = 1
    lb = mu_b / (1.0 - mu_b)
    q = np.zeros((5, 5))
    q[0, 1], q[0, 2] = la, lb
    q[1, 0], q[1, 3] = 1.0, lb
    q[2, 0], q[2, 4] = 1.0, la
    q[3, 2] = 1.0
    q[4, 1] = 1.0
    np.fill_diagonal(q, -q.sum(axis=1))
    a = np.vstack([q.T, np.ones(5)])
    rhs = np.zeros(6)
    rhs[-1] = 1.0
    p = np.linalg.lstsq(a, rhs, rcond=None)[0]
    return float(p[1] + p[3])


def stretch_chain(mu: float, mu_other: float) -> float:
    """The stretch solved from the five-state chain (:func:`_throughput`);
    loses precision when a share is tiny (below ~1e-6)."""
    mu, mu_other = min(mu, MU_MAX), min(mu_other, MU_MAX)
    if mu == 0.0 or mu_other == 0.0:
        return 1.0
    return mu / _throughput(mu, mu_other)   # solo: one transaction per (c + b), b = 1


def stretch(mu: float, mu_other: float) -> float:
    """How many times longer a source of solo bus share *mu* takes beside a
    source of share *mu_other*: 1 + mu * mu_other, the chain's solution in
    closed form (checked against :func:`stretch_chain` and, for equal
    shares, the M/M/1//2 of :mod:`reproduce.reference.theory`)."""
    for name, v in (("mu", mu), ("mu_other", mu_other)):
        if not 0.0 <= v <= 1.0:
            raise ConfigError(f"{name}={v!r}: a bus share must be in [0, 1]")
    return 1.0 + min(mu, MU_MAX) * min(mu_other, MU_MAX)


class Bus:
    """A table of stretches for the few shares the kernel asks about (the
    loop's, the kernel's, other user code's), computed once."""

    __slots__ = ("_memo",)

    def __init__(self) -> None:
        self._memo: dict[tuple[float, float], float] = {}

    def stretch(self, mu: float, mu_other: float) -> float:
        key = (mu, mu_other)
        v = self._memo.get(key)
        if v is None:
            v = self._memo[key] = stretch(mu, mu_other)
        return v
