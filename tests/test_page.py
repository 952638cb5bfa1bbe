"""The step page as written: parts in a learner's order, hand-checked numbers, offline."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from autograd import Value, topological_order
from nn import MLP
from nn.examples import EXAMPLE_NAMES, build_example
from tests.test_render import SVG, cell, expected_2_2_1
from viz.graph_command import example_layout
from viz.steps import StepPage, step_page, write_steps_html

pytestmark = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz `dot` is not installed on this machine"
)

# Hand count for the 2-2-1 network: 17 operations (see tests/test_steps.py); the loss part is
# t - y_hat and its square, the other 15 are the network's; 9 parameters (4 + 2 + 2 + 1).
FORWARD, LOSS, BACKWARD, UPDATE = 15, 2, 17, 9


def page_of(example, **options) -> StepPage:
    options.setdefault("layout", example_layout(example))  # the units group the graph
    return step_page(example.loss, lr=example.lr, parameters=example.parameters, **options)


def page_parts(page_html: str) -> tuple[dict, ET.Element]:
    """The step data and the picture of a written page."""
    data = re.search(r'<script type="application/json" class="sg-data">(.*?)</script>', page_html)
    svg = re.search(r"<svg.*?</svg>", page_html, re.S).group(0)
    return json.loads(data.group(1)), ET.fromstring(svg)


def final_texts(data: dict, upto: int) -> dict[str, str]:
    """Text key -> what the graph shows after step ``upto`` (later steps overwrite earlier ones).

    A step sends the number; the graph's texts put "data " or "grad " before it.
    """
    shown: dict[str, str] = {}
    for step in data["steps"][: upto + 1]:
        for key, number in step["s"]:
            shown[key] = ("data " if key[0] == "d" else "grad ") + number
    return shown


@pytest.fixture(scope="module")
def example():
    return build_example("2-2-1")


@pytest.fixture(scope="module")
def written(example, tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "steps.html"
    page_of(example).write(path)
    return path.read_text(encoding="utf-8")


def test_parts_come_in_the_order_a_learner_works(example):
    page = page_of(example)
    assert page.part_counts() == {
        "forward": FORWARD,
        "loss": LOSS,
        "backward": BACKWARD,
        "update": UPDATE,
    }
    labels = [s.node.label for s in page.steps]
    assert labels[FORWARD : FORWARD + LOSS] == ["t - y_hat", "loss"]
    assert labels[FORWARD + LOSS : FORWARD + LOSS + 4] == ["loss", "t - y_hat", "y_hat", "z2"]
    # the forward pass computes a node only after every operand
    seen = {id(v) for v in topological_order(example.loss) if v.is_leaf}
    for step in page.steps[: FORWARD + LOSS]:
        assert all(id(p) in seen for p in step.node.parents), step.node.label
        seen.add(id(step.node))
    assert labels[-UPDATE:] == [p.label for p in example.parameters]


def test_every_number_the_page_writes_matches_the_hand_calculation(example, written):
    data, _ = page_parts(written)
    order = topological_order(example.loss)  # node vK of the drawing is order[K]
    expected = expected_2_2_1()
    after_forward = final_texts(data, FORWARD + LOSS - 1)
    for k, v in enumerate(order):
        if not v.is_leaf:
            assert after_forward[f"d{k}"] == cell("data", expected[v.label][0]), v.label
    assert not any(key.startswith("g") for key in after_forward)  # no gradient before backward
    after_backward = final_texts(data, FORWARD + LOSS + BACKWARD - 1)
    for k, v in enumerate(order):
        assert after_backward[f"g{k}"] == cell("grad", expected[v.label][1]), v.label
    # the update: p - 0.1 * dL/dp, with the hand-derived gradient
    after_update = final_texts(data, len(data["steps"]) - 1)
    for p in example.parameters:
        k = order.index(p)
        data_p, grad_p = expected[p.label]
        assert after_update[f"d{k}"] == cell("data", data_p - 0.1 * grad_p), p.label
    # the example itself is untouched: no gradient, no update
    assert all(v.grad == 0.0 for v in order)
    assert example.nodes["W1[0][0]"].data == 0.5


def test_the_picture_starts_with_only_the_given_numbers(example, written):
    _, svg = page_parts(written)
    order = topological_order(example.loss)
    texts = {t.get("data-k"): t.text for t in svg.iter(f"{SVG}text") if t.get("data-k")}
    assert len(texts) == 2 * len(order)  # every node has its data and grad text, named
    for k, v in enumerate(order):
        assert texts[f"g{k}"] == "grad"
        given = cell("data", expected_2_2_1()[v.label][0]) if v.is_leaf else "data"
        assert texts[f"d{k}"] == given, v.label


def test_steps_name_only_elements_of_the_picture_and_every_step_marks_one(written):
    data, svg = page_parts(written)
    named = {g.get("data-n") for g in svg.iter(f"{SVG}g") if g.get("data-n")}
    keys = {t.get("data-k") for t in svg.iter(f"{SVG}text") if t.get("data-k")}
    for step in data["steps"]:
        marks = step["v"]["graph"]
        assert marks["c"] in named
        assert set(marks["o"]) <= named and set(marks["p"]) <= named
        assert {key for key, _ in step["s"]} <= keys
    # a forward step marks its operands and the arrows through its op node
    z1 = next(s for s in data["steps"] if s["t"] == "Forward pass: z1[0] = 0.41")
    assert len(z1["v"]["graph"]["o"]) == 2 and len(z1["v"]["graph"]["p"]) == 4


def test_formulas_fill_in_the_operands(example):
    page = page_of(example)
    z1 = next(s for s in page.steps if s.node.label == "z1[0]")
    # z1[0] = (x[0]*W1[0][0] + x[1]*W1[1][0]) + b1[0] = 0.31 + 0.1 = 0.41
    assert z1.formula.split("\n")[1:] == [" " * 5 + " = 0.31 + 0.1", " " * 5 + " = 0.41"]
    y_hat = next(s for s in page.steps if s.node.label == "y_hat")
    assert y_hat.formula.startswith("y_hat = sigmoid(z2)")
    update = page.steps[-UPDATE]  # W1[0][0] = 0.5, dL/dW1[0][0] = delta1[0] * x[0]
    grad = expected_2_2_1()["W1[0][0]"][1]
    assert update.formula.split("\n")[1].endswith(f"= 0.5 − 0.1 × ({grad:.6g})")
    backward = page.steps[FORWARD + LOSS]
    assert backward.formula.startswith("loss (**2) = ")


class _PageParser(HTMLParser):
    """Collects element names and URL-bearing attributes of an HTML page."""

    def __init__(self):
        super().__init__()
        self.tags, self.urls, self.ids = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "data", "srcset", "poster"):
                self.urls.append(value)
            if name == "id":
                self.ids.append(value)


def test_one_self_contained_page_with_one_picture_per_view(written):
    parser = _PageParser()
    parser.feed(written)
    assert parser.tags.count("svg") == 2  # the graph and the network, each laid out once
    assert parser.urls == [] and "link" not in parser.tags and "iframe" not in parser.tags
    assert not re.search(r"(?:url\(|@import|<script src|https?://(?!www\.w3\.org))", written)
    assert "default-src 'none'" in written  # the browser itself refuses any request
    assert parser.ids == ["sg-page"]  # nothing that could clash with another page's ids
    assert "window.stepgradStepper" in written and ".sg-stepper" in written  # inlined assets
    # readable before the script runs: the first step's formula and the counter are in the HTML
    assert re.search(r'<pre class="sg-formula">x\[0\]\*W1\[0\]\[0\] = ', written)
    assert f"step 1 of {FORWARD + LOSS + BACKWARD + UPDATE}" in written


def test_collapsed_neurons_light_their_box(example):
    page = step_page(example.loss, lr=0.1, layout=example_layout(example), collapse=True)
    svg = ET.fromstring(re.search(r"<svg.*?</svg>", page.html(), re.S).group(0))
    named = [g.get("data-n", "") for g in svg.iter(f"{SVG}g")]
    boxes = {n for n in named if re.match(r"n\d+$", n)}
    assert boxes == {"n0", "n1", "n2"}  # two hidden neurons and the output neuron
    data = json.loads(re.search(r'class="sg-data">(.*?)</script>', page.html()).group(1))
    by_label = {s.node.label: m for s, m in zip(page.steps, data["steps"])}
    assert by_label["x[0]*W1[0][0]"]["v"]["graph"]["c"] == "n0"
    assert by_label["a1[1]"]["v"]["graph"]["c"] == "n1"
    assert by_label["z2"]["v"]["graph"]["c"] == "n2"
    assert by_label["loss"]["v"]["graph"]["c"].startswith("v")  # outside every neuron
    # the neuron's output row shows its numbers: a1[1]'s data appears in the forward pass
    k = topological_order(example.loss).index(example.nodes["a1[1]"])
    texts = {t.get("data-k") for t in svg.iter(f"{SVG}text")}
    assert f"d{k}" in texts and f"g{k}" in texts


def test_a_bare_value_has_forward_and_backward_only():
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    c = a * b
    c.label = "c"
    out = c + a
    out.label = "out"
    page = step_page(out)
    assert page.part_counts() == {"forward": 2, "backward": 2}
    assert page.steps[0].formula == "c = a * b\n  = 2 × (-3)\n  = -6"
    assert page.steps[1].formula == "out = c + a\n    = -6 + 2\n    = -4"


def test_bad_requests_are_explained(tmp_path, example):
    out = Value(1.0, "x") * 2.0
    with pytest.raises(ValueError, match="output is a leaf"):
        step_page(Value(1.0, "x"))
    with pytest.raises(TypeError, match="'grads' is set by each step"):
        step_page(out, grads={})
    with pytest.raises(ValueError, match=r"must be an \.html file"):
        write_steps_html(out, tmp_path / "steps.svg")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_steps_html(out, tmp_path / "missing" / "steps.html")
    with pytest.raises(ValueError, match="lr must be a finite number above 0"):
        step_page(out, lr=float("nan"))
    with pytest.raises(ValueError, match="lr= needs the parameters"):
        step_page(out, lr=0.1)
    with pytest.raises(ValueError, match=r"parameters\[0\] \(W1\[0\]\[0\]\) is not part"):
        step_page(out, lr=0.1, parameters=[example.nodes["W1[0][0]"]])
    with pytest.raises(ValueError, match="max_nodes=5"):
        step_page(example.loss, max_nodes=5)
    assert not list(tmp_path.iterdir())


def test_write_steps_html_keeps_its_old_call(tmp_path, example):
    path = write_steps_html(example.loss, tmp_path / "steps.html", names=None)
    page = path.read_text(encoding="utf-8")
    assert page.lower().startswith("<!doctype html") and "Backward pass" in page
    assert "Update" not in re.search(r'<div class="sg-row sg-parts">(.*?)</div>', page).group(1)


# ---------------------------------------------------------------------------------------------
# The network view beside the graph
# ---------------------------------------------------------------------------------------------


def network_svg(page_html: str) -> ET.Element:
    view = page_html[page_html.index('<div class="sg-view" data-view="network"') :]
    return ET.fromstring(re.search(r"<svg.*?</svg>", view, re.S).group(0))


def numbers_after(data: dict, upto: int) -> dict[str, str]:
    """Text key -> the number it shows after step ``upto`` (the words are the picture's)."""
    shown: dict[str, str] = {}
    for step in data["steps"][: upto + 1]:
        shown.update(dict(step["s"]))
    return shown


@pytest.fixture(scope="module")
def with_network(example):
    return page_of(example, layout=example_layout(example))


def test_the_network_view_lights_the_unit_or_weight_of_each_step(example, with_network):
    data, _ = page_parts(with_network.html())
    assert [v for v in re.findall(r'data-view="(\w+)" aria-pressed', with_network.html())] == [
        "graph",
        "network",
    ]
    marks = {s.node.label: m["v"]["network"] for s, m in zip(with_network.steps, data["steps"])}
    # x[0]*W1[0][0] is computed in hidden unit 0 from input unit 0 over the weight W1[0][0]
    assert marks["x[0]*W1[0][0]"] == {"c": "L1u0", "o": ["L0u0", "L0u0->L1u0"], "p": []}
    assert marks["z2"]["c"] == "L2u0" and marks["loss"]["c"] == "loss"
    updates = [m["v"]["network"]["c"] for m in data["steps"][-UPDATE:]]
    assert updates == [
        "L0u0->L1u0", "L0u0->L1u1", "L0u1->L1u0", "L0u1->L1u1",  # W1[i][j]: input i -> unit j
        "L1u0", "L1u1",  # b1[j] is written in its unit
        "L1u0->L2u0", "L1u1->L2u0", "L2u0",
    ]  # fmt: skip


def test_the_network_view_shows_the_hand_calculated_numbers(example, with_network):
    data, _ = page_parts(with_network.html())
    svg = network_svg(with_network.html())
    texts = {t.get("data-k"): t for t in svg.iter(f"{SVG}text") if t.get("data-k")}
    order = topological_order(example.loss)
    z1 = order.index(example.nodes["z1[0]"])
    assert texts[f"d{z1}"].text == "z1[0] = ?" and texts[f"d{z1}"].get("data-pre") == "z1[0] = "
    assert texts[f"g{z1}"].get("data-pre") == "δ1[0] = "
    expected = expected_2_2_1()
    after = numbers_after(data, FORWARD + LOSS + BACKWARD - 1)
    checked = set()
    for key, text in texts.items():
        v = order[int(key[1:])]
        data_v, grad_v = expected[v.label]
        number = after.get(key)
        if number is None:  # a leaf's data: drawn as given
            assert key[0] == "d" and v.is_leaf and text.text.endswith(f"{data_v:.4g}"), key
            continue
        assert number == f"{(data_v if key[0] == 'd' else grad_v):.4g}", v.label
        checked.add(v.label)
    # every unit's z, a and δ, every weight's gradient, the loss
    assert {"z1[0]", "a1[1]", "z2", "y_hat", "loss", "W1[1][0]", "b2"} <= checked


def test_an_mlp_model_gets_its_network_view(tmp_path):
    model = MLP(2, [2, 1], activation="tanh", seed=3)
    (y,) = model([0.5, -1.0])
    loss = (y - 0.25) ** 2
    page = step_page(loss, lr=0.05, model=model, view="network")
    assert page.views == ["network", "graph"]  # shown first: the one asked for
    assert page.part_counts()["update"] == 9  # 2*2 + 2 + 2 + 1 parameters
    with pytest.raises(ValueError, match="network view needs layout= or an nn.MLP"):
        step_page(Value(2.0, "a") * 3.0, view="network")
    with pytest.raises(ValueError, match="view must be 'graph' or 'network'; got 'net'"):
        step_page(loss, view="net")


def test_in_jupyter_the_same_stepper_shows_inline(example):
    page = page_of(example)
    first, second = page._repr_html_(), page._repr_html_()
    for fragment in (first, second):
        assert fragment.startswith('<div class="sg-stepper"') and "<html" not in fragment
        uid = re.match(r'<div class="sg-stepper" id="([\w-]+)"', fragment).group(1)
        # the script starts the stepper of its own output, never another page's
        assert f'window.stepgradStepper(document.getElementById("{uid}"))' in fragment
        assert "<style>" in fragment and "sg-data" in fragment  # nothing left to fetch
    assert re.search(r'id="([\w-]+)"', first).group(1) != re.search(r'id="([\w-]+)"', second).group(
        1
    )
    assert repr(page) == (
        "<StepPage 'loss, step by step: forward pass, backward pass, update': "
        f"{FORWARD + LOSS + BACKWARD + UPDATE} steps "
        f"({FORWARD} forward, {LOSS} loss, {BACKWARD} backward, {UPDATE} update)>"
    )


def test_hostile_labels_stay_text_everywhere_on_the_page():
    a = Value(1.5, "</script><img src=x onerror=alert(1)>")
    b = Value(2.0, "C:\\Nodes\\Graph\\Edge")
    out = a * b
    out.label = '"quoted" & {braces} | <b>bold</b>'
    page_html = step_page(out).html()
    parser = _PageParser()
    parser.feed(page_html)
    assert "img" not in parser.tags and "b" not in parser.tags and parser.urls == []
    data, svg = page_parts(page_html)  # the data is still one JSON document, the SVG well formed
    assert data["steps"][0]["f"].splitlines()[0] == (
        '"quoted" & {braces} | <b>bold</b> = (</script><img src=x onerror=alert(1)>) * '
        "(C:\\Nodes\\Graph\\Edge)"
    )
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "C:\\Nodes\\Graph\\Edge" in texts and '"quoted" & {braces} | <b>bold</b>' in texts


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_built_in_lesson_gets_all_four_parts_in_both_views(name):
    lesson = build_example(name)
    page = page_of(lesson, layout=example_layout(lesson))
    counts = page.part_counts()
    assert list(counts) == ["forward", "loss", "backward", "update"]
    # the chain rule visits every operation once; each parameter is updated once
    operations = sum(1 for v in topological_order(lesson.loss) if not v.is_leaf)
    assert counts["forward"] + counts["loss"] == counts["backward"] == operations
    assert counts["update"] == len(lesson.parameters)
    data, svg = page_parts(page.html())
    keys = {t.get("data-k") for t in network_svg(page.html()).iter(f"{SVG}text")}
    keys.discard(None)
    for unit_layer in example_layout(lesson).layers[1:]:
        for unit in unit_layer.units:  # every unit writes its weighted input and its δ
            k = topological_order(lesson.loss).index(unit.z)
            assert {f"d{k}", f"g{k}"} <= keys, unit.z.label
    for step in data["steps"]:
        assert step["v"]["graph"]["c"] and step["v"]["network"]["c"]
