"""The experiment registry is a plain table: every experiment is listed in
reproduce/experiments/registry.py, and importing an experiment module
registers nothing."""
from __future__ import annotations

import ast
import inspect

from reproduce.experiments import beyond, e8, paper, registry
from reproduce.experiments.registry import EXPERIMENTS

ORDER = ["E1", "E2", "E2S", "E3", "E4", "E5", "E6", "E7", "S1", "S2", "S3", "S4", "S5", "S6",
         "L1", "L2", "L3", "E8"]


def test_every_experiment_is_listed_in_order():
    assert list(EXPERIMENTS) == ORDER
    for name, e in EXPERIMENTS.items():
        assert e.name == name and e.title
        assert e.fn.__module__ in (paper.__name__, beyond.__name__, e8.__name__), name


def test_no_experiment_module_registers_itself():
    """No module-level call in an experiment module (a register(...) or a
    decorator would be one): what exists is what the registry lists."""
    for mod in (paper, beyond, e8):
        tree = ast.parse(inspect.getsource(mod))
        calls = [n for n in tree.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
        assert not calls, mod.__name__
        decorated = [f.name for f in tree.body if isinstance(f, ast.FunctionDef)
                     and any("regist" in ast.unparse(d) for d in f.decorator_list)]
        assert not decorated, (mod.__name__, decorated)
    assert not hasattr(registry, "register")
