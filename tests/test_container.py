"""What the runner reads from its container: environ.txt, bootstrap.sh, the agent's command."""

from __future__ import annotations

import json
from pathlib import Path

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
