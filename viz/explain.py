"""Worked examples explained: every number with the formula that made it, and `stepgrad example`.

:func:`explain` runs a worked example (``nn.examples``) through the engine and lists every number
a learner computes by hand - forward pass, loss, output error, hidden errors, every gradient, the
updated parameters and the loss over further iterations - in the seed document's vocabulary and
order. Each number is the engine's (node data, local derivatives, gradients dL/dz), and each comes
with its formula twice: in symbols (``2·(ŷ − t)·σ'(z2)``) and with the operands filled in
(``2·(0.748649 − 0.8)·0.188174``), which evaluates to the number shown. For seed 001 the seed's
printed numbers are shown beside the true ones and each mismatch is classified.

:func:`run_example_command` is what ``stepgrad example`` calls (see ``viz.cli``).
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from nn.examples import (
    INHERITS,
    MATCH,
    ROUNDING_ONLY,
    SEED_PRINTED,
    WRONG_ARITHMETIC,
    Example,
    SeedComparison,
    build_example,
    compare_with_seed,
    engine_values,
    first_seed_error,
    iterate_training,
)

MAX_STEPS = 5000  # more lines of loss than anyone reads; also bounds the run time
DIGITS = 6  # significant digits shown; filled-in formulas reproduce the value to about 1e-5

SECTION_FORWARD = "Forward pass"
SECTION_LOSS = "Loss"
SECTION_OUTPUT_ERROR = "Output error"
SECTION_HIDDEN_ERRORS = "Hidden errors"
SECTION_GRADIENTS = "Gradients"
SECTION_UPDATE = "Update"
SECTION_TRAINING = "Training"

MARK_WRONG = "✗"
MARK_RIGHT = "✓"


# ---------------------------------------------------------------------------------------------
# Numbers and symbols
# ---------------------------------------------------------------------------------------------


def format_number(x: float, digits: int = DIGITS) -> str:
    """A number with ``digits`` significant digits and a real minus sign; -0 shows as 0."""
    if math.isnan(x):
        return "nan"
    return f"{x + 0.0:.{digits}g}".replace("-", "−")


def symbol(name: str, loss_symbol: str = "L") -> str:
    """How a quantity's name is written for people: 'delta2' -> 'δ2', 'dL/dW2[0]' -> '∂L/∂W2[0]'."""
    if name.startswith("dL/d"):
        return f"∂{loss_symbol}/∂{symbol(name[4:], loss_symbol)}"
    if name.startswith("sigma'"):
        return "σ'" + name[6:]
    if name.startswith("delta"):
        return "δ" + name[5:]
    if name.startswith("y_hat"):
        return "ŷ" + name[5:]
    if name == "loss":
        return loss_symbol
    if name == "lr":
        return "η"
    return name


@dataclass(frozen=True)
class Operand:
    """One number that goes into a formula: its name, how it is written, and its value."""

    name: str
    symbol: str
    value: float


@dataclass(frozen=True)
class Quantity:
    """One number of a worked example, with the formula that made it.

    ``template`` is the formula with ``{0}``, ``{1}``, ... standing for ``operands``; filling in
    their symbols gives :attr:`formula`, filling in their values gives :attr:`filled`. ``value``
    comes from the engine. ``meaning`` says what the quantity is when its name does not
    (``δ2`` is ``∂L/∂z2``). ``seed`` is the seed's printed number, when it prints one and the
    comparison is switched on.
    """

    name: str
    symbol: str
    section: str
    value: float
    template: str
    operands: tuple[Operand, ...]
    meaning: str = ""
    seed: SeedComparison | None = None

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
        seed = self.seed
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
            "seed": None if seed is None else seed.seed_value,
            "seed_printed": None if seed is None else seed.printed,
            "seed_given_own_numbers": None if seed is None else seed.given_seed,
            "mismatch": None if seed is None else seed.mismatch,
            "kind": None if seed is None else seed.kind,
            "inherited_from": None if seed is None else list(seed.inherited_from),
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


# ---------------------------------------------------------------------------------------------
# The explanation of one example
# ---------------------------------------------------------------------------------------------


@dataclass
class Explanation:
    """Everything ``stepgrad example`` shows for one worked example."""

    example: Example  # the graph before training, after backward()
    quantities: list[Quantity]  # forward pass to updated parameters, in the seed's order
    training: list[Quantity]  # the loss after 1, 2, ... further updates
    notes: list[str]
    loss_symbol: str
    compare_seed: bool
    seed_comparisons: list[SeedComparison] | None  # None: no seed numbers for this example
    given: dict[str, float] = field(default_factory=dict)


class _Sheet:
    """Builds the list of quantities; each formula may only use numbers already on the sheet."""

    def __init__(self, example: Example, loss_symbol: str) -> None:
        self.example = example
        self.loss_symbol = loss_symbol
        self.values: dict[str, float] = {}
        self.quantities: list[Quantity] = []
        for leaf in (*example.inputs, *example.parameters):
            self.values[leaf.label] = leaf.data
        self.values["lr"] = example.lr

    def operand(self, name: str) -> Operand:
        if name not in self.values:  # a bug in this module: formulas must go in order
            raise AssertionError(f"{name!r} is used before it is on the sheet")
        return Operand(name, symbol(name, self.loss_symbol), self.values[name])

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
        quantity = Quantity(
            name=name,
            symbol=shown_as or symbol(name, self.loss_symbol),
            section=section,
            value=value,
            template=template,
            operands=tuple(self.operand(op) for op in operands),
            meaning=meaning,
        )
        self.quantities.append(quantity)
        self.values[name] = value


def _local_sigmoid_slope(example: Example, activation: str) -> float:
    """σ'(z) as the engine's sigmoid node holds it: its local derivative d a / d z."""
    (slope,) = example.nodes[activation].local_grads()
    return slope


def _sheet_2_2_1(sheet: _Sheet, ex: Example, v: dict[str, float]) -> tuple[str, list[str]]:
    for j in range(2):
        sheet.add(SECTION_FORWARD, f"z1[{j}]", v[f"z1[{j}]"], "{0}·{1} + {2}·{3} + {4}",
                  ["x[0]", f"W1[0][{j}]", "x[1]", f"W1[1][{j}]", f"b1[{j}]"])  # fmt: skip
    for j in range(2):
        sheet.add(SECTION_FORWARD, f"a1[{j}]", v[f"a1[{j}]"], "σ({0})", [f"z1[{j}]"])
    sheet.add(SECTION_FORWARD, "z2", v["z2"], "{0}·{1} + {2}·{3} + {4}",
              ["W2[0]", "a1[0]", "W2[1]", "a1[1]", "b2"])  # fmt: skip
    sheet.add(SECTION_FORWARD, "y_hat", v["y_hat"], "σ({0})", ["z2"])
    loss_template, loss_operands = "({0} − {1})²", ["t", "y_hat"]
    sheet.add(SECTION_LOSS, "loss", v["loss"], loss_template, loss_operands)

    sheet.add(SECTION_OUTPUT_ERROR, "sigma'(z2)", _local_sigmoid_slope(ex, "y_hat"),
              "{0}·(1 − {0})", ["y_hat"])  # fmt: skip
    sheet.add(SECTION_OUTPUT_ERROR, "delta2", v["delta2"], "2·({0} − {1})·{2}",
              ["y_hat", "t", "sigma'(z2)"], meaning="∂L/∂z2")  # fmt: skip
    for j in range(2):
        sheet.add(SECTION_HIDDEN_ERRORS, f"sigma'(z1[{j}])", _local_sigmoid_slope(ex, f"a1[{j}]"),
                  "{0}·(1 − {0})", [f"a1[{j}]"])  # fmt: skip
    for j in range(2):
        sheet.add(SECTION_HIDDEN_ERRORS, f"delta1[{j}]", v[f"delta1[{j}]"], "{0}·{1}·{2}",
                  ["delta2", f"W2[{j}]", f"sigma'(z1[{j}])"], meaning=f"∂L/∂z1[{j}]")  # fmt: skip

    # The seed's order: W2 and b2 first (it prints those), then W1 and b1.
    for j in range(2):
        sheet.add(SECTION_GRADIENTS, f"dL/dW2[{j}]", v[f"dL/dW2[{j}]"], "{0}·{1}",
                  ["delta2", f"a1[{j}]"])  # fmt: skip
    sheet.add(SECTION_GRADIENTS, "dL/db2", v["dL/db2"], "{0}", ["delta2"])
    for i in range(2):
        for j in range(2):
            sheet.add(SECTION_GRADIENTS, f"dL/dW1[{i}][{j}]", v[f"dL/dW1[{i}][{j}]"], "{0}·{1}",
                      [f"delta1[{j}]", f"x[{i}]"])  # fmt: skip
    for j in range(2):
        sheet.add(SECTION_GRADIENTS, f"dL/db1[{j}]", v[f"dL/db1[{j}]"], "{0}", [f"delta1[{j}]"])
    return loss_template, loss_operands


def _sheet_1_1_1(sheet: _Sheet, ex: Example, v: dict[str, float]) -> tuple[str, list[str]]:
    # Seed 002's names: h = wx + b is a unit's weighted input, y the output, t the target.
    sheet.add(SECTION_FORWARD, "h1", v["h1"], "{0}·{1} + {2}", ["w1", "x", "b1"])
    sheet.add(SECTION_FORWARD, "a1", v["a1"], "σ({0})", ["h1"])
    sheet.add(SECTION_FORWARD, "h2", v["h2"], "{0}·{1} + {2}", ["w2", "a1", "b2"])
    sheet.add(SECTION_FORWARD, "y", v["y"], "σ({0})", ["h2"])
    loss_template, loss_operands = "½·({0} − {1})²", ["y", "t"]
    sheet.add(SECTION_LOSS, "loss", v["loss"], loss_template, loss_operands)

    # The seed's three backward steps: dL/dy = y - t, dy/dh = sigma'(h), dh/dw = x.
    sheet.add(SECTION_OUTPUT_ERROR, "dL/dy", ex.nodes["y"].grad, "{0} − {1}", ["y", "t"])
    sheet.add(SECTION_OUTPUT_ERROR, "sigma'(h2)", _local_sigmoid_slope(ex, "y"),
              "{0}·(1 − {0})", ["y"])  # fmt: skip
    sheet.add(SECTION_OUTPUT_ERROR, "delta2", v["delta2"], "{0}·{1}", ["dL/dy", "sigma'(h2)"],
              meaning="∂L/∂h2")  # fmt: skip
    sheet.add(SECTION_HIDDEN_ERRORS, "sigma'(h1)", _local_sigmoid_slope(ex, "a1"),
              "{0}·(1 − {0})", ["a1"])  # fmt: skip
    sheet.add(SECTION_HIDDEN_ERRORS, "delta1", v["delta1"], "{0}·{1}·{2}",
              ["delta2", "w2", "sigma'(h1)"], meaning="∂L/∂h1")  # fmt: skip

    sheet.add(SECTION_GRADIENTS, "dL/dw2", v["dL/dw2"], "{0}·{1}", ["delta2", "a1"])
    sheet.add(SECTION_GRADIENTS, "dL/db2", v["dL/db2"], "{0}", ["delta2"])
    sheet.add(SECTION_GRADIENTS, "dL/dw1", v["dL/dw1"], "{0}·{1}", ["delta1", "x"])
    sheet.add(SECTION_GRADIENTS, "dL/db1", v["dL/db1"], "{0}", ["delta1"])
    return loss_template, loss_operands


def _sheet_softmax(sheet: _Sheet, ex: Example, v: dict[str, float]) -> tuple[str, list[str]]:
    for j in range(3):
        sheet.add(SECTION_FORWARD, f"z1[{j}]", v[f"z1[{j}]"], "{0}·{1} + {2}·{3} + {4}",
                  [f"W1[{j}][0]", "x[0]", f"W1[{j}][1]", "x[1]", f"b1[{j}]"])  # fmt: skip
    for j in range(3):
        sheet.add(SECTION_FORWARD, f"a1[{j}]", v[f"a1[{j}]"], "σ({0})", [f"z1[{j}]"])
    for k in range(3):
        sheet.add(SECTION_FORWARD, f"z2[{k}]", v[f"z2[{k}]"], "{0}·{1} + {2}·{3} + {4}·{5} + {6}",
                  [f"W2[{k}][0]", "a1[0]", f"W2[{k}][1]", "a1[1]", f"W2[{k}][2]", "a1[2]",
                   f"b2[{k}]"])  # fmt: skip
    for k in range(3):
        sheet.add(SECTION_FORWARD, f"y_hat[{k}]", v[f"y_hat[{k}]"],
                  "exp({0}) / (exp({1}) + exp({2}) + exp({3}))",
                  [f"z2[{k}]", "z2[0]", "z2[1]", "z2[2]"])  # fmt: skip
    loss_template = "−({0}·log({1}) + {2}·log({3}) + {4}·log({5}))"
    loss_operands = ["y[0]", "y_hat[0]", "y[1]", "y_hat[1]", "y[2]", "y_hat[2]"]
    sheet.add(SECTION_LOSS, "loss", v["loss"], loss_template, loss_operands)

    # The engine's delta2[k] = dJ/dz2[k] (through exp, +, /, log, * and -), shown against the
    # seed's closed form y_hat[k] - y[k]: the filled-in formula must give the same number.
    for k in range(3):
        sheet.add(SECTION_OUTPUT_ERROR, f"delta2[{k}]", v[f"delta2[{k}]"], "{0} − {1}",
                  [f"y_hat[{k}]", f"y[{k}]"], meaning=f"∂J/∂z2[{k}]")  # fmt: skip
    for j in range(3):
        sheet.add(SECTION_HIDDEN_ERRORS, f"sigma'(z1[{j}])", _local_sigmoid_slope(ex, f"a1[{j}]"),
                  "{0}·(1 − {0})", [f"a1[{j}]"])  # fmt: skip
    for j in range(3):
        sheet.add(SECTION_HIDDEN_ERRORS, f"delta1[{j}]", v[f"delta1[{j}]"],
                  "({0}·{1} + {2}·{3} + {4}·{5})·{6}",
                  [f"W2[0][{j}]", "delta2[0]", f"W2[1][{j}]", "delta2[1]", f"W2[2][{j}]",
                   "delta2[2]", f"sigma'(z1[{j}])"], meaning=f"∂J/∂z1[{j}]")  # fmt: skip

    # Seed 003: dJ/dW(l) = delta(l) a(l-1)^T and dJ/db(l) = delta(l), from the output layer down.
    for k in range(3):
        for j in range(3):
            sheet.add(SECTION_GRADIENTS, f"dL/dW2[{k}][{j}]", v[f"dL/dW2[{k}][{j}]"], "{0}·{1}",
                      [f"delta2[{k}]", f"a1[{j}]"])  # fmt: skip
    for k in range(3):
        sheet.add(SECTION_GRADIENTS, f"dL/db2[{k}]", v[f"dL/db2[{k}]"], "{0}", [f"delta2[{k}]"])
    for j in range(3):
        for i in range(2):
            sheet.add(SECTION_GRADIENTS, f"dL/dW1[{j}][{i}]", v[f"dL/dW1[{j}][{i}]"], "{0}·{1}",
                      [f"delta1[{j}]", f"x[{i}]"])  # fmt: skip
    for j in range(3):
        sheet.add(SECTION_GRADIENTS, f"dL/db1[{j}]", v[f"dL/db1[{j}]"], "{0}", [f"delta1[{j}]"])
    return loss_template, loss_operands


_SHEETS = {"2-2-1": _sheet_2_2_1, "1-1-1": _sheet_1_1_1, "softmax": _sheet_softmax}
_LOSS_SYMBOLS = {"2-2-1": "L", "1-1-1": "L", "softmax": "J"}


def _softmax_check(v: dict[str, float]) -> str:
    """One sentence showing that the engine's dJ/dz2 equals y_hat - y, with the largest gap."""
    gap = max(abs(v[f"delta2[{k}]"] - (v[f"y_hat[{k}]"] - v[f"y[{k}]"])) for k in range(3))
    engine = ", ".join(format_number(v[f"delta2[{k}]"]) for k in range(3))
    closed = ", ".join(format_number(v[f"y_hat[{k}]"] - v[f"y[{k}]"]) for k in range(3))
    return (
        f"Check of the derivation's shortcut: the engine's ∂J/∂z2 = [{engine}] (chain rule through "
        f"the whole graph) and ŷ − y = [{closed}] differ by at most {gap:.1e}, so δ2 = ŷ − y."
    )


def explain(
    name: str, lr: float | None = None, steps: int = 5, compare_seed: bool | None = None
) -> Explanation:
    """Run a worked example through the engine and list every number with its formula.

    ``steps``: how many further training iterations' losses to list (0 to MAX_STEPS).
    ``compare_seed``: show the seed's printed numbers beside the true ones (default: on for
    2-2-1, the only example whose seed prints numbers).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number from 0 to {MAX_STEPS}, got {steps!r}")
    # The run always goes one update past the first pass: the updated parameters are shown
    # even with steps=0.
    run = iterate_training(name, max(steps, 1), lr=lr)
    example = next(run)
    loss_symbol = _LOSS_SYMBOLS[name]
    values = engine_values(example)
    sheet = _Sheet(example, loss_symbol)
    loss_template, loss_operands = _SHEETS[name](sheet, example, values)

    after_one = next(run)
    section = f"{SECTION_UPDATE} (η = {format_number(example.lr)})"
    new_values = after_one.parameter_values()
    for p in example.parameters:
        sheet.add(section, f"{p.label} (updated)", new_values[p.label], "{0} − {1}·{2}",
                  [p.label, "lr", f"dL/d{p.label}"], shown_as=f"{p.label} (new)")  # fmt: skip

    training = []
    input_names = {leaf.label for leaf in example.inputs}
    for k, trained in enumerate([after_one, *run], start=1):
        if k > steps:
            break
        operands = tuple(
            Operand(op if op in input_names else f"{op} after {k} updates",
                    symbol(op, loss_symbol), trained.nodes[op].data)
            for op in loss_operands
        )  # fmt: skip
        plural = "update" if k == 1 else "updates"
        training.append(
            Quantity(
                name=f"loss after {k} {plural}",
                symbol=f"{loss_symbol} after {k} {plural}",
                section=SECTION_TRAINING,
                value=trained.loss.data,
                template=loss_template,
                operands=operands,
            )
        )

    notes = list(example.notes)
    if name == "softmax":
        notes.append(_softmax_check(values))
    comparisons = compare_with_seed(values) if name == "2-2-1" else None
    if compare_seed is None:
        compare_seed = comparisons is not None
    quantities = sheet.quantities
    if compare_seed and comparisons is not None:
        by_name = {c.name: c for c in comparisons}
        quantities = [
            Quantity(q.name, q.symbol, q.section, q.value, q.template, q.operands, q.meaning,
                     by_name.get(q.name))
            for q in quantities
        ]  # fmt: skip
    given = {leaf.label: leaf.data for leaf in (*example.inputs, *example.parameters)}
    given["lr"] = example.lr
    return Explanation(
        example=example,
        quantities=quantities,
        training=training,
        notes=notes,
        loss_symbol=loss_symbol,
        compare_seed=compare_seed,
        seed_comparisons=comparisons,
        given=given,
    )


# ---------------------------------------------------------------------------------------------
# The seed check in words
# ---------------------------------------------------------------------------------------------


def _seed_number(printed: str) -> str:
    return printed.replace("-", "−")


def seed_mark(c: SeedComparison, loss_symbol: str = "L") -> str:
    """One line: the seed's printed number, a ✓/✗ mark, the kind of mismatch and why."""
    printed = _seed_number(c.printed)
    if c.kind == MATCH:
        return f"{MARK_RIGHT} printed {printed} (matches)"
    given = format_number(c.given_seed)
    cut = f", cut off to {printed} instead of rounded" if c.cut_off else ""
    if c.kind == WRONG_ARITHMETIC:
        why = f"{c.seed_text} = {given}, even with the source's own numbers"
    elif c.kind == INHERITS:
        own = ", ".join(
            f"{symbol(n, loss_symbol)} = {_seed_number(SEED_PRINTED[n].printed)}"
            for n in c.inherited_from
        )
        why = f"right given the source's own {own}: {c.seed_text} = {given}{cut}"
    else:
        why = f"the true value is {format_number(c.true_value)}{cut}"
    return f"{MARK_WRONG} printed {printed} ({c.kind}): {why}"


def seed_summary(comparisons: list[SeedComparison], loss_symbol: str = "L") -> list[str]:
    """Where the seed's first error enters, and which later numbers only inherit it."""

    def names(kind: str) -> str:
        found = [symbol(c.name, loss_symbol) for c in comparisons if c.kind == kind]
        return ", ".join(found) if found else "none"

    first = first_seed_error(comparisons)
    lines = []
    if first is None:
        lines.append("Every printed number follows from the source's own earlier numbers.")
    else:
        lines.append(
            f"The first error enters at {symbol(first.name, loss_symbol)}: the source prints "
            f"{_seed_number(first.printed)} for {first.seed_text}, which is "
            f"{format_number(first.given_seed)}. Every later number is built on it."
        )
    lines += [
        f"Wrong arithmetic (wrong even given the source's own earlier numbers): "
        f"{names(WRONG_ARITHMETIC)}.",
        f"Only inherit an earlier error (right given the source's own earlier numbers): "
        f"{names(INHERITS)}.",
        f"Rounding only: {names(ROUNDING_ONLY)}.",
        f"Match the true value: {names(MATCH)}.",
    ]
    return lines


def _seed_note(explanation: Explanation) -> list[str]:
    """The seed-check paragraph, or why there is none."""
    if not explanation.compare_seed:
        return []
    if explanation.seed_comparisons is None:
        return [
            f"The source ({explanation.example.source}) prints no numbers for this example: "
            "there is nothing to compare."
        ]
    return seed_summary(explanation.seed_comparisons, explanation.loss_symbol)


# ---------------------------------------------------------------------------------------------
# Output formats
# ---------------------------------------------------------------------------------------------


def given_lines(explanation: Explanation) -> list[str]:
    """The given numbers, one line per group (x, W1, b1, ...), then the learning rate."""
    groups: dict[str, list[str]] = {}
    for name, value in explanation.given.items():
        if name == "lr":
            continue
        groups.setdefault(name.partition("[")[0], []).append(f"{name} = {format_number(value)}")
    lines = [", ".join(items) for items in groups.values()]
    lines.append(f"η = {format_number(explanation.given['lr'])} (learning rate)")
    return lines


def _sections(quantities: list[Quantity]) -> list[tuple[str, list[Quantity]]]:
    grouped: list[tuple[str, list[Quantity]]] = []
    for q in quantities:
        if not grouped or grouped[-1][0] != q.section:
            grouped.append((q.section, []))
        grouped[-1][1].append(q)
    return grouped


def _training_heading(explanation: Explanation) -> str:
    count = len(explanation.training)
    return (
        f"{SECTION_TRAINING}: the loss over {count} more iteration{'s' if count != 1 else ''} "
        f"(each: forward, backward, update with η = {format_number(explanation.example.lr)})"
    )


def render_text(explanation: Explanation) -> str:
    """The plain-text page ``stepgrad example`` prints."""
    ex = explanation.example
    out = [f"Worked example {ex.name}: {ex.title}"]
    out += [f"  {note}" for note in explanation.notes]
    out += ["", "Given"] + [f"  {line}" for line in given_lines(explanation)]
    for section, quantities in _sections(explanation.quantities):
        out += ["", section]
        for q in quantities:
            out.append(f"  {q.line()}")
            if q.seed is not None:
                out.append(f"      {seed_mark(q.seed, explanation.loss_symbol)}")
    if explanation.training:
        out += ["", _training_heading(explanation)]
        out += [f"  {q.line()}" for q in explanation.training]
    seed_lines = _seed_note(explanation)
    if seed_lines:
        out += ["", "Printed numbers check"] + [f"  {line}" for line in seed_lines]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _markdown_table(quantities: list[Quantity], with_seed: bool, loss_symbol: str) -> list[str]:
    header = "| Quantity | Formula | With the numbers | Value |"
    rule = "|---|---|---|---:|"
    if with_seed:
        header += " Printed |"
        rule += "---|"
    rows = [header, rule]
    for q in quantities:
        name = q.symbol + (f" = {q.meaning}" if q.meaning else "")
        cells = (name, q.formula, q.filled, format_number(q.value))
        row = "| " + " | ".join(_cell(c) for c in cells) + " |"
        if with_seed:
            row += f" {_cell(seed_mark(q.seed, loss_symbol)) if q.seed else ''} |"
        rows.append(row)
    return rows


def render_markdown(explanation: Explanation) -> str:
    """The same page as Markdown: a heading and a table per section."""
    ex = explanation.example
    with_seed = explanation.compare_seed and explanation.seed_comparisons is not None
    out = [f"# Worked example {ex.name}: {ex.title}", ""]
    out += [f"- {note}" for note in explanation.notes]
    out += ["", "## Given", ""] + [f"- {line}" for line in given_lines(explanation)]
    for section, quantities in _sections(explanation.quantities):
        out += ["", f"## {section}", ""]
        out += _markdown_table(quantities, with_seed, explanation.loss_symbol)
    if explanation.training:
        out += ["", f"## {_training_heading(explanation)}", ""]
        out += _markdown_table(explanation.training, False, explanation.loss_symbol)
    seed_lines = _seed_note(explanation)
    if seed_lines:
        out += ["", "## Printed numbers check", ""] + [f"- {line}" for line in seed_lines]
    return "\n".join(out) + "\n"


def to_json_data(explanation: Explanation) -> dict[str, object]:
    """The explanation as plain data: every quantity with value, formula, operands, seed check."""
    ex = explanation.example
    comparisons = explanation.seed_comparisons if explanation.compare_seed else None
    first = first_seed_error(comparisons) if comparisons else None
    return {
        "example": ex.name,
        "title": ex.title,
        "source": ex.source,
        "lr": ex.lr,
        "notes": explanation.notes,
        "given": explanation.given,
        "quantities": [q.to_dict() for q in explanation.quantities],
        "training": [q.to_dict() for q in explanation.training],
        "seed_check": None
        if comparisons is None
        else {
            "first_error": first.name if first else None,
            "summary": seed_summary(comparisons, explanation.loss_symbol),
            "by_kind": {
                kind: [c.name for c in comparisons if c.kind == kind]
                for kind in (WRONG_ARITHMETIC, INHERITS, ROUNDING_ONLY, MATCH)
            },
        },
    }


def render_json(explanation: Explanation) -> str:
    """The explanation as JSON text (see :func:`to_json_data`)."""
    return json.dumps(to_json_data(explanation), indent=2) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}


# ---------------------------------------------------------------------------------------------
# The annotated graph (--graph FILE)
# ---------------------------------------------------------------------------------------------


def _check_graph_path(path: str) -> None:
    """Fail before any work if the graph could not be written there."""
    if not path or path.endswith(("/", os.sep)):
        raise ValueError(f"--graph needs a file name, got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"--graph {path}: the folder {folder} does not exist")


def write_graph(name: str, path: str, lr: float | None = None) -> None:
    """Write the example's annotated computation graph to ``path``.

    ``.html``: the step-by-step page (``viz.steps.write_steps_html``), which runs the backward
    pass itself; anything else: one drawing with every gradient (``viz.render.render``), after
    one backward pass.
    """
    from viz.graph_command import write_example_graph  # needs Graphviz: only when asked for

    _check_graph_path(path)
    write_example_graph(build_example(name, lr=lr), path)


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


# For a terminal that cannot show the page's symbols: the nearest plain-ASCII spelling.
_ASCII = str.maketrans({
    "·": "*", "−": "-", "²": "^2", "½": "1/2", "σ": "sigma", "δ": "delta", "ŷ": "y_hat",
    "∂": "d", "η": "lr", "✗": "X", "✓": "OK",
})  # fmt: skip


def write_text(stream: object, text: str) -> None:
    """Write text and flush; where σ, δ or ✗ cannot be encoded, spell them in ASCII."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        plain = text.translate(_ASCII)
        stream.write(plain.encode(encoding, errors="replace").decode(encoding))
    stream.flush()


def run_example_command(args: object) -> int:
    """Run ``stepgrad example`` with parsed arguments (see ``viz.cli``); returns the exit code.

    Bad values raise ValueError with a message naming the option; the command line turns that
    into one error line and exit code 2.
    """
    name = getattr(args, "name", "2-2-1")
    output_format = getattr(args, "format", "text")
    steps = getattr(args, "steps", 5)
    lr = getattr(args, "lr", None)
    compare_seed = getattr(args, "compare_seed", None)
    quiz = getattr(args, "quiz", False)
    tolerance = getattr(args, "tolerance", None)
    graph = getattr(args, "graph", None)

    if name not in _SHEETS:
        raise ValueError(f"unknown example {name!r}; choose one of: {', '.join(_SHEETS)}")
    if output_format not in RENDERERS:
        raise ValueError(
            f"unknown --format {output_format!r}; choose one of: {', '.join(RENDERERS)}"
        )
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"--steps must be a whole number from 0 to {MAX_STEPS}, got {steps!r}")
    if quiz and output_format != "text":
        raise ValueError("--quiz asks its questions as plain text: leave out --format")
    if tolerance is not None and not quiz:
        raise ValueError("--tolerance only applies to --quiz")
    if graph is not None:
        _check_graph_path(graph)

    explanation = explain(name, lr=lr, steps=steps, compare_seed=compare_seed)
    if quiz:
        from viz.quiz import run_quiz

        run_quiz(explanation, tolerance=tolerance)
    else:
        write_text(sys.stdout, RENDERERS[output_format](explanation))
    if graph is not None:
        write_graph(name, graph, lr=lr)
        # Keep stdout pure JSON when JSON was asked for.
        stream = sys.stderr if output_format == "json" else sys.stdout
        write_text(stream, f"Graph written to {graph}\n")
    return 0
