"""The one exception type that crosses the package boundary.

Every check on user-supplied input (API arguments, command-line options,
notebook parameters, parameter files) raises :class:`ConfigError` with a
message that names the offending value and what is allowed, so callers can
show one line instead of a traceback.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping


class ConfigError(ValueError):
    """Bad input at a boundary: the message names the value and what is allowed."""


def require(cond: bool, message: str) -> None:
    """Raise :class:`ConfigError` with *message* unless *cond* holds."""
    if not cond:
        raise ConfigError(message)


def lookup(table: Mapping[str, Any], key: str, what: str,
           known: Iterable[str] | None = None) -> Any:
    """``table[key]``, or a :class:`ConfigError` naming *what* was asked for
    and the names that are known (*known*, default: the table's keys)."""
    try:
        return table[key]
    except KeyError:
        names = ", ".join(sorted(table) if known is None else known)
        raise ConfigError(f"unknown {what} {key!r}: known are {names}") from None


class InvariantError(AssertionError):
    """A debug check inside the simulation failed: the model is wrong."""


class OutOfMemory(RuntimeError):
    """kalloc found no free frame."""
