"""What the log writer does when writing goes wrong, so that the log never goes silent.

A disk that is full, read-only or locked makes the log degraded (said through `on_degraded`)
while the backlog waits, bounded: past its bound, or when the room that came back is short,
output bodies give way first and a `LogGap` takes their place. A row SQLite refuses is stored
escaped; an unexpected error is reported (stderr, `LogWriterFailed`) and the writer goes on.
At the end, what stayed unwritten is counted on the session row. A mixin of
`store.EventLog`, whose writer thread alone calls it; it must never be used on its own.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transcripts import logfile
from transcripts.backlog import (
    LOG_GAP,
    LOG_WRITER_FAILED,
    Backlog,
    Row,
    escaped,
    gap_data,
    gap_totals,
    lost_in,
)
from transcripts.events import KERNEL, OBSERVATION, Event
from transcripts.logfile import INSERT
from transcripts.reader import encode

UPDATE_GAPS = ("UPDATE sessions SET gaps = gaps + ?, lost_events = lost_events + ?, "
               "lost_bytes = lost_bytes + ?, gap_reason = COALESCE(?, gap_reason) WHERE key = ?")
NO_ROOM = 64 << 10  # less free space than this on the log's disk: wait for more
FAILURE_EVENTS = 20  # LogWriterFailed events recorded at most (then only counted)


@dataclass(slots=True)
class LogStats:
    appended: int = 0
    written: int = 0
    merged: int = 0
    batches: int = 0
    failures: int = 0
    dropped: int = 0  # events shed from a backlog that could not be written, or lost at exit
    gaps: int = 0  # LogGap events recorded (record_gap, shedding, placeholders, failures)
    writer_failures: int = 0  # unexpected errors the writer outlived


class Recovery:
    """The failure paths of `store.EventLog` (which sets these attributes and methods)."""

    path: Path
    batch_interval: float
    on_degraded: Callable[[str | None], None] | None
    degraded: str | None
    stats: LogStats
    _backlog: Backlog
    _conn: sqlite3.Connection | None
    _key: int
    _gap_rows: int
    _disk_full: bool
    _lock: threading.Lock
    _written: threading.Condition
    _pending: list[Event]
    append: Callable[[Event], None]
    _gap: Callable[..., None]
    _open: Callable[[], sqlite3.Connection]
    _write: Callable[[], None]
    _rows: Callable[[list[Event]], list[Row]]
    _rollback: Callable[[], None]

    def _repair(self, rows: list[Row], at: int, error: Exception) -> None:
        """A row SQLite refuses on its own (text it cannot hold, a clock that is not a
        number): stored with its text escaped and clocks made numbers, else dropped."""
        row = rows[at]
        fixed = escaped(row)
        if fixed != row:
            rows[at] = fixed
            return
        del rows[at]
        with self._written:
            self.stats.dropped += 1
        self._gap(f"an event could not be stored: {type(error).__name__}: {error}", 1)

    def _cannot_write(self, error: BaseException, progress: bool = False) -> None:
        """Degraded: say so, bound what waits (shedding it records a gap), wait a little.

        On a full disk that took part of the backlog (`progress`: some room came back, not
        enough), output bodies give way at once, so the room left goes to lifecycle events."""
        self.stats.failures += 1
        self._set_degraded(f"{type(error).__name__}: {error}")
        self._disk_full = _is_full(error)
        if self._backlog.over():
            self._shed(f"the log could not be written ({self.degraded}) and what waited "
                       "went past its bound")
        elif self._disk_full and progress:
            self._shed(f"the log's disk is full ({self.degraded})", outputs_only=True)
        time.sleep(min(0.5, self.batch_interval * 20))

    def _make_room(self) -> None:
        """After a full disk: when some room came back but less than twice what waits,
        output bodies give way before anything is written (the room goes to lifecycle
        events). With no room at all they keep waiting: more room may come back."""
        try:
            stat = os.statvfs(self.path.parent)
        except OSError:
            return
        room = stat.f_bavail * stat.f_frsize
        if room > NO_ROOM and self._backlog.count() > room // 2:
            self._shed(f"the log's disk was full; it had {room} bytes of room again for "
                       f"{self._backlog.count()} bytes waiting", outputs_only=True)

    def _shed(self, reason: str, outputs_only: bool = False) -> None:
        shed = self._backlog.shed(reason, self._key, time.time(), time.monotonic(),
                                  outputs_only=outputs_only)
        if shed.at is None:
            return
        with self._lock:
            self.stats.appended += 1  # the gap row the shedding left
            self._gap_rows += 1
        with self._written:
            self.stats.dropped += shed.events
            self._written.notify_all()
        print(f"krunner: EVENT LOG GAP: {reason}: {shed.events} events and {shed.bodies} "
              f"bodies ({shed.bytes} bytes) dropped", file=sys.stderr, flush=True)

    def _failed_round(self, error: Exception) -> None:
        """Anything unexpected in a round: what was in hand is counted as lost, the failure
        reported, and after a pause (it may repeat) the writer goes on."""
        self._rollback()
        rows = self._backlog.written(len(self._backlog.rows))
        with self._lock:
            self._gap_rows -= gap_totals(rows)[0]
        with self._written:
            self.stats.dropped += len(rows)
            self._written.notify_all()
        self._writer_failed(error, lost_in(rows)[0])
        time.sleep(min(0.5, self.batch_interval * 20))

    def _writer_failed(self, error: Exception, lost: int) -> None:
        """Loud on stderr (the first time), a LogWriterFailed event and a gap (the first
        FAILURE_EVENTS times; then only counted)."""
        self.stats.failures += 1
        self.stats.writer_failures += 1
        what = f"{type(error).__name__}: {error}"
        if self.stats.writer_failures == 1:
            print(f"krunner: EVENT LOG WRITER FAILED ({lost} events lost; it goes on): {what}\n"
                  f"{traceback.format_exc()}", file=sys.stderr, flush=True)
        if self.stats.writer_failures <= FAILURE_EVENTS:
            self.append(Event(KERNEL, OBSERVATION, LOG_WRITER_FAILED,
                              {"error": what, "traceback": traceback.format_exc()},
                              wall=time.time(), mono=time.monotonic()))
            self._gap(f"the log writer failed: {what}", lost)

    def _end_session(self) -> None:
        """Mark the session ended; what could not be written is counted as one more gap, so
        a session that lost events never reads as clean. On a full disk the reserve file is
        given up to make room for this last write; if even that fails, the row keeps no end
        (readers call it unfinished) and stderr says how much was lost."""
        with self._lock:
            taken, self._pending = self._pending, []
        self._backlog.add(self._rows(taken))
        if self._backlog.rows:
            self._write()  # one last try with the room there is (the reserve stays for the end)
        rows = self._backlog.written(len(self._backlog.rows))
        lost, size, first, last = lost_in(rows)
        reason = (f"{lost} events could not be written before the runner stopped "
                  f"({self.degraded})")
        gap = gap_data(reason, lost, size, first, last) if rows else None
        ended = self._mark_ended(gap, gap_totals(rows)[0] + bool(rows))
        if rows:
            print(f"krunner: EVENT LOG GAP: {reason}; the session is "
                  + ("marked with it" if ended else "NOT marked ended: it will read as "
                     "unfinished"), file=sys.stderr, flush=True)
        if ended and self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                # the main file alone now holds everything: a copy without its -wal is complete
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        logfile.release_reserve(self.path)

    def _mark_ended(self, gap: dict[str, Any] | None, gaps: int) -> bool:
        """The session row's end (and the exit gap's row and counts); False if not written."""
        for attempt in range(2):
            try:
                conn = self._open()
                conn.execute("BEGIN")
                if gap is not None:
                    conn.execute(INSERT, (self._key, time.time(), time.monotonic(), KERNEL,
                                          OBSERVATION, LOG_GAP, None, None, encode(gap)))
                    conn.execute(UPDATE_GAPS, (gaps, gap["lost_events"], gap["lost_bytes"],
                                               gap["reason"], self._key))
                conn.execute("UPDATE sessions SET ended_wall = ? WHERE key = ?",
                             (time.time(), self._key))
                conn.execute("COMMIT")
                return True
            except (OSError, sqlite3.Error) as e:
                self._rollback()
                if attempt == 0:
                    logfile.release_reserve(self.path)  # the disk may be full: make room, try again
                else:
                    print(f"krunner: EVENT LOG: the session's end could not be written: "
                          f"{type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return False

    def _set_degraded(self, reason: str | None) -> None:
        was = self.degraded
        self.degraded = reason
        if reason is None:
            logfile.keep_reserve(self.path)
            resumed = Event(KERNEL, OBSERVATION, "LogRecordingResumed", {"after": was},
                            wall=time.time(), mono=time.monotonic())
            self.append(resumed)
        if (was is None) != (reason is None) and self.on_degraded is not None:
            self.on_degraded(reason)

def _is_full(error: BaseException) -> bool:
    """A full disk (or database), as SQLite or the OS says it."""
    if isinstance(error, sqlite3.Error):
        return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(error, OSError) and error.errno == errno.ENOSPC
