"""The one exception type that crosses the package boundary.

Every check on user-supplied input (API arguments, command-line options,
notebook parameters, parameter files) raises :class:`ConfigError` with a
message that names the offending value and what is allowed, so callers can
show one line instead of a traceback.
"""
from __future__ import annotations


class ConfigError(ValueError):
    """Bad input at a boundary: the message names the value and what is allowed."""


def require(cond: bool, message: str) -> None:
    """Raise :class:`ConfigError` with *message* unless *cond* holds."""
    if not cond:
        raise ConfigError(message)
