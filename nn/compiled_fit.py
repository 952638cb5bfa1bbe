"""`fit(..., compiled=True)`: each mini-batch through one sample's graph compiled to plain Python.

``fit`` builds a graph of Values for every mini-batch: one Python object per node, created,
differentiated and freed on every step. The graph of one sample has the same shape for every
sample (an MLP and a built-in loss never branch on the numbers), so it is recorded once and
compiled (``autograd.compile``) to a function of the parameters, the sample's inputs and its
targets that returns the sample's loss and adds its share to each parameter's gradient, one
local variable per node. A step runs that function over the batch and hands the gradients to
the optimizer, which updates the parameters as always.

The numbers are ``fit``'s own: the samples go through in the order ``backward()`` visits them
(the last sample of the batch first, the L2 term before all of them), each with the seed
``backward()`` gives it (1/n, the mean), so every gradient is the same sum in the same order.
When anything is not finite the batch is handed back to ``fit``'s usual step, which warns the
way it always does. :func:`compiled_step` says, with a warning, why it cannot compile when it
cannot (a custom loss, a model that is not an MLP, ...), and ``fit`` trains as usual.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from autograd import Value
from autograd.compile import build_program, make_function, write_program
from nn.losses import l2_penalty_numbers
from nn.mlp import MLP
from nn.module import Module
from nn.optim import Optimizer

# Losses whose graph for one sample has the same shape for every sample, with each target a
# leaf of its own. The class losses are not: their graph picks the output of the label, and
# softmax_cross_entropy subtracts the largest logit, a number of each sample's own.
SUPPORTED_LOSSES = (
    "mse",
    "squared_error",
    "half_squared_error",
    "hinge",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
)
MAX_SAMPLE_NODES = 200_000  # one sample's graph; beyond this compiling costs more than it saves


class CompiledFitWarning(UserWarning):
    """fit(compiled=True) could not compile and trains as usual; the message says why."""


Step = Callable[[list[int]], "tuple[float, np.ndarray] | None"]


def compiled_step(
    model: Module,
    loss_fn: Callable[..., Value],
    loss_name: str | None,
    samples: list[list[float]],
    targets: list[Any],
    alpha: float,
    optimizer: Optimizer,
) -> Step | None:
    """A function running one mini-batch (a list of sample indices) through compiled code.

    It sets every parameter's ``.grad`` to the batch's gradient (as ``zero_grad()`` and
    ``backward()`` would), calls ``optimizer.step()`` and returns the batch loss and the outputs
    (an array, one row per sample), or None when a number on the way was not finite (the
    caller then runs the batch through the engine). Returns None, with a
    :class:`CompiledFitWarning` saying why, when the model or the loss cannot be compiled.
    """
    reason = _unsupported(model, loss_name)
    if reason is None:
        try:
            return _Compiled(model, loss_fn, loss_name, samples, targets, alpha, optimizer)
        except _CannotCompileError as error:
            reason = str(error)
    warnings.warn(
        f"fit(compiled=True): {reason}; training without compiling", CompiledFitWarning,
        stacklevel=3,
    )  # fmt: skip
    return None


class _CannotCompileError(Exception):
    pass


def _unsupported(model: Module, loss_name: str | None) -> str | None:
    if loss_name is None:
        return "a custom loss function may branch on the numbers, so its graph is not compiled"
    if loss_name not in SUPPORTED_LOSSES:
        return (
            f"the graph of loss {loss_name!r} changes from sample to sample (compiled: "
            + ", ".join(SUPPORTED_LOSSES)
            + ")"
        )
    if type(model) is not MLP:
        return f"only nn.MLP models are compiled, not {type(model).__name__}"
    return None


def _shifted(t: float, k: int, loss_name: str) -> float:
    """Another valid target, different from t, to find where the targets enter the graph."""
    if loss_name == "hinge":
        return -t
    if loss_name.startswith("binary_cross_entropy"):
        return 0.25 if t != 0.25 else 0.75
    return t + (abs(t) + 1.0) * (k + 1)  # differs from t for any t, 1e200 included


class _Compiled:
    """The compiled per-sample program, and the step that runs it (and the L2 term, as numbers)."""

    def __init__(
        self,
        model: MLP,
        loss_fn: Callable[..., Value],
        loss_name: str,
        samples: list[list[float]],
        targets: list[Any],
        alpha: float,
        optimizer: Optimizer,
    ) -> None:
        self.params = model.parameters()
        self.optimizer = optimizer
        self.samples = samples
        self.targets = [t if isinstance(t, list) else [t] for t in targets]
        self.alpha = alpha

        # 1. One sample's graph, traced twice with different targets: the leaves whose numbers
        #    change are the targets (the loss makes each target a leaf of its own).
        first = self.targets[0]
        xs = [Value(x, f"x[{i}]") for i, x in enumerate(samples[0])]
        outputs = _as_list(model(xs))
        root = loss_fn(outputs, first if len(first) > 1 else first[0])
        if loss_name == "binary_cross_entropy" and any(o.op != "sigmoid" for o in outputs):
            raise _CannotCompileError(
                "binary_cross_entropy checks each output is a probability; compiled only for "
                "outputs made by sigmoid"
            )
        other = [_shifted(t, k, loss_name) for k, t in enumerate(first)]
        root2 = loss_fn(_as_list(model(xs)), other if len(other) > 1 else other[0])
        target_leaves = _target_leaves(root, root2, first, other)
        for k, leaf in enumerate(target_leaves):  # named in the program as t (or t[0], t[1])
            leaf.label = "t" if len(target_leaves) == 1 else f"t[{k}]"

        # 2. The program: inputs are the parameters, then the sample's inputs and targets; the
        #    gradients are the parameters' only, added to the ones already summed.
        inputs = [*self.params, *xs, *target_leaves]
        try:
            program = build_program(
                root, inputs, accumulate=True, seed="seed", extras=outputs, wrt=self.params
            )
        except ValueError as error:
            raise _CannotCompileError(str(error)) from None
        if len(program.order) > MAX_SAMPLE_NODES:
            raise _CannotCompileError(f"one sample's graph has {len(program.order)} nodes")
        shared = len(self.params)
        # No comments: nobody reads this one, and Python compiles a third less text.
        self.source = write_program(program, "batch", extras=outputs, shared=shared,
                                    comments=False, skip_zeros=True)  # fmt: skip
        try:
            self.batch = make_function(self.source)
        except ValueError as error:
            raise _CannotCompileError(str(error)) from None
        self.rows = [(*x, *t) for x, t in zip(samples, self.targets)]

    def __call__(self, index: list[int]) -> tuple[float, np.ndarray] | None:
        params = self.params
        data = tuple(p.data for p in params)
        grads = (0.0,) * len(params)
        penalty = 0.0
        if self.alpha:  # backward() reaches the L2 term first: its terms come first
            penalty, first = l2_penalty_numbers(data, self.alpha)
            grads = tuple(first)
        n = len(index)
        seed = 1.0 if n == 1 else 1.0 / n  # the gradient of the mean at each sample's loss
        rows = [self.rows[i] for i in reversed(index)]  # the last first, as backward() visits
        losses, outputs, grads, c = self.batch(data, rows, seed, grads)
        losses.reverse()
        outputs.reverse()
        # The loss as fit computes it: the samples' losses left to right, times 1/n.
        total = losses[0]
        for term in losses[1:]:
            total = total + term
        if n > 1:
            total = total * (1.0 / n)
        if self.alpha:
            total = total + penalty
        if not math.isfinite(c + total + sum(grads) + sum(data)):
            return None  # the engine takes the batch, and warns as it does
        for p, g in zip(params, grads):
            p.grad = g
        self.optimizer.step()
        return total, np.array(outputs, dtype=float)


def _as_list(outputs: Value | list[Value]) -> list[Value]:
    return [outputs] if isinstance(outputs, Value) else list(outputs)


def _target_leaves(
    root: Value, root2: Value, first: list[float], other: list[float]
) -> list[Value]:
    """The leaves of ``root``'s graph holding the targets, in target order."""
    from autograd import topological_order

    a, b = topological_order(root), topological_order(root2)
    if len(a) != len(b) or any(x.op != y.op for x, y in zip(a, b)):
        raise _CannotCompileError("the loss builds a different graph for different targets")
    found: list[Value | None] = [None] * len(first)
    for x, y in zip(a, b):
        if x.is_leaf and x.data != y.data:
            k = next(
                (k for k, (t, u) in enumerate(zip(first, other)) if x.data == t and y.data == u),
                None,
            )
            if k is None or found[k] is not None:
                raise _CannotCompileError("a target enters the loss other than as a leaf")
            found[k] = x
    if any(v is None for v in found):
        raise _CannotCompileError("a target does not enter the loss's graph")
    return found  # type: ignore[return-value]
