"""The reference backward (the one a learner reads) and the fast one give the same numbers, bit
for bit, on random graphs; the reference fits in one screen; autograd imports in no cycle."""

from __future__ import annotations

import inspect

from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, reference_backward, topological_order, trace_backward, weighted_sum
from autograd.fast_backward import backpropagate
from autograd.reference_backward import chain_rule
from tests.randgraph import BINARY, UNARY

# Besides randgraph's smooth ops: the ops with a kink (the fast pass inlines relu) and fused
# weighted sums whose operands may repeat (the order of additions into one parent matters).
EXTRA_UNARY = {
    "relu": lambda x: x.relu(),
    "abs": lambda x: abs(x),
    "leaky_relu": lambda x: x.leaky_relu(0.1),
}
OPS = {**UNARY, **EXTRA_UNARY}

floats = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False, allow_infinity=False)
pick = st.integers(0, 10**6)
step = st.one_of(
    st.tuples(st.just("u"), st.sampled_from(sorted(OPS)), pick),
    st.tuples(st.just("b"), st.sampled_from(sorted(BINARY)), pick, pick),
    st.tuples(st.just("w"), st.lists(pick, min_size=0, max_size=6), st.booleans()),
)
graphs = st.tuples(
    st.lists(floats, min_size=1, max_size=4),
    st.lists(step, min_size=1, max_size=14),
    st.lists(st.one_of(st.none(), floats), min_size=4, max_size=4),  # the leaves' old grads
)


def _build(recipe) -> tuple[list[Value], Value]:
    data, steps, olds = recipe
    leaves = [Value(x) for x in data]
    for leaf, old in zip(leaves, olds):
        leaf.grad = old
    nodes = list(leaves)
    for s in steps:
        if s[0] == "u":
            nodes.append(OPS[s[1]](nodes[s[2] % len(nodes)]))
        elif s[0] == "b":
            nodes.append(BINARY[s[1]](nodes[s[2] % len(nodes)], nodes[s[3] % len(nodes)]))
        else:
            picked = [nodes[i % len(nodes)] for i in s[1]]
            half = len(picked) // 2
            bias = nodes[sum(s[1]) % len(nodes)] if s[2] else None
            nodes.append(weighted_sum(picked[:half], picked[half : 2 * half], bias))
    root = nodes[-1] + nodes[len(nodes) // 2] * 0.5
    return leaves, root


def _grads(root: Value) -> list[str]:
    # float.hex tells -0.0 from 0.0 and shows every bit; None stays None
    return [None if v.grad is None else float.hex(v.grad) for v in topological_order(root)]


def _positions(root: Value, nodes: list[Value]) -> list[int]:
    index = {id(v): i for i, v in enumerate(topological_order(root))}
    return [index[id(v)] for v in nodes]


@settings(max_examples=300, deadline=None)
@given(recipe=graphs)
def test_fast_pass_equals_reference_pass_to_the_last_bit(recipe):
    _, fast_root = _build(recipe)
    _, ref_root = _build(recipe)
    fast_order = backpropagate(fast_root)
    ref_order = reference_backward(ref_root)
    assert _grads(fast_root) == _grads(ref_root)
    assert _positions(fast_root, fast_order) == _positions(ref_root, ref_order)
    # a second pass: leaves accumulate the same way in both
    backpropagate(fast_root)
    reference_backward(ref_root)
    assert _grads(fast_root) == _grads(ref_root)


@settings(max_examples=100, deadline=None)
@given(recipe=graphs)
def test_trace_leaves_exactly_the_gradients_backward_leaves(recipe):
    _, root = _build(recipe)
    _, twin = _build(recipe)
    trace_backward(root)
    twin.backward()
    assert _grads(root) == _grads(twin)


def test_reference_backward_of_the_micrograd_neuron_by_hand():
    # tanh(x*w + b) at x = 0.5, w = -1.5, b = 0.3: t = tanh(-0.45), dt/dz = 1 - t^2,
    # so d/dx = w (1 - t^2), d/dw = x (1 - t^2), d/db = 1 - t^2 (the numbers by plain math).
    import math

    x, w, b = Value(0.5), Value(-1.5), Value(0.3)
    reference_backward((x * w + b).tanh())
    s = 1.0 - math.tanh(-0.45) ** 2
    assert (x.grad, w.grad, b.grad) == (-1.5 * s, 0.5 * s, s)


def test_the_chain_rule_a_learner_reads_fits_in_one_screen():
    source = inspect.getsource(chain_rule)
    assert len(source.splitlines()) <= 15
    assert "parent.grad += d * node.grad" in source
