"""`stepgrad graph`: the worked examples drawn to files from the command line."""

from __future__ import annotations

import re
import shutil

import pytest

from nn.examples import build_example
from tests.test_render import cell, expected_2_2_1, svg_records
from viz.cli import main
from viz.graph_command import example_parameter_names

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
    for cluster in ("layers.0.neurons.0", "layers.0.neurons.1", "layers.1.neurons.0"):
        assert f">{cluster}</text>" in svg


@needs_dot
def test_graph_steps_html_page(tmp_path):
    out = tmp_path / "steps.html"
    assert main(["graph", "--example", "2-2-1", "--steps", "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    # one page for the whole pass: its backward part has the 17 chain-rule steps
    assert 'Backward pass <span class="sg-n">17</span>' in page and 'class="sg-next"' in page


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
    boxes = re.findall(r"<b>(layers\.\d\.neurons\.\d)</b>", source)
    assert boxes == ["layers.0.neurons.0", "layers.0.neurons.1", "layers.1.neurons.0"]
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
