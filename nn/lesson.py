"""The lesson model: a labelled graph built from named numbers, plus its vocabulary.

A :class:`Lesson` is what every worked example is, built-in or brought by a user: the graph of
one forward pass and loss, built from ``autograd.Value``s one node per multiplication and per
addition (so a drawing or trace shows every step a learner does by hand), every node a learner
needs labelled with its symbol (``z1[0]``, ``a1[1]``, ``y_hat``, ``net_h1``, ``loss``), the error
terms (``delta2`` is the gradient of the loss at ``z2``), the slopes of the activations, and the
layered structure the sheet, the quiz, the drawings and the printed-number check read.
:func:`build_lesson` builds one from a checked :class:`nn.spec.LessonSpec`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from autograd import Value
from nn.activations import UNIT_ACTIVATIONS
from nn.checks import finite_number
from nn.expression import ExpressionError
from nn.network import LayerView, NetworkLayout, UnitView
from nn.program import ProgramRun, parse_program
from nn.spec import INPUT_WEIGHT, LessonSpec, ProgramSpec

# activation -> the name of its slope (sigma'), for those whose slope a sheet shows
SLOPE_NAMES = {name: a.slope_name for name, a in UNIT_ACTIVATIONS.items() if a.slope_name}


@dataclass(frozen=True)
class UnitNodes:
    """One unit of a built lesson: the symbols and nodes of its weighted input and output."""

    z: Value  # the weighted input (for a linear unit, the output itself)
    a: Value  # the output
    weights: tuple[Value, ...]  # one per input of the layer
    bias: Value
    inputs: tuple[Value, ...]  # the previous layer's outputs (or the lesson's inputs)
    delta: str  # the name of the error term at z
    slope: str  # the name of the activation's slope at z ('' for linear and softmax)


@dataclass(frozen=True)
class LayerNodes:
    """One layer of a built lesson, with the spec it came from."""

    number: int  # 1 for the first layer after the inputs
    activation: str
    units: tuple[UnitNodes, ...]
    products: str
    shared_bias: bool
    train_biases: bool


@dataclass
class Lesson:
    """One lesson: its graph (``backward()`` not yet called) and its vocabulary.

    ``nodes`` maps every labelled node's label to the node, in build order. ``parameters`` are
    the trainable leaves in the source's order; ``inputs`` the data leaves (inputs and
    targets); ``constants`` the frozen biases (given, not trained). ``deltas`` maps each error
    term's name to the label of the node whose gradient it is
    (``{"delta2": "z2", ...}``). ``slopes`` maps each activation slope's name to the label of
    the activation's output node (``{"sigma'(z2)": "y_hat"}``). ``notes`` say in prose what the
    reader should know (where the numbers come from, how a source was read).
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
    spec: LessonSpec | None = None
    layers: tuple[LayerNodes, ...] = ()
    outputs: tuple[Value, ...] = ()
    targets: tuple[Value, ...] = ()
    constants: list[Value] = field(default_factory=list)
    slopes: dict[str, str] = field(default_factory=dict)
    program: ProgramRun | None = None  # a lesson written as named steps (then layers == ())

    @property
    def loss_symbol(self) -> str:
        return self.spec.loss.symbol if self.spec is not None else "L"

    @property
    def lr_symbol(self) -> str:
        """How the lesson writes the learning rate (η unless its book writes l or α)."""
        return self.spec.lr_symbol if self.spec is not None else "η"

    @property
    def error_sign(self) -> int:
        return self.spec.error_sign if self.spec is not None else 1

    def parameter_values(self) -> dict[str, float]:
        """The current parameter values by name, in the source's order."""
        return {p.label: p.data for p in self.parameters}

    def updated(self) -> Lesson:
        """The same lesson after one gradient-descent step, p - lr * dL/dp, as a fresh graph.

        Needs ``self.loss.backward()`` to have run (once: leaves accumulate gradients). This
        lesson is left unchanged.
        """
        if self.loss.grad != 1.0:
            raise RuntimeError(
                f"lesson {self.name!r}: call lesson.loss.backward() before lesson.updated(); "
                "the parameters have no gradients yet"
            )
        if self.spec is None:
            raise RuntimeError(f"lesson {self.name!r} was not built from a spec")
        new_values = {p.label: p.data - self.lr * p.grad for p in self.parameters}
        return build_lesson(self.spec, lr=self.lr, parameters=new_values)

    def layout(self) -> NetworkLayout:
        """The lesson as a layered network (units in layers, weights, biases) for drawing."""
        input_units = tuple(UnitView(symbol=v.label, a=v) for v in self.inputs[: self._n_in()])
        views = [LayerView("input", input_units)]
        for layer in self.layers:
            units = tuple(
                UnitView(
                    symbol=u.a.label,
                    a=u.a,
                    z=u.z,
                    z_symbol=u.z.label,
                    weights=u.weights,
                    bias=u.bias,
                    delta_symbol=_greek(u.delta),
                )
                for u in layer.units
            )
            last = layer is self.layers[-1]
            hidden = "hidden" if len(self.layers) == 2 else f"hidden {layer.number}"
            views.append(LayerView("output" if last else hidden, units, layer.activation))
        return NetworkLayout(
            layers=tuple(views),
            loss=self.loss,
            loss_symbol=self.loss_symbol,
            targets=self.targets,
            error_sign=self.error_sign,
            constants=tuple(self.constants),
        )

    def _n_in(self) -> int:
        return len(self.inputs) - len(self.targets)


def _greek(name: str) -> str:
    """'delta1[0]' -> 'δ1[0]': an error term's name as drawings write it."""
    return "δ" + name[5:] if name.startswith("delta") else name


# ---------------------------------------------------------------------------------------------
# Building the graph
# ---------------------------------------------------------------------------------------------


class _Builder:
    """Collects labelled nodes in build order and checks that no label is used twice."""

    def __init__(self) -> None:
        self.nodes: dict[str, Value] = {}

    def name(self, node: Value, label: str) -> Value:
        if label in self.nodes:  # the spec check makes symbols unique: a bug if it happens
            raise AssertionError(f"label {label!r} used twice")
        node.label = label
        self.nodes[label] = node
        return node

    def leaf(self, label: str, data: float) -> Value:
        if label in self.nodes:  # a shared bias: one leaf, used by every unit of its layer
            return self.nodes[label]
        return self.name(Value(data), label)

    def weighted_input(self, pairs: list[tuple[Value, Value]], bias: Value, label: str) -> Value:
        """``label = a1*b1 + a2*b2 + ... + bias``: one * node per pair, one + node per addition."""
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


def _activate(g: _Builder, z: Value, activation: str, label: str, slope: float) -> Value:
    return g.name(UNIT_ACTIVATIONS[activation].apply(z, slope), label)


def _log_probability(g: _Builder, p: Value, label: str, stable: Callable[[], Value] | None,
                     ) -> Value:  # fmt: skip
    """``log p`` for a probability the network computed, labelled ``label``.

    The textbook graph ``log(p)`` while p's float lies strictly between 0 and 1. When it
    rounded to 0 or 1 (a saturated sigmoid, a softmax output that underflowed: the true p is
    tiny, or just below 1), ``stable()`` builds the same number from the logit instead
    (``-softplus(-z)`` for a sigmoid, ``z - logsumexp`` for a softmax), so a valid lesson never
    fails with log(0), a term of weight 0 is worth 0 and not an error, and log p of a p that
    rounded to 1 keeps its digits (-4.2e-18 at z = 40, not 0).
    """
    if 0.0 < p.data < 1.0 or stable is None:
        return g.name(p.log(), label)
    return g.name(stable(), label)


def _loss(g: _Builder, spec: LessonSpec, outputs: list[Value], targets: list[Value]) -> Value:
    """The loss graph, written the way the spec's loss and difference say."""
    loss = spec.loss
    n = len(outputs)
    if loss.kind == "cross_entropy":
        # The outputs are one softmax layer: y_k = exp(z_k) / total.
        zs = [y.parents[0].parents[0] for y in outputs if y.op == "/"]
        lse: list[Value] = []  # log(sum_j exp(z_j)), built once, only if some y needs it

        def from_logits(k: int) -> Callable[[], Value] | None:
            if len(zs) != n:
                return None

            def stable() -> Value:
                if not lse:
                    m = max(z.data for z in zs)  # a constant shift: exp(z - m) <= 1
                    lse.append(_total_of([(z - m).exp() for z in zs]).log() + m)
                return zs[k] - lse[0]

            return stable

        logs = [_log_probability(g, y, f"log {y.label}", from_logits(k))
                for k, y in enumerate(outputs)]  # fmt: skip
        terms = [g.name(t * lg, f"{t.label}*{lg.label}") for t, lg in zip(targets, logs)]
        total = -g.sum(terms)
    elif loss.kind == "binary_cross_entropy":
        terms = []
        for y, t in zip(outputs, targets):
            one = g.leaf("1", 1.0)
            z = y.parents[0] if y.op == "sigmoid" else None
            # log y = -softplus(-z), log(1 - y) = -softplus(z): used where y rounded to 0 or
            # to 1 (z below about -745 or above about 37).
            log_y = _log_probability(g, y, f"log {y.label}",
                                     None if z is None else lambda z=z: -((-z).softplus()))
            right = g.name(t * log_y, f"{t.label}*log {y.label}")
            if 0.0 < y.data < 1.0 or z is None:
                rest = g.name(one - y, f"1 - {y.label}")
                log_rest = g.name(rest.log(), f"log(1 - {y.label})")
            else:
                log_rest = g.name(-z.softplus(), f"log(1 - {y.label})")
            wrong = g.name(
                g.name(one - t, f"1 - {t.label}") * log_rest,
                f"(1 - {t.label})*log(1 - {y.label})",
            )
            terms.append(g.name(-(right + wrong), f"bce {y.label}"))
        total = terms[0] if n == 1 else g.sum(terms)
    else:
        half = g.leaf("1/2", 0.5) if loss.kind == "half_squared_error" else None
        terms = []
        for k, (y, t) in enumerate(zip(outputs, targets)):
            a, b = (t, y) if loss.difference == "t - y" else (y, t)
            diff = g.name(a - b, f"{a.label} - {b.label}")
            if half is None:
                if n == 1 and loss.reduction == "sum":
                    return g.name(diff**2, "loss")
                term_label = loss.terms[k] if loss.terms else f"({diff.label})^2"
                terms.append(g.name(diff**2, term_label))
            else:
                square = g.name(diff**2, f"({diff.label})^2")
                if n == 1 and loss.reduction == "sum":
                    return g.name(half * square, "loss")
                term_label = loss.terms[k] if loss.terms else f"1/2*({diff.label})^2"
                terms.append(g.name(half * square, term_label))
        total = terms[0] if n == 1 else g.sum(terms)
    if loss.reduction == "mean" and n > 1:
        total = total * g.leaf(f"1/{n}", 1.0 / n)
    if total.label and g.nodes.get(total.label) is total:
        del g.nodes[total.label]  # the last partial sum is the loss itself: one label, "loss"
    return g.name(total, "loss")


def _total_of(terms: list[Value]) -> Value:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def build_lesson(
    spec: LessonSpec, lr: float | None = None, parameters: Mapping[str, float] | None = None
) -> Lesson:
    """Build the graph of a lesson from its spec; ``backward()`` is not called.

    ``lr`` overrides the learning rate (a positive number). ``parameters`` overrides some or all
    parameter values by symbol (e.g. ``{"W2[0]": 0.5}``); unknown names raise ValueError.
    """
    if lr is None:
        lr = spec.lr
    else:
        lr = finite_number(lr, "learning rate lr")
        if lr <= 0.0:
            raise ValueError(f"learning rate lr must be positive, got {lr!r}")
    if spec.program is not None:
        return _build_program_lesson(spec, spec.program, lr, parameters)
    overrides: dict[str, float] = {}
    if parameters is not None:
        if not isinstance(parameters, Mapping):
            raise TypeError(
                f"parameters must be a mapping from name to number, got {type(parameters).__name__}"
            )
        known = spec.parameter_names()
        for key, value in parameters.items():
            if key not in known:
                raise ValueError(
                    f"lesson {spec.name!r} has no parameter {key!r}; its parameters are: "
                    + ", ".join(known)
                )
            overrides[key] = finite_number(value, f"parameter {key!r}")

    def number(symbol: str, default: float) -> float:
        return overrides.get(symbol, default)

    g = _Builder()
    x = [g.leaf(s, v) for s, v in zip(spec.input_symbols, spec.inputs)]
    t = [g.leaf(s, v) for s, v in zip(spec.target_symbols, spec.targets)]
    parameters_out: list[Value] = []
    constants: list[Value] = []
    weights: list[list[list[Value]]] = []
    biases: list[list[Value]] = []
    for layer in spec.layers:
        w = [[None] * layer.fan_in for _ in range(layer.units)]
        for j, i in layer.weight_order():
            s = layer.weight_symbols[j][i]
            w[j][i] = g.leaf(s, number(s, layer.weights[j][i]))
            parameters_out.append(w[j][i])
        weights.append(w)  # type: ignore[arg-type]
        b = []
        for j in range(layer.units):
            s = layer.bias_symbols[j]
            value = layer.biases[0] if layer.shared_bias else layer.biases[j]
            new = s not in g.nodes
            leaf = g.leaf(s, number(s, value))
            if new:
                (parameters_out if layer.train_biases else constants).append(leaf)
            b.append(leaf)
        biases.append(b)

    layers_out: list[LayerNodes] = []
    slopes: dict[str, str] = {}
    deltas_by_layer: list[dict[str, str]] = []
    current = x
    for n, layer in enumerate(spec.layers):
        units: list[UnitNodes] = []
        zs: list[Value] = []
        for j in range(layer.units):
            pairs = [
                (current[i], weights[n][j][i])
                if layer.products == INPUT_WEIGHT
                else (weights[n][j][i], current[i])
                for i in range(layer.fan_in)
            ]
            linear = layer.activation == "linear"
            label = layer.a_symbols[j] if linear else layer.z_symbols[j]
            zs.append(g.weighted_input(pairs, biases[n][j], label))
        if layer.activation == "softmax":
            exps = [g.name(z.exp(), f"exp({z.label})") for z in zs]
            total = g.sum(exps)
            outs = [g.name(e / total, s) for e, s in zip(exps, layer.a_symbols)]
        elif layer.activation == "linear":
            outs = zs
        else:
            outs = [
                _activate(g, z, layer.activation, s, layer.leaky_slope)
                for z, s in zip(zs, layer.a_symbols)
            ]
        deltas: dict[str, str] = {}
        for j in range(layer.units):
            slope = ""
            if layer.activation in SLOPE_NAMES:
                slope = f"{SLOPE_NAMES[layer.activation]}({zs[j].label})"
                slopes[slope] = outs[j].label
            deltas[layer.delta_symbols[j]] = zs[j].label
            units.append(
                UnitNodes(
                    z=zs[j],
                    a=outs[j],
                    weights=tuple(weights[n][j]),
                    bias=biases[n][j],
                    inputs=tuple(current),
                    delta=layer.delta_symbols[j],
                    slope=slope,
                )
            )
        deltas_by_layer.append(deltas)
        layers_out.append(
            LayerNodes(n + 1, layer.activation, tuple(units), layer.products, layer.shared_bias,
                       layer.train_biases)  # fmt: skip
        )
        current = outs
    loss = _loss(g, spec, current, t)
    deltas_all: dict[str, str] = {}
    for deltas in reversed(deltas_by_layer):  # the output layer's error terms first
        deltas_all.update(deltas)
    return Lesson(
        name=spec.name,
        title=spec.title,
        source=spec.source,
        loss=loss,
        nodes=g.nodes,
        parameters=parameters_out,
        inputs=[*x, *t],
        lr=lr,
        deltas=deltas_all,
        notes=spec.notes,
        spec=spec,
        layers=tuple(layers_out),
        outputs=tuple(current),
        targets=tuple(t),
        constants=constants,
        slopes=slopes,
    )


def _build_program_lesson(
    spec: LessonSpec, program_spec: ProgramSpec, lr: float,
    parameters: Mapping[str, float] | None,
) -> Lesson:  # fmt: skip
    """A lesson written as named steps: its program run on the given numbers.

    Every input and step is a labelled node (``nodes``); the given names listed as parameters
    are the ``parameters`` (trained), the other given numbers the ``inputs``.
    """
    values = dict(program_spec.given)
    if parameters is not None:
        if not isinstance(parameters, Mapping):
            raise TypeError(
                f"parameters must be a mapping from name to number, got {type(parameters).__name__}"
            )
        for key, value in parameters.items():
            if key not in program_spec.parameters:
                raise ValueError(
                    f"lesson {spec.name!r} has no parameter {key!r}; its parameters are: "
                    + ", ".join(program_spec.parameters)
                )
            values[key] = finite_number(value, f"parameter {key!r}")
    try:
        run = parse_program(program_spec.text).build(values)
    except ExpressionError as error:
        raise ValueError(f"lesson {spec.name!r}: program: {error}") from None
    trained = set(program_spec.parameters)
    return Lesson(
        name=spec.name,
        title=spec.title,
        source=spec.source,
        loss=run.output,
        nodes=dict(run.nodes),
        parameters=[run.inputs[name] for name in program_spec.parameters],
        inputs=[leaf for name, leaf in run.inputs.items() if name not in trained],
        lr=lr,
        notes=spec.notes,
        spec=spec,
        program=run,
    )


def iterate_lesson(lesson: Lesson, steps: int) -> Iterator[Lesson]:
    """Yield the lesson before training and after each of ``steps`` gradient-descent updates.

    Every yielded lesson has had ``loss.backward()`` called once. Only one graph is alive at a
    time, so long runs need little memory.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a whole number >= 0, got {steps!r}")
    lesson.loss.backward()
    yield lesson
    for _ in range(steps):
        lesson = lesson.updated()
        lesson.loss.backward()
        yield lesson


def engine_values(lesson: Lesson) -> dict[str, float]:
    """Every number of a lesson as the engine has it, after ``loss.backward()``.

    Keys: each labelled node's label (its data), each error term's name (its node's gradient,
    times -1 for a source whose error term is -dL/dz), and ``"dL/d<parameter>"`` for each
    parameter gradient.
    """
    if lesson.loss.grad != 1.0:
        raise RuntimeError(f"lesson {lesson.name!r}: call lesson.loss.backward() first")
    values = {label: node.data for label, node in lesson.nodes.items()}
    for delta, node_label in lesson.deltas.items():
        values[delta] = lesson.error_sign * lesson.nodes[node_label].grad
    for p in lesson.parameters:
        values[f"dL/d{p.label}"] = p.grad
    return values
