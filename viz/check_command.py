"""`stepgrad check answers.toml`: a learner's own numbers checked, the first wrong one named.

The answers file is a lesson file (the network, inputs, targets, learning rate, as for
``stepgrad example``) whose ``[[printed]]`` entries are the learner's numbers, named by any
symbol the sheet shows (``net_h1``, ``E_total``, ``δ_o1``, ``∂E_total/∂w5``, ``w5 (new)``).
Each is compared with the true value at the precision it was written; the first wrong one is
marked and, where a mistake of the catalogue (``nn.diagnosis``) reproduces it, the mistake is
named. Exit code: 0 when every answer is right, 1 when some are wrong, 2 for bad input.
"""

from __future__ import annotations

import json
import sys

from nn.lesson import build_lesson
from nn.printed import INHERITS, MATCH, ROUNDING_ONLY, WRONG_ARITHMETIC, Comparison
from nn.spec import read_spec_file
from viz.report import MARK_RIGHT, MARK_WRONG, shown_beside, write_text
from viz.sheet import Explanation, explain_lesson, symbol

RIGHT = 0
SOME_WRONG = 1
FORMATS = ("text", "markdown", "json")


def is_right(c: Comparison) -> bool:
    """Right, or right but cut off instead of rounded (the number itself is the true one)."""
    return c.kind in (MATCH, ROUNDING_ONLY)


def _number(printed: str) -> str:
    return printed.replace("-", "−")


def _label(c: Comparison, loss_symbol: str) -> str:
    plural = "update" if c.after == 1 else "updates"
    return symbol(c.name, loss_symbol) + (f" after {c.after} {plural}" if c.after else "")


def _why(c: Comparison, loss_symbol: str) -> str:
    """Why an answer is marked as it is, in the learner's words."""
    true = shown_beside(c.true_value, c.printed)
    if c.kind == MATCH:
        return "right"
    if c.kind == ROUNDING_ONLY:
        how = "cut off instead of rounded" if c.cut_off else "worked from your rounded numbers"
        return f"right, {how} (the true value is {true})"
    if c.kind == INHERITS:
        own = ", ".join(symbol(n, loss_symbol) for n in c.inherited_from)
        return (
            f"the true value is {true}; yours follows from your own {own or 'earlier numbers'}"
            f" ({shown_beside(c.given, c.printed)})"
        )
    text = f"the true value is {true}"
    if not c.after:
        text += f"; even from your own earlier numbers it is {shown_beside(c.given, c.printed)}"
    if c.diagnosis:
        text += f"; likely mistake {c.diagnosis}: {c.diagnosis_text}"
    return text


def _first_wrong(comparisons: list[Comparison]) -> Comparison | None:
    wrong = [c for c in comparisons if c.kind == WRONG_ARITHMETIC]
    return wrong[0] if wrong else next((c for c in comparisons if not is_right(c)), None)


def render_check_text(explanation: Explanation, comparisons: list[Comparison]) -> str:
    ex = explanation.example
    loss = explanation.loss_symbol
    first = _first_wrong(comparisons)
    out = [f"Checking {len(comparisons)} answers: {ex.name}: {ex.title}", ""]
    for c in comparisons:
        mark = MARK_RIGHT if is_right(c) else MARK_WRONG
        flag = "   ← first wrong" if c is first else ""
        out.append(f"  {mark} {_label(c, loss)} = {_number(c.printed)}: {_why(c, loss)}{flag}")
    right = sum(is_right(c) for c in comparisons)
    out += ["", f"{right} of {len(comparisons)} right."]
    if first is not None:
        line = f"First wrong: {_label(first, loss)}"
        if first.diagnosis and first.kind == WRONG_ARITHMETIC:
            line += f", likely {first.diagnosis}: {first.diagnosis_text}"
            if first.also_explains:
                by_key = {c.key: _label(c, loss) for c in comparisons}
                also = ", ".join(by_key.get(k, k) for k in first.also_explains)
                line += f" (the same mistake also gives your {also})"
        out.append(line + ".")
    return "\n".join(out) + "\n"


def render_check_markdown(explanation: Explanation, comparisons: list[Comparison]) -> str:
    ex = explanation.example
    loss = explanation.loss_symbol
    first = _first_wrong(comparisons)
    out = [f"# Checking {len(comparisons)} answers: {ex.name}: {ex.title}", ""]
    out += ["| Answer | You wrote | Mark | Why |", "|---|---:|---|---|"]
    for c in comparisons:
        mark = MARK_RIGHT if is_right(c) else MARK_WRONG
        if c is first:
            mark += " first wrong"
        cells = (_label(c, loss), _number(c.printed), mark, _why(c, loss))
        out.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    right = sum(is_right(c) for c in comparisons)
    out += ["", f"{right} of {len(comparisons)} right."]
    return "\n".join(out) + "\n"


def check_data(explanation: Explanation, comparisons: list[Comparison]) -> dict[str, object]:
    loss = explanation.loss_symbol
    first = _first_wrong(comparisons)
    return {
        "lesson": explanation.example.name,
        "answers": [
            {
                "name": c.name,
                "symbol": symbol(c.name, loss),
                "after": c.after,
                "printed": c.printed,
                "value": c.true_value,
                "right": is_right(c),
                "kind": c.kind,
                "diagnosis": c.diagnosis or None,
                "diagnosis_text": c.diagnosis_text or None,
                "inherited_from": list(c.inherited_from),
                "also_explains": list(c.also_explains),
            }
            for c in comparisons
        ],
        "first_wrong": None if first is None else first.key,
        "right": sum(is_right(c) for c in comparisons),
        "total": len(comparisons),
    }


def render_check_json(explanation: Explanation, comparisons: list[Comparison]) -> str:
    return json.dumps(check_data(explanation, comparisons), indent=2, ensure_ascii=False) + "\n"


RENDERERS = {
    "text": render_check_text,
    "markdown": render_check_markdown,
    "json": render_check_json,
}


def check_answers(path: str) -> tuple[Explanation, list[Comparison]]:
    """The lesson of an answers file and the check of every answer (ValueError if bad)."""
    spec = read_spec_file(path)
    if not spec.printed:
        raise ValueError(
            f"{path}: lists no answers to check; add [[printed]] entries with name and value"
        )
    explanation = explain_lesson(build_lesson(spec), steps=0, compare_printed=True)
    assert explanation.printed_comparisons is not None
    return explanation, explanation.printed_comparisons


def run_check_command(args: object) -> int:
    """Run ``stepgrad check`` with parsed arguments; 0: all right, 1: some wrong."""
    path = args.answers
    output_format = getattr(args, "format", "text")
    if output_format not in RENDERERS:
        raise ValueError(f"unknown --format {output_format!r}; choose one of: {', '.join(FORMATS)}")
    explanation, comparisons = check_answers(path)
    write_text(sys.stdout, RENDERERS[output_format](explanation, comparisons))
    return RIGHT if all(is_right(c) for c in comparisons) else SOME_WRONG
