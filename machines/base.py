"""What every machine shares: one sink for every move, rejection instead of exceptions.

`Lifecycle` builds a `transitions` machine from a subclass's STATES and TRANSITIONS tables;
`fire` is the one way a machine moves. Pure: it must not do I/O, use asyncio or read a
clock; the machines import nothing of the project outside `machines`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from transitions import Machine, MachineError

NEW = "new"  # every machine starts here; its creating event moves it into the table proper


@dataclass(frozen=True, slots=True)
class Transitioned:
    """A machine moved from one state to another."""

    source: str
    trigger: str
    from_state: str
    to_state: str
    data: Any = None


@dataclass(frozen=True, slots=True)
class TriggerRejected:
    """A trigger that is not valid in the machine's current state."""

    source: str
    trigger: str
    state: str
    data: Any = None


Sink = Callable[[Transitioned | TriggerRejected], None]


class Lifecycle:
    """Base of every machine model: declare STATES and TRANSITIONS, then `fire` triggers.

    A trigger whose conditions do not hold (a probe below its threshold) changes nothing and
    reports nothing; a trigger with no transition from the current state is reported as
    rejected. Counters are updated by `note` before the trigger, so conditions stay pure.
    """

    STATES: ClassVar[list[str]]
    TRANSITIONS: ClassVar[list[dict[str, Any]]]
    state: str

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls._no_ops = _no_op_pairs(cls.STATES, cls.TRANSITIONS)

    def __init__(self, source: str, sink: Sink) -> None:
        self.source = source
        self._sink = sink
        self._machine = Machine(model=self, states=self.STATES, transitions=self.TRANSITIONS,
                                initial=NEW, auto_transitions=False, send_event=False)
        self._events = self._machine.events

    def reset(self) -> None:
        """Back to the start, keeping the built machine."""
        self._machine.set_state(NEW, model=self)

    def fire(self, trigger: str, data: Any = None) -> None:
        """Apply one trigger; report the move or the rejection through the sink."""
        before = self.state
        args = data if type(data) is dict else {}
        self.note(trigger, args)
        if (before, trigger) in self._no_ops:
            return  # an internal transition with nothing to do: skip the library's dispatch
        event = self._events.get(trigger)
        try:
            if event is not None:
                event.trigger(self, args)
        except MachineError:
            event = None
        if event is None:  # unknown to the table, or no row leaves the current state
            self._sink(TriggerRejected(self.source, trigger, before,
                                       {"reason": f"{trigger!r} is not valid in {before!r}"}))
            return
        if self.state != before:
            self.entered(trigger, args)
            self._sink(Transitioned(self.source, trigger, before, self.state,
                                    self.describe(trigger, args)))

    _no_ops: ClassVar[frozenset[tuple[str, str]]] = frozenset()

    def note(self, trigger: str, data: Mapping[str, Any]) -> None:
        """Update counters from the event before the trigger is applied."""

    def entered(self, trigger: str, data: Mapping[str, Any]) -> None:
        """Update what the new state implies, after a move and before it is reported."""

    def describe(self, trigger: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
        """What the transition event carries besides trigger, from and to."""
        return dict(data) or None


# Every move already leaves through the sink; the library's per-step debug lines would only
# repeat it (and cost a tenth of each dispatch).
logging.getLogger("transitions").setLevel(logging.WARNING)


def _no_op_pairs(states: list[str], table: list[dict[str, Any]]) -> frozenset[tuple[str, str]]:
    """(state, trigger) pairs whose only transitions are internal, unconditional, callback-free.

    Derived from the declared table, so the table stays the one source of truth.
    """
    pairs: dict[tuple[str, str], bool] = {}
    for row in table:
        sources = states if row["source"] == "*" else row["source"]
        for state in [sources] if isinstance(sources, str) else sources:
            key = (state, row["trigger"])
            plain = row.get("dest") is None and not (set(row) - {"trigger", "source", "dest"})
            pairs[key] = pairs.get(key, True) and plain
    return frozenset(k for k, plain in pairs.items() if plain)
