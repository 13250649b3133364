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


Conditions = tuple[tuple[str, bool], ...]  # (condition method, the result it must give)
Rows = tuple[tuple[Conditions, str | None], ...]  # tried in order; dest None: internal
Table = dict[tuple[str, str], Rows]  # (state, trigger) -> rows; absent: rejected


class Lifecycle:
    """Base of every machine model: declare STATES and TRANSITIONS, then `fire` triggers.

    A trigger whose conditions do not hold (a probe below its threshold) changes nothing and
    reports nothing; a trigger with no transition from the current state is reported as
    rejected. Counters are updated by `note` before the trigger, so conditions stay pure.
    """

    STATES: ClassVar[list[str]]
    TRANSITIONS: ClassVar[list[dict[str, Any]]]
    state: str
    _table: ClassVar[Table] = {}

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls._table = compile_table(cls)

    def __init__(self, source: str, sink: Sink) -> None:
        self.source = source
        self._sink = sink
        self.state = NEW
        self._library: Machine | None = None

    def use_library(self) -> None:
        """Dispatch this machine's triggers through `transitions` itself (the reference)."""
        self._library = Machine(model=self, states=self.STATES, transitions=self.TRANSITIONS,
                                initial=self.state, auto_transitions=False, send_event=False)

    def reset(self) -> None:
        """Back to the start, keeping what was built."""
        if self._library is not None:
            self._library.set_state(NEW, model=self)
        self.state = NEW

    def fire(self, trigger: str, data: Any = None) -> None:
        """Apply one trigger; report the move or the rejection through the sink."""
        before = self.state
        args = data if type(data) is dict else {}
        self.note(trigger, args)
        if self._library is not None:
            valid = self._fire_by_library(trigger, args)
        else:
            rows = self._table.get((before, trigger))
            valid = rows is not None
            for conditions, dest in rows or ():
                for name, wanted in conditions:
                    if getattr(self, name)(args) != wanted:
                        break
                else:  # every condition holds: this row is taken
                    if dest is not None:
                        self.state = dest
                    break
        if not valid:  # unknown to the table, or no row leaves the current state
            self._sink(TriggerRejected(self.source, trigger, before,
                                       {"reason": f"{trigger!r} is not valid in {before!r}"}))
            return
        if self.state != before:
            self.entered(trigger, args)
            self._sink(Transitioned(self.source, trigger, before, self.state,
                                    self.describe(trigger, args)))

    def _fire_by_library(self, trigger: str, args: dict[str, Any]) -> bool:
        assert self._library is not None
        event = self._library.events.get(trigger)
        if event is None:
            return False
        try:
            event.trigger(self, args)
        except MachineError:
            return False
        return True

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


def compile_table(cls: type[Lifecycle]) -> Table:
    """The dispatch table of a machine class, read from the machine `transitions` builds from
    its tables (so sources, wildcards, `conditions` and `unless` mean what they mean there).
    TypeError for what the compiled walk does not do: callbacks and state hooks."""
    built = Machine(model=None, states=cls.STATES, transitions=cls.TRANSITIONS, initial=NEW,
                    auto_transitions=False, send_event=False)
    hooks = [f"{when}_{state}" for state in built.states for when in ("on_enter", "on_exit")]
    if any(hasattr(cls, hook) for hook in hooks) or any(
            s.on_enter or s.on_exit for s in built.states.values()):
        raise TypeError(f"{cls.__name__}: state hooks are not compiled; act in `entered`")
    table: Table = {}
    for trigger, event in built.events.items():
        for state, rows in event.transitions.items():
            compiled = []
            for row in rows:
                if row.prepare or row.before or row.after:
                    raise TypeError(f"{cls.__name__}.{trigger}: callbacks are not compiled")
                if not all(isinstance(c.func, str) for c in row.conditions):
                    raise TypeError(f"{cls.__name__}.{trigger}: conditions must be names")
                compiled.append((tuple((c.func, c.target) for c in row.conditions), row.dest))
            table[(state, trigger)] = tuple(compiled)
    return table
