"""The lab's picture in headless Chromium: labels never cover a box or each other, update steps
show the new weight, and training steps show the network after that many updates."""

from __future__ import annotations

import pytest

from tests.browser import ARTIFACTS, HAVE_CHROMIUM, NEEDS_CHROMIUM, start_chromium
from tests.lessons import wide_lesson
from tests.test_lab_browser import DESKTOP, PHONE, open_page
from tests.test_lab_picture import expected_pass, sgd_2_2_1
from viz.lab import handle, lab_page

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason=NEEDS_CHROMIUM)
pytest.importorskip("selenium.webdriver", reason="selenium is not installed")

# Every label of the picture (edge labels, the callout, the caption, column titles) and every
# box (units, the loss, shared biases), as page rectangles; the step's own texts' font sizes.
PICTURE = """
const box = e => {
  const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
const all = s => [...document.querySelectorAll(s)];
return {
  labels: all('#lab-picture .pic-label').map(e => [e.textContent, box(e)]),
  boxes: all('#lab-picture g.unit > rect').map(r => [r.parentNode.getAttribute('data-id'), box(r)]),
  edgeLabels: all('#lab-picture .edge-label').map(e => [e.getAttribute('data-edge'),
    [...e.querySelectorAll('tspan')].map(t => t.textContent).join(' ')]),
  units: Object.fromEntries(all('#lab-picture g.unit').map(g => [g.getAttribute('data-id'),
    [...g.querySelectorAll(':scope > text')].map(t => t.textContent)])),
  now: all('#lab-picture .callout text, #lab-picture .edge-label.now')
    .map(e => parseFloat(getComputedStyle(e).fontSize)),
  caption: (document.querySelector('#lab-picture .pic-caption') || {}).textContent,
};
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    ARTIFACTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


LESSONS = {
    "2-2-1": {"lesson": {"builtin": "2-2-1"}},
    "2-2-2": {"lesson": {"builtin": "2-2-2"}},
    "2-16-16-1": {"lesson": {"file": {"name": "w.json", "text": wide_lesson()}}},
}


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Each lesson's offline page and its response (to find steps by name)."""
    folder = tmp_path_factory.mktemp("pages")
    out = {}
    for name, request in LESSONS.items():
        path = folder / f"{name}.html"
        lab_page(request).write(path)
        out[name] = (path.resolve().as_uri(), handle(request))
    return out


def step_of(response, name):
    return next(s["index"] for s in response["steps"] if s["name"] == name) + 1


def show(browser, pages, lesson, step, size=DESKTOP):
    url, response = pages[lesson]
    number = step_of(response, step) if isinstance(step, str) else step
    open_page(browser, f"{url}#step={number}", size)
    return browser.execute_script(PICTURE)


def overlap(a, b, slack=0.5):
    across = a[0] + slack < b[2] and b[0] + slack < a[2]
    return across and a[1] + slack < b[3] and b[1] + slack < a[3]


# a forward step, a gradient step, an update step, a training step of each lesson
STEPS = {
    "2-2-1": ["z2", "loss", "delta1[0]", "dL/dW1[0][0]", "dL/dW2[1]", "W1[1][1] (updated)",
              "W2[1] (updated)", "loss after 5 updates"],
    "2-2-2": ["net_o1", "δ_o1", "dL/dw1", "dL/dw6",
              "w5 (updated)", "w1 (updated)", "loss after 3 updates"],
    "2-16-16-1": [40, "dL/dW1[0][0]", "dL/dW3[7]", "W1[5][1] (updated)",
                  "loss after 5 updates"],
}  # fmt: skip


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
@pytest.mark.parametrize("lesson", list(LESSONS))
def test_no_label_covers_a_box_or_another_label(browser, pages, lesson, size):
    response = pages[lesson][1]
    names = {s["name"] for s in response["steps"]}
    for step in STEPS[lesson]:
        assert isinstance(step, int) or step in names, step
        found = show(browser, pages, lesson, step, size)
        labels, boxes = found["labels"], found["boxes"]
        assert len(boxes) >= 5 and labels
        for k, (text, rect) in enumerate(labels):
            for other, box in boxes:
                assert not overlap(rect, box), (step, text, "covers", other)
            for text2, rect2 in labels[k + 1:]:
                assert not overlap(rect, rect2), (step, text, "covers", text2)
        # the step's own number is drawn, and large enough to read
        assert found["now"] and min(found["now"]) >= 11, step
    browser.save_screenshot(str(ARTIFACTS / f"lab-picture-{lesson}-{size[0]}x{size[1]}.png"))


def test_the_small_lessons_label_every_weight_on_a_desktop(browser, pages):
    found = show(browser, pages, "2-2-1", "dL/dW1[0][0]")
    assert {e for e, _ in found["edgeLabels"]} == {f"e1-{i}-{j}" for i in range(2)
                                                  for j in range(2)} | {"e2-0-0", "e2-1-0"}
    # the gradient in the lesson's words: ∂L/∂W1[0][0], never a lone ∂
    label = dict(found["edgeLabels"])["e1-0-0"]
    gradient = (0.5 - sgd_2_2_1(1)[0]["W1"][0][0]) / 0.1  # from the hand update W − η·∂L/∂W
    assert label.startswith("W1[0][0] = 0.5 ")
    assert number_after(label, "∂L/∂W1[0][0] =") == pytest.approx(gradient, rel=2e-6)
    found = show(browser, pages, "2-2-2", "dL/dw1")
    assert len(found["edgeLabels"]) == 8


def number_after(text, marker):
    return float(text.split(marker, 1)[1].split()[0].replace("−", "-"))


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
def test_an_update_step_shows_the_new_weight_on_its_edge(browser, pages, size):
    found = show(browser, pages, "2-2-1", "W2[1] (updated)", size)
    label = dict(found["edgeLabels"])["e2-1-0"]
    new = sgd_2_2_1(1)[0]["W2"][1]  # 0.7 − 0.1·∂L/∂W2[1], by hand
    assert label.startswith("W2[1] = 0.7") and "→" in label
    assert number_after(label, "→") == pytest.approx(new, rel=2e-6)
    if size == DESKTOP:  # an earlier update's edge keeps its new weight too
        w1 = dict(found["edgeLabels"])["e1-0-0"]
        assert number_after(w1, "→") == pytest.approx(sgd_2_2_1(1)[0]["W1"][0][0], rel=2e-6)
        # and the biases updated before this step show theirs
        rows = found["units"]["u1-0"]
        b10 = next(r for r in rows if r.startswith("b1[0] = 0.1"))
        assert number_after(b10, "→") == pytest.approx(sgd_2_2_1(1)[0]["b1"][0], rel=2e-6)


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
def test_a_training_step_shows_the_network_after_that_many_updates(browser, pages, size):
    found = show(browser, pages, "2-2-1", "loss after 5 updates", size)
    assert "after 5 updates" in found["caption"]
    want = expected_pass(5)  # plain-math gradient descent, 5 updates
    units = found["units"]
    y_row = next(r for r in units["u2-0"] if r.startswith("ŷ = "))
    assert number_after(y_row, "ŷ =") == pytest.approx(want["y_hat"], rel=2e-6)
    assert number_after(units["loss"][0], "L =") == pytest.approx(want["loss"], rel=2e-6)
    a10 = next(r for r in units["u1-0"] if r.startswith("a1[0] = "))
    assert number_after(a10, "=") == pytest.approx(want["a1[0]"], rel=2e-6)
    shown = " ".join(text for rows in units.values() for text in rows)
    assert "0.748649" not in shown and "0.0026369" not in shown  # the first pass's ŷ and L
    assert "δ" not in shown  # that pass's δ is not on the sheet: not drawn at all
    for edge, text in found["edgeLabels"]:
        symbol = text.split(" = ")[0]
        assert number_after(text, "=") == pytest.approx(want[symbol], rel=2e-6), edge
    if size == DESKTOP:
        assert len(found["edgeLabels"]) == 6
    # before training the picture is the first pass again
    found = show(browser, pages, "2-2-1", "loss", size)
    assert "before training" in found["caption"]
    assert number_after(found["units"]["loss"][0], "L =") == pytest.approx(
        sgd_2_2_1(0)[1]["L"], rel=2e-6)  # fmt: skip
    browser.save_screenshot(str(ARTIFACTS / f"lab-picture-training-{size[0]}x{size[1]}.png"))


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
@pytest.mark.parametrize("lesson", ["2-2-1", "2-2-2"])
def test_every_box_of_a_small_lesson_shows_its_output_at_both_sizes(browser, pages, lesson, size):
    # after the loss step every a is known; a box too narrow for "out_h1 = 0.59327" on one line
    # writes it on two, never leaves it out
    response = pages[lesson][1]
    found = show(browser, pages, lesson, "loss", size)
    values = response["values"]
    for column in response["network"]["columns"][1:]:
        for unit in column["units"]:
            shown = " ".join(found["units"][unit["id"]])
            assert shown.startswith(values[unit["a"]]["symbol"]), (unit["id"], shown)
            assert number_after(shown, "=") == pytest.approx(values[unit["a"]]["value"],
                                                             rel=2e-6)  # fmt: skip
    assert found["units"]["loss"], "the loss box is empty"
