"""The worked examples (nn/examples.py): every number pinned by closed-form arithmetic in this file.

Expected values are computed here with math.exp and the textbook formulas (and cross-checked with
central differences), never read back from the engine.
"""

from __future__ import annotations

import math

import pytest

from autograd import topological_order
from nn.examples import EXAMPLE_NAMES, build_example, example_spec, iterate_training
from nn.lesson import engine_values
from nn.printed import INHERITS, MATCH, ROUNDING_ONLY, WRONG_ARITHMETIC, check_printed, first_error

# The numbers of the 1-1-1 and softmax lessons (nn/lessons/*.toml), copied here by hand.
PARAMETERS_1_1_1 = {"w1": 0.4, "b1": 0.1, "w2": 0.7, "b2": -0.2}
INPUTS_1_1_1 = {"x": 0.5, "t": 0.9}
PARAMETERS_SOFTMAX = {
    "W1[0][0]": 0.2, "W1[0][1]": -0.4,
    "W1[1][0]": 0.7, "W1[1][1]": 0.1,
    "W1[2][0]": -0.5, "W1[2][1]": 0.3,
    "b1[0]": 0.1, "b1[1]": -0.1, "b1[2]": 0.0,
    "W2[0][0]": 0.3, "W2[0][1]": -0.2, "W2[0][2]": 0.5,
    "W2[1][0]": -0.6, "W2[1][1]": 0.4, "W2[1][2]": 0.1,
    "W2[2][0]": 0.2, "W2[2][1]": 0.3, "W2[2][2]": -0.1,
    "b2[0]": 0.0, "b2[1]": 0.1, "b2[2]": -0.1,
}  # fmt: skip
INPUTS_SOFTMAX = {"x[0]": 0.5, "x[1]": -0.3, "y[0]": 0.0, "y[1]": 1.0, "y[2]": 0.0}


def sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


# ---------------------------------------------------------------------------------------------
# Closed forms (also used by tests/test_cli_example.py). Keys are the quantity names the
# explanation uses; the values come from hand formulas only.
# ---------------------------------------------------------------------------------------------

# Seed 001, section 3, copied from the document.
SEED_W1 = [[0.5, 0.3], [0.2, 0.4]]
SEED_B1 = [0.1, 0.2]
SEED_W2 = [0.6, 0.7]
SEED_B2 = 0.3
SEED_X = [0.5, 0.3]
SEED_T = 0.8


def closed_form_2_2_1(lr: float = 0.1, w1=SEED_W1, b1=SEED_B1, w2=SEED_W2, b2=SEED_B2) -> dict:
    """Every number of the 2-2-1 example by hand (hidden input j = sum_i x_i W1[i][j] + b1[j])."""
    x, t = SEED_X, SEED_T
    v: dict[str, float] = {}
    z1 = [x[0] * w1[0][j] + x[1] * w1[1][j] + b1[j] for j in range(2)]
    a1 = [sig(z) for z in z1]
    z2 = w2[0] * a1[0] + w2[1] * a1[1] + b2
    y = sig(z2)
    v.update({f"z1[{j}]": z1[j] for j in range(2)})
    v.update({f"a1[{j}]": a1[j] for j in range(2)})
    v.update({"z2": z2, "y_hat": y, "loss": (t - y) ** 2})
    v["sigma'(z2)"] = y * (1 - y)
    d2 = 2 * (y - t) * y * (1 - y)
    v["delta2"] = d2
    for j in range(2):
        v[f"sigma'(z1[{j}])"] = a1[j] * (1 - a1[j])
        v[f"delta1[{j}]"] = d2 * w2[j] * a1[j] * (1 - a1[j])
    grads = {}
    for j in range(2):
        grads[f"W2[{j}]"] = d2 * a1[j]
    grads["b2"] = d2
    for i in range(2):
        for j in range(2):
            grads[f"W1[{i}][{j}]"] = v[f"delta1[{j}]"] * x[i]
    for j in range(2):
        grads[f"b1[{j}]"] = v[f"delta1[{j}]"]
    old = {f"W1[{i}][{j}]": w1[i][j] for i in range(2) for j in range(2)}
    old.update({f"b1[{j}]": b1[j] for j in range(2)})
    old.update({f"W2[{j}]": w2[j] for j in range(2)})
    old["b2"] = b2
    for name, g in grads.items():
        v[f"dL/d{name}"] = g
        v[f"{name} (updated)"] = old[name] - lr * g
    return v


def closed_form_1_1_1(lr: float = 0.5) -> dict:
    """The 1-1-1 example by hand: h1 = w1 x + b1, a1 = sig(h1), h2 = w2 a1 + b2, y = sig(h2)."""
    p, x, t = PARAMETERS_1_1_1, INPUTS_1_1_1["x"], INPUTS_1_1_1["t"]
    h1 = p["w1"] * x + p["b1"]
    a1 = sig(h1)
    h2 = p["w2"] * a1 + p["b2"]
    y = sig(h2)
    dy = y - t
    d2 = dy * y * (1 - y)
    d1 = d2 * p["w2"] * a1 * (1 - a1)
    v = {"h1": h1, "a1": a1, "h2": h2, "y": y, "loss": 0.5 * (y - t) ** 2, "dL/dy": dy,
         "sigma'(h2)": y * (1 - y), "delta2": d2,
         "sigma'(h1)": a1 * (1 - a1), "delta1": d1}  # fmt: skip
    grads = {"w2": d2 * a1, "b2": d2, "w1": d1 * x, "b1": d1}
    for name, g in grads.items():
        v[f"dL/d{name}"] = g
        v[f"{name} (updated)"] = p[name] - lr * g
    return v


def closed_form_softmax(lr: float = 0.5) -> dict:
    """The softmax example by hand, with the textbook delta2 = y_hat - y (seed 003)."""
    p = PARAMETERS_SOFTMAX
    x = [INPUTS_SOFTMAX[f"x[{i}]"] for i in range(2)]
    y = [INPUTS_SOFTMAX[f"y[{k}]"] for k in range(3)]
    w1 = [[p[f"W1[{j}][{i}]"] for i in range(2)] for j in range(3)]
    w2 = [[p[f"W2[{k}][{j}]"] for j in range(3)] for k in range(3)]
    b1 = [p[f"b1[{j}]"] for j in range(3)]
    b2 = [p[f"b2[{k}]"] for k in range(3)]
    z1 = [w1[j][0] * x[0] + w1[j][1] * x[1] + b1[j] for j in range(3)]
    a1 = [sig(z) for z in z1]
    z2 = [sum(w2[k][j] * a1[j] for j in range(3)) + b2[k] for k in range(3)]
    total = sum(math.exp(z) for z in z2)
    y_hat = [math.exp(z) / total for z in z2]
    d2 = [y_hat[k] - y[k] for k in range(3)]
    d1 = [sum(w2[k][j] * d2[k] for k in range(3)) * a1[j] * (1 - a1[j]) for j in range(3)]
    v: dict[str, float] = {"loss": -sum(y[k] * math.log(y_hat[k]) for k in range(3))}
    for j in range(3):
        v.update({f"z1[{j}]": z1[j], f"a1[{j}]": a1[j], f"delta1[{j}]": d1[j]})
        v[f"sigma'(z1[{j}])"] = a1[j] * (1 - a1[j])
    for k in range(3):
        v.update({f"z2[{k}]": z2[k], f"y_hat[{k}]": y_hat[k], f"delta2[{k}]": d2[k]})
    grads = {f"W2[{k}][{j}]": d2[k] * a1[j] for k in range(3) for j in range(3)}
    grads.update({f"b2[{k}]": d2[k] for k in range(3)})
    grads.update({f"W1[{j}][{i}]": d1[j] * x[i] for j in range(3) for i in range(2)})
    grads.update({f"b1[{j}]": d1[j] for j in range(3)})
    for name, g in grads.items():
        v[f"dL/d{name}"] = g
        v[f"{name} (updated)"] = p[name] - lr * g
    return v


CLOSED_FORMS = {
    "2-2-1": closed_form_2_2_1,
    "1-1-1": closed_form_1_1_1,
    "softmax": closed_form_softmax,
}


def _engine_after_backward(name: str, **kwargs) -> dict:
    ex = build_example(name, **kwargs)
    ex.loss.backward()
    return engine_values(ex)


def _finite_difference(name: str, parameter: str, eps: float = 1e-6) -> float:
    """dL/dparameter by central differences of the example's loss, no backward involved."""
    base = build_example(name).parameter_values()[parameter]
    up = build_example(name, parameters={parameter: base + eps}).loss.data
    down = build_example(name, parameters={parameter: base - eps}).loss.data
    return (up - down) / (2 * eps)


# ---------------------------------------------------------------------------------------------
# 2-2-1 (seed 001)
# ---------------------------------------------------------------------------------------------


def test_closed_form_2_2_1_matches_the_hand_computed_numbers():
    # The numbers worked out by hand in the task: z1 = [0.41, 0.47] (0.5*0.5 + 0.3*0.2 + 0.1 is
    # 0.41, not the seed's 0.31), and so on down to delta2.
    v = closed_form_2_2_1()
    assert v["z1[0]"] == pytest.approx(0.41, abs=1e-12)
    assert v["z1[1]"] == pytest.approx(0.47, abs=1e-12)
    assert v["a1[0]"] == pytest.approx(0.601088, abs=1e-6)
    assert v["a1[1]"] == pytest.approx(0.615384, abs=1e-6)
    assert v["z2"] == pytest.approx(1.091421, abs=1e-6)
    assert v["y_hat"] == pytest.approx(0.748649, abs=1e-6)
    assert v["loss"] == pytest.approx(0.0026369, abs=1e-7)
    assert v["delta2"] == pytest.approx(-0.0193257, abs=1e-7)


def test_2_2_1_forward_pass_loss_and_deltas_match_closed_form():
    engine = _engine_after_backward("2-2-1")
    expected = closed_form_2_2_1()
    for name in ("z1[0]", "z1[1]", "a1[0]", "a1[1]", "z2", "y_hat", "loss",
                 "delta2", "delta1[0]", "delta1[1]"):  # fmt: skip
        assert engine[name] == pytest.approx(expected[name], rel=1e-12, abs=1e-15), name


def test_2_2_1_every_parameter_gradient_matches_closed_form_and_finite_differences():
    engine = _engine_after_backward("2-2-1")
    expected = closed_form_2_2_1()
    ex = build_example("2-2-1")
    assert [p.label for p in ex.parameters] == [
        "W1[0][0]", "W1[0][1]", "W1[1][0]", "W1[1][1]", "b1[0]", "b1[1]", "W2[0]", "W2[1]", "b2",
    ]  # fmt: skip
    for p in ex.parameters:
        key = f"dL/d{p.label}"
        assert engine[key] == pytest.approx(expected[key], rel=1e-10, abs=1e-15), key
        assert _finite_difference("2-2-1", p.label) == pytest.approx(expected[key], rel=1e-5)


def test_2_2_1_gradients_have_the_seed_formula_shapes():
    # dL/dW2[j] = delta2 * a1[j], dL/db2 = delta2, dL/dW1[i][j] = x[i] * delta1[j].
    v = closed_form_2_2_1()
    assert v["dL/dW2[0]"] == pytest.approx(-0.0116164, abs=1e-7)
    assert v["dL/dW2[1]"] == pytest.approx(-0.0118927, abs=1e-7)
    assert v["delta1[0]"] == pytest.approx(-0.0193257 * 0.6 * 0.601088 * 0.398912, rel=1e-5)
    assert v["dL/dW1[1][0]"] == pytest.approx(0.3 * v["delta1[0]"], rel=1e-12)


def test_2_2_1_update_subtracts_learning_rate_times_gradient_and_keeps_original():
    ex = build_example("2-2-1")
    ex.loss.backward()
    before = ex.parameter_values()
    new = ex.updated().parameter_values()
    expected = closed_form_2_2_1()
    for name, value in new.items():
        assert value == pytest.approx(expected[f"{name} (updated)"], rel=1e-12), name
    assert ex.parameter_values() == before  # the original example is unchanged
    assert new["b2"] == pytest.approx(0.3 + 0.1 * 0.0193257, abs=1e-8)


def test_2_2_1_loss_after_one_update_is_the_closed_form_loss_of_the_new_parameters():
    v = closed_form_2_2_1()
    w1 = [[v[f"W1[{i}][{j}] (updated)"] for j in range(2)] for i in range(2)]
    b1 = [v[f"b1[{j}] (updated)"] for j in range(2)]
    w2 = [v[f"W2[{j}] (updated)"] for j in range(2)]
    after = closed_form_2_2_1(w1=w1, b1=b1, w2=w2, b2=v["b2 (updated)"])
    losses = [ex.loss.data for ex in iterate_training("2-2-1", 3)]
    assert len(losses) == 4
    assert losses[0] == pytest.approx(v["loss"], rel=1e-12)
    assert losses[1] == pytest.approx(after["loss"], rel=1e-10)
    assert losses[1] < losses[0] and losses[3] < losses[2] < losses[1]


def test_lr_option_changes_the_update_only():
    ex = build_example("2-2-1", lr=0.5)
    ex.loss.backward()
    expected = closed_form_2_2_1(lr=0.5)
    assert ex.lr == 0.5
    assert ex.loss.data == pytest.approx(expected["loss"], rel=1e-12)
    assert ex.updated().parameter_values()["W2[0]"] == pytest.approx(
        expected["W2[0] (updated)"], rel=1e-12
    )


# ---------------------------------------------------------------------------------------------
# The graph itself: labels, seed vocabulary, fine-grained nodes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_labelled_node_is_listed_under_its_label(name):
    ex = build_example(name)
    for label, node in ex.nodes.items():
        assert node.label == label
    graph = topological_order(ex.loss)
    assert {id(n) for n in graph if n.label} <= {id(n) for n in ex.nodes.values()}
    assert ex.nodes["loss"] is ex.loss
    assert all(p.is_leaf and ex.nodes[p.label] is p for p in ex.parameters)


def test_2_2_1_uses_the_seed_vocabulary():
    ex = build_example("2-2-1")
    for key in ("x[0]", "x[1]", "t", "W1[0][1]", "b1[1]", "z1[0]", "a1[1]", "W2[0]", "b2",
                "z2", "y_hat", "loss"):  # fmt: skip
        assert key in ex.nodes, key
    assert ex.deltas == {"delta2": "z2", "delta1[0]": "z1[0]", "delta1[1]": "z1[1]"}


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_graph_has_one_node_per_multiplication_and_addition(name):
    ex = build_example(name)
    graph = topological_order(ex.loss)
    ops = {n.op for n in graph if not n.is_leaf}
    assert not any(op.startswith("sum(") for op in ops)  # no fused weighted sums
    assert ops <= {"*", "+", "-", "neg", "**2", "sigmoid", "exp", "/", "log"}
    # each weight enters exactly one product node
    for p in ex.parameters:
        if p.label.startswith(("W", "w")):
            users = [n for n in graph if n.op == "*" and any(q is p for q in n.parents)]
            assert len(users) == 1, p.label


def test_2_2_1_hidden_input_is_written_as_the_seed_writes_its_sums():
    ex = build_example("2-2-1")
    z = ex.nodes["z1[0]"]
    partial, bias = z.parents
    assert bias is ex.nodes["b1[0]"]
    first, second = partial.parents
    assert [q.label for q in first.parents] == ["x[0]", "W1[0][0]"]
    assert [q.label for q in second.parents] == ["x[1]", "W1[1][0]"]


# ---------------------------------------------------------------------------------------------
# 1-1-1 (seed 002)
# ---------------------------------------------------------------------------------------------


def test_1_1_1_matches_closed_form_with_sigmoid_on_both_units():
    engine = _engine_after_backward("1-1-1")
    expected = closed_form_1_1_1()
    for name in ("h1", "a1", "h2", "y", "loss", "delta2", "delta1", "dL/dw1", "dL/db1",
                 "dL/dw2", "dL/db2"):  # fmt: skip
        assert engine[name] == pytest.approx(expected[name], rel=1e-12), name
    ex = build_example("1-1-1")
    assert ex.nodes["y"].op == "sigmoid" and ex.nodes["a1"].op == "sigmoid"
    for p in ex.parameters:
        assert _finite_difference("1-1-1", p.label) == pytest.approx(
            expected[f"dL/d{p.label}"], rel=1e-5
        )


def test_1_1_1_says_which_reading_of_the_walkthrough_it_follows_and_that_numbers_are_ours():
    ex = build_example("1-1-1")
    text = " ".join(ex.notes)
    assert "contradicts itself" in text and "linear" in text and "sigmoid" in text
    assert "ours" in text


# ---------------------------------------------------------------------------------------------
# softmax + cross-entropy (seed 003)
# ---------------------------------------------------------------------------------------------


def test_softmax_engine_output_error_equals_y_hat_minus_y():
    engine = _engine_after_backward("softmax")
    expected = closed_form_softmax()
    for k in range(3):
        assert engine[f"y_hat[{k}]"] == pytest.approx(expected[f"y_hat[{k}]"], rel=1e-12)
        closed = expected[f"y_hat[{k}]"] - INPUTS_SOFTMAX[f"y[{k}]"]
        assert engine[f"delta2[{k}]"] == pytest.approx(closed, rel=1e-12, abs=1e-15)
    assert sum(expected[f"y_hat[{k}]"] for k in range(3)) == pytest.approx(1.0)


def test_softmax_output_error_matches_finite_differences_of_the_loss_in_z():
    # J as a function of z2 only, differentiated numerically: an independent route to dJ/dz2.
    z = [closed_form_softmax()[f"z2[{k}]"] for k in range(3)]
    y = [INPUTS_SOFTMAX[f"y[{k}]"] for k in range(3)]

    def loss(zs):
        total = sum(math.exp(v) for v in zs)
        return -sum(y[k] * math.log(math.exp(zs[k]) / total) for k in range(3))

    engine = _engine_after_backward("softmax")
    eps = 1e-6
    for k in range(3):
        up = [v + (eps if m == k else 0.0) for m, v in enumerate(z)]
        down = [v - (eps if m == k else 0.0) for m, v in enumerate(z)]
        numeric = (loss(up) - loss(down)) / (2 * eps)
        assert engine[f"delta2[{k}]"] == pytest.approx(numeric, rel=1e-6)


def test_softmax_parameter_gradients_match_closed_form_and_finite_differences():
    engine = _engine_after_backward("softmax")
    expected = closed_form_softmax()
    ex = build_example("softmax")
    assert len(ex.parameters) == 6 + 3 + 9 + 3
    for p in ex.parameters:
        key = f"dL/d{p.label}"
        assert engine[key] == pytest.approx(expected[key], rel=1e-10, abs=1e-15), key
        assert _finite_difference("softmax", p.label) == pytest.approx(
            expected[key], rel=1e-5, abs=1e-9
        )


def test_softmax_weight_rows_follow_the_seed_z_equals_w_a_convention():
    z = build_example("softmax").nodes["z1[2]"]
    products = z.parents[0].parents
    assert [q.label for q in products[0].parents] == ["W1[2][0]", "x[0]"]


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def test_unknown_example_name_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match=r"unknown example '3-3-3'.*2-2-1, 1-1-1, softmax"):
        build_example("3-3-3")


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_bad_learning_rate_is_rejected(lr):
    with pytest.raises(ValueError, match="learning rate"):
        build_example("2-2-1", lr=lr)


def test_non_number_learning_rate_is_a_type_error():
    with pytest.raises(TypeError, match="learning rate"):
        build_example("2-2-1", lr="0.1")


def test_unknown_parameter_override_names_the_parameter():
    with pytest.raises(ValueError, match=r"no parameter 'W3\[0\]'"):
        build_example("2-2-1", parameters={"W3[0]": 1.0})


def test_parameter_override_changes_only_that_parameter():
    ex = build_example("2-2-1", parameters={"b2": 0.0})
    expected = closed_form_2_2_1(b2=0.0)
    assert ex.loss.data == pytest.approx(expected["loss"], rel=1e-12)
    assert ex.parameter_values()["W2[0]"] == 0.6


def test_updated_before_backward_is_a_clear_error():
    with pytest.raises(RuntimeError, match="backward"):
        build_example("1-1-1").updated()


@pytest.mark.parametrize("steps", [-1, 1.5, "3"])
def test_training_rejects_bad_step_counts(steps):
    with pytest.raises(ValueError, match="steps"):
        list(iterate_training("2-2-1", steps))


# ---------------------------------------------------------------------------------------------
# The seed's printed numbers (seed 001)
# ---------------------------------------------------------------------------------------------


def _case_study_check(truth=None):
    ex = build_example("2-2-1")
    ex.loss.backward()
    return check_printed(ex, truth if truth is not None else closed_form_2_2_1(),
                         order=list(closed_form_2_2_1()))  # fmt: skip


def test_case_study_printed_numbers_are_the_documents():
    printed = {p.name: p.printed for p in example_spec("2-2-1").printed}
    assert printed == {
        "z1[0]": "0.31", "z1[1]": "0.29", "a1[0]": "0.57", "a1[1]": "0.57", "z2": "0.71",
        "y_hat": "0.67", "loss": "0.017", "delta2": "-0.05", "delta1[0]": "-0.01",
        "delta1[1]": "-0.01", "dL/dW2[0]": "-0.03", "dL/dW2[1]": "-0.04", "dL/db2": "-0.05",
    }  # fmt: skip


def test_given_values_redo_the_case_study_formulas_on_its_own_numbers():
    given = {c.name: c.given for c in _case_study_check()}
    assert given["z1[0]"] == pytest.approx(0.5 * 0.5 + 0.3 * 0.2 + 0.1)
    assert given["a1[0]"] == pytest.approx(sig(0.31))
    assert given["z2"] == pytest.approx(0.6 * 0.57 + 0.7 * 0.57 + 0.3)  # 1.041, not 0.71
    assert given["y_hat"] == pytest.approx(sig(0.71))
    assert given["loss"] == pytest.approx((0.8 - 0.67) ** 2)
    assert given["delta2"] == pytest.approx(2 * (0.67 - 0.8) * sig(0.71) * (1 - sig(0.71)))
    assert given["delta1[0]"] == pytest.approx(-0.05 * 0.6 * sig(0.31) * (1 - sig(0.31)))
    assert given["dL/dW2[1]"] == pytest.approx(-0.05 * 0.57)


def test_case_study_check_finds_where_the_error_enters_and_what_inherits_it():
    comparisons = _case_study_check()
    kinds = {c.name: c.kind for c in comparisons}
    assert kinds == {
        "z1[0]": WRONG_ARITHMETIC, "z1[1]": WRONG_ARITHMETIC,
        "a1[0]": INHERITS, "a1[1]": INHERITS,
        "z2": WRONG_ARITHMETIC,  # 0.6*0.57 + 0.7*0.57 + 0.3 = 1.041, not 0.71
        "y_hat": INHERITS, "loss": INHERITS, "delta2": INHERITS,
        "delta1[0]": INHERITS, "delta1[1]": INHERITS,
        "dL/dW2[0]": INHERITS,
        "dL/dW2[1]": WRONG_ARITHMETIC,  # -0.05 * 0.57 = -0.0285 prints as -0.03, not -0.04
        "dL/db2": INHERITS,
    }  # fmt: skip
    assert all(c.mismatch for c in comparisons)
    assert first_error(comparisons).name == "z1[0]"
    by_name = {c.name: c for c in comparisons}
    assert by_name["delta2"].inherited_from == ("y_hat", "z2")
    assert by_name["delta1[0]"].inherited_from == ("delta2", "z1[0]")
    # sigma(0.31) = 0.5769 printed as 0.57: cut off, not rounded
    assert by_name["a1[0]"].cut_off and not by_name["a1[1]"].cut_off


def test_check_tells_matches_and_rounding_apart():
    truth = closed_form_2_2_1()
    truth["z1[0]"] = 0.3104  # rounds to the printed 0.31
    truth["z1[1]"] = 0.2999  # cut off (not rounded) to the printed 0.29
    comparisons = {c.name: c for c in _case_study_check(truth)}
    assert comparisons["z1[0]"].kind == MATCH and not comparisons["z1[0]"].mismatch
    assert comparisons["z1[1]"].kind == ROUNDING_ONLY and comparisons["z1[1]"].cut_off


def test_check_needs_every_printed_quantity():
    truth = {k: v for k, v in closed_form_2_2_1().items() if k != "z2"}
    with pytest.raises(ValueError, match="z2"):
        _case_study_check(truth)
