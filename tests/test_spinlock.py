"""The spinlock algorithms as code on cache lines (reproduce.kernel.spinlock):
each keeps mutual exclusion and its own state consistent under any
interleaving of arrivals and releases; the FIFO ones serve in arrival
order, test-and-set ones do not; hand-off traffic grows with the waiters
as the literature measures; and a broken algorithm is caught."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from reproduce.errors import ConfigError, InvariantError
from reproduce.kernel import spinlock as S
from reproduce.machine.cacheline import HIT, MISS, TRANSFER, CacheLine
from reproduce.bench.run import simulate
from reproduce.bench.scenario import Scenario

KINDS = list(S.LOCK_KINDS)


def drive(lock: S.Spinlock, script, seed: int = 0, check: bool = True):
    """Run *script* (a list of CPU ids: a CPU outside the lock arrives, the
    holder releases; others wait) and then drain the lock.  Checks after
    every step that at most one CPU is inside (a CPU is inside from the
    moment the algorithm gives it the lock to its release).  Returns the
    order of arrivals and of acquisitions."""
    lock.configure(120, 64, 4096)
    rng = np.random.default_rng(seed)
    inside: set[int] = set()
    arrived, served = [], []
    now = 0

    def enter(cpu):
        inside.add(cpu)
        served.append(cpu)
        if len(inside) > 1:
            raise InvariantError(f"CPUs {sorted(inside)} inside {lock.name} at once")

    def release():
        nonlocal now
        cpu = lock.holder
        inside.discard(cpu)
        nxt, ops, idle = lock.release(cpu, rng, now)
        now += 1000 + idle
        if nxt is not None:
            enter(nxt)

    for cpu in script:
        now += 100
        if cpu == lock.holder:
            release()
        elif cpu not in lock.waiters:
            arrived.append(cpu)
            lock.arrive(cpu)
            if lock.holder == cpu:
                enter(cpu)
        if check:
            lock.check()
    while lock.holder is not None:
        release()
        if check:
            lock.check()
    return arrived, served


scripts = st.lists(st.integers(0, 7), max_size=80)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=60, deadline=None)
@given(script=scripts, seed=st.integers(0, 2**32 - 1))
def test_exclusion_and_every_arrival_served_once(kind, script, seed):
    lock = S.new_spinlock("l", kind)
    arrived, served = drive(lock, script, seed)
    assert sorted(arrived) == sorted(served)
    assert lock.holder is None and not lock.waiters


@pytest.mark.parametrize("kind", S.FIFO_KINDS)
@settings(max_examples=60, deadline=None)
@given(script=scripts, seed=st.integers(0, 2**32 - 1))
def test_fifo_algorithms_serve_in_arrival_order(kind, script, seed):
    arrived, served = drive(S.new_spinlock("l", kind), script, seed)
    assert served == arrived


@pytest.mark.parametrize("kind", ["tas", "ttas", "ttas_backoff"])
def test_test_and_set_algorithms_are_not_fifo(kind):
    # Eight CPUs arrive while CPU 0 holds the lock; the bus decides who
    # wins each release, so some seed serves them out of arrival order.
    script = list(range(8))
    orders = {tuple(drive(S.new_spinlock("l", kind), script, seed)[1]) for seed in range(20)}
    assert len(orders) > 1
    assert any(list(o) != script for o in orders)


def handoff_transactions(kind: str, waiters: int, seed: int = 0) -> float:
    """Mean bus transactions on the hand-off path (release store to the next
    owner's acquire), with *waiters* spinning."""
    rng = np.random.default_rng(seed)
    total = 0
    for _ in range(20):
        lock = S.new_spinlock("l", kind)
        lock.configure(120, 64, 4096)
        for cpu in range(waiters + 1):
            lock.arrive(cpu)
        _, ops, _ = lock.release(0, rng, 10**6)
        total += ops.transfers + ops.misses
    return total / 20


def test_handoff_traffic_grows_with_waiters_except_for_queue_locks():
    for kind in ("mcs", "qspinlock"):
        assert handoff_transactions(kind, 32) == handoff_transactions(kind, 2) <= 3
    for kind in ("ttas", "ticket", "tas"):
        assert handoff_transactions(kind, 32) > 4 * handoff_transactions(kind, 2) / 2
    # ttas: the store, every waiter's re-read, the winner's XCHG.
    assert handoff_transactions("ttas", 16) == 16 + 2


def test_one_tas_spinner_spins_in_its_cache():
    lock = S.new_spinlock("l", "tas")
    lock.arrive(0)
    lock.arrive(1)
    assert lock.spinning_requests() == 0
    lock.arrive(2)
    assert lock.spinning_requests() == 1
    ops = S.Ops()
    ops.rmw(lock.line, 2)           # the spinner that owns the line: a hit
    ops.rmw(lock.line, 2)
    assert ops.transfers == 0 and ops.locked == 2


# An operation on a lock's lines: (read, write or rmw, CPU, which line, and
# whether the path being timed ended before it).
line_ops = st.lists(st.tuples(st.sampled_from(["read", "write", "rmw"]), st.integers(0, 3),
                              st.integers(0, 2), st.booleans()), max_size=60)


@settings(max_examples=200, deadline=None)
@given(script=line_ops)
def test_ops_counts_what_the_lines_report_one_by_one(script):
    # Ops counts each operation's outcome itself; a twin set of lines, read
    # result by result, must give the same counts and leave the same states.
    ops, mine, twin = S.Ops(), [CacheLine(f"l{i}") for i in range(3)], \
        [CacheLine(f"l{i}") for i in range(3)]
    want = dict.fromkeys(["transfers", "misses", "locked", "other_transfers",
                          "other_misses"], 0)
    on_path = True
    for op, cpu, i, leave in script:
        if leave and on_path:
            ops.off_path()
            on_path = False
        getattr(ops, op)(mine[i], cpu)
        r = twin[i].read(cpu) if op == "read" else twin[i].write(cpu)
        assert r in (HIT, MISS, TRANSFER)
        prefix = "" if on_path else "other_"
        if r == TRANSFER:
            want[prefix + "transfers"] += 1
        elif r == MISS:
            want[prefix + "misses"] += 1
        if op == "rmw" and on_path:
            want["locked"] += 1
    assert {k: getattr(ops, k) for k in want} == want
    assert ops.transactions == sum(v for k, v in want.items() if k != "locked")
    assert ops.cycles(100, 10, 1) == 100 * want["transfers"] + 10 * want["misses"] + \
        want["locked"]
    for a, b in zip(mine, twin):
        assert (a.owner, a.sharers, a.bounces, a.accesses) == \
            (b.owner, b.sharers, b.bounces, b.accesses)


def test_unknown_kind_is_a_config_error():
    with pytest.raises(ConfigError, match="clh.*allowed are tas"):
        S.new_spinlock("l", "clh")


# ------------------------------------------------------- a broken algorithm
class BrokenTAS(S.TAS):
    """Test-and-set that ignores what its XCHG read: whoever arrives takes
    the lock."""

    def arrive(self, cpu, ops=None):
        ops = S.counting(ops)
        ops.rmw(self.line, cpu)
        self.word = 1
        self.holder = cpu
        return ops


def test_a_broken_algorithm_fails_the_invariant_checks(monkeypatch):
    with pytest.raises(InvariantError, match="inside"):
        drive(BrokenTAS("l"), [0, 1], check=False)
    monkeypatch.setitem(S.ALGORITHMS, "tas", BrokenTAS)
    with pytest.raises(InvariantError):
        simulate(Scenario(cpus=4, workload="synthetic", horizon=1_000_000, calibrated=False,
                          debug=True))


@pytest.mark.parametrize("kind", KINDS)
def test_every_algorithm_runs_the_giant_lock_with_checks_on(kind):
    r = simulate(Scenario(cpus=8, workload="synthetic", horizon=1_000_000, calibrated=False,
                          spinlock=kind, debug=True))
    assert r.lock["acquisitions"] > 50 and r.lock["contentions"] > 0
    assert r.lock["transfers"] > 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("design", ["giant", "giant+irq", "subsystem", "fine"])
def test_cli_simulate_takes_every_algorithm_for_every_lock_design(capsys, kind, design):
    from reproduce import cli
    code = cli.main(["simulate", "--lock", design, "--spinlock", kind, "--cpus", "4",
                     "--workload", "synthetic", "--horizon", "300000", "--uncalibrated",
                     "--debug", "--json"])
    assert code in (0, None)
    import json
    d = json.loads(capsys.readouterr().out)
    assert d["scenario"]["spinlock"] == kind and d["scenario"]["lock"] == design
    assert d["lock"]["acquisitions"] > 0


def test_sixty_four_cpus_run_with_checks_on():
    # Kernel stacks and CPU-local pages for 64 CPUs; every CPU gets to run.
    r = simulate(Scenario(cpus=64, workload="synthetic", horizon=300_000, calibrated=False,
                          spinlock="mcs", debug=True))
    assert len(r.modes) == 64 and all(m[0] > 0 for m in r.modes)
    with pytest.raises(ConfigError, match="cpus=65: must be an integer from 1 to 64"):
        Scenario(cpus=65)


# --------------------------------------------------------------------------
# the lock code's draws without numpy calls (reproduce.kernel.draws)

@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), primed=st.booleans(),
       calls=st.lists(st.tuples(st.booleans(), st.integers(0, 70)), min_size=1, max_size=400))
def test_draws_are_numpys_draws(seed, primed, calls):
    """Draws gives numpy's permutation(n) and integers(n), bit for bit and in
    the same order, also when the generator holds half of a 64-bit output."""
    from reproduce.kernel.draws import Draws
    ref, mine = np.random.default_rng(seed), np.random.default_rng(seed)
    if primed:                       # leave a 32-bit half buffered in the generator
        assert int(ref.integers(3)) == int(mine.integers(3))
    d = Draws(mine)
    for perm, n in calls:
        if perm:
            assert d.permutation(n) == [int(i) for i in ref.permutation(n)]
        else:
            n = max(1, n) if n % 7 else 2**31 + n     # a large bound now and then
            assert d.integers(n) == int(ref.integers(n))


def test_draws_long_run_crosses_blocks():
    from reproduce.kernel.draws import BLOCK, Draws
    ref = np.random.default_rng(11)
    d = Draws(np.random.default_rng(11))
    for i in range(4 * BLOCK):
        n = 2 + i % 33
        assert d.permutation(n) == [int(x) for x in ref.permutation(n)]
        assert d.integers(n) == int(ref.integers(n))
    with pytest.raises(ValueError):
        d.integers(0)


@pytest.mark.parametrize("seed", [0, 1, 7, 12345])
@pytest.mark.parametrize("primed", [False, True])
def test_stream_is_numpys_random_and_integers(seed, primed):
    """Stream gives numpy's random() and integers(n) mixed in any order, bit
    for bit (random() takes a whole 64-bit output and leaves a buffered 32-bit
    half waiting for the next integers()), across blocks."""
    from reproduce.kernel.draws import BLOCK, Stream
    ref, mine = np.random.default_rng(seed), np.random.default_rng(seed)
    if primed:                       # leave a 32-bit half buffered in the generator
        assert int(ref.integers(3)) == int(mine.integers(3))
    s = Stream(mine)
    order = np.random.default_rng(1000 + seed)
    bounds = [1, 2, 3, 7, 16, 100, 1000, 2**31 + 5, 2**32 - 1]
    for _ in range(3 * BLOCK):
        if order.integers(3) == 0:
            x = s.random()
            assert type(x) is float and x == ref.random()
        else:
            n = bounds[int(order.integers(len(bounds)))]
            assert s.integers(n) == int(ref.integers(n))
    with pytest.raises(ValueError):
        s.integers(0)


def test_exponentials_are_numpys_standard_exponentials_and_geometric_inversion():
    # The system threads draw a burst's length (numpy's geometric below p =
    # 1/3 inverts one standard exponential) and its phase lengths a block
    # ahead: the numbers must be numpy's, in numpy's order, or every paper
    # run changes.  A numpy release that changed either algorithm fails here.
    import numpy as np
    from reproduce.kernel.draws import GEOMETRIC_SEARCH, Exponentials
    for seed in range(20):
        for p in (0.05, 0.2, 0.3333):
            assert p < GEOMETRIC_SEARCH
            mine = Exponentials(np.random.default_rng(seed), block=7)
            ref = np.random.default_rng(seed)
            for _ in range(30):
                assert mine.geometric(p) == int(ref.geometric(p))
                n = 3
                assert [mine.next() for _ in range(n)] == ref.standard_exponential(n).tolist()
    # block 1 leaves the generator where numpy would: other draws may follow
    g = np.random.default_rng(5)
    one = Exponentials(g, block=1)
    ref = np.random.default_rng(5)
    assert one.geometric(0.1) == int(ref.geometric(0.1))
    assert g.random() == ref.random()
