"""Deterministic 2-D toy datasets for classification (xor, moons, circles, spirals), in NumPy.

Every generator returns ``(X, y)``: ``X`` a float array of shape (n, 2), ``y`` an int array of
shape (n,) with labels 0 and 1 (0..classes-1 for ``spirals``). The same ``seed`` gives the same
data on every run; ``noise`` is the standard deviation of Gaussian jitter added to each point.
For the hinge loss (labels -1/+1) convert with :func:`signed_labels`; for losses that want one
target per output (e.g. mse on a softmax layer) use :func:`one_hot`.
"""

# ruff: noqa: N803, N806 - X (capital) is the usual name for a data matrix, as in the brief

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np

Dataset = tuple[np.ndarray, np.ndarray]


def _check(n: object, noise: object, seed: object) -> tuple[int, float]:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if (
        isinstance(noise, bool)
        or not isinstance(noise, numbers.Real)
        or not (math.isfinite(noise) and noise >= 0)
    ):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__} {seed!r}")
    return int(n), float(noise)


def _split(n: int, parts: int) -> list[int]:
    """Sizes of ``parts`` groups that add up to n, as equal as possible (earlier ones larger)."""
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def _finish(
    points: list[np.ndarray], labels: list[np.ndarray], noise: float, rng: np.random.Generator
) -> Dataset:
    X = np.concatenate(points)
    y = np.concatenate(labels).astype(np.int64)
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(len(y))  # shuffle, so that a mini-batch mixes the classes
    return X[order], y[order]


def xor(n: int = 200, *, noise: float = 0.1, seed: int | None = 0) -> Dataset:
    """Four clusters at the corners (+-1, +-1); label 1 where the signs of x0 and x1 differ."""
    n, noise = _check(n, noise, seed)
    rng = np.random.default_rng(seed)
    corners = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    corner = np.arange(n) % 4
    return _finish([corners[corner]], [(corner >= 2).astype(np.int64)], noise, rng)


def moons(n: int = 200, *, noise: float = 0.1, seed: int | None = 0) -> Dataset:
    """Two interleaving half circles: label 0 the upper arc, label 1 the lower one, shifted."""
    n, noise = _check(n, noise, seed)
    rng = np.random.default_rng(seed)
    n0, n1 = _split(n, 2)
    t0 = np.linspace(0.0, math.pi, n0)
    t1 = np.linspace(0.0, math.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    return _finish([upper, lower], [np.zeros(n0), np.ones(n1)], noise, rng)


def circles(
    n: int = 200, *, noise: float = 0.05, factor: float = 0.5, seed: int | None = 0
) -> Dataset:
    """Two concentric circles: label 0 the outer (radius 1), label 1 the inner (radius factor)."""
    n, noise = _check(n, noise, seed)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor (inner radius) must lie in (0, 1), got {factor!r}")
    rng = np.random.default_rng(seed)
    n0, n1 = _split(n, 2)
    t0 = np.linspace(0.0, 2.0 * math.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2.0 * math.pi, n1, endpoint=False)
    outer = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    inner = factor * np.stack([np.cos(t1), np.sin(t1)], axis=1)
    return _finish([outer, inner], [np.zeros(n0), np.ones(n1)], noise, rng)


def spirals(
    n: int = 200, *, noise: float = 0.05, classes: int = 2, turns: float = 1.0, seed: int | None = 0
) -> Dataset:
    """``classes`` interleaved spiral arms from the centre outwards; labels 0..classes-1."""
    n, noise = _check(n, noise, seed)
    if isinstance(classes, bool) or not isinstance(classes, numbers.Integral) or classes < 2:
        raise ValueError(f"classes must be an int >= 2, got {classes!r}")
    if not (isinstance(turns, numbers.Real) and turns > 0):
        raise ValueError(f"turns must be a number > 0, got {turns!r}")
    rng = np.random.default_rng(seed)
    points, labels = [], []
    for k, size in enumerate(_split(n, classes)):
        r = np.linspace(0.05, 1.0, size)
        angle = 2.0 * math.pi * (turns * r + k / classes)
        points.append(np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1))
        labels.append(np.full(size, k))
    return _finish(points, labels, noise, rng)


DATASETS: dict[str, Callable[..., Dataset]] = {
    "xor": xor,
    "moons": moons,
    "circles": circles,
    "spirals": spirals,
}


def load_dataset(name: str, **options: object) -> Dataset:
    """A dataset by name, e.g. ``load_dataset("moons", n=100, noise=0.1, seed=1)``."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(map(repr, DATASETS))}")
    return DATASETS[name](**options)


def _int_labels(y: object, what: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{what} needs a 1-D array of labels, got shape {y.shape}")
    whole = (
        np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y))
    )
    if y.size and not np.issubdtype(y.dtype, np.integer) and not whole:
        raise ValueError(f"{what} needs integer labels, got {y.dtype} values")
    return y.astype(np.int64)


def signed_labels(y: object) -> np.ndarray:
    """0/1 labels -> -1/+1 labels (what the hinge loss expects)."""
    y = _int_labels(y, "signed_labels")
    bad = ~np.isin(y, (0, 1))
    if bad.any():
        raise ValueError(f"signed_labels needs labels 0 or 1, found {sorted(set(y[bad].tolist()))}")
    return 2 * y - 1


def one_hot(y: object, classes: int | None = None) -> np.ndarray:
    """Class indices (n,) -> a float array (n, classes) with a single 1.0 per row."""
    y = _int_labels(y, "one_hot")
    k = int(y.max()) + 1 if classes is None and y.size else (classes or 0)
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"one_hot: labels must lie in 0..{k - 1}, found {y.min()}..{y.max()}")
    out = np.zeros((y.size, k))
    out[np.arange(y.size), y] = 1.0
    return out
