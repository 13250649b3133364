"""The session on one time axis: the kernel's states, each service (its restarts counted),
the runs (op, duration, exit code in each one's tooltip), each model's health, and the gaps
and pruned spans across all of them. Drawn with the health picture's `Drawing`, so a
million events still make at most one rectangle per pixel column a lane. Pure: it draws
what it is given and reads nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tools.inspect.drawing import Drawing, Rect, Text
from tools.inspect.picture import COLOURS as HEALTH
from tools.inspect.picture import axis
from tools.inspect.render import iso
from tools.report.collect import Collected
from tools.report.runs import Index

WIDTH, LEFT, RIGHT, TOP, BAND, STEP = 1100, 170, 30, 40, 22, 34
STATE_COLOURS = {
    **{s: "#2e9d4f" for s in ("ready", "running", "healthy", "finished")},
    **{s: "#2f6db3" for s in ("executing", "cleaning", "building", "waiting_input")},
    **{s: "#b8b8b8" for s in ("new", "starting", "queued", "undetermined")},
    **{s: "#d64541" for s in ("failed", "fatal", "unhealthy")},
    **{s: "#e08e0b" for s in ("backoff", "restarting", "interrupted")},
    **{s: "#5f6b73" for s in ("stopping", "stopped", "exited")},
}
OTHER, GAP, PRUNED = "#9b59b6", "#c0392b", "#d5d8dc"
WORST = {"#d64541": 5, "#e08e0b": 4, "#2f6db3": 3, "#b8b8b8": 2, "#5f6b73": 1}
Span = tuple[float, float, str, str]  # start, end, colour, tooltip


def draw(c: Collected, pruned: Sequence[tuple[float, int]], utc: bool) -> Drawing | None:
    """The timeline, or None for a session with nothing recorded."""
    if c.first is None or c.last is None:
        return None
    t0, t1 = c.first, max(c.last, c.first + 1)
    lanes = _lanes(c, t1)
    d = Drawing(WIDTH, TOP + STEP * len(lanes) + 80)
    x = lambda t: LEFT + (t - t0) / (t1 - t0) * (WIDTH - LEFT - RIGHT)  # noqa: E731
    first, last = iso(t0, utc) or "", iso(t1, utc) or ""
    d.add(Text(LEFT, 22, f"session, {first[:19]} to {last[:19]} (UTC{first[-6:]})", 15,
               bold=True))
    for i, (label, note, spans) in enumerate(lanes):
        top = TOP + i * STEP
        d.add(Text(LEFT - 8, top + 14, label[:24], 12, anchor="end", bold=True))
        if note:
            d.add(Text(LEFT - 8, top + 26, note, 9, "#666", "end"))
        for left, right, colour, title in columns(spans, x):
            d.add(Rect(left, top, right - left, BAND, colour, title))
    bottom = TOP + STEP * len(lanes)
    for before, count in pruned:
        d.add(Rect(LEFT, TOP - 4, max(x(before) - LEFT, 1.0), bottom - TOP, PRUNED,
                   f"pruned: {count} events recorded before {iso(before, utc)}"))
    for wall, text in c.gaps:
        d.add(Rect(x(wall) - 1, TOP - 4, 3, bottom - TOP, GAP, f"gap in the log: {text}"))
    axis(d, t0, t1, x, bottom + 10, utc)
    return d


def _lanes(c: Collected, t1: float) -> list[tuple[str, str, list[Span]]]:
    lanes = []
    ordered = sorted(c.lanes, key=lambda s: (s != "kernel", not s.startswith("service:"),
                                             s))
    for source in ordered:
        moves = c.lanes[source]
        if source.startswith("model:"):
            continue  # after the runs, as in the health picture
        note = ""
        if source.startswith("service:"):
            starts = sum(1 for m in moves if m[1] == "starting")
            note = f"{max(starts - 1, 0)} restart" + ("" if starts == 2 else "s")
        lanes.append((source, note, _states(source, moves, t1, STATE_COLOURS)))
    if c.runs:
        failed = sum(1 for r in c.runs if r[5] != "finished")
        lanes.append(("runs", f"{len(c.runs)} runs, {failed} not finished",
                      [_run_span(r, t1) for r in c.runs]))
    for source in ordered:
        if source.startswith("model:"):
            downs = sum(1 for m in c.lanes[source] if m[1] == "unhealthy")
            lanes.append((source, f"{downs} time(s) unhealthy",
                          _states(source, c.lanes[source], t1, HEALTH)))
    return lanes


def _states(source: str, moves: list[tuple[float, str, str, str | None]], t1: float,
            colours: dict[str, str]) -> list[Span]:
    spans = []
    for i, (wall, state, trigger, reason) in enumerate(moves):
        end = moves[i + 1][0] if i + 1 < len(moves) else t1
        why = f" ({reason})" if reason else ""
        spans.append((wall, end, colours.get(state, OTHER),
                      f"{source} {state} for {end - wall:.1f} s, after {trigger}{why}"))
    return spans


def _run_span(r: Index, t1: float) -> Span:
    source, op, start, end, exit_code, state = r[:6]
    length = "still running" if end is None else f"{end - start:.3f} s"
    title = f"{source} {op or '?'}, {length}, exit code {exit_code}, {state}"
    return (start, end if end is not None else t1, STATE_COLOURS.get(state or "", OTHER),
            title)


def columns(spans: Iterable[Span], x: Callable[[float], float]) -> list[Span]:
    """Rectangles (left, right, colour, tooltip): a span at least a pixel wide is its own;
    spans that share a pixel column become one, in the colour that matters most (a
    failure), so the drawing stays small whatever the number of spans."""
    out: list[Span] = []
    column: list[Any] = []  # [pixel, colour, count, tooltip]
    for start, end, colour, title in spans:
        left, right = x(start), x(end)
        if right - left >= 1.0:
            out.append((left, right, colour, title))
            continue
        pixel = float(int(left))
        if column and column[0] == pixel:
            column[2] += 1
            if WORST.get(colour, 0) > WORST.get(column[1], 0):
                column[1], column[3] = colour, title
            continue
        if column:
            out.append(_column(column))
        column = [pixel, colour, 1, title]
    if column:
        out.append(_column(column))
    return out


def _column(column: list[Any]) -> Span:
    pixel, colour, count, title = column
    said = title if count == 1 else f"{count} here; the one that matters most: {title}"
    return (pixel, pixel + 1.0, colour, said)
