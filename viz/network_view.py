"""The network view: units as circles in layers, weights on the edges, as textbooks draw them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from autograd import Value
from nn.network import LayerView, NetworkLayout, UnitView
from viz.labels import html_label, label_text

# Edges between two layers beyond which the weights are not written on them: past this the
# labels overlap; the colour and width of each edge still show the weight's sign and size.
MAX_LABELLED_EDGES = 9
# Layers with more units than this show each unit compactly (its output and δ), so that a
# column of units still fits a screen; the layer's title says so.
MAX_DETAILED_UNITS = 6
# A weight's own label is written on its edge when it is this short ("W1[0][1]", "w3");
# longer ones ("layers.0.neurons.1.w.0") would cover the picture.
MAX_SYMBOL_CHARS = 12

_FONT = "Helvetica"
_INPUT_FILL = "#dbeafe"  # the colours of draw()'s roles: inputs blue, outputs green
_OUTPUT_FILL = "#dcfce7"
_HIDDEN_FILL = "#ffffff"
_LOSS_FILL = "#f3f4f6"
_POSITIVE = "#2166ac"  # a positive weight: blue, as draw()'s gradient colours
_NEGATIVE = "#b2182b"  # a negative weight: red
_HIGHLIGHT = "#d62728"
_GRAD_MARK = "∂L/∂"


def draw_network(
    layout: NetworkLayout,
    *,
    drawing_class: type,
    rankdir: str = "LR",
    show_grad: bool = True,
    number: Callable[[float], str],
    grads: Callable[[Value], float | None] | None = None,
    highlight: Iterable[Value] = (),
    max_nodes: int = 300,
) -> object:
    """Build the network view of ``layout`` (called by ``viz.draw.draw(..., view="network")``).

    Node names, which SVG output keeps as each group's ``<title>``: ``L{l}u{j}`` for unit j of
    layer l (layer 0 is the input layer), ``L{l}b`` for a bias shared by layer l, ``loss`` for
    the loss; edges are ``L{l-1}u{i}->L{l}u{j}`` and ``L{l}u{j}->loss``. Elements drawn for a
    highlighted Value get the SVG class ``highlight``.
    """
    if not isinstance(layout, NetworkLayout):
        raise TypeError(f"the network view needs a NetworkLayout; got {type(layout).__name__}")
    _check_layout(layout)
    units = sum(len(layer.units) for layer in layout.layers)
    edges = sum(
        sum(1 for w in unit.weights if w is not None)
        for layer in layout.layers[1:]
        for unit in layer.units
    )
    if units > max_nodes or edges > 10 * max_nodes:
        raise ValueError(
            f"the network has {units} units and {edges} weights, more than max_nodes={max_nodes} "
            f"units or {10 * max_nodes} weights: the picture would be unreadable. Draw a "
            f"smaller network, or raise the limit with max_nodes={max(units, -(-edges // 10))}."
        )
    grad_of = grads if grads is not None else (lambda v: v.grad)
    marked = _marked_ids(highlight, layout)
    builder = _NetworkBuilder(layout, rankdir, show_grad, number, grad_of, marked)
    g = drawing_class(name="network")
    # Wide layers need more room between the columns, or the many edges loop around them.
    widest = max(len(layer.units) for layer in layout.layers)
    ranksep = f"{min(4.0, 1.2 + 0.15 * widest):.2f}"
    dense = any(
        sum(1 for u in layer.units for w in u.weights if w is not None) > MAX_LABELLED_EDGES
        for layer in layout.layers[1:]
    )
    # Curved edges read best for a few labelled weights; for many, dot's curves loop around
    # the columns, and straight lines show the fan-in of every unit.
    g.attr(
        rankdir=rankdir, fontname=_FONT, ranksep=ranksep, nodesep="0.25", newrank="true",
        mclimit="0.01", **({"splines": "line"} if dense else {}),
    )
    g.attr("node", fontname=_FONT, fontsize="11")
    g.attr("edge", fontname=_FONT, fontsize="9", arrowsize="0.6")
    builder.build(g)
    return g


def element_values(layout: NetworkLayout) -> dict[str, tuple[Value, ...]]:
    """DOT name of each element of the network view -> the Values it shows, in drawing order.

    A unit shows its weighted input and activation (and its own bias), an edge its weight, a
    shared-bias node its bias, the loss node the loss: what a page needs to light up the
    element of the step it is on.
    """
    out: dict[str, tuple[Value, ...]] = {}
    for li, layer in enumerate(layout.layers):
        shared = _shared_bias(layer)
        if shared is not None:
            out[f"L{li}b"] = (shared,)
        for j, unit in enumerate(layer.units):
            own = unit.bias if unit.bias is not None and shared is None else None
            out[_unit_id(li, j)] = tuple(v for v in (unit.z, unit.a, own) if v is not None)
            for i, w in enumerate(unit.weights):
                if w is not None:
                    out[f"{_unit_id(li - 1, i)}->{_unit_id(li, j)}"] = (w,)
    if layout.loss is not None:
        out["loss"] = (layout.loss,)
    return out


# ---------------------------------------------------------------------------------------------
# Checking the layout
# ---------------------------------------------------------------------------------------------


def _check_layout(layout: NetworkLayout) -> None:
    if len(layout.layers) < 2:
        raise ValueError("a network layout needs an input layer and at least one more layer")
    for li, layer in enumerate(layout.layers):
        if not isinstance(layer, LayerView) or not layer.units:
            raise ValueError(f"layers[{li}] must be a LayerView with at least one unit")
        width = len(layout.layers[li - 1].units) if li else 0
        for j, unit in enumerate(layer.units):
            where = f"layers[{li}].units[{j}]"
            if not isinstance(unit, UnitView):
                raise TypeError(f"{where} must be a UnitView; got {type(unit).__name__}")
            if li == 0 and unit.weights:
                raise ValueError(f"{where} is an input unit: it has no incoming weights")
            if li and len(unit.weights) != width:
                raise ValueError(
                    f"{where}.weights has {len(unit.weights)} entries; the layer before has "
                    f"{width} units (use None where there is no edge)"
                )
            for name, v in (("a", unit.a), ("z", unit.z), ("bias", unit.bias)):
                if v is not None and not isinstance(v, Value):
                    raise TypeError(f"{where}.{name} must be a Value or None; got {v!r}")
            for i, w in enumerate(unit.weights):
                if w is not None and not isinstance(w, Value):
                    raise TypeError(f"{where}.weights[{i}] must be a Value or None; got {w!r}")


def _marked_ids(highlight: Iterable[Value], layout: NetworkLayout) -> frozenset[int]:
    if isinstance(highlight, Value):
        highlight = (highlight,)
    shown = {id(v) for values in element_values(layout).values() for v in values}
    marked = set()
    for item in highlight:
        if not isinstance(item, Value):
            raise TypeError(f"highlight in the network view takes Values; got {item!r}")
        if id(item) not in shown:
            raise ValueError(
                f"highlight: {_describe(item)} is not drawn in the network view (it shows each "
                f"unit's weighted input and activation, the weights, the biases and the loss)"
            )
        marked.add(id(item))
    return frozenset(marked)


def _describe(v: Value) -> str:
    return f"node {v.label!r}" if v.label else f"an unlabelled node (data={v.data:g})"


def _shared_bias(layer: LayerView) -> Value | None:
    """The bias of a layer whose units all share one Value (and have more than one unit)."""
    biases = [u.bias for u in layer.units]
    first = biases[0]
    if first is not None and len(biases) > 1 and all(b is first for b in biases):
        return first
    return None


def _unit_id(layer: int, unit: int) -> str:
    return NetworkLayout.unit_id(layer, unit)  # the layout's ids, as the graph's boxes use


# ---------------------------------------------------------------------------------------------
# Building the drawing
# ---------------------------------------------------------------------------------------------


class _NetworkBuilder:
    """Turns a NetworkLayout into DOT statements, layer by layer, in a fixed order."""

    def __init__(
        self,
        layout: NetworkLayout,
        rankdir: str,
        show_grad: bool,
        number: Callable[[float], str],
        grad_of: Callable[[Value], float | None],
        marked: frozenset[int],
    ) -> None:
        self.layout = layout
        self.rankdir = rankdir
        self.show_grad = show_grad
        self.number = number
        self.grad_of = grad_of
        self.marked = marked
        weights = [abs(w.data) for w in layout.parameters() if math.isfinite(w.data)]
        self.max_weight = max(weights, default=0.0)
        self.compact = [len(layer.units) > MAX_DETAILED_UNITS for layer in layout.layers]
        # δ only means something once a backward pass has written gradients
        self.has_grads = show_grad and any(
            (g := grad_of(v)) is not None and g != 0.0
            for v in self._gradient_holders()
        )

    def _gradient_holders(self) -> list[Value]:
        holders = list(self.layout.parameters())
        for layer in self.layout.layers:
            holders.extend(u.z for u in layer.units if u.z is not None)
        return holders

    def build(self, g: object) -> None:
        last = len(self.layout.layers) - 1
        for li, layer in enumerate(self.layout.layers):
            with g.subgraph(name=f"cluster_L{li}") as sub:
                title = layer.title
                if self.compact[li] and li:
                    title += "\n(each unit: its output" + (", δ" if self.has_grads else "") + ")"
                sub.attr(
                    label=html_label(label_text(title, f"layers[{li}].name")),
                    style="rounded,dashed",
                    color="#9ca3af",
                    fontcolor="#4b5563",
                    rank="same",
                )
                shared = _shared_bias(layer)
                for j, unit in enumerate(layer.units):
                    self._add_unit(sub, li, j, unit, li == 0, li == last, shared is None)
                # Invisible edges along the column, with crossing minimisation kept short
                # (mclimit), hold the units in their order: unit 0 on top (on the left for TB
                # and BT). Which way round they must point was found by trying each rankdir.
                for j in range(1, len(layer.units)):
                    pair = (_unit_id(li, j), _unit_id(li, j - 1))
                    sub.edge(*(pair if self.rankdir in ("LR", "RL") else pair[::-1]),
                             style="invis")
                if shared is not None:
                    self._add_shared_bias(sub, li, shared)
        for li, layer in enumerate(self.layout.layers[1:], start=1):
            labelled = sum(1 for u in layer.units for w in u.weights if w is not None)
            for j, unit in enumerate(layer.units):
                for i, w in enumerate(unit.weights):
                    if w is not None:
                        self._add_weight(
                            g, _unit_id(li - 1, i), _unit_id(li, j), w,
                            labelled <= MAX_LABELLED_EDGES,
                        )
        if self.layout.loss is not None:
            self._add_loss(g, last)

    # -- units ---------------------------------------------------------------------------------

    def _add_unit(
        self, g: object, li: int, j: int, unit: UnitView, is_input: bool, is_output: bool,
        own_bias: bool,
    ) -> None:
        where = f"layers[{li}].units[{j}]"
        symbol = f"<b>{label_text(unit.symbol, where + '.symbol')}</b>"
        rows = []
        compact = self.compact[li]
        if compact:
            rows.append(symbol)
            if unit.a is not None:
                rows.append(self.number(unit.a.data))
        elif is_input or unit.z is None:
            rows.append(symbol + (f" = {self.number(unit.a.data)}" if unit.a is not None else ""))
        else:
            z_name = label_text(unit.z_symbol or "z", where + ".z_symbol")
            if unit.a is unit.z:  # a linear unit: its output is its weighted input
                rows.append(f"{symbol} = {z_name} = {self.number(unit.z.data)}")
            elif unit.a is None:  # its output is not in the graph drawn
                rows.append(f"{z_name} = {self.number(unit.z.data)}")
                rows.append(symbol)
            else:
                rows.append(f"{z_name} = {self.number(unit.z.data)}")
                rows.append(f"{symbol} = {self.number(unit.a.data)}")
        if not is_input and self.has_grads and unit.z is not None:
            # the lesson's error term: dLoss/dz, or the book's Err = -dLoss/dz
            grad = self.grad_of(unit.z)
            error = None if grad is None else self.layout.error_sign * grad
            if compact:
                rows.append(f"δ {self._maybe(error)}")
            else:
                delta = label_text(unit.delta_symbol or "δ", where + ".delta_symbol")
                rows.append(f"{delta} = {self._maybe(error)}")
        if not is_input and own_bias and unit.bias is not None and not compact:
            rows.append(self._parameter_text(unit.bias, "b", where + ".bias", "<br/>"))
        fill = _INPUT_FILL if is_input else _OUTPUT_FILL if is_output else _HIDDEN_FILL
        values = [unit.z, unit.a] + ([unit.bias] if own_bias else [])
        marked = any(v is not None and id(v) in self.marked for v in values)
        g.node(
            _unit_id(li, j),
            label=html_label("<br/>".join(rows)),
            shape="circle",
            style="filled",
            fillcolor=fill,
            margin="0.04",
            **_marks(marked),
        )

    def _add_shared_bias(self, g: object, li: int, bias: Value) -> None:
        text = self._parameter_text(bias, "b", f"layers[{li}].units[0].bias", "<br/>")
        g.node(
            f"L{li}b",
            label=html_label(f"{text}<br/><i>shared by the layer</i>"),
            shape="box",
            style="rounded,dashed",
            fontsize="10",
            **_marks(id(bias) in self.marked),
        )

    def _parameter_text(self, p: Value, fallback: str, where: str, sep: str) -> str:
        """'W1[0][1] = 0.3' and, after a backward pass, 'grad -0.01', joined by sep."""
        symbol = p.label if p.label and len(p.label) <= MAX_SYMBOL_CHARS else fallback
        text = f"{label_text(symbol, where)} = {self.number(p.data)}"
        if self.has_grads:
            text += f"{sep}grad {self._maybe(self.grad_of(p))}"
        return text

    def _maybe(self, g: float | None) -> str:
        return "?" if g is None else self.number(g)

    # -- edges ---------------------------------------------------------------------------------

    def _add_weight(self, g: object, tail: str, head: str, w: Value, labelled: bool) -> None:
        attrs = {"color": self._weight_color(w.data), "penwidth": self._weight_width(w.data)}
        if labelled:
            where = f"the weight {tail}->{head}"
            attrs["label"] = html_label(self._parameter_text(w, "w", where, "<br/>"))
            attrs["decorate"] = "true"  # a line from the label to its edge: no guessing which
        attrs.update(_marks(id(w) in self.marked))
        g.edge(tail, head, **attrs)

    def _weight_color(self, w: float) -> str:
        if not math.isfinite(w) or w == 0.0:
            return "#9ca3af"
        return _POSITIVE if w > 0 else _NEGATIVE

    def _weight_width(self, w: float) -> str:
        if self.max_weight == 0.0 or not math.isfinite(w):
            return "1"
        return f"{0.6 + 2.4 * abs(w) / self.max_weight:.2f}"

    def _add_loss(self, g: object, last: int) -> None:
        loss = self.layout.loss
        name = label_text(self.layout.loss_symbol or "L", "loss_symbol")
        rows = [f"<b>{name}</b> = {self.number(loss.data)}"]
        for k, t in enumerate(self.layout.targets):
            rows.append(f"{label_text(t.label or f't[{k}]', f'targets[{k}]')} = "
                        f"{self.number(t.data)}")
        g.node(
            "loss",
            label=html_label("<br/>".join(rows)),
            shape="box",
            style="rounded,filled",
            fillcolor=_LOSS_FILL,
            **_marks(id(loss) in self.marked),
        )
        for j in range(len(self.layout.layers[last].units)):
            g.edge(_unit_id(last, j), "loss", style="dashed", color="#6b7280")


def _marks(marked: bool) -> dict[str, str]:
    # 'class' ends up on the element's <g> in SVG output, where tests, CSS and scripts find it.
    return {"class": "highlight", "color": _HIGHLIGHT, "penwidth": "2"} if marked else {}

