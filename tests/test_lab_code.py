"""The lab's code view: each step's lines of the `--code` script, and the whole script."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from tests.test_lab_api import hand_2_2_1
from viz.lab import handle

Z1_0 = "z1_0 = x_0 * W1_0_0 + x_1 * W1_1_0 + b1_0"
Y_HAT = "y_hat = sigmoid(z2)"
DELTA2 = ["dy_hat_dz2 = y_hat * (1.0 - y_hat)", "d_z2 = dy_hat_dz2 * d_y_hat"]


def code_of(response: dict, name: str) -> list[str]:
    """A step's code lines without their comments (the local rule each applies)."""
    step = next(s for s in response["steps"] if s["name"] == name)
    return [line.split("  #")[0] for line in step["code"]]


def run(script: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                         timeout=60, check=True).stdout  # fmt: skip
    printed = {}
    for line in out.splitlines():
        symbol, value = line.rsplit(" = ", 1)
        printed[symbol] = float(value.replace("−", "-"))
    return printed


def test_2_2_1_steps_show_the_lines_computing_them():
    response = handle({"lesson": {"builtin": "2-2-1"}, "code": True})
    assert response["ok"], response
    assert code_of(response, "z1[0]") == [Z1_0]
    assert code_of(response, "y_hat") == [Y_HAT]
    assert code_of(response, "delta2") == DELTA2
    assert code_of(response, "loss") == ["v1 = t - y_hat", "loss = power(v1, 2.0)"]
    assert code_of(response, "W2[0] (updated)") == ["W2_0 = W2_0 - lr * d_W2_0"]
    # each step's lines are lines of the whole script
    lines = set(response["script"].splitlines())
    assert all(line in lines for s in response["steps"] for line in s.get("code", []))


def test_the_whole_script_runs_alone_and_prints_the_sheets_numbers():
    response = handle({"lesson": {"builtin": "2-2-1"}, "code": True})
    printed = run(response["script"])
    hand = hand_2_2_1()
    symbols = {s["name"]: s["symbol"] for s in response["steps"]}
    for name, value in hand.items():  # the case study by hand
        assert math.isclose(printed[symbols[name]], value, rel_tol=1e-3, abs_tol=1e-6), name
    # and every number before training is the page's own text of it
    sheet = {s["symbol"]: s["text"] for s in response["steps"] if s["section"] != "Training"}
    for symbol, value in printed.items():
        assert float(sheet[symbol].replace("−", "-")) == value, symbol


def test_edits_reach_the_script():
    response = handle({"lesson": {"builtin": "2-2-1"}, "edits": {"W2[0]": "0.65"}, "code": True})
    printed = run(response["script"])
    assert math.isclose(printed["δ2"], hand_2_2_1(0.65)["delta2"], rel_tol=1e-3)


def test_a_program_step_shows_its_statement():
    bindings = {"x": "1", "y": "2", "z": "-3"}
    request = {"lesson": {"expr": "q = x + y; f = q * z", "bindings": bindings}, "code": True}
    response = handle(request)
    assert response["ok"], response
    assert code_of(response, "q") == ["q = x + y"]
    assert code_of(response, "f") == ["f = q * z"]
    printed = run(response["script"])
    assert printed["f"] == (1 + 2) * -3 and printed["∂f/∂x"] == -3 and printed["∂f/∂z"] == 3


@pytest.mark.parametrize("lesson", [{"expr": "tanh(x1*w1 + b)",
                                     "bindings": {"x1": "2", "w1": "0.5", "b": "0.1"}},
                                    {"builtin": "rnn"}])  # fmt: skip
def test_formulas_and_program_lessons_get_a_script_that_runs(lesson):
    response = handle({"lesson": lesson, "code": True})
    assert response["ok"], response
    printed = run(response["script"])
    sheet = {s["symbol"]: s["text"] for s in response["steps"]}
    assert printed and all(float(sheet[k].replace("−", "-")) == v for k, v in printed.items())
    assert all(s["code"] for s in response["steps"] if s["symbol"] in printed)


def test_without_code_asked_the_response_has_none_and_bad_values_are_refused():
    response = handle({"lesson": {"builtin": "2-2-1"}})
    assert "script" not in response and all("code" not in s for s in response["steps"])
    bad = handle({"lesson": {"builtin": "2-2-1"}, "code": "yes"})
    assert not bad["ok"] and bad["error"].startswith("code: expected true or false")


def test_the_page_has_a_code_toggle_with_an_accessible_name():
    from pathlib import Path

    js = (Path(__file__).parent.parent / "viz" / "lab.js").read_text(encoding="utf-8")
    assert 'id: "lab-code", "aria-pressed": "false"' in js
    assert '"aria-label": "code: show the Python lines of each step"' in js


def test_the_code_view_works_without_numpy_as_on_the_site():
    from tests.test_no_numpy import _run

    out = _run(
        """
        from viz.lab import handle
        r = handle({"lesson": {"builtin": "2-2-1"}, "code": True})
        print(r["ok"], "script" in r, r["steps"][0]["code"][0])
        """
    )
    assert out.strip() == f"True True {Z1_0}"
