"""The sheet of a lesson: every number a learner computes by hand, each with its formula.

One generic builder serves every lesson (built-in or a user's file): it reads the lesson's layers
and vocabulary and lists the forward pass, the loss, the output error, the hidden errors, every
gradient, the updated parameters and the loss over further training steps. Each number is the
engine's (node data, local derivatives, gradients), and each comes with its formula twice: in
symbols (``2·(ŷ − t)·σ'(z2)``) and with the operands filled in (``2·(0.748649 − 0.8)·0.188174``),
which evaluates to the number shown. When the lesson lists numbers its source printed, each is
checked (``nn.printed``) and shown beside the true one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from autograd import Value
from nn.activations import UNIT_ACTIVATIONS
from nn.lesson import LayerNodes, Lesson, build_lesson, engine_values, iterate_lesson
from nn.lesson import _loss as lesson_loss  # the lesson's own loss graph, for the fast loop
from nn.printed import Comparison, check_printed, quantity_symbol
from nn.program import ProgramRun, local_derivative, step_formula
from nn.spec import (
    INPUT_WEIGHT,
    MAX_WORK,
    LessonSpec,
    SpecError,
    most_steps,
    parse_spec,
    work_problem,
)
from viz.numbers import format_number

# Training steps are bounded by their work (steps x parameters <= MAX_WORK, see nn.spec), not
# by a count. MAX_STEPS is what that allows the smallest network: no lesson gets more.
MAX_STEPS = most_steps(0)

SECTION_FORWARD = "Forward pass"
SECTION_LOSS = "Loss"
SECTION_OUTPUT_ERROR = "Output error"
SECTION_HIDDEN_ERRORS = "Hidden errors"
SECTION_GRADIENTS = "Gradients"
SECTION_UPDATE = "Update"
SECTION_TRAINING = "Training"

_ACTIVATION_TEMPLATES = {name: a.symbol for name, a in UNIT_ACTIVATIONS.items()}


# ---------------------------------------------------------------------------------------------
# Symbols and quantities
# ---------------------------------------------------------------------------------------------


def symbol(name: str, loss_symbol: str = "L", lr_symbol: str = "η") -> str:
    """How a quantity's name is written for people: 'delta2' -> 'δ2', 'dL/dW2[0]' -> '∂L/∂W2[0]'."""
    return quantity_symbol(name, loss_symbol, lr_symbol)


@dataclass(frozen=True)
class Operand:
    """One number that goes into a formula: its name, how it is written, and its value."""

    name: str
    symbol: str
    value: float


@dataclass(frozen=True)
class Quantity:
    """One number of a lesson, with the formula that made it.

    ``template`` is the formula with ``{0}``, ``{1}``, ... standing for ``operands``; filling in
    their symbols gives :attr:`formula`, filling in their values gives :attr:`filled`. ``value``
    comes from the engine. ``meaning`` says what the quantity is when its name does not
    (``δ2`` is ``∂L/∂z2``). ``comparison`` is the check of the number the source printed for it,
    when it printed one and the comparison is switched on.
    """

    name: str
    symbol: str
    section: str
    value: float
    template: str
    operands: tuple[Operand, ...]
    meaning: str = ""
    comparison: Comparison | None = None

    @property
    def formula(self) -> str:
        """The formula in symbols, e.g. ``2·(ŷ − t)·σ'(z2)``."""
        return self.template.format(*(op.symbol for op in self.operands))

    @property
    def filled(self) -> str:
        """The formula with the operands' values filled in (6 significant digits)."""
        return _fill(self.template, [format_number(op.value) for op in self.operands])

    def line(self) -> str:
        """``symbol = meaning = formula = filled = value``, leaving out repeated parts."""
        parts = [self.symbol]
        # A bare copy ("∂L/∂b2 = δ2") needs no filled-in form: it would just repeat the value.
        filled = "" if self.template == "{0}" else self.filled
        for part in (self.meaning, self.formula, filled, format_number(self.value)):
            if part and part != parts[-1]:
                parts.append(part)
        return " = ".join(parts)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready description (see ``stepgrad example --format json``)."""
        printed = self.comparison
        return {
            "name": self.name,
            "symbol": self.symbol,
            "section": self.section,
            "value": self.value,
            "meaning": self.meaning or None,
            "formula": self.formula,
            "filled": self.filled,
            "template": self.template,
            "operands": [
                {"name": op.name, "symbol": op.symbol, "value": op.value} for op in self.operands
            ],
            "printed_value": None if printed is None else printed.value,
            "printed": None if printed is None else printed.printed,
            "printed_given_own_numbers": None if printed is None else printed.given,
            "mismatch": None if printed is None else printed.mismatch,
            "kind": None if printed is None else printed.kind,
            "inherited_from": None if printed is None else list(printed.inherited_from),
            "diagnosis": None if printed is None or not printed.diagnosis else printed.diagnosis,
            "diagnosis_text": (
                None if printed is None or not printed.diagnosis else printed.diagnosis_text
            ),
        }


_PLACEHOLDER = re.compile(r"\{(\d+)\}")


def _fill(template: str, texts: Sequence[str]) -> str:
    """Put the numbers into a template; negative ones in brackets unless already bracketed.

    The brackets make "0.5 − (−0.2)" and "2·(−0.05)" read (and evaluate) the way they are
    meant, while "σ(−0.34)" needs no second pair.
    """

    def number(match: re.Match[str]) -> str:
        text = texts[int(match.group(1))]
        start, end = match.span()
        bracketed = template[start - 1 : start] == "(" and template[end : end + 1] == ")"
        return f"({text})" if text.startswith("−") and not bracketed else text

    return _PLACEHOLDER.sub(number, template)


@dataclass
class Explanation:
    """Everything ``stepgrad example`` shows for one lesson: its sheet, training, check."""

    example: Lesson  # the graph before training, after backward()
    quantities: list[Quantity]  # forward pass to updated parameters, in the source's order
    training: list[Quantity]  # the loss after 1, 2, ... further updates
    notes: list[str]
    loss_symbol: str
    compare_printed: bool
    printed_comparisons: list[Comparison] | None  # None: the source printed no numbers
    given: dict[str, float] = field(default_factory=dict)
    given_groups: list[list[str]] = field(default_factory=list)  # names, one line each
    # The network's numbers after 1, 2, ... updates (parameters, every z and a, targets, the
    # loss), for the first ``keep_passes`` training steps only (see explain_lesson).
    passes: list[dict[str, float]] = field(default_factory=list)

    @property
    def lesson(self) -> Lesson:
        return self.example

    @property
    def later_comparisons(self) -> list[Comparison]:
        """Printed numbers of later training steps (not on the sheet itself)."""
        if not self.compare_printed or not self.printed_comparisons:
            return []
        return [c for c in self.printed_comparisons if c.after > 0]


# ---------------------------------------------------------------------------------------------
# The generic sheet builder
# ---------------------------------------------------------------------------------------------


class _Sheet:
    """Builds the list of quantities; each formula may only use numbers already on the sheet."""

    def __init__(self, lesson: Lesson) -> None:
        self.lesson = lesson
        self.loss_symbol = lesson.loss_symbol
        self.values: dict[str, float] = {}
        self.quantities: list[Quantity] = []
        for leaf in (*lesson.inputs, *lesson.parameters, *lesson.constants):
            self.values[leaf.label] = leaf.data
        self.values["lr"] = lesson.lr

    def operand(self, name: str) -> Operand:
        if name not in self.values:  # a bug in this module: formulas must go in order
            raise AssertionError(f"{name!r} is used before it is on the sheet")
        return Operand(name, symbol(name, self.loss_symbol, self.lesson.lr_symbol),
                       self.values[name])  # fmt: skip

    def add(
        self,
        section: str,
        name: str,
        value: float,
        template: str,
        operands: Sequence[str],
        meaning: str = "",
        shown_as: str | None = None,
    ) -> None:
        """Put a quantity on the sheet; ``shown_as`` overrides its symbol."""
        self.quantities.append(
            Quantity(
                name=name,
                symbol=shown_as or symbol(name, self.loss_symbol, self.lesson.lr_symbol),
                section=section,
                value=value,
                template=template,
                operands=tuple(self.operand(op) for op in operands),
                meaning=meaning,
            )
        )
        self.values[name] = value

    def d(self, node_label: str) -> str:
        """'∂L/∂z2': what an error term means."""
        sign = "−" if self.lesson.error_sign < 0 else ""
        return f"{sign}∂{self.loss_symbol}/∂{symbol(node_label, self.loss_symbol)}"


def _slope_template(activation: str, slope: float) -> str:
    # {0} stays for the operand; {slope} is leaky_relu's negative-side slope
    return UNIT_ACTIVATIONS[activation].slope_formula.format("{0}", slope=format_number(slope))


def _slope_operand(activation: str, unit_a: Value, unit_z: Value) -> str:
    return unit_a.label if UNIT_ACTIVATIONS[activation].slope_of == "a" else unit_z.label


def _weighted_sum(sheet: _Sheet, layer: LayerNodes, v: Mapping[str, float]) -> None:
    for unit in layer.units:
        operands: list[str] = []
        for w, x in zip(unit.weights, unit.inputs):
            pair = [x.label, w.label] if layer.products == "input*weight" else [w.label, x.label]
            operands += pair
        products = " + ".join(f"{{{2 * k}}}·{{{2 * k + 1}}}" for k in range(len(unit.weights)))
        template = f"{products} + {{{2 * len(unit.weights)}}}"
        sheet.add(SECTION_FORWARD, unit.z.label, v[unit.z.label], template,
                  [*operands, unit.bias.label])  # fmt: skip


def _forward(sheet: _Sheet, lesson: Lesson, v: Mapping[str, float]) -> None:
    for layer in lesson.layers:
        _weighted_sum(sheet, layer, v)
        if layer.activation == "linear":
            continue
        if layer.activation == "softmax":
            zs = [u.z.label for u in layer.units]
            exps = " + ".join(f"exp({{{k + 1}}})" for k in range(len(zs)))
            for unit in layer.units:
                sheet.add(SECTION_FORWARD, unit.a.label, v[unit.a.label],
                          f"exp({{0}}) / ({exps})", [unit.z.label, *zs])  # fmt: skip
            continue
        for unit in layer.units:
            sheet.add(SECTION_FORWARD, unit.a.label, v[unit.a.label],
                      _ACTIVATION_TEMPLATES[layer.activation], [unit.z.label])  # fmt: skip


def _loss_formula(lesson: Lesson) -> tuple[str, list[str]]:
    """The loss as a template over the outputs and targets, as the spec writes it."""
    spec = lesson.spec
    assert spec is not None
    outputs = [y.label for y in lesson.outputs]
    targets = [t.label for t in lesson.targets]
    n = len(outputs)
    operands: list[str] = []
    terms: list[str] = []
    kind = spec.loss.kind
    for k, (y, t) in enumerate(zip(outputs, targets)):
        a, b = 2 * k, 2 * k + 1
        if kind == "cross_entropy":
            operands += [t, y]
            terms.append(f"{{{a}}}·log({{{b}}})")
        elif kind == "binary_cross_entropy":
            operands += [t, y]
            terms.append(f"{{{a}}}·log({{{b}}}) + (1 − {{{a}}})·log(1 − {{{b}}})")
        else:
            operands += [t, y] if spec.loss.difference == "t - y" else [y, t]
            half = "½·" if kind == "half_squared_error" else ""
            terms.append(f"{half}({{{a}}} − {{{b}}})²")
    if kind in ("cross_entropy", "binary_cross_entropy"):
        template = "−(" + " + ".join(terms) + ")"
    else:
        template = " + ".join(terms)
    if spec.loss.reduction == "mean" and n > 1:
        template = f"({template}) / {n}"
    return template, operands


def _loss_terms(sheet: _Sheet, lesson: Lesson, v: Mapping[str, float]) -> None:
    """Each output's term of a squared error, when the lesson names them (E_o1, E_o2)."""
    spec = lesson.spec
    assert spec is not None
    half = "½·" if spec.loss.kind == "half_squared_error" else ""
    for name, y, t in zip(spec.loss.terms, lesson.outputs, lesson.targets):
        pair = [t.label, y.label] if spec.loss.difference == "t - y" else [y.label, t.label]
        sheet.add(SECTION_LOSS, name, v[name], f"{half}({{0}} − {{1}})²", pair)


def _output_errors(sheet: _Sheet, lesson: Lesson, v: Mapping[str, float]) -> None:
    spec = lesson.spec
    assert spec is not None
    layer = lesson.layers[-1]
    sign = lesson.error_sign
    n = len(layer.units)
    targets = [t.label for t in lesson.targets]
    if spec.loss.kind in ("cross_entropy", "binary_cross_entropy"):
        # The closed form: dL/dz = y_hat - y for softmax with cross-entropy and for sigmoid with
        # binary cross-entropy; the engine's value comes from the chain rule through the graph.
        for unit, t in zip(layer.units, targets):
            operands = [unit.a.label, t] if sign > 0 else [t, unit.a.label]
            sheet.add(SECTION_OUTPUT_ERROR, unit.delta, v[unit.delta], "{0} − {1}", operands,
                      meaning=sheet.d(unit.z.label))  # fmt: skip
        return
    factor = (2.0 if spec.loss.kind == "squared_error" else 1.0) / (
        n if spec.loss.reduction == "mean" else 1
    )
    prefix = "" if factor == 1.0 else f"{format_number(factor)}·"
    if spec.loss.show_output_slope:
        for unit, t in zip(layer.units, targets):
            name = f"dL/d{unit.a.label}"
            body = "({0} − {1})" if prefix else "{0} − {1}"
            sheet.add(SECTION_OUTPUT_ERROR, name, unit.a.grad, prefix + body, [unit.a.label, t])
    has_slope = layer.activation != "linear"
    if has_slope:
        for unit in layer.units:
            sheet.add(SECTION_OUTPUT_ERROR, unit.slope, _local_slope(lesson, unit.slope),
                      _slope_template(layer.activation, spec.layers[-1].leaky_slope),
                      [_slope_operand(layer.activation, unit.a, unit.z)])  # fmt: skip
    for unit, t in zip(layer.units, targets):
        if spec.loss.show_output_slope:
            name = f"dL/d{unit.a.label}"
            minus = "−" if sign < 0 else ""
            template, operands = (f"{minus}{{0}}·{{1}}", [name, unit.slope]) if has_slope else (
                f"{minus}{{0}}", [name])  # fmt: skip
        else:
            pair = [unit.a.label, t] if sign > 0 else [t, unit.a.label]
            if has_slope:
                template, operands = prefix + "({0} − {1})·{2}", [*pair, unit.slope]
            else:
                template, operands = prefix + ("({0} − {1})" if prefix else "{0} − {1}"), pair
        sheet.add(SECTION_OUTPUT_ERROR, unit.delta, v[unit.delta], template, operands,
                  meaning=sheet.d(unit.z.label))  # fmt: skip


def _local_slope(lesson: Lesson, slope_name: str) -> float:
    """σ'(z) as the engine's activation node holds it: its local derivative d a / d z."""
    (slope,) = lesson.nodes[lesson.slopes[slope_name]].local_grads()
    return slope


def _hidden_errors(sheet: _Sheet, lesson: Lesson, v: Mapping[str, float]) -> None:
    spec = lesson.spec
    assert spec is not None
    for index in range(len(lesson.layers) - 2, -1, -1):
        layer, above = lesson.layers[index], lesson.layers[index + 1]
        has_slope = layer.activation != "linear"
        if has_slope:
            for unit in layer.units:
                sheet.add(SECTION_HIDDEN_ERRORS, unit.slope, _local_slope(lesson, unit.slope),
                          _slope_template(layer.activation, spec.layers[index].leaky_slope),
                          [_slope_operand(layer.activation, unit.a, unit.z)])  # fmt: skip
        for j, unit in enumerate(layer.units):
            if len(above.units) == 1:
                (next_unit,) = above.units
                template = "{0}·{1}"
                operands = [next_unit.delta, next_unit.weights[j].label]
                if has_slope:
                    template += "·{2}"
            else:
                terms = " + ".join(
                    f"{{{2 * k}}}·{{{2 * k + 1}}}" for k in range(len(above.units))
                )
                operands = [x for u in above.units for x in (u.weights[j].label, u.delta)]
                template = f"({terms})·{{{len(operands)}}}" if has_slope else terms
            if has_slope:
                operands.append(unit.slope)
            sheet.add(SECTION_HIDDEN_ERRORS, unit.delta, v[unit.delta], template, operands,
                      meaning=sheet.d(unit.z.label))  # fmt: skip


def _gradients(sheet: _Sheet, lesson: Lesson, v: Mapping[str, float]) -> None:
    spec = lesson.spec
    assert spec is not None
    minus = "−" if lesson.error_sign < 0 else ""
    for index in range(len(lesson.layers) - 1, -1, -1):
        layer, layer_spec = lesson.layers[index], spec.layers[index]
        for j, i in layer_spec.weight_order():
            unit = layer.units[j]
            name = f"dL/d{unit.weights[i].label}"
            sheet.add(SECTION_GRADIENTS, name, v[name], f"{minus}{{0}}·{{1}}",
                      [unit.delta, unit.inputs[i].label])  # fmt: skip
        if not layer.train_biases:
            continue
        if layer.shared_bias:
            name = f"dL/d{layer.units[0].bias.label}"
            terms = " + ".join(f"{{{k}}}" for k in range(len(layer.units)))
            template = f"−({terms})" if minus and len(layer.units) > 1 else minus + terms
            sheet.add(SECTION_GRADIENTS, name, v[name], template, [u.delta for u in layer.units])
            continue
        for unit in layer.units:
            name = f"dL/d{unit.bias.label}"
            sheet.add(SECTION_GRADIENTS, name, v[name], f"{minus}{{0}}", [unit.delta])


def _updates(sheet: _Sheet, lesson: Lesson, new_values: Mapping[str, float]) -> None:
    section = f"{SECTION_UPDATE} ({lesson.lr_symbol} = {format_number(lesson.lr)})"
    error_form: dict[str, list[str]] = {}  # the book's w + η·Err·o, for error_sign -1
    if lesson.error_sign < 0:
        for layer in lesson.layers:
            for unit in layer.units:
                for w, x in zip(unit.weights, unit.inputs):
                    error_form[w.label] = [unit.delta, x.label]
                if not layer.shared_bias:
                    error_form[unit.bias.label] = [unit.delta]
    for p in lesson.parameters:
        if p.label in error_form:
            extra = error_form[p.label]
            template = "{0} + {1}·{2}" + ("·{3}" if len(extra) == 2 else "")
            operands = [p.label, "lr", *extra]
        else:
            template, operands = "{0} − {1}·{2}", [p.label, "lr", f"dL/d{p.label}"]
        sheet.add(section, f"{p.label} (updated)", new_values[p.label], template, operands,
                  shown_as=f"{p.label} (new)")  # fmt: skip


def _shortcut_note(lesson: Lesson, v: Mapping[str, float]) -> str:
    """One sentence showing that the engine's dJ/dz equals ŷ − y, with the largest gap."""
    assert lesson.spec is not None
    layer = lesson.layers[-1]
    deltas = [v[u.delta] for u in layer.units]
    closed = [
        lesson.error_sign * (y.data - t.data) for y, t in zip(lesson.outputs, lesson.targets)
    ]
    gap = max(abs(a - b) for a, b in zip(deltas, closed))

    def stem(label: str) -> str:
        return symbol(label.partition("[")[0], lesson.loss_symbol)

    z, y, t = layer.units[0].z.label, lesson.outputs[0].label, lesson.targets[0].label
    delta = stem(layer.units[0].delta)
    engine = ", ".join(format_number(d) for d in deltas)
    shortcut = ", ".join(format_number(c) for c in closed)
    difference = f"{stem(y)} − {stem(t)}" if lesson.error_sign > 0 else f"{stem(t)} − {stem(y)}"
    return (
        f"Check of the {lesson.spec.shortcut_owner} shortcut: the engine's "
        f"∂{lesson.loss_symbol}/∂{stem(z)} = [{engine}] (chain rule through the whole graph) "
        f"and {difference} = [{shortcut}] differ by at most {gap:.1e}, so {delta} = {difference}."
    )


def _given_groups(lesson: Lesson) -> list[list[str]]:
    """The given numbers in lines: inputs, targets, then per layer its weights and its biases."""
    assert lesson.spec is not None
    groups = [[v.label for v in lesson.inputs[: len(lesson.spec.inputs)]],
              [t.label for t in lesson.targets]]  # fmt: skip
    for layer, layer_spec in zip(lesson.layers, lesson.spec.layers):
        groups.append([layer.units[j].weights[i].label for j, i in layer_spec.weight_order()])
        biases: list[str] = []
        for unit in layer.units:
            if unit.bias.label not in biases:
                biases.append(unit.bias.label)
        groups.append(biases)
    return groups


def check_steps(steps: object) -> int:
    """``steps`` if it is a whole number from 0 to MAX_STEPS (each lesson's own bound is
    checked by :func:`explain_lesson`: steps x parameters <= MAX_WORK)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a whole number of 0 or more, got {steps!r}")
    if steps > MAX_STEPS:
        raise ValueError(
            f"steps {steps:,} is over the limit of {MAX_STEPS:,} for any network "
            f"(steps x parameters <= {MAX_WORK:,}, MAX_WORK)"
        )
    return steps


class _PlainBuilder:
    """What :func:`nn.lesson._loss` needs from a builder, without naming any node.

    The training loop's graphs are never shown, only their numbers; labelling each node took
    most of a step's time.
    """

    def __init__(self) -> None:
        self.constants: dict[str, Value] = {}

    def name(self, node: Value, label: str) -> Value:
        return node

    def leaf(self, label: str, data: float) -> Value:
        if label not in self.constants:
            self.constants[label] = Value(data)
        return self.constants[label]

    def sum(self, terms: list[Value]) -> Value:
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total


def _training_run(
    lesson: Lesson, start: Mapping[str, float], steps: int, passes: list | None = None,
    keep: int = 0,
) -> Iterator[tuple[float, dict[str, float]]]:
    """The loss at the parameters ``start`` (after one update) and after each further update,
    ``steps`` in all, each with the value of every output and target (by symbol).

    The same graph as :func:`nn.lesson.build_lesson` builds - the same operations on the same
    operands in the same order, and the lesson's own loss function - so the same numbers, bit
    for bit (tests/test_long_runs.py checks it against iterate_lesson); but with plain
    unlabelled Values, which makes a step about five times cheaper. The first ``keep`` steps
    also append every named number of their pass to ``passes`` (see :func:`_plain_graph`).
    """
    spec = lesson.spec

    def every(k: int) -> dict[str, float] | None:
        if passes is None or k > keep:
            return None
        passes.append({})
        return passes[-1]

    loss, numbers, parameters = _plain_graph(spec, start, every(1))
    yield loss.data, numbers
    for k in range(2, steps + 1):
        loss.backward()
        values = {name: p.data - lesson.lr * p.grad for name, p in parameters}
        _check_finite(values, k)
        loss, numbers, parameters = _plain_graph(spec, values, every(k))  # one graph per step
        yield loss.data, numbers


def _check_finite(values: Mapping[str, float], updates: int) -> None:
    # As build_lesson refuses them: a diverging run is reported, not continued with inf/nan.
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(
                f"training diverged: after {updates} updates parameter {name!r} is {value!r}; "
                "try a smaller learning rate (--lr) or fewer --steps"
            )


def _plain_graph(
    spec: LessonSpec, values: Mapping[str, float], every: dict[str, float] | None = None
) -> tuple[Value, dict[str, float], list[tuple[str, Value]]]:
    """The lesson's forward pass and loss as unlabelled Values (see :func:`_training_run`);
    ``every``, when given, receives each parameter, bias, input, target, z and a by symbol,
    and the loss as ``"loss"`` (what the lab's picture shows of a training step)."""
    g = _PlainBuilder()
    x = [Value(v) for v in spec.inputs]
    t = [Value(v) for v in spec.targets]
    leaves: dict[str, Value] = {}
    parameters: list[tuple[str, Value]] = []
    current = x
    for layer in spec.layers:
        w = [[None] * layer.fan_in for _ in range(layer.units)]
        for j, i in layer.weight_order():
            s = layer.weight_symbols[j][i]
            w[j][i] = leaves[s] = Value(values[s])
            parameters.append((s, w[j][i]))
        b = []
        for j in range(layer.units):
            s = layer.bias_symbols[j]
            if s not in leaves:
                trained = layer.train_biases
                given = layer.biases[0] if layer.shared_bias else layer.biases[j]
                leaves[s] = Value(values[s] if trained else given)
                if trained:
                    parameters.append((s, leaves[s]))
            b.append(leaves[s])
        zs = []
        for j in range(layer.units):
            pairs = [
                (current[i], w[j][i]) if layer.products == INPUT_WEIGHT else (w[j][i], current[i])
                for i in range(layer.fan_in)
            ]
            zs.append(g.sum([p * q for p, q in pairs]) + b[j])
        if every is not None:
            every.update(zip(layer.z_symbols, (z.data for z in zs)))
        if layer.activation == "softmax":
            exps = [z.exp() for z in zs]
            total = g.sum(exps)
            current = [e / total for e in exps]
        elif layer.activation == "linear":
            current = zs
        elif layer.activation == "leaky_relu":
            current = [z.leaky_relu(layer.leaky_slope) for z in zs]
        else:
            current = [getattr(z, layer.activation)() for z in zs]
        if every is not None:
            every.update(zip(layer.a_symbols, (a.data for a in current)))
    loss = lesson_loss(g, spec, current, t)
    if every is not None:
        every.update((s, v.data) for s, v in leaves.items())
        every.update(zip(spec.input_symbols, spec.inputs))
        every.update(zip(spec.target_symbols, spec.targets))
        every["loss"] = loss.data
    numbers = dict(zip(spec.layers[-1].a_symbols, (y.data for y in current)))
    numbers.update(zip(spec.target_symbols, spec.targets))
    return loss, numbers, parameters


def explain_lesson(
    lesson: Lesson, steps: int = 5, compare_printed: bool | None = None, keep_passes: int = 0
) -> Explanation:
    """Run a lesson through the engine and list every number with its formula.

    ``lesson`` must be freshly built (``backward()`` not yet called); it is left after one
    backward pass. ``steps``: how many further training iterations' losses to list (0 to
    MAX_STEPS). ``compare_printed``: show the numbers the source printed beside the true ones
    (default: on when the lesson lists some). ``keep_passes``: keep every named number of the
    first that many training steps in ``Explanation.passes`` (the lab draws them).
    """
    if isinstance(steps, int) and not isinstance(steps, bool) and steps >= 0:
        too_much = work_problem("--steps", steps, len(lesson.parameters))
        if too_much is not None:  # this network's own bound, named
            raise ValueError(too_much)
    steps = check_steps(steps)
    if lesson.program is not None:
        return explain_program_lesson(lesson, steps, compare_printed)
    if lesson.spec is None:
        raise ValueError(f"lesson {lesson.name!r} has no spec: build it with build_lesson")
    # The sheet's own pass is a whole lesson (every node named); the updates after it only
    # need their numbers: _training_run, with the same operations on plain Values.
    lesson = next(iterate_lesson(lesson, 0))
    values = engine_values(lesson)
    sheet = _Sheet(lesson)
    _forward(sheet, lesson, values)
    loss_template, loss_operands = _loss_formula(lesson)
    _loss_terms(sheet, lesson, values)
    sheet.add(SECTION_LOSS, "loss", values["loss"], loss_template, loss_operands)
    _output_errors(sheet, lesson, values)
    _hidden_errors(sheet, lesson, values)
    _gradients(sheet, lesson, values)
    updated = {p.label: p.data - lesson.lr * p.grad for p in lesson.parameters}
    _check_finite(updated, 1)
    _updates(sheet, lesson, updated)

    training = []
    fixed = {leaf.label for leaf in (*lesson.inputs, *lesson.constants)}
    shown = {op: symbol(op, lesson.loss_symbol) for op in loss_operands}
    passes: list[dict[str, float]] = []
    run = _training_run(lesson, updated, steps, passes, keep_passes) if steps else ()
    for k, (loss_value, data) in enumerate(run, start=1):
        plural = "update" if k == 1 else "updates"
        operands = tuple(
            Operand(op if op in fixed else f"{op} after {k} updates", shown[op], data[op])
            for op in loss_operands
        )
        training.append(
            Quantity(
                name=f"loss after {k} {plural}",
                symbol=f"{lesson.loss_symbol} after {k} {plural}",
                section=SECTION_TRAINING,
                value=loss_value,
                template=loss_template,
                operands=operands,
            )
        )

    notes = list(lesson.notes)
    if lesson.spec.loss.kind == "cross_entropy":
        notes.append(_shortcut_note(lesson, values))
    quantities, comparisons, compare_printed = _checked(lesson, sheet.quantities, compare_printed)
    given = {leaf.label: leaf.data for leaf in (*lesson.inputs, *lesson.parameters,
                                                  *lesson.constants)}  # fmt: skip
    given["lr"] = lesson.lr
    return Explanation(
        given_groups=_given_groups(lesson),
        example=lesson,
        quantities=quantities,
        training=training,
        notes=notes,
        loss_symbol=lesson.loss_symbol,
        compare_printed=compare_printed,
        printed_comparisons=comparisons,
        given=given,
        passes=passes,
    )



def _checked(
    lesson: Lesson, quantities: list[Quantity], compare_printed: bool | None
) -> tuple[list[Quantity], list[Comparison] | None, bool]:
    """The sheet's quantities with the check of each number the source printed beside it.

    ``compare_printed`` None means: on when the lesson lists printed numbers. Returns the
    quantities (each with its ``comparison`` when switched on), every comparison (None when the
    lesson printed nothing) and whether the comparison is shown.
    """
    comparisons = None
    if lesson.spec is not None and lesson.spec.printed:
        on_sheet = {q.name: q.value for q in quantities}
        comparisons = check_printed(lesson, on_sheet, order=list(on_sheet))
    if compare_printed is None:
        compare_printed = comparisons is not None
    if compare_printed and comparisons is not None:
        by_name = {c.name: c for c in comparisons if c.after == 0}
        quantities = [
            Quantity(q.name, q.symbol, q.section, q.value, q.template, q.operands, q.meaning,
                     by_name.get(q.name))
            for q in quantities
        ]  # fmt: skip
    return quantities, comparisons, compare_printed


def as_lesson(what: object, lr: float | None = None) -> Lesson:
    """A lesson from a built-in name, a spec (LessonSpec or dict), a file path or a Lesson."""
    from pathlib import Path

    from nn.examples import LESSON_NAMES, build_example
    from nn.spec import read_spec_file

    if isinstance(what, Lesson):
        if lr is None and what.loss.grad == 0.0:
            return what
        return build_lesson(what.spec, lr=lr if lr is not None else what.lr,
                            parameters=what.parameter_values())  # fmt: skip
    if isinstance(what, LessonSpec):
        return build_lesson(what, lr=lr)
    if isinstance(what, Mapping):
        return build_lesson(parse_spec(what, "spec"), lr=lr)
    if isinstance(what, str) and what in LESSON_NAMES:
        return build_example(what, lr=lr)
    if isinstance(what, (str, Path)) and str(what).lower().endswith((".toml", ".json")):
        spec = read_spec_file(what)
        try:
            return build_lesson(spec, lr=lr)
        except (ArithmeticError, ValueError) as error:  # e.g. a softmax whose every exp is 0
            # The numbers in the file cannot be computed: say which file; the engine's message
            # names the node in the lesson's symbols.
            raise SpecError("layers", f"cannot be computed: {error}", str(what)) from None
    if isinstance(what, str):
        raise ValueError(
            f"unknown example {what!r}; choose one of: {', '.join(LESSON_NAMES)}, "
            "or give a .toml or .json lesson file"
        )
    raise TypeError(
        f"explain() takes a built-in name, a lesson file, a spec dict, a Lesson or a Value; "
        f"got {type(what).__name__}"
    )


# ---------------------------------------------------------------------------------------------
# Programs: a worked example written as named steps (nn.program)
# ---------------------------------------------------------------------------------------------

SECTION_LOCAL = "Local derivatives"
_PLACEHOLDER_SHIFT = re.compile(r"\{(\d+)\}")


def _shifted(template: str, by: int) -> str:
    """The template with its placeholders renumbered from ``by`` (to join several)."""
    return _PLACEHOLDER_SHIFT.sub(lambda m: f"{{{int(m.group(1)) + by}}}", template)


def program_quantities(
    run: ProgramRun,
    *,
    symbols: Mapping[str, str] | None = None,
    forward_section: str = SECTION_FORWARD,
    output_section: str | None = None,
    backward_section: str = SECTION_GRADIENTS,
    inputs_section: str = SECTION_GRADIENTS,
    gradients_of: Sequence[str] | None = None,
) -> list[Quantity]:
    """The sheet of a program after ``run.output.backward()``: each step, each local derivative,
    each gradient by the chain rule over the named steps (``∂f/∂x = ∂f/∂q·∂q/∂x``).

    Every value is the engine's: a step's node, a local derivative from ``backward()`` on that
    step alone (:meth:`nn.program.ProgramRun.local_gradients`), a gradient from the node's
    ``.grad``. ``symbols`` maps names to the symbols shown (default: the names).
    ``output_section`` puts the last step under its own heading (a lesson's Loss);
    ``gradients_of`` limits the inputs given a gradient line (default: all inputs).
    """
    program = run.program
    shown = dict(symbols or {})

    def sym(name: str) -> str:
        return shown.get(name, name)

    def operands(names: Sequence[str]) -> tuple[Operand, ...]:
        return tuple(Operand(n, sym(n), run.node(n).data) for n in names)

    out = program.output
    quantities: list[Quantity] = []
    for s in program.statements:
        template, names = step_formula(s)
        section = output_section if s.name == out and output_section else forward_section
        quantities.append(Quantity(s.name, sym(s.name), section, run.node(s.name).data,
                                   template, operands(names)))  # fmt: skip
    constants = {s.name for s in program.statements if s.is_constant}
    wanted_inputs = program.inputs if gradients_of is None else tuple(gradients_of)
    steps = [s.name for s in reversed(program.statements) if s.name not in constants]
    targets = [n for n in steps if n != out] + [n for n in program.inputs if n in wanted_inputs]
    locals_: dict[tuple[str, str], float] = {}
    for s in program.statements:
        for name, value in run.local_gradients(s).items():
            locals_[(s.name, name)] = value
    d_out = f"∂{sym(out)}/∂"
    local_lines: list[Quantity] = []
    gradient_lines: list[Quantity] = []
    for v in targets:
        users = [s for s in program.statements if v in s.uses]
        terms: list[str] = []
        parts: list[Operand] = []
        for s in users:  # in the order of the steps, as a book sums them
            local = local_derivative(s, v)
            local_symbol = f"∂{sym(s.name)}/∂{sym(v)}"
            if s.name == out and local is not None:
                template, names = local
                text = f"({template})" if len(users) > 1 and " " in template else template
                terms.append(_shifted(text, len(parts)))
                parts += operands(names)
                continue
            if s.name != out:
                key = f"d{s.name}/d{v}"
                value = locals_[(s.name, v)]
                if not any(q.name == key for q in local_lines):
                    if local is None:  # no formula for this op: the engine's number
                        l_template, l_ops = "{0}", (Operand(key, local_symbol, value),)
                    else:
                        l_template, l_ops = local[0], operands(local[1])
                    local_lines.append(
                        Quantity(key, local_symbol, SECTION_LOCAL, value, l_template, l_ops)
                    )
                terms.append(f"{{{len(parts)}}}·{{{len(parts) + 1}}}")
                parts += [Operand(f"d{out}/d{s.name}", f"{d_out}{sym(s.name)}",
                                  run.node(s.name).grad),
                          Operand(key, local_symbol, locals_[(s.name, v)])]  # fmt: skip
            else:  # the output's own derivative, written as a number only (relu, abs, ...)
                terms.append(f"{{{len(parts)}}}")
                parts.append(Operand(f"d{out}/d{v} (local)", local_symbol, locals_[(out, v)]))
        if not terms:
            continue
        section = inputs_section if v in program.inputs else backward_section
        gradient = run.node(v).grad
        gradient_lines.append(Quantity(f"d{out}/d{v}", f"{d_out}{sym(v)}", section, gradient,
                                       " + ".join(terms), tuple(parts)))  # fmt: skip
    # The local derivatives come first: each gradient line only uses numbers already shown.
    return quantities + local_lines + gradient_lines


def explain_program_lesson(
    lesson: Lesson, steps: int = 5, compare_printed: bool | None = None
) -> Explanation:
    """The sheet of a lesson written as named steps: Given, Forward (each step), Loss (the last
    step), Gradients (chain rule over the steps), Update (each parameter), Training."""
    assert lesson.program is not None and lesson.spec is not None
    program_spec = lesson.spec.program
    assert program_spec is not None
    size = max(len(lesson.parameters), 1)
    if steps * size > MAX_WORK:
        raise ValueError(f"--steps {steps} with {size} parameters is more training than a sheet "
                         f"shows; at most {MAX_WORK // size} steps for this lesson")  # fmt: skip
    symbols = dict(program_spec.symbols)

    def sym(name: str) -> str:
        return symbols.get(name, name)

    run = iterate_lesson(lesson, max(steps, 1))
    lesson = next(run)
    assert lesson.program is not None
    out = lesson.program.program.output
    quantities = program_quantities(
        lesson.program, symbols=symbols, output_section=SECTION_LOSS,
        gradients_of=program_spec.parameters,
    )  # fmt: skip
    after_one = next(run)
    new_values = after_one.parameter_values()
    section = f"{SECTION_UPDATE} (η = {format_number(lesson.lr)})"
    for p in lesson.parameters:
        gradient = Operand(f"d{out}/d{p.label}", f"∂{sym(out)}/∂{sym(p.label)}", p.grad)
        operands = (Operand(p.label, sym(p.label), p.data), Operand("lr", "η", lesson.lr),
                    gradient)  # fmt: skip
        quantities.append(Quantity(f"{p.label} (updated)", f"{sym(p.label)} (new)", section,
                                   new_values[p.label], "{0} − {1}·{2}", operands))  # fmt: skip
    training = []
    for k, trained in enumerate([after_one, *run], start=1):
        if k > steps:
            break
        plural = "update" if k == 1 else "updates"
        training.append(Quantity(f"loss after {k} {plural}", f"{sym(out)} after {k} {plural}",
                                 SECTION_TRAINING, trained.loss.data, "{0}",
                                 (Operand(f"{out} after {k} {plural}",
                                          f"{sym(out)} after {k} {plural}",
                                          trained.loss.data),)))  # fmt: skip
    quantities, comparisons, compare_printed = _checked(lesson, quantities, compare_printed)
    given = {name: value for name, value in program_spec.given}
    given = {name: lesson.nodes[name].data for name in given}
    given["lr"] = lesson.lr
    trained_names = set(program_spec.parameters)
    groups = [[n for n in given if n != "lr" and n not in trained_names],
              [n for n in given if n in trained_names]]  # fmt: skip
    return Explanation(
        given_groups=[g for g in groups if g],
        example=lesson,
        quantities=quantities,
        training=training,
        notes=list(lesson.notes),
        loss_symbol=sym(out),
        compare_printed=compare_printed,
        printed_comparisons=comparisons,
        given=given,
    )
