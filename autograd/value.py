"""The scalar autograd engine: `Value`, its operations and local derivatives, and `backward()`."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from autograd.grad_mode import GRAD_MODE


class NonFiniteWarning(RuntimeWarning):
    """Warned by ``backward()`` when a value or gradient on the way was NaN or infinite."""


# ---------------------------------------------------------------------------------------------
# Operations as data
# ---------------------------------------------------------------------------------------------


class Op:
    """One kind of operation: its symbol, its local derivatives as code, and the same rule in words.

    ``local(out, *parents)`` returns d(out)/d(parent) for each parent, in parent order. It is
    evaluated during ``backward()`` from the data already on the nodes, so a node stores no
    gradient closure and no extra numbers (a graph of a million scalars is memory-bound).
    ``rules`` holds one sentence per parent, e.g. ``"d tanh(x)/dx = 1 - tanh(x)^2"``.
    ``arity`` is 1 or 2, or 0 for an op with any number of operands (see ``Value.parents``).
    """

    __slots__ = ("symbol", "rules", "local", "arity")

    def __init__(
        self,
        symbol: str,
        rules: tuple[str, ...],
        local: Callable[..., Sequence[float]],
        arity: int | None = None,
    ) -> None:
        self.symbol = symbol
        self.rules = rules
        self.local = local
        self.arity = len(rules) if arity is None else arity

    def __repr__(self) -> str:
        return f"Op({self.symbol!r})"


_ONE_ONE = (1.0, 1.0)  # shared, so an addition allocates no derivative tuple


def _sigmoid(x: float) -> float:
    # Two branches so that exp() only ever sees a non-positive argument: no overflow for any x.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): exact to the last bit and never overflows.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _exp(x: float) -> float:
    # math.exp raises OverflowError past ~709; IEEE arithmetic (and PyTorch) give inf instead.
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


ADD = Op("+", ("d(a+b)/da = 1", "d(a+b)/db = 1"), lambda out, a, b: _ONE_ONE)
SUB = Op("-", ("d(a-b)/da = 1", "d(a-b)/db = -1"), lambda out, a, b: (1.0, -1.0))
MUL = Op("*", ("d(a*b)/da = b", "d(a*b)/db = a"), lambda out, a, b: (b.data, a.data))
DIV = Op(
    "/",
    ("d(a/b)/da = 1/b", "d(a/b)/db = -a/b^2"),
    lambda out, a, b: (1.0 / b.data, -out.data / b.data),
)
NEG = Op("neg", ("d(-x)/dx = -1",), lambda out, x: (-1.0,))
POW = Op(
    "**",
    ("d(a^b)/da = b * a^(b-1)", "d(a^b)/db = a^b * ln(a)"),
    lambda out, a, b: (b.data * a.data ** (b.data - 1.0), out.data * math.log(a.data)),
)
EXP = Op("exp", ("d exp(x)/dx = exp(x)",), lambda out, x: (out.data,))
LOG = Op("log", ("d ln(x)/dx = 1/x",), lambda out, x: (1.0 / x.data,))
TANH = Op("tanh", ("d tanh(x)/dx = 1 - tanh(x)^2",), lambda out, x: (1.0 - out.data * out.data,))
SIGMOID = Op(
    "sigmoid",
    ("d sigmoid(x)/dx = sigmoid(x) * (1 - sigmoid(x))",),
    lambda out, x: (out.data * (1.0 - out.data),),
)
RELU = Op(
    "relu", ("d relu(x)/dx = 1 if x > 0 else 0",), lambda out, x: (1.0 if x.data > 0.0 else 0.0,)
)
SQRT = Op(
    "sqrt",
    ("d sqrt(x)/dx = 1 / (2 sqrt(x))",),
    # Infinite at 0 (Python would raise on 0.5 / 0.0): backward() then warns instead of crashing.
    lambda out, x: (0.5 / out.data if out.data != 0.0 else math.inf,),
)
ABS = Op(
    "abs",
    ("d |x|/dx = sign(x) (0 at x = 0)",),
    lambda out, x: (1.0 if x.data > 0.0 else -1.0 if x.data < 0.0 else 0.0,),
)
SOFTPLUS = Op("softplus", ("d softplus(x)/dx = sigmoid(x)",), lambda out, x: (_sigmoid(x.data),))


@lru_cache(maxsize=256)
def _power_op(exponent: float) -> Op:
    """The op `x ** exponent` for a constant exponent; cached, so equal exponents share one Op."""
    n = exponent
    text = f"{n:g}"

    def local(out: Value, x: Value) -> tuple[float]:
        try:
            return (n * x.data ** (n - 1.0),)
        except ZeroDivisionError:  # x = 0 with n < 1: the slope is infinite, as IEEE would say
            return (math.copysign(math.inf, n),)

    return Op(f"**{text}", (f"d(x^{text})/dx = {text} * x^{n - 1:g}",), local)


@lru_cache(maxsize=64)
def _leaky_relu_op(slope: float) -> Op:
    """The op `leaky_relu(x)` for one negative-side slope; cached per slope."""
    return Op(
        "leaky_relu",
        (f"d leaky_relu(x)/dx = 1 if x > 0 else {slope:g}",),
        lambda out, x: (1.0 if x.data > 0.0 else slope,),
    )


@lru_cache(maxsize=256)
def _weighted_sum_op(n: int, has_bias: bool) -> Op:
    """The fused op `sum_i w_i * x_i (+ b)` over n pairs; parents are (w_1..w_n, x_1..x_n[, b])."""
    rules = tuple(f"d(sum w*x)/dw{i} = x{i}" for i in range(1, n + 1))
    rules += tuple(f"d(sum w*x)/dx{i} = w{i}" for i in range(1, n + 1))
    if has_bias:
        rules += ("d(sum w*x + b)/db = 1",)

    def local(out: Value, *parents: Value) -> tuple[float, ...]:
        ws, xs = parents[:n], parents[n : 2 * n]
        grads = [x.data for x in xs] + [w.data for w in ws]
        if has_bias:
            grads.append(1.0)
        return grads

    return Op("sum(w*x)+b" if has_bias else "sum(w*x)", rules, local, arity=0)


# ---------------------------------------------------------------------------------------------
# Helpers for building nodes
# ---------------------------------------------------------------------------------------------

_new_object = object.__new__


def _result(data: float, op: Op, a: object, b: Value | None = None) -> Value:
    """Make the output node of an operation; inside no_grad() it records no parents.

    ``a`` and ``b`` are the operands of a unary or binary op; an op of any arity passes the tuple
    of all its operands as ``a`` (see ``Value.parents``).
    """
    out = _new_object(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if GRAD_MODE.enabled:
        out._op = op
        out._a = a
        out._b = b
    else:
        out._op = out._a = out._b = None
    return out


def _check_number(data: object, what: str) -> float:
    """Turn a real number into a float, or raise TypeError saying what was given instead."""
    if isinstance(data, bool) or not isinstance(data, numbers.Real):
        if isinstance(data, Value):
            raise TypeError(f"{what} is already a Value; use it directly instead of wrapping it")
        raise TypeError(
            f"{what} must be a real number (int or float), got {type(data).__name__} {data!r}"
        )
    return float(data)


def _lift(other: object, op: str) -> Value:
    """A Value for the other operand of a binary op: itself, or a new constant leaf."""
    if isinstance(other, Value):
        return other
    return Value(_check_number(other, f"the other operand of {op!r}"))


def _name(node: Value) -> str:
    """How error messages refer to a node: by its label when it has one."""
    return f"node {node.label!r}" if node.label else "an unlabelled node"


# ---------------------------------------------------------------------------------------------
# Value
# ---------------------------------------------------------------------------------------------


class Value:
    """A scalar that remembers how it was computed, so that ``backward()`` can find its gradient.

    Every arithmetic operation on Values returns a new Value whose parents (a tuple, in operand
    order) and op are recorded, building a directed acyclic graph. ``backward()`` on the final
    node fills ``.grad`` of every node in that graph with d(final)/d(node).

    Gradient semantics (as in PyTorch):

    * Leaves (Values made by you, not by an operation) *accumulate*: each ``backward()`` adds to
      their ``.grad``. Call ``zero_grad`` on your model (or set ``.grad = 0.0``) between steps.
    * Non-leaf nodes are recomputed on every ``backward()``: their ``.grad`` is reset first, so
      calling ``backward()`` twice on the same graph gives leaves exactly twice the gradient and
      never double-counts through a stale intermediate gradient.
    * A node used several times (``b = a + a``) receives the sum over all paths (here 2).
    * If a value or gradient on the way is NaN or infinite, ``backward()`` still completes but
      warns with :class:`NonFiniteWarning`, naming the first such node.

    ``Value(data, label="")``: data must be a real number; the label is used in drawings,
    traces and error messages.
    """

    # Slots, not a __dict__: a node is 80 bytes. The parents live in two slots instead of a
    # tuple so that each node is one object for the garbage collector to scan, not two.
    __slots__ = ("data", "grad", "label", "_op", "_a", "_b")

    def __init__(self, data: float, label: str = "") -> None:
        self.data = data if type(data) is float else _check_number(data, "Value data")
        self.grad = 0.0  # d(output)/d(self), filled by backward()
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__} {label!r}")
        self.label = label
        self._op: Op | None = None  # the operation that made this node; None for a leaf
        self._a: object = None  # first operand, or the tuple of all operands when op.arity == 0
        self._b: Value | None = None  # second operand of a binary op

    # -- introspection ---------------------------------------------------------------------

    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands this node was computed from, in order (empty for a leaf)."""
        return _parents(self)

    @property
    def op(self) -> str:
        """The symbol of the operation that produced this node ('' for a leaf)."""
        return self._op.symbol if self._op is not None else ""

    @property
    def is_leaf(self) -> bool:
        """True for a Value that no recorded operation produced (an input or a parameter)."""
        return self._op is None

    def local_grads(self) -> tuple[float, ...]:
        """d(self)/d(parent) for each parent, in parent order, from the current data."""
        if self._op is None:
            return ()
        return tuple(self._op.local(self, *_parents(self)))

    def local_rules(self) -> tuple[str, ...]:
        """The local rule for each parent in words, e.g. 'd tanh(x)/dx = 1 - tanh(x)^2'."""
        return self._op.rules if self._op is not None else ()

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        op = f", op={self.op!r}" if self._op is not None else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label}{op})"

    def __float__(self) -> float:
        return self.data

    # -- arithmetic ------------------------------------------------------------------------

    def __add__(self, other: Value | float) -> Value:
        other = other if type(other) is Value else _lift(other, "+")
        return _result(self.data + other.data, ADD, self, other)

    def __radd__(self, other: float) -> Value:
        return _lift(other, "+") + self

    def __sub__(self, other: Value | float) -> Value:
        other = other if type(other) is Value else _lift(other, "-")
        return _result(self.data - other.data, SUB, self, other)

    def __rsub__(self, other: float) -> Value:
        return _lift(other, "-") - self

    def __mul__(self, other: Value | float) -> Value:
        other = other if type(other) is Value else _lift(other, "*")
        return _result(self.data * other.data, MUL, self, other)

    def __rmul__(self, other: float) -> Value:
        return _lift(other, "*") * self

    def __truediv__(self, other: Value | float) -> Value:
        other = other if type(other) is Value else _lift(other, "/")
        if other.data == 0.0:
            raise ZeroDivisionError(
                f"division by zero: the denominator ({_name(other)}) is 0.0 "
                f"and the numerator ({_name(self)}) is {self.data:g}"
            )
        return _result(self.data / other.data, DIV, self, other)

    def __rtruediv__(self, other: float) -> Value:
        return _lift(other, "/") / self

    def __neg__(self) -> Value:
        return _result(-self.data, NEG, self)

    def __pow__(self, exponent: Value | float) -> Value:
        """``x ** n`` for a constant number n, or ``a ** b`` for a Value b (then a must be > 0)."""
        if isinstance(exponent, Value):
            if not self.data > 0.0:
                raise ValueError(
                    f"a ** b with a Value exponent needs a positive base (d/db uses ln(a)); "
                    f"{_name(self)} is {self.data:g}"
                )
            return _result(_power(self.data, exponent.data), POW, self, exponent)
        n = _check_number(exponent, "the exponent of '**'")
        x = self.data
        if x == 0.0 and n < 0.0:
            raise ValueError(f"0 ** {n:g} is undefined: {_name(self)} is 0.0 (op '**{n:g}')")
        if x < 0.0 and not n.is_integer():
            raise ValueError(
                f"a negative number to a fractional power is not real: "
                f"{_name(self)} is {x:g} (op '**{n:g}')"
            )
        return _result(_power(x, n), _power_op(n), self)

    def __rpow__(self, base: float) -> Value:
        return _lift(base, "**") ** self

    # -- functions ---------------------------------------------------------------------------

    def exp(self) -> Value:
        """e ** self. Overflows to inf (like IEEE arithmetic), which backward() then warns about."""
        return _result(_exp(self.data), EXP, self)

    def log(self) -> Value:
        """Natural logarithm; raises ValueError for data <= 0."""
        if not self.data > 0.0 and not math.isnan(self.data):
            raise ValueError(
                f"log needs a positive argument: {_name(self)} is {self.data:g} (op 'log')"
            )
        return _result(math.log(self.data), LOG, self)

    def tanh(self) -> Value:
        """Hyperbolic tangent."""
        return _result(math.tanh(self.data), TANH, self)

    def sigmoid(self) -> Value:
        """Logistic function 1 / (1 + e^-x), computed without overflow for any x."""
        return _result(_sigmoid(self.data), SIGMOID, self)

    def relu(self) -> Value:
        """max(0, x); its derivative at exactly 0 is taken as 0, as in PyTorch."""
        return _result(self.data if self.data > 0.0 else 0.0, RELU, self)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """x for x > 0, slope * x otherwise."""
        slope = _check_number(slope, "leaky_relu slope")
        x = self.data
        return _result(x if x > 0.0 else slope * x, _leaky_relu_op(slope), self)

    def sqrt(self) -> Value:
        """Square root; raises ValueError for data < 0 (its derivative at 0 is inf)."""
        if self.data < 0.0:
            raise ValueError(
                f"sqrt needs a non-negative argument: {_name(self)} is {self.data:g} (op 'sqrt')"
            )
        return _result(math.sqrt(self.data), SQRT, self)

    def __abs__(self) -> Value:
        return _result(abs(self.data), ABS, self)

    def softplus(self) -> Value:
        """log(1 + e^x), computed stably; its derivative is sigmoid(x)."""
        return _result(_softplus(self.data), SOFTPLUS, self)

    # -- backward ------------------------------------------------------------------------------

    def backward(self) -> None:
        """Fill ``.grad`` of every node this one depends on with d(self)/d(node).

        Seeds this node with 1.0 (added, if it is itself a leaf), then visits the nodes in reverse
        topological order and applies the chain rule: ``parent.grad += local * node.grad``.
        No recursion, so a chain of any depth works at the default recursion limit.
        See the class docstring for accumulation, repeated calls and non-finite values.
        """
        backpropagate(self)


def _parents(node: Value) -> tuple[Value, ...]:
    """The parents of a node, in operand order, from its two operand slots."""
    op = node._op
    if op is None:
        return ()
    if op.arity == 2:
        return (node._a, node._b)
    if op.arity == 1:
        return (node._a,)
    return node._a  # an op of any arity keeps the tuple of all its operands in _a


def _power(x: float, n: float) -> float:
    # ** overflows with an OverflowError for floats; IEEE gives inf.
    try:
        return x**n
    except OverflowError:
        return math.inf


def weighted_sum(
    weights: Sequence[Value], inputs: Sequence[Value | float], bias: Value | None = None
) -> Value:
    """One fused node for ``sum_i weights[i] * inputs[i] (+ bias)``.

    It gives the same number and gradients as the chain of ``*`` and ``+`` nodes, but builds a
    single node per neuron, which makes a forward and backward pass several times faster. Its
    parents are ``(w_1..w_n, x_1..x_n[, bias])``.
    """
    weights = tuple(weights)
    inputs = tuple(x if type(x) is Value else _lift(x, "weighted_sum") for x in inputs)
    if len(weights) != len(inputs):
        raise ValueError(
            f"weighted_sum needs as many weights as inputs: got {len(weights)} weights "
            f"and {len(inputs)} inputs"
        )
    for w in weights:
        if not isinstance(w, Value):
            raise TypeError(f"weighted_sum weights must be Values, got {type(w).__name__} {w!r}")
    data = 0.0
    for w, x in zip(weights, inputs):  # left to right, the order a chain of * and + nodes uses
        data += w.data * x.data
    if bias is None:
        return _result(data, _weighted_sum_op(len(weights), False), weights + inputs)
    bias = bias if type(bias) is Value else _lift(bias, "weighted_sum")
    op = _weighted_sum_op(len(weights), True)
    return _result(data + bias.data, op, weights + inputs + (bias,))


# ---------------------------------------------------------------------------------------------
# The backward pass
# ---------------------------------------------------------------------------------------------


class _Pass:
    """One backward pass over a graph: its nodes in order, and its leaves with their old grads."""

    __slots__ = ("order", "leaves", "saved")

    def __init__(self) -> None:
        self.order: list[Value] = []  # non-leaf nodes, each after all of its parents
        self.leaves: list[Value] = []  # each leaf once
        self.saved: list[float] = []  # the leaves' grads before this pass

    def restore_leaves(self) -> None:
        for leaf, grad in zip(self.leaves, self.saved):
            leaf.grad = grad


_DONE = object()  # stack marker for _prepare_pass


def _prepare_pass(root: Value) -> _Pass:
    """Order the graph below root for the chain rule and set every grad in it to 0.0.

    Iterative depth-first search (no recursion limit). While it runs, a visited node's grad
    holds None, so marking costs no memory (that keeps a node small): non-leaf grads are reset on
    every pass anyway, and each leaf's old grad is saved to be added back at the end. Adding a
    whole pass's gradient to the old one in a single step is what makes a second backward()
    give exactly twice the first, to the last bit.
    """
    p = _Pass()
    # The stack holds nodes to expand, and _DONE markers each followed (below it) by a node
    # whose parents are all finished. Markers instead of (node, flag) pairs: no allocation per
    # node, which matters because each allocation of a tracked object advances the GC.
    stack: list[object] = [root]
    push, pop = stack.append, stack.pop
    try:
        while stack:
            node = pop()
            if node is _DONE:
                p.order.append(pop())
                continue
            grad = node.grad
            if grad is None:  # already visited through another path
                continue
            node.grad = None
            op = node._op
            if op is None:
                p.leaves.append(node)
                p.saved.append(grad)
                continue
            push(node)
            push(_DONE)
            # Parents read straight from the slots, not via _parents(): no tuple per node.
            if op.arity == 0:
                stack.extend(node._a)
            else:
                push(node._a)
                if node._b is not None:
                    push(node._b)
    except BaseException:
        # Interrupted: put back what the user had, and leave no None behind.
        p.restore_leaves()
        for node in p.order:
            node.grad = 0.0
        for node in stack:
            if node is not _DONE and node.grad is None:
                node.grad = 0.0
        raise
    for node in p.order:
        node.grad = 0.0
    for leaf in p.leaves:
        leaf.grad = 0.0
    return p


def backpropagate(
    root: Value, on_step: Callable[[Value, Sequence[float]], None] | None = None
) -> list[Value]:
    """Run the chain rule from root; the engine behind ``Value.backward()``.

    ``on_step(node, local_grads)`` is called for each non-leaf node, in the order visited, just
    before its gradient is passed to its parents (the step-by-step trace is built on it).
    Returns the non-leaf nodes in the order visited.
    """
    p = _prepare_pass(root)
    order = p.order
    order.reverse()
    root.grad = 1.0
    # A running sum of every node's data and grad and every other contribution: NaN and inf
    # are absorbing, so one test at the end tells whether anything on the way was non-finite.
    check = 0.0
    try:
        for node in order:
            g = node.grad
            op = node._op
            check += g + node.data
            if on_step is None and op is ADD:
                # ADD.local and MUL.local inlined: these two ops are most of any network's
                # nodes, and skipping the call and the tuple makes backward twice as fast.
                node._a.grad += g
                node._b.grad += g
            elif on_step is None and op is MUL:
                a, b = node._a, node._b
                a.grad += b.data * g
                b.grad += a.data * g
            elif on_step is None and op.arity == 0:
                # The fused weighted sum (the only op of any arity), inlined for the same
                # reason: parents are (w_1..w_n, x_1..x_n[, b]), d/dw_i = x_i, d/dx_i = w_i.
                parents = node._a
                n = len(parents) // 2
                for i in range(n):
                    w, x = parents[i], parents[n + i]
                    w.grad += x.data * g
                    x.grad += w.data * g
                if len(parents) & 1:
                    parents[-1].grad += g
            else:
                parents = _parents(node)
                local = op.local(node, *parents)
                if on_step is not None:
                    on_step(node, local)
                for parent, d in zip(parents, local):
                    c = d * g
                    parent.grad += c
                    check += c + parent.data
    except BaseException:
        p.restore_leaves()
        raise
    for leaf, old in zip(p.leaves, p.saved):
        check += leaf.data
        leaf.grad = old + leaf.grad
    if not math.isfinite(check):
        _warn_non_finite(root, order)
    return order


def _warn_non_finite(root: Value, order: Iterable[Value]) -> None:
    """Find the first node with a non-finite data or grad and warn about it."""
    for node in (root, *order):
        for v in (node, *_parents(node)):
            if not (math.isfinite(v.data) and math.isfinite(v.grad)):
                where = f"op {v.op!r}" if v._op is not None else "a leaf"
                warnings.warn(
                    f"backward() passed through a non-finite number at {_name(v)} ({where}): "
                    f"data={v.data!r}, grad={v.grad!r}; gradients from here on are not meaningful",
                    NonFiniteWarning,
                    stacklevel=4,
                )
                return
