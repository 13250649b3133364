"""A service process under supervision, with the semantics operators know from supervisord.

`start` (the agent's start-service, or a model start) begins a fresh attempt; a start whose
process dies, or cannot be made, within the start window is a *failed start*. The agent's
own start that fails is `failed` (its reply says why); a restart that fails backs off
(doubling delays) and, after `start_retries` failed starts in a row, the service is `fatal`
until a later start. Only an unexpected exit is restarted: an exit with an expected code
after a good run is `exited`. A run longer than the start window resets the back-off.
It must never read a clock: every timing fact (uptime) arrives in the events, so replay
reaches the same states.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from machines.base import NEW, Lifecycle

AT_REST = ["stopped", "exited", "failed", "fatal"]  # no process; a start begins afresh
IDLE = [NEW, *AT_REST]
LIVE = ["starting", "running", "backoff", "stopping"]
STATES = [*IDLE, *LIVE]

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "start", "source": IDLE, "dest": "starting"},
    {"trigger": "start", "source": LIVE, "dest": None},  # never a second copy; see note
    {"trigger": "spawned", "source": "starting", "dest": "running", "conditions": "no_port_wait"},
    {"trigger": "spawned", "source": ["starting", "stopping"], "dest": None},
    {"trigger": "port_opened", "source": "starting", "dest": "running"},
    {"trigger": "start_failed", "source": "starting", "dest": "failed", "conditions": "requested"},
    {"trigger": "start_failed", "source": "starting", "dest": "fatal",
     "conditions": "retries_exhausted"},
    {"trigger": "start_failed", "source": "starting", "dest": "backoff"},
    {"trigger": "exited", "source": "stopping", "dest": "starting", "conditions": "resume"},
    {"trigger": "exited", "source": "stopping", "dest": "stopped"},
    {"trigger": "exited", "source": "starting", "dest": "failed", "conditions": "requested"},
    {"trigger": "exited", "source": "running", "dest": "exited", "conditions": "clean_exit"},
    {"trigger": "exited", "source": ["starting", "running"], "dest": "fatal",
     "conditions": "retries_exhausted"},
    {"trigger": "exited", "source": ["starting", "running"], "dest": "backoff"},
    {"trigger": "exited", "source": ["backoff", *AT_REST], "dest": None},
    {"trigger": "restarting", "source": "backoff", "dest": "starting"},
    {"trigger": "stop", "source": ["starting", "running"], "dest": "stopping"},
    {"trigger": "stop", "source": "backoff", "dest": "stopped"},
    {"trigger": "stop", "source": ["stopping", *AT_REST], "dest": None},
]

# Supervision defaults (supervisord's startsecs, startretries, exitcodes; README: Services).
SUPERVISION: dict[str, Any] = {"start_window": 1.0, "start_retries": 3, "backoff_base": 1.0,
                               "backoff_max": 30.0, "expected_exit_codes": [0]}


class Service(Lifecycle):
    STATES: ClassVar[list[str]] = STATES
    TRANSITIONS: ClassVar[list[dict[str, Any]]] = TRANSITIONS

    def __init__(self, source: str, sink: Any) -> None:
        self.params: dict[str, Any] = dict(SUPERVISION)
        self.pid: int | None = None
        self.port: int | None = None
        self.wait_port = True
        self.retries = 0  # failed starts in a row
        self.by_agent = False  # the current attempt answers the agent's start
        self.start_pending = False  # a start arrived while stopping
        self.resuming = False
        self.early = False
        self.reason: str | None = None
        super().__init__(source, sink)

    @property
    def backoff_delay(self) -> float:
        """Seconds before the next restart: doubles per failed start, from the base."""
        base, cap = float(self.params["backoff_base"]), float(self.params["backoff_max"])
        return min(base * 2 ** max(self.retries - 1, 0), cap)

    def note(self, trigger: str, data: Mapping[str, Any]) -> None:
        handler = getattr(self, f"_note_{trigger}", None)
        if handler is not None:
            handler(data)

    def _note_start(self, data: Mapping[str, Any]) -> None:
        if self.state in IDLE:
            self.params = {**SUPERVISION, **{k: data[k] for k in SUPERVISION if k in data}}
            self.port = data.get("port")
            self.retries, self.by_agent, self.reason = 0, True, None
        elif self.state == "stopping":
            self.start_pending = True

    def _note_spawned(self, data: Mapping[str, Any]) -> None:
        self.pid = data.get("pid")
        self.wait_port = bool(data.get("wait_port", True))

    def _note_start_failed(self, data: Mapping[str, Any]) -> None:
        self.reason = str(data.get("reason"))
        if self.state == "starting" and not self.by_agent:
            self.retries += 1

    def _note_exited(self, data: Mapping[str, Any]) -> None:
        code = data.get("exit_code")
        if self.state == "stopping":
            self.resuming, self.start_pending = self.start_pending, False
            if self.resuming:
                self.retries, self.by_agent, self.reason = 0, True, None
            return
        if self.state not in ("starting", "running"):
            return
        uptime = data.get("uptime")
        self.early = (self.state == "starting" or uptime is None
                      or float(uptime) < float(self.params["start_window"]))
        if self.state == "starting":
            where = f" before opening port {self.port}" if self.wait_port and self.port else ""
            self.reason = f"the process exited with code {code}{where}"
        else:
            self.reason = f"the process exited with code {code}"
        if self.early and not (self.state == "starting" and self.by_agent):
            self.retries += 1
        elif not self.early:
            self.retries = 0  # a good run: the back-off starts over

    def _note_restarting(self, data: Mapping[str, Any]) -> None:
        self.by_agent = False

    def describe(self, trigger: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
        described = dict(data)
        if self.state == "backoff":
            described.update(backoff_delay=self.backoff_delay, retries=self.retries,
                             reason=self.reason)
        elif self.state == "fatal":
            described.update(retries=self.retries,
                             reason=f"{self.retries} failed starts in a row; last: {self.reason}")
        elif self.state in ("failed", "exited"):
            described["reason"] = self.reason
        return described or None

    # --- conditions (pure) --------------------------------------------------------------
    def no_port_wait(self, data: Mapping[str, Any]) -> bool:
        return not self.wait_port

    def requested(self, data: Mapping[str, Any]) -> bool:
        return self.by_agent

    def retries_exhausted(self, data: Mapping[str, Any]) -> bool:
        return self.retries > int(self.params["start_retries"])

    def clean_exit(self, data: Mapping[str, Any]) -> bool:
        return not self.early and data.get("exit_code") in self.params["expected_exit_codes"]

    def resume(self, data: Mapping[str, Any]) -> bool:
        return self.resuming
