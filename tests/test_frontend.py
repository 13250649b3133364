"""Bad input gets a clear answer and loses nothing; everything lands in the log; clean exit."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import msgpack
import pytest

from tests.conftest import RunnerProcess, gone


def _rows(runner: RunnerProcess, sql: str) -> list[tuple]:
    db = sqlite3.connect(runner.log_path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_malformed_frames_are_recorded_and_a_query_still_works(runner: RunnerProcess) -> None:
    client = runner.client()
    client.send_raw([b"code"])  # one frame
    client.send_raw([b"code", b"print(1)", b"extra"])  # three frames
    client.send_raw([b"no-such-op", b"{}"])
    client.send_raw([b"\xff\xfe", b"x"])
    client.send_raw([b"input", b"\xff invalid utf-8"])
    assert client.query("print('still here')").stdout == "still here\n"
    runner.stop()
    rejected = _rows(runner, "SELECT name, json_extract(data, '$.rejected') FROM events "
                             "WHERE kind='input' AND typeof(data) = 'text' "
                             "AND json_extract(data, '$.rejected') IS NOT NULL")
    reasons = [r[1] for r in rejected]
    assert any("got 1" in r for r in reasons)
    assert any("got 3" in r for r in reasons)
    assert any("unknown op" in r for r in reasons)
    assert any("not ASCII" in r for r in reasons)


def test_each_reply_expecting_op_gets_exactly_one_reply_even_when_broken(
        runner: RunnerProcess) -> None:
    client = runner.client()
    client.send("start-service", b"{not json")
    client.send("start-model-service", b"[1, 2]")
    client.send("complete", b"\xff")
    client.send("get-apps", b"\xff")
    client.send_raw([b"status"])
    client.send("status", b"")
    got = [client.recv(timeout=10) for _ in range(6)]
    types = [t for t, _ in got]
    assert types == ["service-result", "model-service-result", "completion", "apps-result",
                     "status", "status"]
    assert json.loads(got[0][1])["status"] == "failed"
    assert "JSON" in json.loads(got[0][1])["error"]
    assert json.loads(got[1][1])["status"] == "failed"
    assert json.loads(got[2][1])["suggestions"] == []
    assert json.loads(got[3][1])["status"] == "failed"
    assert "started_at" in msgpack.unpackb(got[5][1])
    client.send("status", b"")
    assert client.recv(timeout=10)[0] == "status"  # nothing extra was queued


def test_every_frame_and_transition_of_a_query_is_in_the_log(runner: RunnerProcess) -> None:
    client = runner.client()
    client.query("print('logged')")
    assert runner.stop() == 0
    kinds = {k for (k,) in _rows(runner, "SELECT DISTINCT kind FROM events")}
    assert {"input", "output", "transition", "observation"} <= kinds
    run = _rows(runner, "SELECT source FROM events WHERE kind='input' AND name='code'")[0][0]
    states = [r[0] for r in _rows(
        runner, f"SELECT to_state FROM events WHERE source='{run}' AND kind='transition' "
                "ORDER BY seq")]
    assert states == ["queued", "executing", "finished"]
    outputs = [r[0] for r in _rows(
        runner, f"SELECT name FROM events WHERE source='{run}' AND kind='output' ORDER BY seq")]
    assert outputs == ["stdout", "finished"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_all_work_and_exits_zero_with_the_session_closed(
        runner: RunnerProcess, tmp_path: Path, signum: int) -> None:
    pids = tmp_path / "pids"
    client = runner.client()
    client.send("exec", f"sleep 300 & echo $! >> {pids}; echo $$ >> {pids}; echo up; wait")
    assert client.wait_for("stdout", timeout=30) == b"up\n"
    runner.proc.send_signal(signum)
    assert runner.proc.wait(20) == 0
    ((kernel_pid,),) = _rows(runner, "SELECT json_extract(data, '$.kernel_pid') FROM events "
                                     "WHERE name = 'DriverReady'")
    for pid in [kernel_pid, *map(int, pids.read_text().split())]:
        assert gone(pid), f"process {pid} outlived the runner"
    ((ended,),) = _rows(runner, "SELECT ended_wall FROM sessions")
    assert ended is not None
    assert "Traceback" not in runner.stderr_text()

