"""Walking a recorded graph: every node an output depends on, in one stable topological order."""

from __future__ import annotations

from collections.abc import Iterable

from autograd.value import Value, _parents


def topological_order(root: Value) -> list[Value]:
    """All nodes that ``root`` depends on, leaves included, each after all of its parents.

    The order is deterministic (depth-first, parents in operand order), so the same expression
    gives the same list on every run; drawings and traces rely on that. ``root`` comes last.
    ``backward()`` visits the non-leaf nodes of this list in reverse (its own walk, in
    autograd/backward.py, produces the same order without a visited set; a test pins that).
    Iterative, so graphs of any depth work at the default recursion limit.
    """
    if not isinstance(root, Value):
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
                for parent in reversed(_parents(node)):
                    if id(parent) not in visited:
                        stack.append((parent, False))
    return order
