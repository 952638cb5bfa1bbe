"""A formula such as ``tanh(x1*w1 + x2*w2 + b)`` parsed (never evaluated) into a labelled graph.

The text is parsed by Python's own parser (:mod:`ast`) and then checked against a whitelist:
numbers, names, ``+ - * / **``, unary minus and plus, parentheses, and calls to the engine's
functions. Nothing is ever passed to ``eval``. :meth:`Expression.build` then makes the
:class:`~autograd.Value` graph with every leaf labelled by its name and every other node by its
sub-expression, written with normalised spacing (``x1*w1``, ``x1*w1 + x2*w2``), so a trace or a
drawing reads like the formula::

    expr = parse_expression("tanh(x1*w1 + x2*w2 + b)")
    out = expr.build({"x1": 2, "w1": -3, "x2": 0, "w2": 1, "b": 6.8814})
    out.backward()

Every problem raises :class:`ExpressionError`, one line, with the column where it applies.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from autograd import Value
from nn.activations import UNIT_ACTIVATIONS

MAX_LENGTH = 1000  # characters; a formula on a page is far shorter
# Operations inside operations; keeps parsing and building far from recursion limits. A flat
# chain (a + b + c + ..., a*b*c*...) is one level however long: it is built without recursion.
MAX_DEPTH = 200


class ExpressionError(ValueError):
    """A formula or a name=value binding that cannot be used; one line, with the column if known.

    ``column`` is 1-based (None when the problem is not at one place, e.g. a missing value);
    ``line`` is the 1-based line of a program (see ``nn.program``), None for a formula.
    """

    def __init__(self, problem: str, column: int | None = None, line: int | None = None) -> None:
        self.problem = problem
        self.column = column
        self.line = line
        where = [] if line is None else [f"line {line}"]
        where += [] if column is None else [f"column {column}"]
        super().__init__(f"{', '.join(where)}: {problem}" if where else problem)


# The functions a formula may call: name -> (how many arguments, how to apply to a Value).
# leaky_relu's optional second argument is its negative-side slope, a plain number.
FUNCTIONS: dict[str, tuple[tuple[int, ...], Any]] = {
    **{  # the activations (all but linear), from their registry
        name: ((1, 2) if a.takes_slope else (1,), a.method)
        for name, a in UNIT_ACTIVATIONS.items()
        if a.slope_name
    },
    "exp": ((1,), Value.exp),
    "log": ((1,), Value.log),
    "sqrt": ((1,), Value.sqrt),
    "softplus": ((1,), Value.softplus),
    "abs": ((1,), Value.__abs__),
}

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_UNARY = {ast.USub: "-", ast.UAdd: "+"}
# Binding strength, as in Python: + - < * / < unary minus < ** < names, numbers and calls.
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}
_ATOM = 5

# What a user who types Python may try, said in words.
_NOT_ALLOWED = {
    ast.Attribute: "attribute access (.)",
    ast.Subscript: "indexing ([...])",
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.Lambda: "lambda",
    ast.NamedExpr: "assignment (:=)",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.JoinedStr: "f-strings",
    ast.Starred: "starred arguments",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.Mod: "the % operator",
    ast.FloorDiv: "the // operator",
    ast.MatMult: "the @ operator",
    ast.BitAnd: "the & operator",
    ast.BitOr: "the | operator",
    ast.BitXor: "the ^ operator (for powers write **)",
    ast.LShift: "the << operator",
    ast.RShift: "the >> operator",
    ast.Invert: "the ~ operator",
    ast.Not: "not",
}

_ALLOWED = "numbers, names, + - * / **, parentheses and the functions " + ", ".join(FUNCTIONS)


# ---------------------------------------------------------------------------------------------
# The parsed formula
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    """One operation or leaf of the formula; ``label`` is its sub-expression, normalised."""

    kind: str  # "name", "number", "unary", "binary" or "call"
    op: str  # the name, the operator ("+", "**", "neg"), or the function's name
    label: str
    precedence: int
    column: int  # 1-based, where the sub-expression starts in the text as given
    children: tuple[_Node, ...] = ()
    number: float | None = None  # a number's value, or leaky_relu's slope when given


@dataclass(frozen=True)
class Expression:
    """A checked formula: build its Value graph for given values of its names.

    ``text`` is the formula as given, ``names`` its names in order of first appearance,
    ``str(expression)`` the formula with normalised spacing (the label of the output node).
    """

    text: str
    names: tuple[str, ...]
    _root: _Node = field(repr=False)

    def __str__(self) -> str:
        return self._root.label

    def leaves(self, values: Mapping[str, Any]) -> dict[str, Value]:
        """One leaf Value per name, labelled with the name, in the order of ``names``.

        ``values`` maps every name to a finite number (or a Value, used as it is). A missing
        name, a name the formula does not use, or a value that is not a finite number raises
        :class:`ExpressionError`.
        """
        if not isinstance(values, Mapping):
            raise ExpressionError(
                f"values must be a dict of name -> number, got {type(values).__name__}"
            )
        values = _normalised_keys(values)
        missing = [name for name in self.names if name not in values]
        if missing:
            raise ExpressionError(
                f"no value given for {_listing(missing)} (the formula uses {_listing(self.names)})"
            )
        extra = [str(name) for name in values if name not in self.names]
        if extra:
            uses = _listing(self.names) if self.names else "no names"
            raise ExpressionError(f"{_listing(extra)} not in the formula (it uses {uses})")
        leaves = {}
        for name in self.names:
            given = values[name]
            if isinstance(given, Value):
                if not given.label:
                    given.label = name
                leaves[name] = given
            else:
                leaves[name] = Value(_finite(given, name), name)
        return leaves

    def build(self, values: Mapping[str, Any]) -> Value:
        """The output Value of the formula, its graph labelled like the formula.

        Leaves are labelled by their names (one leaf per name, however often it appears),
        constants by their number, every other node by its sub-expression. A domain error on
        the way (log of a negative number, division by zero) raises :class:`ExpressionError`
        naming the sub-expression.
        """
        return self.build_with_inputs(values)[0]

    def build_with_inputs(self, values: Mapping[str, Any]) -> tuple[Value, dict[str, Value]]:
        """The output Value and the input leaves by name (the numbers in the formula are not
        inputs: each is a constant node of its own, two ``1``s are two nodes)."""
        leaves = self.leaves(values)
        return _build(self._root, leaves), leaves

    def __call__(self, **values: Any) -> Value:
        """``expression(x1=2, w1=-3, ...)``: the same as ``build(values)``."""
        return self.build(values)


def parse_expression(
    text: str, *, max_length: int = MAX_LENGTH, max_depth: int = MAX_DEPTH
) -> Expression:
    """Parse and check a formula such as ``"tanh(x1*w1 + x2*w2 + b)"``; never evaluates it.

    Allowed: numbers, names, ``+ - * / **``, unary ``-``/``+``, parentheses, and calls to
    ``tanh sigmoid relu leaky_relu(x, slope) exp log sqrt softplus abs``. Anything else, a
    syntax error, a formula longer than ``max_length`` characters or nested deeper than
    ``max_depth`` raises :class:`ExpressionError` with the column.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"a formula must be a string, got {type(text).__name__}")
    if len(text) > max_length:
        raise ExpressionError(
            f"the formula is {len(text)} characters long; at most {max_length} are allowed"
        )
    for i, char in enumerate(text):
        if (ord(char) < 32 and char != "\t") or char == "\x7f":
            raise ExpressionError("a formula is one line of text (no control characters)", i + 1)
    body = text.strip()
    if not body:
        raise ExpressionError("the formula is empty")
    offset = len(text) - len(text.lstrip())  # columns count from the text as given
    _check_parentheses(body, offset, max_depth)
    tree = _parse(body, offset)
    _check_depth(tree, body, offset, max_depth)
    names: list[str] = []
    root = _Converter(body, offset, names).convert(tree.body)
    return Expression(text, tuple(names), root)


def _parse(body: str, offset: int) -> ast.Expression:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "'int' object is not callable": ours is clearer
            return ast.parse(body, mode="eval")
    except SyntaxError as error:
        problem = (error.msg or "invalid syntax").split(". Perhaps", 1)[0]
        problem = problem.split(" - Consider", 1)[0]  # Python's advice on huge integer literals
        column = error.offset if error.offset and error.lineno == 1 else None
        if column is not None:
            column = min(column, len(body) + 1) + offset
        raise ExpressionError(f"syntax error: {problem}", column) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the formula is too deeply nested to parse") from None


def _check_parentheses(body: str, offset: int, max_depth: int) -> None:
    # Python's parser stops at 200 open parentheses; say it in our words, with our limit.
    depth = 0
    for i, char in enumerate(body):
        depth += (char == "(") - (char == ")")
        if depth > max_depth:
            raise ExpressionError(
                f"parentheses nested deeper than {max_depth} levels", i + 1 + offset
            )


def _check_depth(tree: ast.AST, body: str, offset: int, max_depth: int) -> None:
    """Refuse trees deeper than max_depth (e.g. ``-----...x``), walking without recursion."""
    # The left operand of a + b (or a*b) that is itself a sum (product) is the same level: a flat
    # sum of 400 terms is one level deep, as a reader sees it, and is converted without recursion.
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            column = _column(body, node.col_offset, offset) if hasattr(node, "col_offset") else None
            raise ExpressionError(f"the formula is nested deeper than {max_depth} levels", column)
        for child in ast.iter_child_nodes(node):
            left = isinstance(node, ast.BinOp) and child is node.left
            same_level = left and _chained(node, child)  # type: ignore[arg-type]
            stack.append((child, depth if same_level else depth + 1))


def _level(node: ast.AST) -> int | None:
    """The binding level of a left-grouping operator (+ - or * /), None for anything else."""
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        level = _PRECEDENCE[_BINARY[type(node.op)]]
        return level if level in (1, 2) else None
    return None


def _chained(parent: ast.BinOp, left: ast.AST) -> bool:
    """True when ``left`` continues the flat chain of ``parent`` (a + b in (a + b) - c)."""
    level = _level(parent)
    return level is not None and _level(left) == level


def _column(body: str, byte_offset: int, offset: int) -> int:
    """The 1-based column of a position ast gives in UTF-8 bytes (a name may be "ŷ")."""
    prefix = body.encode("utf-8")[:byte_offset]
    return len(prefix.decode("utf-8", errors="ignore")) + 1 + offset


class _Converter:
    """Turn a checked ast into _Nodes, labelling each with its normalised sub-expression."""

    def __init__(self, body: str, offset: int, names: list[str], numbered: bool = False) -> None:
        self.body = body  # the whole source: a formula, or a program of several lines
        self.lines = body.split("\n")
        self.offset = offset
        self.names = names
        self.numbered = numbered  # a program: errors say the line as well as the column

    def column(self, node: ast.AST, byte_offset: int | None = None) -> int:
        """The 1-based column of ``node`` (or of ``byte_offset`` on its line), as users count."""
        line = getattr(node, "lineno", 1)
        offset = self.offset if line == 1 else 0
        where = node.col_offset if byte_offset is None else byte_offset  # type: ignore[attr-defined]
        return _column(self.lines[line - 1], where, offset)

    def error(self, problem: str, column: int | None, node: ast.AST) -> ExpressionError:
        line = getattr(node, "lineno", None) if self.numbered else None
        return ExpressionError(problem, column, line)

    def fail(self, node: ast.AST, problem: str) -> ExpressionError:
        return self.error(problem, self.column(node), node)

    def convert(self, node: ast.AST) -> _Node:
        column = self.column(node)
        if isinstance(node, ast.Constant):
            return self.number(node, column)
        if isinstance(node, ast.Name):
            return self.name(node, column)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return self.unary(node, column)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return self.binary(node, column)
        if isinstance(node, ast.Call):
            return self.call(node, column)
        what = _NOT_ALLOWED.get(type(getattr(node, "op", node)), type(node).__name__)
        column = self.operator_column(node) if isinstance(node, ast.BinOp) else column
        raise self.error(f"{what} not allowed; a formula may use {_ALLOWED}", column, node)

    def operator_column(self, node: ast.BinOp) -> int:
        """Where the operator of ``a % b`` is: after the left operand and any ``)`` closing it."""
        text = self.lines[node.left.end_lineno - 1 if node.left.end_lineno else 0]
        end = _column(text, node.left.end_col_offset or 0, 0) - 1
        while end < len(text) and text[end] in " )":
            end += 1
        offset = self.offset if node.left.end_lineno in (None, 1) else 0
        return end + 1 + offset

    def number(self, node: ast.Constant, column: int) -> _Node:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            what = "strings" if isinstance(value, (str, bytes)) else repr(value)
            raise self.fail(node, f"{what} not allowed; a formula may use {_ALLOWED}")
        text = ast.get_source_segment(self.body, node) or repr(value)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise self.fail(node, f"the number {_short(text)} is too large")
        return _Node("number", text, text, _ATOM, column, number=number)

    def name(self, node: ast.Name, column: int) -> _Node:
        if node.id in FUNCTIONS:
            raise self.fail(node, f"{node.id} is a function: write {node.id}(...)")
        if node.id not in self.names:
            self.names.append(node.id)
        return _Node("name", node.id, node.id, _ATOM, column)

    def unary(self, node: ast.UnaryOp, column: int) -> _Node:
        operand = self.convert(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand  # +x is x: no node, nothing to differentiate
        if operand.kind == "number":  # -3 is a number, not an operation on one
            text = "-" + operand.label
            return _Node("number", text, text, _PRECEDENCE["neg"], column, number=-operand.number)
        label = "-" + _wrap(operand, operand.precedence < _PRECEDENCE["neg"])
        return _Node("unary", "neg", label, _PRECEDENCE["neg"], column, (operand,))

    def binary(self, node: ast.BinOp, column: int) -> _Node:
        # A flat chain a + b + c + ... nests to the left: walk down it with a loop, then build
        # up from its first operand, so that its length costs no recursion.
        chain = [node]
        while _chained(chain[-1], chain[-1].left):
            chain.append(chain[-1].left)  # type: ignore[arg-type]
        left = self.convert(chain[-1].left)
        for link in reversed(chain):
            left = self.combine(link, left, self.convert(link.right), column)
        return left

    def combine(self, node: ast.BinOp, left: _Node, right: _Node, column: int) -> _Node:
        op = _BINARY[type(node.op)]
        level = _PRECEDENCE[op]
        if op == "**":
            # ** groups to the right: (a**b)**c needs its parentheses, a**-b does not.
            text = f"{_wrap(left, left.precedence <= level)}**{_wrap(right, right.precedence < 3)}"
        else:
            # a - (b - c) and a/(b*c) keep theirs; spacing as a book writes it: x1*w1 + x2*w2.
            sep = f" {op} " if level == 1 else op
            a, b = _wrap(left, left.precedence < level), _wrap(right, right.precedence <= level)
            text = f"{a}{sep}{b}"
        return _Node("binary", op, text, level, column, (left, right))

    def call(self, node: ast.Call, column: int) -> _Node:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, "only a function name can be called, e.g. tanh(x)")
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.fail(node, f"unknown function {name!r}; allowed: {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise self.fail(node.keywords[0].value, f"{name}() takes no keyword arguments")
        counts = FUNCTIONS[name][0]
        if len(node.args) not in counts:
            wanted = " or ".join(str(n) for n in counts)
            plural = "s" if counts[-1] > 1 else ""
            raise self.fail(node, f"{name}() takes {wanted} argument{plural}, got {len(node.args)}")
        argument = self.convert(node.args[0])
        if len(node.args) == 2:  # leaky_relu(x, slope): the slope is a constant of the op
            slope = self.convert(node.args[1])
            if slope.kind != "number":
                raise self.fail(
                    node.args[1], f"{name}'s slope must be a number, e.g. {name}(x, 0.01)"
                )
            label = f"{name}({argument.label}, {slope.label})"
            return _Node("call", name, label, _ATOM, column, (argument,), number=slope.number)
        return _Node("call", name, f"{name}({argument.label})", _ATOM, column, (argument,))


def _wrap(node: _Node, parenthesise: bool) -> str:
    return f"({node.label})" if parenthesise else node.label


# ---------------------------------------------------------------------------------------------
# Building the Value graph
# ---------------------------------------------------------------------------------------------


_OPERATORS = {
    "+": Value.__add__,
    "-": Value.__sub__,
    "*": Value.__mul__,
    "/": Value.__truediv__,
    "**": Value.__pow__,
}


def _build(root: _Node, leaves: dict[str, Value]) -> Value:
    """The Value graph of the parsed formula, built bottom-up with a stack (no recursion)."""
    built: dict[int, Value] = {}
    stack: list[tuple[_Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done or not node.children:
            built[id(node)] = _make(node, [built[id(c)] for c in node.children], leaves)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in node.children)
    return built[id(root)]


def _make(node: _Node, operands: list[Value], leaves: dict[str, Value]) -> Value:
    """One node of the graph from its operands' Values."""
    if node.kind == "name":
        return leaves[node.op]
    if node.kind == "number":
        return Value(node.number, node.label)  # a constant: a node of its own, never an input
    if node.kind == "binary" and node.op == "**" and node.children[1].kind == "number":
        # x**2: a constant exponent is part of the op (as in the engine), not a leaf
        base, exponent = operands[0], node.children[1].number
        out = _apply(node, lambda: base**exponent)
    elif node.kind == "binary":
        a, b = operands
        operator = _OPERATORS[node.op]
        out = _apply(node, lambda: operator(a, b))
    elif node.kind == "unary":
        x = operands[0]
        out = _apply(node, lambda: -x)
    else:
        x = operands[0]
        function = FUNCTIONS[node.op][1]
        arguments = (x,) if node.number is None else (x, node.number)  # leaky_relu's slope
        out = _apply(node, lambda: function(*arguments))
    out.label = node.label
    return out


def _apply(node: _Node, compute: Any) -> Value:
    """Run one operation, turning the engine's domain errors into one line naming the node."""
    try:
        return compute()
    except (ValueError, ZeroDivisionError) as error:
        raise ExpressionError(f"cannot compute {node.label}: {error}", node.column) from None


# ---------------------------------------------------------------------------------------------
# name=value bindings from the command line
# ---------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def parse_bindings(arguments: Iterable[str]) -> dict[str, float]:
    """``["x1=2", "b=6.8814"]`` -> ``{"x1": 2.0, "b": 6.8814}``, strictly.

    Each argument is ``name=number`` with a plain decimal number (``-3``, ``0.5``, ``1e-3``);
    an empty name or value, a value that is not a number or not finite (``nan``, ``inf``,
    ``1e999``), or a name given twice raises :class:`ExpressionError` quoting the argument.
    """
    values: dict[str, float] = {}
    for argument in arguments:
        name, equals, text = argument.partition("=")
        # Python reads names in a formula in NFKC form (a full-width ｘ is x): so do we here.
        name, text = unicodedata.normalize("NFKC", name.strip()), text.strip()
        if not equals:
            raise ExpressionError(f"{argument!r}: expected name=value, e.g. x1=2")
        if not name:
            raise ExpressionError(f"{argument!r}: no name before '='")
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ExpressionError(f"{argument!r}: {name!r} is not a name (letters, digits, _)")
        if not text:
            raise ExpressionError(f"{argument!r}: no value after '='")
        if text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise ExpressionError(f"{argument!r}: {text} is not a finite number")
        if len(text) > 100 or not _NUMBER.fullmatch(text):
            raise ExpressionError(f"{argument!r}: {_short(text)!r} is not a number")
        number = float(text)
        if not math.isfinite(number):
            raise ExpressionError(f"{argument!r}: {text} is too large; values must be finite")
        if name in values:
            raise ExpressionError(f"{argument!r}: {name} is given twice")
        values[name] = number
    return values


def _normalised_keys(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values with their names in NFKC form, as Python reads the names of a formula."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        key = unicodedata.normalize("NFKC", name) if isinstance(name, str) else name
        if key in out:
            raise ExpressionError(f"{key} is given twice ({name!r} is the same name)")
        out[key] = value
    return out


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ExpressionError(f"{name} is {_short(repr(value))}; values must be finite numbers")
    return number


def _listing(names: Iterable[str]) -> str:
    return ", ".join(names)


def _short(text: str) -> str:
    return text if len(text) <= 30 else text[:27] + "..."
