"""The log writer survives hostile values: a real runner is sent values orjson cannot encode
(lone surrogates, integers beyond 64 bits, nesting deeper than 255, NaN and Infinity); each is
recorded exactly as received (parsed, or as raw bytes where the front end refuses it), and a
batch run and a query sent afterwards are answered and recorded, in a session that ends
cleanly and stays visible. A value the runner makes itself (a file name that is not UTF-8,
read as a lone surrogate) reaches the writer unfiltered: it is recorded exactly too."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import RunnerProcess
from transcripts.reader import events, open_readonly, sessions

DEEP = 300  # orjson refuses more than 255 levels
HOSTILE_COMPLETES = {
    "surrogate": rb'{"code": "\ud800", "options": {}}',
    "huge int": b'{"code": "x", "options": {"n": ' + str(2**70).encode() + b"}}",
    "deep": b'{"code": "x", "options": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "non-finite": b'{"code": "x", "options": {"a": NaN, "b": Infinity, "c": -Infinity}}',
}
SHUTDOWN = rb'"svc\ud800"'  # accepted, a surrogate in the event's source
EVENT = rb'{"type": "\udfff", "big": -' + str(2**80).encode() + b"}"


def _same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN (json.loads gives NaN for the literal)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _as_received(recorded: Any, payload: bytes) -> bool:
    """Recorded exactly: the request as parsed, or (a request the front end rejected) its
    raw bytes with the reason."""
    if isinstance(recorded, dict) and "rejected" in recorded:
        return recorded.get("payload") == payload
    return _same(recorded, json.loads(payload))


def _recorded(log_path: Path) -> tuple[dict[str, Any], list[Any]]:
    conn = open_readonly(log_path)
    (session,) = sessions(conn)
    return session, [r.event for r in events(conn, session["id"])]


def test_values_orjson_cannot_encode_are_recorded_and_recording_goes_on(
        runner: RunnerProcess) -> None:
    client = runner.client()
    for payload in HOSTILE_COMPLETES.values():
        client.send("complete", payload)
        client.wait_for("completion")
    client.send("event", EVENT)
    client.send("shutdown-service", SHUTDOWN)
    assert client.batch(exec="echo recorded after").stdout == "recorded after\n"
    assert client.query("print('query after')").stdout == "query after\n"
    assert runner.stop() == 0

    session, recorded = _recorded(runner.log_path)
    assert session["ended_wall"] is not None
    completes = [e.data for e in recorded if e.kind == "input" and e.name == "complete"]
    for (what, payload), got in zip(HOSTILE_COMPLETES.items(), completes, strict=True):
        assert _as_received(got, payload), what
    assert any(e.name == "event" and _as_received(e.data, EVENT) for e in recorded)
    assert any(e.name == "shutdown-service" and _as_received(e.data, SHUTDOWN)
               for e in recorded)
    stdout = b"".join(e.data for e in recorded if e.kind == "output" and e.name == "stdout")
    assert b"recorded after\n" in stdout and b"query after\n" in stdout
    assert any(e.name == "RunEnded" for e in recorded)
    assert any(e.name == "RunnerStopped" for e in recorded)


def test_a_file_name_that_is_not_utf8_does_not_silence_the_log(
        runner_factory: Callable[..., RunnerProcess]) -> None:
    # an image whose service definition is named with a byte that is not UTF-8: Python
    # reads the name as a lone surrogate, which went into an observation and a log line
    # and stopped the writer on main (nothing of the session after it was recorded)
    runner = runner_factory(files={"service-defs/bad\udcff.json": "{not json"})
    client = runner.client()
    assert client.batch(exec="echo recorded after").stdout == "recorded after\n"
    assert runner.stop() == 0
    session, recorded = _recorded(runner.log_path)
    assert session["ended_wall"] is not None
    invalid = [e.data for e in recorded if e.name == "ServiceDefinitionInvalid"]
    assert invalid and invalid[0]["service"] == "bad\udcff"  # exactly as Python read it
    stdout = b"".join(e.data for e in recorded if e.kind == "output" and e.name == "stdout")
    assert b"recorded after\n" in stdout
    assert any(e.name == "RunnerStopped" for e in recorded)
