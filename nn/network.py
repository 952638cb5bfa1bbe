"""The layered view of a fully connected network: units in layers, their weights and biases.

This is what textbooks draw (units as circles in layers, weights on the edges) as plain data, so
that one drawing (``viz``'s network view) serves an ``MLP``, a built-in worked example and a
lesson a user wrote, without knowing how each of them was built. The nodes it points at are the
graph's own ``Value``s: after ``backward()`` their ``.grad`` is what the picture shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograd import Value


@dataclass(frozen=True)
class UnitView:
    """One unit (a circle in the picture).

    ``symbol`` names the unit's output the way the lesson does (``"a1[0]"``, ``"out_h1"``,
    ``"x[1]"``); ``z_symbol`` its weighted input (``"z1[0]"``, ``"net_h1"``). For an input unit
    ``z`` is None, ``a`` is the input leaf and ``weights`` is empty. ``weights[i]`` is the weight
    of the edge from unit i of the previous layer (None where there is no edge); ``bias`` may be
    shared with other units of the layer (the same Value), as some textbooks do.
    """

    symbol: str
    a: Value
    z: Value | None = None
    z_symbol: str = ""
    weights: tuple[Value | None, ...] = ()
    bias: Value | None = None
    delta_symbol: str = ""  # how the lesson names dLoss/dz of this unit ("δ2", "delta_o1")


@dataclass(frozen=True)
class LayerView:
    """One layer of units; ``activation`` is its name ("sigmoid", "linear", "softmax", ...)."""

    name: str
    units: tuple[UnitView, ...]
    activation: str = ""


@dataclass(frozen=True)
class NetworkLayout:
    """A whole network: ``layers[0]`` is the input layer, the last one the output layer.

    ``loss`` (when there is one) and ``targets`` let a drawing show the error the output feeds.
    """

    layers: tuple[LayerView, ...]
    loss: Value | None = None
    loss_symbol: str = "L"
    targets: tuple[Value, ...] = field(default_factory=tuple)

    def parameters(self) -> list[Value]:
        """Every weight and bias Value once, layer by layer, in the order they appear."""
        seen: set[int] = set()
        out: list[Value] = []
        for layer in self.layers:
            for unit in layer.units:
                for p in (*unit.weights, unit.bias):
                    if p is not None and id(p) not in seen:
                        seen.add(id(p))
                        out.append(p)
        return out
