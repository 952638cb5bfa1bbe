"""backward() semantics: accumulation, repeated calls, reuse, depth, no_grad, published results."""

from __future__ import annotations

import math
import sys
import warnings

import pytest

from autograd import NonFiniteWarning, Value, no_grad, topological_order
from autograd.grad_mode import is_grad_enabled


def test_micrograd_sanity_check_expression_matches_published_result():
    # micrograd's test_sanity_check; its published results (checked there against PyTorch):
    # y = -20, dy/dx = 46. By hand: z = 3x + 2 = -10, q = z*x = 40, h = z^2 = 100,
    # dy/dx = dh/dx + dq/dx (1 + x) + q = -60 + (-22)(-3) + 40 = 46.
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    assert y.data == -20.0
    assert x.grad == 46.0


def test_micrograd_more_ops_expression_matches_published_result():
    # micrograd's test_more_ops; published values (PyTorch): g = 24.70408163265306,
    # dg/da = 138.83381924198252, dg/db = 645.5772594752186.
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert g.data == pytest.approx(24.70408163265306, abs=1e-12)
    assert a.grad == pytest.approx(138.83381924198252, abs=1e-9)
    assert b.grad == pytest.approx(645.5772594752186, abs=1e-9)


def test_second_backward_doubles_leaf_grads():
    a, b = Value(1.5), Value(-0.5)
    h = (a * b).tanh()  # an intermediate node whose grad must not go stale
    y = h * h + a
    y.backward()
    first = (a.grad, b.grad)
    y.backward()
    assert (a.grad, b.grad) == (2 * first[0], 2 * first[1])
    # by hand: y = tanh(ab)^2 + a; dy/da = 2 t (1 - t^2) b + 1
    t = math.tanh(-0.75)
    assert first[0] == pytest.approx(2 * t * (1 - t * t) * -0.5 + 1)


def test_intermediate_grads_are_recomputed_not_accumulated():
    a = Value(2.0)
    h = a * 3.0
    y = h * h
    y.backward()
    y.backward()
    assert h.grad == 2 * h.data  # d(h^2)/dh = 2h, from this pass only
    assert y.grad == 1.0


def test_reused_node_gets_sum_of_both_paths():
    a = Value(3.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0
    a2 = Value(3.0)
    c = a2 * a2
    c.backward()
    assert a2.grad == 6.0


def test_diamond_graph_sums_paths():
    x = Value(0.7)
    u = x.exp()
    v = x * x  # a second path through x
    y = u * v
    y.backward()
    # y = e^x x^2 -> dy/dx = e^x x^2 + 2x e^x
    assert x.grad == pytest.approx(math.exp(0.7) * (0.49 + 1.4))


def test_backward_on_a_leaf_accumulates_one():
    a = Value(5.0)
    a.backward()
    a.backward()
    assert a.grad == 2.0


def test_million_node_chain_at_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y + 1e-6
    y.backward()
    assert x.grad == 1.0
    assert y.data == pytest.approx(2.0)


def test_no_grad_records_no_graph_and_restores_mode():
    a = Value(2.0)
    with no_grad():
        assert not is_grad_enabled()
        b = a * 3.0 + 1.0
        with no_grad():
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert b.is_leaf and b.parents == () and b.data == 7.0
    c = a * 3.0
    assert c.parents[0] is a


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(RuntimeError), no_grad():
        raise RuntimeError("boom")
    assert is_grad_enabled()


def test_no_grad_as_decorator():
    @no_grad()
    def evaluate(v: Value) -> Value:
        return v * 2.0

    assert evaluate(Value(1.0)).is_leaf
    assert is_grad_enabled()


def test_backward_through_nan_warns_naming_the_node():
    x = Value(float("nan"), "x")
    y = x * 2.0
    with pytest.warns(NonFiniteWarning, match="non-finite"):
        y.backward()


def test_backward_through_infinite_local_derivative_warns():
    x = Value(0.0, "x")
    y = x.sqrt()  # derivative 1/(2 sqrt(0)) is infinite
    with pytest.warns(NonFiniteWarning, match="'x'"):
        y.backward()
    assert x.grad == math.inf


def test_backward_through_saturated_infinite_input_warns():
    x = Value(math.inf, "x")
    y = x.sigmoid()  # data 1.0 and grad 0.0 are finite, but the input was not
    with pytest.warns(NonFiniteWarning):
        y.backward()


def test_gradient_that_overflows_between_finite_values_warns_naming_the_leaf():
    # Every value is finite (1e200, 1e-200, 1.0, 1e200); only b's gradient, 1e200 * 1e200,
    # is not. backward() finds it through the leaves' gradients.
    a, b = Value(1e200, "a"), Value(1e-200, "b")
    z = (a * b) * 1e200
    assert math.isfinite(z.data)
    with pytest.warns(NonFiniteWarning, match="'b'"):
        z.backward()
    assert b.grad == math.inf and a.grad == 1.0


def test_infinite_gradient_of_a_node_without_operands_warns():
    # An empty weighted sum is a node with no parents: its gradient reaches no leaf, so it
    # is checked on its own. Every value here is finite (0 * 1e200 * 1e200 = 0).
    from autograd import weighted_sum

    empty = weighted_sum([], [])
    empty.label = "empty"
    z = (empty * 1e200) * 1e200
    with pytest.warns(NonFiniteWarning, match="'empty'"):
        z.backward()
    assert empty.grad == math.inf


def test_finite_backward_does_not_warn():
    x = Value(0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x.exp() * x.tanh() / (x + 2.0)).backward()


def test_topological_order_is_stable_and_parents_first():
    def build():
        a, b = Value(1.0, "a"), Value(2.0, "b")
        c = a * b
        c.label = "c"
        d = c + a
        d.label = "d"
        return d

    order1 = [v.label for v in topological_order(build())]
    order2 = [v.label for v in topological_order(build())]
    assert order1 == order2 == ["a", "b", "c", "d"]


def test_backward_crash_leaves_every_grad_a_float(monkeypatch):
    # A crash inside backward must not leave the visited marker (None) in any grad.
    a = Value(1.0)
    y = (a * 2.0).exp()  # exp's rule is not inlined in the fast pass: backward calls op.local

    def boom(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(type(y._op), "local", property(lambda self: boom), raising=False)
    with pytest.raises(KeyboardInterrupt):
        y.backward()
    monkeypatch.undo()
    for node in topological_order(y):
        assert isinstance(node.grad, float)


def test_backward_visits_nodes_in_reverse_topological_order():
    # One order serves backward, the trace and the drawings.
    from autograd.backward import backpropagate
    from tests.randgraph import BINARY, UNARY

    x, y = Value(0.4, "x"), Value(-1.1, "y")
    nodes = [x, y]
    names = sorted(UNARY) + sorted(BINARY)
    for i, name in enumerate(names * 2):
        if name in UNARY:
            nodes.append(UNARY[name](nodes[(i * 7) % len(nodes)]))
        else:
            nodes.append(BINARY[name](nodes[(i * 5) % len(nodes)], nodes[(i * 3) % len(nodes)]))
    root = nodes[-1] + nodes[len(nodes) // 2]
    visited = backpropagate(root)
    expected = [v for v in reversed(topological_order(root)) if not v.is_leaf]
    assert [id(v) for v in visited] == [id(v) for v in expected]
