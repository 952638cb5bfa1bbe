"""Property-based tests: random expression graphs against central differences and the trace."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, gradcheck, gradgradcheck, trace_backward
from tests.randgraph import build, recipes


@settings(max_examples=150, deadline=None)
@given(recipes)
def test_random_graphs_pass_gradcheck(recipe):
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
    leaves = [Value(x) for x in recipe[0]]
    gradgradcheck(lambda *xs: build(recipe, list(xs)), leaves, eps=1e-5, atol=1e-4, rtol=1e-3)
