"""The compiled build (reproduce.perf.fast): same results, never a stale module."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import reproduce.perf.fast as fast
from reproduce.version import ROOT, model_version

mypy_api = pytest.importorskip("mypy.api")
needs_cc = pytest.mark.skipif(not (shutil.which("cc") or shutil.which("gcc")),
                              reason="no C compiler for mypyc")

# Scenarios run by both builds; their results must be the same bytes.
SNAPSHOT = r'''
import json, sys
import reproduce.perf.fast as fast
from reproduce.bench.run import simulate
from reproduce.bench.scenario import Scenario
from reproduce.kernel.locking import POLICIES
from reproduce.experiments import beyond
out = {"compiled": fast.compiled(), "runs": [],
       # class-level attributes, read from the classes (as the experiments do)
       "policies": {n: [getattr(c, a) for a in ("name", "per_cpu_readyq", "forwarding",
                                                "forward_ipi", "master", "mp_overhead")]
                    for n, c in POLICIES.items()},
       "lock_designs": beyond.LOCK_DESIGNS}
runs = [Scenario(workload="synthetic", calibrated=False, cpus=c, ideal=i, spinlock=k,
                 horizon=3_000_000, debug=True)
        for c in (1, 2, 4) for i in (True, False) for k in ("tas", "ticket")]
runs += [Scenario(calibrated=False, lock=l, cpus=c, debug=True) for l in POLICIES for c in (2, 4)]
runs += [Scenario(kernel="up", cpus=1, calibrated=False),
         Scenario(calibrated=False, affinity=False, overrides={"irq_routing": "cpu0"})]
for s in runs:
    r = simulate(s)
    d = r.to_dict()
    d["modes"] = r.modes
    d["by_entry"] = r.by_entry.to_dict(orient="list")
    out["runs"].append(d)
print(json.dumps(out, sort_keys=True, default=str))
'''


def run_snapshot(compiled: bool, builds: Path) -> dict:
    env = dict(os.environ, REPRODUCE_COMPILED="1" if compiled else "0",
               REPRODUCE_COMPILED_DIR=str(builds), PYTHONWARNINGS="error::UserWarning")
    done = subprocess.run([sys.executable, "-c", SNAPSHOT], env=env, capture_output=True,
                          text=True, cwd=ROOT.parent, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_model_modules_type_check():
    """mypyc compiles only code mypy accepts: the model must stay clean."""
    out, err, status = mypy_api.run([str(ROOT / "machine"), str(ROOT / "kernel"),
                                     "--ignore-missing-imports", "--no-incremental"])
    assert status == 0, out + err


@pytest.mark.slow
@needs_cc
def test_compiled_build_gives_the_same_results(tmp_path):
    builds = tmp_path / "compiled"
    d = fast.build(root=builds)
    assert d == builds / model_version()
    manifest = json.loads((d / fast.MANIFEST).read_text())
    assert set(manifest["modules"]) >= {fast.module_name(rel) for rel in fast.COMPILED}
    assert not list(ROOT.rglob("*.so")), "the build must not write beside the sources"
    assert fast.build(root=builds) == d                      # kept, not rebuilt
    ours = run_snapshot(True, builds)
    reference = run_snapshot(False, builds)
    assert ours["compiled"] is True and reference["compiled"] is False
    assert ours["runs"] == reference["runs"]
    assert ours["policies"] == reference["policies"]
    assert ours["lock_designs"] == reference["lock_designs"] and reference["lock_designs"]


def test_no_build_for_this_version_keeps_the_sources(tmp_path, monkeypatch):
    """A build of another model version (the source was edited since) is
    never loaded: install() warns and declines."""
    stale = tmp_path / "0123456789abcdef"
    stale.mkdir()
    (stale / fast.MANIFEST).write_text(json.dumps(
        {"model_version": "0123456789abcdef", "ext_suffix": fast._abi(), "modules": {}}))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    with pytest.warns(UserWarning, match="has no compiled build"):
        assert fast.install(root=tmp_path) is False
    assert not any(isinstance(f, fast.CompiledFinder) for f in sys.meta_path)


def test_build_for_another_python_is_not_loaded(tmp_path, monkeypatch):
    d = tmp_path / model_version()
    d.mkdir()
    (d / fast.MANIFEST).write_text(json.dumps(
        {"model_version": model_version(), "ext_suffix": ".cpython-39-x.so", "python": "3.9.0",
         "modules": {"reproduce.kernel.kernel": "kernel/kernel.cpython-39-x.so"}}))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    with pytest.warns(UserWarning, match="another Python"):
        assert fast.install(root=tmp_path) is False


def test_install_after_import_declines(tmp_path, monkeypatch):
    """Modules already imported from the sources stay: mixing would break
    isinstance checks between compiled and Python classes."""
    import reproduce.kernel.kernel  # noqa: F401
    d = tmp_path / model_version()
    d.mkdir()
    (d / fast.MANIFEST).write_text(json.dumps(
        {"model_version": model_version(), "ext_suffix": fast._abi(),
         "modules": {"reproduce.kernel.kernel": "kernel/kernel" + fast._abi()}}))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    with pytest.warns(UserWarning, match="already imported"):
        assert fast.install(root=tmp_path) is False


def test_finder_serves_only_its_modules(tmp_path):
    f = fast.CompiledFinder(tmp_path, {"reproduce.kernel.kernel": "kernel/k.so"})
    assert f.find_spec("reproduce.kernel.vm") is None
    spec = f.find_spec("reproduce.kernel.kernel")
    assert spec is not None and spec.origin == str(tmp_path / "kernel/k.so")


def test_env_var_without_a_build_warns_and_runs_the_sources(tmp_path):
    env = dict(os.environ, REPRODUCE_COMPILED="1", REPRODUCE_COMPILED_DIR=str(tmp_path))
    code = ("import warnings, reproduce.perf.fast as f; "
            "from reproduce.bench.run import simulate; "
            "from reproduce.bench.scenario import Scenario; "
            "simulate(Scenario(workload='synthetic', calibrated=False, horizon=10**6)); "
            "print(f.compiled())")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=ROOT.parent, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert "has no compiled build" in done.stderr and "make fast" in done.stderr


def test_prune_keeps_only_the_current_version(tmp_path, monkeypatch):
    monkeypatch.setenv(fast.DIR_VAR, str(tmp_path))
    for name in (model_version(), "0123456789abcdef", ".build-killed"):
        (tmp_path / name).mkdir()
        (tmp_path / name / fast.MANIFEST).write_text("{}")
    assert fast.prune() == 2
    assert [d.name for d in tmp_path.iterdir()] == [model_version()]
    assert fast.main(["prune"]) == 0 and fast.prune() == 0
