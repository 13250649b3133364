"""What a part of the runner may use of the whole: emit events, send frames, own tasks.

Protocols and plain records only: a part depends on this, never on `runner.core`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from transcripts.events import Event


@dataclass(frozen=True, slots=True)
class Paths:
    """Every file system location the runner reads or writes; all overridable for tests."""

    work_dir: Path  # cwd of the runner, batch commands and services (/home/work)
    config_dir: Path  # /home/config: environ.txt, intrinsic-ports.json
    service_defs: Path  # /etc/backend.ai/service-defs
    user_input_socket: Path  # /tmp/bai-user-input.sock
    state_dir: Path  # runner-owned scratch (sitecustomize hook, temp files)


class MachineStates(Protocol):
    """What the runner's parts may read of the machines (they never move them directly)."""

    def state(self, source: str) -> str | None: ...
    def get(self, source: str) -> Any: ...


class Context(Protocol):
    """The runner as its parts see it."""

    paths: Paths
    child_env: dict[str, str]
    runtime_path: str
    machines: MachineStates
    query_settled: asyncio.Event  # the kernel machine is ready or failed

    def emit(self, event: Event) -> None:
        """Append to the log and let the machines consume it (transitions follow synchronously)."""

    def send(self, source: str, msg_type: str, payload: bytes, *, record: bool = True) -> None:
        """Queue a two-frame message to the agent (recorded as an output event of `source`)."""

    def spawn(self, coro: Coroutine[Any, Any, Any], owner: str) -> asyncio.Task[Any]:
        """Start a task the runner keeps a reference to and cancels on shutdown."""

    async def throttle(self) -> None:
        """Wait while the agent is too far behind on output (bounded memory)."""


@dataclass(slots=True)
class TaskSet:
    """Owns background tasks: keeps references, surfaces their errors, cancels on shutdown."""

    tasks: dict[asyncio.Task[Any], str] = field(default_factory=dict)

    def spawn(self, coro: Coroutine[Any, Any, Any], owner: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=owner)
        self.tasks[task] = owner
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self.tasks.pop(task, None)

    async def cancel_all(self, timeout: float = 5.0) -> None:
        pending = list(self.tasks)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=timeout)
