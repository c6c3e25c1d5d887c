"""An optional compiled build of the simulator's hot modules, made by mypyc.

The model is plain Python and stays the reference.  For long sweeps, the
modules an acquisition runs through (the engine, the CPU, cache lines, the
TLB, spinlocks, lock strategies, the scheduler, processes and the kernel
itself; ``COMPILED``) can be compiled to C extension modules with mypyc, the
compiler mypy ships, from the same source.  Results are the same bit for bit
(``tests/test_fast.py`` checks it on scenarios of every strategy); only the
wall time differs.

``python -m reproduce.perf.fast build`` (``make fast``) compiles a copy of the
sources into ``.cache/compiled/<model version>/``; nothing is written beside
the sources.  With ``REPRODUCE_COMPILED=1`` in the environment, ``import
reproduce`` puts a finder in front of the import system that loads just those
modules from the build, and only from the build of the current model version:
the version is a hash of the model's code (:mod:`reproduce.version`), so once
a model file is edited the build no longer matches and the Python sources are
used, with a warning, until ``make fast`` is run again.  A compiled module
never hides an edit.

The compiled modules check their type annotations when called: a value of
the wrong type raises ``TypeError`` where the Python source would have gone
on (or raised a ``ConfigError`` further in).  Values that reach the model
through :class:`~reproduce.bench.scenario.Scenario` are checked before.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import warnings
from pathlib import Path
from typing import Any, Sequence

from ..errors import ConfigError
from ..version import ROOT, model_version

ENV_VAR = "REPRODUCE_COMPILED"          # "1": load the compiled build if it is current
DIR_VAR = "REPRODUCE_COMPILED_DIR"      # where builds live (default .cache/compiled)
DEFAULT_DIR = ROOT.parent / ".cache" / "compiled"
MANIFEST = "manifest.json"

# The modules compiled, as paths under the package: every module a simulated
# cycle runs through.  (mypyc treats a generator expression as a list, so
# these modules write endless sequences as generator functions.)
COMPILED = ("machine/engine.py", "machine/cpu.py", "machine/cacheline.py", "machine/tlb.py",
            "machine/memory.py", "machine/mmu.py",
            "kernel/lockstat.py", "kernel/draws.py", "kernel/spinlock.py", "kernel/locking.py",
            "kernel/proc.py", "kernel/percpu.py", "kernel/sched.py", "kernel/paths.py", "kernel/bus.py",
            "kernel/devices.py", "kernel/checks.py", "kernel/record.py", "kernel/profile.py",
            "kernel/kernel.py",
            "kernel/forward.py",
            "kernel/container.py", "kernel/vm.py", "bench/workload.py")


def module_name(rel: str) -> str:
    """``kernel/kernel.py`` -> ``reproduce.kernel.kernel``."""
    return "reproduce." + rel[:-len(".py")].replace("/", ".")


def builds_dir() -> Path:
    env = os.environ.get(DIR_VAR)
    return Path(env).expanduser() if env else DEFAULT_DIR


def build_path(version: str | None = None, root: Path | None = None) -> Path:
    """The directory of the build of *version* (default: the current model)."""
    return (root or builds_dir()) / (version or model_version())


def _abi() -> str:
    return str(sysconfig.get_config_var("EXT_SUFFIX"))


def build(root: Path | None = None, quiet: bool = True) -> Path:
    """Compile ``COMPILED`` for the current model version; returns the build
    directory (kept if it exists already).  Raises ConfigError if mypyc or a
    C compiler is missing or the compilation fails."""
    dest = build_path(root=root)
    if _complete(dest):
        return dest
    if dest.exists():                # a build of another module list
        shutil.rmtree(dest)
    try:
        import mypyc  # noqa: F401
    except ImportError:
        raise ConfigError("the compiled build needs mypyc: pip install mypy "
                          "(it is in the 'test' and 'bench' extras)") from None
    if not (shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")):
        raise ConfigError("the compiled build needs a C compiler (cc or gcc) on PATH")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".build-") as tmp:
        src = Path(tmp) / "src"
        # A copy of the package's Python files: mypyc builds in place, and
        # the sources must never get extension modules beside them.
        shutil.copytree(ROOT, src / "reproduce",
                        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
        cmd = [sys.executable, "-m", "mypyc", "--ignore-missing-imports",
               *[f"reproduce/{rel}" for rel in COMPILED]]
        done = subprocess.run(cmd, cwd=src, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            raise ConfigError(f"mypyc failed (exit {done.returncode}):\n{tail}")
        out = Path(tmp) / "out"
        out.mkdir()
        modules = {}
        for rel in COMPILED:
            so = src / "reproduce" / (rel[:-len(".py")] + _abi())
            if not so.exists():
                raise ConfigError(f"mypyc produced no {so.name} for {rel}")
            (out / Path(rel).parent).mkdir(parents=True, exist_ok=True)
            shutil.copy2(so, out / Path(rel).parent / so.name)
            modules[module_name(rel)] = str(Path(rel).parent / so.name)
        # The group's shared library, which every module above imports.
        for so in src.glob(f"*__mypyc{_abi()}"):
            shutil.copy2(so, out / so.name)
            modules[so.name[:-len(_abi())]] = so.name
        manifest = {"model_version": model_version(), "ext_suffix": _abi(),
                    "python": sys.version.split()[0], "modules": modules}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        try:
            out.rename(dest)
        except OSError:
            if not (dest / MANIFEST).exists():   # not a concurrent build that won
                raise
    if not quiet:
        warned = [l for l in (done.stdout + done.stderr).splitlines() if ": warning: " in l]
        print("\n".join([*warned, f"compiled {len(COMPILED)} modules into {dest}"]))
    return dest


def _complete(d: Path) -> bool:
    """Whether *d* holds a build of every module in ``COMPILED``."""
    try:
        modules = json.loads((d / MANIFEST).read_text())["modules"]
    except (OSError, ValueError, KeyError):
        return False
    return all(module_name(rel) in modules for rel in COMPILED)


class CompiledFinder(importlib.abc.MetaPathFinder):
    """Finds the compiled modules of one build, and nothing else."""

    def __init__(self, directory: Path, modules: dict[str, str]) -> None:
        self.directory = directory
        self.modules = modules

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: Any = None) -> importlib.machinery.ModuleSpec | None:
        file = self.modules.get(name)
        if file is None:
            return None
        location = str(self.directory / file)
        loader = importlib.machinery.ExtensionFileLoader(name, location)
        return importlib.util.spec_from_file_location(name, location, loader=loader)


def install(root: Path | None = None) -> bool:
    """Load the compiled modules from now on, if the current model version has
    a build for this Python; otherwise warn and keep the sources.  Returns
    whether the build is in use.  Must run before the modules are imported
    (``import reproduce`` calls it when ``REPRODUCE_COMPILED=1``)."""
    if any(isinstance(f, CompiledFinder) for f in sys.meta_path):
        return True
    d = build_path(root=root)
    try:
        manifest = json.loads((d / MANIFEST).read_text())
    except (OSError, ValueError):
        warnings.warn(f"{ENV_VAR}=1 but the model (version {model_version()}) has no compiled "
                      f"build in {d.parent}: using the Python sources; run 'make fast'",
                      stacklevel=2)
        return False
    if manifest.get("ext_suffix") != _abi():
        warnings.warn(f"the compiled build in {d} is for another Python "
                      f"({manifest.get('python')}): using the Python sources; run 'make fast'",
                      stacklevel=2)
        return False
    loaded = [m for m in manifest["modules"] if m in sys.modules]
    if loaded:
        warnings.warn(f"{', '.join(loaded)} already imported from the sources: the compiled "
                      f"build is not used", stacklevel=2)
        return False
    sys.meta_path.insert(0, CompiledFinder(d, manifest["modules"]))
    return True


def prune(root: Path | None = None) -> int:
    """Remove the builds of other model versions (and leftovers of killed
    builds); returns how many directories went."""
    root = root or builds_dir()
    keep = model_version()
    n = 0
    if root.is_dir():
        for d in sorted(root.iterdir()):
            if d.is_dir() and d.name != keep:
                shutil.rmtree(d, ignore_errors=True)
                n += 1
    return n


def compiled() -> bool:
    """Whether the kernel module in use is the compiled one."""
    mod = sys.modules.get("reproduce.kernel.kernel")
    return mod is not None and str(getattr(mod, "__file__", "")).endswith(_abi())


def main(argv: list[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m reproduce.perf.fast",
                                 description="Build the compiled modules (mypyc).")
    ap.add_argument("command", choices=["build", "path", "prune"],
                    help="build: compile for the current model version; path: print where; "
                         "prune: remove the builds of other model versions")
    a = ap.parse_args(argv)
    if a.command == "path":
        print(build_path())
        return 0
    if a.command == "prune":
        print(f"removed {prune()} build(s) of other model versions from {builds_dir()}")
        return 0
    try:
        build(quiet=False)
    except ConfigError as err:
        print(f"reproduce.perf.fast: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
