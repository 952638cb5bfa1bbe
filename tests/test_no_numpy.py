"""`autograd`, `nn` and the lesson path import and run without NumPy or the graphviz package.

The browser site runs stepgrad under Pyodide, which ships neither; each check runs in a fresh
interpreter in which importing numpy or graphviz fails, the way it fails there.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

BLOCK = "import sys\nsys.modules['numpy'] = None\nsys.modules['graphviz'] = None\n"


def _run(code: str) -> str:
    """Run ``code`` with numpy and graphviz unimportable; its stdout (fails on any error)."""
    done = subprocess.run(
        [sys.executable, "-c", BLOCK + textwrap.dedent(code)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_packages_and_lesson_modules_import_without_numpy_or_graphviz():
    out = _run(
        """
        import autograd, nn, viz
        import nn.lesson, nn.examples, nn.spec, nn.expression, nn.printed, nn.network
        import viz.sheet, viz.explain, viz.network_view, viz.quiz, viz.numbers
        from nn import build_example, Lesson, SpecError, parse_spec
        print(sorted(m for m in ("numpy", "graphviz") if sys.modules.get(m) is not None))
        """
    )
    assert out.strip() == "[]"


def test_lab_module_imports_without_numpy_or_graphviz():
    if not (REPO / "viz" / "lab.py").exists():
        pytest.fail("viz/lab.py is missing: the browser site has nothing to call")
    assert _run("import viz.lab\nprint('ok')").strip() == "ok"


def test_built_in_2_2_1_forward_and_backward_without_numpy():
    # the case study's network, recomputed here with plain math
    out = _run(
        """
        from nn import build_example
        lesson = build_example("2-2-1")
        lesson.loss.backward()
        nodes = lesson.nodes
        print(repr(nodes["y_hat"].data), repr(lesson.loss.data))
        w = {p.label: p for p in lesson.parameters}["W2[0]"]
        print(repr(w.grad))
        """
    )
    sig = lambda z: 1.0 / (1.0 + math.exp(-z))  # noqa: E731
    x, t = (0.5, 0.3), 0.8
    w1, b1 = ((0.5, 0.3), (0.2, 0.4)), (0.1, 0.2)  # w1[i][j]: input i -> unit j
    a1 = [sig(x[0] * w1[0][j] + x[1] * w1[1][j] + b1[j]) for j in range(2)]
    y = sig(a1[0] * 0.6 + a1[1] * 0.7 + 0.3)
    loss = (t - y) ** 2
    first, second = out.splitlines()
    y_engine, loss_engine = (float(v) for v in first.split())
    assert math.isclose(y_engine, y, rel_tol=1e-12)
    assert math.isclose(loss_engine, loss, rel_tol=1e-12)
    # dL/dW2[0] = -2 (t - y) * y (1 - y) * a1[0]
    assert math.isclose(float(second), -2 * (t - y) * y * (1 - y) * a1[0], rel_tol=1e-12)


def test_numpy_names_still_import_from_nn():
    # in a normal interpreter the lazy names resolve to the same objects as their modules'
    import nn
    import nn.data
    import nn.mlp
    import nn.numpy_mlp
    from nn import MLP, NumpyMLP, moons

    assert MLP is nn.mlp.MLP and NumpyMLP is nn.numpy_mlp.NumpyMLP and moons is nn.data.moons
    for name in nn.__all__:
        assert getattr(nn, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nn.nope  # noqa: B018


def test_viz_functions_are_not_shadowed_by_their_modules():
    import viz
    import viz.draw
    import viz.explain
    import viz.quiz
    import viz.render

    assert callable(viz.draw) and callable(viz.quiz) and callable(viz.render)
    assert callable(viz.explain)
    for name in viz.__all__:
        assert getattr(viz, name) is not None


def test_import_nn_does_not_load_numpy():
    out = subprocess.run(
        [sys.executable, "-c", "import sys, nn, viz; print('numpy' in sys.modules)"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "False", out.stderr
