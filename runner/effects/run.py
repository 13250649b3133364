"""The run machine's effect table: what the runner does on entering each run state.

Leaving the queue starts the work, waiting_input asks the agent, and a final state sends
the run's one terminal message, with the exit code the machine recorded. A run's machine
enters exactly one final state, so this table is the only sender of terminal messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from machines.base import Transitioned
from machines.run import FINAL
from runner.frames import exit_payload

if TYPE_CHECKING:
    from runner.runs import Job

TERMINAL_MESSAGE = {"clean": "clean-finished", "build": "build-finished", "exec": "finished",
                    "code": "finished"}


class RunHost(Protocol):
    """The run queue as the run's effects see it."""

    def begin(self, job: Job) -> None:
        """Start the job's work (a task that ends with a RunEnded observation)."""

    def send(self, source: str, msg_type: str, payload: bytes) -> None:
        """Queue a message to the agent."""


def _work(host: RunHost, job: Job, t: Transitioned) -> None:
    """Out of the queue: start the step's work (a process, or a query in the kernel)."""
    if t.from_state == "queued":  # executing is entered again after each input
        host.begin(job)


def _ask(host: RunHost, job: Job, t: Transitioned) -> None:
    """Send `waiting-input` (`is_password`; empty for a batch program's plain question)."""
    plain = job.op == "exec" and not job.password
    payload = b"" if plain else json.dumps({"is_password": job.password}).encode()
    host.send(job.source, "waiting-input", payload)


def _end(host: RunHost, job: Job, t: Transitioned) -> None:
    """Send the one terminal message with the machine's exit code; free the queue."""
    if job.answer is not None and not job.answer.done():
        job.answer.cancel()  # e.g. interrupted while asking: nobody will answer now
    exit_code = (t.data or {})["exit_code"]
    host.send(job.source, TERMINAL_MESSAGE[job.op], exit_payload(exit_code))
    job.ended.set()


EFFECTS: dict[str, Callable[[RunHost, Job, Transitioned], None]] = {
    "cleaning": _work,
    "building": _work,
    "executing": _work,
    "waiting_input": _ask,
    **{state: _end for state in FINAL},
}
