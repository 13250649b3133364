"""`krunner-transcript report`: a session as one self-contained HTML file, opened in Debian's
chromium (headless, driven by Playwright): it loads with no console error, its timeline shows
the runs and the model's unhealthy stretch, a filter works, hostile output reads as text, and
a long session is paged rather than put in the page at once."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from machines import vocabulary as v
from tests.stories import flapping_model, write_log
from tests.tooling import tool
from tools.inspect.picture import COLOURS
from transcripts.events import INPUT, OBSERVATION, OUTPUT, Event

T0 = 1_700_000_000.0
HOSTILE = "<script>alert('pwned')</script>\x1b[31mred\x1b[0m \x1b]52;c;SGVsbG8=\x07 done"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def run(n: int, t: float, code: str, out: str, exit_code: int = 0) -> list[Event]:
    source = f"run:{n}"
    failed = exit_code != 0
    return [Event(source, INPUT, "code", code.encode(), wall=t, mono=t),
            Event(source, OBSERVATION, v.RUN_STARTED, {"op": "code"}, wall=t, mono=t),
            Event(source, OUTPUT, "stdout", out.encode(), wall=t + 0.5, mono=t + 0.5),
            Event(source, OBSERVATION, v.RUN_ENDED, {"exit_code": exit_code, "failed": failed,
                                                     "reason": None}, wall=t + 1, mono=t + 1),
            Event(source, OUTPUT, "finished", b'{"exitCode": %d}' % exit_code, wall=t + 1,
                  mono=t + 1)]


def session(runs: int = 3) -> list[Event]:
    """Runs beside a model that goes unhealthy twice (the health tests' story)."""
    story = [Event("kernel", OBSERVATION, v.RUNNER_STARTED, {"lang": "python"}, wall=T0 - 1,
                   mono=T0 - 1)]
    story += run(1, T0 + 2, "print('<b>hi</b>')", HOSTILE)
    story += run(2, T0 + 5, "raise SystemExit(3)", "", exit_code=3)
    for n in range(3, runs + 1):
        story += run(n, T0 + 6 + n * 0.001, f"print({n})", f"{n}\n")
    return sorted([*story, *flapping_model(T0)], key=lambda e: e.wall)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("report")
    log = folder / "events.sqlite3"
    write_log(log, session())
    transcript = folder / "session.jsonl"
    assert tool("tools.transcript", "export", "--log", str(log), "--out",
                str(transcript)).returncode == 0
    html = folder / "report.html"
    out = tool("tools.transcript", "report", str(transcript), "-o", str(html))
    assert out.returncode == 0, out.stderr
    assert f"written to {html}" in out.stderr
    return {"log": log, "transcript": transcript, "html": html}


def test_the_report_is_one_file_that_reaches_for_nothing(made: dict[str, Path]) -> None:
    page = made["html"].read_text()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"<(script|img|link|iframe)[^>]*\s(src|href)=", page)
    assert "@import" not in page and "url(" not in page
    assert "alert('pwned')" not in page  # the hostile output is data, never markup
    assert oct(made["html"].stat().st_mode & 0o777) == "0o600"


def test_a_report_from_the_log_and_a_session_id(made: dict[str, Path], tmp_path: Path) -> None:
    html = tmp_path / "from-log.html"
    out = tool("tools.transcript", "report", "--log", str(made["log"]), "--session",
               _session_id(made["log"])[:8], "-o", str(html))
    assert out.returncode == 0, out.stderr
    assert _session_id(made["log"]) in out.stderr and html.is_file()


def test_bad_input_gets_a_clear_answer_and_no_file(made: dict[str, Path], tmp_path: Path) -> None:
    altered = tmp_path / "altered.jsonl"
    lines = made["transcript"].read_text().splitlines(keepends=True)
    lines[5] = lines[5].replace('"kind"', '"kind" ', 1)
    altered.write_text("".join(lines))
    html = tmp_path / "r.html"
    out = tool("tools.transcript", "report", str(altered), "-o", str(html))
    assert out.returncode == 2 and "ALTERED" in out.stderr and "line 6" in out.stderr
    assert not html.exists() and not list(tmp_path.glob(".*partial"))
    none = tool("tools.transcript", "report", str(tmp_path / "nope.jsonl"), "-o", str(html))
    assert none.returncode == 2 and "no transcript at" in none.stderr


def _session_id(log: Path) -> str:
    import sqlite3

    with sqlite3.connect(log) as conn:
        return str(conn.execute("SELECT id FROM sessions").fetchone()[0])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is missing (tools/toolchains.py installs it)")
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip)")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for what the page shows (polled from here: the page's policy forbids the
    evaluated strings Playwright's own waiting uses)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the page did not show it in time"
        time.sleep(0.05)


def opened(browser: Any, html: Path) -> tuple[Any, list[str], list[str]]:
    """The page, once its script has shown it; console errors and dialogs seen."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: errors.append(f"request {r.url}")
            if not r.url.startswith("file:") else None)
    page.goto(html.as_uri())
    page.wait_for_selector("html[data-ready]", timeout=20_000)
    return page, errors, dialogs


def test_the_report_in_chromium(browser: Any, made: dict[str, Path]) -> None:
    page, errors, dialogs = opened(browser, made["html"])
    titles = page.eval_on_selector_all("#view-timeline svg rect title",
                                       "nodes => nodes.map(n => n.textContent)")
    assert any(t.startswith("run:1 code, 1.000 s, exit code 0, finished") for t in titles)
    assert any(t.startswith("run:2 code, 1.000 s, exit code 3, failed") for t in titles)
    unhealthy = page.eval_on_selector_all(
        f"#view-timeline svg rect[fill='{COLOURS['unhealthy']}'] title",
        "nodes => nodes.map(n => n.textContent)")
    assert any(t.startswith("model:llm unhealthy for 8.0 s") for t in unhealthy), unhealthy
    assert "intact: each of its" in page.inner_text("#origin")

    page.click("nav button:text('Transitions')")
    page.select_option("#view-transitions select", "model:llm")
    until(lambda: page.inner_text("#view-transitions .muted").startswith("1–7 of 7"))
    sources = page.eval_on_selector_all("#view-transitions tbody tr td:nth-child(3)",
                                        "cells => cells.map(c => c.textContent)")
    assert sources == ["model:llm"] * 7

    page.click("nav button:text('Runs')")
    page.click("#view-runs tbody tr.run >> nth=0")
    shown = page.inner_text("#view-runs tr.details")
    assert "<script>alert('pwned')</script>␛[31mred␛[0m ␛]52;c;SGVsbG8=␇ done" in shown
    assert "print('<b>hi</b>')" in shown
    assert page.eval_on_selector_all("#view-runs tr.details b, #view-runs script",
                                     "nodes => nodes.length") == 0
    assert errors == [] and dialogs == []


def test_a_long_session_is_paged(browser: Any, tmp_path: Path) -> None:
    log = tmp_path / "events.sqlite3"
    write_log(log, session(runs=2500))  # about 20,000 events with the moves
    html = tmp_path / "long.html"
    assert tool("tools.transcript", "report", "--log", str(log), "-o", str(html)
                ).returncode == 0
    page, errors, _ = opened(browser, html)
    page.click("nav button:text('Events')")
    page.wait_for_selector("#view-events tbody tr")
    said = page.inner_text("#view-events .muted")
    total = int(said.split(" of ")[1])
    assert said.startswith("1–50 of ") and total > 19_000
    page.click("#view-events button:text('last')")
    until(lambda: page.inner_text("#view-events .muted") == f"{total - 49}–{total} of {total}")
    seqs = page.eval_on_selector_all("#view-events tbody tr td:first-child",
                                     "cells => cells.map(c => Number(c.textContent))")
    assert len(seqs) == 50 and seqs == sorted(seqs) and seqs[-1] == total
    page.fill("#view-events input[type=number]", "10000")
    page.press("#view-events input[type=number]", "Enter")
    until(lambda: page.inner_text("#view-events tbody td >> nth=0") == "10000")
    assert page.eval_on_selector_all("tr", "rows => rows.length") < 200  # not every event
    assert errors == []
