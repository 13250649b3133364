"""Hostile requests at the edge: every request gets its one reply, whatever its types.

The agent sends something no agent should (100,000 brackets, a port beyond 65535, lists where
objects belong, a model probing the runner's own sockets or another host); the runner answers
`failed` with the reason, records it without secrets, and keeps serving everything else.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from runner import bounded_json
from tests.conftest import RunnerProcess, free_port
from tests.service_helpers import log_rows, model_entry, next_message, wait_rows
from tools.client import AgentClient
from tools.launch import start_runner

ARGV_SERVICE = f"exec {sys.executable} -m tests.argv_service {{ports[0]}}"


def _reply(client: AgentClient, op: str, request: Any, timeout: float = 20) -> dict[str, Any]:
    """Send one request and take the next message, which must be its reply."""
    client.send(op, request if isinstance(request, (str, bytes)) else json.dumps(request))
    kind, data = client.recv(timeout=timeout, waiting_for=f"the reply to {op}")
    expected = {"start-service": "service-result", "start-model-service": "model-service-result",
                "complete": "completion"}[op]
    assert kind == expected, (kind, data)
    return json.loads(data)


def test_json_nested_100000_deep_is_refused_and_the_runner_keeps_answering(
        runner: RunnerProcess) -> None:
    client = runner.client()
    deep = "[" * 100_000 + "]" * 100_000
    reply = _reply(client, "complete", '{"code": ' + deep + "}")
    assert reply["suggestions"] == [] and "nested deeper than" in reply["error"]
    reply = _reply(client, "start-service", '{"name": "x", "options": ' + deep + "}")
    assert reply["status"] == "failed" and "nested deeper than" in reply["error"]
    assert "started_at" in client.status(timeout=10)
    assert client.query("print('after')").stdout == "after\n"


def test_a_bug_in_one_frame_costs_that_frame_loudly_and_never_the_front_end(
        tmp_path: Path) -> None:
    r = start_runner(tmp_path, "python", module="tests.faulty_runner")
    try:
        client = r.client()
        client.status()
        client.send("complete", json.dumps({"code": "raise-before"}))
        client.send("complete", json.dumps({"code": "raise-after"}))
        client.send("event", json.dumps({"type": "raise", "data": {}}))
        client.send("status")
        got = [client.recv(timeout=20) for _ in range(3)]  # the second completion is async
        assert sorted(kind for kind, _ in got) == ["completion", "completion", "status"]
        first, second = (json.loads(data) for kind, data in got if kind == "completion")
        assert "InjectedFault" in first["error"]  # the reply it still owed
        assert "error" not in second  # already on its way: the real one, not a second one
        assert "started_at" in client.status(timeout=10)  # nothing more was queued before it
        assert client.query("print('alive')").stdout == "alive\n"
    finally:
        assert r.stop() == 0
    failures = log_rows(r.log_path, "SELECT json_extract(data, '$.op'), "
                                    "json_extract(data, '$.replied') FROM events "
                                    "WHERE name = 'FrontEndFailed' ORDER BY seq")
    assert failures == [("complete", 1), ("complete", 0), ("event", 0)]
    assert log_rows(r.log_path, "SELECT gaps FROM sessions") == [(3,)]  # never read as clean
    assert r.stderr_text().count("FRONT END ERROR") == 3


BAD_SERVICE_REQUESTS: list[tuple[dict[str, Any], str]] = [
    ({"name": "web", "port": 8080, "ports": 8080}, "'ports' must be a list"),
    ({"name": "web", "port": 99999, "ports": [99999]}, "port number"),
    ({"name": "web", "port": 8080, "ports": [8080, "8081"]}, "'ports'[1]"),
    ({"name": "web", "port": True}, "port number"),
    ({"name": "web", "port": 8080, "options": []}, "'options' must be an object"),
    ({"name": "web", "port": 8080, "options": {"arguments": ["--x"]}}, "options.arguments"),
    ({"name": "web", "port": 8080, "options": {"envs": ["TOKEN=list-Secret-77"]}},
     "options.envs"),
    ({"name": "web", "port": 8080, "options": {"envs": {"A": {"b": 1}}}}, "text value"),
    ({"name": "web", "port": 8080, "options": {"arguments": {"--x": "a\u0000b"}}}, "NUL"),
    ({"name": "web", "port": 8080, "protocol": 5}, "'protocol' must be a string"),
    ({"name": ["web"], "port": 8080}, "'name' must be a non-empty string"),
]


def test_every_malformed_service_request_is_answered_failed_with_its_reason(
        runner_factory) -> None:
    r = runner_factory(files={"service-defs/web.json": json.dumps(
        {"command": ARGV_SERVICE, "allowed_arguments": ["--out"], "allowed_envs": ["TOKEN"]})})
    client = r.client()
    for request, reason in BAD_SERVICE_REQUESTS:
        reply = _reply(client, "start-service", request)
        assert reply["status"] == "failed" and reason in reply["error"], (request, reply)
    port = free_port()  # the same name, asked properly, starts
    assert client.start_service("web", port, timeout=20) == {"status": "started"}
    own = _reply(client, "start-service", {"name": "other", "port": r.output_port})
    assert "the runner's own port" in own["error"]
    sshd_port = _reply(client, "start-service", {"name": "other", "port": 2200})
    assert "intrinsic service sshd" in sshd_port["error"]
    r.stop()
    raw = b"".join(p.read_bytes() for p in r.log_path.parent.glob("events.sqlite3*"))
    assert b"list-Secret-77" not in raw
    rejected = log_rows(r.log_path, "SELECT count(*) FROM events WHERE name = 'start-service' "
                                    "AND json_extract(data, '$.rejected') IS NOT NULL")
    assert rejected == [(len(BAD_SERVICE_REQUESTS) + 2,)]


def test_a_string_command_passes_its_arguments_to_the_program(runner_factory,
                                                             tmp_path: Path) -> None:
    r = runner_factory(files={"service-defs/args.json": json.dumps(
        {"command": ARGV_SERVICE, "allowed_arguments": ["--out", "--name"],
         "default_arguments": {"--name": ["two words", "$HOME"]}})})
    out = tmp_path / "argv of the service.json"
    port = free_port()
    client = r.client()
    assert client.start_service("args", port, options={"arguments": {"--out": str(out)}},
                                timeout=20) == {"status": "started"}
    assert json.loads(out.read_text()) == [str(port), "--name", "two words", "$HOME",
                                           "--out", str(out)]


def _model(tmp_path: Path, **service: Any) -> dict[str, Any]:
    model = model_entry(tmp_path / "model", free_port())
    model["service"].update(service)
    return model


def _check(tmp_path: Path, **check: Any) -> dict[str, Any]:
    model = model_entry(tmp_path / "model", free_port())
    model["service"]["health_check"].update(check)
    return model


def test_every_malformed_model_request_is_answered_failed_with_its_reason(
        runner: RunnerProcess, tmp_path: Path) -> None:
    client = runner.client()
    bad: list[tuple[dict[str, Any] | str, str]] = [
        (_model(tmp_path, port=runner.output_port), "the runner's own port"),
        (_model(tmp_path, port=runner.input_port), "the runner's own port"),
        (_model(tmp_path, port=7681), "intrinsic service ttyd"),
        (_model(tmp_path, port=70000), "port number"),
        (_model(tmp_path, pre_start_actions="write_file"), "pre_start_actions"),
        (_model(tmp_path, pre_start_actions=[{"action": "mkdir", "args": ["/x"]}]), "args"),
        (_model(tmp_path, start_command={"run": "x"}), "start_command"),
        (_check(tmp_path, path="health"), "single '/'"),
        (_check(tmp_path, path="@127.0.0.2:80/"), "single '/'"),
        (_check(tmp_path, path="//evil.example/health"), "single '/'"),
        (_check(tmp_path, path="/a b"), "space"),
        (_check(tmp_path, max_wait_time=float("inf")), "finite"),
        (_check(tmp_path, interval=float("nan")), "finite"),
        (_model(tmp_path, start_command=["serve", "\udc80"]), "lone surrogate"),
        (_check(tmp_path, max_wait_time=-1), "max_wait_time"),
        (_check(tmp_path, max_wait_time="5"), "max_wait_time"),
        (_check(tmp_path, interval=0), "interval"),
        (_check(tmp_path, max_retries=0), "max_retries"),
        (_check(tmp_path, expected_status_code=99), "expected_status_code"),
        ({**_model(tmp_path), "metadata": ["not", "an", "object"]}, "'metadata'"),
    ]
    for request, reason in bad:
        reply = _reply(client, "start-model-service", request)
        assert reply["status"] == "failed" and reason in reply["error"], (request, reply)
    assert "started_at" in client.status(timeout=10)


@pytest.mark.parametrize("metadata", [{"title": "demo", "tags": ["a"], "nested": {"x": 1}}, None])
def test_a_model_definition_with_metadata_starts_and_keeps_it(
        runner: RunnerProcess, tmp_path: Path, metadata: Any) -> None:
    client = runner.client()
    model = {**model_entry(tmp_path / "model", free_port()), "metadata": metadata}
    assert client.start_model_service(model, timeout=20) == {"status": "started"}
    assert next_message(client, "model-service-status") == {"model_name": "llm",
                                                             "is_healthy": True}
    recorded = wait_rows(runner.log_path, "SELECT json_extract(data, '$.metadata') FROM events "
                                          "WHERE name = 'start-model-service' AND kind = 'input'")
    assert [json.loads(m) if m else m for (m,) in recorded] == [metadata]


def test_a_service_whose_program_cannot_be_executed_is_answered_each_time(
        runner_factory, tmp_path: Path) -> None:
    script = tmp_path / "no-shebang"
    script.write_bytes(b"\x7fELF not really\n")
    script.chmod(0o755)
    r = runner_factory(files={"service-defs/odd.json": json.dumps({"command": [str(script)]})})
    client = r.client()
    for _ in range(2):  # the first failure leaves the machine in a final state
        reply = client.start_service("odd", free_port(), timeout=20)
        assert reply["status"] == "failed" and "Exec format error" in reply["error"], reply


def test_a_prestart_action_that_breaks_is_the_start_s_failure_and_answered_each_time(
        runner: RunnerProcess, tmp_path: Path) -> None:
    client = runner.client()
    model = _model(tmp_path, pre_start_actions=[{"action": "write_file", "args": {
        "filename": str(tmp_path / "conf"), "body": ["x"], "mode": "not octal"}}])
    for _ in range(2):
        reply = _reply(client, "start-model-service", model)
        assert reply["status"] == "failed" and "write_file" in reply["error"], reply
    assert "started_at" in client.status(timeout=10)


@pytest.mark.parametrize(("text", "accepted"), [
    ('{"code": "' + "[" * 1000 + '"}', True),  # brackets inside a string are text, not depth
    ('{"code": "\\"[[[[", "x": ' + "[" * 500 + "]" * 500 + "}", False),
    ("[" * 500 + "]" * 500, True),
    ("[" * 100_000 + "]" * 100_000, False),
    ("[" + "1" * 5000 + "]", False),  # beyond the interpreter's 4300 digits
    ('{"a": "\\ud800", "b": 18446744073709551616, "c": NaN}', True),  # the log holds these
    ('{"a": ', False),
])
def test_bounded_json_refuses_only_what_cannot_be_read(text: str, accepted: bool) -> None:
    if accepted:
        bounded_json.loads(text)
    else:
        with pytest.raises(bounded_json.JSONRejected):
            bounded_json.loads(text)
