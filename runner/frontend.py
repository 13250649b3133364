"""The agent-facing front end: turns frames into recorded input events, nothing more.

Each frame is parsed and checked, recorded as an input event of the stream it belongs to
(which may create or move a machine), and handed to the op table (`runner/effects/ops.py`),
which acts. Dispatch never awaits, so `status` is answered at once even while a run, a
service start or a completion is in progress. Every op whose caller waits for a reply gets
exactly one, also when its frames or payload are broken (the agent matches replies by order),
and also when handling it fails in a way nobody foresaw: that failure is loud (stderr, an
event, a gap in the log), and the loop goes on with the next frame.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import zmq
import zmq.asyncio

from machines import vocabulary as v
from runner import frames as f
from runner.context import Context
from runner.effects import ops
from runner.redaction import REDACTED, redact_envs, redact_rejected
from runner.runs import Runs
from runner.service_requests import RequestRefused, ReservedPorts, check_model, check_service
from transcripts.events import (
    FRONTEND,
    INPUT,
    KERNEL,
    OBSERVATION,
    model_source,
    service_source,
    stamped,
)

log = logging.getLogger("krunner")
FRONTEND_FAILED = "FrontEndFailed"  # an observation: handling one frame raised

Read = tuple[str, Any, Any]  # (source, data recorded, value the op handler gets)


class FrontEnd:
    """Reads the PULL socket, records each op and hands it to the op table."""

    def __init__(self, ctx: Context, sock: zmq.asyncio.Socket, runs: Runs,
                 services: ops.ServiceOps, complete: Callable[[str], Awaitable[list[str]]],
                 started_at: float, reserved: ReservedPorts | None = None) -> None:
        self._ctx = ctx
        self._sock = sock
        self.runs = runs
        self.services = services
        self._kernel_complete = complete
        self.started_at = started_at
        self.reserved = reserved or ReservedPorts()
        self._owed: str | None = None  # the reply the frame being handled still owes
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
            try:
                raw = await self._sock.recv_multipart()
            except Exception as error:  # the loop ends only with its socket (or a cancel)
                if self._sock.closed:
                    return  # the runner is shutting down
                print(f"krunner: FRONT END ERROR: receiving failed: {error!r}",
                      file=sys.stderr, flush=True)
                await asyncio.sleep(0.01)  # a persistent error must not spin the loop
                continue
            self.dispatch(raw)

    def dispatch(self, raw: list[bytes]) -> None:
        """Handle one message; whatever goes wrong, the loop survives and the reply is sent."""
        self._owed = None
        try:
            self._dispatch(raw)
        except Exception as error:  # the front end must outlive any one frame
            self._dispatch_failed(raw, error)
        finally:
            self._owed = None

    def _dispatch(self, raw: list[bytes]) -> None:
        msg = f.parse(raw)
        if isinstance(msg, f.Malformed):
            self._owed = f.REPLYING_OPS.get(msg.op or "")
            self._reject(msg.op, msg.reason, {"frames": raw})
            return
        self._owed = f.REPLYING_OPS.get(msg.op)
        try:
            source, recorded, value = self._readers[msg.op](msg.op, msg.payload)
        except (f.BadPayload, RequestRefused) as e:
            self._reject(msg.op, str(e), msg.payload)
            return
        self._ctx.emit(stamped(source, INPUT, msg.op, recorded))
        ops.OPS[msg.op](self, source, value)

    def _dispatch_failed(self, raw: list[bytes], error: Exception) -> None:
        """Loud, recorded, marked as a gap; and the reply its caller waits for, once."""
        op = f.parse([raw[0], b""]).op if raw else None
        reason = f"handling a {op or 'unreadable'} frame failed: {type(error).__name__}"
        print(f"krunner: FRONT END ERROR: {reason}: {str(error)[:200]}", file=sys.stderr,
              flush=True)
        traceback.print_exception(error, limit=-20, file=sys.stderr)
        owed, self._owed = self._owed, None
        _guarded(self._ctx.emit, stamped(FRONTEND, OBSERVATION, FRONTEND_FAILED, {
            "op": op, "error": f"{type(error).__name__}: {str(error)[:500]}",
            "frame_sizes": [len(frame) for frame in raw], "replied": owed is not None}))
        # the session is marked as having a gap (the log's own; `Context` does not carry it)
        record_gap = getattr(getattr(self._ctx, "log", None), "record_gap", None)
        if callable(record_gap):
            _guarded(record_gap, reason)
        if owed is not None and op in f.REPLYING_OPS:
            _guarded(self._ctx.send, FRONTEND, *f.reply_for_bad_request(op, reason,
                                                                        self.started_at))

    def _reject(self, op: str | None, reason: str, data: Any) -> None:
        """Record a frame we cannot act on and still send the reply its caller waits for."""
        data = redact_rejected(op, data)
        payload = data if isinstance(data, dict) else {"payload": data}
        self._ctx.emit(stamped(FRONTEND, INPUT, op or "<unreadable>",
                               {**payload, "rejected": reason}))
        log.warning("rejected %s: %s", op or "a message", reason)
        if op in f.REPLYING_OPS:
            self.send(FRONTEND, *f.reply_for_bad_request(op, reason, self.started_at))

    # --- what the op table may use of the runner ------------------------------------------
    async def complete(self, code: str) -> list[str]:
        """Completions once the kernel has settled (the op table bounds the wait); none from
        a kernel that failed or is not there: asking it would only raise. A lone surrogate
        (valid JSON, not text; recorded as sent) reaches the kernel as '?', one for one, so
        the cursor stays where it was."""
        await self._ctx.query_settled.wait()
        if self._ctx.machines.state(KERNEL) != "ready":
            return []
        return await self._kernel_complete(code.encode("utf-8", "replace").decode("utf-8"))

    def send(self, source: str, msg_type: str, payload: bytes) -> None:
        if msg_type == self._owed:
            self._owed = None
        self._ctx.send(source, msg_type, payload)

    def spawn(self, coro: Any, owner: str) -> Any:
        task = self._ctx.spawn(coro, owner)
        if owner == self._owed:  # `ops` names a reply task after the reply it sends
            self._owed = None
        return task

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
        check_service(request, self.reserved)
        return service_source(request["name"]), redact_envs(request), request

    def _start_model_service(self, op: str, payload: bytes) -> Read:
        model = f.json_object(payload, required=("name",))
        check_model(model, self.reserved)
        return model_source(model["name"]), redact_envs(model), model

    def _shutdown_service(self, op: str, payload: bytes) -> Read:
        name = f.document(payload)
        if not isinstance(name, str):
            raise f.BadPayload("payload must be a JSON string naming the service")
        return service_source(name), name, name

    def _event(self, op: str, payload: bytes) -> Read:
        event = f.json_object(payload, required=("type",))
        return KERNEL, event, event


def _guarded(act: Callable[..., Any], *args: Any) -> None:
    """Do one part of reporting a failure; a failure of that part only goes to stderr."""
    try:
        act(*args)
    except Exception:  # the other parts of the report must still happen
        traceback.print_exc(limit=5, file=sys.stderr)
