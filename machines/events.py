"""The event record and its coordinates: kinds, stream names. The machines' vocabulary.

Every frame, transition and observation is one `Event`; machines consume them and are
described by them, so the record lives at the bottom layer, beside the machines. Pure data:
it must never read a clock, touch a file or import any other layer of the project
(`transcripts.events.stamped` stamps events with the clocks, for the layers above).
"""

from __future__ import annotations

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
TERMINAL = "terminal"  # the git runtime's shell (machines/terminal.py)
RUN_PREFIX = "run:"
SERVICE_PREFIX = "service:"
MODEL_PREFIX = "model:"


def run_source(run_id: int) -> str:
    return f"{RUN_PREFIX}{run_id}"


def service_source(name: str) -> str:
    return f"{SERVICE_PREFIX}{name}"


def model_source(name: str) -> str:
    return f"{MODEL_PREFIX}{name}"


def stream_kind(source: str) -> str:
    """`run`, `service`, `model`, `kernel` or `frontend`: the part before the colon."""
    return source.split(":", 1)[0]


def stream_name(source: str) -> str:
    """The service's or model's name (or the run's number) in `<kind>:<name>`."""
    return source.split(":", 1)[1]


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
