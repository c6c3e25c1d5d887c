"""What every subcommand shares: the parser that errs in one line, option
values read through the one schema (:mod:`reproduce.schema`), the JSON
format, and output files written atomically after a check made before any
work."""
from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from .. import schema
from ..errors import ConfigError
from ..files import atomic_write_text

PROG = "reproduce"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class Usage(ConfigError):
    """A bad value found after parsing: one line, exit 2."""


def parse_value(text: str) -> Any:
    """A value whose kind is not known yet: int, then float, then
    true/false, else the string itself (lists are comma-separated text,
    converted by the schema once the key is known).  Non-finite numbers are
    refused here."""
    t = text.strip()
    if t.lower().lstrip("+-") in ("inf", "infinity", "nan"):
        raise argparse.ArgumentTypeError(f"value {text!r} must be a finite number")
    try:
        if not math.isfinite(float(t)):
            raise argparse.ArgumentTypeError(f"value {text!r} must be a finite number")
    except ValueError:
        pass
    return schema.guess(t)


def key_value(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` as (key, value text); the value is converted by the
    schema once its key is known."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form KEY=VALUE "
                                         "(e.g. -p timer_hz=1000)")
    try:
        parse_value(value)
    except argparse.ArgumentTypeError as err:
        raise argparse.ArgumentTypeError(f"{key}: {err}") from None
    return key, value.strip()


def clean(obj: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, non-finite floats to null."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            obj = obj.item()
        except (TypeError, ValueError):
            return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)


def dumps(obj: Any) -> str:
    """The CLI's one JSON format: sorted keys, two-space indentation."""
    return json.dumps(clean(obj), sort_keys=True, indent=2, allow_nan=False)


def check_out(out: str | None, formats: tuple[str, ...] = ("csv", "json")) -> str | None:
    """The format of ``--out FILE`` (by its extension), checked before any
    work: the directory exists and a file can be created in it.  None: no
    --out (stdout)."""
    if out is None:
        return None
    if not out.strip():
        raise Usage("argument --out: '' is not a file name")
    path = Path(out).expanduser()
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in formats:
        raise Usage(f"argument --out: {out!r}: the format is chosen by the extension, "
                    f"which must be {' or '.join('.' + f for f in formats)}")
    if path.is_dir():
        raise Usage(f"argument --out: {out!r} is a directory")
    if not path.parent.is_dir():
        raise Usage(f"argument --out: {out!r}: directory {str(path.parent)!r} does not exist")
    try:       # the only sure test of a writable directory: create a file there
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise Usage(f"argument --out: {out!r}: cannot write in {str(path.parent)!r} "
                    f"({e.strerror or e})") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise Usage(f"argument --out: {out!r} exists and is not writable")
    return fmt


def write_out(out: str, text: str) -> None:
    """Write ``--out`` atomically: the old file stays whole until the new
    one is complete (a full disk leaves the old file, never half a file)."""
    atomic_write_text(Path(out).expanduser(), text)


def one_line(err: BaseException | str) -> str:
    return " ".join(str(err).split())
