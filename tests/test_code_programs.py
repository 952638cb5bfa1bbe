"""`--code` for programs of named steps, formulas with constants and the program lessons.

Each script runs under a bare interpreter and must print the numbers worked out here by hand
with plain ``math`` and, digit for digit, the numbers the trace or the sheet prints.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from viz.cli import main
from viz.numbers import format_number
from viz.sheet import as_lesson, explain_lesson

CS231N = ("trace", "q = x + y; f = q * z", "x=-2", "y=5", "z=-4")
NEURON = ("trace", "1/(1+exp(-(w0*x0 + w1*x1 + w2)))", "w0=2", "x0=-1", "w1=-3", "x1=-2",
          "w2=-3")  # fmt: skip


def _stdout(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def _run(tmp_path, code: str) -> dict[str, str]:
    """Run the script with ``python -I -S`` (no site-packages, no stepgrad): symbol -> printed."""
    path = tmp_path / "backprop.py"
    path.write_text(code, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-I", "-S", str(path)], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    printed: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        name, value = line.rsplit(" = ", 1)
        assert name not in printed, name
        printed[name] = value
    return printed


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def _check(printed: dict[str, str], want: dict[str, float]) -> None:
    for name, value in want.items():
        assert name in printed, name
        assert _number(printed[name]) == pytest.approx(value, rel=5e-6, abs=1e-12), name


def _trace_values(trace: str) -> dict[str, str]:
    """symbol -> last number of each quantity line the trace prints."""
    values: dict[str, str] = {}
    section = ""
    for line in trace.splitlines():
        if line and not line.startswith(" "):
            section = line
        elif section != "Given" and line.startswith("  ") and not line.startswith("    "):
            symbol, _, rest = line.strip().partition(" = ")
            values[symbol] = rest.rsplit(" = ", 1)[-1]
    return values


def test_the_cs231n_program_runs_in_the_users_names(capsys, tmp_path):
    code = _stdout(capsys, *CS231N, "--code")
    assert "q = x + y\n" in code and "f = q * z\n" in code
    printed = _run(tmp_path, code)
    x, y, z = -2.0, 5.0, -4.0
    q = x + y
    _check(printed, {"q": 3, "f": -12, "∂f/∂x": -4, "∂f/∂y": -4, "∂f/∂z": 3})
    _check(printed, {"q": q, "f": q * z, "∂f/∂q": z, "∂q/∂x": 1.0, "∂q/∂y": 1.0,
                     "∂f/∂x": z, "∂f/∂y": z, "∂f/∂z": q})  # fmt: skip
    # ... and exactly the numbers the trace prints, every one of them
    assert printed == _trace_values(_stdout(capsys, *CS231N))


@pytest.mark.parametrize("constants", [False, True])
def test_the_sigmoid_neuron_with_its_constants(capsys, tmp_path, constants):
    extra = ("--constants",) if constants else ()
    printed = _run(tmp_path, _stdout(capsys, *NEURON, *extra, "--code"))
    w0, x0, w1, x1, w2 = 2.0, -1.0, -3.0, -2.0, -3.0
    s = w0 * x0 + w1 * x1 + w2
    f = 1.0 / (1.0 + math.exp(-s))
    slope = f * (1.0 - f)  # dσ/ds
    want = {"f": f, "∂f/∂w0": x0 * slope, "∂f/∂x0": w0 * slope, "∂f/∂w1": x1 * slope,
            "∂f/∂x1": w1 * slope, "∂f/∂w2": slope, "w0*x0 + w1*x1 + w2": s}  # fmt: skip
    _check(printed, want)
    # The numbers in the article this neuron comes from, to the digits it prints.
    _check(printed, {"f": 0.731059, "∂f/∂w0": -0.196612, "∂f/∂x0": 0.393224,
                     "∂f/∂w1": -0.393224, "∂f/∂x1": -0.589836, "∂f/∂w2": 0.196612})  # fmt: skip
    if constants:  # the 1 over the sum, then the 1 added to exp(−s): two constants, two lines
        _check(printed, {"∂f/∂1": f, "∂f/∂1#2": -f * f})
    else:
        assert not any(name.startswith("∂f/∂1") for name in printed)
    assert printed == _trace_values(_stdout(capsys, *NEURON, *extra))


def test_a_named_number_and_a_step_used_twice(capsys, tmp_path):
    args = ("trace", "c = 2; a = c*x; f = a*a + a", "x=1.5")
    printed = _run(tmp_path, _stdout(capsys, *args, "--code"))
    x = 1.5
    a = 2 * x
    _check(printed, {"c": 2, "a": a, "f": a * a + a, "∂a/∂x": 2, "∂f/∂a": 2 * a + 1,
                     "∂f/∂x": (2 * a + 1) * 2})  # fmt: skip
    assert printed == _trace_values(_stdout(capsys, *args))


@pytest.mark.parametrize("name", ["format_number", "print", "DIGITS"])
def test_a_name_the_script_needs_is_refused_in_one_line(capsys, name):
    assert main(["trace", f"{name} = x + 1; f = {name}*x", "x=2", "--code"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and name in captured.err


def _tanh_slope(h: float) -> float:
    return 1.0 - h * h


def _rnn() -> dict[str, float]:
    x1, h0, x2, y, wx, wh, b, lr = 1.0, 0.0, -0.5, 0.8, 0.5, -0.3, 0.1, 0.5
    h1 = math.tanh(wx * x1 + wh * h0 + b)
    h2 = math.tanh(wx * x2 + wh * h1 + b)
    s1, s2 = _tanh_slope(h1), _tanh_slope(h2)
    d_h2 = h2 - y
    d_h1 = d_h2 * s2 * wh
    d_wx = d_h2 * s2 * x2 + d_h1 * s1 * x1
    d_wh = d_h2 * s2 * h1 + d_h1 * s1 * h0
    d_b = d_h2 * s2 + d_h1 * s1
    return {
        "h1": h1, "h2": h2, "L": 0.5 * (h2 - y) ** 2,
        "∂h2/∂h1": s2 * wh, "∂h1/∂wx": s1 * x1, "∂h2/∂wx": s2 * x2, "∂h1/∂wh": s1 * h0,
        "∂h2/∂wh": s2 * h1, "∂h1/∂b": s1, "∂h2/∂b": s2,
        "∂L/∂h2": d_h2, "∂L/∂h1": d_h1, "∂L/∂wx": d_wx, "∂L/∂wh": d_wh, "∂L/∂b": d_b,
        "wx (new)": wx - lr * d_wx, "wh (new)": wh - lr * d_wh, "b (new)": b - lr * d_b,
    }  # fmt: skip


def _conv1d() -> dict[str, float]:
    x1, x2, x3, t1, t2, k1, k2, c, lr = 1.0, 2.0, -1.0, 1.0, 0.0, 0.5, -0.25, 0.1, 0.1
    y1 = k1 * x1 + k2 * x2 + c
    y2 = k1 * x2 + k2 * x3 + c
    e1, e2 = y1 - t1, y2 - t2
    d_k1, d_k2, d_c = e1 * x1 + e2 * x2, e1 * x2 + e2 * x3, e1 + e2
    return {
        "y1": y1, "y2": y2, "L": 0.5 * (e1 * e1 + e2 * e2),
        "∂y1/∂k1": x1, "∂y2/∂k1": x2, "∂y1/∂k2": x2, "∂y2/∂k2": x3, "∂y1/∂c": 1, "∂y2/∂c": 1,
        "∂L/∂y1": e1, "∂L/∂y2": e2, "∂L/∂k1": d_k1, "∂L/∂k2": d_k2, "∂L/∂c": d_c,
        "k1 (new)": k1 - lr * d_k1, "k2 (new)": k2 - lr * d_k2, "c (new)": c - lr * d_c,
    }  # fmt: skip


def _softmax_ce() -> dict[str, float]:
    x, ys, lr = 2.0, (0.0, 1.0, 0.0), 0.5
    ws, bs = (0.4, -0.25, 0.1), (0.0, 0.3, -0.1)
    zs = [w * x + b for w, b in zip(ws, bs)]
    es = [math.exp(z) for z in zs]
    s = sum(es)
    ps = [e / s for e in es]
    want = {"s": s, "L": -sum(y * math.log(p) for y, p in zip(ys, ps))}
    d_ps = [-y / p for y, p in zip(ys, ps)]
    d_s = sum(d_p * -e / (s * s) for d_p, e in zip(d_ps, es))
    want["∂L/∂s"] = d_s
    for i in range(3):
        k = i + 1
        d_e = d_ps[i] / s + d_s
        d_z = ps[i] - ys[i]  # softmax with cross-entropy: p − y
        want.update({
            f"z{k}": zs[i], f"e{k}": es[i], f"p{k}": ps[i],
            f"∂p{k}/∂s": -es[i] / (s * s), f"∂s/∂e{k}": 1.0, f"∂p{k}/∂e{k}": 1.0 / s,
            f"∂e{k}/∂z{k}": es[i], f"∂z{k}/∂w{k}": x, f"∂z{k}/∂b{k}": 1.0,
            f"∂L/∂p{k}": d_ps[i], f"∂L/∂e{k}": d_e, f"∂L/∂z{k}": d_z,
            f"∂L/∂w{k}": d_z * x, f"∂L/∂b{k}": d_z,
            f"w{k} (new)": ws[i] - lr * d_z * x, f"b{k} (new)": bs[i] - lr * d_z,
        })  # fmt: skip
        assert d_e * es[i] == pytest.approx(d_z)  # the chain through e and s agrees
    return want


@pytest.mark.parametrize("name, hand", [("rnn", _rnn), ("conv1d", _conv1d),
                                        ("softmax-ce", _softmax_ce)])  # fmt: skip
def test_each_program_lesson_script_prints_its_sheet(capsys, tmp_path, name, hand):
    code = _stdout(capsys, "example", name, "--code")
    printed = _run(tmp_path, code)
    want = hand()
    assert set(printed) == set(want)  # every number of the sheet, worked out by hand
    _check(printed, want)
    sheet = explain_lesson(as_lesson(name), steps=0).quantities
    assert printed == {q.symbol: format_number(q.value) for q in sheet}
    assert list(printed) == [q.symbol for q in sheet]  # in the sheet's order


def test_a_users_program_lesson_keeps_its_names_and_symbols(capsys, tmp_path):
    lesson = tmp_path / "mine.toml"
    lesson.write_text(
        'program = """\nq = w * x\nlearning_rate = q * 2\nL = (learning_rate - t)**2\n"""\n'
        'parameters = ["w"]\nlearning_rate = 0.1\n\n[given]\nw = 0.5\nx = 2.0\nt = 1.5\n\n'
        '[symbols]\nq = "ŷ"\nL = "E"\n',
        encoding="utf-8",
    )
    code = _stdout(capsys, "example", str(lesson), "--code")
    assert "learning_rate = q * 2.0\n" in code  # the step keeps its name; η is another variable
    printed = _run(tmp_path, code)
    w, x, t, lr = 0.5, 2.0, 1.5, 0.1
    q = w * x
    r = 2 * q
    d_w = 2 * (r - t) * 2 * x
    _check(printed, {"ŷ": q, "learning_rate": r, "E": (r - t) ** 2, "∂learning_rate/∂ŷ": 2,
                     "∂ŷ/∂w": x, "∂E/∂learning_rate": 2 * (r - t), "∂E/∂ŷ": 2 * (r - t) * 2,
                     "∂E/∂w": d_w, "w (new)": w - lr * d_w})  # fmt: skip
    sheet = explain_lesson(as_lesson(str(lesson)), steps=0).quantities
    assert printed == {q.symbol: format_number(q.value) for q in sheet}
