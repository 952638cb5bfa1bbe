"""`stepgrad graph`: the worked examples drawn to files from the command line."""

from __future__ import annotations

import math
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from nn.examples import build_example
from tests.test_lab_api import lab_data
from tests.test_render import cell, expected_2_2_1, svg_records
from viz.cli import main
from viz.graph_command import example_parameter_names, write_example_graph, written_line

SVG = "{http://www.w3.org/2000/svg}"

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz `dot` is not installed on this machine"
)


@needs_dot
def test_graph_svg_of_2_2_1_has_true_numbers_and_neuron_clusters(tmp_path, capsys):
    out = tmp_path / "graph.svg"
    assert main(["graph", "--example", "2-2-1", "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    svg = out.read_text(encoding="utf-8")
    records = svg_records(svg)
    for label, (data, grad) in expected_2_2_1().items():
        assert records[label] == [label, cell("data", data), cell("grad", grad)], label
    # the boxes are headed in the case study's words, as its network view heads its layers
    for cluster in ("hidden · sigmoid", "output · sigmoid", "unit a1[0]", "unit a1[1]",
                    "unit y_hat"):
        assert f">{cluster}</text>" in svg, cluster
    assert "layers.0" not in svg


def test_graph_steps_html_page(tmp_path):
    out = tmp_path / "steps.html"
    assert main(["graph", "--example", "2-2-1", "--steps", "-o", str(out)]) == 0
    data = lab_data(out.read_text(encoding="utf-8"))
    # the lab page, offline: the sheet's parts, the 2-2-1 network's two hidden error terms
    counts = {s["name"]: s["count"] for s in data["sections"]}
    assert counts["Forward pass"] == 6 and counts["Hidden errors"] == 4
    assert counts["Gradients"] == 9 and counts["Update (η = 0.1)"] == 9


@needs_dot
def test_graph_steps_without_extension_writes_svgs(tmp_path):
    out = tmp_path / "frames"
    assert main(["graph", "--example", "1-1-1", "--steps", "-o", str(out)]) == 0
    # 1-1-1: h1 (w1*x, + b1), a1, h2 (w2*a1, + b2), y, y - t, ^2, * 1/2: 9 operations
    assert len(list(out.glob("step-*.svg"))) == 9


def test_collapse_and_rankdir_reach_the_drawing(tmp_path):
    out = tmp_path / "graph.dot"
    assert main(["graph", "--example", "2-2-1", "--collapse", "--rankdir", "TB",
                 "-o", str(out)]) == 0
    source = out.read_text(encoding="utf-8")
    assert "rankdir=TB" in source
    boxes = re.findall(r"<b>([^<]*)</b>", source)
    assert boxes == ["unit a1[0]", "unit a1[1]", "unit y_hat"]
    assert ">W1[1][0]</td>" in source  # a parameter listed in its neuron's box


def test_parameters_are_grouped_by_the_neuron_they_feed():
    # seed 001: W1[i][j] connects input i to hidden unit j; W2[j] connects unit j to the output
    names = dict((n, p.label) for n, p in example_parameter_names(build_example("2-2-1")))
    assert names == {
        f"layers.0.neurons.{j}.{label}": label
        for j in range(2)
        for label in (f"W1[0][{j}]", f"W1[1][{j}]", f"b1[{j}]")
    } | {f"layers.1.neurons.0.{label}": label for label in ("W2[0]", "W2[1]", "b2")}
    # seed 003 writes W1[j][i] (unit j, input i): the grouping follows the graph, not a naming
    softmax = dict(example_parameter_names(build_example("softmax")))
    assert softmax["layers.0.neurons.2.W1[2][1]"].label == "W1[2][1]"
    assert softmax["layers.1.neurons.1.W2[1][2]"].label == "W2[1][2]"
    assert len(softmax) == 21


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--steps", "-o", "steps.svg"], "--steps writes an .html page"),
        (["-o", "graph.html"], "add --steps"),
        (["-o", "graph.jpg"], "supported: .svg, .png, .pdf, .dot"),
    ],
)
def test_bad_output_names_are_one_clear_line(tmp_path, capsys, argv, message):
    argv = [a if not a.startswith(("steps", "graph")) else str(tmp_path / a) for a in argv]
    assert main(["graph", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stepgrad: error: ") and message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_missing_dot_is_explained_and_the_dot_file_kept(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "graph.png"
    assert main(["graph", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "sudo apt-get install graphviz" in err and "brew install graphviz" in err
    assert not out.exists()
    assert (tmp_path / "graph.dot").read_text(encoding="utf-8").startswith("digraph stepgrad {")


# ---------------------------------------------------------------------------------------------
# The network view, standard output, and bad output names
# ---------------------------------------------------------------------------------------------


@needs_dot
def test_network_view_of_2_2_1_has_the_hand_computed_numbers(tmp_path, capsys):
    out = tmp_path / "net.svg"
    assert main(["graph", "--example", "2-2-1", "--view", "network", "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out} (network view of the 2-2-1 example, svg)\n"
    texts = " ".join(" ".join(t.itertext()) for t in ET.parse(out).iter(f"{SVG}text"))
    texts = " ".join(texts.split())
    v = expected_2_2_1()
    assert f"z1[1] = {v['z1[1]'][0]:.4g}" in texts and f"y_hat = {v['y_hat'][0]:.4g}" in texts
    assert f"W2[0] = 0.6 grad {v['W2[0]'][1]:.4g}" in texts
    # δ2 = dLoss/dz2, under whichever name the lesson gives it (δ2, delta2)
    delta2 = f"{v['z2'][1]:.4g}"
    assert re.search(rf"(δ|delta)2 = {re.escape(delta2)}", texts)


@needs_dot
def test_dash_writes_svg_to_standard_output_and_the_notice_to_stderr(tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["graph", "--view", "network", "-o", "-"]) == 0
    captured = capsys.readouterr()
    assert ET.fromstring(captured.out).tag == f"{SVG}svg"
    assert captured.err == "wrote standard output (network view of the 2-2-1 example, svg)\n"
    assert main(["graph", "--format", "dot", "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith("digraph stepgrad {")
    assert list(tmp_path.iterdir()) == []


@needs_dot
def test_steps_to_standard_output_is_the_page_and_makes_no_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["graph", "--example", "1-1-1", "--steps", "-o", "-"]) == 0
    assert capsys.readouterr().out.lstrip().lower().startswith("<!doctype html")
    assert list(tmp_path.iterdir()) == []  # no directory named "-"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-o", ""], "-o needs a file name (or - for standard output)"),
        (["-o", "-", "--format", "png"], "-o - writes text to standard output: svg or dot"),
        (["-o", "-", "--format", "pdf"], "not pdf (a binary format)"),
        (["-o", "net.svg", "--view", "network", "--collapse"], "leave out --collapse"),
        (["-o", "frames", "--steps", "--view", "network"], "leave out --view network"),
        (["-o", "frames", "--steps", "--format", "svg"], "leave out --format"),
        (["-o", "net.svg", "--format", "dot"], "--format dot does not match"),
        (["-o", "missing/net.svg"], "the folder missing does not exist"),
    ],
)
def test_bad_requests_are_one_line_and_write_nothing(tmp_path, capsys, monkeypatch, argv,
                                                     message):
    monkeypatch.chdir(tmp_path)
    assert main(["graph", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("stepgrad: error: ")
    assert message in captured.err and captured.out == ""
    assert list(tmp_path.iterdir()) == []


def test_written_line_is_one_wording_for_every_command():
    example = build_example("softmax")
    assert written_line("g.dot", "computation graph, dot", example) == (
        "wrote g.dot (computation graph of the softmax example, dot)"
    )
    assert written_line("-", "network view, svg") == "wrote standard output (network view, svg)"


def test_write_example_graph_takes_view_and_collapse(tmp_path):
    example = build_example("softmax")
    what = write_example_graph(example, tmp_path / "net.dot", view="network", rankdir="TB")
    assert what == "network view, dot"
    source = (tmp_path / "net.dot").read_text(encoding="utf-8")
    assert "rankdir=TB" in source and source.count("shape=circle") == 2 + 3 + 3
    what = write_example_graph(build_example("2-2-1"), tmp_path / "g.dot", collapse=True)
    assert what == "computation graph, dot"
    assert "<b>unit y_hat</b>" in (tmp_path / "g.dot").read_text(encoding="utf-8")


def _hand_2_2_1_grad_w1_00() -> float:
    """dL/dW1[0][0] of the case study's 2-2-1 network, by hand: delta1[0] * x[0]."""
    sig = lambda v: 1.0 / (1.0 + math.exp(-v))  # noqa: E731
    a0, a1 = sig(0.5 * 0.5 + 0.3 * 0.2 + 0.1), sig(0.5 * 0.3 + 0.3 * 0.4 + 0.2)
    y = sig(0.6 * a0 + 0.7 * a1 + 0.3)
    delta2 = 2.0 * (y - 0.8) * y * (1.0 - y)
    return delta2 * 0.6 * a0 * (1.0 - a0) * 0.5


def test_step_page_of_an_example_has_the_update_and_opens_on_the_view_asked_for(tmp_path):
    path = tmp_path / "steps.html"
    argv = ["graph", "--example", "2-2-1", "--steps", "--view", "network", "-o", str(path)]
    assert main(argv) == 0
    data = lab_data(path.read_text(encoding="utf-8"))
    assert data["network"] is not None  # the network is the page's picture
    # the update part: one step per parameter, with the lesson's learning rate 0.1
    updates = [s for s in data["steps"] if s["section"] == "Update (η = 0.1)"]
    assert len(updates) == 9
    g = _hand_2_2_1_grad_w1_00()
    first = updates[0]["line"]
    assert f"= 0.5 − 0.1·({g:.6g})".replace("(-", "(−") in first
    assert first.endswith(f"= {0.5 - 0.1 * g:.6g}")
