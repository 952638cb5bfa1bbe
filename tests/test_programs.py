"""Programs of named steps: `stepgrad trace "q = x + y; f = q * z"`, parsed, checked, explained."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from nn.expression import ExpressionError
from nn.program import local_derivative, parse_program, step_formula
from viz.trace_command import explain_program, render_trace_json, render_trace_text


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "viz.cli", *args], capture_output=True,
                          text=True, timeout=60, input=stdin)  # fmt: skip


def test_cs231n_program_reads_like_the_lecture_notes():
    run = _cli("trace", "q = x + y; f = q * z", "x=-2", "y=5", "z=-4")
    assert run.returncode == 0, run.stderr
    lines = [line.strip() for line in run.stdout.splitlines()]
    # q = x + y = -2 + 5 = 3, f = q*z = 3*(-4) = -12; df/dz = q, df/dq = z, df/dx = df/dq*dq/dx.
    q = -2 + 5
    f = q * -4
    assert (q, f) == (3, -12)
    assert "q = x + y = (−2) + 5 = 3" in lines
    assert "f = q·z = 3·(−4) = −12" in lines
    assert "∂f/∂z = q = 3" in lines
    assert "∂f/∂q = z = −4" in lines
    assert "∂q/∂x = 1" in lines
    assert "∂f/∂x = ∂f/∂q·∂q/∂x = (−4)·1 = −4" in lines
    assert "∂f/∂y = ∂f/∂q·∂q/∂y = (−4)·1 = −4" in lines


def test_program_json_has_every_step_and_input_gradient():
    run = parse_program("q = x + y\nf = q * z").build({"x": -2, "y": 5, "z": -4})
    data = json.loads(render_trace_json(explain_program(run)))
    values = {q["symbol"]: q["value"] for q in data["quantities"]}
    assert values["q"] == 3.0 and values["f"] == -12.0
    assert data["gradients"] == {"∂f/∂x": -4.0, "∂f/∂y": -4.0, "∂f/∂z": 3.0}


def test_file_form_and_bindings_after_it(tmp_path):
    path = tmp_path / "steps.txt"
    path.write_text("# the lecture's example\nq = x + y\nf = q * z\n", encoding="utf-8")
    run = _cli("trace", "--file", str(path), "x=-2", "y=5", "z=-4", "--format", "json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["gradients"]["∂f/∂x"] == -4.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("q = x + y\nq = q * 2",
         "line 2, column 1: q is assigned twice (first at line 1, column 1)"),
        ("f = q * z\nq = x + y",
         "line 1, column 5: q is used before it is assigned (at line 2, column 1)"),
        ("f = q * z; q = x + y",
         "line 1, column 5: q is used before it is assigned (at line 1, column 12)"),
        ("q = x + y; f = foo(q)", "line 1, column 16: unknown function 'foo'"),
        ("q = x + y\nf = q % 2", "line 2, column 7: the % operator not allowed"),
        ("q = x + y\nf = (q +", "line 2"),
        ("q = x + y; q + 1", "line 1, column 12: a step must assign its result to a name"),
        ("q = x; f = q * 2", "q = x only gives x a second name"),
        ("q = x * 2; g = x; f = q", "g = x only gives"),
        ("q = x * 2; g = x * 3; f = q * 2", "g is never used"),
        ("q = x.real", "attribute access"),
        ("q = __import__('os')", "unknown function '__import__'"),
        ("exp = x * 2", "exp is a function"),
        ("q = q + 1", "q is used before it is assigned"),
    ],
)
def test_bad_programs_get_one_line_with_line_and_column(text, message):
    with pytest.raises(ExpressionError) as caught:
        parse_program(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_program_on_the_command_line_exits_2_with_one_line():
    run = _cli("trace", "q = x + y\nq = 2 * q", "x=1", "y=2")
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "line 2, column 1" in run.stderr
    run = _cli("trace", "q = x + y; f = q * z", "x=1", "y=2", "z=3", "q=4")
    assert run.returncode == 2 and "q is computed at line 1, column 1" in run.stderr


def test_local_derivatives_are_written_as_a_book_writes_them():
    program = parse_program("h1 = tanh(wx*x1 + wh*h0 + b)\nL = 0.5*(h1 - y)**2")
    h1, loss = program.statements
    assert step_formula(h1) == ("tanh({0}·{1} + {2}·{3} + {4})", ("wx", "x1", "wh", "h0", "b"))
    assert local_derivative(h1, "wx") == ("(1 − {0}²)·{1}", ("h1", "x1"))
    assert local_derivative(h1, "b") == ("1 − {0}²", ("h1",))
    assert local_derivative(loss, "h1") == ("{0} − {1}", ("h1", "y"))
    assert local_derivative(loss, "y") == ("−({0} − {1})", ("h1", "y"))


def test_program_gradients_match_plain_math_and_each_filled_formula_is_its_value():
    values = {"wx": 0.5, "wh": -1.2, "b": 0.1, "x1": 1.0, "h0": 0.3, "y": 0.2}
    run = parse_program("h1 = tanh(wx*x1 + wh*h0 + b)\nL = 0.5*(h1 - y)**2").build(values)
    explanation = explain_program(run)
    h1 = math.tanh(0.5 * 1.0 - 1.2 * 0.3 + 0.1)
    dl_dh1 = h1 - 0.2
    dh1_ds = 1 - h1**2
    expected = {"∂L/∂h1": dl_dh1, "∂L/∂wx": dl_dh1 * dh1_ds * 1.0,
                "∂L/∂wh": dl_dh1 * dh1_ds * 0.3, "∂L/∂b": dl_dh1 * dh1_ds,
                "∂h1/∂wx": dh1_ds * 1.0}  # fmt: skip
    by_symbol = {q.symbol: q for q in explanation.quantities}
    for symbol, value in expected.items():
        assert by_symbol[symbol].value == pytest.approx(value, rel=1e-12), symbol
    # The local line's filled formula, (1 − h1²)·x1, computed here from its own numbers:
    local = by_symbol["∂h1/∂wx"]
    assert [op.symbol for op in local.operands] == ["h1", "x1"]
    assert (1 - local.operands[0].value ** 2) * local.operands[1].value == pytest.approx(
        local.value, rel=1e-12
    )


def test_constant_step_is_not_an_input_and_has_no_gradient():
    run = parse_program("c = 2\nf = c * x").build({"x": 3.0})
    text = render_trace_text(explain_program(run))
    assert "∂f/∂c" not in text and "c = 2" in text
    assert "∂f/∂x = c = 2" in text


def test_shared_input_sums_over_the_steps_it_feeds():
    run = parse_program("a = w * x1\nb = w * x2\nf = a + b").build({"w": 2, "x1": 3, "x2": 5})
    explanation = explain_program(run)
    line = next(q for q in explanation.quantities if q.symbol == "∂f/∂w")
    assert line.formula == "∂f/∂a·∂a/∂w + ∂f/∂b·∂b/∂w"
    assert line.value == 3 + 5


def test_programs_are_never_evaluated(tmp_path):
    marker = tmp_path / "touched"
    text = f"q = open('{marker}', 'w')"
    with pytest.raises(ExpressionError):
        parse_program(text)
    assert not marker.exists()


def test_quiz_asks_each_step_local_derivative_and_gradient_in_order():
    import io

    from viz.quiz import run_quiz

    run = parse_program("q = x + y; f = q * z").build({"x": -2, "y": 5, "z": -4})
    explanation = explain_program(run)
    # By hand: q = 3, f = -12, dq/dx = dq/dy = 1, df/dq = z = -4, df/dx = df/dy = -4, df/dz = q.
    answers = [3, -12, 1, 1, -4, -4, -4, 3]
    result = run_quiz(explanation, stdin=io.StringIO("".join(f"{a}\n" for a in answers)),
                      stdout=io.StringIO())  # fmt: skip
    assert (result.total, result.right, result.wrong) == (8, 8, 0)


def test_program_graph_labels_each_step_with_its_name(tmp_path):
    path = tmp_path / "g.dot"
    run = _cli("trace", "q = x + y; f = q * z", "x=-2", "y=5", "z=-4", "--graph", str(path))
    assert run.returncode == 0, run.stderr
    dot = path.read_text(encoding="utf-8")
    assert ">q<" in dot and ">f<" in dot


def test_deep_nesting_in_a_program_names_its_line():
    with pytest.raises(ExpressionError, match=r"line 2, column 205: parentheses nested deeper"):
        parse_program("q = x\nf = " + "(" * 201 + "q" + ")" * 201)
    with pytest.raises(ExpressionError, match=r"line 2, .*nested deeper than 200 levels"):
        parse_program("q = x * 2\nf = " + "-" * 250 + "q")


def test_a_step_may_be_a_flat_sum_of_many_terms():
    text = "s = " + "+".join(["x"] * 400) + "\nf = s * 2"
    run = parse_program(text).build({"x": 1.0})
    run.output.backward()
    assert run.output.data == 800.0 and run.node("x").grad == 800.0
