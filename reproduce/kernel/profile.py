"""The kernel profile: kernel cycles by ``"entry:subsystem"`` class.

Every kernel entry is counted under such a name, in the kernel profile
(``Result.kernel_profile``) and as the lock_stat class of its acquisition.
"""
from __future__ import annotations


class ProfileClass:
    """One class of the profile: its *name* ``"entry:subsys"`` and the
    kernel cycles of the holds that ended in it since the last reset
    (``held``: at least one did, so it appears in the profile)."""

    __slots__ = ("name", "cycles", "held")

    def __init__(self, name: str) -> None:
        self.name = name
        self.cycles = 0
        self.held = False

    def add(self, cycles: int) -> None:
        """A hold of this class ended after *cycles* in the kernel."""
        self.cycles += cycles
        self.held = True


class ProfileKeys:
    """``keys.key(entry, subsys)`` is the profile class ``"entry:subsys"``,
    made once per pair (every kernel entry needs it) and found again by two
    lookups of the strings, without building a tuple.  Each class counts
    its own cycles (an attribute, where a dictionary keyed by the name cost
    a look-up and a store per hold).  The class found last is kept with its
    two strings: about half the entries of the paper workload ask for it
    again, and two identity tests find it (the strings are the callers'
    constants; equal strings that are not the same object are looked up)."""

    __slots__ = ("_by_entry", "_all", "_entry", "_subsys", "_last")

    def __init__(self) -> None:
        self._by_entry: dict[str, dict[str, ProfileClass]] = {}
        self._all: list[ProfileClass] = []
        self._entry = ""
        self._subsys = ""
        self._last: ProfileClass | None = None

    def key(self, entry: str, subsys: str) -> ProfileClass:
        last = self._last
        if last is not None and entry is self._entry and subsys is self._subsys:
            return last
        self._last = cls = self._find(entry, subsys)
        self._entry = entry
        self._subsys = subsys
        return cls

    def _find(self, entry: str, subsys: str) -> ProfileClass:
        names = self._by_entry.get(entry)
        if names is None:
            names = self._by_entry[entry] = {}
        cls = names.get(subsys)
        if cls is None:
            cls = names[subsys] = ProfileClass(f"{entry}:{subsys}")
            self._all.append(cls)
        return cls

    def reset(self) -> None:
        """Start the profile again: no class held."""
        for cls in self._all:
            cls.cycles = 0
            cls.held = False

    def profile(self) -> dict[str, int]:
        """Kernel cycles by class name, sorted by name: the classes held
        since the last reset."""
        return dict(sorted((cls.name, cls.cycles) for cls in self._all if cls.held))
