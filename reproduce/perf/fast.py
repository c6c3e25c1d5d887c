"""The compiled build of the simulator's hot modules, made by mypyc: the default.

The model is plain Python, and its sources stay the reference: what a reader
reads, edits and steps through in a debugger.  The modules an acquisition
runs through (the engine, the CPU, cache lines, the TLB, spinlocks, lock
strategies, the scheduler, processes, the kernel itself and the workloads;
``COMPILED``) are also compiled to C extension modules by mypyc, the
compiler mypy ships, from the same source.  Results are the same bit for bit
(``tests/test_fast.py`` checks it on every lock design and algorithm and
both workloads); only the time differs.

``python -m reproduce.perf.fast build`` (``make fast``; ``make venv``, ``make
test`` and ``make reproduce`` run it with ``--if-possible``) compiles a copy
of the sources into ``.cache/compiled/<model version>/``; nothing is written
beside the sources, and a build of the current model version is reused, not
rebuilt.  ``import reproduce`` then puts a finder in front of the import
system that loads just those modules from the build, and only from the build
of the current model version: the version is a hash of the model's code
(:mod:`reproduce.version`), so once a model file is edited the build no
longer matches and the Python sources run, with a one-line warning naming
``make fast``, until it is run again.  A compiled module never hides an
edit.  ``REPRODUCE_COMPILED=0`` in the environment runs the Python sources
(``=1``, the old way to ask for the build, is the default now).  Without a C
compiler the build is skipped, and one line says that the Python sources
run and how much slower they are (``SLOWER``).

The compiled modules check their type annotations when called: a value of
the wrong type raises ``TypeError`` where the Python source would have gone
on (or raised a ``ConfigError`` further in).  Values that reach the model
through :class:`~reproduce.bench.scenario.Scenario` are checked before.
"""
from __future__ import annotations

import json
import os
import sys
import sysconfig
from pathlib import Path

from ..errors import ConfigError
from ..version import ROOT, model_version
from .loader import (DEFAULT_DIR, DIR_VAR, ENV_VAR, MANIFEST, NOT_BUILT, SLOWER,  # noqa: F401
                     CompiledFinder, _abi, build_path, builds_dir, compiled, install,
                     sources_notice)

# The modules compiled, as paths under the package: every module a simulated
# cycle runs through.  (mypyc treats a generator expression as a list, so
# these modules write endless sequences as generator functions.)
COMPILED = ("machine/engine.py", "machine/cpu.py", "machine/cacheline.py", "machine/tlb.py",
            "machine/memory.py", "machine/mmu.py",
            "kernel/lockstat.py", "kernel/draws.py", "kernel/costs.py", "kernel/spinlock.py",
            "kernel/locking.py", "kernel/proc.py", "kernel/percpu.py", "kernel/sched.py",
            "kernel/paths.py", "kernel/bus.py", "kernel/devices.py", "kernel/checks.py",
            "kernel/record.py", "kernel/profile.py", "kernel/kernel.py", "kernel/forward.py",
            "kernel/container.py", "kernel/vm.py", "bench/workload.py")

# The setup script the build runs in its copy of the sources (argv: the
# modules).  The C compiler's -O2 and no debug information: -O3 took 22 %
# longer to build (31.6 s against 26.0 s on 2 cores) for 0.2 % fewer
# instructions executed (callgrind: the synthetic lock at 2 and 32 CPUs, a
# UP paper run), since most of what the generated code does is call into
# the Python runtime.  mypyc writes the group's code as one C file per
# module (multi_file) and setuptools compiles an extension's files one
# after another; the compile step below runs them on every core instead
# (the same compiler calls, through distutils' own helpers; if those ever
# change, the files are compiled one by one as before).
SETUP = r"""
import os, sys
from concurrent.futures import ThreadPoolExecutor
from setuptools import setup
from mypyc.build import mypycify
from distutils import ccompiler

serial = ccompiler.CCompiler.compile

def compile(self, sources, output_dir=None, macros=None, include_dirs=None, debug=False,
            extra_preargs=None, extra_postargs=None, depends=None):
    try:
        macros, objects, extra_postargs, pp_opts, build = self._setup_compile(
            output_dir, macros, include_dirs, sources, depends, extra_postargs)
        cc_args = self._get_cc_args(pp_opts, debug, extra_preargs)
    except AttributeError:
        return serial(self, sources, output_dir, macros, include_dirs, debug,
                      extra_preargs, extra_postargs, depends)
    def one(obj):
        src, ext = build[obj]
        self._compile(obj, src, ext, cc_args, extra_postargs, pp_opts)
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(one, objects))
    return objects

ccompiler.CCompiler.compile = compile
modules = sys.argv[1:]
sys.argv = [sys.argv[0], "build_ext", "--inplace", "--parallel", str(os.cpu_count() or 1)]
setup(name="reproduce_compiled",
      ext_modules=mypycify(modules, opt_level="2", debug_level="0", multi_file=True))
"""


def module_name(rel: str) -> str:
    """``kernel/kernel.py`` -> ``reproduce.kernel.kernel``."""
    return "reproduce." + rel[:-len(".py")].replace("/", ".")


def compiler_problem() -> str | None:
    """Why no C extension can be built here (None: it can): mypyc missing,
    or the C compiler setuptools would run (``$CC``, else Python's own)
    failing on an empty file."""
    import shlex
    import subprocess
    import tempfile
    try:
        import mypyc  # noqa: F401
    except ImportError:
        return "mypyc is not installed (it comes with mypy)"
    cc = os.environ.get("CC") or str(sysconfig.get_config_var("CC") or "cc")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text("int probe(void) { return 0; }\n")
        cmd = [*shlex.split(cc), "-c", str(src), "-o", str(src.with_suffix(".o"))]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        except OSError as err:
            return f"no C compiler ({cc}: {err.strerror})"
        if done.returncode != 0:
            return f"no working C compiler ({cc} failed)"
    return None


def build(root: Path | None = None, quiet: bool = True) -> Path:
    """Compile ``COMPILED`` for the current model version; returns the build
    directory (kept if it exists already).  Raises ConfigError if mypyc or a
    C compiler is missing or the compilation fails."""
    import shutil
    import subprocess
    import tempfile
    dest = build_path(root=root)
    if _complete(dest):
        return dest
    problem = compiler_problem()
    if problem is not None:
        raise ConfigError(problem)
    if dest.exists():                # a build of another module list
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".build-") as tmp:
        src = Path(tmp) / "src"
        # A copy of the package's Python files: mypyc builds in place, and
        # the sources must never get extension modules beside them.
        shutil.copytree(ROOT, src / "reproduce",
                        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
        (src / "setup_compiled.py").write_text(SETUP)
        cmd = [sys.executable, "setup_compiled.py", *[f"reproduce/{rel}" for rel in COMPILED]]
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
    (dest.parent / NOT_BUILT).unlink(missing_ok=True)
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


def prune(root: Path | None = None) -> int:
    """Remove the builds of other model versions (and leftovers of killed
    builds); returns how many directories went."""
    import shutil
    root = root or builds_dir()
    keep = model_version()
    n = 0
    if root.is_dir():
        for d in sorted(root.iterdir()):
            if d.is_dir() and d.name != keep:
                shutil.rmtree(d, ignore_errors=True)
                n += 1
    return n


def build_if_possible(root: Path | None = None) -> bool:
    """``make venv``'s step: build for the current model version if mypyc and
    a working C compiler are there (a current build is reused), else print
    the one line that the Python sources will run and note why in
    ``NOT_BUILT`` for later starts.  Returns whether a build is there.  A
    compilation that fails with a working compiler raises ConfigError."""
    if _complete(build_path(root=root)):
        return True
    directory = root or builds_dir()
    problem = compiler_problem()
    if problem is not None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / NOT_BUILT).write_text(problem + "\n")
        print(sources_notice(f"not compiled: {problem}",
                             "until a C compiler is installed and 'make fast' run"), flush=True)
        return False
    print(f"compiling the model's hot modules with mypyc, once per model version "
          f"(into {directory})", flush=True)
    build(root=root, quiet=False)
    return True


def main(argv: list[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m reproduce.perf.fast",
                                 description="Build the compiled modules (mypyc).")
    ap.add_argument("command", choices=["build", "path", "prune"],
                    help="build: compile for the current model version (kept if built); "
                         "path: print where; prune: remove the builds of other model versions")
    ap.add_argument("--if-possible", action="store_true",
                    help="build: without mypyc or a C compiler, say in one line that the "
                         "Python sources run, and exit 0")
    a = ap.parse_args(argv)
    if a.command == "path":
        print(build_path())
        return 0
    if a.command == "prune":
        print(f"removed {prune()} build(s) of other model versions from {builds_dir()}")
        return 0
    try:
        if a.if_possible:
            build_if_possible()
        else:
            build(quiet=False)
    except ConfigError as err:
        print(f"reproduce.perf.fast: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
