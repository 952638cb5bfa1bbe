"""The step-by-step HTML page in a real browser (headless Chromium): buttons, keys, formula."""

from __future__ import annotations

import os
import shutil

import pytest

from nn.examples import build_example
from viz.steps import write_steps_html

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = [
    pytest.mark.skipif(
        not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
        reason=f"needs Debian's Chromium ({CHROMIUM}) and its driver ({CHROMEDRIVER})",
    ),
    pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed"),
]

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

# What the visible frame shows: the label of its highlighted record (op nodes have 1 text).
VISIBLE_HIGHLIGHT = """
return Array.from(document.querySelectorAll("#frames .frame:not([hidden]) g.node.highlight"))
  .map(g => Array.from(g.querySelectorAll("text")).map(t => t.textContent))
  .filter(texts => texts.length === 3).map(texts => texts[0]);
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # explicit driver path: selenium-manager must not try to download anything
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "steps.html"
    write_steps_html(build_example("2-2-1").loss, path)
    return path.resolve().as_uri()


def state(driver):
    counter = driver.find_element(By.ID, "step-counter").text
    formula = driver.find_element(By.ID, "formula").text
    return counter, formula, driver.execute_script(VISIBLE_HIGHLIGHT)


def test_next_twice_moves_highlight_and_formula(browser, page_url):
    browser.get(page_url)
    counter, formula, highlighted = state(browser)
    # the chain rule starts at loss, then t - y_hat, then y_hat (the only way back)
    assert counter == "step 1 of 17" and highlighted == ["loss"]
    assert formula.startswith("loss (**2) = ")
    assert not browser.find_element(By.ID, "prev").is_enabled()
    next_button = browser.find_element(By.ID, "next")
    next_button.click()
    counter, second_formula, highlighted = state(browser)
    assert counter == "step 2 of 17" and highlighted == ["t - y_hat"]
    assert second_formula.startswith("t - y_hat (-) = ") and second_formula != formula
    next_button.click()
    counter, third_formula, highlighted = state(browser)
    assert counter == "step 3 of 17" and highlighted == ["y_hat"]
    assert third_formula.startswith("y_hat (sigmoid) = ") and "grad(z2)" in third_formula
    assert len(browser.find_elements(By.CSS_SELECTOR, "#frames .frame:not([hidden])")) == 1


def test_arrow_keys_and_ends_of_the_pass(browser, page_url):
    browser.get(page_url)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT)
    assert state(browser)[2] == ["t - y_hat"]
    body.send_keys(Keys.ARROW_LEFT)
    assert state(browser)[0] == "step 1 of 17"
    body.send_keys(Keys.END)
    counter, formula, _ = state(browser)
    assert counter == "step 17 of 17"
    assert not browser.find_element(By.ID, "next").is_enabled()
    body.send_keys(Keys.ARROW_RIGHT)  # past the end: stays on the last step
    assert state(browser)[0] == "step 17 of 17"
