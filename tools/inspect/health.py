"""`inspect health`: each model service's health history summed up, computed in SQLite.

Definitions (as operators read them; README "Model health"):
- a verdict is a move of the health machine to any state but `undetermined` or `stopped`;
- uptime is the share of time spent `healthy` since the first verdict (time `stopped` aside);
- a flap is a move from `healthy` to a down state (`unhealthy`, or any other state that is
  not healthy, undetermined or stopped, such as `fatal`);
- an unhealthy stretch runs from a move into a down state to the next move out of the down
  states; the mean time to recover (MTTR) is the mean length of the stretches that ended
  `healthy`; the longest unhealthy stretch counts those still open at the end too.
States are read from the recorded moves, never assumed, so new states count as they should.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tools.logs import SessionRef
from transcripts.reader import query, session_key
from transcripts.schema import FAILURE_FILTER, PROBE_FILTER, PROBE_LATENCY

UP, NEUTRAL = "'healthy'", "'undetermined', 'new', 'stopped'"

MODELS_SQL = """
WITH RECURSIVE m(source) AS (
  SELECT min(source) FROM events WHERE session = :key AND source >= 'model:'
                                   AND source < 'model;'
  UNION ALL
  SELECT (SELECT min(source) FROM events WHERE session = :key AND source > m.source
                                           AND source < 'model;')
  FROM m WHERE m.source IS NOT NULL)
SELECT source FROM m WHERE source IS NOT NULL
"""

SUMMARY_SQL = f"""
WITH t AS (SELECT seq, wall, from_state, to_state, held_s FROM health_transitions
           WHERE session_key = :key AND source = :source),
v AS (SELECT * FROM t WHERE seq >= (SELECT min(seq) FROM t
                                     WHERE to_state NOT IN ({NEUTRAL}))),
g AS (SELECT *, to_state NOT IN ({UP}, {NEUTRAL}) AS down,
             SUM(to_state IN ({UP}, {NEUTRAL})) OVER (ORDER BY seq) AS grp FROM v),
stretch AS (SELECT grp, sum(held_s) AS length_s,
                   (SELECT n.to_state FROM g n WHERE n.grp = g.grp + 1
                    ORDER BY n.seq LIMIT 1) AS ended_in
            FROM g WHERE down GROUP BY grp)
SELECT (SELECT min(wall) FROM v) AS first_verdict,
       (SELECT max(CASE WHEN to_state = 'stopped' THEN wall ELSE wall + held_s END)
        FROM t) AS until,
       (SELECT round(100.0 * total(CASE WHEN to_state = {UP} THEN held_s END)
               / nullif(total(CASE WHEN to_state <> 'stopped' THEN held_s END), 0), 3)
        FROM v) AS uptime_pct,
       (SELECT count(*) FROM t WHERE from_state = {UP}
                                 AND to_state NOT IN ({UP}, {NEUTRAL})) AS flaps,
       (SELECT round(avg(length_s), 3) FROM stretch WHERE ended_in = {UP}) AS mttr_s,
       (SELECT round(max(length_s), 3) FROM stretch) AS longest_unhealthy_s,
       (SELECT count(*) FROM stretch WHERE ended_in = {UP}) AS recoveries
"""

STATES_SQL = """
SELECT to_state AS state, round(total(held_s), 3) AS seconds, count(*) AS entered
FROM health_transitions WHERE session_key = :key AND source = :source
GROUP BY to_state ORDER BY min(seq)
"""

TRANSITIONS_SQL = """
SELECT seq, wall, from_state, to_state, trigger, reason, round(held_s, 3) AS held_s
FROM health_transitions WHERE session_key = :key AND source = :source ORDER BY seq
"""

PROBE_COUNTS_SQL = f"""
SELECT count(*) AS probes, total(name = 'ProbeFailed') AS failed,
       count({PROBE_LATENCY}) AS timed
FROM events WHERE session = :key AND source = :source AND {PROBE_FILTER}
"""

PERCENTILE_SQL = f"""
SELECT {PROBE_LATENCY} FROM events
WHERE session = :key AND source = :source AND {PROBE_FILTER} AND {PROBE_LATENCY} IS NOT NULL
ORDER BY {PROBE_LATENCY} LIMIT 1 OFFSET :offset
"""

FAILURES_SQL = f"""
SELECT CASE WHEN name = 'ProcessExited' THEN 'process exited'
            WHEN cls IS NOT NULL THEN cls
            WHEN reason LIKE 'timed out%' THEN 'timeout'
            WHEN reason LIKE 'status %' THEN substr(reason, 1, instr(reason || ',', ',') - 1)
            WHEN instr(reason, ':') > 0 THEN substr(reason, 1, instr(reason, ':') - 1)
            ELSE coalesce(reason, 'unknown') END AS class,
       count(*) AS count, max(wall) AS last
FROM (SELECT name, wall,
             CASE WHEN json_valid(data) THEN json_extract(data, '$.class') END AS cls,
             CASE WHEN json_valid(data) THEN json_extract(data, '$.reason') END AS reason
      FROM events e WHERE session = :key AND source = :source AND {FAILURE_FILTER}
        -- a process that exits after the model was stopped did what it was told
        AND (name <> 'ProcessExited' OR coalesce(
              (SELECT t.to_state FROM events t WHERE t.session = e.session
                 AND t.source = e.source AND t.kind = 'transition' AND t.seq < e.seq
               ORDER BY t.seq DESC LIMIT 1), '') <> 'stopped'))
GROUP BY class ORDER BY count DESC, class
"""

LAST_PROBES_SQL = f"""
SELECT seq, wall, CASE name WHEN 'ProbeSucceeded' THEN 'ok' ELSE 'failed' END AS result,
       CASE WHEN json_valid(data) THEN json_extract(data, '$.status') END AS status,
       {PROBE_LATENCY} AS latency_ms,
       CASE WHEN json_valid(data) THEN json_extract(data, '$.reason') END AS reason
FROM events WHERE session = :key AND source = :source AND {PROBE_FILTER}
ORDER BY seq DESC LIMIT :limit
"""


def models(ref: SessionRef) -> list[str]:
    """The model services (their `model:` sources) that a session recorded."""
    key = session_key(ref.log.conn, ref.id)
    return [r["source"] for r in query(ref.log.conn, MODELS_SQL, {"key": key})]


def summary(ref: SessionRef, source: str, last_probes: int | None) -> dict[str, Any]:
    """Everything `health` says about one model in one session (`last_probes` None: all)."""
    conn = ref.log.conn
    params: dict[str, Any] = {"key": session_key(conn, ref.id), "source": source}
    head = query(conn, SUMMARY_SQL, params)[0]
    counts = query(conn, PROBE_COUNTS_SQL, params)[0]
    probes = query(conn, LAST_PROBES_SQL, params | {"limit": last_probes or -1})
    return {
        "model": source.split(":", 1)[1], "session": ref.id, "log": ref.label,
        "first_verdict": head["first_verdict"], "until": head["until"],
        "uptime_pct": head["uptime_pct"], "flaps": head["flaps"], "mttr_s": head["mttr_s"],
        "longest_unhealthy_s": head["longest_unhealthy_s"], "recoveries": head["recoveries"],
        "time_in_state_s": {r["state"]: r["seconds"] for r in query(conn, STATES_SQL, params)},
        "probes": {"count": counts["probes"], "failed": int(counts["failed"])},
        "probe_latency_ms": {p: _percentile(conn, params, counts["timed"], q)
                             for p, q in (("p50", 0.50), ("p99", 0.99))},
        "failures_by_class": query(conn, FAILURES_SQL, params),
        "transitions": query(conn, TRANSITIONS_SQL, params),
        "last_probes": probes[::-1],
    }


def _percentile(conn: Any, params: dict[str, Any], n: int, q: float) -> float | None:
    """Nearest rank, walked in the latency index: the value at rank ceil(q * n)."""
    if not n:
        return None
    rank = max(1, -(-int(q * n * 1000) // 1000))
    row = conn.execute(PERCENTILE_SQL, params | {"offset": rank - 1}).fetchone()
    return None if row is None else row[0]


def summaries(refs: Sequence[SessionRef], model: str | None,
              last_probes: int | None) -> list[dict[str, Any]]:
    """One summary per model per session; LookupError names the models there are."""
    found, seen = [], set()
    for ref in refs:
        for source in models(ref):
            seen.add(source.split(":", 1)[1])
            if model is None or source == f"model:{model}":
                found.append(summary(ref, source, last_probes))
    if model is not None and not found:
        known = ", ".join(sorted(seen)) or "none"
        raise LookupError(f"no model service {model!r} recorded; models recorded: {known}")
    return found
