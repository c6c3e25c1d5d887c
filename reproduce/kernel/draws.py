"""The random draws of the lock code, without a numpy call per draw.

A release that hands a lock over decides in what order the waiters'
requests reach the bus (``Spinlock._order``: ``rng.permutation(w)``) and,
for test-and-set and back-off, draws a bounded integer (``rng.integers(n)``).
Each such numpy call costs about 1-3 µs, more than the rest of an
acquisition in the compiled build; with many CPUs nearly every release
makes one.

:class:`Draws` gives the same numbers as numpy's ``Generator`` (PCG64) does
for these two calls, bit for bit and in the same order, from the generator's
raw 64-bit outputs drawn a block at a time.  It follows numpy's C code
(``numpy/random/src/distributions/distributions.c``): a 32-bit draw takes
the low half of a 64-bit output and keeps the high half for the next one
(``pcg64_next32``); ``permutation(n)`` is a Fisher-Yates shuffle of
``arange(n)`` whose swap index is ``random_interval`` (a masked 32-bit draw,
rejected while above the bound); ``integers(n)`` is Lemire's bounded draw
(``buffered_bounded_lemire_uint32``).  ``tests/test_spinlock.py`` checks it
against numpy on long mixed sequences.  The generator must not be used
directly once a ``Draws`` reads it: its state runs ahead by up to a block.
"""
from __future__ import annotations

import math
from typing import Any, Final

BLOCK: Final = 256               # 64-bit outputs drawn per numpy call
MASK32: Final = 0xFFFFFFFF


class Draws:
    """``permutation(n)`` and ``integers(n)`` of numpy Generator *gen*."""

    __slots__ = ("_bits", "_halves", "_next")

    def __init__(self, gen: Any) -> None:
        self._bits: Any = gen.bit_generator
        state = self._bits.state
        if state["bit_generator"] != "PCG64":
            raise ValueError(f"Draws follows PCG64, not {state['bit_generator']}")
        # The 32-bit draws to come, in the order numpy takes them: the half
        # the generator may already hold, then each 64-bit output's low and
        # high half.  (As halves they stay small ints, which the compiled
        # build keeps unboxed.)
        self._halves: list[int] = [int(state["uinteger"])] if state["has_uint32"] else []
        self._next = 0

    def _next32(self) -> int:
        i = self._next
        if i == len(self._halves):
            raw = self._bits.random_raw(BLOCK)
            self._halves = raw.astype("<u8").view("<u4").tolist()   # low, high, low, ...
            i = 0
        self._next = i + 1
        return self._halves[i]

    def _interval(self, top: int) -> int:
        """A number in [0, *top*] (``random_interval``, *top* < 2**32)."""
        if top == 0:
            return 0
        mask = top
        mask |= mask >> 1
        mask |= mask >> 2
        mask |= mask >> 4
        mask |= mask >> 8
        mask |= mask >> 16
        v = self._next32() & mask
        while v > top:
            v = self._next32() & mask
        return v

    def permutation(self, n: int) -> list[int]:
        """``list(gen.permutation(n))``."""
        return self.shuffled(list(range(n)))

    def shuffled(self, items: list[int]) -> list[int]:
        """``[items[i] for i in gen.permutation(len(items))]``: numpy's
        Fisher-Yates swaps applied to a copy of *items* instead of to
        ``arange(n)`` (a swap moves whatever sits at its two places), so
        the order comes without the index list and a second list made from
        it (at 32 CPUs, about 40 % of the releases shuffle ~30 waiters)."""
        n = len(items)
        if n > MASK32:
            raise ValueError(f"permutation({n}): n must be in [0, 2**32)")
        out = items.copy()
        for i in range(n - 1, 0, -1):
            j = self._interval(i)
            out[i], out[j] = out[j], out[i]
        return out

    def integers(self, n: int) -> int:
        """``int(gen.integers(n))``: a number in [0, *n*)."""
        if not 1 <= n <= MASK32:
            raise ValueError(f"integers({n}): n must be in [1, 2**32)")
        if n == 1:
            return 0
        m = self._next32() * n
        low = m & MASK32
        if low < n:
            threshold = (MASK32 - (n - 1)) % n
            while low < threshold:
                m = self._next32() * n
                low = m & MASK32
        return m >> 32


# The lock code is called with the kernel's Draws or (by experiments that
# drive a lock directly) a numpy Generator; the compiled build calls Draws
# directly.

def shuffled(rng: Any, items: list[int]) -> list[int]:
    """*items* in the order ``rng.permutation(len(items))`` gives, for a
    Draws or a Generator."""
    if isinstance(rng, Draws):
        return rng.shuffled(items)
    return [items[i] for i in rng.permutation(len(items))]


def integer_below(rng: Any, n: int) -> int:
    """``int(rng.integers(n))``, for a Draws or a Generator."""
    if isinstance(rng, Draws):
        return rng.integers(n)
    return int(rng.integers(n))


DOUBLE: Final = 1.0 / 9007199254740992.0    # 2**-53


class Stream(Draws):
    """``random()`` and ``integers(n)`` of numpy Generator *gen*, mixed in
    any order, bit for bit, from raw outputs drawn a block at a time: the
    replicated table's accesses (``bench/workload.py``), one of each per
    user run.  numpy's PCG64 keeps the unused high half of a 64-bit output
    for the next 32-bit draw (``pcg64_next32``), while ``random()`` takes a
    whole new output (``next_double``: its top 53 bits times 2**-53) and
    leaves that half waiting; so the half is held apart here, not in the
    block.  The generator must not be used directly once a ``Stream``
    reads it."""

    __slots__ = ("_half",)

    def __init__(self, gen: Any) -> None:
        super().__init__(gen)
        state = self._bits.state
        self._half = int(state["uinteger"]) if state["has_uint32"] else -1   # -1: none
        self._halves = []                  # low, high, low, high, ... of the block
        self._next = 0                     # even: the next whole output's low half

    def _output(self) -> int:
        """Index in ``_halves`` of the next whole 64-bit output."""
        i = self._next
        if i == len(self._halves):
            raw = self._bits.random_raw(BLOCK)
            self._halves = raw.astype("<u8").view("<u4").tolist()
            i = 0
        self._next = i + 2
        return i

    def _next32(self) -> int:
        """The held half if any, else a new output's low half (its high
        half held): numpy's ``pcg64_next32``.  ``integers(n)`` is Draws'."""
        h = self._half
        if h >= 0:
            self._half = -1
            return h
        i = self._output()
        self._half = self._halves[i + 1]
        return self._halves[i]

    def random(self) -> float:
        """``gen.random()``."""
        i = self._output()
        return ((self._halves[i + 1] << 21) | (self._halves[i] >> 11)) * DOUBLE


# numpy's geometric(p) inverts one standard exponential below this p
# (random_geometric_inversion); at or above it, it searches with uniform
# draws (random_geometric_search).
GEOMETRIC_SEARCH: Final = 0.333333333333333333333333


class Exponentials:
    """``standard_exponential()`` of numpy Generator *gen*, one at a time,
    drawn *block* at a time: numpy fills an array one draw after another,
    so the numbers are the same whatever the block (1: each drawn when
    asked, for a caller that also draws from *gen* in between).  A block
    ahead leaves the generator's state ahead: nothing else may draw from it
    then."""

    __slots__ = ("_gen", "_block", "_z", "_i")

    def __init__(self, gen: Any, block: int = BLOCK) -> None:
        self._gen = gen
        self._block = block
        self._z: list[float] = []
        self._i = 0

    def next(self) -> float:
        i = self._i
        if i == len(self._z):
            self._z = self._gen.standard_exponential(self._block).tolist()
            i = 0
        self._i = i + 1
        return self._z[i]

    def geometric(self, p: float) -> int:
        """``int(gen.geometric(p))`` for 0 < *p* < ``GEOMETRIC_SEARCH``:
        numpy's inversion, ceil(-E / log1p(-p)) of the next standard
        exponential E, computed the same way in doubles."""
        return math.ceil(-self.next() / math.log1p(-p))
