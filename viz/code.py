"""`--code`: a worked example as a Python script a learner reads and runs with plain `python`.

The script is the straight-line program ``autograd.compile`` writes for the example's graph (one
line per step, each op's code from its own rule in autograd/ops.py), in the lesson's symbols
(``W1[0][1]`` is ``W1_0_1``, ``ŷ`` is ``y_hat``): the given numbers at the top, the forward
pass, the loss, the backward pass with each local rule as a comment, the update, and a last
block printing every number the sheet prints, formatted by the sheet's own ``format_number``
(its source is copied in), so the two print the same digits. Only the standard library.

A trace's script prints what the trace lists: a formula's nodes and gradients (its numbers are
constants, written as numbers unless ``--constants`` asks for their gradients), or a program's
steps, each a variable of the step's name, each step's local derivatives from a small function
that differentiates that step alone. Each printed quantity is looked up by the name the sheet
gives it, built here from the same graph, never matched by position.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from autograd import Value, ops, topological_order
from autograd.compile import Program, build_program, identifier, write_program
from nn.program import ProgramRun, Statement, parse_program
from viz import numbers
from viz.sheet import Explanation, Quantity
from viz.value_sheet import SECTION_CONSTANTS, unique_names

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


def _check_names(code: str, helpers: str) -> None:
    """Refuse, in one line, a script whose variables would hide a name its helpers use (a step
    named ``format_number`` or ``print``): it would run and print nonsense."""
    import ast

    used = {"print", "format_number"}
    for stmt in ast.parse(helpers).body:
        if isinstance(stmt, ast.FunctionDef):
            own = {a.arg for a in stmt.args.args + stmt.args.kwonlyargs}
            names = [n for n in ast.walk(stmt) if isinstance(n, ast.Name)]
            own |= {n.id for n in names if isinstance(n.ctx, ast.Store)}
            used |= {n.id for n in names if n.id not in own} | {stmt.name}
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            used |= {alias.asname or alias.name for alias in stmt.names}
        else:
            used |= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    assigned: set[str] = set()
    for stmt in ast.parse(code).body:  # the script's own names: its top-level statements
        if isinstance(stmt, ast.FunctionDef):
            assigned.add(stmt.name)
        else:
            assigned |= {n.id for n in ast.walk(stmt)
                         if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}  # fmt: skip
    clash = sorted(assigned & used)
    if clash:
        raise ValueError(f"--code: the name {clash[0]} is one the script itself uses; "
                         "give that step or input another name")  # fmt: skip


def _quoted(text: str) -> str:
    return repr(f"{text} =")


def _block(title: str, lines: Sequence[str]) -> list[str]:
    return ["", f"# {title}", *lines] if lines else []


@dataclass
class Code:
    """A script and, for each quantity of its sheet (by the sheet's name for it), the script's
    lines that compute that quantity: its own line(s) and the unprinted helpers they read (the
    local derivative ``dy_hat_dz2`` of a δ, the difference ``v1`` of a squared error)."""

    script: str
    lines: dict[str, list[str]]


_TARGETS = re.compile(r"^([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*,?\s*\+?=\s")


def _assemble(
    header: Sequence[str],
    given: Sequence[str],
    sections: Sequence[tuple[str, Sequence[str]]],
    prints: Sequence[tuple[str, str, str]],
    local: Iterable[str] = (),
    temps: Iterable[str] = (),
) -> Code:
    body: list[str] = _block("Given", given)
    for title, lines in sections:
        body += _block(title, lines)
    body += _block("Every number the sheet prints", [
        f"print({_quoted(symbol)}, format_number({expr}))" for _, symbol, expr in prints
    ])  # fmt: skip
    code = "\n".join(body)
    helpers = _helpers(code)
    _check_names(code, "\n".join(helpers))
    lines = [*header, *helpers, "", "", code.lstrip("\n")]
    printed = {expr.lstrip("-") for _, _, expr in prints}
    helper_vars = set(local) | (set(temps) - printed)
    return Code("\n".join(lines) + "\n",
                _lines_of(prints, [given, *(lines for _, lines in sections)], helper_vars))


def _lines_of(
    prints: Sequence[tuple[str, str, str]], sections: Sequence[Sequence[str]], support: set[str]
) -> dict[str, list[str]]:
    """Each printed quantity's lines: those assigning its variable in the first section that
    assigns it (the last for an updated parameter, whose variable the update reassigns), with
    the lines of the helper variables they read, from the same section."""
    assigned: list[dict[str, list[int]]] = []
    for lines in sections:
        targets: dict[str, list[int]] = {}
        for k, line in enumerate(lines):
            match = _TARGETS.match(line)
            if match:
                for name in match.group(1).split(","):
                    targets.setdefault(name.strip(), []).append(k)
        assigned.append(targets)
    out: dict[str, list[str]] = {}
    for name, _, expr in prints:
        var = expr.lstrip("-")
        where = [i for i, targets in enumerate(assigned) if var in targets]
        if not where:
            continue
        i = where[-1] if name.endswith(" (updated)") else where[0]
        chosen, todo = set(), [var]
        while todo:
            v = todo.pop()
            for k in assigned[i].get(v, []):
                if k in chosen:
                    continue
                chosen.add(k)
                code = sections[i][k].split("  #")[0].split("=", 1)[-1]
                todo += [w for w in re.findall(r"[A-Za-z_]\w*", code)
                         if w in support and w in assigned[i] and w != v]  # fmt: skip
        out[name] = [sections[i][k] for k in sorted(chosen)]
    return out


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
    """The script of a lesson's sheet (``lesson_code(...).script``)."""
    return lesson_code(explanation, command).script


def lesson_code(explanation: Explanation, command: str) -> Code:
    """The script of a lesson's sheet: forward, loss, backward, update and the sheet's numbers.

    ``explanation`` is what ``viz.sheet.explain_lesson`` returned (its lesson after one
    backward pass); ``command`` is the command line that shows the same sheet.
    """
    lesson = explanation.example
    if getattr(lesson, "program", None) is not None:
        return _program_lesson_script(explanation, command)
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
    return _assemble(header, given_lines, sections, prints, slopes.values(), _temps(names))


def _temps(names: dict[Value, str]) -> list[str]:
    """The variables compile named v1, v2, ... (inner nodes the lesson gave no name)."""
    return [name for node, name in names.items()
            if not node.is_leaf and re.fullmatch(r"v\d+", name)]  # fmt: skip


def _prints(
    quantities: Sequence[Quantity], exprs: dict[str, str]
) -> list[tuple[str, str, str]]:
    """(name, symbol, expression) for every quantity of the sheet, in the sheet's order."""
    prints = []
    for q in quantities:
        if q.name not in exprs:  # a bug here, not the user's: every sheet number has a line
            raise ValueError(f"--code cannot write a line for {q.symbol} yet")
        prints.append((q.name, q.symbol, exprs[q.name]))
    return prints


# ---------------------------------------------------------------------------------------------
# stepgrad trace --code
# ---------------------------------------------------------------------------------------------


def _put(exprs: dict[str, str], key: str, expr: str) -> None:
    """Record the variable holding a quantity; two different ones for one quantity are a bug."""
    if exprs.setdefault(key, expr) != expr:
        raise ValueError(f"--code: {key} would name two different numbers")


def trace_script(
    explanation: Explanation,
    output: Value,
    command: str,
    *,
    inputs: Sequence[Value] | None = None,
    run: ProgramRun | None = None,
) -> str:
    """The script of a trace (``trace_code(...).script``)."""
    return trace_code(explanation, output, command, inputs=inputs, run=run).script


def trace_code(
    explanation: Explanation,
    output: Value,
    command: str,
    *,
    inputs: Sequence[Value] | None = None,
    run: ProgramRun | None = None,
) -> Code:
    """The script of a trace: every node and every gradient the trace prints, one line each.

    ``output`` is the graph that ``explanation`` traced: a formula's (``explain_value``, with
    its ``inputs``; every other leaf is a constant) or a program's (``explain_program``, with
    its ``run``). Each quantity the trace lists is printed from the variable of its node or
    gradient, found from the graph itself, in the trace's order.
    """
    if run is not None:
        return _program_trace_script(explanation, run, command)
    order = topological_order(output)
    leaves = [v for v in order if v.is_leaf]
    if inputs is None:
        inputs = [v for v in leaves if v.label]
    input_ids = {id(v) for v in inputs}
    constants = [v for v in leaves if id(v) not in input_ids]
    with_constants = any(q.section == SECTION_CONSTANTS for q in explanation.quantities)
    # A constant is a number in the formula; it is a variable only when its gradient is printed.
    given = [v for v in leaves if id(v) in input_ids or with_constants]
    program = build_program(output, given, keep=order)
    names, grads = program.names, program.grads

    # The trace's own names for the nodes (value_sheet names them; the same function here).
    sheet_names = unique_names(order, {id(v) for v in constants})
    constant_names = unique_names(constants, set())
    full = sheet_names[id(output)]
    out_name = full if full.replace("_", "").isalnum() else "f"
    exprs: dict[str, str] = {}
    for node in order:
        if not node.is_leaf:
            _put(exprs, sheet_names[id(node)], names[node])
        if node in grads:
            own = out_name if node is output else sheet_names[id(node)]
            name = constant_names[id(node)] if id(node) not in input_ids and node.is_leaf else own
            _put(exprs, f"d/d {name}", grads[node])
    prints = _prints(explanation.quantities, exprs)

    def comment(v: Value) -> str:
        if id(v) not in input_ids:
            return f"  # the constant {constant_names[id(v)]} of the formula"
        return f"  # {v.label}" if v.label and v.label != names[v] else ""

    given_lines = [f"{names[v]} = {v.data!r}{comment(v)}" for v in given]
    labelled = {
        names[n]: n.label
        for n in order
        if n in names and n.label and n.label != names[n] and not n.is_leaf
    }
    forward = [
        line.text() + (f"  # {labelled[line.target]}" if line.target in labelled else "")
        for line in program.forward
    ]
    backward = [line.text() for line in program.backward]
    header = _trace_header(explanation, command, "Every node and every gradient")
    sections = [("Forward pass", forward), ("Backward pass", backward)]
    return _assemble(header, given_lines, sections, prints, (), _temps(names))


def _trace_header(explanation: Explanation, command: str, what: str) -> list[str]:
    return [
        f'"""{explanation.example.title}.',
        "",
        f"{what} as plain Python (standard library only).",
        "",
        f"Written by `{command} --code`; `python` runs it and prints the numbers",
        f"`{command}` prints. d_v is the derivative of the output with respect to v.",
        '"""',
        "",
    ]


# ---------------------------------------------------------------------------------------------
# Programs of named steps (trace "q = x + y; f = q * z", the program lessons)
# ---------------------------------------------------------------------------------------------


class _ProgramCode:
    """A program's script in parts: each step a variable named as the step, the backward pass,
    and each step's local derivatives from a small function of its own; ``exprs`` maps the
    names of the sheet's quantities (``q``, ``dq/dx``, ``df/dx``) to the variables holding them.
    """

    def __init__(self, run: ProgramRun, wanted: set[str], order: Sequence[str] = ()) -> None:
        program = run.program
        out = program.output
        first = [name for name in order if name in run.nodes]  # the given numbers' order
        by_name = {**{name: run.nodes[name] for name in first}, **run.nodes}
        leaves = [node for node in by_name.values() if node.is_leaf]
        steps = [run.nodes[s.name] for s in program.statements]
        compiled = build_program(run.output, leaves, keep=steps)
        self.compiled = compiled
        names, grads = compiled.names, compiled.grads
        self.given = [f"{names[v]} = {v.data!r}" + (f"  # {v.label}" if v.label != names[v]
                      else "") for v in leaves]  # fmt: skip
        self.exprs: dict[str, str] = {}
        for name, node in run.nodes.items():
            if name not in program.inputs:  # a step (a named number such as c = 2 too)
                _put(self.exprs, name, names[node])
            _put(self.exprs, f"d{out}/d{name}", grads[node])
        taken = {*names.values(), *grads.values(), "format_number", "DIGITS", "inf"}
        self.taken = taken
        self.local_lines: list[str] = []
        for s in program.statements:
            keys = [f"d{s.name}/d{v}" for v in s.uses]
            if s.name != out and not s.is_constant and any(k in wanted for k in keys):
                self.local_lines += self._local(run, s, names, taken)

    def _local(
        self, run: ProgramRun, s: Statement, names: dict[Value, str], taken: set[str]
    ) -> list[str]:
        """A function computing d(step)/d(each name it reads), the step alone over fresh
        leaves (as ``ProgramRun.local_gradients`` does), and the line calling it."""
        from nn.expression import _build

        leaves = {name: Value(run.nodes[name].data, name) for name in s.uses}
        step = _build(s.node, leaves)
        step.label = s.name
        program = build_program(step, list(leaves.values()))
        function = _claim(f"local_{identifier(s.name) or 'step'}", taken)
        source = write_program(program).replace("def f(", f"def {function}(", 1)
        body = source.rstrip("\n").splitlines()
        targets = []
        for name in s.uses:
            var = _claim(f"d{identifier(s.name)}_d{identifier(name)}", taken)
            targets.append(var)
            _put(self.exprs, f"d{s.name}/d{name}", var)
        args = ", ".join(names[run.nodes[name]] for name in s.uses)
        uses = ", ".join(s.uses)
        return [
            f"# {s.name} = {s.node.label}, on its own: d{s.name}/d({uses})",
            *body,
            f"{', '.join(targets)}{',' if len(targets) == 1 else ''} = {function}({args})[1]",
            "",
        ]


def _claim(wanted: str, taken: set[str]) -> str:
    name, k = wanted, 2
    while name in taken:
        name, k = f"{wanted}_{k}", k + 1
    taken.add(name)
    return name


def _program_trace_script(explanation: Explanation, run: ProgramRun, command: str) -> Code:
    code = _ProgramCode(run, {q.name for q in explanation.quantities})
    prints = _prints(explanation.quantities, code.exprs)
    forward = [line.text() for line in code.compiled.forward]
    backward = [line.text() for line in code.compiled.backward]
    header = _trace_header(explanation, command, "Every step, local derivative and gradient")
    sections = [("Forward pass", forward), ("Local derivatives (each step on its own)",
                code.local_lines[:-1]), ("Backward pass", backward)]  # fmt: skip
    return _assemble(header, code.given, sections, prints)


def _program_lesson_script(explanation: Explanation, command: str) -> Code:
    """The script of a lesson written as named steps: its sheet's steps, local derivatives,
    gradients and update. The program is built afresh from the lesson's text and given
    numbers, so the script starts where the sheet starts."""
    lesson = explanation.example
    spec = lesson.spec.program
    run = parse_program(spec.text).build(dict(spec.given))
    code = _ProgramCode(run, {q.name for q in explanation.quantities}, [n for n, _ in spec.given])
    names, grads = code.compiled.names, code.compiled.grads
    lr = _claim("lr", code.taken)
    given = [*code.given, f"{lr} = {lesson.lr!r}  # η, the learning rate"]
    out = run.program.output
    others = [run.nodes[s.name] for s in run.program.statements if s.name != out]
    forward, loss = _forward_split(code.compiled, others)
    backward = [line.text() for line in code.compiled.backward]
    update = []
    for p in spec.parameters:
        node = run.nodes[p]
        update.append(f"{names[node]} = {names[node]} - {lr} * {grads[node]}")
        _put(code.exprs, f"{p} (updated)", names[node])
    prints = _prints(explanation.quantities, code.exprs)
    header = [
        f'"""{lesson.title}.',
        "",
        "The steps, the backward pass and one update as plain Python (standard library).",
        "",
        f"Written by `{command} --code`; `python` runs it and prints the numbers",
        f"`{command}` prints. d_v is the derivative of the loss with respect to v;",
        "dh_dx is the local derivative of the step h with respect to x.",
        '"""',
        "",
    ]
    sections = [("Forward pass", forward), ("Loss", loss),
                ("Local derivatives (each step on its own)", code.local_lines[:-1]),
                ("Backward pass", backward),
                (f"Update (η = {numbers.format_number(lesson.lr)})", update)]  # fmt: skip
    return _assemble(header, given, sections, prints)
