"""A translation lookaside buffer, one per CPU.

It caches translations the walk produced, keyed by virtual page number, and
keeps them until ``invlpg``, a CR3 load (which spares entries marked global,
as with CR4.PGE on the Pentium II) or eviction.  Crucially it does *not* look
at the page tables again on a hit: a PTE changed on another CPU leaves this
TLB stale, which is what the kernel's lazy TLB scheme (paper, end of 3.3)
relies on.  Like the hardware, it never caches a not-present translation.
"""
from __future__ import annotations

from ..errors import require
from .memory import PGSHIFT
from .mmu import PTE_G


class TLB:
    """Up to *entries* cached translations (the Pentium II data TLB has 64 for
    4 KiB pages); the oldest entry is evicted first."""

    __slots__ = ("entries", "_map", "_local", "hits", "misses", "flushes")

    def __init__(self, entries: int = 64) -> None:
        require(isinstance(entries, int) and entries > 0,
                f"TLB entries={entries!r}: must be a positive integer")
        self.entries = entries
        self._map: dict[int, tuple[int, int]] = {}   # vpn -> (pfn, flags)
        # Entries without PTE_G: most CR3 loads find none (the kernel's
        # pages are global), and a flush then leaves the map as it is.
        self._local = 0
        self.hits = 0
        self.misses = 0
        self.flushes = 0

    def lookup(self, va: int) -> tuple[int, int] | None:
        """(frame number, flags) cached for *va*'s page, or None on a miss."""
        e = self._map.get(va >> PGSHIFT)
        if e is None:
            self.misses += 1
        else:
            self.hits += 1
        return e

    def fill(self, va: int, pa: int, flags: int) -> None:
        """Cache the translation of *va*'s page to frame of *pa*."""
        vpn = va >> PGSHIFT
        m = self._map
        old = m.get(vpn)
        if old is None:
            if len(m) >= self.entries:
                self._drop(next(iter(m)))
        elif not old[1] & PTE_G:
            self._local -= 1
        if not flags & PTE_G:
            self._local += 1
        m[vpn] = (pa >> PGSHIFT, flags)

    def _drop(self, vpn: int) -> None:
        e = self._map.pop(vpn, None)
        if e is not None and not e[1] & PTE_G:
            self._local -= 1

    def invlpg(self, va: int) -> None:
        """Drop any entry for *va*'s page (the INVLPG instruction)."""
        self._drop(va >> PGSHIFT)

    def flush(self) -> None:
        """A CR3 load: drop every non-global entry."""
        self.flushes += 1
        if self._local:
            self._map = {k: v for k, v in self._map.items() if v[1] & PTE_G}
            self._local = 0

    def flush_all(self) -> None:
        """Drop everything, global entries too (CR4.PGE toggle)."""
        self._map.clear()
        self._local = 0

    def __contains__(self, va: int) -> bool:
        return (va >> PGSHIFT) in self._map

    def __len__(self) -> int:
        return len(self._map)
