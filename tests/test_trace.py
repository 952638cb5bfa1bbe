"""The step-by-step trace: order, local derivatives, contributions, agreement with backward()."""

from __future__ import annotations

import math

import pytest

from autograd import Value, trace_backward


def test_trace_of_small_expression_step_by_step():
    a, b, c = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    loss = d.tanh()
    loss.label = "L"
    trace = trace_backward(loss)
    assert [s.label for s in trace] == ["L", "d", "e"]
    t = math.tanh(4.0)
    first = trace[0]
    assert first.grad == 1.0 and first.op == "tanh"
    (p,) = first.parents
    assert p.label == "d" and p.local_grad == pytest.approx(1 - t * t)
    assert p.rule == "d tanh(x)/dx = 1 - tanh(x)^2"
    last = trace[2]
    assert last.grad == pytest.approx(1 - t * t)
    pa, pb = last.parents
    assert (pa.label, pa.local_grad, pb.label, pb.local_grad) == ("a", -3.0, "b", 2.0)
    assert pa.contribution == pytest.approx(-3.0 * (1 - t * t))
    assert a.grad == pa.grad_after and b.grad == pb.grad_after
    assert "grad(a) += ∂e/∂a × grad(e)" in last.formula()


def test_trace_grad_after_counts_reused_parent_twice():
    a = Value(3.0, "a")
    b = a + a
    (step,) = trace_backward(b)
    assert [p.grad_after for p in step.parents] == [1.0, 2.0]
    assert a.grad == 2.0


def test_trace_rejects_non_value():
    with pytest.raises(TypeError, match="needs a Value"):
        trace_backward(3.0)
