"""`stepgrad trace`: your own expression, every node and every chain-rule step with its numbers.

``stepgrad trace "tanh(x1*w1 + x2*w2 + b)" x1=2 w1=-3 x2=0 w2=1 b=6.8814`` parses the formula
with ``nn.expression`` (a whitelist over Python's ``ast``, never ``eval``), builds its labelled
graph and lists every node's value with its formula, every chain-rule step with its local rule
in words and numbers (``autograd.trace_backward``), and the gradient of every named input.
:func:`explain_value` does the same for any output ``Value`` whose nodes you labelled.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from autograd import Value, topological_order, trace_backward
from nn.program import ProgramRun, parse_program
from viz.numbers import format_number
from viz.report import dumps_json, write_text
from viz.sheet import Explanation, Operand, Quantity, program_quantities

SECTION_NODES = "Forward pass"
SECTION_BACKWARD = "Backward pass"
SECTION_INPUTS = "Gradients of the inputs"
SECTION_CONSTANTS = "Gradients of the constants"

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


def _template(node: Value, names: dict[int, str]) -> tuple[str, list[str]]:
    """The node's formula as a template over its parents' names."""
    op = node.op
    parents = [names[id(p)] for p in node.parents]
    if op in _BINARY and len(parents) == 2:
        return _BINARY[op], [_wrap(p, op, k) for k, p in enumerate(parents)]
    if op == "neg":
        # -(w0*x0 + w2) = -(1) = −1: the negation of the number, not the number "-1"
        compound = _wrap(parents[0], "neg", 0) != parents[0]
        return ("-({0})", parents) if compound else ("-{0}", parents)
    if op.startswith("**"):
        return "{0}**" + op[2:], [_wrap(parents[0], "**", 0)]
    if len(parents) == 1:
        return f"{op}({{0}})", parents
    return f"{op}(" + ", ".join(f"{{{k}}}" for k in range(len(parents))) + ")", parents


def _unique_names(order: list[Value], constants: set[int]) -> dict[int, str]:
    """A name per node, distinct for distinct nodes (``exp(x)`` and ``exp(x)#2``).

    Constants keep their number as their name in formulas (``1 + exp(x)``); without a gradient
    line they are never a key. When their gradients are asked for, each gets its own name too.
    """
    names: dict[int, str] = {}
    taken: dict[str, int] = {}
    for node in order:
        base = _name(node)
        if id(node) in constants:
            names[id(node)] = base
            continue
        count = taken.get(base, 0) + 1
        taken[base] = count
        names[id(node)] = base if count == 1 else f"{base}#{count}"
    return names


def explain_value(
    output: Value,
    title: str = "",
    *,
    inputs: Sequence[Value] | None = None,
    constant_gradients: bool = False,
) -> Explanation:
    """The sheet of any output Value: every node with its formula, every gradient by the chain rule.

    Runs ``output.backward()`` (through ``autograd.trace_backward``): leaves accumulate their
    gradients as with any backward pass. Nodes are named by their labels (unlabelled ones by
    their op and value; two distinct nodes never share a name). ``inputs`` are the leaves to
    list as given and to give a gradient line; every other leaf is a constant (default: the
    labelled leaves are the inputs, unlabelled ones such as the 2 in ``x*2`` are constants).
    Constants get no gradient line unless ``constant_gradients`` asks for them (then each has
    its own line and name, ``1`` and ``1#2``, in a section of their own).
    The result renders with :func:`render_trace_text` and friends, and ``viz.quiz.run_quiz``
    quizzes it.
    """
    if not isinstance(output, Value):
        raise TypeError(f"explain_value needs a Value, got {type(output).__name__}")
    order = topological_order(output)
    trace = trace_backward(output)
    leaves = [n for n in order if n.is_leaf]
    if inputs is None:
        inputs = [n for n in leaves if n.label]
    input_ids = {id(n) for n in inputs}
    constants = {id(n) for n in leaves if id(n) not in input_ids}
    names = _unique_names(order, constants)  # in formulas a constant is its number: 1 + exp(x)
    # ... and where its gradient is asked for, each constant has a name of its own: 1, 1#2.
    constant_names = _unique_names([n for n in order if id(n) in constants], set())
    full = names[id(output)]
    # The output gets a short name when its label is a whole formula: f = tanh(...).
    out_name = full if full.replace("_", "").isalnum() else "f"

    def short(node: Value) -> str:
        return out_name if node is output else names[id(node)]

    quantities: list[Quantity] = []
    for node in order:
        if node.is_leaf:
            continue
        template, operand_names = _template(node, names)
        operands = tuple(Operand(n, n, p.data) for n, p in zip(operand_names, node.parents))
        shown = out_name if node is output and out_name != full else None
        quantities.append(Quantity(full if node is output else names[id(node)],
                                   shown or names[id(node)], SECTION_NODES, node.data,
                                   template, operands, meaning=full if shown else ""))  # fmt: skip
    # grad(node) = sum over the nodes it feeds of (local derivative) * grad(that node)
    incoming: dict[int, list[tuple[str, float, str, float, str]]] = {}
    for step in trace:
        for p in step.parents:
            incoming.setdefault(id(p.node), []).append(
                (short(step.node), p.local_grad, p.rule, step.grad, names[id(step.node)])
            )
    d_out = f"∂{out_name}/∂"
    visited = [step.node for step in trace]
    seen = {id(n) for n in visited}
    visited += [n for n in leaves if id(n) not in seen]  # leaves, once each, after the rest
    for node in visited:
        if id(node) in constants and not constant_gradients:
            continue  # a number in the formula: nothing to learn from its gradient
        name = constant_names[id(node)] if id(node) in constants else short(node)
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
        section = SECTION_CONSTANTS if id(node) in constants else section
        quantities.append(Quantity(f"d/d {name}", symbol, section, node.grad,
                                   " + ".join(terms), tuple(operands)))  # fmt: skip
    # The constants' lines (when asked for) last, under their own heading.
    quantities.sort(key=lambda q: q.section == SECTION_CONSTANTS)
    given = {names[id(n)]: n.data for n in leaves if id(n) in input_ids}
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


def _rules(explanation: Explanation) -> list[list[str]]:
    """For each quantity on the sheet (in order), the local rules it used, in words."""
    return [
        [op.name.partition(" [")[2][:-1] for op in q.operands if " [" in op.name]
        for q in explanation.quantities
    ]


def render_trace_text(explanation: Explanation) -> str:
    """The plain-text page ``stepgrad trace`` prints."""
    title = explanation.example.title
    rules = _rules(explanation)
    kind = "Program" if explanation.example.name == "program" else "Expression"
    out = [f"{kind}: {title}", "", "Given"]
    out += ["  " + ", ".join(f"{n} = {format_number(v)}" for n, v in explanation.given.items())]
    section = None
    for q, rules_used in zip(explanation.quantities, rules):
        if q.section != section:
            section = q.section
            heading = section
            if section == SECTION_BACKWARD:
                heading += " (chain rule: each gradient is the sum over the nodes it feeds of " \
                           "local derivative × their gradient)"
            out += ["", heading]
        out.append(f"  {q.line()}")
        for rule in dict.fromkeys(rules_used):
            out.append(f"      local rule: {rule}")
    return "\n".join(out) + "\n"


def render_trace_markdown(explanation: Explanation) -> str:
    """The same page as Markdown: a table per section."""
    kind = "Program" if explanation.example.name == "program" else "Expression"
    out = [f"# {kind}: `{explanation.example.title}`", "", "## Given", ""]
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
        for key in ("printed_value", "printed", "printed_given_own_numbers", "mismatch", "kind",
                    "inherited_from"):  # fmt: skip
            q.pop(key, None)
    return dumps_json(data)  # strict JSON: an overflow is "inf", not Infinity


TRACE_RENDERERS = {
    "text": render_trace_text,
    "markdown": render_trace_markdown,
    "json": render_trace_json,
}


_ASSIGNMENT = re.compile(r"(?<![=<>!])=(?!=)|;|\n")


def is_program(text: str) -> bool:
    """A program has steps (``q = x + y; f = q * z``): an assignment ``=`` (not ``==``, ``<=``),
    a ``;`` or a line break, none of which a formula holds."""
    return _ASSIGNMENT.search(text) is not None


def build_expression(text: str, bindings: list[str]) -> tuple[Value, list[Value]]:
    """Parse the formula (or program) and the ``name=value`` arguments: the labelled graph and
    its inputs.

    The numbers in the formula are constants, not inputs (see ``explain_value``).
    """
    from nn.expression import parse_bindings, parse_expression

    values = parse_bindings(bindings)
    if is_program(text):
        run = parse_program(text).build(values)
        return run.output, list(run.inputs.values())
    expression = parse_expression(text)
    output, inputs = expression.build_with_inputs(values)
    return output, list(inputs.values())


def explain_program(run: ProgramRun, title: str = "") -> Explanation:
    """The sheet of a program (``q = x + y; f = q * z``), as the lecture notes write it:
    each step with its numbers, each local derivative, each gradient by the chain rule over
    the named steps. Runs ``run.output.backward()``.
    """
    run.output.backward()
    quantities = program_quantities(
        run, forward_section=SECTION_NODES, backward_section=SECTION_BACKWARD,
        inputs_section=SECTION_INPUTS,
    )  # fmt: skip
    given = {name: leaf.data for name, leaf in run.inputs.items()}
    program = run.program
    return Explanation(
        example=Subject(name="program", title=title or str(program)),  # type: ignore[arg-type]
        quantities=quantities,
        training=[],
        notes=[],
        loss_symbol=program.output,
        compare_seed=False,
        seed_comparisons=None,
        given=given,
        given_groups=[list(given)],
    )


MAX_FILE_BYTES = 64 * 1024  # a program of named steps is far shorter


def read_program_file(path: str) -> str:
    """The text of a ``--file``: a regular UTF-8 file, bounded in size before it is read."""
    import os
    import stat

    try:
        info = os.stat(path)
    except OSError as error:
        raise ValueError(f"{path}: cannot read: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path}: not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise ValueError(f"{path}: {info.st_size} bytes; at most {MAX_FILE_BYTES} are allowed")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text (byte {error.start + 1})") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot read: {error.strerror}") from None


def _source(args: object) -> tuple[str, list[str]]:
    """The formula or program and the bindings, from the arguments or from ``--file``."""
    text = getattr(args, "expression", None)
    bindings = list(getattr(args, "values", []) or [])
    path = getattr(args, "file", None)
    if path is None:
        if text is None:
            raise ValueError("give a formula or a program, e.g. \"q = x + y; f = q * z\", "
                             "or --file PATH")  # fmt: skip
        return text, bindings
    if text is not None:  # with --file, every positional argument is a name=value
        bindings.insert(0, text)
    program = read_program_file(path)
    try:
        if is_program(program.strip()):
            parse_program(program)
        else:
            from nn.expression import parse_expression

            parse_expression(program.strip())
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    return (program if is_program(program.strip()) else program.strip()), bindings


def run_trace_command(args: object) -> int:
    """Run ``stepgrad trace`` with parsed arguments; bad input raises ValueError (exit 2)."""
    from viz.example_command import check_quiz_and_graph_options

    output_format = getattr(args, "format", "text")
    quiz = getattr(args, "quiz", False)
    tolerance = getattr(args, "tolerance", None)
    graph = getattr(args, "graph", None)
    check_quiz_and_graph_options(output_format, quiz, tolerance, graph)
    text, bindings = _source(args)
    constants = bool(getattr(args, "constants", False))
    if constants and is_program(text):
        raise ValueError("--constants applies to a single formula; in a program, name the "
                         "number in a step of its own if you want its gradient")  # fmt: skip
    if is_program(text):
        from nn.expression import parse_bindings

        run = parse_program(text).build(parse_bindings(bindings))
        explanation = explain_program(run)
        output = run.output
    else:
        output, inputs = build_expression(text, bindings)
        explanation = explain_value(output, title=str(output.label or text), inputs=inputs,
                                    constant_gradients=constants)  # fmt: skip
    if getattr(args, "code", False):  # the trace as a script (viz/code.py)
        from viz.code import code_command, trace_script

        if quiz or graph is not None or output_format != "text":
            raise ValueError("--code prints a script: leave out --quiz, --graph and --format")
        write_text(sys.stdout, trace_script(explanation, output, code_command("trace", args)))
        return 0
    if quiz:
        from viz.quiz import run_quiz

        result = run_quiz(explanation, tolerance=tolerance)
        if result.interrupted:
            return 130
    else:
        write_text(sys.stdout, TRACE_RENDERERS[output_format](explanation))
    if graph is not None:
        from viz.graph_command import written_line

        what = _write_expression_graph(text, bindings, graph,
                                       collapse=bool(getattr(args, "collapse", False)))  # fmt: skip
        stream = sys.stderr if output_format == "json" else sys.stdout
        write_text(stream, written_line(graph, what) + "\n")
    return 0


def _write_expression_graph(text: str, bindings: list[str], path: str, collapse: bool) -> str:
    """A fresh graph of the expression, drawn after one backward pass (or as a step page).

    Returns what was written, in the words ``viz.graph_command.written_line`` puts in its line.
    """
    from pathlib import Path

    output, _ = build_expression(text, bindings)
    suffix = Path(path).suffix.lower()
    if suffix in (".html", ".htm"):
        from viz.steps import write_steps_html

        write_steps_html(output, path)
        return "step-by-step page, html"
    from viz.render import render

    output.backward()
    render(output, path, collapse=collapse) if collapse else render(output, path)
    return f"computation graph, {suffix.lstrip('.')}"
