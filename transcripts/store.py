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
could not even be opened at start) the writer keeps it, retries it in ever smaller
transactions (a nearly full disk still takes small ones), reports `degraded` through
`on_degraded(reason)` and again with `None` once writing works, after which it records a
`LogRecordingResumed` event. What waits is bounded (`transcripts.backlog`): past the bound
output bodies go first, lifecycle events last, and a `LogGap` event takes their place.

The log never goes silent: each event's data is encoded on its own, losslessly where any
encoding can hold it, else as a placeholder with the reason (`reader.encode_checked`); a row
SQLite refuses is stored escaped; any unexpected error is reported (stderr, a
`LogWriterFailed` event) and the writer goes on. Whatever the log misses is a `LogGap` event
and is counted on the session row (`gaps`, `lost_events`, `lost_bytes`, `gap_reason`), also
what was still unwritten at `close`, so such a session never reads as clean. Other parts of
the runner report their own losses with `record_gap`. The failure paths live in
`transcripts.recovery`, the bounded backlog in `transcripts.backlog`, the file in
`transcripts.logfile`.

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
from collections.abc import Callable
from pathlib import Path

from transcripts import logfile, retention
from transcripts.backlog import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_EVENTS,
    LOG_GAP,
    Backlog,
    Row,
    gap_data,
    gap_totals,
)
from transcripts.events import KERNEL, OBSERVATION, OUTPUT, Event
from transcripts.logfile import (
    INSERT,
    INSERT_SESSION,
    connect_writable,
    import_session,
    prune,
)
from transcripts.reader import encode, encode_checked, encode_fast
from transcripts.recovery import UPDATE_GAPS, LogStats, Recovery
from transcripts.retention import Retention

RETENTION_EVERY = 60.0  # seconds between two checks of the retention bound


PIECE_MIN = 1  # a transaction that fails is retried in quarters, down to one row
DATA_ERRORS = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.DataError,
               sqlite3.ProgrammingError, UnicodeError, OverflowError, TypeError, ValueError)


class EventLog(Recovery):
    """An append-only SQLite event log for one runner session."""

    def __init__(self, path: str | Path, *, batch_interval: float = 0.005,
                 batch_events: int = 2000, soft_limit: int = 50_000,
                 on_degraded: Callable[[str | None], None] | None = None,
                 retention: Retention | None = None, retention_every: float = RETENTION_EVERY,
                 backlog_bytes: int = DEFAULT_MAX_BYTES,
                 backlog_events: int = DEFAULT_MAX_EVENTS) -> None:
        self.path = Path(path)
        self.batch_interval = batch_interval
        self.batch_events = batch_events
        self.soft_limit = soft_limit
        self.on_degraded = on_degraded
        self.retention = retention  # None: keep everything (the runner passes its bound)
        self.retention_every = retention_every  # seconds between two checks of the bound
        self._retention_due = 0.0  # monotonic time of the next check (the first: at once)
        self.session = ""
        self._key = 0
        self.stats = LogStats()
        self.degraded: str | None = None
        self._pending: list[Event] = []
        self._backlog = Backlog(backlog_bytes, backlog_events)
        self._gap_rows = 0  # LogGap rows on their way (the writer looks for them then)
        self._disk_full = False  # the last failure was a full disk (room is checked first)
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
        logfile.keep_reserve(self.path)
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

    def record_gap(self, reason: str, lost: int = 0) -> None:
        """Record that the log misses something (`lost` events, if known): said on stderr at
        once, a `LogGap` event in order with the others, and counted on the session row
        (`gaps`, `lost_events`, `gap_reason`), so the session never reads as clean.
        Thread-safe and never blocks on I/O: any part of the runner may call it."""
        print(f"krunner: EVENT LOG GAP: {reason}" + (f" ({lost} events lost)" if lost else ""),
              file=sys.stderr, flush=True)
        self._gap(reason, lost)

    def _gap(self, reason: str, lost: int = 0, **more: object) -> None:
        with self._lock:
            self._gap_rows += 1
        self.append(Event(KERNEL, OBSERVATION, LOG_GAP, gap_data(reason, lost, **more),
                          wall=time.time(), mono=time.monotonic()))

    def flush(self, timeout: float | None = 10) -> bool:
        """Block until everything appended so far is committed (or given up as lost); False
        on timeout."""
        target = self.stats.appended - self.stats.merged
        deadline = None if timeout is None else time.monotonic() + timeout
        self._wake.set()
        with self._written:
            while self.stats.written + self.stats.dropped < target:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._written.wait(left if left is None else min(left, 0.05))
                self._wake.set()
        return True

    def close(self, timeout: float = 10) -> None:
        """Flush, mark the session ended, stop the writer. Safe to call twice.

        A log that cannot be written gets one second, not `timeout`: shutting down the
        runner matters more than the events it could not record anyway. What is still
        unwritten then is counted on the session row as a gap (see `_end_session`).
        """
        if self._thread is None:
            return
        self.flush(timeout if self.degraded is None else min(timeout, 1.0))
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():  # stuck in SQLite: its connection cannot be shared
            print(f"krunner: EVENT LOG: the writer did not stop within {timeout} s; the "
                  "session is left unended (it will read as unfinished)", file=sys.stderr,
                  flush=True)
            self._thread = None
            return
        self._thread = None
        try:
            self._end_session()
        except Exception as e:  # stopping the runner matters more; say it, go on
            print(f"krunner: EVENT LOG: the session could not be ended: "
                  f"{type(e).__name__}: {e}", file=sys.stderr, flush=True)

    def _run(self) -> None:
        """The writer thread: it never stops before `close`, whatever goes wrong."""
        while True:
            try:
                if self._tick():
                    return
            except Exception as e:
                self._failed_round(e)

    def _tick(self) -> bool:
        """One round: take what was appended, write what can be; True once done for good."""
        self._wake.wait(self.batch_interval)
        self._wake.clear()
        with self._lock:
            taken, self._pending = self._pending, []
        if taken:
            self._backlog.add(self._rows(taken))
        if self._backlog.rows:
            self._write()
        if (self.retention is not None and self._conn is not None
                and time.monotonic() >= self._retention_due):
            self._enforce_retention()
        if not self._stop:
            return False
        if self.degraded is not None:
            return True  # cannot write and told to stop: _end_session counts what is left
        with self._lock:
            return not self._backlog.rows and not self._pending

    def _rows(self, taken: list[Event]) -> list[Row]:
        """Events as the INSERT takes them: all at once at full speed, or, if any of them
        is a problem, one at a time (`_careful_rows`)."""
        key = self._key
        try:
            return [(key, e.wall, e.mono, e.source, e.kind, e.name, e.from_state, e.to_state,
                     encode_fast(e.data)) for e in taken]
        except Exception:
            return self._careful_rows(taken)

    def _careful_rows(self, taken: list[Event]) -> list[Row]:
        """Data encoded one event at a time: data no encoding can hold becomes a placeholder,
        followed by a LogGap row saying why; an item that is not even an event is left out,
        as a writer failure."""
        key, rows = self._key, []
        add = rows.append
        for e in taken:
            try:
                data = e.data
                if data is not None and not isinstance(data, (bytes, bytearray)):
                    data, problem = encode_checked(data)
                    if problem is not None:
                        add((key, e.wall, e.mono, e.source, e.kind, e.name, e.from_state,
                             e.to_state, data))
                        e = self._synthetic_gap(e, f"the data of the {e.kind} event {e.name!r} "
                                                f"before this one could not be stored: {problem}")
                        data = e.data
                add((key, e.wall, e.mono, e.source, e.kind, e.name, e.from_state, e.to_state,
                     data))
            except Exception as error:
                with self._written:
                    self.stats.dropped += 1
                self._writer_failed(error, 1)
        return rows

    def _synthetic_gap(self, at: Event, reason: str) -> Event:
        """A LogGap event the writer adds itself (counted as appended, so flush balances)."""
        with self._lock:
            self.stats.appended += 1
            self._gap_rows += 1
        return Event(KERNEL, OBSERVATION, LOG_GAP, encode(gap_data(reason)),  # type: ignore[arg-type]
                     wall=at.wall, mono=at.mono)

    def _write(self) -> None:
        """Write the backlog from its front, in one transaction when it can, else in ever
        smaller pieces (a nearly full disk still takes small ones); order is never changed."""
        try:
            conn = self._open()  # sets the session key the rows need, the first time
        except (OSError, sqlite3.Error) as e:
            self._cannot_write(e)
            return
        if self._disk_full:
            self._make_room()
        rows = self._rekeyed()
        done, piece = 0, len(rows)
        while done < len(rows):
            chunk = rows if piece >= len(rows) and done == 0 else rows[done:done + piece]
            try:
                self._insert(conn, chunk)
            except DATA_ERRORS as e:
                self._rollback()
                if piece > PIECE_MIN:
                    piece = max(PIECE_MIN, piece // 4)
                else:
                    self._repair(rows, done, e)
                continue
            except (OSError, sqlite3.Error) as e:
                self._rollback()
                if piece > PIECE_MIN:
                    piece = max(PIECE_MIN, piece // 4)
                    continue
                self._written_rows(done)
                self._cannot_write(e, progress=done > 0)
                return
            done += len(chunk)
            piece = min(piece * 2, len(rows))
        self._written_rows(done)
        self._disk_full = False
        if self.degraded is not None:
            self._set_degraded(None)

    def _rekeyed(self) -> list[Row]:
        rows, key = self._backlog.rows, self._key
        if rows[0][0] != key or rows[-1][0] != key or self._gap_rows:
            rows[:] = [r if r[0] == key else (key, *r[1:]) for r in rows]  # type: ignore[misc]
        return rows

    def _insert(self, conn: sqlite3.Connection, chunk: list[Row]) -> None:
        conn.execute("BEGIN")
        conn.executemany(INSERT, chunk)
        if self._gap_rows:
            gaps, lost, size, reason = gap_totals(chunk)
            if gaps:
                conn.execute(UPDATE_GAPS, (gaps, lost, size, reason, self._key))
        conn.execute("COMMIT")

    def _written_rows(self, n: int) -> None:
        if n == 0:
            return
        done = self._backlog.written(n)
        gaps = gap_totals(done)[0] if self._gap_rows else 0
        if gaps:
            with self._lock:
                self._gap_rows -= gaps
        with self._written:
            self.stats.written += len(done)
            self.stats.gaps += gaps
            self.stats.batches += 1
            self._written.notify_all()

    def _enforce_retention(self) -> None:
        self._retention_due = time.monotonic() + self.retention_every
        try:
            retention.enforce(self._conn, self.retention, time.time(),  # type: ignore[arg-type]
                              keep_session=self._key)
        except Exception as e:
            self._rollback()  # a busy or full disk: the next check tries again
            print(f"krunner: event log retention not applied: {e}", file=sys.stderr)

    def _rollback(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")


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
__all__ = ["INSERT", "EventLog", "LogStats", "connect_writable", "import_session", "prune"]
