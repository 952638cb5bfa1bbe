"""SGD, momentum and Adam: updates against hand arithmetic, schedules, and bad settings."""

from __future__ import annotations

import math

import pytest

from autograd import Value
from nn import MLP, SGD, Adam
from nn.optim import make_optimizer


def quadratic_grad(p: Value, target: float) -> None:
    """Set p.grad to d/dp (p - target)^2 = 2 (p - target), as backward() would."""
    p.grad = 2.0 * (p.data - target)


def test_sgd_step_is_p_minus_lr_times_grad():
    p, q = Value(1.0), Value(-2.0)
    p.grad, q.grad = 0.5, -4.0
    SGD([p, q], lr=0.1).step()
    assert p.data == 1.0 - 0.1 * 0.5
    assert q.data == -2.0 - 0.1 * -4.0


def test_sgd_with_momentum_accumulates_velocity():
    # Constant gradient g: velocities are g, g(1 + mu), g(1 + mu + mu^2), ...
    p = Value(0.0)
    opt = SGD([p], lr=0.1, momentum=0.9)
    for _ in range(3):
        p.grad = 1.0
        opt.step()
    assert p.data == pytest.approx(-0.1 * (1 + 1.9 + 2.71), rel=1e-14)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_sgd_minimises_a_quadratic(momentum):
    p = Value(-5.0)
    opt = SGD([p], lr=0.1, momentum=momentum)
    for _ in range(200):
        opt.zero_grad()
        quadratic_grad(p, 3.0)
        opt.step()
    assert p.data == pytest.approx(3.0, abs=1e-6)


def test_adam_first_steps_move_by_lr_against_the_gradient_sign():
    # With bias correction, m_hat = g and v_hat = g^2 on step 1: the step is lr * g / (|g| + eps).
    p, q = Value(1.0), Value(1.0)
    opt = Adam([p, q], lr=0.01)
    p.grad, q.grad = 123.0, -0.004
    opt.step()
    assert p.data == pytest.approx(1.0 - 0.01 * 123.0 / (123.0 + 1e-8), rel=1e-15)
    assert q.data == pytest.approx(1.0 + 0.01 * 0.004 / (0.004 + 1e-8), rel=1e-15)


def test_adam_three_steps_match_the_published_update_rule():
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.05
    grads = [0.3, -0.1, 0.7]
    p = Value(2.0)
    opt = Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    expected, m, v = 2.0, 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        p.grad = g
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        expected -= lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
    assert p.data == pytest.approx(expected, rel=1e-14)
    assert opt.steps == 3


def test_learning_rate_schedule_is_called_with_the_step_number():
    seen = []

    def schedule(step):
        seen.append(step)
        return 1.0 - 0.9 * step / 100  # micrograd's demo schedule

    p = Value(0.0)
    opt = SGD([p], lr=schedule)
    for _ in range(3):
        p.grad = 1.0
        opt.step()
    assert seen == [0, 1, 2]
    assert p.data == pytest.approx(-(1.0 + 0.991 + 0.982), rel=1e-14)


def test_zero_grad_clears_every_parameter():
    model = MLP(2, [2, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    model([1.0, 2.0])[0].backward()
    opt.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_non_finite_gradient_raises_and_changes_nothing():
    ps = [Value(1.0, "a"), Value(2.0, "b")]
    ps[0].grad, ps[1].grad = 1.0, float("nan")
    opt = Adam(ps, lr=0.1)
    with pytest.raises(ValueError, match=r"gradient of b is nan; no parameter was changed"):
        opt.step()
    assert [p.data for p in ps] == [1.0, 2.0]
    assert opt.steps == 0


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda ps: SGD(ps, lr=0.0), ValueError, r"lr must lie in \(0, inf\), got 0.0"),
        (lambda ps: SGD(ps, lr=-1), ValueError, r"lr must lie in \(0, inf\)"),
        (lambda ps: SGD(ps, lr=float("nan")), ValueError, r"lr must lie"),
        (lambda ps: SGD(ps, lr="0.1"), TypeError, r"lr must be a number, got str"),
        (lambda ps: SGD(ps, lr=0.1, momentum=1.0), ValueError, r"momentum must lie in \[0, 1\)"),
        (lambda ps: Adam(ps, betas=(0.9, 1.0)), ValueError, r"betas\[1\] must lie in \[0, 1\)"),
        (lambda ps: Adam(ps, betas=0.9), ValueError, r"betas must be a pair"),
        (lambda ps: Adam(ps, eps=0.0), ValueError, r"eps must lie in \(0, inf\)"),
        (lambda ps: SGD([], lr=0.1), ValueError, r"empty parameter list"),
        (lambda ps: SGD([1.0], lr=0.1), TypeError, r"item 0 is float \(pass model.param"),
        (lambda ps: SGD(ps + ps[:1], lr=0.1), ValueError, r"parameter 2 \(w\) is listed twice"),
        (lambda ps: make_optimizer("rmsprop", ps), ValueError, r"valid: 'sgd', 'adam'"),
    ],
)
def test_bad_optimizer_settings_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make([Value(1.0, "w"), Value(2.0, "v")])


def test_schedule_returning_a_bad_rate_fails_at_that_step_without_changes():
    p = Value(1.0)
    opt = SGD([p], lr=lambda step: 0.1 if step == 0 else -0.1)
    p.grad = 1.0
    opt.step()
    with pytest.raises(ValueError, match=r"schedule returned -0.1 at step 1"):
        opt.step()
    assert p.data == pytest.approx(0.9)
