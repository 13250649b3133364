"""Offline replay: rebuild every machine from recorded inputs and observations, and check the
transitions it produces against the recorded ones.

Nothing is executed and nothing is written: it reads a log or a transcript and drives fresh
machines through `machines.registry.Machines.consume`, exactly as the runner does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from machines.base import Transitioned, TriggerRejected
from machines.registry import Machines
from transcripts.events import INPUT, OBSERVATION, REJECTED, TRANSITION, Event
from transcripts.reader import Recorded, Row, count, rows

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

    def as_dict(self) -> dict[str, Any]:
        d = self.divergence
        return {"ok": self.ok, "events": self.events, "fed": self.fed, "moves": self.moves,
                "divergence": None if d is None else
                {"seq": d.seq, "expected": d.expected, "got": d.got},
                "timelines": self.timelines}


def _move(t: Transitioned | TriggerRejected) -> Move:
    if isinstance(t, TriggerRejected):
        return (REJECTED, t.source, t.trigger, t.state, None)
    return (TRANSITION, t.source, t.trigger, t.from_state, t.to_state)


def replay(recorded: Iterable[Recorded], *, truncated: bool = False) -> ReplayReport:
    """Replay recorded events (a log's or a transcript's); see `replay_rows`."""
    return replay_rows(((r.seq, e.source, e.kind, e.name, e.data, e.from_state, e.to_state)
                        for r in recorded for e in (r.event,)), truncated=truncated)


def replay_rows(recorded: Iterable[Row], *, truncated: bool = False) -> ReplayReport:
    """Feed inputs and observations, in seq order, to fresh machines; compare their moves.

    `truncated`: the log ends where a crash cut it, so the moves caused by its last recorded
    events may be missing from it; only those (after every recorded move) are forgiven.
    """
    produced: list[Move] = []
    machines = Machines(lambda t: produced.append(_move(t)))
    expected: list[tuple[int, Move]] = []
    count = fed = 0
    for seq, source, kind, name, data, from_state, to_state in recorded:
        count += 1
        if kind in FED:
            fed += 1
            machines.consume(Event(source, kind, name, data))
        elif kind in MOVES:
            expected.append((seq, (kind, source, name, from_state, to_state)))
    divergence = _first_divergence(expected, produced[:len(expected)] if truncated
                                   else produced)
    return ReplayReport(divergence is None, count, fed, len(produced), divergence,
                        _timelines(produced))


def _first_divergence(expected: list[tuple[int, Move]], produced: list[Move]
                      ) -> Divergence | None:
    for i, (seq, move) in enumerate(expected):
        got = produced[i] if i < len(produced) else None
        if got != move:
            return Divergence(seq, move, got)
    if len(produced) > len(expected):
        return Divergence(None, None, produced[len(expected)])
    return None


def _timelines(produced: list[Move]) -> dict[str, list[tuple[str | None, str | None]]]:
    timelines: dict[str, list[tuple[str | None, str | None]]] = {}
    for kind, source, trigger, _from, to in produced:
        if kind == TRANSITION:
            timelines.setdefault(source, []).append((trigger, to))
    return timelines


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


def replay_session(conn: sqlite3.Connection, session: str) -> ReplayReport:
    """Replay one session of a log; a session that never ended (a crash) may be cut short."""
    row = conn.execute("SELECT ended_wall FROM sessions WHERE id = ?", (session,)).fetchone()
    # output and log events neither drive nor check a machine: SQLite skips them unread
    report = replay_rows(rows(conn, session, FED + MOVES, data_of=FED),
                         truncated=row is not None and row[0] is None)
    report.events = count(conn, session)
    return report
