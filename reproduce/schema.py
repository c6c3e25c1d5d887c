"""The one schema for every value a user gives: Scenario fields, parameter
overrides (``-p``), experiment parameters, and the parameter files themselves.

A :class:`Spec` says what a value is (int, float, bool, str or a list of
one of those), the closed range it must lie in, or the names it may take.
:func:`convert` is the one coercion: it takes a value from Python or the text
of a command-line option, and returns it in the spec's type, or raises
:class:`~reproduce.errors.ConfigError` naming the value and what is allowed.

Every number has an upper bound, because a run must finish and fit in
memory: a bound is what keeps ``--horizon 1e30`` or ``-p calls_per_wakeup=1e12``
from running for hours or raising MemoryError deep inside.  Floats must be
finite; booleans are strict (``true``/``false`` or a Python bool: ``2`` is
not a boolean).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .errors import ConfigError

KINDS = (int, float, bool, str)


@dataclass(frozen=True)
class Spec:
    """What one named value may be.  *kind* is int, float, bool or str;
    *items* means a non-empty list of such values; *lo*/*hi* bound numbers
    (inclusive; *open_lo* makes the lower bound exclusive); *choices* names
    the strings allowed (a tuple, or a function returning one, read when
    checked so registries filled later count); *unit* is for messages."""

    kind: type
    lo: float | None = None
    hi: float | None = None
    choices: Sequence[str] | Callable[[], Sequence[str]] | None = None
    items: bool = False
    unit: str = ""
    open_lo: bool = False
    max_items: int = 1000

    def allowed(self) -> str:
        """What the spec allows, in words (for error messages)."""
        if self.kind is bool:
            what = "true or false"
        elif self.choices is not None:
            what = "one of " + ", ".join(self.names())
        else:
            noun = "an integer" if self.kind is int else "a finite number" \
                if self.kind is float else "a string"
            span = ""
            if self.lo is not None and self.hi is not None:
                span = f" {'in (' if self.open_lo else 'from '}{_num(self.lo)}" \
                       f"{', ' if self.open_lo else ' to '}{_num(self.hi)}{']' if self.open_lo else ''}"
            elif self.lo is not None:
                span = f" >= {_num(self.lo)}"
            what = noun + span + (f" ({self.unit})" if self.unit else "")
        if self.items:
            return f"a non-empty comma-separated list of at most {self.max_items}, each {what}"
        return what

    def names(self) -> tuple[str, ...]:
        c = self.choices() if callable(self.choices) else self.choices
        return tuple(c or ())


def _num(x: float) -> str:
    if isinstance(x, int):
        return str(x)
    return f"{int(x)}" if float(x).is_integer() and abs(x) < 1e16 else f"{x:g}"


def convert(name: str, spec: Spec, value: Any) -> Any:
    """*value* (a Python value, or the text of an option) as *spec* says,
    checked; raises ConfigError ``name=value: must be ...``."""
    def bad() -> ConfigError:
        # Option text as typed (cpus=0), Python values as written (lock='x').
        shown = value if isinstance(value, str) and re.fullmatch(r"[-+0-9._eE]+", value) \
            else repr(value)
        if spec.choices is not None and not spec.items:
            return ConfigError(f"{name}={shown}: valid are {', '.join(spec.names())}")
        return ConfigError(f"{name}={shown}: must be {spec.allowed()}")

    if spec.items:
        if isinstance(value, str):
            parts: Sequence[Any] = [p.strip() for p in value.split(",")]
        elif isinstance(value, (list, tuple)):
            parts = value
        else:
            parts = [value]
        if not parts or len(parts) > spec.max_items:
            raise bad()
        one = Spec(spec.kind, spec.lo, spec.hi, spec.choices, False, spec.unit, spec.open_lo)
        try:
            return [convert(name, one, p) for p in parts]
        except ConfigError:
            raise bad() from None
    v = _scalar(spec.kind, value)
    if v is None:
        raise bad()
    if spec.choices is not None and v not in spec.names():
        raise bad()
    if spec.kind in (int, float):
        if spec.lo is not None and (v <= spec.lo if spec.open_lo else v < spec.lo):
            raise bad()
        if spec.hi is not None and v > spec.hi:
            raise bad()
    return v


def _scalar(kind: type, value: Any) -> Any:
    """*value* as *kind*, or None when it is not one (strictly: no bool as a
    number, no number as a bool, no fraction as an int, nothing non-finite)."""
    if isinstance(value, str):
        value = _parse(kind, value.strip())
        if value is None:
            return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()             # numpy scalars
        except (TypeError, ValueError):
            return None
    if kind is bool:
        return value if isinstance(value, bool) else None
    if isinstance(value, bool):
        return None
    if kind is int:
        if isinstance(value, int):
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        return None
    if kind is float:
        if isinstance(value, (int, float)):
            try:
                v = float(value)
            except OverflowError:
                return None
            return v if math.isfinite(v) else None
        return None
    if kind is str:
        return value if isinstance(value, str) and value else None
    return None


def _parse(kind: type, text: str) -> Any:
    """The text of an option as *kind* (None if it is not one)."""
    if kind is str:
        return text
    if kind is bool:
        return {"true": True, "false": False}.get(text.lower())
    try:
        return int(text)
    except ValueError:
        pass
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def guess(text: str) -> Any:
    """A value whose kind is not known yet (``-p`` before the parameter is
    looked up): int, then finite float, then true/false, else the string."""
    for kind in (int, float, bool):
        v = _parse(kind, text.strip())
        if v is not None:
            return v
    return text
