"""Parameter tables: the cost table of the machine and the workload.

Each file in ``data/params/`` is TOML whose entries are
``key = { value = ..., source = "..." }``: every number says where it comes
from.  :func:`load` flattens the sections into one read-only mapping (keys are
unique across sections) and :meth:`Params.replace` applies overrides with a
check that names the key or value at fault.  Files are never written.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from .errors import ConfigError, lookup

DATA = Path(__file__).resolve().parent.parent / "data"
PARAMS_DIR = DATA / "params"


class Params(Mapping[str, Any]):
    """A read-only flat table of named values with their sources."""

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str],
                 sections: Mapping[str, str], name: str = "params") -> None:
        self._values = MappingProxyType(dict(values))
        self.sources = MappingProxyType(dict(sources))
        self.sections = MappingProxyType(dict(sections))
        self.name = name

    def __getitem__(self, key: str) -> Any:
        return lookup(self._values, key, f"{self.name} parameter")

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Params({self.name}: {dict(self._values)!r})"

    def replace(self, **overrides: Any) -> "Params":
        """A copy with *overrides* applied; unknown keys and values of the
        wrong type are a :class:`ConfigError`."""
        values = dict(self._values)
        sources = dict(self.sources)
        for key, new in overrides.items():
            if key not in values:
                raise ConfigError(f"unknown parameter {key!r} in {self.name}: known are "
                                  f"{', '.join(sorted(values))}")
            values[key] = coerce(key, values[key], new)
            sources[key] = "override"
        return Params(values, sources, self.sections, self.name)

    def table(self) -> list[dict[str, Any]]:
        """Rows of (section, key, value, source), for a notebook table."""
        return [{"section": self.sections[k], "key": k, "value": v, "source": self.sources[k]}
                for k, v in self._values.items()]


def coerce(key: str, old: Any, new: Any) -> Any:
    """*new* converted to the type of *old*, or a ConfigError naming both."""
    try:
        if isinstance(old, bool):
            if isinstance(new, str):
                if new.lower() in ("1", "true", "yes", "on"):
                    return True
                if new.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            if isinstance(new, (bool, int)):
                return bool(new)
            raise ValueError
        if isinstance(old, int):
            if isinstance(new, float) and new.is_integer():
                return int(new)
            if isinstance(new, str):
                return int(float(new)) if float(new).is_integer() else _fail()
            if isinstance(new, bool) or not isinstance(new, int):
                raise ValueError
            return new
        if isinstance(old, float):
            if isinstance(new, bool):
                raise ValueError
            return float(new)
        if isinstance(old, list):
            if isinstance(new, str):
                new = [type(old[0])(x) for x in new.split(",")] if old else new.split(",")
            return list(new)
        return type(old)(new)
    except (TypeError, ValueError):
        raise ConfigError(f"parameter {key}={new!r}: must be of type "
                          f"{type(old).__name__} like the default {old!r}") from None


def _fail() -> Any:
    raise ValueError


def load(name: str, directory: Path | None = None) -> Params:
    """Load ``data/params/<name>.toml`` (or from *directory*)."""
    path = (directory or PARAMS_DIR) / f"{name}.toml"
    if not path.exists():
        have = sorted(p.stem for p in (directory or PARAMS_DIR).glob("*.toml"))
        raise ConfigError(f"parameter file {name!r} not found: have {', '.join(have)}")
    with path.open("rb") as f:
        doc = tomllib.load(f)
    values, sources, sections = {}, {}, {}
    for section, entries in doc.items():
        for key, entry in entries.items():
            if not isinstance(entry, dict) or "value" not in entry or "source" not in entry:
                raise ConfigError(f"{path.name}: [{section}] {key} needs value and source")
            if key in values:
                raise ConfigError(f"{path.name}: key {key!r} appears in two sections")
            values[key] = entry["value"]
            sources[key] = entry["source"]
            sections[key] = section
    return Params(values, sources, sections, name)
