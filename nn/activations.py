"""Activation functions by name ("sigmoid", "tanh", "relu", ...) and softmax over Values."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from autograd import Value

LEAKY_RELU_SLOPE = 0.01  # the negative-side slope of "leaky_relu" (the NumPy version uses it too)


def _linear(v: Value) -> Value:
    return v


def _leaky_relu(v: Value) -> Value:
    return v.leaky_relu(LEAKY_RELU_SLOPE)


# Per-unit activations: each maps one Value to one Value.
ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "linear": _linear,
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
    "relu": Value.relu,
    "leaky_relu": _leaky_relu,
}

# Layer-wide activations: they need all of a layer's outputs at once. Only for an output layer.
LAYER_ACTIVATIONS = ("softmax",)


def check_activation(name: object, *, allow_softmax: bool = False) -> str:
    """Return ``name`` if it names a known activation, else raise ValueError listing valid ones.

    ``allow_softmax`` admits "softmax", which is only meaningful across a whole output layer.
    """
    valid = list(ACTIVATIONS) + (list(LAYER_ACTIVATIONS) if allow_softmax else [])
    if isinstance(name, str) and name in valid:
        return name
    hint = ""
    if name in LAYER_ACTIVATIONS:
        hint = " ('softmax' works across a whole layer: use it as output_activation)"
    raise ValueError(
        f"unknown activation {name!r}{hint}; valid: {', '.join(repr(v) for v in valid)}"
    )


def activation_function(name: str) -> Callable[[Value], Value]:
    """The per-unit function for an activation name (not "softmax": see :func:`softmax`)."""
    return ACTIVATIONS[check_activation(name)]


def softmax(values: Sequence[Value]) -> list[Value]:
    """exp(v_i) / sum_j exp(v_j) for each v_i, as Values (one graph node per step).

    The largest value is subtracted first (as a constant): softmax does not change under a
    shift, and this way exp() never overflows. The gradient is unaffected by the shift.
    """
    values = list(values)
    if not values:
        raise ValueError("softmax needs at least one value")
    shift = max(v.data for v in values)
    exps = [(v - shift).exp() for v in values]
    total = exps[0]
    for e in exps[1:]:
        total = total + e
    return [e / total for e in exps]
