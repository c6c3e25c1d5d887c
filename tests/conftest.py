"""The unit tests run the Python sources, the reference (unless the
environment asks otherwise): they plant broken subclasses of model classes
and pass values of the wrong type to check the errors, which the compiled
build, whose classes are closed and whose functions check their argument
types, does not allow.  The compiled build's results are held to the
sources' bit for bit by tests/test_fast.py (and the notebooks run on it).
Set before the package is first imported; subprocesses inherit it."""
import os

os.environ.setdefault("REPRODUCE_COMPILED", "0")
