"""Spinlocks as code on MESI cache lines.

A spinlock is a few words in cache lines (``machine.cacheline``).  Each
algorithm below is written as the loads, stores and locked read-modify-writes
(XCHG, XADD, CMPXCHG) its code performs on those lines; what it costs is what
the lines report: a hit is free, a miss is a memory access, a *transfer*
moves the line from another CPU's cache, and a locked RMW costs
``locked_rmw`` on top.  No algorithm has a cost factor of its own: the cost
table (``data/params/*.toml``) prices the operations, the code decides how
many there are.

Three facts of P6 and later CPUs decide everything (Intel SDM vol. 3, 8.1.4:
a locked operation on a cached line locks the cache, not the bus):

* a spinner whose XCHG or load hits a line in its own cache makes no bus
  traffic at all;
* transfers of one line are served one after another (by the bus, or by the
  line's home directory on a point-to-point machine), so a release that
  invalidates *w* spinners' copies is followed by *w* transfers in a row,
  in an order nothing controls (a seeded draw);
* on a shared bus (the Pentium II's 66 MHz front-side bus) every transfer
  also occupies the bus, so the lock holder's own cache misses wait behind
  the spinners' traffic; the kernel prices that interference from the
  transfers counted here (``bus.Traffic.interfere``).

The algorithms (``LOCK_KINDS``):

``tas``           XCHG in a loop.  One spinner keeps the line Modified in its
                  cache and spins there; two or more steal it from each other
                  on every try, a stream of transfers for as long as the lock
                  is held.  The release store queues behind them; the next
                  XCHG in bus order wins (not FIFO).
``ttas``          test-and-test-and-set: spin reading a Shared copy (no
                  traffic), XCHG when it reads 0.  A release invalidates all
                  *w* copies; all re-read, all see 0, the first reader's XCHG
                  queues behind the other reads and wins; the losers' XCHGs
                  and re-reads follow: about 3w transfers per hand-off.
``ttas_backoff``  ttas, and a loser backs off for a random time in a window
                  that doubles at each failure (up to a cap): fewer CPUs try
                  at each release, at the price of a lock left idle.
``ticket``        XADD takes a ticket; spin reading ``now_serving`` (same
                  line, as in Linux's x86 ticket lock).  A release invalidates
                  *w* copies; they re-read in bus order and the one holding
                  the next ticket is somewhere in that order: a hand-off of
                  1 + (w + 1)/2 transfers on average (Boyd-Wickizer et al.,
                  "Non-scalable locks are dangerous", 2012).  FIFO.
``mcs``           Mellor-Crummey and Scott (1991): XCHG on the tail, link into
                  the predecessor's queue node, spin on one's own node.  A
                  hand-off writes one line: the releaser reads its node's
                  ``next`` and writes the successor's flag; 3 transfers
                  whatever the number of waiters.  FIFO.
``qspinlock``     Linux's queued spinlock (kernel/locking/qspinlock.c): a
                  4-byte word of locked byte, pending bit and queue tail.  A
                  CMPXCHG takes a free lock; the first contender sets
                  ``pending`` and spins on the word; later ones queue in MCS
                  nodes, the queue's head spinning on the word.  Hand-off to
                  the pending CPU or the queue head: the release store, their
                  re-read, their store of the locked byte; the queue moves up
                  by one MCS hand-off after that.  FIFO.

Every lock keeps ``holder`` (set already during a hand-off, so nobody can
grab it in transit) and ``waiters`` (CPU ids waiting, in arrival order), and
:meth:`Spinlock.check` checks its own state against them (debug runs).

Instrumentation follows section 4 of the paper: acquire and release read the
CPU's time-stamp counter, so wait and hold times are differences of two reads
on the *same* CPU and TSC skew between CPUs cancels.  Statistics are kept in
the columns of Linux ``lock_stat`` (Documentation/locking/lockstat.rst), per
lock, per kernel entry point ("class" in lock_stat's words) and per CPU.  As
Linux does (``lock_stats()`` sums the per-CPU ``cpu_lock_stats``), an
acquisition is counted once, in the row of its entry point and CPU, and the
coarser rows are sums of those, formed when read.
"""
from __future__ import annotations

from typing import Any, Final

from ..errors import ConfigError, InvariantError
from ..machine.cacheline import HIT, TRANSFER, CacheLine
from .draws import integer_below, shuffled
from .lockstat import LockStat

LOCK_KINDS = ("tas", "ttas", "ttas_backoff", "ticket", "mcs", "qspinlock")
FIFO_KINDS = ("ticket", "mcs", "qspinlock")   # served in arrival order

NOBODY: Final = -1            # "no CPU" in a lock word or queue link


class Ops:
    """The bus operations a piece of lock code performed, by outcome.  Those
    on the path being timed (a CPU's acquire, or release to next owner) are
    ``transfers``, ``misses`` and ``locked`` (locked RMWs); after
    :meth:`off_path`, what other CPUs do in reaction (re-reads, failed
    XCHGs) is counted in ``other_transfers`` and ``other_misses``: it delays
    nobody directly but occupies a shared bus."""

    __slots__ = ("transfers", "misses", "locked", "other_transfers", "other_misses", "on_path")

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> Ops:
        """Back to no operations, on the path (returns itself)."""
        self.transfers = self.misses = self.locked = 0
        self.other_transfers = self.other_misses = 0
        self.on_path = True
        return self

    def read(self, line: CacheLine, cpu: int) -> None:
        r = line.read(cpu)
        if r != HIT:
            self._count(r)

    def write(self, line: CacheLine, cpu: int) -> None:
        r = line.write(cpu)
        if r != HIT:
            self._count(r)

    def rmw(self, line: CacheLine, cpu: int) -> None:
        """A locked read-modify-write (XCHG, XADD, CMPXCHG): it needs the
        line Modified, like a write, and holds the cache line locked."""
        if self.on_path:
            self.locked += 1
        r = line.write(cpu)
        if r != HIT:
            self._count(r)

    def _count(self, r: int) -> None:
        """A miss or a transfer (a hit costs nothing and is not counted)."""
        if self.on_path:
            if r == TRANSFER:
                self.transfers += 1
            else:
                self.misses += 1
        elif r == TRANSFER:
            self.other_transfers += 1
        else:
            self.other_misses += 1

    def off_path(self) -> None:
        self.on_path = False

    @property
    def transactions(self) -> int:
        """Bus transactions (transfers and misses), on the path or not."""
        return self.transfers + self.misses + self.other_transfers + self.other_misses

    def cycles(self, transfer: int, memory: int, rmw: int) -> int:
        """What the path costs at these prices (cycles)."""
        return self.transfers * transfer + self.misses * memory + self.locked * rmw


def counting(ops: Ops | None) -> Ops:
    """The counters a piece of lock code counts in: *ops* cleared, or new."""
    return Ops() if ops is None else ops.clear()


class Spinlock:
    """Base of the algorithms: a lock named *name* whose word is ``line``.

    ``arrive(cpu)`` runs the acquire code's first pass: the CPU owns the lock
    afterwards (``holder == cpu``) or is a waiter.  ``release(cpu, rng, now)``
    runs the release and the waiters' reaction up to the next owner's
    acquiring operation.  Both return the :class:`Ops` they performed: new
    counters, or the caller's own *ops* cleared first (the kernel passes
    one object it reads at once, instead of an allocation per call).
    ``rows`` is its lock_stat, one row per (entry point, CPU)."""

    kind = "base"
    fifo = False

    def __init__(self, name: str) -> None:
        self.name = name
        self.line = CacheLine(f"lock:{name}")
        self.lines: list[CacheLine] = [self.line]
        self.holder: int | None = None
        self.waiters: list[int] = []
        self.rows: dict[tuple[str, int], LockStat] = {}
        self._cpu_rows: list[dict[str, LockStat]] = []     # rows by CPU id, then entry
        self.spin_transfers = 0      # transfers of spinners stealing the line (tas)
        self.spin_since = 0          # cycle from which they are not yet counted
        self.idle_cycles = 0         # cycles the lock lay free with waiters (back-off)
        self.stall_cycles = 0        # cycles holders lost to waiters' bus traffic
        self.transactions = 0        # bus transactions of its code (kernel counts)
        self.backoff_base = 1
        self.backoff_cap = 1
        self.transfer_cycles = 0

    def configure(self, transfer: int, backoff_base: int, backoff_cap: int) -> None:
        """Prices the code needs to know itself: how long a line transfer
        takes and the back-off window (cycles; only ttas_backoff waits)."""
        self.transfer_cycles = int(transfer)
        self.backoff_base = max(1, int(backoff_base))
        self.backoff_cap = max(self.backoff_base, int(backoff_cap))

    # -- the algorithm ------------------------------------------------------
    def arrive(self, cpu: int, ops: Ops | None = None) -> Ops:
        raise NotImplementedError

    def release(self, cpu: int, rng: Any, now: int,
                ops: Ops | None = None) -> tuple[int | None, Ops, int]:
        """Release by *cpu*: returns the next owner (None: the lock is free),
        the ops from the releasing store to the next owner's acquiring
        operation (on the path) and after it (``others``), and the cycles the
        lock lies free before anybody tries (back-off)."""
        raise NotImplementedError

    def spinning_requests(self) -> int:
        """Bus requests the waiters keep outstanding while the lock is held
        (their spinning misses their own cache): 0 for every algorithm that
        spins on a Shared or private copy."""
        return 0

    def check(self) -> None:
        """Raise InvariantError if the lock's own state disagrees with
        ``holder`` and ``waiters`` (two owners, a lost waiter, ...)."""
        if self.holder is not None and self.holder in self.waiters:
            raise InvariantError(f"lock {self.name}: CPU {self.holder} holds it and waits")
        if len(set(self.waiters)) != len(self.waiters):
            raise InvariantError(f"lock {self.name}: a CPU waits twice: {self.waiters}")
        if self.waiters and self.holder is None:
            raise InvariantError(f"lock {self.name}: free with waiters {self.waiters}")

    def _take_or_wait(self, cpu: int, free: bool) -> None:
        """The end of the acquire code's first pass: *cpu* owns the lock if
        its operation found it *free*, else it spins as the last waiter."""
        if free:
            self.holder = cpu
        else:
            self.waiters.append(cpu)

    def _order(self, rng: Any, cpus: list[int]) -> list[int]:
        """The order in which simultaneous requests of *cpus* reach the bus
        (or the line's home): arbitration nothing in the code controls.
        A single request is returned as the list it came in (callers only
        read the order), sparing a hand-off to one waiter a copy.  *rng* is
        a numpy Generator or the kernel's :class:`~.draws.Draws` of one,
        which gives the same numbers without a numpy call per release."""
        if len(cpus) < 2:
            return cpus
        return shuffled(rng, cpus)

    # -- statistics ---------------------------------------------------------
    def row(self, entry: str, cpu: int) -> LockStat:
        """The row an acquisition by CPU *cpu* through *entry* counts in
        (found through ``_cpu_rows``, without building a tuple)."""
        by_cpu = self._cpu_rows
        while len(by_cpu) <= cpu:
            by_cpu.append({})
        mine = by_cpu[cpu]
        s = mine.get(entry)
        if s is None:
            s = mine[entry] = self.rows[(entry, cpu)] = LockStat()
        return s

    @property
    def stat(self) -> LockStat:
        """The lock's row: all its acquisitions."""
        return LockStat.total(self.rows.values())

    @property
    def by_entry(self) -> dict[str, LockStat]:
        """A row per kernel entry point (lock_stat's classes)."""
        return self._group(0)

    @property
    def by_cpu(self) -> dict[int, LockStat]:
        """A row per CPU: what the paper's instrumentation, measuring "one
        CPU at a time", reports."""
        return self._group(1)

    def _group(self, i: int) -> dict:
        groups: dict = {}
        for key, s in self.rows.items():
            groups.setdefault(key[i], []).append(s)
        return {k: LockStat.total(g) for k, g in groups.items()}

    @property
    def transfers(self) -> int:
        """Line transfers the lock's code caused, all its lines, spinners'
        stealing included."""
        return sum(line.bounces for line in self.lines) + self.spin_transfers

    def reset_stats(self) -> None:
        """Start counting afresh: no rows, no transfers."""
        self.rows = {}
        self._cpu_rows = []
        for line in self.lines:
            line.bounces = 0
            line.accesses = 0
        self.spin_transfers = 0
        self.idle_cycles = 0
        self.stall_cycles = 0
        self.transactions = 0


class TAS(Spinlock):
    """Test-and-set: ``while (xchg(&word, 1)) ;`` and ``word = 0``."""

    kind = "tas"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.word = 0

    def arrive(self, cpu: int, ops: Ops | None = None) -> Ops:
        ops = counting(ops)
        ops.rmw(self.line, cpu)                 # XCHG
        if self.word == 0:
            self.word = 1
            self.holder = cpu
        else:
            self.waiters.append(cpu)
        return ops

    def spinning_requests(self) -> int:
        # One spinner owns the line and spins in its cache; every other one
        # has an XCHG outstanding to steal it.
        w = len(self.waiters)
        return w - 1 if w >= 2 else 0

    def release(self, cpu: int, rng: Any, now: int,
                ops: Ops | None = None) -> tuple[int | None, Ops, int]:
        ops = counting(ops)
        w = len(self.waiters)
        if w == 0:
            ops.write(self.line, cpu)
            self.word = 0
            self.holder = None
            return None, ops, 0
        order = self._order(rng, self.waiters)
        # The releasing store waits behind the XCHGs already queued for the
        # line (none if a single spinner owns it), which all fail.
        ahead = integer_below(rng, w) if w >= 2 else 0
        for s in order[:ahead]:
            ops.rmw(self.line, s)
        ops.write(self.line, cpu)               # word = 0
        self.word = 0
        nxt = order[ahead]
        ops.rmw(self.line, nxt)                 # the next XCHG in bus order wins
        self.word = 1
        self.waiters.remove(nxt)
        self.holder = nxt
        return nxt, ops, 0

    def check(self) -> None:
        super().check()
        if (self.word == 1) != (self.holder is not None):
            raise InvariantError(f"lock {self.name}: word {self.word}, holder {self.holder}")


class TTAS(TAS):
    """Test-and-test-and-set: ``while (word || xchg(&word, 1)) ;``."""

    kind = "ttas"

    def arrive(self, cpu: int, ops: Ops | None = None) -> Ops:
        ops = counting(ops)
        ops.read(self.line, cpu)
        if self.word == 0:
            ops.rmw(self.line, cpu)             # XCHG
            self.word = 1
            self.holder = cpu
        else:
            self.waiters.append(cpu)            # spin on the Shared copy
        return ops

    def spinning_requests(self) -> int:
        return 0

    def _race(self, cpu: int, racers: list[int], ops: Ops | None) -> tuple[int, Ops]:
        """The releasing store, then *racers* (in bus order) re-read, see 0
        and XCHG; the first reader's XCHG queues behind the other reads and
        wins; the others' XCHGs fail and they re-read the word."""
        ops = counting(ops)
        ops.write(self.line, cpu)               # word = 0: invalidates the copies
        self.word = 0
        for s in racers:
            ops.read(self.line, s)
        nxt = racers[0]
        ops.rmw(self.line, nxt)
        self.word = 1
        ops.off_path()
        for s in racers[1:]:
            ops.rmw(self.line, s)               # fails: word is 1
        for s in racers[1:]:
            ops.read(self.line, s)              # back to spinning on a copy
        return nxt, ops

    def release(self, cpu: int, rng: Any, now: int,
                ops: Ops | None = None) -> tuple[int | None, Ops, int]:
        if not self.waiters:
            ops = counting(ops)
            ops.write(self.line, cpu)
            self.word = 0
            self.holder = None
            return None, ops, 0
        nxt, ops = self._race(cpu, self._order(rng, self.waiters), ops)
        self.waiters.remove(nxt)
        self.holder = nxt
        return nxt, ops, 0


class TTASBackoff(TTAS):
    """TTAS with exponential back-off: a CPU whose XCHG failed waits a random
    time in [0, window) before it looks at the word again, and doubles its
    window (up to ``backoff_cap``).  A CPU backing off makes no traffic."""

    kind = "ttas_backoff"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.window: dict[int, int] = {}
        self.until: dict[int, int] = {}      # cycle its back-off ends

    # TTAS's code is called by name, not through super(): on CPython 3.11
    # the two zero-argument super() calls made an uncontended acquire and
    # release about 14 % dearer (interpreter instructions counted).

    def arrive(self, cpu: int, ops: Ops | None = None) -> Ops:
        ops = TTAS.arrive(self, cpu, ops)
        if self.holder != cpu:
            self.window[cpu] = self.backoff_base
            self.until[cpu] = 0              # spins on its copy at once
        return ops

    def release(self, cpu: int, rng: Any, now: int,
                ops: Ops | None = None) -> tuple[int | None, Ops, int]:
        if not self.waiters:
            return TTAS.release(self, cpu, rng, now, ops)
        spinning = [c for c in self.waiters if self.until[c] <= now]
        idle = 0
        if not spinning:
            # Everybody backs off: the lock lies free until the first looks.
            first = min(self.waiters, key=lambda c: (self.until[c], c))
            idle = self.until[first] - now
            spinning = [first]
        nxt, ops = self._race(cpu, self._order(rng, spinning), ops)
        path = idle + (ops.transfers * self.transfer_cycles)
        for c in spinning:
            if c != nxt:                     # lost: back off
                win = self.window[c]
                self.until[c] = now + path + integer_below(rng, win)
                self.window[c] = min(2 * win, self.backoff_cap)
        self.waiters.remove(nxt)
        del self.window[nxt], self.until[nxt]
        self.holder = nxt
        self.idle_cycles += idle
        return nxt, ops, idle


class Ticket(Spinlock):
    """Ticket lock: ``my = xadd(&next, 1); while (now_serving != my) ;`` and
    ``now_serving++``, both counters in one word as in Linux's x86 ticket
    spinlock (2.6.25 to 4.1)."""

    kind = "ticket"
    fifo = True

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.next = 0
        self.now_serving = 0
        self.ticket: list[int] = []          # each CPU's ticket by CPU id (NOBODY: none)

    def arrive(self, cpu: int, ops: Ops | None = None) -> Ops:
        ops = counting(ops)
        ops.rmw(self.line, cpu)                 # XADD: invalidates the spinners' copies
        while len(self.ticket) <= cpu:
            self.ticket.append(NOBODY)
        my = self.ticket[cpu] = self.next
        self.next += 1
        ops.read(self.line, cpu)                # now_serving: a hit after the XADD
        ops.off_path()
        for s in self.waiters:
            ops.read(self.line, s)              # they re-read and spin again
        self._take_or_wait(cpu, my == self.now_serving)
        return ops

    def release(self, cpu: int, rng: Any, now: int,
                ops: Ops | None = None) -> tuple[int | None, Ops, int]:
        ops = counting(ops)
        ops.write(self.line, cpu)               # now_serving++
        self.now_serving += 1
        self.ticket[cpu] = NOBODY
        if not self.waiters:
            self.holder = None
            return None, ops, 0
        nxt = -1
        for s in self._order(rng, self.waiters):
            ops.read(self.line, s)              # every spinner re-reads, in bus order
            if self.ticket[s] == self.now_serving:
                nxt = s
                ops.off_path()                  # the rest re-read after the hand-off
        self.waiters.remove(nxt)
        self.holder = nxt
        return nxt, ops, 0

    def check(self) -> None:
        super().check()
        held = {c: t for c, t in enumerate(self.ticket) if t != NOBODY}
        inside = [c for c, t in held.items() if t == self.now_serving]
        if len(inside) > 1 or (inside and inside[0] != self.holder) or \
                (not inside and self.holder is not None):
            raise InvariantError(f"lock {self.name}: now_serving {self.now_serving}, tickets "
                                 f"{held}, holder {self.holder}")
        if self.next - self.now_serving != len(held):
            raise InvariantError(f"lock {self.name}: {self.next - self.now_serving} tickets "
                                 f"out, {len(held)} CPUs have one")


class MCS(Spinlock):
    """MCS queue lock: ``pred = xchg(&tail, me); if (pred) { pred->next = me;
    while (me->locked) ; }``; release: ``if (!me->next && cmpxchg(&tail, me,
    0) == me) return; me->next->locked = 0``.  Each CPU's queue node is a line
    of its own."""

    kind = "mcs"
    fifo = True

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.tail = NOBODY
        self.succ: dict[int, int] = {}       # node.next
        self.nodes: dict[int, CacheLine] = {}

    def node(self, cpu: int) -> CacheLine:
        n = self.nodes.get(cpu)
        if n is None:
            n = self.nodes[cpu] = CacheLine(f"mcs:{self.name}:{cpu}")
            self.lines.append(n)
        return n

    def _enqueue(self, cpu: int, ops: Ops) -> int:
        """Link *cpu*'s node at the tail; returns the predecessor."""
        me = self.node(cpu)
        ops.write(me, cpu)                      # node->next = 0, node->locked = 1
        ops.rmw(self.line, cpu)                 # XCHG tail
        pred = self.tail
        self.tail = cpu
        self.succ[cpu] = NOBODY
        if pred != NOBODY:
            ops.write(self.node(pred), cpu)     # pred->next = me
            self.succ[pred] = cpu
            ops.read(me, cpu)                   # spin on my own node
        return pred

    def arrive(self, cpu: int, ops: Ops | None = None) -> Ops:
        ops = counting(ops)
        self._take_or_wait(cpu, self._enqueue(cpu, ops) == NOBODY)
        return ops

    def release(self, cpu: int, rng: Any, now: int,
                ops: Ops | None = None) -> tuple[int | None, Ops, int]:
        ops = counting(ops)
        ops.read(self.node(cpu), cpu)           # me->next
        nxt = self.succ.pop(cpu)
        if nxt == NOBODY:
            ops.rmw(self.line, cpu)             # CMPXCHG tail: me -> 0
            self.tail = NOBODY
            self.holder = None
            return None, ops, 0
        node = self.node(nxt)
        ops.write(node, cpu)                    # next->locked = 0
        ops.read(node, nxt)                     # it sees the store
        self.waiters.remove(nxt)
        self.holder = nxt
        return nxt, ops, 0

    def check(self) -> None:
        super().check()
        chain: list[int] = []
        c = self.holder if self.holder is not None else NOBODY
        while c != NOBODY and len(chain) <= len(self.succ):
            chain.append(c)
            c = self.succ.get(c, NOBODY)
        if chain[1:] != self.waiters or (chain and chain[-1] != self.tail) or \
                (not chain and self.tail != NOBODY):
            raise InvariantError(f"lock {self.name}: queue {chain}, tail {self.tail}, "
                                 f"waiters {self.waiters}")


class QSpinlock(MCS):
    """Linux's queued spinlock (qspinlock.c, since 4.2), reduced to its
    states: the word's ``locked`` byte (``holder``), ``pending`` (one CPU
    spinning on the word) and ``tail`` of an MCS queue of further CPUs whose
    head spins on the word too.  Order: pending, then the queue."""

    kind = "qspinlock"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.pending = NOBODY

    def _on_word(self) -> list[int]:
        """The CPUs spinning on the lock word: pending, the queue head."""
        out = [self.pending] if self.pending != NOBODY else []
        head = self._head()
        if head != NOBODY:
            out.append(head)
        return out

    def _head(self) -> int:
        for c in self.waiters:
            if c != self.pending:
                return c
        return NOBODY

    def arrive(self, cpu: int, ops: Ops | None = None) -> Ops:
        ops = counting(ops)
        ops.rmw(self.line, cpu)                 # CMPXCHG 0 -> locked
        if self.holder is None and self.pending == NOBODY and self.tail == NOBODY:
            self.holder = cpu
            return ops
        spinning = self._on_word()              # before this CPU changes the word
        if self.pending == NOBODY and self.tail == NOBODY:
            ops.rmw(self.line, cpu)             # fetch_or(pending)
            self.pending = cpu
            self.waiters.append(cpu)
        else:
            self._enqueue(cpu, ops)             # MCS queue (tail is in the word)
            self.waiters.append(cpu)
            if self._head() == cpu:
                ops.read(self.line, cpu)        # the head spins on the word
        ops.off_path()
        for s in spinning:
            ops.read(self.line, s)              # the word changed under them
        return ops

    def release(self, cpu: int, rng: Any, now: int,
                ops: Ops | None = None) -> tuple[int | None, Ops, int]:
        ops = counting(ops)
        ops.write(self.line, cpu)               # smp_store_release(locked, 0)
        if self.pending != NOBODY:
            nxt = self.pending
            ops.read(self.line, nxt)            # sees locked == 0
            ops.write(self.line, nxt)           # clear_pending_set_locked()
            self.pending = NOBODY
            ops.off_path()
            head = self._head()
            if head != NOBODY:
                ops.read(self.line, head)
        else:
            nxt = self._head()
            if nxt == NOBODY:
                self.holder = None
                return None, ops, 0
            ops.read(self.line, nxt)            # sees locked == 0 and pending == 0
            ops.rmw(self.line, nxt)             # set locked (CMPXCHG if last in queue)
            ops.off_path()
            # The new owner passes the queue head on: one MCS hand-off.
            ops.read(self.node(nxt), nxt)
            succ = self.succ.pop(nxt)
            if succ == NOBODY:
                self.tail = NOBODY
            else:
                node = self.node(succ)
                ops.write(node, nxt)
                ops.read(node, succ)
                ops.read(self.line, succ)       # the new head spins on the word
        self.waiters.remove(nxt)
        self.holder = nxt
        return nxt, ops, 0

    def check(self) -> None:
        Spinlock.check(self)
        queue = [c for c in self.waiters if c != self.pending]
        chain: list[int] = []
        c = queue[0] if queue else NOBODY
        while c != NOBODY and len(chain) <= len(self.succ):
            chain.append(c)
            c = self.succ.get(c, NOBODY)
        if chain != queue or (chain and chain[-1] != self.tail) or \
                (not chain and self.tail != NOBODY):
            raise InvariantError(f"lock {self.name}: queue {chain}, tail {self.tail}, "
                                 f"waiters {self.waiters}")
        if self.pending != NOBODY and self.waiters[:1] != [self.pending]:
            raise InvariantError(f"lock {self.name}: pending CPU {self.pending} is not the "
                                 f"first waiter of {self.waiters}")


ALGORITHMS: dict[str, type[Spinlock]] = {
    "tas": TAS, "ttas": TTAS, "ttas_backoff": TTASBackoff, "ticket": Ticket, "mcs": MCS,
    "qspinlock": QSpinlock}


def new_spinlock(name: str, kind: str = "tas") -> Spinlock:
    """A spinlock named *name* of algorithm *kind* (one of LOCK_KINDS)."""
    cls = ALGORITHMS.get(kind)
    if cls is None:
        raise ConfigError(f"spinlock kind {kind!r}: allowed are {', '.join(LOCK_KINDS)}")
    return cls(name)
