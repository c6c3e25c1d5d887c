"""What a sweep computes with: one snapshot of the model version and of the
parameter tables, taken when the sweep starts and checked by every run.

A simulation reads its tables through :func:`reproduce.bench.scenario.read_table`,
which re-reads a file whenever its modification time or size changes, in
whichever process runs the scenario.  The result cache, on the other hand,
keys a row by the model version the *calling* process computed when it
first asked.  Without a check, a table edited while a sweep runs (even for a
second) gives rows computed from the edited values that are stored under
the old version, and are served from then on.

So a sweep (:func:`reproduce.bench.sweep.sweep`) takes a
:class:`Snapshot` when it starts: the model version and, for each table of
:data:`reproduce.params.TABLES`, the SHA-256 of its values as the model reads
them.  Every run, in this process, a pool worker or a Dask worker, goes
through :func:`run_checked`:

* before the run, the worker's model version and the tables it would read
  must be the snapshot's, or the run fails with :class:`TablesChanged`
  (one line naming the file);
* after the run, the tables must still be the very objects checked before
  (a table is parsed into a new object whenever its file changed, and never
  back into an old one), so no read during the run can have seen another
  file.  If one did, the run is repeated when the file again holds the
  snapshot's values (it was touched, or edited and put back), and fails
  naming the file otherwise.

A row is therefore either computed from exactly the snapshot's tables or not
returned at all, and the cache stores it under the snapshot's table digest
(:attr:`Snapshot.digest`), so it is never served for other tables.

Several sweeps that make one result (an experiment's) share one snapshot:
inside ``with pinned():`` every sweep uses the snapshot taken when the block
was entered, so a table edited between two of them is an error too, not a
table of mixed rows.  The experiment registry pins every experiment, E8
pins its fitting processes and the paper summary its experiments.
"""
from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from .. import params as P
from .. import version as _version
from ..errors import ConfigError

if TYPE_CHECKING:
    from .scenario import Scenario

# Runs repeated because a table file was touched or edited and put back
# while they ran; beyond this the file keeps changing and the run fails.
MAX_ATTEMPTS = 3


class TablesChanged(ConfigError):
    """A parameter table (or the model version) is not the one the sweep
    started with."""


@dataclass(frozen=True)
class Snapshot:
    """The model version and each table's digest (SHA-256 of its values)."""

    version: str
    tables: tuple[tuple[str, str], ...]

    @property
    def digest(self) -> str:
        """Hex digest (16 characters) of all the tables' values: what the
        result cache stores each row with."""
        h = hashlib.sha256()
        for name, d in self.tables:
            h.update(f"{name}\0{d}\0".encode())
        return h.hexdigest()[:16]


def params_digest(table: Mapping[str, Any]) -> str:
    """Hex SHA-256 of a parameter table's values (not their sources), in
    canonical JSON."""
    text = json.dumps(dict(table), sort_keys=True, allow_nan=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def tables_digest(load: Callable[[str], Mapping[str, Any]] = P.load) -> str:
    """The digest of the tables as *load* reads them now (default:
    :func:`reproduce.params.load`, which needs no simulation code)."""
    return Snapshot("", tuple((n, params_digest(load(n))) for n in P.TABLES)).digest


def _table(name: str) -> P.Params:
    """The table as a simulation in this process reads it."""
    from .scenario import read_table
    return read_table(name)


# Each table object's digest, computed once: a file that is unchanged gives
# the same object back, so checking a run costs a few stat calls.
_SEEN: dict[str, tuple[P.Params, str]] = {}


def _digest(name: str, table: P.Params) -> str:
    hit = _SEEN.get(name)
    if hit is None or hit[0] is not table:
        hit = _SEEN[name] = (table, params_digest(table))
    return hit[1]


def take() -> Snapshot:
    """The model version and the tables as this process reads them now."""
    return Snapshot(_version.model_version(),
                    tuple((n, _digest(n, _table(n))) for n in P.TABLES))


def table_path(name: str) -> str:
    return str(P.PARAMS_DIR / f"{name}.toml")


def verify(snap: Snapshot) -> dict[str, P.Params]:
    """The tables a run in this process would read, checked against *snap*;
    raises :class:`TablesChanged` naming the first file (or the version)
    that differs."""
    have = _version.model_version()
    if have != snap.version:
        raise TablesChanged(
            f"model version {have} here, but the sweep started with {snap.version} (a model "
            "file or data/params changed, or this worker runs another checkout): rerun the "
            "sweep, with the same commit on every worker")
    tables = {}
    for name, want in snap.tables:
        tables[name] = t = _table(name)
        if _digest(name, t) != want:
            raise TablesChanged(
                f"{table_path(name)} changed while the sweep ran: its values are not the "
                "ones the sweep started with (rows computed before are saved; restore the "
                "file, or run the sweep again to use the new values)")
    return tables


def run_checked(run: Callable[["Scenario"], dict[str, Any]], s: "Scenario",
                snap: Snapshot) -> dict[str, Any]:
    """``run(s)``, computed from exactly the tables of *snap* (see the
    module's docstring), or :class:`TablesChanged`.  Module-level, so a
    process pool or Dask can send it by name."""
    for _ in range(MAX_ATTEMPTS):
        before = verify(snap)
        row = run(s)
        if all(_table(n) is t for n, t in before.items()):
            return row
    changing = next((n for n, t in before.items() if _table(n) is not t), P.TABLES[0])
    raise TablesChanged(f"{table_path(changing)} kept changing while the sweep ran "
                        f"({MAX_ATTEMPTS} attempts at one scenario): rerun the sweep when "
                        "it is left alone")


_PINNED: list[Snapshot] = []


def active() -> Snapshot | None:
    """The snapshot pinned by the innermost :func:`pinned` block, if any."""
    return _PINNED[-1] if _PINNED else None


@contextmanager
def pinned(snap: Snapshot | None = None) -> Iterator[Snapshot]:
    """Every sweep inside the block computes with one snapshot: *snap*,
    else the one already pinned, else one taken now.  As a decorator
    (``@pinned()``), each call of the function takes its own."""
    if snap is None:
        snap = active() or take()
    _PINNED.append(snap)
    try:
        yield snap
    finally:
        _PINNED.pop()
