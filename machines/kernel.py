"""The kernel: the runner and the Jupyter kernel behind its query mode."""

from __future__ import annotations

from typing import Any, ClassVar

from machines.base import NEW, Lifecycle

STATES = [NEW, "starting", "running", "unhealthy", "failed", "terminating", "terminated"]

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "started", "source": NEW, "dest": "starting"},
    {"trigger": "ready", "source": "starting", "dest": "running"},
    {"trigger": "fail", "source": ["starting", "unhealthy"], "dest": "failed"},
    {"trigger": "died", "source": "running", "dest": "unhealthy"},
    {"trigger": "restarted", "source": "unhealthy", "dest": "running"},
    {"trigger": "terminate", "source": [NEW, "starting", "running", "unhealthy", "failed"],
     "dest": "terminating"},
    {"trigger": "stopped", "source": "terminating", "dest": "terminated"},
]
# `failed` means query mode is gone for good; batch mode and services keep being served.


class Kernel(Lifecycle):
    STATES: ClassVar[list[str]] = STATES
    TRANSITIONS: ClassVar[list[dict[str, Any]]] = TRANSITIONS
