"""The sweep result cache: one JSON file per finished scenario, checked
whenever it is read.

A scenario's row is stored under the SHA-256 of its canonical key
(:meth:`Scenario.key`), the model's source version
(:func:`reproduce.version.model_version`) and the digest of the parameter
tables it was computed from (:class:`reproduce.bench.snapshot.Snapshot`:
the sweep's snapshot, which every run is checked against), so

* a finished scenario is never simulated again (same key, same file);
* any change to the model's code or parameter tables gives every scenario a
  new key: old files are simply never read again; and a row is never served
  for tables other than the ones it was computed from, even by a process
  whose model version was computed before a table was edited (:meth:`ResultCache.prune`
  removes them, :meth:`ResultCache.clear` removes every entry);
* each file is written atomically (:func:`reproduce.files.atomic_write`), so
  a run that is killed leaves either the whole file or none.  It is not
  flushed to the disk before the rename (no ``fsync``): only a crash of the
  machine itself could then leave a torn entry, and the checks below catch
  it (its row no longer matches its hash) and recompute it.  A flush per
  entry cost about 4 ms of waiting on this kind of disk, 5,765 times in E8.

Nothing is served that cannot be verified.  Each entry carries a format
marker, the scenario it answers (an echo of its key), the model version, the
tables' digest and the SHA-256 of its row; on read all five are checked, and the row is given
to the caller's invariant check (the sweep's: fractions in [0, 1] summing to
1, the scenario's own columns, lock totals within the CPUs' kernel and spin
time).  An entry that fails is moved aside to ``quarantine/`` (never
deleted: it is evidence), reported, and treated as missing, so it is
recomputed.  :meth:`ResultCache.verify` checks a whole cache.

Only files the cache wrote are ever removed: a name of 64 hex digits and
``.json`` whose content carries the format marker (or the fields of the
earlier format).  Anything else in the directory is left alone.

Rows are flat mappings of ints, floats, bools and strings; JSON gives them
back exactly (Python writes floats with ``repr``, which round-trips, and
keeps ints and floats apart).

The directory is ``.cache/results/`` at the repository root, or the one named
by the environment variable ``REPRODUCE_CACHE_DIR``, or the one given to
:class:`ResultCache`.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from .. import version as _version
from ..errors import ConfigError
from ..files import atomic_write_text

ENV_VAR = "REPRODUCE_CACHE_DIR"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / ".cache" / "results"
TMP_PREFIX = ".tmp-"
STALE_TMP_SECONDS = 3600        # temp files older than this are debris of a killed run


def default_dir() -> Path:
    """``$REPRODUCE_CACHE_DIR`` if set (and not empty), else ``.cache/results``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else DEFAULT_DIR


def cache_key(scenario_key: str, version: str, tables: str = "") -> str:
    """Hex SHA-256 naming one scenario's result under one model version and
    one digest of the parameter tables."""
    h = hashlib.sha256()
    h.update(scenario_key.encode())
    h.update(b"\0")
    h.update(version.encode())
    h.update(b"\0")
    h.update(tables.encode())
    return h.hexdigest()


# /3: entries carry the digest of the tables their row was computed from.
FORMAT = "reproduce-result/3"
ENTRY_NAME = re.compile(r"^[0-9a-f]{64}\.json$")
QUARANTINE = "quarantine"

# A check of a row against the scenario it answers: a reason it is wrong, or None.
RowCheck = Callable[[dict[str, Any], dict[str, Any]], "str | None"]


def row_hash(row: dict[str, Any]) -> str:
    """Hex SHA-256 of a row's canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(row, sort_keys=True, allow_nan=True).encode()).hexdigest()


class ResultCache:
    """Rows of finished scenarios in directory *root* (default:
    :func:`default_dir`), for model *version* (default: the current
    :func:`~reproduce.version.model_version`) and parameter *tables* (a
    digest, :attr:`Snapshot.digest <reproduce.bench.snapshot.Snapshot.digest>`;
    default: the tables' values now; a sweep sets it to its snapshot's).
    *check* is called on every row read, with the scenario's fields and the
    row, and returns why the row is wrong or None."""

    def __init__(self, root: str | os.PathLike[str] | None = None,
                 version: str | None = None, check: RowCheck | None = None,
                 tables: str | None = None) -> None:
        if root is not None and not str(root).strip():
            raise ConfigError("cache='': not a directory name (give a directory, or "
                              "cache=False for none)")
        self.root = Path(root).expanduser() if root is not None else default_dir()
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"cache={str(self.root)!r}: exists and is not a directory")
        self.version = version if version is not None else _version.model_version()
        self._tables = tables
        self.check = check
        self.rejected: list[tuple[str, str]] = []     # (file name, why), in order
        self._cleaned = False

    def __repr__(self) -> str:
        return f"ResultCache({str(self.root)!r}, version={self.version!r})"

    @property
    def tables(self) -> str:
        """The digest of the parameter tables rows are stored and served for."""
        if self._tables is None:
            from .snapshot import tables_digest
            self._tables = tables_digest()
        return self._tables

    @tables.setter
    def tables(self, digest: str) -> None:
        self._tables = digest

    @property
    def quarantine(self) -> Path:
        return self.root / QUARANTINE

    # -- keys and paths -------------------------------------------------------
    def key(self, scenario) -> str:
        return cache_key(scenario.key(), self.version, self.tables)

    def path(self, scenario) -> Path:
        return self.root / f"{self.key(scenario)}.json"

    # -- reading --------------------------------------------------------------
    def get(self, scenario) -> dict[str, Any] | None:
        """The verified row of *scenario*, or None (not there, or bad: then
        moved aside and noted in :attr:`rejected`)."""
        path = self.path(scenario)
        if not path.exists() and not path.is_symlink():
            return None
        doc, why = self._read(path)
        if why is None:
            why = self._verify(doc, scenario.key())
        if why is not None:
            self._reject(path, why)
            return None
        return doc["row"]

    def __contains__(self, scenario) -> bool:
        return self.get(scenario) is not None

    def _read(self, path: Path) -> tuple[Any, str | None]:
        if path.is_dir() or not path.is_file():
            return None, "not a regular file"
        try:
            return json.loads(path.read_text(encoding="utf-8")), None
        except (OSError, ValueError) as e:
            return None, f"unreadable ({type(e).__name__})"

    def _verify(self, doc: Any, key: str | None, version: str | None = None) -> str | None:
        """Why *doc* is not a good entry for scenario *key* (None: it is)."""
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            return "not an entry of this cache's format"
        if key is not None and doc.get("scenario") != key:
            return "written for another scenario"
        if doc.get("model_version") != (version or self.version):
            return "written for another model version"
        if doc.get("tables") != self.tables:
            return (f"computed from other parameter tables ({doc.get('tables')!r}, "
                    f"not {self.tables!r})")
        row = doc.get("row")
        if not isinstance(row, dict) or not row:
            return "no row"
        if doc.get("sha256") != row_hash(row):
            return "row does not match its hash (edited or damaged)"
        if self.check is not None:
            try:
                scen = json.loads(doc["scenario"])
            except (TypeError, ValueError):
                return "scenario echo is not JSON"
            try:
                why = self.check(scen, row)
            except Exception as e:       # noqa: BLE001 - an entry no check can read is bad
                why = f"row check failed ({type(e).__name__}: {e})"
            if why is not None:
                return why
        return None

    def _reject(self, path: Path, why: str) -> None:
        """Move a bad entry aside (``quarantine/``) and note it."""
        self.rejected.append((path.name, why))
        try:
            self.quarantine.mkdir(parents=True, exist_ok=True)
            os.replace(path, self.quarantine / f"{path.name}.{time.time_ns()}")
        except OSError:
            pass        # cannot move it: it is still never served

    # -- writing --------------------------------------------------------------
    def check_writable(self) -> None:
        """Raise ConfigError unless entries can be written in the directory
        (checked before a sweep starts, not after its first row)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=TMP_PREFIX, suffix=".probe")
            os.close(fd)
            os.unlink(tmp)
        except OSError as e:
            raise ConfigError(f"cache {str(self.root)!r} is not writable "
                              f"({e.strerror or e}): give a writable --cache-dir or "
                              "--no-cache") from None

    def put(self, scenario, row: dict[str, Any]) -> Path:
        """Store *row* for *scenario* atomically; returns the file."""
        doc = {"format": FORMAT, "scenario": scenario.key(), "model_version": self.version,
               "tables": self.tables, "sha256": row_hash(row), "row": row}
        text = json.dumps(doc, allow_nan=True)
        self.root.mkdir(parents=True, exist_ok=True)
        if not self._cleaned:
            self._cleaned = True
            self._remove_stale_temps()
        final = self.path(scenario)
        if final.is_dir() and not final.is_symlink():
            self._reject(final, "a directory where an entry belongs")
        return atomic_write_text(final, text, fsync=False, tmp_prefix=TMP_PREFIX)

    # -- housekeeping ---------------------------------------------------------
    def files(self) -> Iterator[Path]:
        """The entries in the directory (any model version): files named
        like an entry.  Whether the cache wrote them is :meth:`ours`."""
        if self.root.is_dir():
            yield from sorted(p for p in self.root.glob("*.json")
                              if ENTRY_NAME.match(p.name) and p.is_file())

    def ours(self, path: Path) -> bool:
        """Whether *path* is an entry this cache (or its earlier format) wrote."""
        if not ENTRY_NAME.match(path.name) or not path.is_file():
            return False
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(doc, dict) and (doc.get("format") == FORMAT or {
            "scenario", "model_version", "row"} <= set(doc))

    def __len__(self) -> int:
        return sum(1 for p in self.files() if self.current(p))

    def current(self, path: Path) -> bool:
        """Whether *path* was written for this cache's model version and tables."""
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            return False
        return isinstance(doc, dict) and doc.get("model_version") == self.version \
            and doc.get("tables") == self.tables

    def file_version(self, path: Path) -> str | None:
        """The ``model_version`` a result file was written for, or None if
        it cannot be read as a result file."""
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        v = doc.get("model_version") if isinstance(doc, dict) else None
        return v if isinstance(v, str) else None

    def info(self) -> dict[str, Any]:
        """What the directory holds: ``root``, ``exists``, ``version`` (this
        cache's model version), ``tables`` (its tables' digest), ``files``
        (entries, any version), ``current`` (those of ``version`` and
        ``tables``), ``other`` (the rest), ``bytes``
        (the size of all entries), ``current_bytes``, ``temporary``
        (temporary files of writes in progress or of killed runs) and
        ``foreign`` (other files, which the cache never touches)."""
        files = current = size = current_size = 0
        for p in self.files():
            if not self.ours(p):
                continue
            try:
                n = p.stat().st_size
            except OSError:             # removed meanwhile
                continue
            files += 1
            size += n
            if self.current(p):
                current += 1
                current_size += n
        temps = sum(1 for _ in self.root.glob(f"{TMP_PREFIX}*")) if self.root.is_dir() else 0
        foreign = sum(1 for p in self.root.iterdir() if p.name != QUARANTINE
                      and not p.name.startswith(TMP_PREFIX) and not self.ours(p)) \
            if self.root.is_dir() else 0
        return {"root": str(self.root), "exists": self.root.is_dir(), "version": self.version,
                "tables": self.tables, "files": files, "current": current, "other": files - current,
                "bytes": size, "current_bytes": current_size, "temporary": temps,
                "foreign": foreign}

    def verify(self) -> dict[str, Any]:
        """Check every entry of the current model version and tables
        (format, hash, scenario echo, row invariants); bad ones are moved
        aside.  Returns ``checked``, ``good``, ``other_version`` (entries of
        other model versions or tables) and ``bad`` (a list of (file name,
        why))."""
        checked = good = other = 0
        bad: list[tuple[str, str]] = []
        for p in self.files():
            checked += 1
            doc, why = self._read(p)
            if why is None and isinstance(doc, dict) and self.ours(p) and (
                    doc.get("model_version") != self.version
                    or doc.get("tables") != self.tables):
                other += 1
                continue
            if why is None:
                why = self._verify(doc, None)
                if why is None and cache_key(doc["scenario"], self.version,
                                             self.tables) != p.name[:-5]:
                    why = "stored under another scenario's name"
            if why is None:
                good += 1
            else:
                bad.append((p.name, why))
                self._reject(p, why)
        return {"checked": checked, "good": good, "other_version": other, "bad": bad}

    def prune(self) -> int:
        """Remove the entries not of this cache's model version and tables,
        and temporary files older than :data:`STALE_TMP_SECONDS`; returns how
        many files were removed.  Files the cache did not write stay."""
        n = 0
        for p in self.files():
            if self.ours(p) and not self.current(p):
                n += _unlink(p)
        return n + self._remove_stale_temps()

    def clear(self) -> int:
        """Remove every entry (all versions) and stale temporary files;
        returns how many.  Files the cache did not write stay."""
        n = 0
        for p in self.files():
            if self.ours(p):
                n += _unlink(p)
        return n + self._remove_stale_temps()

    def _remove_stale_temps(self) -> int:
        """Temporary files left by a run killed mid-write (never read);
        returns how many were removed.  Recent ones may be a running
        sweep's and are kept."""
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - STALE_TMP_SECONDS
        n = 0
        for p in self.root.glob(f"{TMP_PREFIX}*"):
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
                    n += 1
            except OSError:
                pass
        return n


def _unlink(p: Path) -> int:
    """1 if *p* was removed, 0 if it was already gone."""
    try:
        p.unlink()
    except FileNotFoundError:
        return 0
    return 1
