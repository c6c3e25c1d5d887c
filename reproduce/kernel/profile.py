"""The kernel profile's classes: ``"entry:subsystem"`` names.

Every kernel entry is counted under such a name, in the kernel profile
(``Result.kernel_profile``) and as the lock_stat class of its acquisition.
"""
from __future__ import annotations


class ProfileKeys:
    """``keys.key(entry, subsys)`` is the profile and lock_stat class
    ``"entry:subsys"``, formatted once per pair (every kernel entry needs
    it) and found again by two lookups of the strings, without building a
    tuple."""

    __slots__ = ("_by_entry",)

    def __init__(self) -> None:
        self._by_entry: dict[str, dict[str, str]] = {}

    def key(self, entry: str, subsys: str) -> str:
        names = self._by_entry.get(entry)
        if names is None:
            names = self._by_entry[entry] = {}
        name = names.get(subsys)
        if name is None:
            name = names[subsys] = f"{entry}:{subsys}"
        return name
