"""The backward pass in one screen: the chain rule over a topological order (read this first).

``chain_rule`` below is the whole of backpropagation, as micrograd writes it: visit the nodes
from the output back to the inputs, and pass each node's gradient to its parents, multiplied by
the local derivative (``parent.grad += local * node.grad``). ``Value.backward()`` runs a faster
pass with the same numbers, to the last bit (autograd/fast_backward.py, pinned equal to this one
by tests/test_reference_backward.py); the step-by-step trace runs this one. ``reference_backward``
adds what a library owes its users around it: leaves accumulate, an interrupted pass changes
nothing, non-finite numbers are reported, and a graph recorded under ``no_grad()`` is refused.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from autograd.graph import NO_GRAPH, parents_of, topological_order

if TYPE_CHECKING:
    from autograd.value import Value

OnStep = Callable[["Value", Sequence[float]], None]


def chain_rule(order: list[Value], on_step: OnStep | None = None) -> None:
    """Fill ``.grad`` of every node in ``order`` (a topological order) with d(last node)/d(node)."""
    for node in order:  # this pass's gradients start at zero ...
        node.grad = 0.0
    order[-1].grad = 1.0  # ... and d(output)/d(output) = 1
    for node in reversed(order):  # from the output back: a node's grad is complete when visited
        if node.is_leaf:
            continue
        local = node.local_grads()  # d(node)/d(parent) for each parent, from its op in ops.py
        if on_step is not None:
            on_step(node, local)  # the trace records the step here
        for parent, d in zip(node.parents, local):
            if d == 0.0 and node.masks:  # a relu that is off passes 0, even 0 * inf (PyTorch)
                continue
            parent.grad += d * node.grad  # the chain rule


def reference_backward(root: Value, on_step: OnStep | None = None) -> list[Value]:
    """``root.backward()`` written plainly around :func:`chain_rule`; the same numbers.

    Leaves accumulate (each leaf's old gradient is added to this pass's once, at the end, so a
    second pass gives exactly twice the first); if anything interrupts the pass, every leaf's
    ``.grad`` is put back as it was. Returns the non-leaf nodes in the order visited.
    """
    with PASS_LOCK:
        # One call inside the lock, so that an interruption anywhere in the pass leaves
        # through the with statement, which releases the lock.
        return _reference_pass(root, on_step)


def _reference_pass(root: Value, on_step: OnStep | None) -> list[Value]:
    order = topological_order(root)
    leaves = [v for v in order if v.is_leaf]
    check_reaches_a_graph(root, leaves)
    earlier = [leaf.grad for leaf in leaves]
    try:
        chain_rule(order, on_step)
        for leaf, old in zip(leaves, earlier):
            if old is not None:  # None: no gradient yet, as in PyTorch
                leaf.grad = old + leaf.grad
    except BaseException:
        # Put every leaf back; a second Ctrl-C in here starts the restoring over (it is
        # idempotent), so the leaves are never left half restored. Inline, not a function
        # call: a call is where Python delivers Ctrl-C, before a try inside it could catch it.
        while True:
            try:
                for leaf, old in zip(leaves, earlier):
                    leaf.grad = old
                break
            except KeyboardInterrupt:
                pass
        raise
    if not all(math.isfinite(v.data) and math.isfinite(v.grad) for v in order):
        warn_non_finite(reversed(order), stacklevel=5)
    return [v for v in reversed(order) if not v.is_leaf]


# ---------------------------------------------------------------------------------------------
# What every backward pass shares (this one, the fast one, and the one that records a graph)
# ---------------------------------------------------------------------------------------------

# Backward passes take turns. A pass resets the grads of the nodes it reaches and adds each
# leaf's old gradient back at the end, so two passes over graphs that share a parameter must
# not interleave. Python runs one thread's bytecode at a time anyway, so nothing is lost; an
# RLock, because an on_step hook may itself run a backward pass.
PASS_LOCK = threading.RLock()


class NonFiniteWarning(RuntimeWarning):
    """Warned by ``backward()`` when a value or gradient on the way was NaN or infinite."""


def _describe(node: Value) -> str:
    return f"node {node.label!r}" if node.label else f"an unlabelled node (data={node.data!r})"


def check_reaches_a_graph(root: Value, leaves: Iterable[Value]) -> None:
    """Refuse a pass that can reach no Value you made, only results computed under ``no_grad()``.

    Such a result was recorded without its parents, so a gradient cannot flow through it to
    the Values it came from: ``with no_grad(): y = x * x`` and then ``y.backward()`` would leave
    ``x.grad`` at 0.0 without a word. PyTorch raises here ("does not require grad"); so do we.
    A pass that reaches at least one Value made with ``Value(...)`` is fine (a no_grad result
    in it is a constant, as in PyTorch), and so is one through constants only.
    """
    blocked = None
    for leaf in leaves:
        kind = leaf._a
        if kind is None:  # a Value made by the user: the pass has a gradient to give
            return
        if kind is NO_GRAPH and blocked is None:
            blocked = leaf
    if blocked is not None:
        if blocked is root:
            what = f"{_describe(root)} was computed under no_grad()"
        else:
            what = (
                f"{_describe(root)} was computed only from results of no_grad() "
                f"(such as {_describe(blocked)}) and constants"
            )
        raise RuntimeError(
            f"backward(): {what}, which records no graph, so no gradient can reach the Values "
            "they came from (PyTorch: 'does not require grad'); compute them outside no_grad()"
        )


def warn_non_finite(
    nodes: Iterable[Value], grads: dict[Value, object] | None = None, stacklevel: int = 6
) -> None:
    """Find the first node (or parent of one) with a non-finite data or grad and warn about it.

    ``stacklevel`` counts the frames from here to the user's call, so the warning points there.
    """
    for node in nodes:
        for v in (node, *parents_of(node)):
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


def _data(g: object) -> float:
    """A gradient's number: itself for a float, its data for a Value (a gradient graph)."""
    return g if isinstance(g, (int, float)) else g.data
