"""Threads, processes and what a thread asks the kernel for.

A thread's behaviour is a Python generator (its *program*) that yields
actions, the way a SimPy process yields events.  An action is a tuple whose
first item is one of the opcodes below; the kernel carries it out and resumes
the generator when it is done.  Threads are the unit of execution; processes
hold resources and threads; containers (address spaces, see ``vm``) hold
processes (paper, section 2.3).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Generator

# Opcodes of the actions a program yields.
RUN: Final = 0       # (RUN, cycles): user-mode work, preemptible
CALL: Final = 1      # (CALL, kernel_cycles, subsystem): a kernel call that returns
SLEEP: Final = 2     # (SLEEP, period, phase): block until the next tick whose number is phase mod period
SPAWN: Final = 3     # (SPAWN, name, program, priority, kind): create a dynamic process
TOUCH: Final = 4     # (TOUCH, va, write): a user access to virtual address va (may page-fault)
EXIT: Final = 5      # (EXIT,): terminate the thread (and its process if last)
THREAD: Final = 6    # (THREAD, name, program): add a thread to this process (multithreaded container)
PROTECT: Final = 7   # (PROTECT, va, writable): change a mapped page's write permission (mprotect)

Program = Generator[tuple, None, None]

# Thread states.
READY: Final = "ready"
RUNNING: Final = "running"
BLOCKED: Final = "blocked"
ZOMBIE: Final = "zombie"


@dataclass(eq=False)
class Process:
    """A resource holder: *kind* is ``static-unique``, ``static-replicated``,
    ``dynamic`` or ``benchmark`` (paper, section 2.1)."""

    pid: int
    name: str
    kind: str
    container: Any = None
    threads: list["Thread"] = field(default_factory=list)
    live: int = 0


@dataclass(eq=False)
class Thread:
    """A kernel-level thread.  ``cpu`` is its home CPU under affinity (None:
    may run anywhere); ``pending`` is an action to finish before asking the
    program for the next one (the rest of a preempted user run)."""

    tid: int
    name: str
    process: Process
    program: Program
    priority: int = 0
    cpu: int | None = None
    last_cpu: int | None = None
    state: str = READY
    pending: tuple | None = None
    wake_tick: int = 0
    slice_left: int = 0
    seq: int = 0                 # ready-queue arrival order
    user_cycles: int = 0         # user-mode cycles it ran
    refill: int = 0              # cache-refill cycles owed after a migration
    migrations: int = 0
    finished_at: int | None = None
