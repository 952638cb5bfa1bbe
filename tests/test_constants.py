"""Numbers in a formula are constant nodes: never inputs, never confused, rules from the op."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from nn.expression import ExpressionError, parse_bindings, parse_expression
from viz.trace_command import (
    SECTION_INPUTS,
    build_expression,
    explain_value,
    render_trace_json,
    render_trace_text,
)

SIGMOID_NEURON = "1/(1+exp(-(w0*x0 + w1*x1 + w2)))"
NEURON_VALUES = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}


def _bindings(values: dict[str, float]) -> list[str]:
    return [f"{k}={v}" for k, v in values.items()]


def _neuron_by_hand() -> tuple[float, dict[str, float]]:
    """The CS231n sigmoid neuron, f = σ(w0·x0 + w1·x1 + w2), with df/ds = f·(1 − f)."""
    v = NEURON_VALUES
    s = v["w0"] * v["x0"] + v["w1"] * v["x1"] + v["w2"]
    f = 1.0 / (1.0 + math.exp(-s))
    ds = f * (1.0 - f)
    grads = {"w0": ds * v["x0"], "x0": ds * v["w0"], "w1": ds * v["x1"], "x1": ds * v["w1"],
             "w2": ds}  # fmt: skip
    return f, grads


def test_sigmoid_neuron_value_and_gradients_match_plain_math():
    f, grads = _neuron_by_hand()
    assert f == pytest.approx(0.73106, abs=1e-5)  # the lecture notes' printed numbers
    assert grads["w0"] == pytest.approx(-0.19661, abs=1e-5)
    assert grads["x1"] == pytest.approx(-0.58983, abs=1e-5)
    output, inputs = build_expression(SIGMOID_NEURON, _bindings(NEURON_VALUES))
    explanation = explain_value(output, inputs=inputs)
    assert output.data == pytest.approx(f, rel=1e-12)
    data = json.loads(render_trace_json(explanation))
    assert data["given"] == NEURON_VALUES  # the constants 1 and 1 are not inputs
    assert data["gradients"] == pytest.approx({f"∂f/∂{k}": g for k, g in grads.items()}, rel=1e-12)


def test_constants_get_no_gradient_line_and_are_not_given():
    output, inputs = build_expression(SIGMOID_NEURON, _bindings(NEURON_VALUES))
    text = render_trace_text(explain_value(output, inputs=inputs))
    assert "∂f/∂1" not in text
    given = text.split("Given\n", 1)[1].split("\n\n", 1)[0]
    assert given.strip() == "w0 = 2, x0 = −1, w1 = −3, x1 = −2, w2 = −3"


def test_rules_come_from_the_op_not_the_label():
    output, inputs = build_expression(SIGMOID_NEURON, _bindings(NEURON_VALUES))
    explanation = explain_value(output, inputs=inputs)
    text = render_trace_text(explanation)
    # The division's denominator: its rule is the quotient rule, and no "+" rule is attached
    # to a gradient that does not pass through a sum.
    lines = text.splitlines()
    k = next(i for i, line in enumerate(lines) if line.strip().startswith("∂f/∂(1 + exp"))
    assert lines[k + 1].strip() == "local rule: d(a/b)/db = -a/b^2"
    for q in explanation.quantities:
        for op in q.operands:
            if "/(" in op.symbol and op.symbol.startswith("∂(1/"):
                assert "d(a+b)" not in op.name


def test_negation_is_shown_as_a_negation_not_as_a_number():
    output, inputs = build_expression(SIGMOID_NEURON, _bindings(NEURON_VALUES))
    text = render_trace_text(explain_value(output, inputs=inputs))
    assert "-(w0*x0 + w1*x1 + w2) = -(1) = −1" in text
    assert "= -1 = −1" not in text


def test_two_constants_one_are_two_nodes():
    expression = parse_expression("1 + x*1")
    output, inputs = expression.build_with_inputs({"x": 3.0})
    product = output.parents[1]
    assert output.parents[0] is not product.parents[1]  # two 1s, two nodes
    assert list(inputs) == ["x"]


def test_json_gradients_never_merge_distinct_nodes():
    output, inputs = build_expression("2*x + 2*y", ["x=1", "y=5"])
    data = json.loads(render_trace_json(explain_value(output, inputs=inputs)))
    assert data["gradients"] == {"∂f/∂x": 2.0, "∂f/∂y": 2.0}
    symbols = [q["symbol"] for q in data["quantities"]]
    assert len(symbols) == len(set(symbols))


def test_distinct_nodes_with_the_same_formula_keep_distinct_names():
    output, inputs = build_expression("exp(x) + exp(x)", ["x=1"])
    explanation = explain_value(output, inputs=inputs)
    names = [q.name for q in explanation.quantities]
    assert len(names) == len(set(names))
    grad = next(q for q in explanation.quantities if q.section == SECTION_INPUTS)
    assert grad.value == pytest.approx(2 * math.e, rel=1e-12)


def test_a_flat_sum_of_250_terms_is_not_deep():
    text = "+".join(f"x{k % 10}" for k in range(250))
    assert len(text) <= 1000
    output = parse_expression(text).build({f"x{k}": float(k) for k in range(10)})
    assert output.data == sum(float(k % 10) for k in range(250))
    product = "*".join(["x"] * 400)
    assert parse_expression(product).build({"x": 1.0}).data == 1.0


def test_real_nesting_is_still_bounded():
    with pytest.raises(ExpressionError, match="nested deeper than 200 levels"):
        parse_expression("-" * 250 + "x")
    with pytest.raises(ExpressionError, match="nested deeper than 200 levels"):
        parse_expression("x" + "-(x" * 201 + ")" * 201 + "+1", max_length=10_000)


def test_full_width_names_are_normalised_in_bindings_as_in_the_formula():
    assert parse_bindings(["ｘ=1"]) == {"x": 1.0}
    assert parse_expression("ｘ*2").build({"ｘ": 4.0}).data == 8.0
    with pytest.raises(ExpressionError, match="given twice"):
        parse_bindings(["ｘ=1", "x=2"])


def test_trace_command_takes_full_width_binding_and_long_sums():
    run = subprocess.run(
        [sys.executable, "-m", "viz.cli", "trace", "ｘ*3", "ｘ=2", "--format", "json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["gradients"] == {"∂f/∂x": 3.0}
    text = "+".join(["a"] * 250)
    run = subprocess.run(
        [sys.executable, "-m", "viz.cli", "trace", text, "a=1", "--format", "json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["gradients"] == {"∂f/∂a": 250.0}


def test_constant_gradients_only_when_asked_each_constant_its_own_line():
    f, _ = _neuron_by_hand()
    output, inputs = build_expression(SIGMOID_NEURON, _bindings(NEURON_VALUES))
    explanation = explain_value(output, inputs=inputs, constant_gradients=True)
    lines = [q for q in explanation.quantities if q.section == "Gradients of the constants"]
    # f = a/b with a = 1 (df/da = 1/b = f) and b = 1 + e^-s (df/d(that 1) = -a/b^2 = -f^2)
    assert [q.symbol for q in lines] == ["∂f/∂1", "∂f/∂1#2"]
    assert lines[0].value == pytest.approx(f, rel=1e-12)
    assert lines[1].value == pytest.approx(-(f**2), rel=1e-12)
    assert "d(a/b)/da = 1/b" in lines[0].operands[0].name  # the numerator's rule: a division
    assert explanation.quantities[-1] is lines[-1]  # after the inputs, under their own heading
    text = render_trace_text(explanation)
    assert "1 + exp(-(w0*x0 + w1*x1 + w2)) = 1 + 0.367879 = 1.36788" in text  # no 1#2 here


def test_constants_option_on_the_command_line():
    run = subprocess.run(
        [sys.executable, "-m", "viz.cli", "trace", "x*2 + 2", "x=1", "--constants"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "∂f/∂2 = " in run.stdout and "∂f/∂2#2 = " in run.stdout
    run = subprocess.run(
        [sys.executable, "-m", "viz.cli", "trace", "q = x*2; f = q + 1", "x=1", "--constants"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 2 and "--constants applies to a single formula" in run.stderr
