"""`stepgrad graph`: build a worked example, run its backward pass, and draw it to a file."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from autograd import Value, topological_order
from nn.examples import Example, build_example
from nn.network import LayerView, NetworkLayout, UnitView
from viz.render import FORMATS, render
from viz.steps import write_step_svgs, write_steps_html

_DELTA_NAME = re.compile(r"^delta(?P<layer>\d+)(?:\[(?P<unit>\d+)\])?$")


def run_graph_command(args: argparse.Namespace) -> int:
    """Run `stepgrad graph` with parsed arguments; returns the exit code.

    Without ``--steps``: one annotated graph, format by the extension of ``-o`` (.svg, .png,
    .pdf, .dot). With ``--steps``: one frame per chain-rule step, as a self-contained .html page
    (or, when ``-o`` has no extension, a directory of SVGs). Bad requests raise ValueError.
    """
    output = Path(args.output)
    suffix = output.suffix.lower()
    if args.steps and suffix not in (".html", ".htm", ""):
        raise ValueError(
            f"--steps writes an .html page (or SVGs into a directory: an -o without extension); "
            f"got {args.output!r}"
        )
    if not args.steps and suffix in (".html", ".htm"):
        raise ValueError(
            f"an .html page is the step-by-step view: add --steps, or draw to "
            f"{', '.join(FORMATS)} instead of {args.output!r}"
        )
    example = build_example(args.example)
    what = write_example_graph(
        example, output, steps=args.steps, rankdir=args.rankdir, collapse=bool(args.collapse)
    )
    print(f"wrote {output} ({what} of the {example.name} example: {example.title})")
    return 0


def write_example_graph(
    example: Example, output: str | Path, steps: bool = False, **draw_options: object
) -> str:
    """Draw a worked example with its neurons named and grouped; returns what was written.

    An ``.html`` output is the step-by-step page; with ``steps`` and no extension, a directory of
    step SVGs; anything else one graph after a backward pass (format by extension).
    """
    output = Path(output)
    options = {"names": example_parameter_names(example), **draw_options}
    if output.suffix.lower() in (".html", ".htm"):
        write_steps_html(example.loss, output, **options)
        return "step-by-step page"
    if steps:
        paths = write_step_svgs(example.loss, output, **options)
        return f"{len(paths)} step SVGs"
    example.loss.backward()
    render(example.loss, output, **options)
    return "graph"


def example_parameter_names(example: Example) -> list[tuple[str, Value]]:
    """Names like ``layers.0.neurons.1.W1[0][1]`` for an example's parameters, by neuron.

    Each delta of the example names a neuron's weighted input (``"delta1[1]": "z1[1]"``); that
    neuron's parameters are the ones its weighted input depends on that no earlier neuron's
    weighted input already uses. The names make `draw` group (and collapse) neurons by layer.
    """
    neurons: list[tuple[int, int, Value]] = []
    for delta, node_label in example.deltas.items():
        match = _DELTA_NAME.match(delta)
        if match is None or node_label not in example.nodes:
            continue
        unit = int(match.group("unit") or 0)
        neurons.append((int(match.group("layer")), unit, example.nodes[node_label]))
    neurons.sort(key=lambda item: (item[0], item[1]))
    parameter_ids = {id(p) for p in example.parameters}
    claimed: set[int] = set()
    names: list[tuple[str, Value]] = []
    for layer, unit, weighted_input in neurons:  # earlier layers first, so they claim first
        for node in topological_order(weighted_input):
            if id(node) in parameter_ids and id(node) not in claimed:
                claimed.add(id(node))
                names.append((f"layers.{layer - 1}.neurons.{unit}.{node.label}", node))
    return names



# ---------------------------------------------------------------------------------------------
# The network view of a worked example
# ---------------------------------------------------------------------------------------------

_UNIT_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")


def example_layout(example: Example) -> NetworkLayout:
    """The layered view of a worked example, for the network drawing.

    An example (or lesson) that knows its own layout (a ``layout()`` method) gives it. Otherwise
    it is read from the graph: each delta names a unit's weighted input ``z``; a weight is a
    parameter multiplied by an output of the layer before, a bias a parameter added in; the
    unit's output is the activation applied to ``z`` (for a softmax, ``exp(z) / sum``).
    """
    own = getattr(example, "layout", None)
    if callable(own):
        return own()
    by_layer: dict[int, list[tuple[int, str, Value]]] = {}
    for delta, node_label in example.deltas.items():
        match = _DELTA_NAME.match(delta)
        if match is not None and node_label in example.nodes:
            unit = int(match.group("unit") or 0)
            symbol = "δ" + delta.removeprefix("delta")
            by_layer.setdefault(int(match.group("layer")), []).append(
                (unit, symbol, example.nodes[node_label])
            )
    if not by_layer:
        raise ValueError(f"the {example.name} example names no units: no network view")
    parameters = {id(p) for p in example.parameters}
    consumers: dict[int, list[Value]] = {}
    for v in topological_order(example.loss):
        for p in v.parents:
            consumers.setdefault(id(p), []).append(v)
    layers: list[LayerView] = []
    previous: list[Value] = []  # the outputs of the layer before; the inputs, for layer 1
    for number in sorted(by_layer):
        units = sorted(by_layer[number], key=lambda item: item[0])
        found = [_unit_parts(z, previous, parameters) for _, _, z in units]
        if number == min(by_layer):
            fed = {key for weights, _ in found for key in weights}
            previous = [x for x in example.inputs if id(x) in fed]
            layers.append(LayerView("input", tuple(UnitView(x.label, a=x) for x in previous)))
            found = [_unit_parts(z, previous, parameters) for _, _, z in units]
        outputs, activation = [], ""
        views = []
        for (_, delta, z), (weights, bias) in zip(units, found):
            a, activation = _activation_of(z, consumers)
            outputs.append(a)
            views.append(
                UnitView(
                    a.label if a is not None else "",
                    a=a,
                    z=z,
                    z_symbol=z.label,
                    weights=tuple(weights.get(id(x)) for x in previous),
                    bias=bias,
                    delta_symbol=delta,
                )
            )
        last = number == max(by_layer)
        layers.append(LayerView("output" if last else "hidden", tuple(views), activation))
        previous = [a for a in outputs if a is not None]
    used = {id(u.a) for u in layers[0].units}
    targets = tuple(x for x in example.inputs if id(x) not in used)
    return NetworkLayout(tuple(layers), loss=example.loss, targets=targets)


def _unit_parts(
    z: Value, previous: list[Value], parameters: set[int]
) -> tuple[dict[int, Value], Value | None]:
    """id(input of the unit) -> its weight, and the bias, from the graph below ``z``."""
    stop = {id(v) for v in previous}
    weights: dict[int, Value] = {}
    bias = None
    stack, seen = [z], set()
    while stack:  # z's own sum, not the layers before it
        v = stack.pop()
        if id(v) in seen or id(v) in stop or v.is_leaf:
            continue
        seen.add(id(v))
        ps = v.parents
        if v.op == "*" and len(ps) == 2 and (id(ps[0]) in parameters) != (id(ps[1]) in parameters):
            w, x = (ps[0], ps[1]) if id(ps[0]) in parameters else (ps[1], ps[0])
            weights[id(x)] = w
            continue
        for p in ps:
            if id(p) in parameters and bias is None:
                bias = p
            stack.append(p)
    return weights, bias


def _activation_of(z: Value, consumers: dict[int, list[Value]]) -> tuple[Value | None, str]:
    """The unit's output and the activation's name: a unary op on z, or a softmax of exp(z)."""
    after = consumers.get(id(z), [])
    if len(after) == 1 and after[0].op in _UNIT_ACTIVATIONS:
        return after[0], after[0].op
    if len(after) == 1 and after[0].op == "exp":
        ratios = [c for c in consumers.get(id(after[0]), []) if c.op == "/"]
        if len(ratios) == 1 and ratios[0].parents[0] is after[0]:
            return ratios[0], "softmax"
    return None, ""
