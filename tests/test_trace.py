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


def test_trace_of_a_second_pass_prints_what_grad_holds_afterwards():
    # After y.backward(), leaves hold a gradient; the traced second pass must not print a
    # number that disagrees with .grad afterwards (leaves accumulate).
    x, w, b = Value(0.5, "x"), Value(-1.5, "w"), Value(0.3, "b")
    (w * x + b).sigmoid().backward()
    s = 1.0 / (1.0 + math.exp(0.45))
    first = {"x": -1.5 * s * (1 - s), "w": 0.5 * s * (1 - s), "b": s * (1 - s)}
    trace = trace_backward((w * x + b).tanh())
    dt = 1.0 - math.tanh(-0.45) ** 2  # this pass: d tanh(z)/dz, times w, x, 1
    this_pass = {"x": -1.5 * dt, "w": 0.5 * dt, "b": dt}
    for leaf in (x, w, b):
        assert leaf.grad == pytest.approx(first[leaf.label] + this_pass[leaf.label], rel=1e-14)
        (line,) = [ln for s_ in trace for ln in s_.formula().splitlines()
                   if ln.startswith(f"  grad({leaf.label}) +=")]
        arrow = float(line.split("→ ")[1].split()[0])
        assert arrow == float(f"{leaf.grad:.6g}")
        old, new = first[leaf.label], this_pass[leaf.label]
        assert f"{old:.6g} before this pass + {new:.6g} from it" in line
    (pb,) = [p for step in trace for p in step.parents if p.node is b]
    assert (pb.grad_after, pb.pass_grad, pb.grad_before_pass) == (b.grad, pytest.approx(dt),
                                                                  pytest.approx(first["b"]))


def test_trace_from_zero_grads_prints_no_earlier_part():
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    (step,) = trace_backward(a * b)
    assert "before this pass" not in step.formula()
    assert [p.grad_after for p in step.parents] == [-3.0, 2.0] == [a.grad, b.grad]
