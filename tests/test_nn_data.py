"""Toy datasets: shapes, label conventions, determinism, geometry, and label helpers."""

# ruff: noqa: N806 - X (capital) is the usual name for a data matrix

from __future__ import annotations

import numpy as np
import pytest

from nn.data import DATASETS, circles, load_dataset, moons, one_hot, signed_labels, spirals, xor


@pytest.mark.parametrize("name", list(DATASETS))
def test_dataset_shapes_dtypes_and_balance(name):
    X, y = load_dataset(name, n=101, seed=3)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and np.issubdtype(y.dtype, np.integer)
    classes, counts = np.unique(y, return_counts=True)
    assert classes.tolist() == list(range(len(classes)))
    assert counts.max() - counts.min() <= 1
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("name", list(DATASETS))
def test_same_seed_same_data_other_seed_other_data(name):
    a, b, c = (load_dataset(name, n=50, seed=s) for s in (1, 1, 2))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_noise_free_moons_lie_on_their_arcs():
    X, y = moons(60, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    # upper arc: unit circle around (0, 0), y >= 0; lower arc: unit circle around (1, 0.5)
    assert np.allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    assert np.all(upper[:, 1] >= -1e-12)
    assert np.allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)


def test_noise_is_the_spread_around_noise_free_points():
    clean, y = xor(4000, noise=0.0, seed=5)
    noisy, y2 = xor(4000, noise=0.2, seed=5)
    assert np.array_equal(y, y2)
    # noise-free xor points are the corners; the jitter's standard deviation is the noise
    assert set(map(tuple, clean.tolist())) == {(-1.0, -1.0), (1.0, 1.0), (-1.0, 1.0), (1.0, -1.0)}
    offsets = noisy - clean  # same seed: the same points in the same order, jittered
    assert np.std(offsets) == pytest.approx(0.2, rel=0.05)


def test_xor_label_is_one_where_the_signs_differ():
    X, y = xor(200, noise=0.0, seed=0)
    assert np.array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int))


def test_circles_inner_radius_is_factor():
    X, y = circles(80, noise=0.0, factor=0.3, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.allclose(r[y == 0], 1.0) and np.allclose(r[y == 1], 0.3)


def test_spirals_have_the_requested_number_of_classes():
    X, y = spirals(90, classes=3, noise=0.0, seed=0)
    assert sorted(set(y.tolist())) == [0, 1, 2]
    assert np.max(np.hypot(X[:, 0], X[:, 1])) == pytest.approx(1.0)


def test_signed_labels_and_one_hot():
    assert signed_labels(np.array([0, 1, 1, 0])).tolist() == [-1, 1, 1, -1]
    assert one_hot([2, 0], 3).tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    assert one_hot(np.array([1.0, 0.0])).tolist() == [[0.0, 1.0], [1.0, 0.0]]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: moons(0), ValueError, r"n must be a positive int, got 0"),
        (lambda: moons(10, noise=-0.1), ValueError, r"noise must be a finite number >= 0"),
        (lambda: moons(10, noise=float("nan")), ValueError, r"noise must be a finite number"),
        (lambda: moons(10, seed=1.5), TypeError, r"seed must be an int or None, got float"),
        (lambda: circles(10, factor=1.0), ValueError, r"factor \(inner radius\) must lie in"),
        (lambda: spirals(10, classes=1), ValueError, r"classes must be an int >= 2"),
        (lambda: load_dataset("blobs"), ValueError, r"unknown dataset 'blobs'; valid: 'xor'"),
        (lambda: signed_labels([0, 2]), ValueError, r"needs labels 0 or 1, found \[2\]"),
        (lambda: signed_labels([0.5]), ValueError, r"needs integer labels"),
        (lambda: one_hot([0, 3], 3), ValueError, r"labels must lie in 0..2, found 0..3"),
    ],
)
def test_bad_dataset_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
