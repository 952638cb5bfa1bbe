"""Activation functions by name ("sigmoid", "tanh", "relu", ...): the one registry, and softmax.

Everything stepgrad says about an activation comes from its entry in :data:`UNIT_ACTIVATIONS`:
the engine's method that applies it, how a sheet writes it (``σ({0})``), the name of its slope
(``sigma'``), the slope's formula in terms of the unit's output ``a`` or weighted input ``z``,
and the slope as a number (read from the engine's own op, never written a second time). A new
activation is one entry here (plus its tests); lessons, expressions, sheets and drawings read it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from autograd import Value

LEAKY_RELU_SLOPE = 0.01  # the negative-side slope of "leaky_relu" (the NumPy version uses it too)


@dataclass(frozen=True)
class Activation:
    """One per-unit activation and everything shown about it.

    ``method`` is the engine's method (``Value.tanh``); with ``takes_slope`` it also takes the
    negative-side slope (``Value.leaky_relu(z, 0.01)``). ``symbol`` writes ``a = f(z)`` with
    ``{0}`` for z. ``slope_name`` names f' in a lesson (``sigma'``; ``""`` when the slope is
    always 1 and never shown). ``slope_formula`` writes f' with ``{0}`` for the unit's output
    (``slope_of == "a"``: sigmoid's ``a·(1 − a)``) or its weighted input (``"z"``: relu's
    ``[z > 0]``), and ``{slope}`` for leaky_relu's negative-side slope.
    """

    name: str
    method: Callable[..., Value]
    symbol: str
    slope_name: str = ""
    slope_formula: str = ""
    slope_of: str = "z"
    takes_slope: bool = False

    def apply(self, z: Value, slope: float = LEAKY_RELU_SLOPE) -> Value:
        """The unit's output node for weighted input ``z`` (``slope``: leaky_relu's)."""
        return self.method(z, slope) if self.takes_slope else self.method(z)

    def slope(self, z: float, slope: float = LEAKY_RELU_SLOPE) -> float:
        """f'(z) as a number, as the engine's op computes it for backward()."""
        (local,) = self.apply(Value(z), slope).local_grads() if self.slope_name else (1.0,)
        return local


def _identity(v: Value) -> Value:
    return v


# The registry: name -> everything about one per-unit activation, in the order lists show them.
UNIT_ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("linear", _identity, "{0}"),
        Activation("sigmoid", Value.sigmoid, "σ({0})", "sigma'", "{0}·(1 − {0})", "a"),
        Activation("tanh", Value.tanh, "tanh({0})", "tanh'", "1 − {0}²", "a"),
        Activation("relu", Value.relu, "relu({0})", "relu'", "[{0} > 0]", "z"),
        Activation(
            "leaky_relu",
            Value.leaky_relu,
            "leaky_relu({0})",
            "leaky_relu'",
            "[{0} > 0] + {slope}·[{0} ≤ 0]",
            "z",
            takes_slope=True,
        ),
    )
}


def _leaky_relu(v: Value) -> Value:
    return v.leaky_relu(LEAKY_RELU_SLOPE)


# Per-unit activations as functions of one Value: the engine's methods themselves, no wrapper
# (a network calls one per unit per sample); leaky_relu with its default slope.
ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    name: _leaky_relu if a.takes_slope else a.method for name, a in UNIT_ACTIVATIONS.items()
}

# Layer-wide activations: they need all of a layer's outputs at once. Only for an output layer.
LAYER_ACTIVATIONS = ("softmax",)

# Every activation name a lesson file or a model accepts.
ACTIVATION_NAMES = (*UNIT_ACTIVATIONS, *LAYER_ACTIVATIONS)


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
