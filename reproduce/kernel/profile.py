"""The kernel profile's classes: ``"entry:subsystem"`` names.

Every kernel entry is counted under such a name, in the kernel profile
(``Result.kernel_profile``) and as the lock_stat class of its acquisition.
"""
from __future__ import annotations


class ProfileKeys(dict[tuple[str, str], str]):
    """``keys[entry, subsys]`` is the profile and lock_stat class
    ``"entry:subsys"``, formatted once per pair (every kernel entry needs
    it)."""

    def __missing__(self, pair: tuple[str, str]) -> str:
        key = self[pair] = f"{pair[0]}:{pair[1]}"
        return key
