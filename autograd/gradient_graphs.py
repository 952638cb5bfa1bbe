"""Gradients as graphs of Values: the chain rule kept in a dict, for ``create_graph`` and ``grad``.

The same chain rule as the reference pass (autograd/reference_backward.py), with two changes:
gradients are kept in a dict instead of ``.grad`` (``grad()`` touches no ``.grad``), and with
``create_graph`` each local derivative is the op's ``local_graph``, an expression of Values, so
every gradient is itself a graph that can be differentiated again (second derivatives, Hessians).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from autograd.grad_mode import enable_grad
from autograd.graph import parents_of, topological_order_of
from autograd.reference_backward import PASS_LOCK, check_reaches_a_graph, warn_non_finite

if TYPE_CHECKING:
    from autograd.value import Value

GradGraphs = dict["Value", "Value"]  # what backward(create_graph=True) returns: leaf -> gradient


def _data(g: Value | float) -> float:
    return g if isinstance(g, (int, float)) else g.data


def gradients(
    roots: Sequence[Value], seeds: Sequence[Value | float], create_graph: bool
) -> tuple[list[Value], dict[Value, Value | float]]:
    """d(sum_k seeds[k] * roots[k])/d(node) for every node the roots depend on.

    With ``create_graph`` each local derivative is the op's ``local_graph`` (Values), so every
    gradient is a Value whose graph records how it was computed; constants stay floats. That
    graph is recorded whatever the caller's mode (inside ``no_grad()`` too, as in PyTorch):
    asking for it is asking for a graph. Returns the nodes in topological order and the
    gradients of those reached.
    """
    order = topological_order_of(roots)
    check_reaches_a_graph(roots[0], [v for v in order if v._op is None])
    grads: dict[Value, Value | float] = {}
    for root, seed in zip(roots, seeds):
        grads[root] = grads[root] + seed if root in grads else seed
    with enable_grad() if create_graph else _NO_CHANGE:
        for node in reversed(order):
            op = node._op
            g = grads.get(node)
            if op is None or g is None:
                continue
            parents = parents_of(node)
            local = op.local_graph(node, *parents) if create_graph else node.local_grads()
            for parent, d in zip(parents, local):
                old = grads.get(parent)
                if op.masks and type(d) is float and d == 0.0:  # see ops.Op: passes exactly 0
                    if old is None:
                        grads[parent] = 0.0
                    continue
                # 1.0 * g is g to the last bit: skip the node it would add to a gradient graph
                c = g if type(d) is float and d == 1.0 else g * d
                grads[parent] = c if old is None else old + c
    return order, grads


class _NoChange:
    """A context that does nothing (the mode stays the caller's)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        return None


_NO_CHANGE = _NoChange()


def backward_with_graph(root: Value) -> GradGraphs:
    """``root.backward(create_graph=True)``: fill ``.grad`` as backward() does, return graphs.

    ``.grad`` gets floats, the same numbers backward() would give (leaves accumulate, other
    nodes hold this pass's gradient). The result maps each leaf to a Value whose data is that
    leaf's new ``.grad`` and whose graph says how it was computed: the gradient from this pass,
    plus the old ``.grad`` as a constant when it was not zero.
    """
    with PASS_LOCK:
        return _graph_pass(root)  # one call inside the lock, as in the other passes


def _graph_pass(root: Value) -> GradGraphs:
    order, grads = gradients([root], [1.0], create_graph=True)
    value = type(root)  # constants become Values of the root's own class
    graphs: GradGraphs = {}
    leaves = [v for v in order if v._op is None]
    saved = [v.grad for v in leaves]
    try:
        for node in order:
            if node._op is not None:
                node.grad = _data(grads.get(node, 0.0))
        with enable_grad():  # the old gradient joins the graph even inside no_grad()
            for leaf, old in zip(leaves, saved):
                g = grads.get(leaf, 0.0)
                if old:  # neither None nor 0.0: the old gradient is part of the new one
                    g = g + old
                leaf.grad = _data(g)
                graphs[leaf] = g if type(g) is value else value(g)
        if not all(math.isfinite(v.data) and math.isfinite(v.grad) for v in order):
            warn_non_finite(reversed(order), stacklevel=5)
        return graphs
    except BaseException:
        # As in the other passes: a second Ctrl-C restarts the (idempotent) restoring.
        while True:
            try:
                for leaf, old in zip(leaves, saved):
                    leaf.grad = old
                break
            except KeyboardInterrupt:
                pass
        raise
