"""Every command the README shows, run as a reader would, with its output
checked for sense: fractions that add up to 1, runs that completed, files
that were written.  A command added to the README that no check here
recognises fails the test, so the README cannot drift from what works."""
from __future__ import annotations

import csv
import json
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
# Shown in the README but not run here: they are what runs this test.
NOT_RUN = ("make ", "docker ")
# Commands whose expensive checks are marked slow (cold cache: tens of seconds).
SLOW = ("experiments run", "summary", "sweep", "papermill")


def blocks(lang: str = "") -> list[str]:
    """The README's fenced code blocks of language *lang* ("" = untagged)."""
    text = README.read_text(encoding="utf-8")
    return [m.group(2) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)
            if m.group(1) == lang]


def commands() -> list[str]:
    """Shell commands of the untagged blocks, continuation lines joined."""
    out = []
    for block in blocks():
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith(".venv/bin/") or line.startswith(NOT_RUN):
                out.append(re.sub(r"\s+", " ", line))
    return out


def _run(cmd: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    argv = shlex.split(cmd)
    argv[0] = str(BIN / Path(argv[0]).name)
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{cmd}\nexit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r


def _text_fractions_add_up(stdout: str) -> None:
    rows = re.findall(r"^\s*\d+\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+)%\s*$",
                      stdout, re.M)
    assert rows, stdout
    for row in rows:
        assert abs(sum(map(float, row)) - 100.0) < 0.05, row
    assert "NOT completed" not in stdout, stdout
    kernel = [float(r[1]) for r in rows]
    assert max(kernel) < 100.0, "every CPU spent all its time in the kernel"


def check_simulate(cmd: str, tmp: Path) -> None:
    out = _run(cmd, tmp).stdout
    if "--json" in cmd:
        doc = json.loads(out)
        assert doc["completed"] is True
        for cpu in doc["cpus"]:
            fr = [cpu[k] for k in ("user", "kernel", "spin", "idle")]
            assert abs(sum(fr) - 1.0) < 1e-9 and min(fr) >= 0, cpu
    else:
        _text_fractions_add_up(out)


def check_experiments_list(cmd: str, tmp: Path) -> None:
    out = _run(cmd, tmp).stdout
    for name in ("E1", "E2", "E3", "E4", "E5", "E6", "E7"):
        assert re.search(rf"^{name}:", out, re.M), name


def check_experiments_run(cmd: str, tmp: Path) -> None:
    out = _run(cmd, tmp).stdout
    rows = re.findall(r"all mechanisms\s+\d+\s+\d+\s+\d+\s+([\d.]+)\s+([\d.]+)", out)
    seeds = int(re.search(r"seeds=(\d+)", cmd).group(1))
    assert len(rows) == seeds, out[:2000]
    for speedup, up_kernel in ((float(a), float(b)) for a, b in rows):
        # Two CPUs beat one, and cannot beat the benchmark alone on two CPUs:
        # the background threads' work is a rate in time, so the UP run, being
        # longer, carries up_kernel of its time more of it than the SMP run.
        assert 1.0 <= speedup <= 2.0 / (1.0 - up_kernel) + 1e-9, (speedup, up_kernel)


def check_summary(cmd: str, tmp: Path) -> None:
    out = _run(cmd, tmp).stdout
    m = re.search(r"(\d+) of (\d+) genuine predictions match", out)
    assert m and 0 <= int(m.group(1)) <= int(m.group(2)) > 0, out[:500]
    assert "Table 1 SMP spin" in out


def check_sweep(cmd: str, tmp: Path) -> None:
    _run(cmd, tmp)
    name = re.search(r"--out (\S+)", cmd).group(1)
    with open(tmp / name, newline="") as f:
        rows = list(csv.DictReader(f))
    axes = re.findall(r"-g (\w+)=(\S+)", cmd)
    n = 1
    for _, values in axes:
        a, _, b = values.partition(":")
        n *= int(b) - int(a) if ":" in values else len(values.split(","))
    assert len(rows) == n
    for r in rows:
        assert r["completed"] == "True"
        assert abs(sum(float(r[k]) for k in ("user", "kernel", "spin", "idle")) - 1) < 1e-9


def check_cache_info(cmd: str, tmp: Path) -> None:
    out = _run(cmd, tmp).stdout
    assert re.search(r"model version\s+[0-9a-f]{16}", out), out


def check_papermill(cmd: str, tmp: Path) -> None:
    # As shown, but writing the executed notebook and the run directory under
    # tmp rather than the reader's /tmp and runs/.
    cmd = cmd.replace(" /tmp/", f" {tmp}/")
    cmd = re.sub(r"-p output_dir \S+", f"-p output_dir {tmp}/run", cmd)
    _run(cmd, ROOT)
    params = json.loads((tmp / "run" / "parameters.json").read_text())
    for name, value in re.findall(r"-p (\w+) (\S+)", cmd):
        if name != "output_dir":
            assert str(params[name]) == value
    assert list((tmp / "run" / "figures").glob("*.png")), "no figure written"
    assert list((tmp / "run" / "results").glob("*.csv")), "no table written"


CHECKS = {
    "reproduce simulate": check_simulate,
    "reproduce experiments list": check_experiments_list,
    "reproduce experiments run": check_experiments_run,
    "reproduce summary": check_summary,
    "reproduce sweep": check_sweep,
    "reproduce cache info": check_cache_info,
    "papermill": check_papermill,
}

# README commands that fail for a reason being fixed elsewhere.  strict: once
# fixed, the XPASS fails the suite and the entry must go.
KNOWN: dict[str, str] = {}


def _check_for(cmd: str):
    tail = cmd.split("/", 2)[-1]            # after ".venv/bin/"
    for prefix, fn in sorted(CHECKS.items(), key=lambda kv: -len(kv[0])):
        if tail.startswith(prefix):
            return fn
    return None


def _params():
    out = []
    for cmd in commands():
        if cmd.startswith(NOT_RUN):
            continue
        marks = []
        if any(s in cmd for s in SLOW):
            marks.append(pytest.mark.slow)
        for key, why in KNOWN.items():
            if key in cmd:
                marks.append(pytest.mark.xfail(reason=why, strict=True))
        out.append(pytest.param(cmd, marks=marks, id=cmd.split("/", 2)[-1][:60]))
    return out


def test_the_readme_shows_commands():
    cmds = commands()
    assert any("simulate" in c for c in cmds) and any("papermill" in c for c in cmds)
    assert {"make reproduce", "make check", "make test"} <= {c.split(" #")[0].strip()
                                                           for c in cmds}


@pytest.mark.parametrize("cmd", _params())
def test_readme_command(cmd, tmp_path):
    fn = _check_for(cmd)
    assert fn is not None, f"README shows {cmd!r} but no check here knows it: add one"
    fn(cmd, tmp_path)


@pytest.mark.slow
def test_readme_python_block(tmp_path):
    (code,) = [b for b in blocks("python") if "simulate" in b]
    code += textwrap.dedent("""
        t = r.table1()
        assert abs(sum(t.values()) - 1) < 1e-9, t
        f = r.fractions()
        assert ((f[["user", "kernel", "spin", "idle"]].sum(axis=1) - 1).abs() < 1e-9).all()
        assert len(df) == 10 and df["completed"].all()
        """)
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
