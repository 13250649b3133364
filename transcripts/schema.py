"""The log's tables, indexes and views (one schema, in one place)."""

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
    ended_wall REAL
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
"""

# Each machine's states over time; seconds_in_state is how long it stayed in `to_state`.
VIEWS = """
CREATE VIEW IF NOT EXISTS machine_timeline AS
SELECT s.id AS session, source, seq, wall, name AS trigger, from_state, to_state,
       LEAD(mono) OVER (PARTITION BY e.session, source ORDER BY seq) - mono AS seconds_in_state
FROM events e JOIN sessions s ON s.key = e.session WHERE kind = 'transition';

CREATE VIEW IF NOT EXISTS model_health AS
SELECT s.id AS session, substr(source, 7) AS model, seq, wall, kind, name, from_state, to_state,
       CASE WHEN typeof(data) = 'text' AND json_valid(data)
            THEN json_extract(data, '$.reason') END AS reason,
       CASE WHEN typeof(data) = 'text' AND json_valid(data)
            THEN json_extract(data, '$.status') END AS status,
       CASE WHEN typeof(data) = 'text' AND json_valid(data)
            THEN json_extract(data, '$.latency_ms') END AS latency_ms
FROM events e JOIN sessions s ON s.key = e.session
WHERE source LIKE 'model:%'
  AND (kind IN ('transition', 'rejected')
       OR name IN ('ProbeSucceeded', 'ProbeFailed', 'ProcessExited', 'ModelConfigured'));

CREATE VIEW IF NOT EXISTS rejected_triggers AS
SELECT s.id AS session, source, seq, wall, name AS trigger, from_state AS state, data
FROM events e JOIN sessions s ON s.key = e.session WHERE kind = 'rejected';
"""


def create(conn: sqlite3.Connection) -> None:
    conn.executescript(TABLES + VIEWS)
