"""The attribution of a callgrind profile's instructions to the model's
modules (``reproduce/perf/callgrind.py``), on profiles written by hand in
callgrind's format."""
from __future__ import annotations

import sys

import pytest

from reproduce.perf import callgrind

# enter (kernel) runs 100 itself and calls a dictionary look-up (30) and
# vm's access (50 in all: 20 itself, 30 in the same look-up); a runtime
# function nobody calls (the interpreter's loop) runs 7.  Names are
# compressed as callgrind writes them: "(id) name" once, "(id)" after.
PROFILE = """\
version: 1
events: Ir
fl=(1) ???
fn=(1) CPyDef_kernel___Kernel___enter
0 100
cfn=(2) _Py_dict_lookup
calls=1 0
0 30
cfn=(3) CPyDef_vm___MemoryManager___access
calls=1 0
0 50
fn=(2)
0 30
fn=(3)
0 20
cfn=(2)
calls=1 0
0 30
fn=(2)
0 30
fn=(4) _PyEval_EvalFrameDefault
0 7
"""


def write(tmp_path, text):
    p = tmp_path / "callgrind.out"
    p.write_text(text)
    return p


def test_parse_reads_self_costs_and_calls(tmp_path):
    own, calls = callgrind.parse(write(tmp_path, PROFILE))
    assert own == {"CPyDef_kernel___Kernel___enter": 100, "_Py_dict_lookup": 60,
                   "CPyDef_vm___MemoryManager___access": 20, "_PyEval_EvalFrameDefault": 7}
    assert calls["_Py_dict_lookup"] == {"CPyDef_kernel___Kernel___enter": 30,
                                        "CPyDef_vm___MemoryManager___access": 30}


def test_runtime_cost_goes_to_the_callers_by_what_their_calls_cost(tmp_path):
    limit = sys.getrecursionlimit()
    by_module = callgrind.attribute(*callgrind.parse(write(tmp_path, PROFILE)))
    assert by_module == {"kernel": 130, "vm": 50, callgrind.UNATTRIBUTED: 7}
    assert sys.getrecursionlimit() == limit      # the caller's limit is back
    groups = callgrind.by_group(by_module)
    assert groups["memory (vm, mmu, tlb, cpu, memory, container)"] == 50
    assert sum(groups.values()) == 187          # every instruction counted once


def test_a_cycle_through_the_runtime_is_unattributed(tmp_path):
    # a and b (runtime) call each other, and nothing of the model calls them.
    text = """\
events: Ir
fn=(1) a
0 10
cfn=(2) b
calls=1 0
0 5
fn=(2)
0 5
cfn=(1)
calls=1 0
0 10
"""
    by_module = callgrind.attribute(*callgrind.parse(write(tmp_path, text)))
    assert by_module == {callgrind.UNATTRIBUTED: 15}


@pytest.mark.parametrize("fn, module", [
    ("CPyDef_kernel___Kernel____run_path", "kernel"),
    ("CPyPy_engine___Engine___run", "engine"),
    ("CPyDef_workload___system_thread_gen_____mypyc_generator_helper__", "workload"),
    ("CPyDef_workload____exp", "workload"),
    ("PyObject_Vectorcall", None)])
def test_module_of_a_compiled_function(fn, module):
    assert callgrind.module_of(fn) == module


def test_table_per_unit_and_a_missing_file(tmp_path, capsys):
    p = write(tmp_path, PROFILE)
    assert callgrind.main([str(p), "--per", "2", "--vs", str(p)]) == 0
    out = capsys.readouterr().out
    assert "| kernel entry path | 65 | 130 | -65 |" in out
    assert "| total | 94 | 187 | -94 |" in out
    with pytest.raises(SystemExit):
        callgrind.main([str(tmp_path / "nope.out")])
    assert "no such file" in capsys.readouterr().err



def test_separate_callers_count_the_work_to_the_first_model_function(tmp_path):
    """With ``--separate-callers`` a function's name carries its callers:
    its work goes to the first model function of that chain, whatever the
    call costs say (here they would have split the look-up evenly)."""
    text = """\
events: Ir
fn=(1) _Py_dict_lookup'PyDict_GetItemWithError'CPyDef_paths___p_fault'CPyPy_paths___p_fault
0 40
fn=(2) _Py_dict_lookup'2'CPyPy_sched___schedule
0 10
fn=(3) CPyDef_vm___MemoryManager___access'CPyDef_kernel___Kernel____touch
0 5
"""
    own, calls = callgrind.parse(write(tmp_path, text))
    assert callgrind.attribute(own, calls) == {"paths": 40, "sched": 10, "vm": 5}
    assert callgrind.attribute(own, calls, key=callgrind.owner) == {
        "CPyDef_paths___p_fault": 40, "CPyDef_sched___schedule": 10,
        "CPyDef_vm___MemoryManager___access": 5}


def test_functions_table(tmp_path, capsys):
    p = write(tmp_path, PROFILE)
    assert callgrind.main([str(p), "--functions", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2:] == ["| kernel___Kernel___enter | 130 |", "| vm___MemoryManager___access | 50 |"]
