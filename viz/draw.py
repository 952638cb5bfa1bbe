"""Drawing a computation graph with Graphviz: one record per Value, one small node per operation."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import graphviz

from autograd import Value, topological_order
from nn.mlp import MLP
from nn.network import NetworkLayout, UnitView, layout_of_mlp
from viz import numbers
from viz.labels import escape_html_label, html_label, label_text

__all__ = ["Drawing", "draw", "escape_html_label", "format_number"]

RANKDIRS = ("LR", "TB", "RL", "BT")
VIEWS = ("graph", "network")
COLOR_BY = ("role", "grad", None)
DEFAULT_MAX_NODES = 300

# Fill colours per role: pale, so that black text stays readable on all of them.
ROLE_COLORS = {
    "input": "#dbeafe",  # light blue
    "parameter": "#fef3c7",  # light amber
    "intermediate": "#ffffff",
    "output": "#dcfce7",  # light green
}
HIGHLIGHT_COLOR = "#d62728"
_POSITIVE_RGB = (33, 102, 172)  # blue: increasing this node would increase the output
_NEGATIVE_RGB = (178, 24, 43)  # red: increasing it would decrease the output
_UNKNOWN_COLOR = "#eeeeee"  # NaN or infinite gradient
_FONT = "Helvetica"

GRAPHVIZ_INSTALL_HINT = (
    "Graphviz's `dot` program was not found (the Python package `graphviz` only talks to it). "
    "Install Graphviz itself: on Debian/Ubuntu `sudo apt-get install graphviz`, on macOS "
    "`brew install graphviz`, with conda `conda install -c conda-forge graphviz`, otherwise see "
    "https://graphviz.org/download/ ; then check that `dot -V` works in a new terminal."
)


class Drawing(graphviz.Digraph):
    """The `graphviz.Digraph` that :func:`draw` returns; it displays inline in Jupyter.

    Unlike a plain Digraph, when the Graphviz `dot` program is missing it shows how to install
    it, followed by the DOT source (``.source``), instead of a traceback.
    """

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include=include, exclude=exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            return {"text/plain": f"{GRAPHVIZ_INSTALL_HINT}\n\nDOT source:\n{self.source}"}

    def __repr__(self) -> str:
        # The default repr holds a memory address, which changes on every run (and in notebooks).
        return f"<Drawing of {len(self.body)} DOT lines; .source holds the DOT text>"


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------


def draw(
    value: Value | NetworkLayout,
    *,
    view: str | None = None,
    layout: NetworkLayout | None = None,
    rankdir: str = "LR",
    show_grad: bool = True,
    precision: int = 4,
    color_by: str | None = "role",
    model: object = None,
    names: Mapping[str, Value] | Iterable[tuple[str, Value]] | None = None,
    clusters: bool = True,
    collapse: bool | Iterable[str] = False,
    highlight: Iterable[Value | tuple[Value, Value]] = (),
    grads: Mapping[Value, float | None] | None = None,
    grad_width: int | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> Drawing:
    """Draw the graph that ``value`` was computed from, as a `graphviz.Digraph`.

    ``view="graph"`` (the default for a Value) draws the computation graph described below;
    ``view="network"`` (the default for a :class:`nn.network.NetworkLayout`) draws the network
    as textbooks do: units as circles in layers, weights on the edges (see "The network view").

    Every Value becomes a record ``label | data | grad``; every operation a small node between
    its operands and its result; edges go the way data flows (left to right by default). Node
    ids come from each node's position in ``topological_order(value)`` (``v0``, ``v1``, ... and
    ``op3`` for the operation that made ``v3``), so the same graph gives the same DOT text on
    every run. Operands whose order matters (``-``, ``/``, ``**``, ``sum(w*x)``) have edge
    labels (a, b; w1, x1, ...) matching the names in ``Value.local_rules()``.

    Options:

    * ``rankdir``: ``"LR"`` (default), ``"TB"``, ``"RL"`` or ``"BT"``.
    * ``show_grad``: False leaves the grad out of each record. ``precision``: significant digits.
    * ``color_by``: ``"role"`` fills inputs, parameters, intermediates and the output in
      different colours; ``"grad"`` colours by gradient sign (blue positive, red negative) and
      magnitude (stronger = larger); ``None`` leaves every node white.
    * ``layout``: a :class:`nn.network.NetworkLayout` (a lesson's ``layout()``), or ``model``
      an ``nn.MLP`` (its layout is ``nn.network.layout_of_mlp(model)``): with
      ``clusters=True`` each unit of the network (and each layer) becomes a labelled box,
      headed in the lesson's words as the network view heads them (``hidden 1 · tanh``,
      ``unit a1[1]``). A node belongs to the unit whose own weights or bias it was computed from
      directly (``w*x``, ``+ b``), or whose nodes are its only other operands (the sum of a
      unit's products, its activation, ``+`` a bias the layer shares). The layout's weights and
      biases are drawn as parameters.
    * ``model`` (anything with ``named_parameters()``) or ``names`` (pairs ``(name, Value)`` or
      a dict name -> Value): marks those Values as parameters; a collapsed box lists a
      parameter without a label by its name.
    * ``collapse``: True draws every unit as one box (its output and its parameters with their
      data and grad); or give an iterable of unit symbols (``["a1[0]"]``) to collapse only those.
    * ``highlight``: Values and ``(parent, child)`` pairs to draw in red; in SVG output their
      groups get the class ``highlight``.
    * ``grads``: show these gradients instead of each node's ``.grad``; nodes missing from the
      mapping (or mapped to None) show an empty grad. Used for the step-by-step frames.
    * ``grad_width``: reserve room for this many characters in every grad cell, so that drawings
      with different gradients keep exactly the same layout.
    * ``max_nodes``: above this many drawn nodes (records + operations, default 300) a
      ValueError suggests ``collapse`` instead of producing an unreadable picture.

    Node ids in SVG output: Graphviz writes each node and edge as a ``<g>`` whose ``<title>``
    is its DOT name (the ``id`` attribute is Graphviz's own counter, ``node1``, ``edge1``, in
    DOT order, also stable): ``v{i}`` for the i-th Value of ``topological_order(value)``,
    ``op{i}`` for the operation that made it, ``n{k}`` for the k-th collapsed unit (k counts
    the layout's units that have nodes in the graph, in the layout's order), and
    ``tail->head`` for an edge; clusters are ``cluster_layer{k}`` and ``cluster_neuron{k}``.

    The network view (``view="network"``): give ``layout=`` (a ``NetworkLayout``, e.g. a
    lesson's ``layout()``), or ``model=`` an ``nn.MLP`` (its layout is built with
    ``nn.network.layout_of_mlp(model, root=value)``), or pass the layout as ``value``. Each unit
    shows its weighted input and activation and, after a backward pass, its δ = dLoss/dz; each
    edge its weight and the weight's gradient (written on the edge when a layer pair has at most
    16 edges; colour and width always show sign and size); a unit's own bias is written inside
    it, a bias shared by a layer once, beside the layer. ``rankdir``, ``show_grad``,
    ``precision``, ``grads``, ``highlight`` (Values) and ``max_nodes`` (units; weights up to 10
    times that) apply. Its ids: ``L{l}u{j}`` for unit j of layer l (layer 0: the inputs),
    ``L{l}b`` for a shared bias, ``loss``, edges ``L{l-1}u{i}->L{l}u{j}``; clusters
    ``cluster_L{l}``. ``viz.network_view.element_values(layout)`` maps each id to its Values.

    Every label (Value labels, parameter names, layer and unit names) is drawn literally:
    backslashes, HTML, quotes, braces, newlines. A character Graphviz cannot draw (a lone
    surrogate, U+FFFE) is drawn as U+FFFD; a label too long for Graphviz (about 15,000 bytes)
    raises a ValueError naming the node.

    Call ``.source`` for the DOT text; in Jupyter the result displays inline.
    """
    if view is None:
        view = "network" if isinstance(value, NetworkLayout) else "graph"
    if view not in VIEWS:
        raise ValueError(f"view must be 'graph' or 'network'; got {view!r}")
    if view == "network":
        return _draw_network_view(
            value, layout, model, rankdir=rankdir, show_grad=show_grad, precision=precision,
            grads=grads, highlight=highlight, max_nodes=max_nodes,
            graph_only={"names": names, "collapse": collapse, "grad_width": grad_width},
        )
    if layout is not None and not isinstance(layout, NetworkLayout):
        raise TypeError(f"layout must be a NetworkLayout; got {type(layout).__name__}")
    style = _Style(rankdir, show_grad, precision, color_by, grad_width, max_nodes)
    if not isinstance(value, Value):
        hint = (
            "; a model returns a list of Values: pass one of them (or the loss)"
            if isinstance(value, (list, tuple))
            else ""
        )
        raise TypeError(f"draw needs a Value, got {type(value).__name__}{hint}")
    parameter_names = _parameter_names(model, names)
    _refuse_huge_graph(value, style.max_nodes)
    graph = _Graph.of(value, parameter_names, _grouping_layout(model, layout))
    collapsed = _collapsed_neurons(collapse, graph)
    size = graph.drawn_node_count(collapsed)
    if size > style.max_nodes:
        raise ValueError(
            f"the graph has {size} nodes to draw (values and operations), more than "
            f"max_nodes={style.max_nodes}: the picture would be unreadable. Pass collapse=True "
            f"(with model= or names=, to draw each neuron as one box), draw a smaller part of "
            f"the graph, or raise the limit with max_nodes={size}."
        )
    marks = _Highlights.of(highlight, graph)
    shown = _shown_grads(grads, graph)
    return _Builder(graph, style, collapsed, clusters, marks, shown).build()


def _draw_network_view(
    value: object,
    layout: NetworkLayout | None,
    model: object,
    *,
    rankdir: str,
    show_grad: bool,
    precision: int,
    grads: object,
    highlight: object,
    max_nodes: int,
    graph_only: dict[str, object],
) -> Drawing:
    """draw(..., view="network"): find the layout, check the options, draw it."""
    from viz.network_view import draw_network  # the network view needs nothing else from here

    style = _Style(rankdir, show_grad, precision, "role", None, max_nodes)
    for option, given in graph_only.items():
        if given not in (None, False):
            raise ValueError(f"{option}= applies to the computation graph, not view='network'")
    if isinstance(value, NetworkLayout):
        if layout is not None and layout is not value:
            raise ValueError("give the network layout once: as value or as layout=")
        layout = value
    elif layout is None:
        if model is None:
            raise ValueError(
                "view='network' needs the network's layout: pass model= (an nn.MLP) or layout= "
                "(a nn.network.NetworkLayout, e.g. a lesson's layout())"
            )
        if not isinstance(value, Value):
            raise TypeError(f"draw needs a Value or a NetworkLayout, got {type(value).__name__}")
        layout = layout_of_mlp(model, root=value)
    elif not isinstance(layout, NetworkLayout):
        raise TypeError(f"layout must be a NetworkLayout; got {type(layout).__name__}")
    shown = None
    if grads is not None:
        if not isinstance(grads, Mapping):
            raise TypeError(
                f"grads must be a mapping Value -> float or None; got {type(grads).__name__}"
            )
        by_id = {id(v): g for v, g in grads.items()}
        shown = lambda v: by_id.get(id(v))  # noqa: E731
    return draw_network(
        layout,
        drawing_class=Drawing,
        rankdir=style.rankdir,
        show_grad=style.show_grad,
        number=style.number,
        grads=shown,
        highlight=highlight,
        max_nodes=style.max_nodes,
    )


# How many Values draw() looks at, per allowed drawn node, before giving up: enough for
# collapse=True to fold a big model into boxes, small enough to refuse a huge graph at once.
_VALUES_PER_DRAWN_NODE = 100
_MIN_VALUES_COUNTED = 10_000


def count_values(root: Value, limit: int) -> int:
    """The number of Values ``root`` depends on (itself included), counting at most limit + 1.

    Stops as soon as it has seen more than ``limit`` nodes, so asking about a graph of
    millions of nodes costs only ``limit`` steps (and memory for ``limit`` ids).
    """
    seen = {id(root)}
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                if len(seen) > limit:
                    return len(seen)
                stack.append(parent)
    return len(seen)


def _refuse_huge_graph(root: Value, max_nodes: int) -> None:
    """Refuse, before building anything, a graph far too big to draw even collapsed."""
    limit = max(_VALUES_PER_DRAWN_NODE * max_nodes, _MIN_VALUES_COUNTED)
    if count_values(root, limit) > limit:
        raise ValueError(
            f"the graph has more than {limit} values (counting stopped there), far more than "
            f"max_nodes={max_nodes} nodes can show, even with collapse=True: draw a smaller "
            f"part of the graph (one sample's loss, one neuron's output)"
        )


# ---------------------------------------------------------------------------------------------
# Checking options
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    """The presentation options of one drawing, checked once."""

    rankdir: str
    show_grad: bool
    precision: int
    color_by: str | None
    grad_width: int | None
    max_nodes: int

    def __post_init__(self) -> None:
        if self.rankdir not in RANKDIRS:
            raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}; got {self.rankdir!r}")
        if self.color_by not in COLOR_BY:
            raise ValueError(f"color_by must be 'role', 'grad' or None; got {self.color_by!r}")
        _check_int("precision", self.precision, 1, 17)
        _check_int("max_nodes", self.max_nodes, 1, None)
        if self.grad_width is not None:
            _check_int("grad_width", self.grad_width, 1, 200)

    def number(self, x: float) -> str:
        return format_number(x, self.precision)


def format_number(x: float, precision: int = 4) -> str:
    """A number as drawings show it: ``precision`` significant digits, -0 shown as 0."""
    return numbers.format_number(x, precision, minus="-")


def _check_int(name: str, value: object, low: int, high: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < low or (high is not None and value > high):
        upper = f" and at most {high}" if high is not None else ""
        raise ValueError(f"{name} must be at least {low}{upper}; got {value}")


def _parameter_names(model: object, names: object) -> dict[int, str]:
    """id(parameter) -> its name, from ``model.named_parameters()`` and/or ``names``."""
    found: dict[int, str] = {}
    pairs: list[object] = []
    if model is not None:
        named = getattr(model, "named_parameters", None)
        if not callable(named):
            raise TypeError(
                f"model must have a named_parameters() method (like nn.MLP); "
                f"got {type(model).__name__}"
            )
        pairs.extend(named())
    if names is not None:
        if isinstance(names, Mapping):
            pairs.extend(names.items())
        elif isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
            raise TypeError(
                "names must be a dict name -> Value or pairs (name, Value); "
                f"got {type(names).__name__}"
            )
        else:
            pairs.extend(names)
    for i, pair in enumerate(pairs):
        if not (
            isinstance(pair, tuple)
            and len(pair) == 2
            and isinstance(pair[0], str)
            and isinstance(pair[1], Value)
        ):
            raise TypeError(f"parameter name entry {i} must be a pair (str, Value); got {pair!r}")
        found[id(pair[1])] = pair[0]
    return found


# ---------------------------------------------------------------------------------------------
# The graph as drawn: nodes, roles, neurons
# ---------------------------------------------------------------------------------------------

def _grouping_layout(model: object, layout: NetworkLayout | None) -> NetworkLayout | None:
    """The network whose units group the graph's nodes: ``layout=``, an ``nn.MLP``'s, or none."""
    if layout is not None:
        return layout
    return layout_of_mlp(model) if isinstance(model, MLP) else None


def graph_of(
    value: Value,
    *,
    model: object = None,
    names: Mapping[str, Value] | Iterable[tuple[str, Value]] | None = None,
    layout: NetworkLayout | None = None,
) -> _Graph:
    """The graph as ``draw(value, model=..., names=..., layout=...)`` draws it: its nodes in
    order, its parameters, and which unit of the layout each node belongs to."""
    if layout is not None and not isinstance(layout, NetworkLayout):
        raise TypeError(f"layout must be a NetworkLayout; got {type(layout).__name__}")
    return _Graph.of(value, _parameter_names(model, names), _grouping_layout(model, layout))


@dataclass
class _Graph:
    """The nodes of one drawing with everything derived from the graph itself."""

    root: Value
    order: list[Value]
    index: dict[int, int]  # id(node) -> position in order; used for lookups only, never as an id
    parameters: dict[int, str]  # id(parameter) -> name, only those in this graph
    neuron: dict[int, str]  # id(node) -> id of the layout's unit it belongs to (L1u0)
    neurons: list[str]  # the unit ids that have nodes here, in the layout's order
    consumers: dict[int, list[Value]]  # id(node) -> the nodes computed from it
    layer_of: dict[str, str] = field(default_factory=dict)  # unit id -> layer id (L1)
    titles: dict[str, str] = field(default_factory=dict)  # unit or layer id -> box heading
    symbols: dict[str, str] = field(default_factory=dict)  # unit id -> its symbol (a1[0])

    @classmethod
    def of(cls, root: Value, names: dict[int, str], layout: NetworkLayout | None = None) -> _Graph:
        order = topological_order(root)
        index = {id(v): i for i, v in enumerate(order)}
        parameters = {k: n for k, n in names.items() if k in index}
        owner: dict[int, str] = {}
        units: list[tuple[str, int, UnitView]] = []
        weights_and_biases: set[int] = set()
        if layout is not None:
            frozen = {id(c) for c in layout.constants}  # given, not trained: drawn as inputs
            for p in layout.parameters():  # the layout's trained weights and biases
                if id(p) in index and id(p) not in frozen:
                    parameters.setdefault(id(p), p.label)
            owner = {k: u for k, u in layout.unit_of_parameter().items() if k in index}
            units = layout.computing_units()
            weights_and_biases = {id(p) for p in layout.parameters()}
        neuron = _assign_neurons(order, set(parameters) | weights_and_biases, owner)
        present = set(neuron.values())
        neurons = [key for key, _, _ in units if key in present]
        layer_of, titles, symbols = {}, {}, {}
        for key, li, unit in units:
            if key in present:
                layer_of[key] = NetworkLayout.layer_id(li)
                titles[key] = f"unit {unit.symbol}" if unit.symbol else "unit"
                titles[layer_of[key]] = layout.layers[li].title
                symbols[key] = unit.symbol
        consumers: dict[int, list[Value]] = {}
        for v in order:
            for p in v.parents:
                consumers.setdefault(id(p), []).append(v)
        return cls(
            root, order, index, parameters, neuron, neurons, consumers, layer_of, titles, symbols
        )

    def node_id(self, v: Value) -> str:
        return f"v{self.index[id(v)]}"

    def op_id(self, v: Value) -> str:
        return f"op{self.index[id(v)]}"

    def role(self, v: Value) -> str:
        if v is self.root:
            return "output"
        if id(v) in self.parameters:
            return "parameter"
        return "input" if v.is_leaf else "intermediate"

    def drawn_node_count(self, collapsed: set[str]) -> int:
        count = sum(1 for n in self.neurons if n in collapsed)
        for v in self.order:
            if self.neuron.get(id(v)) not in collapsed:
                count += 1 if v.is_leaf else 2  # a record, plus the op node that made it
        return count

    def outputs_of(self, neuron: str) -> list[Value]:
        """The members of a neuron that something outside it uses (or that are the root)."""
        members = [v for v in self.order if self.neuron.get(id(v)) == neuron]
        outputs = [
            v
            for v in members
            if id(v) not in self.parameters
            and (
                v is self.root
                or any(self.neuron.get(id(c)) != neuron for c in self.consumers.get(id(v), ()))
            )
        ]
        return outputs or members[-1:]


def _assign_neurons(
    order: list[Value], parameters: set[int], owner: dict[int, str]
) -> dict[int, str]:
    """id(node) -> unit, for the units' own parameters and the nodes computed inside each unit.

    ``owner`` gives the unit of each weight or bias that belongs to one unit; the other
    ``parameters`` (a bias a layer shares, parameters named without a layout) join no unit and
    decide nothing.
    """
    neuron = dict(owner)
    for v in order:
        if v.is_leaf:
            continue
        direct = {owner[id(p)] for p in v.parents if id(p) in owner}
        if direct:
            # computed from a unit's parameters directly (w*x, + b, sum(w*x)+b): that unit's,
            # if just one
            if len(direct) == 1:
                neuron[id(v)] = direct.pop()
            continue
        # otherwise only when every other operand is inside one unit (a sum of its products,
        # its activation, + a shared bias); an operand from outside (a target y, another unit)
        # keeps it out
        inside = {neuron.get(id(p)) for p in v.parents if id(p) not in parameters}
        if len(inside) == 1 and None not in inside:
            neuron[id(v)] = inside.pop()
    return neuron


def _collapsed_neurons(collapse: object, graph: _Graph) -> set[str]:
    if collapse is True:
        if not graph.neurons:
            raise ValueError(
                "collapse=True needs to know the neurons: pass model= (an nn.MLP) or layout= "
                "(a nn.network.NetworkLayout, e.g. a lesson's layout())"
            )
        return set(graph.neurons)
    if collapse is False or collapse is None:
        return set()
    if isinstance(collapse, str) or not isinstance(collapse, Iterable):
        raise TypeError(
            f"collapse must be True, False or an iterable of unit symbols (a1[0]); got {collapse!r}"
        )
    by_symbol = {graph.symbols[key]: key for key in graph.neurons}
    wanted = list(collapse)
    unknown = [n for n in wanted if n not in by_symbol]
    if unknown:
        known = ", ".join(by_symbol) or "none (pass model= or layout=)"
        raise ValueError(f"collapse: unknown unit(s) {unknown}; units in this graph: {known}")
    return {by_symbol[n] for n in wanted}


@dataclass(frozen=True)
class _Highlights:
    nodes: frozenset[int]
    edges: frozenset[tuple[int, int]]  # (id(parent), id(child))

    @classmethod
    def of(cls, items: Iterable[object], graph: _Graph) -> _Highlights:
        nodes: set[int] = set()
        edges: set[tuple[int, int]] = set()
        if isinstance(items, Value):
            items = (items,)
        for item in items:
            if isinstance(item, Value):
                _require_in_graph(item, graph, "highlight")
                nodes.add(id(item))
            elif isinstance(item, tuple) and len(item) == 2 and all(
                isinstance(v, Value) for v in item
            ):
                parent, child = item
                _require_in_graph(parent, graph, "highlight")
                _require_in_graph(child, graph, "highlight")
                if not any(p is parent for p in child.parents):
                    raise ValueError(
                        f"highlight: {_describe(parent)} is not an operand of {_describe(child)}, "
                        f"so there is no edge between them"
                    )
                edges.add((id(parent), id(child)))
            else:
                raise TypeError(
                    f"highlight takes Values and (parent, child) pairs of Values; got {item!r}"
                )
        return cls(frozenset(nodes), frozenset(edges))


def _shown_grads(grads: object, graph: _Graph) -> Callable[[Value], float | None]:
    if grads is None:
        return lambda v: v.grad
    if not isinstance(grads, Mapping):
        raise TypeError(
            f"grads must be a mapping Value -> float or None; got {type(grads).__name__}"
        )
    by_id: dict[int, float | None] = {}
    for v, g in grads.items():
        if not isinstance(v, Value):
            raise TypeError(f"grads keys must be Values; got {type(v).__name__} {v!r}")
        _require_in_graph(v, graph, "grads")
        if g is not None and (isinstance(g, bool) or not isinstance(g, (int, float))):
            raise TypeError(f"grads[{_describe(v)}] must be a number or None; got {g!r}")
        by_id[id(v)] = None if g is None else float(g)
    return lambda v: by_id.get(id(v))


def _require_in_graph(v: Value, graph: _Graph, option: str) -> None:
    if id(v) not in graph.index:
        raise ValueError(f"{option}: {_describe(v)} is not part of the graph being drawn")


def _describe(v: Value) -> str:
    return f"node {v.label!r}" if v.label else f"an unlabelled node (data={v.data:g})"


# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------

def _operand_names(v: Value) -> list[str] | None:
    """Edge labels for operands whose order matters, as named in the local rules."""
    op, n = v.op, len(v.parents)
    if op in ("-", "/", "**") and n == 2:
        return ["a", "b"]
    if op.startswith("sum(w*x)"):
        k = n // 2
        names = [f"w{i}" for i in range(1, k + 1)] + [f"x{i}" for i in range(1, k + 1)]
        return names + ["b"] * (n - 2 * k)
    return None


def _blend(rgb: tuple[int, int, int], t: float) -> str:
    """White blended towards rgb by t in [0, 1]."""
    r, g, b = (round(255 + (c - 255) * t) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


# ---------------------------------------------------------------------------------------------
# Building the Digraph
# ---------------------------------------------------------------------------------------------

_MAX_ROWS_IN_BOX = 8  # parameters listed in a collapsed neuron before "... more"
_POINTS_PER_CHAR = 7  # a generous width of one character at the font size used, in points


class _Builder:
    """Turns a _Graph and options into DOT statements, in a fixed order."""

    def __init__(
        self,
        graph: _Graph,
        style: _Style,
        collapsed: set[str],
        clusters: bool,
        marks: _Highlights,
        grad_of: Callable[[Value], float | None],
    ) -> None:
        self.graph = graph
        self.titles = graph.titles  # unit or layer id -> its box's heading
        self.style = style
        self.collapsed = collapsed
        self.clusters = clusters
        self.marks = marks
        self.grad_of = grad_of
        grads = [grad_of(v) for v in graph.order]
        finite = [abs(g) for g in grads if g is not None and math.isfinite(g)]
        self.max_abs_grad = max(finite, default=0.0)

    # -- top level -----------------------------------------------------------------------------

    def build(self) -> Drawing:
        g = Drawing(name="stepgrad")
        g.attr(rankdir=self.style.rankdir, fontname=_FONT)
        g.attr("node", fontname=_FONT, fontsize="11")
        g.attr("edge", fontname=_FONT, fontsize="9")
        placed: set[int] = set()
        if self.clusters and self.graph.neurons:
            self._add_clusters(g, placed)
        else:
            for k, neuron in enumerate(self.graph.neurons):
                if neuron in self.collapsed:
                    self._add_box(g, neuron, k)
        for v in self.graph.order:
            if id(v) not in placed and self._box_of(v) is None:
                self._add_value(g, v)
        self._add_edges(g)
        return g

    def _box_of(self, v: Value) -> str | None:
        """The collapsed-neuron node that stands for v, if any."""
        n = self.graph.neuron.get(id(v))
        if n is not None and n in self.collapsed:
            return f"n{self.graph.neurons.index(n)}"
        return None

    # -- clusters ------------------------------------------------------------------------------

    def _add_clusters(self, g: Drawing, placed: set[int]) -> None:
        layers: dict[str | None, list[str]] = {}
        for n in self.graph.neurons:
            layers.setdefault(self.graph.layer_of.get(n), []).append(n)
        for layer_number, (layer, neurons) in enumerate(layers.items()):
            if layer is None:
                for n in neurons:
                    self._add_neuron(g, n, placed)
                continue
            with g.subgraph(name=f"cluster_layer{layer_number}") as sub:
                sub.attr(
                    label=html_label(self._title(layer, "layer")),
                    style="dashed",
                    color="#888888",
                    fontcolor="#555555",
                )
                for n in neurons:
                    self._add_neuron(sub, n, placed)

    def _add_neuron(self, g: graphviz.Digraph, neuron: str, placed: set[int]) -> None:
        k = self.graph.neurons.index(neuron)
        if neuron in self.collapsed:
            self._add_box(g, neuron, k)
            return
        with g.subgraph(name=f"cluster_neuron{k}") as sub:
            sub.attr(
                label=html_label(self._title(neuron, "neuron")),
                style="rounded",
                color="#999999",
                fontcolor="#333333",
            )
            for v in self.graph.order:
                if self.graph.neuron.get(id(v)) == neuron:
                    self._add_value(sub, v)
                    placed.add(id(v))

    # -- nodes ---------------------------------------------------------------------------------

    def _add_value(self, g: graphviz.Digraph, v: Value) -> None:
        highlighted = id(v) in self.marks.nodes
        label = self._table([self._row(self._text(v.label, v), v)], highlighted)
        g.node(self.graph.node_id(v), label=f"<{label}>", shape="plain", **_klass(highlighted))
        if not v.is_leaf:
            op_highlighted = self._op_marked(v)
            attrs = {"color": HIGHLIGHT_COLOR, "penwidth": "2"} if op_highlighted else {}
            g.node(
                self.graph.op_id(v),
                label=html_label(escape_html_label(v.op)) if v.op else "",
                shape="ellipse",
                width="0.3",
                height="0.3",
                margin="0.06,0.03",
                **attrs,
                **_klass(op_highlighted),
            )

    def _add_box(self, g: graphviz.Digraph, neuron: str, k: int) -> None:
        members = [v for v in self.graph.order if self.graph.neuron.get(id(v)) == neuron]
        highlighted = any(id(v) in self.marks.nodes for v in members)
        width = 3 if self.style.show_grad else 2
        rows = [_wide_row(width, f"<b>{self._title(neuron, 'neuron')}</b>")]
        for out in self.graph.outputs_of(neuron):
            rows.append(self._row(self._text(" ".join(("out", out.label)).strip(), out), out))
        params = [v for v in members if id(v) in self.graph.parameters]
        for v in params[:_MAX_ROWS_IN_BOX]:
            if v.label:  # the name the records and the lesson use (W1[0][1])
                rows.append(self._row(self._text(v.label, v), v))
                continue
            short = self.graph.parameters[id(v)] or "parameter"
            rows.append(self._row(label_text(short, f"parameter {short[:40]!r}"), v))
        if len(params) > _MAX_ROWS_IN_BOX:
            more = len(params) - _MAX_ROWS_IN_BOX
            rows.append(_wide_row(width, f"... {more} more parameters"))
        label = self._table(rows, highlighted)
        g.node(f"n{k}", label=f"<{label}>", shape="plain", **_klass(highlighted))

    def _title(self, name: str, kind: str) -> str:
        """A box's heading, escaped: its title from the layout, or its name."""
        return label_text(self.titles.get(name, name), f"{kind} {name[:40]!r}")

    def _text(self, text: str, v: Value) -> str:
        """A node's label escaped; a label Graphviz cannot take names the node in the error."""
        where = f"node {self.graph.node_id(v)}"
        if v.label:
            where += f" (label {v.label[:40]!r}{'...' if len(v.label) > 40 else ''})"
        return label_text(text, where)

    def _row(self, name: str, v: Value) -> str:
        """One table row: [name |] data [| grad], every cell filled with v's colour."""
        fill = self._fill(v)
        cells = [name] if name else []
        cells.append(f"data {self.style.number(v.data)}")
        widths = [""] * len(cells)
        if self.style.show_grad:
            g = self.grad_of(v)
            cells.append("grad" if g is None else f"grad {self.style.number(g)}")
            width = self.style.grad_width
            # the cell's width includes its padding and border: 2 * (4 + 1) points
            points = width * _POINTS_PER_CHAR + 10 if width is not None else None
            widths.append(f' width="{points}"' if points is not None else "")
        # Cells carry their own border colour, so that the table's colour only draws the outer
        # frame: a highlight changes a colour, never a size, and the layout stays put.
        tds = (f'<td color="black" bgcolor="{fill}"{w}>{c}</td>' for c, w in zip(cells, widths))
        return f"<tr>{''.join(tds)}</tr>"

    def _table(self, rows: list[str], highlighted: bool) -> str:
        frame = HIGHLIGHT_COLOR if highlighted else "transparent"
        return (
            f'<table border="2" cellborder="1" cellspacing="0" cellpadding="4" '
            f'color="{frame}">{"".join(rows)}</table>'
        )

    def _fill(self, v: Value) -> str:
        if self.style.color_by == "role":
            return ROLE_COLORS[self.graph.role(v)]
        if self.style.color_by == "grad":
            return self._grad_color(self.grad_of(v))
        return "#ffffff"

    def _grad_color(self, g: float | None) -> str:
        if g is None:
            return "#ffffff"
        if not math.isfinite(g):
            return _UNKNOWN_COLOR
        if self.max_abs_grad == 0.0 or g == 0.0:
            return "#ffffff"
        t = 0.15 + 0.6 * abs(g) / self.max_abs_grad  # never fully saturated: text stays readable
        return _blend(_POSITIVE_RGB if g > 0 else _NEGATIVE_RGB, t)

    # -- edges ---------------------------------------------------------------------------------

    def _add_edges(self, g: Drawing) -> None:
        box_edges: set[tuple[str, str]] = set()
        for v in self.graph.order:
            if v.is_leaf:
                continue
            box = self._box_of(v)
            if box is None:
                # operand -> op -> result; an operand used twice (a + a) gets two arrows
                op = self.graph.op_id(v)
                names = _operand_names(v)
                for i, p in enumerate(v.parents):
                    tail = self._box_of(p) or self.graph.node_id(p)
                    label = names[i] if names else None
                    _edge(g, tail, op, (id(p), id(v)) in self.marks.edges, label)
                _edge(g, op, self.graph.node_id(v), self._op_marked(v))
                continue
            for p in v.parents:
                # into a collapsed neuron: one arrow per outside operand is enough
                tail = self._box_of(p) or self.graph.node_id(p)
                if tail != box and (tail, box) not in box_edges:
                    box_edges.add((tail, box))
                    _edge(g, tail, box, (id(p), id(v)) in self.marks.edges)

    def _op_marked(self, v: Value) -> bool:
        return any((id(p), id(v)) in self.marks.edges for p in v.parents)


def _edge(g: Drawing, tail: str, head: str, highlighted: bool, label: str | None = None) -> None:
    attrs = {"label": label} if label is not None else {}
    if highlighted:
        attrs.update({"color": HIGHLIGHT_COLOR, "penwidth": "2", "class": "highlight"})
    g.edge(tail, head, **attrs)


def _wide_row(width: int, content: str) -> str:
    return f'<tr><td colspan="{width}" color="black">{content}</td></tr>'


def _klass(highlighted: bool) -> dict[str, str]:
    # 'class' ends up on the node's <g> in SVG output, where tests and CSS can find it.
    return {"class": "highlight"} if highlighted else {}
