"""The sheet of any output Value: every node with its formula, every gradient by the chain rule.

:func:`explain_value` (a formula) and :func:`explain_program` (named steps) are what ``stepgrad
trace`` prints and the lab page steps through; they live apart from the command
(``viz.trace_command``) so that the lab (``viz.lab``) can use them without importing the command
line's modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from autograd import Value, topological_order, trace_backward
from nn.program import ProgramRun
from viz.numbers import format_number
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


def unique_names(order: list[Value], constants: set[int]) -> dict[int, str]:
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
    names = unique_names(order, constants)  # in formulas a constant is its number: 1 + exp(x)
    # ... and where its gradient is asked for, each constant has a name of its own: 1, 1#2.
    constant_names = unique_names([n for n in order if id(n) in constants], set())
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
        compare_printed=False,
        printed_comparisons=None,
        given=given,
        given_groups=[list(given)],
    )


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
        compare_printed=False,
        printed_comparisons=None,
        given=given,
        given_groups=[list(given)],
    )
