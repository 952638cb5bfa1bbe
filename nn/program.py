"""A worked example as a short program of named steps (``q = x + y; f = q * z``), parsed, never run.

A program is a few assignments, separated by ``;`` or newlines, each ``name = formula`` where a
formula is what :mod:`nn.expression` accepts (the same :mod:`ast` whitelist; nothing is passed
to ``eval``). The names a program reads but never assigns are its inputs; the last assignment is
its output. :meth:`Program.build` makes the labelled :class:`~autograd.Value` graph, each step's
node labelled with its name::

    program = parse_program("q = x + y; f = q * z")
    run = program.build({"x": -2, "y": 5, "z": -4})
    run.output.backward()          # run.node("q").grad == -4

:func:`step_formula` and :func:`local_derivative` give each step's formula and the derivative
of a step with respect to a name it reads, as templates over names (``(1 − h1²)·x1``), so a
sheet can print them with the numbers filled in. Every problem raises
:class:`~nn.expression.ExpressionError`, one line, with the line and column.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from autograd import Value
from nn.expression import (
    FUNCTIONS,
    ExpressionError,
    _build,
    _check_depth,
    _check_parentheses,
    _Converter,
    _finite,
    _Node,
    _normalised_keys,
)

MAX_PROGRAM_LENGTH = 4000  # characters; a worked example on a page is far shorter
MAX_STEPS = 100  # assignments
MAX_DEPTH = 200  # operations inside operations in one step, as for a formula


_ASSIGNMENT = re.compile(r"(?<![=<>!])=(?!=)|;|\n")


def looks_like_program(text: str) -> bool:
    """Whether ``text`` is a program of steps (``q = x + y; f = q * z``) rather than one formula.

    A program holds an assignment ``=`` (not ``==``, ``<=``, ``>=``, ``!=``), a ``;`` or a line
    break, none of which a formula holds; :func:`parse_program` then checks it properly.
    """
    return _ASSIGNMENT.search(text) is not None


@dataclass(frozen=True)
class Statement:
    """One step ``name = formula``: where it is, its parsed formula and the names it reads."""

    name: str
    line: int
    column: int
    node: _Node = field(repr=False)
    uses: tuple[str, ...]  # names read, in order of first appearance

    @property
    def is_constant(self) -> bool:
        """``c = 2``: a named number, not an operation (no gradient flows into it)."""
        return self.node.kind == "number"


@dataclass(frozen=True)
class Program:
    """A checked program: its steps, its inputs (read, never assigned) and its output."""

    text: str
    statements: tuple[Statement, ...]
    inputs: tuple[str, ...]

    @property
    def output(self) -> str:
        """The name of the last step: the program's result (a loss, for a lesson)."""
        return self.statements[-1].name

    @property
    def names(self) -> tuple[str, ...]:
        """The inputs, then the steps' names in order."""
        return self.inputs + tuple(s.name for s in self.statements)

    def __str__(self) -> str:
        return "; ".join(f"{s.name} = {s.node.label}" for s in self.statements)

    def build(self, values: Mapping[str, Any]) -> ProgramRun:
        """Run the steps on the engine for the given values of the inputs.

        ``values`` maps every input to a finite number. A missing input, a name that is not an
        input (a step's name, or a name the program does not use) or a value that is not a
        finite number raises :class:`ExpressionError`; so does a domain error in a step
        (``log`` of a negative number), naming its line.
        """
        if not isinstance(values, Mapping):
            raise ExpressionError(
                f"values must be a dict of name -> number, got {type(values).__name__}"
            )
        values = _normalised_keys(values)
        assigned = {s.name: s for s in self.statements}
        for name in values:
            if name in assigned:
                where = f"line {assigned[name].line}, column {assigned[name].column}"
                raise ExpressionError(f"{name} is computed at {where}; it cannot be given a value")
        missing = [name for name in self.inputs if name not in values]
        if missing:
            raise ExpressionError(
                f"no value given for {', '.join(missing)} "
                f"(the program's inputs are {', '.join(self.inputs)})"
            )
        extra = [str(name) for name in values if name not in self.inputs]
        if extra:
            uses = ", ".join(self.inputs) if self.inputs else "no inputs"
            raise ExpressionError(f"{', '.join(extra)} not in the program (its inputs are {uses})")
        inputs = {name: Value(_finite(values[name], name), name) for name in self.inputs}
        nodes: dict[str, Value] = dict(inputs)
        for s in self.statements:
            if s.is_constant:
                out = Value(s.node.number, s.name)  # type: ignore[arg-type]
            else:
                try:
                    out = _build(s.node, nodes)
                except ExpressionError as error:
                    raise ExpressionError(error.problem, error.column, s.line) from None
            out.label = s.name
            nodes[s.name] = out
        return ProgramRun(self, nodes[self.output], inputs, nodes)


@dataclass
class ProgramRun:
    """A program built on the engine: its output node and a node per name."""

    program: Program
    output: Value
    inputs: dict[str, Value]
    nodes: dict[str, Value]  # every input and every step, by name

    def node(self, name: str) -> Value:
        """The node of an input or a step."""
        return self.nodes[name]

    def local_gradients(self, statement: Statement) -> dict[str, float]:
        """d(step)/d(name) for each name the step reads, from the engine on that step alone.

        The step is rebuilt over fresh leaves holding the names' current values and
        differentiated by ``backward()``: the local derivative a learner writes beside it.
        """
        leaves = {name: Value(self.nodes[name].data, name) for name in statement.uses}
        if statement.is_constant or not leaves:
            return {}
        out = _build(statement.node, leaves)
        out.backward()
        return {name: leaf.grad for name, leaf in leaves.items()}


def parse_program(text: str, *, max_length: int = MAX_PROGRAM_LENGTH) -> Program:
    """Parse and check a program such as ``"q = x + y; f = q * z"``; never runs it.

    Steps are ``name = formula``, separated by ``;`` or newlines; blank lines and ``#``
    comments are allowed. Each name is assigned once, and only after the names it reads; a
    name that is read but never assigned is an input; every step but the last must feed a
    later one. Problems raise :class:`ExpressionError` with the line and column.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"a program must be a string, got {type(text).__name__}")
    if len(text) > max_length:
        raise ExpressionError(
            f"the program is {len(text)} characters long; at most {max_length} are allowed"
        )
    text = text.replace("\r\n", "\n")
    for k, line in enumerate(text.split("\n"), start=1):
        for i, char in enumerate(line):
            if (ord(char) < 32 and char != "\t") or char == "\x7f" or 0x80 <= ord(char) < 0xA0:
                raise ExpressionError("control characters are not allowed", i + 1, k)
    if not text.strip():
        raise ExpressionError("the program is empty")
    try:
        _check_parentheses(text, 0, MAX_DEPTH)
    except ExpressionError as error:  # its column counts through the whole text: split it
        before = text[: (error.column or 1) - 1]
        line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
        raise ExpressionError(error.problem, column, line) from None
    tree = _parse(text)
    steps = list(tree.body)
    if not steps:
        raise ExpressionError("the program has no steps; write name = formula, e.g. f = x * y")
    if len(steps) > MAX_STEPS:
        raise ExpressionError(f"the program has {len(steps)} steps; at most {MAX_STEPS}")
    lines = text.split("\n")
    assigned: dict[str, str] = {}  # name -> where it is assigned, "line 1, column 12"
    for step in steps:
        name = _target(step, lines)
        if name in assigned:
            raise _error(
                step, lines, f"{name} is assigned twice (first at {assigned[name]}); "
                "give each step its own name",
            )  # fmt: skip
        assigned[name] = f"line {step.lineno}, column {_column_of(step, lines)}"
    statements: list[Statement] = []
    inputs: list[str] = []
    done: set[str] = set()
    for step in steps:
        assert isinstance(step, ast.Assign)
        name = _target(step, lines)
        try:
            _check_depth(step.value, lines[step.value.lineno - 1], 0, MAX_DEPTH)
        except ExpressionError as error:
            raise ExpressionError(error.problem, error.column, step.value.lineno) from None
        uses: list[str] = []
        node = _Converter(text, 0, uses, numbered=True).convert(step.value)
        for used in uses:
            if used in assigned and used not in done:
                where = _first_use(step.value, used, lines)
                later = "" if used == name else f" (at {assigned[used]})"
                raise ExpressionError(f"{used} is used before it is assigned{later}", *where)
            if used not in assigned and used not in inputs:
                inputs.append(used)
        if node.kind == "name":
            raise _error(step, lines, f"{name} = {node.label} only gives {node.label} a "
                         f"second name; use {node.label} itself")  # fmt: skip
        column = _column_of(step, lines)
        statements.append(Statement(name, step.lineno, column, node, tuple(uses)))
        done.add(name)
    read = {used for s in statements for used in s.uses}
    for s in statements[:-1]:
        if s.name not in read:
            raise ExpressionError(
                f"{s.name} is never used; every step but the last ({statements[-1].name}, the "
                "output) must feed a later one", s.column, s.line,
            )  # fmt: skip
    return Program(text, tuple(statements), tuple(inputs))


def _parse(text: str) -> ast.Module:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, mode="exec")
    except SyntaxError as error:
        problem = (error.msg or "invalid syntax").split(". Perhaps", 1)[0]
        problem = problem.split(" - Consider", 1)[0]
        raise ExpressionError(f"syntax error: {problem}", error.offset, error.lineno) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the program is too deeply nested to parse") from None


def _column_of(node: ast.AST, lines: list[str]) -> int:
    line = lines[node.lineno - 1]  # type: ignore[attr-defined]
    prefix = line.encode("utf-8")[: node.col_offset]  # type: ignore[attr-defined]
    return len(prefix.decode("utf-8", errors="ignore")) + 1


def _error(node: ast.AST, lines: list[str], problem: str) -> ExpressionError:
    return ExpressionError(problem, _column_of(node, lines), node.lineno)  # type: ignore[attr-defined]


def _target(step: ast.stmt, lines: list[str]) -> str:
    """The one name a step assigns, or a one-line error saying what the step is instead."""
    if isinstance(step, ast.Assign):
        if len(step.targets) != 1:
            raise _error(step, lines, "assign one name per step (a = b = ... is not allowed)")
        target = step.targets[0]
        if not isinstance(target, ast.Name):
            raise _error(target, lines, "a step assigns to one plain name, e.g. q = x + y")
        if target.id in FUNCTIONS:
            raise _error(target, lines, f"{target.id} is a function; choose another name")
        return target.id
    if isinstance(step, ast.AugAssign) and isinstance(step.target, ast.Name):
        raise _error(step, lines, f"{step.target.id} {_AUG.get(type(step.op), '?=')} ... "
                     "reassigns a name; give each step its own name")  # fmt: skip
    if isinstance(step, ast.Expr):
        raise _error(step, lines, "a step must assign its result to a name, e.g. f = q * z")
    raise _error(step, lines, "only steps of the form name = formula are allowed")


_AUG = {ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*=", ast.Div: "/=", ast.Pow: "**="}


def _first_use(value: ast.AST, name: str, lines: list[str]) -> tuple[int, int]:
    """(column, line) of the first place a step reads ``name``."""
    places = [(n.lineno, n.col_offset, n) for n in ast.walk(value)
              if isinstance(n, ast.Name) and n.id == name]  # fmt: skip
    _, _, first = min(places, key=lambda p: (p[0], p[1]))
    return _column_of(first, lines), first.lineno


# ---------------------------------------------------------------------------------------------
# Formulas and local derivatives as templates over names
# ---------------------------------------------------------------------------------------------
# A small symbolic algebra, just enough to write a step's derivative the way a book does:
# (1 − h1²)·x1 for h1 = tanh(wx*x1 + wh*h0 + b). Every tree is walked with an explicit stack,
# so a flat sum of many terms costs no recursion.


@dataclass(frozen=True)
class _Sym:
    kind: str  # "var", "num", "add", "sub", "mul", "div", "neg", "pow", "call"
    children: tuple[_Sym, ...] = ()
    text: str = ""  # a var's name, a number as written, a function's name, an exponent
    value: float = 0.0  # a number's value


_ZERO = _Sym("num", text="0", value=0.0)
_ONE = _Sym("num", text="1", value=1.0)
_UNKNOWN = _Sym("unknown")  # an op whose derivative this algebra does not write (relu, abs)
_LEVEL = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}
_SHOWN = {"sigmoid": "σ"}


def _number(value: float, text: str | None = None) -> _Sym:
    return _Sym("num", text=text if text is not None else f"{value:g}", value=value)


def _is(sym: _Sym, value: float) -> bool:
    return sym.kind == "num" and sym.value == value


def _add(a: _Sym, b: _Sym) -> _Sym:
    if _UNKNOWN in (a, b):
        return _UNKNOWN
    if _is(a, 0):
        return b
    return a if _is(b, 0) else _Sym("add", (a, b))


def _sub(a: _Sym, b: _Sym) -> _Sym:
    if _UNKNOWN in (a, b):
        return _UNKNOWN
    if _is(b, 0):
        return a
    return _neg(b) if _is(a, 0) else _Sym("sub", (a, b))


def _mul(a: _Sym, b: _Sym) -> _Sym:
    if _is(a, 0) or _is(b, 0):
        return _ZERO
    if _UNKNOWN in (a, b):
        return _UNKNOWN
    # Signs move to the front and numbers are multiplied out, as a book writes it: 0.5·2·(ŷ − y)
    # is (ŷ − y), and a·(−b) is −(a·b).
    if a.kind == "neg" or b.kind == "neg":
        a, b = (a.children[0] if a.kind == "neg" else a), (b.children[0] if b.kind == "neg" else b)
        return _neg(_mul(a, b)) if (a.kind == "neg") == (b.kind == "neg") else _mul(a, b)
    if a.kind == "num" and a.value < 0:
        return _neg(_mul(_number(-a.value), b))
    if b.kind == "num" and b.value < 0:
        return _neg(_mul(a, _number(-b.value)))
    if a.kind == "num" and b.kind == "mul" and b.children[0].kind == "num":
        return _mul(_number(a.value * b.children[0].value), b.children[1])
    if a.kind == "num" and b.kind == "num":
        return _number(a.value * b.value)
    if b.kind == "div" and _is(b.children[0], 1):
        return _div(a, b.children[1])  # y·(1/p) is y/p
    if _is(a, 1):
        return b
    return a if _is(b, 1) else _Sym("mul", (a, b))


def _div(a: _Sym, b: _Sym) -> _Sym:
    if _is(a, 0):
        return _ZERO
    if _UNKNOWN in (a, b):
        return _UNKNOWN
    if a.kind == "neg":
        return _neg(_div(a.children[0], b))
    return a if _is(b, 1) else _Sym("div", (a, b))


def _neg(a: _Sym) -> _Sym:
    if a is _UNKNOWN or _is(a, 0):
        return a
    if a.kind == "neg":
        return a.children[0]
    if a.kind == "num":
        return _number(-a.value)
    return _Sym("neg", (a,))


def _pow(a: _Sym, exponent: float) -> _Sym:
    if exponent == 1:
        return a
    return _Sym("pow", (a,), text=f"{exponent:g}", value=exponent)


def _postorder(root: Any, children: Callable[[Any], tuple[Any, ...]],
               combine: Callable[[Any, list[Any]], Any]) -> Any:  # fmt: skip
    """combine(node, results of its children), bottom-up, with a stack instead of recursion."""
    done: dict[int, Any] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        kids = children(node)
        if ready or not kids:
            done[id(node)] = combine(node, [done[id(k)] for k in kids])
            continue
        stack.append((node, True))
        stack.extend((k, False) for k in kids)
    return done[id(root)]


def _symbolic(node: _Node) -> _Sym:
    """The formula of a parsed node as a _Sym tree."""

    return _postorder(node, lambda n: n.children, _symbolic_shallow)


def _derivative(statement: Statement, name: str) -> _Sym:
    """d(step)/d(name) as a _Sym tree (or _UNKNOWN), the step's own node called by its name."""
    root = statement.node

    def combine(n: _Node, kids: list[tuple[_Sym, _Sym]]) -> tuple[_Sym, _Sym]:
        expr = _symbolic_shallow(n, [k[0] for k in kids])
        me = _Sym("var", text=statement.name) if n is root else expr
        d = [k[1] for k in kids]
        e = [k[0] for k in kids]
        if n.kind == "name":
            return expr, _ONE if n.op == name else _ZERO
        if n.kind == "number":
            return expr, _ZERO
        if n.kind == "unary":
            return expr, _neg(d[0])
        if n.kind == "binary":
            if n.op == "+":
                return expr, _add(d[0], d[1])
            if n.op == "-":
                return expr, _sub(d[0], d[1])
            if n.op == "*":
                return expr, _add(_mul(d[0], e[1]), _mul(e[0], d[1]))
            if n.op == "/":
                return expr, _sub(_div(d[0], e[1]), _div(_mul(e[0], d[1]), _pow(e[1], 2)))
            if n.children[1].kind == "number":
                c = n.children[1].number
                assert c is not None
                factor = _mul(_number(c), _pow(e[0], c - 1)) if c != 2 else _mul(_number(2), e[0])
                return expr, _mul(factor, d[0])
            unknown = _UNKNOWN if not (_is(d[0], 0) and _is(d[1], 0)) else _ZERO
            return expr, unknown
        inner = d[0]
        slope = {
            "tanh": lambda: _sub(_ONE, _pow(me, 2)),
            "sigmoid": lambda: _mul(me, _sub(_ONE, me)),
            "exp": lambda: me,
            "log": lambda: _div(_ONE, e[0]),
            "sqrt": lambda: _div(_ONE, _mul(_number(2), me)),
            "softplus": lambda: _Sym("call", (e[0],), text="sigmoid"),
        }.get(n.op)
        if slope is None:
            return expr, _ZERO if _is(inner, 0) else _UNKNOWN
        if n.op == "log":
            return expr, _div(inner, e[0])
        return expr, _mul(slope(), inner)

    return _postorder(root, lambda n: n.children, combine)[1]


def _symbolic_shallow(n: _Node, kids: list[_Sym]) -> _Sym:
    """One node of _symbolic, given its children's trees (shared by _derivative)."""
    if n.kind == "name":
        return _Sym("var", text=n.op)
    if n.kind == "number":
        return _number(n.number, n.label)  # type: ignore[arg-type]
    if n.kind == "unary":
        return _Sym("neg", (kids[0],))
    if n.kind == "binary":
        if n.op == "**" and n.children[1].kind == "number":
            return _Sym("pow", (kids[0],), text=n.children[1].label, value=kids[1].value)
        kind = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}[n.op]
        return _Sym(kind, tuple(kids))
    slope = "" if n.number is None else f"{n.number:g}"
    return _Sym("call", (kids[0],), text=n.op if not slope else f"{n.op}|{slope}")


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _render(sym: _Sym) -> tuple[str, tuple[str, ...]]:
    """A _Sym tree as a template (``{0}·{1}``) and the names its placeholders stand for."""

    def combine(s: _Sym, kids: list[tuple[list[Any], int]]) -> tuple[list[Any], int]:
        def wrap(k: int, strict: bool, level: int) -> list[Any]:
            pieces, prec = kids[k]
            needs = prec <= level if strict else prec < level
            return ["(", *pieces, ")"] if needs else pieces

        if s.kind == "var":
            return [("var", s.text)], 5
        # A negative number or a negation is bracketed after · and /: a·(−b), not a·−b.
        if s.kind == "num":
            text = s.text.replace("-", "−")
            return [text], (2 if text.startswith("−") else 5)
        if s.kind == "neg":
            return ["−", *wrap(0, False, 3)], 2
        if s.kind == "pow":
            if len(kids) == 2:
                return [*wrap(0, True, 4), "^", *wrap(1, True, 4)], 4
            exponent = s.text.translate(_SUPERSCRIPT) if s.text.isdigit() else ""
            tail = exponent or f"^{s.text.replace('-', '−')}"
            return [*wrap(0, True, 4), tail], 4
        if s.kind == "call":
            name, _, slope = s.text.partition("|")
            extra = [f", {slope}"] if slope else []
            return [f"{_SHOWN.get(name, name)}(", *kids[0][0], *extra, ")"], 5
        level = _LEVEL[s.kind]
        sep = {"add": " + ", "sub": " − ", "mul": "·", "div": "/"}[s.kind]
        strict = s.kind in ("sub", "div")  # a − (b − c) keeps its brackets, a + (b + c) not
        right = wrap(1, strict, level)
        if right[0] != "(" and isinstance(right[0], str) and right[0].startswith("−"):
            right = ["(", *right, ")"]  # a·(−3), a + (−b)
        return [*wrap(0, False, level), sep, *right], level

    pieces, _ = _postorder(sym, lambda s: s.children, combine)
    template, names = [], []
    for piece in pieces:
        if isinstance(piece, tuple):
            template.append(f"{{{len(names)}}}")
            names.append(piece[1])
        else:
            template.append(piece.replace("{", "{{").replace("}", "}}"))
    return "".join(template), tuple(names)


def step_formula(statement: Statement) -> tuple[str, tuple[str, ...]]:
    """The step's formula as a template over names: ``q = x + y`` gives ``"{0} + {1}"``, x, y."""
    return _render(_symbolic(statement.node))


def local_derivative(statement: Statement, name: str) -> tuple[str, tuple[str, ...]] | None:
    """d(step)/d(name) as a template over names, e.g. ``("(1 − {0}²)·{1}", ("h1", "x1"))``.

    None when the step uses an op whose derivative is not written as a formula here (relu,
    leaky_relu, abs, a power with a computed exponent): the sheet then gives the number only.
    """
    sym = _derivative(statement, name)
    return None if sym is _UNKNOWN else _render(sym)
