"""The lab's one API (viz.lab.handle): the sheet's steps, edits by symbol, bad input, the page."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nn.examples import build_example
from viz.cli import main
from viz.lab import MAX_BODY, handle, handle_json, lab_page, page_html
from viz.sheet import explain_lesson
from viz.trace_command import build_expression, explain_value

ROOT = Path(__file__).resolve().parent.parent
FORMULA = "tanh(x1*w1 + x2*w2 + b)"
BINDINGS = {"x1": "2", "w1": "-3", "x2": "0", "w2": "1", "b": "6.8814"}


def lab_data(page: str) -> dict:
    """The response embedded in an offline lab page."""
    match = re.search(r'<script type="application/json" id="lab-data">(.*?)</script>', page, re.S)
    assert match, "no embedded data"
    return json.loads(match.group(1))["response"]


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def hand_2_2_1(w20: float = 0.6) -> dict[str, float]:
    """The 2-2-1 case study by hand (x = 0.5, 0.3; t = 0.8; loss (t − ŷ)²)."""
    z10 = 0.5 * 0.5 + 0.3 * 0.2 + 0.1
    z11 = 0.5 * 0.3 + 0.3 * 0.4 + 0.2
    a10, a11 = sig(z10), sig(z11)
    z2 = w20 * a10 + 0.7 * a11 + 0.3
    y = sig(z2)
    d2 = 2 * (y - 0.8) * y * (1 - y)
    return {
        "z1[0]": z10, "z1[1]": z11, "a1[0]": a10, "a1[1]": a11, "z2": z2, "y_hat": y,
        "loss": (0.8 - y) ** 2, "delta2": d2,
        "delta1[0]": d2 * w20 * a10 * (1 - a10), "delta1[1]": d2 * 0.7 * a11 * (1 - a11),
        "dL/dW2[0]": d2 * a10, "W2[0] (updated)": w20 - 0.1 * d2 * a10,
    }  # fmt: skip


def by_name(response: dict) -> dict[str, float]:
    return {s["name"]: s["value"] for s in response["steps"]}


def test_the_steps_are_the_sheets_quantities_in_its_order_and_words():
    response = handle({"lesson": {"builtin": "2-2-1"}, "steps": 5})
    assert response["ok"]
    explanation = explain_lesson(build_example("2-2-1"), steps=5)
    sheet = [*explanation.quantities, *explanation.training]
    assert [s["line"] for s in response["steps"]] == [q.line() for q in sheet]
    assert [s["section"] for s in response["steps"]] == [q.section for q in sheet]
    # the printed-number marks sit on the numbers the case study printed
    marked = {s["name"]: s["mark"]["printed"] for s in response["steps"] if s["mark"]}
    assert marked["z1[0]"] == "0.31" and marked["delta2"] == "−0.05"


def test_numbers_are_the_hand_calculation():
    values = by_name(handle({"lesson": {"builtin": "2-2-1"}}))
    for name, expected in hand_2_2_1().items():
        assert values[name] == pytest.approx(expected, rel=1e-12), name


def test_editing_w2_0_recomputes_everything_downstream():
    response = handle({"lesson": {"builtin": "2-2-1"}, "edits": {"W2[0]": "0.65"}})
    assert response["ok"]
    values = by_name(response)
    for name, expected in hand_2_2_1(0.65).items():
        assert values[name] == pytest.approx(expected, rel=1e-12), name
    assert response["values"]["W2[0]"]["value"] == 0.65
    assert response["request"]["edits"] == {"W2[0]": "0.65"}
    # the printed numbers belong to the source's own weights: no marks once edited
    assert not any(s["mark"] for s in response["steps"])


def test_inputs_targets_and_the_learning_rate_are_editable_by_symbol():
    response = handle({"lesson": {"builtin": "2-2-1"}, "edits": {"x[0]": "1", "t": "0.5"},
                       "lr": "0.5"})  # fmt: skip
    values = by_name(response)
    z10 = 1 * 0.5 + 0.3 * 0.2 + 0.1
    assert values["z1[0]"] == pytest.approx(z10)
    assert values["loss"] == pytest.approx((0.5 - values["y_hat"]) ** 2)
    g = values["dL/dW2[0]"]
    assert values["W2[0] (updated)"] == pytest.approx(0.6 - 0.5 * g)
    symbols = [n["symbol"] for n in response["editable"]]
    assert symbols[:3] == ["x[0]", "x[1]", "t"] and symbols[-1] == "η"


@pytest.mark.parametrize(
    "request_, field",
    [
        ({"edits": {"W2[0]": "abc"}}, "edits['W2[0]']"),
        ({"edits": {"W2[0]": "nan"}}, "edits['W2[0]']"),
        ({"edits": {"W2[0]": "1e400"}}, "edits['W2[0]']"),
        ({"edits": {"W2[0]": "1e300"}}, "edits['W2[0]']"),
        ({"edits": {"W2[0]": None}}, "edits['W2[0]']"),
        ({"edits": {"W9": "1"}}, "'W9'"),
        ({"edits": ["W2[0]"]}, "edits"),
        ({"lr": "0"}, "lr"),
        ({"steps": 10**9}, "steps"),
        ({"lesson": {"builtin": "nope"}}, "lesson.builtin"),
        ({"lesson": {"builtin": "2-2-1", "x": 1}}, "lesson"),
        ({"lesson": {"file": {"name": "net.txt", "text": ""}}}, "lesson.file.name"),
        ({"lesson": {"file": {"name": "n.toml", "text": "inputs = 3"}}}, "n.toml"),
        ({"lesson": {"expr": "tanh(x1*", "bindings": {"x1": "2"}}}, "column"),
        ({"lesson": {"expr": "x1*2", "bindings": {"x1": "inf"}}}, "lesson.bindings['x1']"),
        ({"colour": "red"}, "'colour'"),
        ({"lesson": {"file": {"name": "n.toml", "text": "#" * (MAX_BODY + 1)}}}, ".file.text"),
        ([1, 2], "request"),
    ],
)  # fmt: skip
def test_bad_requests_get_one_line_naming_the_field(request_, field):
    response = handle(request_)
    assert response["ok"] is False
    assert field in response["error"] and "\n" not in response["error"]


def test_json_in_json_out_and_bounded():
    assert json.loads(handle_json("{not json"))["error"].startswith("request: not valid JSON")
    big = json.dumps({"edits": {"W2[0]": "1" * (MAX_BODY + 10)}})
    assert "over the limit" in json.loads(handle_json(big))["error"]
    assert json.loads(handle_json(b'{"lesson": {"builtin": "1-1-1"}}'))["ok"] is True
    deep = "[" * 100000 + "]" * 100000
    assert json.loads(handle_json(deep))["ok"] is False
    many = json.dumps({"edits": {f"k{i}": "1" for i in range(5000)}})
    assert "more than the limit" in json.loads(handle_json(many))["error"]


def test_a_lesson_file_is_read_from_its_text(capsys):
    assert main(["example", "--template"]) == 0
    text = capsys.readouterr().out
    response = handle({"lesson": {"file": {"name": "net.toml", "text": text}},
                       "edits": {"w5": "0.5"}})  # fmt: skip
    assert response["ok"], response
    # the shared bias b1 is drawn once, feeding both hidden units, each in its own box
    (bias,) = response["network"]["biases"]
    assert bias["symbol"] == "b1" and len(bias["to"]) == 2
    hidden = response["network"]["columns"][1]["units"]
    assert [u["symbol"] for u in hidden] == ["out_h1", "out_h2"]
    assert len({u["y"] for u in hidden}) == 2
    net_h1 = 0.05 * 0.15 + 0.10 * 0.20 + 0.35
    assert by_name(response)["net_h1"] == pytest.approx(net_h1)


def test_a_formula_uses_the_users_names_and_never_an_unnamed_node():
    response = handle({"lesson": {"expr": FORMULA, "bindings": BINDINGS}, "edits": {"b": "1"}})
    assert response["ok"], response
    output, inputs = build_expression(
        FORMULA, [f"{k}={v}" for k, v in {**BINDINGS, "b": "1"}.items()]
    )
    expected = explain_value(output, title=FORMULA, inputs=inputs)
    assert [s["line"] for s in response["steps"]] == [q.line() for q in expected.quantities]
    f = math.tanh(2 * -3 + 0 * 1 + 1)
    assert by_name(response)["tanh(x1*w1 + x2*w2 + b)"] == pytest.approx(f)
    assert by_name(response)["d/d w1"] == pytest.approx(2 * (1 - f * f))
    text = json.dumps(response, ensure_ascii=False)
    assert "[*" not in text and "[+" not in text
    assert all(s["lights"] for s in response["steps"])  # every step lights its node


def test_every_step_lights_an_element_of_the_network():
    response = handle({"lesson": {"builtin": "softmax"}})
    net = response["network"]
    ids = {u["id"] for c in net["columns"] for u in c["units"]} | {e["id"] for e in net["edges"]}
    ids |= {"loss"} | {b["id"] for b in net["biases"]}
    for step in response["steps"]:
        assert step["lights"] and set(step["lights"] + step["reads"]) <= ids, step["name"]
    words = json.dumps([s["line"] for s in response["steps"]], ensure_ascii=False)
    assert "L0u0" not in words and "layers." not in words


def test_offline_page_embeds_the_response_and_allows_only_its_own_origin(tmp_path):
    path = tmp_path / "lab.html"
    lab_page({"lesson": {"builtin": "2-2-1"}}).write(path)
    page = path.read_text(encoding="utf-8")
    assert lab_data(page)["steps"][0]["name"] == "z1[0]"
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1)
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "http" not in csp
    assert '<script src="' not in page and '<link rel="stylesheet"' not in page  # one file
    # nothing to fetch from anywhere (the SVG namespace is a name, not an address)
    assert re.findall(r"https?://[^\s\"']*", page.replace("http://www.w3.org/2000/svg", "")) == []


def test_embedded_labels_cannot_end_the_script():
    response = handle({"lesson": {"expr": "x*y", "bindings": {"x": "1", "y": "2"}}})
    response["title"] = "</script><script>alert(1)</script>"
    page = page_html(response, offline=True, inline=True)
    assert page.count("</script>") == 2  # the data's and the page script's own


def test_jupyter_shows_the_offline_page_inline():
    html = lab_page({"lesson": {"builtin": "1-1-1"}})._repr_html_()
    assert html.startswith("<iframe") and "srcdoc=" in html and "<script" not in html


def test_the_lab_imports_without_numpy_and_graphviz():
    # Pyodide has neither. Until nn/__init__ and viz/__init__ import lazily, the packages are
    # entered without running their __init__ (which import the NumPy twin and the drawings).
    code = f"""
import importlib.util, sys
sys.modules["numpy"] = None
sys.modules["graphviz"] = None
for name in ("nn", "viz"):
    folder = {str(ROOT)!r} + "/" + name
    spec = importlib.util.spec_from_file_location(
        name, folder + "/__init__.py", submodule_search_locations=[folder])
    sys.modules[name] = importlib.util.module_from_spec(spec)  # __init__ not run
import viz.lab
response = viz.lab.handle({{"lesson": {{"builtin": "2-2-1"}}, "edits": {{"W2[0]": "0.65"}}}})
assert response["ok"], response
formula = {{"expr": "tanh(x1*w1 + b)", "bindings": {{"x1": "2", "w1": "-3", "b": "1"}}}}
assert viz.lab.handle({{"lesson": formula}})["ok"]
assert "<script" in viz.lab.page_html(response, offline=True, inline=True)
assert "numpy" not in [m for m in sys.modules if sys.modules[m] is not None]
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_lab_benchmark_runs_and_counts_the_steps(tmp_path):
    out = tmp_path / "lab.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_lab.py"), "--no-browser", "--runs", "1",
         "--json", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    # 2-2-1: 6 forward, 1 loss, 2 output error, 4 hidden errors, 9 gradients, 9 updates, 10 losses
    assert data["lessons"]["2-2-1"]["steps"] == 6 + 1 + 2 + 4 + 9 + 9 + 10
    assert data["offline_bytes"] > 0 and "offline page of 2-16-16-1" in result.stdout


@pytest.mark.parametrize(
    "argv, words",
    [
        (["lab", "nope"], "lesson.builtin: unknown lesson 'nope'"),
        (["lab", "2-2-1", "1-1-1"], "one lesson"),
        (["lab", "--expr", "tanh(x1*", "x1=2"], "column"),
        (["lab", "--expr", "x1*2", "x1=nan"], "not a finite number"),
        (["lab", "missing.toml"], "missing.toml"),
    ],
)  # fmt: skip
def test_lab_command_refuses_bad_input_in_one_line(capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("stepgrad: error: ") and words in err and err.count("\n") == 1


def test_lab_server_answers_only_its_page_and_api_and_stops_on_ctrl_c():
    import signal
    import urllib.error
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, "-m", "viz.cli", "lab", "1-1-1", "--no-open"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        page = urllib.request.urlopen(url, timeout=30).read().decode("utf-8")
        assert lab_data(page)["title"].startswith("1-1-1")
        body = json.dumps({"lesson": {"builtin": "1-1-1"}, "edits": {"w1": "abc"}}).encode()
        answer = json.loads(urllib.request.urlopen(url + "api", body, timeout=30).read())
        assert answer == {"ok": False, "version": 1, "error": "edits['w1']: 'abc' is not a number"}
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url + "../etc/passwd", timeout=30)
        assert missing.value.code == 404
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err and "stopped" in err


def test_the_heading_names_the_lesson_once():
    # The 2-2-1 lesson's title starts with its name: the heading is the title alone; a title
    # that does not (rnn's) follows the name.
    assert handle({"lesson": {"builtin": "2-2-1"}})["title"] == (
        "2-2-1 sigmoid network, squared error (the backpropagation case study)"
    )
    assert handle({"lesson": {"builtin": "rnn"}})["title"].startswith("rnn: A recurrent unit")
