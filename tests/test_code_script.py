"""`--code`: the script of a lesson or a trace runs with python and prints the sheet's numbers."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from nn.examples import EXAMPLE_NAMES
from viz.cli import main
from viz.numbers import format_number
from viz.sheet import as_lesson, explain_lesson


def _script(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def _run(tmp_path, code: str) -> dict[str, str]:
    """Run the script with a bare interpreter (-I -S: no site-packages, no stepgrad)."""
    path = tmp_path / "backprop.py"
    path.write_text(code, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-I", "-S", str(path)], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    printed = {}
    for line in proc.stdout.splitlines():
        name, value = line.rsplit(" = ", 1)
        printed[name] = value
    return printed


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_2_2_1_script_prints_the_hand_computed_numbers_and_the_sheets(capsys, tmp_path):
    code = _script(capsys, "example", "2-2-1", "--code")
    printed = _run(tmp_path, code)
    # The case study by hand: x = (0.5, 0.3), t = 0.8, hidden j: sum_i x[i]*W1[i][j] + b1[j].
    x, t, lr = (0.5, 0.3), 0.8, 0.1
    w1 = [[0.5, 0.3], [0.2, 0.4]]
    b1, w2, b2 = [0.1, 0.2], [0.6, 0.7], 0.3
    z1 = [x[0] * w1[0][j] + x[1] * w1[1][j] + b1[j] for j in range(2)]
    a1 = [_sigmoid(z) for z in z1]
    z2 = w2[0] * a1[0] + w2[1] * a1[1] + b2
    y = _sigmoid(z2)
    delta2 = 2 * (y - t) * y * (1 - y)
    delta1 = [delta2 * w2[j] * a1[j] * (1 - a1[j]) for j in range(2)]
    want = {
        "z1[0]": z1[0], "z1[1]": z1[1], "a1[0]": a1[0], "a1[1]": a1[1], "z2": z2, "ŷ": y,
        "L": (t - y) ** 2, "σ'(z2)": y * (1 - y), "δ2": delta2, "δ1[0]": delta1[0],
        "δ1[1]": delta1[1], "∂L/∂W2[0]": delta2 * a1[0], "∂L/∂b2": delta2,
        "∂L/∂W1[1][0]": delta1[0] * x[1], "∂L/∂b1[1]": delta1[1],
        "W1[0][1] (new)": w1[0][1] - lr * delta1[1] * x[0],
        "W2[1] (new)": w2[1] - lr * delta2 * a1[1], "b2 (new)": b2 - lr * delta2,
    }  # fmt: skip
    for name, value in want.items():
        assert _number(printed[name]) == pytest.approx(value, rel=5e-6, abs=1e-12), name
    sheet = explain_lesson(as_lesson("2-2-1"), steps=0).quantities
    assert printed == {q.symbol: format_number(q.value) for q in sheet}


def test_2_2_1_script_reads_in_the_lessons_symbols(capsys):
    code = _script(capsys, "example", "--code")
    assert "z1_0 = x_0 * W1_0_0 + x_1 * W1_1_0 + b1_0" in code
    assert "y_hat = sigmoid(z2)" in code
    assert "d_z1_0 = da1_0_dz1_0 * d_a1_0" in code
    assert "W1_0_0 = W1_0_0 - lr * d_W1_0_0" in code
    program = code[code.index("# Given"):code.index("# Every number")].splitlines()
    assert len([line for line in program if line.strip()]) <= 60


def test_tanh_neuron_trace_script_prints_the_hand_computed_numbers(capsys, tmp_path):
    args = ("trace", "tanh(x1*w1 + x2*w2 + b)", "x1=2", "w1=-3", "x2=0", "w2=1", "b=6.8814")
    printed = _run(tmp_path, _script(capsys, *args, "--code"))
    n = 2 * -3 + 0 * 1 + 6.8814
    o = math.tanh(n)
    slope = 1 - o * o
    want = {"f": o, "x1*w1 + x2*w2 + b": n, "∂f/∂x1": -3 * slope, "∂f/∂w1": 2 * slope,
            "∂f/∂x2": 1 * slope, "∂f/∂w2": 0.0, "∂f/∂b": slope}  # fmt: skip
    for name, value in want.items():
        assert _number(printed[name]) == pytest.approx(value, rel=5e-6, abs=1e-12), name
    assert main(list(args)) == 0  # the trace itself prints the same numbers
    trace = capsys.readouterr().out
    for name, value in printed.items():
        assert any(line.strip().startswith(f"{name} =") and line.rstrip().endswith(f" {value}")
                   for line in trace.splitlines()), name  # fmt: skip


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_built_in_lessons_script_prints_its_sheet(capsys, tmp_path, name):
    printed = _run(tmp_path, _script(capsys, "example", name, "--code"))
    sheet = explain_lesson(as_lesson(name), steps=0).quantities
    assert printed == {q.symbol: format_number(q.value) for q in sheet}


def test_a_users_lesson_keeps_its_own_symbols(capsys, tmp_path):
    lesson = tmp_path / "mine.toml"
    lesson.write_text(_script(capsys, "example", "--template"), encoding="utf-8")
    code = _script(capsys, "example", str(lesson), "--code")
    assert "net_h1 = w1 * i1 + w2 * i2 + b1" in code
    printed = _run(tmp_path, code)
    sheet = explain_lesson(as_lesson(str(lesson)), steps=0).quantities
    assert printed == {q.symbol: format_number(q.value) for q in sheet}


def test_code_with_quiz_is_refused_in_one_line(capsys):
    assert main(["example", "--code", "--quiz"]) == 2
    err = capsys.readouterr().err
    assert "--code" in err and len(err.strip().splitlines()) == 1
