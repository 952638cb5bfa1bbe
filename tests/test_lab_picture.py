"""The lab's picture data (viz.lab.handle): each training step carries the network as that many
updates left it, and the edges name their gradient and updated weight; all checked against plain
`math` gradient descent written out here."""

from __future__ import annotations

import math

import pytest

from tests.lessons import wide_lesson
from viz.lab import MAX_PASS_NUMBERS, handle


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def forward_2_2_1(p: dict) -> dict:
    """The 2-2-1 case study's forward pass: x = (0.5, 0.3), t = 0.8, W1[i][j] from input i to
    hidden j, loss (t − ŷ)²."""
    x, t = (0.5, 0.3), 0.8
    z1 = [x[0] * p["W1"][0][j] + x[1] * p["W1"][1][j] + p["b1"][j] for j in range(2)]
    a1 = [sig(z) for z in z1]
    z2 = p["W2"][0] * a1[0] + p["W2"][1] * a1[1] + p["b2"]
    y = sig(z2)
    return {"z1": z1, "a1": a1, "z2": z2, "y": y, "L": (t - y) ** 2}


def sgd_2_2_1(updates: int, w20: float = 0.6, lr: float = 0.1) -> tuple[dict, dict]:
    """The parameters after ``updates`` steps of gradient descent, and that pass's numbers."""
    p = {"W1": [[0.5, 0.3], [0.2, 0.4]], "b1": [0.1, 0.2], "W2": [w20, 0.7], "b2": 0.3}
    x, t = (0.5, 0.3), 0.8
    for _ in range(updates):
        f = forward_2_2_1(p)
        d2 = 2 * (f["y"] - t) * f["y"] * (1 - f["y"])
        d1 = [d2 * p["W2"][j] * f["a1"][j] * (1 - f["a1"][j]) for j in range(2)]
        p = {
            "W1": [[p["W1"][i][j] - lr * d1[j] * x[i] for j in range(2)] for i in range(2)],
            "b1": [p["b1"][j] - lr * d1[j] for j in range(2)],
            "W2": [p["W2"][j] - lr * d2 * f["a1"][j] for j in range(2)],
            "b2": p["b2"] - lr * d2,
        }
    return p, forward_2_2_1(p)


def expected_pass(updates: int, w20: float = 0.6) -> dict[str, float]:
    """Every number the picture shows of the 2-2-1 network after ``updates`` updates."""
    p, f = sgd_2_2_1(updates, w20)
    out = {"x[0]": 0.5, "x[1]": 0.3, "t": 0.8, "b2": p["b2"], "z2": f["z2"], "y_hat": f["y"],
           "loss": f["L"]}  # fmt: skip
    for i in range(2):
        for j in range(2):
            out[f"W1[{i}][{j}]"] = p["W1"][i][j]
        out[f"b1[{i}]"] = p["b1"][i]
        out[f"W2[{i}]"] = p["W2"][i]
        out[f"z1[{i}]"] = f["z1"][i]
        out[f"a1[{i}]"] = f["a1"][i]
    return out


def test_the_hand_run_agrees_with_the_step_lines():
    # "L after 5 updates = (t − ŷ)² = (0.8 − 0.751825)² = 0.00232079", the sheet's own line
    _, f = sgd_2_2_1(5)
    assert f["y"] == pytest.approx(0.751825, abs=5e-7)
    assert f["L"] == pytest.approx(0.00232079, abs=5e-9)
    p, _ = sgd_2_2_1(1)
    assert p["W2"][1] == pytest.approx(0.701189, abs=5e-7)  # "W2[1] (new) = ... = 0.701189"


def test_each_training_step_carries_the_network_after_that_many_updates():
    response = handle({"lesson": {"builtin": "2-2-1"}})
    assert response["ok"]
    training = [s for s in response["steps"] if s["section"] == "Training"]
    assert [s["after"] for s in training] == list(range(1, 11))
    assert all(s["pass"] for s in training)
    passes = response["passes"]
    assert [p["after"] for p in passes] == list(range(1, 11))
    for step, record in zip(training, passes):
        assert record["step"] == step["index"]
        expected = expected_pass(step["after"])
        assert set(record["values"]) == set(expected)
        for name, value in expected.items():
            got = record["values"][name]
            assert got["value"] == pytest.approx(value, rel=1e-12, abs=1e-15), (step["after"], name)
        # the pass's loss is the training step's own number, and its text the step's
        assert record["values"]["loss"]["value"] == pytest.approx(step["value"], rel=1e-12)
        assert record["values"]["loss"]["text"] == step["text"]
    fifth = passes[4]["values"]
    assert fifth["y_hat"]["text"] == "0.751825" and fifth["loss"]["text"] == "0.00232079"


def test_edges_and_units_name_their_gradient_and_new_value():
    response = handle({"lesson": {"builtin": "2-2-1"}})
    values, steps = response["values"], response["steps"]
    index = {s["name"]: s["index"] for s in steps}
    edge = next(e for e in response["network"]["edges"] if e["w"] == "W2[1]")
    assert edge["grad"] == "dL/dW2[1]" and edge["new"] == "W2[1] (updated)"
    assert values[edge["new"]]["value"] == pytest.approx(sgd_2_2_1(1)[0]["W2"][1], rel=1e-12)
    assert values[edge["new"]]["step"] == index["W2[1] (updated)"]
    assert values[edge["grad"]]["symbol"] == "∂L/∂W2[1]"  # the lesson's words, not a lone ∂
    hidden = response["network"]["columns"][1]["units"][0]
    assert hidden["bias_new"] == "b1[0] (updated)" and hidden["bias_grad"] == "dL/db1[0]"
    assert values["b1[0] (updated)"]["value"] == pytest.approx(sgd_2_2_1(1)[0]["b1"][0],
                                                               rel=1e-12)  # fmt: skip
    loss_edge = next(e for e in response["network"]["edges"] if e["to"] == "loss")
    assert loss_edge["grad"] is None and loss_edge["new"] is None


def test_an_edit_changes_the_passes_too():
    response = handle({"lesson": {"builtin": "2-2-1"}, "edits": {"W2[0]": "0.65"}})
    third = response["passes"][2]["values"]
    for name, value in expected_pass(3, w20=0.65).items():
        assert third[name]["value"] == pytest.approx(value, rel=1e-12, abs=1e-15), name


def walkthrough_after_one_update() -> dict[str, float]:
    """The 2-2-2 walkthrough (i = 0.05, 0.1; t = 0.01, 0.99; fixed b1 = 0.35, b2 = 0.6;
    E = ½Σ(t − out)², η = 0.5) by hand: one update of w1..w8, then the forward pass again."""
    i, t, b1, b2, lr = (0.05, 0.1), (0.01, 0.99), 0.35, 0.6, 0.5
    w = [0.15, 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.55]  # w1..w8

    def forward(w):
        h = [sig(w[0] * i[0] + w[1] * i[1] + b1), sig(w[2] * i[0] + w[3] * i[1] + b1)]
        o = [sig(w[4] * h[0] + w[5] * h[1] + b2), sig(w[6] * h[0] + w[7] * h[1] + b2)]
        return h, o

    h, o = forward(w)
    d_o = [(o[k] - t[k]) * o[k] * (1 - o[k]) for k in range(2)]
    d_h = [(w[4] * d_o[0] + w[6] * d_o[1]) * h[0] * (1 - h[0]),
           (w[5] * d_o[0] + w[7] * d_o[1]) * h[1] * (1 - h[1])]  # fmt: skip
    grads = [d_h[0] * i[0], d_h[0] * i[1], d_h[1] * i[0], d_h[1] * i[1],
             d_o[0] * h[0], d_o[0] * h[1], d_o[1] * h[0], d_o[1] * h[1]]  # fmt: skip
    w = [wk - lr * g for wk, g in zip(w, grads)]
    h, o = forward(w)
    out = {f"w{k + 1}": w[k] for k in range(8)}
    out.update({"out_h1": h[0], "out_h2": h[1], "out_o1": o[0], "out_o2": o[1],
                "loss": 0.5 * (t[0] - o[0]) ** 2 + 0.5 * (t[1] - o[1]) ** 2})  # fmt: skip
    return out


def test_the_2_2_2_walkthrough_after_one_update():
    response = handle({"lesson": {"builtin": "2-2-2"}})
    first = response["passes"][0]["values"]
    for name, value in walkthrough_after_one_update().items():
        assert first[name]["value"] == pytest.approx(value, rel=1e-12), name
    # the walkthrough prints 0.291027924 (from rounded intermediates): the same to 1e-6
    assert first["loss"]["value"] == pytest.approx(0.291027924, abs=1e-6)
    # its biases are fixed (not trained): every pass keeps them
    assert first["b1"]["value"] == 0.35 and first["b2"]["value"] == 0.6


def test_a_big_lesson_carries_its_first_passes_only_and_says_which():
    text = wide_lesson((2, 32, 32, 1))  # 32·2 + 32·32 + 32 + 32 + 32 + 1 = 1185 parameters
    response = handle({"lesson": {"file": {"name": "w.json", "text": text}}, "steps": 100})
    assert response["ok"], response.get("error")
    numbers = sum(len(p["values"]) for p in response["passes"])
    assert 0 < numbers <= MAX_PASS_NUMBERS
    training = [s for s in response["steps"] if s["section"] == "Training"]
    kept = len(response["passes"])
    assert 1 <= kept < 100
    assert [s["pass"] for s in training] == [True] * kept + [False] * (100 - kept)
    assert [p["step"] for p in response["passes"]] == [s["index"] for s in training[:kept]]


@pytest.mark.parametrize("name", ["2-2-1", "1-1-1", "softmax", "2-2-2"])
def test_every_pass_holds_every_number_the_picture_shows(name):
    response = handle({"lesson": {"builtin": name}, "steps": 3})
    net = response["network"]
    wanted = {"loss", *net["loss"]["targets"], *(b["symbol"] for b in net["biases"])}
    wanted |= {e["w"] for e in net["edges"] if e["w"]}
    for column in net["columns"]:
        for unit in column["units"]:
            wanted |= {unit.get(k) for k in ("a", "z", "bias")} - {None}
    assert len(response["passes"]) == 3
    for record in response["passes"]:
        assert set(record["values"]) == wanted
        for entry in record["values"].values():
            assert math.isfinite(entry["value"]) and entry["text"]


@pytest.mark.parametrize("name", ["softmax", "2-2-2"])
def test_the_passes_are_the_labelled_lessons_numbers_after_each_update(name):
    # the same numbers as nn.lesson.iterate_lesson's fully labelled graphs, another path
    from nn.examples import build_example
    from nn.lesson import engine_values, iterate_lesson

    response = handle({"lesson": {"builtin": name}, "steps": 2})
    run = iterate_lesson(build_example(name), 2)
    next(run)  # before training
    for record, lesson in zip(response["passes"], run):
        engine = engine_values(lesson)
        for key, entry in record["values"].items():
            assert entry["value"] == pytest.approx(engine[key], rel=1e-12, abs=1e-15), key
