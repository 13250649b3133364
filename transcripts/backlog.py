"""The rows the log writer could not write yet, bounded, and the gap records it leaves.

A row is exactly what the writer's INSERT takes (session key first, data encoded). While the
log cannot be written (a full disk) rows wait here; past `max_bytes` or `max_events` the oldest
are shed, cheapest first, down to half the bound: output bodies become a marker with their
size, then whole output and log rows go, and only then lifecycle rows (inputs, transitions,
observations, rejections). Whatever is shed leaves one `LogGap` row in its place saying how
many events and bytes went, from when to when. It must never touch SQLite or read a clock
(the writer passes the times in).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from transcripts import fastjson
from transcripts.events import KERNEL, LOG, OBSERVATION, OUTPUT
from transcripts.reader import UNRECORDED

LOG_GAP = "LogGap"  # an observation: events (or their data) that the log does not hold
LOG_WRITER_FAILED = "LogWriterFailed"  # an observation: the writer hit an unexpected error

# session key, wall, mono, source, kind, name, from_state, to_state, data (encoded)
Row = tuple[int, float, float, str, str, str, str | None, str | None, object]

ROW_OVERHEAD = 200  # bytes a row takes in memory besides its data (tuple, floats, strings)
KEPT_BODY = 256  # bodies up to this size are kept when bodies are shed
DEFAULT_MAX_BYTES = 32 << 20
DEFAULT_MAX_EVENTS = 50_000


def row_size(row: Row) -> int:
    data = row[8]
    return ROW_OVERHEAD + (len(data) if isinstance(data, (str, bytes, bytearray)) else 0)


def is_gap(row: Row) -> bool:
    return row[5] == LOG_GAP and row[4] == OBSERVATION and row[3] == KERNEL


def gap_data(reason: str, lost_events: int = 0, lost_bytes: int = 0,
             from_wall: float | None = None, to_wall: float | None = None,
             **more: object) -> dict[str, object]:
    """The data of a `LogGap` event (one shape, whoever records the gap)."""
    return {"reason": reason, "lost_events": lost_events, "lost_bytes": lost_bytes,
            "from_wall": from_wall, "to_wall": to_wall, **more}


@dataclass(slots=True)
class Shed:
    """What one shedding took: events gone entirely, bodies replaced by a marker."""

    events: int = 0
    bodies: int = 0
    bytes: int = 0
    first: float | None = None
    last: float | None = None
    at: int | None = None  # index of the first row touched (where the gap row goes)

    def took(self, index: int, row: Row, nbytes: int) -> None:
        self.bytes += nbytes
        self.first = row[1] if self.first is None else min(self.first, row[1])
        self.last = row[1] if self.last is None else max(self.last, row[1])
        self.at = index if self.at is None else min(self.at, index)


@dataclass(slots=True)
class Backlog:
    """Rows waiting to be written, oldest first, with their size known once it matters."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_events: int = DEFAULT_MAX_EVENTS
    rows: list[Row] = field(default_factory=list)
    size: int | None = None  # None: not counted (the common case: all written at once)

    def add(self, rows: list[Row]) -> None:
        if self.size is not None:
            self.size += sum(map(row_size, rows))
        if self.rows:
            self.rows.extend(rows)
        else:  # the common case: nothing waited, take the list as it is
            self.rows = rows

    def count(self) -> int:
        """Start counting the size (the writer fell behind)."""
        if self.size is None:
            self.size = sum(map(row_size, self.rows))
        return self.size

    def written(self, n: int) -> list[Row]:
        """Drop the first `n` rows (committed); them."""
        if n >= len(self.rows):  # the common case: all of it, no copy
            done, self.rows, self.size = self.rows, [], None
            return done
        done, self.rows = self.rows[:n], self.rows[n:]
        if not self.rows:
            self.size = None
        elif self.size is not None:
            self.size -= sum(map(row_size, done))
        return done

    def over(self) -> bool:
        return len(self.rows) > self.max_events or self.count() > self.max_bytes

    def shed(self, reason: str, key: int, wall: float, mono: float, *,
             outputs_only: bool = False) -> Shed:
        """Bring the backlog to half its bounds (or, `outputs_only`, replace every output
        body by its marker: a disk with little room left takes the lifecycle events first);
        one LogGap row where the shed part began."""
        shed = Shed()
        if outputs_only:
            self._drop_bodies(shed, ((OUTPUT,),), 0)
        else:
            self._drop_bodies(shed, ((OUTPUT,), (LOG,), None), self.max_bytes // 2)
            if self._over_half():
                self._drop_rows(shed)
        if shed.at is not None:
            data = gap_data(reason, shed.events, shed.bytes, shed.first, shed.last,
                            bodies_dropped=shed.bodies)
            gap: Row = (key, wall, mono, KERNEL, OBSERVATION, LOG_GAP, None, None,
                        fastjson.dumps(data))
            self.rows.insert(min(shed.at, len(self.rows)), gap)
        self.size = sum(map(row_size, self.rows))
        return shed

    def _over_half(self) -> bool:
        return (len(self.rows) > self.max_events // 2
                or sum(map(row_size, self.rows)) > self.max_bytes // 2)

    def _drop_bodies(self, shed: Shed, order: tuple[tuple[str, ...] | None, ...],
                     keep_bytes: int) -> None:
        """Bodies of the kinds in `order` (None: any kind), kind by kind, oldest first,
        until the backlog takes `keep_bytes` at most."""
        size = self.count()
        for kinds in order:
            for i, row in enumerate(self.rows):
                if size <= keep_bytes:
                    return
                data = row[8]
                if ((kinds is None or row[4] in kinds) and not is_gap(row)
                        and isinstance(data, (str, bytes, bytearray)) and len(data) > KEPT_BODY):
                    marker = fastjson.dumps({UNRECORDED: "dropped: the log could not be "
                                             "written", "bytes": len(data)})
                    self.rows[i] = (*row[:8], marker)
                    size -= len(data) - len(marker)
                    shed.bodies += 1
                    shed.took(i, row, len(data))

    def _drop_rows(self, shed: Shed) -> None:
        """Whole rows, oldest first: outputs, then log lines, then lifecycle events."""
        gone: set[int] = set()
        keep_events, keep_bytes = self.max_events // 2, self.max_bytes // 2
        events, size = len(self.rows), sum(map(row_size, self.rows))
        for kinds in ((OUTPUT,), (LOG,), None):
            for i, row in enumerate(self.rows):
                if events <= keep_events and size <= keep_bytes:
                    break
                if i in gone or is_gap(row) or (kinds is not None and row[4] not in kinds):
                    continue
                gone.add(i)
                events -= 1
                size -= row_size(row)
                shed.events += 1
                shed.took(i, row, row_size(row) - ROW_OVERHEAD)
        self.rows = [r for i, r in enumerate(self.rows) if i not in gone]
        if shed.at is not None:  # the index where the gap began, in the shortened list
            shed.at -= sum(1 for i in gone if i < shed.at)


def escaped(row: Row) -> Row:
    """The row with text SQLite cannot hold (lone surrogates) escaped as \\uXXXX and
    clocks that are not finite numbers made 0.0."""
    key, wall, mono, *texts, data = row
    clocks = [c if isinstance(c, float) and math.isfinite(c) else 0.0 for c in (wall, mono)]
    fixed = [t.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(t, str)
             else t for t in texts]
    return (key, *clocks, *fixed, data)  # type: ignore[return-value]


def lost_in(rows: Iterable[Row]) -> tuple[int, int, float | None, float | None]:
    """Events, bytes and the wall-time span of rows that will never be written (gap rows
    count the events they stood for)."""
    events = size = 0
    first = last = None
    for row in rows:
        if is_gap(row):
            events += int(_gap_field(row, "lost_events"))
        else:
            events += 1
            size += row_size(row) - ROW_OVERHEAD
        first = row[1] if first is None else min(first, row[1])
        last = row[1] if last is None else max(last, row[1])
    return events, size, first, last


def _gap_field(row: Row, name: str) -> object:
    try:
        value = fastjson.loads(row[8]).get(name)  # type: ignore[arg-type]
    except (ValueError, TypeError, AttributeError):
        return 0
    return value if isinstance(value, (int, str)) else 0


def gap_totals(rows: Iterable[Row]) -> tuple[int, int, int, str | None]:
    """The gap rows among `rows`: how many, events and bytes they lost, the last reason."""
    gaps = events = size = 0
    reason: str | None = None
    for row in rows:
        if is_gap(row):
            gaps += 1
            events += int(_gap_field(row, "lost_events") or 0)  # type: ignore[call-overload]
            size += int(_gap_field(row, "lost_bytes") or 0)  # type: ignore[call-overload]
            reason = str(_gap_field(row, "reason") or "") or reason
    return gaps, events, size, reason


__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_EVENTS", "LOG_GAP", "LOG_WRITER_FAILED",
           "Backlog", "Row", "Shed", "escaped", "gap_data", "gap_totals", "is_gap", "lost_in",
           "row_size"]
