"""Hostile and careless input (issue 16): no quiet wrong number, no control character on the
terminal, no hang, and output that other programs can parse.

Every expected number here comes from plain ``math`` or from the file's own text, never from the
engine.
"""

from __future__ import annotations

import builtins
import io
import json
import math
import subprocess
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


# ---------------------------------------------------------------------------------------------
# The terminal: nothing from a file is acted on by it
# ---------------------------------------------------------------------------------------------

ONE_NEURON = {
    "inputs": [0.5],
    "targets": [0.9],
    "layers": [{"activation": "sigmoid", "orientation": "[unit][input]", "weights": [[0.4]],
                "biases": [0.1]}],
    "loss": "squared_error",
}  # fmt: skip


def _lesson(tmp_path, **changes) -> str:
    path = tmp_path / "lesson.json"
    path.write_text(json.dumps({**ONE_NEURON, **changes}), encoding="utf-8")
    return str(path)


def _example(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["example", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("symbol", "shown"),
    [
        ("i1\n", "'i1\\n'"),  # "$" matched before a final newline
        ("x\x1b[2J", "U+001B"),  # clear screen
        ("x\u202e1", "U+202E"),  # right-to-left override
        ("x\u2066", "U+2066"),  # left-to-right isolate
        ("x\x85", "U+0085"),  # C1 next line
        ("x\ud800", "U+D800"),  # a lone surrogate: no encoding can write it
    ],
)
def test_symbols_with_control_or_bidi_characters_are_refused(tmp_path, capsys, symbol, shown):
    path = _lesson(tmp_path, inputs={"values": [0.5], "symbols": [symbol]})
    code, out, err = _example(capsys, path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert f"{path}: inputs.symbols[0]:" in err and shown in err
    assert "\x1b" not in err and "\u202e" not in err


def test_titles_and_notes_are_shown_with_their_controls_escaped(tmp_path, capsys):
    osc52 = "\x1b]52;c;cm0gLXJmIH4=\x07"  # "write this to the clipboard"
    path = _lesson(tmp_path, title=f"net{osc52}", notes=["a\x1b[2Jb", "rtl\u202eevil", "é ∂ δ"])
    for fmt in ("text", "markdown", "json"):
        code, out, err = _example(capsys, path, "--format", fmt, "--steps", "1")
        assert code == 0, err
        for bad in ("\x1b", "\x07", "\u202e"):
            assert bad not in out
        text = json.loads(out)["title"] if fmt == "json" else out
        assert "\\x1b]52;c;cm0gLXJmIH4=\\x07" in text
        if fmt == "text":
            assert "rtl\\u202eevil" in out and "é ∂ δ" in out


def test_a_lone_surrogate_symbol_is_refused_before_any_file_is_written(tmp_path, capsys):
    page = tmp_path / "existing.html"
    page.write_text("<p>the user's page</p>", encoding="utf-8")
    path = _lesson(tmp_path, inputs={"values": [0.5], "symbols": ["x\ud800"]})
    code, _, err = _example(capsys, path, "--graph", str(page))
    assert code == 2 and f"{path}: inputs.symbols[0]" in err
    assert page.read_text(encoding="utf-8") == "<p>the user's page</p>"


# ---------------------------------------------------------------------------------------------
# The command line: a formula starting with a minus; Ctrl-C while the modules load
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["trace", "-x*y", "x=2", "y=3", "--format", "json"],
        ["trace", "--format", "json", "-x*y", "x=2", "y=3"],
        ["trace", "-x*y", "--form=json", "x=2", "y=3"],
        ["trace", "--format=json", "--", "-x*y", "x=2", "y=3"],
    ],
)
def test_trace_takes_a_formula_starting_with_a_minus(capsys, argv):
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["expression"] == "-x*y"
    values = [q["value"] for q in data["quantities"] if q["section"] == "Forward pass"]
    assert values[-1] == -(2.0 * 3.0)


def test_trace_takes_a_negative_number_first(capsys):
    assert main(["trace", "-3*x", "x=2", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    forward = [q["value"] for q in data["quantities"] if q["section"] == "Forward pass"]
    assert forward[-1] == -6.0


def test_importing_the_console_entry_point_loads_nothing_heavy():
    # The `stepgrad` script runs `from viz.cli import main`: whatever that import loads runs
    # before main() can catch a Ctrl-C.
    code = (
        "import sys, viz.cli; heavy = [m for m in ('numpy', 'graphviz', 'autograd', 'nn', "
        "'viz.draw', 'viz.sheet') if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("module", ["autograd", "viz.example_command", "nn.spec"])
def test_ctrl_c_while_the_modules_load_exits_130_without_a_traceback(capsys, monkeypatch, module):
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    real_import = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name == module or name.startswith(module + "."):
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    assert main(["example", "1-1-1", "--steps", "1"]) == 130
    assert capsys.readouterr().err == "stepgrad: interrupted\n"
