"""The compiled build (reproduce.perf.fast): same results, never a stale module."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import reproduce.perf.fast as fast
from reproduce.version import ROOT, model_version

mypy_api = pytest.importorskip("mypy.api")
# mypyc and a C compiler that works (CC=/bin/false is there but does not)
PROBLEM = fast.compiler_problem()
needs_cc = pytest.mark.skipif(PROBLEM is not None, reason=f"no compiled build: {PROBLEM}")

# Scenarios run by both builds; their results must be the same bytes: every
# lock design on the paper workload, every spinlock algorithm on both
# workloads (the synthetic one ideal and on the Pentium II, 1 to 8 CPUs), the
# UP kernel and interrupt routing, debug checks on.
SNAPSHOT = r'''
import json, sys
import reproduce.perf.fast as fast
from reproduce.bench.run import simulate
from reproduce.bench.scenario import Scenario
from reproduce.kernel.locking import POLICIES
from reproduce.kernel.spinlock import LOCK_KINDS
from reproduce.experiments import beyond
out = {"compiled": fast.compiled(), "runs": [],
       # class-level attributes, read from the classes (as the experiments do)
       "policies": {n: [getattr(c, a) for a in ("name", "per_cpu_readyq", "forwarding",
                                                "forward_ipi", "master", "mp_overhead")]
                    for n, c in POLICIES.items()},
       "lock_designs": beyond.LOCK_DESIGNS}
runs = [Scenario(workload="synthetic", calibrated=False, cpus=c, ideal=i, spinlock=k,
                 horizon=2_000_000, debug=True)
        for c in (1, 2, 8) for i in (True, False) for k in LOCK_KINDS]
runs += [Scenario(calibrated=False, spinlock=k, cpus=c, debug=True)
         for k in LOCK_KINDS for c in (2, 4)]
runs += [Scenario(calibrated=False, lock=l, cpus=c, debug=True) for l in POLICIES for c in (2, 4)]
runs += [Scenario(kernel="up", cpus=1, calibrated=False),
         Scenario(calibrated=False, affinity=False, overrides={"irq_routing": "cpu0"})]
for s in runs:
    r = simulate(s)
    d = r.to_dict()
    d["modes"] = r.modes
    d["by_entry"] = r.by_entry.to_dict(orient="list")
    d["table1"] = r.table1()
    out["runs"].append(d)
print(json.dumps(out, sort_keys=True, default=str))
'''


def without_finder(monkeypatch) -> None:
    """This process as if no build had been installed (this test process
    may well run the compiled build)."""
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path
                                           if not isinstance(f, fast.CompiledFinder)])


def run_snapshot(compiled: bool, builds: Path) -> dict:
    env = dict(os.environ, REPRODUCE_COMPILED="1" if compiled else "0",
               REPRODUCE_COMPILED_DIR=str(builds))
    done = subprocess.run([sys.executable, "-c", SNAPSHOT], env=env, capture_output=True,
                          text=True, cwd=ROOT.parent, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Python sources run" not in done.stderr, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_model_modules_type_check():
    """mypyc compiles only code mypy accepts: the model must stay clean."""
    out, err, status = mypy_api.run([str(ROOT / "machine"), str(ROOT / "kernel"),
                                     "--ignore-missing-imports", "--no-incremental"])
    assert status == 0, out + err


@pytest.mark.slow
@needs_cc
def test_compiled_build_gives_the_same_results():
    """The build of the current model version (make venv made it; made here
    otherwise, into the same cache) gives the Python sources' results."""
    d = fast.build()
    assert d == fast.build_path()
    manifest = json.loads((d / fast.MANIFEST).read_text())
    assert set(manifest["modules"]) >= {fast.module_name(rel) for rel in fast.COMPILED}
    assert not list(ROOT.rglob("*.so")), "the build must not write beside the sources"
    stamp = (d / fast.MANIFEST).stat().st_mtime_ns
    assert fast.build() == d and (d / fast.MANIFEST).stat().st_mtime_ns == stamp   # reused
    ours = run_snapshot(True, fast.builds_dir())
    reference = run_snapshot(False, fast.builds_dir())
    assert ours["compiled"] is True and reference["compiled"] is False
    assert ours["runs"] == reference["runs"]
    assert ours["policies"] == reference["policies"]
    assert ours["lock_designs"] == reference["lock_designs"] and reference["lock_designs"]


def test_no_build_for_this_version_keeps_the_sources(tmp_path, monkeypatch, capsys):
    """A build of another model version (the source was edited since) is
    never loaded: install() says so in one line naming make fast."""
    stale = tmp_path / "0123456789abcdef"
    stale.mkdir()
    (stale / fast.MANIFEST).write_text(json.dumps(
        {"model_version": "0123456789abcdef", "ext_suffix": fast._abi(), "modules": {}}))
    without_finder(monkeypatch)
    assert fast.install(root=tmp_path) is False
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model changed" in err and "make fast" in err
    assert f"{fast.SLOWER:g}x slower" in err
    assert not any(isinstance(f, fast.CompiledFinder) for f in sys.meta_path)


def test_without_a_compiler_one_line_says_the_sources_run(tmp_path, capsys, monkeypatch):
    """No working C compiler (here: CC=/bin/false): the build step says so in
    one line and succeeds; later starts say it in one line too."""
    monkeypatch.setenv("CC", "/bin/false")
    assert fast.build_if_possible(root=tmp_path) is False
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Python sources run" in out and "C compiler" in out
    assert (tmp_path / fast.NOT_BUILT).exists()
    without_finder(monkeypatch)
    assert fast.install(root=tmp_path) is False
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "C compiler" in err and f"{fast.SLOWER:g}x slower" in err


def test_build_for_another_python_is_not_loaded(tmp_path, monkeypatch, capsys):
    d = tmp_path / model_version()
    d.mkdir()
    (d / fast.MANIFEST).write_text(json.dumps(
        {"model_version": model_version(), "ext_suffix": ".cpython-39-x.so", "python": "3.9.0",
         "modules": {"reproduce.kernel.kernel": "kernel/kernel.cpython-39-x.so"}}))
    without_finder(monkeypatch)
    assert fast.install(root=tmp_path) is False
    assert "another Python" in capsys.readouterr().err


def test_install_after_import_declines(tmp_path, monkeypatch):
    """Modules already imported from the sources stay: mixing would break
    isinstance checks between compiled and Python classes."""
    import reproduce.kernel.kernel  # noqa: F401
    d = tmp_path / model_version()
    d.mkdir()
    (d / fast.MANIFEST).write_text(json.dumps(
        {"model_version": model_version(), "ext_suffix": fast._abi(),
         "modules": {"reproduce.kernel.kernel": "kernel/kernel" + fast._abi()}}))
    without_finder(monkeypatch)
    with pytest.warns(UserWarning, match="already imported"):
        assert fast.install(root=tmp_path) is False


def test_finder_serves_only_its_modules(tmp_path):
    f = fast.CompiledFinder(tmp_path, {"reproduce.kernel.kernel": "kernel/k.so"})
    assert f.find_spec("reproduce.kernel.vm") is None
    spec = f.find_spec("reproduce.kernel.kernel")
    assert spec is not None and spec.origin == str(tmp_path / "kernel/k.so")


RUN_ONE = ("import reproduce.perf.fast as f; "
           "from reproduce.bench.run import simulate; "
           "from reproduce.bench.scenario import Scenario; "
           "simulate(Scenario(workload='synthetic', calibrated=False, horizon=10**6)); "
           "print(f.compiled())")


@pytest.mark.parametrize("value", ["", "1"])
def test_without_a_build_the_sources_run_with_one_line(tmp_path, value):
    """The default (and the old REPRODUCE_COMPILED=1) without a build: the
    sources run, and one line on stderr says so, naming make fast."""
    env = dict(os.environ, REPRODUCE_COMPILED=value, REPRODUCE_COMPILED_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", RUN_ONE], env=env, capture_output=True,
                          text=True, cwd=ROOT.parent, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert done.stderr.count("\n") == 1, done.stderr
    assert "not compiled yet" in done.stderr and "make fast" in done.stderr


def test_zero_runs_the_sources_silently(tmp_path):
    env = dict(os.environ, REPRODUCE_COMPILED="0", REPRODUCE_COMPILED_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", RUN_ONE], env=env, capture_output=True,
                          text=True, cwd=ROOT.parent, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "False" and done.stderr == ""


@needs_cc
def test_the_default_is_the_compiled_build():
    """With a build of the current model version (make venv makes it), a
    plain start runs it, without a word."""
    if not fast._complete(fast.build_path()):
        pytest.skip("no build of this model version (make fast)")
    env = {k: v for k, v in os.environ.items() if k not in (fast.ENV_VAR, fast.DIR_VAR)}
    done = subprocess.run([sys.executable, "-c", RUN_ONE], env=env, capture_output=True,
                          text=True, cwd=ROOT.parent, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True" and done.stderr == ""


def test_prune_keeps_only_the_current_version(tmp_path, monkeypatch):
    monkeypatch.setenv(fast.DIR_VAR, str(tmp_path))
    for name in (model_version(), "0123456789abcdef", ".build-killed"):
        (tmp_path / name).mkdir()
        (tmp_path / name / fast.MANIFEST).write_text("{}")
    assert fast.prune() == 2
    assert [d.name for d in tmp_path.iterdir()] == [model_version()]
    assert fast.main(["prune"]) == 0 and fast.prune() == 0


def test_a_notebook_kernel_says_nothing(tmp_path):
    """In a Jupyter kernel the notice is left out: a notebook's outputs must
    not depend on whether the machine compiled the model."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import reproduce.perf.fast as f\nfrom reproduce.bench.run import simulate\n"
        "print(f.compiled())")]
    env = dict(os.environ, REPRODUCE_COMPILED="", REPRODUCE_COMPILED_DIR=str(tmp_path))
    old = dict(os.environ)
    os.environ.update(env)            # the kernel inherits this process's environment
    try:
        nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert nb.cells[0].outputs == [{"output_type": "stream", "name": "stdout",
                                    "text": "False\n"}]
