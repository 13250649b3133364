"""What the runner reads from its container: environ.txt, bootstrap.sh, the agent's command."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.conftest import free_port
from tools.launch import start_runner


def test_environ_txt_reaches_children_and_bootstrap_runs_first(tmp_path: Path) -> None:
    runner = start_runner(tmp_path, "python", files={
        "config/environ.txt": "GREETING=hello=world\nBADLINE\nOTHER=2\n",
        "work/bootstrap.sh": "echo booted > booted.txt\n",
    })
    try:
        result = runner.client().batch(exec='echo "$GREETING $OTHER"; cat booted.txt')
        assert result.exec_exit == 0
        assert result.stdout == "hello=world 2\nbooted\n"
    finally:
        assert runner.stop() == 0
    assert "lines without '='" in runner.stderr_text()


def test_the_agents_unchanged_command_starts_krunner(tmp_path: Path) -> None:
    runner = start_runner(tmp_path, "python", module="ai.backend.kernel")
    try:
        client = runner.client()
        assert "started_at" in client.status()
        assert client.query("print('compatible')").stdout == "compatible\n"
        client.send("complete", json.dumps({"code": "pri"}))
        assert "print" in json.loads(client.wait_for("completion"))["suggestions"]
    finally:
        assert runner.stop() == 0


def test_ports_come_from_intrinsic_ports_json(tmp_path: Path) -> None:
    replin, replout = free_port(), free_port()
    runner = start_runner(tmp_path, "python", pick_ports=False, files={
        "config/intrinsic-ports.json": json.dumps({"replin": replin, "replout": replout}),
    })
    try:
        assert (runner.input_port, runner.output_port) == (replin, replout)
        assert "started_at" in runner.client().status()
    finally:
        assert runner.stop() == 0


def test_status_is_answered_at_once_and_an_early_query_waits_for_the_kernel(
        tmp_path: Path) -> None:
    runner = start_runner(tmp_path, "python")
    try:
        client = runner.client()
        client.send("status", b"")
        client.send("code", b"print('ran after the kernel came up')")
        assert client.recv(timeout=30)[0] == "status"
        result = client.collect("finished")
        assert (result.exit_code, result.stdout) == (0, "ran after the kernel came up\n")
    finally:
        assert runner.stop() == 0
    db = sqlite3.connect(runner.log_path)
    try:
        seq = dict(db.execute(
            "SELECT CASE WHEN kind = 'output' THEN 'status reply' ELSE name END, min(seq) "
            "FROM events WHERE (kind = 'output' AND name = 'status') OR name = 'DriverReady' "
            "OR (kind = 'input' AND name = 'code') GROUP BY 1"))
    finally:
        db.close()
    assert seq["status reply"] < seq["DriverReady"]  # answered while the kernel was starting
    assert seq["code"] < seq["DriverReady"]  # and the query arrived before it was ready


def test_unusable_folders_are_explained_and_the_runner_keeps_serving(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    runner = start_runner(tmp_path, "python", "--state-dir", str(blocker / "state"),
                          "--work-dir", str(tmp_path / "missing"))
    try:
        client = runner.client()
        assert "started_at" in client.status()
        query = client.query("print('x')")
        assert query.exit_code == 127 and "query mode is unavailable" in query.stderr
        batch = client.batch(exec="echo never")
        assert batch.exec_exit == -1
        assert "could not run" in batch.stderr and "missing" in batch.stderr
    finally:
        assert runner.stop() == 0
    assert "state folder" in runner.stderr_text() and "unusable" in runner.stderr_text()
