"""Locking strategies: which lock a kernel path takes.

Every kernel entry has an entry point (``syscall``, ``timer``, ``ipi``,
``pagefault``) and a subsystem (``sched``, ``memory``, ``proc``, ``db``,
``ipc``, ``io``, ``timer``).  A strategy maps the pair to the spinlock the path
holds, or to None for the UP build, which has no lock at all.  The MP build
of the paper is ``giant``: one lock for everything (section 3.1).
"""
from __future__ import annotations

from ..errors import ConfigError
from .spinlock import LOCK_KINDS, Spinlock

SUBSYSTEMS = ("sched", "timer", "memory", "proc", "db", "ipc", "io")


class LockPolicy:
    """Base: no lock (the UP kernel)."""

    name = "none"
    per_cpu_readyq = False

    def __init__(self, kind: str = "tas", ncpus: int = 1) -> None:
        if kind not in LOCK_KINDS:
            raise ConfigError(f"spinlock kind {kind!r}: allowed are {', '.join(LOCK_KINDS)}")
        self.kind = kind
        self.ncpus = ncpus
        self.locks: list[Spinlock] = []

    def lock_for(self, entry: str, subsys: str) -> Spinlock | None:
        return None

    def exclusive(self, a: tuple[str, str], b: tuple[str, str]) -> bool:
        """Whether two paths (entry, subsystem) must never run at once."""
        la, lb = self.lock_for(*a), self.lock_for(*b)
        return la is not None and la is lb


class Giant(LockPolicy):
    """One lock for the whole kernel, taken on every entry (section 3.1)."""

    name = "giant"

    def __init__(self, kind: str = "tas", ncpus: int = 1) -> None:
        super().__init__(kind, ncpus)
        self.giant = Spinlock("giant", kind)
        self.locks = [self.giant]

    def lock_for(self, entry: str, subsys: str) -> Spinlock | None:
        return self.giant


POLICIES: dict[str, type[LockPolicy]] = {"giant": Giant}


def make_policy(name: str, kind: str = "tas", ncpus: int = 1) -> LockPolicy:
    """The strategy called *name*; an unknown name is a ConfigError listing
    the valid ones."""
    if name not in POLICIES:
        raise ConfigError(f"unknown lock strategy {name!r}: valid are {', '.join(POLICIES)}")
    return POLICIES[name](kind, ncpus)
