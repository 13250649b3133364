"""`inspect events`: a session's events, filtered by time and stream, paged, or followed live."""

from __future__ import annotations

import heapq
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tools.inspect import render
from tools.logs import SessionRef, all_sessions
from transcripts.reader import LogFile, decode, session_key

SELECT = ("SELECT seq, wall, source, kind, name, from_state, to_state, data FROM events "
          "WHERE session = ? AND (? IS NULL OR source = ?) AND (? IS NULL OR kind = ?) "
          "AND wall >= ? AND wall < ?")
AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str | None, utc: bool, now: float | None = None) -> float | None:
    """"10m", "2h", "1d" ago; an ISO 8601 date and time, or a time of day today (local
    unless it has a zone or `utc`); or seconds since the epoch."""
    if text is None:
        return None
    text = text.strip()
    ago = AGO.match(text)
    if ago:
        return (time.time() if now is None else now) - float(ago[1]) * UNITS[ago[2]]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?", text):  # a time of day: today
            text = f"{datetime.now(UTC if utc else None).date().isoformat()}T{text}"
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"cannot read the time {text!r}: give an ISO 8601 time such as "
                         "2026-11-30T09:00, or an age such as 10m, 2h, 1d") from None
    if moment.tzinfo is None and utc:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()  # a naive time is local


@dataclass(slots=True)
class Filter:
    source: str | None
    kind: str | None
    since: float | None
    until: float | None

    def args(self, key: int) -> tuple[Any, ...]:
        return (key, self.source, self.source, self.kind, self.kind,
                self.since if self.since is not None else float("-inf"),
                self.until if self.until is not None else float("inf"))


@dataclass(slots=True)
class Shown:
    """How to show rows: which columns, cut at what width, times in which zone."""

    labelled: bool  # several sessions or logs: say which each row is from
    width: int | None
    utc: bool
    raw: bool = False  # payloads as written, control characters and all (tables only)


def rows(ref: SessionRef, f: Filter, *, after: int = 0) -> Iterator[tuple[Any, ...]]:
    conn = ref.log.conn
    sql = SELECT + " AND seq > ? ORDER BY seq"
    for row in conn.execute(sql, (*f.args(session_key(conn, ref.id)), after)):
        yield (row[1], row[0], ref, *row[2:])  # wall first, for merging sessions by time


def count(ref: SessionRef, f: Filter) -> int:
    sql = "SELECT count(*) FROM (" + SELECT + ")"
    return int(ref.log.conn.execute(sql, f.args(session_key(ref.log.conn, ref.id))
                                    ).fetchone()[0])


def shape(row: tuple[Any, ...], shown: Shown, for_json: bool) -> dict[str, Any]:
    wall, seq, ref, source, kind, name, frm, to, data = row
    out: dict[str, Any] = {"seq": seq, "time": render.iso(wall, shown.utc)}
    if shown.labelled:
        out |= {"log": ref.label, "session": ref.id if for_json else ref.id[:8]}
    out |= {"source": source, "kind": kind, "name": name}
    value = decode(data)
    if for_json:
        return out | {"from_state": frm, "to_state": to, "data": render.portable(value)}
    move = f"{frm} -> {to}" if to is not None else (frm or "")
    return out | {"move": move or None, "data": render.payload_text(value)}


def show(refs: Sequence[SessionRef], f: Filter, limit: int, fmt: str, shown: Shown) -> int:
    """Print the events (the first `limit`, 0: all); say how many more were left out."""
    merged = heapq.merge(*(rows(r, f) for r in refs), key=lambda row: (row[0], row[1]))
    picked = []
    for row in merged:
        if limit and len(picked) == limit:
            break
        picked.append(row)
    _print(picked, fmt, shown, header=True)
    if limit and len(picked) == limit:
        more = sum(count(r, f) for r in refs) - limit
        if more > 0:
            print(f"... {more} more events not shown (-n N shows N, -n 0 all; --since to "
                  "start later)", file=sys.stderr)
    return len(picked)


def follow(logs: Sequence[LogFile], only: SessionRef | None, f: Filter, fmt: str,
           shown: Shown, poll: float = 0.2) -> None:
    """Print events as live runners write them, until interrupted: those of `only`, else of
    every session of the logs (a runner started later included)."""
    last = {r.id: _last_seq(r) for r in ([only] if only else all_sessions(logs))}
    while True:
        time.sleep(poll)
        for ref in [only] if only else all_sessions(logs):
            batch = list(rows(ref, f, after=last.get(ref.id, 0)))
            if batch:
                last[ref.id] = batch[-1][1]
                _print(batch, fmt, shown, header=False)


def _last_seq(ref: SessionRef) -> int:
    row = ref.log.conn.execute("SELECT max(seq) FROM events WHERE session = ?",
                               (session_key(ref.log.conn, ref.id),)).fetchone()
    return int(row[0] or 0)


def _print(picked: list[tuple[Any, ...]], fmt: str, shown: Shown, header: bool) -> None:
    if fmt == "jsonl":
        render.json_lines((shape(r, shown, True) for r in picked), sys.stdout.write)
    elif fmt == "json":
        print(render.to_json([shape(r, shown, True) for r in picked]))
    elif picked:
        text = render.table([shape(r, shown, False) for r in picked], shown.width, shown.raw)
        print(text if header else text.split("\n", 1)[1])
    elif header:
        print("(no events match)", file=sys.stderr)
    sys.stdout.flush()
