"""The backward pass: the chain rule over a recorded graph, as floats or as a graph of its own.

Three entry points:

* :func:`backpropagate` is ``Value.backward()``: the fast pass on floats that fills ``.grad``.
* :func:`backward_with_graph` is ``Value.backward(create_graph=True)``: the same numbers in
  ``.grad``, and each leaf's gradient also as a graph of Values that can be differentiated again.
* :func:`grad` is the functional form, as ``torch.autograd.grad``: it returns gradients and
  touches no ``.grad``.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Iterable, Sequence

from autograd.graph import topological_order_of
from autograd.ops import ADD, MUL
from autograd.value import Value, _check_number, _parents


class NonFiniteWarning(RuntimeWarning):
    """Warned by ``backward()`` when a value or gradient on the way was NaN or infinite."""


GradGraphs = dict[Value, Value]  # what backward(create_graph=True) returns: leaf -> its gradient

# Backward passes take turns. A pass resets the grads of the nodes it reaches and adds each
# leaf's old gradient back at the end, so two passes over graphs that share a parameter must
# not interleave. Python runs one thread's bytecode at a time anyway, so nothing is lost; an
# RLock, because an on_step hook may itself run a backward pass.
_PASS_LOCK = threading.RLock()

_DONE = object()  # stack marker in _walk


# ---------------------------------------------------------------------------------------------
# backward(): the fast pass on floats
# ---------------------------------------------------------------------------------------------


def backpropagate(
    root: Value, on_step: Callable[[Value, Sequence[float]], None] | None = None
) -> list[Value]:
    """Run the chain rule from root; the engine behind ``Value.backward()``.

    ``on_step(node, local_grads)`` is called for each non-leaf node, in the order visited, just
    before its gradient is passed to its parents (the step-by-step trace is built on it).
    Returns the non-leaf nodes in the order visited: ``topological_order(root)`` reversed.

    If anything interrupts the pass (an exception in a hook, Ctrl-C), every leaf's ``.grad`` is
    put back as it was before the call, and the exception goes on.
    """
    with _PASS_LOCK:
        # The whole pass is one call inside the lock, so that an exception anywhere in it
        # (however early) leaves through the with statement, which releases the lock.
        return _float_pass(root, on_step)


def _float_pass(
    root: Value, on_step: Callable[[Value, Sequence[float]], None] | None
) -> list[Value]:
    # This pass's own zero: a float object no other pass and no user holds. A node whose grad
    # *is* this object has been reached by this pass (reset to 0.0, as every non-leaf must be
    # before the chain rule adds into it). An identity test, so it costs no memory per node,
    # and a mark left behind by an interrupted pass is a plain 0.0 to the next.
    mark = float("0")
    leaves: list[Value] = []
    saved: list[float | None] = []  # the leaves' grads before this pass, in step with leaves
    try:
        order = _walk(root, mark, leaves, saved)
        _chain_rule(root, order, leaves, on_step)
        # 3. Add each leaf's whole contribution to its old gradient in one step: that is what
        # makes a second backward() give exactly twice the first, to the last bit.
        for leaf, old in zip(leaves, saved):
            if old is not None:
                leaf.grad = old + leaf.grad
        return order
    except BaseException:
        for leaf, old in zip(leaves, saved):
            leaf.grad = old
        raise


def _walk(root: Value, mark: float, leaves: list[Value], saved: list) -> list[Value]:
    """1. Depth-first from root, parents in operand order: the non-leaf nodes, children first.

    The same order as ``topological_order(root)`` (reversed, leaves apart), found without a
    visited set: each node reached gets ``grad = mark``. Leaves' old grads go to ``saved``
    (appended before the mark is set, so an interruption can always restore them).
    """
    order: list[Value] = []
    if root._op is None:  # a leaf root: nothing to walk
        saved.append(root.grad)
        leaves.append(root)
        root.grad = mark
        return order
    # The stack holds non-leaf nodes to expand, and _DONE markers each followed (below it) by a
    # node whose parents are all finished. Markers instead of (node, flag) pairs: no allocation
    # per node, which matters because each allocation of a tracked object advances the GC.
    # Three shortcuts, each worth a tenth of the walk on a network: a parent is looked at
    # before it is pushed (a leaf is recorded at once, a node already reached is skipped); the
    # first operand is expanded at once instead of being pushed and popped again (a sum chain
    # is one long descent); and a node whose parents are all finished is emitted at once,
    # without going through the stack and a marker.
    stack: list[object] = [root]
    push, pop, emit = stack.append, stack.pop, order.append
    while stack:
        node = pop()
        if node is _DONE:
            emit(pop())
            continue
        if node.grad is mark:  # pushed by two consumers, expanded via the other
            continue
        while True:
            node.grad = mark
            # Parents are expanded first operand first, as topological_order does; read
            # straight from the slots, not via _parents(): no tuple per node.
            a = node._a
            if type(a) is tuple:  # an op of any arity: all its operands in _a
                push(node)
                push(_DONE)
                for parent in reversed(a):  # pushed last-first, so the first is expanded first
                    old = parent.grad
                    if old is not mark:
                        if parent._op is None:
                            saved.append(old)  # before the mark: an interruption restores it
                            leaves.append(parent)
                            parent.grad = mark
                        else:
                            push(parent)
                break
            b = node._b
            b_waits = False  # b is a non-leaf not reached yet
            if b is not None:
                old = b.grad
                if old is not mark:
                    if b._op is None:
                        saved.append(old)
                        leaves.append(b)
                        b.grad = mark
                    else:
                        b_waits = True
            old = a.grad
            if old is not mark:
                if a._op is not None:  # expand a now; node is finished after a and b
                    push(node)
                    push(_DONE)
                    if b_waits:
                        push(b)
                    node = a
                    continue
                saved.append(old)
                leaves.append(a)
                a.grad = mark
            if b_waits:
                push(node)
                push(_DONE)
                push(b)
            else:  # every parent finished (in a DAG a reached parent cannot be in progress)
                emit(node)
            break
    order.reverse()
    return order


def _chain_rule(
    root: Value,
    order: list[Value],
    leaves: list[Value],
    on_step: Callable[[Value, Sequence[float]], None] | None,
) -> None:
    """2. Seed the root with 1.0 and pass each node's gradient on: parent.grad += local * grad."""
    root.grad = 1.0  # for a leaf root too: its old gradient is added back at the end
    # A running sum of every node's data and every leaf's gradient: NaN and inf are absorbing,
    # so one test at the end tells whether anything on the way was non-finite. Inner nodes'
    # gradients need no term of their own: each node adds local * grad into every one of its
    # parents, and inf or NaN times anything (0 included) is inf or NaN, so a non-finite
    # gradient anywhere reaches the leaves' gradients. Only a node without operands (an empty
    # weighted_sum) passes its gradient nowhere; it is counted itself. One addition per node
    # instead of two: about 6 % of this loop.
    check = 0.0
    if on_step is not None:  # the trace: every node through its op's own rule, reported
        for node in order:
            g = node.grad
            check += node.data
            parents, local = _local_floats(node)
            if not parents:
                check += g
            on_step(node, local)
            for parent, d in zip(parents, local):
                parent.grad += d * g
    else:
        for node in order:
            g = node.grad
            op = node._op
            check += node.data
            if op is ADD:
                # ADD.local (1, 1) inlined: + and * are most of any network's nodes, and
                # skipping the call and the tuple makes backward twice as fast.
                # tests/test_ops.py checks each inlined rule against its op.
                node._a.grad += g
                node._b.grad += g
            elif op is MUL:
                # MUL.local (b, a) inlined
                a, b = node._a, node._b
                a.grad += b.data * g
                b.grad += a.data * g
            elif op.arity == 0:
                # weighted_sum's local (x_1..x_n, w_1..w_n[, 1]) inlined; operands (w.., x..[, b])
                parents = node._a
                if not parents:
                    check += g
                n = len(parents) // 2
                for i in range(n):
                    w, x = parents[i], parents[n + i]
                    w.grad += x.data * g
                    x.grad += w.data * g
                if len(parents) & 1:
                    parents[-1].grad += g
            else:
                parents, local = _local_floats(node)
                for parent, d in zip(parents, local):
                    parent.grad += d * g
    for leaf in leaves:
        check += leaf.data + leaf.grad
    if not math.isfinite(check):
        _warn_non_finite([root, *order])


def _local_floats(node: Value) -> tuple[tuple[Value, ...], Sequence[float]]:
    """A non-leaf node's parents and d(node)/d(parent) for each, from the op's float rule."""
    op, a = node._op, node._a
    if op.arity == 1:
        return (a,), op.local(node.data, a.data)
    if op.arity == 2:
        b = node._b
        return (a, b), op.local(node.data, a.data, b.data)
    return a, op.local(node.data, *[p.data for p in a])


def _warn_non_finite(
    nodes: Iterable[Value], grads: dict[Value, object] | None = None, stacklevel: int = 6
) -> None:
    """Find the first node (or parent of one) with a non-finite data or grad and warn about it.

    ``stacklevel`` counts the frames from here to the user's call, so the warning points there.
    """
    for node in nodes:
        for v in (node, *_parents(node)):
            g = v.grad if grads is None else _data(grads.get(v, 0.0))
            if not (math.isfinite(v.data) and (g is None or math.isfinite(g))):
                where = f"op {v.op!r}" if v._op is not None else "a leaf"
                name = f"node {v.label!r}" if v.label else "an unlabelled node"
                warnings.warn(
                    f"backward() passed through a non-finite number at {name} ({where}): "
                    f"data={v.data!r}, grad={g!r}; gradients from here on are not meaningful",
                    NonFiniteWarning,
                    stacklevel=stacklevel,
                )
                return


# ---------------------------------------------------------------------------------------------
# Gradients as graphs: backward(create_graph=True) and grad()
# ---------------------------------------------------------------------------------------------


def _data(g: Value | float) -> float:
    return g.data if type(g) is Value else g


def _gradients(
    roots: Sequence[Value], seeds: Sequence[Value | float], create_graph: bool
) -> tuple[list[Value], dict[Value, Value | float]]:
    """d(sum_k seeds[k] * roots[k])/d(node) for every node the roots depend on.

    The same chain rule as backpropagate, kept in a dict instead of ``.grad``. With
    ``create_graph`` each local derivative is the op's ``local_graph`` (Values), so every
    gradient is a Value whose graph records how it was computed; constants stay floats.
    Returns the nodes in topological order and the gradients of those reached.
    """
    order = topological_order_of(roots)
    grads: dict[Value, Value | float] = {}
    for root, seed in zip(roots, seeds):
        grads[root] = grads[root] + seed if root in grads else seed
    for node in reversed(order):
        op = node._op
        g = grads.get(node)
        if op is None or g is None:
            continue
        if create_graph:
            parents = _parents(node)
            local = op.local_graph(node, *parents)
        else:
            parents, local = _local_floats(node)
        for parent, d in zip(parents, local):
            # 1.0 * g is g to the last bit: skip the node it would add to a gradient graph
            c = g if type(d) is float and d == 1.0 else g * d
            old = grads.get(parent)
            grads[parent] = c if old is None else old + c
    return order, grads


def _as_value(g: Value | float) -> Value:
    return g if type(g) is Value else Value(g)


def _as_values(what: str, xs: Value | Sequence[Value]) -> list[Value]:
    items = [xs] if isinstance(xs, Value) else list(xs)
    for i, x in enumerate(items):
        if not isinstance(x, Value):
            raise TypeError(f"grad: {what}[{i}] must be a Value, got {type(x).__name__} {x!r}")
    return items


def grad(
    outputs: Value | Sequence[Value],
    inputs: Value | Sequence[Value],
    grad_outputs: Sequence[Value | float] | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Value | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, as ``torch.autograd.grad``.

    Returns one Value per input: d(sum_k grad_outputs[k] * outputs[k])/d(input), where
    ``grad_outputs`` defaults to 1.0 for every output. No ``.grad`` anywhere is read or
    changed. ``inputs`` may be leaves or intermediate nodes.

    * ``create_graph=True``: each gradient is a Value with a graph recording how it was
      computed from the inputs, so it can be differentiated again (``grad`` of a ``grad`` gives
      second derivatives, and so on to any order), traced and drawn. Inside ``no_grad()`` the
      gradients are computed but record no graph.
    * ``create_graph=False``: each gradient is a plain leaf Value holding the number.
    * ``allow_unused=False``: an input that the outputs do not depend on is an error (ValueError
      naming it); with ``allow_unused=True`` its gradient is None, as in PyTorch.

    Differences from PyTorch: everything is a scalar, so ``grad_outputs`` are numbers (or
    Values) rather than tensors, and a gradient that does not depend on the inputs (the
    derivative of ``a + b``, say) is returned as a constant leaf Value, never as None.
    """
    outs = _as_values("outputs", outputs)
    ins = _as_values("inputs", inputs)
    if grad_outputs is None:
        seeds: list[Value | float] = [1.0] * len(outs)
    else:
        seeds = [
            g if isinstance(g, Value) else _check_number(g, f"grad_outputs[{i}]")
            for i, g in enumerate(grad_outputs)
        ]
        if len(seeds) != len(outs):
            raise ValueError(
                f"grad: got {len(seeds)} grad_outputs for {len(outs)} outputs; give one each"
            )
    order, grads = _gradients(outs, seeds, create_graph)
    result: list[Value | None] = []
    for i, x in enumerate(ins):
        g = grads.get(x)
        if g is None:
            if not allow_unused:
                name = f"{x.label!r}" if x.label else f"inputs[{i}]"
                raise ValueError(
                    f"grad: the outputs do not depend on input {name} (data={x.data:g}); "
                    "pass allow_unused=True to get None for it"
                )
            result.append(None)
        else:
            result.append(_as_value(g))
    if not all(math.isfinite(_data(g)) for g in grads.values()) or not all(
        math.isfinite(v.data) for v in order
    ):
        _warn_non_finite(order, grads, stacklevel=3)
    return tuple(result)


def backward_with_graph(root: Value) -> GradGraphs:
    """``root.backward(create_graph=True)``: fill ``.grad`` as backward() does, return graphs.

    ``.grad`` gets floats, the same numbers backward() would give (leaves accumulate, other
    nodes hold this pass's gradient). The result maps each leaf to a Value whose data is that
    leaf's new ``.grad`` and whose graph says how it was computed: the gradient from this pass,
    plus the old ``.grad`` as a constant when it was not zero.
    """
    with _PASS_LOCK:
        return _graph_pass(root)  # one call inside the lock, as in backpropagate


def _graph_pass(root: Value) -> GradGraphs:
    order, grads = _gradients([root], [1.0], create_graph=True)
    graphs: GradGraphs = {}
    leaves = [v for v in order if v._op is None]
    saved = [v.grad for v in leaves]
    try:
        for node in order:
            if node._op is not None:
                node.grad = _data(grads.get(node, 0.0))
        for leaf, old in zip(leaves, saved):
            g = grads.get(leaf, 0.0)
            if old:  # neither None nor 0.0: the old gradient is part of the new one
                g = g + old
            leaf.grad = _data(g)
            graphs[leaf] = _as_value(g)
        if not all(math.isfinite(v.data) and math.isfinite(v.grad) for v in order):
            _warn_non_finite(reversed(order), stacklevel=5)
        return graphs
    except BaseException:
        for leaf, old in zip(leaves, saved):
            leaf.grad = old
        raise
