"""`inspect events` and `sessions`: times, filters, paging, payloads as text, JSON, pipes,
clear errors, and following a log that a live runner writes."""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import RunnerProcess
from tests.tooling import ROOT, tool
from transcripts.events import INPUT, OUTPUT, Event
from transcripts.store import EventLog

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def _runs_log(path: Path, runs: int = 30) -> EventLog:
    """`runs` code inputs a minute apart, each answered on stdout."""
    log = EventLog(path)
    log.open_session(kernel_id="k", language="python")
    for i in range(runs):
        t = T0 + 60 * i
        log.append(Event(f"run:{i}", INPUT, "code", f"print({i})\nx = {i}".encode(),
                         wall=t, mono=t))
        log.append(Event(f"run:{i}", OUTPUT, "stdout", f"{i}\n".encode(), wall=t + 1,
                         mono=t + 1))
    log.close()
    return log


def test_events_show_code_as_text_with_dated_times_cut_to_a_width(tmp_path: Path) -> None:
    log = _runs_log(tmp_path / "events.sqlite3", 2)
    out = tool("tools.inspect", "events", "--log", str(log.path), "--source", "run:1",
               "--utc")
    assert out.returncode == 0, out.stderr
    header, code, answer = out.stdout.splitlines()
    assert header.split() == ["seq", "time", "source", "kind", "name", "move", "data"]
    assert code.startswith("3    2023-11-14T22:14:20.000+00:00  run:1")
    assert code.endswith("print(1)⏎x = 1") and answer.split()[-3:] == ["stdout", "-", "1⏎"]
    long = EventLog(tmp_path / "long.sqlite3")
    long.open_session()
    long.append(Event("run:1", INPUT, "code", b"y = '" + b"a" * 500 + b"'"))
    long.close()
    cut = tool("tools.inspect", "events", "--log", str(long.path), env={"COLUMNS": "80"})
    assert all(len(line) <= 80 for line in cut.stdout.splitlines())
    assert cut.stdout.rstrip().endswith("…")
    full = tool("tools.inspect", "events", "--log", str(long.path), "--full")
    assert "a" * 500 + "'" in full.stdout


def test_events_page_and_say_how_many_more(tmp_path: Path) -> None:
    log = _runs_log(tmp_path / "events.sqlite3")
    out = tool("tools.inspect", "events", "--log", str(log.path), "-n", "5")
    assert len(out.stdout.splitlines()) == 1 + 5
    assert "55 more events not shown" in out.stderr
    every = tool("tools.inspect", "events", "--log", str(log.path), "-n", "0")
    assert len(every.stdout.splitlines()) == 1 + 60 and "more" not in every.stderr


def test_events_since_and_until_by_time_or_age(tmp_path: Path) -> None:
    log = _runs_log(tmp_path / "events.sqlite3")
    out = tool("tools.inspect", "events", "--log", str(log.path), "--format", "jsonl",
               "--utc", "--since", "2023-11-14T22:20:20", "--until", "2023-11-14T22:22:20")
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["seq"] for r in rows] == [15, 16, 17, 18]
    assert rows[0] == {"seq": 15, "time": "2023-11-14T22:20:20.000+00:00", "source": "run:7",
                       "kind": "input", "name": "code", "from_state": None, "to_state": None,
                       "data": "print(7)\nx = 7"}
    recent = EventLog(tmp_path / "recent.sqlite3")
    recent.open_session()
    recent.append(Event("kernel", "log", "old", wall=T0, mono=0))
    recent.append(Event("kernel", "log", "new", wall=T0 + 10 ** 9, mono=1))  # in the future
    recent.close()
    ago = tool("tools.inspect", "events", "--log", str(recent.path), "--since", "2h",
               "--format", "json")
    assert [r["name"] for r in json.loads(ago.stdout)] == ["new"]
    bad = tool("tools.inspect", "events", "--log", str(recent.path), "--since", "yesterday")
    assert bad.returncode == 2 and "cannot read the time 'yesterday'" in bad.stderr


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    log = _runs_log(tmp_path / "events.sqlite3", 3000)
    done = subprocess.run(f"{sys.executable} -m tools.inspect events --log {log.path} -n 0 "
                          "| head -2", shell=True, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert len(done.stdout.splitlines()) == 2
    assert done.stderr == ""


def test_clear_errors_for_missing_files_non_logs_and_unknown_sessions(tmp_path: Path) -> None:
    missing = tool("tools.inspect", "sessions", "--log", str(tmp_path / "absent.sqlite3"))
    assert missing.returncode == 2 and "no event log at" in missing.stderr
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, just some words\n" * 100)
    assert "is not an event log" in tool("tools.inspect", "sessions", "--log", str(text)).stderr
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    out = tool("tools.inspect", "events", "--log", str(other))
    assert out.returncode == 2 and "not an event log (no sessions and events" in out.stderr
    log = _runs_log(tmp_path / "events.sqlite3", 1)
    unknown = tool("tools.inspect", "events", "--log", str(log.path), "--session", "feed")
    assert unknown.returncode == 2
    assert "session feed is not in" in unknown.stderr and log.session in unknown.stderr
    prefix = tool("tools.inspect", "events", "--log", str(log.path), "--session",
                  log.session[:6])
    assert prefix.returncode == 0 and "print(0)" in prefix.stdout


def test_a_session_without_a_clean_end_is_flagged(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.sqlite3")
    log.open_session()
    log.append(Event("kernel", "log", "hello"))
    assert log.flush()
    out = tool("tools.inspect", "sessions", "--log", str(log.path))
    log.close()
    assert "(no clean end)" in out.stdout
    assert "-wal" in out.stderr


def test_follow_prints_what_a_live_runner_writes(runner: RunnerProcess) -> None:
    follower = subprocess.Popen(
        [sys.executable, "-m", "tools.inspect", "events", "--log", str(runner.log_path),
         "--follow", "--format", "jsonl"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines: queue.Queue[dict] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(json.loads(x)) for x in follower.stdout],
                     daemon=True).start()  # type: ignore[union-attr]
    client = runner.client()
    try:
        # it follows once it prints a `status` answer sent after it started
        deadline = time.monotonic() + 60
        while not _seen(lines, lambda r: r["name"] == "status", 0.5):
            assert time.monotonic() < deadline, "the follower never printed an event"
            client.status()
        client.query("print('written after the follower started')")
        assert _seen(lines, lambda r: r["kind"] == "output"
                     and r["data"] == "written after the follower started\n", 60)
    finally:
        follower.terminate()
        follower.wait(10)


def _seen(lines: queue.Queue[dict], wanted: Callable[[dict], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            if wanted(lines.get(timeout=left)):
                return True
        except queue.Empty:
            return False
    return False


def test_times_are_read_as_dates_times_of_day_ages_or_epochs() -> None:
    from datetime import UTC, datetime

    from tools.inspect.events import parse_time

    today = datetime.now(UTC).date().isoformat()
    assert parse_time("09:30", utc=True) == datetime.fromisoformat(f"{today}T09:30+00:00"
                                                                    ).timestamp()
    assert parse_time("2023-11-14T22:13:20Z", utc=False) == T0
    assert parse_time("1700000000", utc=False) == T0
    assert parse_time("2h", utc=False, now=T0) == T0 - 7200


def test_program_output_cannot_drive_the_operators_terminal(tmp_path: Path) -> None:
    hostile = (b"\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: write to the operator's clipboard
               b"\x1b]0;owned\x07"  # change the window title
               b"\x1b[2J\x1b[31mred\r\xc2\x9b6n\xe2\x80\xae txt.exe\x7f")
    log = EventLog(tmp_path / "events.sqlite3")
    log.open_session(kernel_id="k", language="python")
    log.append(Event("run:1", OUTPUT, "stdout", hostile, wall=T0, mono=T0))
    log.append(Event("service:\x1b]0;x\x07", INPUT, "start-service", {"name": "\x1b[8m"},
                     wall=T0 + 1, mono=T0 + 1))
    log.close()
    for extra in ([], ["--full"], ["--format", "json"], ["--format", "jsonl"]):
        out = tool("tools.inspect", "events", "--log", str(log.path), *extra)
        assert out.returncode == 0, out.stderr
        shown = out.stdout
        assert not any(c in shown for c in "\x1b\x07\x7f\x9b\u202e\r"), (extra, shown)
        if extra == ["--full"]:
            assert "\\x1b]52;c;cm0gLXJmIH4=\\x07" in shown and "\\u202e" in shown
            assert "\\x9b" in shown and "\\x0d" in shown
    as_json = tool("tools.inspect", "events", "--log", str(log.path), "--format", "json")
    assert json.loads(as_json.stdout)[0]["data"] == hostile.decode()  # the same text
    raw = tool("tools.inspect", "events", "--log", str(log.path), "--raw", "--full")
    assert "\x1b]52;c;cm0gLXJmIH4=\x07" in raw.stdout  # asked for: as the program wrote it
