"""How long a log keeps its events: a bound by age and by size, enforced by the writer.

A runner that lives for months must not fill its disk with its log. By default events older
than 30 days go (`KRUNNER_LOG_MAX_AGE`: seconds or 90d, 12h; 0 keeps them), and once the
events take more than 1 GiB (`KRUNNER_LOG_MAX_SIZE`: bytes or 512M, 2G; 0: no bound) the
oldest go until they take 90 % of it. Freed pages are reused, so the file stops growing.
Each deletion is noted in the `pruned` table (session, before, how many, when), so a tool
can tell a session that was cut at its start from one that began so. The running session
is never pruned (the writer passes its key): its log must stay whole for replay.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from dataclasses import dataclass

DAY = 86400.0
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": DAY, "k": 1 << 10, "K": 1 << 10,
         "M": 1 << 20, "G": 1 << 30}
DEFAULT_MAX_AGE = 30 * DAY
DEFAULT_MAX_BYTES = 1 << 30
CHUNK = 10_000  # events deleted per transaction, so the writer is never held up for long


def _amount(text: str, units: str) -> float:
    m = re.fullmatch(rf"\s*(\d+(?:\.\d+)?)\s*([{units}]?)\s*", text)
    if m is None:
        raise ValueError(f"cannot read {text!r}")
    return float(m[1]) * UNITS[m[2]]


@dataclass(frozen=True, slots=True)
class Retention:
    max_age_s: float = DEFAULT_MAX_AGE  # 0: keep events of any age
    max_bytes: int = DEFAULT_MAX_BYTES  # 0: no bound on size

    @classmethod
    def from_environ(cls) -> Retention:
        age = os.environ.get("KRUNNER_LOG_MAX_AGE")
        size = os.environ.get("KRUNNER_LOG_MAX_SIZE")
        return cls(_amount(age, "smhd") if age else DEFAULT_MAX_AGE,
                   int(_amount(size, "kKMG")) if size else DEFAULT_MAX_BYTES)


def used_bytes(conn: sqlite3.Connection) -> int:
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return int((pages - free) * conn.execute("PRAGMA page_size").fetchone()[0])


def prune_before(conn: sqlite3.Connection, before: float, keep_session: int = 0) -> int:
    """Delete the events recorded before `before` (epoch seconds), but none of the session
    whose key is `keep_session`, and the sessions that ended before it and kept no event;
    the number of events deleted."""
    deleted = 0
    while True:
        n = _delete(conn, "SELECT seq FROM events WHERE wall < ? AND session != ? LIMIT ?",
                    (before, keep_session, CHUNK), before)
        deleted += n
        if n < CHUNK:
            break
    with _transaction(conn):
        conn.execute("DELETE FROM sessions WHERE ended_wall < ? AND NOT EXISTS "
                     "(SELECT 1 FROM events e WHERE e.session = sessions.key)", (before,))
    return deleted


def shrink_to(conn: sqlite3.Connection, max_bytes: int, keep_session: int = 0) -> int:
    """Delete the oldest events until they take at most 90 % of `max_bytes`; none of the
    session whose key is `keep_session` (the running one: its log must stay whole), so the
    bound may stay exceeded while that session alone exceeds it."""
    deleted = 0
    while (used := used_bytes(conn)) > 0.9 * max_bytes:
        total = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        # as many of the oldest as the excess is a share of the whole (events are alike
        # enough on average), at most a chunk at a time
        n = min(CHUNK, max(1, int(total * (used - 0.9 * max_bytes) / used) + 1))
        row = conn.execute("SELECT wall FROM events WHERE session != ? ORDER BY seq "
                           "LIMIT 1 OFFSET ?", (keep_session, n - 1)).fetchone()
        if row is None:
            row = conn.execute("SELECT max(wall) FROM events WHERE session != ?",
                               (keep_session,)).fetchone()
            if row is None or row[0] is None:
                break  # only the running session is left
        gone = _delete(conn, "SELECT seq FROM events WHERE session != ? ORDER BY seq LIMIT ?",
                       (keep_session, n), row[0])
        deleted += gone
        if gone == 0:
            break
    return deleted


def enforce(conn: sqlite3.Connection, rule: Retention, now: float,
            keep_session: int = 0) -> int:
    """Apply the bound to every session but `keep_session` (the writer's own, running);
    cheap when there is nothing to do (one row and three pragmas)."""
    deleted = 0
    if rule.max_age_s:
        first = conn.execute("SELECT wall FROM events WHERE session != ? ORDER BY seq LIMIT 1",
                             (keep_session,)).fetchone()
        if first is not None and first[0] < now - rule.max_age_s:
            deleted += prune_before(conn, now - rule.max_age_s, keep_session)
    if rule.max_bytes and used_bytes(conn) > rule.max_bytes:
        deleted += shrink_to(conn, rule.max_bytes, keep_session)
    return deleted


def _delete(conn: sqlite3.Connection, pick: str, args: tuple[object, ...],
            before: float) -> int:
    with _transaction(conn):
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS doomed (seq INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM temp.doomed")
        conn.execute(f"INSERT INTO temp.doomed {pick}", args)
        conn.execute("INSERT INTO pruned (session, before_wall, events, at_wall) "
                     "SELECT session, ?, count(*), ? FROM events "
                     "WHERE seq IN (SELECT seq FROM temp.doomed) GROUP BY session",
                     (before, time.time()))
        return conn.execute("DELETE FROM events WHERE seq IN (SELECT seq FROM temp.doomed)"
                            ).rowcount


class _transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")
