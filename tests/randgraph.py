"""Test helper: random expression graphs over Values, built from a recipe hypothesis draws."""

from __future__ import annotations

from hypothesis import strategies as st

from autograd import Value

# Each op keeps its argument inside its domain, so any recipe builds a valid graph; ops with a
# kink (relu, abs, leaky_relu) are left out, since finite differences straddle the kink.
UNARY = {
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "exp": lambda x: (x * 0.1).exp(),
    "log": lambda x: (x * x + 1.0).log(),
    "sqrt": lambda x: (x * x + 0.5).sqrt(),
    "neg": lambda x: -x,
    "square": lambda x: x**2,
    "softplus": lambda x: x.softplus(),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "pow": lambda a, b: (a * a + 1.0) ** (b * 0.3),
}

floats = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False, allow_infinity=False)
step = st.one_of(
    st.tuples(st.sampled_from(sorted(UNARY)), st.integers(0, 10**6)),
    st.tuples(st.sampled_from(sorted(BINARY)), st.integers(0, 10**6), st.integers(0, 10**6)),
)
recipes = st.tuples(
    st.lists(floats, min_size=1, max_size=4), st.lists(step, min_size=1, max_size=12)
)


def build(recipe, leaves: list[Value]) -> Value:
    """Apply the recipe's ops to the leaves; each op picks earlier nodes (reuse is common)."""
    _, steps = recipe
    nodes = list(leaves)
    for s in steps:
        if len(s) == 2:
            nodes.append(UNARY[s[0]](nodes[s[1] % len(nodes)]))
        else:
            nodes.append(BINARY[s[0]](nodes[s[1] % len(nodes)], nodes[s[2] % len(nodes)]))
    # sum a few nodes so the output depends on several branches
    return nodes[-1] + nodes[len(nodes) // 2] * 0.5
