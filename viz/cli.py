"""The `stepgrad` command line: `stepgrad example`, `trace`, `graph` and `lab`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from autograd import __version__

EXAMPLES = ("2-2-1", "1-1-1", "softmax")
FORMATS = ("text", "markdown", "json")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0.0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every `stepgrad` command."""
    parser = argparse.ArgumentParser(
        prog="stepgrad",
        description="See backpropagation: step through worked examples "
        "by hand, and draw computation graphs with every gradient on them.",
    )
    parser.add_argument("--version", action="version", version=f"stepgrad {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    example = commands.add_parser(
        "example",
        help="step through a worked example: forward pass, loss, deltas, gradients, update",
        description="Print every number of a worked example with the formula that made it.",
    )
    example.add_argument(
        "name",
        nargs="?",
        default="2-2-1",
        metavar="EXAMPLE_OR_FILE",
        help=f"a built-in example ({', '.join(EXAMPLES)}; default: 2-2-1) or your own network "
        "as a .toml or .json lesson file (see --template)",
    )
    example.add_argument(
        "--template",
        action="store_true",
        help="print a commented starter lesson file (TOML) that runs as it is",
    )
    example.add_argument("--format", default="text", choices=FORMATS, help="output format")
    example.add_argument(
        "--lr",
        type=_positive_float,
        default=None,
        help="learning rate (default: the example's own)",
    )
    example.add_argument(
        "--steps",
        type=_non_negative_int,
        default=5,
        help="further training iterations whose loss is shown (default: 5)",
    )
    example.add_argument(
        "--compare-printed",
        "--compare-seed",
        dest="compare_seed",
        action="store_true",
        default=None,
        help="show the numbers the source printed beside the true ones (on by default when it "
        "printed some)",
    )
    example.add_argument(
        "--no-compare-printed",
        "--no-compare-seed",
        dest="compare_seed",
        action="store_false",
        help="do not show the numbers the source printed",
    )
    example.add_argument(
        "--quiz",
        action="store_true",
        help="ask for each number in turn and check your hand calculation",
    )
    example.add_argument(
        "--tolerance",
        type=_positive_float,
        default=None,
        help="quiz: how far off an answer may be and still count (default: 0.005 "
        "relative or 0.0005 absolute)",
    )
    example.add_argument(
        "--graph",
        metavar="FILE",
        default=None,
        help="also write the annotated computation graph (.svg, .png, .pdf, .dot, "
        "or .html for the step-by-step page)",
    )
    example.add_argument(
        "--collapse", action="store_true", help="--graph: draw each neuron as one box"
    )
    example.add_argument(
        "--view",
        choices=("graph", "network"),
        default=None,
        help="--graph: the computation graph (default) or the network of units and weights",
    )

    trace = commands.add_parser(
        "trace",
        help="step through your own expression: every node, every chain-rule step, every gradient",
        description="Parse a formula (numbers, names, + - * / **, and the engine's functions "
        "tanh sigmoid relu leaky_relu exp log sqrt softplus abs), build its graph for the "
        "given values, and show every node's value and every chain-rule step.",
    )
    trace.add_argument("expression", help='the formula, e.g. "tanh(x1*w1 + x2*w2 + b)"')
    trace.add_argument(
        "values", nargs="*", metavar="NAME=VALUE", help="a value for every name, e.g. x1=2"
    )
    trace.add_argument("--format", default="text", choices=FORMATS, help="output format")
    trace.add_argument(
        "--quiz", action="store_true", help="ask for each value and gradient in turn"
    )
    trace.add_argument(
        "--tolerance",
        type=_positive_float,
        default=None,
        help="quiz: how far off an answer may be and still count (default: 0.005 relative)",
    )
    trace.add_argument(
        "--graph",
        metavar="FILE",
        default=None,
        help="also draw the graph (.svg, .png, .pdf, .dot, or .html for the step-by-step page)",
    )
    trace.add_argument(
        "--collapse", action="store_true", help="--graph: draw each neuron as one box"
    )

    graph = commands.add_parser(
        "graph",
        help="draw a worked example: its computation graph, its network, or its backward pass "
        "step by step",
        description="Draw a worked example with Graphviz: the annotated computation graph, or "
        "(--view network) the network as textbooks draw it, with every gradient.",
    )
    graph.add_argument(
        "--example", default="2-2-1", choices=EXAMPLES, help="which worked example (default: 2-2-1)"
    )
    graph.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="output file: .svg, .png, .pdf or .dot; with --steps, .html (or a folder name "
        "for one SVG per step); - for standard output (SVG, or DOT with --format dot)",
    )
    graph.add_argument(
        "--view",
        default="graph",
        choices=("graph", "network"),
        help="graph: the computation graph, one box per value (default); network: units as "
        "circles in layers, weights on the edges",
    )
    graph.add_argument(
        "--format",
        default=None,
        choices=("svg", "png", "pdf", "dot"),
        help="output format (default: from the extension of -o; svg for -o -)",
    )
    graph.add_argument(
        "--steps",
        action="store_true",
        help="one frame per chain-rule step, as a self-contained HTML page",
    )
    graph.add_argument(
        "--rankdir",
        default="LR",
        choices=("LR", "TB", "RL", "BT"),
        help="layout direction (default: LR, left to right)",
    )
    graph.add_argument(
        "--collapse",
        action="store_true",
        help="computation graph: draw each neuron as one box",
    )
    lab = commands.add_parser(
        "lab",
        help="open the lab: step through a lesson in the browser, change any number, quiz yourself",
        description="Serve the lab page on 127.0.0.1 for a built-in lesson, a lesson file or a "
        "formula, and recompute with the installed engine when you change a number.",
    )
    lab.add_argument(
        "lesson",
        nargs="*",
        metavar="LESSON",
        help=f"a built-in lesson ({', '.join(EXAMPLES)}; default: 2-2-1) or a .toml/.json lesson "
        "file; with --expr: the formula's values as NAME=VALUE",
    )
    lab.add_argument("--expr", default=None, metavar="FORMULA",
                     help='a formula instead of a lesson, e.g. "tanh(x1*w1 + b)" x1=2 w1=-3 b=1')
    lab.add_argument("--port", type=_non_negative_int, default=0,
                     help="the port on 127.0.0.1 (default: a free one)")
    lab.add_argument("--no-open", action="store_true", help="do not open the browser")
    lab.add_argument("--site", default=None, metavar="DIR",
                     help="instead of serving, write the lab as a static site into DIR: it runs "
                     "stepgrad in the browser (Pyodide), for any static host (see docs/site.md)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `stepgrad` console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "example":
            from viz.example_command import run_example_command

            return run_example_command(args)
        if args.command == "trace":
            from viz.trace_command import run_trace_command

            return run_trace_command(args)
        if args.command == "lab" and args.site is not None:
            from viz.site import run_site_command

            return run_site_command(args)
        if args.command == "lab":
            from viz.lab_server import run_lab_command

            return run_lab_command(args)
        from viz.graph_command import run_graph_command

        return run_graph_command(args)
    except KeyboardInterrupt:  # Ctrl-C outside the quiz (which handles its own): no traceback
        print("stepgrad: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as error:
        # Expected failures (bad values, unwritable files, missing Graphviz) become one clear
        # line and exit code 2, not a traceback.
        print(f"stepgrad: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
