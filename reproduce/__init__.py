"""A mechanistic model of a giant-lock SMP port of a cluster-OS kernel."""
import os as _os

# The model makes no BLAS call large enough to share out: numpy's OpenBLAS
# would start a thread per core at import, and those spin for a while (on 2
# cores about 0.1 s of CPU per process, a third of a short ``reproduce
# simulate``).  One thread, unless the environment says otherwise; it takes
# effect only where numpy is imported after this package.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

if _os.environ.get("REPRODUCE_COMPILED", "") != "0":
    # Before any model module is imported: the compiled build of the current
    # model version if there is one, else the sources with a one-line
    # notice (see reproduce.perf.loader).
    from .perf import loader as _loader
    _loader.install()
