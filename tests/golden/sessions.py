"""The golden sessions: what the agent does in each, against a real runner.

Each function starts a runner in the folder it is given, plays its story through the
agent's client, checks that the runner answered as the story says, and returns the runner
(still running; `record` stops it and exports the log). A story waits for frames or log
events, never for a fixed time.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

import zmq

from tools.client import AgentClient
from tools.launch import RunnerProcess, start_runner
from tools.ports import free_port

WAIT = 60.0


def _runner(folder: Path, files: dict[str, str] | None = None) -> tuple[RunnerProcess,
                                                                          AgentClient]:
    folder.mkdir(parents=True, exist_ok=True)
    runner = start_runner(folder, "python", files=files)
    client = runner.client(timeout=WAIT)
    client.status()
    _logged(runner, "SELECT 1 FROM events WHERE source='kernel' AND name IN ('DriverReady', "
                    "'DriverFailed')", bool, "the kernel started")  # the same story each time
    return runner, client


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def _logged(runner: RunnerProcess, sql: str, enough: Callable[[list[tuple]], bool],
            what: str, timeout: float = 30.0) -> None:
    """Wait until the rows the runner has logged satisfy `enough`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db = sqlite3.connect(f"file:{runner.log_path}?mode=ro", uri=True)
        try:
            if enough(db.execute(sql).fetchall()):
                return
        except sqlite3.OperationalError:
            pass  # not created yet
        finally:
            db.close()
        time.sleep(0.05)
    raise TimeoutError(f"the log never showed {what}")


def query(folder: Path) -> RunnerProcess:
    """Queries that print, fail, and show media; a completion."""
    runner, client = _runner(folder)
    _check(client.query("print('hello')").stdout == "hello\n", "print")
    _check(client.query("1/0").exit_code == 1, "an error exits 1")
    _check(client.query("raise SystemExit(3)").exit_code == 3, "SystemExit's code")
    client.complete("pri")
    return runner


def batch(folder: Path) -> RunnerProcess:
    """A failed build skips the exec (127, PROTOCOL §5.1); the next batch runs again."""
    runner, client = _runner(folder)
    failed = client.batch(clean="true", build="false", exec="echo skipped")
    _check((failed.build_exit, failed.exec_exit) == (1, 127), "the exec is skipped")
    good = client.batch(build="true", exec="echo ran")
    _check((good.exec_exit, good.stdout) == (0, "ran\n"), "the next batch runs")
    return runner


def user_input(folder: Path) -> RunnerProcess:
    """input() in a query and in a batch program, each answered by the agent."""
    runner, client = _runner(folder)
    asked = client.query("print('got', input('name? '))", inputs=["ada"])
    _check(asked.stdout.endswith("got ada\n"), "the query got its input")
    program = f"{sys.executable} -c \"print('got', input())\""
    batch = client.batch(exec=program, inputs=["bob"])
    _check("got bob" in batch.stdout and batch.exec_exit == 0, "the batch got its input")
    return runner


def interrupt(folder: Path) -> RunnerProcess:
    """A sleeping query and a sleeping batch program, each interrupted by the agent."""
    runner, client = _runner(folder)
    client.send("code", "import time\nprint('go', flush=True)\ntime.sleep(60)")
    client.wait_for("stdout")
    client.interrupt()
    _check(client.collect("finished").exit_code == 1, "the query ends with an error")
    for op, payload in (("clean", ""), ("build", ""), ("exec", "echo go; sleep 60")):
        client.send(op, payload)
    client.wait_for("build-finished")
    client.wait_for("stdout")
    client.interrupt()
    _check(client.collect("finished").exit_code != 0, "the batch program ends")
    return runner


def kernel_restart(folder: Path) -> RunnerProcess:
    """The Jupyter kernel dies mid-query; the runner restarts it and queries work again."""
    runner, client = _runner(folder)
    died = client.query("import os\nos._exit(3)")
    _check(died.exit_code != 0 and "died" in died.stderr, "the run says the kernel died")
    _check(client.query("print('back')").stdout == "back\n", "the restarted kernel answers")
    return runner


FLAPPING_SERVER = """
import http.server, os, sys
class Flapping(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(500 if os.path.exists("sick") else 200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Flapping).serve_forever()
"""


def model_flapping(folder: Path) -> RunnerProcess:
    """A model server that passes, fails while `sick` exists, then passes again."""
    runner, client = _runner(folder)
    port = free_port()
    model_dir = folder / "model"  # the server's working folder
    model_dir.mkdir()
    # ten failures in a row (two seconds) make it unhealthy: slow starts stay undetermined
    health = {"path": "/", "max_retries": 10, "max_wait_time": 1.0, "interval": 0.2}
    model = {"name": "llm", "model_path": str(model_dir), "service": {
        "start_command": [sys.executable, "-c", FLAPPING_SERVER, str(port)], "port": port,
        "health_check": health}}
    _check(client.start_model_service(model) == {"status": "started"}, "model started")
    seen = [_health(client)]
    (model_dir / "sick").touch()
    seen.append(_health(client))
    (model_dir / "sick").unlink()
    seen.append(_health(client))
    _check(seen == [True, False, True], f"healthy, unhealthy, healthy (got {seen})")
    client.shutdown_service(f"llm-{port}")
    _logged(runner, "SELECT 1 FROM events WHERE source='model:llm' AND name='ModelStopped'",
            bool, "the model stopped")
    return runner


def _health(client: AgentClient) -> bool:
    return bool(json.loads(client.wait_for("model-service-status"))["is_healthy"])


CRASHING_SERVICE = """
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
time.sleep(0.3)
sys.exit(1)
"""


def service_crash_loop(folder: Path) -> RunnerProcess:
    """A service that opens its port and then keeps crashing: restarted with back-off."""
    definition = {"command": [sys.executable, "-c", CRASHING_SERVICE, "{ports[0]}"]}
    runner, client = _runner(folder, {"service-defs/crashy.json": json.dumps(definition)})
    _check(client.start_service("crashy", free_port()) == {"status": "started"}, "started")
    _logged(runner, "SELECT 1 FROM events WHERE source='service:crashy' "
                    "AND name='ServiceRestarting'", lambda rows: len(rows) >= 2,
            "two restarts")
    client.shutdown_service("crashy")
    return runner


BROKEN_SHELL = """#!/bin/sh
[ -e "$(dirname "$0")/fixed" ] || exit 3
exec /bin/sh "$@"
"""


def terminal(folder: Path) -> RunnerProcess:
    """The git terminal's shell dies at once, again and again: restarted with back-off, then
    fatal; the user fixes it and presses Enter, and it runs."""
    folder.mkdir(parents=True, exist_ok=True)
    shell = folder / "broken-shell"
    shell.write_text(BROKEN_SHELL)
    shell.chmod(0o755)
    keys_port = free_port()
    runner = start_runner(folder, "git", "--terminal-in-port", str(keys_port),
                          "--terminal-out-port", str(free_port()), env={"SHELL": str(shell)})
    runner.client(timeout=WAIT).status()
    _logged(runner, "SELECT 1 FROM events WHERE source='terminal' AND to_state='fatal'", bool,
            "the terminal gave up", timeout=WAIT)
    (folder / "fixed").touch()
    keys = zmq.Context.instance().socket(zmq.PUB)
    keys.connect(f"tcp://127.0.0.1:{keys_port}")
    try:
        for _ in range(int(WAIT)):  # PUB drops what it sends before the subscription is made
            keys.send(b"\r")
            try:
                _logged(runner, "SELECT 1 FROM events WHERE source='terminal' AND "
                                "name='ShellStartRequested'", bool, "Enter", timeout=1.0)
                break
            except TimeoutError:
                continue
    finally:
        keys.close(linger=0)
    _logged(runner, "SELECT to_state FROM events WHERE source='terminal' AND "
                    "kind='transition' ORDER BY seq DESC LIMIT 1",
            lambda rows: rows == [("running",)], "the shell running again")
    return runner


SESSIONS: dict[str, Callable[[Path], RunnerProcess]] = {
    "query": query,
    "batch": batch,
    "input": user_input,
    "interrupt": interrupt,
    "kernel_restart": kernel_restart,
    "model_flapping": model_flapping,
    "service_crash_loop": service_crash_loop,
    "terminal": terminal,
}
