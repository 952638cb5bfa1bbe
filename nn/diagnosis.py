"""The catalogue of named mistakes, and the lesson re-run with one of them applied.

A wrong printed number is most useful with its cause. Each :class:`Mistake` here is data: a small
record saying how one re-run of the lesson differs from the true computation (the spec read
differently, the learning rate, the gradient of the loss, the slope used at an activation, the
weights read by the backward pass, a path left out of a hidden error term, the sign of the
update). One evaluator, :class:`MistakeRun`, reads those fields and computes every quantity of
the sheet, step after step, the way a learner with that one mistake would. ``nn.printed``
compares printed numbers with these re-runs and names the simplest mistake that reproduces them.

Two entries are about precision, not about the computation (``rounded-intermediates`` and
``truncated``); ``nn.printed`` recognises them from its pinned world and its rounding checks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from autograd import Value, topological_order
from nn.lesson import Lesson, build_lesson
from nn.spec import LessonSpec

SLOPED = ("sigmoid", "tanh", "relu", "leaky_relu")  # activations with a slope factor in δ
OUTPUT_SLOPED = ("sigmoid", "tanh")  # whose slope a book writes from the output a
OTHER_LEARNING_RATES = (0.001, 0.01, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0)

ROUNDED_INTERMEDIATES = "rounded-intermediates"
TRUNCATED = "truncated"


@dataclass(frozen=True)
class Mistake:
    """One named mistake: what it means, and how the re-run of the lesson differs.

    ``name`` is the catalogue name (``updated-weights-in-backward``); ``words`` the sentence the
    sheet prints. The other fields say how :class:`MistakeRun` computes: ``spec_change`` rewrites
    the spec (``train-biases``, ``freeze-biases``, ``other-reduction``); ``lr`` replaces the
    learning rate; ``seed`` is the gradient the backward pass starts from (−1: the other sign,
    ½ or 2: a factor lost or added); ``slope`` is how an activation's slope is taken (``z``: true,
    ``none``: left out, ``output``: at the output a) in the layers ``slope_layers`` (indices);
    ``updated_weights``: the backward pass reads the weights of the layer above after their
    update; ``dropped`` = (layer, unit): that unit's path is left out of the error terms of the
    layer below it; ``transposed``: square weight tables read the other way round;
    ``update_sign`` −1: w + η·g.
    """

    name: str
    words: str
    precision: bool = False
    spec_change: str = ""
    lr: float | None = None
    seed: float = 1.0
    slope: str = "z"
    slope_layers: tuple[int, ...] = ()
    updated_weights: bool = False
    dropped: tuple[int, int] | None = None
    transposed: bool = False
    update_sign: int = 1


# ---------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------

# Name, what it means (for docs/diagnosis.md and `stepgrad check --help`), in catalogue order:
# the simplest first. Precision first, then one wrong factor or sign, then wrong structure.
CATALOGUE: tuple[tuple[str, str], ...] = (
    (ROUNDED_INTERMEDIATES, "computed from earlier numbers rounded as they were printed"),
    (TRUNCATED, "further decimals cut off instead of rounded"),
    ("update-sign", "the update adds the gradient: w + η·∂L/∂w instead of w − η·∂L/∂w"),
    ("error-sign", "the error term with the other sign convention: (t − y) where (y − t) is meant"),
    ("missing-factor-2", "the 2 of d(t − y)²/dy left out: every gradient half the true one"),
    ("extra-factor-2", "the ½ of ½(t − y)² not cancelled: every gradient twice the true one"),
    ("mean-vs-sum", "the loss averaged over the outputs where it is summed, or the other way"),
    ("wrong-learning-rate", "the update made with another learning rate"),
    ("bias-not-updated", "the biases left as they were, though they are trained"),
    ("bias-updated", "the biases updated, though they are given and not trained"),
    ("missing-activation-slope", "the activation's slope σ'(z) left out of the error term"),
    ("slope-of-activation-output", "the slope taken at the output, σ'(a), instead of σ'(z)"),
    ("missing-path", "a hidden error term that sums only some of the units its unit feeds"),
    ("transposed-weights", "a square weight table read the wrong way round (w_ij for w_ji)"),
    (
        "updated-weights-in-backward",
        "hidden gradients computed with the already-updated weights of the layer above",
    ),
)
CATALOGUE_NAMES = tuple(name for name, _ in CATALOGUE)
MEANING = dict(CATALOGUE)


def _span(symbols: list[str]) -> str:
    """'w5…w8' for a run of symbols, 'w5, w6' for two, 'w5' for one."""
    if len(symbols) <= 2:
        return ", ".join(symbols)
    return f"{symbols[0]}…{symbols[-1]}"


def _layer_words(lesson: Lesson, index: int) -> str:
    return "output" if index == len(lesson.layers) - 1 else "hidden"


def mistakes_for(lesson: Lesson) -> list[Mistake]:
    """The catalogue's re-runs that can apply to this lesson, simplest first, with their words.

    A mistake that cannot happen in this lesson (no bias to forget, no square table to
    transpose, no second path to leave out) is not listed.
    """
    spec = lesson.spec
    if spec is None or not spec.layers:  # a program of named steps: no layers to get wrong
        return []
    layers = spec.layers
    n_out = layers[-1].units
    out: list[Mistake] = []
    loss = lesson.loss_symbol
    out.append(Mistake("update-sign", f"the update adds the gradient (w + η·∂{loss}/∂w): it "
                       f"must subtract it, w − η·∂{loss}/∂w", update_sign=-1))  # fmt: skip
    sign_words = (
        "the error terms have the other sign: δ is ∂{0}/∂z = (y − t)·…, not (t − y)·…"
        if lesson.error_sign > 0
        else "the error terms have the other sign: Err is −∂{0}/∂z = (t − y)·…, not (y − t)·…"
    )
    out.append(Mistake("error-sign", sign_words.format(loss), seed=-1.0))
    if spec.loss.kind == "squared_error":
        out.append(Mistake("missing-factor-2", f"the 2 of d(t − y)²/dy is missing: every "
                           f"gradient of {loss} = (t − y)² carries it", seed=0.5))  # fmt: skip
    if spec.loss.kind == "half_squared_error":
        out.append(Mistake("extra-factor-2", f"a factor 2 too many: the ½ of {loss} = ½(t − y)² "
                           "cancels the 2 of the square's derivative", seed=2.0))  # fmt: skip
    if n_out > 1 and spec.loss.kind != "cross_entropy":
        how = "averaged over" if spec.loss.reduction == "sum" else "summed over"
        should = "summed" if spec.loss.reduction == "sum" else "averaged"
        out.append(Mistake("mean-vs-sum", f"the loss {how} the {n_out} outputs: {loss} is "
                           f"{should}", spec_change="other-reduction"))  # fmt: skip
    for lr in OTHER_LEARNING_RATES:
        if abs(lr - lesson.lr) > 1e-12 * lesson.lr:
            out.append(Mistake("wrong-learning-rate", f"updated with η = {lr:g}: the learning "
                               f"rate is {lesson.lr:g}", lr=lr))  # fmt: skip
    if any(layer.train_biases for layer in layers):
        out.append(Mistake("bias-not-updated", "the biases were left as they were: they are "
                           "trained like the weights", spec_change="freeze-biases"))  # fmt: skip
    if any(not layer.train_biases for layer in layers):
        out.append(Mistake("bias-updated", "the biases were updated: they are given, not "
                           "trained", spec_change="train-biases"))  # fmt: skip
    sloped = [k for k, layer in enumerate(layers) if layer.activation in SLOPED]
    groups = [tuple(sloped)]
    if len(sloped) > 1:
        groups += [(k,) for k in sloped]
    for group in groups:
        where = "every layer" if len(group) > 1 else f"the {_layer_words(lesson, group[0])} layer"
        acts = sorted({layers[k].activation for k in group})
        slope = "σ'" if acts == ["sigmoid"] else "the activation's slope"
        out.append(Mistake("missing-activation-slope", f"{slope} is missing from the error terms "
                           f"of {where}: δ = (…)·{slope}(z)", slope="none",
                           slope_layers=group))  # fmt: skip
    by_output = [k for k in sloped if layers[k].activation in OUTPUT_SLOPED]
    groups = [tuple(by_output)] + ([(k,) for k in by_output] if len(by_output) > 1 else [])
    for group in groups:
        if not group:
            continue
        where = "every layer" if len(group) > 1 else f"the {_layer_words(lesson, group[0])} layer"
        out.append(Mistake("slope-of-activation-output", f"the slope in {where} was taken at the "
                           "unit's output, σ'(a): it is σ'(z) = a·(1 − a)", slope="output",
                           slope_layers=group))  # fmt: skip
    for k in range(len(layers) - 1):
        above = lesson.layers[k + 1]
        if len(above.units) < 2:
            continue
        for u, unit in enumerate(above.units):
            out.append(Mistake("missing-path", f"the error terms of the layer below {unit.a.label}"
                               f" leave out the path through {unit.a.label}: each hidden δ sums "
                               "over every unit it feeds", dropped=(k + 1, u)))  # fmt: skip
    if any(layer.units == layer.fan_in and layer.units > 1 for layer in layers):
        out.append(Mistake("transposed-weights", "the weight table was read the wrong way round "
                           "(w_ij where w_ji is meant)", transposed=True))  # fmt: skip
    if len(layers) > 1:
        above = [w.label for layer in lesson.layers[1:] for u in layer.units for w in u.weights]
        which = "output weights" if len(layers) == 2 else "weights of the layers above"
        out.append(Mistake("updated-weights-in-backward", f"computed with the already-updated "
                           f"{which} {_span(above)}: the hidden-layer gradients must use the "
                           "weights of the forward pass", updated_weights=True))  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------
# The re-run
# ---------------------------------------------------------------------------------------------


def _changed_spec(spec: LessonSpec, change: str) -> LessonSpec:
    if change in ("train-biases", "freeze-biases"):
        train = change == "train-biases"
        layers = tuple(replace(layer, train_biases=train) for layer in spec.layers)
        return replace(spec, layers=layers)
    if change == "other-reduction":
        other = "mean" if spec.loss.reduction == "sum" else "sum"
        return replace(spec, loss=replace(spec.loss, reduction=other))
    return spec


class MistakeRun:
    """The lesson computed step after step with one mistake: every quantity of the sheet.

    ``values(step)`` maps sheet names (node labels, error terms, ``dL/d<p>``, slopes and
    ``<p> (updated)``) to numbers after ``step`` updates made the mistaken way. Steps are
    computed once, in order, as they are asked for.
    """

    def __init__(self, lesson: Lesson, mistake: Mistake) -> None:
        assert lesson.spec is not None
        self.mistake = mistake
        self.spec = _changed_spec(lesson.spec, mistake.spec_change)
        self.lr = lesson.lr if mistake.lr is None else mistake.lr
        self.error_sign = lesson.error_sign
        known = set(self.spec.parameter_names())
        given = {leaf.label: leaf.data for leaf in (*lesson.parameters, *lesson.constants)}
        self.parameters = {k: v for k, v in given.items() if k in known}
        self.trained = [p.label for p in lesson.parameters]  # as the lesson trains them
        self.steps: list[dict[str, float]] = []

    def values(self, step: int) -> dict[str, float]:
        """Every quantity after ``step`` updates (0: the first forward and backward pass)."""
        while len(self.steps) <= step:
            self.steps.append(self._step())
        return self.steps[step]

    def _step(self) -> dict[str, float]:
        m = self.mistake
        current = dict(self.parameters)
        if m.transposed:
            current = _transposed(self.spec, current)
        lesson = build_lesson(self.spec, lr=self.lr, parameters=current)
        order = topological_order(lesson.loss)
        grads, slopes = _backward(lesson, order, m, None)
        if m.updated_weights:
            for _ in range(len(lesson.layers) - 1):  # each layer's update feeds the one below
                updated = {id(p): p.data - self.lr * grads.get(id(p), 0.0)
                           for p in lesson.parameters}  # fmt: skip
                grads, slopes = _backward(lesson, order, m, updated)
        out = {label: node.data for label, node in lesson.nodes.items()}
        for delta, label in lesson.deltas.items():
            out[delta] = self.error_sign * grads.get(id(lesson.nodes[label]), 0.0)
        out.update(slopes)
        step = self.lr * m.update_sign
        for p in lesson.parameters:
            g = grads.get(id(p), 0.0)
            out[f"dL/d{p.label}"] = g
            out[f"{p.label} (updated)"] = p.data - step * g
            self.parameters[p.label] = p.data - step * g
        for name in self.trained:  # trained by the lesson, left as it was by the mistake
            if f"{name} (updated)" not in out:
                out[f"{name} (updated)"] = out[name]
        if m.transposed:  # the learner's table is the transposed one: keep reading it so
            self.parameters = _transposed(self.spec, self.parameters)
        return out


def _transposed(spec: LessonSpec, values: dict[str, float]) -> dict[str, float]:
    """Every square weight table's values swapped across its diagonal."""
    out = dict(values)
    for layer in spec.layers:
        if layer.units != layer.fan_in:
            continue
        s = layer.weight_symbols
        for j in range(layer.units):
            for i in range(layer.fan_in):
                if s[j][i] in values and s[i][j] in values:
                    out[s[j][i]] = values[s[i][j]]
    return out


def _slope_at_output(node: Value) -> float:
    """σ'(a): the activation's derivative taken at its own output instead of its input."""
    fresh: Value = getattr(Value(node.data), node.op)()
    (slope,) = fresh.local_grads()
    return slope


def _backward(
    lesson: Lesson, order: list[Value], m: Mistake, updated: dict[int, float] | None
) -> tuple[dict[int, float], dict[str, float]]:
    """Gradients of every node by the chain rule, with the mistake's changes; and the slopes."""
    activation: dict[int, tuple[int, str]] = {}  # node id -> (layer index, slope name)
    for k, layer in enumerate(lesson.layers):
        if layer.activation in SLOPED:
            for unit in layer.units:
                activation[id(unit.a)] = (k, unit.slope)
    weight_ids = {id(p) for p in lesson.parameters} | {id(c) for c in lesson.constants}
    skip: set[tuple[int, int]] = set()  # (product node, parent) pairs the mistake leaves out
    if m.dropped is not None:
        layer_index, unit_index = m.dropped
        unit = lesson.layers[layer_index].units[unit_index]
        ids = {id(w) for w in unit.weights}
        for node in order:
            if node.op == "*" and any(id(p) in ids for p in node.parents):
                for p in node.parents:
                    if id(p) not in ids:
                        skip.add((id(node), id(p)))
    slopes: dict[str, float] = {}
    grad: dict[int, float] = {id(lesson.loss): m.seed}
    for node in reversed(order):
        if node.is_leaf:
            continue
        g = grad.get(id(node), 0.0)
        local = list(node.local_grads())
        parents = node.parents
        if id(node) in activation:
            k, slope_name = activation[id(node)]
            if k in m.slope_layers and m.slope == "none":
                local = [1.0]
            elif k in m.slope_layers and m.slope == "output":
                local = [_slope_at_output(node)]
            slopes[slope_name] = local[0]
        if updated is not None and node.op == "*":
            # d(a·w)/da reads w: the mistake reads w after its update
            for k, p in enumerate(parents):
                other = parents[1 - k]
                if id(other) in weight_ids and id(other) in updated and id(p) not in weight_ids:
                    local[k] = updated[id(other)]
        for k, p in enumerate(parents):
            if (id(node), id(p)) in skip:
                continue
            grad[id(p)] = grad.get(id(p), 0.0) + local[k] * g
    return grad, slopes



def likely_mistake(
    lesson: Lesson,
    name: str,
    fits: Callable[[float], bool],
    runs: dict[int, MistakeRun] | None = None,
) -> Mistake | None:
    """The simplest mistake whose first pass gives a value of ``name`` that ``fits`` (or None).

    For one answer at a time (the quiz): ``fits`` says whether a value counts as the answer
    given; ``runs`` keeps the re-runs between calls.
    """
    if getattr(lesson, "spec", None) is None:
        return None
    runs = {} if runs is None else runs
    for k, mistake in enumerate(mistakes_for(lesson)):
        if k not in runs:
            runs[k] = MistakeRun(lesson, mistake)
        value = runs[k].values(0).get(name)
        if value is not None and math.isfinite(value) and fits(value):
            return mistake
    return None
