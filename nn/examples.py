"""The source documents' worked examples (2-2-1, 1-1-1, softmax), each built as a labelled graph.

Every example is built directly from `autograd.Value`s, one node per multiplication and per
addition, so that a drawing or a trace shows every step a learner would do by hand. Each node
the learner needs is labelled in the vocabulary of its seed document ("W1[0][1]", "z1[0]",
"a1[1]", "z2", "y_hat", "loss") and listed under that label in ``Example.nodes``; intermediate
products and partial sums are labelled by what they compute ("x[0]*W1[0][0]").

The three examples:

* ``"2-2-1"`` (seed 001): 2 inputs, 2 sigmoid hidden units, 1 sigmoid output, loss (t - y)^2,
  learning rate 0.1. Hidden input j is ``sum_i x[i]*W1[i][j] + b1[j]``, the way the seed writes
  its sums (``0.5*0.5 + 0.3*0.2 + 0.1``). The seed prints partly wrong numbers; they are kept in
  ``SEED_PRINTED`` and classified by :func:`compare_with_seed`.
* ``"1-1-1"`` (seed 002): see :func:`build_example` for the reading we chose where the seed
  contradicts itself. The seed gives no numbers; the ones here are ours.
* ``"softmax"`` (seed 003): 2 inputs, 3 sigmoid hidden units, a 3-class softmax output and the
  cross-entropy loss J = -sum_k y[k] log y_hat[k] against a one-hot target y. The softmax and the
  loss are built from exp, +, /, log and * nodes (no shortcut), so the engine's dJ/dz2 can be
  checked against the seed's closed form y_hat - y. The numbers are ours.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from autograd import Value
from nn.checks import finite_number

EXAMPLE_NAMES = ("2-2-1", "1-1-1", "softmax")


# ---------------------------------------------------------------------------------------------
# The example record
# ---------------------------------------------------------------------------------------------


@dataclass
class Example:
    """One worked example: its graph (built, ``backward()`` not yet called) and its vocabulary.

    ``nodes`` maps every labelled node's label to the node, in the order the graph was built
    (inputs, parameters, forward pass, loss). ``parameters`` are the trainable leaves in the
    seed's order; ``inputs`` the data leaves (inputs and targets). ``deltas`` maps the name of
    each error term to the node whose gradient it is (``{"delta2": "z2", ...}``): a delta is the
    gradient of the loss with respect to a layer's weighted input. ``notes`` says in prose what
    the reader should know (where the numbers come from, how a seed was read).
    """

    name: str
    title: str
    source: str
    loss: Value
    nodes: dict[str, Value]
    parameters: list[Value]
    inputs: list[Value]
    lr: float
    deltas: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def parameter_values(self) -> dict[str, float]:
        """The current parameter values by name, in seed order."""
        return {p.label: p.data for p in self.parameters}

    def updated(self) -> Example:
        """The same example after one gradient-descent step, p - lr * dL/dp, as a fresh graph.

        Needs ``self.loss.backward()`` to have run (once: leaves accumulate gradients). This
        example is left unchanged.
        """
        if self.loss.grad != 1.0:
            raise RuntimeError(
                f"example {self.name!r}: call ex.loss.backward() before ex.updated(); "
                "the parameters have no gradients yet"
            )
        new_values = {p.label: p.data - self.lr * p.grad for p in self.parameters}
        return build_example(self.name, lr=self.lr, parameters=new_values)


# ---------------------------------------------------------------------------------------------
# The examples' numbers
# ---------------------------------------------------------------------------------------------

# Seed 001, section 3: the network, its input, its target and its learning rate.
PARAMETERS_2_2_1 = {
    "W1[0][0]": 0.5, "W1[0][1]": 0.3,
    "W1[1][0]": 0.2, "W1[1][1]": 0.4,
    "b1[0]": 0.1, "b1[1]": 0.2,
    "W2[0]": 0.6, "W2[1]": 0.7,
    "b2": 0.3,
}  # fmt: skip
INPUTS_2_2_1 = {"x[0]": 0.5, "x[1]": 0.3, "t": 0.8}
LR_2_2_1 = 0.1

# Seed 002 gives no numbers: these are ours, chosen so that no number is trivially 0 or 1.
PARAMETERS_1_1_1 = {"w1": 0.4, "b1": 0.1, "w2": 0.7, "b2": -0.2}
INPUTS_1_1_1 = {"x": 0.5, "t": 0.9}
LR_1_1_1 = 0.5

# Seed 003 gives no numbers either: ours. W[l] has one row per unit of layer l, as in the
# seed's z(l) = W(l) a(l-1) + b(l), so W1[j][i] connects input i to hidden unit j.
PARAMETERS_SOFTMAX = {
    "W1[0][0]": 0.2, "W1[0][1]": -0.4,
    "W1[1][0]": 0.7, "W1[1][1]": 0.1,
    "W1[2][0]": -0.5, "W1[2][1]": 0.3,
    "b1[0]": 0.1, "b1[1]": -0.1, "b1[2]": 0.0,
    "W2[0][0]": 0.3, "W2[0][1]": -0.2, "W2[0][2]": 0.5,
    "W2[1][0]": -0.6, "W2[1][1]": 0.4, "W2[1][2]": 0.1,
    "W2[2][0]": 0.2, "W2[2][1]": 0.3, "W2[2][2]": -0.1,
    "b2[0]": 0.0, "b2[1]": 0.1, "b2[2]": -0.1,
}  # fmt: skip
INPUTS_SOFTMAX = {"x[0]": 0.5, "x[1]": -0.3, "y[0]": 0.0, "y[1]": 1.0, "y[2]": 0.0}
LR_SOFTMAX = 0.5

_DEFAULTS = {
    "2-2-1": (PARAMETERS_2_2_1, LR_2_2_1),
    "1-1-1": (PARAMETERS_1_1_1, LR_1_1_1),
    "softmax": (PARAMETERS_SOFTMAX, LR_SOFTMAX),
}

NOTE_1_1_1_READING = (
    "The one-neuron walkthrough contradicts itself about the output: it says the output layer "
    "is linear, "
    "'y = wx + b', but then computes h = wx + b, y = sigma(h), and differentiates through "
    "dy/dh = sigma'(h). We follow the computation, which is consistent from the forward pass "
    "to the weight update: both units are sigmoid, and 'wx + b' is each unit's (linear) "
    "weighted input h, not the output."
)


# ---------------------------------------------------------------------------------------------
# Building graphs
# ---------------------------------------------------------------------------------------------


class _Builder:
    """Collects labelled nodes in build order and checks that no label is used twice."""

    def __init__(self) -> None:
        self.nodes: dict[str, Value] = {}

    def name(self, node: Value, label: str) -> Value:
        if label in self.nodes:  # a bug in this module, not a user error
            raise AssertionError(f"label {label!r} used twice")
        node.label = label
        self.nodes[label] = node
        return node

    def leaf(self, label: str, data: float) -> Value:
        return self.name(Value(data), label)

    def weighted_input(self, pairs: list[tuple[Value, Value]], bias: Value, label: str) -> Value:
        """``label = a1*b1 + a2*b2 + ... + bias``: one * node per pair, one + node per addition.

        Pairs are multiplied in the order given, which is the order the seed writes them.
        """
        products = [self.name(a * b, f"{a.label}*{b.label}") for a, b in pairs]
        return self.name(self.sum(products) + bias, label)

    def sum(self, terms: list[Value]) -> Value:
        """Left-to-right sum; each partial sum is labelled by the terms it adds up."""
        total = terms[0]
        for k in range(1, len(terms)):
            total = self.name(total + terms[k], _sum_label(terms[: k + 1]))
        return total


def _sum_label(terms: list[Value]) -> str:
    """'a + b' for two terms, 'a + ... + c' for more (labels must stay short enough to draw)."""
    if len(terms) == 2:
        return f"{terms[0].label} + {terms[1].label}"
    return f"{terms[0].label} + ... + {terms[-1].label}"


def _build_2_2_1(p: Mapping[str, float], lr: float) -> Example:
    g = _Builder()
    x = [g.leaf("x[0]", INPUTS_2_2_1["x[0]"]), g.leaf("x[1]", INPUTS_2_2_1["x[1]"])]
    t = g.leaf("t", INPUTS_2_2_1["t"])
    w1 = [[g.leaf(f"W1[{i}][{j}]", p[f"W1[{i}][{j}]"]) for j in range(2)] for i in range(2)]
    b1 = [g.leaf(f"b1[{j}]", p[f"b1[{j}]"]) for j in range(2)]
    w2 = [g.leaf(f"W2[{j}]", p[f"W2[{j}]"]) for j in range(2)]
    b2 = g.leaf("b2", p["b2"])
    # 1. hidden layer: z1[j] = x[0]*W1[0][j] + x[1]*W1[1][j] + b1[j], a1[j] = sigmoid(z1[j])
    z1 = [
        g.weighted_input([(x[i], w1[i][j]) for i in range(2)], b1[j], f"z1[{j}]") for j in range(2)
    ]
    a1 = [g.name(z1[j].sigmoid(), f"a1[{j}]") for j in range(2)]
    # 2. output: z2 = W2[0]*a1[0] + W2[1]*a1[1] + b2 (the seed writes 0.6*0.57 + ...)
    z2 = g.weighted_input([(w2[j], a1[j]) for j in range(2)], b2, "z2")
    y_hat = g.name(z2.sigmoid(), "y_hat")
    # 3. loss = (t - y_hat)^2, as the seed writes it
    loss = g.name(g.name(t - y_hat, "t - y_hat") ** 2, "loss")
    return Example(
        name="2-2-1",
        title="2-2-1 sigmoid network, squared error (the backpropagation case study)",
        source="the backpropagation case study, 2-2-1 network",
        loss=loss,
        nodes=g.nodes,
        parameters=[*w1[0], *w1[1], *b1, *w2, b2],
        inputs=[*x, t],
        lr=lr,
        deltas={"delta2": "z2", "delta1[0]": "z1[0]", "delta1[1]": "z1[1]"},
        notes=(
            "Network, input, target and learning rate are the case study's.",
            "Hidden input j is sum_i x[i]*W1[i][j] + b1[j], the way the case study writes its "
            "sums.",
        ),
    )


def _build_1_1_1(p: Mapping[str, float], lr: float) -> Example:
    g = _Builder()
    x = g.leaf("x", INPUTS_1_1_1["x"])
    t = g.leaf("t", INPUTS_1_1_1["t"])
    w1, b1 = g.leaf("w1", p["w1"]), g.leaf("b1", p["b1"])
    w2, b2 = g.leaf("w2", p["w2"]), g.leaf("b2", p["b2"])
    half = g.leaf("1/2", 0.5)  # a constant, labelled so that the drawing says what it is
    # hidden unit: h1 = w1*x + b1, a1 = sigmoid(h1); output unit: h2 = w2*a1 + b2, y = sigmoid(h2)
    h1 = g.weighted_input([(w1, x)], b1, "h1")
    a1 = g.name(h1.sigmoid(), "a1")
    h2 = g.weighted_input([(w2, a1)], b2, "h2")
    y = g.name(h2.sigmoid(), "y")
    # L = 1/2 (y - t)^2
    loss = g.name(half * g.name(g.name(y - t, "y - t") ** 2, "(y - t)^2"), "loss")
    return Example(
        name="1-1-1",
        title="1-1-1 sigmoid network, half squared error (the one-neuron walkthrough)",
        source="the one-neuron walkthrough, 1-1-1 network",
        loss=loss,
        nodes=g.nodes,
        parameters=[w1, b1, w2, b2],
        inputs=[x, t],
        lr=lr,
        deltas={"delta2": "h2", "delta1": "h1"},
        notes=(
            NOTE_1_1_1_READING,
            "The walkthrough gives no numbers: x, t, w1, b1, w2, b2 and the learning rate are "
            "ours.",
        ),
    )


def _build_softmax(p: Mapping[str, float], lr: float) -> Example:
    g = _Builder()
    x = [g.leaf(f"x[{i}]", INPUTS_SOFTMAX[f"x[{i}]"]) for i in range(2)]
    y = [g.leaf(f"y[{k}]", INPUTS_SOFTMAX[f"y[{k}]"]) for k in range(3)]
    w1 = [[g.leaf(f"W1[{j}][{i}]", p[f"W1[{j}][{i}]"]) for i in range(2)] for j in range(3)]
    b1 = [g.leaf(f"b1[{j}]", p[f"b1[{j}]"]) for j in range(3)]
    w2 = [[g.leaf(f"W2[{k}][{j}]", p[f"W2[{k}][{j}]"]) for j in range(3)] for k in range(3)]
    b2 = [g.leaf(f"b2[{k}]", p[f"b2[{k}]"]) for k in range(3)]
    # 1. hidden layer: z1 = W1 x + b1, a1 = sigmoid(z1)
    z1 = [
        g.weighted_input([(w1[j][i], x[i]) for i in range(2)], b1[j], f"z1[{j}]") for j in range(3)
    ]
    a1 = [g.name(z1[j].sigmoid(), f"a1[{j}]") for j in range(3)]
    # 2. output layer: z2 = W2 a1 + b2, y_hat = softmax(z2) = exp(z2[k]) / sum_m exp(z2[m])
    z2 = [
        g.weighted_input([(w2[k][j], a1[j]) for j in range(3)], b2[k], f"z2[{k}]") for k in range(3)
    ]
    exps = [g.name(z2[k].exp(), f"exp(z2[{k}])") for k in range(3)]
    total = g.sum(exps)
    y_hat = [g.name(exps[k] / total, f"y_hat[{k}]") for k in range(3)]
    # 3. cross-entropy J = -sum_k y[k] * log(y_hat[k])
    logs = [g.name(y_hat[k].log(), f"log y_hat[{k}]") for k in range(3)]
    terms = [g.name(y[k] * logs[k], f"y[{k}]*log y_hat[{k}]") for k in range(3)]
    loss = g.name(-g.sum(terms), "loss")
    return Example(
        name="softmax",
        title="softmax output with cross-entropy loss (the softmax derivation)",
        source="the softmax derivation",
        loss=loss,
        nodes=g.nodes,
        parameters=[w for row in w1 for w in row] + b1 + [w for row in w2 for w in row] + b2,
        inputs=[*x, *y],
        lr=lr,
        deltas={
            **{f"delta2[{k}]": f"z2[{k}]" for k in range(3)},
            **{f"delta1[{j}]": f"z1[{j}]" for j in range(3)},
        },
        notes=(
            "The derivation gives no numbers: the inputs, weights, one-hot target and learning "
            "rate are ours.",
            "W1[j][i] connects input i to hidden unit j, as in the derivation's "
            "z(l) = W(l) a(l-1) + b(l).",
            "The softmax and the loss are built from exp, +, /, log and * nodes, so the engine "
            "finds dJ/dz2 by the chain rule alone; the derivation's shortcut y_hat - y is only "
            "checked.",
            "log is the natural logarithm.",
        ),
    )


_BUILDERS = {"2-2-1": _build_2_2_1, "1-1-1": _build_1_1_1, "softmax": _build_softmax}


def _check_example_name(name: object) -> str:
    if name not in _BUILDERS:
        raise ValueError(
            f"unknown example {name!r}; choose one of: {', '.join(EXAMPLE_NAMES)}"
        )
    return name  # type: ignore[return-value]


def build_example(
    name: str, lr: float | None = None, parameters: Mapping[str, float] | None = None
) -> Example:
    """Build the graph of one worked example; ``backward()`` is not called.

    ``name`` is one of ``EXAMPLE_NAMES``. ``lr`` overrides the learning rate (a positive number;
    default: the seed's 0.1 for 2-2-1, ours for the others). ``parameters`` overrides some or
    all parameter values by name (e.g. ``{"W2[0]": 0.5}``); unknown names raise ValueError.

    The 1-1-1 example (seed 002) follows the seed's computation rather than its one-line
    description: the seed says "the output layer uses a linear activation: y = wx + b" but then
    computes h = wx + b, y = sigma(h) and uses dy/dh = sigma'(h). Every formula it computes with
    agrees with a sigmoid unit, so both units here are sigmoid: h1 = w1*x + b1, a1 = sigmoid(h1),
    h2 = w2*a1 + b2, y = sigmoid(h2), L = 1/2 (y - t)^2. Its numbers are ours.
    """
    _check_example_name(name)
    defaults, default_lr = _DEFAULTS[name]
    if lr is None:
        lr = default_lr
    else:
        lr = finite_number(lr, "learning rate lr")
        if lr <= 0.0:
            raise ValueError(f"learning rate lr must be positive, got {lr!r}")
    values = dict(defaults)
    if parameters is not None:
        if not isinstance(parameters, Mapping):
            raise TypeError(
                f"parameters must be a mapping from name to number, got {type(parameters).__name__}"
            )
        unknown = [key for key in parameters if key not in defaults]
        if unknown:
            raise ValueError(
                f"example {name!r} has no parameter {unknown[0]!r}; its parameters are: "
                + ", ".join(defaults)
            )
        for key, value in parameters.items():
            values[key] = finite_number(value, f"parameter {key!r}")
    return _BUILDERS[name](values, lr)


def iterate_training(
    name: str, steps: int, lr: float | None = None, parameters: Mapping[str, float] | None = None
) -> Iterator[Example]:
    """Yield the example before training and after each of ``steps`` gradient-descent updates.

    Every yielded example has had ``loss.backward()`` called once. Only one graph is alive at a
    time, so long runs need little memory.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a whole number >= 0, got {steps!r}")
    example = build_example(name, lr=lr, parameters=parameters)
    example.loss.backward()
    yield example
    for _ in range(steps):
        example = example.updated()
        example.loss.backward()
        yield example


def engine_values(example: Example) -> dict[str, float]:
    """Every number of a worked example as the engine has it, after ``loss.backward()``.

    Keys: each labelled node's label (its data), each delta name (its node's gradient, e.g.
    ``"delta2"``), and ``"dL/d<parameter>"`` for each parameter gradient.
    """
    if example.loss.grad != 1.0:
        raise RuntimeError(f"example {example.name!r}: call ex.loss.backward() first")
    values = {label: node.data for label, node in example.nodes.items()}
    for delta, node_label in example.deltas.items():
        values[delta] = example.nodes[node_label].grad
    for p in example.parameters:
        values[f"dL/d{p.label}"] = p.grad
    return values


# ---------------------------------------------------------------------------------------------
# The seed's printed numbers (2-2-1, seed 001) and what went wrong with them
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedNumber:
    """One number as seed 001 prints it, with the expression the seed wrote next to it."""

    name: str  # the quantity's name, as in engine_values(): "z1[0]", "delta2", "dL/dW2[1]"
    printed: str  # exactly as printed, so that its precision is known: "0.31", "-0.05"
    seed_text: str  # what the seed wrote to get it

    @property
    def value(self) -> float:
        return float(self.printed)

    @property
    def decimals(self) -> int:
        """Number of decimal places printed."""
        return len(self.printed.partition(".")[2])


SEED_PRINTED: dict[str, SeedNumber] = {
    s.name: s
    for s in (
        SeedNumber("z1[0]", "0.31", "0.5*0.5 + 0.3*0.2 + 0.1"),
        SeedNumber("z1[1]", "0.29", "0.5*0.3 + 0.3*0.4 + 0.2"),
        SeedNumber("a1[0]", "0.57", "sigmoid(0.31)"),
        SeedNumber("a1[1]", "0.57", "sigmoid(0.29)"),
        SeedNumber("z2", "0.71", "0.6*0.57 + 0.7*0.57 + 0.3"),
        SeedNumber("y_hat", "0.67", "sigmoid(0.71)"),
        SeedNumber("loss", "0.017", "(0.8 - 0.67)^2"),
        SeedNumber("delta2", "-0.05", "2 * (0.67 - 0.8) * sigmoid_derivative(0.71)"),
        SeedNumber("delta1[0]", "-0.01", "delta2 * 0.6 * sigmoid_derivative(0.31)"),
        SeedNumber("delta1[1]", "-0.01", "delta2 * 0.7 * sigmoid_derivative(0.29)"),
        SeedNumber("dL/dW2[0]", "-0.03", "delta2 * hidden_layer_output1"),
        SeedNumber("dL/dW2[1]", "-0.04", "delta2 * hidden_layer_output2"),
        SeedNumber("dL/db2", "-0.05", "delta2"),
    )
}

# Which earlier printed numbers each printed number is computed from (in the seed's own text).
SEED_DEPENDS_ON: dict[str, tuple[str, ...]] = {
    "z1[0]": (),
    "z1[1]": (),
    "a1[0]": ("z1[0]",),
    "a1[1]": ("z1[1]",),
    "z2": ("a1[0]", "a1[1]"),
    "y_hat": ("z2",),
    "loss": ("y_hat",),
    "delta2": ("y_hat", "z2"),
    "delta1[0]": ("delta2", "z1[0]"),
    "delta1[1]": ("delta2", "z1[1]"),
    "dL/dW2[0]": ("delta2", "a1[0]"),
    "dL/dW2[1]": ("delta2", "a1[1]"),
    "dL/db2": ("delta2",),
}

MATCH = "match"
ROUNDING_ONLY = "rounding only"
INHERITS = "inherits an earlier error"
WRONG_ARITHMETIC = "wrong arithmetic"


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def seed_given_values() -> dict[str, float]:
    """What each printed number of seed 001 *should* be, given the seed's own earlier numbers.

    Each entry redoes the seed's formula exactly as written, but with the seed's printed
    operands (z2 from the printed a1 = 0.57, delta2 from the printed 0.67 and 0.71, ...). A
    printed number that agrees with this but not with the truth only inherits an earlier error.
    """
    s = {name: n.value for name, n in SEED_PRINTED.items()}
    p, x, t = PARAMETERS_2_2_1, INPUTS_2_2_1, INPUTS_2_2_1["t"]

    def dsig(v: float) -> float:  # the seed's sigmoid_derivative(x) = sigmoid(x) * (1 - sigmoid(x))
        return _sigmoid(v) * (1.0 - _sigmoid(v))

    given = {
        f"z1[{j}]": x["x[0]"] * p[f"W1[0][{j}]"] + x["x[1]"] * p[f"W1[1][{j}]"] + p[f"b1[{j}]"]
        for j in range(2)
    }
    given.update({f"a1[{j}]": _sigmoid(s[f"z1[{j}]"]) for j in range(2)})
    given["z2"] = p["W2[0]"] * s["a1[0]"] + p["W2[1]"] * s["a1[1]"] + p["b2"]
    given["y_hat"] = _sigmoid(s["z2"])
    given["loss"] = (t - s["y_hat"]) ** 2
    given["delta2"] = 2.0 * (s["y_hat"] - t) * dsig(s["z2"])
    for j in range(2):
        given[f"delta1[{j}]"] = s["delta2"] * p[f"W2[{j}]"] * dsig(s[f"z1[{j}]"])
        given[f"dL/dW2[{j}]"] = s["delta2"] * s[f"a1[{j}]"]
    given["dL/db2"] = s["delta2"]
    return given


def _rounds_to(printed: SeedNumber, x: float) -> bool:
    """True if x rounded to the printed number of decimals is the printed number."""
    scale = 10.0**printed.decimals
    return abs(round(x * scale) - printed.value * scale) < 1e-6


def _cuts_to(printed: SeedNumber, x: float) -> bool:
    """True if x with its further decimals cut off (not rounded) is the printed number."""
    scale = 10.0**printed.decimals
    return abs(math.trunc(x * scale) - printed.value * scale) < 1e-6


@dataclass(frozen=True)
class SeedComparison:
    """A printed number of seed 001 beside the true one, and why they differ.

    ``kind`` is one of: ``MATCH`` (the true value rounds to the printed one), ``ROUNDING_ONLY``
    (the printed number is the true one cut off instead of rounded, or is right given earlier
    numbers that were only rounded), ``INHERITS`` (the seed's arithmetic is right given its own
    earlier, wrong numbers, listed in ``inherited_from``) or ``WRONG_ARITHMETIC`` (wrong even
    given the seed's own earlier numbers). ``given_seed`` is what the seed's formula gives with
    the seed's own earlier printed numbers. ``cut_off`` is True when the printed number only
    fits if the seed cut off further decimals instead of rounding (0.5769 printed as 0.57).
    """

    name: str
    printed: str
    seed_value: float
    true_value: float
    given_seed: float
    kind: str
    inherited_from: tuple[str, ...]
    seed_text: str
    cut_off: bool = False

    @property
    def mismatch(self) -> bool:
        """True when the printed number is not the true value rounded."""
        return self.kind != MATCH


def compare_with_seed(true_values: Mapping[str, float]) -> list[SeedComparison]:
    """Classify every printed number of seed 001 against ``true_values``, in the seed's order.

    ``true_values`` maps quantity names (as in :func:`engine_values`) to the true numbers; every
    name in ``SEED_PRINTED`` must be present.
    """
    missing = [name for name in SEED_PRINTED if name not in true_values]
    if missing:
        raise ValueError(f"true_values lacks {missing[0]!r}, needed to compare with the seed")
    given = seed_given_values()
    kinds: dict[str, str] = {}
    result = []
    for name, printed in SEED_PRINTED.items():
        true = float(true_values[name])
        cut_off = False
        wrong_upstream = tuple(
            d for d in SEED_DEPENDS_ON[name] if kinds[d] in (INHERITS, WRONG_ARITHMETIC)
        )
        if _rounds_to(printed, true):
            kind = MATCH
        elif _cuts_to(printed, true):
            kind, cut_off = ROUNDING_ONLY, True
        elif _rounds_to(printed, given[name]) or _cuts_to(printed, given[name]):
            kind = INHERITS if wrong_upstream else ROUNDING_ONLY
            cut_off = not _rounds_to(printed, given[name])
        else:
            kind = WRONG_ARITHMETIC
        kinds[name] = kind
        result.append(
            SeedComparison(
                name=name,
                printed=printed.printed,
                seed_value=printed.value,
                true_value=true,
                given_seed=given[name],
                kind=kind,
                inherited_from=wrong_upstream if kind == INHERITS else (),
                seed_text=printed.seed_text,
                cut_off=cut_off,
            )
        )
    return result


def first_seed_error(comparisons: list[SeedComparison]) -> SeedComparison | None:
    """The first printed number whose own arithmetic is wrong: where the error enters."""
    return next((c for c in comparisons if c.kind == WRONG_ARITHMETIC), None)
