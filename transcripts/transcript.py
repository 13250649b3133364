"""Portable transcripts: one session as JSON Lines (a header, then one event a line).

Bytes are text where they are UTF-8 (`{"$utf8": ...}`, so the frames can be read as they
are) and base64 otherwise (`{"$b64": ...}`); a support engineer attaches the file to a ticket
and loads it anywhere; `import_into` puts it back into a log file for the usual tools.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from typing import Any

from transcripts import schema
from transcripts.events import Event
from transcripts.reader import Recorded, encode, events, session_header

FORMAT = "krunner-transcript"
VERSION = 1


def export(conn: sqlite3.Connection, session: str, out: Path) -> int:
    """Write one session to `out`; the number of events written."""
    header = session_header(conn, session)
    count = 0
    with out.open("w", encoding="utf-8") as f:
        f.write(json.dumps({"format": FORMAT, "version": VERSION, "session": header}) + "\n")
        for rec in events(conn, session):
            e = rec.event
            line = {"seq": rec.seq, "wall": e.wall, "mono": e.mono, "source": e.source,
                    "kind": e.kind, "name": e.name, "from": e.from_state, "to": e.to_state,
                    "data": _portable(e.data)}
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += 1
    return count


def _portable(data: Any) -> Any:
    """The data as plain JSON values; bytes (at any depth) as {"$utf8": text} when they are
    UTF-8, so a person can read the frames, else {"$b64": ...}. Both come back as bytes."""
    if isinstance(data, (bytes, bytearray)):
        try:
            return {"$utf8": bytes(data).decode("utf-8")}
        except UnicodeDecodeError:
            return {"$b64": base64.b64encode(data).decode("ascii")}
    if isinstance(data, dict):
        return {str(k): _portable(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_portable(v) for v in data]
    return data


def _from_portable(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$utf8" in value:
            return value["$utf8"].encode("utf-8")
        if len(value) == 1 and "$b64" in value:
            return base64.b64decode(value["$b64"])
        return {k: _from_portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_portable(v) for v in value]
    return value


def load(path: Path) -> tuple[dict[str, Any], list[Recorded]]:
    """The header and the events of a transcript file."""
    with path.open(encoding="utf-8") as f:
        header = json.loads(f.readline())
        if header.get("format") != FORMAT:
            raise ValueError(f"{path} is not a krunner transcript")
        session = header["session"]["id"]
        recorded = []
        for line in f:
            d = json.loads(line)
            data = _from_portable(d["data"])
            event = Event(d["source"], d["kind"], d["name"], data, d["from"], d["to"],
                          d["wall"], d["mono"])
            recorded.append(Recorded(d["seq"], session, event))
    return header, recorded


def import_into(path: Path, log_path: Path) -> str:
    """Load a transcript into a log file as its own session; the session id."""
    header, recorded = load(path)
    s = header["session"]
    conn = sqlite3.connect(log_path)
    try:
        schema.create(conn)
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (s["id"],)).fetchone():
            raise ValueError(f"session {s['id']} is already in {log_path}")
        with conn:
            key = conn.execute(
                "INSERT INTO sessions (id, kernel_id, language, runner_version, host, "
                "pid, started_wall, ended_wall) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (s["id"], s.get("kernel_id"), s.get("language"),
                          s.get("runner_version"), s.get("host"), s.get("pid"),
                          s["started_wall"], s.get("ended_wall"))).lastrowid
            conn.executemany(
                "INSERT INTO events (session, wall, mono, source, kind, name, from_state, "
                "to_state, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(key, r.event.wall, r.event.mono, r.event.source, r.event.kind,
                  r.event.name, r.event.from_state, r.event.to_state, encode(r.event.data))
                 for r in recorded])
    finally:
        conn.close()
    return s["id"]
