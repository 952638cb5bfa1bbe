"""`stepgrad trace`: your own expression, every node and every chain-rule step with its numbers.

``stepgrad trace "tanh(x1*w1 + x2*w2 + b)" x1=2 w1=-3 x2=0 w2=1 b=6.8814`` parses the formula
with ``nn.expression`` (a whitelist over Python's ``ast``, never ``eval``), builds its labelled
graph and lists every node's value with its formula, every chain-rule step with its local rule
in words and numbers (``autograd.trace_backward``), and the gradient of every named input.
:func:`explain_value` does the same for any output ``Value`` whose nodes you labelled.
"""

from __future__ import annotations

import json
import sys

from autograd import Value
from viz.numbers import format_number
from viz.report import write_text
from viz.sheet import Explanation, Quantity
from viz.value_sheet import (  # noqa: F401 - explain_value and its sections are used from here
    SECTION_BACKWARD,
    SECTION_INPUTS,
    SECTION_NODES,
    Subject,
    explain_value,
)


def _rules(explanation: Explanation) -> dict[str, list[str]]:
    """For each gradient on the sheet, the local rules it used, in words."""
    out = {}
    for q in explanation.quantities:
        rules = [op.name.partition(" [")[2][:-1] for op in q.operands if " [" in op.name]
        out[q.name] = rules
    return out


def render_trace_text(explanation: Explanation) -> str:
    """The plain-text page ``stepgrad trace`` prints."""
    title = explanation.example.title
    rules = _rules(explanation)
    out = [f"Expression: {title}", "", "Given"]
    out += ["  " + ", ".join(f"{n} = {format_number(v)}" for n, v in explanation.given.items())]
    section = None
    for q in explanation.quantities:
        if q.section != section:
            section = q.section
            heading = section
            if section == SECTION_BACKWARD:
                heading += " (chain rule: each gradient is the sum over the nodes it feeds of " \
                           "local derivative × their gradient)"
            out += ["", heading]
        out.append(f"  {q.line()}")
        for rule in dict.fromkeys(rules[q.name]):
            out.append(f"      local rule: {rule}")
    return "\n".join(out) + "\n"


def render_trace_markdown(explanation: Explanation) -> str:
    """The same page as Markdown: a table per section."""
    out = [f"# Expression: `{explanation.example.title}`", "", "## Given", ""]
    out += [f"- {n} = {format_number(v)}" for n, v in explanation.given.items()]
    sections: list[tuple[str, list[Quantity]]] = []
    for q in explanation.quantities:
        if not sections or sections[-1][0] != q.section:
            sections.append((q.section, []))
        sections[-1][1].append(q)
    for section, quantities in sections:
        out += ["", f"## {section}", "", "| Quantity | Formula | With the numbers | Value |",
                "|---|---|---|---:|"]  # fmt: skip
        for q in quantities:
            cells = (q.symbol, q.formula, q.filled, format_number(q.value))
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out) + "\n"


def render_trace_json(explanation: Explanation) -> str:
    """Every node and gradient as JSON: value, formula, operands (with the local rules)."""
    data = {
        "expression": explanation.example.title,
        "given": explanation.given,
        "quantities": [q.to_dict() for q in explanation.quantities],
        "gradients": {
            q.symbol: q.value for q in explanation.quantities if q.section == SECTION_INPUTS
        },
    }
    for q in data["quantities"]:  # no printed numbers for an expression
        for key in ("seed", "seed_printed", "seed_given_own_numbers", "mismatch", "kind",
                    "inherited_from"):  # fmt: skip
            q.pop(key, None)
    return json.dumps(data, indent=2) + "\n"


TRACE_RENDERERS = {
    "text": render_trace_text,
    "markdown": render_trace_markdown,
    "json": render_trace_json,
}


def build_expression(text: str, bindings: list[str]) -> Value:
    """Parse the formula and the ``name=value`` arguments and build the labelled graph."""
    from nn.expression import parse_bindings, parse_expression

    expression = parse_expression(text)
    values = parse_bindings(bindings)
    return expression.build(values)


def run_trace_command(args: object) -> int:
    """Run ``stepgrad trace`` with parsed arguments; bad input raises ValueError (exit 2)."""
    from viz.example_command import check_quiz_and_graph_options

    output_format = getattr(args, "format", "text")
    quiz = getattr(args, "quiz", False)
    tolerance = getattr(args, "tolerance", None)
    graph = getattr(args, "graph", None)
    check_quiz_and_graph_options(output_format, quiz, tolerance, graph)
    text = args.expression  # type: ignore[attr-defined]
    output = build_expression(text, list(args.values))  # type: ignore[attr-defined]
    explanation = explain_value(output, title=str(output.label or text))
    if quiz:
        from viz.quiz import run_quiz

        result = run_quiz(explanation, tolerance=tolerance)
        if result.interrupted:
            return 130
    else:
        write_text(sys.stdout, TRACE_RENDERERS[output_format](explanation))
    if graph is not None:
        from viz.graph_command import written_line

        what = _write_expression_graph(text, list(args.values), graph,  # type: ignore[attr-defined]
                                       collapse=bool(getattr(args, "collapse", False)))  # fmt: skip
        stream = sys.stderr if output_format == "json" else sys.stdout
        write_text(stream, written_line(graph, what) + "\n")
    return 0


def _write_expression_graph(text: str, bindings: list[str], path: str, collapse: bool) -> str:
    """A fresh graph of the expression, drawn after one backward pass (or as a step page).

    Returns what was written, in the words ``viz.graph_command.written_line`` puts in its line.
    """
    from pathlib import Path

    output = build_expression(text, bindings)
    suffix = Path(path).suffix.lower()
    if suffix in (".html", ".htm"):
        from viz.lab import lab_page

        pairs = (item.split("=", 1) for item in bindings)
        lesson = {"expr": text, "bindings": {k.strip(): v.strip() for k, v in pairs}}
        lab_page({"lesson": lesson}).write(path)
        return "step-by-step page, html"
    from viz.render import render

    output.backward()
    render(output, path, collapse=collapse) if collapse else render(output, path)
    return f"computation graph, {suffix.lstrip('.')}"
