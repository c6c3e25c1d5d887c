# One command each for the things a reader does: `make reproduce`, `make check`,
# `make test`, `make lab`, `make speed`.  Each needs nothing but Python 3 on the
# machine: the first target that needs it creates .venv and installs there, from
# the lock files in requirements/ (exact versions, every file's hash), only the
# dependency group that target runs.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
REQ    := requirements
# uv installs only what a lock file names, each file checked against its hash.
# It never downloads a Python (the venv's is the one), and says nothing unless
# something goes wrong.
# Bytecode is compiled at install, so that the first start of each module
# does not compile it (a short `reproduce simulate` is mostly start-up).
INSTALL := UV_PYTHON_DOWNLOADS=never $(UV) pip install --quiet --python $(PY) --require-hashes \
	--compile-bytecode

# `make reproduce` re-executes every notebook.  QUICK=1: only those whose
# inputs (package source, data/params, data/paper, their own cells) changed
# since they were last executed.  FORCE=1 is the default, accepted for old
# scripts.  NB="E2 E7": only the notebooks whose names contain these.
# JOBS=N: notebooks executed at once (default: one per core), beside E8 when
# it reruns; JOBS=1: one after another, with a progress bar of cells.
# The notebooks run on the compiled build (see `compiled` below) where a C
# compiler exists; COMPILED=1, which used to ask for it, is accepted for old
# scripts.
# numpy's BLAS threads: one per process (see reproduce/__init__.py), also for
# the notebook kernels and the test workers, which may import numpy first.
export OPENBLAS_NUM_THREADS ?= 1
QUICK ?=
COMPILED ?=
FORCE ?=
NB    ?=
JOBS  ?=
# `make lab`: extra arguments for `jupyter lab`, e.g. LAB_ARGS="--ip 0.0.0.0
# --no-browser" in a container.  As root (a container, usually) --allow-root is
# added, since Jupyter refuses to start as root without it.
TEST_WORKERS ?= auto
LAB_ARGS ?=
# `make lab LAB_DIR=...`: the folder JupyterLab opens (the browser test opens a
# copy of notebooks/, so that nothing it runs can change the committed ones).
LAB_DIR ?= notebooks
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: all venv compiled test reproduce check lab speed fast docs lock clean distclean

all: test

# The development environment: the package and the test group, and the
# compiled build.
venv: $(VENV)/.test compiled

# Only when missing: re-running venv over a live one would be a no-op at
# best and would break a venv made by another Python at worst.
$(PY):
	$(PYTHON) -m venv $(VENV)

# The installer itself, pinned and hash-checked like everything after it.
$(UV): $(REQ)/uv.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r $(REQ)/uv.txt
	touch $@

# The run group: what notebooks and the command line import.  The package is
# installed editable with the locked setuptools (no build-time download).  The
# named kernelspec goes inside .venv (--sys-prefix) so notebooks' kernel
# "reproduce" is this venv's Python on any machine, with no per-user state.
$(VENV)/.run: $(REQ)/run.txt $(REQ)/build.txt pyproject.toml | $(UV)
	$(INSTALL) -r $(REQ)/build.txt -r $(REQ)/run.txt
	UV_PYTHON_DOWNLOADS=never $(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation -e .
	$(PY) -m compileall -q reproduce
	$(PY) -m ipykernel install --sys-prefix --name reproduce --display-name "reproduce (.venv)" >/dev/null
	touch $@

# The compiled build of the model's hot modules (reproduce/perf/fast.py:
# mypyc, from the same sources, bit-identical results), which `import
# reproduce` then uses.  Built once per model version into
# .cache/compiled/<model version>/ (about 20-40 s on 2 cores) and reused,
# not rebuilt, while the model is unchanged.  Without a C compiler one line
# says that the Python sources run instead, and how much slower.
compiled: $(VENV)/.run
	@REPRODUCE_COMPILED=0 $(PY) -m reproduce.perf.fast build --if-possible

$(VENV)/.test: $(REQ)/test.txt $(VENV)/.run
	$(INSTALL) -r $(REQ)/test.txt
	touch $@

$(VENV)/.lab: $(REQ)/lab.txt $(VENV)/.run
	$(INSTALL) -r $(REQ)/lab.txt
	touch $@

$(VENV)/.bench: $(REQ)/bench.txt $(VENV)/.run
	$(INSTALL) -r $(REQ)/bench.txt
	touch $@

# Unit and property tests, then the committed notebooks re-executed and
# compared by nbval (only once notebooks exist).  Both on TEST_WORKERS
# pytest-xdist workers (default: one per core; TEST_WORKERS=0 runs in this
# process); --dist loadscope keeps a notebook's cells in order on one worker.
# --nbval-current-env runs them on this venv's Python whatever kernelspec a
# notebook names.
test: $(VENV)/.test compiled
	$(PY) -m pytest -n $(TEST_WORKERS) tests
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
		echo "$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope --nbval notebooks ..."; \
		$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope --nbval notebooks \
			--nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg; \
	else \
		echo "no notebooks/*.ipynb yet: nbval skipped"; \
	fi

# Fuzzing: random valid scenarios run with debug on, and malformed command
# lines and API values (FUZZ_EXAMPLES of each; FUZZ_RANDOM=1 draws new ones).
.PHONY: fuzz
FUZZ_EXAMPLES ?= 300
fuzz: $(VENV)/.test
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/test_fuzz.py -q

# Fits the calibration if the model changed, executes every notebook
# (papermill; figures/, data/results/), prints paper vs model and the verdict.
reproduce: $(VENV)/.run compiled
	$(PY) -m reproduce.cli.run_notebooks $(if $(QUICK),--only-stale,) $(if $(JOBS),--jobs $(JOBS),) $(NB)

# Executes nothing: were the committed outputs made from this tree?
check: $(VENV)/.run
	$(PY) -m reproduce.cli.run_notebooks --check $(NB)

lab: $(VENV)/.lab
	$(VENV)/bin/jupyter lab $(LAB_DIR) $(ROOT_ARGS) $(LAB_ARGS)

# The speed benchmark (reproduce.perf.speed): the speed table of
# docs/performance.md in one run, the compiled build (the default) and the
# Python sources against SimPy, salabim, the bare engine, the pure-Python
# floor and numba.  (Not `make bench`: reproduce/bench/ is the test bench the
# model runs, not this.)
speed: $(VENV)/.bench compiled
	$(PY) -m reproduce.perf.speed

# The compiled build, or the reason it cannot be made (an error, unlike
# `compiled`); a current build is kept.
fast: $(VENV)/.run
	REPRODUCE_COMPILED=0 $(PY) -m reproduce.perf.fast build

# Pages generated from the repository's data (docs/assumptions.md, and the
# results of docs/why-1.2.md from E8's tables).
docs: $(VENV)/.run
	$(PY) -m reproduce.report.assumptions
	$(PY) -m reproduce.report.why12

# Re-resolve the lock files from pyproject.toml's ranges (needs the network).
lock: $(UV)
	UV=$(CURDIR)/$(UV) $(REQ)/lock.sh

# Build and test debris; results, figures and notebooks are kept.
clean:
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +
	rm -rf .pytest_cache .hypothesis build *.egg-info

# clean, and the venv too: the next target starts from scratch.
distclean: clean
	rm -rf $(VENV)
