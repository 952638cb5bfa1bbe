"""`--code`: a worked example as a Python script a learner reads and runs with plain `python`.

The script is the straight-line program ``autograd.compile`` writes for the example's graph (one
line per step, each op's code from its own rule in autograd/ops.py), in the lesson's symbols
(``W1[0][1]`` is ``W1_0_1``, ``ŷ`` is ``y_hat``): the given numbers at the top, the forward
pass, the loss, the backward pass with each local rule as a comment, the update, and a last
block printing every number the sheet prints, formatted by the sheet's own ``format_number``
(its source is copied in), so the two print the same digits. Only the standard library.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence

from autograd import Value, ops, topological_order
from autograd.compile import Program, build_program, identifier
from viz import numbers
from viz.sheet import Explanation, Quantity

# The ops' helpers a script may call: copied from autograd/ops.py, or imported from math.
_COPIED = {"power": ops.power, "exp": ops.exp, "sigmoid": ops.sigmoid, "softplus": ops.softplus}
_FROM_MATH = ("tanh", "log", "sqrt", "inf", "nan")


def _helpers(code: str) -> list[str]:
    """The import line and helper functions the lines in ``code`` use, in order."""
    used = [name for name in _FROM_MATH if re.search(rf"\b{name}\b", code)]
    copied = [name for name in _COPIED if re.search(rf"\b{name}\(", code)]
    if "softplus" in copied and "sigmoid" not in copied and re.search(r"\bsigmoid\(", code):
        copied.append("sigmoid")
    parts = ["import math"]
    if used:
        parts.append(f"from math import {', '.join(used)}")
    for name in copied:
        parts += ["", "", inspect.getsource(_COPIED[name]).rstrip()]
    parts += ["", "", f"DIGITS = {numbers.DIGITS}", "", "",
              inspect.getsource(numbers.format_number).rstrip()]  # fmt: skip
    return parts


def _quoted(text: str) -> str:
    return repr(f"{text} =")


def _block(title: str, lines: Sequence[str]) -> list[str]:
    return ["", f"# {title}", *lines] if lines else []


def _assemble(
    header: Sequence[str],
    given: Sequence[str],
    sections: Sequence[tuple[str, Sequence[str]]],
    prints: Sequence[tuple[str, str]],
) -> str:
    body: list[str] = _block("Given", given)
    for title, lines in sections:
        body += _block(title, lines)
    body += _block("Every number the sheet prints", [
        f"print({_quoted(symbol)}, format_number({expr}))" for symbol, expr in prints
    ])  # fmt: skip
    code = "\n".join(body)
    lines = [*header, *_helpers(code), "", "", code.lstrip("\n")]
    return "\n".join(lines) + "\n"


def _forward_split(program: Program, outputs: Sequence[Value]) -> tuple[list[str], list[str]]:
    """The forward lines: those the outputs need, then the loss's."""
    needed: set[Value] = set()
    for out in outputs:
        needed.update(topological_order(out))
    node_of = {name: node for node, name in program.names.items()}
    forward, loss = [], []
    for line in program.forward:
        (forward if node_of.get(line.target) in needed else loss).append(line.text())
    return forward, loss


def code_command(command: str, args: object) -> str:
    """The command line that shows the same sheet, for the script's docstring."""
    import shlex

    parts = ["stepgrad", command]
    if command == "example":
        parts.append(str(getattr(args, "name", "2-2-1")))
        if getattr(args, "lr", None) is not None:
            parts += ["--lr", repr(args.lr)]  # type: ignore[attr-defined]
    else:
        parts += [args.expression, *args.values]  # type: ignore[attr-defined]
    return shlex.join(parts)


# ---------------------------------------------------------------------------------------------
# stepgrad example --code
# ---------------------------------------------------------------------------------------------


def lesson_script(explanation: Explanation, command: str) -> str:
    """The script of a lesson's sheet: forward, loss, backward, update and the sheet's numbers.

    ``explanation`` is what ``viz.sheet.explain_lesson`` returned (its lesson after one
    backward pass); ``command`` is the command line that shows the same sheet.
    """
    lesson = explanation.example
    leaves = [v for v in topological_order(lesson.loss) if v.is_leaf]
    given = [v for v in (*lesson.inputs, *lesson.parameters, *lesson.constants) if v in leaves]
    slopes = {}
    for layer in lesson.layers:
        for unit in layer.units:
            if unit.slope and unit.a is not unit.z:
                wanted = f"d{identifier(unit.a.label)}_d{identifier(unit.z.label)}"
                slopes[unit.a] = wanted
    program = build_program(lesson.loss, given, local_names=slopes, wrt=lesson.parameters)
    names, grads = program.names, program.grads
    lr = "lr" if "lr" not in names.values() else "learning_rate"

    given_lines = [
        f"{names[v]} = {v.data!r}" + (f"  # {v.label}" if v.label != names[v] else "")
        for v in given
    ]
    given_lines.append(f"{lr} = {lesson.lr!r}  # η, the learning rate")
    forward, loss = _forward_split(program, lesson.outputs)
    backward = [line.text() for line in program.backward]
    update = [f"{names[p]} = {names[p]} - {lr} * {grads[p]}" for p in lesson.parameters]

    sign = "-" if lesson.error_sign < 0 else ""
    exprs: dict[str, str] = {label: names[node] for label, node in lesson.nodes.items()
                             if node in names}  # fmt: skip
    for label, node in lesson.nodes.items():
        if node in grads and not node.is_leaf:
            exprs[f"dL/d{label}"] = grads[node]
    for delta, label in lesson.deltas.items():
        exprs[delta] = sign + grads[lesson.nodes[label]]
    for slope, label in lesson.slopes.items():
        node = lesson.nodes[label]
        if node in program.local_names:
            exprs[slope] = program.local_names[node]
    for p in lesson.parameters:
        exprs[f"dL/d{p.label}"] = grads[p]
        exprs[f"{p.label} (updated)"] = names[p]
    prints = _prints(explanation.quantities, exprs)

    header = [
        f'"""{lesson.title}.',
        "",
        "The forward pass, the backward pass and one update as plain Python (standard library).",
        "",
        f"Written by `{command} --code`; `python` runs it and prints the numbers",
        f"`{command}` prints. Each backward line applies one local rule, named in its comment;",
        "d_v is the derivative of the loss with respect to v.",
        '"""',
        "",
    ]
    sections = [("Forward pass", forward), ("Loss", loss), ("Backward pass", backward),
                (f"Update (η = {numbers.format_number(lesson.lr)})", update)]  # fmt: skip
    return _assemble(header, given_lines, sections, prints)


def _prints(quantities: Sequence[Quantity], exprs: dict[str, str]) -> list[tuple[str, str]]:
    """(symbol, expression) for every quantity of the sheet, in the sheet's order."""
    prints = []
    for q in quantities:
        if q.name not in exprs:  # a bug here, not the user's: every sheet number has a line
            raise AssertionError(f"--code has no line for {q.name!r}")
        prints.append((q.symbol, exprs[q.name]))
    return prints


# ---------------------------------------------------------------------------------------------
# stepgrad trace --code
# ---------------------------------------------------------------------------------------------


def trace_script(explanation: Explanation, output: Value, command: str) -> str:
    """The script of a trace: every node and every gradient the trace prints, one line each.

    ``output`` is the expression's graph that ``explanation`` (``explain_value``) traced.
    """
    order = topological_order(output)
    leaves = [v for v in order if v.is_leaf]
    program = build_program(output, leaves, keep=order)
    names, grads = program.names, program.grads
    given_lines = [f"{names[v]} = {v.data!r}" + (f"  # {v.label}" if v.label and
                   v.label != names[v] else "") for v in leaves]  # fmt: skip
    labelled = {names[n]: n.label for n in order if n.label and n.label != names[n]}
    forward = [
        line.text() + (f"  # {labelled[line.target]}" if line.target in labelled else "")
        for line in program.forward
    ]
    backward = [line.text() for line in program.backward]

    nodes = [n for n in order if not n.is_leaf]
    visited = [*reversed(nodes), *leaves]  # the order the trace lists the gradients in
    forward_q = [q for q in explanation.quantities if not q.name.startswith("d/d ")]
    backward_q = [q for q in explanation.quantities if q.name.startswith("d/d ")]
    if len(forward_q) != len(nodes) or len(backward_q) != len(visited):
        raise AssertionError("--code: the trace and the graph list different nodes")
    prints = [(q.symbol, names[n]) for q, n in zip(forward_q, nodes)]
    prints += [(q.symbol, grads[n]) for q, n in zip(backward_q, visited)]

    header = [
        f'"""{explanation.example.title}.',
        "",
        "Every node and every gradient as plain Python (standard library only).",
        "",
        f"Written by `{command} --code`; `python` runs it and prints the numbers",
        f"`{command}` prints. d_v is the derivative of the output with respect to v.",
        '"""',
        "",
    ]
    return _assemble(header, given_lines, [("Forward pass", forward),
                                          ("Backward pass", backward)], prints)  # fmt: skip
