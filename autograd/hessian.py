"""Second derivatives of a small function: `hessian`, the matrix of d2f/dx_i dx_j."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from autograd.backward import grad
from autograd.grad_mode import enable_grad
from autograd.value import Value, _check_number


def hessian(f: Callable[..., Value], inputs: Sequence[Value | float]) -> list[list[float]]:
    """The Hessian of ``f`` at ``inputs``: ``H[i][j] = d2 f / dx_i dx_j``, as nested lists.

    ``f`` takes one Value per input and returns a Value. The inputs are copied into fresh
    leaves, so their data and ``.grad`` are left untouched. Each row is the gradient of one
    first derivative, which ``grad(..., create_graph=True)`` returns as a graph: 1 + n passes,
    so this is for small functions (a few dozen inputs). A first derivative that does not
    depend on some input contributes 0 there. It records the graphs it needs inside
    ``no_grad()`` too.
    """
    with enable_grad():
        return _hessian(f, inputs)


def _hessian(f: Callable[..., Value], inputs: Sequence[Value | float]) -> list[list[float]]:
    xs = [
        Value(x.data if isinstance(x, Value) else _check_number(x, f"hessian inputs[{i}]"))
        for i, x in enumerate(inputs)
    ]
    out = f(*xs)
    if not isinstance(out, Value):
        raise TypeError(f"hessian needs f to return a Value, got {type(out).__name__}")
    first = grad(out, xs, create_graph=True, allow_unused=True)
    rows: list[list[float]] = []
    for g in first:
        if g is None or g.is_leaf:  # a constant first derivative: its row is zero
            rows.append([0.0] * len(xs))
            continue
        second = grad(g, xs, allow_unused=True)
        rows.append([0.0 if h is None else h.data for h in second])
    return rows
