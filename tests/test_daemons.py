"""A service that daemonizes (double fork, the leader exits 0) is its daemon: started when its
port opens, running while the daemon lives, restarted when it dies, and gone after
`shutdown-service` and when the runner stops. `tests/daemon_server.py` is the daemon.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RunnerProcess, free_port, gone
from tests.service_helpers import log_rows, states, wait_rows

SOURCE = "service:daemon"


def _runner(runner_factory: Callable[..., RunnerProcess], tmp_path: Path, delay: str = "0.3",
            prefix: tuple[str, ...] = ()) -> tuple[RunnerProcess, Path]:
    pidfile = tmp_path / "daemon.pid"
    command = [sys.executable, "-m", "tests.daemon_server", "{ports[0]}", str(pidfile), delay]
    runner = runner_factory("app", files={"service-defs/daemon.json":
                                          json.dumps({"command": command})},
                            env={"KRUNNER_SERVICE_START_WINDOW": "0.5",
                                 "KRUNNER_SERVICE_BACKOFF_BASE": "0.1"}, prefix=prefix)
    runner.client().status()
    return runner, pidfile


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            return conn.recv(3) == b"ok\n"
    except OSError:
        return False


def _daemon_pid(pidfile: Path, previous: int | None = None) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if pidfile.exists() and int(pidfile.read_text()) != previous:
            return int(pidfile.read_text())
        time.sleep(0.05)
    raise AssertionError("the daemon never wrote its pid")


@pytest.mark.parametrize("opens", ["0.3", "early"])  # after the leader's exit, or before
def test_a_daemonizing_service_serves_until_shutdown_service_ends_it(
        runner_factory, tmp_path, opens: str) -> None:
    runner, pidfile = _runner(runner_factory, tmp_path, delay=opens)
    client, port = runner.client(), free_port()
    assert client.start_service("daemon", port) == {"status": "started"}
    daemon = _daemon_pid(pidfile)
    time.sleep(1.5)  # well past the start window: nothing restarts, nothing is killed
    assert _answers(port)
    assert states(runner.log_path, SOURCE) == ["starting", "running"]
    assert log_rows(runner.log_path, "SELECT 1 FROM events WHERE source = ? "
                                     "AND name = 'ProcessDaemonized'", SOURCE)
    client.shutdown_service("daemon")
    assert gone(daemon, within=10), "the daemon survived shutdown-service"
    wait_rows(runner.log_path, "SELECT 1 FROM events WHERE source = ? "
                               "AND to_state = 'stopped'", SOURCE)
    assert client.start_service("daemon", port) == {"status": "started"}  # afresh
    assert _answers(port)


def test_a_daemon_that_dies_is_reported_and_restarted(runner_factory, tmp_path) -> None:
    runner, pidfile = _runner(runner_factory, tmp_path)
    client, port = runner.client(), free_port()
    assert client.start_service("daemon", port) == {"status": "started"}
    daemon = _daemon_pid(pidfile)
    time.sleep(1.0)  # a good run, longer than the start window
    os.kill(daemon, signal.SIGKILL)
    exited = wait_rows(runner.log_path, "SELECT data FROM events WHERE source = ? "
                                        "AND name = 'ProcessExited'", SOURCE)
    assert json.loads(exited[0][0]) | {"pid": 0, "uptime": 0} == {
        "pid": 0, "uptime": 0, "daemon": True, "exit_code": -9}
    assert _daemon_pid(pidfile, previous=daemon) != daemon  # restarted after the back-off
    wait_rows(runner.log_path, "SELECT 1 FROM events WHERE source = ? AND to_state = 'running'",
              SOURCE, count=2)
    assert states(runner.log_path, SOURCE)[:4] == ["starting", "running", "backoff", "starting"]


def test_a_daemon_is_gone_when_the_runner_stops(runner_factory, tmp_path) -> None:
    report = tmp_path / "leftovers.json"
    runner, pidfile = _runner(runner_factory, tmp_path, delay="0",
                              prefix=(sys.executable, "-m", "bench.leftovers", str(report)))
    client, port = runner.client(), free_port()
    assert client.start_service("daemon", port) == {"status": "started"}
    daemon = _daemon_pid(pidfile)
    runner.proc.send_signal(signal.SIGTERM)
    assert runner.proc.wait(15) == 0
    assert json.loads(report.read_text())["leftovers"] == []
    assert gone(daemon, within=1)
    assert states(runner.log_path, SOURCE)[-1] == "stopped"
