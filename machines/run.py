"""One run: a clean, build, exec or code op from queueing to its one terminal message.

The table says where a run goes; the model keeps its exit code (the one the terminal message
carries) and the build-failure rule of PROTOCOL §5.1: an exec dequeued after a failed build
is not run but ends `failed` with exit code 127, and clears the verdict. Pure: it must not
do I/O, read a clock or import anything of the project but `machines`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from machines.base import NEW, Lifecycle
from machines.vocabulary import SKIPPED_EXIT_CODE

WORKING = ["cleaning", "building", "executing", "waiting_input"]
FINAL = ["finished", "interrupted", "failed"]
STATES = [NEW, "queued", *WORKING, *FINAL]

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "submitted", "source": NEW, "dest": "queued"},
    {"trigger": "start", "source": "queued", "dest": "executing", "conditions": "executes"},
    {"trigger": "start", "source": "queued", "dest": "cleaning", "conditions": "is_clean"},
    {"trigger": "start", "source": "queued", "dest": "building", "conditions": "is_build"},
    {"trigger": "start", "source": "queued", "dest": "failed", "conditions": "after_failed_build"},
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


@dataclass(slots=True)
class LastBuild:
    """What a batch leaves for the next exec, shared by the runs of one session."""

    failed: bool = False


class Run(Lifecycle):
    """A run's op, whether it was interrupted, and its exit code once it has ended."""

    STATES: ClassVar[list[str]] = STATES
    TRANSITIONS: ClassVar[list[dict[str, Any]]] = TRANSITIONS

    def __init__(self, source: str, sink: Any, op: str, last_build: LastBuild) -> None:
        self.op = op
        self.last_build = last_build
        self.interrupted = False
        self.exit_code: int | None = None
        super().__init__(source, sink)

    def reuse(self, source: str, op: str) -> Run:
        """Make an ended run a fresh one (a session may make hundreds of thousands)."""
        self.source, self.op, self.interrupted, self.exit_code = source, op, False, None
        self.reset()
        return self

    def note(self, trigger: str, data: Mapping[str, Any]) -> None:
        if trigger == "interrupt":
            self.interrupted = True
        elif trigger == "end":
            self.exit_code = data.get("exit_code")

    def entered(self, trigger: str, data: Mapping[str, Any]) -> None:
        if self.state not in FINAL:
            return
        if trigger == "start":  # skipped: the failed build's verdict is used up
            self.exit_code = SKIPPED_EXIT_CODE
            self.last_build.failed = False
        elif self.op == "build":
            self.last_build.failed = not (self.state == "finished" and self.exit_code == 0)

    def describe(self, trigger: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
        if trigger == "start" and self.state == "failed":
            return {"reason": "build failed", "exit_code": self.exit_code}
        if trigger == "end":
            return {"exit_code": self.exit_code, "reason": data.get("reason")}
        return super().describe(trigger, data)

    def executes(self, data: Mapping[str, Any]) -> bool:
        return self.op == "code" or (self.op == "exec" and not self.last_build.failed)

    def is_clean(self, data: Mapping[str, Any]) -> bool:
        return self.op == "clean"

    def is_build(self, data: Mapping[str, Any]) -> bool:
        return self.op == "build"

    def after_failed_build(self, data: Mapping[str, Any]) -> bool:
        return self.op == "exec" and self.last_build.failed

    def has_failed(self, data: Mapping[str, Any]) -> bool:
        return bool(data.get("failed"))

    def was_interrupted(self, data: Mapping[str, Any]) -> bool:
        return self.interrupted
