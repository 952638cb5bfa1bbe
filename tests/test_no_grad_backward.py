"""no_grad() never gives a quiet zero: a backward through results recorded without a graph
raises, naming the node, and the functions that need a graph record their own in any mode."""

from __future__ import annotations

import math

import pytest

from autograd import GradcheckError, Value, grad, gradcheck, gradgradcheck, hessian, no_grad, ops


def test_backward_from_a_result_computed_under_no_grad_raises_naming_it():
    x = Value(3.0, "x")
    with no_grad():
        y = x * x
    y.label = "y"
    with pytest.raises(RuntimeError, match=r"node 'y' was computed under no_grad\(\)"):
        y.backward()
    assert x.grad == 0.0 and y.grad == 0.0  # nothing changed


def test_backward_reaching_only_no_grad_results_and_constants_raises():
    x = Value(3.0, "x")
    with no_grad():
        y = x.tanh()
    y.label = "y"
    z = y * 2.0 + 1.0
    blocked = r"only from results of no_grad\(\) \(such as node 'y'\)"
    with pytest.raises(RuntimeError, match=blocked):
        z.backward()
    with pytest.raises(RuntimeError, match="no_grad"):
        z.backward(create_graph=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        grad(z, [x], allow_unused=True)
    assert x.grad == 0.0


def test_a_no_grad_result_is_a_constant_in_a_graph_that_reaches_your_values():
    # As in PyTorch: d(y * x)/dx with y = x*x computed under no_grad is y (= 9), not 3 x^2.
    x = Value(3.0, "x")
    with no_grad():
        y = x * x
    (y * x).backward()
    assert x.grad == 9.0


def test_a_value_made_under_no_grad_is_an_ordinary_leaf():
    with no_grad():
        x = Value(2.0, "x")
    (x * x).backward()
    assert x.grad == 4.0


def test_hessian_inside_no_grad_is_the_true_hessian():
    # f = a^2 b: f_aa = 2b = 4, f_ab = 2a = 6, f_bb = 0 at (3, 2)
    with no_grad():
        h = hessian(lambda a, b: a * a * b, [3.0, 2.0])
    assert h == [[4.0, 6.0], [6.0, 0.0]]


def test_grad_with_create_graph_inside_no_grad_differentiates_again():
    x = Value(0.7, "x")
    y = x * x * x
    with no_grad():
        (g,) = grad(y, [x], create_graph=True)
        (h,) = grad(g, [x])
    assert (g.data, h.data) == pytest.approx((3 * 0.7**2, 6 * 0.7), rel=1e-15)


def test_gradgradcheck_inside_no_grad_really_checks(monkeypatch):
    x = Value(0.8, "x")
    with no_grad():
        assert gradgradcheck(lambda v: v.tanh() * v, [x])
    # A deliberately wrong second-derivative rule: d tanh/dx as a graph = 1 - x (not 1 - t^2).
    monkeypatch.setattr(ops.TANH, "local_graph", lambda out, v: (1.0 - v,))
    with no_grad(), pytest.raises(GradcheckError, match="second derivative mismatch"):
        gradgradcheck(lambda v: v.tanh() * v, [x])


def test_gradcheck_inside_no_grad_really_checks(monkeypatch):
    x = Value(0.3, "x")
    monkeypatch.setattr(ops.EXP, "local", lambda out, v: (1.0,))  # wrong: d e^x/dx = e^x
    with no_grad(), pytest.raises(GradcheckError, match="'x'"):
        gradcheck(lambda v: v.exp(), [x])


def _trained(inside_no_grad: bool) -> list[float]:
    # nn needs NumPy, which the engine's run under PyPy (tests/test_pypy.py) does without
    np = pytest.importorskip("numpy")
    from nn import MLP
    from nn.training import fit

    model = MLP(2, [3, 1], seed=0)
    xs = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    ys = np.array([1.0, 1.0, 0.0, 0.0])
    if inside_no_grad:
        with no_grad():
            fit(model, xs, ys, epochs=5, progress=False)
    else:
        fit(model, xs, ys, epochs=5, progress=False)
    return [p.data for p in model.parameters()]


def test_fit_inside_no_grad_trains_exactly_as_outside():
    inside, outside = _trained(True), _trained(False)
    from nn import MLP

    untouched = [p.data for p in MLP(2, [3, 1], seed=0).parameters()]
    assert inside == outside
    assert inside != untouched
    assert all(math.isfinite(p) for p in inside)
