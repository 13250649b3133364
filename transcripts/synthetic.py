"""Sessions made up for tests and benchmarks, recorded the way the runner records them: each
event, then the machine moves it caused, every move stamped with its cause's clocks. It must
never read a clock itself: the made-up events carry their own."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from machines.base import Transitioned, TriggerRejected
from machines.registry import Machines
from transcripts.events import REJECTED, TRANSITION, Event


class Appender(Protocol):
    def append(self, event: Event) -> None: ...


def record_timed(log: Appender, stream: Iterable[Event]) -> Iterable[Event]:
    """Append each event of `stream` and the moves it causes; yields each event once it is
    recorded, so a caller can stop whenever it likes."""
    current: list[Event] = []

    def sink(t: Transitioned | TriggerRejected) -> None:
        e = current[0]
        if isinstance(t, TriggerRejected):
            log.append(Event(t.source, REJECTED, t.trigger, t.data, t.state, None, e.wall,
                             e.mono))
        else:
            log.append(Event(t.source, TRANSITION, t.trigger, t.data, t.from_state,
                             t.to_state, e.wall, e.mono))

    machines = Machines(sink)
    for event in stream:
        current[:] = [event]
        log.append(event)
        machines.consume(event)
        yield event
