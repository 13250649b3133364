"""The event log's one writer: appends from the event loop, group commit in its own thread.

`append()` only puts the event on a list under a lock (about a microsecond); the writer thread
swaps the list out every `batch_interval` seconds (or as soon as `batch_events` are waiting)
and writes the batch in one transaction (WAL, synchronous=NORMAL), so a crash loses at most
the batches not yet committed and the file stays valid.

Pressure policy: at most `soft_limit` events wait in memory. Past it, an output chunk of the
same stream (source and message type) as the last waiting event is merged into that event
instead of queued. Inputs, transitions, rejections, observations and log lines are never
dropped or merged, so they may go past the limit.

When a batch cannot be written (disk full, read-only file, locked database, or a file that
could not even be opened at start) the writer keeps it, retries on the next tick, reports
`degraded` through `on_degraded(reason)` and again with `None` once writing works, after
which it records a `LogRecordingResumed` event.

Insert path, measured side by side by `python -m bench.eventlog` (`insert_path`): on the same
schema and rows the stdlib `executemany` inserted 217,000 rows/s and sqlite-utils' `insert_all`
101,000, so the writer uses `sqlite3` directly (the tools read through sqlite-utils).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from transcripts import retention, schema
from transcripts.events import KERNEL, OBSERVATION, OUTPUT, Event
from transcripts.reader import encode
from transcripts.retention import Retention

INSERT = ("INSERT INTO events (session, wall, mono, source, kind, name, from_state, to_state, "
          "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


INSERT_SESSION = ("INSERT INTO sessions (id, kernel_id, language, runner_version, host, pid, "
                  "started_wall, ended_wall) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


def connect_writable(path: Path) -> sqlite3.Connection:
    """The log file opened for writing (made 0600, WAL, schema in place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=100")
        schema.create(conn)
    except sqlite3.Error:
        conn.close()
        raise
    for side in (path.with_name(path.name + s) for s in ("-wal", "-shm")):
        if side.exists():
            os.chmod(side, 0o600)
    return conn


# wall, mono, source, kind, name, from_state, to_state, data (encoded as `encode` does)
StoredRow = tuple[float, float, str, str, str, str | None, str | None, object]


def import_session(path: Path, session: dict[str, Any], rows: Iterable[StoredRow],
                   chunk: int = 50_000) -> int:
    """Write a recorded session (a transcript's) into a log as its own session, streaming,
    `chunk` rows a commit (so the -wal file stays small); if `rows` raises (an altered file)
    what was written of it is deleted again. The number of events written."""
    conn = connect_writable(Path(path))
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session["id"],)).fetchone():
            raise ValueError(f"session {session['id']} is already in {path}")
        with _committed(conn):
            key = conn.execute(INSERT_SESSION, [session.get(c) for c in SESSION_COLUMNS]
                               ).lastrowid
        written = 0
        rows = iter(rows)
        try:
            while batch := list(islice(rows, chunk)):
                with _committed(conn):
                    conn.executemany(INSERT, ((key, *row) for row in batch))
                written += len(batch)
        except BaseException:
            with _committed(conn):
                conn.execute("DELETE FROM events WHERE session = ?", (key,))
                conn.execute("DELETE FROM sessions WHERE key = ?", (key,))
            raise
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return written


@contextlib.contextmanager
def _committed(conn: sqlite3.Connection) -> Iterator[None]:
    """One explicit transaction on an autocommit connection."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


RETENTION_EVERY = 60.0  # seconds between two checks of the retention bound


def prune(path: Path, before: float) -> int:
    """Delete a log's events recorded before `before` (epoch seconds); how many."""
    conn = connect_writable(Path(path))
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        deleted = retention.prune_before(conn, before)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return deleted


SESSION_COLUMNS = ("id", "kernel_id", "language", "runner_version", "host", "pid",
                   "started_wall", "ended_wall")


@dataclass(slots=True)
class LogStats:
    appended: int = 0
    written: int = 0
    merged: int = 0
    batches: int = 0
    failures: int = 0


class EventLog:
    """An append-only SQLite event log for one runner session."""

    def __init__(self, path: str | Path, *, batch_interval: float = 0.005,
                 batch_events: int = 2000, soft_limit: int = 50_000,
                 on_degraded: Callable[[str | None], None] | None = None,
                 retention: Retention | None = None) -> None:
        self.path = Path(path)
        self.batch_interval = batch_interval
        self.batch_events = batch_events
        self.soft_limit = soft_limit
        self.on_degraded = on_degraded
        self.retention = retention  # None: keep everything (the runner passes its bound)
        self._retention_due = 0.0  # monotonic time of the next check (the first: at once)
        self.session = ""
        self._key = 0
        self.stats = LogStats()
        self.degraded: str | None = None
        self._pending: list[Event] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._written = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._session_row: tuple[object, ...] = ()

    def open_session(self, *, kernel_id: str = "", language: str = "", runner_version: str = "",
                     host: str | None = None, pid: int | None = None) -> str:
        """Start this runner's session and the writer thread.

        The file, its schema and the session row are written at once when they can be; when
        the file cannot be opened (read-only or full disk, a bad path) the log starts degraded
        and the writer keeps trying, so the runner serves either way.
        """
        self.session = uuid.uuid4().hex
        self._session_row = (self.session, kernel_id, language, runner_version,
                             host or socket.gethostname(), pid or os.getpid(), time.time())
        try:
            self._open()
        except (OSError, sqlite3.Error) as e:
            self._set_degraded(f"cannot open {self.path}: {type(e).__name__}: {e}")
        self._thread = threading.Thread(target=self._run, name="event-log", daemon=True)
        self._thread.start()
        return self.session

    def _open(self) -> sqlite3.Connection:
        """The writable connection; the first call creates the file, schema and session row."""
        if self._conn is not None:
            return self._conn
        conn = connect_writable(self.path)
        try:
            conn.execute("BEGIN")
            key = conn.execute(INSERT_SESSION, (*self._session_row, None)).lastrowid
            conn.execute("COMMIT")
        except sqlite3.Error:
            conn.close()
            raise
        self._key = int(key or 0)
        self._conn = conn
        return conn

    def append(self, event: Event) -> None:
        """Queue one event; never blocks on I/O."""
        with self._lock:
            pending = self._pending
            if (len(pending) >= self.soft_limit and event.kind == OUTPUT and pending
                    and _same_stream(pending[-1], event)):
                _merge_into(pending, event)
                self.stats.merged += 1
            else:
                pending.append(event)
            self.stats.appended += 1
            wake = len(pending) == self.batch_events
        if wake:
            self._wake.set()

    def flush(self, timeout: float | None = 10) -> bool:
        """Block until everything appended so far is committed; False on timeout."""
        target = self.stats.appended - self.stats.merged
        deadline = None if timeout is None else time.monotonic() + timeout
        self._wake.set()
        with self._written:
            while self.stats.written < target:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._written.wait(left if left is None else min(left, 0.05))
                self._wake.set()
        return True

    def close(self, timeout: float = 10) -> None:
        """Flush, mark the session ended, stop the writer. Safe to call twice.

        A log that cannot be written gets one second, not `timeout`: shutting down the
        runner matters more than the events it could not record anyway.
        """
        if self._thread is None:
            return
        self.flush(timeout if self.degraded is None else min(timeout, 1.0))
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None
        if self._conn is None:
            return
        try:
            self._conn.execute("BEGIN")
            self._conn.execute("UPDATE sessions SET ended_wall = ? WHERE id = ?",
                               (time.time(), self.session))
            self._conn.execute("COMMIT")
            # the main file alone now holds everything: a copy without its -wal is complete
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            self._rollback()
        self._conn.close()

    def _run(self) -> None:
        batch: list[Event] = []
        while True:
            self._wake.wait(self.batch_interval)
            self._wake.clear()
            with self._lock:
                batch.extend(self._pending)
                self._pending = []
            if batch and self._write(batch):
                batch = []
            if (self.retention is not None and self._conn is not None
                    and time.monotonic() >= self._retention_due):
                self._enforce_retention()
            if self._stop and not batch:
                return
            if self._stop and self.degraded:
                return  # cannot write and told to stop: give up what is left

    def _enforce_retention(self) -> None:
        self._retention_due = time.monotonic() + RETENTION_EVERY
        try:
            retention.enforce(self._conn, self.retention, time.time())  # type: ignore[arg-type]
        except Exception as e:  # the writer thread must outlive any of it
            self._rollback()  # a busy or full disk: the next check tries again
            print(f"krunner: event log retention not applied: {e}", file=sys.stderr)

    def _write(self, batch: list[Event]) -> bool:
        try:
            conn = self._open()  # sets the session key the rows need, the first time
            rows = [(self._key, e.wall, e.mono, e.source, e.kind, e.name, e.from_state,
                     e.to_state, encode(e.data)) for e in batch]
            conn.execute("BEGIN")
            conn.executemany(INSERT, rows)
            conn.execute("COMMIT")
        except (OSError, sqlite3.Error) as e:
            self._rollback()
            self.stats.failures += 1
            self._set_degraded(f"{type(e).__name__}: {e}")
            time.sleep(min(0.5, self.batch_interval * 20))
            return False
        with self._written:
            self.stats.written += len(batch)
            self.stats.batches += 1
            self._written.notify_all()
        if self.degraded is not None:
            self._set_degraded(None)
        return True

    def _rollback(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def _set_degraded(self, reason: str | None) -> None:
        was = self.degraded
        self.degraded = reason
        if reason is None:
            resumed = Event(KERNEL, OBSERVATION, "LogRecordingResumed", {"after": was},
                            wall=time.time(), mono=time.monotonic())
            self.append(resumed)
        if (was is None) != (reason is None) and self.on_degraded is not None:
            self.on_degraded(reason)


def _same_stream(a: Event, b: Event) -> bool:
    return (a.kind == OUTPUT and a.source == b.source and a.name == b.name
            and isinstance(a.data, (bytes, bytearray)) and isinstance(b.data, bytes))


def _merge_into(pending: list[Event], event: Event) -> None:
    """Append the chunk to the last pending one; a bytearray keeps repeated merges linear."""
    last = pending[-1]
    if isinstance(last.data, bytearray):
        last.data.extend(event.data)  # type: ignore[arg-type]
    else:
        pending[-1] = Event(last.source, last.kind, last.name,
                            bytearray(last.data) + event.data,  # type: ignore[arg-type]
                            last.from_state, last.to_state, last.wall, last.mono)
