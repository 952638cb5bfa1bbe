"""Checking the numbers a source printed: which are wrong, why, and where the first error enters.

For any lesson whose spec lists printed numbers, each printed number is compared with the true
one at the precision it was printed, and each mismatch is classified:

* ``ROUNDING_ONLY``: the printed number is right given earlier numbers that were only rounded
  (diagnosis ``rounded-intermediates``), or is the true one cut off instead of rounded
  (``truncated``);
* ``INHERITS``: the source's arithmetic is right given its *own* earlier (wrong) numbers;
* ``WRONG_ARITHMETIC``: wrong even given the source's own earlier numbers.

"Given the source's own numbers" is computed generically on the lesson's graph: a forward pass
in which every printed node value is pinned to the printed number, and a backward pass in which
every printed error term and gradient is pinned too. Each printed quantity is then recomputed
from its inputs in that pinned world (a node from its pinned parents, a gradient from its
pinned children, a local slope such as sigma'(z) from the pinned z), recording which printed
numbers it read on the way: those are the numbers an error can be inherited from.

A number with wrong arithmetic is then compared with re-runs of the lesson, each with one named
mistake applied (``nn.diagnosis``); the simplest that reproduces it at its printed precision is
its diagnosis, with the later mismatches the same mistake explains.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from autograd import Value, topological_order
from autograd.value import apply_op
from nn.diagnosis import (
    MEANING,
    ROUNDED_INTERMEDIATES,
    TRUNCATED,
    Mistake,
    MistakeRun,
    mistakes_for,
)
from nn.lesson import Lesson, build_lesson, engine_values, iterate_lesson
from nn.spec import PrintedEntry

MATCH = "match"
ROUNDING_ONLY = "rounding only"
INHERITS = "inherits an earlier error"
WRONG_ARITHMETIC = "wrong arithmetic"
KINDS = (WRONG_ARITHMETIC, INHERITS, ROUNDING_ONLY, MATCH)


@dataclass(frozen=True)
class Comparison:
    """A printed number beside the true one, and why they differ.

    ``given`` is what the source's formula gives with the source's own earlier printed numbers.
    ``inherited_from`` names the wrong earlier printed numbers it was computed from (for
    ``INHERITS``), ``inherited_printed`` their printed texts. ``cut_off`` is True when the printed
    number only fits if the source cut off further decimals instead of rounding.
    ``diagnosis`` names the mistake from the catalogue (``nn.diagnosis``) that reproduces the
    printed number ('' when none does), ``diagnosis_text`` says it in words, ``also_explains``
    lists the later mismatched numbers (``name`` or ``name after N``) the same mistake gives.
    """

    name: str
    printed: str
    true_value: float
    given: float
    kind: str
    text: str = ""
    inherited_from: tuple[str, ...] = ()
    inherited_printed: tuple[str, ...] = ()
    cut_off: bool = False
    after: int = 0
    diagnosis: str = ""
    diagnosis_text: str = ""
    also_explains: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The quantity's name, with the training step for a number printed after some."""
        return self.name + (f" after {self.after}" if self.after else "")

    @property
    def value(self) -> float:
        """The printed number as a float."""
        return float(self.printed)

    @property
    def mismatch(self) -> bool:
        """True when the printed number is not the true value rounded."""
        return self.kind != MATCH


def quantity_symbol(name: str, loss_symbol: str = "L", lr_symbol: str = "η") -> str:
    """How a quantity's name is written for people: 'delta2' -> 'δ2', 'dL/dW2[0]' -> '∂L/∂W2[0]'."""
    if name.startswith("dL/d"):
        return f"∂{loss_symbol}/∂{quantity_symbol(name[4:], loss_symbol, lr_symbol)}"
    if name.startswith("sigma'"):
        return "σ'" + name[6:]
    if name.startswith("delta"):
        return "δ" + name[5:]
    if name.startswith("y_hat"):
        return "ŷ" + name[5:]
    if name == "loss":
        return loss_symbol
    if name == "lr":
        return lr_symbol
    if name.endswith(" (updated)"):
        return name[: -len(" (updated)")] + " (new)"
    return name


# For a terminal that cannot show the sheet's symbols: the nearest plain-ASCII spelling.
ASCII_SPELLING = str.maketrans({
    "·": "*", "−": "-", "²": "^2", "½": "1/2", "σ": "sigma", "δ": "delta", "ŷ": "y_hat",
    "∂": "d", "η": "lr", "✗": "X", "✓": "OK",
})  # fmt: skip


def decimals(printed: str) -> int:
    """Number of decimal places printed ("0.017" -> 3)."""
    return len(printed.partition(".")[2])


def rounds_to(printed: str, x: float) -> bool:
    """True if x rounded to the printed number of decimals is the printed number."""
    scale = 10.0 ** decimals(printed)
    return abs(round(x * scale) - float(printed) * scale) < 1e-6


def significant_digits(printed: str) -> int:
    """Number of significant digits printed ("-0.0052" -> 2, "0.291027924" -> 9)."""
    return len(printed.lstrip("-").replace(".", "").lstrip("0"))


def cuts_to(printed: str, x: float) -> bool:
    """True if x with its further decimals cut off (not rounded) is the printed number."""
    scale = 10.0 ** decimals(printed)
    return abs(math.trunc(x * scale) - float(printed) * scale) < 1e-6


# ---------------------------------------------------------------------------------------------
# The pinned world
# ---------------------------------------------------------------------------------------------


def _apply(node: Value, parents: Sequence[float]) -> Value:
    """A fresh one-op graph: ``node``'s operation (its own definition in autograd/ops.py, with
    its slope for leaky_relu) applied to new leaves holding ``parents``."""
    return apply_op(node, [Value(p) for p in parents])


_SLOPE_FROM_OUTPUT = ("sigmoid", "tanh")


def _local_reads(op: str, k: int, n: int) -> list[int]:
    """Which parents' values the local derivative with respect to parent k reads."""
    if op in ("+", "-", "neg"):
        return []
    if op == "*":
        return [1 - k]
    return list(range(n))


def _merge(*groups: Sequence[str]) -> list[str]:
    out: list[str] = []
    for group in groups:
        for name in group:
            if name not in out:
                out.append(name)
    return out


class PinnedWorld:
    """The lesson's graph recomputed with the source's printed numbers pinned in place.

    ``raw_data``/``raw_grad``: a node's value and gradient recomputed from its (pinned)
    neighbours, ignoring its own pin; ``*_deps``: the printed numbers that recomputation read.
    An activation's slope (σ'(z) = a·(1 − a)) is taken from the printed output a when z was not
    printed, or always with ``slopes_from_outputs``.
    """

    def __init__(
        self, lesson: Lesson, pinned: Mapping[str, float], slopes_from_outputs: bool = False
    ) -> None:
        self.lesson = lesson
        order = topological_order(lesson.loss)
        grad_pins = {}  # node label -> (pin name, gradient value)
        for delta, label in lesson.deltas.items():
            if delta in pinned:
                grad_pins[label] = (delta, lesson.error_sign * pinned[delta])
        for p in lesson.parameters:
            name = f"dL/d{p.label}"
            if name in pinned and p.label not in grad_pins:
                grad_pins[p.label] = (name, pinned[name])

        data: dict[int, float] = {}
        data_deps: dict[int, list[str]] = {}
        self.raw_data: dict[int, float] = {}
        self.raw_data_deps: dict[int, list[str]] = {}
        self.fresh: dict[int, Value] = {}
        self.slope_pins: dict[int, str] = {}  # activation node -> its printed output's name
        for node in order:
            if node.is_leaf:
                raw, deps = node.data, []
            else:
                parents = node.parents
                fresh = _apply(node, [data[id(p)] for p in parents])
                self.fresh[id(node)] = fresh
                raw, deps = fresh.data, _merge(*(data_deps[id(p)] for p in parents))
                z_pinned = parents[0].label in pinned
                if node.op in _SLOPE_FROM_OUTPUT and node.label in pinned and (
                    slopes_from_outputs or not z_pinned
                ):
                    # the sheet writes σ'(z) = a·(1 − a): a source may work it from its printed a
                    fresh.data = pinned[node.label]
                    self.slope_pins[id(node)] = node.label
            self.raw_data[id(node)], self.raw_data_deps[id(node)] = raw, deps
            if node.label and node.label in pinned:
                data[id(node)], data_deps[id(node)] = pinned[node.label], [node.label]
            else:
                data[id(node)], data_deps[id(node)] = raw, deps
        self.data, self.data_deps = data, data_deps

        grad: dict[int, float] = {id(lesson.loss): 1.0}
        grad_deps: dict[int, list[str]] = {id(lesson.loss): []}
        self.raw_grad: dict[int, float] = {}
        self.raw_grad_deps: dict[int, list[str]] = {}
        for node in reversed(order):
            key = id(node)
            raw, deps = grad.get(key, 0.0), grad_deps.get(key, [])
            self.raw_grad[key], self.raw_grad_deps[key] = raw, deps
            if node.label in grad_pins:
                name, value = grad_pins[node.label]
                g, g_deps = value, [name]
            else:
                g, g_deps = raw, deps
            if node.is_leaf:
                continue
            parents = node.parents
            local = self.fresh[key].local_grads()
            for k, parent in enumerate(parents):
                reads = [parents[m] for m in _local_reads(node.op, k, len(parents))]
                deps_k = _merge(g_deps, *(data_deps[id(p)] for p in reads))
                if key in self.slope_pins:
                    deps_k = _merge(deps_k, [self.slope_pins[key]])
                grad[id(parent)] = grad.get(id(parent), 0.0) + local[k] * g
                grad_deps[id(parent)] = _merge(grad_deps.get(id(parent), []), deps_k)

    def recompute(self, name: str) -> tuple[float, list[str]]:
        """A quantity of the sheet recomputed in the pinned world, and the pins it read."""
        lesson = self.lesson
        if name in lesson.deltas:
            node = lesson.nodes[lesson.deltas[name]]
            return lesson.error_sign * self.raw_grad[id(node)], self.raw_grad_deps[id(node)]
        if name.startswith("dL/d") and name[4:] in lesson.nodes:
            node = lesson.nodes[name[4:]]
            return self.raw_grad[id(node)], self.raw_grad_deps[id(node)]
        if name in lesson.slopes:
            node = lesson.nodes[lesson.slopes[name]]
            (slope,) = self.fresh[id(node)].local_grads()
            if id(node) in self.slope_pins:
                return slope, [self.slope_pins[id(node)]]
            return slope, self.data_deps[id(node.parents[0])]
        if name.endswith(" (updated)") and name[: -len(" (updated)")] in lesson.nodes:
            node = lesson.nodes[name[: -len(" (updated)")]]
            g_name = f"dL/d{node.label}"
            g, deps = self.recompute(g_name)
            return node.data - lesson.lr * g, deps
        if name in lesson.nodes:
            node = lesson.nodes[name]
            return self.raw_data[id(node)], self.raw_data_deps[id(node)]
        raise KeyError(name)


# ---------------------------------------------------------------------------------------------
# Printed names: every way stepgrad writes a quantity
# ---------------------------------------------------------------------------------------------

MAX_LISTED_NAMES = 40  # an unknown name lists at most this many valid ones


def _squash(name: str) -> str:
    return "".join(name.split())


def name_forms(lesson: Lesson, name: str) -> list[str]:
    """The ways a quantity may be named: its name, its symbol as shown, that symbol in ASCII."""
    shown = quantity_symbol(name, lesson.loss_symbol, lesson.lr_symbol)
    forms = [name, shown, shown.translate(ASCII_SPELLING)]
    if name.endswith(" (updated)"):
        forms.append(name[: -len(" (updated)")] + "+")  # w5+, as many books write it
    return forms


def resolve_name(lesson: Lesson, name: str, names: Sequence[str]) -> str | None:
    """The quantity ``name`` stands for (any form of :func:`name_forms`), or None."""
    if name in names:
        return name
    wanted = _squash(name)
    for candidate in names:
        if any(_squash(form) == wanted for form in name_forms(lesson, candidate)):
            return candidate
    return None


def unknown_name_message(lesson: Lesson, name: str, names: Sequence[str], where: str) -> str:
    """'printed number 'x' is not a quantity of lesson ...; the quantities are: ...' (bounded)."""
    shown = [quantity_symbol(n, lesson.loss_symbol, lesson.lr_symbol) for n in names]
    listed = ", ".join(shown[:MAX_LISTED_NAMES])
    more = len(shown) - MAX_LISTED_NAMES
    if more > 0:
        listed += f", … ({more} more)"
    return (
        f"{where} {name!r} is not a quantity of lesson {lesson.name!r}; its quantities are: "
        + listed
    )


def resolve_printed(lesson: Lesson, entry: PrintedEntry, names: Sequence[str]) -> PrintedEntry:
    """The entry with its name resolved to the quantity's name; ValueError listing valid ones."""
    found = resolve_name(lesson, entry.name, names)
    if found is None:
        steps = f" (after {entry.after} steps)" if entry.after else ""
        raise ValueError(unknown_name_message(lesson, entry.name, names, f"printed number{steps}"))
    return entry if found == entry.name else replace(entry, name=found)


# ---------------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------------


def check_printed(
    lesson: Lesson,
    true_values: Mapping[str, float],
    printed: Sequence[PrintedEntry] | None = None,
    order: Sequence[str] | None = None,
) -> list[Comparison]:
    """Classify every printed number of ``lesson`` (default: its spec's) against the truth.

    ``true_values`` maps quantity names (as on the sheet) to the true numbers of the first pass;
    ``order`` is the sheet's order of names (a printed number is classified after the ones it
    may depend on). Numbers printed ``after`` N training steps are compared with the lesson
    trained N steps; they inherit an error when any number of the first pass is wrong.
    """
    if printed is None:
        printed = lesson.spec.printed if lesson.spec is not None else ()
    first = [resolve_printed(lesson, p, list(true_values)) for p in printed if p.after == 0]
    later = [p for p in printed if p.after > 0]
    if order is not None:
        position = {name: k for k, name in enumerate(order)}
        first.sort(key=lambda p: position.get(p.name, len(position)))
    pinned = {p.name: float(p.printed) for p in first}
    worlds = (PinnedWorld(lesson, pinned), PinnedWorld(lesson, pinned, slopes_from_outputs=True))
    texts = {p.name: p.printed for p in first}
    kinds: dict[str, str] = {}
    result: list[Comparison] = []
    for entry in first:
        true = float(true_values[entry.name])
        for world in worlds:  # the second only where the first does not reproduce the number
            given, deps = world.recompute(entry.name)
            wrong_upstream = tuple(
                d for d in deps if kinds.get(d) in (INHERITS, WRONG_ARITHMETIC)
            )
            comparison = _classify(entry, true, given, wrong_upstream, texts)
            if comparison.kind != WRONG_ARITHMETIC and not comparison.cut_off:
                break
        if comparison.kind == WRONG_ARITHMETIC or comparison.cut_off:
            given, deps = worlds[0].recompute(entry.name)
            wrong_upstream = tuple(
                d for d in deps if kinds.get(d) in (INHERITS, WRONG_ARITHMETIC)
            )
            comparison = _classify(entry, true, given, wrong_upstream, texts)
        result.append(comparison)
        kinds[entry.name] = comparison.kind
    if later:
        result += _check_later(lesson, later, result)
    return diagnose(lesson, result)


def _classify(
    entry: PrintedEntry,
    true: float,
    given: float,
    wrong_upstream: tuple[str, ...],
    texts: Mapping[str, str],
) -> Comparison:
    printed = entry.printed
    cut_off = False
    diagnosis = ""
    if rounds_to(printed, true):
        kind = MATCH
    elif not wrong_upstream and rounds_to(printed, given):
        # right from the source's own (only rounded) numbers: checked before "cut off", which
        # a number computed from rounded ones can look like by chance
        kind, diagnosis = ROUNDING_ONLY, ROUNDED_INTERMEDIATES
    elif cuts_to(printed, true):
        kind, cut_off, diagnosis = ROUNDING_ONLY, True, TRUNCATED
    elif rounds_to(printed, given) or cuts_to(printed, given):
        kind = INHERITS if wrong_upstream else ROUNDING_ONLY
        cut_off = not rounds_to(printed, given)
        diagnosis = TRUNCATED if kind == ROUNDING_ONLY else ""
    else:
        kind = WRONG_ARITHMETIC
    inherited = wrong_upstream if kind == INHERITS else ()
    return Comparison(
        name=entry.name,
        printed=printed,
        true_value=true,
        given=given,
        kind=kind,
        text=entry.text,
        inherited_from=inherited,
        inherited_printed=tuple(texts[n] for n in inherited),
        cut_off=cut_off,
        after=entry.after,
        diagnosis=diagnosis,
        diagnosis_text=MEANING.get(diagnosis, "") if diagnosis else "",
    )


def _check_later(
    lesson: Lesson, later: Sequence[PrintedEntry], first: Sequence[Comparison]
) -> list[Comparison]:
    steps = max(p.after for p in later)
    wrong_first = tuple(c.name for c in first if c.kind in (WRONG_ARITHMETIC, INHERITS))
    if lesson.spec is None:
        raise ValueError(f"lesson {lesson.name!r} has no spec to train from")
    # Train a fresh copy, so that the caller's graph keeps its gradients.
    fresh = build_lesson(lesson.spec, lr=lesson.lr, parameters=lesson.parameter_values())
    values_at: dict[int, dict[str, float]] = {}
    for k, trained in enumerate(iterate_lesson(fresh, steps)):
        values_at[k] = engine_values(trained)
    result = []
    for entry in later:
        values = values_at[entry.after]
        entry = resolve_printed(lesson, entry, list(values))
        true = values[entry.name]
        comparison = _classify(entry, true, true, (), {})
        if comparison.mismatch and not comparison.cut_off and wrong_first:
            comparison = Comparison(
                entry.name, entry.printed, true, true, INHERITS, entry.text,
                wrong_first[:1], (), False, entry.after,
            )  # fmt: skip
        elif comparison.mismatch and not comparison.cut_off:
            comparison = Comparison(
                entry.name, entry.printed, true, true, WRONG_ARITHMETIC, entry.text,
                (), (), False, entry.after,
            )  # fmt: skip
        result.append(comparison)
    return result


# ---------------------------------------------------------------------------------------------
# Naming the mistake
# ---------------------------------------------------------------------------------------------

MIN_DIGITS = 2  # a number printed with one significant digit fits too many mistakes to name one
# Training steps times parameters all re-runs of one check may take together: about 6 s for
# the 2-2-2 lesson (0.5 ms a step on an idle machine), enough for a number printed after 10,000
# steps once an earlier number has named its mistake; beyond it a number gets no diagnosis.
DIAGNOSIS_WORK = 100_000


class _Runs:
    """The lesson's mistaken re-runs, built as they are asked for; values at printed steps."""

    def __init__(self, lesson: Lesson) -> None:
        self.lesson = lesson
        self.mistakes = mistakes_for(lesson)
        self._runs: dict[int, MistakeRun] = {}
        self.size = max(len(lesson.parameters), 1)
        self.spent = 0  # steps times parameters computed so far

    def value(self, k: int, c: Comparison) -> float | None:
        if k not in self._runs:
            self._runs[k] = MistakeRun(self.lesson, self.mistakes[k])
        run = self._runs[k]
        more = max(c.after + 1 - len(run.steps), 0)
        if self.spent + more * self.size > DIAGNOSIS_WORK:
            return None
        self.spent += more * self.size
        value = run.values(c.after).get(c.name)
        return value if value is not None and math.isfinite(value) else None

    def reproduces(self, k: int, c: Comparison) -> bool:
        value = self.value(k, c)
        return value is not None and rounds_to(c.printed, value)


def diagnose(lesson: Lesson, comparisons: Sequence[Comparison]) -> list[Comparison]:
    """Name the mistake behind each number with wrong arithmetic, where one in the catalogue fits.

    For each such number, every mistake that applies to the lesson is tried (a re-run with that
    one mistake); of those that reproduce the printed number at its printed precision, the one
    already named for an earlier number wins, then the one that contradicts the fewest numbers
    printed right, then the simplest (catalogue order); for a number printed after training,
    the first that fits in that order (each such re-run trains the lesson). The chosen mistake
    also lists the later mismatched numbers it reproduces.
    """
    out = list(comparisons)
    if lesson.spec is None:
        return out
    runs = _Runs(lesson)
    right = [c for c in out if c.kind == MATCH and c.after == 0]
    named: list[int] = []  # mistakes already named, in order

    def contradictions(k: int) -> int:
        return sum(
            1
            for c in right
            if (v := runs.value(k, c)) is not None and not rounds_to(c.printed, v)
        )

    for index, c in enumerate(out):
        if c.kind != WRONG_ARITHMETIC or significant_digits(c.printed) < MIN_DIGITS:
            continue
        order = named + [k for k in range(len(runs.mistakes)) if k not in named]
        if c.after:  # a run trained N steps is costly: the first that fits, in order
            fits = next(([k] for k in order if runs.reproduces(k, c)), [])
        else:
            fits = [k for k in order if runs.reproduces(k, c)]
        if not fits:
            continue
        earlier = [k for k in fits if k in named]
        if earlier:
            k = earlier[0]
        else:
            k = min(fits, key=lambda m: (contradictions(m), fits.index(m)))
            named.append(k)
        mistake: Mistake = runs.mistakes[k]
        also = tuple(
            later.key
            for later in out[index + 1 :]
            if later.kind in (WRONG_ARITHMETIC, INHERITS) and runs.reproduces(k, later)
        )
        out[index] = replace(c, diagnosis=mistake.name, diagnosis_text=mistake.words,
                             also_explains=also)  # fmt: skip
    return out


def first_error(comparisons: Sequence[Comparison]) -> Comparison | None:
    """The first printed number whose own arithmetic is wrong: where the error enters."""
    return next((c for c in comparisons if c.kind == WRONG_ARITHMETIC), None)
