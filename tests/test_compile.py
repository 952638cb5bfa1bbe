"""compile_graph: the program of a graph, run on new numbers, against backward() and plain math."""

from __future__ import annotations

import math
import warnings
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import NonFiniteWarning, Value, compile_graph, weighted_sum
from autograd import compile as compile_module
from autograd.compile import (
    DataDependentError,
    build_program,
    compile_value,
    identifier,
    make_function,
    write_program,
)
from tests import randgraph
from tests.randgraph import recipes

# Every op of the engine: randgraph's, plus the ones with a kink (no finite differences here, so
# they are welcome) and the constant-exponent family.
UNARY = {
    **randgraph.UNARY,
    "relu": lambda x: x.relu(),
    "abs": lambda x: abs(x),
    "leaky_relu": lambda x: x.leaky_relu(0.1),
    "cube": lambda x: x**3,
    "reciprocal": lambda x: (x * x + 1.0) ** -1,
    "rsub": lambda x: 2.0 - x,
    "rdiv": lambda x: 1.5 / (x * x + 0.5),
}
BINARY = dict(randgraph.BINARY)
steps = st.one_of(
    st.tuples(st.sampled_from(sorted(UNARY)), st.integers(0, 10**6)),
    st.tuples(st.sampled_from(sorted(BINARY)), st.integers(0, 10**6), st.integers(0, 10**6)),
)
all_op_recipes = st.tuples(
    st.lists(randgraph.floats, min_size=1, max_size=4), st.lists(steps, min_size=1, max_size=14)
)


def build(recipe, leaves):
    nodes = list(leaves)
    for s in recipe[1]:
        if len(s) == 2:
            nodes.append(UNARY[s[0]](nodes[s[1] % len(nodes)]))
        else:
            nodes.append(BINARY[s[0]](nodes[s[1] % len(nodes)], nodes[s[2] % len(nodes)]))
    return nodes[-1] + nodes[len(nodes) // 2] * 0.5


def engine(recipe, numbers, builder=build):
    leaves = [Value(x) for x in numbers]
    root = builder(recipe, leaves)
    root.backward()
    return root.data, [v.grad for v in leaves]


def close(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=1e-15, abs_tol=1e-300)


# -- against backward() on random graphs ---------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(all_op_recipes, st.lists(randgraph.floats, min_size=4, max_size=4))
def test_compiled_random_graphs_equal_backward_at_the_traced_and_at_new_points(recipe, new):
    xs = recipe[0]
    f = compile_graph(lambda *leaves: build(recipe, list(leaves)), *xs)
    for point in (xs, new[: len(xs)]):
        out, grads = f(*point)
        want_out, want_grads = engine(recipe, point)
        assert close(out, want_out)
        assert all(close(g, w) for g, w in zip(grads, want_grads)), (grads, want_grads)


@settings(max_examples=100, deadline=None)
@given(recipes)
def test_randgraph_graphs_compile_to_exactly_backwards_numbers(recipe):
    # Same operations in the same order as backward(): equal to the last bit.
    f = compile_graph(lambda *leaves: randgraph.build(recipe, list(leaves)), *recipe[0])
    out, grads = f(*recipe[0])
    want_out, want_grads = engine(recipe, recipe[0], randgraph.build)
    assert out == want_out
    assert list(grads) == want_grads


@settings(max_examples=60, deadline=None)
@given(st.lists(randgraph.floats, min_size=7, max_size=7), st.booleans())
def test_fused_weighted_sum_compiles_to_backwards_numbers(xs, bias):
    def graph(v):
        z = weighted_sum(v[:3], v[3:6], v[6] if bias else None)
        return (z.tanh() * v[0] + z).relu() + z * z

    leaves = [Value(x) for x in xs]
    root = graph(leaves)
    f = compile_value(root, leaves)
    root.backward()
    out, grads = f(*xs)
    assert out == root.data
    assert all(close(g, v.grad) for g, v in zip(grads, leaves))


@settings(max_examples=150, deadline=None)
@given(all_op_recipes, st.lists(randgraph.floats, min_size=4, max_size=4))
def test_a_batch_program_skipping_zero_gradients_gives_backwards_numbers(recipe, new):
    # The program that skips the shares of a zero gradient (a relu off, say): one row gives
    # backward()'s numbers; two rows give, to the last bit (but for the sign of a zero), the
    # sums of the program that skips nothing (pinned to backward() by the tests above).
    xs = recipe[0]
    leaves = [Value(x) for x in xs]
    program = build_program(build(recipe, leaves), leaves, accumulate=True)
    with mock.patch.object(compile_module, "MIN_SKIPPED", 1):  # every share that can be
        skipping = make_function(write_program(program, "batch", skip_zeros=True))
    plain = make_function(write_program(program, "batch"))
    rows = [tuple(xs), tuple(new[: len(xs)])]
    zeros = (0.0,) * len(xs)
    try:
        outs, _, grads, check = skipping((), rows, 1.0, zeros)
        (out,), _, row_grads, row_check = skipping((), rows[:1], 1.0, zeros)
    except (ArithmeticError, ValueError):
        return  # an op undefined at one of the points: fit hands such a batch to the engine
    if not math.isfinite(check + sum(grads) + row_check + sum(row_grads)):
        return  # the same: the engine takes it and warns
    want_out, want_grads = engine(recipe, rows[0])
    assert close(out, want_out)
    assert all(close(g, w) for g, w in zip(row_grads, want_grads)), (row_grads, want_grads)
    assert (outs, grads) == plain((), rows, 1.0, zeros)[:3:2]


def test_a_share_with_an_infinite_slope_is_never_skipped():
    # d sqrt(x)/dx is infinite at 0: times a zero gradient it is NaN (in PyTorch too), which
    # tells fit to hand the batch to the engine. Skipping it would give a quiet 0 instead.
    x, z = Value(0.0, "x"), Value(-1.0, "z")
    y = x.sqrt() * z.relu()
    program = build_program(y, [x, z], accumulate=True)
    with mock.patch.object(compile_module, "MIN_SKIPPED", 1):
        f = make_function(write_program(program, "batch", skip_zeros=True))
    _, _, (d_x, d_z), _ = f((), [(0.0, -1.0)], 1.0, (0.0, 0.0))
    assert math.isnan(d_x) and d_z == 0.0


def test_the_shares_of_a_relu_that_is_off_are_skipped_and_sum_to_the_hand_gradient():
    # y = sum_i v_i * relu(w_i * x + b_i): dy/dw_i = v_i * x where w_i*x + b_i > 0, else 0.
    w, b, v = [Value(1.5), Value(-2.0), Value(0.5), Value(3.0)], Value(0.25), Value(-1.0)
    x = Value(2.0, "x")
    units = [(wi * x + b).relu() for wi in w]
    y = weighted_sum([v, v, v, v], units)
    program = build_program(y, [*w, b, v, x], accumulate=True, wrt=[*w, b, v])
    source = write_program(program, "batch", shared=6, skip_zeros=True)
    assert "if d_" in source
    f = make_function(source)
    rows = [(2.0,), (-1.0,)]  # at x = 2, w[1]'s unit is off; at x = -1, all but w[1]'s are
    outs, _, grads, _ = f((1.5, -2.0, 0.5, 3.0, 0.25, -1.0), rows, 1.0, (0.0,) * 6)
    ws, bb, vv = (1.5, -2.0, 0.5, 3.0), 0.25, -1.0
    want = [0.0] * 6
    for (xx,) in rows:
        for i, wi in enumerate(ws):
            if wi * xx + bb > 0:
                want[i] += vv * xx
                want[4] += vv
                want[5] += wi * xx + bb
    assert outs == pytest.approx([vv * sum(max(0.0, wi * xx + bb) for wi in ws) for (xx,) in rows])
    assert grads == pytest.approx(tuple(want), rel=1e-15)


# -- against plain math -----------------------------------------------------------------------


def test_neuron_gradients_equal_the_hand_derivation():
    def neuron(x1, w1, x2, w2, b):
        return (x1 * w1 + x2 * w2 + b).tanh()

    f = compile_graph(neuron, 2.0, -3.0, 0.0, 1.0, 6.8814)
    for x1, w1, x2, w2, b in [(2.0, -3.0, 0.0, 1.0, 6.8814), (0.5, 1.5, -1.0, 0.25, -0.3)]:
        out, (d_x1, d_w1, d_x2, d_w2, d_b) = f(x1, w1, x2, w2, b)
        t = math.tanh(x1 * w1 + x2 * w2 + b)
        slope = 1.0 - t * t
        assert out == pytest.approx(t, rel=1e-15)
        assert (d_x1, d_w1, d_x2, d_w2, d_b) == pytest.approx(
            (w1 * slope, x1 * slope, w2 * slope, x2 * slope, slope), rel=1e-14
        )


def test_a_function_calling_weighted_sum_compiles_to_the_hand_derivation():
    def neuron(w1, w2, x1, x2, b):
        return weighted_sum([w1, w2], [x1, x2], b).tanh()

    f = compile_graph(neuron, 0.5, -1.0, 2.0, 0.3, 0.1)
    assert "    v1 = w1 * x1 + w2 * x2 + b" in f.source.splitlines()
    w1, w2, x1, x2, b = -0.7, 0.4, 1.5, -2.0, 0.25
    out, grads = f(w1, w2, x1, x2, b)
    t = math.tanh(w1 * x1 + w2 * x2 + b)
    slope = 1.0 - t * t
    assert out == pytest.approx(t, rel=1e-15)
    want = (x1 * slope, x2 * slope, w1 * slope, w2 * slope, slope)
    assert grads == pytest.approx(want, rel=1e-14)

    def branching(w, x):
        z = weighted_sum([w], [x])
        return z if z > 0 else -z

    with pytest.raises(DataDependentError):  # its result is traced too: a branch is still seen
        compile_graph(branching, 1.0, 2.0)


def test_source_names_the_inputs_and_labelled_nodes_and_states_each_rule():
    def neuron(x1, w1, b):
        z = x1 * w1 + b
        z.label = "z1[0]"
        a = z.sigmoid()
        a.label = "a1[0]"
        return a

    f = compile_graph(neuron, 0.5, 0.3, 0.1)
    lines = f.source.splitlines()
    assert "    z1_0 = x1 * w1 + b" in lines
    assert "    a1_0 = sigmoid(z1_0)" in lines
    slope = [ln for ln in lines if ln.strip().startswith("d_z1_0 =")]
    assert slope == [
        "    d_z1_0 = a1_0 * (1.0 - a1_0) * d_a1_0"
        "  # d sigmoid(x)/dx = sigmoid(x) * (1 - sigmoid(x))"
    ]
    a = 1.0 / (1.0 + math.exp(-(0.5 * 0.3 + 0.1)))
    out, grads = f(0.5, 0.3, 0.1)
    assert out == pytest.approx(a, rel=1e-15)
    assert grads == pytest.approx((0.3 * a * (1 - a), 0.5 * a * (1 - a), a * (1 - a)), rel=1e-14)


def test_source_runs_on_its_own_with_the_math_functions():
    f = compile_graph(lambda x, y: (x * y).exp() / (y * y + 1.0) + x.log(), 1.2, 0.4)
    namespace = {"exp": math.exp, "log": math.log}
    exec(f.source, namespace)  # noqa: S102 - our own generated text
    out, grads, _ = namespace["f"](1.2, 0.4)
    x, y = 1.2, 0.4
    assert out == pytest.approx(math.exp(x * y) / (y * y + 1.0) + math.log(x), rel=1e-15)
    dx = y * math.exp(x * y) / (y * y + 1) + 1 / x
    dy = x * math.exp(x * y) / (y * y + 1) - math.exp(x * y) * 2 * y / (y * y + 1) ** 2
    assert grads == pytest.approx((dx, dy), rel=1e-14)


def test_an_unused_input_gets_gradient_zero_and_a_constant_output_works():
    f = compile_graph(lambda x, y: x * 2.0, 1.0, 5.0)
    assert f(3.0, 7.0) == (6.0, (2.0, 0.0))
    g = compile_graph(lambda x: x, 4.0)
    assert g(-1.5) == (-1.5, (1.0,))


# -- the graph must not depend on the data ------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x * x if x.data > 0 else 3 * x,
        lambda x: x * x if x > 0 else 3 * x,
        lambda x: x.tanh() if float(x) < 1.0 else x,
        lambda x: x * x if (x * 2.0) else x,
        lambda x: max(x, x * 0.5),
        lambda x: x * x if x == 0.0 else x,
    ],
)
def test_a_data_dependent_graph_is_refused_in_one_line_while_tracing(fn):
    with pytest.raises(DataDependentError) as error:
        compile_graph(fn, 2.0)
    message = str(error.value)
    assert "\n" not in message and "compile_graph" in message


def test_the_branchless_form_of_a_branch_compiles():
    f = compile_graph(lambda x: (x * x - 3 * x).relu() + 3 * x, 2.0)  # x*x where it is larger
    assert f(5.0)[0] == 25.0 and f(1.0)[0] == 3.0
    assert f(5.0)[1] == (10.0,) and f(1.0)[1] == (3.0,)


# -- IEEE semantics, warnings and the engine's errors ------------------------------------------


def test_overflow_is_inf_with_the_right_sign_and_warns_as_the_engine_does():
    f = compile_graph(lambda x: x**3 + (x * 0.0).exp(), 2.0)
    with pytest.warns(NonFiniteWarning):
        out, (d,) = f(-1e200)
    assert out == -math.inf and d == math.inf
    g = compile_graph(lambda x: x.exp(), 0.0)
    with pytest.warns(NonFiniteWarning):
        assert g(1000.0) == (math.inf, (math.inf,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert g(0.0) == (1.0, (1.0,))


def test_bad_input_raises_the_engines_own_error():
    f = compile_graph(lambda x, y: (x * y).log() + 1.0 / (y - 2.0), 1.0, 3.0)
    x, y = Value(-1.0), Value(2.0)
    with pytest.raises(ValueError) as engine_error:
        (x * y).log()
    with pytest.raises(ValueError) as compiled_error:
        f(-1.0, 2.0)
    assert str(compiled_error.value) == str(engine_error.value)
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        f(1.0, 2.0)
    with pytest.raises(TypeError, match="takes 2 numbers"):
        f(1.0)
    with pytest.raises(TypeError, match="real number"):
        f(1.0, "2")


def test_labels_become_readable_identifiers():
    assert identifier("W1[0][1]") == "W1_0_1"
    assert identifier("ŷ") == "y_hat"
    assert identifier("δ2") == "delta2"
    assert identifier("net_h1") == "net_h1"
    assert identifier("x[0]*W1[0][0]") == ""
    assert identifier("lambda") == "lambda_"
    assert identifier("exp") == "exp_"


# -- docs/code.md ------------------------------------------------------------------------------


def test_docs_code_examples_run_and_show_the_source_they_print(capsys):
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "code.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 2
    exec(compile(blocks[0], "docs/code.md block 0", "exec"), {})  # its asserts check the math
    printed = capsys.readouterr().out
    shown = re.search(r"prints\n\n```\n(.*?)```", text, flags=re.S).group(1)
    assert printed.rstrip("\n") == shown.rstrip("\n")


def test_a_new_op_compiles_from_its_own_rule_with_no_change_to_the_compiler():
    # One definition: forward and derivative as expressions. Nothing else anywhere.
    from autograd.ops import Op
    from autograd.value import _unary

    softsign = Op(
        "softsign",
        rules=("d softsign(x)/dx = 1 / (1 + |x|)^2",),
        operands=("x",),
        forward="x / (1.0 + abs(x))",
        local=("1.0 / ((1.0 + abs(x)) * (1.0 + abs(x)))",),
    )
    x = Value(-0.8, "x")
    y = _unary(softsign, x * 2.0) + x
    f = compile_value(y, [x])
    assert "v1 = x * 2.0" in f.source and "/ (1.0 + abs(v1))" in f.source
    assert "# d softsign(x)/dx = 1 / (1 + |x|)^2" in f.source
    for x0 in (-0.8, 0.3, 2.5):
        u = 2.0 * x0
        out, (d,) = f(x0)
        assert out == pytest.approx(u / (1 + abs(u)) + x0, rel=1e-15)
        assert d == pytest.approx(2.0 / (1 + abs(u)) ** 2 + 1.0, rel=1e-15)


def test_a_new_masking_op_passes_exactly_0_where_its_slope_is_0_in_every_pass():
    # An op that masks (as relu does) with a slope that is an expression, not a branch: the
    # compiled program must test it for 0 as backward() does. ramp(x) = x * x for x > 0, else
    # 0; slope 2x there, 0 elsewhere: an infinite gradient arriving at x <= 0 passes 0.
    from autograd.ops import Op
    from autograd.value import _unary

    ramp = Op(
        "ramp",
        rules=("d ramp(x)/dx = 2x if x > 0 else 0",),
        operands=("x",),
        forward="x * x if x > 0.0 else 0.0",
        local=("2.0 * out ** 0.5 if out > 0.0 else out",),  # 0.0 (out) where it is off
        masks=True,
    )
    x = Value(-1.0, "x")
    y = _unary(ramp, x).sqrt()  # d sqrt/d ramp is infinite where ramp is 0
    program = make_function(write_program(build_program(y, [x])))  # the program itself
    out, (d,), check = program(-1.0)
    assert (out, d) == (0.0, 0.0) and math.isinf(check)  # 0, not 0 * inf = NaN; inf on the way
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteWarning)
        y.backward()
    assert x.grad == 0.0
    out, (d,), _ = program(3.0)  # sqrt(x²) = x: slope 1
    assert out == 3.0 and d == pytest.approx(1.0, rel=1e-15)


def test_a_deep_chain_compiles_and_an_op_too_wide_for_python_is_one_line():
    x = Value(0.1, "x")
    y = x
    for _ in range(3000):  # deeper than Python's recursion limit
        y = (y * 0.999).tanh()
    f = compile_value(y, [x])
    z, leaves = 0.2, None
    for _ in range(3000):
        z = math.tanh(z * 0.999)
    assert f(0.2)[0] == pytest.approx(z, rel=1e-12)
    leaves = [Value(0.001 * i) for i in range(3000)]
    wide = weighted_sum(leaves[:1500], leaves[1500:])
    with pytest.raises(ValueError, match="too deeply nested") as error:
        compile_value(wide, leaves)
    assert "\n" not in str(error.value)
