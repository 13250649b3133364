"""The one pass over a session's events that a report needs.

Events stream out of SQLite in seq order and straight into numbered pages (each page
compressed as it fills, so a million events never sit in memory at once): every event with
its payload cut to a line, every transition with its reason, each run's details. What the
timeline needs (each non-run machine's moves, each run's span, the gaps) is kept, small.
Read-only: it must never write to the log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from tools.logs import SessionRef
from tools.report.runs import Index, Runs
from tools.report.source import Origin
from transcripts.completeness import GAP_EVENT
from transcripts.reader import session_key

PAGE = 2000  # events or transitions a page
RUN_PAGE = 200  # runs' details a page
ROW_TEXT = 200  # characters of a payload shown on an events row

EVENTS_SQL = """
SELECT seq, wall, source, kind, name, from_state, to_state, data
FROM events WHERE session = ? ORDER BY seq
"""

Write = Callable[[str, int, bytes], None]  # page name, number, its JSON


class Pages:
    """Items written as numbered pages as they come, each page's items counted by group (so
    a filtered view finds its n-th item without opening every page)."""

    def __init__(self, name: str, size: int, write: Write) -> None:
        self.name, self.size, self.write = name, size, write
        self.items: list[Any] = []
        self.groups: Counter[str] = Counter()
        self.counts: list[dict[str, int]] = []
        self.total = 0

    def add(self, item: Any, group: str = "") -> tuple[int, int]:
        """Add an item; its page and position there."""
        at = (len(self.counts), len(self.items))
        self.items.append(item)
        self.groups[group] += 1
        self.total += 1
        if len(self.items) >= self.size:
            self.flush()
        return at

    def flush(self) -> None:
        if self.items:
            self.write(self.name, len(self.counts), orjson.dumps(self.items))
            self.counts.append(dict(self.groups))
            self.items, self.groups = [], Counter()

    def index(self) -> dict[str, Any]:
        self.flush()
        return {"pages": len(self.counts), "size": self.size, "total": self.total,
                "counts": self.counts}


@dataclass(slots=True)
class Collected:
    """What the pass kept: the lanes of the timeline, the runs' index, the pages' indexes."""

    first: float | None = None
    last: float | None = None
    lanes: dict[str, list[tuple[float, str, str, str | None]]] = field(default_factory=dict)
    gaps: list[tuple[float, str]] = field(default_factory=list)
    runs: list[Index] = field(default_factory=list)
    pages: dict[str, Any] = field(default_factory=dict)
    kinds: Counter[str] = field(default_factory=Counter)


def group_of(source: str) -> str:
    """The filter a source is found under: every run under `run`, others by themselves."""
    return "run" if source.startswith("run:") else source


def collect(ref: SessionRef, origin: Origin, write: Write,
            tick: Callable[[int], None]) -> Collected:
    conn = ref.log.conn
    events, moves = Pages("e", PAGE, write), Pages("t", PAGE, write)
    details = Pages("r", RUN_PAGE, write)
    runs = Runs(details.add)
    out = Collected()
    n = 0
    cursor = conn.execute(EVENTS_SQL, (session_key(conn, ref.id),))
    for seq, wall, source, kind, name, frm, to, data in cursor:
        seq = origin.seq(seq)
        text = _text(data)
        group = group_of(source)
        events.add([seq, wall, source, kind, name, frm, to, _line(text)], group)
        out.kinds[kind] += 1
        parsed = _parsed(data) if kind == "transition" else None
        if kind == "transition":
            reason = parsed.get("reason") if parsed else None
            moves.add([seq, wall, source, name, frm, to, _str(reason)], group)
            if group != "run":
                out.lanes.setdefault(source, []).append((wall, to or "", name, _str(reason)))
        elif kind == "observation" and name == GAP_EVENT:
            out.gaps.append((wall, text))
        if group == "run":
            runs.event(seq, wall, source, kind, name, to, text, parsed)
        if out.first is None:
            out.first = wall
        out.last = wall
        n += 1
        if n == 4096:
            tick(n)
            n = 0
    tick(n)
    out.runs = runs.finish()
    out.pages = {"events": events.index(), "transitions": moves.index(),
                 "runs": details.index()}
    return out


def _text(data: Any) -> str:
    """A payload as text: bytes as UTF-8 (other bytes replaced), JSON as written."""
    if data is None:
        return ""
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:  # a binary frame: said so, its first bytes in hex
            return f"(binary, {len(data)} bytes) {data[:64].hex(' ')}"
    return str(data)


def _line(text: str) -> str:
    return text if len(text) <= ROW_TEXT else text[:ROW_TEXT - 1] + "…"


def _parsed(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, str) or not data.startswith("{"):
        return None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
