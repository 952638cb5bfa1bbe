"""fit / predict / accuracy: learning two moons, the loop itself, progress output, bad input."""

# ruff: noqa: N806 - X (capital) is the usual name for a data matrix

from __future__ import annotations

import gc
import io
import math
import sys
import threading
import weakref

import numpy as np
import pytest

from autograd import is_grad_enabled
from nn import MLP, SGD, Adam, accuracy, fit, predict, predict_classes
from nn.data import moons, one_hot, signed_labels, spirals
from nn.losses import mse


def test_two_moons_reach_97_percent_accuracy():
    X, y = moons(100, noise=0.1, seed=1)
    model = MLP(2, [8, 8, 1], "tanh", "linear", seed=1, fused=True)
    history = fit(
        model,
        X,
        y,
        loss="binary_cross_entropy_with_logits",
        optimizer="adam",
        lr=0.05,
        epochs=60,
        batch_size=20,
        progress=False,
    )
    assert accuracy(model, X, y, loss="binary_cross_entropy_with_logits") >= 0.97
    # and on fresh points from the same distribution
    X_test, y_test = moons(200, noise=0.1, seed=2)
    assert accuracy(model, X_test, y_test, loss="binary_cross_entropy_with_logits") >= 0.95
    assert len(history) == 60 and history.loss[-1] < history.loss[0] / 10


def test_micrograd_style_hinge_training_separates_two_moons():
    X, y = moons(60, noise=0.1, seed=3)
    ys = signed_labels(y)
    model = MLP(2, [8, 1], "relu", "linear", seed=0, fused=True)
    opt = SGD(model.parameters(), lr=lambda k: 0.5 - 0.4 * k / 150)
    history = fit(model, X, ys, loss="hinge", optimizer=opt, epochs=150, alpha=1e-4, progress=False)
    assert history.accuracy[-1] >= 0.9
    assert set(predict_classes(model, X, loss="hinge").tolist()) <= {-1, 1}


def test_softmax_classifier_separates_three_half_turn_spirals():
    X, y = spirals(60, classes=3, noise=0.0, turns=0.5, seed=0)
    model = MLP(2, [12, 3], "tanh", "linear", seed=0, fused=True)
    history = fit(
        model, X, y, loss="softmax_cross_entropy", lr=0.05, epochs=80, batch_size=15, progress=False
    )
    assert history.accuracy[-1] >= 0.9  # chance is 1/3
    assert accuracy(model, X, y) == pytest.approx(np.mean(np.argmax(predict(model, X), 1) == y))


def test_full_batch_fit_equals_the_loop_written_out():
    X, y = moons(12, noise=0.1, seed=0)
    a = MLP(2, [3, 1], "tanh", "sigmoid", seed=4)
    b = MLP(2, [3, 1], "tanh", "sigmoid", seed=4)
    history = fit(
        a, X, y, loss="mse", optimizer=SGD(a.parameters(), lr=0.3), epochs=5, progress=False
    )
    opt = SGD(b.parameters(), lr=0.3)
    losses = []
    for _ in range(5):
        loss = mse([b(x) for x in X.tolist()], y.astype(float).tolist())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.data)
    assert a.state_dict() == b.state_dict()
    assert history.loss == pytest.approx(losses, rel=1e-15)


def test_minibatch_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    X, y = moons(10, noise=0.1, seed=0)
    model = MLP(2, [2, 1], "tanh", "linear", seed=0)
    seen = []

    def record(outputs, targets):
        value = mse(outputs, targets)
        seen.append((len(targets), value.data))
        return value

    history = fit(
        model,
        X,
        y,
        loss=record,
        optimizer=SGD(model.parameters(), lr=1e-9),
        epochs=1,
        batch_size=4,
        progress=False,
    )
    assert [n for n, _ in seen] == [4, 4, 2]
    assert history.loss[0] == pytest.approx(sum(n * v for n, v in seen) / 10, rel=1e-12)


def test_accuracy_is_none_for_regression_targets():
    X = np.linspace(-1, 1, 8).reshape(-1, 1)
    y = 0.5 * X[:, 0] + 0.1
    history = fit(MLP(1, [1], "linear", seed=0), X, y, loss="mse", epochs=2, progress=False)
    assert history.accuracy == [None, None]
    assert history["loss"] is history.loss


def test_one_hot_targets_are_scored_by_argmax():
    X, y = spirals(30, classes=3, seed=0)
    history = fit(
        MLP(2, [3], "linear", "softmax", seed=0),
        X,
        one_hot(y, 3),
        loss="mse",
        epochs=1,
        progress=False,
    )
    assert history.accuracy[0] is not None and 0.0 <= history.accuracy[0] <= 1.0


def test_callback_receives_each_epoch():
    X, y = moons(8, seed=0)
    calls = []
    fit(
        MLP(2, [1], seed=0),
        X,
        y,
        loss="binary_cross_entropy_with_logits",
        epochs=3,
        progress=False,
        callback=lambda e, loss, acc: calls.append((e, math.isfinite(loss))),
    )
    assert calls == [(0, True), (1, True), (2, True)]


def test_predict_returns_outputs_without_recording_a_graph():
    model = MLP.from_weights(
        [[[2.0], [-1.0]]], [[0.5]], output_activation="linear", layout="input-unit"
    )
    out = predict(model, [[1.0, 1.0], [0.0, 2.0]])
    assert out.shape == (2, 1)
    assert out[:, 0].tolist() == [2.0 - 1.0 + 0.5, -2.0 + 0.5]
    assert is_grad_enabled()


# ---------------------------------------------------------------------------------------------
# Progress display
# ---------------------------------------------------------------------------------------------


def test_progress_true_without_tqdm_prints_about_ten_plain_lines(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # makes "import tqdm.auto" fail
    X, y = moons(8, seed=0)
    stream = io.StringIO()
    fit(
        MLP(2, [1], seed=0),
        X,
        y,
        loss="binary_cross_entropy_with_logits",
        epochs=20,
        progress=True,
        stream=stream,
    )
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[-1].startswith("epoch 20/20: loss ") and "accuracy" in lines[-1]


@pytest.mark.parametrize("progress", [None, False])
def test_progress_is_silent_when_not_a_terminal_or_off(progress):
    X, y = moons(8, seed=0)
    stream = io.StringIO()  # not a TTY
    fit(MLP(2, [1], seed=0), X, y, epochs=3, progress=progress, stream=stream)
    assert stream.getvalue() == ""


# ---------------------------------------------------------------------------------------------
# Bad input: clear error, model unchanged
# ---------------------------------------------------------------------------------------------


def _bad_nan_x():
    X, y = moons(10, seed=0)
    X[3, 1] = np.nan
    return X, y


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "match"),
    [
        (_bad_nan_x, {}, ValueError, r"X\[3, 1\] is nan: the data must not contain NaN"),
        (
            lambda: (np.zeros((5, 3)), np.zeros(5)),
            {},
            ValueError,
            r"X must have shape \(n, 2\).*\(5, 3\)",
        ),
        (lambda: (np.zeros((5, 2)), np.zeros(4)), {}, ValueError, r"one target per sample \(5\)"),
        (
            lambda: (np.zeros((2, 2)), np.array([0.0, np.nan])),
            {},
            ValueError,
            r"y\[1\] is not finite",
        ),
        (
            lambda: moons(10, seed=0),
            {"loss": "hinge"},
            ValueError,
            r"sample 0: hinge: .*signed_labels",
        ),
        (
            lambda: moons(10, seed=0),
            {"loss": "softmax_cross_entropy"},
            ValueError,
            r"needs at least 2 outputs",
        ),
        (
            lambda: moons(10, seed=0),
            {"loss": "msee"},
            ValueError,
            r"unknown loss 'msee'; valid: 'mse'",
        ),
        (lambda: moons(10, seed=0), {"epochs": 0}, ValueError, r"epochs must be a positive int"),
        (
            lambda: moons(10, seed=0),
            {"batch_size": 0},
            ValueError,
            r"batch_size must be a positive int",
        ),
        (
            lambda: moons(10, seed=0),
            {"optimizer": "adamw"},
            ValueError,
            r"unknown optimizer 'adamw'",
        ),
        (lambda: moons(10, seed=0), {"lr": -1.0}, ValueError, r"lr must lie in \(0, inf\)"),
        (lambda: moons(10, seed=0), {"alpha": -1.0}, ValueError, r"alpha must be a number >= 0"),
    ],
)
def test_bad_fit_arguments_raise_before_training(data, kwargs, error, match):
    X, y = data()
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(error, match=match):
        fit(model, X, y, progress=False, **kwargs)
    assert model.state_dict() == before


def test_label_out_of_range_names_the_sample():
    X, y = spirals(9, classes=3, seed=0)
    y = y.copy()
    y[4] = 3
    model = MLP(2, [3], "tanh", "linear", seed=0)
    with pytest.raises(
        ValueError, match=r"sample 4: softmax_cross_entropy: label 3 is out of range"
    ):
        fit(model, X, y, loss="softmax_cross_entropy", progress=False)


def test_optimizer_of_another_model_is_refused():
    X, y = moons(10, seed=0)
    other = MLP(2, [1], seed=0)
    with pytest.raises(ValueError, match="holds none of this model's parameters"):
        fit(MLP(2, [1], seed=0), X, y, optimizer=Adam(other.parameters()), progress=False)
    with pytest.raises(ValueError, match="do not also pass lr"):
        fit(other, X, y, optimizer=Adam(other.parameters()), lr=0.1, progress=False)


# ---------------------------------------------------------------------------------------------
# The garbage collector: paused during each step, restored on every way out of fit
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def collector_state():
    """Run the test with the collector on and default-looking thresholds; put the user's back."""
    enabled, thresholds = gc.isenabled(), gc.get_threshold()
    gc.enable()
    yield
    gc.set_threshold(*thresholds)
    if enabled:
        gc.enable()
    else:
        gc.disable()


def _spy_loss(seen: list, fail_on_call: int | None = None, error: type = RuntimeError):
    """An mse loss that records whether the collector is on while the step runs, and can raise."""

    def loss(outputs, targets):
        seen.append(gc.isenabled())
        if fail_on_call is not None and len(seen) == fail_on_call:
            raise error("the loss failed on purpose")
        return mse(outputs, targets)

    return loss


def _tiny_problem():
    X, y = moons(12, noise=0.1, seed=0)
    return MLP(2, [3, 1], "tanh", "linear", seed=0), X, y.astype(float)


def test_fit_pauses_the_collector_during_each_step_and_restores_it(collector_state):
    gc.set_threshold(1234, 7, 3)  # a user's own thresholds
    model, X, y = _tiny_problem()
    during_steps, between_steps = [], []
    fit(
        model,
        X,
        y,
        loss=_spy_loss(during_steps),
        epochs=3,
        batch_size=4,
        progress=False,
        callback=lambda *_: between_steps.append(gc.isenabled()),
    )
    assert during_steps == [False] * 9  # 3 epochs x 3 batches, collector off in every step
    assert between_steps == [True] * 3  # ... and on again before the callback
    assert gc.isenabled()
    assert gc.get_threshold() == (1234, 7, 3)


def test_fit_leaves_a_disabled_collector_disabled(collector_state):
    gc.disable()
    model, X, y = _tiny_problem()
    between_steps = []
    fit(
        model,
        X,
        y,
        epochs=2,
        progress=False,
        callback=lambda *_: between_steps.append(gc.isenabled()),
    )
    assert between_steps == [False, False]
    assert not gc.isenabled()


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_fit_restores_the_collector_when_the_loss_raises_mid_training(collector_state, error):
    model, X, y = _tiny_problem()
    seen = []
    with pytest.raises(error, match="on purpose"):
        fit(
            model,
            X,
            y,
            loss=_spy_loss(seen, fail_on_call=5, error=error),
            epochs=3,
            batch_size=4,
            progress=False,
        )
    assert seen == [False] * 5  # it raised inside the fifth step, with the collector paused
    assert gc.isenabled()
    # ... and the next fit pauses and restores it again, as if nothing had happened
    again = []
    fit(model, X, y, loss=_spy_loss(again), epochs=1, batch_size=6, progress=False)
    assert again == [False, False]
    assert gc.isenabled()


def test_fit_restores_the_collector_when_the_callback_raises(collector_state):
    model, X, y = _tiny_problem()

    def stop(epoch, loss, accuracy):
        if epoch == 1:
            raise KeyboardInterrupt("stopped by the user")

    with pytest.raises(KeyboardInterrupt):
        fit(model, X, y, epochs=5, progress=False, callback=stop)
    assert gc.isenabled()


def test_fit_restores_the_collector_when_a_gradient_is_not_finite(collector_state):
    # The optimizer refuses a non-finite gradient by raising from inside the step.
    model, X, y = _tiny_problem()

    def overflowing(outputs, targets):
        return mse(outputs, targets) * 1e308 * 1e308

    with pytest.raises(ValueError, match="no parameter was changed"), pytest.warns(Warning):
        fit(model, X, y, loss=overflowing, epochs=2, progress=False)
    assert gc.isenabled()


def test_reference_cycles_made_during_training_are_still_collected(collector_state):
    # A custom loss that leaves 2,000 reference cycles behind on every call: with the collector
    # paused only inside each step, they are freed between steps, not piled up until fit ends.
    class Cycle:
        pass

    alive = weakref.WeakSet()

    def littering(outputs, targets):
        for _ in range(2000):
            c = Cycle()
            c.me = c
            alive.add(c)
        return mse(outputs, targets)

    model, X, y = _tiny_problem()
    fit(model, X, y, loss=littering, epochs=10, batch_size=6, progress=False)
    # 20 calls made 40,000; at most the last call's are still waiting for a collection.
    assert len(alive) <= 2000


def test_two_threads_fitting_at_once_leave_the_collector_on(collector_state):
    errors = []

    def train(seed):
        try:
            X, y = moons(12, noise=0.1, seed=seed)
            fit(
                MLP(2, [3, 1], seed=seed),
                X,
                y.astype(float),
                epochs=15,
                batch_size=3,
                progress=False,
            )
        except Exception as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=train, args=(s,)) for s in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert gc.isenabled()
