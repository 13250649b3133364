"""The log's tables, indexes and views (one schema, in one place).

The writer creates all of it in the file, and adds to an older file the columns it lacks
(`migrate`). Readers must never change a log: they open it read-only (perhaps written by an
older runner, perhaps on read-only media), so `ensure_views` adds any view the file lacks as
a TEMP view of the reader's own connection: the tools can always rely on every view below,
and on `session_gaps` (each session's gap counts, 0 for a file older than them, and `clean`).
"""

from __future__ import annotations

import sqlite3

TABLES = """
CREATE TABLE IF NOT EXISTS sessions (
    key INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kernel_id TEXT,
    language TEXT,
    runner_version TEXT,
    host TEXT,
    pid INTEGER,
    started_wall REAL NOT NULL,
    ended_wall REAL,
    fingerprint TEXT  -- of the transcript exported at exit (older logs lack the column)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    session INTEGER NOT NULL REFERENCES sessions(key),  -- small keys keep the indexes cheap
    wall REAL NOT NULL,
    mono REAL NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    data
);
CREATE INDEX IF NOT EXISTS events_by_session ON events (session, seq);
CREATE INDEX IF NOT EXISTS events_by_source ON events (session, source, seq);
CREATE TABLE IF NOT EXISTS pruned (
    session INTEGER NOT NULL,
    before_wall REAL NOT NULL,
    events INTEGER NOT NULL,
    at_wall REAL NOT NULL
);
"""

# A probe's latency, as one expression: the partial index below and every query that wants
# to walk probes in latency order (percentiles) must spell it exactly so.
PROBE_LATENCY = ("(CASE WHEN json_valid(data) THEN json_extract(data, '$.latency_ms') END)")
PROBE_FILTER = "kind = 'observation' AND name IN ('ProbeSucceeded', 'ProbeFailed')"
FAILURE_FILTER = "kind = 'observation' AND name IN ('ProbeFailed', 'ProcessExited')"

# Only probe rows enter these indexes, so other events pay one cheap WHERE test on insert.
INDEXES = f"""
CREATE INDEX IF NOT EXISTS probes_by_latency ON events (session, source, {PROBE_LATENCY})
    WHERE {PROBE_FILTER};
CREATE INDEX IF NOT EXISTS failures_by_source ON events (session, source, seq)
    WHERE {FAILURE_FILTER};
CREATE INDEX IF NOT EXISTS transitions_by_source ON events (session, source, seq)
    WHERE kind = 'transition';
"""

_REASON = "CASE WHEN typeof(data) = 'text' AND json_valid(data) THEN json_extract(data, '$.{}') END"

# Each machine's states over time; seconds_in_state is how long it stayed in `to_state`.
VIEWS = {
    "machine_timeline": """
SELECT s.id AS session, source, seq, wall, name AS trigger, from_state, to_state,
       LEAD(mono) OVER (PARTITION BY e.session, source ORDER BY seq) - mono AS seconds_in_state
FROM events e JOIN sessions s ON s.key = e.session WHERE kind = 'transition'""",
    "model_health": f"""
SELECT s.id AS session, substr(source, 7) AS model, seq, wall, kind, name, from_state, to_state,
       {_REASON.format('reason')} AS reason,
       {_REASON.format('status')} AS status,
       {_REASON.format('latency_ms')} AS latency_ms
FROM events e JOIN sessions s ON s.key = e.session
WHERE source LIKE 'model:%'
  AND (kind IN ('transition', 'rejected')
       OR name IN ('ProbeSucceeded', 'ProbeFailed', 'ProcessExited', 'ModelConfigured'))""",
    # Every move of each model's health machine and how long its new state held: until the
    # next move, else the session's clean end, else its last recorded event.
    "health_transitions": f"""
SELECT e.session AS session_key, source, substr(source, 7) AS model, seq, wall,
       name AS trigger, from_state, to_state, {_REASON.format('reason')} AS reason,
       COALESCE(LEAD(wall) OVER (PARTITION BY e.session, source ORDER BY seq),
                s.ended_wall,
                (SELECT x.wall FROM events x WHERE x.session = e.session
                 ORDER BY x.seq DESC LIMIT 1)) - wall AS held_s
FROM events e JOIN sessions s ON s.key = e.session
WHERE kind = 'transition' AND source >= 'model:' AND source < 'model;'""",
    "rejected_triggers": """
SELECT s.id AS session, source, seq, wall, name AS trigger, from_state AS state, data
FROM events e JOIN sessions s ON s.key = e.session WHERE kind = 'rejected'""",
}


# Added to `sessions` after its first version (`migrate` adds them to older files): what the
# log misses of the session. A session is clean only if it ended and `gaps` is 0.
GAP_COLUMNS = {
    "gaps": "INTEGER NOT NULL DEFAULT 0",  # LogGap events recorded for the session
    "lost_events": "INTEGER NOT NULL DEFAULT 0",  # events the log does not hold
    "lost_bytes": "INTEGER NOT NULL DEFAULT 0",  # bytes of data (output bodies...) it lacks
    "gap_reason": "TEXT",  # the latest gap's reason
}


def session_gaps_sql(columns: set[str]) -> str:
    """The `session_gaps` view, over a sessions table with `columns` (an old file has none
    of GAP_COLUMNS: it reads as no gap recorded, which is all such a file can say)."""
    picks = ", ".join(name if name in columns else f"{'NULL' if name == 'gap_reason' else 0} "
                      f"AS {name}" for name in GAP_COLUMNS)
    gaps = "gaps" if "gaps" in columns else "0"
    return (f"SELECT id AS session, started_wall, ended_wall, {picks}, "
            f"(ended_wall IS NOT NULL AND {gaps} = 0) AS clean FROM sessions")


def create(conn: sqlite3.Connection) -> None:
    conn.executescript(TABLES + INDEXES + "".join(
        f"CREATE VIEW IF NOT EXISTS {name} AS {sql};\n" for name, sql in VIEWS.items()))
    migrate(conn)


def migrate(conn: sqlite3.Connection) -> None:
    """Add the columns and views a file written by an older runner lacks (writers only)."""
    have = _columns(conn, "sessions")
    for name, declaration in GAP_COLUMNS.items():
        if name not in have:
            conn.execute(f"ALTER TABLE sessions ADD COLUMN {name} {declaration}")
    conn.execute(f"CREATE VIEW IF NOT EXISTS session_gaps AS {session_gaps_sql(set(GAP_COLUMNS))}")


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def ensure_views(conn: sqlite3.Connection) -> None:
    """Add each view the file lacks as a TEMP view (works on read-only connections too)."""
    have = {name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'view' "
        "UNION SELECT name FROM sqlite_temp_master WHERE type = 'view'")}
    for name, sql in VIEWS.items():
        if name not in have:
            conn.execute(f"CREATE TEMP VIEW {name} AS {sql}")
    if "session_gaps" not in have:
        conn.execute("CREATE TEMP VIEW session_gaps AS "
                     + session_gaps_sql(_columns(conn, "sessions")))
