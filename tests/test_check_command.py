"""`stepgrad check answers.toml` (viz/check_command.py) and the quiz's named mistake.

The answers are computed here by hand with plain ``math`` (``tests/test_diagnosis.by_hand``):
right ones, and ones carrying a known mistake.
"""

from __future__ import annotations

import io
import json

import pytest

from tests.test_diagnosis import W0, by_hand, spec
from viz.cli import main


def write_answers(tmp_path, answers: list[dict], **switches) -> str:
    lesson = spec(**switches)
    lesson["printed"] = answers
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(lesson), encoding="utf-8")
    return str(path)


def test_all_right_answers_exit_0_and_say_so(tmp_path, capsys):
    v, _, _ = by_hand(W0)
    path = write_answers(tmp_path, [
        {"name": "net_h1", "value": f"{v['net_h1']:.4f}"},
        {"name": "E", "value": f"{v['loss']:.6f}"},
        {"name": "δ_o1".replace("δ", "delta"), "value": f"{v['delta_o1']:.6f}"},
        {"name": "∂E/∂w5", "value": f"{v['dL/dw5']:.6f}"},
        {"name": "w5 (new)", "value": f"{v['w5 (updated)']:.6f}"},
    ])  # fmt: skip
    assert main(["check", path]) == 0
    out = capsys.readouterr().out
    assert "5 of 5 right." in out and "✗" not in out and "first wrong" not in out


def test_a_wrong_answer_exits_1_marks_the_first_wrong_and_names_its_mistake(tmp_path, capsys):
    v, _, _ = by_hand(W0, slope="none")  # σ' left out everywhere
    right, _, _ = by_hand(W0)
    path = write_answers(tmp_path, [
        {"name": "out_o1", "value": f"{v['out_o1']:.6f}"},
        {"name": "delta_o1", "value": f"{v['delta_o1']:.6f}"},
        {"name": "dL/dw5", "value": f"{v['dL/dw5']:.6f}"},
    ])  # fmt: skip
    assert main(["check", path]) == 1
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "first wrong" in line]
    assert len(lines) == 1 and lines[0].lstrip().startswith("✗ δ_o1 = ")
    assert "likely mistake missing-activation-slope" in lines[0]
    # shown to two more decimals than the answer was written with
    assert f"the true value is {right['delta_o1']:.8f}" in lines[0]
    assert "1 of 3 right." in out
    assert "First wrong: δ_o1, likely missing-activation-slope" in out


def test_json_gives_each_answer_its_mark_and_diagnosis(tmp_path, capsys):
    v, _, _ = by_hand(W0, factor=-1.0)
    path = write_answers(tmp_path, [
        {"name": "E", "value": f"{v['loss']:.6f}"},
        {"name": "delta_o1", "value": f"{v['delta_o1']:.6f}"},
    ])  # fmt: skip
    assert main(["check", path, "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [a["right"] for a in data["answers"]] == [True, False]
    assert data["answers"][1]["diagnosis"] == "error-sign"
    assert data["first_wrong"] == "delta_o1"
    assert (data["right"], data["total"]) == (1, 2)


def test_markdown_is_a_table_with_one_row_per_answer(tmp_path, capsys):
    v, _, _ = by_hand(W0)
    path = write_answers(tmp_path, [{"name": "out_h1", "value": f"{v['out_h1']:.4f}"}])
    assert main(["check", path, "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "| Answer | You wrote | Mark | Why |" in out and "| out_h1 | 0.5933 | ✓ |" in out


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([], "lists no answers to check"),
        ([{"name": "no_such", "value": "1.0"}], "'no_such' is not a quantity"),
        ([{"name": "net_h1", "value": "abc"}], "printed[0].value"),
    ],
)
def test_bad_answers_files_exit_2_with_one_line(tmp_path, capsys, answers, message):
    path = write_answers(tmp_path, answers)
    assert main(["check", path]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("stepgrad: error:") and message in line


def test_a_missing_file_exits_2(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.toml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_check_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = capsys.readouterr().out
    assert "0 when every answer is right" in out and "1 when some answer is wrong" in out


def test_the_quiz_names_the_likely_mistake_after_a_wrong_answer():
    from viz.explain import explain
    from viz.quiz import quiz_questions, run_quiz

    explanation = explain(spec(), steps=0)
    names = [q.name for q in quiz_questions(explanation)]
    v, _, _ = by_hand(W0)
    wrong, _, _ = by_hand(W0, slope="none")
    answers = [f"{v[n]:.9f}" for n in names[: names.index("delta_o1")]]
    answers.append(f"{wrong['delta_o1']:.9f}")  # δ_o1 without σ'(net_o1)
    out = io.StringIO()
    result = run_quiz(explanation, stdin=io.StringIO("\n".join(answers) + "\nq\n"), stdout=out)
    assert result.wrong == 1
    text = out.getvalue()
    assert "✗ wrong" in text and "likely mistake missing-activation-slope" in text
    assert text.count("likely mistake") == 1
