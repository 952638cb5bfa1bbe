"""Your own network as a lesson (nn/spec.py, nn/lesson.py, viz/sheet.py): numbers checked by hand.

The classic 2-2-2 textbook network (two sigmoid hidden units sharing one bias, two sigmoid
outputs sharing another, E = sum 1/2 (t - o)^2, biases not trained, learning rate 0.5) is worked
here with plain ``math``, and against the values its author published: E_total = 0.298371109,
w5+ = 0.35891648, w1+ = 0.149780716.
"""

from __future__ import annotations

import copy
import math

import pytest

from nn.lesson import build_lesson, engine_values
from nn.spec import SpecError, parse_spec
from viz.explain import explain


def sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


CLASSIC = {
    "name": "2-2-2",
    "title": "the classic 2-2-2 example",
    "learning_rate": 0.5,
    "inputs": {"values": [0.05, 0.10], "symbols": ["i1", "i2"]},
    "targets": {"values": [0.01, 0.99], "symbols": ["t1", "t2"]},
    "layers": [
        {
            "activation": "sigmoid",
            "orientation": "[unit][input]",
            "weights": [[0.15, 0.20], [0.25, 0.30]],
            "biases": 0.35,
            "train_biases": False,
            "symbols": {
                "weights": [["w1", "w2"], ["w3", "w4"]],
                "biases": "b1",
                "z": ["net_h1", "net_h2"],
                "a": ["out_h1", "out_h2"],
                "delta": ["delta_h1", "delta_h2"],
            },
        },
        {
            "activation": "sigmoid",
            "orientation": "[unit][input]",
            "weights": [[0.40, 0.45], [0.50, 0.55]],
            "biases": 0.60,
            "train_biases": False,
            "symbols": {
                "weights": [["w5", "w6"], ["w7", "w8"]],
                "biases": "b2",
                "z": ["net_o1", "net_o2"],
                "a": ["out_o1", "out_o2"],
                "delta": ["delta_o1", "delta_o2"],
            },
        },
    ],
    "loss": {"kind": "half_squared_error", "difference": "t - y", "symbol": "E_total"},
}


def classic_by_hand(lr: float = 0.5) -> dict[str, float]:
    """The 2-2-2 example with math only: forward, E_total, deltas, gradients, updates."""
    i1, i2, t1, t2, b1, b2 = 0.05, 0.10, 0.01, 0.99, 0.35, 0.60
    w = dict(zip([f"w{k}" for k in range(1, 9)], [.15, .20, .25, .30, .40, .45, .50, .55]))
    v: dict[str, float] = {}
    v["net_h1"] = w["w1"] * i1 + w["w2"] * i2 + b1
    v["net_h2"] = w["w3"] * i1 + w["w4"] * i2 + b1
    h1, h2 = sig(v["net_h1"]), sig(v["net_h2"])
    v["out_h1"], v["out_h2"] = h1, h2
    v["net_o1"] = w["w5"] * h1 + w["w6"] * h2 + b2
    v["net_o2"] = w["w7"] * h1 + w["w8"] * h2 + b2
    o1, o2 = sig(v["net_o1"]), sig(v["net_o2"])
    v["out_o1"], v["out_o2"] = o1, o2
    v["loss"] = 0.5 * (t1 - o1) ** 2 + 0.5 * (t2 - o2) ** 2
    d_o1 = (o1 - t1) * o1 * (1 - o1)
    d_o2 = (o2 - t2) * o2 * (1 - o2)
    d_h1 = (d_o1 * w["w5"] + d_o2 * w["w7"]) * h1 * (1 - h1)
    d_h2 = (d_o1 * w["w6"] + d_o2 * w["w8"]) * h2 * (1 - h2)
    v.update({"delta_o1": d_o1, "delta_o2": d_o2, "delta_h1": d_h1, "delta_h2": d_h2})
    grads = {
        "w1": d_h1 * i1, "w2": d_h1 * i2, "w3": d_h2 * i1, "w4": d_h2 * i2,
        "w5": d_o1 * h1, "w6": d_o1 * h2, "w7": d_o2 * h1, "w8": d_o2 * h2,
    }  # fmt: skip
    for name, g in grads.items():
        v[f"dL/d{name}"] = g
        v[f"{name} (updated)"] = w[name] - lr * g
    return v


# ---------------------------------------------------------------------------------------------
# The classic 2-2-2 network
# ---------------------------------------------------------------------------------------------


def test_hand_arithmetic_reproduces_the_published_numbers():
    v = classic_by_hand()
    assert v["loss"] == pytest.approx(0.298371109, abs=5e-10)
    assert v["w5 (updated)"] == pytest.approx(0.35891648, abs=5e-9)
    assert v["w1 (updated)"] == pytest.approx(0.149780716, abs=5e-10)


def test_classic_2_2_2_sheet_matches_hand_arithmetic_number_for_number():
    explanation = explain(CLASSIC, steps=0)
    shown = {q.name: q.value for q in explanation.quantities}
    expected = classic_by_hand()
    for name, value in expected.items():
        assert shown[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name
    assert shown["loss"] == pytest.approx(0.298371109, abs=5e-10)
    assert shown["w5 (updated)"] == pytest.approx(0.35891648, abs=5e-9)
    assert shown["w1 (updated)"] == pytest.approx(0.149780716, abs=5e-10)


def test_shared_frozen_biases_are_one_given_number_each_and_never_updated():
    lesson = build_lesson(parse_spec(CLASSIC))
    assert [p.label for p in lesson.parameters] == [f"w{k}" for k in range(1, 9)]
    assert [c.label for c in lesson.constants] == ["b1", "b2"]
    h1, h2 = lesson.layers[0].units
    assert h1.bias is h2.bias  # one leaf, shared by both units
    explanation = explain(CLASSIC, steps=1)
    names = [q.name for q in explanation.quantities]
    assert "b1 (updated)" not in names and "dL/db1" not in names
    assert "b1 = 0.35" in explanation.notes[0] if explanation.notes else True
    from viz.report import render_text

    text = render_text(explanation)
    assert "  b1 = 0.35\n" in text and "E_total = ½·(t1 − out_o1)² + ½·(t2 − out_o2)²" in text
    assert "δ_o1 = ∂E_total/∂net_o1 = (out_o1 − t1)·σ'(net_o1)" in text


def test_classic_loss_after_training_falls_as_published_first_step():
    explanation = explain(CLASSIC, steps=1)
    v = classic_by_hand()
    new = {k[:-10]: x for k, x in v.items() if k.endswith(" (updated)")}
    ref = build_lesson(parse_spec(CLASSIC), parameters=new)
    assert explanation.training[0].value == pytest.approx(ref.loss.data, rel=1e-12)
    assert explanation.training[0].value < v["loss"]


def test_weights_given_per_input_are_the_same_network():
    spec = copy.deepcopy(CLASSIC)
    for layer in spec["layers"]:
        layer["orientation"] = "[input][unit]"
        layer["weights"] = [list(col) for col in zip(*layer["weights"])]
        layer["symbols"]["weights"] = [list(c) for c in zip(*layer["symbols"]["weights"])]
    a = explain(spec, steps=0).quantities
    b = explain(CLASSIC, steps=0).quantities
    assert {q.name: q.value for q in a} == {q.name: q.value for q in b}


# ---------------------------------------------------------------------------------------------
# The opposite sign convention: Err = -delta = o(1 - o)(t - o), w <- w + eta * Err * o
# ---------------------------------------------------------------------------------------------


def test_error_term_with_the_opposite_sign_is_minus_delta_and_updates_agree():
    spec = copy.deepcopy(CLASSIC)
    spec["error_term"] = "-dL/dz"
    for layer, stem in zip(spec["layers"], ("h", "o")):
        layer["symbols"]["delta"] = [f"Err_{stem}1", f"Err_{stem}2"]
    shown = {q.name: q for q in explain(spec, steps=0).quantities}
    v = classic_by_hand()
    o1 = v["out_o1"]
    assert shown["Err_o1"].value == pytest.approx(o1 * (1 - o1) * (0.01 - o1), rel=1e-12)
    assert shown["Err_h2"].value == pytest.approx(-v["delta_h2"], rel=1e-12)
    assert shown["Err_o1"].formula == "(t1 − out_o1)·σ'(net_o1)"
    assert shown["Err_o1"].meaning == "−∂E_total/∂net_o1"
    # w5 + eta * Err_o1 * out_h1 is the same new weight as w5 - eta * dE/dw5
    assert shown["w5 (updated)"].formula == "w5 + η·Err_o1·out_h1"
    assert shown["w5 (updated)"].value == pytest.approx(0.35891648, abs=5e-9)
    assert shown["w1 (updated)"].value == pytest.approx(0.149780716, abs=5e-10)


def test_printed_error_terms_of_an_opposite_sign_book_compare():
    spec = copy.deepcopy(CLASSIC)
    spec["error_term"] = "-dL/dz"
    spec["layers"][1]["symbols"]["delta"] = ["Err_o1", "Err_o2"]
    o1 = classic_by_hand()["out_o1"]
    err = o1 * (1 - o1) * (0.01 - o1)  # about -0.1385
    spec["printed"] = [{"name": "Err_o1", "value": f"{err:.4f}"}]
    (comparison,) = explain(spec, steps=0).printed_comparisons
    assert comparison.kind == "match" and comparison.printed.startswith("-0.13")


# ---------------------------------------------------------------------------------------------
# Checking a printed table
# ---------------------------------------------------------------------------------------------


def test_printed_table_with_one_wrong_arithmetic_and_one_inherited_error():
    spec = copy.deepcopy(CLASSIC)
    v = classic_by_hand()
    wrong_net_o1 = 1.2059  # the true net_o1 is 1.105906: a slip in the book's sum
    spec["printed"] = [
        {"name": "net_h1", "value": "0.3775"},  # right
        {"name": "out_h1", "value": "0.5932"},  # cut off, not rounded (0.593270)
        {"name": "net_o1", "value": f"{wrong_net_o1}"},
        {"name": "out_o1", "value": f"{sig(wrong_net_o1):.5f}"},  # right given its own net_o1
        {"name": "w5", "value": "0.35891648", "after": 1},
    ]
    comparisons = {c.name: c for c in explain(spec, steps=0).printed_comparisons}
    assert comparisons["net_h1"].kind == "match"
    assert comparisons["out_h1"].kind == "rounding only" and comparisons["out_h1"].cut_off
    net = comparisons["net_o1"]
    assert net.kind == "wrong arithmetic"
    assert net.given == pytest.approx(0.40 * 0.5932 + 0.45 * v["out_h2"] + 0.60, rel=1e-12)
    out = comparisons["out_o1"]
    assert out.kind == "inherits an earlier error" and out.inherited_from == ("net_o1",)
    assert out.given == pytest.approx(sig(wrong_net_o1), rel=1e-12)
    later = comparisons["w5"]
    assert later.after == 1 and later.kind == "match"
    assert later.true_value == pytest.approx(v["w5 (updated)"], rel=1e-12)


def test_printed_check_in_the_text_says_where_the_first_error_enters(capsys, tmp_path):
    import json

    from viz.cli import main

    spec = copy.deepcopy(CLASSIC)
    spec["printed"] = [
        {"name": "net_o1", "value": "1.2059"},
        {"name": "out_o1", "value": "0.76957"},
    ]
    path = tmp_path / "book.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    assert main(["example", str(path), "--steps", "0"]) == 0
    out = capsys.readouterr().out
    assert "The first error enters at net_o1: the source prints 1.2059" in out
    assert "✗ printed 0.76957 (inherits an earlier error): right given the source's own " \
           "net_o1 = 1.2059" in out


# ---------------------------------------------------------------------------------------------
# Every activation and loss: gradients against central differences of the loss
# ---------------------------------------------------------------------------------------------


def _small(activation: str, loss: str, reduction: str = "sum", out_act: str = "sigmoid") -> dict:
    outputs = 3 if loss == "cross_entropy" else 2
    targets = [0.0, 1.0, 0.0] if outputs == 3 else [0.2, 0.7]
    return {
        "inputs": [0.4, -0.7],
        "targets": targets,
        "learning_rate": 0.3,
        "layers": [
            {"activation": activation, "orientation": "[unit][input]",
             "weights": [[0.3, -0.5], [0.8, 0.2]], "biases": [0.1, -0.2]},
            {"activation": out_act, "orientation": "[input][unit]",
             "weights": [[0.5, -0.3, 0.2][:outputs], [0.4, 0.6, -0.1][:outputs]],
             "biases": 0.05},
        ],
        "loss": {"kind": loss, "reduction": reduction},
    }  # fmt: skip


CASES = [
    ("tanh", "squared_error", "sum", "sigmoid"),
    ("relu", "half_squared_error", "mean", "linear"),
    ("leaky_relu", "squared_error", "mean", "tanh"),
    ("linear", "binary_cross_entropy", "sum", "sigmoid"),
    ("sigmoid", "cross_entropy", "sum", "softmax"),
]


@pytest.mark.parametrize("activation, loss, reduction, out_act", CASES)
def test_every_gradient_on_the_sheet_matches_central_differences(
    activation, loss, reduction, out_act
):
    spec = parse_spec(_small(activation, loss, reduction, out_act))
    lesson = build_lesson(spec)
    lesson.loss.backward()
    values = engine_values(lesson)
    shown = {q.name: q.value for q in explain(_small(activation, loss, reduction, out_act),
                                              steps=0).quantities}  # fmt: skip
    eps = 1e-6
    for name, value in build_lesson(spec).parameter_values().items():
        up = build_lesson(spec, parameters={name: value + eps}).loss.data
        down = build_lesson(spec, parameters={name: value - eps}).loss.data
        numeric = (up - down) / (2 * eps)
        assert values[f"dL/d{name}"] == pytest.approx(numeric, rel=1e-5, abs=1e-9), name
        assert shown[f"dL/d{name}"] == values[f"dL/d{name}"]


def test_loss_kinds_match_their_formulas_by_hand():
    for activation, loss, reduction, out_act in CASES:
        data = _small(activation, loss, reduction, out_act)
        lesson = build_lesson(parse_spec(data))
        o = [y.data for y in lesson.outputs]
        t = data["targets"]
        if loss == "squared_error":
            expected = sum((a - b) ** 2 for a, b in zip(t, o))
        elif loss == "half_squared_error":
            expected = sum(0.5 * (a - b) ** 2 for a, b in zip(t, o))
        elif loss == "binary_cross_entropy":
            expected = -sum(a * math.log(b) + (1 - a) * math.log(1 - b) for a, b in zip(t, o))
        else:
            expected = -sum(a * math.log(b) for a, b in zip(t, o))
        if reduction == "mean":
            expected /= len(o)
        assert lesson.loss.data == pytest.approx(expected, rel=1e-12), (loss, reduction)


# ---------------------------------------------------------------------------------------------
# Bad specs: one error naming the field
# ---------------------------------------------------------------------------------------------


def _broken(path: str, value: object) -> dict:
    spec = copy.deepcopy(CLASSIC)
    target = spec
    keys = path.split("/")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = keys[-1]
    if value is _DELETE:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return spec


_DELETE = object()


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("layers/1/orientation", _DELETE,
         r"layers\[1\]\.orientation: missing: add orientation = \"\[unit\]\[input\]\".*"
         r"orientation = \"\[input\]\[unit\]\""),
        ("layers/0/activation", "swish", r"layers\[0\]\.activation: unknown value 'swish'"),
        ("loss/kind", "hinge", r"loss\.kind: unknown value 'hinge'"),
        ("layers/1/weights", [[0.4, 0.45, 0.1], [0.5, 0.55, 0.1]],
         r"layers\[1\]\.weights: has 3 columns .* but there are 2 units in layer 0"),
        ("layers/0/weights", [[0.15, 0.2], [0.25]], r"layers\[0\]\.weights\[1\]: has 1 numbers"),
        ("layers/1/weights/0", [0.4, float("nan")],
         r"layers\[1\]\.weights\[0\]\[1\]: must be a finite"),
        ("layers/1/weights/0", [0.4, "0.45"], r"layers\[1\]\.weights\[0\]\[1\]: must be a number"),
        ("layers/1/weights/0", [0.4, 10**400], r"layers\[1\]\.weights\[0\]\[1\]: is too large"),
        ("inputs", _DELETE, r"^inputs: missing"),
        ("targets", [0.01], r"targets: has 1 numbers, but the last layer has 2 units"),
        ("learning_rate", -0.5, r"learning_rate: must be positive"),
        ("layers/0/symbols/z", ["net_h1", "i1"],
         r"layers\[0\]\.symbols\.z\[1\]: symbol 'i1' is already used"),
        ("layers/0/extra", 1, r"layers\[0\]\.extra: unknown field"),
        ("layers/0/biases", [0.35], r"layers\[0\]\.biases: has 1 entries, expected 2"),
    ],
)  # fmt: skip
def test_bad_spec_names_the_field_and_the_problem(path, value, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(_broken(path, value), "")


def test_softmax_only_on_the_output_layer_and_with_cross_entropy():
    with pytest.raises(SpecError, match="softmax works across an output layer only"):
        parse_spec(_broken("layers/0/activation", "softmax"))
    with pytest.raises(SpecError, match="a softmax output layer goes with cross_entropy"):
        parse_spec(_broken("layers/1/activation", "softmax"))


def test_layout_of_a_lesson_is_its_layered_network():
    lesson = build_lesson(parse_spec(CLASSIC))
    layout = lesson.layout()
    assert [len(layer.units) for layer in layout.layers] == [2, 2, 2]
    assert [u.symbol for u in layout.layers[1].units] == ["out_h1", "out_h2"]
    assert layout.layers[2].units[0].z_symbol == "net_o1"
    assert [p.label for p in layout.parameters()] == [
        "w1", "w2", "b1", "w3", "w4", "w5", "w6", "b2", "w7", "w8",
    ]  # fmt: skip
    assert layout.loss is lesson.loss and layout.loss_symbol == "E_total"
