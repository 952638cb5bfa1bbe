"""`stepgrad graph`: build a worked example, run its backward pass, and draw it to a file."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from autograd import Value, topological_order
from nn.examples import Example, build_example
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

