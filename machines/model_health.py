"""A model service's health, from probe results, with Kubernetes-like thresholds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from machines.base import NEW, Lifecycle

STATES = [NEW, "undetermined", "healthy", "unhealthy", "stopped"]
LIVE = ["undetermined", "healthy", "unhealthy"]

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "configured", "source": NEW, "dest": "undetermined"},
    {"trigger": "probe_succeeded", "source": ["undetermined", "unhealthy"], "dest": "healthy",
     "conditions": "enough_successes"},
    {"trigger": "probe_succeeded", "source": LIVE, "dest": None},
    {"trigger": "probe_failed", "source": ["undetermined", "healthy"], "dest": "unhealthy",
     "conditions": "enough_failures"},
    {"trigger": "probe_failed", "source": LIVE, "dest": None},
    {"trigger": "exited", "source": ["undetermined", "healthy"], "dest": "unhealthy"},
    {"trigger": "exited", "source": ["unhealthy", "stopped"], "dest": None},
    {"trigger": "assume_healthy", "source": "undetermined", "dest": "healthy"},
    {"trigger": "stop", "source": LIVE, "dest": "stopped"},
]

DEFAULTS = {"initial_delay": 0.0, "period": 10.0, "timeout": 1.0, "success_threshold": 1,
            "failure_threshold": 3}


class ModelHealth(Lifecycle):
    """Healthy after `success_threshold` consecutive passes, unhealthy after
    `failure_threshold` consecutive failures; a pass resets the failure streak and a failure
    the success streak; a process exit is unhealthy at once."""

    STATES: ClassVar[list[str]] = STATES
    TRANSITIONS: ClassVar[list[dict[str, Any]]] = TRANSITIONS

    def __init__(self, source: str, sink: Any) -> None:
        self.params = dict(DEFAULTS)
        self.successes = 0
        self.failures = 0
        self.last_reason: str | None = None
        super().__init__(source, sink)

    def note(self, trigger: str, data: Mapping[str, Any]) -> None:
        if trigger == "configured":
            self.params.update({k: data[k] for k in DEFAULTS if data.get(k) is not None})
        elif trigger == "probe_succeeded":
            self.successes, self.failures = self.successes + 1, 0
        elif trigger == "probe_failed":
            self.successes, self.failures = 0, self.failures + 1
            self.last_reason = data.get("reason")
        elif trigger == "exited":
            self.successes = 0
            self.last_reason = f"the model process exited with code {data.get('exit_code')}"

    def describe(self, trigger: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
        if trigger == "configured":
            return dict(self.params)
        if trigger in ("probe_succeeded", "probe_failed", "exited"):
            return {"successes": self.successes, "failures": self.failures,
                    "reason": self.last_reason if trigger != "probe_succeeded" else None}
        return super().describe(trigger, data)

    def enough_successes(self, data: Mapping[str, Any]) -> bool:
        return self.successes >= int(self.params["success_threshold"])

    def enough_failures(self, data: Mapping[str, Any]) -> bool:
        return self.failures >= int(self.params["failure_threshold"])
