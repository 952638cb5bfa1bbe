"""`stepgrad example`: a built-in lesson or your own network file, as a sheet, a quiz or a graph."""

from __future__ import annotations

import os
import sys

from nn.lesson import Lesson, build_lesson
from viz.report import PARTS, RENDERERS, render_text, wants_colour, write_text
from viz.sheet import as_lesson, explain_lesson

GRAPH_SUFFIXES = (".svg", ".png", ".pdf", ".dot", ".html", ".htm")

TEMPLATE = """\
# A lesson for `stepgrad example FILE`: your own small network, one training example.
# Every number below is yours to change; run `stepgrad example FILE` to see every step.
name = "my-network"
title = "2-2-1 sigmoid network, half squared error"
source = "my own notes"
learning_rate = 0.5

# The inputs and the targets (one per output unit). Symbols are optional: without them the
# inputs are x[0], x[1], ... and the targets t (or t[0], t[1], ...).
inputs = { values = [0.05, 0.10], symbols = ["i1", "i2"] }
targets = { values = [0.01], symbols = ["t1"] }

# One [[layers]] table per layer, from the inputs to the output.
[[layers]]
activation = "sigmoid"            # sigmoid, tanh, relu, leaky_relu, linear, softmax (output only)
# orientation is required: "[unit][input]" means weights[j][i] connects input i to unit j
# (one row per unit, as PyTorch writes it); "[input][unit]" means one row per input.
orientation = "[unit][input]"
weights = [[0.15, 0.20], [0.25, 0.30]]
biases = 0.35                     # one number: a bias shared by the layer; or a list, one per unit
train_biases = true               # false: the bias is given, not trained
# Optional symbols for every quantity of the layer (stems like "W1" or one symbol per entry).
[layers.symbols]
weights = [["w1", "w2"], ["w3", "w4"]]
biases = "b1"
z = ["net_h1", "net_h2"]
a = ["out_h1", "out_h2"]

[[layers]]
activation = "sigmoid"
orientation = "[unit][input]"
weights = [[0.40, 0.45]]
biases = [0.60]
symbols = { weights = [["w5", "w6"]], biases = ["b2"], z = ["net_o1"], a = ["out_o1"] }

[loss]
kind = "half_squared_error"       # squared_error, half_squared_error, binary_cross_entropy,
                                  # cross_entropy (with a softmax output)
reduction = "sum"                 # or "mean": averaged over the outputs
difference = "t - y"              # how the difference is written: "t - y" or "y - t"
symbol = "E"

# error_term = "-dL/dz"           # for books whose error term is Err = o(1 - o)(t - o)

# Numbers a book printed, to check (value as text keeps its precision):
# [[printed]]
# name = "net_h1"
# value = "0.3775"
"""


def check_quiz_and_graph_options(
    output_format: str, quiz: bool, tolerance: float | None, graph: str | None
) -> None:
    """The checks `stepgrad example` and `stepgrad trace` share, made before any output."""
    if quiz and output_format != "text":
        raise ValueError("--quiz asks its questions as plain text: leave out --format")
    if tolerance is not None and not quiz:
        raise ValueError("--tolerance only applies to --quiz")
    if graph is not None:
        _check_graph_path(graph)


def _check_graph_path(path: str) -> None:
    """Fail before any work (and before printing anything) if the graph cannot be written."""
    if not path or path.endswith(("/", os.sep)):
        raise ValueError(f"--graph needs a file name, got {path!r}")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in GRAPH_SUFFIXES:
        raise ValueError(
            f"--graph {path}: unsupported file type {suffix or '(none)'!r}; use one of: "
            + ", ".join(GRAPH_SUFFIXES[:-1])
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"--graph {path}: the folder {folder} does not exist")


def write_graph(lesson: Lesson, path: str, **draw_options: object) -> str:
    """Write a lesson's annotated computation graph to ``path`` (fresh graph, lesson unchanged).

    ``.html``: the step-by-step page; anything else: one drawing with every gradient.
    """
    from viz.graph_command import write_example_graph  # needs Graphviz: only when asked for

    _check_graph_path(path)
    fresh = build_lesson(lesson.spec, lr=lesson.lr, parameters=lesson.parameter_values())
    if fresh.program is not None and path.lower().endswith((".html", ".htm")):
        # A lesson written as named steps has no layers to lay out as a network: the lab page
        # draws the graph of its named steps instead.
        from viz.lab import lesson_page

        lesson_page(fresh).write(path)
        return "step-by-step page, html"
    return write_example_graph(fresh, path, **draw_options)


def run_example_command(args: object) -> int:
    """Run ``stepgrad example`` with parsed arguments (see ``viz.cli``); returns the exit code.

    Bad values raise ValueError with a message naming the option or the file and field; the
    command line turns that into one error line and exit code 2.
    """
    if getattr(args, "template", False):
        write_text(sys.stdout, TEMPLATE)
        return 0
    name = getattr(args, "name", "2-2-1")
    output_format = getattr(args, "format", "text")
    steps = getattr(args, "steps", 5)
    lr = getattr(args, "lr", None)
    compare_printed = getattr(args, "compare_printed", None)
    quiz = getattr(args, "quiz", False)
    tolerance = getattr(args, "tolerance", None)
    graph = getattr(args, "graph", None)
    draw_options = {}
    if getattr(args, "collapse", False):
        draw_options["collapse"] = True
    view = getattr(args, "view", None)
    if view not in (None, "graph"):
        draw_options["view"] = view

    if output_format not in RENDERERS:
        raise ValueError(
            f"unknown --format {output_format!r}; choose one of: {', '.join(RENDERERS)}"
        )
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"--steps must be a whole number of 0 or more, got {steps!r}")
    # The bound is the work (steps x parameters): explain_lesson names it for this network.
    check_quiz_and_graph_options(output_format, quiz, tolerance, graph)
    part = getattr(args, "part", None)
    if part is not None:
        if part not in PARTS:
            raise ValueError(f"--part must be one of {', '.join(PARTS)}; got {part!r}")
        if output_format != "text" or quiz:
            raise ValueError(
                "--part prints one part of the text sheet: leave out --format and --quiz"
            )
    if graph is not None:
        if view == "network" and draw_options.get("collapse"):
            raise ValueError(
                "--collapse folds the computation graph's neurons into boxes; the network view "
                "already draws one circle per unit: leave out --collapse or --view network"
            )
    elif draw_options:
        raise ValueError("--collapse and --view apply to --graph: add --graph FILE")

    lesson = as_lesson(name, lr=lr)
    if graph is not None and lesson.program is not None and draw_options:
        raise ValueError(
            f"{lesson.name} is written as named steps, not layers of units: --view network and "
            "--collapse need layers; draw its computation graph (leave them out)"
        )
    explanation = explain_lesson(lesson, steps=steps, compare_printed=compare_printed)
    if getattr(args, "code", False):  # the sheet as a script (viz/code.py)
        from viz.code import code_command, lesson_script

        if quiz or graph is not None or output_format != "text":
            raise ValueError("--code prints a script: leave out --quiz, --graph and --format")
        write_text(sys.stdout, lesson_script(explanation, code_command("example", args)))
        return 0
    if quiz:
        from viz.quiz import run_quiz

        if run_quiz(explanation, tolerance=tolerance).interrupted:
            return 130  # Ctrl-C, as shells report it; the score was printed
    elif output_format == "text":
        colour = wants_colour(sys.stdout)
        write_text(sys.stdout, render_text(explanation, part=part, colour=colour))
    else:
        write_text(sys.stdout, RENDERERS[output_format](explanation))
    if graph is not None:
        from viz.graph_command import written_line

        what = write_graph(explanation.example, graph, **draw_options)
        # Keep stdout pure JSON when JSON was asked for.
        stream = sys.stderr if output_format == "json" else sys.stdout
        write_text(stream, written_line(graph, what, explanation.example) + "\n")
    return 0
