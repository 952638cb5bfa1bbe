"""A lesson's sheet written out: plain text, Markdown and JSON, and the printed-number marks.

``render_text``, ``render_markdown`` and ``render_json`` turn an :class:`viz.sheet.Explanation`
into what ``stepgrad example`` prints; ``seed_mark`` and ``seed_summary`` say in words which
numbers the source printed wrong, why, and where its first error enters. ``write_text`` writes
to a terminal that may not know σ or δ.
"""

from __future__ import annotations

import json
import math

from nn.printed import INHERITS, MATCH, ROUNDING_ONLY, WRONG_ARITHMETIC, Comparison, first_error
from viz.numbers import format_number
from viz.sheet import SECTION_TRAINING, Explanation, Quantity, symbol

MARK_WRONG = "✗"
MARK_RIGHT = "✓"


# ---------------------------------------------------------------------------------------------
# The printed-number check in words
# ---------------------------------------------------------------------------------------------
def _seed_number(printed: str) -> str:
    return printed.replace("-", "−")


def _label(c: Comparison, loss_symbol: str) -> str:
    """The quantity's symbol, with the training step for a number printed after some."""
    plural = "update" if c.after == 1 else "updates"
    return symbol(c.name, loss_symbol) + (f" after {c.after} {plural}" if c.after else "")


def _what(c: Comparison, loss_symbol: str, formula: str = "") -> str:
    """What the source wrote to get the number, or else our formula, or the quantity's symbol."""
    return c.text or formula or symbol(c.name, loss_symbol)


def seed_mark(c: Comparison, loss_symbol: str = "L", formula: str = "") -> str:
    """One line: the source's printed number, a ✓/✗ mark, the kind of mismatch and why."""
    printed = _seed_number(c.printed)
    if c.kind == MATCH:
        return f"{MARK_RIGHT} printed {printed} (matches)"
    given = format_number(c.given)
    cut = f", cut off to {printed} instead of rounded" if c.cut_off else ""
    if c.kind == WRONG_ARITHMETIC:
        why = f"{_what(c, loss_symbol, formula)} = {given}, even with the source's own numbers"
    elif c.kind == INHERITS:
        own = ", ".join(
            f"{symbol(n, loss_symbol)} = {_seed_number(p)}"
            for n, p in zip(c.inherited_from, c.inherited_printed)
        )
        why = f"right given the source's own {own}: {_what(c, loss_symbol, formula)} = {given}{cut}"
    else:
        why = f"the true value is {format_number(c.true_value)}{cut}"
    return f"{MARK_WRONG} printed {printed} ({c.kind}): {why}"


def seed_summary(
    comparisons: list[Comparison], loss_symbol: str = "L", formulas: dict[str, str] | None = None
) -> list[str]:
    """Where the source's first error enters, and which later numbers only inherit it."""

    def names(kind: str) -> str:
        found = [_label(c, loss_symbol) for c in comparisons if c.kind == kind]
        return ", ".join(found) if found else "none"

    first = first_error(comparisons)
    lines = []
    if first is None:
        lines.append("Every printed number follows from the source's own earlier numbers.")
    else:
        what = _what(first, loss_symbol, (formulas or {}).get(first.name, ""))
        lines.append(
            f"The first error enters at {symbol(first.name, loss_symbol)}: the source prints "
            f"{_seed_number(first.printed)} for {what}, which is "
            f"{format_number(first.given)}. Every later number is built on it."
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
    later = [
        f"{_label(c, explanation.loss_symbol)} = {format_number(c.true_value)}: "
        f"{seed_mark(c, explanation.loss_symbol)}"
        for c in explanation.later_comparisons
    ]
    formulas = {q.name: q.formula for q in explanation.quantities}
    return later + seed_summary(explanation.seed_comparisons, explanation.loss_symbol, formulas)


# ---------------------------------------------------------------------------------------------
# Output formats
# ---------------------------------------------------------------------------------------------


def given_lines(explanation: Explanation) -> list[str]:
    """The given numbers: inputs, targets, each layer's weights and biases; the learning rate."""
    given = explanation.given
    lines = [
        ", ".join(f"{name} = {format_number(given[name])}" for name in group)
        for group in explanation.given_groups
    ]
    if "lr" in given:
        lines.append(f"η = {format_number(given['lr'])} (learning rate)")
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
                out.append(f"      {seed_mark(q.seed, explanation.loss_symbol, q.formula)}")
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
            mark = seed_mark(q.seed, loss_symbol, q.formula) if q.seed else ""
            row += f" {_cell(mark)} |"
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
    first = first_error(comparisons) if comparisons else None
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
            "summary": seed_summary(
                comparisons,
                explanation.loss_symbol,
                {q.name: q.formula for q in explanation.quantities},
            ),
            **({"after_training": [
                {"name": c.name, "after": c.after, "printed": c.printed, "value": c.true_value,
                 "kind": c.kind}
                for c in comparisons if c.after
            ]} if any(c.after for c in comparisons) else {}),
            "by_kind": {
                kind: [
                    c.name + (f" after {c.after}" if c.after else "")
                    for c in comparisons
                    if c.kind == kind
                ]
                for kind in (WRONG_ARITHMETIC, INHERITS, ROUNDING_ONLY, MATCH)
            },
        },
    }


NON_FINITE = {math.inf: "inf", -math.inf: "-inf"}  # and "nan": how strict JSON says them


def json_safe(data: object) -> object:
    """``data`` with every non-finite float replaced by the string "inf", "-inf" or "nan".

    JSON has no spelling for them: Python's ``json`` writes ``Infinity`` and ``NaN``, which
    ``JSON.parse`` and most other readers reject. A value that overflowed is still a fact worth
    showing, so it becomes a string a reader can test for.
    """
    if isinstance(data, float):
        if math.isfinite(data):
            return data
        return "nan" if math.isnan(data) else NON_FINITE[data]
    if isinstance(data, dict):
        return {key: json_safe(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_safe(value) for value in data]
    return data


def dumps_json(data: object) -> str:
    """Strict JSON text of ``data`` (non-finite numbers as strings, see :func:`json_safe`)."""
    return json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n"


def render_json(explanation: Explanation) -> str:
    """The explanation as strict JSON text (see :func:`to_json_data` and :func:`json_safe`)."""
    return dumps_json(to_json_data(explanation))


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}


# ---------------------------------------------------------------------------------------------
# Writing to a terminal
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


