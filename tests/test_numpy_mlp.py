"""The NumPy MLP against the Value engine (losses, gradients, optimizer steps), and on its own."""

# ruff: noqa: E741, N803, N806 - X is the usual name for a data matrix, l a layer (seed 003)

from __future__ import annotations

import ast
import math
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn.numpy_mlp
from nn import MLP, SGD, Adam, NumpyAdam, NumpyMLP, NumpySGD, get_loss, l2_penalty
from nn.activations import ACTIVATIONS, LEAKY_RELU_SLOPE
from nn.losses import LABEL_LOSSES, LOSSES

# Output activations each loss makes sense with (probability losses need probabilities).
OUTPUTS_FOR_LOSS = {
    "mse": ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"],
    "squared_error": ["linear", "sigmoid", "softmax"],
    "half_squared_error": ["linear", "tanh"],
    "binary_cross_entropy": ["sigmoid", "softmax"],
    "binary_cross_entropy_with_logits": ["linear", "tanh"],
    "cross_entropy": ["softmax", "sigmoid"],
    "softmax_cross_entropy": ["linear", "softmax"],
    "hinge": ["linear", "leaky_relu"],
}
CASES = [
    (loss, out, hidden, batch)
    for loss, outs in OUTPUTS_FOR_LOSS.items()
    for out in outs
    for hidden in ACTIVATIONS
    for batch in (1, 16)
]


def test_every_loss_and_activation_is_covered():
    assert set(OUTPUTS_FOR_LOSS) == set(LOSSES) == set(nn.numpy_mlp.LOSS_NAMES)
    assert {o for outs in OUTPUTS_FOR_LOSS.values() for o in outs} == set(ACTIVATIONS) | {"softmax"}


def random_problem(loss, out, hidden, batch, key):
    """A random network (depth 1-4, widths 1-8) with nonzero biases, data and fitting targets."""
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    depth = int(rng.integers(1, 5))
    sizes = [int(s) for s in rng.integers(1, 9, size=depth)]
    if loss in LABEL_LOSSES or out == "softmax":
        sizes[-1] = max(2, sizes[-1])
    nin, k = int(rng.integers(1, 9)), sizes[-1]
    model = MLP(nin, sizes, hidden, out, seed=int(rng.integers(2**31)))
    for p in model.parameters():
        if p.label.endswith(".b"):
            p.data = float(rng.normal(scale=0.3))
    X = rng.normal(size=(batch, nin))
    if loss in LABEL_LOSSES:
        y = rng.integers(0, k, size=batch)
    elif loss == "hinge":
        y = rng.choice([-1.0, 1.0], size=(batch, k))
    elif loss.startswith("binary"):
        y = rng.integers(0, 2, size=(batch, k)).astype(float)
    else:
        y = rng.normal(size=(batch, k))
    if k == 1 and loss not in LABEL_LOSSES:
        y = y[:, 0]
    return model, X, y


def value_loss(model, X, y, loss, alpha=0.0):
    value = get_loss(loss)([model(x) for x in X.tolist()], y.tolist())
    if alpha:
        value = value + l2_penalty(model.parameters(), alpha)
    return value


def assert_rel(a, b, rtol=1e-10):
    """Every entry equal to rtol relative. A floor of 1e-14 times the largest entry allows for
    a sum that is exactly 0 in theory coming out as +-1e-18 in one implementation."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    floor = 1e-14 * max(np.max(np.abs(a)), np.max(np.abs(b)))
    bad = np.abs(a - b) > rtol * np.maximum(np.abs(a), np.abs(b)) + floor
    assert not bad.any(), f"mismatch at {np.flatnonzero(bad)[:5]}: {a[bad][:3]} vs {b[bad][:3]}"


# ---------------------------------------------------------------------------------------------
# Value engine == NumPy version
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("loss", "out", "hidden", "batch"), CASES)
def test_loss_and_every_gradient_agree_with_the_engine(loss, out, hidden, batch):
    model, X, y = random_problem(loss, out, hidden, batch, f"{loss}/{out}/{hidden}/{batch}")
    net = NumpyMLP.from_value_mlp(model)
    J, _, _ = net.loss_and_gradients(X, y, loss)
    value = value_loss(model, X, y, loss)
    value.backward()
    assert_rel(value.data, J)
    assert_rel([p.grad for p in model.parameters()], net.flat_gradients())


@pytest.mark.parametrize("fused", [False, True])
def test_l2_penalty_agrees_with_the_engine(fused):
    model, X, y = random_problem("mse", "tanh", "relu", 16, "l2")
    model.fused = fused
    net = NumpyMLP.from_value_mlp(model)
    J, _, _ = net.loss_and_gradients(X, y, "mse", alpha=0.01)
    value = value_loss(model, X, y, "mse", alpha=0.01)
    value.backward()
    assert_rel(value.data, J)
    assert_rel([p.grad for p in model.parameters()], net.flat_gradients())


OPTIMIZER_PAIRS = {
    "sgd": (lambda ps: SGD(ps, lr=0.05), lambda net: NumpySGD(net, lr=0.05)),
    "momentum": (
        lambda ps: SGD(ps, lr=0.05, momentum=0.9),
        lambda net: NumpySGD(net, lr=0.05, momentum=0.9),
    ),
    "adam": (lambda ps: Adam(ps, lr=0.01), lambda net: NumpyAdam(net, lr=0.01)),
    "adam-schedule": (
        lambda ps: Adam(ps, lr=lambda k: 0.02 / (1 + k), betas=(0.8, 0.99), eps=1e-6),
        lambda net: NumpyAdam(net, lr=lambda k: 0.02 / (1 + k), betas=(0.8, 0.99), eps=1e-6),
    ),
}


@pytest.mark.parametrize("optimizer", list(OPTIMIZER_PAIRS))
@pytest.mark.parametrize(
    ("loss", "out", "hidden"),
    [
        ("mse", "sigmoid", "tanh"),
        ("softmax_cross_entropy", "linear", "leaky_relu"),
        ("hinge", "linear", "sigmoid"),
    ],
)
def test_twenty_optimizer_steps_give_the_same_parameters(optimizer, loss, out, hidden):
    model, X, y = random_problem(loss, out, hidden, 16, f"steps/{loss}")
    net = NumpyMLP.from_value_mlp(model)
    start = net.flat_parameters()
    make_value, make_numpy = OPTIMIZER_PAIRS[optimizer]
    opt, nopt = make_value(model.parameters()), make_numpy(net)
    for _ in range(20):
        value = value_loss(model, X, y, loss)
        opt.zero_grad()
        value.backward()
        opt.step()
        net.loss_and_gradients(X, y, loss)
        nopt.step()
    assert_rel([p.data for p in model.parameters()], net.flat_parameters())
    assert np.max(np.abs(net.flat_parameters() - start)) > 1e-3  # they did move


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 8), min_size=1, max_size=4),
    nin=st.integers(1, 8),
    hidden=st.sampled_from(list(ACTIVATIONS)),
    out=st.sampled_from([*ACTIVATIONS, "softmax"]),
    seed=st.integers(0, 2**31),
    fused=st.booleans(),
)
def test_forward_outputs_agree_for_any_architecture(sizes, nin, hidden, out, seed, fused):
    if out == "softmax":
        sizes[-1] = max(2, sizes[-1])
    model = MLP(nin, sizes, hidden, out, seed=seed, fused=fused)
    X = np.random.default_rng(seed).normal(size=(3, nin))
    net = NumpyMLP.from_value_mlp(model)
    expected = net.forward(X)
    got = np.array([[v.data for v in model(x)] for x in X.tolist()])
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# The NumPy version on its own: finite differences and the seeds' numbers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", list(LOSSES))
def test_numpy_gradients_match_finite_differences(loss):
    out = OUTPUTS_FOR_LOSS[loss][0]
    model, X, y = random_problem(loss, out, "tanh", 4, f"fd/{loss}")
    net = NumpyMLP.from_value_mlp(model)
    net.loss_and_gradients(X, y, loss)
    analytic = net.flat_gradients()
    eps = 1e-6
    for l in range(1, net.L + 1):
        for param, grad in ((net.W[l], net.dW[l]), (net.b[l], net.db[l])):
            for idx in np.ndindex(param.shape):
                saved = param[idx]
                param[idx] = saved + eps
                up = net.loss_and_gradients(X, y, loss)[0]
                param[idx] = saved - eps
                down = net.loss_and_gradients(X, y, loss)[0]
                param[idx] = saved
                numeric = (up - down) / (2 * eps)
                assert abs(grad[idx] - numeric) <= 1e-6 + 1e-4 * abs(numeric)
    net.loss_and_gradients(X, y, loss)
    assert np.array_equal(net.flat_gradients(), analytic)


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def test_seed_221_network_exposes_z_a_delta_per_layer():
    net = NumpyMLP(
        [[[0.5, 0.2], [0.3, 0.4]], [[0.6, 0.7]]],  # seed 003 orientation: W(l) is [unit][input]
        [[0.1, 0.2], [0.3]],
        ["sigmoid", "sigmoid"],
    )
    y_hat = net.forward([[0.5, 0.3]])
    J = net.backward([0.8], "squared_error")
    a1 = [sig(0.41), sig(0.47)]
    y = sig(0.6 * a1[0] + 0.7 * a1[1] + 0.3)
    assert net.z[1][:, 0] == pytest.approx([0.41, 0.47], abs=1e-15)
    assert net.a[1][:, 0] == pytest.approx(a1, rel=1e-15)
    assert y_hat[0, 0] == pytest.approx(y, rel=1e-15)
    assert pytest.approx((0.8 - y) ** 2, rel=1e-14) == J
    delta2 = 2 * (y - 0.8) * y * (1 - y)
    assert net.delta[2][0, 0] == pytest.approx(delta2, rel=1e-14)
    assert net.delta[1][:, 0] == pytest.approx(
        [delta2 * 0.6 * a1[0] * (1 - a1[0]), delta2 * 0.7 * a1[1] * (1 - a1[1])], rel=1e-14
    )
    assert net.dW[2][0] == pytest.approx([delta2 * a1[0], delta2 * a1[1]], rel=1e-14)
    assert "delta(2)" in net.describe()


def test_engine_reproduces_seed_003_softmax_delta_y_hat_minus_y():
    # Through the whole softmax graph, dJ/dz(L) must come out as y_hat - y (seed 003).
    rng = np.random.default_rng(0)
    model = MLP(3, [4], "tanh", "softmax", seed=1)
    for p in model.parameters():
        p.data = float(rng.normal())
    x = [0.3, -1.2, 0.5]
    out = model(x)
    loss = get_loss("cross_entropy")(out, 2)
    loss.backward()
    z = np.array(
        [sum(w.data * xi for w, xi in zip(n.w, x)) + n.b.data for n in model.layers[0].neurons]
    )
    y_hat = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    expected = y_hat - np.array([0.0, 0.0, 1.0, 0.0])
    assert_rel([n.b.grad for n in model.layers[0].neurons], expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Conversion, independence, errors
# ---------------------------------------------------------------------------------------------


def test_conversion_both_ways_is_exact():
    model = MLP(3, [5, 4, 2], "leaky_relu", "softmax", seed=9)
    net = NumpyMLP.from_value_mlp(model)
    assert net.W[2].shape == (4, 5)
    assert net.W[2][3, 1] == model.layers[1].neurons[3].w[1].data
    back = net.to_value_mlp()
    assert back.state_dict() == model.state_dict()
    assert back.activations == model.activations
    net.W[1][0, 0] = 0.125
    net.copy_to(model)
    assert model.layers[0].neurons[0].w[0].data == 0.125
    assert NumpyMLP.from_value_mlp(model).flat_parameters().tolist() == [
        p.data for p in model.parameters()
    ]


def test_numpy_version_shares_no_code_with_the_value_path():
    tree = ast.parse(Path(nn.numpy_mlp.__file__).read_text())
    top_level = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_level |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            top_level.add(node.module)
    assert top_level <= {"__future__", "math", "collections.abc", "typing", "numpy"}
    everywhere = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert not everywhere & {"autograd", "nn.losses", "nn.optim", "nn.activations"}
    assert nn.numpy_mlp.LEAKY_SLOPE == LEAKY_RELU_SLOPE


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: NumpyMLP(
                [np.zeros((2, 3)), np.zeros((1, 3))], [np.zeros(2), np.zeros(1)], ["tanh", "linear"]
            ),
            r"W\(2\) must have 2 columns",
        ),
        (
            lambda: NumpyMLP([np.zeros((2, 3))], [np.zeros(3)], ["tanh"]),
            r"b\(1\) must have 2 entries, got 3",
        ),
        (
            lambda: NumpyMLP([np.zeros((2, 3))], [np.zeros(2)], ["sigmod"]),
            r"unknown activation for layer 1 'sigmod'",
        ),
        (
            lambda: NumpyMLP(
                [np.zeros((2, 3)), np.zeros((2, 2))], [np.zeros(2)] * 2, ["softmax", "tanh"]
            ),
            r"layer 1 'softmax'",
        ),
        (
            lambda: NumpyMLP([np.zeros((2, 3))], [], ["tanh"]),
            r"one weight matrix, bias vector and activation per layer",
        ),
    ],
)
def test_bad_numpy_networks_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_numpy_loss_calls_are_named():
    net = NumpyMLP([np.ones((3, 2))], [np.zeros(3)], ["linear"])
    with pytest.raises(ValueError, match=r"unknown loss 'l1'; valid: 'mse'"):
        net.loss_and_gradients(np.ones((2, 2)), np.zeros(2), "l1")
    with pytest.raises(ValueError, match=r"label 3 is out of range for 3 classes"):
        net.loss_and_gradients(np.ones((2, 2)), np.array([0, 3]), "softmax_cross_entropy")
    with pytest.raises(ValueError, match=r"X must have shape \(batch, 2\)"):
        net.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"X contains NaN"):
        net.forward(np.array([[1.0, np.nan]]))
