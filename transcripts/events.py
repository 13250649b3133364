"""The event schema as the layers above the machines import it, and the clock stamp.

The record, its kinds and stream names live in `machines.events` (the machines consume and
produce them); they are re-exported here so `from transcripts.events import Event` keeps
working. `stamped` stamps an event with the clocks for the runner and the tools (the store
stamps its own `LogRecordingResumed`); machines must never read a clock.
"""

from __future__ import annotations

import time

from machines.events import (
    FRONTEND,
    INPUT,
    KERNEL,
    KINDS,
    LOG,
    MODEL_PREFIX,
    OBSERVATION,
    OUTPUT,
    REJECTED,
    RUN_PREFIX,
    SERVICE_PREFIX,
    TRANSITION,
    Event,
    Payload,
    model_source,
    run_source,
    service_source,
    stream_kind,
    stream_name,
)

__all__ = ["FRONTEND", "INPUT", "KERNEL", "KINDS", "LOG", "MODEL_PREFIX", "OBSERVATION",
           "OUTPUT", "REJECTED", "RUN_PREFIX", "SERVICE_PREFIX", "TRANSITION", "Event",
           "Payload", "model_source", "run_source", "service_source", "stamped", "stream_kind",
           "stream_name"]


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
