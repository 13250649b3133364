"""The agent-facing front end: turns frames into recorded input events, nothing more.

Each frame is parsed and checked, recorded as an input event of the stream it belongs to
(which may create or move a machine), and handed to the op table (`runner/effects/ops.py`),
which acts. Dispatch never awaits, so `status` is answered at once even while a run, a
service start or a completion is in progress. Every op whose caller waits for a reply gets
exactly one, also when its frames or payload are broken (the agent matches replies by order).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import zmq
import zmq.asyncio

from machines import vocabulary as v
from runner import frames as f
from runner.context import Context
from runner.effects import ops
from runner.redaction import redact_envs, redact_rejected
from runner.runs import Runs
from transcripts.events import FRONTEND, INPUT, KERNEL, model_source, service_source, stamped

log = logging.getLogger("krunner")
REDACTED = "<redacted>"

Read = tuple[str, Any, Any]  # (source, data recorded, value the op handler gets)


def without_env_values(request: dict[str, Any]) -> dict[str, Any]:
    """The request as recorded: environment values handed to children are not kept in clear."""
    options = request.get("options")
    if not isinstance(options, dict) or not isinstance(options.get("envs"), dict):
        return request
    envs = {key: REDACTED for key in options["envs"]}
    return {**request, "options": {**options, "envs": envs}}


class FrontEnd:
    """Reads the PULL socket, records each op and hands it to the op table."""

    def __init__(self, ctx: Context, sock: zmq.asyncio.Socket, runs: Runs,
                 services: ops.ServiceOps, complete: Callable[[str], Awaitable[list[str]]],
                 started_at: float) -> None:
        self._ctx = ctx
        self._sock = sock
        self.runs = runs
        self.services = services
        self.complete = complete
        self.started_at = started_at
        self._readers: dict[str, Callable[[str, bytes], Read]] = {
            **{op: self._run_op for op in v.RUN_OPS},
            "status": self._plain(FRONTEND), "input": self._input,
            "interrupt": self._interrupt, "complete": self._complete,
            "get-apps": self._get_apps, "start-service": self._start_service,
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
            source, recorded, value = self._readers[msg.op](msg.op, msg.payload)
        except f.BadPayload as e:
            self._reject(msg.op, str(e), msg.payload)
            return
        self._ctx.emit(stamped(source, INPUT, msg.op, recorded))
        ops.OPS[msg.op](self, source, value)

    def _reject(self, op: str | None, reason: str, data: Any) -> None:
        """Record a frame we cannot act on and still send the reply its caller waits for."""
        data = redact_rejected(op, data)
        payload = data if isinstance(data, dict) else {"payload": data}
        self._ctx.emit(stamped(FRONTEND, INPUT, op or "<unreadable>",
                               {**payload, "rejected": reason}))
        log.warning("rejected %s: %s", op or "a message", reason)
        if op in f.REPLYING_OPS:
            self._ctx.send(FRONTEND, *f.reply_for_bad_request(op, reason, self.started_at))

    # --- what the op table may use of the runner ------------------------------------------
    def send(self, source: str, msg_type: str, payload: bytes) -> None:
        self._ctx.send(source, msg_type, payload)

    def spawn(self, coro: Any, owner: str) -> Any:
        return self._ctx.spawn(coro, owner)

    # --- readers: frame payload -> (source, recorded data, value) -----------------------
    def _run_op(self, op: str, payload: bytes) -> Read:
        job = self.runs.allocate(op, payload)
        return job.source, payload, job

    def _plain(self, source: str) -> Callable[[str, bytes], Read]:
        return lambda op, payload: (source, payload, None)

    def _current_source(self) -> str:
        run = self.runs.current
        return run.source if run is not None else FRONTEND

    def _input(self, op: str, payload: bytes) -> Read:
        recorded = REDACTED if self.runs.expects_password() else payload
        return self._current_source(), recorded, payload.decode("utf-8", "replace")

    def _interrupt(self, op: str, payload: bytes) -> Read:
        return self._current_source(), payload, None

    def _complete(self, op: str, payload: bytes) -> Read:
        request = f.json_object(payload)
        code = request.get("code", "")
        if not isinstance(code, str):
            raise f.BadPayload("'code' must be a string")
        return FRONTEND, request, code

    def _get_apps(self, op: str, payload: bytes) -> Read:
        name = f.text(payload).strip()
        return FRONTEND, name, name

    def _start_service(self, op: str, payload: bytes) -> Read:
        request = f.json_object(payload, required=("name",))
        if not isinstance(request["name"], str) or not request["name"]:
            raise f.BadPayload("'name' must be a non-empty string")
        return service_source(request["name"]), without_env_values(request), request

    def _start_model_service(self, op: str, payload: bytes) -> Read:
        model = f.json_object(payload, required=("name",))
        if not isinstance(model["name"], str) or not model["name"]:
            raise f.BadPayload("'name' must be a non-empty string")
        return model_source(model["name"]), redact_envs(model), model

    def _shutdown_service(self, op: str, payload: bytes) -> Read:
        name = f.document(payload)
        if not isinstance(name, str):
            raise f.BadPayload("payload must be a JSON string naming the service")
        return service_source(name), name, name

    def _event(self, op: str, payload: bytes) -> Read:
        event = f.json_object(payload, required=("type",))
        return KERNEL, event, event
