"""The book's error term Err = -dE/dz in every view: sheet, network view and step page.

Err_o1 = (t1 - out_o1)·out_o1·(1 - out_o1) is computed here with plain ``math`` for the 2-2-2
network of ``tests/test_diagnosis``; every view must show that number under that name.
"""

from __future__ import annotations

import json
import math
import re

from nn.lesson import build_lesson
from nn.spec import parse_spec
from tests.test_diagnosis import W0, by_hand, spec


def err_lesson():
    lesson = spec()
    lesson["error_term"] = "-dL/dz"
    for layer, stem in zip(lesson["layers"], ("h", "o")):
        layer["symbols"]["delta"] = [f"Err_{stem}1", f"Err_{stem}2"]
    built = build_lesson(parse_spec(lesson))
    built.loss.backward()
    return built


HAND, _, _ = by_hand(W0)
ERR_O1 = -HAND["delta_o1"]  # (t1 - o1)·o1·(1 - o1), about -0.1385
ERR_H1 = -HAND["delta_h1"]


def test_hand_err_has_the_books_sign():
    o1 = HAND["out_o1"]
    assert math.isclose(ERR_O1, (0.01 - o1) * o1 * (1 - o1), rel_tol=1e-12) and ERR_O1 < 0


def test_the_network_view_shows_err_with_the_books_sign():
    from viz.draw import draw

    lesson = err_lesson()
    source = draw(lesson.loss, view="network", layout=lesson.layout()).source
    # drawings write 4 significant digits with an ASCII minus
    assert f"Err_o1 = {ERR_O1:.4g}" in source and f"{ERR_O1:.4g}".startswith("-0.138")
    assert f"Err_h1 = {ERR_H1:.4g}" in source
    assert f"Err_o1 = {-ERR_O1:.4g}" not in source


def test_the_step_page_steps_err_with_the_books_sign():
    from viz.steps import step_page

    lesson = err_lesson()
    page = step_page(lesson.loss, lr=lesson.lr, parameters=lesson.parameters,
                     layout=lesson.layout(), view="network")  # fmt: skip
    html = page.html()
    keys = re.findall(r'data-k="(e\d+)" data-pre="Err_o1 = "', html)
    assert len(keys) == 1
    data = json.loads(re.search(r'<script type="application/json" class="sg-data">(.*?)</script>',
                                html, re.S).group(1))  # fmt: skip
    shown = [value for step in data["steps"] for key, value in step["s"] if key == keys[0]]
    assert shown and shown[-1] == f"{ERR_O1:.4g}"
