"""`stepgrad graph`: build a worked example, run its backward pass, and draw it to a file."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from autograd import Value, topological_order
from nn.examples import Example, build_example
from nn.network import LayerView, NetworkLayout, UnitView
from viz.draw import draw
from viz.render import FORMATS, output_format, pipe, render
from viz.steps import write_step_svgs

_DELTA_NAME = re.compile(r"^delta(?P<layer>\d+)(?:\[(?P<unit>\d+)\])?$")


STDOUT = "-"  # -o - : the drawing goes to standard output
DRAWING_FORMATS = ("svg", "png", "pdf", "dot")
TEXT_FORMATS = ("svg", "dot")  # what standard output takes; png and pdf are binary
VIEWS = ("graph", "network")


def run_graph_command(args: argparse.Namespace) -> int:
    """Run `stepgrad graph` with parsed arguments; returns the exit code.

    Without ``--steps``: one drawing, the computation graph or (``--view network``) the
    network, format by the extension of ``-o`` (.svg, .png, .pdf, .dot) or ``--format``;
    ``-o -`` writes SVG (or DOT) to standard output. With ``--steps``: the step-by-step page
    (.html, or standard output), or, when ``-o`` has no extension, a directory of SVGs. Bad
    requests raise ValueError, which the command line turns into one line and exit code 2.
    """
    if not args.steps and str(args.output).lower().endswith((".html", ".htm")):
        raise ValueError(
            f"an .html page is the step-by-step view: add --steps, or draw to "
            f"{', '.join(FORMATS)} instead of {args.output!r}"
        )
    example = build_example(args.example)
    what = write_example_graph(
        example,
        args.output,
        steps=args.steps,
        view=getattr(args, "view", "graph"),
        collapse=bool(getattr(args, "collapse", False)),
        fmt=getattr(args, "format", None),
        rankdir=args.rankdir,
    )
    # The line about what was written goes to stderr when the drawing itself is on stdout.
    stream = sys.stderr if args.output == STDOUT else sys.stdout
    print(written_line(args.output, what, example), file=stream)
    return 0


def written_line(output: str | os.PathLike[str], what: str, example: Example | None = None) -> str:
    """The one line every command prints after writing a drawing, e.g.
    ``wrote net.svg (network view of the 2-2-1 example, svg)``.

    ``what`` is what :func:`write_example_graph` returned; ``output`` ``-`` is standard output.
    """
    where = "standard output" if os.fspath(output) == STDOUT else os.fspath(output)
    of = f" of the {example.name} example" if example is not None else ""
    description, _, fmt = what.rpartition(", ")
    if not description:
        description, fmt = what, ""
    return f"wrote {where} ({description}{of}{', ' + fmt if fmt else ''})"


def write_example_graph(
    example: Example,
    output: str | os.PathLike[str],
    steps: bool = False,
    *,
    view: str = "graph",
    collapse: bool = False,
    fmt: str | None = None,
    **draw_options: object,
) -> str:
    """Draw a worked example (or lesson) to ``output``; returns what was written, e.g.
    ``"network view, svg"`` (pass it to :func:`written_line`).

    ``view="graph"``: the computation graph with its neurons named and grouped (``collapse``
    draws each neuron as one box); an ``.html`` output is the step-by-step page,
    ``steps`` with no extension a directory of step SVGs. ``view="network"``: the network as
    textbooks draw it (:func:`example_layout`). The format comes from the extension (.svg,
    .png, .pdf, .dot) or ``fmt``; ``output="-"`` writes SVG (or ``fmt="dot"``, DOT; or with
    ``steps``, the HTML page) to standard output. Runs the example's backward pass (once).
    Bad requests raise ValueError naming the option.
    """
    kind = _output_kind(output, steps, fmt)
    if view not in VIEWS:
        raise ValueError(f"--view must be one of {', '.join(VIEWS)}; got {view!r}")
    if view == "network":
        if kind == "frames":
            raise ValueError(
                "step SVGs show the computation graph: leave out --view network, write the "
                f"step page (.html), or draw the network to {', '.join(FORMATS)}"
            )
        if collapse:
            raise ValueError(
                "--collapse folds the computation graph's neurons into boxes; the network view "
                "already draws one circle per unit: leave out --collapse or --view network"
            )
    if view == "network" and kind != "html":
        example.loss.backward()
        drawing = draw(example_layout(example), **draw_options)
        return _write_drawing(drawing, output, kind, "network view")
    # The lesson's layout heads the graph's boxes in its words (hidden · sigmoid, unit a1[0]).
    layout = example_layout(example)
    options = {
        "names": example_parameter_names(example),
        "collapse": collapse,
        "layout": layout,
        **draw_options,
    }
    if kind == "html":
        # The lab page, offline: the lesson's steps in its own words, the network, the loss curve.
        from viz.lab import lesson_page

        page = lesson_page(example)
        if os.fspath(output) == STDOUT:
            sys.stdout.write(page.html())
            sys.stdout.flush()
        else:
            page.write(output)
        return "step-by-step page, html"
    if kind == "frames":
        paths = write_step_svgs(example.loss, output, **options)
        return f"{len(paths)} step SVGs, svg"
    example.loss.backward()
    return _write_drawing(draw(example.loss, **options), output, kind, "computation graph")


def _output_kind(output: object, steps: bool, fmt: str | None) -> str:
    """What ``-o`` asks for: 'html', 'frames' (a directory) or a drawing format; or ValueError."""
    if not isinstance(output, (str, os.PathLike)) or not os.fspath(output).strip():
        raise ValueError("-o needs a file name (or - for standard output); got an empty name")
    name = os.fspath(output)
    if fmt is not None and fmt not in DRAWING_FORMATS:
        raise ValueError(f"--format must be one of {', '.join(DRAWING_FORMATS)}; got {fmt!r}")
    if steps and fmt is not None:
        raise ValueError("--steps writes an HTML page (or a folder of SVGs): leave out --format")
    if name == STDOUT:
        if steps:
            return "html"
        fmt = fmt or "svg"
        if fmt not in TEXT_FORMATS:
            raise ValueError(
                f"-o - writes text to standard output: svg or dot, not {fmt} (a binary "
                f"format): give a file name ending in .{fmt}"
            )
        return fmt
    if name.endswith(("/", os.sep)):
        raise ValueError(f"-o needs a file name, not a folder; got {name!r}")
    suffix = Path(name).suffix.lower()
    if steps:
        if suffix in (".html", ".htm"):
            return "html"
        if suffix == "":
            return "frames"
        raise ValueError(
            f"--steps writes an .html page (or SVGs into a directory: an -o without extension); "
            f"got {name!r}"
        )
    if suffix in (".html", ".htm"):
        return "html"
    if suffix not in FORMATS:
        output_format(name)  # raises, naming the supported extensions
    found = FORMATS[suffix] or "dot"  # .dot: the DOT text itself
    if fmt is not None and fmt != found:
        raise ValueError(f"--format {fmt} does not match the extension of {name!r}")
    folder = Path(name).parent
    if not folder.is_dir():
        raise ValueError(f"cannot write {name}: the folder {folder} does not exist")
    return found


def _write_drawing(drawing: object, output: object, kind: str, description: str) -> str:
    if os.fspath(output) == STDOUT:
        text = drawing.source if kind == "dot" else pipe(drawing.source, kind).decode("utf-8")
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        render(drawing, output)
    return f"{description}, {kind}"


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
