"""The engine's tests pass under PyPy too: no result depends on the identity of a float or int.

PyPy compares built-in floats and ints by value under ``is`` (every 0.0 *is* every other 0.0),
so an engine that marked nodes with a fresh 0.0 gave all-zero gradients there, silently. This
runs the engine's own test files under Debian's ``pypy3`` (Python 3.9 language level; pytest and
hypothesis from Debian's packages). ``scripts/setup.sh --browser`` installs them, as CI does.
NumPy and Graphviz are not there under PyPy: tests needing them skip in that run, or are left out.
(tests/test_properties.py is left out for time: tests/test_reference_backward.py pins the fast
pass to the reference pass, which uses no mark, on random graphs.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PYPY = shutil.which("pypy3")

ENGINE_TESTS = [
    "tests/test_backward.py",
    "tests/test_ops.py",
    "tests/test_higher_order.py",
    "tests/test_gradcheck.py",
    "tests/test_trace.py",
    "tests/test_engine_trust.py",
    "tests/test_reference_backward.py",
    "tests/test_no_grad_backward.py",
]
NEEDS_GRAPHVIZ = ["tests/test_higher_order.py::test_gradient_graph_can_be_drawn"]


def _pypy_has_pytest() -> bool:
    probe = [PYPY, "-c", "import pytest, hypothesis"]
    return subprocess.run(probe, capture_output=True, timeout=60).returncode == 0


@pytest.mark.skipif(
    PYPY is None or sys.platform == "win32",
    reason="pypy3 is not installed (scripts/setup.sh --browser installs it, as CI does)",
)
def test_engine_tests_pass_under_pypy():
    assert _pypy_has_pytest(), (
        "pypy3 is installed but cannot import pytest and hypothesis: run scripts/setup.sh "
        "--browser (it installs python3-pytest, python3-hypothesis and their backports)"
    )
    deselect = [arg for test in NEEDS_GRAPHVIZ for arg in ("--deselect", test)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    run = subprocess.run(
        [PYPY, "-m", "pytest", "-q", "-p", "no:cacheprovider", *deselect, *ENGINE_TESTS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    tail = "\n".join(run.stdout.splitlines()[-30:])
    assert run.returncode == 0, f"the engine's tests fail under PyPy:\n{tail}\n{run.stderr[-2000:]}"
    assert " passed" in tail and "failed" not in tail
