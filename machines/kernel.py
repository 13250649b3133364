"""The kernel: the runner and the Jupyter kernel behind its query mode, from start to exit.

Whether queries can run, must wait (a restart is under way) or are refused (and why) is this
machine's state, rebuilt from the recorded observations like every other; `runner/effects/
kernel.py` acts on it. Pure: it must not do I/O, read a clock or import anything of the
project but `machines`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from machines.base import NEW, Lifecycle

STATES = [NEW, "starting", "ready", "failed", "restarting", "stopping", "stopped"]
LIVE = [NEW, "starting", "ready", "failed", "restarting"]

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "started", "source": NEW, "dest": "starting"},
    {"trigger": "ready", "source": "starting", "dest": "ready"},
    {"trigger": "fail", "source": ["starting", "restarting"], "dest": "failed"},
    {"trigger": "died", "source": "ready", "dest": "restarting"},
    {"trigger": "restarted", "source": "restarting", "dest": "ready"},
    {"trigger": "terminate", "source": LIVE, "dest": "stopping"},
    {"trigger": "stopped", "source": "stopping", "dest": "stopped"},
]
# `failed` means query mode is gone for good; batch mode and services keep being served.
SETTLED = frozenset({"ready", "failed"})  # queries may go ahead (or be refused) in these


class Kernel(Lifecycle):
    """Keeps why query mode is unavailable, when it is (a failure, or a runtime without one)."""

    STATES: ClassVar[list[str]] = STATES
    TRANSITIONS: ClassVar[list[dict[str, Any]]] = TRANSITIONS

    def __init__(self, source: str, sink: Any) -> None:
        self.query_unavailable: str | None = None
        super().__init__(source, sink)

    def note(self, trigger: str, data: Mapping[str, Any]) -> None:
        if trigger == "ready" and self.state == "starting" and data.get("query") is False:
            self.query_unavailable = str(data.get("reason") or "this runtime has no query mode")
        elif trigger == "fail" and self.state in ("starting", "restarting"):
            self.query_unavailable = str(data.get("reason") or "the query engine failed")
