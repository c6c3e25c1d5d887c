"""A mechanistic model of a giant-lock SMP port of a cluster-OS kernel."""
import os as _os

if _os.environ.get("REPRODUCE_COMPILED", "") != "0":
    # Before any model module is imported: the compiled build of the current
    # model version if there is one, else the sources with a one-line
    # notice (see reproduce.perf.loader).
    from .perf import loader as _loader
    _loader.install()
