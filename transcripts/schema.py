"""The log's tables, indexes and views (one schema, in one place).

The writer creates all of it in the file. Readers must never change a log: they open it
read-only (perhaps written by an older runner, perhaps on read-only media), so
`ensure_views` adds any view the file lacks as a TEMP view of the reader's own connection:
the tools can always rely on every view below.
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


def create(conn: sqlite3.Connection) -> None:
    conn.executescript(TABLES + INDEXES + "".join(
        f"CREATE VIEW IF NOT EXISTS {name} AS {sql};\n" for name, sql in VIEWS.items()))


def ensure_views(conn: sqlite3.Connection) -> None:
    """Add each view the file lacks as a TEMP view (works on read-only connections too)."""
    have = {name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'view' "
        "UNION SELECT name FROM sqlite_temp_master WHERE type = 'view'")}
    for name, sql in VIEWS.items():
        if name not in have:
            conn.execute(f"CREATE TEMP VIEW {name} AS {sql}")
