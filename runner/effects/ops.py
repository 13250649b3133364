"""What the runner does with each op the agent sends, once the front end has recorded it.

The front end parses a frame and records it as an input event (which may create or move a
machine); this table then acts on it: queue a run, answer `status`, hand input and
interrupts to the run queue, start or stop services. A handler that owes the agent a reply
sends exactly one, also when its work fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from machines import vocabulary as v
from runner import frames as f
from runner.runs import Job, Runs
from transcripts.events import FRONTEND

log = logging.getLogger("krunner")
COMPLETE_WAIT = 5.0  # the agent's RPC gives up after 10 s; a late answer shifts later replies


class ServiceOps(Protocol):
    """The service ops (`runner.services.Services` has them)."""

    async def start(self, request: dict[str, Any]) -> dict[str, Any]: ...
    async def start_model(self, model: dict[str, Any]) -> dict[str, Any]: ...
    async def shutdown(self, name: str) -> None: ...
    def apps(self, name: str) -> dict[str, Any]: ...


class OpsHost(Protocol):
    """The runner as the op handlers see it."""

    runs: Runs
    services: ServiceOps
    started_at: float

    def complete(self, code: str) -> Awaitable[list[str]]: ...
    def send(self, source: str, msg_type: str, payload: bytes) -> None: ...
    def spawn(self, coro: Coroutine[Any, Any, Any], owner: str) -> asyncio.Task[Any]: ...


def _queue(host: OpsHost, source: str, job: Job) -> None:
    """Queue the run (its machine was created by the recorded op)."""
    host.runs.enqueue(job)


def _status(host: OpsHost, source: str, value: None) -> None:
    """Answer at once, whatever else is going on."""
    host.send(FRONTEND, "status", f.status_payload(host.started_at))


def _input(host: OpsHost, source: str, text: str) -> None:
    """Answer the waiting program, or keep the text for the next one that asks."""
    host.runs.deliver_input(text)


def _interrupt(host: OpsHost, source: str, value: None) -> None:
    """Interrupt the current run's process group, or the kernel's query."""
    host.runs.interrupt()


def _complete(host: OpsHost, source: str, code: str) -> None:
    """Ask the kernel for completions; reply within the agent's patience."""
    _reply_later(host, "completion", _completion(host, code), FRONTEND)


async def _completion(host: OpsHost, code: str) -> dict[str, Any]:
    try:
        return {"suggestions": await asyncio.wait_for(host.complete(code), COMPLETE_WAIT)}
    except TimeoutError:
        return {"suggestions": [], "error": "the kernel is busy"}


def _get_apps(host: OpsHost, source: str, name: str) -> None:
    """List the service definitions (and model services) at once."""
    host.send(FRONTEND, "apps-result", f.encode_json(host.services.apps(name)))


def _start_service(host: OpsHost, source: str, request: dict[str, Any]) -> None:
    """Start the service; reply once it has started or failed."""
    _reply_later(host, "service-result", host.services.start(request), source)


def _start_model(host: OpsHost, source: str, model: dict[str, Any]) -> None:
    """Start the model service; reply once it has started or failed."""
    _reply_later(host, "model-service-result", host.services.start_model(model), source)


def _shutdown_service(host: OpsHost, source: str, name: str) -> None:
    """Stop the service (no reply: the agent does not wait for one)."""
    host.spawn(host.services.shutdown(name), owner=f"shutdown:{name}")


def _event(host: OpsHost, source: str, event: dict[str, Any]) -> None:
    """An agent notification (e.g. OOM): logged, nothing else."""
    log.info("agent-notified event: %s", event)


def _reply_later(host: OpsHost, msg_type: str, work: Awaitable[dict[str, Any]],
                 source: str) -> None:
    host.spawn(_reply_once(host, msg_type, work, source), owner=msg_type)


async def _reply_once(host: OpsHost, msg_type: str, work: Awaitable[dict[str, Any]],
                      source: str) -> None:
    try:
        payload = f.encode_json(await work)
    except Exception as e:  # the agent still gets its one reply
        log.exception("%s failed", msg_type)
        reason = f"{type(e).__name__}: {e}"[:1000]
        payload = f.encode_json({"suggestions": [], "error": reason} if msg_type == "completion"
                                else {"status": "failed", "error": reason})
    host.send(source, msg_type, payload)


OPS: dict[str, Callable[[OpsHost, str, Any], None]] = {
    **{op: _queue for op in v.RUN_OPS},
    "status": _status,
    "input": _input,
    "interrupt": _interrupt,
    "complete": _complete,
    "get-apps": _get_apps,
    "start-service": _start_service,
    "start-model-service": _start_model,
    "shutdown-service": _shutdown_service,
    "event": _event,
}
