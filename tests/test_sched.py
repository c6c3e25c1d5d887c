"""Property tests for the scheduler's and the lock's data structures."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from reproduce.kernel.proc import Process, Thread
from reproduce.kernel.sched import ReadyQueue
from reproduce.kernel.lockstat import LockStat

ops = st.lists(st.tuples(st.sampled_from(["push", "pop"]), st.integers(0, 3),
                         st.one_of(st.none(), st.integers(0, 2)), st.integers(0, 2)),
               max_size=60)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_ready_queue_is_priority_then_fifo_within_affinity(seq):
    """Against a reference list: a CPU takes the highest-priority thread it
    may run (home is that CPU or none), the earliest queued among equals."""
    p = Process(1, "p", "dynamic")
    q = ReadyQueue(3, nlines=2)
    ref: list[tuple[int, int, Thread]] = []     # (priority, arrival, thread)
    arrival = 0
    for i, (op, prio, home, cpu) in enumerate(seq):
        if op == "push":
            t = Thread(i, f"t{i}", p, iter(()), priority=prio, cpu=home)
            q.push(t)
            ref.append((prio, arrival, t))
            arrival += 1
        else:
            mine = [r for r in ref if r[2].cpu is None or r[2].cpu == cpu]
            want = min(mine, key=lambda r: (-r[0], r[1]))[2] if mine else None
            assert q.first_for(cpu) is want
            got = q.pop_for(cpu)
            assert got is want
            if want is not None:
                ref = [r for r in ref if r[2] is not want]
        assert len(q) == len(ref)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10**6), st.booleans()), min_size=1, max_size=50))
def test_lockstat_min_max_total_avg_agree(samples):
    s = LockStat()
    for cycles, bounced in samples:
        s.hold(cycles, bounced)
        s.wait(cycles, bounced)
    values = [c for c, _ in samples]
    d = s.as_dict()
    assert d["acquisitions"] == d["contentions"] == len(values)
    assert d["holdtime_min"] == d["waittime_min"] == min(values)
    assert d["holdtime_max"] == max(values)
    assert d["holdtime_total"] == sum(values)
    assert d["holdtime_avg"] == sum(values) / len(values)
    assert d["acq_bounces"] == d["con_bounces"] == sum(b for _, b in samples)
