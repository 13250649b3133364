"""`inspect health --picture FILE`: the models' health over time, as a picture.

A time axis with dates; per model a band coloured by state, the probes' latencies below it
(the highest per pixel column, read from SQLite in buckets, so a million probes draw as fast
as a hundred), failed probes marked in red, and the transitions labelled with their reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.inspect import health
from tools.inspect.drawing import Drawing, Line, Rect, Text
from tools.inspect.render import iso
from tools.logs import SessionRef
from transcripts.reader import session_key
from transcripts.schema import PROBE_FILTER, PROBE_LATENCY

WIDTH, LEFT, RIGHT, TOP = 1100, 170, 30, 56
BAND, PLOT, GAP, LABELS = 26, 70, 34, 3
COLOURS = {"healthy": "#2e9d4f", "unhealthy": "#d64541", "undetermined": "#b8b8b8",
           "stopped": "#5f6b73", "fatal": "#7b2d8b"}
OTHER, FAILED, LATENCY = "#e08e0b", "#c0392b", "#2f6db3"
STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
         43200, 86400, 172800, 604800]
MAX_LABELS = 12

BUCKETS_SQL = f"""
SELECT CAST((wall - :t0) / :step AS INTEGER) AS bucket, max({PROBE_LATENCY}) AS latency,
       total(name = 'ProbeFailed') AS failed
FROM events WHERE session = :key AND source = :source AND {PROBE_FILTER}
GROUP BY bucket
"""


def save(found: Sequence[dict[str, Any]], refs: Sequence[SessionRef], path: Path,
         utc: bool) -> None:
    if not found:
        raise LookupError("no model service recorded: nothing to draw")
    draw(found, refs, utc).save(path)


def _share(t: float, t0: float, t1: float) -> float:
    """Where `t` lies between t0 and t1, 0..1; a forged log's odd times land on the edges."""
    share = (t - t0) / (t1 - t0)
    return min(max(share, 0.0), 1.0) if share == share else 0.0  # nan: the left edge


def draw(found: Sequence[dict[str, Any]], refs: Sequence[SessionRef], utc: bool) -> Drawing:
    by_id = {r.id: r for r in refs}
    histories = [_history(by_id[s["session"]], s) for s in found]
    starts = [h[0].wall for h in histories if h]
    if not starts:
        raise LookupError("no model service moved: nothing to draw")
    t0 = min(starts)
    t1 = max(max(s["until"] or t0 for s in found), t0 + 1)
    if not 0 < t1 - t0 < 1e10:  # inf, nan or centuries: a forged log's times
        raise ValueError(f"the log holds times no runner records ({t0!r} to {t1!r}): "
                         "no picture drawn")
    row_height = BAND + PLOT + GAP + 14 * LABELS
    d = Drawing(WIDTH, TOP + len(found) * row_height + 90)
    x = lambda t: LEFT + _share(t, t0, t1) * (WIDTH - LEFT - RIGHT)  # noqa: E731
    first, last = iso(t0, utc) or "", iso(t1, utc) or ""
    cut = 19 if t1 - t0 < 3600 else 16  # seconds when the span is short
    d.add(Text(LEFT, 22, f"model health, {first[:cut]} to {last[:cut]} (UTC{first[-6:]})", 16,
               bold=True))
    for i, (s, history) in enumerate(zip(found, histories, strict=True)):
        top = TOP + i * row_height + 14 * LABELS
        _model(d, s, by_id[s["session"]], history, x, top, (t0, t1))
    axis(d, t0, t1, x, d.height - 66, utc)
    _legend(d, d.height - 12)
    return d


def _history(ref: SessionRef, s: dict[str, Any]) -> list[health.Move]:
    conn = ref.log.conn
    return health.moves(conn, session_key(conn, ref.id), f"model:{s['model']}")


def _model(d: Drawing, s: dict[str, Any], ref: SessionRef, history: list[health.Move],
           x: Any, top: float, span: tuple[float, float]) -> None:
    d.add(Text(LEFT - 8, top + 12, s["model"], 13, anchor="end", bold=True))
    d.add(Text(LEFT - 8, top + 24, f"session {s['session'][:8]}", 9, "#666", "end"))
    uptime = "-" if s["uptime_pct"] is None else f"{s['uptime_pct']:.1f} % up"
    flaps = f"{s['flaps']} flap" + ("" if s["flaps"] == 1 else "s")
    d.add(Text(LEFT - 8, top + BAND + 34, f"{uptime}, {flaps}", 10, "#666", "end"))
    for left, right, state, title in band(history, x, span[1]):
        d.add(Rect(left, top, right - left, BAND, COLOURS.get(state, OTHER), title))
    conn = ref.log.conn
    params = {"key": session_key(conn, ref.id), "source": f"model:{s['model']}"}
    _labels(d, health.with_reasons(conn, params, history[:MAX_LABELS]), len(history), x, top)
    _probes(d, s, ref, x, top + BAND + 6, span)


def _rank(state: str) -> int:
    """Which state a pixel column shows when several moves share it: a down state first."""
    if state == health.UP:
        return 1
    if state == "undetermined":
        return 2
    return 0 if state in health.NEUTRAL else 3


def band(history: Sequence[health.Move], x: Any, end: float
         ) -> list[tuple[float, float, str, str]]:
    """The band's rectangles (left, right, state, tooltip): a move at least a pixel wide is
    its own; moves that share a pixel column become one column in the state that matters
    most (a down state), so 20,000 flaps draw as at most one rectangle per column."""
    out: list[tuple[float, float, str, str]] = []
    column: list[Any] = []  # [pixel, state, moves]
    for m in history:
        left, right = x(m.wall), x(min(m.wall + (m.held_s or 0.0), end))
        if right - left >= 1.0:
            out.append((left, right, m.to_state, f"{m.to_state} for {m.held_s} s"))
            continue
        pixel = float(int(left))
        if column and column[0] == pixel:
            column[2] += 1
            if _rank(m.to_state) > _rank(column[1]):
                column[1] = m.to_state
            continue
        if column:
            out.append(_column(column))
        column = [pixel, m.to_state, 1]
    if column:
        out.append(_column(column))
    return out


def _column(column: list[Any]) -> tuple[float, float, str, str]:
    pixel, state, count = column
    return (pixel, pixel + 1.0, state, f"{count} moves here, {state} among them")


def _labels(d: Drawing, shown: list[dict[str, Any]], total: int, x: Any, top: float) -> None:
    """Each move a tick and a label above the band, rows staggered so neighbours clear."""
    for j, m in enumerate(shown):
        lane = j % LABELS
        y = top - 4 - 14 * (LABELS - 1 - lane)
        d.add(Line(x(m["wall"]), y + 2, x(m["wall"]), top + BAND, "#333", 0.8))
        reason = f": {m['reason']}" if m["reason"] and m["to_state"] != "healthy" else ""
        text = f"{m['to_state']}{reason}"
        right = x(m["wall"]) > WIDTH - RIGHT - 200  # near the right edge: text to the left
        d.add(Text(x(m["wall"]) + (-3 if right else 3), y, text[:48], 10, "#333",
                   "end" if right else "start"))
    if total > len(shown):
        d.add(Text(WIDTH - RIGHT, top - 4, f"+{total - len(shown)} more moves", 10,
                   "#666", "end"))


def _probes(d: Drawing, s: dict[str, Any], ref: SessionRef, x: Any, top: float,
            span: tuple[float, float]) -> None:
    t0, t1 = span
    step = (t1 - t0) / (WIDTH - LEFT - RIGHT)
    conn = ref.log.conn
    buckets = conn.execute(BUCKETS_SQL, {"t0": t0, "step": step, "source": f"model:{s['model']}",
                                         "key": session_key(conn, ref.id)}).fetchall()
    peak = max((b[1] or 0 for b in buckets), default=0) or 1.0
    d.add(Rect(LEFT, top, WIDTH - LEFT - RIGHT, PLOT, "#f4f6f8"))
    d.add(Text(LEFT - 8, top + 10, f"peak {peak:.0f} ms", 10, "#666", "end"))
    d.add(Text(LEFT - 8, top + PLOT, "probe latency", 10, "#666", "end"))
    for bucket, latency, failed in buckets:
        px = LEFT + bucket + 0.5
        if latency is not None:
            h = max(latency / peak * (PLOT - 12), 1.0)
            d.add(Line(px, top + PLOT, px, top + PLOT - h, LATENCY, 1.0))
        if failed:
            d.add(Line(px - 3, top + 2, px + 3, top + 8, FAILED, 1.6))
            d.add(Line(px - 3, top + 8, px + 3, top + 2, FAILED, 1.6))


def axis(d: Drawing, t0: float, t1: float, x: Any, y: float, utc: bool) -> None:
    d.add(Line(LEFT, y, WIDTH - RIGHT, y, "#333"))
    step = next((s for s in STEPS if (t1 - t0) / s <= 8), STEPS[-1])
    tick = (t0 // step + 1) * step
    last_day = None
    while tick <= t1:
        stamp = iso(tick, utc) or ""
        d.add(Line(x(tick), y, x(tick), y + 5, "#333"))
        d.add(Text(x(tick), y + 17, stamp[11:19] if step < 86400 else stamp[:10], 10,
                   anchor="middle"))
        if stamp[:10] != last_day:
            d.add(Text(x(tick), y + 30, stamp[:10], 10, "#666", "middle"))
            last_day = stamp[:10]
        tick += step


def _legend(d: Drawing, y: float) -> None:
    left = LEFT
    for state, colour in [*COLOURS.items(), ("other state", OTHER)]:
        d.add(Rect(left, y - 9, 12, 10, colour))
        d.add(Text(left + 16, y, state, 10))
        left += 24 + 7 * len(state)
    d.add(Line(left, y - 9, left + 6, y - 1, FAILED, 1.6))
    d.add(Line(left, y - 1, left + 6, y - 9, FAILED, 1.6))
    d.add(Text(left + 12, y, "failed probe", 10))
    d.add(Line(left + 100, y, left + 100, y - 10, LATENCY, 2))
    d.add(Text(left + 106, y, "probe latency (highest per column)", 10))
