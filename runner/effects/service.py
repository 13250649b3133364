"""The service machine's effect table: what the runner does on entering each service state.

`machines/service.py` says when a service's state changes; this table says what happens then.
Each handler hands the move to the `Supervisor` (runner/supervisor.py), which acts and emits
observations; none decides a state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from machines.base import Transitioned


class ServiceHost(Protocol):
    """The supervisor as the service's effects see it."""

    def begin_attempt(self, t: Transitioned) -> None: ...
    def answer_started(self, t: Transitioned) -> None: ...
    def answer_ended(self, t: Transitioned) -> None: ...
    def schedule_restart(self, t: Transitioned) -> None: ...
    def end_process(self, t: Transitioned) -> None: ...


def _attempt(host: ServiceHost, t: Transitioned) -> None:
    """Prestart (time-limited), then spawn one process group once the last one is gone."""
    host.begin_attempt(t)


def _started(host: ServiceHost, t: Transitioned) -> None:
    """The waiting start-service replies `started` (a later one `running`)."""
    host.answer_started(t)


def _restart_later(host: ServiceHost, t: Transitioned) -> None:
    """Restart after the back-off delay, unless stopped or started afresh meanwhile."""
    host.schedule_restart(t)


def _stop(host: ServiceHost, t: Transitioned) -> None:
    """SIGTERM, grace, SIGKILL the family: group, daemons (or abandon a start not spawned)."""
    host.end_process(t)


def _ended(host: ServiceHost, t: Transitioned) -> None:
    """Nothing runs or restarts: a waiting start-service replies `failed` with the reason."""
    host.answer_ended(t)


EFFECTS: dict[str, Callable[[ServiceHost, Transitioned], None]] = {
    "starting": _attempt,
    "running": _started,
    "backoff": _restart_later,
    "stopping": _stop,
    "stopped": _ended,
    "exited": _ended,
    "failed": _ended,
    "fatal": _ended,
}
