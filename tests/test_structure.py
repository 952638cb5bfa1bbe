"""One structure: drawings group a graph by the lesson's layout record, never by parsing names."""

from __future__ import annotations

import re
from pathlib import Path

from nn.lesson import build_lesson
from nn.network import NetworkLayout
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
