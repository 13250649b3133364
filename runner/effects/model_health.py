"""The model-health machine's effect table: what the runner does on entering each state.

Each handler hands the move to `ModelServices` (runner/model_service.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from machines.base import Transitioned


class ModelHost(Protocol):
    """The model services as the health machine's effects see them."""

    def send_status(self, t: Transitioned) -> None: ...
    def send_stopped(self, t: Transitioned) -> None: ...


def _tell(host: ModelHost, t: Transitioned) -> None:
    """Send `model-service-status` with `is_healthy` as the state says."""
    host.send_status(t)


def _stopped(host: ModelHost, t: Transitioned) -> None:
    """Send `is_healthy: false`, unless the agent knows already (unhealthy, failed start)."""
    host.send_stopped(t)


EFFECTS: dict[str, Callable[[ModelHost, Transitioned], None]] = {
    "healthy": _tell,
    "unhealthy": _tell,
    "stopped": _stopped,
}
