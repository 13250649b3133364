"""A service process: started, watched, restarted with back-off, stopped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from machines.base import NEW, Lifecycle

STATES = [NEW, "starting", "running", "backoff", "stopping", "terminated", "failed"]

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "start", "source": [NEW, "terminated", "failed"], "dest": "starting"},
    {"trigger": "start", "source": ["starting", "running", "backoff"], "dest": None},
    {"trigger": "spawned", "source": "starting", "dest": None},
    {"trigger": "port_opened", "source": "starting", "dest": "running"},
    {"trigger": "start_failed", "source": "starting", "dest": "failed"},
    {"trigger": "stop", "source": ["starting", "running"], "dest": "stopping"},
    {"trigger": "stop", "source": "backoff", "dest": "terminated"},
    {"trigger": "exited", "source": "stopping", "dest": "terminated"},
    {"trigger": "exited", "source": "running", "dest": "backoff"},
    {"trigger": "exited", "source": "starting", "dest": "failed"},
    {"trigger": "exited", "source": ["terminated", "failed", "backoff"], "dest": None},
    {"trigger": "restarting", "source": "backoff", "dest": "starting"},
]
BACKOFF_BASE = 1.0  # seconds before the first restart; doubles per crash
BACKOFF_MAX = 30.0


class Service(Lifecycle):
    STATES: ClassVar[list[str]] = STATES
    TRANSITIONS: ClassVar[list[dict[str, Any]]] = TRANSITIONS

    def __init__(self, source: str, sink: Any) -> None:
        self.pid: int | None = None
        self.crashes = 0
        super().__init__(source, sink)

    @property
    def backoff_delay(self) -> float:
        """Seconds to wait before the next restart."""
        return min(BACKOFF_BASE * 2 ** max(self.crashes - 1, 0), BACKOFF_MAX)

    def note(self, trigger: str, data: Mapping[str, Any]) -> None:
        if trigger == "spawned":
            self.pid = data.get("pid")
        elif trigger == "exited" and self.state == "running":
            self.crashes += 1
        elif trigger == "start" and self.state in (NEW, "terminated", "failed"):
            self.crashes = 0

    def describe(self, trigger: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
        described = dict(data)
        if trigger == "exited" and self.state == "backoff":
            described["backoff_delay"] = self.backoff_delay
        return described or None
