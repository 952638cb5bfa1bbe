"""The lab page in a real browser (headless Chromium), served by `stepgrad lab` on 127.0.0.1."""

from __future__ import annotations

import json
import math
import threading
import time

import pytest

from nn.examples import build_example
from tests.browser import ARTIFACTS, HAVE_CHROMIUM, NEEDS_CHROMIUM, start_chromium
from tests.lessons import wide_lesson
from tests.test_lab_api import hand_2_2_1
from viz.example_command import TEMPLATE
from viz.lab import DEFAULT_STEPS, lab_page
from viz.lab_server import LabServer
from viz.sheet import explain_lesson

DESKTOP, PHONE = (1280, 800), (390, 844)

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason=NEEDS_CHROMIUM)

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

STEP_TEXTS = "return [...document.querySelectorAll('#lab-steps button')]" \
             ".map(b => b.firstChild ? b.firstChild.textContent : '');"  # fmt: skip
BOXES = """
const box = e => {
  const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
const all = s => [...document.querySelectorAll(s)];
const size = e => parseFloat(getComputedStyle(e).fontSize);
return {
  units: all('#lab-picture g.unit').map(g => [g.getAttribute('data-id'),
                                              box(g.querySelector('rect'))]),
  figure: box(document.getElementById('lab-figure')), win: [innerWidth, innerHeight],
  callout: all('#lab-picture .callout text').map(size),
  live: size(document.querySelector('#lab-live .val')),
  scrollWidth: document.documentElement.scrollWidth };
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"), logs=True)
    ARTIFACTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


def serve(request):
    server = LabServer(request, 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)  # fmt: skip
    thread.start()
    return server


@pytest.fixture(scope="module")
def lab():
    server = serve({"lesson": {"builtin": "2-2-1"}})
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def template_lab():
    text = TEMPLATE
    server = serve({"lesson": {"file": {"name": "net.toml", "text": text}}})
    yield server
    server.shutdown()
    server.server_close()


def open_page(driver, url, size=DESKTOP):
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    driver.get("about:blank")
    driver.get(url)
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.querySelectorAll('#lab-steps button').length")
    )


def counter(driver):
    return driver.find_element(By.ID, "lab-count").text


def step_value(driver, symbol):
    """The number at the end of the step list's line for ``symbol`` (as the page shows it)."""
    for text in driver.execute_script(STEP_TEXTS):
        if text.startswith(symbol + " = "):
            return float(text.rsplit(" = ", 1)[1].replace("−", "-"))
    raise AssertionError(f"no step for {symbol}")


def test_the_step_list_is_the_sheet_in_its_order_and_words(browser, lab):
    open_page(browser, lab.url)
    explanation = explain_lesson(build_example("2-2-1"), steps=DEFAULT_STEPS)
    expected = [q.line() for q in (*explanation.quantities, *explanation.training)]
    assert browser.execute_script(STEP_TEXTS) == expected
    # the printed-number marks sit on the numbers the case study printed
    marks = browser.find_elements(By.CSS_SELECTOR, "#lab-steps button .x")
    assert marks and "printed 0.31" in marks[0].text


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
@pytest.mark.parametrize("lesson", ["2-2-1", "wide"])
def test_the_whole_network_is_in_view_and_the_steps_numbers_are_legible(browser, size, lesson,
                                                                        tmp_path):  # fmt: skip
    if lesson == "wide":
        path = tmp_path / "wide.html"
        lab_page({"lesson": {"file": {"name": "w.json", "text": wide_lesson()}}}).write(path)
        url = path.resolve().as_uri() + "#step=40"
    else:
        path = tmp_path / "a.html"
        lab_page({"lesson": {"builtin": "2-2-1"}}).write(path)
        url = path.resolve().as_uri() + "#step=12"
    open_page(browser, url, size)
    found = browser.execute_script(BOXES)
    width, height = found["win"]
    figure = found["figure"]
    assert figure[0] >= 0 and figure[2] <= width and figure[3] - figure[1] <= height
    assert found["scrollWidth"] <= width  # nothing runs off the side
    assert len(found["units"]) >= (35 if lesson == "wide" else 6)
    for name, box in found["units"]:
        assert figure[0] - 0.5 <= box[0] and box[2] <= figure[2] + 0.5, (name, box, figure)
        assert figure[1] - 0.5 <= box[1] and box[3] <= figure[3] + 0.5, (name, box, figure)
    assert found["callout"] and min(found["callout"]) >= 11 and found["live"] >= 11
    browser.save_screenshot(str(ARTIFACTS / f"lab-{lesson}-{size[0]}x{size[1]}.png"))


def test_editing_w2_0_recomputes_every_later_number_and_keeps_the_step(browser, lab):
    open_page(browser, lab.url + "#step=12")
    assert counter(browser).startswith("step 12 of")
    field = browser.find_element(By.CSS_SELECTOR, 'input[aria-label="W2[0]"]')
    field.clear()
    field.send_keys("0.65", Keys.ENTER)
    WebDriverWait(browser, 20).until(lambda d: abs(step_value(d, "ŷ") - 0.748649) > 1e-4)
    hand = hand_2_2_1(0.65)
    for symbol, name in [("ŷ", "y_hat"), ("L", "loss"), ("δ2", "delta2"), ("δ1[0]", "delta1[0]"),
                         ("δ1[1]", "delta1[1]"), ("∂L/∂W2[0]", "dL/dW2[0]"),
                         ("W2[0] (new)", "W2[0] (updated)")]:  # fmt: skip
        assert step_value(browser, symbol) == pytest.approx(hand[name], rel=2e-5), symbol
    assert counter(browser).startswith("step 12 of")  # the page stays on the same step
    assert "e.W2%5B0%5D=0.65" in browser.current_url  # the link reproduces the view
    assert "step=12" in browser.current_url
    # the same link, opened fresh, shows the same numbers
    open_page(browser, browser.current_url)
    WebDriverWait(browser, 20).until(lambda d: abs(step_value(d, "ŷ") - hand["y_hat"]) < 1e-5)
    assert counter(browser).startswith("step 12 of")


@pytest.mark.parametrize("bad", ["abc", "nan", "1e400", "0x10"])
def test_a_bad_edit_gets_a_message_and_changes_nothing(browser, lab, bad):
    open_page(browser, lab.url + "#step=5")
    before = browser.execute_script(STEP_TEXTS)
    field = browser.find_element(By.CSS_SELECTOR, 'input[aria-label="W2[1]"]')
    field.clear()
    field.send_keys(bad, Keys.ENTER)
    message = browser.find_element(By.ID, "lab-message")
    WebDriverWait(browser, 20).until(lambda d: message.is_displayed())
    assert "W2[1]" in message.text and "\n" not in message.text
    assert browser.execute_script(STEP_TEXTS) == before
    assert field.get_attribute("value") == "0.7"  # the page keeps the lesson's number
    assert counter(browser).startswith("step 5 of")


def test_a_ten_megabyte_body_is_refused_and_the_server_keeps_running(browser, lab):
    open_page(browser, lab.url)
    answer = browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch('/api', {method: 'POST', body: 'x'.repeat(10 * 1024 * 1024)})
          .then(r => r.json()).then(done, e => done({error: String(e)}));"""
    )
    assert answer["ok"] is False and "over the limit" in answer["error"]
    open_page(browser, lab.url)  # still serving
    assert counter(browser).startswith("step 1 of")


def test_search_jumps_to_the_first_step_of_a_symbol(browser, lab):
    open_page(browser, lab.url)
    search = browser.find_element(By.CSS_SELECTOR, 'input[type="search"]')
    search.send_keys("δ1[0]", Keys.ENTER)
    live = browser.find_element(By.ID, "lab-live")
    assert live.get_attribute("aria-live") == "polite"
    assert live.text.startswith("δ1[0] = ∂L/∂z1[0]")
    search.clear()
    search.send_keys("W2[1]", Keys.ENTER)  # a given weight: the first step that reads it, z2
    assert live.text.startswith("z2 = ")


def test_the_quiz_hides_each_number_and_keeps_the_score(browser, lab):
    open_page(browser, lab.url)
    browser.find_element(By.ID, "lab-quiz").click()
    live = browser.find_element(By.ID, "lab-live")
    assert live.text.endswith("= ?") and "0.41" not in live.text
    answer = browser.find_element(By.ID, "lab-answer-input")
    answer.send_keys(str(0.5 * 0.5 + 0.3 * 0.2 + 0.1), Keys.ENTER)  # z1[0] by hand
    assert "right" in browser.find_element(By.ID, "lab-verdict").text
    assert browser.find_element(By.ID, "lab-score").text == "score 1 / 1"
    browser.find_element(By.ID, "lab-next").click()
    answer = browser.find_element(By.ID, "lab-answer-input")
    answer.send_keys("0.9", Keys.ENTER)  # z1[1] is 0.47
    assert "it is 0.47" in browser.find_element(By.ID, "lab-verdict").text
    assert browser.find_element(By.ID, "lab-score").text == "score 1 / 2"
    browser.save_screenshot(str(ARTIFACTS / "lab-quiz.png"))


def test_the_shared_bias_template_draws_each_unit_in_its_own_box(browser, template_lab):
    open_page(browser, template_lab.url + "#step=1")
    found = browser.execute_script(BOXES)
    boxes = dict(found["units"])
    h1, h2 = boxes["u1-0"], boxes["u1-1"]
    assert h1[3] <= h2[1] or h2[3] <= h1[1]  # one above the other, not nested
    texts = {g.get_attribute("data-id"): g.text for g in
             browser.find_elements(By.CSS_SELECTOR, "#lab-picture g.unit")}  # fmt: skip
    assert texts["u1-0"].startswith("out_h1") and texts["u1-1"].startswith("out_h2")
    assert "b1 = 0.35 (shared)" in texts["b1"]


def test_show_in_the_graph_draws_the_units_label_data_grad_boxes(browser, lab):
    open_page(browser, lab.url + "#step=12")  # δ1[0]
    browser.find_element(By.ID, "lab-drill").click()
    panel = browser.find_element(By.ID, "lab-drill-panel")
    assert panel.is_displayed()
    texts = [t.text for t in panel.find_elements(By.CSS_SELECTOR, "g.graph-node text")]
    assert "z1[0]" in texts and "data 0.41" in texts  # label, data, grad
    assert f"grad {hand_2_2_1()['delta1[0]']:.6g}".replace("-", "−") in texts
    browser.save_screenshot(str(ARTIFACTS / "lab-drill.png"))


def test_play_steps_on_by_itself(browser, lab):
    open_page(browser, lab.url)
    browser.find_element(By.CSS_SELECTOR, "#lab-speed option[value='4']").click()
    browser.find_element(By.ID, "lab-play").click()
    time.sleep(1.2)
    browser.find_element(By.ID, "lab-play").click()
    assert not counter(browser).startswith("step 1 of")


def test_the_page_asks_nothing_of_anyone_but_its_own_server(browser, lab):
    browser.get_log("performance")  # forget what earlier tests did
    browser.get_log("browser")
    open_page(browser, lab.url)
    field = browser.find_element(By.CSS_SELECTOR, 'input[aria-label="b2"]')
    field.clear()
    field.send_keys("0.5", Keys.ENTER)
    WebDriverWait(browser, 20).until(lambda d: "e.b2=0.5" in d.current_url)
    requests = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    assert any(url.endswith("/api") for url in requests)
    # chrome:// pages are the browser's own (its start page), not the network
    outside = [u for u in requests
               if u.split(":")[0] not in ("about", "chrome", "data") and not u.startswith(lab.url)]
    assert outside == []
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []  # no script error, nothing refused by the page's security policy


def test_the_offline_page_steps_without_a_server_and_offers_no_editing(browser, tmp_path):
    path = tmp_path / "lab.html"
    lab_page({"lesson": {"expr": "tanh(x1*w1 + x2*w2 + b)",
                         "bindings": {"x1": "2", "w1": "-3", "x2": "0", "w2": "1",
                                      "b": "6.8814"}}}).write(path)  # fmt: skip
    browser.get_log("browser")
    open_page(browser, path.resolve().as_uri())
    field = browser.find_element(By.CSS_SELECTOR, 'input[aria-label="w1"]')
    assert field.get_attribute("readonly") is not None
    browser.find_element(By.ID, "lab-next").click()
    assert browser.find_element(By.ID, "lab-live").text == "x2*w2 = x2*w2 = 0*1 = 0" or \
        browser.find_element(By.ID, "lab-live").text.startswith("x2*w2 = ")  # fmt: skip
    f = math.tanh(0.8814)
    assert step_value(browser, "f") == pytest.approx(f, rel=1e-5)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_tapping_a_unit_shows_its_numbers_so_far(browser, lab):
    open_page(browser, lab.url + "#step=7")  # the loss: the forward pass is done, no δ yet
    browser.find_element(By.CSS_SELECTOR, '#lab-picture g.unit[data-id="u2-0"]').click()
    tip = browser.find_element(By.ID, "lab-tip")
    hand = hand_2_2_1()
    assert f"z2 = {hand['z2']:.6g}" in tip.text and f"ŷ = {hand['y_hat']:.6g}" in tip.text
    assert "δ2 = ?" in tip.text  # not computed yet at this step
