"""The lab as a static site in a real browser: Pyodide runs stepgrad, nothing leaves 127.0.0.1.

The site is built as `stepgrad lab --site` builds it (Pyodide from the npm cache), served from
127.0.0.1 by a small threaded server, and opened in Debian's Chromium with a fresh profile and the
network "off" (every host but 127.0.0.1 fails to resolve). Chromium's NetLog records every request
the browser makes, the worker's included, with the origin that asked for it.
"""

from __future__ import annotations

import functools
import http.server
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser import ARTIFACTS, HAVE_CHROMIUM, NEEDS_CHROMIUM, start_chromium
from viz import site

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 180  # Pyodide's start on a loaded 2-core machine; typically a few seconds
DESKTOP, PHONE = (1280, 800), (390, 844)

pytestmark = [
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=NEEDS_CHROMIUM),
    pytest.mark.skipif(
        shutil.which("npm") is None
        and not (site.cache_dir() / "npm" / f"pyodide-{site.PYODIDE_VERSION}.tgz").is_file(),
        reason="needs npm to fetch Pyodide once (CI has it)",
    ),
]

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

FIRST_STEP_DRAWN = """
const count = document.getElementById("lab-count");
const picture = document.getElementById("lab-picture");
return !!(count && /^step 1 of [1-9]/.test(count.textContent)
          && picture && picture.querySelector("[data-id]") && window.stepgradSite.readyAt);
"""


class Server(http.server.ThreadingHTTPServer):
    """The site on 127.0.0.1; the first request for the wasm waits a moment, so that a
    screenshot catches the loading panel even when everything else is fast."""

    daemon_threads = True

    def __init__(self, folder: Path):
        self.delayed = False
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                if self.path.endswith(".wasm") and not outer.delayed:
                    outer.delayed = True
                    time.sleep(2.0)
                super().do_GET()

        super().__init__(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site") / "public"
    site.write_site(folder)
    server = Server(folder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def netlog(tmp_path_factory):
    return tmp_path_factory.mktemp("netlog") / "netlog.json"


@pytest.fixture(scope="module")
def browser(tmp_path_factory, netlog):
    driver = start_chromium(
        tmp_path_factory.mktemp("chromium-profile"),
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
        # the network is off: no host but 127.0.0.1 resolves
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        # every request the browser makes, with the origin that initiated it
        f"--log-net-log={netlog}",
        "--net-log-capture-mode=Default",
        logs=True,
        page_load_timeout=60,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


def size(driver, width_height):
    width, height = width_height
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def wait_ready(driver) -> None:
    WebDriverWait(driver, READY_TIMEOUT_S, poll_frequency=0.1).until(
        lambda d: d.execute_script(FIRST_STEP_DRAWN)
    )


def text(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def shown_value(driver, symbol: str) -> float:
    """Jump to the step of ``symbol`` with the search box; the number the step shows."""
    box = driver.find_element(By.ID, "lab-search")
    box.clear()
    box.send_keys(symbol, Keys.ENTER)
    live = text(driver, "lab-live")
    box.clear()  # else leaving the box later searches again (its change event)
    assert live.startswith(symbol), f"search {symbol!r} shows {live!r}"
    last = live.replace("−", "-").split("=")[-1]
    return float(re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", last)[0])


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def by_hand(w20: float) -> dict[str, float]:
    """2-2-1 by hand: x = (0.5, 0.3), t = 0.8, W1[i][j] input i -> unit j, L = (t - ŷ)²,
    δ = ∂L/∂z."""
    a10 = sig(0.5 * 0.5 + 0.3 * 0.2 + 0.1)
    a11 = sig(0.5 * 0.3 + 0.3 * 0.4 + 0.2)
    y = sig(w20 * a10 + 0.7 * a11 + 0.3)
    d2 = -2 * (0.8 - y) * y * (1 - y)  # ∂L/∂ŷ · σ'(z2)
    return {
        "ŷ": y,
        "L": (0.8 - y) ** 2,
        "δ2": d2,
        "δ1[0]": d2 * w20 * a10 * (1 - a10),
        "δ1[1]": d2 * 0.7 * a11 * (1 - a11),
    }


def close(shown: float, exact: float) -> bool:
    # the page shows 6 significant digits
    return math.isclose(shown, exact, rel_tol=5e-6, abs_tol=1e-12)


def test_loading_shows_progress_then_the_first_step(browser, served):
    size(browser, DESKTOP)
    browser.get(served.url)
    panel = WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "site-loading"))
    assert panel.get_attribute("role") == "status"
    assert panel.get_attribute("aria-live") == "polite"
    assert browser.find_element(By.CSS_SELECTOR, "#site-loading progress").get_attribute(
        "aria-label"
    )
    assert "Python" in panel.text
    browser.save_screenshot(str(ARTIFACTS / "site_loading_1280x800.png"))
    wait_ready(browser)
    assert not browser.find_elements(By.ID, "site-loading")
    assert re.fullmatch(r"step 1 of \d+", text(browser, "lab-count"))
    assert text(browser, "lab-title").startswith("2-2-1")
    browser.save_screenshot(str(ARTIFACTS / "site_ready_1280x800.png"))


def test_the_site_says_what_needs_the_full_install(browser):
    note = browser.find_element(By.ID, "site-full-install")
    words = note.get_attribute("textContent")
    for feature in ("NumPy twin", "data sets", "Graphviz", "pip install stepgrad"):
        assert feature in words


def test_step_then_edit_w2_0_recomputes_with_the_engine(browser):
    browser.find_element(By.ID, "lab-next").click()
    assert text(browser, "lab-count").startswith("step 2 of")
    before = {s: shown_value(browser, s) for s in ("ŷ", "L", "δ2")}
    for symbol, exact in by_hand(0.6).items():
        if symbol in before:
            assert close(before[symbol], exact), (symbol, before[symbol], exact)
    browser.execute_script("window.stepgradLab.go(1)")
    field = browser.find_element(By.CSS_SELECTOR, 'input[aria-label="W2[0]"]')
    field.clear()
    field.send_keys("0.65", Keys.ENTER)
    edited = "return document.querySelector('input[data-symbol=\"W2[0]\"].edited') !== null"
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(edited))
    assert text(browser, "lab-count").startswith("step 2 of")  # the page stays on its step
    for symbol, exact in by_hand(0.65).items():
        shown = shown_value(browser, symbol)
        assert close(shown, exact), (symbol, shown, exact)
    assert "e.W2%5B0%5D=0.65" in browser.current_url or "e.W2[0]=0.65" in browser.current_url


def test_the_quiz_scores_typed_answers(browser):
    browser.execute_script("window.stepgradLab.go(0)")
    browser.find_element(By.ID, "lab-quiz").click()
    assert "0.41" not in text(browser, "lab-live")  # the number is hidden until answered
    answer = browser.find_element(By.ID, "lab-answer-input")
    answer.send_keys(f"{0.5 * 0.5 + 0.3 * 0.2 + 0.1:.4f}", Keys.ENTER)  # z1[0] by hand
    WebDriverWait(browser, 5).until(lambda d: d.find_element(By.ID, "lab-score").text)
    assert text(browser, "lab-score") == "score 1 / 1"
    browser.execute_script("window.stepgradLab.go(1)")
    answer = browser.find_element(By.ID, "lab-answer-input")
    answer.send_keys("0.9", Keys.ENTER)  # z1[1] is 0.47: wrong
    assert text(browser, "lab-score") == "score 1 / 2"
    browser.find_element(By.ID, "lab-quiz").click()


def _cli_error(path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "viz.cli", "example", path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert done.returncode == 2
    return done.stderr.strip().removeprefix("stepgrad: error: ")


def test_a_lesson_file_with_an_error_gets_the_command_lines_one_line(browser, tmp_path):
    template = subprocess.run(
        [sys.executable, "-m", "viz.cli", "example", "--template"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    good_row = "weights = [[0.15, 0.20], [0.25, 0.30]]"
    bad = template.replace(good_row, "weights = [[0.15, 0.20], [0.25]]")
    assert bad != template
    path = tmp_path / "my-net.toml"
    path.write_text(bad, encoding="utf-8")
    expected = _cli_error(path)
    assert "layers[0].weights[1]" in expected

    title = text(browser, "lab-title")
    browser.find_element(By.CSS_SELECTOR, "#site-lesson summary").click()
    browser.find_element(By.ID, "site-lesson-file").send_keys(str(path))
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "site-lesson-message").text)
    message = text(browser, "site-lesson-message")
    assert message == expected
    assert "\n" not in message
    assert text(browser, "lab-title") == title  # the lab keeps what it showed
    browser.find_element(By.CSS_SELECTOR, "#site-full-install summary").click()
    browser.save_screenshot(str(ARTIFACTS / "site_lesson_error_1280x800.png"))
    browser.find_element(By.CSS_SELECTOR, "#site-full-install summary").click()


def test_an_own_lesson_opens_and_its_link_reproduces_it(browser, served, tmp_path):
    template = subprocess.run(
        [sys.executable, "-m", "viz.cli", "example", "--template"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    browser.find_element(By.ID, "site-lesson-text").send_keys(template)
    browser.find_element(By.ID, "site-lesson-open").click()
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.ID, "lab-title").text.startswith("my-network")
    )
    browser.find_element(By.ID, "site-lesson-share").click()
    link = browser.find_element(By.ID, "site-lesson-link").get_attribute("value")
    assert link.startswith(served.url + "#") and "file=pasted.toml," in link
    # open the link as someone else would, on a phone
    size(browser, PHONE)
    browser.get("about:blank")
    browser.get(link)
    browser.save_screenshot(str(ARTIFACTS / "site_loading_390x844.png"))
    wait_ready(browser)
    assert text(browser, "lab-title").startswith("my-network")
    browser.save_screenshot(str(ARTIFACTS / "site_ready_390x844.png"))
    browser.find_element(By.CSS_SELECTOR, "#site-lesson summary").click()
    browser.find_element(By.CSS_SELECTOR, "#site-full-install summary").click()
    browser.save_screenshot(str(ARTIFACTS / "site_panels_390x844.png"))


def test_a_damaged_link_says_so_in_one_line(browser, served):
    size(browser, DESKTOP)
    browser.get("about:blank")
    browser.get(served.url + "#file=x.toml,not*base64")
    wait_ready(browser)
    message = text(browser, "site-lesson-message")
    assert message.startswith("link: the lesson in this link cannot be read")
    assert text(browser, "lab-title").startswith("2-2-1")  # the default lesson instead


def _netlog_requests(path: Path) -> list[tuple[str, str]]:
    """(url, initiator) of every request in Chromium's NetLog, read while it is being written:
    a first line of constants (the event type names), then one event per line."""
    with path.open(encoding="utf-8") as log:
        constants = json.loads(log.readline().strip().rstrip(",") + "}")["constants"]
        start_job = constants["logEventTypes"]["URL_REQUEST_START_JOB"]
        found = []
        for line in log:
            try:
                event = json.loads(line.strip().rstrip(","))
            except json.JSONDecodeError:
                continue  # the '"events": [' line, or the last line still being written
            if isinstance(event, dict) and event.get("type") == start_job:
                params = event.get("params", {})
                found.append((params.get("url", ""), params.get("initiator", "")))
    return found


def test_no_request_left_127_0_0_1(browser, served, netlog):
    requests = _netlog_requests(netlog)
    ours = [url for url, initiator in requests if initiator.startswith(served.url.rstrip("/"))]
    # not vacuous: the worker's own fetches are in the log
    assert any(url.endswith("/pyodide/pyodide.asm.wasm") for url in ours)
    assert any(url.endswith(".whl") for url in ours)
    # every request a page or its worker made (initiator: a web origin) stayed on 127.0.0.1;
    # the browser's own background requests have no origin ("not an origin")
    outside = [
        (url, initiator)
        for url, initiator in requests
        if initiator and initiator != "not an origin" and urlsplit(url).hostname != "127.0.0.1"
    ]
    assert not outside, outside
    # the policy never had to block anything: nothing on the page tried to reach elsewhere
    console = [entry["message"] for entry in browser.get_log("browser")]
    blocked = [line for line in console if "Content Security" in line]
    assert not blocked, blocked
    # and the page's own DevTools log agrees
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = urlsplit(message["params"]["request"]["url"])
            if url.scheme in ("http", "https", "ws", "wss"):
                assert url.hostname == "127.0.0.1", url.geturl()
