"""Loss functions over Values (squared errors, cross-entropies, hinge) and an L2 penalty.

Every loss takes ``(outputs, targets)`` and returns one Value, the loss to call ``backward()`` on.

**One sample or a batch.** ``outputs`` is either one sample's output - what the model returns,
a list of Values (or a single Value) - or a batch: a list of such lists, e.g.
``[model(x) for x in X]``. ``targets`` matches: for one sample a number (one output), a list of
numbers (one per output) or a class index; for a batch a list/array with one such entry per
sample.

**Reduction.** The batch loss is the *mean* over samples of the per-sample loss (computed as
``sum * (1/n)``, as micrograd does). Per sample:

==================================  ===============================================  ===========
name                                per-sample loss                                  over outputs
==================================  ===============================================  ===========
``mse``                             (y - t)^2                                        mean
``squared_error``                   (t - y)^2 (the case study's form)                sum
``half_squared_error``              1/2 (y - t)^2 (so that dL/dy = y - t)            sum
``binary_cross_entropy``            -(t log p + (1 - t) log(1 - p)), p probability    mean
``binary_cross_entropy_with_logits`` t sp(-z) + (1 - t) sp(z), sp = softplus        mean
``cross_entropy``                   -log p[label], p probabilities (softmax output)  (one term)
``softmax_cross_entropy``           log(sum_i e^z_i) - z[label], z logits (as        (one term)
                                    softplus(logsumexp_{i != label} z_i - z[label]))
``hinge``                           relu(1 - t s), t in {-1, +1} (micrograd's demo)  mean
==================================  ===============================================  ===========

Which to use for classification: linear output + ``softmax_cross_entropy`` (many classes) or
``binary_cross_entropy_with_logits`` (two classes, one output) are the stable choices. If the
model ends in a softmax/sigmoid, ``cross_entropy``/``binary_cross_entropy`` take its
probabilities; ``binary_cross_entropy`` notices an output made by ``sigmoid`` and computes the loss
from the logit underneath (same value and gradient, but no log(0) when the sigmoid saturates).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd import Value
from nn.checks import finite_number

Loss = Callable[[Any, Any], Value]


# ---------------------------------------------------------------------------------------------
# Shaping inputs: one sample or a batch
# ---------------------------------------------------------------------------------------------


def _is_sample(outputs: Any) -> bool:
    """True when ``outputs`` is one sample's output: a Value or a flat list of Values."""
    if type(outputs) is list and all(type(o) is Value for o in outputs):
        return True  # what a model returns: answered without the slower abstract-class checks
    if isinstance(outputs, Value):
        return True
    return isinstance(outputs, Sequence) and all(isinstance(o, Value) for o in outputs)


def _as_batch(outputs: Any, targets: Any, loss: str) -> tuple[list[list[Value]], list[Any]]:
    """(list of per-sample output lists, list of per-sample targets), checked for shape."""
    if _is_sample(outputs):
        sample = [outputs] if isinstance(outputs, Value) else list(outputs)
        if not sample:
            raise ValueError(f"{loss}: the output list is empty")
        return [sample], [targets]
    if not isinstance(outputs, Sequence) or not outputs:
        raise TypeError(
            f"{loss}: outputs must be a Value, a list of Values (one sample) or a non-empty list "
            f"of such lists (a batch); got {type(outputs).__name__}"
        )
    batch = []
    for i, out in enumerate(outputs):
        if not _is_sample(out) or (not isinstance(out, Value) and not out):
            raise TypeError(
                f"{loss}: sample {i} of the batch must be a Value or a list of Values, "
                f"got {type(out).__name__}"
            )
        batch.append([out] if isinstance(out, Value) else list(out))
    if isinstance(targets, np.ndarray):
        targets = list(targets)
    if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence):
        raise TypeError(
            f"{loss}: a batch of {len(batch)} outputs needs a list of {len(batch)} targets, "
            f"got {type(targets).__name__} {targets!r}"
        )
    if len(targets) != len(batch):
        raise ValueError(f"{loss}: got {len(batch)} outputs but {len(targets)} targets")
    return batch, list(targets)


def _where(i: int, n: int) -> str:
    return f" (sample {i})" if n > 1 else ""


def _value_targets(target: Any, k: int, loss: str, where: str) -> list[float]:
    """One sample's targets for an elementwise loss: one number per output."""
    if type(target) is float and k == 1 and math.isfinite(target):
        return [target]  # the common case (what fit passes), without the general checks
    if isinstance(target, np.ndarray):
        target = target.tolist()
    if isinstance(target, Sequence) and not isinstance(target, str):
        if len(target) != k:
            raise ValueError(f"{loss}: {k} outputs but {len(target)} targets{where}")
        return [finite_number(t, f"{loss}: target{where}") for t in target]
    if k != 1:
        raise ValueError(f"{loss}: {k} outputs need a list of {k} targets{where}, got {target!r}")
    return [finite_number(target, f"{loss}: target{where}")]


def _label(target: Any, k: int, loss: str, where: str) -> int:
    """One sample's class index, checked to lie in 0..k-1."""
    if isinstance(target, np.ndarray) and target.ndim == 0:
        target = target.item()
    if isinstance(target, float) and target.is_integer():
        target = int(target)
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise TypeError(
            f"{loss}: target{where} must be a class index (int), got {type(target).__name__} "
            f"{target!r}"
        )
    if not 0 <= target < k:
        raise ValueError(
            f"{loss}: label {target}{where} is out of range for {k} classes (valid: 0..{k - 1})"
        )
    return int(target)


def _total(terms: list[Value]) -> Value:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _mean(terms: list[Value]) -> Value:
    # sum * (1/n), exactly as micrograd's demo writes it, so losses match it bit for bit.
    if len(terms) == 1:
        return terms[0]
    return _total(terms) * (1.0 / len(terms))


def _elementwise(
    outputs: Any,
    targets: Any,
    loss: str,
    term: Callable[[Value, float, str], Value],
    over_outputs: Callable[[list[Value]], Value],
) -> Value:
    batch, tgts = _as_batch(outputs, targets, loss)
    per_sample = []
    for i, (out, target) in enumerate(zip(batch, tgts)):
        where = _where(i, len(batch))
        ts = _value_targets(target, len(out), loss, where)
        per_sample.append(over_outputs([term(y, t, where) for y, t in zip(out, ts)]))
    return _mean(per_sample)


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------


def mse(outputs: Any, targets: Any) -> Value:
    """Mean squared error: mean of (y - t)^2 over outputs and samples."""
    return _elementwise(outputs, targets, "mse", lambda y, t, w: (y - t) ** 2, _mean)


def squared_error(outputs: Any, targets: Any) -> Value:
    """The case study's ``(t - y)^2``: summed over outputs, averaged over a batch."""
    return _elementwise(outputs, targets, "squared_error", lambda y, t, w: (t - y) ** 2, _total)


def half_squared_error(outputs: Any, targets: Any) -> Value:
    """The walkthrough's ``1/2 (y - t)^2`` (so dL/dy = y - t): summed over outputs, batch mean."""
    return _elementwise(
        outputs, targets, "half_squared_error", lambda y, t, w: 0.5 * (y - t) ** 2, _total
    )


def _check_probability_target(t: float, loss: str, where: str) -> float:
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"{loss}: target{where} is {t!r}; it must lie in [0, 1]")
    return t


def _bce_logit_term(z: Value, t: float) -> Value:
    # -(t log sigmoid(z) + (1-t) log(1 - sigmoid(z))) with -log sigmoid(z) = softplus(-z) and
    # -log(1 - sigmoid(z)) = softplus(z): t softplus(-z) + (1-t) softplus(z). Each softplus is
    # exact (max(x, 0) + log1p(e^-|x|)), so no exp overflow, no log(0), and no cancellation:
    # the shorter softplus(z) - t z gives 37.0 - 37.0 = 0.0 at z = 37, t = 1 instead of
    # log1p(e^-37) = 8.5e-17. Its derivative is sigmoid(z) - t. Both terms are built even when
    # one has weight 0: softplus is finite for every finite z, so 0 * softplus adds exactly 0,
    # and every target gives the same graph (which fit(compiled=True) compiles once, finding
    # the target as the one leaf whose number changes with it: hence t is a leaf, used twice).
    target = Value(t)
    return target * (-z).softplus() + (1.0 - target) * z.softplus()


def binary_cross_entropy_with_logits(outputs: Any, targets: Any) -> Value:
    """Binary cross-entropy from logits z (p = sigmoid(z)), mean over outputs.

    Per output ``t softplus(-z) + (1 - t) softplus(z)``: targets are 0/1 (or any probability in
    [0, 1]). Exact for any z (at z = 37, t = 1 it is log1p(e^-37) = 8.5e-17, not 0).
    """
    name = "binary_cross_entropy_with_logits"

    def term(z: Value, t: float, where: str) -> Value:
        return _bce_logit_term(z, _check_probability_target(t, name, where))

    return _elementwise(outputs, targets, name, term, _mean)


def binary_cross_entropy(outputs: Any, targets: Any) -> Value:
    """Binary cross-entropy from probabilities p: -(t log p + (1-t) log(1-p)), mean over outputs.

    When p was produced by ``sigmoid`` (as the output of ``MLP(..., output_activation="sigmoid")``
    is), the loss is computed from the logit z underneath as in
    :func:`binary_cross_entropy_with_logits`: equal in value and gradient, but it never takes
    log(0) when the sigmoid saturates. The graph then goes from
    the loss straight to z. Any other p must lie strictly between 0 and 1.
    """
    name = "binary_cross_entropy"

    def term(p: Value, t: float, where: str) -> Value:
        t = _check_probability_target(t, name, where)
        if p.op == "sigmoid":
            return _bce_logit_term(p.parents[0], t)
        if not 0.0 < p.data < 1.0:
            raise ValueError(
                f"{name}: output{where} is {p.data!r}, not a probability in (0, 1); give "
                "logits to binary_cross_entropy_with_logits instead"
            )
        return -(t * p.log() + (1.0 - t) * (1.0 - p).log())

    return _elementwise(outputs, targets, name, term, _mean)


def hinge(outputs: Any, targets: Any) -> Value:
    """Max-margin loss from micrograd's demo: relu(1 - t * score), targets -1 or +1, mean."""

    def term(s: Value, t: float, where: str) -> Value:
        if t not in (-1.0, 1.0):
            raise ValueError(
                f"hinge: target{where} is {t:g}; hinge loss needs labels -1 or +1 "
                "(convert 0/1 labels with nn.data.signed_labels(y))"
            )
        return (1 - t * s).relu()

    return _elementwise(outputs, targets, "hinge", term, _mean)


def _class_loss(
    outputs: Any, targets: Any, loss: str, term: Callable[[list[Value], int, str], Value]
) -> Value:
    batch, labels = _as_batch(outputs, targets, loss)
    per_sample = []
    for i, (out, label) in enumerate(zip(batch, labels)):
        where = _where(i, len(batch))
        if len(out) < 2:
            raise ValueError(
                f"{loss} needs at least 2 outputs (one per class), got {len(out)}; for two "
                "classes with one output use binary_cross_entropy_with_logits"
            )
        per_sample.append(term(out, _label(label, len(out), loss, where), where))
    return _mean(per_sample)


def softmax_cross_entropy(outputs: Any, targets: Any) -> Value:
    """Cross-entropy of softmax(logits) against a class index, computed stably from the logits.

    ``log(sum_i exp(z_i)) - z[label]`` = ``log(1 + sum_{i != label} exp(z_i - z[label]))`` =
    ``softplus(r - z[label])`` with ``r = log(sum_{i != label} exp(z_i))``, the log-sum-exp of
    the other logits, shifted by their largest m (a constant): ``m + log(sum exp(z_i - m))``.
    exp() never overflows, the log's argument is at least 1, and softplus keeps the digits
    when the true class wins by far (log(1 + 1e-20) would be 0.0). Its gradient with respect
    to the logits is ``softmax(z) - onehot(label)`` (the matrix-form derivation's delta).
    """

    def term(z: list[Value], label: int, where: str) -> Value:
        others = [v for i, v in enumerate(z) if i != label]
        m = max(v.data for v in others)
        rest = _total([(v - m).exp() for v in others]).log() + m
        return (rest - z[label]).softplus()

    return _class_loss(outputs, targets, "softmax_cross_entropy", term)


def cross_entropy(outputs: Any, targets: Any) -> Value:
    """Cross-entropy from probabilities (e.g. a softmax output layer): -log p[label].

    J = -sum_i y_i log(y_hat_i) with a one-hot y. If the probability of the true
    class has underflowed to 0 this raises; ``softmax_cross_entropy`` on logits cannot underflow.
    """

    def term(p: list[Value], label: int, where: str) -> Value:
        if not p[label].data > 0.0:
            raise ValueError(
                f"cross_entropy: probability of the true class {label}{where} is "
                f"{p[label].data!r}, log needs > 0; use softmax_cross_entropy on logits instead"
            )
        return -p[label].log()

    return _class_loss(outputs, targets, "cross_entropy", term)


def l2_penalty(parameters: Sequence[Value], alpha: float) -> Value:
    """``alpha * sum(p * p)``: the weight-decay term micrograd's demo adds to its loss."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not alpha >= 0.0:
        raise ValueError(f"l2_penalty alpha must be a number >= 0, got {alpha!r}")
    if not math.isfinite(alpha):
        raise ValueError(f"l2_penalty alpha must be finite, got {alpha!r}")
    parameters = list(parameters)
    if not parameters:
        raise ValueError("l2_penalty needs at least one parameter")
    return alpha * _total([p * p for p in parameters])


def l2_penalty_numbers(values: Sequence[float], alpha: float) -> tuple[float, list[float]]:
    """:func:`l2_penalty` of the numbers ``values`` and its gradient, without building a graph.

    The same operations in the order the engine does them, so the same floats to the last bit:
    the sum left to right, times alpha; backward() passes ``alpha`` down the sum unchanged, and
    each ``p * p`` gives ``p`` the share ``p * alpha`` twice, once for each operand. (What
    ``fit(..., compiled=True)`` uses: compiling this term's graph of 3n nodes took longer than
    compiling the network's.) ``alpha`` is checked by the caller, with :func:`l2_penalty`.
    """
    total = values[0] * values[0]
    for p in values[1:]:
        total = total + p * p
    return alpha * total, [p * alpha + p * alpha for p in values]


# ---------------------------------------------------------------------------------------------
# Lookup by name
# ---------------------------------------------------------------------------------------------

LOSSES: dict[str, Loss] = {
    "mse": mse,
    "squared_error": squared_error,
    "half_squared_error": half_squared_error,
    "binary_cross_entropy": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "cross_entropy": cross_entropy,
    "softmax_cross_entropy": softmax_cross_entropy,
    "hinge": hinge,
}

# Losses whose targets are class indices (0..k-1) rather than one number per output.
LABEL_LOSSES = ("cross_entropy", "softmax_cross_entropy")


def get_loss(loss: str | Loss) -> Loss:
    """The loss function for a name in :data:`LOSSES` (a callable is returned as it is)."""
    if callable(loss):
        return loss
    if isinstance(loss, str) and loss in LOSSES:
        return LOSSES[loss]
    raise ValueError(f"unknown loss {loss!r}; valid: {', '.join(repr(n) for n in LOSSES)}")
