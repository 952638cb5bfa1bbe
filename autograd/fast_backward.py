"""The fast backward pass behind ``Value.backward()``: the reference pass's numbers, sooner.

Read autograd/reference_backward.py first: it is the specification. This module computes the
same gradients, bit for bit (tests/test_reference_backward.py checks that on random graphs),
with tricks that each measured worth keeping; each comment says what it bought. Measured on
micrograd's demo step (MLP 2-16-16-1, 100 samples; 65,814 nodes fine-grained), in one process.
Together they make this pass 5.7x the reference pass on that graph (173.6 -> 30.6 ms of CPU
time), 2.5x on the fused one (38.3 -> 15.4 ms) and 5.1x on a dot product of 50,000 pairs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from autograd.ops import ADD, MUL, RELU
from autograd.reference_backward import (
    PASS_LOCK,
    OnStep,
    check_reaches_a_graph,
    reference_backward,
    warn_non_finite,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from autograd.value import Value


class _Mark(float):
    """A pass's own zero: a float equal to 0.0 with an identity of its own.

    Trick 1 (the walk without a visited set). The walk resets each node it reaches to this
    pass's mark; ``node.grad is mark`` then says "reached", with no set of ids, no hashing and no
    memory per node, and the chain rule adds into the mark as into 0.0 (it is a float). Why a
    subclass, not ``float("0")``: only an object of a class of our own has an identity on every
    Python. PyPy compares built-in floats and ints by value under ``is`` (a fresh 0.0 *is* every
    other 0.0 there), which made every gradient 0.0; the identity of an instance of a subclass is
    real everywhere (tests/test_pypy.py runs the engine's tests under PyPy). What it costs on
    CPython: the first addition into each node is a subclass's, which misses the interpreter's
    float + float fast path; nothing measurable on the demo graph, about 7 % of a dot product's
    backward (every parent there gets exactly one addition: 90 -> 98 ms for 50,000 pairs, CPU
    time, best of 40). A mark left behind by an interrupted pass is 0.0 to the next.
    """

    __slots__ = ()


_DONE = object()  # stack marker in _walk


def backpropagate(root: Value, on_step: OnStep | None = None) -> list[Value]:
    """Run the chain rule from root; the engine behind ``Value.backward()``.

    Returns the non-leaf nodes in the order visited: ``topological_order(root)`` reversed.
    ``on_step(node, local_grads)``, if given, runs the reference pass instead, which reports
    each step (the trace is built on it). If anything interrupts the pass (an exception, Ctrl-C,
    even a second Ctrl-C while it restores), every leaf's ``.grad`` is as it was before the call.
    """
    if on_step is not None:
        return reference_backward(root, on_step)
    with PASS_LOCK:
        # The whole pass is one call inside the lock, so that an exception anywhere in it
        # (however early) leaves through the with statement, which releases the lock.
        return _float_pass(root)


def _float_pass(root: Value) -> list[Value]:
    mark = _Mark()
    leaves: list[Value] = []
    saved: list[float | None] = []  # the leaves' grads before this pass, in step with leaves
    try:
        order = _walk(root, mark, leaves, saved)
        check_reaches_a_graph(root, leaves)
        _chain_rule(root, order, leaves)
        # 3. Add each leaf's whole contribution to its old gradient in one step: that is what
        # makes a second backward() give exactly twice the first, to the last bit.
        for leaf, old in zip(leaves, saved):
            if old is not None:
                leaf.grad = old + leaf.grad
        return order
    except BaseException:
        # Put every leaf back. A second Ctrl-C in here starts the restoring over (it is
        # idempotent), so the leaves are never half restored; written inline, because a
        # function call is where Python delivers Ctrl-C, before a try inside it could catch it.
        while True:
            try:
                for leaf, old in zip(leaves, saved):
                    leaf.grad = old
                break
            except KeyboardInterrupt:
                pass
        raise


def _walk(root: Value, mark: float, leaves: list[Value], saved: list) -> list[Value]:
    """1. Depth-first from root, parents in operand order: the non-leaf nodes, children first.

    The same order as ``topological_order(root)`` (reversed, leaves apart), found without a
    visited set: each node reached gets ``grad = mark`` (trick 1, see _Mark). Leaves' old grads
    go to ``saved`` (appended before the mark is set, so an interruption can restore them).
    """
    order: list[Value] = []
    if root._op is None:  # a leaf root: nothing to walk
        saved.append(root.grad)
        leaves.append(root)
        root.grad = mark
        return order
    # Trick 2 (no allocation per node). The stack holds non-leaf nodes to expand, and _DONE
    # markers each followed (below it) by a node whose parents are all finished; markers instead
    # of (node, flag) pairs, because each allocation of a tracked object advances the collector.
    # Trick 3 (three shortcuts, the walk of the demo graph 12.7 -> 10.3 ms fine-grained and
    # 4.0 -> 2.6 ms fused): a parent is looked at before it is pushed (a leaf is recorded at once,
    # a node already reached is skipped); the first operand is expanded at once instead of being
    # pushed and popped again (a sum chain is one long descent); and a node whose parents are
    # all finished is emitted at once, without going through the stack and a marker.
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
            # straight from the slots, not via parents_of(): no tuple per node.
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


def _chain_rule(root: Value, order: list[Value], leaves: list[Value]) -> None:
    """2. Seed the root with 1.0 and pass each node's gradient on: parent.grad += local * grad."""
    root.grad = 1.0  # for a leaf root too: its old gradient is added back at the end
    # Trick 4 (one finiteness test per pass, about 6 % of this loop: 10.5 -> 9.9 ms). A running
    # sum of every node's data and every leaf's gradient: NaN and inf are absorbing, so one test
    # at the end tells whether anything on the way was non-finite. Inner nodes' gradients need
    # no term: each node adds local * grad into every parent, and inf or NaN times anything (0
    # included) is inf or NaN, so a non-finite gradient anywhere reaches the leaves' gradients.
    # Only a node without operands (an empty weighted_sum) passes its gradient nowhere, and a
    # relu that is off passes it no further (it masks: see ops.Op); those are counted themselves.
    check = 0.0
    for node in order:
        g = node.grad
        op = node._op
        check += node.data
        # Trick 5 (the common ops' rules inlined: no call to op.local, no tuple of derivatives).
        # + and * are nine nodes in ten of a fine-grained network; inlining them made this loop
        # twice as fast. Each inlined rule computes exactly what the op's own rule in ops.py
        # gives, in the same order (tests/test_ops.py and tests/test_reference_backward.py).
        if op is ADD:  # ADD.local: (1, 1)
            node._a.grad += g
            node._b.grad += g
        elif op is MUL:  # MUL.local: (b, a)
            a, b = node._a, node._b
            a.grad += b.data * g
            b.grad += a.data * g
        elif op.arity == 0:
            # weighted_sum's local: (x_1..x_n, w_1..w_n[, 1]) for operands (w.., x..[, b]),
            # passed in operand order (all w's, then all x's), as the reference pass does.
            parents = node._a
            if not parents:
                check += g
            n = len(parents) // 2
            ws, xs = parents[:n], parents[n : 2 * n]
            for w, x in zip(ws, xs):
                w.grad += x.data * g
            for w, x in zip(ws, xs):
                x.grad += w.data * g
            if len(parents) & 1:
                parents[-1].grad += g
        elif op is RELU:
            # RELU.local: (0 if x <= 0 else 1), and it masks: 0 passes nothing, 1 * g is g, to
            # the last bit. relu is micrograd's activation: inlined, the demo graph's backward
            # 32.6 -> 28.2 ms fine-grained and 13.6 -> 12.3 ms fused (CPU time, best of 40).
            # tanh and sigmoid keep the generic rule: one node per neuron, and tests patch
            # TANH.local to check a wrong rule is caught.
            a = node._a
            if not a.data <= 0.0:
                a.grad += g
            else:
                check += g  # a gradient stopped here reaches no leaf: counted itself
        else:
            parents, local = _local_floats(node)
            masks = op.masks
            for parent, d in zip(parents, local):
                if masks and d == 0.0:  # see ops.Op: 0 passes nothing, even 0 * inf
                    check += g
                    continue
                parent.grad += d * g
    for leaf in leaves:
        check += leaf.data + leaf.grad
    if not math.isfinite(check):
        warn_non_finite([root, *order], stacklevel=6)


def _local_floats(node: Value) -> tuple[tuple[Value, ...], Sequence[float]]:
    """A non-leaf node's parents and d(node)/d(parent) for each, from the op's float rule."""
    op, a = node._op, node._a
    if op.arity == 1:
        return (a,), op.local(node.data, a.data)
    if op.arity == 2:
        b = node._b
        return (a, b), op.local(node.data, a.data, b.data)
    return a, op.local(node.data, *[p.data for p in a])

