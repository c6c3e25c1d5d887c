"""Physical memory: 4 KiB frames of 32-bit words, and a frame allocator.

Frames hold real data (page directories, page tables, the CPU-local pages),
stored lazily: a frame gets its 1024-word list the first time it is written,
so 128 MiB of simulated RAM costs only what is touched.  The allocator hands
out frames deterministically (lowest free first) and counts pages in use, which
is what the memory evaluation (E6) reports.
"""
from __future__ import annotations

import heapq
from typing import Final

from ..errors import ConfigError, OutOfMemory, require  # noqa: F401 (OutOfMemory: re-exported)

PGSIZE: Final = 4096          # bytes in a page / frame
PGSHIFT: Final = 12
WORDS_PER_PAGE: Final = PGSIZE // 4
MiB: Final = 1 << 20


class PhysicalMemory:
    """*size* bytes of RAM in 4 KiB frames; frames below *reserved* bytes hold
    the kernel image and are never handed out by :meth:`kalloc`."""

    def __init__(self, size: int = 128 * MiB, reserved: int = 1 * MiB) -> None:
        require(isinstance(size, int) and size > 0 and size % PGSIZE == 0,
                f"memory size={size!r} bytes: must be a positive multiple of {PGSIZE}")
        require(isinstance(reserved, int) and 0 <= reserved < size and reserved % PGSIZE == 0,
                f"reserved={reserved!r} bytes: must be a page multiple in [0, size)")
        self.size = size
        self.nframes = size // PGSIZE
        # Frame number -> its words, None until first written: a list indexed
        # by frame (not a dict) and words in a list (not an array), which
        # the compiled build indexes without a generic call.
        self._frames: list[list[int] | None] = [None] * self.nframes
        self._next = reserved // PGSIZE      # bump pointer: never-used frames
        self._free: list[int] = []           # heap of freed frame numbers
        self._allocated: set[int] = set()
        self.peak = 0

    # -- allocator --------------------------------------------------------
    def kalloc(self) -> int:
        """Allocate one zeroed frame; return its physical address (bytes)."""
        if self._free:
            fn = heapq.heappop(self._free)
        elif self._next < self.nframes:
            fn = self._next
            self._next += 1
        else:
            raise OutOfMemory(f"all {self.nframes} frames in use")
        self._frames[fn] = None              # zero it
        self._allocated.add(fn)
        if len(self._allocated) > self.peak:
            self.peak = len(self._allocated)
        return fn << PGSHIFT

    def kfree(self, pa: int) -> None:
        """Return the frame at physical address *pa* to the allocator."""
        self._check_frame_addr(pa)
        fn = pa >> PGSHIFT
        if fn not in self._allocated:
            raise ValueError(f"kfree({pa:#x}): frame is not allocated")
        self._allocated.discard(fn)
        self._frames[fn] = None
        heapq.heappush(self._free, fn)

    @property
    def in_use(self) -> int:
        """Frames currently allocated by :meth:`kalloc` (pages)."""
        return len(self._allocated)

    def is_allocated(self, pa: int) -> bool:
        return (pa >> PGSHIFT) in self._allocated

    # -- words ------------------------------------------------------------
    def _check_frame_addr(self, pa: int) -> None:
        if not isinstance(pa, int) or pa < 0 or pa >= self.size or pa & (PGSIZE - 1):
            raise ConfigError(f"physical address {pa!r}: must be page-aligned (multiple of "
                              f"{PGSIZE:#x}) and below {self.size:#x}")

    def read32(self, pa: int) -> int:
        """The 32-bit word at physical byte address *pa* (4-byte aligned)."""
        if pa & 3 or not 0 <= pa < self.size:
            raise ConfigError(f"physical address {pa:#x}: must be 4-byte aligned and "
                              f"below {self.size:#x}")
        frame = self._frames[pa >> PGSHIFT]
        return 0 if frame is None else frame[(pa & (PGSIZE - 1)) >> 2]

    def write32(self, pa: int, value: int) -> None:
        """Store the 32-bit *value* at physical byte address *pa*."""
        if pa & 3 or not 0 <= pa < self.size:
            raise ConfigError(f"physical address {pa:#x}: must be 4-byte aligned and "
                              f"below {self.size:#x}")
        fn = pa >> PGSHIFT
        frame = self._frames[fn]
        if frame is None:
            frame = self._frames[fn] = [0] * WORDS_PER_PAGE
        frame[(pa & (PGSIZE - 1)) >> 2] = value & 0xFFFFFFFF

    def copy_frame(self, dst: int, src: int) -> None:
        """Copy the 4 KiB frame at *src* to *dst* (both page-aligned)."""
        self._check_frame_addr(dst)
        self._check_frame_addr(src)
        frame = self._frames[src >> PGSHIFT]
        self._frames[dst >> PGSHIFT] = None if frame is None else frame.copy()
