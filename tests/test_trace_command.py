"""`stepgrad trace` (viz/trace_command.py): your own expression, checked with plain math."""

from __future__ import annotations

import json
import math

import pytest

from autograd import Value
from viz.cli import main
from viz.explain import explain

NEURON = ["tanh(x1*w1 + x2*w2 + b)", "x1=2", "w1=-3", "x2=0", "w2=1", "b=6.8814"]


def neuron_by_hand() -> dict[str, float]:
    """The micrograd lecture's neuron: o = tanh(n), n = x1 w1 + x2 w2 + b, and do/d(input)."""
    x1, w1, x2, w2, b = 2.0, -3.0, 0.0, 1.0, 6.8814
    n = x1 * w1 + x2 * w2 + b
    o = math.tanh(n)
    dn = 1 - o * o
    return {"n": n, "o": o, "dn": dn, "x1": w1 * dn, "w1": x1 * dn, "x2": w2 * dn,
            "w2": x2 * dn, "b": dn}  # fmt: skip


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["trace", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_trace_json_has_every_node_and_the_gradient_of_every_input(capsys):
    code, out, _ = run(capsys, *NEURON, "--format", "json")
    assert code == 0
    data = json.loads(out)
    v = neuron_by_hand()
    values = {q["name"]: q["value"] for q in data["quantities"]}
    assert values["x1*w1"] == pytest.approx(-6.0)
    assert values["x1*w1 + x2*w2 + b"] == pytest.approx(v["n"], rel=1e-12)
    assert values["tanh(x1*w1 + x2*w2 + b)"] == pytest.approx(v["o"], rel=1e-12)
    grads = data["gradients"]
    for name in ("x1", "w1", "x2", "w2", "b"):
        assert grads[f"∂f/∂{name}"] == pytest.approx(v[name], rel=1e-12, abs=1e-15), name
    assert grads["∂f/∂x1"] == pytest.approx(-1.5, abs=1e-3)  # as the lecture shows


def test_trace_text_shows_formulas_numbers_and_local_rules_in_words(capsys):
    code, out, _ = run(capsys, *NEURON)
    assert code == 0
    v = neuron_by_hand()
    assert "  x1*w1 = 2*(−3) = −6\n" in out
    assert f"  f = tanh(x1*w1 + x2*w2 + b) = tanh(0.8814) = {v['o']:.6g}\n" in out
    assert "local rule: d tanh(x)/dx = 1 - tanh(x)^2" in out
    assert "local rule: d(a*b)/da = b" in out
    line = next(x for x in out.splitlines() if x.startswith("  ∂f/∂x1 ="))
    assert line.endswith(f"= (−3)·{v['dn']:.6g} = {v['x1']:.6g}".replace("-", "−"))


def test_explain_accepts_any_labelled_value():
    a, b = Value(2.0, "a"), Value(-4.0, "b")
    c = a * b
    c.label = "c"
    out = c + a
    out.label = "L"
    sheet = explain(out)
    by_symbol = {q.symbol: q.value for q in sheet.quantities}
    assert by_symbol["c"] == -8.0 and by_symbol["L"] == -6.0
    assert by_symbol["∂L/∂a"] == pytest.approx(b.data + 1.0)  # through c and directly
    assert by_symbol["∂L/∂b"] == pytest.approx(a.data)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["tanh(x1*w1 + ", "x1=2"], "column 5: syntax error"),
        (["__import__('os')"], "column 1: unknown function '__import__'"),
        (["foo(x)", "x=1"], "unknown function 'foo'"),
        (["x + y", "x=1"], "no value given for y"),
        (["x", "x=1", "y=2"], "y not in the formula"),
        (["x", "x=nan"], "nan is not a finite number"),
        (["x", "x"], "expected name=value"),
        (["x.real", "x=1"], "column"),
        (["log(x)", "x=-1"], "log needs a positive argument"),
        (["x*y", "x=2", "y=3", "--graph", "g.txt"], "unsupported file type '.txt'"),
        (["x*y", "x=2", "y=3", "--quiz", "--format", "json"], "--quiz asks its questions"),
    ],
)
def test_bad_expressions_exit_2_with_one_line_and_no_output(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("stepgrad: error: ") and message in err


def test_trace_graph_is_written_after_the_page(capsys, tmp_path):
    path = tmp_path / "t.dot"
    code, out, _ = run(capsys, *NEURON, "--graph", str(path))
    assert code == 0 and out.endswith(f"wrote {path} (computation graph, dot)\n")
    dot = path.read_text(encoding="utf-8")
    assert "x1*w1" in dot and "tanh" in dot
