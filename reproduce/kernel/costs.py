"""The costs the kernel paths charge, typed: ``k.cost.cr3_load``.

The cost and workload tables are dictionaries keyed by name (``Kernel.c``,
``Kernel.s``: ``data/params``).  A path that charges a cost on every entry of
its kind reads it here instead: an attribute of a known type, where a look-up
by name hashed a string and, in the compiled build, added an untyped value.
Every one of them is an integer number of cycles (or ticks) in the tables'
schema (``params.INTEGER_KEYS``).
"""
from __future__ import annotations

from typing import Any, Mapping


class PathCosts:
    """The cycles (from the cost table *c*) and the tick work and time slice
    (from the workload table *s*) that ``paths.py`` and ``sched.py`` charge."""

    __slots__ = ("cr3_load", "page_fault", "page_alloc", "pgdir_copy", "timer_insert",
                 "cache_refill", "ipi_send", "ipi_receive", "pte_update",
                 "tick_cycles", "tick_walk_cycles", "idle_poll_cycles", "timeslice_ticks")

    def __init__(self, c: Mapping[str, Any], s: Mapping[str, Any]) -> None:
        self.cr3_load: int = c["cr3_load"]            # MOV to CR3 and the TLB refill after it
        self.page_fault: int = c["page_fault"]        # #PF entry, handler, IRET
        self.page_alloc: int = c["page_alloc"]        # kalloc and zeroing one frame
        self.pgdir_copy: int = c["pgdir_copy"]        # copying a 4 KiB page directory
        self.timer_insert: int = c["timer_insert"]    # a sleeper onto a timer list
        self.cache_refill: int = c["cache_refill"]    # a migrated thread's cache misses
        self.ipi_send: int = c["ipi_send"]            # writing the local APIC's ICR
        self.ipi_receive: int = c["ipi_receive"]      # an IPI's entry, handler, EOI, IRET
        self.pte_update: int = c["pte_update"]        # a protect call's PTE write
        self.tick_cycles: int = s["tick_cycles"]      # the timer interrupt's own work
        self.tick_walk_cycles: int = s["tick_walk_cycles"]
        self.idle_poll_cycles: int = s["idle_poll_cycles"]
        self.timeslice_ticks: int = s["timeslice_ticks"]
