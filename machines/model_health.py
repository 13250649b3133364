"""A model service's health, from probe results, with Kubernetes-like thresholds.

Every health default lives here (`DEFAULTS`, `DEFINITION_DEFAULTS`), and so does the mapping
from a model definition's `health_check` to the machine's parameters
(`params_from_definition`); the runner's probe loop only reads the parameters it is given.
It must never probe or read a clock: results arrive as events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from machines.base import NEW, Lifecycle

STATES = [NEW, "undetermined", "healthy", "unhealthy", "stopped"]
LIVE = ["undetermined", "healthy", "unhealthy"]

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "configured", "source": [NEW, "stopped"], "dest": "undetermined"},
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
    {"trigger": "stop", "source": "stopped", "dest": None},
]

# The machine's parameters when the definition says nothing (seconds and probe counts).
DEFAULTS: dict[str, float] = {"initial_delay": 0.0, "period": 5.0, "timeout": 5.0,
                              "success_threshold": 1, "failure_threshold": 10}
# `health_check` fields of the model definition with the 23.09 schema's defaults (the agent
# fills them in before sending; 25.1+ documents `max_wait_time` 15 and `interval` 10).
DEFINITION_DEFAULTS: dict[str, Any] = {"path": "/", "max_retries": 10, "max_wait_time": 5.0,
                                       "expected_status_code": 200, "interval": None,
                                       "initial_delay": 0.0}
MIN_PERIOD = 0.1  # `max_wait_time: 0` is allowed by the schema; never spin


def params_from_definition(check: Mapping[str, Any] | None) -> dict[str, Any]:
    """The machine's parameters from a model definition's `health_check` (README: mapping).

    `max_wait_time` is each probe's timeout, `interval` the time between probe starts (the
    23.09 runner, which has no `interval`, probed once per `max_wait_time`), `max_retries`
    the number of failed probes in a row that make the model unhealthy, `initial_delay` the
    wait before the first probe; one passing probe makes it healthy.
    """
    given = {k: v for k, v in (check or {}).items() if v is not None}
    field = {**DEFINITION_DEFAULTS, **given}
    wait = max(float(field["max_wait_time"]), MIN_PERIOD)
    interval = field["interval"]
    return {"initial_delay": max(float(field["initial_delay"]), 0.0),
            "period": max(float(interval) if interval is not None else wait, MIN_PERIOD),
            "timeout": wait,
            "success_threshold": int(DEFAULTS["success_threshold"]),
            "failure_threshold": max(int(field["max_retries"]), 1),
            "path": str(field["path"]) or "/",
            "expected_status": int(field["expected_status_code"])}


class ModelHealth(Lifecycle):
    """Healthy after `success_threshold` consecutive passes, unhealthy after
    `failure_threshold` consecutive failures; a pass resets the failure streak and a failure
    the success streak; a process exit is unhealthy at once."""

    STATES: ClassVar[list[str]] = STATES
    TRANSITIONS: ClassVar[list[dict[str, Any]]] = TRANSITIONS

    def __init__(self, source: str, sink: Any) -> None:
        self.params: dict[str, Any] = dict(DEFAULTS)
        self.successes = 0
        self.failures = 0
        self.last_reason: str | None = None
        super().__init__(source, sink)

    def note(self, trigger: str, data: Mapping[str, Any]) -> None:
        if trigger == "configured":
            self.params = {**DEFAULTS, **{k: v for k, v in data.items() if v is not None}}
            self.successes = self.failures = 0
        elif trigger == "probe_succeeded":
            self.successes, self.failures = self.successes + 1, 0
        elif trigger == "probe_failed":
            self.successes, self.failures = 0, self.failures + 1
            self.last_reason = data.get("reason")
        elif trigger == "exited":
            self.successes = 0
            self.last_reason = f"the model process exited with code {data.get('exit_code')}"
        elif trigger == "stop":
            self.last_reason = data.get("reason")

    def describe(self, trigger: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
        if trigger == "configured":
            return dict(self.params)
        if trigger == "stop":
            return {"reason": self.last_reason, "start_failed": bool(data.get("start_failed"))}
        if trigger in ("probe_succeeded", "probe_failed", "exited"):
            return {"successes": self.successes, "failures": self.failures,
                    "reason": self.last_reason if trigger != "probe_succeeded" else None}
        return super().describe(trigger, data)

    def enough_successes(self, data: Mapping[str, Any]) -> bool:
        return self.successes >= int(self.params["success_threshold"])

    def enough_failures(self, data: Mapping[str, Any]) -> bool:
        return self.failures >= int(self.params["failure_threshold"])
