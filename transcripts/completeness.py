"""Whether a log holds the whole of a session, and if not, why: said in plain words by every
tool that reads a session (export, verify, replay), so "intact" or "matches" is never taken
for "complete".

A session is partial when it never ended (its runner is still running, or was killed), when
its writer recorded a gap (`LogGap` events, or the gap marker of its session row: events it
could not write, e.g. on a full disk), or when retention pruned some of its events (the
`pruned` table). Read-only: it must never write to the log.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from datetime import UTC, datetime
from typing import Any

from transcripts.events import KERNEL, OBSERVATION
from transcripts.reader import session_key

GAP_EVENT = "LogGap"
GAPS_SAID = "its writer recorded"  # how a reason about recorded gaps begins


def partial_reasons(conn: sqlite3.Connection, session: str) -> list[str]:
    """Why the log does not hold all of `session` (empty: it holds all of it)."""
    key = session_key(conn, session)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(sessions)")]
    row = dict(zip(columns, conn.execute("SELECT * FROM sessions WHERE key = ?", (key,)
                                         ).fetchone(), strict=True))
    reasons = []
    if row.get("ended_wall") is None:
        reasons.append(not_ended(row.get("host"), row.get("pid")))
    reasons += _gaps(conn, key, row)
    pruned = _pruned(conn, key)
    if pruned[0]:
        reasons.append(f"retention pruned {pruned[0]} of its events (those recorded before "
                       f"{_when(pruned[1])})")
    return reasons


def _pruned(conn: sqlite3.Connection, key: int) -> tuple[int, Any]:
    """How many of the session's events retention pruned, and before when (a log older than
    retention has no `pruned` table: none)."""
    try:
        row = conn.execute("SELECT coalesce(sum(events), 0), max(before_wall) FROM pruned "
                           "WHERE session = ?", (key,)).fetchone()
    except sqlite3.OperationalError:
        return 0, None
    return int(row[0]), row[1]


def not_ended(host: Any, pid: Any) -> str:
    """The session never ended: whether its runner still runs, as far as this host can tell."""
    why = "the session never ended"
    if host != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return (f"{why}: its runner (pid {pid} on {host}) is still running, or was killed "
                "(or the log was copied without its -wal file)")
    if _alive(pid):
        return f"{why}: its runner is still running (pid {pid} on this host is alive)"
    return (f"{why}: its runner was killed or crashed (pid {pid} on this host is gone; or "
            "the log was copied without its -wal file)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _gaps(conn: sqlite3.Connection, key: int, row: dict[str, Any]) -> list[str]:
    """The gaps the session row counts (`gaps`, `lost_events`, `lost_bytes`, `gap_reason`;
    an older file has none of them) or its `LogGap` events say, whichever says more."""
    count, lost, size, reason = 0, 0, 0, None
    # the writer's own events are the kernel's: the (session, source) index finds them
    for (data,) in conn.execute("SELECT data FROM events WHERE session = ? AND source = ? "
                                "AND name = ? AND kind = ?", (key, KERNEL, GAP_EVENT,
                                                              OBSERVATION)):
        gap = _json(data)
        count += 1
        lost += _int(gap.get("lost_events"))
        size += _int(gap.get("lost_bytes"))
        reason = gap.get("reason") if isinstance(gap.get("reason"), str) else reason
    count, lost = max(count, _int(row.get("gaps"))), max(lost, _int(row.get("lost_events")))
    size = max(size, _int(row.get("lost_bytes")))
    reason = row.get("gap_reason") or reason
    if not count:
        return []
    what = [f"{lost} events lost"] if lost else []
    what += [f"{size} bytes of data lost"] if size else []
    what += [f"the last because {reason}"] if reason else []
    return [f"{GAPS_SAID} {count} gap(s) in the log" + (f" ({', '.join(what)})"
                                                         if what else "")]


def _json(data: Any) -> dict[str, Any]:
    try:
        value = json.loads(data) if isinstance(data, (str, bytes)) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if type(value) is int and value > 0 else 0


def _when(wall: Any) -> str:
    try:
        return datetime.fromtimestamp(float(wall), UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError, OSError):
        return f"{wall!r} (not a time)"
