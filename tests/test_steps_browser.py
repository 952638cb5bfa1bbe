"""The step page in a real browser (headless Chromium): steps, view, numbers, no network."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from autograd import topological_order
from nn.examples import build_example
from tests.browser import ARTIFACTS, HAVE_CHROMIUM, NEEDS_CHROMIUM, start_chromium
from tests.test_render import cell, expected_2_2_1
from viz.graph_command import example_layout
from viz.steps import step_page

pytestmark = [
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=NEEDS_CHROMIUM),
    pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed"),
]

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

# Hand count for 2-2-1 (see tests/test_page.py): 15 forward, 2 loss, 17 backward, 9 updates.
FORWARD_AND_LOSS, BACKWARD, UPDATE = 17, 17, 9
TOTAL = FORWARD_AND_LOSS + BACKWARD + UPDATE
DESKTOP, PHONE = (1280, 800), (390, 844)

# Where the current step's element is, against the visible view and the window.
WHERE = """
const view = document.querySelector(".sg-view:not([hidden])");
const cur = view.querySelector(".sg-cur");
const box = e => { const r = e.getBoundingClientRect();
                   return [r.left, r.top, r.right, r.bottom]; };
return { cur: cur ? box(cur) : null, view: box(view), win: [innerWidth, innerHeight],
         counter: document.querySelector(".sg-counter").textContent,
         transform: view.querySelector(".sg-canvas").style.transform };
"""
# Every named text of the computation graph: key (d3, g3: data, grad of node v3) -> its text.
TEXTS = """
const out = {};
document.querySelectorAll('.sg-view[data-view="graph"] text[data-k]').forEach(t => {
  out[t.getAttribute("data-k")] = t.textContent; });
return out;
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"), logs=True)
    ARTIFACTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def example():
    return build_example("2-2-1")


@pytest.fixture(scope="module")
def pages(example, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    plain = step_page(
        example.loss, lr=example.lr, parameters=example.parameters, layout=example_layout(example)
    )
    collapsed = step_page(
        example.loss, lr=example.lr, collapse=True, layout=example_layout(example)
    )
    return {
        "plain": plain.write(folder / "steps.html").resolve().as_uri(),
        "collapsed": collapsed.write(folder / "collapsed.html").resolve().as_uri(),
    }


def open_page(driver, url, size):
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    driver.get("about:blank")  # a new load even when only the size changed
    driver.get(url)


def inside(inner, outer, slack=0.5):
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


def check_current_in_view(driver, step):
    where = driver.execute_script(WHERE)
    assert where["counter"] == f"step {step} of {TOTAL}"
    assert where["cur"] is not None, f"step {step}: nothing is marked current"
    window = [0, 0, *where["win"]]
    assert inside(where["cur"], where["view"]), f"step {step}: {where}"
    assert inside(where["view"], window), f"step {step}: the view leaves the window {where}"
    return where


def view_pixels(driver):
    return driver.find_element(By.CSS_SELECTOR, ".sg-view:not([hidden])").screenshot_as_png


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
def test_each_step_keeps_its_node_in_view_and_changes_the_picture(browser, pages, size):
    open_page(browser, pages["plain"], size)
    tag = f"{size[0]}x{size[1]}"
    body = browser.find_element(By.TAG_NAME, "body")
    next_button = browser.find_element(By.CSS_SELECTOR, ".sg-next")
    before = view_pixels(browser)
    check_current_in_view(browser, 1)
    (ARTIFACTS / f"page-{tag}-step-01.png").write_bytes(browser.get_screenshot_as_png())
    for step in range(2, FORWARD_AND_LOSS + BACKWARD + 1):
        if step <= FORWARD_AND_LOSS:
            body.send_keys(Keys.ARROW_RIGHT)  # the forward pass and the loss by keys
        else:
            next_button.click()  # the backward pass by the button
        check_current_in_view(browser, step)
        after = view_pixels(browser)
        assert after != before, f"step {step} looks exactly like step {step - 1}"
        before = after
        if step in (FORWARD_AND_LOSS, FORWARD_AND_LOSS + 4):
            (ARTIFACTS / f"page-{tag}-step-{step:02d}.png").write_bytes(
                browser.get_screenshot_as_png()
            )


def test_numbers_shown_are_the_engines(browser, pages, example):
    open_page(browser, pages["plain"], DESKTOP)
    order = topological_order(example.loss)  # node vK of the drawing is order[K]
    expected = expected_2_2_1()
    parts = browser.find_elements(By.CSS_SELECTOR, ".sg-parts button")
    assert [b.text.rsplit(" ", 1)[0] for b in parts] == [
        "Forward pass", "Loss", "Backward pass", "Update"
    ]  # fmt: skip
    # step 1: only the first product is computed; no gradient anywhere yet
    texts = browser.execute_script(TEXTS)
    first = order.index(example.nodes["x[0]*W1[0][0]"])
    assert texts[f"d{first}"] == "data 0.25"  # 0.5 * 0.5 by hand
    assert [k for k, v in enumerate(order) if texts[f"d{k}"] == "data"] == [
        k for k, v in enumerate(order) if not v.is_leaf and k != first
    ]
    assert set(t for k, t in texts.items() if k.startswith("g")) == {"grad"}
    # the last backward step: every data and grad as derived by hand
    parts[3].click()
    browser.find_element(By.CSS_SELECTOR, ".sg-prev").click()
    assert browser.execute_script(WHERE)["counter"] == f"step {TOTAL - UPDATE} of {TOTAL}"
    texts = browser.execute_script(TEXTS)
    for k, v in enumerate(order):
        data, grad = expected[v.label]
        assert (texts[f"d{k}"], texts[f"g{k}"]) == (cell("data", data), cell("grad", grad))
    # the end of the update: each parameter is p - 0.1 * dL/dp
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.END)
    texts = browser.execute_script(TEXTS)
    for p in example.parameters:
        data, grad = expected[p.label]
        assert texts[f"d{order.index(p)}"] == cell("data", data - 0.1 * grad), p.label
    assert not browser.find_element(By.CSS_SELECTOR, ".sg-next").is_enabled()
    (ARTIFACTS / "page-1280x800-update.png").write_bytes(browser.get_screenshot_as_png())


def test_collapsed_neurons_light_up_at_every_step(browser, pages):
    open_page(browser, pages["collapsed"], PHONE)
    body = browser.find_element(By.TAG_NAME, "body")
    before = view_pixels(browser)
    boxes_lit = 0
    for step in range(1, FORWARD_AND_LOSS + 6):
        if step > 1:
            body.send_keys(Keys.ARROW_RIGHT)
            after = view_pixels(browser)
            assert after != before, f"collapsed page: step {step} changes nothing in the picture"
            before = after
        check_current_in_view(browser, step)
        name = browser.execute_script(
            "return document.querySelector('.sg-view .sg-cur').getAttribute('data-n')"
        )
        boxes_lit += name.startswith("n")
    # the 15 forward steps are all inside a neuron; backward: loss, t - y_hat, then y_hat, z2 and
    # the partial sum W2[0]*a1[0] + W2[1]*a1[1] inside the output neuron
    assert boxes_lit == 15 + 3
    (ARTIFACTS / "collapsed-390x844-backward.png").write_bytes(browser.get_screenshot_as_png())


def test_zoom_and_pan_by_wheel_drag_buttons_and_keys(browser, pages):
    open_page(browser, pages["plain"], DESKTOP)

    def scale_and_shift():
        transform = browser.execute_script(WHERE)["transform"]
        shift, scale = transform.split(" scale(")
        x, y = (float(t.strip(" px")) for t in shift[len("translate(") : -1].split(","))
        return float(scale.rstrip(")")), x, y

    fitted = scale_and_shift()
    assert fitted[0] >= 0.7  # fit stays legible: the 2-2-1 graph is too wide to fit whole
    view = browser.find_element(By.CSS_SELECTOR, ".sg-view")
    browser.find_element(By.CSS_SELECTOR, ".sg-zoom-in").click()
    assert scale_and_shift()[0] == pytest.approx(fitted[0] * 1.25)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("-")
    assert scale_and_shift()[0] == pytest.approx(fitted[0])
    ActionChains(browser).scroll_to_element(view).scroll_from_origin(
        webdriver.common.actions.wheel_input.ScrollOrigin.from_element(view), 0, -200
    ).perform()
    assert scale_and_shift()[0] > fitted[0]  # wheel up zooms in
    body.send_keys("0")
    assert scale_and_shift() == pytest.approx(fitted)  # fit again, same place
    ActionChains(browser).drag_and_drop_by_offset(view, 300, 40).perform()
    dragged = scale_and_shift()
    assert dragged[1:] == pytest.approx((fitted[1] + 300, fitted[2] + 40))
    body.send_keys(Keys.SHIFT, Keys.ARROW_RIGHT)
    assert scale_and_shift()[1] == pytest.approx(dragged[1] - 80)
    # panned far away: the next step brings its node back into view
    for _ in range(12):
        body.send_keys(Keys.SHIFT, Keys.ARROW_LEFT)
    body.send_keys(Keys.ARROW_RIGHT)
    check_current_in_view(browser, 2)
    body.send_keys(Keys.HOME)
    assert not browser.find_element(By.CSS_SELECTOR, ".sg-prev").is_enabled()


def test_the_network_view_follows_the_same_steps(browser, pages, example):
    open_page(browser, pages["plain"], PHONE)
    buttons = browser.find_elements(By.CSS_SELECTOR, ".sg-views button")
    assert [b.text for b in buttons] == ["Computation graph", "Network"]
    buttons[1].click()
    assert browser.find_element(By.CSS_SELECTOR, '.sg-view[data-view="graph"]').get_attribute(
        "hidden"
    )
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.PAGE_DOWN, Keys.PAGE_DOWN)  # to the first step of the backward part
    check_current_in_view(browser, FORWARD_AND_LOSS + 1)
    before = view_pixels(browser)
    for step in range(FORWARD_AND_LOSS + 2, FORWARD_AND_LOSS + BACKWARD + 1):
        body.send_keys(Keys.ARROW_RIGHT)
        check_current_in_view(browser, step)
        after = view_pixels(browser)
        assert after != before, f"network view: step {step} looks like the one before"
        before = after
    (ARTIFACTS / "network-390x844-backward-end.png").write_bytes(browser.get_screenshot_as_png())
    # every δ (dL/dz of a unit) as derived by hand, as the learner reads it in the circles
    texts = browser.execute_script(
        "return Array.from(document.querySelectorAll('.sg-view[data-view=network] text'))"
        ".map(t => t.textContent)"
    )
    expected = expected_2_2_1()
    for unit, z in (("1[0]", "z1[0]"), ("1[1]", "z1[1]"), ("2", "z2")):
        assert f"δ{unit} = {expected[z][1]:.4g}" in texts
    body.send_keys("v")  # back to the graph, same step
    assert browser.find_element(By.CSS_SELECTOR, '.sg-view[data-view="network"]').get_attribute(
        "hidden"
    )
    check_current_in_view(browser, FORWARD_AND_LOSS + BACKWARD)


def test_the_page_makes_no_network_request(browser, pages):
    browser.get_log("performance")  # forget what earlier tests loaded
    open_page(browser, pages["plain"], DESKTOP)
    browser.find_element(By.CSS_SELECTOR, ".sg-next").click()
    requests = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    assert requests and set(requests) <= {"about:blank", pages["plain"]}, requests
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []  # no script error, nothing refused by the page's security policy


def test_two_inline_steppers_in_one_notebook_page_step_on_their_own(browser, example, tmp_path):
    # what Jupyter does with _repr_html_: the fragments go into one page, one after the other
    first = step_page(example.loss, layout=example_layout(example))
    second = step_page(example.loss, lr=0.1, layout=example_layout(example))
    path = tmp_path / "notebook.html"
    path.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        f"<div class='output'>{first._repr_html_()}</div>"
        f"<div class='output'>{second._repr_html_()}</div></body></html>",
        encoding="utf-8",
    )
    open_page(browser, path.resolve().as_uri(), DESKTOP)
    counters = browser.find_elements(By.CSS_SELECTOR, ".sg-counter")
    assert [c.text for c in counters] == [f"step 1 of {TOTAL - UPDATE}", f"step 1 of {TOTAL}"]
    steppers = browser.find_elements(By.CSS_SELECTOR, ".sg-stepper")
    steppers[1].find_element(By.CSS_SELECTOR, ".sg-next").click()
    steppers[1].send_keys(Keys.ARROW_RIGHT)  # keys go to the stepper that has the focus
    assert [c.text for c in counters] == [f"step 1 of {TOTAL - UPDATE}", f"step 3 of {TOTAL}"]
    assert browser.execute_script("return location.hash") == ""  # a notebook's address stays
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_on_a_phone_two_fingers_pinch_to_zoom_and_one_drags(browser, pages):
    open_page(browser, pages["plain"], PHONE)
    browser.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})

    def touch(kind, points):
        browser.execute_cdp_cmd(
            "Input.dispatchTouchEvent",
            {
                "type": kind,
                "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)],
            },
        )

    def scale_and_shift():
        transform = browser.execute_script(WHERE)["transform"]
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", transform)]
        return numbers[2], numbers[0], numbers[1]  # scale, x, y

    before = scale_and_shift()
    touch("touchStart", [(150, 400), (250, 400)])
    for k in range(1, 6):  # the fingers move apart: 100 px -> 200 px
        touch("touchMove", [(150 - 10 * k, 400), (250 + 10 * k, 400)])
    touch("touchEnd", [])
    pinched = scale_and_shift()
    assert pinched[0] == pytest.approx(2 * before[0], abs=0.01)
    touch("touchStart", [(200, 400)])
    touch("touchMove", [(150, 420)])
    touch("touchEnd", [])
    assert scale_and_shift() == pytest.approx(
        (pinched[0], pinched[1] - 50, pinched[2] + 20), abs=0.01
    )
    browser.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})
