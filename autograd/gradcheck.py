"""Checking derivatives against central finite differences: `gradcheck` and `gradgradcheck`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from autograd.backward import grad
from autograd.grad_mode import enable_grad
from autograd.value import Value

T = TypeVar("T")


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when an analytic gradient disagrees with the numeric one."""


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[Value],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Compare ``backward()`` with central differences for ``f(*inputs)``; True when all agree.

    For each input x_i the numeric derivative is the central difference
    ``(f(.., x_i + eps, ..) - f(.., x_i - eps, ..)) / (2 eps)``, and it must satisfy
    ``|analytic - numeric| <= atol + rtol * |numeric|`` (the test PyTorch uses).
    Otherwise :class:`GradcheckError` names the input (its label or position) and both numbers.

    The inputs' data and grads are restored afterwards: checking leaves your values untouched.
    ``f`` runs with graph recording on, inside ``no_grad()`` too: a check needs the graph.
    """
    with enable_grad():
        return _gradcheck(f, inputs, eps, atol, rtol)


def _gradcheck(
    f: Callable[..., Value], inputs: Sequence[Value], eps: float, atol: float, rtol: float
) -> bool:
    inputs = _checked_inputs(inputs, "gradcheck")
    saved_grads = [x.grad for x in inputs]
    try:
        analytic = _analytic_grads(f, inputs)
        for i, x in enumerate(inputs):
            numeric = _numeric_grad(f, inputs, x, eps)
            if not _close(analytic[i], numeric, atol, rtol):
                name = f"input {i} ({x.label!r})" if x.label else f"input {i}"
                raise GradcheckError(
                    f"gradient mismatch for {name} at data={x.data!r}: backward() gives "
                    f"{analytic[i]!r}, central differences give {numeric!r} "
                    f"(eps={eps}, atol={atol}, rtol={rtol})"
                )
    finally:
        for x, g in zip(inputs, saved_grads):
            x.grad = g
    return True


def _analytic_grads(f: Callable[..., Value], inputs: list[Value]) -> list[float]:
    for x in inputs:
        x.grad = 0.0
    _output(f, inputs).backward()
    return [x.grad for x in inputs]


def _numeric_grad(f: Callable[..., Value], inputs: list[Value], x: Value, eps: float) -> float:
    # Recording stays on: f may itself need a graph (f can return a gradient made by grad()).
    plus, minus = _at_both_sides(x, eps, lambda: f(*inputs).data)
    return (plus - minus) / (2.0 * eps)


def _at_both_sides(x: Value, eps: float, evaluate: Callable[[], T]) -> tuple[T, T]:
    """``evaluate()`` with x nudged to x + eps and then x - eps; x's data restored in any case."""
    original = x.data
    try:
        x.data = original + eps
        up = evaluate()
        x.data = original - eps
        down = evaluate()
    finally:
        x.data = original
    return up, down


def _close(analytic: float, numeric: float, atol: float, rtol: float) -> bool:
    """PyTorch's test: ``|analytic - numeric| <= atol + rtol * |numeric|`` (False for NaN)."""
    return abs(analytic - numeric) <= atol + rtol * abs(numeric)


def _checked_inputs(inputs: Sequence[Value], who: str) -> list[Value]:
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"{who} inputs must be Values; input {i} is {type(x).__name__} {x!r}")
    return inputs


def gradgradcheck(
    f: Callable[..., Value],
    inputs: Sequence[Value],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check second derivatives of ``f(*inputs)``: True when every one agrees, else GradcheckError.

    The analytic d2f/dx_i dx_j is ``grad`` of the gradient graph that
    ``grad(f(*inputs), inputs, create_graph=True)`` returns. The numeric one is the central
    difference of first derivatives (computed by ``grad``) at x_j +- eps; they must satisfy
    ``|analytic - numeric| <= atol + rtol * |numeric|``. The inputs' data and grads are left as
    they were. (PyTorch's gradgradcheck probes the same second derivatives with random vectors;
    with scalars, every entry is checked.) ``f`` runs with graph recording on, inside
    ``no_grad()`` too: second derivatives need the graph of the first.
    """
    with enable_grad():
        return _gradgradcheck(f, inputs, eps, atol, rtol)


def _gradgradcheck(
    f: Callable[..., Value], inputs: Sequence[Value], eps: float, atol: float, rtol: float
) -> bool:
    inputs = _checked_inputs(inputs, "gradgradcheck")
    analytic = _second_derivatives(f, inputs)
    for j, xj in enumerate(inputs):
        up, down = _at_both_sides(xj, eps, lambda: _first_derivatives(f, inputs))
        for i, xi in enumerate(inputs):
            numeric = (up[i] - down[i]) / (2.0 * eps)
            if not _close(analytic[i][j], numeric, atol, rtol):
                raise GradcheckError(
                    f"second derivative mismatch d2f/d{_input_name(xi, i)} d{_input_name(xj, j)} "
                    f"at data=({xi.data!r}, {xj.data!r}): the gradient graph gives "
                    f"{analytic[i][j]!r}, central differences of first derivatives give "
                    f"{numeric!r} (eps={eps}, atol={atol}, rtol={rtol})"
                )
    return True


def _input_name(x: Value, i: int) -> str:
    return f"[input {i} {x.label!r}]" if x.label else f"[input {i}]"


def _output(f: Callable[..., Value], inputs: list[Value]) -> Value:
    out = f(*inputs)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck needs f to return a Value, got {type(out).__name__}")
    return out


def _first_derivatives(f: Callable[..., Value], inputs: list[Value]) -> list[float]:
    grads = grad(_output(f, inputs), inputs, allow_unused=True)
    return [0.0 if g is None else g.data for g in grads]


def _second_derivatives(f: Callable[..., Value], inputs: list[Value]) -> list[list[float]]:
    first = grad(_output(f, inputs), inputs, create_graph=True, allow_unused=True)
    rows = []
    for g in first:
        if g is None or g.is_leaf:
            rows.append([0.0] * len(inputs))
        else:
            rows.append([0.0 if h is None else h.data for h in grad(g, inputs, allow_unused=True)])
    return rows
