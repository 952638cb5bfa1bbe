"""relu's backward as PyTorch defines it: where(out <= 0, 0, g), in every pass of the engine.

PyTorch differentiates relu with ``threshold_backward(grad, result, 0)``: an operand whose relu
is off gets exactly 0, even when the gradient arriving is infinite (0 * inf would be NaN), and
at NaN the gradient passes. The numbers below follow from that definition by hand; each pass of
the engine (backward(), the reference pass, grad with and without create_graph, the compiled
program) must give them, and still warn that a non-finite number was on the way.
"""

from __future__ import annotations

import math
import warnings

import pytest

from autograd import NonFiniteWarning, Value, compile_graph, grad
from autograd.reference_backward import reference_backward


def _sqrt_of_relu(x: Value) -> Value:
    # d sqrt(r)/dr is infinite at r = relu(x) = 0: an infinite gradient reaches the relu.
    return x.relu().sqrt()


def _passes(x0: float, build):
    """x's gradient from each pass, each with the warnings it gave."""
    out = {}

    def run(name, fn):
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            out[name] = (fn(), [w.category for w in said])

    def by_backward():
        x = Value(x0)
        build(x).backward()
        return x.grad

    def by_reference():
        x = Value(x0)
        reference_backward(build(x))
        return x.grad

    def by_grad(create_graph):
        x = Value(x0)
        (g,) = grad(build(x), [x], create_graph=create_graph)
        return g.data if isinstance(g, Value) else g

    run("backward", by_backward)
    run("reference", by_reference)
    run("grad", lambda: by_grad(False))
    run("grad(create_graph)", lambda: by_grad(True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = compile_graph(lambda x: build(x), 3.0)  # traced where everything is finite
    run("compiled", lambda: f(x0)[1][0])
    return out


@pytest.mark.parametrize("x0", [-1.0, 0.0])
def test_an_infinite_gradient_stops_at_a_relu_that_is_off(x0):
    # PyTorch: relu(x).sqrt() at x <= 0 gives x.grad == 0 (0 * inf would be NaN).
    for name, (g, said) in _passes(x0, _sqrt_of_relu).items():
        assert g == 0.0 and not math.isnan(g), name
        if name != "grad(create_graph)":
            assert NonFiniteWarning in said, f"{name} did not warn about the inf on the way"


def test_a_relu_that_is_on_passes_the_gradient_as_it_is():
    # x = 4: d sqrt(relu(x))/dx = 1 / (2 sqrt(4)) = 0.25, no warning.
    for name, (g, said) in _passes(4.0, _sqrt_of_relu).items():
        assert g == 0.25, name
        assert NonFiniteWarning not in said, name


def test_at_nan_the_gradient_passes_as_in_pytorch():
    # relu(nan) is nan and threshold_backward compares nan <= 0 (false): g passes, so
    # d(2 * relu(x))/dx at x = nan is 2.
    for name, (g, _) in _passes(math.nan, lambda x: x.relu() * 2.0).items():
        assert g == 2.0, name


def test_the_compiled_program_writes_the_mask_not_a_product():
    f = compile_graph(lambda x: x.relu().sqrt(), 2.0)
    assert any(
        line.strip().startswith("d_x = 0.0 if x <= 0.0 else ") for line in f.source.splitlines()
    )
