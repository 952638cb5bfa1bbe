"""Test helper: central finite differences on plain Python floats, independent of the engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def central_difference(
    f: Callable[..., float], xs: Sequence[float], i: int, eps: float = 1e-6
) -> float:
    """d f / d xs[i] by (f(x + eps) - f(x - eps)) / 2eps, evaluating f on plain floats."""
    up = list(xs)
    down = list(xs)
    up[i] += eps
    down[i] -= eps
    return (f(*up) - f(*down)) / (2.0 * eps)
