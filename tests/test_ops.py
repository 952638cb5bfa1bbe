"""Every engine operation against its hand-written derivative and against central differences."""

from __future__ import annotations

import math

import pytest

from autograd import Value
from tests.numeric import central_difference


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# name, engine expression, the same function on floats, hand derivatives (one per input), points
UNARY = [
    ("neg", lambda x: -x, lambda x: -x, lambda x: -1.0, [-2.0, 0.5, 3.0]),
    ("exp", lambda x: x.exp(), math.exp, math.exp, [-2.0, 0.0, 1.5]),
    ("log", lambda x: x.log(), math.log, lambda x: 1.0 / x, [0.1, 1.0, 7.5]),
    ("tanh", lambda x: x.tanh(), math.tanh, lambda x: 1.0 - math.tanh(x) ** 2, [-1.3, 0.0, 0.7]),
    ("sigmoid", lambda x: x.sigmoid(), _sigmoid,
     lambda x: _sigmoid(x) * (1.0 - _sigmoid(x)), [-3.0, 0.0, 2.2]),
    ("relu", lambda x: x.relu(), lambda x: max(x, 0.0),
     lambda x: 1.0 if x > 0 else 0.0, [-1.5, 0.8, 4.0]),
    ("leaky_relu", lambda x: x.leaky_relu(0.1), lambda x: x if x > 0 else 0.1 * x,
     lambda x: 1.0 if x > 0 else 0.1, [-1.5, 0.8]),
    ("sqrt", lambda x: x.sqrt(), math.sqrt, lambda x: 0.5 / math.sqrt(x), [0.25, 2.0, 9.0]),
    ("abs", lambda x: abs(x), abs, lambda x: 1.0 if x > 0 else -1.0, [-2.5, 0.3]),
    ("softplus", lambda x: x.softplus(), lambda x: math.log(1.0 + math.exp(x)), _sigmoid,
     [-4.0, 0.0, 3.0]),
    ("square", lambda x: x**2, lambda x: x**2, lambda x: 2.0 * x, [-1.5, 0.0, 2.0]),
    ("cube", lambda x: x**3, lambda x: x**3, lambda x: 3.0 * x**2, [-1.5, 2.0]),
    ("reciprocal", lambda x: x**-1, lambda x: 1.0 / x, lambda x: -1.0 / x**2, [-2.0, 0.5]),
    ("pow_half", lambda x: x**0.5, math.sqrt, lambda x: 0.5 * x**-0.5, [0.5, 4.0]),
    ("radd", lambda x: 3.0 + x, lambda x: 3.0 + x, lambda x: 1.0, [1.0]),
    ("rsub", lambda x: 3.0 - x, lambda x: 3.0 - x, lambda x: -1.0, [1.0]),
    ("rmul", lambda x: 3.0 * x, lambda x: 3.0 * x, lambda x: 3.0, [1.0]),
    ("rdiv", lambda x: 3.0 / x, lambda x: 3.0 / x, lambda x: -3.0 / x**2, [1.5, -0.5]),
    ("rpow", lambda x: 2.0**x, lambda x: 2.0**x, lambda x: 2.0**x * math.log(2.0), [-1.0, 1.5]),
]

BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: a + b, (lambda a, b: 1.0, lambda a, b: 1.0)),
    ("sub", lambda a, b: a - b, lambda a, b: a - b, (lambda a, b: 1.0, lambda a, b: -1.0)),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, (lambda a, b: b, lambda a, b: a)),
    ("div", lambda a, b: a / b, lambda a, b: a / b,
     (lambda a, b: 1.0 / b, lambda a, b: -a / b**2)),
    ("pow", lambda a, b: a**b, lambda a, b: a**b,
     (lambda a, b: b * a ** (b - 1.0), lambda a, b: a**b * math.log(a))),
]
BINARY_POINTS = [(1.5, 2.0), (0.3, -1.2), (2.5, 0.7)]


@pytest.mark.parametrize("name, expr, f, df, points", UNARY, ids=[u[0] for u in UNARY])
def test_unary_op_matches_hand_derivative_and_finite_differences(name, expr, f, df, points):
    for x0 in points:
        x = Value(x0)
        y = expr(x)
        assert y.data == pytest.approx(f(x0), rel=1e-12, abs=1e-15)
        y.backward()
        assert x.grad == pytest.approx(df(x0), rel=1e-12, abs=1e-15), f"{name} at {x0}"
        if name not in ("relu", "leaky_relu", "abs") or x0 != 0.0:
            numeric = central_difference(f, [x0], 0)
            assert x.grad == pytest.approx(numeric, rel=1e-6, abs=1e-8), f"{name} at {x0}"


@pytest.mark.parametrize("name, expr, f, dfs", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("a0, b0", BINARY_POINTS)
def test_binary_op_matches_hand_derivative_and_finite_differences(name, expr, f, dfs, a0, b0):
    a, b = Value(a0), Value(b0)
    y = expr(a, b)
    assert y.data == pytest.approx(f(a0, b0), rel=1e-12)
    y.backward()
    for i, (leaf, df) in enumerate(zip((a, b), dfs)):
        assert leaf.grad == pytest.approx(df(a0, b0), rel=1e-12, abs=1e-15)
        assert leaf.grad == pytest.approx(central_difference(f, [a0, b0], i), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("x0", [-800.0, -40.0, 0.0, 40.0, 800.0])
def test_sigmoid_is_stable_for_large_inputs(x0):
    y = Value(x0).sigmoid()
    assert 0.0 <= y.data <= 1.0
    expected = 1.0 / (1.0 + math.exp(-x0)) if x0 > -700 else 0.0
    assert y.data == pytest.approx(expected, abs=1e-300)


def test_softplus_is_stable_for_large_inputs():
    assert Value(800.0).softplus().data == 800.0
    assert Value(-800.0).softplus().data == pytest.approx(0.0, abs=1e-300)


def test_relu_derivative_at_zero_is_zero_like_pytorch():
    x = Value(0.0)
    x.relu().backward()
    assert x.grad == 0.0


def test_abs_derivative_at_zero_is_zero():
    x = Value(0.0)
    abs(x).backward()
    assert x.grad == 0.0


def test_exp_overflow_gives_inf_not_an_exception():
    assert Value(1000.0).exp().data == math.inf


def test_integer_power_of_negative_base_is_allowed():
    x = Value(-2.0)
    y = x**3
    y.backward()
    assert y.data == -8.0
    assert x.grad == 12.0


def test_mixed_python_numbers_on_either_side():
    x = Value(2.0)
    y = 1 + x * 3 - 4 / x + x**2 + 2**x - (1 - x)
    y.backward()
    assert y.data == pytest.approx(1 + 6 - 2 + 4 + 4 - (1 - 2))
    # d/dx: 3 + 4/x^2 + 2x + 2^x ln2 + 1
    assert x.grad == pytest.approx(3 + 1 + 4 + 4 * math.log(2) + 1)


def test_int_and_numpy_scalars_are_accepted_as_data():
    np = pytest.importorskip("numpy")
    assert Value(3).data == 3.0 and type(Value(3).data) is float
    assert Value(np.float32(0.5)).data == 0.5
    assert Value(np.int64(7)).data == 7.0
    assert (Value(1.0) * np.float64(2.0)).data == 2.0


def test_parents_are_an_ordered_tuple_and_op_is_recorded():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    c = a - b
    assert c.parents == (a, b)
    assert isinstance(c.parents, tuple)
    assert c.op == "-"
    assert (b - a).parents == (b, a)
    assert a.parents == () and a.op == "" and a.is_leaf and not c.is_leaf


def test_each_node_describes_its_local_rule_and_gives_local_grads():
    x = Value(0.5, "x")
    t = x.tanh()
    assert t.local_rules() == ("d tanh(x)/dx = 1 - tanh(x)^2",)
    assert t.local_grads() == pytest.approx((1.0 - math.tanh(0.5) ** 2,))
    m = x * Value(3.0)
    assert m.local_grads() == (3.0, 0.5)
    assert m.local_rules() == ("d(a*b)/da = b", "d(a*b)/db = a")
    assert x.local_grads() == () and x.local_rules() == ()
    assert (x**2).op == "**2" and (x**-1).op == "**-1"


@pytest.mark.parametrize("with_bias", [True, False])
def test_weighted_sum_matches_hand_derivatives_and_its_own_local_rule(with_bias):
    from autograd import trace_backward, weighted_sum

    w0, x0 = [0.5, -1.25, 2.0], [1.5, 0.25, -0.75]

    def build():
        ws = [Value(v) for v in w0]
        xs = [Value(v) for v in x0]
        b = Value(0.3) if with_bias else None
        return ws, xs, b, weighted_sum(ws, xs, b).tanh()

    ws, xs, b, y = build()
    y.backward()  # the inlined fast path
    z = sum(w * x for w, x in zip(w0, x0)) + (0.3 if with_bias else 0.0)
    dz = 1.0 - math.tanh(z) ** 2
    assert y.data == pytest.approx(math.tanh(z), rel=1e-15)
    assert [w.grad for w in ws] == pytest.approx([x * dz for x in x0], rel=1e-15)
    assert [x.grad for x in xs] == pytest.approx([w * dz for w in w0], rel=1e-15)
    if with_bias:
        assert b.grad == pytest.approx(dz, rel=1e-15)
    ws2, xs2, b2, y2 = build()
    trace_backward(y2)  # the generic path through Op.local
    assert [v.grad for v in ws2 + xs2] == [v.grad for v in ws + xs]


# -- each op is one definition: the inlined fast paths are the same rule ---------------------------


def _all_ops():
    from autograd import ops

    named = [getattr(ops, n) for n in dir(ops) if isinstance(getattr(ops, n), ops.Op)]
    return named + [ops.power_op(3.0), ops.leaky_relu_op(0.1), ops.weighted_sum_op(2, True)]


def test_every_op_has_forward_derivatives_and_rules_side_by_side():
    for op in _all_ops():
        assert callable(op.forward) and callable(op.local) and callable(op.local_graph), op
        assert op.rules and all(isinstance(r, str) and "/d" in r for r in op.rules), op


def test_inlined_forward_of_add_sub_mul_div_is_the_ops_own_rule():
    from autograd import ops

    for x, y in [(0.1, 0.2), (-3.5, 1e-300), (1e308, 10.0), (2.0, -0.0)]:
        a, b = Value(x), Value(y)
        assert (a + b).data == ops.ADD.forward(x, y)
        assert (a - b).data == ops.SUB.forward(x, y)
        assert (a * b).data == ops.MUL.forward(x, y)
        if y != 0.0:
            assert (a / b).data == ops.DIV.forward(x, y)


def test_inlined_backward_of_add_mul_weighted_sum_is_the_ops_own_rule():
    # backward() inlines ADD.local, MUL.local and weighted_sum's local for speed; the trace
    # goes through op.local. Same graph both ways: the gradients must agree to the last bit.
    from autograd import trace_backward, weighted_sum

    def build():
        a, b, c = Value(0.7), Value(-1.3), Value(2.9)
        y = weighted_sum([a, b], [c, a], b) * (a + c) * b + a
        return [a, b, c], y

    fast, y1 = build()
    y1.backward()
    slow, y2 = build()
    trace_backward(y2)
    assert [v.grad for v in fast] == [v.grad for v in slow]


def test_weighted_sum_inlined_forward_is_the_ops_own_rule():
    from autograd import ops, weighted_sum

    ws, xs, b = [0.1, -2.5, 3.25], [1.5, 0.3, -0.7], 0.05
    y = weighted_sum([Value(w) for w in ws], xs, Value(b))
    assert y.data == ops.weighted_sum_op(3, True).forward(*ws, *xs, b)


def test_every_ops_graph_derivative_has_the_float_derivatives_value():
    # local (floats, for backward()) and local_graph (Values, for create_graph) of each op, at
    # points inside its domain, give the same numbers.
    from autograd import ops

    cases = [
        (ops.ADD, (0.3, -1.2)), (ops.SUB, (0.3, -1.2)), (ops.MUL, (0.3, -1.2)),
        (ops.DIV, (0.3, -1.2)), (ops.POW, (1.7, -0.6)), (ops.NEG, (0.4,)), (ops.EXP, (0.4,)),
        (ops.LOG, (0.4,)), (ops.TANH, (0.4,)), (ops.SIGMOID, (-0.4,)), (ops.RELU, (0.4,)),
        (ops.RELU, (-0.4,)), (ops.SQRT, (0.4,)), (ops.ABS, (-0.4,)), (ops.SOFTPLUS, (0.4,)),
        (ops.power_op(3.0), (-0.4,)), (ops.power_op(0.5), (0.4,)), (ops.power_op(0.0), (0.0,)),
        (ops.leaky_relu_op(0.1), (-0.4,)),
        (ops.weighted_sum_op(2, True), (0.1, 0.2, 0.3, 0.4, 0.5)),
    ]
    for op, xs in cases:
        out = op.forward(*xs)
        floats = list(op.local(out, *xs))
        values = [Value(x) for x in xs]
        graph = op.local_graph(Value(out), *values)
        as_numbers = [g.data if isinstance(g, Value) else g for g in graph]
        assert as_numbers == pytest.approx(floats, rel=1e-15, abs=1e-300), op
