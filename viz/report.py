"""A lesson's sheet written out: plain text, Markdown and JSON, and the printed-number marks.

``render_text``, ``render_markdown`` and ``render_json`` turn an :class:`viz.sheet.Explanation`
into what ``stepgrad example`` prints; ``printed_mark`` and ``printed_summary`` say in words which
numbers the source printed wrong, why, and where its first error enters. ``write_text`` writes
to a terminal that may not know σ or δ.
"""

from __future__ import annotations

import json
import math
import os

from nn.diagnosis import ROUNDED_INTERMEDIATES, TRUNCATED
from nn.printed import (
    ASCII_SPELLING,
    INHERITS,
    MATCH,
    ROUNDING_ONLY,
    WRONG_ARITHMETIC,
    Comparison,
    decimals,
    first_error,
)
from viz.numbers import format_number
from viz.sheet import (
    SECTION_FORWARD,
    SECTION_GRADIENTS,
    SECTION_HIDDEN_ERRORS,
    SECTION_LOSS,
    SECTION_OUTPUT_ERROR,
    SECTION_TRAINING,
    SECTION_UPDATE,
    Explanation,
    Quantity,
    symbol,
)

MARK_WRONG = "✗"
MARK_RIGHT = "✓"


# ---------------------------------------------------------------------------------------------
# The printed-number check in words
# ---------------------------------------------------------------------------------------------
def _printed_number(printed: str) -> str:
    return printed.replace("-", "−")


def _label(c: Comparison, loss_symbol: str) -> str:
    """The quantity's symbol, with the training step for a number printed after some."""
    plural = "update" if c.after == 1 else "updates"
    return symbol(c.name, loss_symbol) + (f" after {c.after} {plural}" if c.after else "")


def _what(c: Comparison, loss_symbol: str, formula: str = "") -> str:
    """What the source wrote to get the number, or else our formula, or the quantity's symbol."""
    return c.text or formula or symbol(c.name, loss_symbol)


def shown_beside(x: float, printed: str) -> str:
    """``x`` with enough digits to show where it differs from ``printed``: at least two
    decimals more than were printed (a misprint in the 7th digit stays visible)."""
    text = format_number(x)
    wanted = decimals(printed) + 2
    if "e" in text or len(text.partition(".")[2]) < wanted:
        longer = f"{x + 0.0:.{wanted}f}".rstrip("0").rstrip(".")
        if len(longer) > len(text.replace("−", "-")):  # more digits than the sheet shows
            text = longer.replace("-", "−")
    return text


def _diagnosis_words(c: Comparison) -> str:
    """'; likely mistake updated-weights-in-backward: computed with …' ('' when none)."""
    if not c.diagnosis or c.diagnosis in (ROUNDED_INTERMEDIATES, TRUNCATED):
        return ""
    return f"; likely mistake {c.diagnosis}: {c.diagnosis_text}"


def printed_mark(c: Comparison, loss_symbol: str = "L", formula: str = "") -> str:
    """One line: the source's printed number, a ✓/✗ mark, the kind of mismatch and why."""
    printed = _printed_number(c.printed)
    if c.kind == MATCH:
        return f"{MARK_RIGHT} printed {printed} (matches)"
    given = shown_beside(c.given, c.printed)
    cut = f", cut off to {printed} instead of rounded" if c.cut_off else ""
    if c.kind == WRONG_ARITHMETIC and c.after:
        why = f"the true value is {shown_beside(c.true_value, c.printed)}"
    elif c.kind == WRONG_ARITHMETIC:
        why = f"{_what(c, loss_symbol, formula)} = {given}, even with the source's own numbers"
    elif c.kind == INHERITS:
        own = ", ".join(
            f"{symbol(n, loss_symbol)} = {_printed_number(p)}"
            for n, p in zip(c.inherited_from, c.inherited_printed)
        )
        why = f"right given the source's own {own}: {_what(c, loss_symbol, formula)} = {given}{cut}"
    elif c.diagnosis == ROUNDED_INTERMEDIATES:
        why = (
            f"the true value is {shown_beside(c.true_value, c.printed)}; computed from the "
            f"source's own rounded numbers it is {given}"
        )
    else:
        why = f"the true value is {shown_beside(c.true_value, c.printed)}{cut}"
    return f"{MARK_WRONG} printed {printed} ({c.kind}): {why}{_diagnosis_words(c)}"


def printed_summary(
    comparisons: list[Comparison], loss_symbol: str = "L", formulas: dict[str, str] | None = None
) -> list[str]:
    """Where the source's first error enters, which later numbers only inherit it, and the
    mistakes named."""

    def names(kind: str) -> str:
        found = [_label(c, loss_symbol) for c in comparisons if c.kind == kind]
        return ", ".join(found) if found else "none"

    first = first_error(comparisons)
    lines = []
    if first is None:
        lines.append("Every printed number follows from the source's own earlier numbers.")
    elif first.after:
        lines.append(
            f"The first error is {_label(first, loss_symbol)}: the source prints "
            f"{_printed_number(first.printed)}, the true value is "
            f"{shown_beside(first.true_value, first.printed)}; every number it printed for the "
            "first pass before it is right given its own earlier numbers."
        )
    else:
        what = _what(first, loss_symbol, (formulas or {}).get(first.name, ""))
        built_on = any(c.kind == INHERITS for c in comparisons)
        lines.append(
            f"The first error enters at {symbol(first.name, loss_symbol)}: the source prints "
            f"{_printed_number(first.printed)} for {what}, which is "
            f"{shown_beside(first.given, first.printed)}."
            + (" Every later number is built on it." if built_on else "")
        )
    for c in comparisons:
        if _diagnosis_words(c):
            also = [_label_of_key(k, comparisons, loss_symbol) for k in c.also_explains]
            lines.append(
                f"{_label(c, loss_symbol)} is what {c.diagnosis} gives: {c.diagnosis_text}."
                + (f" The same mistake also gives {', '.join(also)}." if also else "")
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


def _label_of_key(key: str, comparisons: list[Comparison], loss_symbol: str) -> str:
    found = next((c for c in comparisons if c.key == key), None)
    return _label(found, loss_symbol) if found is not None else key


def _printed_note(explanation: Explanation) -> list[str]:
    """The printed-numbers paragraph, or why there is none."""
    if not explanation.compare_printed:
        return []
    if explanation.printed_comparisons is None:
        return [
            f"The source ({explanation.example.source}) prints no numbers for this example: "
            "there is nothing to compare."
        ]
    later = [
        f"{_label(c, explanation.loss_symbol)} = {shown_beside(c.true_value, c.printed)}: "
        f"{printed_mark(c, explanation.loss_symbol)}"
        for c in explanation.later_comparisons
    ]
    formulas = {q.name: q.formula for q in explanation.quantities}
    comparisons = explanation.printed_comparisons
    return later + printed_summary(comparisons, explanation.loss_symbol, formulas)


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
        lr_symbol = getattr(explanation.example, "lr_symbol", "η")
        lines.append(f"{lr_symbol} = {format_number(given['lr'])} (learning rate)")
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
        f"(each: forward, backward, update with {getattr(explanation.example, 'lr_symbol', 'η')} = "
        f"{format_number(explanation.example.lr)})"
    )


# The parts of the sheet ``--part`` prints on their own: the sections each one holds (a section's
# heading starts with one of these; "Update (η = 0.1)").
PARTS = {
    "forward": (SECTION_FORWARD,),
    "loss": (SECTION_LOSS,),
    "backward": (SECTION_OUTPUT_ERROR, SECTION_HIDDEN_ERRORS, SECTION_GRADIENTS),
    "update": (SECTION_UPDATE, SECTION_TRAINING),
    "check": (),  # the printed-numbers check
}

# Terminal colours, each with one meaning: bold for headings, green for a printed number that
# matches, red for one that does not.
_BOLD, _GREEN, _RED, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[31m", "\x1b[0m"


def wants_colour(stream: object) -> bool:
    """Colour only on a terminal, never in a pipe or file, and not when NO_COLOR is set
    (https://no-color.org) or the terminal is "dumb"."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(callable(isatty) and isatty())
    except (OSError, ValueError):  # a closed or detached stream
        return False


def _paint(text: str, colour: bool, style: str = _BOLD) -> str:
    return f"{style}{text}{_RESET}" if colour and text else text


def _paint_marks(text: str, colour: bool) -> str:
    """A line of the printed-numbers check: red where it says ✗, green where it says ✓."""
    if not colour:
        return text
    if text.lstrip().startswith(MARK_WRONG):
        return _paint(text, colour, _RED)
    if text.lstrip().startswith(MARK_RIGHT):
        return _paint(text, colour, _GREEN)
    text = text.replace(MARK_WRONG, _paint(MARK_WRONG, colour, _RED))
    return text.replace(MARK_RIGHT, _paint(MARK_RIGHT, colour, _GREEN))


def render_text(explanation: Explanation, part: str | None = None, colour: bool = False) -> str:
    """The plain-text page ``stepgrad example`` prints.

    ``part`` (one of :data:`PARTS`) keeps only that part of the sheet, under the title;
    ``colour`` adds terminal colours (see :func:`wants_colour`).
    """
    if part is not None and part not in PARTS:
        raise ValueError(f"--part must be one of {', '.join(PARTS)}; got {part!r}")
    shown = PARTS[part] if part is not None else None

    def wanted(section: str) -> bool:
        return shown is None or section.startswith(shown)

    ex = explanation.example
    out = [_paint(f"Worked example {ex.name}: {ex.title}", colour)]
    if part is None:
        out += [f"  {note}" for note in explanation.notes]
        out += ["", _paint("Given", colour)] + [f"  {line}" for line in given_lines(explanation)]
    for section, quantities in _sections(explanation.quantities):
        if not wanted(section):
            continue
        out += ["", _paint(section, colour)]
        for q in quantities:
            out.append(f"  {q.line()}")
            if q.comparison is not None:
                mark = printed_mark(q.comparison, explanation.loss_symbol, q.formula)
                out.append(f"      {_paint_marks(mark, colour)}")
    if explanation.training and wanted(SECTION_TRAINING):
        out += ["", _paint(_training_heading(explanation), colour)]
        out += [f"  {q.line()}" for q in explanation.training]
    printed_lines = _printed_note(explanation) if part in (None, "check") else []
    if part == "check" and not printed_lines:
        printed_lines = ["Not shown: --no-compare-printed leaves the printed numbers out."]
    if printed_lines:
        out += ["", _paint("Printed numbers check", colour)]
        out += [f"  {_paint_marks(line, colour)}" for line in printed_lines]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _markdown_table(quantities: list[Quantity], with_printed: bool, loss_symbol: str) -> list[str]:
    header = "| Quantity | Formula | With the numbers | Value |"
    rule = "|---|---|---|---:|"
    if with_printed:
        header += " Printed |"
        rule += "---|"
    rows = [header, rule]
    for q in quantities:
        name = q.symbol + (f" = {q.meaning}" if q.meaning else "")
        cells = (name, q.formula, q.filled, format_number(q.value))
        row = "| " + " | ".join(_cell(c) for c in cells) + " |"
        if with_printed:
            mark = printed_mark(q.comparison, loss_symbol, q.formula) if q.comparison else ""
            row += f" {_cell(mark)} |"
        rows.append(row)
    return rows


def render_markdown(explanation: Explanation) -> str:
    """The same page as Markdown: a heading and a table per section."""
    ex = explanation.example
    with_printed = explanation.compare_printed and explanation.printed_comparisons is not None
    out = [f"# Worked example {ex.name}: {ex.title}", ""]
    out += [f"- {note}" for note in explanation.notes]
    out += ["", "## Given", ""] + [f"- {line}" for line in given_lines(explanation)]
    for section, quantities in _sections(explanation.quantities):
        out += ["", f"## {section}", ""]
        out += _markdown_table(quantities, with_printed, explanation.loss_symbol)
    if explanation.training:
        out += ["", f"## {_training_heading(explanation)}", ""]
        out += _markdown_table(explanation.training, False, explanation.loss_symbol)
    printed_lines = _printed_note(explanation)
    if printed_lines:
        out += ["", "## Printed numbers check", ""] + [f"- {line}" for line in printed_lines]
    return "\n".join(out) + "\n"


def to_json_data(explanation: Explanation) -> dict[str, object]:
    """The explanation as plain data: each quantity with value, formula, operands, printed check."""
    ex = explanation.example
    comparisons = explanation.printed_comparisons if explanation.compare_printed else None
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
        "printed_check": None
        if comparisons is None
        else {
            "first_error": first.key if first else None,
            "summary": printed_summary(
                comparisons,
                explanation.loss_symbol,
                {q.name: q.formula for q in explanation.quantities},
            ),
            **({"after_training": [
                {"name": c.name, "after": c.after, "printed": c.printed, "value": c.true_value,
                 "kind": c.kind, "diagnosis": c.diagnosis or None}
                for c in comparisons if c.after
            ]} if any(c.after for c in comparisons) else {}),
            "diagnoses": [
                {"name": c.name, "after": c.after, "printed": c.printed,
                 "diagnosis": c.diagnosis, "words": c.diagnosis_text,
                 "also_explains": list(c.also_explains)}
                for c in comparisons if c.diagnosis
            ],
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


_ASCII = ASCII_SPELLING  # for a terminal that cannot show the page's symbols


def write_text(stream: object, text: str) -> None:
    """Write text and flush; where σ, δ or ✗ cannot be encoded, spell them in ASCII."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        plain = text.translate(_ASCII)
        stream.write(plain.encode(encoding, errors="replace").decode(encoding))
    stream.flush()


