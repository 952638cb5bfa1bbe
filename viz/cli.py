"""The `stepgrad` command line: `stepgrad example`, `check`, `trace`, `graph` and `lab`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

# Nothing heavy is imported at module level (the engine, numpy and the drawing modules load in
# main()), so that a Ctrl-C during start-up reaches main()'s handler: exit 130, no traceback.

# The built-in lessons' names, written out rather than imported from nn.examples (which loads the
# engine: ~0.1 s before --help could answer); tests/test_cli_lessons.py pins them equal.
EXAMPLES = ("2-2-1", "1-1-1", "softmax", "2-2-2")
PROGRAM_EXAMPLES = ("rnn", "conv1d", "softmax-ce")
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


CODE_HELP = (
    "print it as a Python script instead (forward, backward, update; standard library only) "
    "that prints the same numbers when run with python"
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every `stepgrad` command."""
    from nn.files import MAX_BYTES, MAX_DEPTH, MAX_KEY_PARTS
    from nn.spec import MAX_LAYERS, MAX_UNITS, MAX_WORK, most_steps

    largest = MAX_LAYERS * MAX_UNITS * (MAX_UNITS + 1)  # parameters, every layer MAX_UNITS wide
    limits = (
        "limits (see docs/limits.md):\n"
        f"  lesson files: at most {MAX_BYTES >> 20} MiB, {MAX_LAYERS} layers of {MAX_UNITS} units, "
        f"nesting {MAX_DEPTH} deep, {MAX_KEY_PARTS} parts per dotted TOML key\n"
        f"  training (--steps, printed 'after'): steps x parameters <= {MAX_WORK:,}, e.g. "
        f"{most_steps(12):,} steps of a 2-2-2 network, {most_steps(largest):,} of the largest "
        "lesson"
    )
    parser = argparse.ArgumentParser(
        prog="stepgrad",
        description="See backpropagation: step through worked examples "
        "by hand, and draw computation graphs with every gradient on them.",
        epilog=limits,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from autograd import __version__

    parser.add_argument("--version", action="version", version=f"stepgrad {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    example = commands.add_parser(
        "example",
        help="step through a worked example: forward pass, loss, deltas, gradients, update",
        description="Print every number of a worked example with the formula that made it.",
        epilog=limits,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    example.add_argument(
        "name",
        nargs="?",
        default="2-2-1",
        metavar="EXAMPLE_OR_FILE",
        help=f"a built-in example ({', '.join(EXAMPLES)}; written as programs: "
        f"{', '.join(PROGRAM_EXAMPLES)}; default: 2-2-1) or your own network "
        "as a .toml or .json lesson file (see --template)",
    )
    example.add_argument(
        "--template",
        action="store_true",
        help="print a commented starter lesson file (TOML) that runs as it is",
    )
    example.add_argument("--format", default="text", choices=FORMATS, help="output format")
    example.add_argument("--code", action="store_true", help=CODE_HELP)
    example.add_argument(
        "--part",
        default=None,
        choices=("forward", "loss", "backward", "update", "check"),
        help="print only this part of the sheet (check: the printed-numbers check)",
    )
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
        help="further training iterations whose loss is shown (default: 5); bounded by work: "
        f"steps x parameters <= {MAX_WORK:,} (a 2-2-2 network: {most_steps(12):,} steps; the "
        f"largest lesson: {most_steps(largest):,})",
    )
    example.add_argument(
        "--compare-printed",
        dest="compare_printed",
        action="store_true",
        default=None,
        help="show the numbers the source printed beside the true ones (on by default when it "
        "printed some)",
    )
    example.add_argument(
        "--no-compare-printed",
        dest="compare_printed",
        action="store_false",
        help="do not show the numbers the source printed",
    )
    # the old spellings still work, unlisted: "printed" is the one word for those numbers
    example.add_argument(
        "--compare-seed", dest="compare_printed", action="store_true", help=argparse.SUPPRESS
    )
    example.add_argument(
        "--no-compare-seed", dest="compare_printed", action="store_false", help=argparse.SUPPRESS
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

    check = commands.add_parser(
        "check",
        help="check your own numbers for a lesson: the first wrong one and its likely mistake",
        description="Check a learner's numbers: ANSWERS is a lesson file (as for `stepgrad "
        "example`) whose [[printed]] entries are your numbers, named by any symbol the sheet "
        "shows (net_h1, E_total, δ_o1, ∂E_total/∂w5, w5 (new)). Each is compared with the true "
        "value at the precision you wrote it; the first wrong one is marked and, where a known "
        "mistake reproduces it, named.",
        epilog="exit status: 0 when every answer is right (a number cut off instead of rounded "
        "counts as right), 1 when some answer is wrong, 2 for bad input",
    )
    check.add_argument("answers", metavar="ANSWERS", help="a .toml or .json lesson file")
    check.add_argument("--format", default="text", choices=FORMATS, help="output format")

    trace = commands.add_parser(
        "trace",
        help="step through your own expression: every node, every chain-rule step, every gradient",
        description="Parse a formula (numbers, names, + - * / **, and the engine's functions "
        "tanh sigmoid relu leaky_relu exp log sqrt softplus abs), build its graph for the "
        "given values, and show every node's value and every chain-rule step.",
    )
    trace.add_argument(
        "expression",
        nargs="?",
        help='the formula, e.g. "tanh(x1*w1 + x2*w2 + b)", or a program of named steps, '
        'e.g. "q = x + y; f = q * z" (steps separated by ; or newlines; the last is the output)',
    )
    trace.add_argument(
        "--file", metavar="PATH", default=None, help="read the program (or formula) from a file"
    )
    trace.add_argument(
        "--constants",
        action="store_true",
        help="also give each number in the formula a gradient line (each number its own node)",
    )
    trace.add_argument(
        "values", nargs="*", metavar="NAME=VALUE", help="a value for every name, e.g. x1=2"
    )
    trace.add_argument("--format", default="text", choices=FORMATS, help="output format")
    trace.add_argument("--code", action="store_true", help=CODE_HELP)
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
        help=f"a built-in lesson ({', '.join(EXAMPLES)}; written as programs: "
        f"{', '.join(PROGRAM_EXAMPLES)}; default: 2-2-1) or a .toml/.json lesson file; with "
        "--expr: the formula's values as NAME=VALUE",
    )
    lab.add_argument("--expr", default=None, metavar="FORMULA",
                     help='a formula or a program instead of a lesson, e.g. "tanh(x1*w1 + b)" '
                     'x1=2 w1=-3 b=1 or "q = x + y; f = q * z" x=-2 y=5 z=-4')
    lab.add_argument("--port", type=_non_negative_int, default=0,
                     help="the port on 127.0.0.1 (default: a free one)")
    lab.add_argument("--no-open", action="store_true", help="do not open the browser")
    lab.add_argument("--site", default=None, metavar="DIR",
                     help="instead of serving, write the lab as a static site into DIR: it runs "
                     "stepgrad in the browser (Pyodide), for any static host (see docs/site.md)")
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:  # noqa: SLF001 - argparse offers no public way back
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return action.choices[name]
    raise LookupError(name)


def trace_argv(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``argv`` with the trace formula made safe to start with a minus: ``trace "-x*y" x=1``.

    argparse takes every argument that starts with ``-`` (and is not a plain negative number)
    for an option, so ``-x*y`` or ``-3*x`` would be refused. After ``trace``, every argument
    that is not one of its options (or an option's value) is a positional one - the formula or
    a NAME=VALUE binding: they are moved behind a ``--``, in their order, options first.
    Any other command line is returned unchanged.
    """
    command = next((k for k, a in enumerate(argv) if not a.startswith("-")), None)
    if command is None or argv[command] != "trace" or "--" in argv[command + 1 :]:
        return argv
    actions = _subparser(parser, "trace")._option_string_actions  # noqa: SLF001
    options: list[str] = []
    positionals: list[str] = []
    rest = iter(argv[command + 1 :])
    for arg in rest:
        name = arg.split("=", 1)[0]
        matches = [o for o in actions if o == name or (name.startswith("--") and
                                                       len(name) > 2 and o.startswith(name))]
        if not arg.startswith("-") or len(arg) == 1 or not matches:
            positionals.append(arg)
            continue
        options.append(arg)
        if actions[matches[0]].nargs != 0 and "=" not in arg:  # the option's value follows
            value = next(rest, None)
            if value is not None:
                options.append(value)
    return [*argv[: command + 1], *options, "--", *positionals]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `stepgrad` console script; returns the process exit code."""
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C, also while the modules load: no traceback
        print("stepgrad: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`stepgrad example | head`): stop quietly, as cat or grep do.
        # Standard output now points nowhere, so the final flush at exit cannot fail again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):  # no file descriptor behind sys.stdout (a test's capture)
            pass
        return 141  # 128 + SIGPIPE: what a shell reports for a command ended by a closed pipe


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(trace_argv(parser, list(sys.argv[1:] if argv is None else argv)))
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "example":
            from viz.example_command import run_example_command

            return run_example_command(args)
        if args.command == "check":
            from viz.check_command import run_check_command

            return run_check_command(args)
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
    except BrokenPipeError:
        raise  # not an error of the user's: main() ends quietly
    except (ValueError, OSError, RuntimeError) as error:
        # Expected failures (bad values, unwritable files, missing Graphviz) become one clear
        # line and exit code 2, not a traceback.
        print(f"stepgrad: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
