"""Optimizers that update parameter Values from their gradients: SGD (with momentum) and Adam."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable

from autograd import Value

LearningRate = float | Callable[[int], float]


def _check_hyper(value: object, name: str, low: float, high: float, *, low_open: bool) -> float:
    """A number in (low, high) / [low, high), else ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    ok = (value > low if low_open else value >= low) and value < high
    if not ok:
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must lie in {bracket}{low:g}, {high:g}), got {value!r}")
    return value


class Optimizer:
    """Base class: holds the parameters, the learning rate (or schedule) and the step count.

    ``lr`` is a positive number or a schedule: any callable ``lr(step) -> float``, called with
    the number of steps taken so far (0 for the first step). micrograd's demo schedule is
    ``lr=lambda k: 1.0 - 0.9 * k / 100``.

    ``step()`` first checks every gradient; if one is NaN or infinite it raises and changes
    nothing. Updates write ``.data`` directly, so they never record graph nodes.
    """

    def __init__(self, params: Iterable[Value], lr: LearningRate) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        seen: set[int] = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(
                    f"{type(self).__name__} parameters must be Values; item {i} is "
                    f"{type(p).__name__} (pass model.parameters())"
                )
            if id(p) in seen:
                # It would be updated twice per step.
                raise ValueError(f"parameter {i} ({p.label or 'unlabelled'}) is listed twice")
            seen.add(id(p))
        if not callable(lr):
            lr = _check_hyper(lr, "lr", 0.0, math.inf, low_open=True)
        self.lr = lr
        self.steps = 0  # number of step() calls so far

    def current_lr(self) -> float:
        """The learning rate the next ``step()`` will use."""
        if not callable(self.lr):
            return self.lr
        value = self.lr(self.steps)
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not (math.isfinite(value) and value > 0.0)
        ):
            raise ValueError(
                f"the learning-rate schedule returned {value!r} at step {self.steps}; "
                "it must return a finite number > 0"
            )
        return float(value)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0.0."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter once from its current gradient."""
        lr = self.current_lr()
        grads = [p.grad for p in self.params]
        for i, g in enumerate(grads):
            if not math.isfinite(g):
                name = self.params[i].label or f"parameter {i}"
                raise ValueError(
                    f"gradient of {name} is {g!r}; no parameter was changed (check the loss "
                    "for overflow, or lower the learning rate)"
                )
        self._update(lr, grads)
        self.steps += 1

    def _update(self, lr: float, grads: list[float]) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum.

    Without momentum: ``p -= lr * grad`` (exactly micrograd's update). With momentum mu, each
    parameter keeps a velocity ``v = mu * v + grad`` and moves ``p -= lr * v`` (PyTorch's form).
    """

    def __init__(self, params: Iterable[Value], lr: LearningRate, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = _check_hyper(momentum, "momentum", 0.0, 1.0, low_open=False)
        self.velocity = [0.0] * len(self.params)

    def _update(self, lr: float, grads: list[float]) -> None:
        if self.momentum == 0.0:
            for p, g in zip(self.params, grads):
                p.data -= lr * g
            return
        mu = self.momentum
        for i, (p, g) in enumerate(zip(self.params, grads)):
            v = mu * self.velocity[i] + g
            self.velocity[i] = v
            p.data -= lr * v


class Adam(Optimizer):
    """Adam: per-parameter step sizes from running averages of the gradient and its square.

    For step t = 1, 2, ...: ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)`` (bias correction for the zero start),
    ``p -= lr * m_hat / (sqrt(v_hat) + eps)``.
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.beta1 = _check_hyper(betas[0], "betas[0]", 0.0, 1.0, low_open=False)
        self.beta2 = _check_hyper(betas[1], "betas[1]", 0.0, 1.0, low_open=False)
        self.eps = _check_hyper(eps, "eps", 0.0, math.inf, low_open=True)
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def _update(self, lr: float, grads: list[float]) -> None:
        t = self.steps + 1
        b1, b2, eps = self.beta1, self.beta2, self.eps
        correction1 = 1.0 - b1**t
        correction2 = 1.0 - b2**t
        for i, (p, g) in enumerate(zip(self.params, grads)):
            m = b1 * self.m[i] + (1.0 - b1) * g
            v = b2 * self.v[i] + (1.0 - b2) * (g * g)
            self.m[i], self.v[i] = m, v
            p.data -= lr * (m / correction1) / (math.sqrt(v / correction2) + eps)


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str, params: Iterable[Value], **options: object) -> Optimizer:
    """An optimizer by name ("sgd" or "adam"), e.g. ``make_optimizer("adam", ps, lr=0.01)``."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid: {', '.join(map(repr, OPTIMIZERS))}")
    return OPTIMIZERS[name](params, **options)
