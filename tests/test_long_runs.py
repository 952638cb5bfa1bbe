"""Long training runs (issue 17, item 5): bounded by work (steps x parameters), not by a count;
10,000 steps of a 2-2-2 network; the fast training loop gives the lesson's own numbers.

The reference is plain Python floats: forward pass, half squared error, backward pass and update
written out by hand below.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from nn.lesson import iterate_lesson
from nn.spec import MAX_LAYERS, MAX_UNITS, MAX_WORK, SpecError, most_steps, parse_spec
from viz.cli import build_parser, main
from viz.sheet import as_lesson, explain_lesson

REPO = Path(__file__).resolve().parent.parent

# A 2-2-2 sigmoid network (the classic walkthrough's numbers), biases per unit and trained.
X = [0.05, 0.10]
T = [0.01, 0.99]
W1 = [[0.15, 0.20], [0.25, 0.30]]  # [unit][input]
B1 = [0.35, 0.35]
W2 = [[0.40, 0.45], [0.50, 0.55]]
B2 = [0.60, 0.60]
LR = 0.5

LESSON = {
    "inputs": X,
    "targets": T,
    "learning_rate": LR,
    "layers": [
        {"activation": "sigmoid", "orientation": "[unit][input]", "weights": W1, "biases": B1},
        {"activation": "sigmoid", "orientation": "[unit][input]", "weights": W2, "biases": B2},
    ],
    "loss": "half_squared_error",
}


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def reference_losses(steps: int) -> list[float]:
    """The loss before training and after each of ``steps`` gradient-descent updates."""
    w1, b1, w2, b2 = [r[:] for r in W1], B1[:], [r[:] for r in W2], B2[:]
    losses = []
    for step in range(steps + 1):
        h = [_sigmoid(sum(w1[j][i] * X[i] for i in range(2)) + b1[j]) for j in range(2)]
        y = [_sigmoid(sum(w2[k][j] * h[j] for j in range(2)) + b2[k]) for k in range(2)]
        losses.append(sum(0.5 * (y[k] - T[k]) ** 2 for k in range(2)))
        if step == steps:
            break
        d2 = [(y[k] - T[k]) * y[k] * (1 - y[k]) for k in range(2)]
        d1 = [sum(d2[k] * w2[k][j] for k in range(2)) * h[j] * (1 - h[j]) for j in range(2)]
        for k in range(2):
            for j in range(2):
                w2[k][j] -= LR * d2[k] * h[j]
            b2[k] -= LR * d2[k]
        for j in range(2):
            for i in range(2):
                w1[j][i] -= LR * d1[j] * X[i]
            b1[j] -= LR * d1[j]
    return losses


def test_10000_steps_of_a_2_2_2_network_are_accepted_and_right(tmp_path, capsys):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(LESSON), encoding="utf-8")
    assert main(["example", str(path), "--steps", "10000", "--format", "json"]) == 0
    training = json.loads(capsys.readouterr().out)["training"]
    assert len(training) == 10_000
    expected = reference_losses(10_000)
    for k in (1, 2, 100, 5_000, 10_000):
        assert training[k - 1]["value"] == pytest.approx(expected[k], rel=1e-9)


def test_a_number_printed_after_10000_steps_is_checked(tmp_path, capsys):
    after = reference_losses(10_000)[-1]
    lesson = {**LESSON, "printed": [{"name": "loss", "value": f"{after:.12f}", "after": 10000}]}
    path = tmp_path / "net.json"
    path.write_text(json.dumps(lesson), encoding="utf-8")
    assert main(["example", str(path), "--steps", "0", "--format", "json"]) == 0
    check = json.loads(capsys.readouterr().out)["printed_check"]
    [entry] = check["after_training"]
    assert entry["after"] == 10_000 and entry["kind"] == "match"
    assert entry["value"] == pytest.approx(after, rel=1e-9)


def test_steps_are_bounded_by_work_with_a_message_naming_the_bound(capsys):
    # 2-2-1: 9 parameters, so at most MAX_WORK // 10 steps (a step counts as at least 10)
    limit = most_steps(9)
    assert main(["example", "2-2-1", "--steps", str(limit + 1)]) == 2
    err = capsys.readouterr().err
    assert f"over the limit of {MAX_WORK:,} (MAX_WORK)" in err
    assert f"at most {limit:,} steps for this network" in err and err.count("\n") == 1


def test_a_printed_after_beyond_the_work_bound_names_the_field():
    too_many = most_steps(12) + 1
    lesson = {**LESSON, "printed": [{"name": "loss", "value": "0.1", "after": too_many}]}
    with pytest.raises(SpecError) as error:
        parse_spec(lesson, "net.json")
    message = str(error.value)
    assert message.startswith(f"net.json: printed[0].after: after {too_many:,} with 12 parameters")
    assert "MAX_WORK" in message


def _largest_lesson() -> dict:
    n = MAX_UNITS
    layer = {"activation": "sigmoid", "orientation": "[unit][input]",
             "weights": [[0.01 * ((i + j) % 7 - 3) for i in range(n)] for j in range(n)],
             "biases": [0.0] * n}  # fmt: skip
    return {"inputs": [0.5] * n, "targets": [0.5] * n, "layers": [layer] * MAX_LAYERS,
            "loss": "half_squared_error"}  # fmt: skip


def test_the_largest_lesson_gets_few_steps_and_is_refused_beyond_before_any_work():
    lesson = as_lesson(_largest_lesson())
    parameters = MAX_LAYERS * MAX_UNITS * (MAX_UNITS + 1)
    assert len(lesson.parameters) == parameters
    with pytest.raises(ValueError, match=f"at most {most_steps(parameters)} steps"):
        explain_lesson(lesson, steps=most_steps(parameters) + 1)
    assert lesson.loss.grad == 0.0  # refused before the first backward pass


VARIANTS = {
    "2-2-2": LESSON,
    "bce, shared frozen bias, input*weight": {
        "inputs": [0.3, -0.2], "targets": [1.0, 0.0], "learning_rate": 2.0,
        "layers": [
            {"activation": "tanh", "orientation": "[input][unit]", "products": "input*weight",
             "weights": [[0.4, -0.6, 0.1], [0.7, 0.2, -0.3]], "biases": 0.1,
             "train_biases": False},
            {"activation": "sigmoid", "orientation": "[unit][input]",
             "weights": [[3.0, -2.0, 1.0], [-1.0, 2.5, 0.5]], "biases": [0.2, -0.1]},
        ],
        "loss": {"kind": "binary_cross_entropy", "reduction": "mean"},
    },
    "softmax, leaky relu": {
        "inputs": [1.0, 2.0], "targets": [0.0, 1.0, 0.0], "learning_rate": 0.3,
        "layers": [
            {"activation": "leaky_relu", "leaky_slope": 0.1, "orientation": "[unit][input]",
             "weights": [[0.5, -0.4], [-0.3, 0.8]], "biases": [0.0, 0.1]},
            {"activation": "softmax", "orientation": "[unit][input]",
             "weights": [[1.0, -1.0], [0.5, 0.5], [-0.2, 0.3]], "biases": [0.0, 0.0, 0.0]},
        ],
        "loss": "cross_entropy",
    },
    "linear output, squared error y - t": {
        "inputs": [0.5], "targets": [0.2, -0.4], "learning_rate": 0.05,
        "layers": [
            {"activation": "relu", "orientation": "[unit][input]", "weights": [[1.2], [0.7]],
             "biases": [0.1, 0.0]},
            {"activation": "linear", "orientation": "[unit][input]",
             "weights": [[0.3, -0.5], [0.9, 0.4]], "biases": [0.0, 0.2]},
        ],
        "loss": {"kind": "squared_error", "difference": "y - t", "reduction": "mean"},
    },
}  # fmt: skip


@pytest.mark.parametrize("name", ["2-2-1", "1-1-1", "softmax", *VARIANTS])
def test_the_fast_training_loop_gives_the_lessons_own_numbers_bit_for_bit(name):
    what = VARIANTS.get(name, name)
    steps = 40
    shown = explain_lesson(as_lesson(what), steps=steps).training
    rebuilt = list(iterate_lesson(as_lesson(what), steps))[1:]  # a whole lesson per step
    assert [q.value for q in shown] == [lesson.loss.data for lesson in rebuilt]
    for q, lesson in zip(shown, rebuilt):
        assert [op.value for op in q.operands] == [
            lesson.nodes[label].data
            for label in [op.name.split(" after ")[0] for op in q.operands]
        ]


def test_the_limits_are_in_help_and_in_the_docs():
    text = build_parser().format_help()
    assert f"steps x parameters <= {MAX_WORK:,}" in text
    example = build_parser()._subparsers._group_actions[0].choices["example"].format_help()
    assert f"{MAX_WORK:,}" in example.replace("\n", " ")
    docs = (REPO / "docs" / "limits.md").read_text(encoding="utf-8")
    for figure in (f"{MAX_WORK:,}", f"{most_steps(12):,}", str(MAX_LAYERS), str(MAX_UNITS)):
        assert figure in docs
