"""Losses over Values: values against formulas written here, gradients, reductions, bad targets."""

from __future__ import annotations

import math

import pytest

from autograd import Value, gradcheck
from nn import softmax
from nn.losses import (
    LOSSES,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    get_loss,
    half_squared_error,
    hinge,
    l2_penalty,
    mse,
    softmax_cross_entropy,
    squared_error,
)


def values(*xs: float) -> list[Value]:
    return [Value(float(x)) for x in xs]


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# ---------------------------------------------------------------------------------------------
# Values against the formulas
# ---------------------------------------------------------------------------------------------


def test_seed_squared_error_and_half_squared_error_forms():
    y = Value(0.67)
    assert squared_error(y, 0.8).data == pytest.approx((0.8 - 0.67) ** 2, rel=1e-14)
    loss = half_squared_error(y, 0.8)
    loss.backward()
    assert loss.data == pytest.approx(0.5 * (0.67 - 0.8) ** 2, rel=1e-14)
    assert y.grad == pytest.approx(0.67 - 0.8, rel=1e-14)  # seed 002: dL/dy = y - t


def test_squared_errors_sum_over_outputs_and_average_over_the_batch():
    batch = [values(1.0, 2.0), values(0.0, -1.0)]
    targets = [[0.0, 0.0], [1.0, 1.0]]
    per_sample = [1.0 + 4.0, 1.0 + 4.0]
    assert squared_error(batch, targets).data == pytest.approx(sum(per_sample) / 2)
    assert half_squared_error(batch, targets).data == pytest.approx(0.5 * sum(per_sample) / 2)
    # mse averages over outputs too
    assert mse(batch, targets).data == pytest.approx(sum(per_sample) / 4)


def test_binary_cross_entropy_with_logits_matches_formula_and_is_stable():
    z = values(-2.0, 0.5, 3.0)
    t = [0.0, 1.0, 1.0]
    expected = (
        -sum(
            ti * math.log(sig(zi.data)) + (1 - ti) * math.log(1 - sig(zi.data))
            for zi, ti in zip(z, t)
        )
        / 3
    )
    loss = binary_cross_entropy_with_logits(z, t)
    loss.backward()
    assert loss.data == pytest.approx(expected, rel=1e-13)
    assert [v.grad for v in z] == pytest.approx(
        [(sig(zi.data) - ti) / 3 for zi, ti in zip(z, t)], rel=1e-13
    )
    # A saturated logit: log(sigmoid(-800)) underflows in the naive formula; here it is 800.
    far = Value(-800.0)
    assert binary_cross_entropy_with_logits(far, 1.0).data == pytest.approx(800.0)


def test_binary_cross_entropy_on_sigmoid_output_uses_the_logit_underneath():
    z = Value(40.0)
    p = z.sigmoid()  # 1 - p rounds to 0: the naive formula would take log(0)
    loss = binary_cross_entropy(p, 0.0)
    loss.backward()
    assert loss.data == pytest.approx(40.0, rel=1e-12)  # softplus(40) - 0 = 40 + tiny
    assert z.grad == pytest.approx(1.0, rel=1e-12)  # sigmoid(40) - 0


def test_binary_cross_entropy_on_plain_probabilities_matches_formula():
    p = values(0.2, 0.9)
    t = [0.0, 1.0]
    loss = binary_cross_entropy(p, t)
    loss.backward()
    expected = -(math.log(0.8) + math.log(0.9)) / 2
    assert loss.data == pytest.approx(expected, rel=1e-14)
    # d/dp of -(t log p + (1-t) log(1-p)) = -t/p + (1-t)/(1-p), divided by 2 outputs
    assert [v.grad for v in p] == pytest.approx([1 / 0.8 / 2, -1 / 0.9 / 2], rel=1e-14)


def test_softmax_cross_entropy_matches_log_softmax_and_its_gradient():
    z = values(1.0, 2.0, 0.5)
    loss = softmax_cross_entropy(z, 1)
    loss.backward()
    e = [math.exp(v.data) for v in z]
    s = [v / sum(e) for v in e]
    assert loss.data == pytest.approx(-math.log(s[1]), rel=1e-14)
    # seed 003: delta = y_hat - y
    assert [v.grad for v in z] == pytest.approx([s[0], s[1] - 1.0, s[2]], rel=1e-13)


def test_softmax_cross_entropy_does_not_overflow():
    z = values(1000.0, 0.0)
    loss = softmax_cross_entropy(z, 1)
    loss.backward()
    assert loss.data == pytest.approx(1000.0)
    assert [v.grad for v in z] == pytest.approx([1.0, -1.0])


def test_cross_entropy_on_probabilities_is_minus_log_of_true_class():
    p = values(0.2, 0.5, 0.3)
    assert cross_entropy(p, 2).data == pytest.approx(-math.log(0.3), rel=1e-15)
    batch = [values(0.2, 0.8), values(0.6, 0.4)]
    assert cross_entropy(batch, [1, 0]).data == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)


def test_hinge_is_micrograds_max_margin_mean():
    scores = values(0.5, -2.0, 3.0)
    y = [1, 1, -1]
    expected = (max(0, 1 - 0.5) + max(0, 1 + 2.0) + max(0, 1 + 3.0)) / 3
    assert hinge(scores, y).data == pytest.approx(expected, rel=1e-15)
    # as a batch of one-output samples: the same number
    assert hinge([[s] for s in scores], y).data == pytest.approx(expected, rel=1e-15)


def test_l2_penalty_is_alpha_times_sum_of_squares():
    ps = values(1.0, -2.0, 0.5)
    penalty = l2_penalty(ps, 1e-2)
    penalty.backward()
    assert penalty.data == pytest.approx(1e-2 * (1 + 4 + 0.25), rel=1e-15)
    assert [p.grad for p in ps] == pytest.approx([2e-2 * 1.0, 2e-2 * -2.0, 2e-2 * 0.5])


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_passes_gradcheck(name):
    targets = {
        "cross_entropy": 2,
        "softmax_cross_entropy": 0,
        "hinge": [1.0, -1.0, 1.0],
    }.get(name, [1.0, 0.0, 1.0])
    loss = LOSSES[name]
    if name in ("cross_entropy", "binary_cross_entropy"):
        # these take probabilities: feed them a softmax of the raw inputs

        def f(a, b, c):
            return loss(softmax([a, b, c]), targets)
    else:

        def f(a, b, c):
            return loss([a, b, c], targets)

    assert gradcheck(f, values(0.3, -0.4, 0.8))


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: softmax_cross_entropy(values(1, 2, 3), 3),
            ValueError,
            r"label 3 is out of range for 3 classes \(valid: 0..2\)",
        ),
        (
            lambda: softmax_cross_entropy(values(1, 2, 3), -1),
            ValueError,
            r"label -1 is out of range",
        ),
        (
            lambda: softmax_cross_entropy([values(1, 2), values(1, 2)], [0, 5]),
            ValueError,
            r"label 5 \(sample 1\) is out of range for 2",
        ),
        (
            lambda: softmax_cross_entropy(values(1, 2), 0.5),
            TypeError,
            r"must be a class index \(int\), got float 0.5",
        ),
        (lambda: softmax_cross_entropy(values(1), 0), ValueError, r"needs at least 2 outputs"),
        (
            lambda: cross_entropy(values(0.0, 1.0), 0),
            ValueError,
            r"probability of the true class 0 is 0.0",
        ),
        (
            lambda: hinge(values(0.5, 0.2), [0, 1]),
            ValueError,
            r"hinge loss needs labels -1 or \+1.*signed_labels",
        ),
        (lambda: mse(values(1, 2), [1.0]), ValueError, r"mse: 2 outputs but 1 targets"),
        (lambda: mse(values(1, 2), 1.0), ValueError, r"mse: 2 outputs need a list of 2 targets"),
        (
            lambda: mse([values(1), values(2)], [1.0]),
            ValueError,
            r"mse: got 2 outputs but 1 targets",
        ),
        (lambda: mse(Value(1.0), float("nan")), ValueError, r"mse: target is nan"),
        (lambda: mse(Value(1.0), "1"), TypeError, r"mse: target must be a number, got str"),
        (
            lambda: binary_cross_entropy(Value(1.5), 1.0),
            ValueError,
            r"output is 1.5, not a probability",
        ),
        (
            lambda: binary_cross_entropy_with_logits(Value(1.5), 2.0),
            ValueError,
            r"target is 2.0; it must lie in \[0, 1\]",
        ),
        (lambda: mse([], []), ValueError, r"mse: the output list is empty"),
        (lambda: l2_penalty(values(1.0), -1.0), ValueError, r"alpha must be a number >= 0"),
    ],
)
def test_bad_targets_and_outputs_give_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_unknown_loss_name_lists_valid_names():
    with pytest.raises(
        ValueError, match=r"unknown loss 'mean_squared'; valid: 'mse', 'squared_error'"
    ):
        get_loss("mean_squared")
    assert get_loss("hinge") is hinge
    assert get_loss(mse) is mse
