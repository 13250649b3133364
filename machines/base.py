"""What every machine shares: one sink for every move, rejection instead of exceptions."""

from __future__ import annotations

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

    def __init__(self, source: str, sink: Sink) -> None:
        self.source = source
        self._sink = sink
        Machine(model=self, states=self.STATES, transitions=self.TRANSITIONS, initial=NEW,
                auto_transitions=False, send_event=False)

    def fire(self, trigger: str, data: Any = None) -> None:
        """Apply one trigger; report the move or the rejection through the sink."""
        before = self.state
        args = data if isinstance(data, Mapping) else {}
        self.note(trigger, args)
        try:
            self.trigger(trigger, args)
        except (MachineError, AttributeError):
            self._sink(TriggerRejected(self.source, trigger, before,
                                       {"reason": f"{trigger!r} is not valid in {before!r}"}))
            return
        if self.state != before:
            self._sink(Transitioned(self.source, trigger, before, self.state,
                                    self.describe(trigger, args)))

    def note(self, trigger: str, data: Mapping[str, Any]) -> None:
        """Update counters from the event before the trigger is applied."""

    def describe(self, trigger: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
        """What the transition event carries besides trigger, from and to."""
        return dict(data) or None
