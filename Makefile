# One command each for the things a reader does: `make test`, `make reproduce`,
# `make lab`, `make bench`.  Each needs nothing but Python 3 on the machine:
# the first target that needs it creates .venv and installs the package there.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: all venv test reproduce lab bench fast clean distclean

all: test

venv: $(STAMP)

# Only when missing: re-running venv over a live one would be a no-op at
# best and would break a venv made by another Python at worst.
$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when pyproject.toml changes (dependencies, extras).  The named
# kernelspec goes inside .venv (--sys-prefix) so notebooks' kernel "reproduce"
# is this venv's Python on any machine, with no per-user state.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -e '.[test]'
	$(PY) -m ipykernel install --sys-prefix --name reproduce --display-name "reproduce (.venv)"
	touch $@

$(VENV)/.lab-installed: $(STAMP)
	$(PIP) install -e '.[lab]'
	touch $@

$(VENV)/.bench-installed: $(STAMP)
	$(PIP) install -e '.[bench]'
	touch $@

# Unit and property tests, then the committed notebooks re-executed and
# compared by nbval (only once notebooks exist).  --nbval-current-env runs
# them on this venv's Python whatever kernelspec a notebook names.
test: $(STAMP)
	$(PY) -m pytest tests
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
		echo "$(PY) -m pytest --nbval notebooks ..."; \
		$(PY) -m pytest --nbval notebooks --nbval-current-env \
			--nbval-sanitize-with tests/nbval_sanitize.cfg; \
	else \
		echo "no notebooks/*.ipynb yet: nbval skipped"; \
	fi

# Fuzzing: random valid scenarios run with debug on, and malformed command
# lines and API values (FUZZ_EXAMPLES of each; FUZZ_RANDOM=1 draws new ones).
.PHONY: fuzz
FUZZ_EXAMPLES ?= 300
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/test_fuzz.py -q

# Executes every notebook in place (papermill): figures/, data/results/.
reproduce: $(STAMP)
	$(PY) -m reproduce.harness.run_notebooks

lab: $(VENV)/.lab-installed
	$(VENV)/bin/jupyter lab notebooks

# The benchmark times the Python sources and, if it can be built, the
# compiled build (reproduce.perf.fast) too.
bench: $(VENV)/.bench-installed
	-$(PY) -m reproduce.perf.fast build
	$(PY) -m reproduce.perf.speed

# The optional compiled build of the hot modules (mypyc; needs a C compiler).
# Used when REPRODUCE_COMPILED=1, e.g. REPRODUCE_COMPILED=1 make reproduce.
fast: $(STAMP)
	$(PY) -m reproduce.perf.fast build

# Build and test debris; results, figures and notebooks are kept.
clean:
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +
	rm -rf .pytest_cache .hypothesis build *.egg-info

# clean, and the venv too: the next target starts from scratch.
distclean: clean
	rm -rf $(VENV)
