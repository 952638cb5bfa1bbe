"""The sheet of any output Value: every node with its formula, every gradient by the chain rule.

:func:`explain_value` is what ``stepgrad trace`` prints and the lab page steps through for a
formula; it lives apart from the command (``viz.trace_command``) so that the lab (``viz.lab``)
can use it without importing the command line's modules.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograd import Value, topological_order, trace_backward
from viz.numbers import format_number
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
