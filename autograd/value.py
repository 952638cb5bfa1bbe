"""`Value`: a scalar that records the operations made from it, so backward() can differentiate."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING

from autograd import ops
from autograd.fast_backward import backpropagate
from autograd.grad_mode import GRAD_MODE
from autograd.gradient_graphs import backward_with_graph
from autograd.graph import CONSTANT, NO_GRAPH
from autograd.graph import parents_of as _parents
from autograd.ops import ADD, DIV, MUL, SUB, Op, weighted_sum_op

if TYPE_CHECKING:
    from autograd.gradient_graphs import GradGraphs


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
    if not GRAD_MODE.off or GRAD_MODE.recording():  # see grad_mode.py
        out._op = op
        out._a = a
        out._b = b
    else:
        out._op = out._b = None
        out._a = NO_GRAPH  # recorded without its parents: backward() refuses it
    return out


def apply_op(node: Value, operands: Sequence[Value]) -> Value:
    """``node``'s operation applied to other operands: a new node, with the op's domain check.

    What a graph's replay with new numbers needs (``autograd.compile``, the printed-number check
    in ``nn.printed``): every op is evaluated by its own definition in ``ops.py``, never by name.
    """
    op = node._op
    if op is None:
        raise ValueError(f"{node.label or 'the node'} is a leaf: it has no operation to apply")
    if op.check is not None:
        op.check(*operands)
    data = op.forward(*[v.data for v in operands])
    # an op of any arity keeps all its operands in one slot (see Value.parents)
    return _result(data, op, tuple(operands)) if op.arity == 0 else _result(data, op, *operands)


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
    # Plain floats and ints need no check (the common cases: x * 2.0, sum() starting at 0).
    if type(other) is int:
        other = float(other)
    elif type(other) is not float:
        other = _check_number(other, f"the other operand of {op!r}")
    leaf = _new_object(Value)
    leaf.data = other
    leaf.grad = 0.0
    leaf.label = ""
    leaf._op = leaf._b = None
    leaf._a = CONSTANT  # a leaf, but not one of yours: see reference_backward.check_reaches_a_graph
    return leaf


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
    * ``.grad = None`` means "no gradient yet", as in PyTorch: ``backward()`` treats it as 0.
    * If a value or gradient on the way is NaN or infinite, ``backward()`` still completes but
      warns with :class:`NonFiniteWarning`, naming the first such node.
    * If ``backward()`` is interrupted (an exception, Ctrl-C), every leaf's ``.grad`` is left as
      it was before the call; intermediate nodes' grads are then partial until the next pass.
    * A result computed inside ``no_grad()`` has no parents and is marked so: a ``backward()``
      that can reach only such results (and constants) raises instead of leaving zeros.
    * Backward passes in several threads are safe (they take turns); graphs may share leaves.

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
        # The first operand, or the tuple of all operands when op.arity == 0. A leaf has no
        # operand, and the slot says which kind of leaf it is: None for a Value made like this
        # one, graph.CONSTANT for a number lifted into an op, graph.NO_GRAPH for a result
        # computed under no_grad() (see reference_backward.check_reaches_a_graph).
        self._a: object = None
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
    def masks(self) -> bool:
        """Whether a local derivative of 0 passes exactly 0, even times inf (relu; ops.Op)."""
        return self._op is not None and self._op.masks

    @property
    def is_leaf(self) -> bool:
        """True for a Value that no recorded operation produced (an input or a parameter)."""
        return self._op is None

    def local_grads(self) -> tuple[float, ...]:
        """d(self)/d(parent) for each parent, in parent order, from the current data."""
        if self._op is None:
            return ()
        return tuple(self._op.local(self.data, *[p.data for p in _parents(self)]))

    def local_rules(self) -> tuple[str, ...]:
        """The local rule for each parent in words, e.g. 'd tanh(x)/dx = 1 - tanh(x)^2'."""
        return self._op.rules if self._op is not None else ()

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        op = f", op={self.op!r}" if self._op is not None else ""
        grad = "None" if self.grad is None else f"{self.grad:.6g}"
        return f"Value(data={self.data:.6g}, grad={grad}{label}{op})"

    def __float__(self) -> float:
        return self.data

    # -- arithmetic: each a one-liner over its op in autograd/ops.py -------------------------
    # + - * / build most of any network's nodes, so they skip _binary's generic call: the
    # forward rule is written inline, and tests/test_ops.py checks it against the op's own.
    # + and * (nine nodes in ten of a fine-grained network) also make their node inline, with
    # _result written out: one Python call less per node, a tenth off a forward pass.

    def __add__(self, other: Value | float) -> Value:
        if type(other) is not Value:
            other = _lift(other, "+")
        out = _new_object(Value)  # _result written out (see above)
        out.data = self.data + other.data  # ADD.forward
        out.grad = 0.0
        out.label = ""
        if not GRAD_MODE.off or GRAD_MODE.recording():  # see grad_mode.py
            out._op = ADD
            out._a = self
            out._b = other
        else:
            out._op = out._b = None
            out._a = NO_GRAPH  # recorded without its parents: backward() refuses it
        return out

    def __radd__(self, other: float) -> Value:
        return _lift(other, "+") + self

    def __sub__(self, other: Value | float) -> Value:
        other = other if type(other) is Value else _lift(other, "-")
        return _result(self.data - other.data, SUB, self, other)  # SUB.forward

    def __rsub__(self, other: float) -> Value:
        return _lift(other, "-") - self

    def __mul__(self, other: Value | float) -> Value:
        if type(other) is not Value:
            other = _lift(other, "*")
        out = _new_object(Value)  # _result written out (see above)
        out.data = self.data * other.data  # MUL.forward
        out.grad = 0.0
        out.label = ""
        if not GRAD_MODE.off or GRAD_MODE.recording():  # see grad_mode.py
            out._op = MUL
            out._a = self
            out._b = other
        else:
            out._op = out._b = None
            out._a = NO_GRAPH  # recorded without its parents: backward() refuses it
        return out

    def __rmul__(self, other: float) -> Value:
        return _lift(other, "*") * self

    def __truediv__(self, other: Value | float) -> Value:
        other = other if type(other) is Value else _lift(other, "/")
        DIV.check(self, other)
        return _result(self.data / other.data, DIV, self, other)  # DIV.forward

    def __rtruediv__(self, other: float) -> Value:
        return _lift(other, "/") / self

    def __neg__(self) -> Value:
        return _unary(ops.NEG, self)

    def __pow__(self, exponent: Value | float) -> Value:
        """``x ** n`` for a constant number n, or ``a ** b`` for a Value b (then a must be > 0)."""
        if isinstance(exponent, Value):
            return _binary(ops.POW, self, exponent)
        if type(exponent) is int:  # ints and floats skip the (slow) check for a real number
            n = float(exponent)
        elif type(exponent) is float:
            n = exponent
        else:
            n = _check_number(exponent, "the exponent of '**'")
        return _unary(ops.power_op(n), self)

    def __rpow__(self, base: float) -> Value:
        return _lift(base, "**") ** self

    # -- functions ---------------------------------------------------------------------------

    def exp(self) -> Value:
        """e ** self. Overflows to inf (like IEEE arithmetic), which backward() then warns about."""
        return _unary(ops.EXP, self)

    def log(self) -> Value:
        """Natural logarithm; raises ValueError for data <= 0."""
        return _unary(ops.LOG, self)

    def tanh(self) -> Value:
        """Hyperbolic tangent."""
        return _unary(ops.TANH, self)

    def sigmoid(self) -> Value:
        """Logistic function 1 / (1 + e^-x), computed without overflow for any x."""
        return _unary(ops.SIGMOID, self)

    def relu(self) -> Value:
        """max(0, x), NaN for NaN; its derivative at exactly 0 is taken as 0, as in PyTorch."""
        return _unary(ops.RELU, self)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """x for x > 0, slope * x otherwise."""
        return _unary(ops.leaky_relu_op(_check_number(slope, "leaky_relu slope")), self)

    def sqrt(self) -> Value:
        """Square root; raises ValueError for data < 0 (its derivative at 0 is inf)."""
        return _unary(ops.SQRT, self)

    def __abs__(self) -> Value:
        return _unary(ops.ABS, self)

    def softplus(self) -> Value:
        """log(1 + e^x), computed stably; its derivative is sigmoid(x)."""
        return _unary(ops.SOFTPLUS, self)

    # -- backward ------------------------------------------------------------------------------

    def backward(self, create_graph: bool = False) -> GradGraphs | None:
        """Fill ``.grad`` of every node this one depends on with d(self)/d(node).

        Seeds this node with 1.0 (added, if it is itself a leaf), then visits the nodes in reverse
        topological order and applies the chain rule: ``parent.grad += local * node.grad``.
        No recursion, so a chain of any depth works at the default recursion limit.
        See the class docstring for accumulation, repeated calls and non-finite values.

        ``create_graph=True`` also records how each gradient was computed, as a graph of Values
        that can itself be differentiated (second derivatives, Hessians, Newton steps). ``.grad``
        still holds plain floats (the same numbers), so everything that reads gradients keeps
        working; the gradient graphs are returned instead, as a mapping from each leaf to a
        Value whose data is that leaf's ``.grad`` after the call. PyTorch puts that graph in
        ``.grad`` itself; see ``autograd.grad`` for the functional form, which touches no ``.grad``.
        """
        if create_graph:
            return backward_with_graph(self)
        backpropagate(self)
        return None


def _unary(op: Op, x: Value) -> Value:
    """The result of a one-operand ``op`` on x: domain check, forward rule, recorded node.

    ``_result`` written out here, one call less per node: activations are a tenth of a
    network's nodes.
    """
    if op.check is not None:
        op.check(x)
    out = _new_object(Value)
    out.data = op.forward(x.data)
    out.grad = 0.0
    out.label = ""
    if not GRAD_MODE.off or GRAD_MODE.recording():  # see grad_mode.py
        out._op = op
        out._a = x
    else:
        out._op = None
        out._a = NO_GRAPH  # recorded without its parents: backward() refuses it
    out._b = None
    return out


def _binary(op: Op, a: Value, b: Value) -> Value:
    """The result of a two-operand ``op``: domain check, forward rule, recorded node."""
    if op.check is not None:
        op.check(a, b)
    return _result(op.forward(a.data, b.data), op, a, b)


def weighted_sum(
    weights: Sequence[Value], inputs: Sequence[Value | float], bias: Value | None = None
) -> Value:
    """One fused node for ``sum_i weights[i] * inputs[i] (+ bias)``.

    It gives the same number and gradients as the chain of ``*`` and ``+`` nodes, but builds a
    single node per neuron, which makes a forward and backward pass several times faster. Its
    parents are ``(w_1..w_n, x_1..x_n[, bias])``.
    """
    weights, inputs = tuple(weights), tuple(inputs)
    for a in (*weights, *inputs, bias):
        if type(a) is not Value and hasattr(a, "traced_call"):  # compile_graph is tracing
            return a.traced_call(weighted_sum, weights, inputs, bias)  # (autograd/compile.py)
    inputs = tuple(x if type(x) is Value else _lift(x, "weighted_sum") for x in inputs)
    if len(weights) != len(inputs):
        raise ValueError(
            f"weighted_sum needs as many weights as inputs: got {len(weights)} weights "
            f"and {len(inputs)} inputs"
        )
    for w in weights:
        if not isinstance(w, Value):
            raise TypeError(f"weighted_sum weights must be Values, got {type(w).__name__} {w!r}")
    if bias is not None and type(bias) is not Value:
        bias = _lift(bias, "weighted_sum")
    return unchecked_weighted_sum(weights, inputs, bias)


def unchecked_weighted_sum(
    weights: tuple[Value, ...], inputs: tuple[Value, ...], bias: Value | None
) -> Value:
    """``weighted_sum`` without its checks, for code that builds the tuples itself.

    ``nn.Neuron`` calls this on every sample with its own weights and inputs it has already
    made Values; the checks would be a third of the node's cost. Both tuples must hold Values
    and have the same length, and bias must be a Value or None: anything else gives an
    AttributeError or a wrong graph, so use :func:`weighted_sum` everywhere else.
    """
    # The op's forward rule inlined (no tuple of floats built per neuron); tests/test_ops.py
    # checks the two agree to the last bit.
    data = 0.0
    for w, x in zip(weights, inputs):  # left to right, the order a chain of * and + nodes uses
        data += w.data * x.data
    if bias is None:
        return _result(data, weighted_sum_op(len(weights), False), weights + inputs)
    op = weighted_sum_op(len(weights), True)
    return _result(data + bias.data, op, weights + inputs + (bias,))
