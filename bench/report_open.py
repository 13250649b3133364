"""How long a report takes to open in headless Debian chromium (driven by Playwright): from
the request for the file to the page's first screen shown, and to the first screen of
events. Used by `bench.inspect`; needs `/usr/bin/chromium` and the `playwright` package."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def open_times(reports: dict[str, Path]) -> dict[str, Any]:
    """Per report: seconds to its first screen (as the test harness saw it, and as the page
    itself counted from navigation start), then to its first page of events."""
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            for name, html in reports.items():
                out[name] = _open(browser, html)
        finally:
            browser.close()
    return out


def _open(browser: Any, html: Path) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    began = time.perf_counter()
    page.goto(html.as_uri(), timeout=120_000)
    page.wait_for_selector("html[data-ready]", timeout=120_000)
    shown = time.perf_counter() - began
    ready_ms = int(page.evaluate("document.documentElement.dataset.ready"))
    began = time.perf_counter()
    page.click("nav button:text('Events')")
    page.wait_for_selector("#view-events tbody tr", timeout=120_000)
    events = time.perf_counter() - began
    page.close()
    return {"file_mb": round(html.stat().st_size / 2**20, 1), "first_screen_s": round(shown, 3),
            "ready_in_page_s": round(ready_ms / 1000, 3), "events_screen_s": round(events, 3),
            "errors": errors}
