"""nn.expression: formulas parsed by a whitelist into labelled graphs, checked with plain math."""

from __future__ import annotations

import math

import pytest

from autograd import Value, topological_order
from nn.expression import ExpressionError, parse_bindings, parse_expression

# ---------------------------------------------------------------------------------------------
# The micrograd lecture's neuron
# ---------------------------------------------------------------------------------------------

LECTURE = {"x1": 2.0, "w1": -3.0, "x2": 0.0, "w2": 1.0, "b": 6.8814}


def test_the_lecture_neuron_gives_the_lectures_numbers():
    # The lecture's own figures: o = 0.7071, dL/dx1 = -1.5, dL/dw1 = 1.0, dL/dx2 = 0.5, dL/dw2 = 0.
    expression = parse_expression("tanh(x1*w1 + x2*w2 + b)")
    leaves = expression.leaves(LECTURE)
    out = expression.build(leaves)
    out.backward()
    assert round(out.data, 4) == 0.7071
    grads = {name: round(leaf.grad, 2) for name, leaf in leaves.items()}
    assert grads == {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5}


def test_the_lecture_neuron_matches_the_hand_derivation():
    v = LECTURE
    n = v["x1"] * v["w1"] + v["x2"] * v["w2"] + v["b"]
    o = math.tanh(n)
    dn = 1 - o**2  # d tanh(n)/dn
    expected = {"x1": v["w1"] * dn, "w1": v["x1"] * dn, "x2": v["w2"] * dn, "w2": v["x2"] * dn}
    expected["b"] = dn
    expression = parse_expression("tanh(x1*w1 + x2*w2 + b)")
    leaves = expression.leaves(v)
    out = expression.build(leaves)
    out.backward()
    assert out.data == pytest.approx(o, abs=1e-15)
    for name, grad in expected.items():
        assert leaves[name].grad == pytest.approx(grad, abs=1e-15), name


def test_every_node_is_labelled_like_the_formula():
    out = parse_expression("tanh(x1*w1 + x2*w2 + b)").build(LECTURE)
    labels = [node.label for node in topological_order(out)]
    assert sorted(labels) == sorted(
        [
            "x1",
            "w1",
            "x1*w1",
            "x2",
            "w2",
            "x2*w2",
            "x1*w1 + x2*w2",
            "b",
            "x1*w1 + x2*w2 + b",
            "tanh(x1*w1 + x2*w2 + b)",
        ]
    )
    assert out.label == "tanh(x1*w1 + x2*w2 + b)"


def test_names_in_order_of_first_appearance_and_normalised_text():
    expression = parse_expression("  tanh( x1 *w1+x2*  w2 + b ) ")
    assert expression.names == ("x1", "w1", "x2", "w2", "b")
    assert str(expression) == "tanh(x1*w1 + x2*w2 + b)"
    assert expression.text == "  tanh( x1 *w1+x2*  w2 + b ) "


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("(a+b)*c", "(a + b)*c"),
        ("a-(b-c)", "a - (b - c)"),
        ("a-b-c", "a - b - c"),
        ("a+(b+c)", "a + (b + c)"),
        ("a/(b*c)", "a/(b*c)"),
        ("a/b*c", "a/b*c"),
        ("-x**2", "-x**2"),
        ("(-x)**2", "(-x)**2"),
        ("(-3)**x", "(-3)**x"),
        ("x**-1", "x**-1"),
        ("a**b**c", "a**b**c"),
        ("(a**b)**c", "(a**b)**c"),
        ("x - -y", "x - -y"),
        ("+(a+b)*c", "(a + b)*c"),
        ("-(a*b)", "-(a*b)"),
        ("leaky_relu(x,0.1)", "leaky_relu(x, 0.1)"),
        ("1e3*x", "1e3*x"),
        ("exp(-x)/2", "exp(-x)/2"),
    ],
)
def test_labels_keep_the_parentheses_the_structure_needs(text, normalised):
    assert str(parse_expression(text)) == normalised
    # the normalised text is itself a formula with the same meaning and the same label
    assert str(parse_expression(normalised)) == normalised


# ---------------------------------------------------------------------------------------------
# Values and gradients against plain math and finite differences
# ---------------------------------------------------------------------------------------------


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


# (formula, values, the same formula written with math)
CASES = [
    ("x*y + z", {"x": 1.5, "y": -2.0, "z": 0.25}, lambda x, y, z: x * y + z),
    ("a - b/c", {"a": 0.3, "b": 2.0, "c": -0.7}, lambda a, b, c: a - b / c),
    ("x**3 - 2*x", {"x": 1.3}, lambda x: x**3 - 2 * x),
    ("x**y", {"x": 1.7, "y": 0.6}, lambda x, y: x**y),
    ("2**x", {"x": -0.4}, lambda x: 2**x),
    ("-x**2 + x**-1", {"x": 0.8}, lambda x: -(x**2) + x**-1),
    ("(a + b)*(a - b)", {"a": 0.9, "b": -0.35}, lambda a, b: (a + b) * (a - b)),
    ("exp(x)*log(y)", {"x": 0.2, "y": 3.5}, lambda x, y: math.exp(x) * math.log(y)),
    ("sigmoid(w*x + b)", {"w": 0.7, "x": -1.2, "b": 0.1}, lambda w, x, b: _sigmoid(w * x + b)),
    ("sqrt(x*x + y*y)", {"x": 3.0, "y": -4.0}, lambda x, y: math.sqrt(x * x + y * y)),
    ("softplus(x) - relu(y)", {"x": -0.6, "y": 1.1}, lambda x, y: math.log1p(math.exp(x)) - y),
    ("abs(x - y)/2", {"x": 0.2, "y": 0.9}, lambda x, y: abs(x - y) / 2),
    ("leaky_relu(x, 0.1) + leaky_relu(y)", {"x": -2.0, "y": 0.5}, lambda x, y: 0.1 * x + y),
    ("tanh(tanh(x))", {"x": 0.45}, lambda x: math.tanh(math.tanh(x))),
    ("x*x*x", {"x": -1.1}, lambda x: x * x * x),
    ("+x - -y", {"x": 2.0, "y": 3.0}, lambda x, y: x + y),
    ("0.5*(t - o)**2", {"t": 0.01, "o": 0.75136507}, lambda t, o: 0.5 * (t - o) ** 2),
]


@pytest.mark.parametrize(("text", "values", "f"), CASES, ids=[c[0] for c in CASES])
def test_value_and_gradients_match_math_and_finite_differences(text, values, f):
    expression = parse_expression(text)
    assert set(expression.names) == set(values)
    leaves = expression.leaves(values)
    out = expression.build(leaves)
    out.backward()
    assert out.data == pytest.approx(f(**values), rel=1e-12, abs=1e-15)
    h = 1e-6
    for name in values:
        up, down = dict(values), dict(values)
        up[name] += h
        down[name] -= h
        slope = (f(**up) - f(**down)) / (2 * h)
        assert leaves[name].grad == pytest.approx(slope, rel=1e-6, abs=1e-8), name


def test_a_name_used_twice_is_one_leaf_that_collects_both_paths():
    leaves = parse_expression("x*x").leaves({"x": 3.0})
    out = parse_expression("x*x").build(leaves)
    out.backward()
    assert out.data == 9.0
    assert leaves["x"].grad == 6.0  # d(x^2)/dx = 2x
    assert out.parents == (leaves["x"], leaves["x"])


def test_constants_are_leaves_labelled_with_their_number_and_exponents_belong_to_the_op():
    out = parse_expression("3*x**2 - -1.5").build({"x": 2.0})
    assert out.data == 3 * 2.0**2 + 1.5
    leaves = [node for node in topological_order(out) if node.is_leaf]
    assert sorted(node.label for node in leaves) == ["-1.5", "3", "x"]
    power = next(node for node in topological_order(out) if node.label == "x**2")
    assert power.op == "**2" and len(power.parents) == 1


def test_values_may_be_given_as_values_and_by_keyword():
    x = Value(2.0)
    out = parse_expression("x*y")(x=x, y=4)
    out.backward()
    assert x.label == "x" and x.grad == 4.0


def test_a_lone_name_or_number_is_its_own_graph():
    assert parse_expression("x").build({"x": 1.25}).data == 1.25
    number = parse_expression("-2.5").build({})
    assert (number.data, number.label) == (-2.5, "-2.5")


# ---------------------------------------------------------------------------------------------
# Bad formulas: one line each, with the column
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "problem"),
    [
        ("x y", 3, "syntax error: invalid syntax"),
        ("tanh(x1*w1", 5, "syntax error: '(' was never closed"),
        ("x +* y", 4, "syntax error: invalid syntax"),
        ("", None, "the formula is empty"),
        ("x.real", 1, "attribute access (.) not allowed"),
        ("x[0]", 1, "indexing ([...]) not allowed"),
        ("x < 1", 1, "comparisons not allowed"),
        ("lambda: 1", 1, "lambda not allowed"),
        ("'abc'", 1, "strings not allowed"),
        ("True + x", 1, "True not allowed"),
        ("x if y else z", 1, "if/else not allowed"),
        ("x % 2", 3, "the % operator not allowed"),
        ("(a + b) // 2", 9, "the // operator not allowed"),
        ("x ^ 2", 3, "the ^ operator (for powers write **) not allowed"),
        ("cos(x)", 1, "unknown function 'cos'; allowed: sigmoid, tanh, relu, leaky_relu, exp, "),
        ("__import__('os')", 1, "unknown function '__import__'"),
        ("x.y(1)", 1, "only a function name can be called"),
        ("tanh + 1", 1, "tanh is a function: write tanh(...)"),
        ("tanh(x, y)", 1, "tanh() takes 1 argument, got 2"),
        ("2 * tanh()", 5, "tanh() takes 1 argument, got 0"),
        ("exp(x=1)", 7, "exp() takes no keyword arguments"),
        ("leaky_relu(x, y)", 15, "leaky_relu's slope must be a number"),
        ("9" * 401 + "*x", 1, "the number 999999999999999999999999999... is too large"),
        ("x\n+ 1", 2, "a formula is one line of text"),
        ("ŷ + z(1)", 5, "unknown function 'z'"),
    ],
)
def test_bad_formulas_say_what_and_where(text, column, problem):
    with pytest.raises(ExpressionError) as error:
        parse_expression(text)
    assert error.value.column == column
    message = str(error.value)
    assert "\n" not in message
    prefix = f"column {column}: " if column is not None else ""
    assert message.startswith(prefix + problem)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 100_000 + "x" + ")" * 100_000,
        "-" * 100_000 + "x",
        "x" + "+x" * 100_000,
        "x**" * 100_000 + "x",
        "tanh(" * 300 + "x" + ")" * 300,
    ],
)
def test_deep_or_long_formulas_are_refused_without_recursion_error(text):
    with pytest.raises(ExpressionError, match="characters long; at most 1000"):
        parse_expression(text)
    with pytest.raises(ExpressionError, match="nested deeper than 200 levels|too deeply nested"):
        parse_expression(text, max_length=10**7)


def test_nesting_up_to_the_limit_is_fine():
    text = "-" * 150 + "x"
    assert parse_expression(text).build({"x": 2.0}).data == 2.0  # an even number of minuses


# ---------------------------------------------------------------------------------------------
# Bad values
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values", "message"),
    [
        ("x*w + b", {"x": 1, "w": 2}, "no value given for b (the formula uses x, w, b)"),
        ("x*w", {"x": 1, "w": 2, "b": 3}, "b not in the formula (it uses x, w)"),
        ("x", {"x": math.nan}, "x is nan; values must be finite numbers"),
        ("x", {"x": math.inf}, "x is inf; values must be finite numbers"),
        ("x", {"x": True}, "x must be a number, got bool True"),
        ("x", {"x": "2"}, "x must be a number, got str '2'"),
        ("log(x - 3)", {"x": 2}, "column 1: cannot compute log(x - 3): log needs a positive"),
        ("1 + x/(y - 1)", {"x": 1, "y": 1}, "column 5: cannot compute x/(y - 1): division by zero"),
        ("sqrt(x)", {"x": -1}, "column 1: cannot compute sqrt(x): sqrt needs a non-negative"),
        ("x**0.5", {"x": -2}, "column 1: cannot compute x**0.5: a negative number to a fract"),
        ("(-2)**x", {"x": 1}, "column 1: cannot compute (-2)**x: a ** b with a Value exponent"),
    ],
)
def test_bad_values_and_domain_errors_are_one_line(text, values, message):
    with pytest.raises(ExpressionError) as error:
        parse_expression(text).build(values)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_overflow_is_the_engines_business_not_an_error():
    assert parse_expression("exp(x)").build({"x": 1000.0}).data == math.inf
    assert parse_expression("10**x**3").build({"x": 10.0}).data == math.inf


# ---------------------------------------------------------------------------------------------
# name=value bindings
# ---------------------------------------------------------------------------------------------


def test_bindings_are_parsed_strictly():
    assert parse_bindings(["x1=2", "w1=-3", "b=6.8814", "y = 1e-3", "z=.5"]) == {
        "x1": 2.0,
        "w1": -3.0,
        "b": 6.8814,
        "y": 0.001,
        "z": 0.5,
    }
    assert parse_bindings([]) == {}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["x1="], "'x1=': no value after '='"),
        (["=2"], "'=2': no name before '='"),
        (["x1"], "'x1': expected name=value, e.g. x1=2"),
        (["x1=abc"], "'x1=abc': 'abc' is not a number"),
        (["x1=1_000"], "'x1=1_000': '1_000' is not a number"),
        (["x1=0x10"], "'x1=0x10': '0x10' is not a number"),
        (["x1=nan"], "'x1=nan': nan is not a finite number"),
        (["x1=-inf"], "'x1=-inf': -inf is not a finite number"),
        (["x1=1e999"], "'x1=1e999': 1e999 is too large; values must be finite"),
        (["x1=1", "x1=2"], "'x1=2': x1 is given twice"),
        (["1x=2"], "'1x=2': '1x' is not a name (letters, digits, _)"),
        (["lambda=2"], "'lambda=2': 'lambda' is not a name (letters, digits, _)"),
    ],
)
def test_bad_bindings_are_refused(arguments, message):
    with pytest.raises(ExpressionError) as error:
        parse_bindings(arguments)
    assert str(error.value) == message


def test_expression_error_is_a_value_error():
    assert issubclass(ExpressionError, ValueError)


def test_tabs_are_spaces_and_columns_count_characters():
    assert str(parse_expression("x\t+\ty")) == "x + y"
    with pytest.raises(ExpressionError) as error:
        parse_expression("\tŷ + ŷ $ 1")
    assert error.value.column == 8  # the "$", counting characters, not UTF-8 bytes


def test_repr_is_short():
    expression = parse_expression("tanh(x*w + b)")
    assert repr(expression) == "Expression(text='tanh(x*w + b)', names=('x', 'w', 'b'))"
