"""One structure: drawings group a graph by the lesson's layout record, never by parsing names."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from nn import MLP
from nn.lesson import build_lesson
from nn.network import NetworkLayout, layout_of_mlp
from nn.spec import parse_spec
from tests.test_draw import cluster_members
from tests.test_lessons import CLASSIC
from viz.draw import draw, graph_of


def classic_lesson():
    """The 2-2-2 textbook network: its error terms are named delta_h1, delta_o1, ... and each
    layer shares one bias (b1, b2) between its two units."""
    lesson = build_lesson(parse_spec(CLASSIC, "the classic 2-2-2 example"))
    lesson.loss.backward()
    return lesson


def test_a_lesson_with_its_own_names_is_grouped_by_its_layout():
    lesson = classic_lesson()
    members = cluster_members(draw(lesson.loss, layout=lesson.layout()).source)
    assert set(members) == {
        "hidden · sigmoid", "output · sigmoid",
        "unit out_h1", "unit out_h2", "unit out_o1", "unit out_o2",
    }
    graph = graph_of(lesson.loss, layout=lesson.layout())
    unit = {label: graph.symbols.get(graph.neuron.get(id(v)), None)
            for label, v in lesson.nodes.items()}
    # w1 (i1 -> h1) and w2 (i2 -> h1) feed h1; w7 and w8 feed o2 (the book's numbering)
    assert unit["w1"] == unit["w2"] == unit["net_h1"] == unit["out_h1"] == "out_h1"
    assert unit["w7"] == unit["w8"] == unit["net_o2"] == "out_o2"
    # a bias the layer shares belongs to no one unit, and does not pull a unit's sum away
    assert unit["b1"] is None and unit["b2"] is None
    assert unit["net_h2"] == "out_h2"
    # the book's biases are given, not trained: drawn as inputs; its weights as parameters
    nodes = lesson.nodes
    assert graph.role(nodes["b1"]) == "input" and graph.role(nodes["w1"]) == "parameter"


def test_unit_ids_come_from_positions_in_the_layout():
    layout = classic_lesson().layout()
    ids = [(key, li, u.symbol) for key, li, u in layout.computing_units()]
    assert ids == [
        ("L1u0", 1, "out_h1"), ("L1u1", 1, "out_h2"), ("L2u0", 2, "out_o1"), ("L2u1", 2, "out_o2"),
    ]
    assert NetworkLayout.layer_id(2) == "L2"
    owners = layout.unit_of_parameter()
    by_label = {p.label: owners.get(id(p)) for p in layout.parameters()}
    assert by_label == {
        "w1": "L1u0", "w2": "L1u0", "b1": None, "w3": "L1u1", "w4": "L1u1",
        "w5": "L2u0", "w6": "L2u0", "b2": None, "w7": "L2u1", "w8": "L2u1",
    }


def test_drawing_code_parses_no_names():
    # the structure is handed over as data: no regular expression over labels or names
    root = Path(__file__).resolve().parents[1]
    for path in ("viz/draw.py", "viz/graph_command.py"):
        source = (root / path).read_text(encoding="utf-8")
        assert not re.search(r"^import re$|re\.compile", source, re.M), path


def _unlabel(root):
    from autograd import topological_order

    for v in topological_order(root):
        v.label = ""  # labels are for people: the layout must be found without them


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("output", ["linear", "sigmoid", "softmax"])
def test_layout_of_mlp_finds_the_forward_pass_by_structure_not_labels(fused, output):
    sizes = [3, 2] if output == "softmax" else [3, 1]
    model = MLP(2, sizes, activation="tanh", output_activation=output, fused=fused, seed=1)
    x = [0.4, -0.9]
    outs = model(x)
    loss = sum((o - 0.5) ** 2 for o in outs) + 0.01 * sum(p * p for p in model.parameters())
    _unlabel(loss)
    layout = layout_of_mlp(model, root=loss)
    assert [u.a.data for u in layout.layers[0].units] == x
    # the hidden layer by hand: z_j = sum_i w_ji x_i + b_j, a_j = tanh(z_j)
    hidden = []
    for unit, neuron in zip(layout.layers[1].units, model.layers[0].neurons):
        z = sum(w.data * xi for w, xi in zip(neuron.w, x)) + neuron.b.data
        assert unit.z.data == pytest.approx(z) and unit.a.data == pytest.approx(math.tanh(z))
        hidden.append(math.tanh(z))
    zs = [sum(w.data * h for w, h in zip(n.w, hidden)) + n.b.data for n in model.layers[1].neurons]
    if output == "softmax":
        total = sum(math.exp(z) for z in zs)
        expected = [math.exp(z) / total for z in zs]
    else:
        expected = [z if output == "linear" else 1 / (1 + math.exp(-z)) for z in zs]
    got = [u.a for u in layout.layers[2].units]
    assert [a.data for a in got] == pytest.approx(expected)
    assert all(a is o for a, o in zip(got, outs)) and layout.loss is loss


def test_layout_of_a_batch_gives_up_on_the_forward_nodes_quickly():
    model = MLP(2, [2, 1], seed=0)
    batch = sum(model([0.1 * k, 0.2])[0] for k in range(2000))
    layout = layout_of_mlp(model, root=batch)
    assert all(u.z is None and u.a is None for layer in layout.layers for u in layer.units)


def test_printed_is_the_one_word_for_a_source_s_numbers(capsys):
    from viz.cli import build_parser, main

    example_help = build_parser()._subparsers._group_actions[0].choices["example"].format_help()
    assert "--compare-printed" in example_help and "seed" not in example_help
    assert main(["example", "2-2-1", "--compare-seed", "--format", "json"]) == 0  # old spelling
    out = capsys.readouterr().out
    assert '"printed_check"' in out and '"printed": "0.31"' in out and "seed" not in out
