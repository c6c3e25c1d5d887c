"""A quick command line call stays quick: pandas, matplotlib, seaborn and tqdm
are imported where they are used, not when the command line starts.

Each check runs in a fresh interpreter (``sys.modules`` of this test process
already holds everything the other tests imported)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("pandas", "matplotlib", "seaborn", "tqdm")


def loaded_after(code: str) -> set[str]:
    """The heavy top-level packages in ``sys.modules`` after running *code*
    in a fresh interpreter."""
    probe = (f"{code}\nimport sys, json\n"
             f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_imports_no_heavy_package():
    assert loaded_after("import reproduce.cli") == set()


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["simulate", "--help"],
                                  ["cache", "info", "--json"], ["sweep", "--help"]])
def test_quick_commands_import_no_heavy_package(argv, tmp_path):
    """The parser reads its choices from the model (reproduce.bench.scenario),
    and ``cache info`` reads the model version: neither may pull in pandas."""
    if argv[0] == "cache":
        argv = [*argv, "--cache-dir", str(tmp_path)]
    code = ("import contextlib, io\nfrom reproduce import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    code = cli.main({argv!r})\n"
            "assert code == 0, code")
    assert loaded_after(code) == set()


def test_simulate_json_imports_no_heavy_package():
    """``reproduce simulate --json`` answers from the run's rows: the tables
    that need pandas are made only when something reads them."""
    code = ("import contextlib, io\nfrom reproduce import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    code = cli.main(['simulate', '--json', '--workload', 'synthetic', '--horizon',"
            " '200000', '--uncalibrated'])\n"
            "assert code == 0, code")
    assert loaded_after(code) == set()


def test_building_a_sweep_grid_imports_no_heavy_package():
    code = ("from reproduce.bench.sweep import grid\n"
            "from reproduce.bench.scenario import Scenario\n"
            "assert len(grid(Scenario(), cpus=[1, 2])) == 2")
    assert loaded_after(code) == set()


def test_a_simulation_still_gets_its_tables():
    """pandas comes in with the first result that needs it (the lock_stat
    table), and the result is a DataFrame as before."""
    code = ("from reproduce.bench.run import simulate\n"
            "from reproduce.bench.scenario import Scenario\n"
            "r = simulate(Scenario(workload='synthetic', calibrated=False, horizon=200_000))\n"
            "assert type(r.by_entry).__name__ == 'DataFrame'")
    assert loaded_after(code) == {"pandas"}


def test_version_names_the_package_and_the_model():
    from reproduce.version import model_version
    done = subprocess.run([sys.executable, "-m", "reproduce", "--version"], capture_output=True,
                          text=True)
    assert done.returncode == 0
    assert done.stdout.startswith("reproduce ") and f"model {model_version()}" in done.stdout


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="counts threads in /proc")
@pytest.mark.parametrize("given, expected", [(None, "1"), ("2", "2")])
def test_numpy_gets_one_blas_thread_unless_the_environment_says(given, expected):
    """The package asks OpenBLAS for one thread before numpy starts its
    pool (whose spinning threads cost a short run a third of its CPU); a
    value the user set is kept.  OpenBLAS's pool is its threads beside the
    main one, so the process has as many threads as it was asked for (at
    most one per core)."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    code = ("import os, reproduce, numpy\n"
            "threads = [l.split()[1] for l in open('/proc/self/status') if l.startswith('Threads:')]\n"
            "print(os.environ['OPENBLAS_NUM_THREADS'], threads[0])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True)
    threads = min(int(expected), os.cpu_count() or 1)
    assert done.stdout.split() == [expected, str(threads)]
