"""The functional form of the chain rule: ``grad``, as ``torch.autograd.grad``.

The passes themselves live in their own modules: the reference pass a learner reads first
(autograd/reference_backward.py), the fast pass behind ``Value.backward()``
(autograd/fast_backward.py), and the pass that records gradients as graphs
(autograd/gradient_graphs.py). This module gives the public names of all three.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from autograd.fast_backward import backpropagate
from autograd.gradient_graphs import GradGraphs, backward_with_graph, gradients
from autograd.reference_backward import NonFiniteWarning, reference_backward, warn_non_finite
from autograd.value import Value, _check_number

__all__ = [
    "GradGraphs",
    "NonFiniteWarning",
    "backpropagate",
    "backward_with_graph",
    "grad",
    "reference_backward",
]


def _data(g: Value | float) -> float:
    return g.data if isinstance(g, Value) else g


def _as_value(g: Value | float) -> Value:
    return g if isinstance(g, Value) else Value(g)


def _as_values(what: str, xs: Value | Sequence[Value]) -> list[Value]:
    items = [xs] if isinstance(xs, Value) else list(xs)
    for i, x in enumerate(items):
        if not isinstance(x, Value):
            raise TypeError(f"grad: {what}[{i}] must be a Value, got {type(x).__name__} {x!r}")
    return items


def grad(
    outputs: Value | Sequence[Value],
    inputs: Value | Sequence[Value],
    grad_outputs: Sequence[Value | float] | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Value | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, as ``torch.autograd.grad``.

    Returns one Value per input: d(sum_k grad_outputs[k] * outputs[k])/d(input), where
    ``grad_outputs`` defaults to 1.0 for every output. No ``.grad`` anywhere is read or
    changed. ``inputs`` may be leaves or intermediate nodes.

    * ``create_graph=True``: each gradient is a Value with a graph recording how it was
      computed from the inputs, so it can be differentiated again (``grad`` of a ``grad`` gives
      second derivatives, and so on to any order), traced and drawn. That graph is recorded
      inside ``no_grad()`` too, as PyTorch does: asking for it is asking for a graph.
    * ``create_graph=False``: each gradient is a plain leaf Value holding the number.
    * ``allow_unused=False``: an input that the outputs do not depend on is an error (ValueError
      naming it); with ``allow_unused=True`` its gradient is None, as in PyTorch.

    Differences from PyTorch: everything is a scalar, so ``grad_outputs`` are numbers (or
    Values) rather than tensors, and a gradient that does not depend on the inputs (the
    derivative of ``a + b``, say) is returned as a constant leaf Value, never as None.
    """
    outs = _as_values("outputs", outputs)
    ins = _as_values("inputs", inputs)
    if grad_outputs is None:
        seeds: list[Value | float] = [1.0] * len(outs)
    else:
        seeds = [
            g if isinstance(g, Value) else _check_number(g, f"grad_outputs[{i}]")
            for i, g in enumerate(grad_outputs)
        ]
        if len(seeds) != len(outs):
            raise ValueError(
                f"grad: got {len(seeds)} grad_outputs for {len(outs)} outputs; give one each"
            )
    order, grads = gradients(outs, seeds, create_graph)
    result: list[Value | None] = []
    for i, x in enumerate(ins):
        g = grads.get(x)
        if g is None:
            if not allow_unused:
                name = f"{x.label!r}" if x.label else f"inputs[{i}]"
                raise ValueError(
                    f"grad: the outputs do not depend on input {name} (data={x.data:g}); "
                    "pass allow_unused=True to get None for it"
                )
            result.append(None)
        else:
            result.append(_as_value(g))
    if not all(math.isfinite(_data(g)) for g in grads.values()) or not all(
        math.isfinite(v.data) for v in order
    ):
        warn_non_finite(order, grads, stacklevel=3)
    return tuple(result)
