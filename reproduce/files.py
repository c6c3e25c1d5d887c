"""Atomic file writes: the one way the package writes a file.

A file is written to a temporary name in its own directory, flushed to disk,
then renamed over the final name (``os.replace``, atomic on POSIX).  An
interrupted or failed write (Ctrl-C, a full disk) therefore leaves the old
file whole, or no file, never a file cut mid-line, and the temporary is
removed.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence


def atomic_write(path: Path, write: Callable[[str], object], fsync: bool = True,
                 tmp_prefix: str | None = None) -> Path:
    """Create *path* by calling ``write(tmp)`` on a temporary path beside it,
    then renaming; returns *path*.  *tmp_prefix* names the temporary (default
    ``.<name>.``), so a directory's owner can find the debris of a killed
    write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=tmp_prefix or f".{path.name}.",
                               suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        if fsync:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def atomic_write_text(path: Path, text: str, fsync: bool = True,
                      tmp_prefix: str | None = None) -> Path:
    """Write *text* (UTF-8) to *path* atomically."""
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    return atomic_write(path, write, fsync, tmp_prefix)


def atomic_write_rows(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write *rows* (dicts with the same keys, in order) as CSV to *path*
    atomically, the first row's keys as the header."""
    import csv
    import io
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return atomic_write_text(path, buf.getvalue())
