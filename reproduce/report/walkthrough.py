"""One system call, step by step (issue: the kernel walk-through).

Builds the paper's MP kernel on two CPUs, runs one thread per CPU that makes
kernel calls, and records the kernel's own trace of each step: the trap, the
XCHG on the lock word (and whether its cache line had to move), the CPU-local
read of ``current_thread`` through the MMU (virtual address, the physical
frame it lands in on this CPU, TLB hit or walk), the path, and the release.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..kernel.kernel import Kernel
from ..kernel.locking import make_policy
from ..kernel.proc import CALL, RUN
from ..kernel.vm import MemoryManager
from ..machine.engine import Engine
from ..machine.memory import PhysicalMemory
from ..params import load


def _caller(first_run: int, calls: int, kcycles: int):
    yield (RUN, first_run)
    for _ in range(calls):
        yield (CALL, kcycles, "ipc")
        yield (RUN, 2000)


def syscall_trace(cpus: int = 2, calls: int = 2, kcycles: int = 3000,
                  offset: int = 1000) -> pd.DataFrame:
    """Trace of *calls* kernel calls by one thread on each of *cpus* CPUs;
    CPU *i*'s thread starts *i* x *offset* cycles later, so the second CPU
    meets the lock held and spins.  Timer ticks are off so that only the
    calls appear.  Columns: cycle, cpu, step, detail, cycles (charged)."""
    from ..bench.calibration import calibration
    costs = load("pentium2").replace(mp_entry_overhead=calibration()["mp_entry_overhead"])
    sched = load("workload").replace(timer_hz=0)
    mem = PhysicalMemory(costs["memory_bytes"])
    engine = Engine()
    mm = MemoryManager(mem, cpus, True)
    k = Kernel(engine, mem, cpus, "mp", make_policy("giant", "tas", cpus), costs, sched,
               np.random.default_rng(0), mm=mm, debug=True)
    k.boot()
    for i in range(cpus):
        k.create_process(f"caller{i}", "benchmark", _caller(1000 + i * offset, calls, kcycles),
                         container=mm.container_create(), cpu=i)
    k.trace = []                 # before start(), which chooses the trace once
    k.start()
    engine.run()
    return pd.DataFrame(k.trace)
