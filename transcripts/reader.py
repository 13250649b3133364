"""Reading a log: read-only connections and decoded events in order."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transcripts.events import Event, Payload


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event as stored: its place in the log and its session."""

    seq: int
    session: str
    event: Event


def open_readonly(path: str | Path) -> sqlite3.Connection:
    """A connection that cannot write (readers never touch the events table)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no event log at {path}")
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def sessions(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    cur = conn.execute("SELECT * FROM sessions ORDER BY started_wall")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur]


def latest_session(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT id FROM sessions ORDER BY started_wall DESC LIMIT 1").fetchone()
    return row[0] if row else None


def events(conn: sqlite3.Connection, session: str, *, source: str | None = None,
           kinds: tuple[str, ...] | None = None) -> Iterator[Recorded]:
    """One session's events in seq order, data decoded back to bytes or JSON values."""
    sql = ("SELECT seq, session, source, kind, name, data, from_state, to_state, wall, mono "
           "FROM events WHERE session = ?")
    args: list[Any] = [session]
    if source is not None:
        sql += " AND source = ?"
        args.append(source)
    if kinds:
        sql += f" AND kind IN ({','.join('?' * len(kinds))})"
        args.extend(kinds)
    for seq, sess, src, kind, name, data, frm, to, wall, mono in conn.execute(
            sql + " ORDER BY seq", args):
        yield Recorded(seq, sess, Event(src, kind, name, decode(data), frm, to, wall, mono))


def decode(data: Any) -> Payload:
    if data is None or isinstance(data, bytes):
        return data
    return json.loads(data, object_hook=_unwrap_bytes)


def _unwrap_bytes(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$b64" in obj:
        return base64.b64decode(obj["$b64"])
    return obj


def encode(data: Payload) -> bytes | str | None:
    """Bytes stay bytes (a BLOB); anything else becomes JSON text, nested bytes as $b64."""
    if data is None or isinstance(data, bytes):
        return data
    return json.dumps(data, ensure_ascii=False, default=_wrap_bytes, separators=(",", ":"))


def _wrap_bytes(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {"$b64": base64.b64encode(bytes(obj)).decode("ascii")}
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    return str(obj)
