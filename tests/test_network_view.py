"""The network view: units in layers, weights on edges; golden DOT, true numbers in real SVG."""

from __future__ import annotations

import math
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from autograd import Value
from nn import MLP
from nn.examples import build_example
from nn.network import LayerView, NetworkLayout, UnitView
from tests.test_render import expected_2_2_1
from viz.draw import draw
from viz.graph_command import example_layout
from viz.network_view import element_values

SVG = "{http://www.w3.org/2000/svg}"

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz `dot` is not installed on this machine"
)


def one_unit() -> NetworkLayout:
    """x = 0.5 -> z = w*x + b with w = 2, b = 1 (linear), loss = z; backward() has run."""
    x, w, b = Value(0.5, "x"), Value(2.0, "w"), Value(1.0, "b")
    z = w * x + b
    z.label = "z"
    z.backward()
    return NetworkLayout(
        layers=(
            LayerView("input", (UnitView("x", a=x),)),
            LayerView("output", (UnitView("y", a=z, z=z, z_symbol="z", weights=(w,), bias=b,
                                          delta_symbol="δ"),), "linear"),
        ),
    )


# Written by hand: z = 2 * 0.5 + 1 = 2; the output is the loss, so δ = dz/dz = 1,
# grad w = x = 0.5, grad b = 1. The input is blue (#dbeafe), the output green (#dcfce7); the
# weight is positive (blue edge) and the largest (full width 3).
GOLDEN_DOT = """\
digraph network {
\tfontname=Helvetica mclimit=0.01 newrank=true nodesep=0.25 rankdir=LR ranksep=1.35
\tnode [fontname=Helvetica fontsize=11]
\tedge [arrowsize=0.6 fontname=Helvetica fontsize=9]
\tsubgraph cluster_L0 {
\t\tcolor="#9ca3af" fontcolor="#4b5563" label=<input> rank=same style="rounded,dashed"
\t\tL0u0 [label=<<b>x</b> = 0.5> fillcolor="#dbeafe" margin=0.04 shape=circle style=filled]
\t}
\tsubgraph cluster_L1 {
\t\tcolor="#9ca3af" fontcolor="#4b5563" label=<output · linear> rank=same \
style="rounded,dashed"
\t\tL1u0 [label=<<b>y</b> = z = 2<br/>δ = 1<br/>b = 1<br/>grad 1> fillcolor="#dcfce7" \
margin=0.04 shape=circle style=filled]
\t}
\tL0u0 -> L1u0 [label=<w = 2<br/>grad 0.5> color="#2166ac" decorate=true penwidth=3.00]
}
"""


def test_one_unit_gives_the_hand_written_dot_text():
    assert draw(one_unit()).source == GOLDEN_DOT
    assert draw(one_unit(), view="network").source == GOLDEN_DOT


def layout_2_2_1(ex) -> NetworkLayout:
    """The seed's 2-2-1 network as a textbook draws it, built by hand from the example's nodes."""
    n = ex.nodes
    inputs = LayerView("input", tuple(UnitView(f"x[{i}]", a=n[f"x[{i}]"]) for i in range(2)))
    hidden = LayerView("hidden", tuple(
        UnitView(f"a1[{j}]", a=n[f"a1[{j}]"], z=n[f"z1[{j}]"], z_symbol=f"z1[{j}]",
                 weights=(n[f"W1[0][{j}]"], n[f"W1[1][{j}]"]), bias=n[f"b1[{j}]"],
                 delta_symbol=f"δ1[{j}]")
        for j in range(2)), "sigmoid")
    output = LayerView("output", (UnitView("y_hat", a=n["y_hat"], z=n["z2"], z_symbol="z2",
                                           weights=(n["W2[0]"], n["W2[1]"]), bias=n["b2"],
                                           delta_symbol="δ2"),), "sigmoid")
    return NetworkLayout((inputs, hidden, output), loss=ex.loss, targets=(n["t"],))


def svg_groups(svg: str) -> dict[str, list[str]]:
    """DOT name (the SVG <title>) -> the texts drawn in its group."""
    out = {}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        title = g.find(f"{SVG}title")
        if title is not None and (g.get("class") or "").split()[:1] in (["node"], ["edge"]):
            out[title.text] = ["".join(t.itertext()) for t in g.iter(f"{SVG}text")]
    return out


def n4(x: float) -> str:
    return f"{x + 0.0:.4g}"


@needs_dot
def test_2_2_1_network_shows_the_hand_computed_numbers_in_svg():
    ex = build_example("2-2-1")
    ex.loss.backward()
    v = expected_2_2_1()
    groups = svg_groups(draw(layout_2_2_1(ex)).pipe(format="svg", encoding="utf-8"))
    for j in range(2):
        unit = " ".join(" ".join(groups[f"L1u{j}"]).split())
        assert f"z1[{j}] = {n4(v[f'z1[{j}]'][0])}" in unit
        assert f"a1[{j}] = {n4(v[f'a1[{j}]'][0])}" in unit
        assert f"δ1[{j}] = {n4(v[f'z1[{j}]'][1])}" in unit  # δ = dLoss/dz
        assert f"b1[{j}] = {n4(v[f'b1[{j}]'][0])}" in unit
        for i in range(2):
            edge = groups[f"L0u{i}->L1u{j}"]
            w = v[f"W1[{i}][{j}]"]
            assert edge == [f"W1[{i}][{j}] = {n4(w[0])}", f"grad {n4(w[1])}"]
    out = " ".join(" ".join(groups["L2u0"]).split())
    assert f"y_hat = {n4(v['y_hat'][0])}" in out and f"δ2 = {n4(v['z2'][1])}" in out
    assert " ".join(" ".join(groups["loss"]).split()) == f"L = {n4(v['loss'][0])} t = 0.8"
    assert " ".join(" ".join(groups["L0u0"]).split()) == "x[0] = 0.5"


def same_values(layout: NetworkLayout) -> list[list[tuple[int, ...]]]:
    """Which Values stand where (a, z, each weight, bias), by identity; names left out."""
    return [
        [tuple(id(v) for v in (u.a, u.z, *u.weights, u.bias)) for u in layer.units]
        for layer in layout.layers
    ]


def test_worked_examples_layout_matches_the_hand_built_one():
    ex = build_example("2-2-1")
    ex.loss.backward()
    assert same_values(example_layout(ex)) == same_values(layout_2_2_1(ex))
    soft = example_layout(build_example("softmax"))
    assert [len(layer.units) for layer in soft.layers] == [2, 3, 3]
    assert soft.layers[2].activation == "softmax"
    assert soft.layers[2].units[1].a.label == "y_hat[1]"
    # the softmax case study writes W2[k][j] for hidden unit j -> output k
    assert soft.layers[2].units[1].weights[2].label == "W2[1][2]"
    assert [t.label for t in soft.targets] == ["y[0]", "y[1]", "y[2]"]


def test_same_network_drawn_twice_gives_identical_dot_text():
    def source() -> str:
        model = MLP(2, [3, 1], seed=3)
        (out,) = model([0.5, -0.3])
        out.backward()
        return draw(out, view="network", model=model).source

    first = source()
    assert first == source() and not re.search(r"\d{9,}", first)


def test_mlp_units_stay_in_order_and_big_layers_are_compact():
    model = MLP(2, [16, 16, 1], seed=0)
    (out,) = model([0.5, -0.3])
    loss = (out - 1.0) ** 2
    loss.backward()
    source = draw(loss, view="network", model=model).source
    assert source.count("shape=circle") == 2 + 16 + 16 + 1
    assert "splines=line" in source  # 256 weights: straight lines, no labels on them
    assert "<b>a1[3]</b><br/>" in source and "z1[3] =" not in source  # compact
    assert "decorate" not in source.split("L0u0 -> L1u3")[1].splitlines()[0]
    z = model.layers[0].neurons[3].w[0].data * 0.5 + model.layers[0].neurons[3].w[1].data * -0.3
    assert f"<b>a1[3]</b><br/>{n4(math.tanh(z))}<br/>δ " in source  # bias 0: a = tanh(z)
    order = re.findall(r"\tL1u(\d+) \[", source)
    assert order == [str(j) for j in range(16)]


def test_shared_bias_is_drawn_once_for_the_layer():
    x = [Value(0.05, "i1"), Value(0.10, "i2")]
    w = [Value(v, f"w{k}") for k, v in enumerate([0.15, 0.20, 0.25, 0.30], start=1)]
    b1 = Value(0.35, "b1")
    units = (UnitView("h1", a=None, weights=(w[0], w[1]), bias=b1),
             UnitView("h2", a=None, weights=(w[2], w[3]), bias=b1))
    layout = NetworkLayout((LayerView("input", tuple(UnitView(v.label, a=v) for v in x)),
                            LayerView("hidden", units, "sigmoid")))
    source = draw(layout).source
    assert source.count("b1 = 0.35") == 1
    assert "\t\tL1b [label=<b1 = 0.35<br/><i>shared by the layer</i>>" in source
    assert set(element_values(layout)) == {
        "L0u0", "L0u1", "L1u0", "L1u1", "L1b", "L0u0->L1u0", "L0u1->L1u0", "L0u0->L1u1",
        "L0u1->L1u1",
    }


@needs_dot
def test_highlighted_unit_and_weight_carry_a_class_in_svg():
    ex = build_example("2-2-1")
    ex.loss.backward()
    n = ex.nodes
    svg = draw(layout_2_2_1(ex), highlight=[n["z1[1]"], n["W2[0]"]]).pipe(
        format="svg", encoding="utf-8")
    classes = {g.find(f"{SVG}title").text: g.get("class")
               for g in ET.fromstring(svg).iter(f"{SVG}g") if g.find(f"{SVG}title") is not None}
    assert classes["L1u1"] == "node highlight" and classes["L1u0"] == "node"
    assert classes["L1u0->L2u0"] == "edge highlight" and classes["L1u1->L2u0"] == "edge"
    with pytest.raises(ValueError, match="node 't - y_hat' is not drawn in the network view"):
        draw(layout_2_2_1(ex), highlight=[n["t - y_hat"]])


def test_network_view_options_are_checked():
    model = MLP(2, [2, 1], seed=0)
    (out,) = model([0.5, -0.3])
    with pytest.raises(ValueError, match="view must be 'graph' or 'network'"):
        draw(out, view="circles")
    with pytest.raises(ValueError, match="needs the network's layout: pass model="):
        draw(out, view="network")
    with pytest.raises(ValueError, match="collapse= applies to the computation graph"):
        draw(out, view="network", model=model, collapse=True)
    with pytest.raises(TypeError, match="layout must be a NetworkLayout; got dict"):
        draw(out, layout={"layers": []})
    bad = NetworkLayout((LayerView("input", (UnitView("x", a=None),)),
                         LayerView("out", (UnitView("y", a=None, weights=()),))))
    with pytest.raises(ValueError, match=r"layers\[1\]\.units\[0\]\.weights has 0 entries"):
        draw(bad)


def layout_of(model, out):
    from nn.network import layout_of_mlp

    return layout_of_mlp(model, root=out)


@needs_dot
@pytest.mark.parametrize("rankdir", ["LR", "RL", "TB", "BT"])
def test_units_are_drawn_in_order_whatever_the_direction(rankdir):
    model = MLP(2, [5, 4, 2], seed=0)
    out = model([0.5, -0.3])
    out[0].backward()
    svg = draw(out[0], view="network", model=model, rankdir=rankdir).pipe(
        format="svg", encoding="utf-8")
    columns: dict[str, list[tuple[float, int]]] = {}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        title, ellipse = g.find(f"{SVG}title"), g.find(f"{SVG}ellipse")
        if title is None or ellipse is None or not re.fullmatch(r"L\d+u\d+", title.text):
            continue
        layer, unit = title.text[1:].split("u")
        # across a column: top to bottom (SVG y grows downwards) for LR/RL, left to right for TB
        across = float(ellipse.get("cy" if rankdir in ("LR", "RL") else "cx"))
        columns.setdefault(layer, []).append((across, int(unit)))
    assert [len(c) for c in columns.values()] == [2, 5, 4, 2]
    for units in columns.values():
        assert [u for _, u in sorted(units)] == list(range(len(units)))


def test_network_view_shows_given_gradients_and_refuses_huge_networks():
    layout = one_unit()
    z = layout.layers[1].units[0].z
    source = draw(layout, grads={z: 0.25}).source
    assert "δ = 0.25" in source and "grad ?" in source  # w and b: not in the mapping
    with pytest.raises(ValueError, match="the network has 2 units and 1 weights, more than "
                                         "max_nodes=1"):
        draw(layout, max_nodes=1)
