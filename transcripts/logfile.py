"""The log file itself: opening it for writing, the rows its INSERTs take, importing a
recorded session, pruning by time, and the reserve file kept beside it.

Functions on a file or a connection, no thread and no event: the writer (`store.EventLog`)
and the tools (`transcript import`, `prune`) use them. Readers never do (`reader`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from transcripts import retention, schema

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


RESERVE_BYTES = 256 << 10  # freed on a full disk so the session's end can still be written


def reserve_path(path: Path) -> Path:
    return path.with_name(path.name + "-reserve")


def keep_reserve(path: Path) -> None:
    """A small file beside the log that the writer deletes to make room on a full disk, for
    the last write that marks the session's end (best effort: no room, no reserve)."""
    reserve = reserve_path(path)
    if reserve.exists():
        return
    try:
        fd = os.open(reserve, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return
    try:
        os.write(fd, bytes(RESERVE_BYTES))
    except OSError:
        os.close(fd)
        release_reserve(path)
        return
    os.close(fd)


def release_reserve(path: Path) -> None:
    with contextlib.suppress(OSError):
        reserve_path(path).unlink()
