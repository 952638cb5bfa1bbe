"""`stepgrad trace`: your own expression, every node and every chain-rule step with its numbers.

``stepgrad trace "tanh(x1*w1 + x2*w2 + b)" x1=2 w1=-3 x2=0 w2=1 b=6.8814`` parses the formula
with ``nn.expression`` (a whitelist over Python's ``ast``, never ``eval``), builds its labelled
graph and lists every node's value with its formula, every chain-rule step with its local rule
in words and numbers (``autograd.trace_backward``), and the gradient of every named input.
:func:`explain_value` does the same for any output ``Value`` whose nodes you labelled.
"""

from __future__ import annotations

import sys

from autograd import Value
from nn.program import looks_like_program, parse_program
from viz.numbers import format_number
from viz.report import dumps_json, write_text
from viz.sheet import Explanation, Quantity
from viz.value_sheet import (  # noqa: F401 - explain_value and its sections are used from here
    SECTION_BACKWARD,
    SECTION_CONSTANTS,
    SECTION_INPUTS,
    SECTION_NODES,
    Subject,
    explain_program,
    explain_value,
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


def is_program(text: str) -> bool:
    """A program has steps (``q = x + y; f = q * z``); see :func:`nn.program.looks_like_program`."""
    return looks_like_program(text)


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
    run, inputs = None, None  # for --code: the program's run, or the formula's inputs
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
        script = trace_script(explanation, output, code_command("trace", args),
                              inputs=inputs, run=run)  # fmt: skip
        write_text(sys.stdout, script)
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
        from viz.lab import lab_page

        pairs = (item.split("=", 1) for item in bindings)
        lesson = {"expr": text, "bindings": {k.strip(): v.strip() for k, v in pairs}}
        lab_page({"lesson": lesson}).write(path)
        return "step-by-step page, html"
    from viz.render import render

    output.backward()
    render(output, path, collapse=collapse) if collapse else render(output, path)
    return f"computation graph, {suffix.lstrip('.')}"
