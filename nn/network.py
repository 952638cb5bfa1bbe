"""The layered view of a fully connected network: units in layers, their weights and biases.

This is what textbooks draw (units as circles in layers, weights on the edges) as plain data, so
that one drawing (``viz``'s network view) serves an ``MLP``, a built-in worked example and a
lesson a user wrote, without knowing how each of them was built. The nodes it points at are the
graph's own ``Value``s: after ``backward()`` their ``.grad`` is what the picture shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autograd import Value


@dataclass(frozen=True)
class UnitView:
    """One unit (a circle in the picture).

    ``symbol`` names the unit's output the way the lesson does (``"a1[0]"``, ``"out_h1"``,
    ``"x[1]"``); ``z_symbol`` its weighted input (``"z1[0]"``, ``"net_h1"``). For an input unit
    ``z`` is None, ``a`` is the input leaf (None when the layout was made without a forward
    pass, as are ``z`` and ``a`` of every unit then) and ``weights`` is empty. ``weights[i]`` is
    the weight of the edge from unit i of the previous layer (None where there is no edge);
    ``bias`` may be shared with other units of the layer (the same Value), as some textbooks do.
    """

    symbol: str
    a: Value | None
    z: Value | None = None
    z_symbol: str = ""
    weights: tuple[Value | None, ...] = ()
    bias: Value | None = None
    delta_symbol: str = ""  # how the lesson names dLoss/dz of this unit ("δ2", "delta_o1")

    @property
    def parameters(self) -> tuple[Value, ...]:
        """The unit's weights (where there are edges) and its bias, in that order."""
        return tuple(p for p in (*self.weights, self.bias) if p is not None)


@dataclass(frozen=True)
class LayerView:
    """One layer of units; ``activation`` is its name ("sigmoid", "linear", "softmax", ...)."""

    name: str
    units: tuple[UnitView, ...]
    activation: str = ""

    @property
    def title(self) -> str:
        """How pictures head the layer: its name and activation, e.g. ``"hidden 1 · tanh"``."""
        return self.name + (f" · {self.activation}" if self.activation else "")


@dataclass(frozen=True)
class NetworkLayout:
    """A whole network: ``layers[0]`` is the input layer, the last one the output layer.

    ``loss`` (when there is one) and ``targets`` let a drawing show the error the output feeds.
    ``error_sign`` is -1 for a lesson whose error term is the book's Err = -dLoss/dz: a drawing
    then shows each unit's error term with that sign.
    ``constants`` are the weights and biases that are given, not trained (a frozen bias).
    """

    layers: tuple[LayerView, ...]
    loss: Value | None = None
    loss_symbol: str = "L"
    targets: tuple[Value, ...] = field(default_factory=tuple)
    error_sign: int = 1
    constants: tuple[Value, ...] = field(default_factory=tuple)

    def parameters(self) -> list[Value]:
        """Every weight and bias Value once, layer by layer, in the order they appear."""
        seen: set[int] = set()
        out: list[Value] = []
        for layer in self.layers:
            for unit in layer.units:
                for p in unit.parameters:
                    if id(p) not in seen:
                        seen.add(id(p))
                        out.append(p)
        return out

    # Stable ids for drawings: a picture names its elements by position in the layout, never by
    # parsing labels, so two runs (and the graph and network pictures) agree on every name.

    @staticmethod
    def layer_id(layer: int) -> str:
        """The id of layer ``layer`` (0 is the input layer): ``"L1"``."""
        return f"L{layer}"

    @staticmethod
    def unit_id(layer: int, unit: int) -> str:
        """The id of unit ``unit`` of layer ``layer``: ``"L1u0"``."""
        return f"L{layer}u{unit}"

    def computing_units(self) -> list[tuple[str, int, UnitView]]:
        """``(unit id, layer index, unit)`` for every unit after the input layer, in order."""
        return [
            (self.unit_id(li, j), li, unit)
            for li, layer in enumerate(self.layers)
            if li
            for j, unit in enumerate(layer.units)
        ]

    def unit_of_parameter(self) -> dict[int, str]:
        """id(parameter) -> the id of the one unit it belongs to.

        A bias shared by several units (one Value, as some textbooks write ``b1``) belongs to
        none of them: it is the layer's, and is left out.
        """
        owners: dict[int, set[str]] = {}
        for key, _, unit in self.computing_units():
            for p in unit.parameters:
                owners.setdefault(id(p), set()).add(key)
        return {k: units.pop() for k, units in owners.items() if len(units) == 1}


# ---------------------------------------------------------------------------------------------
# The layout of an nn.MLP
# ---------------------------------------------------------------------------------------------

def layout_of_mlp(model: Any, root: Value | None = None) -> NetworkLayout:
    """The layered view of an ``nn.MLP``: its layers, neurons, weights and biases.

    Weights and biases are read from the model's structure (``model.layers[l].neurons[j].w[i]``
    and ``.b``), never from parameter labels. With ``root`` (an output of the model, or a loss
    computed from one sample), each unit also gets the nodes of that forward pass, found from
    the graph's structure, never from labels: the weighted input is the sum that adds the
    neuron's own products to its bias, the output the activation applied to it (for a linear
    unit ``a`` is ``z``), the inputs what the first layer's weights multiply. When the graph
    holds several forward passes (a loss over a batch), a unit's weighted input and activation
    are ambiguous and are left out (None). A root that is not an output of the model becomes
    the layout's ``loss``.
    """
    layers = getattr(model, "layers", None)
    if not isinstance(layers, list) or not layers or not all(
        hasattr(layer, "neurons") for layer in layers
    ):
        raise TypeError(f"layout_of_mlp needs an nn.MLP (layers of neurons); got {model!r}")
    nodes: dict[tuple[str, int, int], Value] = {}
    if root is not None:
        if not isinstance(root, Value):
            raise TypeError(f"root must be a Value, got {type(root).__name__}")
        nodes = _forward_nodes(model, root)
    nin = len(layers[0].neurons[0].w)
    views = [
        LayerView(
            "input",
            tuple(UnitView(f"x[{i}]", a=nodes.get(("x", 0, i))) for i in range(nin)),
        )
    ]
    last = len(layers) - 1
    for number, layer in enumerate(layers, start=1):
        units = []
        for j, neuron in enumerate(layer.neurons):
            z = nodes.get(("z", number, j))
            # a linear unit's output is its weighted input; a softmax output may not be in the
            # graph at all (a loss that uses one of them)
            a = nodes.get(("a", number, j), z if layer.activation == "linear" else None)
            units.append(
                UnitView(
                    f"a{number}[{j}]",
                    a=a,
                    z=z,
                    z_symbol=f"z{number}[{j}]",
                    weights=tuple(neuron.w),
                    bias=neuron.b,
                    delta_symbol=f"δ{number}[{j}]",
                )
            )
        name = "output" if number - 1 == last else f"hidden {number}"
        views.append(LayerView(name, tuple(units), getattr(layer, "activation", "")))
    outputs = {id(u.a) for u in views[-1].units if u.a is not None}
    loss = root if root is not None and id(root) not in outputs else None
    return NetworkLayout(layers=tuple(views), loss=loss)


def _forward_nodes(model: Any, root: Value) -> dict[tuple[str, int, int], Value]:
    """The nodes of the one forward pass in root's graph, by structure: ``("x", 0, i)`` for
    input i, ``("z", l, j)`` and ``("a", l, j)`` for unit j of layer l (1 is the first); {} when
    the graph holds several passes (a batch), or a pass this reading does not recognise.
    """
    consumers = _forward_consumers(model, root)
    if consumers is None:
        return {}
    found: dict[tuple[str, int, int], Value] = {}
    for number, layer in enumerate(model.layers, start=1):
        for j, neuron in enumerate(layer.neurons):
            z, products = _weighted_input(neuron, consumers)
            if z is None:
                continue
            found[("z", number, j)] = z
            a = _activation_output(z, layer.activation, consumers)
            if a is not None:
                found[("a", number, j)] = a
            if number == 1:
                for i, x in enumerate(products):
                    found.setdefault(("x", 0, i), x)
    return found


def _is_forward_sum(v: Value) -> bool:
    return v.op == "+" or v.op.startswith("sum(w*x)")


def _forward_consumers(model: Any, root: Value) -> dict[int, list[Value]] | None:
    """id(node) -> the nodes computed from it, in root's graph; None for a batch.

    A bias added in by two sums means two forward passes: the walk stops there, so even a
    graph of millions of nodes is given up on quickly.
    """
    parameters = {id(p) for p in model.parameters()}
    biases = {id(neuron.b) for layer in model.layers for neuron in layer.neurons}
    consumers: dict[int, list[Value]] = {}
    uses_model = False
    seen = {id(root)}
    stack = [root]
    while stack:
        v = stack.pop()
        uses_model = uses_model or id(v) in parameters
        for p in dict.fromkeys(v.parents):  # a + a: one consumer, once
            used = consumers.setdefault(id(p), [])
            used.append(v)
            if id(p) in biases and sum(map(_is_forward_sum, used)) > 1:
                return None
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    if not uses_model:
        raise ValueError(
            "root was not computed by this model: none of its parameters is in root's graph"
        )
    return consumers


def _only(nodes: list[Value]) -> Value | None:
    return nodes[0] if len(nodes) == 1 else None


def _weighted_input(
    neuron: Any, consumers: dict[int, list[Value]]
) -> tuple[Value | None, list[Value]]:
    """The neuron's weighted input and what its weights multiply, or (None, [])."""
    n = len(neuron.w)
    start = _only([c for c in consumers.get(id(neuron.b), []) if _is_forward_sum(c)])
    if start is None:
        return None, []
    if start.op.startswith("sum(w*x)"):  # one fused node: operands w_1..w_n, x_1..x_n, b
        return start, list(start.parents[n : 2 * n])
    # b + w0*x0, then + w1*x1, ...: one addition per input, each the only use of the last
    z = start
    for _ in range(n - 1):
        z = _only([c for c in consumers.get(id(z), []) if c.op == "+"])
        if z is None:
            return None, []
    products = []
    for w in neuron.w:
        # w times something else (not w * w, as an L2 penalty has it)
        uses = consumers.get(id(w), [])
        product = _only([c for c in uses if c.op == "*" and sum(p is w for p in c.parents) == 1])
        if product is None:
            return z, []
        a, b = product.parents
        products.append(b if a is w else a)
    return z, products


def _activation_output(
    z: Value, activation: str, consumers: dict[int, list[Value]]
) -> Value | None:
    """The unit's output: the activation's node on z, or a softmax's exp(z - shift) / total."""
    if activation == "linear":
        return None
    if activation != "softmax":
        return _only([c for c in consumers.get(id(z), []) if c.op == activation])
    shifted = _only(consumers.get(id(z), []))
    e = _only(consumers.get(id(shifted), [])) if shifted is not None else None
    if e is None or e.op != "exp":
        return None
    return _only([c for c in consumers.get(id(e), []) if c.op == "/" and c.parents[0] is e])
