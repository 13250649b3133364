"""One run: a clean, build, exec or code op from queueing to its one terminal message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from machines.base import NEW, Lifecycle
from machines.vocabulary import SKIPPED_EXIT_CODE

WORKING = ["cleaning", "building", "executing", "waiting_input"]
STATES = [NEW, "queued", *WORKING, "finished", "interrupted", "failed"]

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "submitted", "source": NEW, "dest": "queued"},
    {"trigger": "start", "source": "queued", "dest": "executing", "conditions": "executes"},
    {"trigger": "start", "source": "queued", "dest": "cleaning", "conditions": "is_clean"},
    {"trigger": "start", "source": "queued", "dest": "building", "conditions": "is_build"},
    {"trigger": "start", "source": "queued", "dest": "failed", "conditions": "is_skipped"},
    {"trigger": "wait_input", "source": "executing", "dest": "waiting_input"},
    {"trigger": "input", "source": "waiting_input", "dest": "executing"},
    {"trigger": "interrupt", "source": WORKING, "dest": None},
    {"trigger": "end", "source": WORKING, "dest": "finished",
     "unless": ["has_failed", "was_interrupted"]},
    {"trigger": "end", "source": WORKING, "dest": "failed", "conditions": "has_failed"},
    {"trigger": "end", "source": WORKING, "dest": "interrupted"},
]
# The usual outcome of each trigger comes first: `transitions` tries the rows in order, and
# each row it rejects costs about as much as the move itself.


class Run(Lifecycle):
    STATES: ClassVar[list[str]] = STATES
    TRANSITIONS: ClassVar[list[dict[str, Any]]] = TRANSITIONS

    def __init__(self, source: str, sink: Any, op: str) -> None:
        self.op = op
        self.interrupted = False
        self.exit_code: int | None = None
        super().__init__(source, sink)

    def reuse(self, source: str, op: str) -> Run:
        """Make an ended run a fresh one (building a `transitions` machine costs ~200 µs)."""
        self.source, self.op, self.interrupted, self.exit_code = source, op, False, None
        self.reset()
        return self

    def note(self, trigger: str, data: Mapping[str, Any]) -> None:
        if trigger == "interrupt":
            self.interrupted = True
        elif trigger == "end":
            self.exit_code = data.get("exit_code")
        elif trigger == "start" and self.is_skipped(data):
            self.exit_code = SKIPPED_EXIT_CODE

    def describe(self, trigger: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
        if trigger == "start" and self.is_skipped(data):
            return {"reason": "build failed", "exit_code": SKIPPED_EXIT_CODE}
        if trigger == "end":
            return {"exit_code": data.get("exit_code"), "reason": data.get("reason")}
        return super().describe(trigger, data)

    def executes(self, data: Mapping[str, Any]) -> bool:
        return self.op == "code" or (self.op == "exec" and not self.is_skipped(data))

    def is_clean(self, data: Mapping[str, Any]) -> bool:
        return self.op == "clean"

    def is_build(self, data: Mapping[str, Any]) -> bool:
        return self.op == "build"

    def is_skipped(self, data: Mapping[str, Any]) -> bool:
        return self.op == "exec" and data.get("build_ok") is False

    def has_failed(self, data: Mapping[str, Any]) -> bool:
        return bool(data.get("failed"))

    def was_interrupted(self, data: Mapping[str, Any]) -> bool:
        return self.interrupted
