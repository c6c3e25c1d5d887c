"""A mechanistic model of a giant-lock SMP port of a cluster-OS kernel."""
import os as _os

if _os.environ.get("REPRODUCE_COMPILED", "") not in ("", "0"):
    # Before any model module is imported: see reproduce.perf.fast.
    from .perf import fast as _fast
    _fast.install()
