"""Debian's headless Chromium for the browser tests: one set of flags and one way to start it.

The flags keep Chromium off the network of its own (no background requests, updates or sync,
which this machine's closed network refuses), and the driver path is explicit, so that
selenium-manager never tries to download a browser.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).parent / "artifacts"  # screenshots to look at (gitignored)
HAVE_CHROMIUM = os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)
NEEDS_CHROMIUM = f"needs Debian's Chromium ({CHROMIUM}) and its driver ({CHROMEDRIVER})"

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def start_chromium(profile: Path, *extra: str, logs: bool = False, page_load_timeout: int = 30):
    """A new headless Chromium with its own profile folder; ``extra`` flags are added after ours.

    ``logs``: keep the performance log (the DevTools Network events: every request the page
    makes) and the console, for the tests that check no request leaves 127.0.0.1.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", *extra):
        options.add_argument(flag)
    if logs:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(page_load_timeout)
    return driver
