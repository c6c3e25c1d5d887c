"""``docs/assumptions.md``: every number of ``data/params/``, generated.

The page is a table per parameter file and section: each value, what kind
of number it is (from a datasheet or the paper, assumed, or calibrated) and
its source as written in the file.  It is generated from the files, never
edited: ``python -m reproduce.report.assumptions`` rewrites it (``make
docs``), ``--check`` exits 1 if the committed page differs, and the test
suite runs that check.
"""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

from ..files import atomic_write_text
from ..params import DATA, PARAMS_DIR

PAGE = DATA.parent / "docs" / "assumptions.md"

HEADER = """\
# Assumptions: every parameter and where it comes from

Generated from `data/params/*.toml` by `python -m reproduce.report.assumptions`
(`make docs`); do not edit by hand, edit the parameter files. `make test` fails
when this page and the files disagree.

Each number is one of:

* **sourced**: read from the paper, a datasheet, a manual or a measurement (the source says which);
* **assumed**: no source pins it; the note says why the value is reasonable
  (`notebooks/02-E2-speedup.ipynb` shows how far the SMP prediction moves with the two that
  shape it most, the spinners' slow-down of the holder and the alignment of timer ticks);
* **calibrated**: fitted by `reproduce calibrate` to one paper number; the file holds a placeholder
  and the fitted value lives in `data/results/calibration.json`.

To try another value for one run, override it (`reproduce simulate -p key=value`, or
`Scenario(..., overrides={"key": value})`): the calibration stays as fitted. Editing the file changes the
model version and requires `reproduce calibrate` (see `docs/extending.md`).
"""


def kind(source: str) -> str:
    """``calibrated``, ``assumed`` or ``sourced``, from how the source note starts."""
    s = source.strip().lower()
    if s.startswith("calibrated"):
        return "calibrated"
    if s.startswith("assumed"):
        return "assumed"
    return "sourced"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return f"{v:_}".replace("_", " ") if abs(v) >= 10_000 else str(v)
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v)
    return str(v)


def _entries(doc: dict, section: str = "") -> list[tuple[str, str, Any, str]]:
    out = []
    for key, v in doc.items():
        if isinstance(v, dict) and "value" in v and set(v) <= {"value", "source"}:
            out.append((section, key, v["value"], v.get("source", "")))
        elif isinstance(v, dict):
            out.extend(_entries(v, f"{section}.{key}" if section else key))
    return out


def render(params_dir: Path = PARAMS_DIR) -> str:
    """The page's text for the parameter files in *params_dir*."""
    parts = [HEADER]
    counts = {"sourced": 0, "assumed": 0, "calibrated": 0}
    body = []
    for path in sorted(params_dir.glob("*.toml")):
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        body.append(f"\n## `data/params/{path.name}`")
        section = None
        for sec, key, value, source in _entries(doc):
            if sec != section:
                section = sec
                body.append(f"\n### [{sec}]\n\n| key | value | kind | source |\n|---|---|---|---|")
            k = kind(source)
            counts[k] += 1
            body.append(f"| `{key}` | {_cell(_value(value))} | {k} | {_cell(source)} |")
    parts.append("In all: " + ", ".join(f"{n} {k}" for k, n in counts.items()) + ".")
    parts.extend(body)
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        same = PAGE.exists() and PAGE.read_text(encoding="utf-8") == text
        if not same:
            print(f"{PAGE.relative_to(DATA.parent)} is out of date: run "
                  "`python -m reproduce.report.assumptions`", file=sys.stderr)
        return 0 if same else 1
    atomic_write_text(PAGE, text)
    print(f"wrote {PAGE.relative_to(DATA.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
