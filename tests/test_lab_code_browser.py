"""The lab's code view in a real browser: the toggle, the step's lines, the whole script."""

from __future__ import annotations

import pytest

from tests.test_lab_browser import ARTIFACTS, DESKTOP, PHONE, browser, lab, open_page  # noqa: F401
from tests.test_lab_code import DELTA2, Z1_0

By = pytest.importorskip("selenium.webdriver.common.by").By
WebDriverWait = pytest.importorskip("selenium.webdriver.support.ui").WebDriverWait

CODE = "return document.getElementById('lab-code-lines')"


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
def test_the_code_toggle_shows_the_steps_lines_and_the_script(browser, lab, size):  # noqa: F811
    open_page(browser, lab.url + "#step=1", size)
    toggle = browser.find_element(By.ID, "lab-code")
    assert toggle.get_attribute("aria-label") and toggle.get_attribute("aria-pressed") == "false"
    assert not browser.execute_script(CODE).is_displayed()  # off by default
    toggle.click()
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(CODE).is_displayed())
    assert toggle.get_attribute("aria-pressed") == "true"
    assert browser.execute_script(CODE).text.split("  #")[0] == Z1_0
    browser.execute_script("window.stepgradLab.go(8)")  # δ2
    assert "δ2" in browser.find_element(By.ID, "lab-live").text
    shown = [line.split("  #")[0] for line in browser.execute_script(CODE).text.splitlines()]
    assert shown == DELTA2
    box = browser.find_element(By.ID, "lab-script-box")
    assert box.is_displayed()
    script = browser.execute_script("return document.getElementById('lab-script').textContent")
    assert Z1_0 in script and "print('δ2 =', format_number(d_z2))" in script
    href = browser.find_element(By.ID, "lab-script-save").get_attribute("href")
    assert href.startswith("blob:")
    browser.save_screenshot(str(ARTIFACTS / f"lab-code-{size[0]}x{size[1]}.png"))
    toggle.click()
    assert not browser.execute_script(CODE).is_displayed() and not box.is_displayed()
