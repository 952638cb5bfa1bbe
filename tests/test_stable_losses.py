"""Losses that stay exact where the textbook formula rounds to 0 or takes log(0) (issue 16).

Expected values come from plain ``math`` (log1p, exp), never from the engine.
"""

from __future__ import annotations

import json
import math

import pytest

from autograd import Value
from nn.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    softmax_cross_entropy,
)
from viz.cli import main


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def _bce_slope(z: float, t: float) -> float:
    """sigmoid(z) - t, written as -t sigmoid(-z) + (1 - t) sigmoid(z): no cancellation."""
    return -t * _sigmoid(-z) + (1.0 - t) * _sigmoid(z)


@pytest.mark.parametrize(
    ("z", "t", "expected"),
    [
        (37.0, 1.0, math.log1p(math.exp(-37.0))),  # 8.5e-17, not 0.0
        (-37.0, 0.0, math.log1p(math.exp(-37.0))),
        (40.0, 0.0, 40.0 + math.log1p(math.exp(-40.0))),
        (-800.0, 1.0, 800.0),
        (2.0, 0.3, 0.3 * math.log1p(math.exp(-2.0)) + 0.7 * (2.0 + math.log1p(math.exp(-2.0)))),
        (0.0, 0.5, math.log(2.0)),
    ],
)
def test_bce_with_logits_is_exact_at_any_logit(z, t, expected):
    x = Value(z)
    loss = binary_cross_entropy_with_logits(x, t)
    assert loss.data == pytest.approx(expected, rel=1e-12)
    loss.backward()
    assert x.grad == pytest.approx(_bce_slope(z, t), rel=1e-12, abs=1e-300)


def test_bce_at_z_37_is_8_5e_17_not_zero():
    loss = binary_cross_entropy_with_logits(Value(37.0), 1.0)
    assert loss.data > 0.0 and loss.data == pytest.approx(8.533047625744066e-17, rel=1e-12)


def test_bce_on_a_saturated_sigmoid_uses_the_logit():
    z = Value(40.0)
    loss = binary_cross_entropy(z.sigmoid(), 1.0)
    assert loss.data == pytest.approx(math.log1p(math.exp(-40.0)), rel=1e-12)


@pytest.mark.parametrize(
    ("logits", "label"),
    [([50.0, 0.0, -10.0], 0), ([50.0, 0.0, -10.0], 1), ([1.0, 2.0, 3.0], 2), ([0.0, -800.0], 0)],
)
def test_softmax_cross_entropy_is_exact_and_its_gradient_is_softmax_minus_onehot(logits, label):
    zs = [Value(v) for v in logits]
    loss = softmax_cross_entropy(zs, label)
    others = sum(math.exp(v - logits[label]) for i, v in enumerate(logits) if i != label)
    assert loss.data == pytest.approx(math.log1p(others), rel=1e-12)  # log(sum e^z) - z[label]
    loss.backward()
    m = max(logits)
    total = sum(math.exp(v - m) for v in logits)
    for i, (z, v) in enumerate(zip(zs, logits)):
        # p_i, and for the label p - 1 = -(the other classes' share), without cancellation
        rest = sum(math.exp(w - m) for j, w in enumerate(logits) if j != label)
        expected = -rest / total if i == label else math.exp(v - m) / total
        assert z.grad == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_softmax_cross_entropy_keeps_the_digits_when_the_true_class_wins_by_far():
    loss = softmax_cross_entropy([Value(50.0), Value(0.0), Value(-10.0)], 0)
    assert loss.data == pytest.approx(math.exp(-50.0) + math.exp(-60.0), rel=1e-12)  # ~1.9e-22


# ---------------------------------------------------------------------------------------------
# Lessons whose output saturates
# ---------------------------------------------------------------------------------------------


def _lesson_json(tmp_path, capsys, lesson: dict) -> dict:
    path = tmp_path / "lesson.json"
    path.write_text(json.dumps(lesson), encoding="utf-8")
    code = main(["example", str(path), "--format", "json", "--steps", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(captured.out)
    return {q["name"]: q["value"] for q in data["quantities"]}


def _sigmoid_lesson(weight: float, target: float) -> dict:
    return {
        "inputs": [1.0],
        "targets": [target],
        "layers": [{"activation": "sigmoid", "orientation": "[unit][input]",
                    "weights": [[weight]], "biases": [0.0]}],
        "loss": "binary_cross_entropy",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("weight", "target", "expected"),
    [
        (40.0, 1.0, math.log1p(math.exp(-40.0))),  # y rounds to 1.0; the (1 - t) term weighs 0
        (40.0, 0.0, 40.0 + math.log1p(math.exp(-40.0))),  # log(1 - y) with 1 - y = 0.0
        (-800.0, 0.0, math.log1p(math.exp(-800.0))),  # y underflows to 0; t·log y weighs 0
        (-800.0, 1.0, 800.0),
        (2.0, 1.0, math.log1p(math.exp(-2.0))),  # not saturated: the textbook graph
    ],
)
def test_a_saturated_sigmoid_output_in_a_bce_lesson_is_computed(
    tmp_path, capsys, weight, target, expected
):
    values = _lesson_json(tmp_path, capsys, _sigmoid_lesson(weight, target))
    assert values["loss"] == pytest.approx(expected, rel=1e-12, abs=1e-300)
    # its error term: dL/dz = y - t for sigmoid + cross-entropy
    assert values["delta1"] == pytest.approx(_bce_slope(weight, target), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    ("targets", "expected"),
    [([1.0, 0.0], math.log1p(math.exp(-800.0))), ([0.0, 1.0], 800.0)],
)
def test_a_softmax_output_that_underflows_is_computed(tmp_path, capsys, targets, expected):
    lesson = {
        "inputs": [1.0],
        "targets": targets,
        "layers": [{"activation": "softmax", "orientation": "[unit][input]",
                    "weights": [[0.0], [-800.0]], "biases": [0.0, 0.0]}],
        "loss": "cross_entropy",
    }  # fmt: skip
    values = _lesson_json(tmp_path, capsys, lesson)
    assert values["loss"] == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_a_softmax_whose_every_exp_underflows_names_the_file(tmp_path, capsys):
    lesson = {
        "inputs": [1.0],
        "targets": [1.0, 0.0],
        "layers": [{"activation": "softmax", "orientation": "[unit][input]",
                    "weights": [[-800.0], [-900.0]], "biases": [0.0, 0.0]}],
        "loss": "cross_entropy",
    }  # fmt: skip
    path = tmp_path / "lesson.json"
    path.write_text(json.dumps(lesson), encoding="utf-8")
    assert main(["example", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"stepgrad: error: {path}: layers: cannot be computed: ")
    assert err.count("\n") == 1
