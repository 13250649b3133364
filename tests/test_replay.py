"""Offline replay: recorded inputs and observations rebuild exactly the recorded transitions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from machines import vocabulary as v
from tests.conftest import RunnerProcess
from transcripts.events import INPUT, OBSERVATION, OUTPUT, Event
from transcripts.reader import events, open_readonly
from transcripts.replay import record, replay, replay_session
from transcripts.store import EventLog
from transcripts.transcript import export, import_into, load

SOURCES = ["kernel", "run:1", "run:2", "service:web", "model:llm"]
NAMES = [
    (OBSERVATION, "RunnerStarted"), (OBSERVATION, v.DRIVER_READY), (OBSERVATION, v.KERNEL_DIED),
    (OBSERVATION, v.KERNEL_RESTARTED), (OBSERVATION, v.SHUTDOWN_REQUESTED),
    (INPUT, "code"), (INPUT, "build"), (INPUT, "exec"), (OBSERVATION, v.RUN_STARTED),
    (OBSERVATION, v.INPUT_REQUESTED), (INPUT, "input"), (INPUT, "interrupt"),
    (OBSERVATION, v.RUN_ENDED), (INPUT, "start-service"), (OBSERVATION, v.SERVICE_PORT_OPENED),
    (OBSERVATION, v.PROCESS_EXITED), (OBSERVATION, v.SERVICE_RESTARTING),
    (INPUT, "shutdown-service"), (OBSERVATION, v.MODEL_CONFIGURED),
    (OBSERVATION, v.PROBE_SUCCEEDED), (OBSERVATION, v.PROBE_FAILED),
]
DATA = st.fixed_dictionaries({}, optional={
    "exit_code": st.integers(-15, 3), "failed": st.booleans(), "op": st.sampled_from(
        ["code", "build", "exec", "clean"]), "failure_threshold": st.integers(1, 3),
    "success_threshold": st.integers(1, 3), "reason": st.text(max_size=5)})
EVENT = st.builds(lambda s, kn, d: Event(s, kn[0], kn[1], d), st.sampled_from(SOURCES),
                  st.sampled_from(NAMES), DATA)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(EVENT, max_size=60))
def test_random_sequences_recorded_through_the_log_replay_identically(
        tmp_path: Path, stream: list[Event]) -> None:
    log = EventLog(tmp_path / "prop.sqlite3")
    log.open_session()
    record(log, stream)
    log.close()
    report = replay_session(open_readonly(log.path), log.session)
    assert report.ok, report.divergence
    assert report.fed == len(stream)


def test_a_tampered_log_reports_its_first_divergence(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "t.sqlite3")
    log.open_session()
    record(log, [Event("model:llm", OBSERVATION, v.MODEL_CONFIGURED, {"failure_threshold": 1}),
                 Event("model:llm", OBSERVATION, v.PROBE_FAILED, {"reason": "x"})])
    log.close()
    db = sqlite3.connect(log.path)
    db.execute("UPDATE events SET to_state = 'healthy' WHERE to_state = 'unhealthy'")
    db.commit()
    report = replay_session(open_readonly(log.path), log.session)
    assert not report.ok
    assert report.divergence is not None
    assert report.divergence.expected[4] == "healthy"
    assert report.divergence.got[4] == "unhealthy"


def test_a_real_session_replays_and_survives_a_transcript_round_trip(
        runner: RunnerProcess, tmp_path: Path) -> None:
    client = runner.client()
    client.query("print('hi')")
    client.query("x = input('?')", inputs=["typed"])
    client.batch(build="false", exec="echo skipped")
    client.query("1/0")
    assert runner.stop() == 0
    conn = open_readonly(runner.log_path)
    session = conn.execute("SELECT id FROM sessions").fetchone()[0]
    report = replay_session(conn, session)
    assert report.ok, report.divergence
    assert report.timelines["kernel"][-1] == ("stopped", "stopped")
    out = tmp_path / "session.jsonl"
    count = export(conn, session, out).events
    header, recorded = load(out)
    assert header["session"]["id"] == session
    assert [r.event for r in recorded] == [r.event for r in events(conn, session)]
    assert len(recorded) == count
    assert replay(recorded).ok
    copy = tmp_path / "copy.sqlite3"
    assert import_into(out, copy) == session
    assert replay_session(open_readonly(copy), session).ok


def test_a_transcript_shows_text_as_text_and_keeps_every_byte(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.sqlite3")
    log.open_session(kernel_id="k", language="python")
    sent = [Event("run:1", INPUT, "code", "print('héllo')".encode()),
            Event("run:1", OUTPUT, "stdout", b"\xff\xfe not utf-8"),
            Event("frontend", INPUT, "status", {"rejected": "x", "frames": [b"\x00", b"ok"]})]
    for event in sent:
        log.append(event)
    log.close()
    out = tmp_path / "session.jsonl"
    export(open_readonly(log.path), log.session, out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert "print('héllo')" in lines[1]  # a person can read the frame
    assert '"$b64"' in lines[2]
    assert [r.event.data for r in load(out)[1]] == [e.data for e in sent]
