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
from dataclasses import dataclass

from autograd import Value, topological_order, trace_backward
from viz.numbers import format_number
from viz.report import write_text
from viz.sheet import Explanation, Operand, Quantity

SECTION_NODES = "Forward pass"
SECTION_BACKWARD = "Backward pass"
SECTION_INPUTS = "Gradients of the inputs"

_BINARY = {"+": "{0} + {1}", "-": "{0} - {1}", "*": "{0}*{1}", "/": "{0}/{1}", "**": "{0}**{1}"}


@dataclass(frozen=True)
class Subject:
    """What a trace explains, in the shape the quiz and the renderers read (name, title, ...)."""

    name: str
    title: str
    source: str = "your expression"
    lr: float | None = None
    notes: tuple[str, ...] = ()


def _name(node: Value) -> str:
    if node.label:
        return node.label
    return f"[{node.op} = {format_number(node.data, 4, '-')}]" if node.op else format_number(
        node.data, 6, "-"
    )


def _wrap(text: str, op: str, position: int) -> str:
    """Brackets an operand needs so that the formula reads as it computes."""
    compound = any(c in text for c in " +-*/") and not text.startswith("[")
    if not compound or op == "+" or (op == "-" and position == 0):
        return text
    if op in ("*", "/") and position == 0 and " " not in text:
        return text
    return f"({text})"


def _template(node: Value) -> tuple[str, list[str]]:
    """The node's formula as a template over its parents' names."""
    op = node.op
    parents = [_name(p) for p in node.parents]
    if op in _BINARY and len(parents) == 2:
        return _BINARY[op], [_wrap(p, op, k) for k, p in enumerate(parents)]
    if op == "neg":
        return "-{0}", [_wrap(parents[0], "neg", 0)]
    if op.startswith("**"):
        return "{0}**" + op[2:], [_wrap(parents[0], "**", 0)]
    if len(parents) == 1:
        return f"{op}({{0}})", parents
    return f"{op}(" + ", ".join(f"{{{k}}}" for k in range(len(parents))) + ")", parents


def explain_value(output: Value, title: str = "") -> Explanation:
    """The sheet of any output Value: every node with its formula, every gradient by the chain rule.

    Runs ``output.backward()`` (through ``autograd.trace_backward``): leaves accumulate their
    gradients as with any backward pass. Nodes are named by their labels (unlabelled ones by
    their op and value). The result renders with :func:`render_trace_text` and friends, and
    ``viz.quiz.run_quiz`` quizzes it.
    """
    if not isinstance(output, Value):
        raise TypeError(f"explain_value needs a Value, got {type(output).__name__}")
    order = topological_order(output)
    trace = trace_backward(output)
    full = _name(output)
    # The output gets a short name when its label is a whole formula: f = tanh(...).
    out_name = full if full.replace("_", "").isalnum() else "f"
    leaves = [n for n in order if n.is_leaf]

    def short(node: Value) -> str:
        return out_name if node is output else _name(node)

    quantities: list[Quantity] = []
    for node in order:
        if node.is_leaf:
            continue
        template, names = _template(node)
        operands = tuple(Operand(n, n, p.data) for n, p in zip(names, node.parents))
        shown = out_name if node is output and out_name != full else None
        quantities.append(Quantity(_name(node), shown or _name(node), SECTION_NODES, node.data,
                                   template, operands, meaning=full if shown else ""))  # fmt: skip
    # grad(node) = sum over the nodes it feeds of (local derivative) * grad(that node)
    incoming: dict[int, list[tuple[str, float, str, float]]] = {}
    for step in trace:
        for p in step.parents:
            incoming.setdefault(id(p.node), []).append(
                (short(step.node), p.local_grad, p.rule, step.grad, _name(step.node))
            )
    d_out = f"∂{out_name}/∂"
    visited = [step.node for step in trace]
    seen = {id(n) for n in visited}
    visited += [n for n in leaves if id(n) not in seen]  # leaves, once each, after the rest
    for node in visited:
        name = short(node)
        symbol = f"{d_out}{_wrap(name, '*', 1)}"
        if node is output:
            quantities.append(Quantity(f"d/d {name}", symbol, SECTION_BACKWARD, node.grad,
                                       "{0}", (Operand("1", "1", 1.0),)))  # fmt: skip
            continue
        if not incoming.get(id(node)):
            continue
        terms, operands = [], []
        for k, (child, local, rule, child_grad, child_full) in enumerate(incoming[id(node)]):
            terms.append(f"{{{2 * k}}}·{{{2 * k + 1}}}")
            local_symbol = f"∂{_wrap(child_full, '*', 1)}/∂{_wrap(name, '*', 1)}"
            operands += [Operand(f"{local_symbol} [{rule}]", local_symbol, local),
                         Operand(f"d/d {child}", f"{d_out}{_wrap(child, '*', 1)}", child_grad)]
        section = SECTION_INPUTS if node.is_leaf else SECTION_BACKWARD
        quantities.append(Quantity(f"d/d {name}", symbol, section, node.grad,
                                   " + ".join(terms), tuple(operands)))  # fmt: skip
    given = {_name(n): n.data for n in leaves}
    return Explanation(
        example=Subject(name="expression", title=title or out_name),  # type: ignore[arg-type]
        quantities=quantities,
        training=[],
        notes=[],
        loss_symbol=out_name,
        compare_seed=False,
        seed_comparisons=None,
        given=given,
        given_groups=[list(given)],
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
