"""`stepgrad example` (viz/explain.py) and its quiz (viz/quiz.py), driven through viz.cli.main.

Numbers are checked against the closed forms of tests/test_examples.py; every formula with its
operands filled in is re-evaluated here with math.exp and compared with the number shown.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_examples import CLOSED_FORMS, closed_form_2_2_1
from viz.cli import main
from viz.explain import explain
from viz.numbers import format_number
from viz.quiz import is_close_enough, parse_answer, run_quiz
from viz.report import write_text

REPO = Path(__file__).resolve().parent.parent


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["example", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys, *argv: str) -> dict:
    code, out, err = run_cli(capsys, *argv, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def shown(x: float) -> str:
    """How the page writes a number: 6 significant digits, typographic minus."""
    return f"{x:.6g}".replace("-", "−")


# Evaluating the formula text the page prints, independently of the package.
_EVAL_NAMES = {"sig": lambda v: 1.0 / (1.0 + math.exp(-v)), "exp": math.exp, "log": math.log}


def evaluate(text: str) -> float:
    python = (
        text.replace("−", "-").replace("·", "*").replace("²", "**2").replace("½", "0.5")
        .replace("σ(", "sig(")
    )  # fmt: skip
    # nothing but numbers, arithmetic and the three functions may be left
    assert re.fullmatch(r"[0-9.e+\-*/() ]*", re.sub(r"\b(sig|exp|log)\(", "(", python)), python
    return eval(python, {"__builtins__": {}}, _EVAL_NAMES)  # noqa: S307 - checked text above


# ---------------------------------------------------------------------------------------------
# Every number, every formula
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["2-2-1", "1-1-1", "softmax"])
def test_json_values_match_closed_form(capsys, name):
    data = run_json(capsys, name, "--steps", "0")
    expected = CLOSED_FORMS[name]()
    names = [q["name"] for q in data["quantities"]]
    assert set(names) == set(expected)  # every hand-computed number is shown, nothing else
    for q in data["quantities"]:
        assert q["value"] == pytest.approx(expected[q["name"]], rel=1e-10, abs=1e-15), q["name"]


@pytest.mark.parametrize("name", ["2-2-1", "1-1-1", "softmax"])
def test_filled_in_formula_evaluates_to_the_value_shown(capsys, name):
    data = run_json(capsys, name, "--steps", "3")
    assert len(data["training"]) == 3
    for q in data["quantities"] + data["training"]:
        # the printed text, with 6-digit operands
        assert evaluate(q["filled"]) == pytest.approx(q["value"], rel=1e-4, abs=1e-9), q
        # the same formula with the operands at full precision
        full = q["template"].format(*(f"({op['value']!r})" for op in q["operands"]))
        assert evaluate(full) == pytest.approx(q["value"], rel=1e-9, abs=1e-15), q


def test_training_losses_fall_and_the_first_is_the_loss_of_the_updated_parameters(capsys):
    data = run_json(capsys, "2-2-1", "--steps", "4")
    v = closed_form_2_2_1()
    after = closed_form_2_2_1(
        w1=[[v[f"W1[{i}][{j}] (updated)"] for j in range(2)] for i in range(2)],
        b1=[v[f"b1[{j}] (updated)"] for j in range(2)],
        w2=[v[f"W2[{j}] (updated)"] for j in range(2)],
        b2=v["b2 (updated)"],
    )
    losses = [q["value"] for q in data["training"]]
    assert losses[0] == pytest.approx(after["loss"], rel=1e-10)
    assert losses == sorted(losses, reverse=True)
    names = [q["name"] for q in data["training"]]
    assert names[:2] == ["loss after 1 update", "loss after 2 updates"]


def test_lr_option_reaches_the_update(capsys):
    data = run_json(capsys, "2-2-1", "--lr", "0.5", "--steps", "0")
    values = {q["name"]: q["value"] for q in data["quantities"]}
    assert data["lr"] == 0.5
    assert values["W2[0] (updated)"] == pytest.approx(closed_form_2_2_1(lr=0.5)["W2[0] (updated)"])


# ---------------------------------------------------------------------------------------------
# Text and Markdown
# ---------------------------------------------------------------------------------------------


def test_text_shows_seed_vocabulary_in_seed_order_with_formulas(capsys):
    code, out, _ = run_cli(capsys)  # the default example is 2-2-1
    assert code == 0
    v = closed_form_2_2_1()
    slope = v["sigma'(z2)"]
    assert "z1[0] = x[0]·W1[0][0] + x[1]·W1[1][0] + b1[0] = 0.5·0.5 + 0.3·0.2 + 0.1 = 0.41\n" in out
    assert (
        f"δ2 = ∂L/∂z2 = 2·(ŷ − t)·σ'(z2) = 2·({shown(v['y_hat'])} − 0.8)·{shown(slope)} "
        f"= {shown(v['delta2'])}\n"
    ) in out
    assert f"W2[0] (new) = W2[0] − η·∂L/∂W2[0] = 0.6 − 0.1·({shown(v['dL/dW2[0]'])})" in out
    order = ["Forward pass", "Loss", "Output error", "Hidden errors", "Gradients", "Update",
             "Training", "Printed numbers check"]  # fmt: skip
    positions = [out.index(f"\n{heading}") for heading in order]
    assert positions == sorted(positions)
    assert out.index("z1[1] =") < out.index("a1[0] =") < out.index("z2 =") < out.index("ŷ =")


def test_text_marks_each_seed_mismatch_and_where_the_error_enters(capsys):
    _, out, _ = run_cli(capsys, "2-2-1")
    assert "✗ printed 0.31 (wrong arithmetic)" in out
    assert "✗ printed 0.71 (wrong arithmetic): 0.6*0.57 + 0.7*0.57 + 0.3 = 1.041" in out
    assert "✗ printed 0.67 (inherits an earlier error)" in out
    assert "✗ printed −0.04 (wrong arithmetic)" in out
    assert out.count("✗ printed") == 13
    assert "The first error enters at z1[0]" in out
    assert "Only inherit an earlier error" in out and "ŷ, L, δ2, δ1[0], δ1[1]" in out


def test_no_compare_seed_hides_the_seed_numbers(capsys):
    _, out, _ = run_cli(capsys, "2-2-1", "--no-compare-seed")
    assert "✗ printed" not in out and "Printed numbers check" not in out


def test_compare_seed_on_an_example_without_seed_numbers_says_so(capsys):
    _, out, _ = run_cli(capsys, "1-1-1")
    assert "✗ printed" not in out and "Printed numbers check" not in out
    _, out, _ = run_cli(capsys, "1-1-1", "--compare-seed")
    assert "The source (the one-neuron walkthrough, 1-1-1 network) prints no numbers" in out


def test_1_1_1_output_says_which_reading_it_follows(capsys):
    _, out, _ = run_cli(capsys, "1-1-1")
    assert "contradicts itself" in out and "both units are sigmoid" in out
    assert "are ours" in out
    assert "y = σ(h2) = " in out and "L = ½·(y − t)² = " in out


def test_softmax_output_shows_that_the_engine_delta_is_y_hat_minus_y(capsys):
    _, out, _ = run_cli(capsys, "softmax", "--steps", "1")
    v = CLOSED_FORMS["softmax"]()
    assert f"δ2[1] = ∂J/∂z2[1] = ŷ[1] − y[1] = {shown(v['y_hat[1]'])} − 1 = " in out
    assert "so δ2 = ŷ − y" in out


def test_markdown_has_a_table_per_section_with_seed_column(capsys):
    code, out, _ = run_cli(capsys, "2-2-1", "--format", "markdown", "--steps", "2")
    assert code == 0
    assert out.startswith("# Worked example 2-2-1")
    assert "## Forward pass" in out and "## Printed numbers check" in out
    assert "| Quantity | Formula | With the numbers | Value | Printed |" in out
    assert (
        "| z1[0] | x[0]·W1[0][0] + x[1]·W1[1][0] + b1[0] | 0.5·0.5 + 0.3·0.2 + 0.1 | 0.41 | ✗"
    ) in out
    tables = [block.splitlines() for block in out.split("\n\n") if block.startswith("|")]
    # forward pass, loss, output error, hidden errors, gradients, update, training
    assert len(tables) == 7
    for rows in tables:  # every row of a table has as many cells as its header
        assert len({len(re.findall(r"(?<!\\)\|", row)) for row in rows}) == 1, rows


def test_json_carries_seed_values_and_mismatch_kinds(capsys):
    data = run_json(capsys, "2-2-1")
    by_name = {q["name"]: q for q in data["quantities"]}
    z = by_name["z1[0]"]
    assert z["printed_value"] == 0.31 and z["mismatch"] is True and z["kind"] == "wrong arithmetic"
    assert z["operands"][0] == {"name": "x[0]", "symbol": "x[0]", "value": 0.5}
    assert by_name["delta2"]["kind"] == "inherits an earlier error"
    assert by_name["delta2"]["inherited_from"] == ["y_hat", "z2"]
    dw = by_name["dL/dW1[0][0]"]
    assert dw["printed_value"] is None and dw["printed"] is None and dw["mismatch"] is None
    assert data["printed_check"]["first_error"] == "z1[0]"
    wrong = data["printed_check"]["by_kind"]["wrong arithmetic"]
    assert wrong == ["z1[0]", "z1[1]", "z2", "dL/dW2[1]"]


def test_json_without_seed_comparison_has_null_seed_fields(capsys):
    data = run_json(capsys, "2-2-1", "--no-compare-seed")
    assert data["printed_check"] is None
    assert all(q["printed_value"] is None for q in data["quantities"])


def test_steps_zero_shows_no_training(capsys):
    _, out, _ = run_cli(capsys, "1-1-1", "--steps", "0")
    assert "Training" not in out and "(new)" in out


def test_cli_runs_as_a_module_and_as_the_installed_script():
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, "-m", "viz.cli", "example", "softmax", "--format", "json", "--steps", "1"],
        capture_output=True, text=True, encoding="utf-8", cwd=REPO, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["example"] == "softmax"
    script = Path(sys.executable).with_name("stepgrad")
    if script.exists():
        done = subprocess.run(
            [str(script), "example", "2-2-1", "--steps", "1"],
            capture_output=True, text=True, encoding="utf-8", env=env, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "The first error enters at z1[0]" in done.stdout


# ---------------------------------------------------------------------------------------------
# Bad input: a clear message and exit code 2
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--lr", "-1"], "expected a positive finite number"),
        (["--lr", "abc"], "expected a number"),
        (["--steps", "-2"], "expected 0 or more"),
        (["--steps", "many"], "expected a whole number"),
        (["--format", "xml"], "invalid choice: 'xml'"),
        (["--tolerance", "0"], "expected a positive finite number"),
    ],
)
def test_argparse_rejects_bad_values_with_exit_code_2(capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        main(["example", *argv])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["3-3-3"], "unknown example '3-3-3'; choose one of: 2-2-1, 1-1-1, softmax"),
        (["--steps", "100000"], "at most 20,000 steps for this network"),
        (["--quiz", "--format", "json"], "--quiz asks its questions as plain text"),
        (["--tolerance", "0.1"], "--tolerance only applies to --quiz"),
        (["--graph", "/no/such/folder/g.svg"], "the folder /no/such/folder does not exist"),
    ],
)
def test_bad_combinations_give_one_error_line_and_no_output(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("stepgrad: error: ") and message in err


# ---------------------------------------------------------------------------------------------
# --graph
# ---------------------------------------------------------------------------------------------


def test_graph_option_writes_the_dot_text_with_seed_labels(capsys, tmp_path):
    path = tmp_path / "g.dot"
    code, out, _ = run_cli(capsys, "2-2-1", "--steps", "0", "--graph", str(path))
    assert code == 0 and f"wrote {path} (computation graph of the 2-2-1 example, dot)" in out
    dot = path.read_text(encoding="utf-8")
    for label in ("z1[0]", "a1[1]", "y_hat", "W1[0][1]", "loss"):
        assert label in dot


def test_graph_option_with_html_writes_the_step_page_and_keeps_json_clean(capsys, tmp_path):
    path = tmp_path / "steps.html"
    code, out, err = run_cli(capsys, "1-1-1", "--format", "json", "--graph", str(path))
    assert code == 0
    json.loads(out)  # the notice went to stderr
    assert err == f"wrote {path} (step-by-step page of the 1-1-1 example, html)\n"
    assert path.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_graph_option_without_graphviz_says_how_to_install_it(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `dot` anywhere on PATH
    code, _, err = run_cli(capsys, "1-1-1", "--graph", str(tmp_path / "g.svg"))
    assert code == 2
    assert "apt-get install graphviz" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # only the file named is written


# ---------------------------------------------------------------------------------------------
# Quiz
# ---------------------------------------------------------------------------------------------


def quiz(capsys, monkeypatch, answers: str, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(answers))
    code = main(["example", "--quiz", *argv])
    return code, capsys.readouterr().out


def _quiz_order(name: str) -> list[str]:
    return [q.name for q in explain(name, steps=0).quantities]


def test_quiz_with_every_answer_right_scores_full_marks(capsys, monkeypatch):
    expected = closed_form_2_2_1()
    names = _quiz_order("2-2-1")
    answers = "".join(f"{expected[n]:.6g}\n" for n in names)
    code, out = quiz(capsys, monkeypatch, answers, "2-2-1")
    assert code == 0
    assert out.count("✓ right.") == len(names)
    assert f"Score: {len(names)} of {len(names)} right (0 wrong, 0 skipped)." in out


def test_quiz_wrong_answer_is_told_and_shown_formula_operands_and_true_value(capsys, monkeypatch):
    code, out = quiz(capsys, monkeypatch, "0.31\nq\n", "2-2-1")
    assert code == 0
    assert "✗ wrong: you said 0.31." in out
    assert "z1[0] = x[0]·W1[0][0] + x[1]·W1[1][0] + b1[0] = 0.5·0.5 + 0.3·0.2 + 0.1 = 0.41" in out
    assert "✗ printed 0.31 (wrong arithmetic)" in out  # the seed made the same slip
    assert "Quitting." in out and "Score: 0 of" in out and "1 wrong" in out


def test_quiz_reasks_after_junk_and_then_accepts_a_number(capsys, monkeypatch):
    code, out = quiz(capsys, monkeypatch, "abc\n0.41\nq\n", "2-2-1")
    assert code == 0
    assert "'abc' is not a number" in out
    assert out.count("[1/") == 2  # the first question was asked twice
    assert "✓ right." in out and "Score: 1 of" in out


def test_quiz_skips_on_empty_line_or_s(capsys, monkeypatch):
    _, out = quiz(capsys, monkeypatch, "\ns\nq\n", "1-1-1")
    assert out.count("skipped.") == 2 and "2 skipped" in out
    v = CLOSED_FORMS["1-1-1"]()
    assert f"h1 = w1·x + b1 = 0.4·0.5 + 0.1 = {shown(v['h1'])}" in out  # shown even when skipped


def test_quiz_stops_cleanly_at_end_of_input(capsys, monkeypatch):
    code, out = quiz(capsys, monkeypatch, "", "softmax")
    assert code == 0
    assert "End of input" in out
    total = len(_quiz_order("softmax"))
    assert f"Score: 0 of {total} right (0 wrong, 0 skipped, {total} not asked)." in out


def test_quiz_tolerance_option_widens_what_counts_as_right(capsys, monkeypatch):
    _, out = quiz(capsys, monkeypatch, "0.42\nq\n", "2-2-1")
    assert "✗ wrong" in out
    _, out = quiz(capsys, monkeypatch, "0.42\nq\n", "2-2-1", "--tolerance", "0.05")
    assert "✓ right" in out


def test_quiz_through_a_real_pipe():
    v = CLOSED_FORMS["1-1-1"]()
    done = subprocess.run(
        [sys.executable, "-m", "viz.cli", "example", "1-1-1", "--quiz"],
        input=f"{v['h1']}\nnope\n{v['a1'] + 0.3}\n", capture_output=True, text=True,
        encoding="utf-8", cwd=REPO, env={**os.environ, "PYTHONIOENCODING": "utf-8"}, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "'nope' is not a number" in done.stdout
    assert "End of input" in done.stdout
    assert "Score: 1 of" in done.stdout and "1 wrong" in done.stdout


def test_run_quiz_accepts_explicit_streams():
    out = io.StringIO()
    result = run_quiz(explain("1-1-1", steps=0), stdin=io.StringIO("q\n"), stdout=out)
    assert result.asked == 0 and result.stopped_early
    assert "Score: 0 of" in out.getvalue()
    with pytest.raises(ValueError, match="tolerance"):
        run_quiz(explain("1-1-1", steps=0), tolerance=-1.0, stdin=io.StringIO(""), stdout=out)


def test_answers_are_parsed_leniently_but_junk_is_rejected():
    assert parse_answer(" −0.05\n") == -0.05  # the typographic minus the page itself prints
    assert parse_answer("1e-3") == 0.001
    assert parse_answer("") == parse_answer("S") == "skip"
    assert parse_answer("Q\n") == "quit"
    for junk in ("abc", "0.4.1", "1,5"):  # inf and nan are numbers (a value may overflow)
        with pytest.raises(ValueError, match="not a"):
            parse_answer(junk)


def test_tolerance_is_relative_with_an_absolute_floor():
    assert is_close_enough(1.004, 1.0) and not is_close_enough(1.006, 1.0)
    assert is_close_enough(-0.0018, -0.0014)  # within 0.0005 near zero
    assert not is_close_enough(-0.0024, -0.0014)
    assert is_close_enough(0.42, 0.41, tolerance=0.05)


def test_format_number_uses_six_digits_and_a_real_minus():
    assert format_number(-0.019325693988596536) == "−0.0193257"
    assert format_number(-0.0) == "0"


def test_a_terminal_without_unicode_gets_ascii_spellings_not_a_crash():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    write_text(stream, "δ2 = 2·(ŷ − t)·σ'(z2) ✗\n")
    assert raw.getvalue().decode("ascii") == "delta2 = 2*(y_hat - t)*sigma'(z2) X\n"
