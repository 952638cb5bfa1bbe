"""One vocabulary: every activation comes from the registry in nn/activations.py, and each entry
works everywhere it is read (engine, lesson, sheet, expression, NumPy twin), checked with math."""

from __future__ import annotations

import math
import re

import pytest

from autograd import Value
from nn.activations import ACTIVATION_NAMES, ACTIVATIONS, UNIT_ACTIVATIONS
from nn.expression import parse_expression
from nn.numpy_mlp import UNIT_ACTIVATIONS as NUMPY_ACTIVATIONS
from viz.explain import explain

LEAKY = 0.05  # a negative-side slope other than the default 0.01, so that it must be passed on

# Each activation and its slope in plain math: the independent half of "one entry plus its tests".
MATH = {
    "linear": (lambda z: z, lambda z: 1.0),
    "sigmoid": (
        lambda z: 1.0 / (1.0 + math.exp(-z)),
        lambda z: math.exp(-z) / (1.0 + math.exp(-z)) ** 2,
    ),
    "tanh": (math.tanh, lambda z: 1.0 / math.cosh(z) ** 2),
    "relu": (lambda z: max(0.0, z), lambda z: 1.0 if z > 0 else 0.0),
    "leaky_relu": (lambda z: z if z > 0 else LEAKY * z, lambda z: 1.0 if z > 0 else LEAKY),
}


def test_every_registered_activation_has_its_math_and_nothing_is_missing():
    assert set(MATH) == set(UNIT_ACTIVATIONS) == set(ACTIVATIONS)
    assert set(ACTIVATION_NAMES) == {*UNIT_ACTIVATIONS, "softmax"}
    # the NumPy twin is written independently, but must know every activation
    assert set(NUMPY_ACTIVATIONS) == set(UNIT_ACTIVATIONS)


@pytest.mark.parametrize("name", list(MATH))
@pytest.mark.parametrize("z", [-1.3, -0.2, 0.4, 2.1])
def test_engine_value_and_slope_match_plain_math(name, z):
    f, slope = MATH[name]
    entry = UNIT_ACTIVATIONS[name]
    assert entry.apply(Value(z), LEAKY).data == pytest.approx(f(z), rel=1e-12)
    assert entry.slope(z, LEAKY) == pytest.approx(slope(z), rel=1e-12)
    # and the slope agrees with a central difference of the plain function
    h = 1e-6
    assert entry.slope(z, LEAKY) == pytest.approx((f(z + h) - f(z - h)) / (2 * h), rel=1e-6)


def _one_unit_lesson(activation: str, w: float) -> dict:
    return {
        "name": "one",
        "title": "one unit",
        "learning_rate": 0.1,
        "inputs": {"values": [0.5], "symbols": ["x"]},
        "targets": {"values": [0.2], "symbols": ["t"]},
        "layers": [
            {
                "activation": activation,
                "leaky_slope": LEAKY,
                "orientation": "[unit][input]",
                "weights": [[w]],
                "biases": [0.1],
                "symbols": {
                    "weights": [["w"]], "biases": ["b"], "z": ["z"], "a": ["a"], "delta": ["d"],
                },
            }
        ],
        "loss": {"kind": "half_squared_error", "difference": "t - y", "symbol": "E"},
    }


def _evaluate(text: str) -> float:
    """A sheet's filled-in formula as a number, read independently of the package."""
    python = text.replace("−", "-").replace("·", "*").replace("²", "**2").replace("½", "0.5")
    python = re.sub(r"\[([^\[\]]*?) > 0\]", r"(1.0 if \1 > 0 else 0.0)", python)
    python = re.sub(r"\[([^\[\]]*?) ≤ 0\]", r"(1.0 if \1 <= 0 else 0.0)", python)
    python = python.replace("σ(", "sig(")
    names = {"sig": lambda v: 1 / (1 + math.exp(-v)), "tanh": math.tanh,
             "relu": lambda v: max(0.0, v), "leaky_relu": lambda v: v if v > 0 else LEAKY * v}
    left = re.sub(r"\b(sig|tanh|relu|leaky_relu)\(|\b(if|else)\b", " ", python)
    assert re.fullmatch(r"[0-9.e+\-*/()<=> ]*", left), python  # only arithmetic is left
    return eval(python, {"__builtins__": {}}, names)  # noqa: S307 - checked text above


@pytest.mark.parametrize("name", list(MATH))
@pytest.mark.parametrize("w", [-0.8, 0.8])  # z = w·0.5 + 0.1: -0.3 or 0.5, both sides of 0
def test_a_lesson_sheet_shows_each_activation_and_its_slope_with_true_numbers(name, w):
    f, slope = MATH[name]
    z = w * 0.5 + 0.1
    sheet = {q.name: q for q in explain(_one_unit_lesson(name, w), steps=0).quantities}
    assert sheet["a"].value == pytest.approx(f(z), rel=1e-12)
    if name == "linear":
        assert not any("'" in n for n in sheet)  # no slope is shown for a linear unit
        return
    entry = UNIT_ACTIVATIONS[name]
    assert sheet["a"].formula == entry.symbol.format("z")
    q = sheet[f"{entry.slope_name}(z)"]
    assert q.value == pytest.approx(slope(z), rel=1e-12)
    assert _evaluate(q.filled) == pytest.approx(slope(z), rel=1e-4, abs=1e-12)
    # the error term uses that slope: d = (a - t)·f'(z), by hand
    assert sheet["d"].value == pytest.approx((f(z) - 0.2) * slope(z), rel=1e-12)


@pytest.mark.parametrize("name", [n for n in MATH if n != "linear"])
def test_every_activation_can_be_called_in_an_expression(name):
    f, slope = MATH[name]
    text = f"{name}(x, {LEAKY})" if UNIT_ACTIVATIONS[name].takes_slope else f"{name}(x)"
    x = Value(-0.7, "x")
    out = parse_expression(text).build({"x": x})
    out.backward()
    assert out.data == pytest.approx(f(-0.7)) and x.grad == pytest.approx(slope(-0.7))
