"""Cache-line ownership for shared kernel data.

The Pentium II keeps its caches coherent with MESI over the front-side bus.
We track, per line, which CPU holds it Modified (``owner``) and which CPUs
hold a Shared copy.  A read of a line Modified in another CPU's cache, or a
write to a line any other CPU holds, moves the line across the bus: that is a
*transfer* (Linux ``lock_stat`` calls it a bounce), and the caller charges the
transfer cost from the cost table.  A miss with no other holder is charged as
a memory access.

A structure that spans several lines and is always written whole (the ready
queue's head and links, the kernel's shared data) is one ``CacheLine`` of
``lines`` lines: every line of it sees the same accesses, so all are in the
same state and one state stands for them; an access costs ``lines`` times a
line's cost, and ``bounces`` and ``accesses`` count every line.
"""
from __future__ import annotations

from typing import Final

HIT: Final = 0        # the line was in this CPU's cache in a usable state
MISS: Final = 1       # fetched from memory: no other cache held it
TRANSFER: Final = 2   # fetched from, or invalidated in, another CPU's cache
NO_OWNER: Final = -1  # ``owner`` when no cache holds the line Modified


class CacheLine:
    """One 32-byte line of shared kernel data (the lock word, ...), or
    *lines* lines always accessed together.  ``bounces`` counts transfers
    between CPUs, line by line."""

    __slots__ = ("name", "lines", "owner", "sharers", "bounces", "accesses")

    def __init__(self, name: str, lines: int = 1) -> None:
        self.name = name
        self.lines = lines
        self.owner = NO_OWNER            # CPU with the line Modified
        self.sharers = 0                 # bitmask of CPUs with a valid copy
        self.bounces = 0
        self.accesses = 0

    def read(self, cpu: int) -> int:
        """CPU *cpu* reads the line; returns HIT, MISS or TRANSFER."""
        self.accesses += self.lines
        bit = 1 << cpu
        if self.sharers & bit:
            return HIT
        result = MISS
        if self.owner != NO_OWNER:           # Modified elsewhere: write back and share
            self.bounces += self.lines
            self.owner = NO_OWNER
            result = TRANSFER
        self.sharers |= bit
        return result

    def write(self, cpu: int) -> int:
        """CPU *cpu* writes (or does a locked RMW on) the line."""
        self.accesses += self.lines
        bit = 1 << cpu
        if self.owner == cpu:
            return HIT
        others = self.sharers & ~bit
        if others:
            self.bounces += self.lines
            result = TRANSFER
        elif self.sharers & bit:
            result = HIT                     # Shared -> Modified, nobody else had it
        else:
            result = MISS
        self.owner = cpu
        self.sharers = bit
        return result
