"""Reading a log: read-only connections and decoded events in order.

A reader must never write to a log: it may be a live runner's, or on read-only media."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transcripts import fastjson, schema
from transcripts.events import Event, Payload


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event as stored: its place in the log and its session."""

    seq: int
    session: str
    event: Event


class NotALog(ValueError):
    """The file exists but is not a krunner event log."""


def open_readonly(path: str | Path) -> sqlite3.Connection:
    """A connection that cannot write (readers never touch the events table)."""
    return open_log(path).conn


@dataclass(slots=True)
class LogFile:
    """A log opened for reading, and what a reader should know about how it was opened."""

    path: Path
    conn: sqlite3.Connection
    immutable: bool  # the folder cannot be written: read as a frozen file, its -wal unread
    notes: list[str]


def open_log(path: str | Path) -> LogFile:
    """Open a log read-only: `mode=ro` (a running runner may keep writing it), or `immutable`
    where the folder cannot be written (read-only media), which SQLite needs to read a WAL
    file without its shared-memory index. Missing files and files that are not logs raise."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no event log at {path}")
    if not path.is_file():
        raise NotALog(f"{path} is not a file, so not an event log")
    immutable = not _writable_folder(path.parent)
    conn = _connect(path, immutable)
    try:
        _check_tables(conn, path)
    except sqlite3.OperationalError:
        if immutable:
            raise
        conn.close()  # e.g. the -shm cannot be made: read it as a frozen file
        immutable = True
        conn = _connect(path, immutable)
        _check_frozen_tables(conn, path)
    except NotALog:
        if immutable and _unread_wal(path):  # a live log's copy: all of it still in the -wal
            raise NotALog(_wal_note(path, everything=True)) from None
        raise
    schema.ensure_views(conn)
    notes = [_wal_note(path, everything=False)] if immutable and _unread_wal(path) else []
    return LogFile(path, conn, immutable, notes)


def _check_frozen_tables(conn: sqlite3.Connection, path: Path) -> None:
    try:
        _check_tables(conn, path)
    except NotALog:
        if _unread_wal(path):
            raise NotALog(_wal_note(path, everything=True)) from None
        raise


def _unread_wal(path: Path) -> bool:
    wal = path.with_name(path.name + "-wal")
    return wal.exists() and wal.stat().st_size > 0


def _wal_note(path: Path, everything: bool) -> str:
    """The -wal note: what a log read as a frozen file misses, and what to do."""
    wal = path.with_name(path.name + "-wal").name
    missing = ("everything it holds is still in its " + wal + " (a copy of a log a runner was "
               "writing), which cannot be read there" if everything else
               f"its {wal} cannot be read there: the latest events may be missing")
    return f"{path} is on read-only media and {missing}; copy both files to a writable folder"


def _connect(path: Path, immutable: bool) -> sqlite3.Connection:
    flags = "immutable=1" if immutable else "mode=ro"
    return sqlite3.connect(f"{path.resolve().as_uri()}?{flags}", uri=True,
                           check_same_thread=False)


def _writable_folder(folder: Path) -> bool:
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return False
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def _check_tables(conn: sqlite3.Connection, path: Path) -> None:
    try:
        names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as e:
        if "not a database" in str(e) or "malformed" in str(e):
            raise NotALog(f"{path} is not an event log ({e})") from None
        raise
    if not {"sessions", "events"} <= names:
        raise NotALog(f"{path} is an SQLite file but not an event log (no sessions and "
                      "events tables)")


def query(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Rows of a query as dicts, for the tools (sqlite-utils; no plugins, nothing written)."""
    import sqlite_utils  # here: the runner never queries, and the import is a quarter of its start

    db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
    return list(db.query(sql, params))


def sessions(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return query(conn, "SELECT id, kernel_id, language, runner_version, host, pid, "
                       "started_wall, ended_wall FROM sessions ORDER BY started_wall")


def session_header(conn: sqlite3.Connection, session: str) -> dict[str, Any]:
    """One session's row (`sessions`' columns); LookupError if the log does not hold it."""
    header = next((s for s in sessions(conn) if s["id"] == session), None)
    if header is None:
        raise LookupError(f"no session {session} in the log")
    return header


def latest_session(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT id FROM sessions ORDER BY started_wall DESC LIMIT 1").fetchone()
    return row[0] if row else None


def events(conn: sqlite3.Connection, session: str, *, source: str | None = None,
           kinds: tuple[str, ...] | None = None) -> Iterator[Recorded]:
    """One session's events in seq order, data decoded back to bytes or JSON values."""
    sql = ("SELECT seq, source, kind, name, data, from_state, to_state, wall, mono "
           "FROM events WHERE session = ?")
    args: list[Any] = [session_key(conn, session)]
    if source is not None:
        sql += " AND source = ?"
        args.append(source)
    if kinds:
        sql += f" AND kind IN ({','.join('?' * len(kinds))})"
        args.extend(kinds)
    for seq, src, kind, name, data, frm, to, wall, mono in conn.execute(
            sql + " ORDER BY seq", args):
        yield Recorded(seq, session, Event(src, kind, name, decode(data), frm, to, wall, mono))


# seq, source, kind, name, data, from_state, to_state
Row = tuple[int, str, str, str, Payload, str | None, str | None]


def rows(conn: sqlite3.Connection, session: str, kinds: tuple[str, ...],
         data_of: tuple[str, ...]) -> Iterator[Row]:
    """One session's events of the given kinds as plain tuples, lean: no clocks, and data
    (decoded) only for the kinds in `data_of`; what nobody needs is neither read nor decoded."""
    data_marks, kind_marks = ",".join("?" * len(data_of)), ",".join("?" * len(kinds))
    cur = conn.execute(
        f"SELECT seq, source, kind, name, CASE WHEN kind IN ({data_marks}) THEN data END, "
        f"from_state, to_state FROM events WHERE session = ? AND kind IN ({kind_marks}) "
        "ORDER BY seq", [*data_of, session_key(conn, session), *kinds])
    for seq, src, kind, name, data, frm, to in cur:
        yield seq, src, kind, name, None if data is None else decode(data), frm, to


def count(conn: sqlite3.Connection, session: str) -> int:
    """How many events one session holds."""
    return int(conn.execute("SELECT count(*) FROM events WHERE session = ?",
                            (session_key(conn, session),)).fetchone()[0])


def session_key(conn: sqlite3.Connection, session: str) -> int:
    """The small integer the events table uses for a session id."""
    row = conn.execute("SELECT key FROM sessions WHERE id = ?", (session,)).fetchone()
    if row is None:
        raise LookupError(f"no session {session} in the log")
    return int(row[0])


def decode(data: Any) -> Payload:
    """A stored `data` value back as written: bytes, or JSON values (exact-mark text, see
    `fastjson`, read by the standard library; a placeholder as its `$unrecorded` dict)."""
    if data is None or isinstance(data, bytes):
        return data
    if '"$b64"' not in data:  # the common case: no bytes inside, parse at full speed
        return fastjson.loads(data)
    try:
        return json.loads(data, object_hook=_unwrap_bytes)
    except RecursionError as e:
        raise ValueError(f"nested too deeply to read ({e})") from None


def _unwrap_bytes(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$b64" in obj:
        return base64.b64decode(obj["$b64"])
    return obj


UNRECORDED = "$unrecorded"  # the key of the placeholder for data that could not be stored


def encode(data: Payload | bytearray) -> bytes | bytearray | str | None:
    """Bytes stay bytes (a BLOB); anything else becomes JSON text, nested bytes as $b64.
    Never raises: see `encode_checked`."""
    return encode_checked(data)[0]


def encode_fast(data: Payload | bytearray) -> bytes | bytearray | str | None:
    """As `encode`, but raises where `encode_checked` would give a placeholder (the writer's
    fast path: a batch with such a value is then encoded one event at a time)."""
    if data is None or isinstance(data, (bytes, bytearray)):
        return data
    return fastjson.dumps(data, _wrap_bytes)


def encode_checked(data: Payload | bytearray) -> tuple[bytes | bytearray | str | None, str | None]:
    """`data` as stored, and None; or, where no encoding can hold it, a placeholder
    `{"$unrecorded": why, "type": ...}` and why.

    orjson where installed (`fastjson`): encoding sits on the writer's path and orjson is ten
    times faster than `json`. What orjson cannot hold exactly (lone surrogates, integers
    beyond 64 bits, nesting deeper than 255, NaN) is written losslessly by the standard
    library (`fastjson.exact`); a placeholder only where that fails too (deeper than the
    interpreter's recursion limit, a cycle).
    """
    if data is None or isinstance(data, (bytes, bytearray)):
        return data, None
    try:
        return fastjson.dumps(data, _wrap_bytes), None
    except Exception as e:
        why = f"{type(e).__name__}: {e}"[:500]
        return fastjson.dumps({UNRECORDED: why, "type": type(data).__name__}), why


def _wrap_bytes(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {"$b64": base64.b64encode(bytes(obj)).decode("ascii")}
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    return str(obj)
