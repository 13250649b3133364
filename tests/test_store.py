"""The event log on real SQLite files: round trip, views, mode, pressure, load, degradation."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

from bench.eventlog import session_events
from tests.tooling import tool
from transcripts.events import OBSERVATION, OUTPUT, TRANSITION, Event
from transcripts.location import resolve_log_path
from transcripts.reader import events, open_readonly
from transcripts.replay import record, replay_session
from transcripts.retention import Retention, used_bytes
from transcripts.store import EventLog, import_session


def _log(tmp_path: Path, **kw: object) -> EventLog:
    log = EventLog(tmp_path / "events.sqlite3", **kw)  # type: ignore[arg-type]
    log.open_session(kernel_id="k", language="python", runner_version="t", host="h", pid=1)
    return log


def test_events_round_trip_in_order_with_bytes_and_text(tmp_path: Path) -> None:
    log = _log(tmp_path)
    sent = [Event("run:1", OUTPUT, "stdout", b"\xff\x00raw", wall=1.0, mono=2.0),
            Event("kernel", OBSERVATION, "Seen", {"text": "ünïcode", "nested": b"\x01\x02"},
                  wall=3.0, mono=4.0),
            Event("model:m", TRANSITION, "probe_failed", {"n": 1}, "healthy", "unhealthy",
                  5.0, 6.0)]
    for e in sent:
        log.append(e)
    log.close()
    got = list(events(open_readonly(log.path), log.session))
    assert [r.event for r in got] == sent
    assert [r.seq for r in got] == [1, 2, 3]


def test_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.append(Event("kernel", OBSERVATION, "x"))
    log.flush()
    assert stat.S_IMODE(os.stat(log.path).st_mode) == 0o600
    assert sqlite3.connect(log.path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    log.close()


def test_views_show_a_model_health_story_and_state_durations(tmp_path: Path) -> None:
    log = _log(tmp_path)
    story = [
        Event("model:llm", TRANSITION, "configured", None, "new", "undetermined", 10.0, 100.0),
        Event("model:llm", OBSERVATION, "ProbeSucceeded", {"status": 200, "latency_ms": 1.5},
              wall=11.0, mono=101.0),
        Event("model:llm", TRANSITION, "probe_succeeded", None, "undetermined", "healthy",
              11.0, 101.0),
        Event("model:llm", OBSERVATION, "ProbeFailed",
              {"reason": "timed out", "status": None, "latency_ms": 1000.0},
              wall=15.0, mono=105.0),
        Event("model:llm", TRANSITION, "probe_failed", None, "healthy", "unhealthy", 15.0,
              105.0),
    ]
    for e in story:
        log.append(e)
    log.close()
    db = open_readonly(log.path)
    rows = db.execute("SELECT model, name, to_state, reason, status, latency_ms "
                      "FROM model_health ORDER BY seq").fetchall()
    assert rows[1] == ("llm", "ProbeSucceeded", None, None, 200, 1.5)
    assert rows[3] == ("llm", "ProbeFailed", None, "timed out", None, 1000.0)
    timeline = db.execute("SELECT to_state, seconds_in_state FROM machine_timeline "
                          "ORDER BY seq").fetchall()
    assert timeline == [("undetermined", 1.0), ("healthy", 4.0), ("unhealthy", None)]


def test_under_pressure_output_chunks_merge_and_nothing_else_is_lost(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.sqlite3", soft_limit=10)
    # before open_session no writer runs: everything stays pending, as under a slow disk
    for i in range(5):
        log.append(Event("kernel", OBSERVATION, "Tick", {"i": i}))
    for _ in range(100):
        log.append(Event("run:1", OUTPUT, "stdout", b"abc"))
    log.append(Event("run:1", TRANSITION, "end", None, "executing", "finished"))
    for _ in range(10):
        log.append(Event("run:1", OUTPUT, "stderr", b"e"))
    log.open_session()
    log.close()
    got = [r.event for r in events(open_readonly(log.path), log.session)]
    assert log.stats.merged > 0
    assert b"".join(e.data for e in got if e.name == "stdout") == b"abc" * 100  # type: ignore[misc]
    assert b"".join(e.data for e in got if e.name == "stderr") == b"e" * 10  # type: ignore[misc]
    assert [e.data["i"] for e in got if e.name == "Tick"] == list(range(5))  # type: ignore[index]
    assert any(e.kind == TRANSITION for e in got)


def test_an_asyncio_producer_and_the_writer_under_load(tmp_path: Path) -> None:
    log = _log(tmp_path)

    async def produce() -> None:
        for i in range(200_000):
            log.append(Event("kernel", OBSERVATION, "Tick", {"i": i}))
            if i % 5000 == 0:
                await asyncio.sleep(0)

    asyncio.run(produce())
    log.close()
    db = open_readonly(log.path)
    seqs = [r[0] for r in db.execute("SELECT seq FROM events ORDER BY seq")]
    assert seqs == list(range(1, 200_001))
    last = db.execute("SELECT json_extract(data, '$.i') FROM events WHERE seq = 200000")
    assert last.fetchone()[0] == 199_999


def test_a_locked_database_degrades_recording_then_resumes(tmp_path: Path) -> None:
    changes: list[str | None] = []
    changed = threading.Event()

    def on_degraded(reason: str | None) -> None:
        changes.append(reason)
        changed.set()

    log = _log(tmp_path, on_degraded=on_degraded)
    blocker = sqlite3.connect(log.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    log.append(Event("kernel", OBSERVATION, "WhileLocked"))
    assert changed.wait(10)
    assert changes[0] is not None and "locked" in changes[0]
    log.append(Event("kernel", OBSERVATION, "StillAccepted"))
    blocker.execute("ROLLBACK")
    blocker.close()
    assert log.flush(10)
    log.close()
    assert changes[-1] is None
    names = [r.event.name for r in events(open_readonly(log.path), log.session)]
    assert names[:2] == ["WhileLocked", "StillAccepted"]
    assert "LogRecordingResumed" in names


def test_log_location_flag_env_and_default(tmp_path: Path, monkeypatch) -> None:
    assert resolve_log_path(tmp_path / "a.sqlite3") == tmp_path / "a.sqlite3"
    monkeypatch.setenv("KRUNNER_LOG", str(tmp_path / "env" / "b.sqlite3"))
    assert resolve_log_path(None) == tmp_path / "env" / "b.sqlite3"
    log = EventLog(resolve_log_path(None))
    log.open_session()
    log.close()
    assert (tmp_path / "env" / "b.sqlite3").is_file()  # its folder made on first open
    monkeypatch.delenv("KRUNNER_LOG")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert resolve_log_path(None) == tmp_path / "state" / "krunner" / "events.sqlite3"


def _earlier_session(path: Path, stream: list[Event]) -> str:
    """A session that ran and ended before the one under test (no bound of its own)."""
    log = EventLog(path)
    for e in stream:
        log.append(e)
    log.open_session()
    log.close()
    return log.session


def test_the_runner_keeps_its_log_within_its_age_bound(tmp_path: Path) -> None:
    now = time.time()
    path = tmp_path / "events.sqlite3"
    _earlier_session(path, [Event("kernel", OBSERVATION, "Tick", {"age": age}, wall=now - age)
                            for age in (7200, 5000, 10)])  # two older than the hour
    log = EventLog(path, retention=Retention(max_age_s=3600))
    log.append(Event("kernel", OBSERVATION, "Tick", {"age": 9000}, wall=now - 9000))
    log.open_session()
    log.close()
    db = open_readonly(path)
    assert [r[0] for r in db.execute("SELECT json_extract(data, '$.age') FROM events "
                                     "ORDER BY seq")] == [10, 9000]  # its own: kept
    assert db.execute("SELECT sum(events) FROM pruned").fetchone()[0] == 2


def test_the_runner_keeps_its_log_within_its_size_bound(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    _earlier_session(path, [Event("run:1", OUTPUT, "stdout", bytes([i % 256]) * 1000,
                                  wall=time.time()) for i in range(5000)])
    log = EventLog(path, retention=Retention(max_bytes=2_000_000))
    log.append(Event("kernel", OBSERVATION, "Tick", {"mine": True}))
    log.open_session()
    log.close()
    db = open_readonly(path)
    assert used_bytes(db) <= 2_000_000
    kept = [r[0] for r in db.execute("SELECT seq FROM events WHERE session = 1 ORDER BY seq")]
    assert 0 < len(kept) < 5000 and kept[-1] == 5000  # the newest stay
    assert db.execute("SELECT count(*) FROM events WHERE session = 2").fetchone()[0] == 1


def test_size_retention_never_prunes_the_running_session(tmp_path: Path) -> None:
    # a genuine session bigger than the bound: pruning its start would leave a transcript
    # that verifies intact and a replay that diverges
    log = EventLog(tmp_path / "events.sqlite3", retention=Retention(max_bytes=300_000))
    record(log, session_events(1500))
    log.open_session()  # the whole session is written at once, then the bound checked
    log.close()
    db = open_readonly(log.path)
    assert used_bytes(db) > 300_000  # over the bound: only the running session is there
    assert db.execute("SELECT count(*) FROM pruned").fetchone()[0] == 0
    assert replay_session(db, log.session).ok


def test_the_retention_bound_is_read_from_the_environment(monkeypatch) -> None:
    assert Retention.from_environ() == Retention(30 * 86400, 1 << 30)
    monkeypatch.setenv("KRUNNER_LOG_MAX_AGE", "7d")
    monkeypatch.setenv("KRUNNER_LOG_MAX_SIZE", "256M")
    assert Retention.from_environ() == Retention(7 * 86400, 256 << 20)


def test_prune_deletes_a_logs_events_before_a_time(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    now = time.time()
    for ages in ((100_000, 90_000), (50, 10)):  # an old session, then a recent one
        log = EventLog(path)
        for age in ages:
            log.append(Event("kernel", OBSERVATION, "Tick", {"age": age}, wall=now - age))
        log.open_session()
        log.close()
        db = sqlite3.connect(path)
        db.execute("UPDATE sessions SET ended_wall = ? WHERE id = ?", (now - ages[1], log.session))
        db.commit()
        db.close()
    done = tool("tools.transcript", "prune", "--log", str(path), "--before", "1d")
    assert done.returncode == 0, done.stderr
    assert "deleted 2 events recorded before" in done.stderr
    db = open_readonly(path)
    assert [r[0] for r in db.execute("SELECT json_extract(data, '$.age') FROM events")] == [50, 10]
    assert db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1  # emptied, ended
    bad = tool("tools.transcript", "prune", "--log", str(tmp_path / "absent"), "--before", "1d")
    assert bad.returncode == 2 and "no event log at" in bad.stderr


def test_a_clean_close_checkpoints_so_the_main_file_alone_is_complete(tmp_path: Path) -> None:
    log = _log(tmp_path)
    for i in range(1000):
        log.append(Event("kernel", OBSERVATION, "Tick", {"i": i}))
    log.close()
    wal = log.path.with_name(log.path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    alone = tmp_path / "copy" / "events.sqlite3"
    alone.parent.mkdir()
    alone.write_bytes(log.path.read_bytes())
    assert open_readonly(alone).execute("SELECT count(*) FROM events").fetchone()[0] == 1000


def test_an_import_that_fails_midway_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"

    def rows():
        for i in range(5):
            yield (float(i), float(i), "kernel", OBSERVATION, "Tick", None, None, None)
        raise ValueError("line 7 was changed")

    session = {"id": "s1", "started_wall": 0.0}
    with pytest.raises(ValueError, match="line 7"):
        import_session(path, session, rows(), chunk=2)  # two chunks were committed by then
    db = open_readonly(path)
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0


def _gaps(path: Path, session: str) -> tuple:
    db = open_readonly(path)
    return db.execute("SELECT gaps, lost_events, gap_reason, ended_wall IS NOT NULL, clean "
                      "FROM session_gaps WHERE session = ?", (session,)).fetchone()


def test_values_orjson_cannot_hold_are_stored_exactly(tmp_path: Path) -> None:
    deep: list = []
    for _ in range(300):
        deep = [deep]
    hostile = [{"s": "\ud800", "b": b"\xff"}, 2**70, -(2**64), {"nan": float("inf")}, deep,
               "\udfff tail"]
    log = _log(tmp_path)
    for i, value in enumerate(hostile):
        log.append(Event("frontend", "input", "complete", value, wall=float(i), mono=0.0))
    log.append(Event("kernel", OBSERVATION, "After"))
    log.close()
    got = [r.event.data for r in events(open_readonly(log.path), log.session)]
    assert got[:-1] == hostile and got[-1] is None
    assert _gaps(log.path, log.session) == (0, 0, None, 1, 1)  # nothing lost: clean


def test_data_no_encoding_can_hold_gets_a_placeholder_and_a_gap(tmp_path: Path) -> None:
    too_deep: list = []
    for _ in range(100_000):  # deeper than the interpreter's recursion limit
        too_deep = [too_deep]
    log = _log(tmp_path)
    log.append(Event("frontend", "input", "complete", too_deep))
    log.append(Event("kernel", OBSERVATION, "After", {"ok": True}))
    log.close()
    got = [r.event for r in events(open_readonly(log.path), log.session)]
    assert [e.name for e in got] == ["complete", "LogGap", "After"]
    assert "nested too deeply" in got[0].data["$unrecorded"]  # type: ignore[index]
    gaps, _, reason, ended, clean = _gaps(log.path, log.session)
    assert (gaps, ended, clean) == (1, 1, 0) and "could not be stored" in reason


def test_the_writer_outlives_an_unexpected_error_and_says_so(tmp_path: Path, capfd) -> None:
    log = _log(tmp_path)
    log.append(Event("kernel", OBSERVATION, "Before"))
    assert log.flush(10)
    log.append(None)  # type: ignore[arg-type]  # a bug elsewhere: not even an event
    log.append(Event("kernel", OBSERVATION, "After"))
    assert log.flush(10)
    log.close()
    names = [r.event.name for r in events(open_readonly(log.path), log.session)]
    assert names[0] == "Before" and "After" in names
    assert "LogWriterFailed" in names and "LogGap" in names
    assert "EVENT LOG WRITER FAILED" in capfd.readouterr().err
    assert _gaps(log.path, log.session)[0] >= 1


def test_record_gap_is_counted_on_the_session_row(tmp_path: Path, capfd) -> None:
    log = _log(tmp_path)
    done = [threading.Thread(target=log.record_gap, args=(f"front end failed {i}", 2))
            for i in range(4)]
    for t in done:
        t.start()
    for t in done:
        t.join()
    log.close()
    assert _gaps(log.path, log.session) == (4, 8, _gaps(log.path, log.session)[2], 1, 0)
    assert "EVENT LOG GAP: front end failed" in capfd.readouterr().err
    gaps = [r.event.data for r in events(open_readonly(log.path), log.session)
            if r.event.name == "LogGap"]
    assert sorted(g["reason"] for g in gaps) == [f"front end failed {i}" for i in range(4)]


def test_a_log_older_than_the_gap_columns_reads_and_migrates(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE sessions (key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
            kernel_id TEXT, language TEXT, runner_version TEXT, host TEXT, pid INTEGER,
            started_wall REAL NOT NULL, ended_wall REAL);
        CREATE TABLE events (seq INTEGER PRIMARY KEY, session INTEGER NOT NULL, wall REAL
            NOT NULL, mono REAL NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL,
            name TEXT NOT NULL, from_state TEXT, to_state TEXT, data);
        INSERT INTO sessions (id, started_wall, ended_wall) VALUES ('old', 1.0, 2.0);""")
    old.close()
    assert _gaps(path, "old") == (0, 0, None, 1, 1)  # read-only: a TEMP view over no columns
    log = EventLog(path)
    log.open_session()
    log.record_gap("test", 1)
    log.close()
    assert _gaps(path, log.session)[:2] == (1, 1)
    assert _gaps(path, "old") == (0, 0, None, 1, 1)


def test_a_backlog_past_its_bound_sheds_output_first_and_keeps_lifecycle(tmp_path: Path,
                                                                         capfd) -> None:
    log = _log(tmp_path, backlog_bytes=1_000_000, backlog_events=2000)
    blocker = sqlite3.connect(log.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the log cannot be written meanwhile
    for i in range(600):  # 600 lifecycle events (within the bound), 2400 outputs (past it)
        log.append(Event(f"run:{i}", TRANSITION, "start", None, "queued", "executing"))
        for _ in range(4):
            log.append(Event(f"run:{i}", OUTPUT, "stdout", b"o" * 2000))
    deadline = time.monotonic() + 30
    while log.stats.dropped == 0:
        assert time.monotonic() < deadline, "nothing was shed"
        time.sleep(0.05)
    blocker.execute("ROLLBACK")
    blocker.close()
    assert log.flush(30)
    log.close()
    got = [r.event for r in events(open_readonly(log.path), log.session)]
    assert sum(e.kind == TRANSITION for e in got) == 600  # every lifecycle event kept
    outputs = [e for e in got if e.kind == OUTPUT]
    assert len(outputs) < 2400
    assert all(e.data == b"o" * 2000 or e.data["bytes"] == 2000  # type: ignore[index]
               for e in outputs)  # each kept output: its body, or a marker with its size
    gaps = [e.data for e in got if e.name == "LogGap"]
    assert gaps and sum(g["lost_events"] for g in gaps) == 2400 - len(outputs)  # type: ignore[index]
    assert all(g["from_wall"] <= g["to_wall"] for g in gaps)  # type: ignore[index]
    assert _gaps(log.path, log.session)[:2] == (len(gaps), 2400 - len(outputs))
    assert "EVENT LOG GAP" in capfd.readouterr().err
