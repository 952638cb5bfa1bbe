"""Rendering drawings to files: real SVG/PNG/PDF from Graphviz, .dot text, and clear errors."""

from __future__ import annotations

import math
import shutil
import struct
import xml.etree.ElementTree as ET

import pytest

from autograd import Value
from nn import MLP
from nn.examples import build_example
from viz.draw import draw
from viz.render import GraphvizNotFoundError, render

SVG = "{http://www.w3.org/2000/svg}"

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz `dot` is not installed on this machine"
)


# ---------------------------------------------------------------------------------------------
# Helpers shared with the other viz tests
# ---------------------------------------------------------------------------------------------


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def expected_2_2_1() -> dict[str, tuple[float, float]]:
    """(data, grad) of every labelled node of the 2-2-1 example, by closed-form arithmetic.

    Seed 001's network: z1[j] = x[0]*W1[0][j] + x[1]*W1[1][j] + b1[j], a1 = sigmoid(z1),
    z2 = W2[0]*a1[0] + W2[1]*a1[1] + b2, y_hat = sigmoid(z2), loss = (t - y_hat)^2.
    Gradients by hand: dL/d(t - y_hat) = 2(t - y_hat), delta2 = -2(t - y_hat) y_hat (1 - y_hat),
    delta1[j] = delta2 W2[j] a1[j] (1 - a1[j]), dL/dW1[i][j] = delta1[j] x[i], ...
    """
    x, t = [0.5, 0.3], 0.8
    w1, b1 = [[0.5, 0.3], [0.2, 0.4]], [0.1, 0.2]
    w2, b2 = [0.6, 0.7], 0.3
    p = [[x[i] * w1[i][j] for j in range(2)] for i in range(2)]
    s1 = [p[0][j] + p[1][j] for j in range(2)]
    z1 = [s1[j] + b1[j] for j in range(2)]
    a1 = [_sigmoid(z) for z in z1]
    q = [w2[j] * a1[j] for j in range(2)]
    z2 = q[0] + q[1] + b2
    y = _sigmoid(z2)
    r = t - y
    dr = 2.0 * r
    dy = -dr
    d2 = dy * y * (1.0 - y)
    da1 = [d2 * w2[j] for j in range(2)]
    d1 = [da1[j] * a1[j] * (1.0 - a1[j]) for j in range(2)]
    values = {
        "t": (t, dr),
        "b2": (b2, d2),
        "W2[0]*a1[0] + W2[1]*a1[1]": (q[0] + q[1], d2),
        "z2": (z2, d2),
        "y_hat": (y, dy),
        "t - y_hat": (r, dr),
        "loss": (r * r, 1.0),
    }
    for i in range(2):
        values[f"x[{i}]"] = (x[i], d1[0] * w1[i][0] + d1[1] * w1[i][1])
        for j in range(2):
            values[f"W1[{i}][{j}]"] = (w1[i][j], d1[j] * x[i])
            values[f"x[{i}]*W1[{i}][{j}]"] = (p[i][j], d1[j])
    for j in range(2):
        values[f"b1[{j}]"] = (b1[j], d1[j])
        values[f"x[0]*W1[0][{j}] + x[1]*W1[1][{j}]"] = (s1[j], d1[j])
        values[f"z1[{j}]"] = (z1[j], d1[j])
        values[f"a1[{j}]"] = (a1[j], da1[j])
        values[f"W2[{j}]"] = (w2[j], d2 * a1[j])
        values[f"W2[{j}]*a1[{j}]"] = (q[j], d2)
    return values


def svg_records(svg_text: str) -> dict[str, list[str]]:
    """label -> the texts of its record ([label, 'data ...', 'grad ...']) in a Graphviz SVG."""
    records = {}
    for g in ET.fromstring(svg_text).iter(f"{SVG}g"):
        if "node" not in (g.get("class") or "").split():
            continue
        texts = [t.text or "" for t in g.iter(f"{SVG}text")]
        if len(texts) >= 3 and texts[1].startswith("data "):
            records[texts[0]] = texts
    return records


def cell(word: str, x: float) -> str:
    """How a drawing shows a number at the default precision (4 significant digits)."""
    return f"{word} {x:.4g}"


# ---------------------------------------------------------------------------------------------
# Real files
# ---------------------------------------------------------------------------------------------


def test_closed_form_matches_the_seed_anchor_numbers():
    # the corrected seed numbers quoted in the task: z1 = [0.41, 0.47], y_hat ~ 0.748649
    values = expected_2_2_1()
    assert values["z1[0]"][0] == pytest.approx(0.41)
    assert values["z1[1]"][0] == pytest.approx(0.47)
    assert values["y_hat"][0] == pytest.approx(0.748649, abs=1e-6)


@needs_dot
def test_svg_of_2_2_1_shows_every_node_with_true_data_and_grad(tmp_path):
    example = build_example("2-2-1")
    example.loss.backward()
    path = render(example.loss, tmp_path / "graph.svg")
    assert path == tmp_path / "graph.svg"
    records = svg_records(path.read_text(encoding="utf-8"))
    expected = expected_2_2_1()
    assert set(example.nodes) == set(expected)
    for label, (data, grad) in expected.items():
        assert records[label] == [label, cell("data", data), cell("grad", grad)], label


@needs_dot
def test_png_and_pdf_are_real_images(tmp_path):
    example = build_example("1-1-1")
    example.loss.backward()
    png = render(example.loss, tmp_path / "graph.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert width > 200 and height > 50
    pdf = render(example.loss, tmp_path / "graph.PDF").read_bytes()
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]


def test_dot_file_is_the_drawing_source(tmp_path):
    a, b = Value(1.5, "a"), Value(-2.0, "b")
    out = a * b
    path = render(out, tmp_path / "graph.dot", rankdir="TB")
    assert path.read_text(encoding="utf-8") == draw(out, rankdir="TB").source


@needs_dot
def test_render_accepts_a_drawing_but_not_with_options(tmp_path):
    out = Value(2.0, "a") + Value(3.0, "b")
    drawing = draw(out, show_grad=False)
    svg = render(drawing, tmp_path / "g.svg").read_text(encoding="utf-8")
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert "data 5" in texts and not any(t.startswith("grad") for t in texts)
    with pytest.raises(TypeError, match="already drawn Digraph"):
        render(drawing, tmp_path / "h.svg", rankdir="TB")


def test_unknown_extension_lists_supported_formats(tmp_path):
    out = Value(2.0, "a") * 3.0
    with pytest.raises(ValueError, match=r"'\.jpg'; supported: \.svg, \.png, \.pdf, \.dot"):
        render(out, tmp_path / "graph.jpg")
    with pytest.raises(ValueError, match="no extension"):
        render(out, tmp_path / "graph")
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        render(Value(1.0, "a"), tmp_path / "nowhere" / "g.svg")


# ---------------------------------------------------------------------------------------------
# Without Graphviz
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def no_dot(tmp_path, monkeypatch):
    """A PATH on which no `dot` program can be found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return empty


def test_missing_dot_says_how_to_install_and_writes_no_other_file(tmp_path, no_dot):
    out = Value(2.0, "a") * Value(4.0, "b")
    out.backward()
    target = tmp_path / "graph.svg"
    with pytest.raises(GraphvizNotFoundError) as info:
        render(out, target)
    message = str(info.value)
    for hint in ("sudo apt-get install graphviz", "brew install graphviz", "conda install",
                 "https://graphviz.org/download"):
        assert hint in message
    assert isinstance(info.value, RuntimeError)  # the command line turns these into one line
    assert not target.exists()
    assert not (tmp_path / "graph.dot").exists()  # only the file named is ever written
    assert info.value.source == draw(out).source and ".dot" in message


def test_dot_text_needs_no_graphviz_program(tmp_path, no_dot):
    path = render(Value(2.0, "a") - Value(1.0, "b"), tmp_path / "g.dot")
    assert path.read_text(encoding="utf-8").startswith("digraph stepgrad {")


@needs_dot
def test_render_draws_the_network_view_of_an_mlp(tmp_path):
    model = MLP(2, [2, 1], seed=0)
    (out,) = model([0.5, -0.3])
    out.backward()
    path = render(out, tmp_path / "net.svg", view="network", model=model)
    titles = {t.text for t in ET.parse(path).iter(f"{SVG}title")}
    assert {"L0u0", "L0u1", "L1u0", "L1u1", "L2u0", "L0u1->L1u0", "L1u1->L2u0"} <= titles
