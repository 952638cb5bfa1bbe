"""The Python front door to lessons: ``explain()`` and ``quiz()`` for anything you can step through.

``explain("2-2-1")``, ``explain("my-net.toml")``, ``explain(spec_dict)``, ``explain(lesson)`` or
``explain(value)`` (any output ``Value`` whose nodes you labelled) return the sheet that
``stepgrad example`` / ``stepgrad trace`` print: an :class:`viz.sheet.Explanation` whose
``quantities`` hold every number with its formula (``viz.report.render_text`` writes the page).
``quiz(...)`` asks for each of those numbers in turn, at the terminal or from any stream.
"""

from __future__ import annotations

from typing import TextIO

from autograd import Value
from viz.quiz import QuizResult, run_quiz
from viz.sheet import MAX_STEPS, Explanation, as_lesson, check_steps, explain_lesson
from viz.trace_command import explain_value

__all__ = ["MAX_STEPS", "explain", "quiz"]


def explain(
    what: object, lr: float | None = None, steps: int = 5, compare_printed: bool | None = None
) -> Explanation:
    """The sheet of a lesson or an expression: every number with the formula that made it.

    ``what``: a built-in name (``"2-2-1"``, ``"1-1-1"``, ``"softmax"``), a path to a ``.toml``
    or ``.json`` lesson file, a spec dict (as such a file holds), a :class:`nn.lesson.Lesson`,
    or any output :class:`autograd.Value` whose nodes you labelled (its backward pass is run:
    leaves accumulate gradients as usual). ``steps``: how many further training iterations'
    losses to list (0 to MAX_STEPS). ``compare_printed``: show the numbers the source printed
    beside the true ones (default: on when the lesson lists some). Bad input raises ValueError
    (a lesson file's errors name the file and the field).
    """
    if isinstance(what, Value):
        return explain_value(what)
    check_steps(steps)
    return explain_lesson(as_lesson(what, lr=lr), steps=steps, compare_printed=compare_printed)


def quiz(
    what: object,
    tolerance: float | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> QuizResult:
    """Quiz yourself from Python on anything :func:`explain` takes, or on an Explanation.

    Asks on ``stdin`` (default: the process's), writes to ``stdout``; returns the score.
    """
    explanation = what if isinstance(what, Explanation) else explain(what, steps=0)
    return run_quiz(explanation, tolerance=tolerance, stdin=stdin, stdout=stdout)
