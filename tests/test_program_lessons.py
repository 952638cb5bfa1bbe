"""Lessons written as programs (the `program` key): the three built-ins against plain math."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from nn.examples import PROGRAM_EXAMPLE_NAMES, build_example
from nn.spec import SpecError, parse_spec
from viz.explain import explain
from viz.report import render_json


def _values(name: str) -> dict[str, float]:
    """Every number on the lesson's sheet by symbol (the first pass, then the updates)."""
    return {q.symbol: q.value for q in explain(name, steps=1).quantities}


def test_rnn_two_steps_backpropagation_through_time():
    x1, h0, x2, y, wx, wh, b = 1.0, 0.0, -0.5, 0.8, 0.5, -0.3, 0.1
    h1 = math.tanh(wx * x1 + wh * h0 + b)
    h2 = math.tanh(wx * x2 + wh * h1 + b)
    loss = 0.5 * (h2 - y) ** 2
    d_h2 = (h2 - y) * (1 - h2**2)  # dL/d(pre-activation at step 2)
    d_h1 = d_h2 * wh * (1 - h1**2)  # ... at step 1, through h2
    grads = {"wx": d_h2 * x2 + d_h1 * x1, "wh": d_h2 * h1 + d_h1 * h0, "b": d_h2 + d_h1}
    v = _values("rnn")
    assert v["h1"] == pytest.approx(h1, rel=1e-12)
    assert v["h2"] == pytest.approx(h2, rel=1e-12)
    assert v["L"] == pytest.approx(loss, rel=1e-12)
    for p, g in grads.items():
        assert v[f"∂L/∂{p}"] == pytest.approx(g, rel=1e-12), p
        old = {"wx": wx, "wh": wh, "b": b}[p]
        assert v[f"{p} (new)"] == pytest.approx(old - 0.5 * g, rel=1e-12), p


def test_rnn_shared_weight_gradient_sums_over_time():
    lines = {q.symbol: q for q in explain("rnn", steps=0).quantities}
    assert lines["∂L/∂wx"].formula == "∂L/∂h1·∂h1/∂wx + ∂L/∂h2·∂h2/∂wx"
    assert lines["∂h1/∂wx"].formula == "(1 − h1²)·x1"


def test_conv1d_shared_kernel_gradient_sums_over_positions():
    x1, x2, x3, t1, t2, k1, k2, c = 1.0, 2.0, -1.0, 1.0, 0.0, 0.5, -0.25, 0.1
    y1 = k1 * x1 + k2 * x2 + c
    y2 = k1 * x2 + k2 * x3 + c
    loss = 0.5 * ((y1 - t1) ** 2 + (y2 - t2) ** 2)
    e1, e2 = y1 - t1, y2 - t2
    grads = {"k1": e1 * x1 + e2 * x2, "k2": e1 * x2 + e2 * x3, "c": e1 + e2}
    v = _values("conv1d")
    assert (v["y1"], v["y2"]) == pytest.approx((y1, y2), rel=1e-12)
    assert v["L"] == pytest.approx(loss, rel=1e-12)
    for p, g in grads.items():
        assert v[f"∂L/∂{p}"] == pytest.approx(g, rel=1e-12), p
        old = {"k1": k1, "k2": k2, "c": c}[p]
        assert v[f"{p} (new)"] == pytest.approx(old - 0.1 * g, rel=1e-12), p


def test_softmax_cross_entropy_gradient_is_p_minus_y():
    x, ys = 2.0, (0.0, 1.0, 0.0)
    w, b = (0.4, -0.25, 0.1), (0.0, 0.3, -0.1)
    z = [wk * x + bk for wk, bk in zip(w, b)]
    total = sum(math.exp(zk) for zk in z)
    p = [math.exp(zk) / total for zk in z]
    loss = -sum(yk * math.log(pk) for yk, pk in zip(ys, p))
    v = _values("softmax-ce")
    assert v["L"] == pytest.approx(loss, rel=1e-12)
    for k in range(3):
        assert v[f"p{k + 1}"] == pytest.approx(p[k], rel=1e-12)
        assert v[f"∂L/∂z{k + 1}"] == pytest.approx(p[k] - ys[k], abs=1e-12)
        assert v[f"∂L/∂w{k + 1}"] == pytest.approx((p[k] - ys[k]) * x, abs=1e-12)
        assert v[f"∂L/∂b{k + 1}"] == pytest.approx(p[k] - ys[k], abs=1e-12)


@pytest.mark.parametrize("name", PROGRAM_EXAMPLE_NAMES)
def test_program_lessons_train_and_render_in_every_format(name):
    lesson = build_example(name)
    assert lesson.layers == () and lesson.program is not None
    explanation = explain(name, steps=3)
    sections = list(dict.fromkeys(q.section.split(" (")[0] for q in explanation.quantities))
    assert sections == ["Forward pass", "Loss", "Local derivatives", "Gradients", "Update"]
    losses = [q.value for q in explanation.training]
    assert len(losses) == 3 and losses[-1] < explanation.quantities[0].value + 1e9
    assert losses == sorted(losses, reverse=True)  # a small step downhill each time
    data = json.loads(render_json(explanation))
    assert data
    for fmt in ("text", "markdown", "json"):
        run = subprocess.run([sys.executable, "-m", "viz.cli", "example", name, "--format", fmt],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert run.returncode == 0, run.stderr


def _spec(**changes):
    data = {
        "program": "q = w * x\nL = (q - t)**2",
        "given": {"w": 0.5, "x": 2.0, "t": 1.5},
        "parameters": ["w"],
    }
    data.update(changes)
    return data


def test_program_lesson_trains_the_listed_parameters_by_plain_math():
    explanation = explain(_spec(learning_rate=0.1), steps=1)
    v = {q.symbol: q.value for q in explanation.quantities}
    q = 0.5 * 2.0
    grad = 2 * (q - 1.5) * 2.0
    assert v["∂L/∂w"] == pytest.approx(grad, rel=1e-12)
    assert v["w (new)"] == pytest.approx(0.5 - 0.1 * grad, rel=1e-12)
    assert "∂L/∂x" not in v and "∂L/∂t" not in v  # given numbers that are not trained


@pytest.mark.parametrize(
    ("changes", "where", "problem"),
    [
        ({"program": "q = w * x\nq = q"}, "program", "line 2, column 1: q is assigned twice"),
        ({"given": {"w": 0.5, "x": 2.0}}, "given.t", "missing"),
        ({"given": {"w": 0.5, "x": 2.0, "t": 1.0, "z": 3}}, "given.z", "unknown field"),
        ({"given": {"w": "a", "x": 2.0, "t": 1.0}}, "given.w", "must be a number"),
        ({"parameters": ["v"]}, "parameters[0]", "'v' is not a given number"),
        ({"symbols": {"nope": "n"}}, "symbols.nope", "unknown field"),
        ({"symbols": {"q": "a b"}}, "symbols.q", "not a usable symbol"),
        ({"symbols": {"q": "w"}}, "symbols", "already used"),
        ({"learning_rate": -1}, "learning_rate", "must be positive"),
    ],
)
def test_program_lesson_fields_are_checked_by_name(changes, where, problem):
    with pytest.raises(SpecError) as caught:
        parse_spec(_spec(**changes), "my.toml")
    message = str(caught.value)
    assert where in message and problem in message and "my.toml" in message


def test_symbols_are_shown_on_the_sheet():
    explanation = explain(_spec(symbols={"q": "ŷ", "L": "E"}), steps=0)
    symbols = [q.symbol for q in explanation.quantities]
    assert "ŷ" in symbols and "E" in symbols and "∂E/∂w" in symbols


def test_printed_numbers_are_checked_for_a_program_lesson():
    q = 0.5 * 2.0
    printed = [{"name": "q", "value": f"{q:.4f}"}, {"name": "L", "value": "0.3"}]
    explanation = explain(_spec(printed=printed), steps=0)
    marks = {q.name: q.comparison for q in explanation.quantities if q.comparison is not None}
    assert marks["q"].mismatch is False  # 1.0000 is 1
    assert marks["L"].mismatch is True  # (1 - 1.5)² = 0.25, not 0.3


def test_program_lesson_drawings(tmp_path):
    page = tmp_path / "rnn.html"
    cli = [sys.executable, "-m", "viz.cli", "example", "rnn"]
    run = subprocess.run([*cli, "--steps", "0", "--graph", str(page)], capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "h1" in page.read_text(encoding="utf-8")
    drawing = tmp_path / "rnn.svg"
    run = subprocess.run([*cli, "--steps", "0", "--graph", str(drawing)], capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert ">h2<" in drawing.read_text(encoding="utf-8")
    for option in (["--view", "network"], ["--collapse"]):
        target = tmp_path / "n.svg"
        run = subprocess.run([*cli, "--graph", str(target), *option], capture_output=True,
                             text=True, timeout=60)  # fmt: skip
        assert run.returncode == 2 and run.stdout == ""
        assert run.stderr.count("\n") == 1 and "written as named steps" in run.stderr
        assert not target.exists()
