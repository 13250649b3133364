"""Offline replay: rebuild every machine from recorded inputs and observations, and check the
transitions it produces against the recorded ones.

It must never execute or write anything: it reads a log or a transcript and drives fresh
machines through `machines.registry.Machines.consume`, exactly as the runner does.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from machines.base import Transitioned, TriggerRejected
from machines.registry import Machines
from transcripts.completeness import partial_reasons
from transcripts.events import INPUT, OBSERVATION, REJECTED, TRANSITION, Event
from transcripts.reader import Recorded, Row, count, rows
from transcripts.transcript import TranscriptReader, from_portable

Move = tuple[str, str, str, str | None, str | None]  # kind, source, trigger, from, to
FED = (INPUT, OBSERVATION)  # what the machines consume
MOVES = (TRANSITION, REJECTED)  # what they are checked against


@dataclass(slots=True)
class Divergence:
    """The first place where the rebuilt machines disagree with the log."""

    seq: int | None  # the recorded event that was expected (None: the log ran out)
    expected: Move | None
    got: Move | None


@dataclass(slots=True)
class ReplayReport:
    ok: bool
    events: int
    fed: int
    moves: int
    divergence: Divergence | None
    timelines: dict[str, list[tuple[str | None, str | None]]] = field(default_factory=dict)
    partial: list[str] = field(default_factory=list)  # why the log is not the whole session

    def as_dict(self) -> dict[str, Any]:
        d = self.divergence
        return {"ok": self.ok, "events": self.events, "fed": self.fed, "moves": self.moves,
                "divergence": None if d is None else
                {"seq": d.seq, "expected": d.expected, "got": d.got},
                "timelines": self.timelines, "partial": self.partial}


def _move(t: Transitioned | TriggerRejected) -> Move:
    if isinstance(t, TriggerRejected):
        return (REJECTED, t.source, t.trigger, t.state, None)
    return (TRANSITION, t.source, t.trigger, t.from_state, t.to_state)


def replay(recorded: Iterable[Recorded], *, truncated: bool = False) -> ReplayReport:
    """Replay recorded events (a log's or a transcript's); see `replay_rows`."""
    return replay_rows(((r.seq, e.source, e.kind, e.name, e.data, e.from_state, e.to_state)
                        for r in recorded for e in (r.event,)), truncated=truncated)


def replay_rows(recorded: Iterable[Row], *, truncated: bool = False,
                by_library: bool = False) -> ReplayReport:
    """Feed inputs and observations, in seq order, to fresh machines; compare their moves.

    `truncated`: the log ends where a crash cut it, so the moves caused by its last recorded
    events may be missing from it; only those (after every recorded move) are forgiven.
    Moves are paired as they come, so memory holds the lag between the two, not the session.
    `by_library`: the machines dispatch through `transitions` itself, not their compiled
    tables (the reference; `machines.base`).
    """
    run = _Replay(by_library)
    feed, want = run.feed, run.pairs.want
    count = fed = 0
    for seq, source, kind, name, data, from_state, to_state in recorded:
        count += 1
        if kind in FED:
            fed += 1
            feed(source, kind, name, data)
        elif kind in MOVES:
            want(seq, (kind, source, name, from_state, to_state))
    return run.report(count, fed, truncated)


def replay_transcript(reader: TranscriptReader, *, truncated: bool = False,
                      by_library: bool = False) -> ReplayReport:
    """`replay_rows` of a transcript as it is read, each line checked before it is used:
    the lines' parsed values are fed as they come (a million a run: no tuple between)."""
    run = _Replay(by_library)
    feed, want = run.feed, run.pairs.want
    count = fed = 0
    for line in reader.lines(frozenset(FED + MOVES)):
        count += 1
        kind = line["kind"]
        if kind in FED:
            fed += 1
            feed(line["source"], kind, line["name"], from_portable(line["data"]))
        elif kind in MOVES:
            want(line["seq"], (kind, line["source"], line["name"], line["from"], line["to"]))
    report = run.report(count, fed, truncated)
    report.events = reader.events
    return report


class _Replay:
    """Fresh machines whose moves are paired with the recorded ones, and their timelines."""

    def __init__(self, by_library: bool) -> None:
        self.pairs = _Pairs()
        self.timelines: dict[str, list[tuple[str | None, str | None]]] = {}
        got, timelines = self.pairs.got, self.timelines

        def produced(t: Transitioned | TriggerRejected) -> None:
            if type(t) is Transitioned:
                got((TRANSITION, t.source, t.trigger, t.from_state, t.to_state))
                timeline = timelines.get(t.source)
                if timeline is None:
                    timeline = timelines[t.source] = []
                timeline.append((t.trigger, t.to_state))
            else:
                got(_move(t))

        self.feed = Machines(produced, by_library=by_library).feed

    def report(self, count: int, fed: int, truncated: bool) -> ReplayReport:
        divergence = self.pairs.first_divergence(truncated)
        return ReplayReport(divergence is None, count, fed, self.pairs.moves, divergence,
                            self.timelines)


class _Pairs:
    """The i-th recorded move beside the i-th produced one, compared as both arrive."""

    def __init__(self) -> None:
        self.expected: deque[tuple[int, Move]] = deque()
        self.produced: deque[Move] = deque()
        self.divergence: Divergence | None = None
        self.moves = 0

    def want(self, seq: int, move: Move) -> None:
        if self.divergence is not None:
            return
        if self.produced:  # the usual order: the machines moved, then the log says so
            self._compare(seq, move, self.produced.popleft())
        else:
            self.expected.append((seq, move))

    def got(self, move: Move) -> None:
        self.moves += 1
        if self.divergence is not None:
            return
        if self.expected:
            seq, want = self.expected.popleft()
            self._compare(seq, want, move)
        else:
            self.produced.append(move)

    def _compare(self, seq: int, want: Move, got: Move) -> None:
        if got != want:
            self.divergence = Divergence(seq, want, got)
            self.expected.clear()
            self.produced.clear()

    def first_divergence(self, truncated: bool) -> Divergence | None:
        if self.divergence is not None:
            return self.divergence
        if self.expected:
            seq, move = self.expected[0]
            return Divergence(seq, move, None)
        if self.produced and not truncated:
            return Divergence(None, None, self.produced[0])
        return None


def record(log: Any, stream: Iterable[Event]) -> None:
    """Record events the way the runner does: each event, then the machine moves it caused."""

    def sink(t: Transitioned | TriggerRejected) -> None:
        if isinstance(t, TriggerRejected):
            log.append(Event(t.source, REJECTED, t.trigger, t.data, t.state, None))
        else:
            log.append(Event(t.source, TRANSITION, t.trigger, t.data, t.from_state, t.to_state))

    machines = Machines(sink)
    for event in stream:
        log.append(event)
        machines.consume(event)


def replay_session(conn: sqlite3.Connection, session: str,
                   progress: Callable[[int], None] | None = None) -> ReplayReport:
    """Replay one session of a log; a session that never ended (a crash) may be cut short.
    `progress` is told, now and then, how far on (in seq numbers) the replay has come."""
    row = conn.execute("SELECT ended_wall FROM sessions WHERE id = ?", (session,)).fetchone()
    # output and log events neither drive nor check a machine: SQLite skips them unread
    fed = rows(conn, session, FED + MOVES, data_of=FED)
    report = replay_rows(fed if progress is None else _ticked(fed, progress),
                         truncated=row is not None and row[0] is None)
    report.events = count(conn, session)
    report.partial = partial_reasons(conn, session)
    return report


def _ticked(recorded: Iterable[Row], progress: Callable[[int], None],
            every: int = 8192) -> Iterator[Row]:
    """The rows, telling `progress` how far their seq numbers went every `every` rows (the
    events between, outputs, are skipped unread but are done all the same)."""
    said = None
    for n, row in enumerate(recorded, 1):
        yield row
        if not n % every:
            if said is not None:
                progress(row[0] - said)
            said = row[0]
