"""fit(compiled=True) trains to the numbers of fit without compiling, or says why it cannot."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import NonFiniteWarning, Value
from nn import MLP
from nn.compiled_fit import CompiledFitWarning
from nn.data import moons, signed_labels
from nn.losses import l2_penalty, l2_penalty_numbers
from nn.training import fit


def _train(compiled, sizes, fused, xs, y, **options):
    model = MLP(sizes[0], list(sizes[1:]), fused=fused, seed=5, **options.pop("model", {}))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompiledFitWarning)  # it must not fall back here
        history = fit(model, xs, y, compiled=compiled, **options)
    return history, [p.data for p in model.parameters()]


def _same(a, b, tol=1e-12):
    (h1, p1), (h2, p2) = a, b
    assert np.allclose(h1.loss, h2.loss, rtol=tol, atol=tol)
    assert h1.accuracy == h2.accuracy
    assert np.allclose(p1, p2, rtol=tol, atol=tol)


@pytest.mark.parametrize("fused", [False, True])
def test_micrograd_demo_100_epochs_compiled_equal_fit(fused):
    xs, labels = moons(40, noise=0.1, seed=2)
    y = signed_labels(labels)
    options = dict(loss="hinge", optimizer="sgd", lr=0.1, alpha=1e-4, epochs=100,
                   model={"activation": "relu"})  # fmt: skip
    plain = _train(False, (2, 8, 8, 1), fused, xs, y, **dict(options, model=dict(options["model"])))
    compiled = _train(True, (2, 8, 8, 1), fused, xs, y, **options)
    _same(plain, compiled)


@pytest.mark.parametrize(
    "loss, targets",
    [
        ("mse", "regression"),
        ("half_squared_error", "two outputs"),
        ("binary_cross_entropy_with_logits", "labels"),
        ("squared_error", "regression"),
    ],
)
def test_mini_batches_with_adam_compiled_equal_fit(loss, targets):
    rng = np.random.default_rng(7)
    xs = rng.normal(size=(23, 3))
    nout = 2 if targets == "two outputs" else 1
    if targets == "labels":
        y = (xs[:, 0] > 0).astype(float)
    elif nout == 2:
        y = np.stack([np.sin(xs[:, 0]), xs[:, 1] * xs[:, 2]], axis=1)
    else:
        y = np.sin(xs[:, 0]) + xs[:, 1]
    options = dict(loss=loss, optimizer="adam", lr=0.01, epochs=100, batch_size=5, seed=3)
    _same(_train(False, (3, 6, nout), False, xs, y, **options),
          _train(True, (3, 6, nout), False, xs, y, **options))  # fmt: skip


def test_sigmoid_output_with_binary_cross_entropy_compiles():
    xs, labels = moons(30, noise=0.2, seed=4)
    options = dict(loss="binary_cross_entropy", optimizer="sgd", lr=0.5, epochs=100,
                   model={"output_activation": "sigmoid"})  # fmt: skip
    plain = _train(False, (2, 5, 1), True, xs, labels, **{**options, "model": {**options["model"]}})
    _same(plain, _train(True, (2, 5, 1), True, xs, labels, **options))


def test_a_custom_loss_falls_back_with_a_warning_and_trains_the_same():
    xs, labels = moons(20, noise=0.1, seed=1)
    y = signed_labels(labels)

    def my_loss(outputs, targets):
        return sum(((o[0] - t) ** 2 for o, t in zip(outputs, targets)), 0.0) * 0.5

    results = []
    for compiled in (False, True):
        model = MLP(2, [4, 1], seed=1)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            h = fit(model, xs, y, loss=my_loss, epochs=5, compiled=compiled)
        results.append((h.loss, [p.data for p in model.parameters()], caught))
    assert results[0][:2] == results[1][:2]
    said = [str(w.message) for w in results[1][2] if w.category is CompiledFitWarning]
    assert len(said) == 1 and "custom loss" in said[0] and "\n" not in said[0]


def test_softmax_cross_entropy_falls_back_naming_the_loss():
    xs = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    with pytest.warns(CompiledFitWarning, match="softmax_cross_entropy"):
        fit(MLP(2, [3, 3], seed=0), xs, [0, 1, 2], loss="softmax_cross_entropy", epochs=2,
            compiled=True)  # fmt: skip


def test_an_overflowing_loss_warns_and_refuses_the_update_as_fit_does():
    xs = np.array([[0.5, 1.0], [2.0, -1.0], [0.1, 0.2]])
    y = [1e200, -1e200, 3.0]  # (y - t)^2 overflows to inf
    out = []
    for compiled in (False, True):
        model = MLP(2, [2, 1], seed=0)
        with pytest.warns(NonFiniteWarning), pytest.raises(ValueError) as error:
            fit(model, xs, y, loss="mse", optimizer="sgd", lr=0.1, epochs=3, compiled=compiled)
        out.append((str(error.value), [p.data for p in model.parameters()]))
    assert out[0] == out[1]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=40),
    st.sampled_from([1e-4, 0.5, 3.0]),
)
def test_the_l2_term_as_numbers_is_the_engines_to_the_last_bit(values, alpha):
    # fit(compiled=True) computes alpha * sum(p * p) and its gradient without a graph; each
    # number must be backward()'s exactly (and 2 * alpha * p, the derivative, to rounding).
    params = [Value(v) for v in values]
    penalty = l2_penalty(params, alpha)
    penalty.backward()
    value, grads = l2_penalty_numbers(values, alpha)
    assert value == penalty.data
    assert grads == [p.grad for p in params]
    assert grads == pytest.approx([2.0 * alpha * v for v in values], rel=1e-15, abs=1e-300)
