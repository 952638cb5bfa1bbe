"""Each operation of the engine in one place: forward, domain check, derivative, rule in words.

An :class:`Op` is one kind of operation. Read one the way you read micrograd's op beside its
backward: the forward rule and the local derivative of each operand, each written ONCE as a
small Python expression over the operands' names (``a``, ``b`` or ``x``) and the result ``out``;
the domain check with its error message; and the rule in words (what traces and drawings print).

Every consumer is made from those expressions, so a rule cannot say one thing in one place and
another elsewhere:

* ``forward(*xs)`` (floats in, float out) and ``local(out, *xs)`` (the derivatives as floats,
  what ``backward()`` uses) are the expressions compiled once, when the op is made, into plain
  functions: as fast as hand-written lambdas.
* ``local_graph(out, *operands)`` is the same derivative expression compiled over *Values*
  (what ``backward(create_graph=True)`` and ``autograd.grad`` use, so a gradient is itself a
  graph that can be differentiated again). A comparison in a rule (``x > 0.0``) reads the
  operand's number there: such a slope is a step function, a constant without a graph.
* ``autograd.compile`` pastes the same expressions, operands renamed, into the straight-line
  Python it writes for a whole graph (``forward_src``, ``local_src``, ``operands``, ``params``).

Conventions, the same for every op:

* ``check(*operands)`` takes the operand Values (their labels go into the message) and raises
  ValueError or ZeroDivisionError when the operation is undefined there; None when it never is.
* A rule never raises: where a number is too large for a float it is ``inf``, as IEEE
  arithmetic and PyTorch give it (``power`` and ``exp`` below return inf instead of raising
  OverflowError), and ``backward()`` then warns.
* The names a rule may call are :data:`FLOAT_FUNCTIONS` (floats) and their twins for Values in
  :data:`GRAPH_FUNCTIONS`; the constants of a family of ops (the exponent ``n`` of ``x ** n``)
  are ``params``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # ops.py builds no Value itself: derivatives are made from the operands
    from autograd.value import Value


# ---------------------------------------------------------------------------------------------
# Float helpers: IEEE results (inf) where Python's math would raise OverflowError
# ---------------------------------------------------------------------------------------------


def power(x: float, n: float) -> float:
    """x ** n as IEEE arithmetic gives it: too large in magnitude is a signed inf, not an error.

    The sign of an overflowed power is negative exactly when the base is negative and the
    exponent an odd integer ((-1e200) ** 3 is -inf, as in PyTorch); 0 ** negative is inf.
    """
    try:
        return x**n
    except OverflowError:
        return -math.inf if x < 0.0 and n % 2.0 == 1.0 else math.inf
    except ZeroDivisionError:  # 0.0 ** negative; the forward check stops this, derivatives reach it
        return -math.inf if math.copysign(1.0, x) < 0.0 and n % 2.0 == 1.0 else math.inf


def exp(x: float) -> float:
    """e ** x; overflows to inf (past x ~ 709) instead of raising."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x) for any x: exp() only ever sees a non-positive argument."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def softplus(x: float) -> float:
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|): exact to the last bit and never overflows."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


# The functions a rule may call, on floats. The helpers above are plain Python over `math`, so
# a generated program can carry their source with it (see viz/code.py).
FLOAT_FUNCTIONS: dict[str, object] = {
    "power": power,
    "exp": exp,
    "log": math.log,
    "tanh": math.tanh,
    "sigmoid": sigmoid,
    "sqrt": math.sqrt,
    "softplus": softplus,
    "abs": abs,
    "inf": math.inf,
}


def _data(v: object) -> float:
    """The number of a Value (or a float as it is): what a comparison in a rule looks at."""
    return v if type(v) is float else v.data  # type: ignore[attr-defined]


def _graph_power(a: Value | float, e: Value | float) -> Value | float:
    # a ** e between Values records a node. At a = 0 with a negative exponent the power is
    # infinitely steep: a constant inf, as the float rule gives (the node's check would refuse).
    if type(e) is float and e < 0.0 and _data(a) == 0.0:
        return math.inf
    return a**e  # type: ignore[operator]


# Their twins over Values, for the derivative as a graph (each records the op of that name).
GRAPH_FUNCTIONS: dict[str, object] = {
    "power": _graph_power,
    "exp": lambda v: v.exp(),
    "log": lambda v: v.log(),
    "tanh": lambda v: v.tanh(),
    "sigmoid": lambda v: v.sigmoid(),
    "sqrt": lambda v: v.sqrt(),
    "softplus": lambda v: v.softplus(),
    "abs": abs,
    "inf": math.inf,
    "_data": _data,
}


# ---------------------------------------------------------------------------------------------
# Op: the expressions, compiled once
# ---------------------------------------------------------------------------------------------


class _ReadNumbers(ast.NodeTransformer):
    """Rewrites each name in a comparison ``x > 0.0`` to ``_data(x)``, for the graph rule."""

    def visit_Compare(self, node: ast.Compare) -> ast.AST:  # noqa: N802 - ast's visitor name
        def wrap(e: ast.expr) -> ast.expr:
            if not isinstance(e, ast.Name):
                return e
            return ast.Call(ast.Name("_data", ast.Load()), [e], [])

        node.left = wrap(node.left)
        node.comparators = [wrap(e) for e in node.comparators]
        return node


def _function(args: Sequence[str], body: str, namespace: Mapping[str, object], what: str):
    """``lambda *args: body`` compiled once in ``namespace`` (our own rule text, never input)."""
    code = compile(f"lambda {', '.join(args)}: {body}", f"<op {what}>", "eval")
    return eval(code, dict(namespace))  # noqa: S307 - the text is this module's own rules


class Op:
    """One kind of operation: symbol, forward rule, domain check, local derivatives, rule in words.

    ``operands`` names the operands (``("a", "b")``, ``("x",)``); ``forward_src`` is the result
    as an expression of them (``"a * b"``); ``local_src`` holds d(out)/d(operand) for each, as
    expressions of the operands and ``out`` (``("b", "a")``). ``params`` binds the constants a
    family of ops shares its rules with (``{"n": 3.0}`` for ``x ** 3``). ``rules`` says each
    derivative in words, e.g. ``"d tanh(x)/dx = 1 - tanh(x)^2"``. ``arity`` is 1 or 2, or 0 for an
    op with any number of operands (see ``Value.parents``). ``masks``: where a derivative is 0
    the operand gets exactly 0, whatever the gradient (relu: an infinite gradient does not pass
    a unit that is off, as in PyTorch, where 0 * inf would be NaN).

    A node stores only its op and operands; derivatives are computed from the data already on
    the nodes when ``backward()`` needs them (a graph of a million scalars is memory-bound).
    """

    __slots__ = (
        "symbol",
        "rules",
        "arity",
        "operands",
        "forward_src",
        "local_src",
        "params",
        "check",
        "forward",
        "local",
        "local_graph",
        "masks",
    )

    def __init__(
        self,
        symbol: str,
        rules: tuple[str, ...],
        operands: tuple[str, ...],
        forward: str,
        local: tuple[str, ...],
        *,
        check: Callable[..., None] | None = None,
        params: Mapping[str, float] | None = None,
        arity: int | None = None,
        masks: bool = False,
    ) -> None:
        if len(local) != len(operands) or len(rules) != len(operands):
            raise ValueError(f"op {symbol!r}: one derivative and one rule per operand")
        self.symbol = symbol
        self.rules = rules
        self.arity = len(operands) if arity is None else arity
        self.operands = operands
        self.forward_src = forward
        self.local_src = local
        self.params = dict(params or {})
        self.check = check
        self.masks = masks
        floats = {**FLOAT_FUNCTIONS, **self.params}
        graphs = {**GRAPH_FUNCTIONS, **self.params}
        self.forward = _forward_function(operands, forward, floats, symbol)
        body = f"({', '.join(local)},)" if local else "()"
        self.local = _function(("out", *operands), body, floats, symbol)
        graph_body = ast.unparse(_ReadNumbers().visit(ast.parse(body, mode="eval")))
        self.local_graph = _function(("out", *operands), graph_body, graphs, symbol)

    def __repr__(self) -> str:
        return f"Op({self.symbol!r})"


def _forward_function(
    operands: tuple[str, ...], src: str, namespace: Mapping[str, object], what: str
):
    # A rule that is one function applied to the operand (``tanh(x)``) is that function itself:
    # one call less per node on the forward hot path than a lambda around it.
    tree = ast.parse(src, mode="eval").body
    if (
        isinstance(tree, ast.Call)
        and isinstance(tree.func, ast.Name)
        and [a.id for a in tree.args if isinstance(a, ast.Name)] == list(operands)
        and len(tree.args) == len(operands)
        and not tree.keywords
    ):
        return namespace[tree.func.id]
    return _function(operands, src, namespace, what)


def _name(node: Value) -> str:
    """How error messages refer to a node: by its label when it has one."""
    return f"node {node.label!r}" if node.label else "an unlabelled node"


# ---------------------------------------------------------------------------------------------
# Binary operations
# ---------------------------------------------------------------------------------------------

# a + b. Its derivatives are the constant tuple (1.0, 1.0): Python keeps one such tuple for
# the function, so an addition allocates no derivative tuple.
ADD = Op(
    "+",
    rules=("d(a+b)/da = 1", "d(a+b)/db = 1"),
    operands=("a", "b"),
    forward="a + b",
    local=("1.0", "1.0"),
)

# a - b
SUB = Op(
    "-",
    rules=("d(a-b)/da = 1", "d(a-b)/db = -1"),
    operands=("a", "b"),
    forward="a - b",
    local=("1.0", "-1.0"),
)

# a * b
MUL = Op(
    "*",
    rules=("d(a*b)/da = b", "d(a*b)/db = a"),
    operands=("a", "b"),
    forward="a * b",
    local=("b", "a"),
)


# a / b
def _check_div(a: Value, b: Value) -> None:
    if b.data == 0.0:
        raise ZeroDivisionError(
            f"division by zero: the denominator ({_name(b)}) is 0.0 "
            f"and the numerator ({_name(a)}) is {a.data:g}"
        )


DIV = Op(
    "/",
    rules=("d(a/b)/da = 1/b", "d(a/b)/db = -a/b^2"),
    operands=("a", "b"),
    forward="a / b",
    local=("1.0 / b", "-out / b"),  # -a/b^2 written as -(a/b)/b: no overflow of b^2
    check=_check_div,
)


# a ** b, with b a Value (for a constant exponent see power_op below)
def _check_pow(a: Value, b: Value) -> None:
    if not a.data > 0.0:
        raise ValueError(
            f"a ** b with a Value exponent needs a positive base (d/db uses ln(a)); "
            f"{_name(a)} is {a.data:g}"
        )


POW = Op(
    "**",
    rules=("d(a^b)/da = b * a^(b-1)", "d(a^b)/db = a^b * ln(a)"),
    operands=("a", "b"),
    forward="power(a, b)",
    local=("b * power(a, b - 1.0)", "out * log(a)"),
    check=_check_pow,
)

# ---------------------------------------------------------------------------------------------
# Unary operations
# ---------------------------------------------------------------------------------------------

# -x
NEG = Op("neg", rules=("d(-x)/dx = -1",), operands=("x",), forward="-x", local=("-1.0",))

# e^x
EXP = Op(
    "exp", rules=("d exp(x)/dx = exp(x)",), operands=("x",), forward="exp(x)", local=("out",)
)


# ln x
def _check_log(x: Value) -> None:
    if not x.data > 0.0 and not math.isnan(x.data):
        raise ValueError(f"log needs a positive argument: {_name(x)} is {x.data:g} (op 'log')")


LOG = Op(
    "log",
    rules=("d ln(x)/dx = 1/x",),
    operands=("x",),
    forward="log(x)",
    local=("1.0 / x",),
    check=_check_log,
)

# tanh x
TANH = Op(
    "tanh",
    rules=("d tanh(x)/dx = 1 - tanh(x)^2",),
    operands=("x",),
    forward="tanh(x)",
    local=("1.0 - out * out",),
)

# sigmoid x = 1 / (1 + e^-x)
SIGMOID = Op(
    "sigmoid",
    rules=("d sigmoid(x)/dx = sigmoid(x) * (1 - sigmoid(x))",),
    operands=("x",),
    forward="sigmoid(x)",
    local=("out * (1.0 - out)",),
)

# relu x = max(0, x). NaN stays NaN (as in PyTorch); the slope at exactly 0 is taken as 0. The
# slope is a step function of x: a constant, whose own derivative is 0, so it has no graph.
# PyTorch's relu backward is where(out <= 0, 0, g): a unit that is off passes exactly 0, even an
# infinite g (masks), and at NaN the gradient passes (the slope written below is 1 there).
RELU = Op(
    "relu",
    rules=("d relu(x)/dx = 1 if x > 0 else 0",),
    operands=("x",),
    forward="0.0 if x <= 0.0 else x",
    local=("0.0 if x <= 0.0 else 1.0",),
    masks=True,
)


# sqrt x
def _check_sqrt(x: Value) -> None:
    if x.data < 0.0:
        raise ValueError(
            f"sqrt needs a non-negative argument: {_name(x)} is {x.data:g} (op 'sqrt')"
        )


SQRT = Op(
    "sqrt",
    rules=("d sqrt(x)/dx = 1 / (2 sqrt(x))",),
    operands=("x",),
    forward="sqrt(x)",
    # Infinite at 0 (Python would raise on 0.5 / 0.0): backward() then warns instead of crashing.
    local=("0.5 / out if out != 0.0 else inf",),
    check=_check_sqrt,
)

# |x|; the slope at exactly 0 is taken as 0, as in PyTorch. A constant, like relu's.
ABS = Op(
    "abs",
    rules=("d |x|/dx = sign(x) (0 at x = 0)",),
    operands=("x",),
    forward="abs(x)",
    local=("1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0",),
)

# softplus x = ln(1 + e^x)
SOFTPLUS = Op(
    "softplus",
    rules=("d softplus(x)/dx = sigmoid(x)",),
    operands=("x",),
    forward="softplus(x)",
    local=("sigmoid(x)",),
)

# ---------------------------------------------------------------------------------------------
# Families of operations: one Op per constant (cached, so equal constants share one Op)
# ---------------------------------------------------------------------------------------------


def _power_slope(n: float) -> str:
    """d(x^n)/dx as a rule: n * x^(n-1), written out for the common exponents.

    x^0 is the constant 1, whose slope is 0 everywhere, 0 included (PyTorch too); x^1 has slope
    1; x^2 has slope 2x (x ** 1.0 is x to the last bit, so ``n * x`` is the same number).
    """
    if n == 0.0:
        return "0.0"
    if n == 1.0:
        return "1.0"
    if n == 2.0:
        return "n * x"
    return "n * power(x, n - 1.0)"


@lru_cache(maxsize=256)
def power_op(n: float) -> Op:
    """x ** n for a constant exponent n."""
    text = f"{n:g}"
    fractional = not n.is_integer()

    def check(x: Value) -> None:
        if x.data == 0.0 and n < 0.0:
            raise ValueError(f"0 ** {text} is undefined: {_name(x)} is 0.0 (op '**{text}')")
        if x.data < 0.0 and fractional:
            raise ValueError(
                f"a negative number to a fractional power is not real: "
                f"{_name(x)} is {x.data:g} (op '**{text}')"
            )

    return Op(
        f"**{text}",
        rules=(f"d(x^{text})/dx = {text} * x^{n - 1:g}",),
        operands=("x",),
        forward="power(x, n)",
        local=(_power_slope(n),),
        check=check,
        params={"n": n},
    )


@lru_cache(maxsize=64)
def leaky_relu_op(slope: float) -> Op:
    """leaky_relu(x) = x for x > 0, slope * x otherwise; its slope is a constant (no graph)."""
    return Op(
        "leaky_relu",
        rules=(f"d leaky_relu(x)/dx = 1 if x > 0 else {slope:g}",),
        operands=("x",),
        forward="x if x > 0.0 else slope * x",
        local=("1.0 if x > 0.0 else slope",),
        params={"slope": slope},
    )


@lru_cache(maxsize=256)
def weighted_sum_op(n: int, has_bias: bool) -> Op:
    """sum_i w_i * x_i (+ b) over n pairs, one fused node; operands (w_1..w_n, x_1..x_n[, b]).

    The sum goes left to right, the order a chain of * and + nodes uses, so both give the same
    number. d/dw_i = x_i, d/dx_i = w_i, d/db = 1.
    """
    ws = [f"w{i}" for i in range(1, n + 1)]
    xs = [f"x{i}" for i in range(1, n + 1)]
    terms = [f"{w} * {x}" for w, x in zip(ws, xs)]
    rules = tuple(f"d(sum w*x)/d{w} = {x}" for w, x in zip(ws, xs))
    rules += tuple(f"d(sum w*x)/d{x} = {w}" for w, x in zip(ws, xs))
    operands, local = (*ws, *xs), (*xs, *ws)
    if has_bias:
        rules += ("d(sum w*x + b)/db = 1",)
        operands, local, terms = (*operands, "b"), (*local, "1.0"), [*terms, "b"]
    return Op(
        "sum(w*x)+b" if has_bias else "sum(w*x)",
        rules,
        operands=operands,
        forward=" + ".join(terms) or "0.0",
        local=local,
        arity=0,
    )
