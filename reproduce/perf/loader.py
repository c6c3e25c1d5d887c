"""Which build of the model's hot modules this process runs.

``import reproduce`` calls :func:`install` (unless ``REPRODUCE_COMPILED=0``):
if the current model version (:func:`reproduce.version.model_version`, a hash
of the model's code) has a compiled build for this Python in
``.cache/compiled/<model version>/`` (``reproduce.perf.fast`` makes it), a
finder in front of the import system loads just those modules from it;
otherwise one line on stderr says why and that the Python sources run, and
how much slower they are.  Kept apart from the builder so that a start
imports only this.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import sysconfig
import warnings
from pathlib import Path
from typing import Any, Sequence

from ..version import ROOT, model_version

ENV_VAR = "REPRODUCE_COMPILED"          # "0": the Python sources; else the build if current
DIR_VAR = "REPRODUCE_COMPILED_DIR"      # where builds live (default .cache/compiled)
DEFAULT_DIR = ROOT.parent / ".cache" / "compiled"
MANIFEST = "manifest.json"
# Written into the builds' directory when a build was not possible (no
# working C compiler, no mypyc): why, so that every later start says so in
# its one line without probing the compiler again.  A build removes it.
NOT_BUILT = "not-built.txt"
# The Python sources' CPU time per lock acquisition over the compiled
# build's, in the `make speed` run docs/performance.md quotes: 6.4x on the
# 2-CPU ideal synthetic giant lock (6.77 against 1.05 µs), 4.8x on the paper
# workload's long run (13.5 against 2.81 µs).  The notices name it.
SLOWER = 5.0


def builds_dir() -> Path:
    env = os.environ.get(DIR_VAR)
    return Path(env).expanduser() if env else DEFAULT_DIR


def build_path(version: str | None = None, root: Path | None = None) -> Path:
    """The directory of the build of *version* (default: the current model)."""
    return (root or builds_dir()) / (version or model_version())


def _abi() -> str:
    return str(sysconfig.get_config_var("EXT_SUFFIX"))


def sources_notice(reason: str, remedy: str = "until 'make fast'") -> str:
    """The one line said when the Python sources run instead of the build."""
    return f"reproduce: {reason}, so the Python sources run, about {SLOWER:g}x slower, {remedy}"


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
    a build for this Python; otherwise say why in one line on stderr and
    keep the sources.  Returns whether the build is in use.  Must run before
    the modules are imported (``import reproduce`` calls it unless
    ``REPRODUCE_COMPILED=0``)."""
    if any(isinstance(f, CompiledFinder) for f in sys.meta_path):
        return True
    d = build_path(root=root)
    try:
        manifest = json.loads((d / MANIFEST).read_text())
    except (OSError, ValueError):
        _notice(d.parent)
        return False
    if manifest.get("ext_suffix") != _abi():
        if not _in_kernel():
            print(sources_notice(f"the compiled build is for another Python "
                                 f"({manifest.get('python')})"), file=sys.stderr)
        return False
    loaded = [m for m in manifest["modules"] if m in sys.modules]
    if loaded:
        warnings.warn(f"{', '.join(loaded)} already imported from the sources: the compiled "
                      f"build is not used", stacklevel=2)
        return False
    sys.meta_path.insert(0, CompiledFinder(d, manifest["modules"]))
    return True


def _in_kernel() -> bool:
    """Whether this process is a running Jupyter kernel (ipykernel is not
    imported to find out)."""
    app = sys.modules.get("ipykernel.kernelapp")
    return app is not None and bool(app.IPKernelApp.initialized())


def _notice(directory: Path) -> None:
    """Say in one line on stderr why the model version has no build in
    *directory*: no compiler (``NOT_BUILT``), an edit since the last build,
    or none made yet.  Not in a Jupyter kernel: a notebook's outputs must not
    depend on whether the machine compiled the model (the command that ran
    the notebooks has said it)."""
    if _in_kernel():
        return
    try:
        problem = (directory / NOT_BUILT).read_text().strip()
    except OSError:
        problem = ""
    if problem:
        line = sources_notice(f"not compiled: {problem}",
                              "until a C compiler is installed and 'make fast' run")
    elif directory.is_dir() and any(x.is_dir() and not x.name.startswith(".")
                                    for x in directory.iterdir()):
        line = sources_notice("the model changed since it was compiled")
    else:
        line = sources_notice("the model is not compiled yet")
    print(line, file=sys.stderr)


def compiled() -> bool:
    """Whether the kernel module in use is the compiled one."""
    mod = sys.modules.get("reproduce.kernel.kernel")
    return mod is not None and str(getattr(mod, "__file__", "")).endswith(_abi())
