"""Labels are drawn literally by real Graphviz, or refused before `dot` runs with the node named."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

from autograd import Value
from nn.network import LayerView, NetworkLayout, UnitView
from viz.draw import draw
from viz.labels import MAX_LABEL_BYTES, label_text
from viz.render import render

SVG = "{http://www.w3.org/2000/svg}"

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz `dot` is not installed on this machine"
)

# Graphviz expands \N \G \E \T \H \L (node, graph, edge, tail, head names, and left-justify)
# even inside HTML-like labels; each of these must come out as written.
PATHS = ["C:\\Nodes\\Graph\\Edge", "\\T\\H\\L", "ends with \\", "\\\\ two", "\\n not newline"]
HOSTILE = ['x<y> {z} | "q"', "<b>not bold</b>", "a & b &amp; c", "it's", "]];\"", "{}|<>"]


def svg_texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]


def chain(labels: list[str]) -> Value:
    """A graph with one node per label (a sum of leaves)."""
    leaves = [Value(float(i), label) for i, label in enumerate(labels)]
    total = leaves[0]
    for leaf in leaves[1:]:
        total = total + leaf
    return total


@needs_dot
def test_value_labels_with_backslashes_html_and_quotes_are_drawn_as_written():
    svg = draw(chain(PATHS + HOSTILE)).pipe(format="svg", encoding="utf-8")
    texts = svg_texts(svg)
    for label in PATHS + HOSTILE:
        assert label in texts, label


@needs_dot
def test_newlines_in_a_label_become_lines():
    texts = svg_texts(draw(chain(["first\nsecond", "one"])).pipe(format="svg", encoding="utf-8"))
    assert "first" in texts and "second" in texts


@needs_dot
def test_layer_and_unit_words_in_cluster_titles_are_drawn_as_written():
    x = Value(0.5, "x")
    a, b = Value(1.0), Value(2.0, "<i>b</i>")  # a has no label: its given name is shown
    out = a * x + b
    layout = NetworkLayout((
        LayerView("in", (UnitView("x", a=x),)),
        LayerView("<b>x</b>", (UnitView("C:\\Nodes\\", a=out, weights=(a,), bias=b),)),
    ))
    svg = draw(out, layout=layout).pipe(format="svg", encoding="utf-8")
    texts = svg_texts(svg)
    assert "<b>x</b>" in texts and "unit C:\\Nodes\\" in texts
    collapsed = draw(out, layout=layout, names=[("w.0", a)], collapse=True)
    texts = svg_texts(collapsed.pipe(format="svg", encoding="utf-8"))
    assert "unit C:\\Nodes\\" in texts and "w.0" in texts and "<i>b</i>" in texts


@needs_dot
def test_characters_graphviz_cannot_take_are_drawn_as_a_visible_replacement(tmp_path):
    out = chain(["bad\ufffechar", "lone \ud800 surrogate", "\uffff", "bell\x07"])
    path = render(out, tmp_path / "odd.svg")
    texts = svg_texts(path.read_text(encoding="utf-8"))
    assert "bad\ufffdchar" in texts and "lone \ufffd surrogate" in texts and "\ufffd" in texts
    assert "bell\\x07" in texts


def test_a_label_too_long_for_graphviz_is_refused_naming_the_node():
    out = chain(["short", "&" * 4000])  # 4000 characters, 20000 bytes once escaped
    with pytest.raises(ValueError, match=r"^node v1 \(label '&&&&.*too long to draw"):
        draw(out)
    assert len(label_text("x" * MAX_LABEL_BYTES, "here")) == MAX_LABEL_BYTES


@needs_dot
def test_network_view_symbols_are_drawn_as_written():
    x = Value(0.5, "x")
    w, b = Value(2.0, "W\\N"), Value(1.0, "<i>b</i>")
    z = w * x + b
    layout = NetworkLayout((
        LayerView("in\\G", (UnitView("\\N", a=x),)),
        LayerView("<b>out</b>", (UnitView("y\\E", a=z, z=z, z_symbol="z\\T", weights=(w,),
                                          bias=b),), "linear"),
    ))
    texts = svg_texts(draw(layout).pipe(format="svg", encoding="utf-8"))
    joined = " ".join(texts)
    for literal in ("W\\N = 2", "<i>b</i> = 1", "in\\G", "<b>out</b> · linear", "\\N", "y\\E",
                    "z\\T"):
        assert literal in joined, literal

