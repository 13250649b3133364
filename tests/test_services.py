"""Services and model services, with real processes and a real HTTP server."""

from __future__ import annotations

import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunnerProcess, free_port, gone
from tests.service_helpers import ROOT

HTTP_SERVER = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1"]


def _define(runner: RunnerProcess, name: str, doc: object) -> None:
    path = runner.home / "service-defs" / f"{name}.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))


def test_a_service_starts_answers_running_and_is_listed(runner_factory) -> None:
    r = runner_factory()
    _define(r, "web", {"command": [*HTTP_SERVER, "{ports[0]}"], "url_template": "http://{host}",
                       "allowed_arguments": ["--directory"]})
    _define(r, "broken", "{not json")
    r.stop()
    r = _restart_same(runner_factory, r)
    client = r.client()
    port = free_port()
    assert client.start_service("web", port) == {"status": "started"}
    assert client.start_service("web", port) == {"status": "running"}
    apps = client.get_apps()
    assert apps["status"] == "done"
    assert {"name": "web", "url_template": "http://{host}",
            "allowed_arguments": ["--directory"]} in apps["data"]
    broken = client.start_service("broken", free_port())
    assert broken["status"] == "failed"
    assert "invalid service definition" in broken["error"]
    assert client.start_service("nope", free_port())["error"] == "unsupported service: nope"


def _restart_same(runner_factory, old: RunnerProcess) -> RunnerProcess:
    """A new runner reading the old one's service-defs folder."""
    return runner_factory("python", "--service-defs", str(old.home / "service-defs"))


def test_a_service_that_exits_early_fails_fast_with_its_exit_code(runner_factory) -> None:
    r = runner_factory()
    _define(r, "crash", {"command": [sys.executable, "-c", "import sys; sys.exit(4)"]})
    r.stop()
    r = _restart_same(runner_factory, r)
    began = time.monotonic()
    reply = r.client().start_service("crash", free_port())
    assert reply == {"status": "failed",
                     "error": f"the process exited with code 4 before opening port "
                              f"{reply['error'].rsplit(' ', 1)[1]}"}
    assert time.monotonic() - began < 3


def test_shutdown_service_stops_the_whole_process_group(runner_factory, tmp_path: Path) -> None:
    r = runner_factory()
    pidfile = tmp_path / "child.pid"
    script = (f"sleep 300 & echo $! > {pidfile}; exec {' '.join(HTTP_SERVER)} {{ports[0]}}")
    _define(r, "family", {"command": ["/bin/sh", "-c", script]})
    r.stop()
    r = _restart_same(runner_factory, r)
    client = r.client()
    assert client.start_service("family", free_port())["status"] == "started"
    child = int(pidfile.read_text())
    client.shutdown_service("family")
    assert gone(child, within=10)


def _model(tmp_path: Path, port: int, command: list[str], **check: object) -> dict:
    model_dir = tmp_path / "model"
    model_dir.mkdir(exist_ok=True)
    health = {"path": "/", "max_retries": 2, "max_wait_time": 0.3, **check}
    return {"name": "llm", "model_path": str(model_dir),
            "service": {"start_command": command, "port": port, "health_check": health}}


def _status(client) -> dict:
    return json.loads(client.wait_for("model-service-status", timeout=30))


def test_a_model_becomes_healthy_then_unhealthy_when_its_server_dies(
        runner: RunnerProcess, tmp_path: Path) -> None:
    client = runner.client()
    port = free_port()
    reply = client.start_model_service(_model(tmp_path, port, [*HTTP_SERVER, str(port)],
                                              max_retries=30))
    assert reply == {"status": "started"}
    assert _status(client) == {"model_name": "llm", "is_healthy": True}
    pid = _model_pid(runner)
    os.kill(pid, signal.SIGKILL)
    assert _status(client) == {"model_name": "llm", "is_healthy": False}
    runner.stop()
    db = sqlite3.connect(runner.log_path)
    moves = [r[0] for r in db.execute(
        "SELECT to_state FROM model_health WHERE kind='transition' ORDER BY seq")]
    assert moves[:3] == ["undetermined", "healthy", "unhealthy"]  # then restarted, maybe
    assert moves[-1] == "stopped"


def _model_pid(runner: RunnerProcess) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        db = sqlite3.connect(runner.log_path)
        row = db.execute("SELECT json_extract(data, '$.pid') FROM events "
                         "WHERE source='model:llm' AND name='ServiceSpawned'").fetchone()
        db.close()
        if row:
            return int(row[0])
        time.sleep(0.05)
    raise AssertionError("the model process was never recorded as spawned")


def test_a_hung_server_is_reported_unhealthy_after_the_failure_threshold(
        runner: RunnerProcess, tmp_path: Path) -> None:
    client = runner.client()
    port = free_port()
    hang = ("import socket, time\ns = socket.socket()\n"
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            f"s.bind(('127.0.0.1', {port}))\ns.listen()\nconns = []\n"
            "while True:\n    conns.append(s.accept())\n")
    began = time.monotonic()
    model = _model(tmp_path, port, [sys.executable, "-c", hang])
    assert client.start_model_service(model) == {"status": "started"}
    assert _status(client) == {"model_name": "llm", "is_healthy": False}
    assert time.monotonic() - began < 5
    runner.stop()
    db = sqlite3.connect(runner.log_path)
    reasons = {r[0] for r in db.execute(
        "SELECT reason FROM model_health WHERE name='ProbeFailed'")}
    assert any(r and "timed out" in r for r in reasons)


def test_a_model_without_health_check_is_healthy_once_started(
        runner: RunnerProcess, tmp_path: Path) -> None:
    client = runner.client()
    port = free_port()
    model = _model(tmp_path, port, [*HTTP_SERVER, str(port)])
    model["service"]["health_check"] = None
    assert client.start_model_service(model) == {"status": "started"}
    assert _status(client) == {"model_name": "llm", "is_healthy": True}


def test_a_model_with_a_missing_directory_fails_with_the_reason(
        runner: RunnerProcess, tmp_path: Path) -> None:
    model = _model(tmp_path, free_port(), ["true"])
    model["model_path"] = str(tmp_path / "absent")
    reply = runner.client().start_model_service(model)
    assert reply["status"] == "failed"
    assert "model directory does not exist" in reply["error"]


SECRET = "s3cr3t-Value-4711-krunner-must-never-log"


def _leaks(blob: bytes, secret: str) -> list[str]:
    """Where the secret shows in raw bytes: plain, hex, or base64 at any of its 3 alignments."""
    raw = secret.encode()
    found = []
    if raw in blob:
        found.append("plain")
    if raw.hex().encode() in blob or raw.hex().upper().encode() in blob:
        found.append("hex")
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        core = encoded[(shift * 4 + 2) // 3 + 1:-4]  # the part that depends on the secret only
        if core in blob or core.replace(b"+", b"-").replace(b"/", b"_") in blob:
            found.append(f"base64+{shift}")
    return found


def test_environment_secrets_never_reach_the_log_or_a_transcript(runner_factory,
                                                                 tmp_path: Path) -> None:
    r = runner_factory()
    script = f'echo "$PASSWORD" > got-env; exec {" ".join(HTTP_SERVER)} {{ports[0]}}'
    _define(r, "web", {"command": ["/bin/sh", "-c", script], "allowed_envs": ["PASSWORD"]})
    r.stop()
    r = _restart_same(runner_factory, r)
    client = r.client()
    envs = {"envs": {"PASSWORD": SECRET}}
    assert client.start_service("web", free_port(), options=envs)["status"] == "started"
    assert (r.work_dir / "got-env").read_text().strip() == SECRET  # the service got it
    bad_name = json.dumps({"name": 7, "options": envs})  # rejected: name is not a string
    client.send("start-service", bad_name)
    assert json.loads(client.wait_for("service-result"))["status"] == "failed"
    client.send("start-service", bad_name[:-3])  # rejected: not JSON at all
    assert json.loads(client.wait_for("service-result"))["status"] == "failed"
    client.send_raw([b"start-service", bad_name.encode(), b"extra"])  # wrong frame count
    assert json.loads(client.wait_for("service-result"))["status"] == "failed"
    model = {"name": "m", "model_path": str(tmp_path), "service": {
        "start_command": ["true"], "port": free_port(), "env": {"TOKEN": SECRET}},
        "envs": {"TOKEN": SECRET}}
    client.send("start-model-service", json.dumps(model))
    client.wait_for("model-service-result")
    client.send("start-model-service", json.dumps({**model, "name": 5}))  # rejected
    client.wait_for("model-service-result")
    r.stop()
    out = tmp_path / "session.jsonl"
    subprocess.run([sys.executable, "-m", "tools.transcript", "export", "--log",
                    str(r.log_path), "--out", str(out)], check=True, cwd=ROOT)
    files = [r.log_path, Path(f"{r.log_path}-wal"), out]
    assert {str(f): _leaks(f.read_bytes(), SECRET) for f in files if f.exists()} == {
        str(f): [] for f in files if f.exists()}
    assert _leaks(base64.b64encode(b"xx" + SECRET.encode() + b"yy"), SECRET)  # the search works
    rejected = sqlite3.connect(r.log_path).execute(
        "SELECT count(*) FROM events WHERE json_extract(data, '$.rejected') IS NOT NULL "
        "AND name IN ('start-service', 'start-model-service')").fetchone()[0]
    assert rejected == 4  # recorded, without the secret


@pytest.mark.parametrize("name", ["jupyter", "jupyterlab"])
def test_the_legacy_jupyter_built_ins_serve_without_a_token(runner_factory, name: str) -> None:
    pytest.importorskip("notebook" if name == "jupyter" else "jupyterlab",
                        reason="the test extras install notebook (and jupyterlab)")
    # a loaded machine may need longer than the agent's 10 s to start a Jupyter server
    runner = runner_factory("python", env={"KRUNNER_SERVICE_LAUNCH_TIMEOUT": "60"})
    port = free_port()
    reply = runner.client().start_service(name, port, protocol="http", timeout=90)
    assert reply == {"status": "started"}
    page = httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=30, trust_env=False)
    assert page.status_code == 200  # no token asked: the agent's proxy does the auth
    assert "started" in page.json()
    argv = sqlite3.connect(runner.log_path).execute(
        "SELECT json_extract(data, '$.argv') FROM events WHERE source = ? AND "
        "name = 'ServiceSpawned'", (f"service:{name}",)).fetchone()
    runner.stop()
    module = "notebook" if name == "jupyter" else "jupyterlab"
    assert json.loads(argv[0])[1:4] == ["-m", module, "--no-browser"]
