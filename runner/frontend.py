"""The agent-facing front end: receives frames, records them, hands each op to its owner.

Dispatch never awaits, so `status` is answered at once even while a run, a service start or
a completion is in progress. Every op whose caller waits for a reply gets exactly one, also
when its frames or payload are broken (the agent matches replies by order).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import zmq
import zmq.asyncio

from runner import frames as f
from runner.context import Context
from runner.redaction import redact_envs, redact_rejected
from runner.runs import Runs
from transcripts.events import FRONTEND, INPUT, KERNEL, model_source, service_source, stamped

log = logging.getLogger("krunner")
REDACTED = "<redacted>"
COMPLETE_WAIT = 5.0


class Services(Protocol):
    async def start(self, request: dict[str, Any]) -> dict[str, Any]: ...
    async def start_model(self, model: dict[str, Any]) -> dict[str, Any]: ...
    async def shutdown(self, name: str) -> None: ...
    def apps(self, name: str) -> dict[str, Any]: ...


def without_env_values(request: dict[str, Any]) -> dict[str, Any]:
    """The request as recorded: environment values handed to children are not kept in clear."""
    options = request.get("options")
    if not isinstance(options, dict) or not isinstance(options.get("envs"), dict):
        return request
    envs = {key: REDACTED for key in options["envs"]}
    return {**request, "options": {**options, "envs": envs}}


class FrontEnd:
    """Reads the PULL socket and dispatches; replies go out through the context's outbox."""

    def __init__(self, ctx: Context, sock: zmq.asyncio.Socket, runs: Runs, services: Services,
                 complete: Callable[[str], Awaitable[list[str]]], started_at: float) -> None:
        self._ctx = ctx
        self._sock = sock
        self._runs = runs
        self._services = services
        self._complete = complete
        self._started_at = started_at
        self._handlers: dict[str, Callable[[bytes], None]] = {
            "clean": self._queued("clean"), "build": self._queued("build"),
            "exec": self._queued("exec"), "code": self._queued("code"),
            "status": self._status, "input": self._input, "interrupt": self._interrupt,
            "complete": self._complete_op, "get-apps": self._get_apps,
            "start-service": self._start_service,
            "start-model-service": self._start_model_service,
            "shutdown-service": self._shutdown_service, "event": self._event,
        }

    async def serve(self) -> None:
        while True:
            self.dispatch(await self._sock.recv_multipart())

    def dispatch(self, raw: list[bytes]) -> None:
        msg = f.parse(raw)
        if isinstance(msg, f.Malformed):
            self._reject(msg.op, msg.reason, {"frames": raw})
            return
        try:
            self._handlers[msg.op](msg.payload)
        except f.BadPayload as e:
            self._reject(msg.op, str(e), msg.payload)

    def _reject(self, op: str | None, reason: str, data: Any) -> None:
        """Record a frame we cannot act on and still send the reply its caller waits for."""
        data = redact_rejected(op, data)
        payload = data if isinstance(data, dict) else {"payload": data}
        self._ctx.emit(stamped(FRONTEND, INPUT, op or "<unreadable>",
                               {**payload, "rejected": reason}))
        log.warning("rejected %s: %s", op or "a message", reason)
        if op in f.REPLYING_OPS:
            self._ctx.send(FRONTEND, *f.reply_for_bad_request(op, reason, self._started_at))

    def _record(self, source: str, op: str, payload: Any) -> None:
        self._ctx.emit(stamped(source, INPUT, op, payload))

    def _queued(self, op: str) -> Callable[[bytes], None]:
        def submit(payload: bytes) -> None:
            self._runs.submit(op, payload)
        return submit

    def _status(self, payload: bytes) -> None:
        self._record(FRONTEND, "status", payload)
        self._ctx.send(FRONTEND, "status", f.status_payload(self._started_at))

    def _current_source(self) -> str:
        run = self._runs.current
        return run.source if run is not None else FRONTEND

    def _input(self, payload: bytes) -> None:
        text = payload.decode("utf-8", "replace")
        if self._runs.expects_password():
            self._record(self._current_source(), "input", REDACTED)
        else:
            self._record(self._current_source(), "input", payload)
        self._runs.deliver_input(text)

    def _interrupt(self, payload: bytes) -> None:
        self._record(self._current_source(), "interrupt", payload)
        self._runs.interrupt()

    def _complete_op(self, payload: bytes) -> None:
        request = f.json_object(payload)
        code = request.get("code", "")
        if not isinstance(code, str):
            raise f.BadPayload("'code' must be a string")
        self._record(FRONTEND, "complete", request)
        self._reply_later("completion", self._completion(code))

    async def _completion(self, code: str) -> dict[str, Any]:
        try:  # the agent's RPC gives up after 10 s; a late answer would shift later replies
            return {"suggestions": await asyncio.wait_for(self._complete(code), COMPLETE_WAIT)}
        except TimeoutError:
            return {"suggestions": [], "error": "the kernel is busy"}

    def _get_apps(self, payload: bytes) -> None:
        name = f.text(payload).strip()
        self._record(FRONTEND, "get-apps", name)
        self._ctx.send(FRONTEND, "apps-result", f.encode_json(self._services.apps(name)))

    def _start_service(self, payload: bytes) -> None:
        request = f.json_object(payload, required=("name",))
        if not isinstance(request["name"], str) or not request["name"]:
            raise f.BadPayload("'name' must be a non-empty string")
        source = service_source(request["name"])
        self._record(source, "start-service", without_env_values(request))
        self._reply_later("service-result", self._services.start(request), source)

    def _start_model_service(self, payload: bytes) -> None:
        model = f.json_object(payload, required=("name",))
        if not isinstance(model["name"], str) or not model["name"]:
            raise f.BadPayload("'name' must be a non-empty string")
        source = model_source(model["name"])
        self._record(source, "start-model-service", redact_envs(model))
        self._reply_later("model-service-result", self._services.start_model(model), source)

    def _shutdown_service(self, payload: bytes) -> None:
        name = f.document(payload)
        if not isinstance(name, str):
            raise f.BadPayload("payload must be a JSON string naming the service")
        self._record(service_source(name), "shutdown-service", name)
        self._ctx.spawn(self._services.shutdown(name), owner=f"shutdown:{name}")

    def _event(self, payload: bytes) -> None:
        event = f.json_object(payload, required=("type",))
        self._record(KERNEL, "event", event)
        log.info("agent-notified event: %s", event)

    def _reply_later(self, msg_type: str, work: Awaitable[dict[str, Any]],
                     source: str = FRONTEND) -> None:
        self._ctx.spawn(self._reply_once(msg_type, work, source), owner=msg_type)

    async def _reply_once(self, msg_type: str, work: Awaitable[dict[str, Any]],
                          source: str) -> None:
        try:
            reply = await work
        except Exception as e:  # the agent still gets its one reply
            log.exception("%s failed", msg_type)
            reply = ({"suggestions": [], "error": repr(e)} if msg_type == "completion"
                     else {"status": "failed", "error": repr(e)})
        self._ctx.send(source, msg_type, f.encode_json(reply))
