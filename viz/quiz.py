"""Quiz mode: the learner works out each number of an example by hand and is told if it is right.

Works at a terminal and from a pipe alike: it reads one line per answer with ``readline()``,
flushes every prompt, re-asks after input that is not a number, and stops cleanly at end of
input. Empty input or ``s`` skips a question, ``q`` quits; the last line is the score.
"""

from __future__ import annotations

import contextlib
import math
import sys
from dataclasses import dataclass
from typing import TextIO

from nn.diagnosis import likely_mistake
from viz.numbers import format_number
from viz.report import MARK_RIGHT, MARK_WRONG, given_lines, printed_mark, write_text
from viz.sheet import SECTION_TRAINING, Explanation, Quantity

DEFAULT_TOLERANCE = 0.005
SKIP = "skip"
QUIT = "quit"


def is_close_enough(answer: float, true: float, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """True if ``answer`` is within ``tolerance`` of ``true``, relative to it.

    Near 0 a relative tolerance would demand every digit, so the allowance never drops below
    ``tolerance * 0.1`` absolute: with the default 0.005, that is 0.5 % or 0.0005.
    A non-finite true value (an overflow to inf, a nan) is matched only by the same non-finite
    answer: the allowance around inf is inf itself, so any finite number would pass
    ``abs(answer - true) <= ...`` (and inf - inf is nan, which fails every comparison).
    """
    if not (math.isfinite(true) and math.isfinite(answer)):
        if math.isnan(true) or math.isnan(answer):
            return math.isnan(true) and math.isnan(answer)
        return answer == true  # inf matches inf of the same sign, nothing else
    return abs(answer - true) <= tolerance * max(abs(true), 0.1)


def parse_answer(text: str) -> float | str:
    """A typed answer: a number, ``SKIP`` (empty, 's', 'skip') or ``QUIT`` ('q', 'quit').

    Accepts the typographic minus sign "−" too, and ``inf``, ``-inf``, ``∞`` and ``nan`` for
    the numbers the sheet shows when a value overflowed. Raises ValueError for anything else.
    """
    word = text.strip().lower()
    if word in ("", "s", "skip"):
        return SKIP
    if word in ("q", "quit", "exit"):
        return QUIT
    try:
        return float(word.replace("−", "-").replace("∞", "inf"))
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number") from None


@dataclass
class QuizResult:
    """How the quiz went: counts of right, wrong and skipped answers out of ``total`` questions."""

    total: int
    right: int = 0
    wrong: int = 0
    skipped: int = 0
    stopped_early: bool = False  # 'q' or end of input before the last question
    interrupted: bool = False  # Ctrl-C

    @property
    def asked(self) -> int:
        return self.right + self.wrong + self.skipped

    def summary(self) -> str:
        text = (
            f"Score: {self.right} of {self.total} right ({self.wrong} wrong, "
            f"{self.skipped} skipped"
        )
        if self.asked < self.total:
            text += f", {self.total - self.asked} not asked"
        return text + ")."


def quiz_questions(explanation: Explanation) -> list[Quantity]:
    """The numbers the quiz asks for: everything up to the updated parameters.

    The losses of later training iterations are left out: each would need a whole new
    forward pass by hand.
    """
    return [q for q in explanation.quantities if q.section != SECTION_TRAINING]


def _say(out: TextIO, text: str = "", end: str = "\n") -> None:
    # flushed every time: a prompt must show before readline() waits, also through a pipe
    write_text(out, text + end)


def _intro(explanation: Explanation, tolerance: float, total: int, out: TextIO) -> None:
    ex = explanation.example
    what = "expression" if ex.name == "expression" else f"worked example {ex.name}"
    _say(out, f"Quiz: {what}: {ex.title}")
    for note in explanation.notes:
        _say(out, f"  {note}")
    _say(out, "Given:")
    for line in given_lines(explanation):
        _say(out, f"  {line}")
    _say(
        out,
        f"{total} numbers to compute by hand, in order. An answer counts as right within "
        f"{tolerance:g} of the true value, relative (at least {tolerance * 0.1:g} absolute). "
        "Type a number; press Enter or type s to skip, q to quit.",
    )


MAX_ANSWER = 200  # characters read per answer: endless input must not fill the memory
MAX_JUNK = 20  # answers in a row that are not numbers before the quiz gives up
MAX_DISCARD = 1 << 21  # characters of an over-long line skipped per answer
TOO_LONG = object()  # what _Reader.answer returns for a line over MAX_ANSWER characters


class _Reader:
    """One answer per call: ``input()`` with line editing at a terminal, else bounded lines."""

    def __init__(self, stdin: TextIO | None, out: TextIO) -> None:
        self.stdin = stdin
        self.out = out
        self.terminal = False
        if stdin is not None and stdin is sys.stdin and stdin is sys.__stdin__:
            try:
                self.terminal = stdin.isatty() and out is sys.stdout
            except (ValueError, OSError):
                self.terminal = False
        if self.terminal:
            # readline gives input() line editing and history; not on every platform, and
            # input() works without it.
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401

    def answer(self, prompt: str) -> str | object | None:
        """The next answer line, None at end of input (also when there is no stdin at all), or
        ``TOO_LONG`` for a line over ``MAX_ANSWER`` characters, which is discarded whole: its
        tail must not be scored as an answer of its own.
        """
        if self.terminal:
            try:
                line = input(prompt)
            except EOFError:
                _say(self.out)
                return None
            return TOO_LONG if len(line) > MAX_ANSWER else line + "\n"
        _say(self.out, prompt, end="")
        if self.stdin is None:
            return None
        try:
            line = self.stdin.readline(MAX_ANSWER + 1)
            if len(line) <= MAX_ANSWER or line.endswith("\n"):
                return line if line else None
            # Over-long: read and drop the rest of the line in bounded pieces (never holding
            # more than MAX_ANSWER + 1 characters). Input with no line end in sight (/dev/zero)
            # counts as one over-long answer per MAX_DISCARD characters, so MAX_JUNK ends it.
            for _ in range(MAX_DISCARD // MAX_ANSWER):
                rest = self.stdin.readline(MAX_ANSWER + 1)
                if not rest or rest.endswith("\n"):
                    break
            return TOO_LONG
        except (OSError, ValueError):  # a closed or unreadable stdin is the end of input
            return None


def _ask(
    q: Quantity, index: int, total: int, reader: _Reader, out: TextIO
) -> float | str | None:
    """Ask until a usable answer arrives; None at end of input or after too much junk."""
    for _ in range(MAX_JUNK):
        line = reader.answer(f"[{index}/{total}] {q.symbol} = ? ")
        if line is None:  # end of input (an empty answer would be "\n")
            _say(out)
            return None
        if line is TOO_LONG:
            _say(out, f"  over {MAX_ANSWER} characters: that answer was discarded; type a number.")
            continue
        try:
            return parse_answer(line)
        except ValueError as error:
            shown = str(error) if len(str(error)) < 80 else "that is not a number"
            _say(out, f"  {shown}: type a number, s to skip or q to quit.")
    _say(out, f"{MAX_JUNK} answers in a row that are not numbers.")
    return None


def run_quiz(
    explanation: Explanation,
    tolerance: float | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> QuizResult:
    """Ask for each number of ``explanation`` in turn; after each answer show the solution.

    ``tolerance``: relative tolerance (see :func:`is_close_enough`), default 0.005.
    ``stdin``/``stdout`` default to the process's streams, looked up at call time so that
    tests and pipes can replace them.
    """
    if tolerance is None:
        tolerance = DEFAULT_TOLERANCE
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)):
        raise TypeError(f"tolerance must be a number, got {type(tolerance).__name__}")
    if not (tolerance > 0.0 and math.isfinite(tolerance)):
        raise ValueError(f"tolerance must be a positive finite number, got {tolerance!r}")
    stdin = sys.stdin if stdin is None else stdin  # None when the process has no stdin
    out = sys.stdout if stdout is None else stdout

    questions = quiz_questions(explanation)
    result = QuizResult(total=len(questions))
    _intro(explanation, tolerance, len(questions), out)
    try:
        _run(explanation, questions, tolerance, _Reader(stdin, out), out, result)
    except KeyboardInterrupt:  # Ctrl-C: end with the score so far, not a traceback
        result.stopped_early = result.interrupted = True
        _say(out, "\nInterrupted: stopping the quiz.")
    _say(out, "")
    _say(out, result.summary())
    return result


def _run(
    explanation: Explanation,
    questions: list[Quantity],
    tolerance: float,
    reader: _Reader,
    out: TextIO,
    result: QuizResult,
) -> None:
    section = None
    runs: dict = {}  # the lesson's re-runs with one mistake each, made when first needed
    for index, q in enumerate(questions, start=1):
        if q.section != section:
            section = q.section
            _say(out, f"\n{section}")
        answer = _ask(q, index, len(questions), reader, out)
        if answer is None or answer == QUIT:
            result.stopped_early = True
            _say(out, "End of input: stopping the quiz." if answer is None else "Quitting.")
            break
        if answer == SKIP:
            result.skipped += 1
            _say(out, "  skipped.")
        elif is_close_enough(answer, q.value, tolerance):
            result.right += 1
            _say(out, f"  {MARK_RIGHT} right.")
        else:
            result.wrong += 1
            _say(out, f"  {MARK_WRONG} wrong: you said {format_number(answer)}.")
            mistake = likely_mistake(
                explanation.example,
                q.name,
                lambda v, given=answer: is_close_enough(given, v, tolerance),
                runs,
            )
            if mistake is not None:
                _say(out, f"  likely mistake {mistake.name}: {mistake.words}.")
        _say(out, f"  {q.line()}")
        if q.comparison is not None:
            _say(out, f"  {printed_mark(q.comparison, explanation.loss_symbol, q.formula)}")
