"""Floods, caps and secrets: bounded memory, capped recording, nothing secret in the log."""

from __future__ import annotations

import os
import sqlite3
import stat
import time

from bench.flood import GIB, RssWatch, drain_exec
from bench.frontend import rss_mb
from tests.conftest import RunnerProcess, free_port

RSS_BOUND_MB = 150  # the runner without its Jupyter kernel, whatever its children print


def test_a_gigabyte_of_output_arrives_whole_in_bounded_memory(runner: RunnerProcess) -> None:
    client = runner.client()
    watch = RssWatch(runner.proc.pid)
    client.send("exec", f"head -c {GIB} /dev/zero")
    received, code = drain_exec(client)
    peak = watch.stop()
    assert (received, code) == (GIB, 0)
    assert peak < RSS_BOUND_MB, f"runner RSS peaked at {peak:.0f} MB"


def test_an_agent_that_stops_reading_does_not_grow_the_runner(runner: RunnerProcess) -> None:
    client = runner.client()
    client.send("exec", f"head -c {GIB} /dev/zero")
    time.sleep(3)  # the agent reads nothing meanwhile; the child must be held back
    held = rss_mb(runner.proc.pid)
    assert held < RSS_BOUND_MB, f"runner RSS grew to {held:.0f} MB with no reader"
    assert "started_at" in client.status(timeout=30)  # still serving, replies queue behind
    before_status = sum(len(d) for kind, d in client.skipped if kind == "stdout")
    received, code = drain_exec(client)
    assert (before_status + received, code) == (GIB, 0)


def test_recorded_output_is_capped_with_a_marker(runner_factory) -> None:
    r = runner_factory("python", "--record-output-limit", "100000")
    client = r.client()
    result = client.batch(exec="head -c 3000000 /dev/zero")
    assert sum(len(d) for k, d in result.exec.console if k == "stdout") == 3_000_000
    r.stop()
    db = sqlite3.connect(r.log_path)
    recorded = db.execute("SELECT coalesce(sum(length(data)), 0) FROM events "
                          "WHERE kind='output' AND name='stdout'").fetchone()[0]
    assert recorded <= 100_000
    marker = db.execute("SELECT json_extract(data, '$.limit') FROM events "
                        "WHERE name='OutputRecordingCapped'").fetchall()
    assert marker == [(100000,)]
    ended = db.execute("SELECT json_extract(data, '$.output_bytes') FROM events "
                       "WHERE name='RunEnded' ORDER BY seq DESC LIMIT 1").fetchone()[0]
    assert ended == 3_000_000


def test_log_is_private_and_holds_no_batch_password_nor_env_values(
        runner: RunnerProcess) -> None:
    (runner.work_dir / "main.py").write_text(
        "import getpass\nsecret = getpass.getpass('pw: ')\nprint('got', len(secret))\n")
    client = runner.client()
    result = client.batch(exec="*", inputs=["batch-Secret-42"])
    assert "got 15" in result.stdout
    assert result.waiting_inputs == [{"is_password": True}]  # batch says so too now
    client.start_service("web", free_port(), options={"envs": {"TOKEN": "env-Secret-99"}})
    assert runner.stop() == 0
    assert stat.S_IMODE(os.stat(runner.log_path).st_mode) == 0o600
    raw = b"".join(p.read_bytes() for p in runner.log_path.parent.glob("events.sqlite3*"))
    assert b"batch-Secret-42" not in raw
    assert b"env-Secret-99" not in raw
    assert b"TOKEN" in raw  # the name is kept, only the value is not
