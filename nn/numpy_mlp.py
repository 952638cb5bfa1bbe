"""An independent NumPy MLP in matrix form (the derivation's equations) to check the Value engine.

Nothing here uses the Value engine, ``nn.losses`` or ``nn.optim``: the forward pass, every loss,
every derivative and the optimizers are written again with arrays, straight from the matrix-form
derivation::

    z(l) = W(l) a(l-1) + b(l)            a(l) = sigma(z(l))              a(0) = x
    delta(L) = dJ/dz(L)                  (softmax + cross-entropy: delta(L) = y_hat - y)
    delta(l) = (W(l+1))^T delta(l+1) * sigma'(z(l))
    dJ/dW(l) = delta(l) a(l-1)^T         dJ/db(l) = delta(l)

so when the two implementations agree to ~1e-12, both are right; when the engine has a bug,
they disagree. Only :meth:`NumpyMLP.from_value_mlp`, :meth:`NumpyMLP.copy_to` and
:meth:`NumpyMLP.to_value_mlp` touch a Value MLP, and they only copy numbers.

**Orientation.** ``W[l]`` has shape (units, inputs), as in the matrix-form derivation and as
``MLP.from_weights(..., layout="unit-input")`` takes them. **Batches.** Inside, every sample is
a column: ``a[0] = X.T`` has shape (nin, batch), ``z[l]``, ``a[l]``, ``delta[l]`` have shape
(units, batch).
The public methods take ``X`` with one sample per row, as the datasets are stored, and
:meth:`forward` returns one row per sample. For a batch, the loss is the mean over samples, so the
1/batch factor sits in delta(L), and dJ/db(l) sums delta(l) over the batch columns.

**Indexing.** ``W``, ``b``, ``z``, ``a``, ``delta``, ``dW``, ``db`` are lists indexed by the layer
number l = 1..L as in the derivation; index 0 holds None, except ``a[0]``, the input.
"""

# ruff: noqa: E741, N803, N806 - names follow the matrix-form derivation: W, X, L layers, l the layer number

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

LEAKY_SLOPE = 0.01  # negative-side slope of "leaky_relu" (must equal the Value version's)
UNIT_ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu")
LOSS_NAMES = (
    "mse",
    "squared_error",
    "half_squared_error",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "softmax_cross_entropy",
    "hinge",
)


# ---------------------------------------------------------------------------------------------
# Activations and their derivatives, elementwise on arrays
# ---------------------------------------------------------------------------------------------


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z), without overflow: exp only ever sees -|z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(z: np.ndarray) -> np.ndarray:
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|), without overflow."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def softmax_columns(z: np.ndarray) -> np.ndarray:
    """Softmax of each column, shifted by the column maximum so exp never overflows."""
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """a = sigma(z) for an activation name ("softmax" works column by column)."""
    if name == "linear":
        return z.copy()
    if name == "sigmoid":
        return sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.where(z > 0.0, z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0.0, z, LEAKY_SLOPE * z)
    if name == "softmax":
        return softmax_columns(z)
    raise ValueError(_unknown("activation", name, (*UNIT_ACTIVATIONS, "softmax")))


def derivative(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """sigma'(z) elementwise, from z and a = sigma(z) (softmax: see NumpyMLP._output_delta)."""
    if name == "linear":
        return np.ones_like(z)
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return (z > 0.0).astype(float)  # 0 at z = 0, as the engine and PyTorch take it
    if name == "leaky_relu":
        return np.where(z > 0.0, 1.0, LEAKY_SLOPE)
    raise ValueError(_unknown("activation", name, UNIT_ACTIVATIONS))


def _unknown(what: str, name: object, valid: Sequence[str]) -> str:
    return f"unknown {what} {name!r}; valid: {', '.join(repr(v) for v in valid)}"


# ---------------------------------------------------------------------------------------------
# Losses: the value J and dJ/da(L), both with the batch mean
# ---------------------------------------------------------------------------------------------


def _one_hot_columns(labels: np.ndarray, k: int, loss: str) -> np.ndarray:
    if labels.ndim != 1:
        raise ValueError(f"{loss} needs class labels of shape (batch,), got {labels.shape}")
    if not np.all(labels == np.round(labels)):
        raise TypeError(f"{loss} needs integer class labels")
    if k < 2:
        raise ValueError(f"{loss} needs at least 2 outputs (one per class), got {k}")
    bad = (labels < 0) | (labels >= k)
    if bad.any():
        raise ValueError(
            f"{loss}: label {labels[bad][0]:g} is out of range for {k} classes (valid: 0..{k - 1})"
        )
    y = np.zeros((k, labels.size))
    y[labels.astype(int), np.arange(labels.size)] = 1.0
    return y


def _target_columns(y: np.ndarray, k: int, n: int, loss: str) -> np.ndarray:
    """Elementwise targets as (k, batch) columns, from shape (batch,) (k = 1) or (batch, k)."""
    if y.ndim == 1 and k == 1:
        y = y.reshape(1, -1)
    elif y.ndim == 2 and y.shape == (n, k):
        y = y.T
    else:
        want = f"({n},) or ({n}, 1)" if k == 1 else f"({n}, {k})"
        raise ValueError(f"{loss}: targets for {k} output(s) must have shape {want}, got {y.shape}")
    if y.shape[1] != n:
        raise ValueError(f"{loss}: got {n} samples but {y.shape[1]} targets")
    return y.astype(float)


def loss_and_output_grad(loss: str, a: np.ndarray, y: Any) -> tuple[float, np.ndarray]:
    """For output a (k, batch): the batch-mean loss J and dJ/da, as in the Value losses' table."""
    if loss not in LOSS_NAMES:
        raise ValueError(_unknown("loss", loss, LOSS_NAMES))
    k, n = a.shape
    y = np.asarray(y, dtype=float)
    if loss in ("cross_entropy", "softmax_cross_entropy"):
        t = _one_hot_columns(y, k, loss)
        if loss == "softmax_cross_entropy":
            m = a.max(axis=0, keepdims=True)
            log_sum = np.log(np.exp(a - m).sum(axis=0)) + m[0]
            value = np.mean(log_sum - (a * t).sum(axis=0))
            return float(value), (softmax_columns(a) - t) / n
        p = (a * t).sum(axis=0)  # probability of the true class, per sample
        if np.any(p <= 0.0):
            raise ValueError("cross_entropy: a probability of the true class is <= 0")
        return float(-np.mean(np.log(p))), -t / np.where(t > 0, a, 1.0) / n
    t = _target_columns(y, k, n, loss)
    count = k * n  # "mean over outputs and samples" losses divide by this
    if loss == "mse":
        return float(np.mean((a - t) ** 2)), 2.0 * (a - t) / count
    if loss == "squared_error":
        return float(np.sum((t - a) ** 2) / n), 2.0 * (a - t) / n
    if loss == "half_squared_error":
        return float(0.5 * np.sum((a - t) ** 2) / n), (a - t) / n
    if loss == "binary_cross_entropy_with_logits":
        return float(np.mean(softplus(a) - t * a)), (sigmoid(a) - t) / count
    if loss == "binary_cross_entropy":
        if np.any((a <= 0.0) | (a >= 1.0)):
            raise ValueError("binary_cross_entropy: outputs must be probabilities in (0, 1)")
        value = -np.mean(t * np.log(a) + (1.0 - t) * np.log(1.0 - a))
        return float(value), (-t / a + (1.0 - t) / (1.0 - a)) / count
    if loss == "hinge":
        if not np.all(np.isin(t, (-1.0, 1.0))):
            raise ValueError("hinge: targets must be -1 or +1")
        margin = 1.0 - t * a
        return float(np.mean(np.maximum(margin, 0.0))), -t * (margin > 0.0) / count
    raise ValueError(_unknown("loss", loss, LOSS_NAMES))


# ---------------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------------


class NumpyMLP:
    """An MLP as weight matrices, with a forward and a backward pass over whole batches.

    ``NumpyMLP(weights, biases, activations)``: ``weights[i]`` is W(i+1) of shape (units, inputs),
    ``biases[i]`` is b(i+1) of shape (units,), ``activations[i]`` the name for layer i+1
    ("linear", "sigmoid", "tanh", "relu", "leaky_relu"; "softmax" for the last layer).
    See the module docstring for orientation and indexing.
    """

    def __init__(
        self, weights: Sequence[Any], biases: Sequence[Any], activations: Sequence[str]
    ) -> None:
        if not (len(weights) == len(biases) == len(activations)) or not weights:
            raise ValueError(
                f"need one weight matrix, bias vector and activation per layer; got "
                f"{len(weights)}, {len(biases)}, {len(activations)}"
            )
        self.W: list[Any] = [None]
        self.b: list[Any] = [None]
        for l, (w, bias) in enumerate(zip(weights, biases), start=1):
            w = np.array(w, dtype=float)
            bias = np.array(bias, dtype=float).reshape(-1)
            if w.ndim != 2:
                raise ValueError(f"W({l}) must be a matrix (units, inputs), got shape {w.shape}")
            if l > 1 and w.shape[1] != self.W[l - 1].shape[0]:
                raise ValueError(
                    f"W({l}) must have {self.W[l - 1].shape[0]} columns (the units of layer "
                    f"{l - 1}), got shape {w.shape}"
                )
            if bias.shape != (w.shape[0],):
                raise ValueError(f"b({l}) must have {w.shape[0]} entries, got {bias.size}")
            self.W.append(w)
            self.b.append(bias)
        self.activations = list(activations)
        for l, name in enumerate(self.activations, start=1):
            valid = (
                (*UNIT_ACTIVATIONS, "softmax") if l == len(self.activations) else UNIT_ACTIVATIONS
            )
            if name not in valid:
                raise ValueError(_unknown(f"activation for layer {l}", name, valid))
        self.L = len(self.activations)
        self._clear_cache()

    def _clear_cache(self) -> None:
        none = [None] * (self.L + 1)
        self.z: list[Any] = list(none)
        self.a: list[Any] = list(none)
        self.delta: list[Any] = list(none)
        self.dW: list[Any] = list(none)
        self.db: list[Any] = list(none)

    @property
    def nin(self) -> int:
        return self.W[1].shape[1]

    @property
    def sizes(self) -> list[int]:
        return [self.W[l].shape[0] for l in range(1, self.L + 1)]

    def __repr__(self) -> str:
        return f"NumpyMLP({self.nin}, {self.sizes}, activations={self.activations})"

    # -- forward and backward ------------------------------------------------------------------

    def forward(self, X: Any) -> np.ndarray:
        """Outputs for a batch X (batch, nin) -> (batch, nout); caches z(l) and a(l) as columns."""
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.ndim != 2 or X.shape[1] != self.nin:
            raise ValueError(f"X must have shape (batch, {self.nin}), got {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or inf")
        self._clear_cache()
        self.a[0] = X.T
        for l in range(1, self.L + 1):
            self.z[l] = self.W[l] @ self.a[l - 1] + self.b[l][:, None]  # z(l) = W(l) a(l-1) + b(l)
            self.a[l] = activate(self.activations[l - 1], self.z[l])  # a(l) = sigma(z(l))
        return self.a[self.L].T

    def backward(self, y: Any, loss: str, alpha: float = 0.0) -> float:
        """Backpropagate from the loss for targets y (after :meth:`forward`); returns J.

        Fills ``delta[l]``, ``dW[l]``, ``db[l]`` for every layer. ``alpha`` adds
        ``alpha * (sum W^2 + sum b^2)`` to J (and ``2 alpha W`` to the gradients), like
        ``nn.losses.l2_penalty`` over all parameters.
        """
        if self.a[self.L] is None:
            raise RuntimeError("call forward(X) before backward(y, loss)")
        L = self.L
        out_act = self.activations[L - 1]
        value, grad_a = loss_and_output_grad(loss, self.a[L], y)
        self.delta[L] = self._output_delta(loss, out_act, grad_a, y)
        if loss == "binary_cross_entropy" and out_act == "sigmoid":
            # The Value loss computes this case from the logit: softplus(z) - t z (same J, stable).
            t = _target_columns(np.asarray(y, dtype=float), *self.a[L].shape, loss)
            value = float(np.mean(softplus(self.z[L]) - t * self.z[L]))
        for l in range(L - 1, 0, -1):
            # delta(l) = (W(l+1))^T delta(l+1) * sigma'(z(l))
            self.delta[l] = (self.W[l + 1].T @ self.delta[l + 1]) * derivative(
                self.activations[l - 1], self.z[l], self.a[l]
            )
        for l in range(1, L + 1):
            self.dW[l] = self.delta[l] @ self.a[l - 1].T  # dJ/dW(l) = delta(l) a(l-1)^T
            self.db[l] = self.delta[l].sum(axis=1)  # dJ/db(l) = delta(l), summed over the batch
        if alpha:
            value += alpha * sum(
                np.sum(self.W[l] ** 2) + np.sum(self.b[l] ** 2) for l in range(1, L + 1)
            )
            for l in range(1, L + 1):
                self.dW[l] = self.dW[l] + 2.0 * alpha * self.W[l]
                self.db[l] = self.db[l] + 2.0 * alpha * self.b[l]
        return float(value)

    def _output_delta(self, loss: str, out_act: str, grad_a: np.ndarray, y: Any) -> np.ndarray:
        """delta(L) = dJ/dz(L) from dJ/da(L) and the output activation."""
        L = self.L
        z, a = self.z[L], self.a[L]
        n = a.shape[1]
        if out_act == "softmax" and loss == "cross_entropy":
            # softmax + cross-entropy simplifies to y_hat - y (here / batch for the mean)
            return (a - _one_hot_columns(np.asarray(y, dtype=float), a.shape[0], loss)) / n
        if out_act == "sigmoid" and loss == "binary_cross_entropy":
            # sigmoid + binary cross-entropy simplifies the same way: y_hat - y.
            t = _target_columns(np.asarray(y, dtype=float), a.shape[0], n, loss)
            return (a - t) / (a.shape[0] * n)
        if out_act == "softmax":
            # Softmax Jacobian times a vector, column by column: s * (g - sum(g * s)).
            return a * (grad_a - (grad_a * a).sum(axis=0, keepdims=True))
        return grad_a * derivative(out_act, z, a)

    def loss_and_gradients(
        self, X: Any, y: Any, loss: str, alpha: float = 0.0
    ) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        """Forward and backward on a batch: (J, [dJ/dW(1), ...], [dJ/db(1), ...])."""
        self.forward(X)
        value = self.backward(y, loss, alpha)
        return value, self.dW[1:], self.db[1:]

    # -- reading and writing parameters --------------------------------------------------------

    def flat_parameters(self) -> np.ndarray:
        """All parameters in the Value MLP's order: per layer, per unit, its weights then bias."""
        return self._flatten(self.W, self.b)

    def flat_gradients(self) -> np.ndarray:
        """dJ/d(parameter) from the last backward, in the order of :meth:`flat_parameters`."""
        if self.dW[1] is None:
            raise RuntimeError("no gradients yet: call backward() first")
        return self._flatten(self.dW, self.db)

    def _flatten(self, mats: list[Any], vecs: list[Any]) -> np.ndarray:
        parts = [
            np.concatenate([mats[l], vecs[l][:, None]], axis=1).ravel()
            for l in range(1, self.L + 1)
        ]
        return np.concatenate(parts)

    def describe(self) -> str:
        """z(l), a(l), delta(l) and the gradients of every layer as text, for printing."""
        lines = [repr(self)]
        with np.printoptions(precision=6, suppress=True):
            lines.append(f"a(0) = x:\n{self.a[0]}")
            for l in range(1, self.L + 1):
                for name, value in (
                    ("z", self.z[l]),
                    ("a", self.a[l]),
                    ("delta", self.delta[l]),
                    ("dJ/dW", self.dW[l]),
                    ("dJ/db", self.db[l]),
                ):
                    if value is not None:
                        lines.append(f"{name}({l}):\n{value}")
        return "\n".join(lines)

    # -- conversion to and from a Value MLP (the only link to the other implementation) --------

    @classmethod
    def from_value_mlp(cls, model: Any) -> NumpyMLP:
        """The same network as a Value ``nn.MLP``, numbers copied exactly."""
        weights = [
            [[p.data for p in neuron.w] for neuron in layer.neurons] for layer in model.layers
        ]
        biases = [[neuron.b.data for neuron in layer.neurons] for layer in model.layers]
        return cls(weights, biases, [layer.activation for layer in model.layers])

    def copy_to(self, model: Any) -> None:
        """Write these weights into a Value ``nn.MLP`` of the same shape and activations."""
        if [layer.activation for layer in model.layers] != self.activations:
            raise ValueError(
                f"activations differ: this network has {self.activations}, the model "
                f"{[layer.activation for layer in model.layers]}"
            )
        model.set_weights(
            [self.W[l].T for l in range(1, self.L + 1)],
            [self.b[l] for l in range(1, self.L + 1)],
            layout="input-unit",
        )

    def to_value_mlp(self, *, fused: bool = False) -> Any:
        """A new Value ``nn.MLP`` with exactly these weights."""
        from nn.mlp import MLP

        hidden = set(self.activations[:-1])
        if len(hidden) > 1:
            raise ValueError(
                f"nn.MLP uses one activation for all hidden layers, got {self.activations[:-1]}"
            )
        return MLP.from_weights(
            [self.W[l].T for l in range(1, self.L + 1)],
            [self.b[l] for l in range(1, self.L + 1)],
            activation=hidden.pop() if hidden else "tanh",
            output_activation=self.activations[-1],
            layout="input-unit",
            fused=fused,
        )


# ---------------------------------------------------------------------------------------------
# Optimizers, written again with arrays
# ---------------------------------------------------------------------------------------------


class _NumpyOptimizer:
    """Updates a NumpyMLP's W and b in place from dW and db of its last backward()."""

    def __init__(self, net: NumpyMLP, lr: float | Callable[[int], float]) -> None:
        if not callable(lr) and not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a number > 0 or a schedule lr(step), got {lr!r}")
        self.net = net
        self.lr = lr
        self.steps = 0

    def _lr(self) -> float:
        lr = self.lr(self.steps) if callable(self.lr) else self.lr
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"the learning-rate schedule returned {lr!r} at step {self.steps}")
        return float(lr)

    def step(self) -> None:
        """Move every W(l) and b(l) once."""
        net = self.net
        if net.dW[1] is None:
            raise RuntimeError("no gradients: call net.backward() before step()")
        lr = self._lr()
        for l in range(1, net.L + 1):
            net.W[l] = self._move(("W", l), net.W[l], net.dW[l], lr)
            net.b[l] = self._move(("b", l), net.b[l], net.db[l], lr)
        self.steps += 1

    def _move(self, key: tuple[str, int], p: np.ndarray, g: np.ndarray, lr: float) -> np.ndarray:
        raise NotImplementedError


class NumpySGD(_NumpyOptimizer):
    """p <- p - lr * g; with momentum mu: v <- mu v + g, p <- p - lr * v."""

    def __init__(
        self, net: NumpyMLP, lr: float | Callable[[int], float], momentum: float = 0.0
    ) -> None:
        super().__init__(net, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
        self.momentum = momentum
        self.velocity: dict[tuple[str, int], np.ndarray] = {}

    def _move(self, key: tuple[str, int], p: np.ndarray, g: np.ndarray, lr: float) -> np.ndarray:
        if self.momentum == 0.0:
            return p - lr * g
        v = self.momentum * self.velocity.get(key, np.zeros_like(p)) + g
        self.velocity[key] = v
        return p - lr * v


class NumpyAdam(_NumpyOptimizer):
    """Adam with bias correction: p <- p - lr * m_hat / (sqrt(v_hat) + eps)."""

    def __init__(
        self,
        net: NumpyMLP,
        lr: float | Callable[[int], float] = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(net, lr)
        self.beta1, self.beta2 = betas
        if not (0.0 <= self.beta1 < 1.0 and 0.0 <= self.beta2 < 1.0) or not eps > 0:
            raise ValueError(f"need betas in [0, 1) and eps > 0, got betas={betas!r}, eps={eps!r}")
        self.eps = eps
        self.m: dict[tuple[str, int], np.ndarray] = {}
        self.v: dict[tuple[str, int], np.ndarray] = {}

    def _move(self, key: tuple[str, int], p: np.ndarray, g: np.ndarray, lr: float) -> np.ndarray:
        t = self.steps + 1
        m = self.beta1 * self.m.get(key, np.zeros_like(p)) + (1.0 - self.beta1) * g
        v = self.beta2 * self.v.get(key, np.zeros_like(p)) + (1.0 - self.beta2) * (g * g)
        self.m[key], self.v[key] = m, v
        m_hat = m / (1.0 - self.beta1**t)
        v_hat = v / (1.0 - self.beta2**t)
        return p - lr * m_hat / (np.sqrt(v_hat) + self.eps)
