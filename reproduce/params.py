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
from .schema import Spec, convert

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


# The parameter tables' schema: every key's kind and range (inclusive).  A
# range keeps a run finite and within memory; a key not listed here gets its
# file value's kind and DEFAULT_RANGE.
COST = (0, 10_000_000)           # cycles of one operation: up to 1/30 s at 300 MHz
DEFAULT_RANGE = (0, 1_000_000_000)
RANGES: dict[str, tuple[float, float]] = {
    "clock_hz": (1_000_000, 10_000_000_000), "cpus": (1, 64),
    "memory_bytes": (1 << 20, 1 << 32), "tlb_entries": (1, 4096), "tsc_skew": (0, 1_000_000_000),
    **{k: COST for k in ("trap", "locked_rmw", "rdtsc", "line_transfer", "memory_access",
                         "page_walk", "context_switch", "cr3_load", "page_fault", "page_alloc",
                         "pgdir_copy", "timer_insert", "cache_refill", "ipi_send",
                         "ipi_receive", "pte_update", "mp_entry_overhead", "tick_cycles",
                         "call_cycles")},
    "kernel_bus_rate": (0, 1), "bus_queue_depth": (1, 64), "backoff_base": (1, 10_000_000),
    "backoff_cap": (1, 100_000_000),
    "processes": (0, 64), "work_cycles": (1, 100_000_000_000), "iteration_cycles": (1, 1e9),
    "call_every": (0, 1_000_000_000), "priority": (-100, 100), "system_priority": (-100, 100),
    "timer_hz": (0, 10_000), "timeslice_ticks": (1, 1_000_000), "timer_phase_skew": (0, 1),
    "readyq_lines": (0, 64), "kernel_shared_lines": (0, 1024),
    "threads": (0, 10_000), "active_fraction": (0, 1), "period_ms": (1, 1_000_000),
    "calls_per_wakeup": (1, 1000), "bg_kernel_cycles": (1, 100_000_000),
    "bg_user_cycles": (1, 100_000_000), "irq_hz": (0, 1_000_000), "irq_cycles_ratio": (0, 100),
    "manager_period_ms": (1, 1_000_000),
    "spawn_hz": (0, 1000), "spawn_heap_prob": (0, 1), "spawn_pages": (0, 1000),
    "repl_table_pages": (0, 100_000), "repl_table_areas": (1, 64), "repl_write_prob": (0, 1),
    "repl_seal_prob": (0, 1),
    "irq_burst": (1, 1000), "irq_burst_gap": (0, 10_000_000), "undeferrable_share": (-1, 0.95),
    "loop_bus_misses": (0, 1000), "kernel_bus_share": (0, 1), "user_bus_share": (0, 1),
    "fsb_hz": (1_000_000, 10_000_000_000), "fsb_line_clocks": (1, 1000),
    "tick_walk_items": (0, 10_000), "tick_walk_cycles": (0, 10_000_000),
    "idle_poll_gap": (0, 1_000_000_000), "idle_poll_cycles": (0, 10_000_000),
    "lock_line_writes": (0, 1000), "bg_fixed_share": (0, 1), "poll_threads": (0, 64),
    "poll_priority": (-100, 100), "poll_quantum": (1, 1_000_000_000),
    "cpulocal_per_entry": (0, 10_000), "cpulocal_per_switch": (0, 10_000),
    "vector_access_cycles": (0, 10_000),
}
CHOICES: dict[str, tuple[str, ...]] = {
    "irq_routing": ("cpu0", "spread", "lowest"), "idle_wakeup": ("ipi", "tick"),
    "placement": ("idle", "same"), "timer_list": ("percpu", "global"),
    "cpulocal": ("page", "vector"),
}
# Switches: true or false, whatever a file writes.
BOOLEAN_KEYS = frozenset({"affinity", "wake_together", "shared_bus", "irq_burst_alternate",
                          "ipi_preempt"})
# Keys that take an integer even where a file writes 4.0 (counts, cycles).
INTEGER_KEYS = frozenset(k for k in RANGES if k not in (
    "kernel_bus_rate", "timer_phase_skew", "active_fraction", "calls_per_wakeup",
    "irq_hz", "irq_cycles_ratio", "spawn_hz", "spawn_heap_prob", "irq_burst",
    "undeferrable_share", "loop_bus_misses", "kernel_bus_share", "user_bus_share",
    "bg_fixed_share", "repl_write_prob", "repl_seal_prob"))


def spec(key: str, default: Any) -> Spec:
    """The schema entry of parameter *key*, whose file value is *default*."""
    items = isinstance(default, list)
    sample = default[0] if items and default else default
    kind = bool if key in BOOLEAN_KEYS or isinstance(sample, bool) else \
        str if key in CHOICES else int if key in INTEGER_KEYS else \
        float if isinstance(sample, (int, float)) else str
    if kind is float and isinstance(sample, int) and key not in RANGES:
        kind = int
    lo, hi = RANGES.get(key, DEFAULT_RANGE) if kind in (int, float) else (None, None)
    return Spec(kind, lo, hi, CHOICES.get(key), items)


def coerce(key: str, old: Any, new: Any) -> Any:
    """*new* (a value or option text) converted to parameter *key*'s kind
    (that of its file value *old*) and checked against its range, or a
    ConfigError naming both."""
    return convert(f"parameter {key}", spec(key, old), new)


# The tables the model reads.  Any other file in data/params/ is an error:
# it would change the model version (and so the calibration) while no code
# reads it.
TABLES = ("pentium2", "modern", "workload")


def check_dir(directory: Path | None = None) -> None:
    """Every ``*.toml`` in the parameter directory is one of :data:`TABLES`."""
    d = directory or PARAMS_DIR
    try:
        stamp = (str(d), d.stat().st_mtime_ns)     # a new file changes the directory
    except OSError:
        stamp = None
    if stamp is not None and stamp in _CLEAN_DIRS:
        return
    stray = sorted(p.name for p in d.glob("*.toml") if p.stem not in TABLES)
    if stray:
        raise ConfigError(f"{d.name}/{stray[0]}: unknown parameter file (the model reads "
                          f"{', '.join(t + '.toml' for t in TABLES)}); remove it or move "
                          f"its entries into one of those")
    if stamp is not None:
        _CLEAN_DIRS.add(stamp)


_CLEAN_DIRS: set[tuple[str, int]] = set()


def load(name: str, directory: Path | None = None) -> Params:
    """Load ``data/params/<name>.toml`` (or from *directory*), checked: every
    entry has a value and a source, and each value is of its kind and in its
    range (the error names the file and the key)."""
    d = directory or PARAMS_DIR
    if directory is None:
        check_dir()
    path = d / f"{name}.toml"
    if not path.exists():
        have = sorted(p.stem for p in d.glob("*.toml"))
        raise ConfigError(f"parameter file {name!r} not found: have {', '.join(have)}")
    try:
        with path.open("rb") as f:
            doc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path.name}: cannot be read as TOML ({e})") from None
    values, sources, sections = {}, {}, {}
    for section, entries in doc.items():
        if not isinstance(entries, dict):
            raise ConfigError(f"{path.name}: {section} must be a [section] of entries")
        for key, entry in entries.items():
            if not isinstance(entry, dict) or "value" not in entry or "source" not in entry \
                    or set(entry) - {"value", "source"}:
                raise ConfigError(f"{path.name}: [{section}] {key} must be "
                                  "{ value = ..., source = \"...\" }")
            if not isinstance(entry["source"], str) or not entry["source"].strip():
                raise ConfigError(f"{path.name}: [{section}] {key}: source must say where "
                                  "the value comes from")
            if key in values:
                raise ConfigError(f"{path.name}: key {key!r} appears in two sections")
            v = entry["value"]
            if not isinstance(v, (bool, int, float, str, list)):
                raise ConfigError(f"{path.name}: [{section}] {key}={v!r}: must be a number, "
                                  "a boolean, a string or a list")
            try:
                values[key] = convert(key, spec(key, v), v)
            except ConfigError as e:
                raise ConfigError(f"{path.name}: [{section}] {e}") from None
            sources[key] = entry["source"]
            sections[key] = section
    return Params(values, sources, sections, name)
