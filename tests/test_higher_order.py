"""Gradients of gradients: grad and backward with create_graph, hessian, gradgradcheck.

Every op's second and third derivatives are checked against closed forms (derived by hand in
the comments) and against central differences of the engine's derivative of one order less.
"""

from __future__ import annotations

import math
import warnings

import pytest

from autograd import (
    GradcheckError,
    Value,
    grad,
    gradcheck,
    gradgradcheck,
    hessian,
    no_grad,
    topological_order,
    trace_backward,
    weighted_sum,
)


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _derivative(f, x0: float, order: int) -> float:
    """d^order f / dx^order at x0 through the engine: grad of grad of ..., each with a graph."""
    x = Value(x0)
    y = f(x)
    for _ in range(order):
        (y,) = grad(y, [x], create_graph=True, allow_unused=True)
        if y is None:  # the previous derivative did not depend on x: all further ones are 0
            return 0.0
    return y.data


def _tanh_derivatives(x):
    # t' = 1 - t^2;  t'' = -2 t t';  t''' = -2 t'^2 - 2 t t'' = -2 t'^2 + 4 t^2 t'
    t = math.tanh(x)
    d1 = 1 - t * t
    return d1, -2 * t * d1, -2 * d1 * d1 + 4 * t * t * d1


def _sigmoid_derivatives(x):
    # s' = s(1-s);  s'' = s'(1-2s);  s''' = s''(1-2s) - 2 s'^2
    s = _sig(x)
    d1 = s * (1 - s)
    d2 = d1 * (1 - 2 * s)
    return d1, d2, d2 * (1 - 2 * s) - 2 * d1 * d1


# name, engine expression, closed forms (f', f'', f'''), points
UNARY = [
    ("neg", lambda x: -x, lambda x: (-1.0, 0.0, 0.0), [-1.5, 2.0]),
    ("exp", lambda x: x.exp(), lambda x: (math.exp(x),) * 3, [-1.0, 0.7]),
    ("log", lambda x: x.log(), lambda x: (1 / x, -1 / x**2, 2 / x**3), [0.3, 2.5]),
    ("tanh", lambda x: x.tanh(), _tanh_derivatives, [-0.8, 0.0, 1.2]),
    ("sigmoid", lambda x: x.sigmoid(), _sigmoid_derivatives, [-2.0, 0.5]),
    ("relu", lambda x: x.relu(), lambda x: (1.0 if x > 0 else 0.0, 0.0, 0.0), [-1.0, 1.3]),
    ("leaky_relu", lambda x: x.leaky_relu(0.1), lambda x: (1.0 if x > 0 else 0.1, 0.0, 0.0),
     [-1.0, 1.3]),
    ("sqrt", lambda x: x.sqrt(),
     lambda x: (0.5 * x**-0.5, -0.25 * x**-1.5, 0.375 * x**-2.5), [0.4, 3.0]),
    ("abs", lambda x: abs(x), lambda x: (math.copysign(1.0, x), 0.0, 0.0), [-1.0, 2.0]),
    ("softplus", lambda x: x.softplus(), lambda x: (_sig(x), *_sigmoid_derivatives(x)[:2]),
     [-1.5, 0.8]),
    ("square", lambda x: x**2, lambda x: (2 * x, 2.0, 0.0), [-1.5, 0.7]),
    ("cube", lambda x: x**3, lambda x: (3 * x**2, 6 * x, 6.0), [-1.5, 0.7]),
    ("reciprocal", lambda x: x**-1, lambda x: (-(x**-2), 2 * x**-3, -6 * x**-4), [-2.0, 0.6]),
    ("pow_half", lambda x: x**0.5, lambda x: (0.5 * x**-0.5, -0.25 * x**-1.5, 0.375 * x**-2.5),
     [0.4, 3.0]),
    ("pow_zero", lambda x: x**0, lambda x: (0.0, 0.0, 0.0), [0.0, 1.5]),
    ("pow_one", lambda x: x**1, lambda x: (1.0, 0.0, 0.0), [-0.5, 1.5]),
    ("rpow", lambda x: 2.0**x,
     lambda x: tuple(2.0**x * math.log(2.0) ** k for k in (1, 2, 3)), [-1.0, 1.5]),
    ("rdiv", lambda x: 3.0 / x, lambda x: (-3 / x**2, 6 / x**3, -18 / x**4), [-1.5, 0.8]),
    ("rsub", lambda x: 3.0 - x, lambda x: (-1.0, 0.0, 0.0), [0.5]),
    ("rmul", lambda x: 3.0 * x, lambda x: (3.0, 0.0, 0.0), [0.5]),
]


@pytest.mark.parametrize("name, expr, closed, points", UNARY, ids=[u[0] for u in UNARY])
def test_second_and_third_derivative_of_unary_op(name, expr, closed, points):
    eps = 1e-5
    for x0 in points:
        expected = closed(x0)
        for order in (1, 2, 3):
            engine = _derivative(expr, x0, order)
            assert engine == pytest.approx(expected[order - 1], rel=1e-10, abs=1e-12), (
                f"{name}: order {order} at {x0}"
            )
            kinked = name in ("relu", "leaky_relu", "abs", "pow_zero") and x0 == 0.0
            if order > 1 and not kinked:
                # central difference of the engine's derivative of one order less
                lower = [_derivative(expr, x0 + s * eps, order - 1) for s in (1, -1)]
                numeric = (lower[0] - lower[1]) / (2 * eps)
                assert engine == pytest.approx(numeric, rel=1e-5, abs=1e-6), (
                    f"{name}: order {order} at {x0} against finite differences"
                )


def _partials(f, a0: float, b0: float, path: str) -> float:
    """A mixed partial derivative through the engine, e.g. path 'aab' = d3 f / da da db."""
    a, b = Value(a0), Value(b0)
    y = f(a, b)
    for var in path:
        (y,) = grad(y, [a if var == "a" else b], create_graph=True, allow_unused=True)
        if y is None:
            return 0.0
    return y.data


# name, expression, closed forms of the partial derivatives by path, point
BINARY = [
    ("add", lambda a, b: a + b,
     lambda a, b: {"a": 1, "b": 1, "aa": 0, "ab": 0, "bb": 0, "aab": 0, "bbb": 0}),
    ("sub", lambda a, b: a - b,
     lambda a, b: {"a": 1, "b": -1, "aa": 0, "ab": 0, "bb": 0, "aab": 0, "bbb": 0}),
    ("mul", lambda a, b: a * b,
     lambda a, b: {"a": b, "b": a, "aa": 0, "ab": 1, "bb": 0, "aab": 0, "bbb": 0}),
    # a/b: d/db = -a/b^2, d2/db2 = 2a/b^3, d3/db3 = -6a/b^4, d2/dadb = -1/b^2, d3/da2db = 0
    ("div", lambda a, b: a / b,
     lambda a, b: {"a": 1 / b, "b": -a / b**2, "aa": 0, "ab": -1 / b**2, "bb": 2 * a / b**3,
                   "aab": 0, "bbb": -6 * a / b**4}),
    # a^b: d/da = b a^(b-1), d2/da2 = b(b-1)a^(b-2), d/db = a^b ln a, d2/db2 = a^b ln^2 a,
    # d2/dadb = a^(b-1)(1 + b ln a), d3/da2db = a^(b-2)((2b-1) + b(b-1) ln a), d3/db3 = a^b ln^3 a
    ("pow", lambda a, b: a**b,
     lambda a, b: {"a": b * a ** (b - 1), "b": a**b * math.log(a),
                   "aa": b * (b - 1) * a ** (b - 2), "ab": a ** (b - 1) * (1 + b * math.log(a)),
                   "bb": a**b * math.log(a) ** 2,
                   "aab": a ** (b - 2) * ((2 * b - 1) + b * (b - 1) * math.log(a)),
                   "bbb": a**b * math.log(a) ** 3}),
]


@pytest.mark.parametrize("name, expr, closed", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("a0, b0", [(1.5, 0.7), (0.4, -1.3)])
def test_second_and_third_partials_of_binary_op(name, expr, closed, a0, b0):
    eps = 1e-5
    expected = closed(a0, b0)
    for path, value in expected.items():
        engine = _partials(expr, a0, b0, path)
        assert engine == pytest.approx(value, rel=1e-10, abs=1e-12), f"{name} d/{path}"
        if len(path) > 1:
            # central difference in the last variable of the engine's partial one order lower
            da, db = (eps, 0.0) if path[-1] == "a" else (0.0, eps)
            up = _partials(expr, a0 + da, b0 + db, path[:-1])
            down = _partials(expr, a0 - da, b0 - db, path[:-1])
            assert engine == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-6)


def test_second_partials_of_weighted_sum():
    # y = w1 x1 + w2 x2 + b: d2y/dw_i dx_i = 1, every other second derivative 0
    h = hessian(lambda w1, w2, x1, x2, b: weighted_sum([w1, w2], [x1, x2], b),
                [0.3, -0.8, 1.1, 0.6, 0.2])
    expected = [[0.0] * 5 for _ in range(5)]
    for i in range(2):
        expected[i][2 + i] = expected[2 + i][i] = 1.0
    assert h == expected


def test_third_derivative_of_tanh_through_a_weighted_sum():
    # d3/dw3 tanh(w x) = x^3 t'''(w x)
    w, x = 0.7, -1.2
    third = _tanh_derivatives(w * x)[2] * x**3
    assert _derivative(lambda v: weighted_sum([v], [x]).tanh(), w, 3) == pytest.approx(
        third, rel=1e-12
    )


# -- the Hessian of a small network's loss -------------------------------------------------------

PARAMS = [0.5, -0.3, 0.8, 0.2, 0.1, -0.4, 1.2, -0.7, 0.05]  # w1(2x2), b1(2), w2(2), b2
X, T = (0.6, -1.1), 0.25


def _mlp_loss(*p):
    """A 2-2-1 tanh network's squared error on one example, built from Values."""
    w11, w12, w21, w22, b1, b2, v1, v2, c = p
    h1 = (w11 * X[0] + w12 * X[1] + b1).tanh()
    h2 = (w21 * X[0] + w22 * X[1] + b2).tanh()
    y = v1 * h1 + v2 * h2 + c
    return (y - T) ** 2


def _backward_gradient(values):
    params = [Value(v) for v in values]
    _mlp_loss(*params).backward()
    return [p.grad for p in params]


def test_hessian_of_a_2_2_1_tanh_network_matches_finite_differences_of_backward():
    h = hessian(_mlp_loss, PARAMS)
    eps = 1e-6
    for j in range(len(PARAMS)):
        up, down = list(PARAMS), list(PARAMS)
        up[j] += eps
        down[j] -= eps
        g_up, g_down = _backward_gradient(up), _backward_gradient(down)
        for i in range(len(PARAMS)):
            numeric = (g_up[i] - g_down[i]) / (2 * eps)
            assert h[i][j] == pytest.approx(numeric, rel=1e-5, abs=1e-7), (i, j)
    assert all(h[i][j] == pytest.approx(h[j][i], rel=1e-12, abs=1e-15)
               for i in range(9) for j in range(9))


def test_hessian_of_output_weights_by_hand():
    # d2L/dv1 dv2 = 2 h1 h2 and d2L/dc2 = 2: L = (v1 h1 + v2 h2 + c - t)^2
    h = hessian(_mlp_loss, PARAMS)
    h1 = math.tanh(0.5 * X[0] - 0.3 * X[1] + 0.1)
    h2 = math.tanh(0.8 * X[0] + 0.2 * X[1] - 0.4)
    assert h[6][7] == pytest.approx(2 * h1 * h2, rel=1e-14)
    assert h[8][8] == 2.0


def test_newton_step_minimises_a_quadratic_in_one_step():
    # f(a, b) = (a - 1)^2 + 3 (b + 2)^2 + a b: Newton from anywhere lands on the minimum
    def f(a, b):
        return (a - 1) ** 2 + 3 * (b + 2) ** 2 + a * b

    x = [0.0, 0.0]
    h = hessian(f, x)
    a, b = Value(x[0]), Value(x[1])
    ga, gb = grad(f(a, b), [a, b])
    det = h[0][0] * h[1][1] - h[0][1] * h[1][0]
    step = [(h[1][1] * ga.data - h[0][1] * gb.data) / det,
            (-h[1][0] * ga.data + h[0][0] * gb.data) / det]
    x = [x[0] - step[0], x[1] - step[1]]
    # the minimum by hand: 2(a-1) + b = 0 and 6(b+2) + a = 0, so b = 2 - 2a, 24 - 11a = 0:
    # a = 24/11, b = -26/11
    assert x == pytest.approx([24 / 11, -26 / 11], rel=1e-12)


# -- grad(): PyTorch's functional form ------------------------------------------------------------


def test_grad_returns_gradients_and_touches_no_grad():
    a, b = Value(2.0), Value(-3.0)
    a.grad, b.grad = 0.5, None
    y = a * b + a
    ga, gb = grad(y, [a, b])
    assert (ga.data, gb.data) == (-2.0, 2.0)  # d/da = b + 1, d/db = a
    assert ga.is_leaf and gb.is_leaf
    assert (a.grad, b.grad, y.grad) == (0.5, None, 0.0)


def test_grad_with_grad_outputs_and_several_outputs():
    x = Value(1.5)
    y1, y2 = x * x, x.exp()
    (g,) = grad([y1, y2], [x], grad_outputs=[2.0, -1.0])
    assert g.data == pytest.approx(2.0 * 3.0 - math.exp(1.5), rel=1e-15)


def test_grad_of_unused_input_is_an_error_or_none():
    x, z = Value(1.0, "x"), Value(2.0, "z")
    y = x * 3.0
    with pytest.raises(ValueError, match="'z'.*allow_unused"):
        grad(y, [x, z])
    gx, gz = grad(y, [x, z], allow_unused=True)
    assert gx.data == 3.0 and gz is None


def test_grad_with_respect_to_an_intermediate_node():
    x = Value(0.5)
    h = x * 4.0
    y = h.tanh()
    (gh,) = grad(y, [h])
    assert gh.data == pytest.approx(1 - math.tanh(2.0) ** 2, rel=1e-15)


def test_grad_rejects_bad_arguments_with_one_clear_line():
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"inputs\[0\] must be a Value"):
        grad(x * 2.0, [1.0])
    with pytest.raises(ValueError, match="1 grad_outputs for 2 outputs"):
        grad([x * 2.0, x * 3.0], [x], grad_outputs=[1.0])


def test_first_grad_without_create_graph_has_no_graph():
    x = Value(0.3)
    (g,) = grad(x.tanh(), [x])
    assert g.is_leaf


def test_gradient_graph_is_a_graph_of_values_that_trace_and_gradcheck_accept():
    x = Value(0.4, "x")
    (g,) = grad(x.tanh(), [x], create_graph=True)
    assert not g.is_leaf and x in topological_order(g)
    trace = trace_backward(g)
    t = math.tanh(0.4)
    assert x.grad == pytest.approx(-2 * t * (1 - t * t), rel=1e-14)  # d2 tanh/dx2
    assert trace[0].node is g
    assert gradcheck(lambda v: grad(v.tanh() * v, [v], create_graph=True)[0], [Value(0.9)])


def test_gradient_graph_can_be_drawn():
    from viz import draw

    x = Value(0.4, "x")
    (g,) = grad(x.sigmoid(), [x], create_graph=True)
    g.label = "dy/dx"
    source = draw(g).source
    assert "dy/dx" in source and "sigmoid" in source


def test_create_graph_records_the_gradient_graph_inside_no_grad_too():
    # As PyTorch: asking for create_graph is asking for a graph, whatever the caller's mode.
    x = Value(0.4)
    y = x.tanh()
    with no_grad():
        (g,) = grad(y, [x], create_graph=True)
    assert not g.is_leaf
    t = math.tanh(0.4)
    assert g.data == pytest.approx(1 - t**2, rel=1e-15)
    (h,) = grad(g, [x])  # d2 tanh/dx2 = -2 tanh (1 - tanh^2)
    assert h.data == pytest.approx(-2 * t * (1 - t**2), rel=1e-14)


# -- backward(create_graph=True) -----------------------------------------------------------------


def test_backward_create_graph_fills_the_same_floats_and_returns_gradient_graphs():
    a, b = Value(0.7), Value(-1.2)
    a2, b2 = Value(0.7), Value(-1.2)
    y = (a * b).tanh() * a + b.exp()
    graphs = y.backward(create_graph=True)
    ((a2 * b2).tanh() * a2 + b2.exp()).backward()
    assert (a.grad, b.grad) == pytest.approx((a2.grad, b2.grad), rel=1e-15)
    assert isinstance(a.grad, float)
    assert graphs[a].data == a.grad and graphs[b].data == b.grad
    # second derivative d2y/db2 from the graph of dy/db, by hand: y_b = t' a^2 + e^b,
    # y_bb = t'' a^3 + e^b with t = tanh(ab), t'' = -2 t (1 - t^2)
    t = math.tanh(0.7 * -1.2)
    (gbb,) = grad(graphs[b], [b])
    assert gbb.data == pytest.approx(-2 * t * (1 - t * t) * 0.7**3 + math.exp(-1.2), rel=1e-13)


def test_backward_create_graph_accumulates_like_backward():
    x = Value(1.5)
    x.grad = 2.0
    graphs = (x**3).backward(create_graph=True)
    assert x.grad == 2.0 + 3 * 1.5**2
    assert graphs[x].data == x.grad
    (second,) = grad(graphs[x], [x])
    assert second.data == 6 * 1.5  # the old 2.0 is a constant


def test_pytorch_idiom_second_derivative_by_backward_of_the_gradient_graph():
    x = Value(0.5)
    graphs = (x.exp() * x).backward(create_graph=True)
    x.grad = 0.0
    graphs[x].backward()
    # d2/dx2 (x e^x) = (x + 2) e^x
    assert x.grad == pytest.approx(2.5 * math.exp(0.5), rel=1e-14)


def test_backward_create_graph_warns_on_non_finite():
    x = Value(0.0, "x")
    with pytest.warns(Warning, match="non-finite"):
        x.sqrt().backward(create_graph=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Value(0.5).tanh().backward(create_graph=True)


# -- gradgradcheck -----------------------------------------------------------------------------


def test_gradgradcheck_passes_for_correct_ops():
    xs = [Value(0.3, "a"), Value(-1.2, "b"), Value(2.0, "c")]
    assert gradgradcheck(lambda a, b, c: (a * b).tanh() + c.log() * a.sigmoid() - b**2 / c, xs)


def test_gradgradcheck_names_the_pair_on_a_wrong_second_derivative(monkeypatch):
    from autograd import ops

    # a wrong graph rule for tanh: slope 1 - t (instead of 1 - t^2); floats stay right
    monkeypatch.setattr(ops.TANH, "local_graph", lambda out, x: (1.0 - out,))
    with pytest.raises(GradcheckError, match=r"second derivative.*'x'"):
        gradgradcheck(lambda x: x.tanh(), [Value(0.8, "x")])


def test_gradgradcheck_leaves_inputs_untouched():
    a = Value(0.5, "a")
    a.grad = 7.0
    gradgradcheck(lambda a: a.exp() * a, [a])
    assert (a.data, a.grad) == (0.5, 7.0)
