"""Each operation of the engine in one place: forward, domain check, derivative, rule in words.

An :class:`Op` is one kind of operation. Read one the way you read micrograd's op beside its
backward: the forward rule, the domain check with its error message, the local derivative on
floats (what ``backward()`` uses), the same derivative as an expression of Values (what
``backward(create_graph=True)`` and ``autograd.grad`` use, so a gradient is itself a graph that
can be differentiated again), and the rule in words (what traces and drawings print).

Conventions, the same for every op:

* ``forward(*xs)`` takes the operands' data (floats) and returns the result's data.
* ``check(*operands)`` takes the operand Values (their labels go into the message) and raises
  ValueError or ZeroDivisionError when the operation is undefined there; None when it never is.
* ``local(out, *xs)`` takes the result's and the operands' data (floats) and returns d(out)/d(x)
  for each operand, in operand order, as floats. It never raises: where the derivative is too
  large for a float it is ``inf``, as IEEE arithmetic and PyTorch give it, and ``backward()``
  then warns.
* ``local_graph(out, *operands)`` takes the result and operand *Values* and returns the same
  derivatives as Values built from them (or plain floats for constants, which have no graph).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # ops.py builds no Value itself: derivatives are made from the operands
    from autograd.value import Value


class Op:
    """One kind of operation: symbol, forward rule, domain check, local derivatives, rule in words.

    ``rules`` holds one sentence per operand, e.g. ``"d tanh(x)/dx = 1 - tanh(x)^2"``.
    ``arity`` is 1 or 2, or 0 for an op with any number of operands (see ``Value.parents``).
    A node stores only its op and operands; derivatives are computed from the data already on
    the nodes when ``backward()`` needs them (a graph of a million scalars is memory-bound).
    """

    __slots__ = ("symbol", "rules", "local", "arity", "forward", "check", "local_graph")

    def __init__(
        self,
        symbol: str,
        rules: tuple[str, ...],
        local: Callable[..., Sequence[float]],
        arity: int | None = None,
        *,
        forward: Callable[..., float] | None = None,
        check: Callable[..., None] | None = None,
        local_graph: Callable[..., Sequence[Value | float]] | None = None,
    ) -> None:
        self.symbol = symbol
        self.rules = rules
        self.local = local
        self.arity = len(rules) if arity is None else arity
        self.forward = forward
        self.check = check
        self.local_graph = local_graph

    def __repr__(self) -> str:
        return f"Op({self.symbol!r})"


def _name(node: Value) -> str:
    """How error messages refer to a node: by its label when it has one."""
    return f"node {node.label!r}" if node.label else "an unlabelled node"


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


# ---------------------------------------------------------------------------------------------
# Binary operations
# ---------------------------------------------------------------------------------------------

_ONE_ONE = (1.0, 1.0)  # shared, so an addition allocates no derivative tuple

# a + b
ADD = Op(
    "+",
    rules=("d(a+b)/da = 1", "d(a+b)/db = 1"),
    forward=lambda a, b: a + b,
    local=lambda out, a, b: _ONE_ONE,
    local_graph=lambda out, a, b: (1.0, 1.0),
)

# a - b
SUB = Op(
    "-",
    rules=("d(a-b)/da = 1", "d(a-b)/db = -1"),
    forward=lambda a, b: a - b,
    local=lambda out, a, b: (1.0, -1.0),
    local_graph=lambda out, a, b: (1.0, -1.0),
)

# a * b
MUL = Op(
    "*",
    rules=("d(a*b)/da = b", "d(a*b)/db = a"),
    forward=lambda a, b: a * b,
    local=lambda out, a, b: (b, a),
    local_graph=lambda out, a, b: (b, a),
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
    forward=lambda a, b: a / b,
    check=_check_div,
    local=lambda out, a, b: (1.0 / b, -out / b),  # -a/b^2 written as -(a/b)/b: no overflow of b^2
    local_graph=lambda out, a, b: (1.0 / b, -out / b),
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
    forward=power,
    check=_check_pow,
    local=lambda out, a, b: (b * power(a, b - 1.0), out * math.log(a)),
    local_graph=lambda out, a, b: (b * a ** (b - 1.0), out * a.log()),
)

# ---------------------------------------------------------------------------------------------
# Unary operations
# ---------------------------------------------------------------------------------------------

# -x
NEG = Op(
    "neg",
    rules=("d(-x)/dx = -1",),
    forward=lambda x: -x,
    local=lambda out, x: (-1.0,),
    local_graph=lambda out, x: (-1.0,),
)

# e^x
EXP = Op(
    "exp",
    rules=("d exp(x)/dx = exp(x)",),
    forward=exp,
    local=lambda out, x: (out,),
    local_graph=lambda out, x: (out,),
)


# ln x
def _check_log(x: Value) -> None:
    if not x.data > 0.0 and not math.isnan(x.data):
        raise ValueError(f"log needs a positive argument: {_name(x)} is {x.data:g} (op 'log')")


LOG = Op(
    "log",
    rules=("d ln(x)/dx = 1/x",),
    forward=math.log,
    check=_check_log,
    local=lambda out, x: (1.0 / x,),
    local_graph=lambda out, x: (1.0 / x,),
)

# tanh x
TANH = Op(
    "tanh",
    rules=("d tanh(x)/dx = 1 - tanh(x)^2",),
    forward=math.tanh,
    local=lambda out, x: (1.0 - out * out,),
    local_graph=lambda out, x: (1.0 - out * out,),
)

# sigmoid x = 1 / (1 + e^-x)
SIGMOID = Op(
    "sigmoid",
    rules=("d sigmoid(x)/dx = sigmoid(x) * (1 - sigmoid(x))",),
    forward=sigmoid,
    local=lambda out, x: (out * (1.0 - out),),
    local_graph=lambda out, x: (out * (1.0 - out),),
)

# relu x = max(0, x). NaN stays NaN (as in PyTorch); the slope at exactly 0 is taken as 0. The
# slope is a step function of x: a constant, whose own derivative is 0, so it has no graph.
RELU = Op(
    "relu",
    rules=("d relu(x)/dx = 1 if x > 0 else 0",),
    forward=lambda x: 0.0 if x <= 0.0 else x,
    local=lambda out, x: (1.0 if x > 0.0 else 0.0,),
    local_graph=lambda out, x: (1.0 if x.data > 0.0 else 0.0,),
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
    forward=math.sqrt,
    check=_check_sqrt,
    # Infinite at 0 (Python would raise on 0.5 / 0.0): backward() then warns instead of crashing.
    local=lambda out, x: (0.5 / out if out != 0.0 else math.inf,),
    local_graph=lambda out, x: (0.5 / out if out.data != 0.0 else math.inf,),
)

# |x|; the slope at exactly 0 is taken as 0, as in PyTorch. A constant, like relu's.
ABS = Op(
    "abs",
    rules=("d |x|/dx = sign(x) (0 at x = 0)",),
    forward=abs,
    local=lambda out, x: (1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0,),
    local_graph=lambda out, x: (1.0 if x.data > 0.0 else -1.0 if x.data < 0.0 else 0.0,),
)

# softplus x = ln(1 + e^x)
SOFTPLUS = Op(
    "softplus",
    rules=("d softplus(x)/dx = sigmoid(x)",),
    forward=softplus,
    local=lambda out, x: (sigmoid(x),),
    local_graph=lambda out, x: (x.sigmoid(),),
)

# ---------------------------------------------------------------------------------------------
# Families of operations: one Op per constant (cached, so equal constants share one Op)
# ---------------------------------------------------------------------------------------------


def _power_slope(x: float, n: float) -> float:
    # n * x^(n-1); x^0 is the constant 1, whose slope is 0 everywhere, 0 included (PyTorch too).
    return 0.0 if n == 0.0 else n * power(x, n - 1.0)


def _power_slope_graph(x: Value, n: float) -> Value | float:
    if n == 0.0:
        return 0.0
    if n == 1.0:
        return 1.0
    if x.data == 0.0 and n < 1.0:  # x^(n-1) with a negative exponent at 0: infinitely steep
        return math.copysign(math.inf, n)
    return n * x ** (n - 1.0)


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

    def forward(x: float) -> float:
        try:
            return x**n
        except OverflowError:  # power() below, written out: this is on the forward hot path
            return -math.inf if x < 0.0 and n % 2.0 == 1.0 else math.inf

    return Op(
        f"**{text}",
        rules=(f"d(x^{text})/dx = {text} * x^{n - 1:g}",),
        forward=forward,
        check=check,
        local=lambda out, x: (_power_slope(x, n),),
        local_graph=lambda out, x: (_power_slope_graph(x, n),),
    )


@lru_cache(maxsize=64)
def leaky_relu_op(slope: float) -> Op:
    """leaky_relu(x) = x for x > 0, slope * x otherwise; its slope is a constant (no graph)."""
    return Op(
        "leaky_relu",
        rules=(f"d leaky_relu(x)/dx = 1 if x > 0 else {slope:g}",),
        forward=lambda x: x if x > 0.0 else slope * x,
        local=lambda out, x: (1.0 if x > 0.0 else slope,),
        local_graph=lambda out, x: (1.0 if x.data > 0.0 else slope,),
    )


def _weighted_sum_forward(*operands: float) -> float:
    # Left to right, the order a chain of * and + nodes uses, so both give the same number.
    n = len(operands) // 2
    total = 0.0
    for i in range(n):
        total += operands[i] * operands[n + i]
    return total + operands[-1] if len(operands) & 1 else total


def _weighted_sum_local(out: object, *operands: object) -> list:
    # d/dw_i = x_i, d/dx_i = w_i, d/db = 1. The same expression serves floats and Values.
    n = len(operands) // 2
    ws, xs = operands[:n], operands[n : 2 * n]
    return [*xs, *ws, 1.0] if len(operands) & 1 else [*xs, *ws]


@lru_cache(maxsize=256)
def weighted_sum_op(n: int, has_bias: bool) -> Op:
    """sum_i w_i * x_i (+ b) over n pairs, one fused node; operands (w_1..w_n, x_1..x_n[, b])."""
    rules = tuple(f"d(sum w*x)/dw{i} = x{i}" for i in range(1, n + 1))
    rules += tuple(f"d(sum w*x)/dx{i} = w{i}" for i in range(1, n + 1))
    if has_bias:
        rules += ("d(sum w*x + b)/db = 1",)
    return Op(
        "sum(w*x)+b" if has_bias else "sum(w*x)",
        rules,
        forward=_weighted_sum_forward,
        local=_weighted_sum_local,
        local_graph=_weighted_sum_local,
        arity=0,
    )
