"""The backward pass frame by frame: highlighted node, gradients so far, one SVG file per step."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

from autograd import Value
from autograd.trace import trace_backward
from nn.examples import build_example
from tests.test_render import SVG, cell, expected_2_2_1, svg_records
from viz.render import GraphvizNotFoundError
from viz.steps import step_frames, write_step_svgs, write_steps_html

pytestmark = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz `dot` is not installed on this machine"
)

# The 2-2-1 graph has 17 operations (hand count): 4 products + 2 partial sums + 2 z1 + 2 a1
# in the hidden layer, 2 products + 1 partial sum + z2 + y_hat at the output, then t - y_hat
# and loss. The chain rule starts at loss and can only go on to t - y_hat, then y_hat, then z2.
STEPS_2_2_1 = 17
FIRST_STEPS = ["loss", "t - y_hat", "y_hat", "z2"]


def highlighted_records(svg: str) -> list[str]:
    """Labels of the records (not op nodes) drawn highlighted in one SVG frame."""
    labels = []
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        texts = [t.text for t in g.iter(f"{SVG}text")]
        if g.get("class") == "node highlight" and len(texts) == 3:
            labels.append(texts[0])
    return labels


@pytest.fixture(scope="module")
def frames():
    return step_frames(build_example("2-2-1").loss)


def test_one_frame_per_chain_rule_step_with_its_node_highlighted(frames):
    assert len(frames) == STEPS_2_2_1
    assert [highlighted_records(f.svg) for f in frames[:4]] == [[x] for x in FIRST_STEPS]
    for frame in frames:
        assert highlighted_records(frame.svg) == [frame.step.label]


def test_frames_fill_in_gradients_as_the_chain_rule_reaches_them(frames):
    expected = expected_2_2_1()
    first = svg_records(frames[0].svg)
    # step 1 sets loss's gradient and sends 2(t - y_hat) to t - y_hat; nothing else is known
    assert first["loss"][2] == "grad 1"
    assert first["t - y_hat"][2] == cell("grad", expected["t - y_hat"][1])
    assert sorted(k for k, texts in first.items() if texts[2] == "grad") == sorted(
        set(expected) - {"loss", "t - y_hat"}
    )
    # step 2 (at t - y_hat) reaches its operands t and y_hat
    second = svg_records(frames[1].svg)
    assert second["t"][2] == cell("grad", expected["t"][1])
    assert second["y_hat"][2] == cell("grad", expected["y_hat"][1])
    assert second["z2"][2] == "grad"
    # after the last step every gradient is complete and true
    last = svg_records(frames[-1].svg)
    for label, (data, grad) in expected.items():
        assert last[label] == [label, cell("data", data), cell("grad", grad)], label


def test_all_frames_share_one_layout(frames):
    def positions(svg):
        out = {}
        for g in ET.fromstring(svg).iter(f"{SVG}g"):
            title, shape = g.find(f"{SVG}title"), g.find(f"{SVG}polygon")
            if g.get("class", "").startswith("node") and shape is not None:
                out[title.text] = shape.get("points")
        return out

    reference = positions(frames[0].svg)
    assert len(reference) > 20
    for frame in frames[1:]:
        assert positions(frame.svg) == reference


def test_tracing_leaves_the_callers_gradients_alone():
    example = build_example("2-2-1")
    x0 = example.nodes["x[0]"]
    x0.grad = 5.0  # something accumulated earlier
    frames = step_frames(example.loss)
    assert x0.grad == 5.0 and example.loss.grad == 0.0
    shown = svg_records(frames[-1].svg)["x[0]"][2]
    assert shown == cell("grad", expected_2_2_1()["x[0]"][1])  # one pass, not 5 + it


def test_a_given_trace_is_used_as_it_is():
    a, b = Value(2.0, "a"), Value(3.0, "b")
    out = a * b
    out.label = "out"
    trace = trace_backward(out)
    (frame,) = step_frames(trace)
    records = svg_records(frame.svg)
    assert records["a"][2] == "grad 3" and records["b"][2] == "grad 2"


def test_bad_requests_are_explained():
    with pytest.raises(ValueError, match="output is a leaf"):
        step_frames(Value(1.0, "x"))
    out = Value(1.0, "x") * 2.0
    with pytest.raises(TypeError, match="'highlight' is set by each frame"):
        step_frames(out, highlight=[out])
    with pytest.raises(TypeError, match="need the output Value"):
        step_frames([out])


def test_step_svgs_are_written_one_per_step(tmp_path):
    paths = write_step_svgs(build_example("2-2-1").loss, tmp_path / "frames")
    assert [p.name for p in paths] == [f"step-{k:02d}.svg" for k in range(1, STEPS_2_2_1 + 1)]
    for path, label in zip(paths, FIRST_STEPS):
        assert highlighted_records(path.read_text(encoding="utf-8")) == [label]


def test_missing_dot_writes_no_file_at_all(tmp_path, monkeypatch):
    example = build_example("1-1-1")
    monkeypatch.setenv("PATH", str(tmp_path))
    (tmp_path / "steps.dot").write_text("the user's own graph", encoding="utf-8")
    with pytest.raises(GraphvizNotFoundError, match="sudo apt-get install graphviz"):
        write_steps_html(example.loss, tmp_path / "steps.html")
    assert not (tmp_path / "steps.html").exists()
    assert (tmp_path / "steps.dot").read_text(encoding="utf-8") == "the user's own graph"
