"""Walking a recorded graph: each node's parents, and one stable topological order of them all.

A node is a :class:`~autograd.value.Value`; this module reads only its slots (``_op``, ``_a``,
``_b``), so every other module of the engine can walk a graph without importing ``value.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autograd.value import Value

# What a leaf's ``_a`` slot says about it (a leaf has no op, so the slot is free). A leaf whose
# ``_a`` is None is a Value made with ``Value(...)``: a parameter or input, whose gradient is
# what backward() is for. The two markers below are leaves that are not meant to be reached.


class _LeafKind:
    """A marker object (compared with ``is``: an instance of our own class has an identity on
    every Python; strings and numbers may not, PyPy compares them by value). Copying a Value
    keeps its marker: copies and unpickling give back the same object."""

    __slots__ = ("name", "what")

    def __init__(self, name: str, what: str) -> None:
        self.name = name
        self.what = what

    def __repr__(self) -> str:
        return f"<{self.what}>"

    def __copy__(self) -> _LeafKind:
        return self

    def __deepcopy__(self, memo: dict) -> _LeafKind:
        return self

    def __reduce__(self) -> str:
        return self.name  # pickled as the module-level name


CONSTANT = _LeafKind("CONSTANT", "a number lifted into an operation")  # the 2.0 of x * 2.0
NO_GRAPH = _LeafKind("NO_GRAPH", "a result computed under no_grad()")  # without its parents


def parents_of(node: Value) -> tuple[Value, ...]:
    """The parents of a node, in operand order, from its two operand slots (empty for a leaf)."""
    op = node._op
    if op is None:
        return ()
    if op.arity == 2:
        return (node._a, node._b)
    if op.arity == 1:
        return (node._a,)
    return node._a  # an op of any arity keeps the tuple of all its operands in _a


def topological_order(root: Value) -> list[Value]:
    """All nodes that ``root`` depends on, leaves included, each after all of its parents.

    The order is deterministic (depth-first, parents in operand order), so the same expression
    gives the same list on every run; drawings and traces rely on that. ``root`` comes last.
    ``backward()`` visits the non-leaf nodes of this list in reverse (the fast pass in
    autograd/fast_backward.py finds the same order its own way; a test pins that).
    Iterative, so graphs of any depth work at the default recursion limit.
    """
    if not hasattr(type(root), "_op"):  # a Value (or subclass): only Values have the slot
        raise TypeError(f"topological_order needs a Value, got {type(root).__name__}")
    return topological_order_of([root])


def topological_order_of(roots: Iterable[Value]) -> list[Value]:
    """The nodes several roots depend on, each once, each after its parents, roots in order."""
    order: list[Value] = []
    visited: set[int] = set()
    for root in roots:
        stack: list[tuple[Value, bool]] = [(root, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
            elif id(node) not in visited:
                visited.add(id(node))
                stack.append((node, True))
                # reversed, so that the first parent is visited (and listed) first
                for parent in reversed(parents_of(node)):
                    if id(parent) not in visited:
                        stack.append((parent, False))
    return order
