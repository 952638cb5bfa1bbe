"""Drawing graphs: golden DOT text, roles and colours, neurons, collapse, highlight, guards."""

from __future__ import annotations

import re
import shutil
import sys
import xml.etree.ElementTree as ET

import graphviz
import pytest

from autograd import Value, topological_order
from nn import MLP
from nn.network import layout_of_mlp
from viz.draw import Drawing, count_values, draw, escape_html_label

SVG = "{http://www.w3.org/2000/svg}"
ROLE_COLORS_PARAMETER = "#fef3c7"  # the fill of a parameter's record

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz `dot` is not installed on this machine"
)


def small_expression() -> tuple[Value, ...]:
    """d = a*b + c with every node labelled; backward() has run."""
    a, b, c = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    d.backward()
    return a, b, c, e, d


# Written by hand: d = a*b + c, so data e = -6, d = 4; grads dd/da = b = -3, dd/db = a = 2,
# dd/de = dd/dc = 1. Nodes numbered in topological order a, b, e, c, d; inputs are blue
# (#dbeafe), the intermediate e white, the output d green (#dcfce7).
GOLDEN_DOT = """\
digraph stepgrad {
\tfontname=Helvetica rankdir=LR
\tnode [fontname=Helvetica fontsize=11]
\tedge [fontname=Helvetica fontsize=9]
\tv0 [label=<<table border="2" cellborder="1" cellspacing="0" cellpadding="4" \
color="transparent"><tr>\
<td color="black" bgcolor="#dbeafe">a</td>\
<td color="black" bgcolor="#dbeafe">data 2</td>\
<td color="black" bgcolor="#dbeafe">grad -3</td>\
</tr></table>> shape=plain]
\tv1 [label=<<table border="2" cellborder="1" cellspacing="0" cellpadding="4" \
color="transparent"><tr>\
<td color="black" bgcolor="#dbeafe">b</td>\
<td color="black" bgcolor="#dbeafe">data -3</td>\
<td color="black" bgcolor="#dbeafe">grad 2</td>\
</tr></table>> shape=plain]
\tv2 [label=<<table border="2" cellborder="1" cellspacing="0" cellpadding="4" \
color="transparent"><tr>\
<td color="black" bgcolor="#ffffff">e</td>\
<td color="black" bgcolor="#ffffff">data -6</td>\
<td color="black" bgcolor="#ffffff">grad 1</td>\
</tr></table>> shape=plain]
\top2 [label=<*> height=0.3 margin="0.06,0.03" shape=ellipse width=0.3]
\tv3 [label=<<table border="2" cellborder="1" cellspacing="0" cellpadding="4" \
color="transparent"><tr>\
<td color="black" bgcolor="#dbeafe">c</td>\
<td color="black" bgcolor="#dbeafe">data 10</td>\
<td color="black" bgcolor="#dbeafe">grad 1</td>\
</tr></table>> shape=plain]
\tv4 [label=<<table border="2" cellborder="1" cellspacing="0" cellpadding="4" \
color="transparent"><tr>\
<td color="black" bgcolor="#dcfce7">d</td>\
<td color="black" bgcolor="#dcfce7">data 4</td>\
<td color="black" bgcolor="#dcfce7">grad 1</td>\
</tr></table>> shape=plain]
\top4 [label=<+> height=0.3 margin="0.06,0.03" shape=ellipse width=0.3]
\tv0 -> op2
\tv1 -> op2
\top2 -> v2
\tv2 -> op4
\tv3 -> op4
\top4 -> v4
}
"""


def test_small_expression_gives_the_hand_written_dot_text():
    *_, d = small_expression()
    drawing = draw(d)
    assert isinstance(drawing, graphviz.Digraph) and isinstance(drawing, Drawing)
    assert drawing.source == GOLDEN_DOT


def test_same_expression_built_twice_gives_identical_dot_text():
    first = draw(small_expression()[-1]).source
    second = draw(small_expression()[-1]).source
    assert first == second
    assert not re.search(r"\d{9,}", first)  # no id()-like numbers leak into node names


def test_order_sensitive_operands_get_edge_labels():
    a, b = Value(5.0, "a"), Value(2.0, "b")
    lines = draw(a - b).source.splitlines()
    assert "\tv0 -> op2 [label=a]" in lines and "\tv1 -> op2 [label=b]" in lines


def test_rankdir_precision_and_hidden_grads():
    a = Value(0.123456, "a")
    out = a * 3.0
    out.backward()
    source = draw(out, rankdir="TB", precision=2, show_grad=False).source
    assert "rankdir=TB" in source
    assert "data 0.12<" in source and "data 0.37<" in source  # 0.123456 * 3 = 0.370368
    assert "grad" not in source.replace("stepgrad", "")


def test_grads_option_shows_given_gradients_and_leaves_others_empty():
    a, b, c, e, d = small_expression()
    source = draw(d, grads={d: 1.0, e: 0.5, c: None}).source
    assert ">grad 1<" in source and ">grad 0.5<" in source
    assert source.count(">grad<") == 3  # a, b (not in the mapping) and c (None)


# ---------------------------------------------------------------------------------------------
# Colours
# ---------------------------------------------------------------------------------------------


def fill_of(source: str, node_id: str) -> str:
    line = next(x for x in source.splitlines() if x.startswith(f"\t{node_id} ["))
    return re.search(r'bgcolor="(#[0-9a-f]{6})"', line).group(1)


def test_roles_colour_inputs_parameters_intermediates_and_output():
    x, w = Value(0.5, "x"), Value(-1.5, "w")
    h = x * w
    y = h.tanh()
    source = draw(y, names=[("w", w)]).source
    # topological order: x v0, w v1, h v2, y v3
    assert fill_of(source, "v0") == "#dbeafe"  # input: light blue
    assert fill_of(source, "v1") == "#fef3c7"  # parameter: light amber
    assert fill_of(source, "v2") == "#ffffff"  # intermediate: white
    assert fill_of(source, "v3") == "#dcfce7"  # output: light green


def test_grad_colours_show_sign_and_magnitude():
    a, b, c = Value(3.0, "a"), Value(-0.5, "b"), Value(7.0, "c")
    out = a * b + c * 0.0
    out.backward()  # grads: a -0.5, b 3, c 0
    source = draw(out, color_by="grad").source

    def rgb(node_id):
        h = fill_of(source, node_id)
        return tuple(int(h[i : i + 2], 16) for i in (1, 3, 5))

    red_a, _, blue_a = rgb("v0")
    red_b, _, blue_b = rgb("v1")
    assert red_a > blue_a  # negative: reddish
    assert blue_b > red_b  # positive: bluish
    assert min(rgb("v1")) < min(rgb("v0"))  # |3| > |-0.5|: the stronger colour
    assert rgb("v3") == (255, 255, 255)  # c (v3, after a*b) has grad 0: white


# ---------------------------------------------------------------------------------------------
# Neurons: clusters and collapse
# ---------------------------------------------------------------------------------------------


def cluster_members(source: str) -> dict[str, set[str]]:
    """Cluster label -> node ids declared in it (nested clusters count for the outer one)."""
    members: dict[str, set[str]] = {}
    stack: list[str] = []
    for line in source.splitlines():
        text = line.strip()
        if text.startswith("subgraph cluster_"):
            stack.append("")
        elif stack and not stack[-1] and "label=" in text:
            stack[-1] = re.search(r"label=<([^>]*)>", text).group(1)
            members.setdefault(stack[-1], set())
        elif text == "}" and stack:
            stack.pop()
        elif stack and re.match(r"^[vn]\w* \[|^op\d+ \[", text):
            for label in stack:
                members[label].add(text.split()[0])
    return members


def mlp_and_loss():
    model = MLP(2, [2, 1], seed=0)
    (out,) = model([0.5, -0.2])
    target = Value(1.0, "target")
    loss = (out - target) ** 2
    loss.label = "loss"
    loss.backward()
    return model, out, loss


# How an nn.MLP(2, [2, 1]) (tanh hidden layer, linear output) heads its boxes: in the words of
# the lesson and of the network view. Layer l's title, and the title of each of its units.
MLP_2_2_1_TITLES = {
    "hidden 1 · tanh": ["unit a1[0]", "unit a1[1]"],
    "output · linear": ["unit a2[0]"],
}
ALL_TITLES = {*MLP_2_2_1_TITLES, *(u for units in MLP_2_2_1_TITLES.values() for u in units)}


def test_each_neuron_and_layer_is_a_labelled_cluster_with_its_nodes():
    model, out, loss = mlp_and_loss()
    order = topological_order(loss)
    node_id = {id(v): f"v{i}" for i, v in enumerate(order)}
    members = cluster_members(draw(loss, model=model).source)
    assert set(members) == ALL_TITLES
    # each neuron's weights and bias, read from the model's structure, are in its boxes
    for (layer, units), modules in zip(MLP_2_2_1_TITLES.items(), model.layers):
        for unit, neuron in zip(units, modules.neurons):
            for p in (*neuron.w, neuron.b):
                assert node_id[id(p)] in members[unit] and node_id[id(p)] in members[layer]
    # the two hidden activations (tanh) are in different hidden neurons
    tanhs = [node_id[id(v)] for v in order if v.op == "tanh"]
    assert len(tanhs) == 2
    first_neuron = members["unit a1[0]"]
    assert (tanhs[0] in first_neuron) != (tanhs[1] in first_neuron)
    assert all(t in members["hidden 1 · tanh"] for t in tanhs)
    # the output neuron's result is inside it; the loss, computed with a target, is outside
    assert node_id[id(out)] in members["unit a2[0]"]
    inside = set().union(*members.values())
    assert node_id[id(loss)] not in inside and node_id[id(loss.parents[0])] not in inside


def test_collapse_draws_each_neuron_as_one_box_with_its_parameters():
    model, out, loss = mlp_and_loss()
    source = draw(loss, model=model, collapse=True).source
    boxes = [x for x in source.splitlines() if re.match(r"^\s*n\d+ \[", x)]
    assert len(boxes) == 3
    first = boxes[0]
    assert "<b>unit a1[0]</b>" in first
    for label in ("W1[0][0]", "W1[0][1]", "b1[0]"):  # each parameter by its label
        assert f">{label}</td>" in first
    # parameters are inside the boxes, not drawn as records of their own
    order = topological_order(loss)
    params = {id(p) for p in model.parameters()}
    param_ids = {f"v{i}" for i, v in enumerate(order) if id(v) in params}
    assert len(param_ids) == len(params)
    declared = {x.split()[0] for x in source.splitlines() if re.match(r"^\t+v\d+ \[", x)}
    assert declared and not declared & param_ids
    # the boxes are connected: hidden neurons feed the output neuron
    assert "\tn0 -> n2" in source and "\tn1 -> n2" in source


def test_boxes_come_from_a_layout_never_from_parameter_names():
    model, out, loss = mlp_and_loss()
    names = model.named_parameters()
    # names alone mark parameters; dotted names are not parsed into boxes
    source = draw(loss, names=names).source
    assert cluster_members(source) == {} and ROLE_COLORS_PARAMETER in source
    # a layout, as the command line draws a lesson: its units and words, whatever the labels
    layout = layout_of_mlp(model)
    for p in model.parameters():
        p.label = "layers.7.neurons.0.w.0"
    members = cluster_members(draw(loss, layout=layout).source)
    assert set(members) == ALL_TITLES
    assert "layers.7" not in "".join(members)


def test_collapse_without_neurons_says_what_is_missing():
    *_, d = small_expression()
    with pytest.raises(ValueError, match="model= .* or layout="):
        draw(d, collapse=True)
    model, out, loss = mlp_and_loss()
    with pytest.raises(ValueError, match=r"unknown unit.*a9\[0\].*units in this graph: a1\[0\]"):
        draw(loss, model=model, collapse=["a9[0]"])
    one = draw(loss, model=model, collapse=["a1[1]"]).source
    assert [b for b in re.findall(r"<b>([^<]*)</b>", one)] == ["unit a1[1]"]


def test_size_guard_refuses_big_graphs_and_names_collapse_and_max_nodes():
    x = Value(1.0, "x")
    for _ in range(160):
        x = x * 1.01  # each step: a constant leaf, a result and an op node
    with pytest.raises(ValueError) as info:
        draw(x)
    message = str(info.value)
    assert "481 nodes" in message and "max_nodes=300" in message
    assert "collapse=True" in message and "max_nodes=481" in message
    assert len(draw(x, max_nodes=481).body) > 481


def test_size_guard_stops_counting_a_huge_graph_before_building_the_drawing(monkeypatch):
    x = Value(1.0, "x")
    for _ in range(20_000):
        x = x * 1.01  # 40,001 values: more than the 100 * max_nodes = 30,000 looked at
    assert count_values(x, 30_000) == 30_001 and count_values(x, 10**6) == 40_001

    def no_full_walk(root):
        raise AssertionError("the whole graph was walked")

    monkeypatch.setattr(sys.modules["viz.draw"], "topological_order", no_full_walk)
    with pytest.raises(ValueError, match=r"more than 30000 values \(counting stopped there\)"):
        draw(x)
    with pytest.raises(ValueError, match="more than 30000 values"):
        draw(x, model=MLP(2, [2, 1]), collapse=True)


def test_collapse_brings_a_big_model_under_the_size_guard():
    model = MLP(10, [10, 10, 1], seed=1)
    (out,) = model([0.1 * i for i in range(10)])
    with pytest.raises(ValueError, match="collapse"):
        draw(out, model=model)
    drawing = draw(out, model=model, collapse=True)
    assert drawing.source.count("<b>unit a") == 21


# ---------------------------------------------------------------------------------------------
# Highlight, escaping, Jupyter
# ---------------------------------------------------------------------------------------------


def svg_classes(svg: str) -> dict[str, str]:
    """SVG <title> (node id or 'tail->head') -> class of its group."""
    out = {}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        title = g.find(f"{SVG}title")
        if title is not None and g.get("class") in ("node", "edge", "node highlight",
                                                     "edge highlight"):
            out[title.text] = g.get("class")
    return out


@needs_dot
def test_highlighted_nodes_and_edges_carry_a_class_in_svg():
    a, b, c, e, d = small_expression()
    svg = draw(d, highlight=[e, (a, e)]).pipe(format="svg", encoding="utf-8")
    classes = svg_classes(svg)
    assert classes["v2"] == "node highlight"
    assert classes["op2"] == "node highlight"
    assert classes["v0->op2"] == "edge highlight" and classes["op2->v2"] == "edge highlight"
    assert classes["v1->op2"] == "edge" and classes["v4"] == "node" and classes["v0"] == "node"


def test_highlight_rejects_foreign_nodes_and_missing_edges():
    a, b, c, e, d = small_expression()
    with pytest.raises(ValueError, match="node 'z' is not part of the graph"):
        draw(d, highlight=[Value(1.0, "z")])
    with pytest.raises(ValueError, match="node 'c' is not an operand of node 'e'"):
        draw(d, highlight=[(c, e)])
    with pytest.raises(TypeError, match="highlight takes Values"):
        draw(d, highlight=["e"])


HOSTILE = 'x<y> {z} | "q" \\ back\nnext & more'


@needs_dot
def test_hostile_labels_render_literally():
    a = Value(1.0, HOSTILE)
    b = Value(2.0, "}|{<port>")
    out = a + b
    out.label = "</table>]];\r\n<b>not bold</b>"
    svg = draw(out).pipe(format="svg", encoding="utf-8")
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    for expected in ('x<y> {z} | "q" \\ back', "next & more", "}|{<port>", "</table>]];",
                     "<b>not bold</b>"):
        assert expected in texts


def test_escape_keeps_every_special_character_literal():
    assert escape_html_label('<&>"') == "&lt;&amp;&gt;&quot;"
    assert escape_html_label("a\nb\r\nc") == "a<br/>b<br/>c"
    assert escape_html_label("{|}\\") == "{|}\\\\"  # Graphviz reads \\ as one backslash
    assert escape_html_label("bell\x07") == "bell\\\\x07"


@needs_dot
def test_drawing_displays_inline_in_jupyter():
    drawing = draw(small_expression()[-1])
    bundle = drawing._repr_mimebundle_()
    svg = bundle["image/svg+xml"]
    assert ET.fromstring(svg).tag == f"{SVG}svg"
    assert drawing._repr_image_svg_xml() == svg


def test_jupyter_without_dot_shows_install_help_and_source(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    drawing = draw(small_expression()[-1])
    bundle = drawing._repr_mimebundle_()
    assert "sudo apt-get install graphviz" in bundle["text/plain"]
    assert drawing.source in bundle["text/plain"]


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def test_bad_options_are_named():
    *_, d = small_expression()
    with pytest.raises(TypeError, match="a model returns a list of Values"):
        draw([d])
    with pytest.raises(ValueError, match="rankdir must be one of LR, TB, RL, BT; got 'XY'"):
        draw(d, rankdir="XY")
    with pytest.raises(ValueError, match="precision must be at least 1"):
        draw(d, precision=0)
    with pytest.raises(ValueError, match="color_by"):
        draw(d, color_by="rainbow")
    with pytest.raises(TypeError, match="parameter name entry 0"):
        draw(d, names=[("w", 1.0)])
    with pytest.raises(TypeError, match="named_parameters"):
        draw(d, model=object())
