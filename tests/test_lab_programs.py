"""The lab shows programs of named steps: a program text and the program lessons (rnn, ...)."""

from __future__ import annotations

import math
import re
import threading
from importlib import resources
from pathlib import Path

import pytest

from nn.examples import PROGRAM_EXAMPLE_NAMES, build_example
from nn.program import looks_like_program
from tests.browser import ARTIFACTS, HAVE_CHROMIUM, NEEDS_CHROMIUM, start_chromium
from viz.cli import main
from viz.lab import DEFAULT_STEPS, handle, lesson_request
from viz.lab_server import LabServer
from viz.sheet import explain_lesson

CS231N = "q = x + y; f = q * z"
GIVEN = {"x": "-2", "y": "5", "z": "-4"}


def program_request(**edits: str) -> dict:
    return {"lesson": {"expr": CS231N, "bindings": GIVEN}, "edits": edits}


def values(response: dict) -> dict[str, float]:
    return {s["name"]: s["value"] for s in response["steps"]}


def node_of(response: dict, label: str) -> str:
    [node] = [n["id"] for n in response["graph"]["nodes"] if n["label"] == label]
    return node


def lines(response: dict) -> dict[str, str]:
    return {s["name"]: s["line"] for s in response["steps"]}


def hand_cs231n(x: float, y: float, z: float) -> dict[str, float]:
    """f = (x + y)·z by hand: ∂f/∂q = z, ∂f/∂x = ∂f/∂y = z (q = x + y), ∂f/∂z = q."""
    q = x + y
    return {"q": q, "f": q * z, "df/dq": z, "df/dx": z, "df/dy": z, "df/dz": q}


def hand_rnn(wx: float = 0.5) -> dict[str, float]:
    """The rnn lesson by hand (x1 = 1, h0 = 0, x2 = −0.5, y = 0.8, wh = −0.3, b = 0.1)."""
    x1, h0, x2, y, wh, b = 1.0, 0.0, -0.5, 0.8, -0.3, 0.1
    h1 = math.tanh(wx * x1 + wh * h0 + b)
    h2 = math.tanh(wx * x2 + wh * h1 + b)
    dh2 = h2 - y  # L = ½(h2 − y)²
    dh1 = dh2 * (1 - h2**2) * wh
    dwx = dh2 * (1 - h2**2) * x2 + dh1 * (1 - h1**2) * x1
    return {"h1": h1, "h2": h2, "L": 0.5 * (h2 - y) ** 2, "dL/dh2": dh2, "dL/dh1": dh1,
            "dL/dwx": dwx, "wx (updated)": wx - 0.5 * dwx}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# A program text
# ---------------------------------------------------------------------------------------------


def test_the_cs231n_program_steps_through_its_values_and_gradients():
    response = handle(program_request())
    assert response["ok"], response.get("error")
    got, hand = values(response), hand_cs231n(-2, 5, -4)
    assert hand["q"] == 3 and hand["f"] == -12 and hand["df/dx"] == -4 and hand["df/dz"] == 3
    for name, value in hand.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name
    shown = lines(response)
    assert shown["q"] == "q = x + y = (−2) + 5 = 3"
    assert shown["f"] == "f = q·z = 3·(−4) = −12"
    assert shown["df/dx"] == "∂f/∂x = ∂f/∂q·∂q/∂x = (−4)·1 = −4"
    # the forward steps come first, then the local derivatives, then the gradients
    names = [s["name"] for s in response["steps"]]
    assert names.index("f") < names.index("dq/dx") < names.index("df/dq") < names.index("df/dx")


def test_the_picture_is_the_graph_of_the_named_steps_and_each_step_lights_its_nodes():
    response = handle(program_request())
    graph = response["graph"]
    labels = {n["id"]: n["label"] for n in graph["nodes"]}
    assert sorted(labels.values()) == ["f", "q", "x", "y", "z"]  # one box per name, no others
    edges = sorted((labels[e["from"]], labels[e["to"]]) for e in graph["edges"])
    assert edges == [("q", "f"), ("x", "q"), ("y", "q"), ("z", "f")]
    x_of = {labels[n["id"]]: n["x"] for n in graph["nodes"]}
    assert x_of["x"] < x_of["q"] < x_of["f"] and x_of["z"] < x_of["f"]  # inputs left
    for n in graph["nodes"]:
        assert 0 < n["x"] < 1 and 0 < n["y"] < 1
    steps = {s["name"]: s for s in response["steps"]}
    assert steps["q"]["lights"] == [node_of(response, "q")]
    assert set(steps["q"]["reads"]) == {node_of(response, "x"), node_of(response, "y")}
    assert steps["df/dz"]["lights"] == [node_of(response, "z")]
    assert node_of(response, "f") in steps["df/dz"]["reads"]  # the gradient comes from f
    # q's box shows its data from its own step on, its grad from ∂f/∂q's
    q = next(n for n in graph["nodes"] if n["label"] == "q")
    assert response["values"][q["value_name"]]["step"] == steps["q"]["index"]
    assert response["values"][q["grad_name"]]["step"] == steps["df/dq"]["index"]
    assert [e["symbol"] for e in response["editable"]] == ["x", "y", "z"]
    assert response["curve"] == []


def test_editing_x_recomputes_with_the_engine():
    response = handle(program_request(x="1"))
    assert response["ok"], response.get("error")
    got, hand = values(response), hand_cs231n(1, 5, -4)
    assert hand["q"] == 6 and hand["f"] == -24
    for name, value in hand.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name
    assert lines(response)["q"] == "q = x + y = 1 + 5 = 6"
    assert response["request"]["edits"] == {"x": "1"}


@pytest.mark.parametrize(
    ("edits", "words"),
    [({"w": "1"}, ["'w'", "x, y, z"]), ({"x": "nan"}, ["edits['x']", "not a number"]),
     ({"x": "1e400"}, ["edits['x']"]), ({"q": "1"}, ["'q'"])],
)  # fmt: skip
def test_a_bad_edit_of_a_program_gets_one_line(edits, words):
    response = handle(program_request(**edits))
    assert response["ok"] is False
    assert "\n" not in response["error"]
    for word in words:
        assert word in response["error"]


@pytest.mark.parametrize(
    ("lesson", "where"),
    [({"expr": "q = x +; f = q", "bindings": {}}, "column"),
     ({"expr": CS231N, "bindings": {"x": "1", "y": "2"}}, "z"),
     ({"expr": CS231N, "bindings": {"x": "1", "y": "2", "z": "3", "w": "4"}}, "w")],
)  # fmt: skip
def test_a_bad_program_or_binding_gets_one_line(lesson, where):
    response = handle({"lesson": lesson})
    assert response["ok"] is False and "\n" not in response["error"]
    assert where in response["error"]


def test_the_program_check_lives_in_nn_program():
    assert looks_like_program(CS231N) and looks_like_program("q = x + y\nf = q * z")
    assert not looks_like_program("tanh(x1*w1 + b)") and not looks_like_program("x <= y")


# ---------------------------------------------------------------------------------------------
# The program lessons
# ---------------------------------------------------------------------------------------------


def test_the_rnn_lessons_steps_are_its_sheet_in_order_and_text():
    response = handle({"lesson": {"builtin": "rnn"}})
    assert response["ok"], response.get("error")
    explanation = explain_lesson(build_example("rnn"), steps=DEFAULT_STEPS)
    sheet = [*explanation.quantities, *explanation.training]
    assert [s["name"] for s in response["steps"]] == [q.name for q in sheet]
    assert [s["line"] for s in response["steps"]] == [q.line() for q in sheet]
    sections = [s["name"] for s in response["sections"]]
    assert sections[:4] == ["Forward pass", "Loss", "Local derivatives", "Gradients"]
    assert sections[-1] == "Training" and len(response["curve"]) == DEFAULT_STEPS + 1
    got = values(response)
    for name, value in hand_rnn().items():
        assert got[name] == pytest.approx(value, rel=1e-12), name
    labels = sorted(n["label"] for n in response["graph"]["nodes"])
    assert labels == sorted(["x1", "h0", "x2", "y", "wx", "wh", "b", "h1", "h2", "L"])
    editable = [e["symbol"] for e in response["editable"]]
    assert editable == ["x1", "h0", "x2", "y", "wx", "wh", "b", "η"]
    assert all(s["lights"] for s in response["steps"])  # every step lights a box


def test_editing_wx_recomputes_h1_and_h2():
    response = handle({"lesson": {"builtin": "rnn"}, "edits": {"wx": "0.8"}})
    assert response["ok"], response.get("error")
    got = values(response)
    for name, value in hand_rnn(0.8).items():
        assert got[name] == pytest.approx(value, rel=1e-12), name
    assert got["h1"] == pytest.approx(math.tanh(0.8 + 0.1), rel=1e-12)


def test_the_learning_rate_is_editable_and_checked():
    response = handle({"lesson": {"builtin": "rnn"}, "lr": "0.1"})
    hand = hand_rnn()
    assert values(response)["wx (updated)"] == pytest.approx(0.5 - 0.1 * hand["dL/dwx"])
    bad = handle({"lesson": {"builtin": "rnn"}, "lr": "-1"})
    assert bad["ok"] is False and "learning rate" in bad["error"]


@pytest.mark.parametrize(
    ("edits", "words"),
    [({"wq": "1"}, ["'wq'", "wx"]), ({"wx": "nan"}, ["edits['wx']"]),
     ({"h1": "0.5"}, ["'h1'"])],
)  # fmt: skip
def test_a_bad_edit_of_a_lesson_gets_one_line(edits, words):
    response = handle({"lesson": {"builtin": "rnn"}, "edits": edits})
    assert response["ok"] is False and "\n" not in response["error"]
    for word in words:
        assert word in response["error"]


@pytest.mark.parametrize("name", PROGRAM_EXAMPLE_NAMES)
def test_every_program_lesson_draws_a_box_per_name_and_lights_every_step(name):
    response = handle({"lesson": {"builtin": name}, "steps": 3})
    assert response["ok"], response.get("error")
    spec = build_example(name).spec.program
    names = re.findall(r"^\s*(\w+)\s*=", spec.text, re.M) + [n for n, _ in spec.given]
    shown = dict(spec.symbols)
    labels = [n["label"] for n in response["graph"]["nodes"]]
    assert sorted(labels) == sorted(shown.get(n, n) for n in names)
    ids = {n["id"] for n in response["graph"]["nodes"]}
    for step in response["steps"]:
        assert step["lights"] and set(step["lights"] + step["reads"]) <= ids, step["name"]
    # no internal id or unnamed node in anything the page writes as text
    texts = [s["line"] for s in response["steps"]] + labels
    texts += [e["label"] for e in response["editable"]]
    for text in texts:
        assert not re.search(r"\[[^\]]*=|#\d|L0u0|layers\.|\bn\d+\b", text), text


def test_a_lesson_file_with_a_program_works_like_the_built_in():
    text = resources.files("nn").joinpath("lessons/rnn.toml").read_text(encoding="utf-8")
    from_file = handle({"lesson": {"file": {"name": "mine.toml", "text": text}}})
    built_in = handle({"lesson": {"builtin": "rnn"}})
    assert from_file["ok"], from_file.get("error")
    assert [s["line"] for s in from_file["steps"]] == [s["line"] for s in built_in["steps"]]
    edited = handle({"lesson": {"file": {"name": "mine.toml", "text": text}},
                     "edits": {"wx": "0.8"}})  # fmt: skip
    assert values(edited)["h2"] == pytest.approx(hand_rnn(0.8)["h2"], rel=1e-12)


def test_lesson_request_names_every_built_in_lesson():
    assert handle(lesson_request("softmax-ce"))["ok"]
    unknown = handle({"lesson": {"builtin": "lstm"}})
    assert unknown["ok"] is False and "rnn" in unknown["error"]


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def _serve_once(monkeypatch) -> list[LabServer]:
    """Make LabServer stop at once (as after Ctrl-C); returns the servers made."""
    made: list[LabServer] = []

    def stop(self, poll_interval=0.5):
        made.append(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(LabServer, "serve_forever", stop)
    return made


def test_stepgrad_lab_rnn_and_a_program_serve_their_pages(monkeypatch, capsys):
    made = _serve_once(monkeypatch)
    assert main(["lab", "rnn", "--no-open"]) == 0
    assert main(["lab", "--expr", CS231N, "x=-2", "y=5", "z=-4", "--no-open"]) == 0
    assert len(made) == 2
    rnn_page, program_page = (server.page.decode("utf-8") for server in made)
    assert "h2 = tanh(wx·x2 + wh·h1 + b)" in rnn_page
    assert "q = x + y = (−2) + 5 = 3" in program_page
    assert "serving http://127.0.0.1:" in capsys.readouterr().out


def test_stepgrad_lab_refuses_a_bad_program_in_one_line(capsys):
    assert main(["lab", "--expr", CS231N, "x=-2", "y=5", "--no-open"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "z" in err


def test_trace_graph_html_of_a_program_writes_the_lab_page(tmp_path, capsys):
    path = tmp_path / "cs231n.html"
    assert main(["trace", CS231N, "x=-2", "y=5", "z=-4", "--graph", str(path)]) == 0
    page = path.read_text(encoding="utf-8")
    assert '"kind":"program"' in page.replace(" ", "") and "f = q·z = 3·(−4) = −12" in page


# ---------------------------------------------------------------------------------------------
# In a browser
# ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(not HAVE_CHROMIUM, reason=NEEDS_CHROMIUM)
def test_the_rnn_lesson_renders_steps_and_fits_a_phone(tmp_path):
    pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server = LabServer({"lesson": {"builtin": "rnn"}}, 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)  # fmt: skip
    thread.start()
    driver = start_chromium(tmp_path / "p")
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 390, "height": 844, "deviceScaleFactor": 1,
                                "mobile": True})  # fmt: skip
        driver.get(server.url)
        WebDriverWait(driver, 20).until(
            lambda d: d.execute_script("return document.querySelectorAll('#lab-steps button')"
                                       ".length") == 28  # fmt: skip
        )
        live = driver.find_element(By.ID, "lab-live")
        assert live.text.startswith("h1 = tanh(wx·x1 + wh·h0 + b)")
        driver.find_element(By.ID, "lab-next").click()
        assert live.text.startswith("h2 = tanh(wx·x2 + wh·h1 + b)")
        assert driver.find_element(By.ID, "lab-count").text == "step 2 of 28"
        found = driver.execute_script("""
            const box = e => { const r = e.getBoundingClientRect();
                               return [r.left, r.top, r.right, r.bottom]; };
            return {figure: box(document.getElementById('lab-figure')),
                    win: [innerWidth, innerHeight],
                    nodes: [...document.querySelectorAll('#lab-picture g.graph-node')].map(
                      g => [g.querySelector('text').textContent, box(g.querySelector('rect')),
                            g.getAttribute('class')]),
                    scrollWidth: document.documentElement.scrollWidth};""")
        width, height = found["win"]
        figure = found["figure"]
        assert figure[0] >= 0 and figure[2] <= width and figure[1] >= 0 and figure[3] <= height
        assert found["scrollWidth"] <= width
        labels = sorted(label for label, _, _ in found["nodes"])
        assert labels == sorted(["x1", "h0", "x2", "y", "wx", "wh", "b", "h1", "h2", "L"])
        for label, box, _ in found["nodes"]:
            assert figure[0] - 0.5 <= box[0] and box[2] <= figure[2] + 0.5, (label, box)
            assert figure[1] - 0.5 <= box[1] and box[3] <= figure[3] + 0.5, (label, box)
        classes = {label: cls for label, _, cls in found["nodes"]}
        assert "now" in classes["h2"] and "reads" in classes["h1"] and "reads" in classes["wx"]
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "lab-rnn-390x844.png"))
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()


def test_the_offline_page_of_a_built_program_lesson_keeps_its_changed_numbers(tmp_path):
    from nn.lesson import build_lesson
    from viz.lab import lesson_page

    lesson = build_lesson(build_example("rnn").spec, lr=0.1, parameters={"wx": 0.8})
    page = lesson_page(lesson)
    assert page.response["request"]["edits"] == {"wx": "0.8", "η": "0.1"}
    got = values(page.response)
    hand = hand_rnn(0.8)
    assert got["h2"] == pytest.approx(hand["h2"], rel=1e-12)
    assert got["wx (updated)"] == pytest.approx(0.8 - 0.1 * hand["dL/dwx"], rel=1e-12)
    path = page.write(tmp_path / "rnn.html")
    assert "h1 = tanh(wx·x1 + wh·h0 + b)" in Path(path).read_text(encoding="utf-8")
