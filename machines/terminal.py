"""The git runtime's shell (PROTOCOL §8): kept running on its pty, restarted with back-off.

The runner binds the terminal's sockets (`start`), spawns a shell (`spawned`, or
`start_failed`) and watches it; when it ends (`exited`) the machine backs off and restarts it
(`restart`). A shell that ends within `stable_after` seconds of its start is a *quick end*:
each one in a row doubles the delay, from `backoff_base` up to `backoff_max`, and after
`give_up_after` of them the terminal is `fatal` until the user presses Enter (`retry`). A
shell that lived longer is restarted at once. `stop` is the runner's shutdown.
It must never read a clock: how long a shell lived arrives in its `exited` event, so replay
reaches the same states.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from machines.base import NEW, Lifecycle

STATES = [NEW, "starting", "running", "backoff", "fatal", "stopping", "stopped"]

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "start", "source": NEW, "dest": "starting"},
    {"trigger": "retry", "source": "fatal", "dest": "starting"},
    {"trigger": "spawned", "source": "starting", "dest": "running"},
    {"trigger": "spawned", "source": "stopping", "dest": None},  # the stop hangs it up
    {"trigger": "start_failed", "source": "starting", "dest": "fatal",
     "conditions": "gave_up"},
    {"trigger": "start_failed", "source": "starting", "dest": "backoff"},
    {"trigger": "start_failed", "source": "stopping", "dest": "stopped"},
    {"trigger": "exited", "source": "running", "dest": "fatal", "conditions": "gave_up"},
    {"trigger": "exited", "source": "running", "dest": "backoff"},
    {"trigger": "exited", "source": "stopping", "dest": "stopped"},
    {"trigger": "restart", "source": "backoff", "dest": "starting"},
    {"trigger": "stop", "source": ["starting", "running"], "dest": "stopping"},
    {"trigger": "stop", "source": ["backoff", "fatal"], "dest": "stopped"},
]

# Defaults, sent in the creating event (TerminalBound) so replay uses the recorded ones.
SUPERVISION: dict[str, float] = {"stable_after": 5.0, "backoff_base": 0.25,
                                 "backoff_max": 5.0, "give_up_after": 5}


class TerminalShell(Lifecycle):
    """The shell's life; `quick_ends` counts shells in a row that ended (or could not start)
    before `stable_after` seconds."""

    STATES: ClassVar[list[str]] = STATES
    TRANSITIONS: ClassVar[list[dict[str, Any]]] = TRANSITIONS

    def __init__(self, source: str, sink: Any) -> None:
        self.params: dict[str, float] = dict(SUPERVISION)
        self.quick_ends = 0
        self.reason: str | None = None
        super().__init__(source, sink)

    @property
    def backoff_delay(self) -> float:
        """Seconds before the next shell: none after a long-lived one, else doubling."""
        if self.quick_ends == 0:
            return 0.0
        base, cap = self.params["backoff_base"], self.params["backoff_max"]
        return min(base * 2 ** (self.quick_ends - 1), cap)

    def note(self, trigger: str, data: Mapping[str, Any]) -> None:
        if trigger == "start" and self.state == NEW:
            self.params = {**SUPERVISION, **{k: data[k] for k in SUPERVISION
                                             if isinstance(data.get(k), int | float)}}
        elif trigger == "retry" and self.state == "fatal":
            self.quick_ends, self.reason = 0, None
        elif trigger == "start_failed" and self.state == "starting":
            self.quick_ends += 1
            self.reason = f"the shell could not start: {data.get('reason')}"
        elif trigger == "exited" and self.state == "running":
            lived = data.get("lived_s")
            quick = not isinstance(lived, int | float) or lived < self.params["stable_after"]
            self.quick_ends = self.quick_ends + 1 if quick else 0
            self.reason = f"the shell exited with code {data.get('exit_code')}"

    def describe(self, trigger: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
        if self.state == "starting" and trigger == "start":
            return {**data, **self.params}
        if self.state == "backoff":
            return {"delay": self.backoff_delay, "quick_ends": self.quick_ends,
                    "reason": self.reason}
        if self.state == "fatal":
            return {"quick_ends": self.quick_ends,
                    "reason": f"{self.quick_ends} quick ends in a row; last: {self.reason}"}
        return super().describe(trigger, data)

    # --- conditions (pure) --------------------------------------------------------------
    def gave_up(self, data: Mapping[str, Any]) -> bool:
        return self.quick_ends >= self.params["give_up_after"]
