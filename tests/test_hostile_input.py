"""Hostile and careless input (issue 16): no quiet wrong number, no control character on the
terminal, no hang, and output that other programs can parse.

Every expected number here comes from plain ``math`` or from the file's own text, never from the
engine.
"""

from __future__ import annotations

import io
import json
import math
import sys

import pytest

from viz.cli import main
from viz.quiz import is_close_enough, parse_answer


def _run_quiz(capsys, monkeypatch, answers: str, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(answers))
    code = main([*argv, "--quiz"])
    return code, capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# The quiz: a non-finite truth, an over-long line
# ---------------------------------------------------------------------------------------------


def test_finite_answer_never_matches_an_infinite_true_value(capsys, monkeypatch):
    # exp(1000) is beyond the largest float (about 1.8e308): the true value is inf.
    with pytest.raises(OverflowError):
        math.exp(1000)
    code, out = _run_quiz(capsys, monkeypatch, "5\nq\n", "trace", "exp(x)", "x=1000")
    assert code == 0
    assert "✗ wrong: you said 5" in out
    assert "Score: 0 of 3 right" in out


def test_inf_answered_by_inf_is_right(capsys, monkeypatch):
    code, out = _run_quiz(capsys, monkeypatch, "inf\nq\n", "trace", "exp(x)", "x=1000")
    assert code == 0
    assert "✓ right." in out and "Score: 1 of 3 right" in out


@pytest.mark.parametrize(
    ("answer", "true", "right"),
    [
        (5.0, math.inf, False),
        (1e308, math.inf, False),
        (math.inf, math.inf, True),
        (-math.inf, math.inf, False),
        (-math.inf, -math.inf, True),
        (math.nan, math.nan, True),
        (0.0, math.nan, False),
        (math.inf, 1.0, False),
        (math.nan, 1.0, False),
        (1.004, 1.0, True),
    ],
)
def test_is_close_enough_with_non_finite_numbers(answer, true, right):
    assert is_close_enough(answer, true) is right


def test_typed_inf_and_nan_are_numbers():
    assert parse_answer("inf") == math.inf
    assert parse_answer("−inf") == -math.inf
    assert parse_answer("∞") == math.inf
    assert math.isnan(parse_answer("nan"))


def test_over_long_line_is_discarded_whole_not_scored_on_its_tail(capsys, monkeypatch):
    # 0.41 = 0.5*0.5 + 0.3*0.2 + 0.1 is the right first answer of 2-2-1 (z1[0]); hidden behind
    # 201 junk characters on the same line it must not count.
    line = "x" * 201 + "0.41\n"
    code, out = _run_quiz(capsys, monkeypatch, line + "q\n", "example", "2-2-1")
    assert code == 0
    assert "discarded" in out
    assert "✓ right" not in out
    assert "Score: 0 of" in out


def test_over_long_line_of_a_megabyte_is_discarded_in_bounded_pieces(capsys, monkeypatch):
    line = "7" * (1 << 20) + "\n"
    code, out = _run_quiz(capsys, monkeypatch, line + "0.41\nq\n", "example", "2-2-1")
    assert code == 0
    assert out.count("discarded") == 1
    assert "Score: 1 of" in out  # the next line is a fresh answer


def test_json_output_is_strict(capsys):
    def refuse(name: str) -> None:
        raise AssertionError(f"not JSON: {name}")

    assert main(["trace", "exp(x)", "x=1000", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert data["quantities"][0]["value"] == "inf"
