"""The sweep result cache: one JSON file per finished scenario.

A scenario's row is stored under the SHA-256 of its canonical key
(:meth:`Scenario.key`) and the model's source version
(:func:`reproduce.version.model_version`), so

* a finished scenario is never simulated again (same key, same file);
* any change to the model's code or parameter tables gives every scenario a
  new key: old files are simply never read again (:meth:`ResultCache.prune`
  removes them, :meth:`ResultCache.clear` removes every file);
* each file is written to a temporary file in the same directory and renamed
  over the final name (``os.replace``, atomic on POSIX), so a run that is
  killed leaves either the whole file or none, and every scenario finished
  before the kill is kept.

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
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from .. import version as _version
from ..errors import ConfigError

ENV_VAR = "REPRODUCE_CACHE_DIR"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / ".cache" / "results"
TMP_PREFIX = ".tmp-"
STALE_TMP_SECONDS = 3600        # temp files older than this are debris of a killed run


def default_dir() -> Path:
    """``$REPRODUCE_CACHE_DIR`` if set (and not empty), else ``.cache/results``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else DEFAULT_DIR


def cache_key(scenario_key: str, version: str) -> str:
    """Hex SHA-256 naming one scenario's result under one model version."""
    h = hashlib.sha256()
    h.update(scenario_key.encode())
    h.update(b"\0")
    h.update(version.encode())
    return h.hexdigest()


class ResultCache:
    """Rows of finished scenarios in directory *root* (default:
    :func:`default_dir`), for model *version* (default: the current
    :func:`~reproduce.version.model_version`)."""

    def __init__(self, root: str | os.PathLike[str] | None = None,
                 version: str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_dir()
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"cache={str(self.root)!r}: exists and is not a directory")
        self.version = version if version is not None else _version.model_version()
        self._cleaned = False

    def __repr__(self) -> str:
        return f"ResultCache({str(self.root)!r}, version={self.version!r})"

    # -- keys and paths -------------------------------------------------------
    def key(self, scenario) -> str:
        return cache_key(scenario.key(), self.version)

    def path(self, scenario) -> Path:
        return self.root / f"{self.key(scenario)}.json"

    # -- reading --------------------------------------------------------------
    def get(self, scenario) -> dict[str, Any] | None:
        """The cached row of *scenario*, or None (not there, unreadable, or
        written for another scenario or model version)."""
        try:
            doc = json.loads(self.path(scenario).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("scenario") != scenario.key() \
                or doc.get("model_version") != self.version or not isinstance(doc.get("row"), dict):
            return None
        return doc["row"]

    def __contains__(self, scenario) -> bool:
        return self.get(scenario) is not None

    # -- writing --------------------------------------------------------------
    def put(self, scenario, row: dict[str, Any]) -> Path:
        """Store *row* for *scenario* atomically; returns the file."""
        doc = {"scenario": scenario.key(), "model_version": self.version, "row": row}
        text = json.dumps(doc, allow_nan=True)
        self.root.mkdir(parents=True, exist_ok=True)
        if not self._cleaned:
            self._cleaned = True
            self._remove_stale_temps()
        final = self.path(scenario)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=TMP_PREFIX, suffix=".part")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return final

    # -- housekeeping ---------------------------------------------------------
    def files(self) -> Iterator[Path]:
        """Every result file in the directory (any model version)."""
        if self.root.is_dir():
            yield from sorted(p for p in self.root.glob("*.json")
                              if not p.name.startswith(TMP_PREFIX))

    def __len__(self) -> int:
        return sum(1 for _ in self.files())

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
        cache's model version), ``files`` (result files, any version),
        ``current`` (those of ``version``), ``other`` (the rest, unreadable
        ones included), ``bytes`` (the size of all result files),
        ``current_bytes`` and ``temporary`` (temporary files of writes in
        progress or of killed runs)."""
        files = current = size = current_size = 0
        for p in self.files():
            try:
                n = p.stat().st_size
            except OSError:             # removed meanwhile
                continue
            files += 1
            size += n
            if self.file_version(p) == self.version:
                current += 1
                current_size += n
        temps = sum(1 for _ in self.root.glob(f"{TMP_PREFIX}*")) if self.root.is_dir() else 0
        return {"root": str(self.root), "exists": self.root.is_dir(), "version": self.version,
                "files": files, "current": current, "other": files - current,
                "bytes": size, "current_bytes": current_size, "temporary": temps}

    def prune(self) -> int:
        """Remove the result files not of this cache's model version (and
        unreadable ones), and temporary files older than
        :data:`STALE_TMP_SECONDS`; returns how many files were removed."""
        n = 0
        for p in self.files():
            if self.file_version(p) != self.version:
                n += _unlink(p)
        return n + self._remove_stale_temps()

    def clear(self) -> int:
        """Remove every result file (all versions) and stale temporary
        files; returns how many."""
        n = 0
        for p in self.files():
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
