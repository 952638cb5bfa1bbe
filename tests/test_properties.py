"""Property-based tests: random expression graphs against central differences and the trace."""

from __future__ import annotations

import math
import warnings

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autograd import (
    NonFiniteWarning,
    Value,
    gradcheck,
    gradgradcheck,
    topological_order,
    trace_backward,
)
from tests.randgraph import build, recipes

# Central differences resolve a gradient only while every number on the way is small: a node
# of 3.7e11 rounds by 6e-5, which a step of 1e-6 turns into an error of 30 (hypothesis found
# graphs like (x⁴ · x⁴ + 1) ** (0.3 x⁴) at x = 2). Below 1e3 a node rounds by under 1.2e-13.
SMALL = 1e3


def _finite_differences_can_tell(recipe) -> bool:
    leaves = [Value(x) for x in recipe[0]]
    root = build(recipe, leaves)
    with warnings.catch_warnings():  # an overflow is a case to leave out, not to warn about
        warnings.simplefilter("ignore", NonFiniteWarning)
        root.backward()
    return all(abs(v.data) < SMALL and abs(v.grad) < SMALL for v in topological_order(root))


@settings(max_examples=150, deadline=None)
@given(recipes)
def test_random_graphs_pass_gradcheck(recipe):
    assume(_finite_differences_can_tell(recipe))
    leaves = [Value(x) for x in recipe[0]]
    gradcheck(lambda *xs: build(recipe, list(xs)), leaves, eps=1e-6, atol=1e-5, rtol=1e-3)


@settings(max_examples=100, deadline=None)
@given(recipes)
def test_trace_gives_exactly_the_gradients_of_backward(recipe):
    a = [Value(x) for x in recipe[0]]
    b = [Value(x) for x in recipe[0]]
    root_a = build(recipe, a)
    root_b = build(recipe, b)
    root_a.backward()
    trace = trace_backward(root_b)
    assert [v.grad for v in a] == [v.grad for v in b]
    # every step's contributions add up to the grads recorded as grad_after
    for step in trace:
        for p in step.parents:
            assert p.contribution == p.local_grad * step.grad


@settings(max_examples=100, deadline=None)
@given(recipes, st.lists(st.floats(-3.0, 3.0, allow_nan=False), min_size=4, max_size=4))
def test_last_grad_after_of_each_node_in_a_trace_is_its_grad_afterwards(recipe, olds):
    # With gradients left from earlier passes, every number the trace reports as "after" is the
    # one .grad holds: the last report for each node equals its .grad after the pass exactly.
    leaves = [Value(x) for x in recipe[0]]
    for leaf, old in zip(leaves, olds):
        leaf.grad = old
    root = build(recipe, leaves)
    last = {}
    for step in trace_backward(root):
        for p in step.parents:
            last[id(p.node)] = (p.node, p.grad_after)
    for node, after in last.values():
        assert after == node.grad


@settings(max_examples=60, deadline=None)
@given(recipes)
def test_second_backward_doubles_leaf_grads_on_random_graphs(recipe):
    leaves = [Value(x) for x in recipe[0]]
    root = build(recipe, leaves)
    root.backward()
    first = [v.grad for v in leaves]
    root.backward()
    assert [v.grad for v in leaves] == [2 * g for g in first]


@settings(max_examples=60, deadline=None)
@given(recipes)
def test_backward_create_graph_gives_the_floats_of_backward_on_random_graphs(recipe):
    a = [Value(x) for x in recipe[0]]
    b = [Value(x) for x in recipe[0]]
    build(recipe, a).backward()
    graphs = build(recipe, b).backward(create_graph=True)
    assert [v.grad for v in b] == pytest.approx([v.grad for v in a], rel=1e-12, abs=1e-300)
    assert all(graphs[v].data == v.grad for v in b if v in graphs)


@settings(max_examples=40, deadline=None)
@given(recipes)
def test_random_graphs_pass_gradgradcheck(recipe):
    assume(_finite_differences_can_tell(recipe))
    leaves = [Value(x) for x in recipe[0]]
    gradgradcheck(lambda *xs: build(recipe, list(xs)), leaves, eps=1e-5, atol=1e-4, rtol=1e-3)


@settings(max_examples=150, deadline=None)
@given(recipes, st.integers(0, 3))
def test_backward_walk_visits_exactly_the_reverse_of_topological_order(recipe, fuse):
    # backward() finds its order with its own shortcut-laden walk (autograd/backward.py); the
    # drawings and traces use topological_order. Shared nodes, fused nodes, leaves reached
    # through several paths: the non-leaf nodes must come in exactly the reversed order.
    from autograd import topological_order, weighted_sum
    from autograd.backward import backpropagate

    leaves = [Value(x) for x in recipe[0]]
    root = build(recipe, leaves)
    if fuse:  # a weighted_sum over the root, a leaf and an inner node, fed back into the graph
        inner = [v for v in topological_order(root) if not v.is_leaf][fuse % 2]
        root = weighted_sum([leaves[0], inner], [root, leaves[-1]], inner if fuse > 1 else None)
        root = root * inner + root
    expected = [v for v in reversed(topological_order(root)) if not v.is_leaf]
    visited = backpropagate(root)
    assert [id(v) for v in visited] == [id(v) for v in expected]
    # every leaf the root depends on was reached once and got a gradient
    reached = [v for v in topological_order(root) if v.is_leaf]
    assert all(isinstance(v.grad, float) for v in reached)


def test_backward_of_a_leaf_is_one_and_visits_nothing():
    from autograd.backward import backpropagate

    x = Value(2.0)
    assert backpropagate(x) == []
    assert x.grad == 1.0
    assert backpropagate(x) == [] and x.grad == 2.0


odd_floats = st.one_of(
    st.sampled_from([math.inf, -math.inf, math.nan, 1e200, -1e200, 1e-200, 0.0, -0.0]),
    st.floats(-3.0, 3.0, allow_nan=False),
)


@settings(max_examples=300, deadline=None)
@given(recipes, st.lists(odd_floats, min_size=4, max_size=4), st.booleans())
def test_backward_warns_exactly_when_some_value_or_gradient_is_not_finite(recipe, xs, empty):
    # backward() sums only data and the leaves' gradients (an inner gradient that is inf or NaN
    # always reaches the leaves); this checks that shortcut against a scan of every node.
    import warnings

    from autograd import NonFiniteWarning, topological_order, weighted_sum

    leaves = [Value(x) for x in xs[: len(recipe[0])]]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # IEEE arithmetic in the forward pass
            root = build(recipe, leaves)
            if empty:  # a node without operands, which passes its gradient nowhere
                root = root + weighted_sum([], []) * leaves[0]
    except (ValueError, ZeroDivisionError, OverflowError):
        return  # outside an op's domain: refused before any backward, nothing to check
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        root.backward()
    warned = any(issubclass(w.category, NonFiniteWarning) for w in caught)
    nodes = topological_order(root)
    bad = any(not (math.isfinite(v.data) and math.isfinite(v.grad)) for v in nodes)
    assert warned == bad
