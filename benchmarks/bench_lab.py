"""Benchmark the lab page: ready with its first step drawn, recompute after an edit, offline size.

Run from the repository root::

    python benchmarks/bench_lab.py                # 3 runs each, prints the figures
    python benchmarks/bench_lab.py --check        # exit 1 unless under the targets
    python benchmarks/bench_lab.py --json lab.json
    python benchmarks/bench_lab.py --no-browser   # only the Python side (viz.lab.handle)

Two lessons: the 2-2-1 case study and a 2-16-16-1 network (tanh hidden layers, weights from a
fixed formula). For each, `stepgrad lab`'s server (``viz.lab_server.LabServer``) serves the page
on 127.0.0.1 and headless Chromium opens it: "ready" is the page's own clock
(``performance.now()`` since navigation) when the first step is drawn; "recompute" is the time
from sending an edit of the first weight to the page having redrawn with the engine's new
numbers (the page measures it around its request). Targets: ready < 0.5 s, recompute < 0.3 s.
The Python side alone (``handle`` for the first request and for an edit) is timed too, and the
size of the offline page (``stepgrad graph --steps -o x.html``'s file) of 2-16-16-1 is reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import start_chromium  # noqa: E402
from tests.lessons import wide_lesson  # noqa: E402
from viz.lab import handle, lab_page  # noqa: E402
from viz.lab_server import LabServer  # noqa: E402

READY_LIMIT_S = 0.5
RECOMPUTE_LIMIT_S = 0.3


LESSONS = {
    "2-2-1": ({"lesson": {"builtin": "2-2-1"}}, "W2[0]"),
    "2-16-16-1": ({"lesson": {"file": {"name": "wide.json", "text": wide_lesson()}}},
                  "W1[0][0]"),
}  # fmt: skip


def time_python(request: dict, symbol: str, runs: int) -> dict:
    first, edit = [], []
    for k in range(runs):
        start = time.perf_counter()
        response = handle(request)
        first.append(time.perf_counter() - start)
        assert response["ok"], response
        start = time.perf_counter()
        response = handle({**request, "edits": {symbol: str(0.25 + 0.01 * k)}})
        edit.append(time.perf_counter() - start)
        assert response["ok"], response
    size = len(json.dumps(response, ensure_ascii=False).encode("utf-8"))
    return {"handle_s": statistics.median(first), "handle_edit_s": statistics.median(edit),
            "response_bytes": size, "steps": len(response["steps"])}  # fmt: skip


def browser():
    """Debian's headless Chromium at 1280x800, started as the browser tests start it."""
    return start_chromium(Path(tempfile.mkdtemp()), "--window-size=1280,800")


def time_browser(driver, request: dict, symbol: str, runs: int) -> dict:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    server = LabServer(request, 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)  # fmt: skip
    thread.start()
    ready, recompute = [], []
    try:
        for k in range(runs):
            driver.get("about:blank")
            driver.get(server.url)
            wait = WebDriverWait(driver, 60)
            wait.until(lambda d: d.execute_script(
                "return window.stepgradLab && window.stepgradLab.state.readyAt"))  # fmt: skip
            ready.append(driver.execute_script("return window.stepgradLab.state.readyAt") / 1000)
            driver.execute_script("document.getElementById('lab-numbers-box').open = true")
            field = driver.find_element(By.CSS_SELECTOR, f'input[aria-label="{symbol}"]')
            field.clear()
            field.send_keys(f"{0.3 + 0.01 * k:.2f}", Keys.ENTER)
            wait.until(lambda d: d.execute_script(
                "return window.stepgradLab.state.lastRecomputeMs"))  # fmt: skip
            recompute.append(
                driver.execute_script("return window.stepgradLab.state.lastRecomputeMs") / 1000
            )
    finally:
        server.shutdown()
        server.server_close()
    return {"ready_s": statistics.median(ready), "recompute_s": statistics.median(recompute)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 unless under the targets")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--no-browser", action="store_true", help="only time viz.lab.handle")
    args = parser.parse_args(argv)
    results: dict[str, dict] = {}
    driver = None if args.no_browser else browser()
    try:
        for name, (request, symbol) in LESSONS.items():
            figures = time_python(request, symbol, args.runs)
            if driver is not None:
                figures.update(time_browser(driver, request, symbol, args.runs))
            results[name] = figures
    finally:
        if driver is not None:
            driver.quit()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "wide.html"
        lab_page(LESSONS["2-16-16-1"][0]).write(path)
        offline = path.stat().st_size
    ok = True
    for name, f in results.items():
        ms = {k: f"{v * 1000:.0f} ms" for k, v in f.items() if k.endswith("_s")}
        line = (f"{name}: {f['steps']} steps; handle {ms['handle_s']}, after an edit "
                f"{ms['handle_edit_s']}; response {f['response_bytes'] / 1e3:.0f} kB")  # fmt: skip
        if "ready_s" in f:
            line += (f"; page ready {ms['ready_s']} (target < {READY_LIMIT_S * 1000:.0f} ms), "
                     f"recompute {ms['recompute_s']} "
                     f"(target < {RECOMPUTE_LIMIT_S * 1000:.0f} ms)")  # fmt: skip
            ok = ok and f["ready_s"] < READY_LIMIT_S and f["recompute_s"] < RECOMPUTE_LIMIT_S
        print(line)
    print(f"offline page of 2-16-16-1: {offline / 1e6:.2f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps({"lessons": results, "offline_bytes": offline},
                                              indent=2))  # fmt: skip
    if args.check and not ok:
        print("over a target", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
