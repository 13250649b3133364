"""The one event schema: every frame, transition and observation is an `Event`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

# What an event is (the `kind` column).
INPUT = "input"  # a frame from the agent; name = op
OUTPUT = "output"  # a frame to the agent; name = message type
TRANSITION = "transition"  # a machine moved; name = trigger, from_state/to_state set
REJECTED = "rejected"  # a trigger invalid in the current state; from_state = that state
OBSERVATION = "observation"  # a fact a driver or probe saw; name in past tense
LOG = "log"  # a log line of the runner itself

KINDS = (INPUT, OUTPUT, TRANSITION, REJECTED, OBSERVATION, LOG)

# Which stream an event belongs to (the `source` column).
KERNEL = "kernel"
FRONTEND = "frontend"


def run_source(run_id: int) -> str:
    return f"run:{run_id}"


def service_source(name: str) -> str:
    return f"service:{name}"


def model_source(name: str) -> str:
    return f"model:{name}"


Payload = bytes | str | int | float | bool | None | dict[str, Any] | list[Any]


@dataclass(frozen=True, slots=True)
class Event:
    """One immutable fact; `seq` and `session` are assigned by the log when it is stored.

    `data` is either raw bytes (a frame payload, an output chunk) or a JSON-able value.
    `wall` is the wall clock (seconds since the epoch), `mono` a monotonic clock for durations.
    """

    source: str
    kind: str
    name: str
    data: Payload = None
    from_state: str | None = None
    to_state: str | None = None
    wall: float = 0.0
    mono: float = 0.0


def stamped(
    source: str,
    kind: str,
    name: str,
    data: Payload = None,
    from_state: str | None = None,
    to_state: str | None = None,
) -> Event:
    """An event stamped with the current clocks (only `runner/` and tools call this)."""
    return Event(source, kind, name, data, from_state, to_state, time.time(), time.monotonic())
