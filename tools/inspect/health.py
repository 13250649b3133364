"""`inspect health`: each model service's health history summed up, in one pass over its moves.

Definitions (as operators read them; README "Model health"):
- a verdict is a move of the health machine to any state but `undetermined` or `stopped`;
- uptime is the share of time spent `healthy` since the first verdict (time `stopped` aside);
- a flap is a move from `healthy` to a down state (`unhealthy`, or any other state that is
  not healthy, undetermined or stopped, such as `fatal`);
- an unhealthy stretch runs from a move into a down state to the next move out of the down
  states; the mean time to recover (MTTR) is the mean length of the stretches that ended
  `healthy`; the longest unhealthy stretch counts those still open at the end too.
States are read from the recorded moves, never assumed, so new states count as they should.

Linear by construction: SQLite hands over the model's moves once (the `transitions_by_source`
index) and the figures are summed in one walk over them; probes and failures are counted in
their own partial indexes. Nothing searches the moves per move, so a model that flapped
20,000 times costs 20,000 steps, not 20,000 squared. What is printed is bounded: the last
`last_moves` transitions and `last_probes` probes (None: all).
"""

from __future__ import annotations

import bisect
import itertools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tools.logs import SessionRef
from transcripts.reader import session_key
from transcripts.schema import FAILURE_FILTER, PROBE_FILTER, PROBE_LATENCY

UP = "healthy"
NEUTRAL = frozenset({"undetermined", "new", "stopped"})

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

_REASON = ("CASE WHEN typeof(data) = 'text' AND json_valid(data) "
           "THEN json_extract(data, '$.reason') END")

MOVES_SQL = """
SELECT seq, wall, from_state, to_state, name FROM events
WHERE session = :key AND source = :source AND kind = 'transition' ORDER BY seq
"""

REASONS_SQL = f"""
SELECT seq, {_REASON} FROM events
WHERE session = :key AND source = :source AND kind = 'transition'
  AND seq BETWEEN :since AND :until
"""

END_SQL = """
SELECT coalesce((SELECT ended_wall FROM sessions WHERE key = :key),
                (SELECT wall FROM events WHERE session = :key ORDER BY seq DESC LIMIT 1))
"""

PROBE_COUNTS_SQL = f"""
SELECT count(*), count({PROBE_LATENCY}) FROM events
WHERE session = :key AND source = :source AND {PROBE_FILTER}
"""

PERCENTILE_SQL = f"""
SELECT {PROBE_LATENCY} FROM events
WHERE session = :key AND source = :source AND {PROBE_FILTER} AND {PROBE_LATENCY} IS NOT NULL
ORDER BY {PROBE_LATENCY} LIMIT 1 OFFSET :offset
"""

# Failed probes grouped by what they recorded first (few distinct values), then by class.
PROBE_FAILURES_SQL = f"""
SELECT CASE WHEN cls IS NOT NULL THEN cls
            WHEN reason LIKE 'timed out%' THEN 'timeout'
            WHEN reason LIKE 'status %' THEN substr(reason, 1, instr(reason || ',', ',') - 1)
            WHEN instr(reason, ':') > 0 THEN substr(reason, 1, instr(reason, ':') - 1)
            ELSE coalesce(reason, 'unknown') END AS class,
       sum(n) AS count, max(last) AS last
FROM (SELECT cls, reason, count(*) AS n, max(wall) AS last
      FROM (SELECT wall,
                   CASE WHEN json_valid(data) THEN json_extract(data, '$.class') END AS cls,
                   CASE WHEN json_valid(data) THEN json_extract(data, '$.reason') END AS reason
            FROM events WHERE session = :key AND source = :source AND {FAILURE_FILTER}
                          AND name = 'ProbeFailed')
      GROUP BY cls, reason)
GROUP BY class
"""

EXITS_SQL = f"""
SELECT seq, wall FROM events
WHERE session = :key AND source = :source AND {FAILURE_FILTER} AND name = 'ProcessExited'
"""

LAST_PROBES_SQL = f"""
SELECT seq, wall, CASE name WHEN 'ProbeSucceeded' THEN 'ok' ELSE 'failed' END AS result,
       CASE WHEN json_valid(data) THEN json_extract(data, '$.status') END AS status,
       {PROBE_LATENCY} AS latency_ms,
       CASE WHEN json_valid(data) THEN json_extract(data, '$.reason') END AS reason
FROM events WHERE session = :key AND source = :source AND {PROBE_FILTER}
ORDER BY seq DESC LIMIT :limit
"""


@dataclass(slots=True)
class Move:
    """One move of a model's health machine and how long its new state held."""

    seq: int
    wall: float
    from_state: str | None
    to_state: str
    trigger: str
    held_s: float | None


def models(ref: SessionRef) -> list[str]:
    """The model services (their `model:` sources) that a session recorded."""
    key = session_key(ref.log.conn, ref.id)
    return [s for (s,) in ref.log.conn.execute(MODELS_SQL, {"key": key})]


def moves(conn: sqlite3.Connection, key: int, source: str) -> list[Move]:
    """Every move of one model in seq order, each with the time its state held: until the
    next move, else the session's clean end, else its last recorded event."""
    rows = conn.execute(MOVES_SQL, {"key": key, "source": source}).fetchall()
    end = conn.execute(END_SQL, {"key": key}).fetchone()[0] if rows else None
    out = [Move(seq, wall, frm, to, trigger, None) for seq, wall, frm, to, trigger in rows]
    for this, after in itertools.pairwise(out):
        this.held_s = after.wall - this.wall
    if out and end is not None:
        out[-1].held_s = end - out[-1].wall
    return out


def figures(history: Sequence[Move]) -> dict[str, Any]:
    """First verdict, end, uptime, flaps, stretches and time per state, in one walk."""
    first = next((i for i, m in enumerate(history) if m.to_state not in NEUTRAL), None)
    verdicts = history[first:] if first is not None else []
    up = counted = 0.0
    stretches: list[tuple[float, str | None]] = []  # length, the state it ended in
    open_len: float | None = None
    for m in verdicts:
        held = m.held_s or 0.0
        if m.to_state == UP:
            up += held
        if m.to_state != "stopped":
            counted += held
        if m.to_state == UP or m.to_state in NEUTRAL:
            if open_len is not None:
                stretches.append((open_len, m.to_state))
                open_len = None
        else:
            open_len = (open_len or 0.0) + held
    if open_len is not None:
        stretches.append((open_len, None))
    recovered = [length for length, ended in stretches if ended == UP]
    return {
        "first_verdict": verdicts[0].wall if verdicts else None,
        "until": max((m.wall if m.to_state == "stopped" else m.wall + (m.held_s or 0.0)
                      for m in history), default=None),
        "uptime_pct": round(100.0 * up / counted, 3) if counted else None,
        "flaps": sum(1 for m in history if m.from_state == UP and m.to_state != UP
                     and m.to_state not in NEUTRAL),
        "mttr_s": round(sum(recovered) / len(recovered), 3) if recovered else None,
        "longest_unhealthy_s": round(max(s[0] for s in stretches), 3) if stretches else None,
        "recoveries": len(recovered),
        "time_in_state_s": _time_in_state(history),
    }


def _time_in_state(history: Sequence[Move]) -> dict[str, float]:
    seconds: dict[str, float] = {}
    for m in history:
        seconds[m.to_state] = seconds.get(m.to_state, 0.0) + (m.held_s or 0.0)
    return {state: round(total, 3) for state, total in seconds.items()}


def summary(ref: SessionRef, source: str, last_probes: int | None,
            last_moves: int | None = 20) -> dict[str, Any]:
    """Everything `health` says about one model in one session (None: every probe, move)."""
    conn = ref.log.conn
    key = session_key(conn, ref.id)
    params: dict[str, Any] = {"key": key, "source": source}
    history = moves(conn, key, source)
    probes, timed = conn.execute(PROBE_COUNTS_SQL, params).fetchone()
    failures, failed = failures_by_class(conn, params, history)
    last = _rows(conn, LAST_PROBES_SQL, params | {"limit": -1 if last_probes is None
                                                  else last_probes})
    shown = history if last_moves is None else history[len(history) - last_moves:]
    return {
        "model": source.split(":", 1)[1], "session": ref.id, "log": ref.label,
        **figures(history),
        "probes": {"count": probes, "failed": failed},
        "probe_latency_ms": {p: _percentile(conn, params, timed, q)
                             for p, q in (("p50", 0.50), ("p99", 0.99))},
        "failures_by_class": failures,
        "transitions_total": len(history),
        "transitions": with_reasons(conn, params, shown),
        "last_probes": last[::-1],
    }


def failures_by_class(conn: sqlite3.Connection, params: dict[str, Any],
                      history: Sequence[Move]) -> tuple[list[dict[str, Any]], int]:
    """Failed probes by class, and the model's process exits, except the exits that came
    after the model was stopped (the process did what it was told); and the failed probes'
    number."""
    found = _rows(conn, PROBE_FAILURES_SQL, params)
    failed = sum(f["count"] for f in found)
    seqs = [m.seq for m in history]
    exits = [wall for seq, wall in conn.execute(EXITS_SQL, params)
             if (at := bisect.bisect_left(seqs, seq)) == 0
             or history[at - 1].to_state != "stopped"]
    if exits:
        found.append({"class": "process exited", "count": len(exits), "last": max(exits)})
    return sorted(found, key=lambda f: (-f["count"], f["class"])), failed


def with_reasons(conn: sqlite3.Connection, params: dict[str, Any],
                  shown: Sequence[Move]) -> list[dict[str, Any]]:
    """The moves shown, with the reason each recorded (read only for these)."""
    if not shown:
        return []
    reasons = dict(conn.execute(REASONS_SQL, params | {"since": shown[0].seq,
                                                   "until": shown[-1].seq}).fetchall())
    return [{"seq": m.seq, "wall": m.wall, "from_state": m.from_state, "to_state": m.to_state,
             "trigger": m.trigger, "reason": reasons.get(m.seq),
             "held_s": None if m.held_s is None else round(m.held_s, 3)} for m in shown]


def _rows(conn: sqlite3.Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur]


def _percentile(conn: sqlite3.Connection, params: dict[str, Any], n: int,
                q: float) -> float | None:
    """Nearest rank, walked in the latency index: the value at rank ceil(q * n)."""
    if not n:
        return None
    rank = max(1, -(-int(q * n * 1000) // 1000))
    row = conn.execute(PERCENTILE_SQL, params | {"offset": rank - 1}).fetchone()
    return None if row is None else row[0]


def summaries(refs: Sequence[SessionRef], model: str | None, last_probes: int | None,
              last_moves: int | None = 20) -> list[dict[str, Any]]:
    """One summary per model per session; LookupError names the models there are."""
    found, seen = [], set()
    for ref in refs:
        for source in models(ref):
            seen.add(source.split(":", 1)[1])
            if model is None or source == f"model:{model}":
                found.append(summary(ref, source, last_probes, last_moves))
    if model is not None and not found:
        known = ", ".join(sorted(seen)) or "none"
        raise LookupError(f"no model service {model!r} recorded; models recorded: {known}")
    return found
